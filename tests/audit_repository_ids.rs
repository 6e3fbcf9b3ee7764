//! The worker records each repository's GitHub id from its webhooks, so
//! that the audit pages grant access by id rather than by a name a new
//! repository may take (see `docs/access.md`); GitLab projects' ids too.
//! Signed webhooks through the real router, on SQLite and PostgreSQL.

mod support;

use support::app::{App, pull_request_event};
use support::forge::{Harness, on_each_forge};
use support::github::{REPO, base, head};
use support::keys::repo_name;
use support::store::on_each_backend;
use warrant::engine::Forge;

#[tokio::test]
async fn a_webhook_records_its_repository_s_id() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["src/app.rs"]);
        h.put_policy(h.policy());
        let id = h.repository_id_sent(1);
        if h.gitlab().is_some() {
            // The fake GitLab's projects have id 1.
            assert_eq!(id, 1);
        }
        assert_eq!(h.repository_id().await, None);
        h.open(1, 1).await;
        assert_eq!(h.repository_id().await, Some(id));
    })
    .await;
}

#[tokio::test]
async fn a_reused_repository_name_keeps_the_first_id() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.add_copilot_pull(1, &["src/billing/export.rs"]);
        let event = pull_request_event("opened", 1, base().as_str(), head().as_str());
        let id = event["repository"]["id"]
            .as_u64()
            .expect("GitHub sends the id");
        app.deliver_and_wait("pull_request", "d-1", &event, 1).await;
        assert_eq!(
            app.store
                .repository_id(Forge::Github, &repo_name(REPO))
                .await
                .unwrap(),
            Some(id)
        );

        // The name now belongs to a new repository: its webhooks do not
        // make the old trail its own.
        let mut reused = pull_request_event("synchronize", 1, base().as_str(), head().as_str());
        reused["repository"]["id"] = (id + 1).into();
        app.deliver_and_wait("pull_request", "d-2", &reused, 2)
            .await;
        assert_eq!(
            app.store
                .repository_id(Forge::Github, &repo_name(REPO))
                .await
                .unwrap(),
            Some(id)
        );
    })
    .await;
}
