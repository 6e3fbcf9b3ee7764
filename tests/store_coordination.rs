//! What workers share through the store, on SQLite and PostgreSQL: the
//! teams of each repository's policies, one lease per change and per head
//! commit, and the open changes whose head a commit is.

mod support;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use support::keys::{key, repo_name};
use support::store::on_each_backend;
use warrant::engine::Forge;
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
                    .policy_team_hints(Forge::Github, &repo_name("acme/app"), since)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(hints(at(0)).await, None, "never evaluated");

        store
            .record_policy_teams(Forge::Github, &repo_name("acme/app"), "blob-a", &[], at(0))
            .await
            .unwrap();
        assert_eq!(hints(at(0)).await, Some(vec![]), "known, naming no team");

        let teams = ["acme/sre".to_owned(), "acme/dba".to_owned()];
        store
            .record_policy_teams(
                Forge::Github,
                &repo_name("acme/app"),
                "blob-b",
                &teams,
                at(10),
            )
            .await
            .unwrap();
        let old = ["acme/legacy".to_owned(), "acme/sre".to_owned()];
        store
            .record_policy_teams(
                Forge::Github,
                &repo_name("acme/app"),
                "blob-old",
                &old,
                at(-100),
            )
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
            .record_policy_teams(
                Forge::Github,
                &repo_name("acme/app"),
                "blob-old",
                &old,
                at(20),
            )
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
                .policy_team_hints(Forge::Github, &repo_name("acme/other"), at(0))
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
                    .lease_change(&key("github", "acme/app", 7), owner, lease, now)
                    .await
                    .unwrap()
            }
        };
        assert!(take("a", at(0)).await);
        assert!(!take("b", at(1)).await, "held by a");
        assert!(take("a", at(2)).await, "a may renew its own lease");
        assert!(
            store
                .lease_change(&key("github", "acme/app", 8), "b", lease, at(3))
                .await
                .unwrap(),
            "another change is free"
        );
        store
            .release_change(&key("github", "acme/app", 7), "b")
            .await
            .unwrap();
        assert!(!take("b", at(4)).await, "only the holder releases");
        assert!(take("b", at(63)).await, "a's lease ran out");
        store
            .release_change(&key("github", "acme/app", 7), "b")
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
                    .record_approval_seen(&key("gitlab", "platform/pay/ledger", 7), &approval)
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
        let other_change = key("gitlab", "platform/pay/ledger", 8);
        let other = store.approvals_seen(&other_change);
        assert!(other.await.unwrap().is_empty(), "another merge request");
        let on_github = key("github", "platform/pay/ledger", 7);
        let github = store.approvals_seen(&on_github);
        assert!(github.await.unwrap().is_empty(), "another forge");

        let all = store
            .approvals_seen(&key("gitlab", "platform/pay/ledger", 7))
            .await
            .unwrap();
        assert_eq!(
            all,
            vec![seen("maria", "b2", true, 30), seen("omar", "b2", false, 31)]
        );
    })
    .await;
}

/// An evaluation of change `number` of `acme/app` at `head`.
async fn evaluated(store: &Store, number: u64, head: &str, conclusion: &str) {
    let evaluation = warrant::store::NewEvaluation {
        change: &key("github", "acme/app", number),
        head_sha: head,
        base_sha: Some("base"),
        check_run_id: None,
        conclusion,
        title: conclusion,
        decision: None,
        input: None,
        texts: None,
        alerts: &[],
        delivery_id: None,
        evaluated_at: at(number as i64),
    };
    store.record_evaluation(&evaluation, &[]).await.unwrap();
}

#[tokio::test]
async fn the_changes_at_a_head_are_the_open_ones_last_evaluated_there() {
    use warrant::store::changes::{ChangeRecord, ChangeStatus};
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        evaluated(&store, 1, "h", "failure").await;
        evaluated(&store, 2, "h", "neutral").await;
        // 3 was at h, and moved on; 4 is at h but closed.
        evaluated(&store, 3, "h", "failure").await;
        evaluated(&store, 3, "h2", "success").await;
        evaluated(&store, 4, "h", "failure").await;
        let closed = ChangeRecord {
            change: key("github", "acme/app", 4),
            title: "Closed".to_owned(),
            author: None,
            url: None,
            state: ChangeStatus::Closed,
            updated_at: at(50),
        };
        store.upsert_change(&closed).await.unwrap();

        let at_head = store
            .changes_at_head(Forge::Github, &repo_name("acme/app"), "h")
            .await
            .unwrap();
        let found: Vec<(u64, &str)> = at_head
            .iter()
            .map(|c| (c.number, c.conclusion.as_str()))
            .collect();
        assert_eq!(found, [(1, "failure"), (2, "neutral")]);
        let elsewhere = store
            .changes_at_head(Forge::Github, &repo_name("acme/app"), "h2")
            .await
            .unwrap();
        assert_eq!(elsewhere.len(), 1);
        assert!(
            store
                .changes_at_head(Forge::Gitlab, &repo_name("acme/app"), "h")
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn one_worker_at_a_time_publishes_to_a_head_commit() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let lease = Duration::from_secs(60);
        let take = |owner: &'static str, now| {
            let store = store.clone();
            async move {
                store
                    .lease_head(
                        Forge::Github,
                        &repo_name("acme/app"),
                        "h",
                        owner,
                        lease,
                        now,
                    )
                    .await
                    .unwrap()
            }
        };
        assert!(take("a", at(0)).await);
        assert!(!take("b", at(1)).await, "held by a");
        assert!(take("a", at(2)).await, "a holds it again");
        assert!(
            store
                .lease_head(
                    Forge::Github,
                    &repo_name("acme/app"),
                    "other",
                    "b",
                    lease,
                    at(3)
                )
                .await
                .unwrap(),
            "another commit is free"
        );
        store
            .release_head(Forge::Github, &repo_name("acme/app"), "h", "b")
            .await
            .unwrap();
        assert!(!take("b", at(4)).await, "only its holder releases it");
        store
            .release_head(Forge::Github, &repo_name("acme/app"), "h", "a")
            .await
            .unwrap();
        assert!(take("b", at(5)).await);
        assert!(take("c", at(200)).await, "a lease runs out");
    })
    .await;
}
