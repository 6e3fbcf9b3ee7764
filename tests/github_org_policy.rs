//! The organisation policy on GitHub, end to end: `warrant-org.yml` in
//! `octo-org/.github` read in the pull request's own query, decided beside
//! the repository's policy, failing closed when invalid, and its pushes
//! audited. Each test runs on SQLite, and on PostgreSQL when
//! `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use serde_json::Value;
use support::app::{App, POLICY, pull_request_event};
use support::github::{REPO, base, head, review, sha, user};
use support::store::on_each_backend;
use warrant::engine::{ChangedFile, ReviewState};
use warrant::ids::RepoPath;

const ORG_REPOSITORY: &str = "octo-org/.github";

/// The organisation registers Copilot once, for `src/`, and holds payments
/// code to two SRE approvals.
const ORG: &str = r#"version: 1
agents:
  copilot:
    role: feature-dev
    owner: alice
    match:
      builtin: copilot
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo-org/sre"]
    min_approvals: 2
"#;

/// A repository that tries to relax the floor: one approval for payments,
/// and observe mode.
const RELAXED: &str = r#"version: 1
mode: observe
agents:
  copilot:
    role: app
roles:
  app:
    scope:
      allow: ["**"]
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo-org/sre"]
    min_approvals: 1
"#;

/// Copilot's pull request `number` touching `paths`, approved by `approvers`
/// on its head; the `opened` delivery for it.
fn copilot_pull(app: &App, number: u64, paths: &[&str], approvers: &[&str]) -> Value {
    let mut c = support::github::change(number, 0, 2);
    c.files = paths
        .iter()
        .map(|p| ChangedFile {
            path: RepoPath::parse(p).unwrap(),
            previous_path: None,
        })
        .collect();
    c.reviews = (approvers.iter().enumerate())
        .map(|(i, login)| {
            review(
                i as u64 + 1,
                user(login, 100 + i as u64),
                ReviewState::Approved,
                head(),
            )
        })
        .collect();
    app.add_pull(c);
    pull_request_event("opened", number, base().as_str(), head().as_str())
}

fn put_org_policy(app: &App, text: &str) {
    app.fake
        .put_default_file(ORG_REPOSITORY, "warrant-org.yml", text);
}

#[tokio::test]
async fn the_organisation_policy_decides_a_repository_without_its_own_in_the_same_query() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin", "dave"]);
        put_org_policy(&app, ORG);
        let opened = copilot_pull(&app, 1, &["src/payments/pay.rs"], &["erin"]);
        app.deliver_and_wait("pull_request", "d-1", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );
        assert_eq!(
            run.title.as_deref(),
            Some("Waiting for 1 approval from octo-org/sre for payments")
        );
        let summary = run.summary.clone().unwrap();
        assert!(
            summary.contains("Organisation policy `warrant-org.yml` in `octo-org/.github`"),
            "{summary}"
        );
        // The organisation policy costs no request of its own.
        assert_eq!(
            app.api_requests(),
            [
                "POST /graphql WarrantPullRequest".to_owned(),
                "POST /graphql WarrantTeams".to_owned(),
                format!("POST /repos/{REPO}/check-runs"),
            ]
        );
        assert!(run.summary.is_some(), "{run:#?}");
        assert_eq!(app.evaluations(1).await.len(), 1);
        let d = app.decision(1).await;
        assert_eq!(d["org_policy"]["repository"], ORG_REPOSITORY);
        assert_eq!(
            d["org_policy"]["blob_id"],
            warrant::policy::blob_id(ORG.as_bytes()).as_str()
        );
        assert!(d["policy"].is_null());
        assert_eq!(d["requirements"][0]["from"], "organisation");
    })
    .await;
}

#[tokio::test]
async fn a_repository_that_registers_an_organisation_agent_again_fails_at_its_line() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        put_org_policy(&app, ORG);
        // The test repository's own policy registers Copilot too.
        let opened = copilot_pull(&app, 2, &["src/lib.rs"], &[]);
        app.put_policy(base().as_str(), POLICY);
        app.deliver_and_wait("pull_request", "d-2", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"));
        let title = run.title.unwrap();
        assert!(
            title.starts_with(
                "Invalid policy: .github/warrant.yml:4:3: agents.copilot: `copilot` is registered \
                 by the organisation policy"
            ),
            "{title}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_repository_cannot_lower_the_organisations_floor() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin", "dave"]);
        put_org_policy(&app, ORG);
        app.put_policy(base().as_str(), RELAXED);
        // One approval: the repository (in observe mode anyway) is content,
        // the organisation is not.
        let opened = copilot_pull(&app, 3, &["src/payments/pay.rs"], &["erin"]);
        app.deliver_and_wait("pull_request", "d-3", &opened, 1)
            .await;
        let run = app.the_check_run();
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );
        assert!(run.summary.is_some(), "{run:#?}");
        assert_eq!(app.evaluations(3).await.len(), 1);
        let d = app.decision(3).await;
        assert_eq!(d["applied"][0]["mode"], "enforce");
        assert_eq!(d["applied"][1]["mode"], "observe");
        assert_eq!(d["policy"]["path"], ".github/warrant.yml");
        let summary = run.summary.unwrap();
        assert!(
            summary.contains("| Waiting | payments (organisation policy) | 2 |"),
            "{summary}"
        );
        assert!(
            summary.contains("| Approved | payments (repository policy) | 1 |"),
            "{summary}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_invalid_organisation_policy_fails_the_check_closed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        put_org_policy(&app, "version: 1\nmode: enforced\n");
        let opened = copilot_pull(&app, 4, &["src/lib.rs"], &[]);
        app.put_policy(base().as_str(), "version: 1\n");
        app.deliver_and_wait("pull_request", "d-4", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"));
        let title = run.title.unwrap();
        assert!(
            title.starts_with("Invalid organisation policy: warrant-org.yml:2:7: mode:"),
            "{title}"
        );
        assert!(
            run.summary
                .unwrap()
                .contains("### The organisation policy is invalid"),
            "the summary says which file to fix"
        );
    })
    .await;
}

/// A push of `after` onto the default branch of the organisation's
/// repository touching `paths`, from the octokit example.
fn org_push(after: &str, paths: &[&str]) -> Value {
    let raw = support::server::fixture("push", "with-installation.payload.json");
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["installation"] = serde_json::json!({ "id": support::github::INSTALLATION.0 });
    payload["repository"]["full_name"] = Value::from(ORG_REPOSITORY);
    payload["repository"]["name"] = Value::from(".github");
    payload["repository"]["default_branch"] = Value::from("main");
    payload["repository"]["master_branch"] = Value::from("main");
    payload["ref"] = Value::from("refs/heads/main");
    payload["before"] = Value::from(base().as_str());
    payload["after"] = Value::from(after);
    payload["pusher"] = serde_json::json!({ "name": "carol", "email": "carol@example.com" });
    payload["commits"] = serde_json::json!([{
        "id": after, "message": "Two SREs for payments", "added": [], "removed": [],
        "modified": paths,
    }]);
    payload
}

#[tokio::test]
async fn a_push_to_the_organisation_policy_is_audited_and_decides_from_then_on() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin", "dave"]);
        put_org_policy(&app, "version: 1\n");
        let opened = copilot_pull(&app, 5, &["src/payments/pay.rs"], &["erin"]);
        app.deliver_and_wait("pull_request", "d-5", &opened, 1)
            .await;
        // Copilot is unregistered under the first version: it escalates to
        // the repository's admins.
        let d = app.decision(5).await;
        assert_eq!(d["agents"][0]["status"]["kind"], "unregistered");

        let pushed = sha(0x0a9);
        app.fake
            .put_file(ORG_REPOSITORY, pushed.as_str(), "warrant-org.yml", ORG);
        put_org_policy(&app, ORG);
        let push = org_push(pushed.as_str(), &["warrant-org.yml", "README.md"]);
        app.deliver_and_wait("push", "d-6", &push, 2).await;

        let chain = warrant::store::Chain {
            forge: "github".into(),
            repo: ORG_REPOSITORY.into(),
        };
        let trail = app.store.audit_chain_page(&chain, 0, 100).await.unwrap();
        let changed = &trail.last().unwrap().event;
        assert_eq!(changed.kind.as_str(), "policy_changed");
        assert_eq!(changed.paths, ["warrant-org.yml"]);
        assert_eq!(changed.detail["scope"], "organisation");
        assert_eq!(changed.detail["policy"], "valid");
        assert_eq!(changed.actor.as_deref(), Some("carol"));
        assert_eq!(
            changed.policy_blob.as_deref(),
            Some(warrant::policy::blob_id(ORG.as_bytes()).as_str())
        );

        // The next evaluation decides under the new version.
        let synced = pull_request_event("synchronize", 5, base().as_str(), head().as_str());
        app.deliver_and_wait("pull_request", "d-7", &synced, 3)
            .await;
        let d = app.decision(5).await;
        assert_eq!(d["agents"][0]["status"]["kind"], "registered");
        assert_eq!(
            d["org_policy"]["blob_id"],
            warrant::policy::blob_id(ORG.as_bytes()).as_str()
        );
        assert_eq!(d["conclusion"], "action_required");
    })
    .await;
}

#[tokio::test]
async fn an_agent_changing_the_organisation_policy_in_its_repository_fails() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        put_org_policy(&app, ORG);
        // Copilot edits warrant-org.yml in octo-org/.github itself.
        let mut c = support::github::change(8, 0, 2);
        c.repository = ORG_REPOSITORY.into();
        c.files = vec![ChangedFile {
            path: RepoPath::parse("warrant-org.yml").unwrap(),
            previous_path: None,
        }];
        c.reviews.clear();
        let pull = support::github::pull(c);
        app.fake.add_pull_request(pull.clone());
        let sender = pull.change.author.clone().unwrap();
        let opened = warrant::forge::github::fake::events::pull_request(
            "opened",
            &pull,
            support::github::INSTALLATION.0,
            &sender,
        );
        app.deliver_and_wait("pull_request", "d-8", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.repo, ORG_REPOSITORY);
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        let summary = run.summary.unwrap();
        assert!(
            summary.contains("agents never edit their own governance (organisation policy)"),
            "{summary}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_repository_leaving_unregistered_agents_out_takes_the_organisations_action() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let org = format!("{ORG}unregistered_agents:\n  action: block\n");
        put_org_policy(&app, &org);
        app.put_policy(base().as_str(), "version: 1\n");
        // A pull request by a bot nobody registered.
        let mut c = support::github::change(9, 1, 0);
        c.author = Some(support::github::bot("helper-bot[bot]", 555));
        c.assignees.clear();
        c.reviews.clear();
        app.add_pull(c);
        let opened = pull_request_event("opened", 9, base().as_str(), head().as_str());
        app.deliver_and_wait("pull_request", "d-9", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        assert!(run.summary.is_some(), "{run:#?}");
        assert_eq!(app.evaluations(9).await.len(), 1);
        let d = app.decision(9).await;
        let unregistered: Vec<&Value> = d["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["kind"] == "unregistered_agent")
            .collect();
        // Both policies block it (the repository by inheritance); it is
        // shown once.
        assert_eq!(unregistered.len(), 1, "{d:#}");
        assert_eq!(unregistered[0]["blocking"], true);
        assert_eq!(d["applied"][1]["would_conclude"], "failure");
    })
    .await;
}

#[tokio::test]
async fn an_organisation_policy_change_is_tried_on_the_organisations_past_changes() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin", "dave"]);
        put_org_policy(&app, ORG);
        // Copilot's payments change in octo-org/hello-world waits for a
        // second SRE approval under the organisation's floor.
        let opened = copilot_pull(&app, 3, &["src/payments/pay.rs"], &["erin"]);
        app.deliver_and_wait("pull_request", "d-3", &opened, 1)
            .await;
        assert_eq!(app.evaluations(3).await[0].conclusion, "action_required");

        // carol proposes one approval in octo-org/.github.
        let proposed = ORG.replace("min_approvals: 2", "min_approvals: 1");
        let mut c = support::github::change(9, 0, 0);
        c.repository = ORG_REPOSITORY.into();
        c.author = Some(user("carol", 7));
        c.assignees.clear();
        c.reviews.clear();
        c.files = vec![ChangedFile {
            path: RepoPath::parse("warrant-org.yml").unwrap(),
            previous_path: None,
        }];
        let pull = support::github::pull(c);
        app.fake.add_pull_request(pull.clone());
        app.fake.put_file(
            ORG_REPOSITORY,
            head().as_str(),
            "warrant-org.yml",
            &proposed,
        );
        let sender = user("carol", 7);
        let opened = warrant::forge::github::fake::events::pull_request(
            "opened",
            &pull,
            support::github::INSTALLATION.0,
            &sender,
        );
        app.deliver_and_wait("pull_request", "d-9", &opened, 2)
            .await;

        let evaluations = app
            .store
            .evaluations(&support::keys::key("github", ORG_REPOSITORY, 9))
            .await
            .unwrap();
        let d: Value = serde_json::from_str(evaluations[0].decision.as_deref().unwrap()).unwrap();
        let proposal = &d["proposed"][0];
        assert_eq!(proposal["from"], "organisation", "{d:#}");
        assert_eq!(proposal["differences"][0]["effect"], "relaxed", "{d:#}");
        let replay = &proposal["replay"];
        assert_eq!(
            replay["replayed"], 1,
            "the organisation's one past change: {d:#}"
        );
        assert_eq!(replay["flips"][0]["repository"], REPO);
        assert_eq!(replay["flips"][0]["from"], "action_required");
        assert_eq!(replay["flips"][0]["to"], "success");

        let run = app
            .check_runs()
            .into_iter()
            .find(|r| r.repo == ORG_REPOSITORY)
            .unwrap();
        let summary = run.summary.unwrap();
        assert!(
            summary.contains(&format!("- {REPO}#3: action_required -&gt; success (")),
            "another repository's change is named with its repository: {summary}"
        );
    })
    .await;
}
