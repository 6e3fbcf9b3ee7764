//! `codeowners` as approvers on GitLab, end to end: the CODEOWNERS file at
//! the base read through the repository files API in GitLab's order, its
//! sections with their approval counts, groups resolved to members. On
//! SQLite always, on PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use support::gitlab::*;
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::events::HookAction;

/// The project bot may work in `src/`; payments code needs its owners.
const POLICY: &str = r#"version: 1
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
    approvers: [codeowners]
"#;

/// Two SRE approvals for payments; the docs section is optional.
const CODEOWNERS: &str = "\
[Payments][2] @platform/sre
/src/payments/

^[Docs] @alice
*.md
";

/// REST requests for a CODEOWNERS file, by path tried: none, since the
/// file is read with the policy in the merge request's GraphQL query.
fn codeowners_reads(app: &GitlabApp) -> Vec<String> {
    app.fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("CODEOWNERS"))
        .map(|r| r.path)
        .collect()
}

/// The paths the GraphQL queries asked for at the base, in order.
fn paths_asked(app: &GitlabApp) -> Vec<String> {
    let request = app
        .fake
        .requests()
        .into_iter()
        .find(|r| r.body.contains("\"paths\""))
        .expect("the files at the base are read");
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    let paths = body["variables"]["paths"].as_array().unwrap();
    paths
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_section_with_two_required_approvals_waits_for_both_of_its_owners() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.fake
            .put_file(PROJECT, BASE, ".gitlab/CODEOWNERS", CODEOWNERS);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        assert_eq!(app.last_status(HEAD).state, "pending");
        // GitLab's order: the root, `docs/`, then `.gitlab/`.
        let asked = paths_asked(&app);
        let owners: Vec<_> = asked.iter().filter(|p| p.contains("CODEOWNERS")).collect();
        assert_eq!(
            owners,
            ["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"],
            "{asked:?}"
        );
        assert!(codeowners_reads(&app).is_empty());

        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;
        assert_eq!(app.last_status(HEAD).state, "pending");
        let decision = app.decision(1).await;
        let owned = &decision["requirements"][0]["owned_paths"][0];
        assert_eq!(owned["section"], "Payments");
        assert_eq!(owned["required"], 2);
        assert_eq!(owned["line"], 2);
        assert_eq!(owned["owners"], serde_json::json!(["@platform/sre"]));
        assert_eq!(owned["approved_by"], serde_json::json!(["maria"]));

        // A bot in the group never counts, even as a code owner.
        app.fake.approve(PROJECT, 1, REVIEW_BOT);
        app.hook_and_wait(1, REVIEW_BOT, HookAction::Approval, 3)
            .await;
        assert_eq!(app.last_status(HEAD).state, "pending");

        app.fake.approve(PROJECT, 1, OMAR);
        app.hook_and_wait(1, OMAR, HookAction::Approval, 4).await;
        assert_eq!(app.last_status(HEAD).state, "success");
        let decision = app.decision(1).await;
        let owned = &decision["requirements"][0]["owned_paths"][0];
        assert_eq!(owned["approved_by"], serde_json::json!(["maria", "omar"]));
        assert_eq!(decision["codeowners"]["path"], ".gitlab/CODEOWNERS");
    })
    .await;
}

#[tokio::test]
async fn a_policy_without_codeowners_never_applies_the_file() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(&POLICY.replace("[codeowners]", "[platform/sre]"));
        app.fake.put_file(PROJECT, BASE, "CODEOWNERS", "[Broken\n");
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        assert_eq!(app.last_status(HEAD).state, "pending");
        assert!(codeowners_reads(&app).is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_invalid_section_header_fails_closed_with_its_line() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.fake.put_file(
            PROJECT,
            BASE,
            "CODEOWNERS",
            "* @alice\n[Payments @platform/sre\n",
        );
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let description = status.description.unwrap_or_default();
        assert!(
            description.starts_with("Invalid CODEOWNERS: CODEOWNERS:2:1:"),
            "{description}"
        );
        let published = support::forge::Published::of_status(app.last_status(HEAD));
        insta::assert_snapshot!("invalid_codeowners_section", published.snapshot());
    })
    .await;
}
