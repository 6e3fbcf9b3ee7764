//! GitLab webhooks through the real router on a real port, with the queue
//! checked in the store: on SQLite always, on PostgreSQL too when
//! `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::config::WebhookSecrets;
use warrant::engine::Forge;
use warrant::server::{BodyLimits, MAX_WEBHOOK_BODY};
use warrant::store::Store;

const TOKEN: &str = "gitlab-secret";
const OLD_TOKEN: &str = "gitlab-old-secret";

/// GitLab's documented `Merge Request Hook` example, from
/// `shared/fixtures/gitlab-webhooks` above the checkout.
fn merge_request() -> Vec<u8> {
    const FIXTURES: &str = "shared/fixtures/gitlab-webhooks";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()));
    std::fs::read(dir.join("merge_request.json")).unwrap()
}

async fn start(url: &str) -> TestServer {
    let store = Store::connect(url).await.expect("store connects");
    let secrets = WebhookSecrets::parse_list(&format!("{OLD_TOKEN},{TOKEN}"));
    TestServer::serve(test_state(&store).with_gitlab_secrets(secrets)).await
}

/// A GitLab delivery without its token.
fn untokened(server: &TestServer, event: &str, key: &str, body: &[u8]) -> reqwest::RequestBuilder {
    server
        .client
        .post(server.url("/webhooks/gitlab"))
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("idempotency-key", key)
        .body(body.to_vec())
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("server answers");
    let status = response.status();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_delivery_with_the_token_is_queued_once_as_gitlab() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
            .header("x-gitlab-token", TOKEN);
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(body["status"], "queued");
        assert_eq!(server.queue().await.queued, 1);
        let metrics = server.client.get(server.url("/metrics")).send().await;
        let metrics = metrics.unwrap().text().await.unwrap();
        let counted = "warrant_webhook_deliveries_total{forge=\"gitlab\",event=\"Merge Request Hook\",outcome=\"accepted\"} 1";
        assert!(metrics.contains(counted), "{metrics}");
    })
    .await;
}

#[tokio::test]
async fn a_body_with_the_token_that_is_not_json_is_refused_with_400() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request = untokened(&server, "Merge Request Hook", "k-1", b"<xml/>")
            .header("x-gitlab-token", TOKEN);
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let reason = body["error"].as_str().unwrap();
        assert!(reason.starts_with("the body is not JSON: "), "{reason}");
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_acknowledged_and_not_queued_again() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        for expected in [StatusCode::ACCEPTED, StatusCode::OK] {
            let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
                .header("x-gitlab-token", TOKEN);
            assert_eq!(send(request).await.0, expected);
        }
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn the_event_uuid_stands_in_for_a_missing_idempotency_key() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        for expected in [StatusCode::ACCEPTED, StatusCode::OK] {
            let request = server
                .client
                .post(server.url("/webhooks/gitlab"))
                .header("x-gitlab-event", "Merge Request Hook")
                .header("x-gitlab-event-uuid", "uuid-1")
                .header("x-gitlab-token", TOKEN)
                .body(merge_request());
            assert_eq!(send(request).await.0, expected);
        }
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_and_nothing_stored() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        for token in [Some("wrong"), Some(""), Some("gitlab-secret,"), None] {
            let mut request = untokened(&server, "Merge Request Hook", "k-1", &merge_request());
            if let Some(token) = token {
                request = request.header("x-gitlab-token", token);
            }
            assert_eq!(send(request).await.0, StatusCode::UNAUTHORIZED, "{token:?}");
        }
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn gitlab_webhooks_are_refused_when_gitlab_is_not_configured() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.expect("store connects");
        let server = TestServer::serve(test_state(&store)).await;
        let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
            .header("x-gitlab-token", "");
        assert_eq!(send(request).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_token_being_rotated_out_is_accepted() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
            .header("x-gitlab-token", OLD_TOKEN);
        assert_eq!(send(request).await.0, StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn an_event_warrant_does_not_act_on_is_acknowledged_and_not_stored() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request =
            untokened(&server, "Pipeline Hook", "k-1", b"{}").header("x-gitlab-token", TOKEN);
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ignored");
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_delivery_without_any_idempotency_key_is_a_bad_request() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request = server
            .client
            .post(server.url("/webhooks/gitlab"))
            .header("x-gitlab-event", "Merge Request Hook")
            .header("x-gitlab-token", TOKEN)
            .body(merge_request());
        assert_eq!(send(request).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn only_a_worker_speaking_gitlab_claims_a_gitlab_delivery() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
            .header("x-gitlab-token", TOKEN);
        assert_eq!(send(request).await.0, StatusCode::ACCEPTED);
        let lease = std::time::Duration::from_secs(60);
        let now = chrono::Utc::now();
        let github_only = server.store.claim("w", &[Forge::Github], lease, now);
        assert!(
            github_only.await.unwrap().is_none(),
            "left queued for GitLab"
        );
        assert_eq!(server.queue().await.queued, 1);
        let both = [Forge::Github, Forge::Gitlab];
        let claimed = server.store.claim("w", &both, lease, now).await.unwrap();
        let claimed = claimed.expect("a GitLab worker claims it");
        assert_eq!(
            (claimed.forge.as_str(), claimed.event.as_str()),
            ("gitlab", "Merge Request Hook")
        );
    })
    .await;
}

/// The head of a GitLab delivery with `token` (if any) announcing `length`
/// bytes and asking to be told (`100 Continue`) when they are read.
fn announcing(token: Option<&str>, length: usize) -> String {
    let token = token
        .map(|t| format!("\r\nx-gitlab-token: {t}"))
        .unwrap_or_default();
    format!(
        "POST /webhooks/gitlab HTTP/1.1\r\nhost: x\r\nx-gitlab-event: Merge Request Hook\r\n\
         idempotency-key: k-open\r\ncontent-length: {length}\r\nexpect: 100-continue{token}"
    )
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_before_the_body_is_read() {
    on_each_backend(|url| async move {
        let server = start(&url).await;
        for token in [Some("wrong"), Some(""), None] {
            // The body is announced and never sent: the answer cannot wait
            // for it, and the server never asks for it (`100 Continue`).
            let mut open = server.open(&announcing(token, MAX_WEBHOOK_BODY), b"").await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 401 "), "{token:?}: {head}");
        }
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_gitlab_body_that_does_not_arrive_in_time_is_refused_with_408() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.expect("store connects");
        let secrets = WebhookSecrets::parse_list(TOKEN);
        let limits = BodyLimits::new(MAX_WEBHOOK_BODY, Duration::from_millis(500));
        let state = test_state(&store)
            .with_gitlab_secrets(secrets)
            .with_body_limits(limits);
        let server = TestServer::serve(state).await;
        let mut open = server.open(&announcing(Some(TOKEN), 100), b"{").await;
        let head = open.next_response().await;
        assert!(head.starts_with("http/1.1 100 "), "reading begins: {head}");
        let head = open.next_response().await;
        assert!(head.starts_with("http/1.1 408 "), "{head}");

        // Its bytes are back in the budget, which holds one body only.
        let request = untokened(&server, "Merge Request Hook", "k-1", &merge_request())
            .header("x-gitlab-token", TOKEN);
        assert_eq!(send(request).await.0, StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}
