//! What only GitHub's webhook door does, through the real router on a real
//! port with the queue checked in the store: on SQLite always, on
//! PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set. Body limits and
//! the memory budget, signed bodies replayed under another delivery id,
//! health and metrics. What both doors do is in `doors.rs`.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use support::door::WRONG;
use support::server::{SECRET, TestServer, fixture, test_state};
use support::store::on_each_backend;
use warrant::server::{BodyLimits, MAX_WEBHOOK_BODY, sign};
use warrant::store::Store;

fn opened() -> Vec<u8> {
    fixture("pull_request", "opened.payload.json")
}

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("a body")).expect("a JSON body")
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
async fn a_signed_body_replayed_under_another_delivery_id_is_a_duplicate_and_not_queued() {
    on_each_backend(|url| async move {
        let server = TestServer::start(&url).await;
        let first = server.deliver("pull_request", "d-1", &opened()).await;
        assert_eq!(first.status(), StatusCode::ACCEPTED);

        // The captured body and its signature, sent again as new deliveries;
        // the signature's hex digits in capitals verify, and are the same.
        let signature = sign(SECRET, &opened());
        let shouted = format!("sha256={}", signature["sha256=".len()..].to_uppercase());
        for (delivery, signature) in [("d-2", &signature), ("d-3", &shouted)] {
            let replay = server
                .unsigned("pull_request", delivery, &opened())
                .header("x-hub-signature-256", signature)
                .send()
                .await
                .unwrap();
            assert_eq!(replay.status(), StatusCode::OK, "{delivery}");
            assert_eq!(json(replay).await["status"], "duplicate", "{delivery}");
        }
        assert_eq!(server.queue().await.queued, 1);

        // Another body is another delivery.
        let mut edited: Value = serde_json::from_slice(&opened()).unwrap();
        edited["action"] = "edited".into();
        let edited = serde_json::to_vec(&edited).unwrap();
        let other = server.deliver("pull_request", "d-4", &edited).await;
        assert_eq!(other.status(), StatusCode::ACCEPTED);
        assert_eq!(server.queue().await.queued, 2);
    })
    .await;
}
