//! What the store keeps of each organisation's policy, on both databases.

mod support;

use chrono::{TimeZone, Utc};
use support::store::on_each_backend;
use warrant::engine::Forge;
use warrant::ids::RepoName;
use warrant::store::Store;
use warrant::store::org_policies::{OrgPolicyText, StoredOrgPolicy};

#[tokio::test]
async fn the_last_read_replaces_what_was_kept_and_an_absent_file_is_kept_too() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let repo = RepoName::parse("platform/gitlab-profile").unwrap();
        assert_eq!(store.org_policy(Forge::Gitlab, &repo).await.unwrap(), None);

        let first = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        store
            .record_org_policy(Forge::Gitlab, &repo, None, first)
            .await
            .unwrap();
        assert_eq!(
            store.org_policy(Forge::Gitlab, &repo).await.unwrap(),
            Some(StoredOrgPolicy {
                file: None,
                read_at: first
            })
        );

        let file = OrgPolicyText {
            path: "warrant-org.yml".into(),
            blob_id: "abc123".into(),
            text: "version: 1\n".into(),
            truncated: true,
        };
        let later = first + chrono::TimeDelta::minutes(7);
        store
            .record_org_policy(Forge::Gitlab, &repo, Some(&file), later)
            .await
            .unwrap();
        let kept = store
            .org_policy(Forge::Gitlab, &repo)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept.file.as_ref(), Some(&file));
        assert_eq!(kept.read_at, later);
        // Each forge keeps its own.
        assert_eq!(store.org_policy(Forge::Github, &repo).await.unwrap(), None);
    })
    .await;
}
