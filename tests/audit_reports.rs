//! The audit pages' store queries on SQLite and PostgreSQL: change records,
//! merges, and the list limited to the repositories a reader may see.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use support::keys::{key, repo_name};
use support::store::on_each_backend;
use warrant::audit::rollback::MergeMethod;
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::engine::Forge;
use warrant::store::changes::{ChangeRecord, ChangeStatus, NewMerge};
use warrant::store::reports::{ChangeFilter, Readable};
use warrant::store::{NewEvaluation, Store};

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, hour, 0, 0).unwrap()
}

fn change(title: &str, state: ChangeStatus, hour: u32) -> ChangeRecord {
    ChangeRecord {
        change: key("github", "acme/app", 7),
        title: title.into(),
        author: Some("octocat".into()),
        url: Some("https://github.com/acme/app/pull/7".into()),
        state,
        updated_at: at(hour),
    }
}

#[tokio::test]
async fn change_records_keep_the_newest_facts() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(
            store
                .change_record(&key("github", "acme/app", 7))
                .await
                .unwrap(),
            None
        );
        store
            .upsert_change(&change("First", ChangeStatus::Open, 9))
            .await
            .unwrap();
        store
            .upsert_change(&change("Renamed", ChangeStatus::Merged, 11))
            .await
            .unwrap();
        // A late redelivery of older facts changes nothing.
        store
            .upsert_change(&change("First", ChangeStatus::Open, 10))
            .await
            .unwrap();
        let stored = store
            .change_record(&key("github", "acme/app", 7))
            .await
            .unwrap();
        assert_eq!(stored, Some(change("Renamed", ChangeStatus::Merged, 11)));
    })
    .await;
}

#[tokio::test]
async fn the_last_merge_carries_its_method_and_commit_count() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        // A merge whose method is not known.
        store
            .record_merge_details(&NewMerge {
                change: &key("github", "acme/app", 7),
                head_sha: "aaaaaaa",
                merge_commit_sha: Some("bbbbbbb"),
                method: None,
                commit_count: None,
                delivery_id: Some("d1"),
                recorded_at: chrono::Utc::now(),
            })
            .await
            .unwrap();
        let old = store
            .last_merge(&key("github", "acme/app", 7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((old.method, old.commit_count), (None, None));
        store
            .record_merge_details(&NewMerge {
                change: &key("github", "acme/app", 7),
                head_sha: "ccccccc",
                merge_commit_sha: Some("ddddddd"),
                method: Some(MergeMethod::Rebase),
                commit_count: Some(3),
                delivery_id: Some("d2"),
                recorded_at: at(12),
            })
            .await
            .unwrap();
        let last = store
            .last_merge(&key("github", "acme/app", 7))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.merge_commit_sha.as_deref(), Some("ddddddd"));
        assert_eq!(
            (last.method, last.commit_count),
            (Some(MergeMethod::Rebase), Some(3))
        );
        assert_eq!(
            store
                .last_merge(&key("github", "acme/app", 8))
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn lists_and_counts_leave_out_repositories_the_reader_may_not_read() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        for (repo, number) in [("acme/app", 1), ("acme/secret", 2), ("acme/secret", 3)] {
            store
                .record_evaluation(
                    &NewEvaluation {
                        change: &key("github", repo, number),
                        head_sha: "aaaaaaa",
                        base_sha: None,
                        check_run_id: None,
                        conclusion: "success",
                        title: "Allowed",
                        decision: None,
                        input: None,
                        texts: None,
                        alerts: &[],
                        delivery_id: None,
                        evaluated_at: at(number as u32),
                    },
                    &[],
                )
                .await
                .unwrap();
        }
        let repos = store.report_repositories().await.unwrap();
        assert_eq!(
            repos,
            [
                ("github".to_owned(), "acme/app".to_owned()),
                ("github".to_owned(), "acme/secret".to_owned())
            ]
        );
        let only_app = Readable(BTreeSet::from([("github".into(), "acme/app".into())]));
        let everything = ChangeFilter::default();
        let page = store
            .changes_page(&everything, &only_app, 0, 10)
            .await
            .unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.rows[0].change.repo, "acme/app");
        let secret = ChangeFilter {
            repo: Some("acme/secret".into()),
            ..ChangeFilter::default()
        };
        let page = store.changes_page(&secret, &only_app, 0, 10).await.unwrap();
        assert_eq!((page.total, page.rows.len()), (0, 0));
        let nothing = store
            .changes_page(&everything, &Readable::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(nothing.total, 0);
        let mut seen = NewAuditEvent::new(
            Forge::Github,
            &repo_name("acme/secret"),
            EventKind::AgentIdentified,
            at(4),
        );
        seen.change = Some(2);
        seen.agent = Some("unregistered:devin".into());
        store.append_audit(&[seen]).await.unwrap();
        let inventory = store.agents_inventory(&only_app).await.unwrap();
        assert!(inventory.is_empty(), "{inventory:?}");
        let all = Readable(repos.into_iter().collect());
        let inventory = store.agents_inventory(&all).await.unwrap();
        let ids: Vec<&str> = inventory.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["unregistered:devin"]);
    })
    .await;
}
