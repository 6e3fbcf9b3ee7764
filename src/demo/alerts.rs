//! The demo's alerts: the worker raises them as in production, the
//! outbox delivers them, signed, to a receiver the demo runs on a loopback
//! port, and the demo prints what that receiver got. The operator's page
//! (`/audit/alerts`) shows the same alerts, delivered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::alerts::deliver::{Deliverer, Links, Receiver, ReceiverKind, from_event};
use crate::alerts::{EventFilter, Raise, SIGNATURE_HEADER, signature};
use crate::store::Store;

/// Signs the alerts the demo's receiver gets; it checks every one.
const SECRET: &str = "warrant-demo-alerts";

/// How long the demo waits for its alerts to be delivered.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// An alert as the demo's receiver got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub id: String,
    /// The CloudEvents `type`.
    pub kind: String,
    pub subject: String,
    /// What the Slack message for it says on its first line.
    pub text: String,
}

/// The demo's receiver, and the outbox's delivery to it.
pub(super) struct Alerts {
    receiver: Receiver,
    received: Arc<Mutex<Vec<Received>>>,
    pub(super) tasks: Vec<JoinHandle<()>>,
}

impl Alerts {
    /// Starts the receiver on a loopback port, and a delivery loop to it.
    pub(super) async fn start(
        store: &Store,
        base_url: &str,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Alerts> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen for the demo's alerts")?;
        let url = format!("http://{}/alerts", listener.local_addr()?);
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let links = Links {
            public_url: Some(base_url.to_owned()),
            github_url: "https://github.com".to_owned(),
            gitlab_url: crate::config::DEFAULT_GITLAB_URL.to_owned(),
        };
        let app = Router::new()
            .route("/alerts", post(receive))
            .with_state((received.clone(), links.clone()));
        let mut stopped = stop.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        });
        let receiver = Receiver {
            kind: ReceiverKind::Webhook,
            url: reqwest::Url::parse(&url)?,
        };
        let deliverer = Deliverer {
            store: store.clone(),
            receivers: vec![receiver.clone()],
            secret: Some(SECRET.to_owned()),
            links,
            worker: "demo".to_owned(),
            http: reqwest::Client::new(),
        };
        let mut tasks = Arc::new(deliverer).spawn(stop);
        tasks.push(server);
        Ok(Alerts {
            receiver,
            received,
            tasks,
        })
    }

    /// What the worker needs to raise alerts for the demo's receiver.
    pub(super) fn raise(&self, base_url: &str) -> Raise {
        Raise {
            receivers: vec![self.receiver.key()],
            events: EventFilter::default(),
            source: base_url.to_owned(),
        }
    }

    /// Every alert received, once each, in the order raised, after
    /// waiting for the outbox to deliver what it holds.
    pub(super) async fn received(&self, store: &Store) -> anyhow::Result<Vec<Received>> {
        let waited = tokio::time::timeout(DELIVERY_TIMEOUT, async {
            loop {
                let stats = store.alert_stats().await?;
                if stats.pending + stats.running == 0 {
                    return anyhow::Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        waited
            .await
            .context("the demo's alerts were not delivered in time")??;
        let mut received = self
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut seen = std::collections::BTreeSet::new();
        received.retain(|r| seen.insert(r.id.clone()));
        Ok(received)
    }
}

/// The demo's receiver: checks the signature, as a receiver should, and
/// keeps the alert.
async fn receive(
    State((received, links)): State<(Arc<Mutex<Vec<Received>>>, Links)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signed = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if signed != Some(signature(SECRET, &body).as_str()) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(alert) = std::str::from_utf8(&body)
        .map_err(anyhow::Error::from)
        .and_then(from_event)
    else {
        return StatusCode::BAD_REQUEST;
    };
    let message = links.slack_message(&alert);
    let text = (message["text"].as_str().unwrap_or_default().lines().next())
        .unwrap_or_default()
        .replace(['*', '`'], "");
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            id: alert.id,
            kind: alert.kind.as_str().to_owned(),
            subject: alert.subject,
            text,
        });
    StatusCode::NO_CONTENT
}
