//! What both webhook doors do, `POST /webhooks/github` (an HMAC signature,
//! `X-GitHub-Delivery`) and `POST /webhooks/gitlab` (a token,
//! `Idempotency-Key`), written once and run against each forge, each on
//! SQLite and on PostgreSQL (when `WARRANT_TEST_POSTGRES_URL` is set):
//! deliveries through the real router on a real port, and the queue
//! checked in the store. No worker runs, so what was stored stays queued.
//!
//! What one door does alone stays in `server_webhooks.rs` (body limits,
//! replayed bodies, the memory budget) and `gitlab_webhooks.rs` (the event
//! UUID).

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::door::{Credential, Door};
use support::forge::on_each_forge;
use warrant::config::WebhookSecrets;
use warrant::metrics::Metrics;
use warrant::server::{AppState, BodyLimits, MAX_WEBHOOK_BODY};
use warrant::store::Store;

/// Why a sender that is not genuine is refused: nothing more.
const NOT_SIGNED: &str = "the request is not signed with a configured webhook secret";

#[tokio::test]
async fn a_genuine_delivery_is_queued_once_as_sent_and_answered_202() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let answer = door.deliver_opened("d-1").await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        assert_eq!(answer.said(), "queued");
        assert_eq!(door.queued().await, 1);
        let metrics = door.metrics().await;
        let counted = door.counted(door.known_event(), "accepted", 1);
        assert!(metrics.contains(&counted), "{metrics}");

        let claimed = door
            .claim(&[forge])
            .await
            .expect("the delivery is claimable");
        assert_eq!(
            (
                claimed.forge.as_str(),
                claimed.delivery_id.as_str(),
                claimed.event.as_str()
            ),
            (forge.name(), "d-1", door.known_event())
        );
        assert_eq!(
            claimed.payload,
            door.opened(),
            "the raw body is stored as sent"
        );
    })
    .await;
}

#[tokio::test]
async fn only_a_worker_speaking_the_forge_claims_its_delivery() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        assert_eq!(
            door.deliver_opened("d-1").await.status,
            StatusCode::ACCEPTED
        );
        assert!(
            door.claim(&[forge.other()]).await.is_none(),
            "left queued for {forge:?}"
        );
        assert_eq!(door.queued().await, 1);
        let claimed = door.claim(&[forge.other(), forge]).await;
        let claimed = claimed.expect("a worker speaking the forge claims it");
        assert_eq!(
            (claimed.forge.as_str(), claimed.event.as_str()),
            (forge.name(), door.known_event())
        );
    })
    .await;
}

#[tokio::test]
async fn a_delivery_with_the_secret_being_rotated_out_is_accepted() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let answer = door
            .send(
                door.known_event(),
                Some("d-1"),
                &door.opened(),
                &Credential::RotatedOut,
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        assert_eq!(door.queued().await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_not_queued_again() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let first = door.deliver_opened("d-1").await;
        assert_eq!(first.status, StatusCode::ACCEPTED);
        let again = door.deliver_opened("d-1").await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.said(), "duplicate");
        let message = again.body["message"].as_str().unwrap();
        assert!(message.contains("already received"), "{message}");
        assert_eq!(door.queued().await, 1);
    })
    .await;
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_refused_with_401_and_nothing_stored() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let body = door.opened();
        let cases = door.wrong_credentials(&body);
        for (n, (case, credential)) in cases.into_iter().enumerate() {
            let delivery = format!("d-{n}");
            let answer = door
                .send(door.known_event(), Some(&delivery), &body, &credential)
                .await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{case}");
            assert_eq!(answer.error(), NOT_SIGNED, "{case}");
        }
        assert_eq!(door.queued().await, 0);
    })
    .await;
}

#[tokio::test]
async fn credentials_that_cannot_be_genuine_are_refused_before_the_body_is_read() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        for credential in door.hopeless_credentials() {
            // The body is announced and never sent: the answer cannot wait
            // for it, and the server never asks for it (`100 Continue`).
            let head = door.announcing(&credential, MAX_WEBHOOK_BODY);
            let mut open = door.server.open(&head, b"").await;
            let head = open.next_response().await;
            assert!(head.starts_with("http/1.1 401 "), "{credential:?}: {head}");
        }
        assert_eq!(door.queued().await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_door_without_its_secret_refuses_every_delivery_before_the_body_is_read() {
    on_each_forge(|forge, url| async move {
        let store = Store::connect(&url).await.expect("store connects");
        // No secret at all, and only the other forge's.
        let states = [
            AppState::new(store.clone(), WebhookSecrets::default(), Metrics::new()),
            Door::state_without_secret(forge, &store),
        ];
        for state in states {
            let door = Door::serve(forge, state).await;
            // What the secret would be, what could be genuine, and nothing.
            let credentials = [Credential::Current, door.plausible(), Credential::raw("")];
            for credential in credentials {
                let mut open = door
                    .server
                    .open(&door.announcing(&credential, 1000), b"")
                    .await;
                let head = open.next_response().await;
                assert!(head.starts_with("http/1.1 401 "), "{credential:?}: {head}");

                let answer = door
                    .send(door.known_event(), Some("d-1"), &door.opened(), &credential)
                    .await;
                assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{credential:?}");
            }
            assert_eq!(door.queued().await, 0);
        }
    })
    .await;
}

#[tokio::test]
async fn a_genuine_body_that_is_not_json_is_refused_with_400_and_a_reason() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let bodies: [&[u8]; 2] = [b"action=opened&number=1", b"<xml/>"];
        // A known event and an unknown one: neither can ever be evaluated.
        let events = [door.known_event(), door.unknown_event()];
        let mut n = 0;
        for event in events {
            for body in bodies {
                n += 1;
                let answer = door.deliver(event, &format!("d-{n}"), body).await;
                assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{event}");
                let reason = answer.error();
                assert!(reason.starts_with("the body is not JSON: "), "{reason}");
                assert!(reason.contains("line 1 column 1"), "{reason}");
            }
        }
        assert_eq!(door.queued().await, 0);
        let metrics = door.metrics().await;
        let counted = door.counted(door.known_event(), "rejected", bodies.len() as u64);
        assert!(metrics.contains(&counted), "{metrics}");
    })
    .await;
}

#[tokio::test]
async fn events_warrant_does_not_act_on_are_acknowledged_and_not_stored() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        for (n, (event, body)) in door.ignored().into_iter().enumerate() {
            let answer = door.deliver(event, &format!("d-{n}"), &body).await;
            assert_eq!(answer.status, StatusCode::OK, "{event}");
            assert_eq!(answer.said(), "ignored", "{event}");
        }
        assert_eq!(door.queued().await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_genuine_delivery_without_its_delivery_id_is_refused_with_400() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        let answer = door
            .send(
                door.known_event(),
                None,
                &door.opened(),
                &Credential::Current,
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        let reason = answer.error();
        assert!(reason.contains(door.delivery_header()), "{reason}");
        assert_eq!(door.queued().await, 0);
    })
    .await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused_with_408_and_its_budget_freed() {
    on_each_forge(|forge, url| async move {
        // The whole budget for one body, so that a body never freed would
        // turn the next delivery away.
        let store = Store::connect(&url).await.expect("store connects");
        let limits = BodyLimits::new(MAX_WEBHOOK_BODY, Duration::from_millis(500));
        let door = Door::serve(forge, Door::state(&store).with_body_limits(limits)).await;
        let plausible = door.plausible();

        // No `Content-Length`: the body takes the whole budget.
        let chunked = door.head(&plausible, &["transfer-encoding: chunked"]);
        let mut open = door.server.open(&chunked, b"5\r\n{\"a\":").await;
        let answer = open.next_response().await;
        assert!(answer.starts_with("http/1.1 408 "), "{answer}");

        // Announced, and asked for, but never all sent.
        let announced = door.announcing(&plausible, 100);
        let mut open = door.server.open(&announced, b"{").await;
        let head = open.next_response().await;
        assert!(head.starts_with("http/1.1 100 "), "reading begins: {head}");
        let head = open.next_response().await;
        assert!(head.starts_with("http/1.1 408 "), "{head}");

        // Their bytes are back in the budget, which holds one body only.
        let answer = door.deliver_opened("d-1").await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        assert_eq!(door.queued().await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_delivery_that_cannot_be_stored_is_a_500_without_detail() {
    on_each_forge(|forge, url| async move {
        let door = Door::start(forge, &url).await;
        door.server.store.close().await;
        let answer = door.deliver_opened("d-1").await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            answer.body,
            serde_json::json!({ "error": "internal error" })
        );
    })
    .await;
}

/// `door`'s opened delivery made distinct by `n`: GitHub's door takes an
/// equal body under another delivery id for a replay.
fn distinct_opened(door: &Door, n: usize) -> Vec<u8> {
    let mut body: serde_json::Value = serde_json::from_slice(&door.opened()).unwrap();
    body["warrant_test_copy"] = n.into();
    serde_json::to_vec(&body).unwrap()
}

/// Sends every `(delivery id, body)` at once, each on its own task, and
/// returns each delivery id with its answer's status.
async fn deliver_at_once(
    door: &std::sync::Arc<Door>,
    deliveries: Vec<(String, Vec<u8>)>,
) -> Vec<(String, StatusCode)> {
    let mut sending = tokio::task::JoinSet::new();
    for (delivery, body) in deliveries {
        let door = door.clone();
        sending.spawn(async move {
            let answer = door.deliver(door.known_event(), &delivery, &body).await;
            (delivery, answer.status)
        });
    }
    sending.join_all().await
}

/// The delivery ids stored in the queue at `url`, whatever their state.
async fn stored_ids(url: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let ids = sqlx::query_scalar("SELECT delivery_id FROM deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    ids
}

#[tokio::test]
async fn deliveries_arriving_together_are_each_stored_once_and_redeliveries_acknowledged() {
    on_each_forge(|forge, url| async move {
        let door = std::sync::Arc::new(Door::start(forge, &url).await);
        // Each delivery twice, all at once: the copies may share a commit.
        let deliveries: Vec<_> = (0..40)
            .flat_map(|n| {
                let body = distinct_opened(&door, n);
                [(format!("d-{n}"), body.clone()), (format!("d-{n}"), body)]
            })
            .collect();
        let answers = deliver_at_once(&door, deliveries).await;
        for n in 0..40 {
            let mut statuses: Vec<_> = answers
                .iter()
                .filter(|(delivery, _)| *delivery == format!("d-{n}"))
                .map(|(_, status)| status.as_u16())
                .collect();
            statuses.sort_unstable();
            assert_eq!(statuses, [200, 202], "d-{n}: one queued, one duplicate");
        }
        assert_eq!(door.queued().await, 40);
    })
    .await;
}

/// Makes every insert of delivery `poison` fail, and with it the
/// transaction that holds it.
async fn poison_inserts(url: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let statements: &[&str] = if url.starts_with("sqlite") {
        &["CREATE TRIGGER poison BEFORE INSERT ON deliveries \
           WHEN NEW.delivery_id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"]
    } else {
        &[
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.delivery_id = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; \
             RETURN NEW; END $$",
            "CREATE TRIGGER poison BEFORE INSERT ON deliveries \
             FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    };
    for statement in statements {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn a_delivery_is_answered_2xx_only_if_the_commit_that_holds_it_stored_it() {
    on_each_forge(|forge, url| async move {
        let door = std::sync::Arc::new(Door::start(forge, &url).await);
        poison_inserts(&url).await;
        // Deliveries that arrive with the poisoned one may share its
        // transaction: each of those fails with it, and is not stored.
        let mut deliveries: Vec<_> = (0..30)
            .map(|n| (format!("d-{n}"), distinct_opened(&door, n)))
            .collect();
        deliveries.insert(15, ("poison".to_owned(), distinct_opened(&door, 99)));
        let answers = deliver_at_once(&door, deliveries).await;
        let stored = stored_ids(&url).await;
        for (delivery, status) in &answers {
            match status.as_u16() {
                202 => assert!(
                    stored.contains(delivery),
                    "{delivery} acknowledged, not stored"
                ),
                500 => assert!(!stored.contains(delivery), "{delivery} refused, yet stored"),
                other => panic!("{delivery}: unexpected {other}"),
            }
        }
        let poison = answers.iter().find(|(d, _)| d == "poison").unwrap();
        assert_eq!(poison.1, StatusCode::INTERNAL_SERVER_ERROR);
        // Those the poison's failure refused can be delivered again.
        for (delivery, status) in &answers {
            if *status == StatusCode::INTERNAL_SERVER_ERROR && delivery != "poison" {
                let n: usize = delivery.trim_start_matches("d-").parse().unwrap();
                let body = distinct_opened(&door, n);
                let again = door.deliver(door.known_event(), delivery, &body).await;
                assert_eq!(again.status, StatusCode::ACCEPTED, "{delivery} again");
            }
        }
        assert_eq!(door.queued().await, 30);
    })
    .await;
}
