//! `warrant policy-diff OLD NEW`: what a policy change does, key by key.

mod support;

use std::fs;

use support::cli::run;

const OLD: &str = r#"version: 1
agents:
  copilot:
    role: feature-dev
    owner: acme/payments-team
    match:
      builtin: copilot
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
sensitive:
  - name: ledger
    paths: ["src/ledger/**"]
    approvers: ["acme/platform"]
    min_approvals: 2
"#;

fn files(new: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("old.yml"), OLD).unwrap();
    fs::write(dir.path().join("new.yml"), new).unwrap();
    dir
}

fn relaxed() -> String {
    OLD.replace("min_approvals: 2", "min_approvals: 1")
        .replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#)
}

#[test]
fn each_difference_is_printed_with_its_effect() {
    let dir = files(&relaxed());
    let out = run(dir.path(), &["policy-diff", "old.yml", "new.yml"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "relaxed    roles.feature-dev.scope.allow: infra/** added\n\
         relaxed    sensitive[ledger].min_approvals: 2 to 1\n"
    );
}

#[test]
fn json_and_markdown_say_the_same() {
    let dir = files(&relaxed());
    let out = run(
        dir.path(),
        &["policy-diff", "old.yml", "new.yml", "--format", "json"],
    );
    out.assert_code(0);
    let json = out.json();
    assert_eq!(json["relaxed"], 2);
    assert_eq!(json["tightened"], 0);
    assert_eq!(
        json["differences"][1]["key"],
        "sensitive[ledger].min_approvals"
    );
    assert_eq!(json["differences"][1]["effect"], "relaxed");

    let out = run(
        dir.path(),
        &["policy-diff", "old.yml", "new.yml", "--format", "markdown"],
    );
    assert!(
        out.stdout.starts_with(
            "### Policy change\n\n- **relaxed** `roles.feature-dev.scope.allow`: `infra/**` added\n"
        ),
        "{out}"
    );
}

#[test]
fn the_same_policy_has_nothing_to_say() {
    let dir = files(OLD);
    let out = run(dir.path(), &["policy-diff", "old.yml", "new.yml"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "No difference: the two policies say the same.\n"
    );
}

#[test]
fn an_invalid_proposal_is_reported_at_its_line() {
    let dir = files("version: 1\nmode: enforced\n");
    let out = run(dir.path(), &["policy-diff", "old.yml", "new.yml"]);
    out.assert_code(1);
    assert!(out.stderr.starts_with("new.yml:2:7: mode:"), "{out}");
    assert_eq!(out.stdout, "");
}
