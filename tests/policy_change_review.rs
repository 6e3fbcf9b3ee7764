//! A pull or merge request that edits the policy: decided under the policy
//! at its base, and the policy it proposes validated and compared with the
//! one in force, on both forges and both databases.

mod support;

use serde_json::Value;
use support::app::{App, POLICY, pull_request_event};
use support::github::{REPO, base, head, user};
use support::gitlab::{ALICE, GitlabApp, HEAD};
use support::store::on_each_backend;
use warrant::engine::ChangedFile;
use warrant::forge::gitlab::fake::events::HookAction;
use warrant::ids::RepoPath;

/// carol's own pull request `number` editing the policy file, which reads
/// `proposed` at its head.
fn policy_pull(app: &App, number: u64, proposed: &str) -> Value {
    let mut c = support::github::change(number, 0, 0);
    c.author = Some(user("carol", 7));
    c.assignees.clear();
    c.reviews.clear();
    c.files = vec![ChangedFile {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        previous_path: None,
    }];
    app.add_pull(c);
    app.put_policy(base().as_str(), POLICY);
    app.fake
        .put_file(REPO, head().as_str(), ".github/warrant.yml", proposed);
    pull_request_event("opened", number, base().as_str(), head().as_str())
}

#[tokio::test]
async fn a_proposed_policy_that_does_not_load_fails_the_check_at_its_line() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let proposed = POLICY.replace("mode: enforce", "mode: enforced");
        let opened = policy_pull(&app, 1, &proposed);
        app.deliver_and_wait("pull_request", "d-1", &opened, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        let title = run.title.clone().unwrap();
        assert!(
            title.starts_with("Proposed policy is invalid: .github/warrant.yml:2:7: mode:"),
            "{title}"
        );
        // Annotated at the line at fault, in the pull request's diff.
        let annotation = &run.annotations[0];
        assert_eq!(annotation["path"], ".github/warrant.yml");
        assert_eq!(annotation["start_line"], 2);
        assert_eq!(annotation["annotation_level"], "failure");
        let summary = run.summary.unwrap();
        assert!(summary.contains("### Policy change"), "{summary}");
        assert_eq!(app.evaluations(1).await.len(), 1);
        let d = app.decision(1).await;
        assert_eq!(d["proposed"][0]["errors"][0]["line"], 2);
        // The policy file read at the base, then the proposal at the head.
        assert!(
            app.api_requests()
                .iter()
                .filter(|r| r.ends_with("WarrantPolicy"))
                .count()
                == 1,
            "{:?}",
            app.api_requests()
        );
    })
    .await;
}

#[tokio::test]
async fn the_check_says_what_a_valid_proposal_relaxes() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let proposed = POLICY.replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#);
        let opened = policy_pull(&app, 2, &proposed);
        app.deliver_and_wait("pull_request", "d-2", &opened, 1).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        let summary = run.summary.unwrap();
        assert!(
            summary.contains(
                "### Policy change\n\n- **relaxed** `roles.feature-dev.scope.allow`: `infra/**` added\n"
            ),
            "{summary}"
        );
        assert_eq!(app.evaluations(2).await.len(), 1);
        let d = app.decision(2).await;
        assert_eq!(d["proposed"][0]["differences"][0]["effect"], "relaxed");
        assert_eq!(
            d["proposed"][0]["blob_id"],
            warrant::policy::blob_id(proposed.as_bytes()).as_str()
        );
    })
    .await;
}

#[tokio::test]
async fn on_gitlab_a_proposed_policy_that_does_not_load_fails_the_status() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(3, ALICE, &[".gitlab/warrant.yml"], "Tighten the policy");
        app.put_policy(support::gitlab::POLICY);
        let proposed = support::gitlab::POLICY.replace("min_approvals: 1", "min_approvals: one");
        app.fake.put_file(
            support::gitlab::PROJECT,
            HEAD,
            ".gitlab/warrant.yml",
            &proposed,
        );
        app.hook_and_wait(3, ALICE, HookAction::Open, 1).await;

        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let description = status.description.unwrap();
        assert!(
            description.starts_with("Proposed policy is invalid: .gitlab/warrant.yml:"),
            "{description}"
        );
        let d = app.decision(3).await;
        let error = &d["proposed"][0]["errors"][0];
        assert!(
            error["message"].as_str().unwrap().contains("min_approvals"),
            "{d:#}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_merged_relaxation_is_recorded_in_the_audit_trail() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let proposed = POLICY.replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#);
        let opened = policy_pull(&app, 4, &proposed);
        app.deliver_and_wait("pull_request", "d-4", &opened, 1)
            .await;

        let mut merged = pull_request_event("closed", 4, base().as_str(), head().as_str());
        let merge = "4444444444444444444444444444444444444444";
        merged["pull_request"]["merged"] = Value::Bool(true);
        merged["pull_request"]["merge_commit_sha"] = Value::from(merge);
        merged["pull_request"]["merged_by"] =
            serde_json::json!({ "login": "carol", "id": 7, "type": "User" });
        app.fake.state().commits.insert(
            (REPO.to_owned(), merge.to_owned()),
            (
                vec![base().as_str().to_owned(), head().as_str().to_owned()],
                "Merge pull request #4".to_owned(),
            ),
        );
        app.deliver_and_wait("pull_request", "d-5", &merged, 2)
            .await;

        let trail = app
            .store
            .audit_events_of_change(&support::keys::key("github", REPO, 4))
            .await
            .unwrap();
        let kinds: Vec<&str> = trail.iter().map(|e| e.event.kind.as_str()).collect();
        let at = kinds.iter().position(|k| *k == "change_merged").unwrap();
        assert_eq!(kinds[at + 1], "policy_relaxed", "{kinds:?}");
        let relaxed = &trail[at + 1].event;
        assert_eq!(relaxed.paths, [".github/warrant.yml"]);
        assert_eq!(relaxed.actor.as_deref(), Some("carol"));
        assert_eq!(relaxed.detail["merge_commit_sha"], merge);
        assert_eq!(
            relaxed.detail["relaxations"],
            serde_json::json!(["roles.feature-dev.scope.allow: `infra/**` added"])
        );
        assert_eq!(
            relaxed.policy_blob.as_deref(),
            Some(warrant::policy::blob_id(proposed.as_bytes()).as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn on_gitlab_a_merged_relaxation_is_recorded_in_the_audit_trail() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(4, ALICE, &[".gitlab/warrant.yml"], "Widen the scope");
        app.put_policy(support::gitlab::POLICY);
        let proposed = support::gitlab::POLICY
            .replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#);
        app.fake.put_file(
            support::gitlab::PROJECT,
            HEAD,
            ".gitlab/warrant.yml",
            &proposed,
        );
        app.hook_and_wait(4, ALICE, HookAction::Open, 1).await;
        let d = app.decision(4).await;
        assert_eq!(
            d["proposed"][0]["differences"][0]["effect"], "relaxed",
            "{d:#}"
        );

        let merge = "4444444444444444444444444444444444444444";
        let merged = HookAction::Merge {
            merge_commit_sha: merge.to_owned(),
        };
        app.hook_and_wait(4, support::gitlab::MARIA, merged, 2)
            .await;

        let trail = app
            .store
            .audit_events_of_change(&support::keys::key("gitlab", support::gitlab::PROJECT, 4))
            .await
            .unwrap();
        let kinds: Vec<&str> = trail.iter().map(|e| e.event.kind.as_str()).collect();
        let at = kinds.iter().position(|k| *k == "change_merged").unwrap();
        assert_eq!(kinds[at + 1], "policy_relaxed", "{kinds:?}");
        let relaxed = &trail[at + 1].event;
        assert_eq!(relaxed.paths, [".gitlab/warrant.yml"]);
        assert_eq!(relaxed.detail["merge_commit_sha"], merge);
        assert_eq!(
            relaxed.detail["relaxations"],
            serde_json::json!(["roles.feature-dev.scope.allow: `infra/**` added"])
        );
    })
    .await;
}
