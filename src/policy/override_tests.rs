//! `overrides.approvers`: read like every approvers list, checked at its
//! line, and never inherited from the organisation (each policy's
//! overrides lift only its own part of a decision).

use super::*;
use crate::ids::{Login, TeamName};

fn errors(text: &str) -> Vec<String> {
    match load("warrant.yml", text) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
                .collect()
        }
    }
}

#[test]
fn overrides_are_off_by_default_and_read_like_other_approvers() {
    let off = load("warrant.yml", "version: 1\n").unwrap();
    assert!(off.overrides.approvers.is_empty());
    let text = "version: 1\noverrides:\n  approvers: [octo-org/incident, bob, codeowners]\n";
    let on = load("warrant.yml", text).unwrap();
    assert_eq!(
        on.overrides.approvers,
        [
            Approver::Principal(Principal::Team(
                TeamName::parse("octo-org/incident").unwrap()
            )),
            Approver::Principal(Principal::User(Login::parse("bob").unwrap())),
            Approver::CodeOwners,
        ]
    );
    // Its teams are resolved like any approvers', and `codeowners` asks
    // for the CODEOWNERS file.
    assert_eq!(on.teams().len(), 1);
    assert!(on.uses_codeowners());
}

#[test]
fn a_bad_override_approver_is_reported_at_its_line() {
    let text = "version: 1\noverrides:\n  approvers: [\"@bob\", owner]\n";
    assert_eq!(
        errors(text),
        [
            "3:15: overrides.approvers[0]: write logins and teams without `@`: `bob`",
            "3:23: overrides.approvers[1]: the word `owner` means the owner of an agent involved, who may not override a check on their own agent's change: name a login or `org/team`",
        ]
    );
    let text = "version: 1\noverrides:\n  aproovers: [bob]\n";
    assert_eq!(
        errors(text),
        ["3:3: overrides: unknown key `aproovers`; did you mean `approvers`?"]
    );
}

#[test]
fn a_repository_does_not_inherit_the_organisations_override_approvers() {
    let org = load(
        "warrant-org.yml",
        "version: 1\noverrides:\n  approvers: [octo-org/incident]\n",
    )
    .unwrap();
    let repo = load_under("warrant.yml", "version: 1\n", Some(&org)).unwrap();
    assert!(repo.overrides.approvers.is_empty());
}
