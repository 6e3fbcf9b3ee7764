//! `warrant evaluate`: deciding a change described in JSON, with the
//! example of docs/cli.md (`fixtures/changes/`).

mod support;

use std::fs;

use support::cli::{crate_dir, run, run_with_stdin};

const POLICY: &str = "fixtures/changes/warrant.yml";
const CHANGE: &str = "fixtures/changes/example.json";
const AT: &str = "2026-12-01T12:00:00Z";

fn evaluate(extra: &[&str]) -> support::cli::Run {
    evaluate_at(AT, extra)
}

fn evaluate_at(at: &str, extra: &[&str]) -> support::cli::Run {
    let mut args = vec![
        "evaluate", "--policy", POLICY, "--change", CHANGE, "--at", at,
    ];
    args.extend_from_slice(extra);
    run(&crate_dir(), &args)
}

#[test]
fn the_documented_example_is_approved_by_the_sre_team() {
    let out = evaluate(&["--format", "json"]);
    out.assert_code(0);
    let json = out.json();
    assert_eq!(json["conclusion"], "success", "{out}");
    assert_eq!(json["repository"], "octo-org/app");
    assert_eq!(json["evaluated_at"], "2026-12-01T12:00:00Z");
    assert_eq!(json["agents"][0]["id"], "claude");
    let requirement = &json["requirements"][0];
    assert_eq!(requirement["id"], "sensitive:infrastructure", "{out}");
    assert_eq!(requirement["approved_by"], serde_json::json!(["bob"]));
}

#[test]
fn the_decision_names_the_policy_file_and_its_blob() {
    let json = evaluate(&["--format", "json"]).json();
    let contents = fs::read(crate_dir().join(POLICY)).unwrap();
    assert_eq!(json["policy"]["path"], POLICY);
    assert_eq!(
        json["policy"]["blob_id"],
        warrant::policy::blob_id(&contents).as_str()
    );
}

#[test]
fn an_absolute_policy_path_is_recorded_by_its_file_name() {
    let absolute = crate_dir().join(POLICY);
    let out = run(
        &crate_dir(),
        &[
            "evaluate",
            "--policy",
            absolute.to_str().unwrap(),
            "--change",
            CHANGE,
            "--at",
            AT,
            "--format",
            "json",
        ],
    );
    out.assert_code(0);
    assert_eq!(out.json()["policy"]["path"], "warrant.yml");
}

#[test]
fn a_lapsed_registration_turns_the_agent_into_an_unregistered_one() {
    let out = evaluate_at("2027-07-01T00:00:00Z", &["--format", "json"]);
    out.assert_code(3);
    assert_eq!(out.json()["agents"][0]["status"]["kind"], "lapsed", "{out}");
}

#[test]
fn text_output_is_a_terse_report() {
    let out = evaluate(&[]);
    out.assert_code(0);
    assert!(out.stdout.contains("claude"), "{out}");
    assert!(out.stdout.contains("infrastructure"), "{out}");
}

#[test]
fn markdown_output_is_the_check_summary() {
    let out = evaluate(&["--format", "markdown"]);
    out.assert_code(0);
    assert!(out.stdout.starts_with("**"), "{out}");
    assert!(out.stdout.contains("`infra/queue.tf`"), "{out}");
}

#[test]
fn a_bare_change_from_stdin_is_decided_without_context() {
    let file: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(crate_dir().join(CHANGE)).unwrap()).unwrap();
    let bare = serde_json::to_string(&file["change"]).unwrap();
    let out = run_with_stdin(
        &crate_dir(),
        &[
            "evaluate", "--policy", POLICY, "--change", "-", "--at", AT, "--format", "json",
        ],
        &bare,
    );
    // Without the team's members, bob's approval does not count.
    out.assert_code(3);
    assert_eq!(out.json()["conclusion"], "action_required");
}

#[test]
fn an_invalid_policy_is_a_failing_decision_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.yml"), "version: 2\n").unwrap();
    let change = crate_dir().join(CHANGE);
    let out = run(
        dir.path(),
        &[
            "evaluate",
            "--policy",
            "bad.yml",
            "--change",
            change.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    out.assert_code(1);
    let json = out.json();
    assert_eq!(json["conclusion"], "failure");
    assert_eq!(json["policy_errors"][0]["file"], "bad.yml");
    assert_eq!(json["policy_errors"][0]["line"], 1);
}

#[test]
fn a_change_file_that_does_not_parse_is_a_usage_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("change.json"),
        "{\n  \"base_sha\": \"1111111\",\n  \"head_sha\": \"zz\"\n}\n",
    )
    .unwrap();
    let policy = crate_dir().join(POLICY);
    let out = run(
        dir.path(),
        &[
            "evaluate",
            "--policy",
            policy.to_str().unwrap(),
            "--change",
            "change.json",
        ],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("change.json"), "{out}");
    assert!(out.stderr.contains("`zz` is not a commit id"), "{out}");
    assert!(out.stderr.contains(" at line "), "{out}");
}

#[test]
fn missing_files_are_usage_errors() {
    let out = run(
        &crate_dir(),
        &["evaluate", "--policy", "nope.yml", "--change", CHANGE],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("nope.yml"), "{out}");
    let out = run(
        &crate_dir(),
        &["evaluate", "--policy", POLICY, "--change", "nope.json"],
    );
    out.assert_code(2);
    assert!(out.stderr.contains("nope.json"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    run(&crate_dir(), &["evaluate", "--policy", POLICY]).assert_code(2);
    let out = evaluate_at("yesterday", &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("RFC 3339"), "{out}");
    evaluate(&["--format", "yaml"]).assert_code(2);
    run(&crate_dir(), &["no-such-command"]).assert_code(2);
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["evaluate", "--help"],
        &["check", "--help"],
    ] {
        let out = run(&crate_dir(), args);
        out.assert_code(0);
        assert!(out.stdout.contains("Exit codes:"), "{out}");
        assert!(out.stdout.contains("3  action required"), "{out}");
    }
}

#[test]
fn paths_not_in_normal_form_are_refused_never_matched() {
    let example = fs::read_to_string(crate_dir().join(CHANGE)).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&example).unwrap();
    assert!(json["change"].is_object(), "the example wraps its change");
    for bad in [
        "src/../infra/x.tf",
        "/infra/x.tf",
        "infra\\x.tf",
        "./src/a.rs",
    ] {
        json["change"]["files"][0]["path"] = serde_json::Value::String(bad.into());
        let out = run_with_stdin(
            &crate_dir(),
            &["evaluate", "--policy", POLICY, "--change", "-", "--at", AT],
            &json.to_string(),
        );
        out.assert_code(2);
        assert!(out.stderr.contains("not in normal form"), "{bad}: {out}");
    }
}

/// The example's infrastructure approved by its code owners instead of a
/// listed team: the policy in a temporary directory, beside `codeowners`.
fn evaluate_with_codeowners(codeowners: Option<&str>) -> support::cli::Run {
    let dir = tempfile::tempdir().unwrap();
    let policy = fs::read_to_string(crate_dir().join(POLICY))
        .unwrap()
        .replace(r#"approvers: ["octo-org/sre"]"#, "approvers: [codeowners]");
    fs::write(dir.path().join("warrant.yml"), policy).unwrap();
    let change = crate_dir().join(CHANGE);
    let mut args = vec![
        "evaluate",
        "--policy",
        "warrant.yml",
        "--change",
        change.to_str().unwrap(),
        "--at",
        AT,
        "--format",
        "json",
    ];
    if let Some(text) = codeowners {
        fs::write(dir.path().join("CODEOWNERS"), text).unwrap();
        args.extend(["--codeowners", "CODEOWNERS"]);
    }
    let out = run(dir.path(), &args);
    drop(dir);
    out
}

#[test]
fn codeowners_given_as_a_file_approve_the_paths_they_own() {
    let out = evaluate_with_codeowners(Some("/infra/ @octo-org/sre\n"));
    out.assert_code(0);
    let json = out.json();
    assert_eq!(json["conclusion"], "success", "{out}");
    assert_eq!(json["codeowners"]["path"], "CODEOWNERS");
    let owned = json["requirements"][0]["owned_paths"].as_array().unwrap();
    // The renamed file's old path is touched too.
    let paths: Vec<&str> = owned.iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["infra/queue.tf", "infra/old-queue.tf"], "{out}");
    assert_eq!(owned[0]["approved_by"], serde_json::json!(["bob"]));
}

#[test]
fn without_codeowners_the_paths_are_unowned_and_the_check_fails() {
    let out = evaluate_with_codeowners(None);
    out.assert_code(1);
    let json = out.json();
    assert_eq!(json["conclusion"], "failure", "{out}");
    let unowned = &json["requirements"][0]["unowned"][0]["path"];
    assert_eq!(unowned, "infra/queue.tf");
    let title = json["title"].as_str().unwrap();
    assert!(title.contains("no CODEOWNERS file"), "{title}");
}
