use serde_json::json;

use super::*;

fn merge_request_payload(action: &str, oldrev: Option<&str>) -> Vec<u8> {
    let mut payload = json!({
        "object_kind": "merge_request",
        "user": {"username": "root"},
        "project": {
            "id": 14,
            "path_with_namespace": "group/sub/project",
            "default_branch": "main"
        },
        "object_attributes": {
            "iid": 7,
            "action": action,
            "source_branch": "feature",
            "target_branch": "main",
            "author_id": 51,
            "draft": false,
            "title": "Add a thing",
            "url": "https://gitlab.example/group/sub/project/-/merge_requests/7",
            "merge_commit_sha": "0123456789abcdef0123456789abcdef01234567",
            "last_commit": {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}
        }
    });
    if let Some(oldrev) = oldrev {
        payload["object_attributes"]["oldrev"] = json!(oldrev);
    }
    serde_json::to_vec(&payload).unwrap()
}

fn merge_request(action: &str, oldrev: Option<&str>) -> Option<MergeRequestEvent> {
    match parse("Merge Request Hook", &merge_request_payload(action, oldrev)).unwrap() {
        Some(GitlabEvent::MergeRequest(event)) => Some(event),
        None => None,
        other => panic!("not a merge request event: {other:?}"),
    }
}

#[test]
fn update_with_oldrev_means_new_commits() {
    let event = merge_request("update", Some("95790bf891e76fee5e1747ab589903a6a1f80f22")).unwrap();
    assert_eq!(event.action, MergeRequestAction::NewCommits);
    assert_eq!(
        merge_request("update", None).unwrap().action,
        MergeRequestAction::Update
    );
}

#[test]
fn merge_request_fields_are_read() {
    let event = merge_request("open", None).unwrap();
    assert_eq!(event.project, "group/sub/project");
    assert_eq!(event.iid, 7);
    assert_eq!(
        event.head_sha.as_str(),
        "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    );
    assert_eq!(
        (event.source_branch.as_str(), event.target_branch.as_str()),
        ("feature", "main")
    );
    assert_eq!(event.author_id, Some(51));
    assert_eq!(event.actor.as_deref(), Some("root"));
}

#[test]
fn merge_commit_is_kept_only_for_a_merge() {
    let merged = merge_request("merge", None).unwrap();
    assert_eq!(
        merged.merge_commit_sha.unwrap().as_str(),
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(merge_request("open", None).unwrap().merge_commit_sha, None);
}

#[test]
fn every_listed_action_is_read() {
    for (gitlab, ours) in [
        ("reopen", MergeRequestAction::Reopen),
        ("approved", MergeRequestAction::Approved),
        ("unapproved", MergeRequestAction::Unapproved),
        ("approval", MergeRequestAction::Approval),
        ("unapproval", MergeRequestAction::Unapproval),
        ("close", MergeRequestAction::Close),
    ] {
        assert_eq!(
            merge_request(gitlab, None).unwrap().action,
            ours,
            "{gitlab}"
        );
    }
}

#[test]
fn unknown_merge_request_action_is_ignored() {
    assert_eq!(merge_request("label_changed", None), None);
}

#[test]
fn unknown_event_is_ignored() {
    assert!(parse("Pipeline Hook", b"{}").unwrap().is_none());
}

#[test]
fn unreadable_merge_request_is_an_error_naming_the_event() {
    let err = parse("Merge Request Hook", b"{}").unwrap_err();
    assert!(err.to_string().contains("Merge Request Hook"), "{err}");
}

fn push_payload(git_ref: &str, modified: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object_kind": "push",
        "ref": git_ref,
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "user_username": "jsmith",
        "project": {"id": 15, "path_with_namespace": "mike/diaspora", "default_branch": "main"},
        "commits": [
            {"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
             "added": ["b.txt"], "modified": [modified], "removed": []},
            {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
             "added": [], "modified": ["b.txt"], "removed": ["a.txt"]}
        ]
    }))
    .unwrap()
}

fn push(git_ref: &str, modified: &str) -> PushEvent {
    match parse("Push Hook", &push_payload(git_ref, modified)).unwrap() {
        Some(GitlabEvent::Push(event)) => event,
        other => panic!("not a push: {other:?}"),
    }
}

#[test]
fn push_paths_are_merged_sorted_and_unique() {
    let event = push("refs/heads/main", "README.md");
    assert_eq!(event.push.changed_paths, ["README.md", "a.txt", "b.txt"]);
    assert_eq!(event.push.pusher.as_deref(), Some("jsmith"));
}

#[test]
fn push_of_policy_to_default_branch_needs_processing() {
    for path in crate::policy::GITLAB_POLICY_PATHS {
        let event = GitlabEvent::Push(push("refs/heads/main", path));
        assert!(event.needs_processing(), "{path}");
    }
}

#[test]
fn push_elsewhere_needs_no_processing_and_any_to_the_default_branch_does() {
    assert!(!GitlabEvent::Push(push("refs/heads/feature", ".warrant.yml")).needs_processing());
    // Its commits may be an agent's, whatever they touch.
    assert!(GitlabEvent::Push(push("refs/heads/main", "src/lib.rs")).needs_processing());
}
