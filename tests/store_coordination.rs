//! What workers share through the store, on SQLite and PostgreSQL: the
//! teams of each repository's policies, and one lease per change.

mod support_store;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use support_store::on_each_backend;
use warrant::store::Store;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

#[tokio::test]
async fn team_hints_are_unknown_until_a_policy_is_recorded_then_gather_recent_policies() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let hints = |since| {
            let store = store.clone();
            async move {
                store
                    .policy_team_hints("github", "acme/app", since)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(hints(at(0)).await, None, "never evaluated");

        store
            .record_policy_teams("github", "acme/app", "blob-a", &[], at(0))
            .await
            .unwrap();
        assert_eq!(hints(at(0)).await, Some(vec![]), "known, naming no team");

        let teams = ["acme/sre".to_owned(), "acme/dba".to_owned()];
        store
            .record_policy_teams("github", "acme/app", "blob-b", &teams, at(10))
            .await
            .unwrap();
        let old = ["acme/legacy".to_owned(), "acme/sre".to_owned()];
        store
            .record_policy_teams("github", "acme/app", "blob-old", &old, at(-100))
            .await
            .unwrap();
        assert_eq!(
            hints(at(-200)).await,
            Some(vec![
                "acme/dba".into(),
                "acme/legacy".into(),
                "acme/sre".into()
            ]),
            "every recent policy's teams, sorted, once each"
        );
        assert_eq!(
            hints(at(5)).await,
            Some(vec!["acme/dba".into(), "acme/sre".into()]),
            "policies not applied since are left out"
        );
        // Applying a policy again refreshes it.
        store
            .record_policy_teams("github", "acme/app", "blob-old", &old, at(20))
            .await
            .unwrap();
        assert!(
            hints(at(5))
                .await
                .unwrap()
                .contains(&"acme/legacy".to_owned())
        );
        assert_eq!(
            store
                .policy_team_hints("github", "acme/other", at(0))
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn a_change_is_leased_to_one_worker_until_released_or_expired() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let lease = Duration::from_secs(60);
        let take = |owner: &'static str, now| {
            let store = store.clone();
            async move {
                store
                    .lease_change("github", "acme/app", 7, owner, lease, now)
                    .await
                    .unwrap()
            }
        };
        assert!(take("a", at(0)).await);
        assert!(!take("b", at(1)).await, "held by a");
        assert!(take("a", at(2)).await, "a may renew its own lease");
        assert!(
            store
                .lease_change("github", "acme/app", 8, "b", lease, at(3))
                .await
                .unwrap(),
            "another change is free"
        );
        store
            .release_change("github", "acme/app", 7, "b")
            .await
            .unwrap();
        assert!(!take("b", at(4)).await, "only the holder releases");
        assert!(take("b", at(63)).await, "a's lease ran out");
        store
            .release_change("github", "acme/app", 7, "b")
            .await
            .unwrap();
        assert!(take("c", at(64)).await, "released");
    })
    .await;
}

#[tokio::test]
async fn the_latest_approval_event_of_each_approver_wins_whatever_the_order_recorded() {
    use warrant::store::approvals::SeenApproval;
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let seen = |who: &str, head: &str, approved, t| SeenApproval {
            approver: who.to_owned(),
            head_sha: head.to_owned(),
            approved,
            at: at(t),
        };
        let record = |approval: SeenApproval| {
            let store = store.clone();
            async move {
                store
                    .record_approval_seen("gitlab", "platform/pay/ledger", 7, &approval)
                    .await
                    .unwrap()
            }
        };
        record(seen("Maria", "a1", true, 10)).await;
        record(seen("omar", "a1", true, 11)).await;
        // Maria approves again after a push; her withdrawal, sent before
        // that, is processed last and changes nothing.
        record(seen("maria", "b2", true, 30)).await;
        record(seen("maria", "a1", false, 20)).await;
        record(seen("omar", "b2", false, 31)).await;
        let other = store.approvals_seen("gitlab", "platform/pay/ledger", 8);
        assert!(other.await.unwrap().is_empty(), "another merge request");
        let github = store.approvals_seen("github", "platform/pay/ledger", 7);
        assert!(github.await.unwrap().is_empty(), "another forge");

        let all = store
            .approvals_seen("gitlab", "platform/pay/ledger", 7)
            .await
            .unwrap();
        assert_eq!(
            all,
            vec![seen("maria", "b2", true, 30), seen("omar", "b2", false, 31)]
        );
    })
    .await;
}
