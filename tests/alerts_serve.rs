//! `warrant serve` delivers the alerts its outbox holds to the receivers
//! its settings name, signed, and refuses settings that would send them
//! in the clear or unsigned.

mod support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use chrono::Utc;
use serde_json::json;
use warrant::alerts::deliver::{Receiver, ReceiverKind};
use warrant::alerts::{Alert, AlertType, signature};
use warrant::store::Store;

const SECRET: &str = "alert-secret";

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

fn warrant_serve(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warrant"));
    cmd.arg("serve").current_dir(dir).env_clear();
    cmd
}

#[tokio::test]
async fn serve_delivers_queued_alerts_to_its_receivers_signed() {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route(
            "/alerts",
            post(
                |State(seen): State<Seen>, headers: HeaderMap, body: Bytes| async move {
                    seen.lock().unwrap().push((headers, body));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    let _receiver = support::serve::serve(listener, app);

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let store = Store::connect(&database).await.unwrap();
    let receiver = Receiver {
        kind: ReceiverKind::Webhook,
        url: reqwest::Url::parse(&url).unwrap(),
    };
    let alert = Alert::new(
        AlertType::EvaluationFailed,
        "github:acme/payments#7".into(),
        Utc::now(),
        json!({ "error": "Warrant gave up after several attempts" }),
    );
    let queued = alert.queued("https://warrant.example.com", vec![receiver.key()]);
    store
        .queue_alerts(std::slice::from_ref(&queued))
        .await
        .unwrap();

    let mut child = warrant_serve(dir.path())
        .env("WARRANT_LISTEN", "127.0.0.1:0")
        .env("WARRANT_DATABASE_URL", &database)
        .env("WARRANT_GITHUB_REGISTRATION", "false")
        .env("WARRANT_ALERT_WEBHOOK_URLS", &url)
        .env("WARRANT_ALERT_WEBHOOK_SECRET", SECRET)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Until the receiver has it and serve has recorded it delivered (the
    // receiver answers before serve writes that down).
    let mut waited = Duration::ZERO;
    loop {
        let delivered = store.alert_stats().await.unwrap().delivered;
        if (!seen.lock().unwrap().is_empty() && delivered == 1) || waited >= Duration::from_secs(20)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let _ = child.kill();
    let _ = child.wait();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "delivered once");
    let (headers, body) = &seen[0];
    assert_eq!(body, queued.event.as_bytes());
    assert_eq!(
        headers["warrant-signature-256"],
        signature(SECRET, body).as_str()
    );
    assert_eq!(headers["warrant-delivery"], alert.id.as_str());
    assert_eq!(store.alert_stats().await.unwrap().delivered, 1);
}

#[test]
fn serve_refuses_unsigned_or_plain_http_receivers() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value, extra) in [
        (
            "WARRANT_ALERT_WEBHOOK_URLS",
            "https://siem.example.com/in",
            None,
        ),
        (
            "WARRANT_ALERT_WEBHOOK_URLS",
            "http://siem.example.com/in",
            Some(("WARRANT_ALERT_WEBHOOK_SECRET", SECRET)),
        ),
    ] {
        let mut cmd = warrant_serve(dir.path());
        cmd.env("WARRANT_LISTEN", "127.0.0.1:0")
            .env(variable, value);
        if let Some((name, value)) = extra {
            cmd.env(name, value);
        }
        let output = cmd.output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("WARRANT_ALERT_WEBHOOK_"), "{stderr}");
    }
}
