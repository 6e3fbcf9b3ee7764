use super::*;
use crate::policy::load;

const BASE: &str = r#"version: 1
mode: enforce
agents:
  copilot:
    role: feature-dev
    owner: acme/payments-team
    expires: 2027-06-30
    match:
      builtin: copilot
  devin:
    role: db
    owner: kenji
    match:
      builtin: devin
roles:
  feature-dev:
    scope:
      allow: ["src/**", "tests/**"]
      deny: ["src/auth/**"]
    max_files: 40
  db:
    scope:
      allow: ["migrations/**"]
sensitive:
  - name: ledger
    paths: ["src/ledger/**", "src/fees/**"]
    approvers: ["acme/platform"]
    min_approvals: 2
unregistered_agents:
  action: block
approvals:
  stale_on_push: true
policy_file:
  approvers: ["acme/platform"]
"#;

fn policy(text: &str) -> Policy {
    load("warrant.yml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn between(old: &str, new: &str) -> Vec<String> {
    diff(&policy(old), &policy(new))
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_same_policy_has_no_difference_whatever_its_layout() {
    let reordered = BASE.replace("mode: enforce\n", "") + "mode: enforce\n";
    assert_eq!(between(BASE, &reordered), Vec::<String>::new());
}

#[test]
fn widening_an_agents_reach_is_relaxed() {
    let new = BASE
        .replace(
            r#"allow: ["src/**", "tests/**"]"#,
            r#"allow: ["src/**", "tests/**", "infra/**"]"#,
        )
        .replace(r#"      deny: ["src/auth/**"]"#, "")
        .replace("max_files: 40", "max_files: 400")
        .replace("expires: 2027-06-30", "expires: 2027-12-31");
    assert_eq!(
        between(BASE, &new),
        [
            "relaxed: agents.copilot.expires: lapses `2028-01-01 00:00 UTC` instead of `2027-07-01 00:00 UTC`",
            "relaxed: roles.feature-dev.scope.allow: `infra/**` added",
            "relaxed: roles.feature-dev.scope.deny: `src/auth/**` removed",
            "relaxed: roles.feature-dev.max_files: 40 to 400",
        ]
    );
}

#[test]
fn lowering_approvals_and_narrowing_areas_is_relaxed() {
    let new = BASE
        .replace("min_approvals: 2", "min_approvals: 1")
        .replace(
            r#"["src/ledger/**", "src/fees/**"]"#,
            r#"["src/ledger/**"]"#,
        )
        .replace("action: block", "action: warn")
        .replace("stale_on_push: true", "stale_on_push: false")
        .replace("mode: enforce", "mode: observe")
        .replace("policy_file:\n  approvers: [\"acme/platform\"]\n", "");
    assert_eq!(
        between(BASE, &new),
        [
            "relaxed: mode: `enforce` to `observe`",
            "relaxed: sensitive[ledger].paths: `src/fees/**` removed",
            "relaxed: sensitive[ledger].min_approvals: 2 to 1",
            "relaxed: unregistered_agents.action: `block` to `warn`",
            "relaxed: approvals.stale_on_push: turned off",
            "relaxed: policy_file.approvers: `acme/platform` removed",
        ]
    );
}

#[test]
fn the_reverse_of_each_is_tightened() {
    let relaxed = BASE
        .replace("min_approvals: 2", "min_approvals: 1")
        .replace("action: block", "action: escalate")
        .replace("mode: enforce", "mode: observe");
    let back = between(&relaxed, BASE);
    assert!(
        back.iter().all(|d| d.starts_with("tightened: ")),
        "{back:#?}"
    );
    assert_eq!(back.len(), 3);
}

#[test]
fn agents_registered_and_removed_and_areas_removed() {
    let new = BASE
        .replace(
            "  devin:\n    role: db\n    owner: kenji\n    match:\n      builtin: devin\n",
            "  claude:\n    role: feature-dev\n    owner: tom\n    match:\n      builtin: claude-code\n",
        )
        .replace(
            "sensitive:\n  - name: ledger\n    paths: [\"src/ledger/**\", \"src/fees/**\"]\n    approvers: [\"acme/platform\"]\n    min_approvals: 2\n",
            "",
        );
    assert_eq!(
        between(BASE, &new),
        [
            "tightened: agents.devin: registration removed",
            "relaxed: agents.claude: registered, role `feature-dev`, owner `tom`",
            "relaxed: sensitive[ledger]: removed: its paths need no approval",
        ]
    );
}

#[test]
fn who_answers_for_an_agent_is_neutral_and_approvers_added_relax() {
    let new = BASE.replace("owner: kenji", "owner: maria").replace(
        r#"approvers: ["acme/platform"]
    min_approvals: 2"#,
        r#"approvers: ["acme/platform", "acme/payments-team"]
    min_approvals: 2"#,
    );
    assert_eq!(
        between(BASE, &new),
        [
            "neutral: agents.devin.owner: `kenji` to `maria`",
            "relaxed: sensitive[ledger].approvers: `acme/payments-team` added",
        ]
    );
}

#[test]
fn moving_an_agent_to_another_role_is_judged_by_what_the_roles_allow() {
    let roles = |extra: &str| {
        BASE.replace(
            "roles:\n",
            &format!("roles:\n  wider:\n    scope:\n      allow: [\"src/**\", \"tests/**\", \"infra/**\"]\n      deny: [\"src/auth/**\"]\n    max_files: 40\n  narrower:\n    scope:\n      allow: [\"src/**\"]\n      deny: [\"src/auth/**\"]\n    max_files: 40\n{extra}"),
        )
    };
    let base = roles("");
    let moved = |to: &str| base.replace("    role: feature-dev\n", &format!("    role: {to}\n"));
    assert_eq!(
        between(&base, &moved("wider")),
        ["relaxed: agents.copilot.role: `feature-dev` to `wider` (its scope widens)"]
    );
    assert_eq!(
        between(&base, &moved("narrower")),
        ["tightened: agents.copilot.role: `feature-dev` to `narrower` (its scope narrows)"]
    );
    assert_eq!(
        between(&base, &moved("db")),
        [
            "relaxed: agents.copilot.role: `feature-dev` to `db` (its scope widens in places and narrows in others)"
        ]
    );
}

#[test]
fn adding_override_approvers_is_relaxed_and_removing_them_tightened() {
    let on = format!("{BASE}overrides:\n  approvers: [\"acme/oncall\"]\n");
    assert_eq!(
        between(BASE, &on),
        ["relaxed: overrides.approvers: `acme/oncall` added"]
    );
    let wider = format!("{BASE}overrides:\n  approvers: [\"acme/oncall\", \"kenji\"]\n");
    assert_eq!(
        between(&on, &wider),
        ["relaxed: overrides.approvers: `kenji` added"]
    );
    assert_eq!(
        between(&wider, &on),
        ["tightened: overrides.approvers: `kenji` removed"]
    );
    assert_eq!(
        between(&on, BASE),
        ["tightened: overrides.approvers: `acme/oncall` removed"]
    );
}
