//! The worker records each repository's GitHub id from its webhooks, so
//! that the audit pages grant access by id rather than by a name a new
//! repository may take (see `docs/access.md`); GitLab projects' ids too.
//! Signed webhooks through the real router, on SQLite and PostgreSQL.

mod support;

use support::app::{App, pull_request_event};
use support::github::{REPO, base, head};
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::events::HookAction;

#[tokio::test]
async fn a_webhook_records_its_repositorys_id_and_a_reused_name_keeps_the_first() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.add_copilot_pull(1, &["src/billing/export.rs"]);
        let event = pull_request_event("opened", 1, base().as_str(), head().as_str());
        let id = event["repository"]["id"]
            .as_u64()
            .expect("GitHub sends the id");
        assert_eq!(app.store.repository_id("github", REPO).await.unwrap(), None);
        app.deliver_and_wait("pull_request", "d-1", &event, 1).await;
        assert_eq!(
            app.store.repository_id("github", REPO).await.unwrap(),
            Some(id)
        );

        // The name now belongs to a new repository: its webhooks do not
        // make the old trail its own.
        let mut reused = pull_request_event("synchronize", 1, base().as_str(), head().as_str());
        reused["repository"]["id"] = (id + 1).into();
        app.deliver_and_wait("pull_request", "d-2", &reused, 2)
            .await;
        assert_eq!(
            app.store.repository_id("github", REPO).await.unwrap(),
            Some(id)
        );
    })
    .await;
}

#[tokio::test]
async fn a_gitlab_webhook_records_its_projects_id() {
    on_each_backend(|url| async move {
        let app = support::gitlab::GitlabApp::start(&url).await;
        let project = support::gitlab::PROJECT;
        app.add_merge_request(
            1,
            support::gitlab::AGENT_BOT,
            &["src/app.rs"],
            "Add a feature",
        );
        app.put_policy(support::gitlab::POLICY);
        assert_eq!(
            app.store.repository_id("gitlab", project).await.unwrap(),
            None
        );
        app.hook_and_wait(1, support::gitlab::AGENT_BOT, HookAction::Open, 1)
            .await;
        // The fake GitLab's projects have id 1.
        assert_eq!(
            app.store.repository_id("gitlab", project).await.unwrap(),
            Some(1)
        );
    })
    .await;
}
