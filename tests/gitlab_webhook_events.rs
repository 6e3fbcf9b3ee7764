//! Every real GitLab `Merge Request Hook` and `Push Hook` example parses,
//! and variants built from them parse to the actions Warrant acts on.
//!
//! The payloads are GitLab's documented examples, kept outside the
//! repository in `shared/fixtures/gitlab-webhooks` beside the checkout (a
//! git worktree one level deeper finds the same folder further up). Their
//! README maps each file to its `X-Gitlab-Event` header.

use std::path::{Path, PathBuf};

use serde_json::Value;
use warrant::forge::gitlab::webhook::{GitlabEvent, MergeRequestAction, parse};

/// `shared/fixtures/gitlab-webhooks` in the nearest folder above the
/// checkout that has one.
fn fixtures() -> PathBuf {
    const FIXTURES: &str = "shared/fixtures/gitlab-webhooks";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()))
}

/// The `X-Gitlab-Event` header each example was sent with, by its
/// `object_kind`; `None` for kinds Warrant does not read.
fn header_for(payload: &Value) -> Option<&'static str> {
    match payload["object_kind"].as_str()? {
        "merge_request" => Some("Merge Request Hook"),
        "push" => Some("Push Hook"),
        _ => None,
    }
}

/// Every example whose kind Warrant reads, with its header.
fn examples() -> Vec<(PathBuf, &'static str, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(header) = header_for(&value) {
            found.push((path, header, bytes));
        }
    }
    found
}

#[test]
fn every_merge_request_and_push_example_parses() {
    let examples = examples();
    let headers: Vec<_> = examples.iter().map(|(_, header, _)| *header).collect();
    assert!(headers.contains(&"Merge Request Hook"), "{headers:?}");
    assert!(headers.contains(&"Push Hook"), "{headers:?}");
    for (path, header, bytes) in examples {
        let event = parse(header, &bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert!(event.is_some(), "{} parsed to nothing", path.display());
    }
}

fn merge_request_example() -> Value {
    let bytes = std::fs::read(fixtures().join("merge_request.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn parse_merge_request(payload: &Value) -> warrant::forge::gitlab::webhook::MergeRequestEvent {
    let bytes = serde_json::to_vec(payload).unwrap();
    match parse("Merge Request Hook", &bytes).unwrap() {
        Some(GitlabEvent::MergeRequest(event)) => event,
        other => panic!("not a merge request event: {other:?}"),
    }
}

#[test]
fn merge_request_example_is_read_in_warrants_terms() {
    let event = parse_merge_request(&merge_request_example());
    assert_eq!(event.action, MergeRequestAction::Open);
    assert_eq!(event.project, "gitlabhq/gitlab-test");
    assert_eq!(event.iid, 1);
    assert_eq!(
        event.head_sha.as_str(),
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    );
    assert_eq!(event.source_branch, "ms-viewport");
    assert_eq!(event.target_branch, "master");
    assert_eq!(event.author_id, Some(51));
    assert_eq!(event.actor.as_deref(), Some("root"));
    assert_eq!(event.merge_commit_sha, None);
}

#[test]
fn merge_request_example_variants_parse_to_their_actions() {
    for (action, expected) in [
        ("close", MergeRequestAction::Close),
        ("reopen", MergeRequestAction::Reopen),
        ("approved", MergeRequestAction::Approved),
        ("unapproved", MergeRequestAction::Unapproved),
        ("approval", MergeRequestAction::Approval),
        ("unapproval", MergeRequestAction::Unapproval),
        ("update", MergeRequestAction::Update),
    ] {
        let mut payload = merge_request_example();
        payload["object_attributes"]["action"] = action.into();
        assert_eq!(parse_merge_request(&payload).action, expected, "{action}");
    }
}

#[test]
fn merge_request_example_updated_with_oldrev_has_new_commits() {
    let mut payload = merge_request_example();
    payload["object_attributes"]["action"] = "update".into();
    payload["object_attributes"]["oldrev"] = "95790bf891e76fee5e1747ab589903a6a1f80f22".into();
    assert_eq!(
        parse_merge_request(&payload).action,
        MergeRequestAction::NewCommits
    );
}

#[test]
fn merge_request_example_merged_carries_its_merge_commit() {
    let mut payload = merge_request_example();
    payload["object_attributes"]["action"] = "merge".into();
    payload["object_attributes"]["state"] = "merged".into();
    payload["object_attributes"]["merge_commit_sha"] =
        "0123456789abcdef0123456789abcdef01234567".into();
    let event = parse_merge_request(&payload);
    assert_eq!(event.action, MergeRequestAction::Merge);
    assert_eq!(
        event.merge_commit_sha.map(|sha| sha.as_str().to_owned()),
        Some("0123456789abcdef0123456789abcdef01234567".to_owned())
    );
}

fn push_example() -> Value {
    let bytes = std::fs::read(fixtures().join("push.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn parse_push(payload: &Value) -> GitlabEvent {
    let bytes = serde_json::to_vec(payload).unwrap();
    parse("Push Hook", &bytes).unwrap().expect("a push event")
}

#[test]
fn push_example_is_read_and_needs_processing() {
    let event = parse_push(&push_example());
    let GitlabEvent::Push(push) = &event else {
        panic!("not a push: {event:?}")
    };
    assert_eq!(push.project, "mike/diaspora");
    assert_eq!(push.push.git_ref, "refs/heads/master");
    assert!(push.push.is_to_default_branch());
    assert_eq!(push.push.pusher.as_deref(), Some("jsmith"));
    assert!(push.push.changed_paths.contains(&"CHANGELOG".to_owned()));
    assert!(
        event.needs_processing(),
        "commits on the default branch may be an agent's"
    );
}

#[test]
fn push_example_changing_the_policy_needs_processing() {
    let mut payload = push_example();
    payload["commits"][0]["modified"] = serde_json::json!([".gitlab/warrant.yml"]);
    assert!(parse_push(&payload).needs_processing());
    payload["ref"] = "refs/heads/feature".into();
    assert!(!parse_push(&payload).needs_processing());
}
