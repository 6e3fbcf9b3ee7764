//! `warrant check` end to end, on real git repositories: the range, the
//! policy read from the base, and the exit code CI acts on.

mod support;

use support::cli::{ALICE, BOB, POLICY, Repo, repo_with_policy};

/// A fixed evaluation time, so no test depends on the clock.
const AT: &str = "2026-12-01T12:00:00Z";

fn check(repo: &Repo, extra: &[&str]) -> support::cli::Run {
    let mut args = vec!["check", "--at", AT];
    args.extend_from_slice(extra);
    repo.warrant(&args)
}

fn check_json(repo: &Repo, extra: &[&str]) -> (support::cli::Run, serde_json::Value) {
    let run = check(repo, &[&["--format", "json"], extra].concat());
    let json = run.json();
    (run, json)
}

fn paths_of(value: &serde_json::Value) -> Vec<&str> {
    value["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

#[test]
fn a_repository_without_a_policy_at_base_is_neutral() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature").write(".github/warrant.yml", POLICY);
    repo.commit_by_claude("Add a policy on the branch");

    let run = check(&repo, &[]);
    run.assert_code(0);
    assert!(
        run.stdout
            .contains("Warrant is not configured for this repository"),
        "{run}"
    );
    // Claude's commit is still seen, by the built-in catalog.
    assert!(
        run.stdout.contains("1 agent seen: catalog:claude-code."),
        "{run}"
    );
}

#[test]
fn an_agent_commit_within_its_scope_succeeds() {
    let repo = repo_with_policy();
    repo.write("src/lib.rs", "pub fn hello() { println!(\"hi\"); }\n");
    repo.commit_by_claude("Say hello");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(0);
    assert_eq!(json["conclusion"], "success", "{run}");
    let agents = json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{run}");
    assert_eq!(agents[0]["id"], "claude");
    assert_eq!(agents[0]["status"]["kind"], "registered");
}

#[test]
fn an_agent_commit_outside_its_scope_fails() {
    let repo = repo_with_policy();
    repo.write("src/auth/token.rs", "// denied to agents\n");
    repo.commit_by_claude("Touch auth");

    let run = check(&repo, &[]);
    run.assert_code(1);
    assert!(run.stdout.contains("src/auth/token.rs"), "{run}");
}

#[test]
fn an_agent_commit_in_a_sensitive_area_waits_for_approval() {
    let repo = repo_with_policy();
    repo.write("infra/main.tf", "resource {}\n");
    repo.commit_by_claude("Add infrastructure");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(3);
    assert_eq!(json["conclusion"], "action_required");
    let requirements = json["requirements"].as_array().unwrap();
    assert_eq!(requirements.len(), 1, "{run}");
    assert_eq!(requirements[0]["satisfied"], false);
    assert_eq!(paths_of(&requirements[0]), ["infra/main.tf"]);
}

#[test]
fn a_rename_out_of_scope_counts_both_paths() {
    let repo = repo_with_policy();
    repo.git(&["mv", "ops/deploy.sh", "src/deploy.sh"]);
    repo.commit_by_claude("Move the deploy script");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(1);
    let out_of_scope: Vec<_> = json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "out_of_scope")
        .collect();
    assert_eq!(out_of_scope.len(), 1, "{run}");
    // The new path is in scope; the old one is what moving it touched.
    assert_eq!(paths_of(out_of_scope[0]), ["ops/deploy.sh"], "{run}");
}

#[test]
fn a_policy_changed_on_the_branch_does_not_judge_the_branch() {
    let repo = repo_with_policy();
    let base_blob = repo.git(&["rev-parse", "main:.github/warrant.yml"]);
    // A human relaxes the policy on the branch, then breaks it.
    repo.write(".github/warrant.yml", "version: 1\n");
    repo.commit(BOB, "Drop every rule");
    repo.write(".github/warrant.yml", "this is: [not a policy\n");
    repo.commit(BOB, "Break the policy");

    let (run, json) = check_json(&repo, &[]);
    // Judged by the base policy: a human change to the policy file waits
    // for an admin, and the broken file is not the policy applied...
    assert_eq!(json["policy"]["path"], ".github/warrant.yml");
    assert_eq!(json["policy"]["blob_id"], base_blob.as_str());
    assert!(json.get("policy_errors").is_none(), "{run}");
    assert_eq!(json["requirements"][0]["id"], "policy-file", "{run}");
    assert_eq!(json["requirements"][0]["satisfied"], false);
    // ...but, proposed, it fails the check: it would fail every change
    // once merged.
    run.assert_code(1);
    assert!(
        json["title"]
            .as_str()
            .unwrap()
            .starts_with("Proposed policy is invalid: .github/warrant.yml:2:1: invalid YAML"),
        "{run}"
    );
}

#[test]
fn the_policy_file_edited_by_an_agent_commit_fails() {
    let repo = repo_with_policy();
    repo.write(
        ".github/warrant.yml",
        &POLICY.replace("\"infra/**\"]", "\"infra/**\", \"**\"]"),
    );
    repo.commit_by_claude("Widen my own scope");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(1);
    let kinds: Vec<_> = json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"policy_file_changed_by_agent"), "{run}");
}

#[test]
fn an_invalid_policy_at_base_fails_closed_and_points_at_the_error() {
    let repo = Repo::new();
    repo.write(".github/warrant.yml", "version: 1\nagentz: {}\n")
        .write("src/lib.rs", "\n");
    repo.commit(ALICE, "A policy with a typo");
    repo.branch("feature").write("src/lib.rs", "// hi\n");
    repo.commit(ALICE, "A human change");

    let run = check(&repo, &[]);
    run.assert_code(1);
    assert!(run.stdout.contains(".github/warrant.yml:2:"), "{run}");

    let (_, json) = check_json(&repo, &[]);
    assert_eq!(json["conclusion"], "failure");
    assert_eq!(json["policy_errors"][0]["file"], ".github/warrant.yml");
    assert_eq!(json["policy_errors"][0]["line"], 2);
}

#[test]
fn explicit_base_and_head_name_the_range() {
    let repo = repo_with_policy();
    repo.write("src/auth/token.rs", "// denied to agents\n");
    let bad = repo.commit_by_claude("Touch auth");
    repo.switch("main");
    repo.write("secrets/key", "added on main after the branch started\n");
    repo.commit(ALICE, "A human change on main");

    // HEAD is main now: by default the range is empty.
    check(&repo, &[]).assert_code(0);

    let (run, json) = check_json(&repo, &["--base", "main", "--head", "feature"]);
    run.assert_code(1);
    assert_eq!(json["head_sha"], bad.as_str());
    assert_eq!(json["base_sha"], repo.git(&["rev-parse", "main"]).as_str());
    // A pull request's diff starts at the merge base: what main gained
    // since is not part of the change (a plain tree diff would show
    // `secrets/key` as deleted by the agent).
    let paths: Vec<String> = json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| {
            paths_of(v)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(paths, ["src/auth/token.rs"], "{run}");

    let fork_point = repo.git(&["rev-parse", "main~1"]);
    check(&repo, &["--base", &fork_point, "--head", &bad]).assert_code(1);
}

#[test]
fn json_output_has_a_top_level_conclusion() {
    let repo = repo_with_policy();
    repo.write("src/lib.rs", "// a human change\n");
    repo.commit(ALICE, "A human change");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(0);
    assert_eq!(json["conclusion"], "success");
    assert_eq!(json["forge"], "local");
    assert_eq!(json["number"], 0);
    assert_eq!(json["head_sha"], repo.git(&["rev-parse", "HEAD"]).as_str());
}

#[test]
fn the_default_base_follows_origin_head() {
    let upstream = repo_with_policy();
    upstream
        .switch("main")
        .git(&["branch", "--move", "main", "trunk"]);
    let clone_parent = tempfile::tempdir().unwrap();
    let clone_dir = clone_parent.path().join("app");
    upstream.git(&["clone", "--quiet", ".", clone_dir.to_str().unwrap()]);
    let clone = support::cli::run(&clone_dir, &["check", "--at", AT, "--format", "json"]);
    // A fresh clone: HEAD is origin/trunk itself, an empty range.
    clone.assert_code(0);
    assert_eq!(
        clone.json()["base_sha"],
        upstream.git(&["rev-parse", "trunk"]).as_str()
    );
}

#[test]
fn a_path_warrant_cannot_represent_is_an_error_not_skipped() {
    let repo = repo_with_policy();
    repo.write("src/back\\slash.rs", "\n");
    repo.commit_by_claude("An odd file name");

    let run = check(&repo, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("back\\\\slash.rs"), "{run}");
    assert!(run.stderr.contains("backslash"), "{run}");
}

#[test]
fn an_unknown_revision_is_a_usage_error() {
    let repo = repo_with_policy();
    let run = check(&repo, &["--base", "no-such-branch"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--base `no-such-branch`"), "{run}");
}

#[test]
fn without_a_default_branch_the_base_must_be_named() {
    let repo = Repo::new();
    repo.git(&["switch", "--quiet", "--orphan", "topic"]);
    repo.write("a.txt", "a\n");
    repo.commit(ALICE, "First");

    let run = check(&repo, &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("--base"), "{run}");
}

#[test]
fn a_directory_that_is_not_a_repository_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let run = support::cli::run(dir.path(), &["check", "--repo", "."]);
    run.assert_code(2);
    assert!(run.stderr.contains("not a git repository"), "{run}");
}

#[test]
fn any_directory_inside_the_repository_will_do() {
    let repo = repo_with_policy();
    repo.write("src/auth/token.rs", "// denied to agents\n");
    repo.commit_by_claude("Touch auth");

    let run = support::cli::run(repo.path(), &["check", "--repo", "src", "--at", AT]);
    run.assert_code(1);
    // Paths stay relative to the repository's root.
    assert!(run.stdout.contains("src/auth/token.rs"), "{run}");
}

#[test]
fn a_submodule_update_is_a_changed_path() {
    let sub = Repo::new();
    sub.write("lib.rs", "\n");
    sub.commit(ALICE, "Library");
    let repo = repo_with_policy();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "--quiet",
        sub.path().to_str().unwrap(),
        "vendor/lib",
    ]);
    repo.git(&[
        "config",
        "-f",
        ".gitmodules",
        "submodule.vendor/lib.ignore",
        "all",
    ]);
    repo.commit(ALICE, "Vendor a library");
    let base = repo.git(&["rev-parse", "HEAD"]);
    sub.write("lib.rs", "// changed\n");
    sub.commit(ALICE, "Change the library");
    repo.git(&["-C", "vendor/lib", "pull", "--quiet", "origin", "main"]);
    repo.git(&["add", "vendor/lib"]);
    repo.commit_by_claude("Bump the vendored library");

    let run = check(&repo, &["--base", &base]);
    run.assert_code(1);
    assert!(run.stdout.contains("vendor/lib"), "{run}");
}

/// A bot that commits with its GitHub noreply address is the account that
/// address names: registered by `logins:`, it is recognised on a local
/// range exactly as the app recognises it on the pull request.
#[test]
fn a_noreply_commit_address_names_the_account_registered_by_login() {
    const HOUSE_BOT: support::cli::Who = support::cli::Who {
        name: "House Bot",
        email: "4242+house-bot@users.noreply.github.com",
    };
    let policy = POLICY.replace(
        "agents:\n",
        "agents:\n  house-bot:\n    role: feature-dev\n    owner: alice\n    match:\n      logins: [\"house-bot\"]\n",
    );
    let repo = Repo::new();
    repo.write(".github/warrant.yml", &policy)
        .write("src/lib.rs", "pub fn hello() {}\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature")
        .write("src/lib.rs", "pub fn hello() { println!(\"hi\"); }\n");
    repo.commit(HOUSE_BOT, "Say hello");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(0);
    let agents = json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{run}");
    assert_eq!(agents[0]["id"], "house-bot", "{run}");
    assert_eq!(agents[0]["status"]["kind"], "registered", "{run}");
}

/// [`POLICY`] with the infrastructure's approvers taken from CODEOWNERS;
/// the agent may edit CODEOWNERS (which never changes its own decision).
fn codeowners_policy() -> String {
    POLICY
        .replace(r#"approvers: ["octo-org/sre"]"#, "approvers: [codeowners]")
        .replace(
            r#"allow: ["src/**", "tests/**", "infra/**"]"#,
            r#"allow: ["src/**", "tests/**", "infra/**", ".github/CODEOWNERS"]"#,
        )
}

#[test]
fn codeowners_are_read_at_the_base_revision_not_at_the_head() {
    let repo = Repo::new();
    repo.write(".github/warrant.yml", &codeowners_policy())
        .write(".github/CODEOWNERS", "*  @alice\n/infra/  @octo-org/sre\n")
        .write("src/lib.rs", "pub fn hello() {}\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature");
    // The change tries to hand the infrastructure to someone else.
    repo.write(".github/CODEOWNERS", "*  @alice\n/infra/  @mallory\n")
        .write("infra/main.tf", "resource {}\n");
    repo.commit_by_claude("Add infrastructure");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(3);
    assert_eq!(json["conclusion"], "action_required", "{run}");
    assert_eq!(json["codeowners"]["path"], ".github/CODEOWNERS", "{run}");
    let owned = &json["requirements"][0]["owned_paths"][0];
    assert_eq!(owned["path"], "infra/main.tf", "{run}");
    assert_eq!(
        owned["owners"],
        serde_json::json!(["@octo-org/sre"]),
        "{run}"
    );
    assert_eq!(owned["line"], 2, "{run}");

    let text = check(&repo, &[]);
    assert!(
        text.stdout.contains(
            "infra/main.tf — owned by @octo-org/sre (CODEOWNERS line 2) — not approved yet"
        ),
        "{text}"
    );
}

#[test]
fn an_invalid_codeowners_file_at_the_base_fails_with_its_line() {
    let repo = Repo::new();
    repo.write(".github/warrant.yml", &codeowners_policy())
        .write("CODEOWNERS", "/infra/ sre-team\n")
        .write("src/lib.rs", "pub fn hello() {}\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature");
    repo.write("src/lib.rs", "pub fn hello() { println!(\"hi\"); }\n");
    repo.commit_by_claude("Say hello");

    let run = check(&repo, &[]);
    run.assert_code(1);
    assert!(
        run.stdout
            .contains("Invalid CODEOWNERS: CODEOWNERS:1:9: sre-team is not an owner"),
        "{run}"
    );
}

#[test]
fn a_range_that_breaks_the_policy_fails_at_the_proposed_line() {
    let repo = repo_with_policy();
    repo.write(
        ".github/warrant.yml",
        &POLICY.replacen("version: 1\n", "version: 1\nmode: enforced\n", 1),
    );
    repo.commit(BOB, "Try observe mode");

    let (run, json) = check_json(&repo, &[]);
    run.assert_code(1);
    let title = json["title"].as_str().unwrap();
    assert!(
        title.starts_with("Proposed policy is invalid: .github/warrant.yml:2:7: mode:"),
        "{run}"
    );
    assert_eq!(json["proposed"][0]["errors"][0]["line"], 2);
}

#[test]
fn a_range_that_relaxes_the_policy_says_so() {
    let repo = repo_with_policy();
    repo.write(
        ".github/warrant.yml",
        &POLICY.replace("policy_file:\n  approvers: [\"octo-org/admins\"]\n", ""),
    );
    repo.commit(BOB, "Stop asking admins for policy changes");

    let (run, json) = check_json(&repo, &[]);
    let differences = &json["proposed"][0]["differences"];
    assert_eq!(differences[0]["key"], "policy_file.approvers", "{run}");
    assert_eq!(differences[0]["effect"], "relaxed");
    let markdown = check(&repo, &["--format", "markdown"]);
    assert!(
        markdown
            .stdout
            .contains("- **relaxed** `policy_file.approvers`: `octo-org/admins` removed"),
        "{markdown}"
    );
}
