//! The alerts' outbox and their delivery, on SQLite and PostgreSQL, to
//! local receivers over real HTTP: a webhook receiver checks the signature
//! and the body, a Slack-like one the message, a failing one the retries;
//! two replicas never deliver one alert twice at once.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use support::store::on_each_backend;
use warrant::alerts::deliver::{Attempt, Deliverer, LEASE, Links, Receiver, ReceiverKind, backoff};
use warrant::alerts::{Alert, AlertType, signature};
use warrant::store::Store;

const SECRET: &str = "alert-secret";
const SOURCE: &str = "https://warrant.example.com";

/// What a local receiver was sent.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver on a loopback port answering `status`.
async fn receiver(status: StatusCode) -> (reqwest::Url, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State((seen, status)): State<(Arc<Mutex<Vec<Received>>>, StatusCode)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    seen.lock().unwrap().push(Received { headers, body });
                    status
                },
            ),
        )
        .with_state((seen.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (reqwest::Url::parse(&url).unwrap(), seen)
}

fn deliverer(store: &Store, receivers: Vec<Receiver>, worker: &str) -> Deliverer {
    Deliverer {
        store: store.clone(),
        receivers,
        secret: Some(SECRET.to_owned()),
        links: Links {
            public_url: Some(SOURCE.to_owned()),
            github_url: "https://github.com".to_owned(),
            gitlab_url: "https://gitlab.example.com".to_owned(),
        },
        worker: worker.to_owned(),
        http: reqwest::Client::new(),
    }
}

fn blocked(number: u64) -> Alert {
    Alert::new(
        AlertType::ChangeBlocked,
        format!("github:acme/payments#{number}"),
        Utc::now(),
        json!({ "title": format!("Agent copilot changed 1 path outside its role (#{number})") }),
    )
}

#[tokio::test]
async fn alerts_reach_each_receiver_signed_in_order_and_failures_are_retried() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let (hook_url, hook) = receiver(StatusCode::OK).await;
        let (slack_url, slack) = receiver(StatusCode::OK).await;
        let (down_url, down) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
        let receivers = vec![
            Receiver {
                kind: ReceiverKind::Webhook,
                url: hook_url,
            },
            Receiver {
                kind: ReceiverKind::Slack,
                url: slack_url,
            },
            Receiver {
                kind: ReceiverKind::Webhook,
                url: down_url,
            },
        ];
        let keys: Vec<String> = receivers.iter().map(Receiver::key).collect();
        let alerts = [blocked(1), blocked(2)];
        let queued: Vec<_> = alerts
            .iter()
            .map(|a| a.queued(SOURCE, keys.clone()))
            .collect();
        store.queue_alerts(&queued).await.unwrap();
        let d = deliverer(&store, receivers.clone(), "replica-a");

        for r in &receivers {
            while !matches!(
                d.attempt(r, Utc::now()).await.unwrap(),
                Attempt::Idle | Attempt::Retried(_)
            ) {}
        }

        // The webhook receiver: both alerts, oldest first, each the stored
        // CloudEvent byte for byte, signed over the raw body.
        let hook = hook.lock().unwrap().clone();
        assert_eq!(hook.len(), 2);
        for (got, (alert, queued)) in hook.iter().zip(alerts.iter().zip(&queued)) {
            assert_eq!(got.body, queued.event.as_bytes());
            assert_eq!(got.headers["warrant-delivery"], alert.id.as_str());
            assert_eq!(
                got.headers["warrant-signature-256"],
                signature(SECRET, &got.body).as_str()
            );
            assert_eq!(got.headers["content-type"], "application/cloudevents+json");
            let event: Value = serde_json::from_slice(&got.body).unwrap();
            assert_eq!(event["type"], "dev.warrant.change.blocked");
            assert_eq!(event["source"], SOURCE);
        }
        // Slack: a message naming what happened, linking the change page.
        let slack = slack.lock().unwrap().clone();
        assert_eq!(slack.len(), 2);
        let message: Value = serde_json::from_slice(&slack[0].body).unwrap();
        let text = message["text"].as_str().unwrap();
        assert!(
            text.starts_with("*Change blocked* in `github:acme/payments#1`"),
            "{text}"
        );
        assert!(
            text.contains(
                "<https://warrant.example.com/audit/github/acme/payments/changes/1|Warrant>"
            ),
            "{text}"
        );
        // The receiver that is down: tried once, to be tried again later.
        assert_eq!(down.lock().unwrap().len(), 1);
        let stats = store.alert_stats().await.unwrap();
        assert_eq!((stats.delivered, stats.pending, stats.failed), (4, 2, 0));
    })
    .await;
}

#[tokio::test]
async fn a_failing_receiver_backs_off_and_is_given_up_on_after_a_day_visibly() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let (down_url, down) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
        let r = Receiver {
            kind: ReceiverKind::Webhook,
            url: down_url,
        };
        let mut old = blocked(3);
        old.time = Utc::now() - TimeDelta::hours(23);
        store
            .queue_alerts(&[old.queued(SOURCE, vec![r.key()])])
            .await
            .unwrap();
        let d = deliverer(&store, vec![r.clone()], "replica-a");

        let Attempt::Retried(first) = d.attempt(&r, Utc::now()).await.unwrap() else {
            panic!("a failed attempt is retried");
        };
        let wait = first - Utc::now();
        assert!(
            wait > TimeDelta::seconds(25) && wait <= backoff(1),
            "{wait}"
        );
        assert_eq!(
            d.attempt(&r, Utc::now()).await.unwrap(),
            Attempt::Idle,
            "not due yet"
        );
        let Attempt::Retried(second) = d.attempt(&r, first).await.unwrap() else {
            panic!("retried again");
        };
        assert!(second - first >= TimeDelta::seconds(55), "the wait doubles");
        assert_eq!(backoff(20), TimeDelta::hours(1), "at most an hour");

        // A day after it was raised, the next failure is the last.
        let mut stale = blocked(4);
        stale.time = Utc::now() - TimeDelta::hours(25);
        store
            .queue_alerts(&[stale.queued(SOURCE, vec![r.key()])])
            .await
            .unwrap();
        // Oldest first: #3 (raised 23 hours ago) is tried again, #4 given up.
        assert!(matches!(
            d.attempt(&r, second).await.unwrap(),
            Attempt::Retried(_)
        ));
        assert_eq!(d.attempt(&r, second).await.unwrap(), Attempt::Failed);
        let failed = store.failed_alerts(10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].alert_id, stale.id);
        assert_eq!(failed[0].kind, "dev.warrant.change.blocked");
        assert!(
            failed[0].last_error.as_deref().unwrap().contains("500"),
            "{failed:?}"
        );
        assert_eq!(store.alert_stats().await.unwrap().failed, 1);
        assert_eq!(down.lock().unwrap().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn two_replicas_never_hold_one_delivery_at_once_and_a_crashed_ones_is_taken_over() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let alert = blocked(5);
        store
            .queue_alerts(&[alert.queued(SOURCE, vec!["webhook:0123456789abcdef".into()])])
            .await
            .unwrap();
        let now = Utc::now();
        let a = store
            .claim_alert("webhook:0123456789abcdef", "a", LEASE, now)
            .await
            .unwrap();
        let a = a.expect("replica a claims it");
        assert_eq!(a.attempts, 1);
        let b = store
            .claim_alert("webhook:0123456789abcdef", "b", LEASE, now)
            .await
            .unwrap();
        assert_eq!(b, None, "held by a");
        // a crashed: once its lease ran out, b takes the delivery over.
        let later = now + TimeDelta::from_std(LEASE).unwrap() + TimeDelta::seconds(1);
        let b = store
            .claim_alert("webhook:0123456789abcdef", "b", LEASE, later)
            .await
            .unwrap();
        let b = b.expect("replica b takes it over");
        assert_eq!(b.attempts, 2);
        assert!(
            !store.alert_delivered(&a, "a", later).await.unwrap(),
            "a no longer holds it"
        );
        assert!(store.alert_delivered(&b, "b", later).await.unwrap());
        // Queued again (a retried transaction): nothing new is delivered.
        store
            .queue_alerts(&[alert.queued(SOURCE, vec!["webhook:0123456789abcdef".into()])])
            .await
            .unwrap();
        let again = store
            .claim_alert("webhook:0123456789abcdef", "b", LEASE, later)
            .await
            .unwrap();
        assert_eq!(again, None);
    })
    .await;
}

#[tokio::test]
async fn deliveries_given_up_on_show_on_metrics_and_on_the_operators_page() {
    use support::server::{TestServer, test_state};
    use warrant::audit::{EventKind, NewAuditEvent};
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let (down_url, _) = receiver(StatusCode::SERVICE_UNAVAILABLE).await;
        let r = Receiver {
            kind: ReceiverKind::Webhook,
            url: down_url,
        };
        // A day old, so its next failure is its last; one of a repository
        // nobody may read; one just raised.
        let mut stale = blocked(4);
        stale.time = Utc::now() - TimeDelta::hours(25);
        let mut hidden = blocked(5);
        hidden.subject = "github:acme/secret#5".to_owned();
        hidden.time = stale.time;
        let fresh = blocked(6);
        let queued: Vec<_> = [&stale, &hidden, &fresh]
            .iter()
            .map(|a| a.queued(SOURCE, vec![r.key()]))
            .collect();
        store.queue_alerts(&queued).await.unwrap();
        let d = deliverer(&store, vec![r.clone()], "replica-a");
        assert_eq!(d.attempt(&r, Utc::now()).await.unwrap(), Attempt::Failed);
        assert_eq!(d.attempt(&r, Utc::now()).await.unwrap(), Attempt::Failed);
        // The audit pages know acme/payments only.
        let repo = warrant::ids::RepoName::parse("acme/payments").unwrap();
        let seen = NewAuditEvent::new(
            warrant::engine::Forge::Github,
            &repo,
            EventKind::PolicyChanged,
            Utc::now(),
        );
        store.append_audit(&[seen]).await.unwrap();

        let server = TestServer::serve(test_state(&store).with_public_pages(true)).await;
        let metrics = server.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("warrant_alert_deliveries{state=\"failed\"} 2"),
            "{metrics}"
        );
        assert!(
            metrics.contains("warrant_alert_deliveries{state=\"pending\"} 1"),
            "{metrics}"
        );

        let page = server.get("/audit/alerts").await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        let failed = &page[page.find("<table class=\"failed-alerts\">").expect(&page)..];
        let failed = &failed[..failed.find("</table>").unwrap()];
        assert!(failed.contains(&stale.id), "{failed}");
        assert!(failed.contains("503"), "{failed}");
        assert!(failed.contains(&r.key()), "{failed}");
        assert!(!page.contains(&hidden.id), "{page}");
        assert!(!page.contains("127.0.0.1"), "a receiver's URL is a secret");
        let recent = &page[page.find("<table class=\"recent-alerts\">").expect(&page)..];
        assert!(recent.contains(&fresh.id), "{recent}");
        assert!(recent.contains("waiting"), "{recent}");
        assert!(
            recent.find(&fresh.id) < recent.find(&stale.id),
            "newest first"
        );
    })
    .await;
}
