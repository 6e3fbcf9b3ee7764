//! The store's behaviour, each test run on SQLite and on PostgreSQL (see
//! `support::store`). Time is driven through the `now` arguments: nothing
//! here sleeps.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use support::store::on_each_backend;
use tokio::task::JoinSet;
use warrant::engine::Forge;
use warrant::store::{Enqueued, NewDelivery, QueueId, QueueStats, Store};

const LEASE: Duration = Duration::from_secs(30);

/// `seconds` after a fixed instant.
fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// A delivery whose body, and replay key, is its id: GitHub's bodies differ
/// from one delivery to the next, and an equal key is taken for a replay.
fn delivery(id: &str, received_at: DateTime<Utc>) -> NewDelivery<'_> {
    NewDelivery {
        forge: "github",
        delivery_id: id,
        event: "pull_request",
        payload: id.as_bytes(),
        replay_key: Some(id),
        received_at,
    }
}

async fn accept(store: &Store, delivery: NewDelivery<'_>) -> QueueId {
    match store.enqueue(&delivery).await.unwrap() {
        Enqueued::Accepted(id) => id,
        Enqueued::Duplicate => panic!("{} was already queued", delivery.delivery_id),
    }
}

#[tokio::test]
async fn connecting_twice_applies_the_migrations_once() {
    on_each_backend(|url| async move {
        let first = Store::connect(&url).await.unwrap();
        accept(&first, delivery("d1", at(0))).await;
        first.close().await;

        let second = Store::connect(&url).await.unwrap();
        second.ping().await.unwrap();
        assert_eq!(second.stats(at(0)).await.unwrap().queued, 1);
    })
    .await;
}

#[tokio::test]
async fn unsupported_database_urls_name_the_setting() {
    let err = Store::connect("mysql://root@localhost/warrant")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("WARRANT_DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn a_missing_sqlite_file_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.db");
    let store = Store::connect(&format!("sqlite:{}", file.display()))
        .await
        .unwrap();
    accept(&store, delivery("d1", at(0))).await;
    assert!(file.exists());
    // WAL keeps committed writes in a `-wal` file beside the database until a
    // checkpoint; in the default rollback mode no such file exists.
    assert!(dir.path().join("new.db-wal").exists());
}

/// The permission bits of each of the database's three files.
#[cfg(unix)]
fn modes(dir: &std::path::Path, name: &str) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let file = format!("{name}{suffix}");
            let meta = std::fs::metadata(dir.join(&file)).expect("the file exists");
            (file, meta.permissions().mode() & 0o777)
        })
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_files_are_readable_by_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("w.db").display()))
        .await
        .unwrap();
    accept(&store, delivery("d1", at(0))).await;
    for (file, mode) in modes(dir.path(), "w.db") {
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn an_sqlite_database_readable_by_others_is_restricted_to_its_owner_when_opened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let first = Store::connect(&url).await.unwrap();
    accept(&first, delivery("d1", at(0))).await;
    // As an older Warrant, or a careless copy, left them.
    for (file, _) in modes(dir.path(), "w.db") {
        std::fs::set_permissions(dir.path().join(file), PermissionsExt::from_mode(0o644)).unwrap();
    }

    let second = Store::connect(&url).await.unwrap();
    accept(&second, delivery("d2", at(0))).await;
    for (file, mode) in modes(dir.path(), "w.db") {
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_as_a_duplicate() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        accept(&store, delivery("d1", at(0))).await;
        let again = store.enqueue(&delivery("d1", at(5))).await.unwrap();
        assert_eq!(again, Enqueued::Duplicate);

        // The same id from the other forge is another delivery.
        let gitlab = NewDelivery {
            forge: "gitlab",
            ..delivery("d1", at(0))
        };
        assert!(matches!(
            store.enqueue(&gitlab).await.unwrap(),
            Enqueued::Accepted(_)
        ));
        assert_eq!(store.stats(at(5)).await.unwrap().queued, 2);
    })
    .await;
}

/// Ten enqueues at once on two replicas, the `n`-th with the delivery id
/// `id(n)` and the body (and replay key) `body`; how many were accepted.
async fn accepted_of_ten_at_once(url: &str, id: fn(usize) -> String, body: &'static str) -> usize {
    let replicas = [
        Store::connect(url).await.unwrap(),
        Store::connect(url).await.unwrap(),
    ];
    let mut tasks = JoinSet::new();
    for n in 0..10 {
        let store = replicas[n % 2].clone();
        tasks.spawn(async move {
            let id = id(n);
            let delivery = NewDelivery {
                payload: body.as_bytes(),
                replay_key: Some(body),
                ..delivery(&id, at(0))
            };
            store.enqueue(&delivery).await.unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    outcomes
        .iter()
        .filter(|o| matches!(o, Enqueued::Accepted(_)))
        .count()
}

#[tokio::test]
async fn concurrent_redeliveries_are_stored_once() {
    on_each_backend(|url| async move {
        let accepted = accepted_of_ten_at_once(&url, |_| "same".to_owned(), "same").await;
        assert_eq!(accepted, 1);
    })
    .await;
}

#[tokio::test]
async fn a_github_body_replayed_under_another_delivery_id_is_a_duplicate() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let body = &b"{\"action\":\"opened\"}"[..];
        let key = Some("5f3c");
        accept(
            &store,
            NewDelivery {
                payload: body,
                replay_key: key,
                ..delivery("d1", at(0))
            },
        )
        .await;
        let replay = NewDelivery {
            payload: body,
            replay_key: key,
            ..delivery("d2", at(5))
        };
        assert_eq!(store.enqueue(&replay).await.unwrap(), Enqueued::Duplicate);

        // Deliveries without a key are told apart by their id only.
        for id in ["n1", "n2"] {
            let unkeyed = NewDelivery {
                delivery_id: id,
                replay_key: None,
                ..replay
            };
            let outcome = store.enqueue(&unkeyed).await.unwrap();
            assert!(matches!(outcome, Enqueued::Accepted(_)), "{id}");
        }

        // GitLab's token signs nothing, and it may send equal bodies for
        // distinct events: its deliveries are told apart by id only, even
        // with equal keys.
        for key in ["g1", "g2"] {
            let gitlab = NewDelivery {
                forge: "gitlab",
                ..replay
            };
            let gitlab = NewDelivery {
                delivery_id: key,
                ..gitlab
            };
            assert!(matches!(
                store.enqueue(&gitlab).await.unwrap(),
                Enqueued::Accepted(_)
            ));
        }
        assert_eq!(store.stats(at(5)).await.unwrap().queued, 5);
    })
    .await;
}

#[tokio::test]
async fn concurrent_replays_of_one_body_on_two_replicas_are_stored_once() {
    on_each_backend(|url| async move {
        let accepted = accepted_of_ten_at_once(&url, |n| format!("replay-{n}"), "{}").await;
        assert_eq!(accepted, 1);
    })
    .await;
}

#[tokio::test]
async fn an_unknown_forge_is_refused() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let bitbucket = NewDelivery {
            forge: "bitbucket",
            ..delivery("d1", at(0))
        };
        assert!(store.enqueue(&bitbucket).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn claims_take_the_oldest_due_delivery_first_with_its_raw_payload() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let payload: &[u8] = &[0xff, 0x00, b'{', 0xfe];
        let newer = accept(&store, delivery("newer", at(20))).await;
        let older = accept(
            &store,
            NewDelivery {
                payload,
                ..delivery("older", at(10))
            },
        )
        .await;

        let first = store
            .claim("w1", &[Forge::Github], LEASE, at(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.id, older);
        assert_eq!(first.delivery_id, "older");
        assert_eq!(
            (first.forge.as_str(), first.event.as_str()),
            ("github", "pull_request")
        );
        assert_eq!(first.payload, payload);
        assert_eq!(first.received_at, at(10));
        assert_eq!(first.attempts, 1);
        assert_eq!(first.lease_expires_at, at(30) + LEASE);
        assert_eq!(first.last_error, None);

        let second = store
            .claim("w1", &[Forge::Github], LEASE, at(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.id, newer);
        assert_eq!(
            store
                .claim("w1", &[Forge::Github], LEASE, at(30))
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn nothing_is_claimed_from_an_empty_queue_or_before_it_was_received() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(
            store
                .claim("w1", &[Forge::Github], LEASE, at(0))
                .await
                .unwrap(),
            None
        );
        accept(&store, delivery("d1", at(10))).await;
        assert_eq!(
            store
                .claim("w1", &[Forge::Github], LEASE, at(9))
                .await
                .unwrap(),
            None
        );
        assert!(
            store
                .claim("w1", &[Forge::Github], LEASE, at(10))
                .await
                .unwrap()
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_worker_is_refused() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let id = accept(&store, delivery("d1", at(0))).await;
        store
            .claim("crashed", &[Forge::Github], LEASE, at(0))
            .await
            .unwrap()
            .unwrap();

        // Within the lease nobody else may take it.
        assert_eq!(
            store
                .claim("w2", &[Forge::Github], LEASE, at(29))
                .await
                .unwrap(),
            None
        );

        let reclaimed = store
            .claim("w2", &[Forge::Github], LEASE, at(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((reclaimed.id, reclaimed.attempts), (id, 2));
        assert!(!store.complete(id, "crashed").await.unwrap());
        assert!(!store.retry(id, "crashed", at(99), "late").await.unwrap());
        assert!(!store.fail(id, "crashed", "late").await.unwrap());
        assert!(store.complete(id, "w2").await.unwrap());
        assert_eq!(
            store
                .claim("w3", &[Forge::Github], LEASE, at(1_000))
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn only_the_lease_holder_ends_an_attempt_and_only_once() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let id = accept(&store, delivery("d1", at(0))).await;
        assert!(!store.complete(id, "w1").await.unwrap(), "not claimed yet");
        store
            .claim("w1", &[Forge::Github], LEASE, at(0))
            .await
            .unwrap()
            .unwrap();

        assert!(!store.complete(id, "w2").await.unwrap());
        assert!(store.complete(id, "w1").await.unwrap());
        assert!(!store.complete(id, "w1").await.unwrap(), "already done");
    })
    .await;
}

#[tokio::test]
async fn a_retry_is_not_claimed_before_its_time_and_keeps_its_error() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let id = accept(&store, delivery("d1", at(0))).await;
        store
            .claim("w1", &[Forge::Github], LEASE, at(0))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .retry(id, "w1", at(60), "GitHub answered 502")
                .await
                .unwrap()
        );

        assert_eq!(
            store
                .claim("w2", &[Forge::Github], LEASE, at(59))
                .await
                .unwrap(),
            None
        );
        let again = store
            .claim("w2", &[Forge::Github], LEASE, at(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, id);
        assert_eq!(again.attempts, 2);
        assert_eq!(again.last_error.as_deref(), Some("GitHub answered 502"));
    })
    .await;
}

#[tokio::test]
async fn a_failed_delivery_is_never_claimed_again_and_is_counted() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let id = accept(&store, delivery("d1", at(0))).await;
        store
            .claim("w1", &[Forge::Github], LEASE, at(0))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .fail(id, "w1", "gave up after 5 attempts")
                .await
                .unwrap()
        );
        assert!(!store.fail(id, "w1", "twice").await.unwrap());

        assert_eq!(
            store
                .claim("w2", &[Forge::Github], LEASE, at(1_000_000))
                .await
                .unwrap(),
            None
        );
        let stats = store.stats(at(10)).await.unwrap();
        assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 1));
    })
    .await;
}

#[tokio::test]
async fn stats_count_each_state_and_age_the_oldest_queued_delivery() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let empty = QueueStats {
            queued: 0,
            running: 0,
            failed: 0,
            oldest_queued_age: None,
        };
        assert_eq!(store.stats(at(0)).await.unwrap(), empty);

        for (n, received) in [(1, 0), (2, 10), (3, 20), (4, 30), (5, 40)] {
            accept(&store, delivery(&format!("d{n}"), at(received))).await;
        }
        let done = store
            .claim("w", &[Forge::Github], LEASE, at(100))
            .await
            .unwrap()
            .unwrap();
        store.complete(done.id, "w").await.unwrap();
        let failed = store
            .claim("w", &[Forge::Github], LEASE, at(100))
            .await
            .unwrap()
            .unwrap();
        store.fail(failed.id, "w", "broken").await.unwrap();
        store
            .claim("w", &[Forge::Github], LEASE, at(100))
            .await
            .unwrap()
            .unwrap();

        // d4 and d5 wait; d4 was received at 30 s.
        let stats = store.stats(at(100)).await.unwrap();
        assert_eq!(
            stats,
            QueueStats {
                queued: 2,
                running: 1,
                failed: 1,
                oldest_queued_age: Some(Duration::from_secs(70)),
            }
        );
        // A clock behind the delivery's reception reads as no wait, not a panic.
        assert_eq!(
            store.stats(at(0)).await.unwrap().oldest_queued_age,
            Some(Duration::ZERO)
        );
    })
    .await;
}

/// Two replicas, four workers each, racing over 200 deliveries without
/// completing any: a delivery claimed twice would show up twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_claim_every_delivery_exactly_once() {
    on_each_backend(|url| async move {
        let replicas = [
            Store::connect(&url).await.unwrap(),
            Store::connect(&url).await.unwrap(),
        ];
        let mut queued = BTreeSet::new();
        for n in 0..200 {
            let id = format!("d{n}");
            queued.insert(accept(&replicas[n % 2], delivery(&id, at(n as i64))).await);
        }

        let mut workers = JoinSet::new();
        for w in 0..8 {
            let store = replicas[w % 2].clone();
            workers.spawn(async move {
                let worker = format!("replica{}-worker{w}", w % 2);
                let mut claimed = Vec::new();
                while let Some(d) = store
                    .claim(&worker, &[Forge::Github], LEASE, at(1_000))
                    .await
                    .unwrap()
                {
                    claimed.push(d.id);
                }
                claimed
            });
        }
        let claimed: Vec<QueueId> = workers.join_all().await.into_iter().flatten().collect();

        let distinct: BTreeSet<QueueId> = claimed.iter().copied().collect();
        assert_eq!(
            claimed.len(),
            distinct.len(),
            "a delivery was claimed twice"
        );
        assert_eq!(distinct, queued, "a delivery was never claimed");
        assert_eq!(replicas[0].stats(at(1_000)).await.unwrap().running, 200);
    })
    .await;
}
