//! A repository policy read under an organisation policy.

use super::{AgentReviews, Mode, Policy, UnregisteredAction, load, load_under};

const ORG: &str = r#"version: 1
mode: enforce
agents:
  copilot:
    role: feature-dev
    owner: acme/platform
    match:
      builtin: copilot
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
unregistered_agents:
  action: block
approvals:
  stale_on_push: false
  agent_reviews: dismiss
policy_file:
  approvers: ["acme/admins"]
"#;

fn org() -> Policy {
    load("warrant-org.yml", ORG).expect("the organisation policy is valid")
}

fn under(text: &str) -> Result<Policy, Vec<String>> {
    load_under(".github/warrant.yml", text, Some(&org()))
        .map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

#[test]
fn an_organisation_agent_is_given_a_role_with_role_alone() {
    let policy = under(
        r#"version: 1
agents:
  copilot:
    role: ui
roles:
  ui:
    scope:
      allow: ["src/ui/**"]
"#,
    )
    .unwrap();
    let copilot = &policy.agents[0];
    assert_eq!(copilot.id.as_str(), "copilot");
    assert_eq!(copilot.role.as_str(), "ui");
    // Everything else is the organisation's registration.
    assert_eq!(copilot.owner.to_string(), "acme/platform");
    assert_eq!(copilot.builtin.as_deref(), Some("copilot"));
}

#[test]
fn registering_an_organisation_agent_again_is_an_error_at_its_line() {
    let errors = under(
        r#"version: 1
agents:
  copilot:
    role: ui
    owner: mallory
    match:
      logins: ["copilot"]
roles:
  ui:
    scope:
      allow: ["**"]
"#,
    )
    .unwrap_err();
    assert_eq!(
        errors,
        ["\
.github/warrant.yml:3:3: agents.copilot: `copilot` is registered by the organisation policy: \
a repository may give it a role here (`role` as the entry's only key), never register it again"]
    );
}

#[test]
fn a_role_given_to_an_organisation_agent_must_be_defined_here() {
    let errors = under(
        r#"version: 1
agents:
  copilot:
    role: feature-dev
"#,
    )
    .unwrap_err();
    // The organisation's roles are its own: a repository names its own.
    assert_eq!(
        errors,
        [
            ".github/warrant.yml:4:11: agents.copilot.role: role `feature-dev` is not defined in `roles`"
        ]
    );
}

#[test]
fn without_the_organisation_a_role_alone_is_not_a_registration() {
    let errors = load(
        ".github/warrant.yml",
        "version: 1\nagents:\n  copilot:\n    role: ui\nroles:\n  ui:\n    scope:\n      allow: [\"**\"]\n",
    )
    .unwrap_err();
    assert!(
        errors.to_string().contains("owner"),
        "an agent of its own needs an owner: {errors}"
    );
}

#[test]
fn keys_left_out_take_the_organisations_values() {
    let policy = under("version: 1\n").unwrap();
    assert_eq!(policy.mode, Mode::Enforce);
    assert_eq!(policy.unregistered_agents.action, UnregisteredAction::Block);
    assert!(!policy.approvals.stale_on_push);
    assert!(policy.approvals.exclude_requester);
    assert_eq!(policy.approvals.agent_reviews, AgentReviews::Dismiss);
    assert_eq!(policy.policy_file.approvers[0].to_string(), "acme/admins");
    // Not the organisation's agents: the registry joins them when deciding.
    assert!(policy.agents.is_empty());
}

#[test]
fn keys_written_are_the_repositorys_own_down_to_each_sub_key() {
    let policy = under(
        r#"version: 1
mode: observe
unregistered_agents:
  approvers: ["acme/maintainers"]
approvals:
  stale_on_push: true
"#,
    )
    .unwrap();
    assert_eq!(policy.mode, Mode::Observe);
    // `action` left out under a written `unregistered_agents`: inherited.
    assert_eq!(policy.unregistered_agents.action, UnregisteredAction::Block);
    assert_eq!(
        policy.unregistered_agents.approvers[0].to_string(),
        "acme/maintainers"
    );
    assert!(policy.approvals.stale_on_push);
    assert_eq!(policy.approvals.agent_reviews, AgentReviews::Dismiss);
}

#[test]
fn the_repositorys_other_errors_are_reported_beside_a_redefinition() {
    let errors = under(
        r#"version: 1
mode: sometimes
agents:
  copilot:
    owner: bob
"#,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(".github/warrant.yml:2:7: "),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with(".github/warrant.yml:4:3: agents.copilot: "),
        "{errors:?}"
    );
}
