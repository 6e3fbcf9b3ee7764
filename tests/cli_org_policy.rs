//! `--org-policy` on `evaluate`, `check` and `validate`: a repository policy
//! read under its organisation's, both decided, as the app decides them.

mod support;

use support::cli::{ALICE, Repo, crate_dir, run};

const ORG: &str = "fixtures/org/warrant-org.yml";
const REPO: &str = "fixtures/org/warrant.yml";
/// A policy that registers Claude itself.
const REGISTERS_CLAUDE: &str = "fixtures/changes/warrant.yml";
const CHANGE: &str = "fixtures/changes/example.json";
const AT: &str = "2026-12-01T12:00:00Z";

fn evaluate(policy: &str, org: &str) -> support::cli::Run {
    run(
        &crate_dir(),
        &[
            "evaluate",
            "--policy",
            policy,
            "--org-policy",
            org,
            "--change",
            CHANGE,
            "--at",
            AT,
            "--format",
            "json",
        ],
    )
}

#[test]
fn evaluate_decides_both_policies_and_the_organisations_floor_holds() {
    let out = evaluate(REPO, ORG);
    // The repository's `uploads` is met by bob; the organisation's two
    // SRE approvals for infrastructure are not.
    out.assert_code(3);
    let json = out.json();
    assert_eq!(json["conclusion"], "action_required", "{out}");
    assert_eq!(json["org_policy"]["path"], ORG);
    assert_eq!(json["policy"]["path"], REPO);
    let requirements: Vec<(&str, &str, bool)> = json["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["from"].as_str().unwrap_or("repository"),
                r["satisfied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        requirements,
        [
            ("sensitive:infrastructure", "organisation", false),
            ("sensitive:uploads", "repository", true),
        ]
    );
    let applied = &json["applied"];
    assert_eq!(applied[0]["from"], "organisation");
    assert_eq!(applied[0]["would_conclude"], "action_required");
    assert_eq!(applied[1]["would_conclude"], "success");
}

#[test]
fn evaluate_refuses_a_repository_that_registers_an_organisation_agent_again() {
    let out = evaluate(REGISTERS_CLAUDE, ORG);
    out.assert_code(1);
    let json = out.json();
    assert_eq!(json["conclusion"], "failure");
    assert_eq!(
        json["policy_errors"][0]["message"],
        "agents.claude: `claude` is registered by the organisation policy: a repository may \
         give it a role here (`role` as the entry's only key), never register it again",
        "{out}"
    );
    assert_eq!(json["policy_errors"][0]["line"], 8);
    // The decision still names the organisation policy it was read under.
    assert_eq!(json["org_policy"]["path"], ORG);
}

#[test]
fn an_invalid_organisation_policy_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("warrant-org.yml");
    std::fs::write(&org, "version: 1\nmode: enforced\n").unwrap();
    let out = evaluate(REPO, org.to_str().unwrap());
    out.assert_code(1);
    let title = out.json()["title"].as_str().unwrap().to_owned();
    assert!(
        title.starts_with("Invalid organisation policy: "),
        "{title}"
    );
    assert!(title.contains("warrant-org.yml:2:7: mode:"), "{title}");
}

#[test]
fn validate_checks_a_repository_policy_against_its_organisations() {
    let out = run(&crate_dir(), &["validate", REPO, "--org-policy", ORG]);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!("{REPO}: valid under {ORG} (1 agent, 1 role, 1 sensitive area)\n")
    );

    let out = run(
        &crate_dir(),
        &["validate", REGISTERS_CLAUDE, "--org-policy", ORG],
    );
    out.assert_code(1);
    assert!(
        out.stderr.starts_with(&format!(
            "{REGISTERS_CLAUDE}:8:3: agents.claude: `claude` is registered"
        )),
        "{out}"
    );
    // Alone, the same file is valid.
    run(&crate_dir(), &["validate", REGISTERS_CLAUDE]).assert_code(0);
}

#[test]
fn validate_reports_the_organisation_files_own_errors_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("org.yml"), "version: 1\nrols: {}\n").unwrap();
    std::fs::copy(crate_dir().join(REPO), dir.path().join("repo.yml")).unwrap();
    let out = run(
        dir.path(),
        &["validate", "repo.yml", "--org-policy", "org.yml"],
    );
    out.assert_code(1);
    assert!(out.stderr.starts_with("org.yml:2:1: "), "{out}");
    assert_eq!(out.stdout, "");
}

#[test]
fn check_decides_a_repository_without_a_policy_under_the_organisations() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature").write("docs/guide.md", "How to\n");
    repo.commit_by_claude("Write a guide");
    let org = crate_dir().join(ORG);

    let out = repo.warrant(&[
        "check",
        "--at",
        AT,
        "--format",
        "json",
        "--org-policy",
        org.to_str().unwrap(),
    ]);
    // docs/ is outside the organisation's role for Claude.
    out.assert_code(1);
    let json = out.json();
    assert_eq!(json["agents"][0]["id"], "claude", "{out}");
    assert_eq!(json["agents"][0]["status"]["kind"], "registered");
    assert_eq!(json["violations"][0]["from"], "organisation");
    assert_eq!(json["org_policy"]["path"], "warrant-org.yml");
    assert!(json["policy"].is_null());
}
