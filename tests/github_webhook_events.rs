//! Every real GitHub payload of the events Warrant acts on parses, and a few
//! parsed events are pinned as snapshots.
//!
//! The payloads are octokit's examples, kept outside the repository in
//! `shared/fixtures/octokit-webhooks` beside the checkout: CI has the
//! checkout at `<x>/main` and `<x>/shared`; a git worktree one level deeper
//! (`<x>/wt/name`) finds the same folder further up.

use std::path::{Path, PathBuf};

// The fixture folders are named after the events Warrant reads.
use warrant::forge::github::webhook::{EVENTS, GithubEvent, parse};

/// `shared/fixtures/octokit-webhooks` in the nearest folder above the
/// checkout that has one.
fn fixtures() -> PathBuf {
    const FIXTURES: &str = "shared/fixtures/octokit-webhooks";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()))
}

fn payload(event: &str, file: &str) -> Vec<u8> {
    let path = fixtures().join(event).join(file);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn parsed(event: &str, file: &str) -> GithubEvent {
    parse(event, &payload(event, file))
        .unwrap()
        .unwrap_or_else(|| panic!("{event}/{file} was ignored"))
}

#[test]
fn every_fixture_of_a_known_event_parses() {
    let mut count = 0;
    for event in EVENTS {
        let dir = fixtures().join(event);
        let entries =
            std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let body = std::fs::read(&path).unwrap();
            if let Err(err) = parse(event, &body) {
                panic!("{}: {err}", path.display());
            }
            count += 1;
        }
    }
    assert!(count > 50, "only {count} fixtures found");
}

#[test]
fn actions_that_cannot_change_a_decision_are_ignored() {
    for (event, file) in [
        ("pull_request", "labeled.payload.json"),
        ("pull_request", "assigned.payload.json"),
        ("check_run", "completed.payload.json"),
        ("check_run", "created.payload.json"),
        ("check_suite", "requested.payload.json"),
        ("check_suite", "completed.payload.json"),
    ] {
        assert_eq!(
            parse(event, &payload(event, file)).unwrap(),
            None,
            "{event}/{file}"
        );
    }
}

#[test]
fn unknown_events_are_ignored_whatever_their_body() {
    assert_eq!(parse("issues", b"not even json").unwrap(), None);
    assert_eq!(parse("", b"{}").unwrap(), None);
}

#[test]
fn a_known_event_with_an_unreadable_payload_is_an_error_naming_it() {
    let err = parse("pull_request", br#"{"action":"opened"}"#).unwrap_err();
    assert!(err.to_string().contains("`pull_request`"), "{err}");
}

#[test]
fn a_merged_pull_request_records_its_merge_commit_and_an_open_one_does_not() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&payload("pull_request", "closed.payload.json")).unwrap();
    body["pull_request"]["merged"] = true.into();
    let GithubEvent::PullRequest(merged) = parse("pull_request", body.to_string().as_bytes())
        .unwrap()
        .unwrap()
    else {
        panic!("not a pull request");
    };
    assert_eq!(
        merged.merge_commit_sha.unwrap().as_str(),
        "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
    );
    let GithubEvent::PullRequest(open) = parsed("pull_request", "opened.payload.json") else {
        panic!("not a pull request");
    };
    assert_eq!(open.merge_commit_sha, None);
}

#[test]
fn a_push_listing_commits_on_the_default_branch_needs_processing() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&payload("push", "with-new-branch.payload.json")).unwrap();
    let GithubEvent::Push(push) = parse("push", body.to_string().as_bytes()).unwrap().unwrap()
    else {
        panic!("not a push");
    };
    assert!(push.push.is_to_default_branch());
    assert!(!push.changes_policy_on_default_branch());
    assert!(
        GithubEvent::Push(push).needs_processing(),
        "its commits may be an agent's"
    );

    body["commits"][0]["modified"] = serde_json::json!([".github/warrant.yml"]);
    let event = parse("push", body.to_string().as_bytes()).unwrap().unwrap();
    assert!(event.needs_processing());

    body["ref"] = "refs/heads/feature".into();
    let event = parse("push", body.to_string().as_bytes()).unwrap().unwrap();
    assert!(
        !event.needs_processing(),
        "a policy change off the default branch"
    );
}

#[test]
fn snapshot_pull_request_synchronize() {
    insta::assert_yaml_snapshot!(parsed("pull_request", "synchronize.payload.json"));
}

#[test]
fn snapshot_review_dismissed() {
    insta::assert_yaml_snapshot!(parsed("pull_request_review", "dismissed.payload.json"));
}

#[test]
fn snapshot_check_run_requested_action() {
    insta::assert_yaml_snapshot!(parsed("check_run", "requested_action.payload.json"));
}

#[test]
fn snapshot_check_suite_rerequested() {
    insta::assert_yaml_snapshot!(parsed("check_suite", "rerequested.payload.json"));
}

#[test]
fn snapshot_push_creating_a_branch() {
    insta::assert_yaml_snapshot!(parsed("push", "with-new-branch.payload.json"));
}

#[test]
fn snapshot_installation_created() {
    insta::assert_yaml_snapshot!(parsed("installation", "created.payload.json"));
}

#[test]
fn snapshot_installation_repositories_added() {
    insta::assert_yaml_snapshot!(parsed("installation_repositories", "added.payload.json"));
}

#[test]
fn snapshot_ping() {
    insta::assert_yaml_snapshot!(parsed("ping", "with-app_id.payload.json"));
}

#[test]
fn snapshot_merge_group_checks_requested() {
    insta::assert_yaml_snapshot!(parsed("merge_group", "checks_requested.payload.json"));
}

#[test]
fn a_merge_group_names_its_base_branch_and_its_last_pull_request() {
    let GithubEvent::MergeGroup(group) = parsed("merge_group", "checks_requested.payload.json")
    else {
        panic!("not a merge group");
    };
    assert_eq!(group.base_branch(), "main");
    // `gh-readonly-queue/main/pr-104-<sha>`: pull request 104 is the last.
    assert_eq!(group.last_pull_request(), Some(104));
}

#[test]
fn a_destroyed_merge_group_keeps_its_reason() {
    let mut body: serde_json::Value =
        serde_json::from_slice(&payload("merge_group", "checks_requested.payload.json")).unwrap();
    body["action"] = "destroyed".into();
    body["reason"] = "dequeued".into();
    let event = parse("merge_group", &serde_json::to_vec(&body).unwrap())
        .unwrap()
        .unwrap();
    let GithubEvent::MergeGroup(group) = event else {
        panic!("not a merge group");
    };
    assert_eq!(
        group.action,
        warrant::forge::github::webhook::MergeGroupAction::Destroyed
    );
    assert_eq!(group.reason.as_deref(), Some("dequeued"));
    // Any other action of the event is not Warrant's.
    body["action"] = "something_new".into();
    assert_eq!(
        parse("merge_group", &serde_json::to_vec(&body).unwrap()).unwrap(),
        None
    );
}
