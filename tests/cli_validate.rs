//! `warrant validate`: what an admin sees before committing a policy.

mod support;

use std::fs;

use support::cli::{POLICY, run};

#[test]
fn a_valid_policy_is_summarised_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("policy.yml"), POLICY).unwrap();

    let out = run(dir.path(), &["validate", "policy.yml"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        "policy.yml: valid (1 agent, 1 role, 1 sensitive area)\n"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn without_a_file_the_first_policy_path_found_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".warrant.yml"), "version: 1\nagentz: {}\n").unwrap();
    fs::create_dir(dir.path().join(".github")).unwrap();
    fs::write(dir.path().join(".github/warrant.yml"), POLICY).unwrap();

    let out = run(dir.path(), &["validate"]);
    out.assert_code(0);
    assert!(
        out.stdout.starts_with(".github/warrant.yml: valid"),
        "{out}"
    );
}

#[test]
fn each_error_is_printed_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let broken = POLICY
        .replace("    role: feature-dev\n", "    role: no-such-role\n")
        .replace("sensitive:\n", "sensitiv:\n");
    fs::write(dir.path().join("warrant.yml"), broken).unwrap();

    let out = run(dir.path(), &["validate", "warrant.yml"]);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty(), "{out}");
    for line in &lines {
        let mut parts = line.splitn(4, ':');
        assert_eq!(parts.next(), Some("warrant.yml"), "{line}");
        let line_no: usize = parts.next().unwrap().parse().expect("a line number");
        let column: usize = parts.next().unwrap().parse().expect("a column");
        assert!(line_no > 0 && column > 0, "{line}");
        assert!(!parts.next().unwrap().trim().is_empty(), "{line}");
    }
    assert!(out.stderr.contains("sensitiv"), "{out}");
}

#[test]
fn a_policy_that_is_not_utf8_is_invalid_not_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("w.yml"), b"version: 1\n# caf\xe9\n").unwrap();

    let out = run(dir.path(), &["validate", "w.yml"]);
    out.assert_code(1);
    assert_eq!(out.stderr, "w.yml:2:6: the policy file is not UTF-8 text\n");
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["validate", "nope.yml"]);
    out.assert_code(2);
    assert!(out.stderr.contains("nope.yml"), "{out}");
}

#[test]
fn no_policy_in_the_directory_is_a_usage_error_naming_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["validate"]);
    out.assert_code(2);
    for path in [".github/warrant.yml", ".gitlab/warrant.yml", ".warrant.yml"] {
        assert!(out.stderr.contains(path), "{out}");
    }
}

#[test]
fn the_example_policy_for_evaluate_is_valid() {
    let out = run(
        &support::cli::crate_dir(),
        &["validate", "fixtures/changes/warrant.yml"],
    );
    out.assert_code(0);
}
