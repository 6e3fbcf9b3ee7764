//! Signed webhooks through the real router on a real port, with the queue
//! checked in the store: on SQLite always, on PostgreSQL too when
//! `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::server::{OLD_SECRET, TestServer, fixture, sign, test_state};
use support::store::on_each_backend;
use warrant::config::WebhookSecrets;
use warrant::engine::Forge;
use warrant::metrics::Metrics;
use warrant::server::{AppState, BodyLimits, MAX_WEBHOOK_BODY};
use warrant::store::Store;

/// A well-formed signature that is no body's under the test secret: it
/// passes the checks made before the body is read.
const WRONG: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

fn opened() -> Vec<u8> {
    fixture("pull_request", "opened.payload.json")
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("a body")).expect("a JSON body")
}

#[tokio::test]
async fn a_signed_delivery_is_queued_once_and_answered_202() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let response = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(json(response).await["status"], "queued");
        assert_eq!(server.queue().await.queued, 1);

        let claimed = server
            .store
            .claim(
                "w",
                &[Forge::Github],
                std::time::Duration::from_secs(60),
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .expect("the delivery is claimable");
        assert_eq!(
            (
                claimed.forge.as_str(),
                claimed.delivery_id.as_str(),
                claimed.event.as_str()
            ),
            ("github", "d-1", "pull_request")
        );
        assert_eq!(
            claimed.payload,
            opened(),
            "the raw body is stored as signed"
        );
    })
    .await;
}

#[tokio::test]
async fn a_delivery_signed_with_the_secret_being_rotated_out_is_accepted() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let body = opened();
        let response = server
            .unsigned("pull_request", "d-1", &body)
            .header("x-hub-signature-256", sign(OLD_SECRET, &body))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_not_queued_again() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let first = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        let again = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(again.status(), StatusCode::OK);
        let body = json(again).await;
        assert_eq!(body["status"], "duplicate");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("already received")
        );
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_deliveries_are_refused_with_401_and_not_stored() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let body = opened();
        let requests = [
            ("missing", server.unsigned("pull_request", "d-1", &body)),
            (
                "wrong secret",
                server
                    .unsigned("pull_request", "d-2", &body)
                    .header("x-hub-signature-256", sign("not-the-secret", &body)),
            ),
            (
                "another body",
                server
                    .unsigned("pull_request", "d-3", &body)
                    .header("x-hub-signature-256", sign(support::server::SECRET, b"{}")),
            ),
            (
                "not hex",
                server
                    .unsigned("pull_request", "d-4", &body)
                    .header("x-hub-signature-256", "sha256=nothex"),
            ),
        ];
        for (case, request) in requests {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
            let body = json(response).await;
            assert_eq!(
                body["error"], "the request is not signed with a configured webhook secret",
                "{case}"
            );
        }
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_signed_delivery_without_its_delivery_id_is_refused_with_400() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let body = opened();
        let response = server
            .client
            .post(server.url("/webhooks/github"))
            .header("x-github-event", "pull_request")
            .header("x-hub-signature-256", sign(support::server::SECRET, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            json(response).await["error"]
                .as_str()
                .unwrap()
                .contains("X-GitHub-Delivery")
        );
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn unknown_events_pings_and_ignored_actions_are_acknowledged_and_not_stored() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let deliveries = [
            (
                "issue_comment",
                fixture("issue_comment", "created.payload.json"),
            ),
            ("ping", fixture("ping", "payload.json")),
            (
                "pull_request",
                fixture("pull_request", "labeled.payload.json"),
            ),
            ("push", fixture("push", "with-new-branch.payload.json")),
        ];
        for (n, (event, body)) in deliveries.into_iter().enumerate() {
            let response = server.deliver(event, &format!("d-{n}"), &body).await;
            assert_eq!(response.status(), StatusCode::OK, "{event}");
            assert_eq!(json(response).await["status"], "ignored", "{event}");
        }
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_known_event_with_an_unreadable_payload_is_stored_for_the_worker_to_fail() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let body = br#"{"action":"opened"}"#;
        let response = server.deliver("pull_request", "d-1", body).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn a_signed_body_that_is_not_json_is_refused_with_400_and_a_reason() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        // A known event and an unknown one: neither can ever be evaluated.
        for (n, event) in ["pull_request", "deployment_review"].iter().enumerate() {
            let response = server.deliver(event, &format!("d-{n}"), b"action=opened&number=1").await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{event}");
            let reason = json(response).await["error"].as_str().unwrap().to_owned();
            assert!(reason.starts_with("the body is not JSON: "), "{reason}");
            assert!(reason.contains("line 1 column 1"), "{reason}");
        }
        assert_eq!(server.queue().await.queued, 0);
        let metrics = server.get("/metrics").await.text().await.unwrap();
        let counted = "warrant_webhook_deliveries_total{forge=\"github\",event=\"pull_request\",outcome=\"rejected\"} 1";
        assert!(metrics.contains(counted), "{metrics}");
    })
    .await;
}

#[tokio::test]
async fn a_body_announced_over_25_mb_is_refused_with_413_before_it_is_read() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let head = format!(
            "POST /webhooks/github HTTP/1.1\r\nhost: x\r\nx-github-event: push\r\n\
             x-github-delivery: d-1\r\nx-hub-signature-256: {WRONG}\r\n\
             content-length: {}",
            MAX_WEBHOOK_BODY + 1
        );
        let status = server.raw(&head, Vec::new()).await;
        assert!(status.contains(" 413 "), "{status}");
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_chunked_body_over_25_mb_is_refused_with_413() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let head = format!(
            "POST /webhooks/github HTTP/1.1\r\nhost: x\r\nx-github-event: push\r\n\
             x-github-delivery: d-1\r\nx-hub-signature-256: {WRONG}\r\n\
             transfer-encoding: chunked"
        );
        let size = MAX_WEBHOOK_BODY + 1;
        let mut body = format!("{size:x}\r\n").into_bytes();
        body.resize(body.len() + size, b' ');
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        let status = server.raw(&head, body).await;
        assert!(status.contains(" 413 "), "{status}");
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_delivery_that_cannot_be_stored_is_a_500_without_detail() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        server.store.close().await;
        let response = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            json(response).await,
            serde_json::json!({ "error": "internal error" })
        );
    })
    .await;
}

#[tokio::test]
async fn healthz_answers_while_readyz_follows_the_database() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
        assert_eq!(server.get("/readyz").await.status(), StatusCode::OK);
        server.store.close().await;
        assert_eq!(
            server.get("/readyz").await.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(server.get("/healthz").await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn metrics_count_deliveries_by_outcome_and_show_the_queue() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        server.deliver("pull_request", "d-1", &opened()).await;
        server.deliver("pull_request", "d-1", &opened()).await;
        server.unsigned("made_up", "d-2", b"{}").send().await.unwrap();

        let response = server.get("/metrics").await;
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        for line in [
            r#"warrant_webhook_deliveries_total{forge="github",event="pull_request",outcome="accepted"} 1"#,
            r#"warrant_webhook_deliveries_total{forge="github",event="pull_request",outcome="duplicate"} 1"#,
            r#"warrant_webhook_deliveries_total{forge="github",event="other",outcome="rejected"} 1"#,
            r#"warrant_queue_deliveries{state="queued"} 1"#,
            "warrant_database_up 1",
            "# TYPE warrant_evaluations counter",
            "# TYPE warrant_github_api_requests counter",
            "# TYPE warrant_github_rate_limit_remaining gauge",
            "# TYPE warrant_queue_oldest_age_seconds gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
    })
    .await;
}

/// The head of a GitHub delivery announcing `length` bytes and asking to be
/// told (`100 Continue`) when the server starts reading them.
fn announcing(signature: Option<&str>, length: usize) -> String {
    let signature = signature
        .map(|s| format!("\r\nx-hub-signature-256: {s}"))
        .unwrap_or_default();
    format!(
        "POST /webhooks/github HTTP/1.1\r\nhost: x\r\nx-github-event: pull_request\r\n\
         x-github-delivery: d-open\r\ncontent-length: {length}\r\nexpect: 100-continue{signature}"
    )
}

async fn serve_with(url: &str, limits: BodyLimits) -> TestServer {
    let store = Store::connect(url).await.expect("store connects");
    TestServer::serve(test_state(&store).with_body_limits(limits)).await
}

#[tokio::test]
async fn a_missing_or_malformed_signature_is_refused_before_the_body_is_read() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let not_hex = format!("sha256={}", "z".repeat(64));
        let too_long = format!("{WRONG}0");
        let malformed = [
            None,
            Some("sha256=00"),
            Some(not_hex.as_str()),
            Some(too_long.as_str()),
            Some("sha1=0000000000000000000000000000000000000000"),
        ];
        for signature in malformed {
            // The body is announced and never sent: the answer cannot wait
            // for it, and the server never asks for it (`100 Continue`).
            let mut open = server
                .open(&announcing(signature, MAX_WEBHOOK_BODY), b"")
                .await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 401 "), "{signature:?}: {head}");
        }
        assert_eq!(server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn without_a_webhook_secret_a_signature_is_refused_before_the_body_is_read() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let state = AppState::new(store, WebhookSecrets::default(), Metrics::new());
        let server = TestServer::serve(state).await;
        let mut open = server.open(&announcing(Some(WRONG), 1000), b"").await;
        let head = open.next_response().await;
        assert!(head.starts_with("http/1.1 401 "), "{head}");
    })
    .await;
}

#[tokio::test]
async fn bodies_beyond_the_memory_budget_get_503_and_the_budget_comes_back() {
    on_each_backend(|url| async move {
        const MIB: usize = 1024 * 1024;
        let limits = BodyLimits::new(2 * MIB, Duration::from_secs(60));
        let server = serve_with(&url, limits).await;

        // Two senders hold the whole budget with bodies they do not finish.
        let mut holding = Vec::new();
        for _ in 0..2 {
            let mut open = server.open(&announcing(Some(WRONG), MIB), b"").await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 100 "), "reading begins: {head}");
            holding.push(open);
        }
        // A third is turned away at once, announced or chunked.
        let chunked = "POST /webhooks/github HTTP/1.1\r\nhost: x\r\n\
                       x-github-event: pull_request\r\nx-github-delivery: d-3\r\n\
                       transfer-encoding: chunked\r\nexpect: 100-continue";
        for head in [
            announcing(Some(WRONG), 1),
            format!("{chunked}\r\nx-hub-signature-256: {WRONG}"),
        ] {
            let mut open = server.open(&head, b"").await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 503 "), "{head}");
            assert!(head.contains("\r\nretry-after: "), "{head}");
        }

        // Finished, the two bodies are read, refused, and their bytes given
        // back: a genuine delivery then gets through.
        for open in &mut holding {
            open.send(&vec![b' '; MIB]).await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 401 "), "{head}");
        }
        let response = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused_with_408_and_its_budget_freed() {
    on_each_backend(|url| async move {
        // The whole budget for one body, so that a body never freed would
        // turn the next delivery away.
        let limits = BodyLimits::new(MAX_WEBHOOK_BODY, Duration::from_millis(500));
        let server = serve_with(&url, limits).await;
        let head = format!(
            "POST /webhooks/github HTTP/1.1\r\nhost: x\r\nx-github-event: pull_request\r\n\
             x-github-delivery: d-slow\r\nx-hub-signature-256: {WRONG}"
        );
        // No `Content-Length`: the body takes the whole budget.
        let mut open = server
            .open(
                &format!("{head}\r\ntransfer-encoding: chunked"),
                b"5\r\n{\"a\":",
            )
            .await;
        let answer = open.next_response().await;
        assert!(answer.starts_with("http/1.1 408 "), "{answer}");

        let response = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    })
    .await;
}

#[tokio::test]
async fn a_signed_body_replayed_under_another_delivery_id_is_a_duplicate_and_not_queued() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let first = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);

        // The captured body and its signature, sent again as new deliveries.
        for delivery in ["d-2", "d-3"] {
            let replay = server.deliver("pull_request", delivery, &opened()).await;
            assert_eq!(replay.status(), StatusCode::OK, "{delivery}");
            assert_eq!(json(replay).await["status"], "duplicate", "{delivery}");
        }
        assert_eq!(server.queue().await.queued, 1);
    })
    .await;
}
