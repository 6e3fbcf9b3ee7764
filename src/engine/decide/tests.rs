//! One test per rule of "Deciding"; the scenario suite covers combinations.

use chrono::{DateTime, TimeZone, Utc};

use crate::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Conclusion, Context, Decision, Evaluation,
    Forge, Person, RefusalReason, Registration, Review, ReviewState, ViolationKind, decide,
};
use crate::ids::{CommitSha, Login, RepoPath};
use crate::policy::{self, LoadedPolicy};

const HEAD: &str = "2222222222222222222222222222222222222222";
const OLD: &str = "3333333333333333333333333333333333333333";

const BASE_POLICY: &str = r#"
version: 1
agents:
  claude:
    role: dev
    owner: alice
    expires: 2026-12-31
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
    elevations:
      - paths: ["infra/db/**"]
        from: 2026-12-01T10:00:00Z
        until: 2026-12-01T14:00:00Z
        reason: CHG-1 maintenance
  renovate:
    role: deps
    owner: octo/platform
    match:
      logins: ["renovate"]
roles:
  dev:
    scope:
      allow: ["src/**"]
      deny: ["src/auth/**"]
    max_files: 3
  deps:
    scope:
      allow: ["Cargo.lock"]
    out_of_scope: escalate
    escalate_to: ["octo/platform"]
sensitive:
  - name: infrastructure
    paths: ["infra/**"]
    approvers: ["octo/sre", owner]
    min_approvals: 2
unregistered_agents:
  action: escalate
  approvers: ["octo/maintainers"]
approvals:
  agent_reviews: dismiss
policy_file:
  approvers: ["octo/admins"]
"#;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn sha(s: &str) -> CommitSha {
    CommitSha::parse(s).unwrap()
}

fn login(s: &str) -> Login {
    Login::parse(s).unwrap()
}

fn human(name: &str) -> Account {
    Account {
        login: login(name),
        kind: AccountKind::User,
        id: None,
    }
}

fn bot(name: &str) -> Account {
    Account {
        login: login(name),
        kind: AccountKind::Bot,
        id: None,
    }
}

/// A change by `author` with one commit whose message is `message`.
fn change(author: Account, message: &str, files: &[&str]) -> Change {
    let who = Person {
        name: author.login.to_string(),
        email: format!("{}@example.com", author.login),
        account: Some(author.clone()),
    };
    Change {
        forge: Forge::Github,
        repository: "octo/app".into(),
        number: 7,
        title: "A change".into(),
        body: String::new(),
        author: Some(author),
        assignees: vec![],
        base_sha: sha("1111111111111111111111111111111111111111"),
        head_sha: sha(HEAD),
        commits: vec![Commit {
            sha: sha(HEAD),
            author: who.clone(),
            committer: who,
            message: message.into(),
        }],
        files: files
            .iter()
            .map(|p| ChangedFile {
                path: RepoPath::parse(p).unwrap(),
                previous_path: None,
            })
            .collect(),
        reviews: vec![],
    }
}

const CLAUDE: &str = "Work\n\nCo-Authored-By: Claude <noreply@anthropic.com>";

fn review(id: u64, who: Account, state: ReviewState, on: &str, minute: u32) -> Review {
    Review {
        id: Some(id),
        reviewer: who,
        state,
        commit_sha: sha(on),
        submitted_at: Utc.with_ymd_and_hms(2026, 12, 1, 11, minute, 0).unwrap(),
    }
}

fn context() -> Context {
    let mut ctx = Context::default();
    for (team, members) in [
        ("octo/sre", vec!["bob", "erin", "alice"]),
        ("octo/admins", vec!["root"]),
        ("octo/maintainers", vec!["mia"]),
        ("octo/platform", vec!["pat"]),
    ] {
        ctx.teams
            .insert(team.into(), members.into_iter().map(login).collect());
    }
    ctx
}

fn decide_with(policy_text: &str, change: &Change, at: DateTime<Utc>) -> Decision {
    let loaded = LoadedPolicy {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        blob_id: policy::blob_id(policy_text.as_bytes()),
        policy: policy::load(".github/warrant.yml", policy_text).expect("test policy is valid"),
    };
    decide(&Evaluation {
        policy: &loaded,
        change,
        context: &context(),
        at,
    })
}

fn run(change: &Change) -> Decision {
    decide_with(BASE_POLICY, change, at())
}

fn kinds(d: &Decision) -> Vec<ViolationKind> {
    d.violations.iter().map(|v| v.kind).collect()
}

#[test]
fn rule_1_no_agent_is_success_with_no_agent_activity() {
    let d = run(&change(
        human("dana"),
        "Plain",
        &["infra/x.tf", "src/auth/a.rs"],
    ));
    assert_eq!(d.conclusion, Conclusion::Success);
    assert_eq!(d.title, "No agent activity");
    assert!(d.requirements.is_empty() && d.violations.is_empty());
}

#[test]
fn rule_0_lapsed_registration_counts_as_unregistered() {
    let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    let d = decide_with(
        BASE_POLICY,
        &change(human("dana"), CLAUDE, &["src/a.rs"]),
        later,
    );
    let claude = d
        .agents
        .iter()
        .find(|a| a.id == "claude")
        .expect("claude found");
    assert!(matches!(claude.status, Registration::Lapsed { .. }));
    assert!(kinds(&d).contains(&ViolationKind::LapsedRegistration));
    assert!(d.requirements.iter().any(|r| r.id == "unregistered-agents"));
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
}

#[test]
fn rule_2_out_of_scope_blocks_and_deny_wins_over_allow() {
    let d = run(&change(
        human("dana"),
        CLAUDE,
        &["src/ok.rs", "src/auth/token.rs", "web/app.js"],
    ));
    assert_eq!(d.conclusion, Conclusion::Failure);
    let v = d
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::OutOfScope)
        .unwrap();
    let paths: Vec<&str> = v.paths.iter().map(|p| p.as_str()).collect();
    assert_eq!(paths, ["src/auth/token.rs", "web/app.js"]);
    assert!(v.blocking);
}

#[test]
fn rule_2_escalate_requires_escalate_to_instead_of_failing() {
    let d = run(&change(
        bot("renovate[bot]"),
        "Bump",
        &["Cargo.lock", "Cargo.toml"],
    ));
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    let r = d
        .requirements
        .iter()
        .find(|r| r.id == "scope:renovate")
        .unwrap();
    assert_eq!(r.approvers, ["octo/platform"]);
    assert_eq!(r.paths.len(), 1);
}

#[test]
fn rule_2_max_files_is_treated_like_out_of_scope() {
    let d = run(&change(
        human("dana"),
        CLAUDE,
        &["src/a.rs", "src/b.rs", "src/c.rs", "src/d.rs"],
    ));
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(kinds(&d).contains(&ViolationKind::TooManyFiles));
}

#[test]
fn rule_2_elevation_allows_only_inside_its_window() {
    let files = ["src/a.rs", "infra/db/schema.sql"];
    let inside = run(&change(human("dana"), CLAUDE, &files));
    assert_eq!(inside.elevations.len(), 1);
    assert!(!kinds(&inside).contains(&ViolationKind::OutOfScope));
    let after = Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap();
    let outside = decide_with(BASE_POLICY, &change(human("dana"), CLAUDE, &files), after);
    assert!(outside.elevations.is_empty());
    assert!(kinds(&outside).contains(&ViolationKind::OutOfScope));
}

#[test]
fn rule_3_sensitive_area_needs_min_approvals_and_owner_resolves() {
    let d = run(&change(human("dana"), CLAUDE, &["infra/db/x.sql"]));
    let r = d
        .requirements
        .iter()
        .find(|r| r.id == "sensitive:infrastructure")
        .unwrap();
    assert_eq!(r.min_approvals, 2);
    assert_eq!(r.approvers, ["octo/sre", "alice"]);
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    assert_eq!(
        d.title,
        "Waiting for 2 approvals from octo/sre or alice for infrastructure"
    );
}

#[test]
fn rule_4_agent_editing_the_policy_file_fails() {
    let d = run(&change(
        human("dana"),
        CLAUDE,
        &["src/a.rs", ".github/warrant.yml"],
    ));
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(kinds(&d).contains(&ViolationKind::PolicyFileChangedByAgent));
}

#[test]
fn rule_4_human_editing_the_policy_file_needs_policy_file_approvers() {
    let mut c = change(human("dana"), "Tighten", &[".github/warrant.yml"]);
    let d = run(&c);
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    c.reviews
        .push(review(1, human("root"), ReviewState::Approved, HEAD, 1));
    assert_eq!(run(&c).conclusion, Conclusion::Success);
}

#[test]
fn rule_5_unregistered_agent_escalates_per_policy() {
    let c = change(bot("devin-ai-integration[bot]"), "Work", &["src/a.rs"]);
    let d = run(&c);
    assert!(
        d.agents
            .iter()
            .any(|a| a.status == Registration::Unregistered)
    );
    let r = d
        .requirements
        .iter()
        .find(|r| r.id == "unregistered-agents")
        .unwrap();
    assert_eq!(r.approvers, ["octo/maintainers"]);
    for (action, conclusion) in [
        ("allow", Conclusion::Success),
        ("warn", Conclusion::Success),
        ("block", Conclusion::Failure),
    ] {
        let text = BASE_POLICY.replace("action: escalate", &format!("action: {action}"));
        let d = decide_with(&text, &c, at());
        assert_eq!(d.conclusion, conclusion, "action {action}");
        assert_eq!(d.notes.is_empty(), action != "warn", "action {action}");
    }
}

#[test]
fn rule_6_counts_only_eligible_latest_approvals_on_head() {
    let mut c = change(human("dana"), CLAUDE, &["infra/db/x.sql"]);
    c.reviews = vec![
        review(1, human("bob"), ReviewState::Approved, HEAD, 1),
        review(2, human("erin"), ReviewState::Approved, OLD, 2),
        review(3, human("carol"), ReviewState::Approved, HEAD, 3),
        review(4, human("dana"), ReviewState::Approved, HEAD, 4),
    ];
    let d = run(&c);
    let r = d
        .requirements
        .iter()
        .find(|r| r.id == "sensitive:infrastructure")
        .unwrap();
    assert_eq!(r.approved_by, [login("bob")]);
    let reason = |who: &str| {
        r.not_counted
            .iter()
            .find(|n| n.reviewer.as_str() == who)
            .map(|n| n.reason)
    };
    assert_eq!(reason("erin"), Some(RefusalReason::Stale));
    assert_eq!(reason("carol"), Some(RefusalReason::NotAnApprover));
    assert_eq!(reason("dana"), Some(RefusalReason::ChangeAuthor));
    assert!(!r.satisfied);
}

#[test]
fn rule_6_changes_requested_after_approval_withdraws_it() {
    let mut c = change(human("dana"), CLAUDE, &["infra/db/x.sql"]);
    c.reviews = vec![
        review(1, human("bob"), ReviewState::Approved, HEAD, 1),
        review(2, human("erin"), ReviewState::Approved, HEAD, 2),
        review(3, human("bob"), ReviewState::Commented, HEAD, 3),
        review(4, human("bob"), ReviewState::ChangesRequested, HEAD, 4),
    ];
    let d = run(&c);
    let r = &d.requirements[0];
    assert_eq!(r.approved_by, [login("erin")]);
    assert_eq!(r.not_counted[0].reason, RefusalReason::Withdrawn);
}

#[test]
fn rule_6_two_eligible_approvals_satisfy_and_conclude_success() {
    let mut c = change(human("dana"), CLAUDE, &["infra/db/x.sql"]);
    c.reviews = vec![
        review(1, human("bob"), ReviewState::Approved, HEAD, 1),
        review(2, human("Erin"), ReviewState::Approved, HEAD, 2),
    ];
    let d = run(&c);
    assert_eq!(d.conclusion, Conclusion::Success, "{}", d.title);
}

#[test]
fn rule_6_requester_cannot_approve_the_agents_work() {
    // alice is in octo/sre and owns claude, but she asked Claude for this change.
    let mut c = change(human("alice"), CLAUDE, &["infra/db/x.sql"]);
    c.reviews = vec![review(1, human("alice"), ReviewState::Approved, HEAD, 1)];
    let d = run(&c);
    let reason = d.requirements[0].not_counted[0].reason;
    assert!(matches!(
        reason,
        RefusalReason::ChangeAuthor | RefusalReason::Requester
    ));
}

#[test]
fn rule_7_agent_approvals_are_recorded_ignored_and_dismissed() {
    let mut c = change(human("dana"), CLAUDE, &["infra/db/x.sql"]);
    c.reviews = vec![review(
        9,
        bot("gemini-code-assist[bot]"),
        ReviewState::Approved,
        HEAD,
        1,
    )];
    let d = run(&c);
    assert!(kinds(&d).contains(&ViolationKind::AgentApprovalIgnored));
    assert_eq!(
        d.requirements[0].not_counted[0].reason,
        RefusalReason::Agent
    );
    assert_eq!(d.dismissals.len(), 1);
    assert_eq!(d.dismissals[0].review_id, 9);
    // Recording an ignored approval does not fail the check by itself.
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
}

/// Agent reviewers: AI review accounts approve pull requests (and GitHub
/// can be set to count Copilot's approvals); whatever kind of account the
/// forge reports, Warrant never counts them.
#[test]
fn rule_7_agent_reviewer_accounts_never_count_whatever_their_kind() {
    let reviewers = [
        "copilot-pull-request-reviewer[bot]",
        "Copilot",
        "chatgpt-codex-connector[bot]",
        "gemini-code-assist[bot]",
        "cursor[bot]",
        "coderabbitai[bot]",
        "GitLabDuo",
    ];
    for reviewer in reviewers {
        let mut c = change(human("dana"), CLAUDE, &["infra/db/x.sql"]);
        // A user account, so that only the catalog can tell it is an agent.
        c.reviews = vec![review(9, human(reviewer), ReviewState::Approved, HEAD, 1)];
        let d = run(&c);
        let refused = &d.requirements[0].not_counted;
        assert_eq!(refused.len(), 1, "{reviewer}");
        assert_eq!(refused[0].reason, RefusalReason::Agent, "{reviewer}");
    }
}

#[test]
fn rule_9_observe_mode_is_neutral_keeps_would_conclude_and_never_dismisses() {
    let text = BASE_POLICY.replace("version: 1", "version: 1\nmode: observe");
    let mut c = change(human("dana"), CLAUDE, &["src/auth/x.rs"]);
    c.reviews = vec![review(
        9,
        bot("gemini-code-assist[bot]"),
        ReviewState::Approved,
        HEAD,
        1,
    )];
    let d = decide_with(&text, &c, at());
    assert_eq!(d.conclusion, Conclusion::Neutral);
    assert_eq!(d.would_conclude, Conclusion::Failure);
    assert!(
        d.title.starts_with("Observe mode: would fail: "),
        "{}",
        d.title
    );
    assert!(d.dismissals.is_empty());
}

#[test]
fn decision_carries_policy_blob_commits_and_clock() {
    let d = run(&change(human("dana"), "Plain", &["src/a.rs"]));
    assert_eq!(
        d.policy.as_ref().unwrap().blob_id,
        policy::blob_id(BASE_POLICY.as_bytes())
    );
    assert_eq!(d.head_sha.as_str(), HEAD);
    assert_eq!(d.evaluated_at, at());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["conclusion"], "success");
    assert_eq!(json["would_conclude"], "success");
}

#[test]
fn invalid_policy_fails_closed_naming_file_line_and_column() {
    let c = change(human("dana"), "Plain", &["src/a.rs"]);
    let errors = policy::load(".github/warrant.yml", "version: 1\nrols: {}\n").unwrap_err();
    let path = RepoPath::parse(".github/warrant.yml").unwrap();
    let d = crate::engine::invalid_policy(&c, &path, "abc", &errors, at());
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(
        d.title
            .starts_with("Invalid policy: .github/warrant.yml:2:1: "),
        "{}",
        d.title
    );
}

#[test]
fn not_configured_is_neutral_with_the_spec_title() {
    let d = crate::engine::not_configured(
        &change(human("dana"), "x", &["a"]),
        &Context::default(),
        at(),
    );
    assert_eq!(d.conclusion, Conclusion::Neutral);
    assert_eq!(d.title, "Warrant is not configured for this repository");
}

#[test]
fn without_a_policy_the_agents_are_still_seen_and_named() {
    // Copilot's pull request, with a Cursor trailer and Warrant's own bot
    // among the commits: two agents seen, never Warrant itself.
    let mut c = change(
        bot("copilot-swe-agent[bot]"),
        "Fix\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>",
        &["src/a.rs"],
    );
    c.assignees = vec![human("priya")];
    let mut own = c.commits[0].clone();
    own.author.account = Some(bot("warrant[bot]"));
    c.commits.push(own);
    let context = Context {
        app_logins: vec![login("warrant[bot]")],
        ..Context::default()
    };
    let d = crate::engine::not_configured(&c, &context, at());
    assert_eq!(d.conclusion, Conclusion::Neutral);
    assert_eq!(d.title, "Warrant is not configured for this repository");
    let ids: Vec<&str> = d.agents.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&"catalog:copilot"), "{ids:?}");
    assert!(ids.contains(&"catalog:cursor"), "{ids:?}");
    assert!(!ids.iter().any(|id| id.contains("warrant")), "{ids:?}");
    assert!(
        d.agents
            .iter()
            .all(|a| a.status == crate::engine::Registration::Unregistered)
    );
    assert_eq!(
        d.notes,
        [format!(
            "{} agents seen: {}. Nothing is enforced until the repository (or its organisation) has a policy.",
            ids.len(),
            ids.join(", ")
        )]
    );
    // Nothing is required or violated: there is no policy to break.
    assert!(d.requirements.is_empty() && d.violations.is_empty());
    let summary = crate::engine::render::markdown(&d, None);
    assert!(summary.contains("catalog:cursor"), "{summary}");
}

#[test]
fn summary_snapshot_of_a_waiting_change_with_refused_approvals() {
    let mut c = change(human("dana"), CLAUDE, &["src/a.rs", "infra/db/x.sql"]);
    c.reviews = vec![
        review(1, human("bob"), ReviewState::Approved, HEAD, 1),
        review(2, human("erin"), ReviewState::Approved, OLD, 2),
        review(3, human("dana"), ReviewState::Approved, HEAD, 3),
        review(
            9,
            bot("gemini-code-assist[bot]"),
            ReviewState::Approved,
            HEAD,
            4,
        ),
    ];
    let d = run(&c);
    insta::assert_snapshot!(crate::engine::render::markdown(
        &d,
        Some("https://warrant.example/audit/github/octo/app/changes/7")
    ));
    insta::assert_snapshot!("text", crate::engine::render::text(&d));
}

#[test]
fn summary_snapshot_of_an_invalid_policy() {
    let c = change(human("dana"), "Plain", &["src/a.rs"]);
    let errors = policy::load(
        ".github/warrant.yml",
        "version: 1\nrols: {}\nmode: enforced\n",
    )
    .unwrap_err();
    let path = RepoPath::parse(".github/warrant.yml").unwrap();
    let d = crate::engine::invalid_policy(&c, &path, "0123456789abcdef", &errors, at());
    insta::assert_snapshot!(crate::engine::render::markdown(&d, None));
}

mod codeowners;
mod org;
mod overrides;
