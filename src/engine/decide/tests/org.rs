//! Deciding under an organisation policy: the six rules of "Organisation
//! policy" in POLICY.md.

use super::*;
use crate::engine::{Origin, Policies, PolicySource, decide_under, invalid_org_policy};
use crate::policy::{Mode, OrgPolicy};

/// The organisation registers Claude for `src/`, holds infrastructure to
/// two SRE approvals, and escalates shadow automation to maintainers.
const ORG: &str = r#"version: 1
agents:
  claude:
    role: dev
    owner: alice
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
roles:
  dev:
    scope:
      allow: ["src/**", "infra/**"]
sensitive:
  - name: infrastructure
    paths: ["infra/**"]
    approvers: ["octo/sre"]
    min_approvals: 2
unregistered_agents:
  action: escalate
  approvers: ["octo/maintainers"]
policy_file:
  approvers: ["octo/admins"]
"#;

fn org_policy(text: &str) -> OrgPolicy {
    OrgPolicy {
        repository: Some("octo/.github".into()),
        loaded: LoadedPolicy {
            path: RepoPath::parse("warrant-org.yml").unwrap(),
            blob_id: policy::blob_id(text.as_bytes()),
            policy: policy::load("warrant-org.yml", text).expect("test policy is valid"),
        },
    }
}

fn repo_policy(text: &str, org: &OrgPolicy) -> LoadedPolicy {
    LoadedPolicy {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        blob_id: policy::blob_id(text.as_bytes()),
        policy: policy::load_under(".github/warrant.yml", text, Some(&org.loaded.policy))
            .expect("test policy is valid"),
    }
}

/// Decides `change` under the organisation policy `org` and, when given,
/// the repository policy `repo`.
fn under(org: &str, repo: Option<&str>, change: &Change) -> Decision {
    let org = org_policy(org);
    let repo = repo.map(|text| repo_policy(text, &org));
    decide_under(
        Policies {
            org: Some(&org),
            repo: repo.as_ref(),
        },
        change,
        &context(),
        at(),
    )
}

fn approve(id: u64, who: &str) -> Review {
    review(id, human(who), ReviewState::Approved, HEAD, id as u32)
}

fn claude(files: &[&str]) -> Change {
    change(human("dana"), CLAUDE, files)
}

#[test]
fn rule_2_the_organisation_policy_alone_decides_as_a_repository_policy_would() {
    let d = under(ORG, None, &claude(&["src/a.rs", "infra/main.tf"]));
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    assert_eq!(d.agents[0].id, "claude");
    assert_eq!(d.agents[0].status, Registration::Registered);
    let r = &d.requirements[0];
    assert_eq!(
        (r.id.as_str(), r.min_approvals),
        ("sensitive:infrastructure", 2)
    );
    assert_eq!(r.from, Origin::Organisation);
    assert_eq!(d.policy, None);
    let org = d.org_policy.as_ref().unwrap();
    assert_eq!(org.repository.as_deref(), Some("octo/.github"));
    assert_eq!(org.path.as_str(), "warrant-org.yml");
    assert_eq!(org.blob_id, policy::blob_id(ORG.as_bytes()));
}

#[test]
fn rule_3_both_policies_are_named_and_each_requirement_says_where_it_came_from() {
    let repo = r#"version: 1
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo/platform"]
"#;
    let d = under(
        ORG,
        Some(repo),
        &claude(&["src/payments/pay.rs", "infra/x.tf"]),
    );
    let from: Vec<(&str, Origin)> = d
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r.from))
        .collect();
    assert_eq!(
        from,
        [
            ("sensitive:infrastructure", Origin::Organisation),
            ("sensitive:payments", Origin::Repository),
        ]
    );
    assert_eq!(
        d.policy.as_ref().unwrap().path.as_str(),
        ".github/warrant.yml"
    );
    assert_eq!(d.policy.as_ref().unwrap().repository, None);
    assert_eq!(
        d.org_policy.as_ref().unwrap().path.as_str(),
        "warrant-org.yml"
    );
    assert_eq!(d.applied.len(), 2);
    assert_eq!(d.applied[0].from, Origin::Organisation);
    assert_eq!(d.applied[1].from, Origin::Repository);
}

#[test]
fn rule_3_a_repository_cannot_lower_the_organisations_approvals() {
    let repo = r#"version: 1
sensitive:
  - name: infrastructure
    paths: ["infra/**"]
    approvers: ["octo/sre"]
    min_approvals: 1
"#;
    let mut c = claude(&["infra/main.tf"]);
    c.reviews = vec![approve(1, "bob")];
    let d = under(ORG, Some(repo), &c);
    // The repository's own requirement is met; the organisation's floor
    // of two is not.
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    let unmet: Vec<_> = d.requirements.iter().filter(|r| !r.satisfied).collect();
    assert_eq!(unmet.len(), 1);
    assert_eq!(unmet[0].from, Origin::Organisation);
    assert_eq!(unmet[0].min_approvals, 2);
    c.reviews.push(approve(2, "erin"));
    assert_eq!(under(ORG, Some(repo), &c).conclusion, Conclusion::Success);
}

#[test]
fn rule_3_observe_mode_in_a_repository_does_not_switch_off_the_floor() {
    let repo = "version: 1\nmode: observe\n";
    let d = under(ORG, Some(repo), &claude(&["infra/main.tf"]));
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    assert!(
        d.title.starts_with("Waiting for 2 approvals"),
        "{}",
        d.title
    );
    let modes: Vec<Mode> = d.applied.iter().map(|a| a.mode).collect();
    assert_eq!(modes, [Mode::Enforce, Mode::Observe]);
}

#[test]
fn rule_3_a_policy_in_observe_mode_contributes_neutral_and_its_verdict_is_shown() {
    let org = ORG.replace("version: 1\n", "version: 1\nmode: observe\n");
    let repo = "version: 1\nmode: enforce\n";
    // Outside the organisation's role for Claude: the organisation would
    // fail it; the repository, enforcing, has nothing against it.
    let d = under(&org, Some(repo), &claude(&["docs/readme.md"]));
    assert_eq!(d.conclusion, Conclusion::Success);
    assert_eq!(d.would_conclude, Conclusion::Failure);
    assert_eq!(d.applied[0].would_conclude, Conclusion::Failure);
    assert_eq!(d.applied[1].would_conclude, Conclusion::Success);
    assert!(
        d.title
            .contains("the organisation policy, in observe mode, would fail"),
        "{}",
        d.title
    );
    // Observe mode everywhere: neutral, saying what would happen.
    let d = under(&org, Some("version: 1\n"), &claude(&["docs/readme.md"]));
    assert_eq!(d.conclusion, Conclusion::Neutral);
    assert!(
        d.title.starts_with("Observe mode: would fail"),
        "{}",
        d.title
    );
}

#[test]
fn rule_3_the_stricter_conclusion_wins() {
    let repo = r#"version: 1
roles:
  docs:
    scope:
      allow: ["docs/**"]
agents:
  claude:
    role: docs
"#;
    // The repository gives Claude the docs role: it must stay within both.
    let d = under(ORG, Some(repo), &claude(&["src/a.rs"]));
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert_eq!(d.violations[0].from, Origin::Repository);
    assert!(d.violations[0].message.contains("outside its role `docs`"));
    let d = under(ORG, Some(repo), &claude(&["docs/a.md"]));
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert_eq!(d.violations[0].from, Origin::Organisation);
    assert!(d.violations[0].message.contains("outside its role `dev`"));
}

#[test]
fn rule_3_a_requirement_both_raise_alike_is_asked_once() {
    let repo = r#"version: 1
sensitive:
  - name: infrastructure
    paths: ["infra/**", "deploy/**"]
    approvers: ["octo/sre"]
    min_approvals: 2
"#;
    let d = under(ORG, Some(repo), &claude(&["infra/a.tf", "deploy/b.yml"]));
    assert_eq!(d.requirements.len(), 1, "{:?}", d.requirements);
    let r = &d.requirements[0];
    assert_eq!(r.from, Origin::Organisation);
    let paths: Vec<&str> = r.paths.iter().map(RepoPath::as_str).collect();
    assert_eq!(paths, ["infra/a.tf", "deploy/b.yml"]);
}

#[test]
fn rule_3_keys_left_out_are_inherited_rather_than_defaulted() {
    let org = ORG.replace("action: escalate", "action: block");
    // The repository says nothing about unregistered agents: the
    // organisation's `block` holds in its own decision and is inherited by
    // the repository's, and the violation is shown once.
    let d = under(
        &org,
        Some("version: 1\n"),
        &change(bot("ghost[bot]"), "x", &["src/a.rs"]),
    );
    assert_eq!(d.conclusion, Conclusion::Failure);
    let unregistered: Vec<_> = d
        .violations
        .iter()
        .filter(|v| v.kind == ViolationKind::UnregisteredAgent)
        .collect();
    assert_eq!(unregistered.len(), 1);
    assert!(unregistered[0].blocking);
}

#[test]
fn rule_4_an_organisation_agent_is_never_shadow_automation_in_a_repository() {
    let repo = r#"version: 1
unregistered_agents:
  action: block
"#;
    let d = under(ORG, Some(repo), &claude(&["src/a.rs"]));
    assert_eq!(d.conclusion, Conclusion::Success, "{:?}", d.violations);
    assert_eq!(d.agents[0].status, Registration::Registered);
    assert_eq!(d.agents[0].owner.as_deref(), Some("alice"));
    assert_eq!(d.agents[0].registered_by, Some(Origin::Organisation));
}

#[test]
fn rule_4_a_repositorys_agent_is_registered_for_the_organisations_rules_too() {
    let repo = r#"version: 1
agents:
  renovate:
    role: deps
    owner: pat
    match:
      logins: ["renovate"]
roles:
  deps:
    scope:
      allow: ["Cargo.lock"]
"#;
    let d = under(
        ORG,
        Some(repo),
        &change(bot("renovate"), "Update", &["Cargo.lock"]),
    );
    // The organisation escalates unregistered agents; renovate is
    // registered, by the repository.
    assert_eq!(d.conclusion, Conclusion::Success, "{:?}", d.requirements);
    assert_eq!(d.agents[0].id, "renovate");
    assert_eq!(d.agents[0].registered_by, Some(Origin::Repository));
}

#[test]
fn rule_5_an_invalid_organisation_policy_fails_closed_naming_file_and_line() {
    let errors = policy::load("warrant-org.yml", "version: 1\nmode: sometimes\n").unwrap_err();
    let source = PolicySource {
        repository: Some("octo/.github".into()),
        path: RepoPath::parse("warrant-org.yml").unwrap(),
        blob_id: "0123".into(),
    };
    let d = invalid_org_policy(&claude(&["src/a.rs"]), source, &errors, at());
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(
        d.title
            .starts_with("Invalid organisation policy: warrant-org.yml:2:7: "),
        "{}",
        d.title
    );
    assert_eq!(d.violations[0].from, Origin::Organisation);
    assert_eq!(
        d.org_policy.unwrap().repository.as_deref(),
        Some("octo/.github")
    );
}

#[test]
fn rule_6_the_organisation_file_is_governed_by_the_organisations_policy_file_rule() {
    let mut human_change = change(human("dana"), "Tighten", &["warrant-org.yml"]);
    human_change.repository = "octo/.github".into();
    let d = under(ORG, None, &human_change);
    assert_eq!(d.conclusion, Conclusion::ActionRequired);
    assert_eq!(d.requirements[0].id, "policy-file");
    assert_eq!(d.requirements[0].approvers, ["octo/admins"]);

    let mut agent_change = claude(&["warrant-org.yml"]);
    agent_change.repository = "octo/.github".into();
    let d = under(ORG, None, &agent_change);
    assert_eq!(d.conclusion, Conclusion::Failure);
    assert!(kinds(&d).contains(&ViolationKind::PolicyFileChangedByAgent));

    // Elsewhere a file of that name is no policy.
    let d = under(ORG, None, &change(human("dana"), "x", &["warrant-org.yml"]));
    assert_eq!(d.conclusion, Conclusion::Success);
}

#[test]
fn neither_policy_is_visibility_only() {
    let d = decide_under(
        Policies::default(),
        &claude(&["src/a.rs"]),
        &context(),
        at(),
    );
    assert_eq!(d.conclusion, Conclusion::Neutral);
    assert_eq!(d.title, "Warrant is not configured for this repository");
    assert_eq!(d.agents[0].id, "catalog:claude-code");
}

#[test]
fn summary_snapshot_names_both_policies_and_where_each_requirement_came_from() {
    let org = ORG.replace("action: escalate", "action: warn");
    let repo = r#"version: 1
mode: observe
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo/platform"]
"#;
    let mut c = claude(&["src/payments/pay.rs", "infra/main.tf"]);
    c.reviews = vec![approve(1, "bob")];
    let d = under(&org, Some(repo), &c);
    insta::assert_snapshot!(
        "org_summary_markdown",
        crate::engine::render::markdown(&d, Some("https://warrant.example.com/audit/x"))
    );
    insta::assert_snapshot!("org_summary_text", crate::engine::render::text(&d));
}
