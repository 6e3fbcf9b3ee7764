//! The organisation policy on GitLab, end to end: `warrant-org.yml` in the
//! top-level group's `gitlab-profile` project, read apart from the merge
//! request and kept for every replica, decided beside the project's
//! policy, and refreshed and audited when a push changes it. Each test runs
//! on SQLite, and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use support::gitlab::{AGENT_BOT, ALICE, BASE, GitlabApp, HEAD, MARIA, POLICY};
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::events::{HookAction, push_hook};
use warrant::store::Chain;

/// The top-level group's project that keeps the organisation policy.
const ORG_PROJECT: &str = "platform/gitlab-profile";

/// The group registers the project bot once, for `src/`, and holds
/// payments code to two SRE approvals.
const ORG: &str = r#"version: 1
agents:
  ledger-bot:
    role: feature-dev
    owner: alice
    match:
      logins: ["project_42_bot_7f3a"]
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["platform/sre"]
    min_approvals: 2
"#;

fn put_org_policy(app: &GitlabApp, text: &str) {
    app.fake
        .put_file(ORG_PROJECT, "HEAD", "warrant-org.yml", text);
}

/// The requests that read the organisation policy.
fn org_reads(app: &GitlabApp) -> usize {
    app.fake
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .contains("platform%2Fgitlab-profile/repository/files/warrant-org.yml")
        })
        .count()
}

#[tokio::test]
async fn the_groups_policy_decides_a_project_without_its_own_and_is_read_once() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, ORG);
        app.add_merge_request(1, AGENT_BOT, &["src/payments/pay.rs"], "Pay");
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;

        let decision = app.decision(1).await;
        assert_eq!(decision["conclusion"], "action_required", "{decision:#}");
        assert_eq!(decision["agents"][0]["id"], "ledger-bot");
        assert_eq!(decision["agents"][0]["status"]["kind"], "registered");
        assert_eq!(decision["org_policy"]["repository"], ORG_PROJECT);
        assert_eq!(decision["org_policy"]["path"], "warrant-org.yml");
        assert_eq!(
            decision["org_policy"]["blob_id"],
            warrant::policy::blob_id(ORG.as_bytes()).as_str()
        );
        assert_eq!(decision["requirements"][0]["from"], "organisation");
        assert_eq!(decision["requirements"][0]["min_approvals"], 2);
        assert_eq!(app.last_status(HEAD).state, "pending");
        assert_eq!(org_reads(&app), 1);

        // Evaluated again: what the store keeps serves, with no request.
        app.hook_and_wait(1, MARIA, HookAction::Approved, 2).await;
        assert_eq!(app.evaluations(1).await.len(), 2);
        assert_eq!(org_reads(&app), 1, "{:#?}", app.fake.requests());
    })
    .await;
}

#[tokio::test]
async fn a_project_that_registers_a_group_agent_again_fails_at_its_line() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, ORG);
        app.put_policy(POLICY);
        app.add_merge_request(2, AGENT_BOT, &["src/app.rs"], "Add");
        app.hook_and_wait(2, AGENT_BOT, HookAction::Open, 1).await;

        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let decision = app.decision(2).await;
        let title = decision["title"].as_str().unwrap();
        assert!(
            title.starts_with(
                "Invalid policy: .gitlab/warrant.yml:4:3: agents.ledger-bot: `ledger-bot` is \
                 registered by the organisation policy"
            ),
            "{title}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_invalid_group_policy_fails_every_check_closed() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, "version: 1\nmode: enforced\n");
        app.put_policy("version: 1\n");
        app.add_merge_request(3, ALICE, &["README.md"], "Docs");
        app.hook_and_wait(3, ALICE, HookAction::Open, 1).await;

        assert_eq!(app.last_status(HEAD).state, "failed");
        let decision = app.decision(3).await;
        let title = decision["title"].as_str().unwrap();
        assert!(
            title.starts_with("Invalid organisation policy: warrant-org.yml:2:7: mode:"),
            "{title}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_push_to_the_groups_policy_is_audited_and_replaces_what_is_kept() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, "version: 1\n");
        app.add_merge_request(4, AGENT_BOT, &["src/payments/pay.rs"], "Pay");
        app.hook_and_wait(4, AGENT_BOT, HookAction::Open, 1).await;
        assert_eq!(
            app.decision(4).await["agents"][0]["status"]["kind"],
            "unregistered"
        );

        let after = "5555555555555555555555555555555555555555";
        app.fake
            .put_file(ORG_PROJECT, after, "warrant-org.yml", ORG);
        put_org_policy(&app, ORG);
        let pusher = app.fake.state().user(ALICE);
        let push = push_hook(
            ORG_PROJECT,
            "main",
            "refs/heads/main",
            (BASE, after),
            &pusher,
            &["warrant-org.yml"],
        );
        assert_eq!(app.send("Push Hook", &push, "org-push-1").await, 202);
        app.wait_for_deliveries(2).await;

        let chain = Chain {
            forge: "gitlab".to_owned(),
            repo: ORG_PROJECT.to_owned(),
        };
        let trail = app.store.audit_chain_page(&chain, 0, 50).await.unwrap();
        let changed = &trail.last().unwrap().event;
        assert_eq!(changed.kind.as_str(), "policy_changed");
        assert_eq!(changed.paths, ["warrant-org.yml"]);
        assert_eq!(changed.detail["scope"], "organisation");
        assert_eq!(changed.detail["policy"], "valid");
        assert_eq!(changed.head_sha.as_deref(), Some(after));

        // Within the five minutes, the next evaluation decides under the
        // pushed version without reading it again.
        app.fake.clear_requests();
        app.hook_and_wait(4, AGENT_BOT, HookAction::Update, 3).await;
        assert_eq!(org_reads(&app), 0, "{:#?}", app.fake.requests());
        let decision = app.decision(4).await;
        assert_eq!(decision["agents"][0]["status"]["kind"], "registered");
        assert_eq!(
            decision["org_policy"]["blob_id"],
            warrant::policy::blob_id(ORG.as_bytes()).as_str()
        );
    })
    .await;
}

#[tokio::test]
async fn a_project_cannot_lower_the_groups_floor_nor_switch_it_to_observe() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, ORG);
        app.put_policy(
            r#"version: 1
mode: observe
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["platform/sre"]
    min_approvals: 1
"#,
        );
        app.add_merge_request(5, AGENT_BOT, &["src/payments/pay.rs"], "Pay");
        app.fake.approve(support::gitlab::PROJECT, 5, MARIA);
        app.hook_and_wait(5, MARIA, HookAction::Approval, 1).await;

        // One SRE approved: the project's own area (observed anyway) is
        // met, the group's two are not.
        assert_eq!(app.last_status(HEAD).state, "pending");
        let decision = app.decision(5).await;
        assert_eq!(decision["applied"][0]["mode"], "enforce");
        assert_eq!(decision["applied"][1]["mode"], "observe");
        let unmet: Vec<&serde_json::Value> = decision["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["satisfied"] == false)
            .collect();
        assert_eq!(unmet.len(), 1, "{decision:#}");
        assert_eq!(unmet[0]["from"], "organisation");
        assert_eq!(unmet[0]["min_approvals"], 2);
    })
    .await;
}

#[tokio::test]
async fn a_project_leaving_unregistered_agents_out_takes_the_groups_action() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(
            &app,
            &format!("{ORG}unregistered_agents:\n  action: block\n"),
        );
        app.put_policy("version: 1\n");
        app.add_merge_request(6, support::gitlab::SHADOW_BOT, &["src/app.rs"], "Tidy");
        app.hook_and_wait(6, support::gitlab::SHADOW_BOT, HookAction::Open, 1)
            .await;

        assert_eq!(app.last_status(HEAD).state, "failed");
        let decision = app.decision(6).await;
        let unregistered: Vec<&serde_json::Value> = decision["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == "unregistered_agent")
            .collect();
        assert_eq!(unregistered.len(), 1, "{decision:#}");
        assert_eq!(unregistered[0]["blocking"], true);
        assert_eq!(decision["applied"][1]["would_conclude"], "failure");
    })
    .await;
}

#[tokio::test]
async fn an_agent_changing_the_groups_policy_in_its_project_fails() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, ORG);
        let mr = warrant::forge::gitlab::fake::FakeMergeRequest {
            project: ORG_PROJECT.to_owned(),
            iid: 7,
            title: "Widen my own role".to_owned(),
            author_id: AGENT_BOT,
            head_sha: HEAD.to_owned(),
            base_sha: BASE.to_owned(),
            source_branch: "bot/widen".to_owned(),
            target_branch: "main".to_owned(),
            files: vec![("warrant-org.yml".to_owned(), None)],
            commits: vec![support::gitlab::commit(HEAD, "Widen")],
            ..Default::default()
        };
        app.fake.add_merge_request(mr.clone());
        let actor = app.fake.state().user(AGENT_BOT);
        let hook = warrant::forge::gitlab::fake::events::merge_request_hook(
            &mr,
            &actor,
            &HookAction::Open,
        );
        assert_eq!(app.send("Merge Request Hook", &hook, "org-mr-7").await, 202);
        app.wait_for_deliveries(1).await;

        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let stored = app
            .store
            .evaluations(&support::keys::key("gitlab", ORG_PROJECT, 7))
            .await
            .unwrap();
        let decision: serde_json::Value =
            serde_json::from_str(stored[0].decision.as_deref().unwrap()).unwrap();
        let kinds: Vec<&str> = decision["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"policy_file_changed_by_agent"),
            "{decision:#}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_groups_policy_change_is_tried_on_the_groups_past_merge_requests() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        put_org_policy(&app, ORG);
        app.put_policy("version: 1\n");
        // The bot's payments merge request in platform/payments/ledger,
        // approved once of the group's two.
        app.add_merge_request(5, AGENT_BOT, &["src/payments/pay.rs"], "Pay");
        app.fake.approve(support::gitlab::PROJECT, 5, MARIA);
        app.hook_and_wait(5, MARIA, HookAction::Approval, 1).await;
        assert_eq!(app.decision(5).await["conclusion"], "action_required");

        // alice proposes one approval in platform/gitlab-profile.
        let proposed = ORG.replace("min_approvals: 2", "min_approvals: 1");
        let mr = warrant::forge::gitlab::fake::FakeMergeRequest {
            project: ORG_PROJECT.to_owned(),
            iid: 8,
            title: "One approval for payments".to_owned(),
            author_id: ALICE,
            head_sha: HEAD.to_owned(),
            base_sha: BASE.to_owned(),
            source_branch: "alice/payments".to_owned(),
            target_branch: "main".to_owned(),
            files: vec![("warrant-org.yml".to_owned(), None)],
            commits: vec![support::gitlab::commit(HEAD, "One approval")],
            ..Default::default()
        };
        app.fake.add_merge_request(mr.clone());
        app.fake
            .put_file(ORG_PROJECT, HEAD, "warrant-org.yml", &proposed);
        let actor = app.fake.state().user(ALICE);
        let hook = warrant::forge::gitlab::fake::events::merge_request_hook(
            &mr,
            &actor,
            &HookAction::Open,
        );
        assert_eq!(app.send("Merge Request Hook", &hook, "org-mr-8").await, 202);
        app.wait_for_deliveries(2).await;

        let stored = app
            .store
            .evaluations(&support::keys::key("gitlab", ORG_PROJECT, 8))
            .await
            .unwrap();
        let decision: serde_json::Value =
            serde_json::from_str(stored[0].decision.as_deref().unwrap()).unwrap();
        let replay = &decision["proposed"][0]["replay"];
        assert_eq!(
            decision["proposed"][0]["from"], "organisation",
            "{decision:#}"
        );
        assert_eq!(replay["replayed"], 1, "{decision:#}");
        let flip = &replay["flips"][0];
        assert_eq!(flip["repository"], support::gitlab::PROJECT);
        assert_eq!(flip["number"], 5);
        assert_eq!(flip["from"], "action_required");
        assert_eq!(flip["to"], "success");
    })
    .await;
}
