//! Warrant on GitLab, end to end: webhooks shaped like GitLab's through the
//! real router and queue, the real worker against a fake GitLab over HTTP,
//! the `warrant` commit status and the stored decision checked. On SQLite
//! always, on PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set. Only
//! what is GitLab's own is here (external status checks); what the app
//! does the same on GitHub is in `forges.rs`, written once for both forges.

mod support;

use support::gitlab::*;
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::events::HookAction;

#[tokio::test]
async fn an_external_status_check_named_warrant_is_answered_after_each_decision() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.fake.add_status_check(PROJECT, 78, "compliance-scan");
        app.fake.add_status_check(PROJECT, 77, "warrant");
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;

        let answers: Vec<(u64, String, String)> = app
            .fake
            .check_responses()
            .into_iter()
            .map(|r| (r.check_id, r.sha, r.status))
            .collect();
        assert_eq!(
            answers,
            [
                (77, HEAD.to_owned(), "pending".to_owned()),
                (77, HEAD.to_owned(), "passed".to_owned()),
            ]
        );
        // Which check is Warrant's is asked once, not on every decision.
        let asked = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.path.contains("/status_checks"))
            .count();
        assert_eq!(asked, 1);

        // GitLab notifies the check's URL of changes; Warrant acts on the
        // webhook instead and stores nothing from the notification.
        let notified = app
            .server
            .client
            .post(app.server.url("/webhooks/gitlab/status-check"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(notified.status().as_u16(), 200);
        assert_eq!(app.server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn below_ultimate_no_status_check_is_answered() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["infra/main.tf"], "Tweak infra");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        // The fake answers 403 to status checks, as GitLab below Ultimate.
        assert_eq!(app.last_status(HEAD).state, "failed");
        assert!(app.fake.check_responses().is_empty());
        assert_eq!(app.server.queue().await.failed, 0);
    })
    .await;
}
