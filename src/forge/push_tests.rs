//! Push payloads of both forges, from the shared real examples
//! (`../shared/fixtures/`, never copied here), read into [`Push`] and
//! judged by the webhook door.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::forge::github::webhook::{self as github, GithubEvent};
use crate::forge::gitlab::webhook::{self as gitlab, GitlabEvent};

fn fixture(name: &str) -> Value {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The main checkout has `../shared`; a worktree one level more.
    let path: PathBuf = checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/fixtures").join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no shared fixture {name}"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn github_push(payload: &Value) -> Push {
    let bytes = serde_json::to_vec(payload).unwrap();
    match github::parse("push", &bytes).unwrap() {
        Some(GithubEvent::Push(event)) => event.push,
        other => panic!("not a push: {other:?}"),
    }
}

fn gitlab_push(payload: &Value) -> Push {
    let bytes = serde_json::to_vec(payload).unwrap();
    match gitlab::parse("Push Hook", &bytes).unwrap() {
        Some(GitlabEvent::Push(event)) => event.push,
        other => panic!("not a push: {other:?}"),
    }
}

fn github_door(payload: &Value) -> Option<bool> {
    github::worth_storing("push", &serde_json::to_vec(payload).unwrap()).unwrap()
}

fn gitlab_door(payload: &Value) -> Option<bool> {
    gitlab::worth_storing("Push Hook", &serde_json::to_vec(payload).unwrap()).unwrap()
}

#[test]
fn a_github_push_lists_each_commit_with_its_people_and_message() {
    let push = github_push(&fixture(
        "octokit-webhooks/push/with-new-branch.payload.json",
    ));
    assert!(push.is_to_default_branch());
    assert_eq!(push.commits.len(), 1);
    let commit = &push.commits[0];
    assert_eq!(
        commit.sha.as_str(),
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );
    assert_eq!(commit.message, "Initial commit");
    assert_eq!(commit.author.name, "Codertocat");
    assert_eq!(
        commit.author.email,
        "21031067+Codertocat@users.noreply.github.com"
    );
    assert_eq!(commit.author.username.as_deref(), Some("Codertocat"));
    assert_eq!(commit.committer.username.as_deref(), Some("Codertocat"));
    assert_eq!(push.changed_paths, ["README.md"]);
    assert!(push.needs_processing());
}

#[test]
fn a_github_committer_without_a_linked_account_has_no_username() {
    let push = github_push(&fixture(
        "octokit-webhooks/push/with-no-username-committer.payload.json",
    ));
    let commit = &push.commits[0];
    assert_eq!(commit.author.username.as_deref(), Some("Codertocat"));
    assert_eq!(commit.committer.username, None);
    assert_eq!(
        commit.committer.email,
        "21031067+Codertocat@users.noreply.github.com"
    );
}

#[test]
fn a_gitlab_push_lists_each_commit_its_author_also_as_committer() {
    let push = gitlab_push(&fixture("gitlab-webhooks/push.json"));
    assert!(push.is_to_default_branch());
    let shas: Vec<_> = push.commits.iter().map(|c| c.sha.as_str()).collect();
    assert_eq!(
        shas,
        [
            "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
        ]
    );
    let first = &push.commits[0];
    assert_eq!(first.author.name, "Jordi Mallach");
    assert_eq!(first.author.email, "jordi@softcatala.org");
    assert_eq!(first.author.username, None);
    assert_eq!(first.committer, first.author, "GitLab names no committer");
    assert!(first.message.starts_with("Update Catalan translation"));
    assert!(push.needs_processing());
}

#[test]
fn the_door_stores_a_push_to_the_default_branch_that_lists_commits() {
    let branch = fixture("octokit-webhooks/push/with-new-branch.payload.json");
    assert_eq!(github_door(&branch), Some(true));
    let tag = fixture("octokit-webhooks/push/with-installation.payload.json");
    assert_eq!(github_door(&tag), Some(false), "a tag");
    assert!(!github_push(&tag).needs_processing());

    let mut elsewhere = branch.clone();
    elsewhere["ref"] = "refs/heads/feature".into();
    assert_eq!(github_door(&elsewhere), Some(false), "another branch");
    assert!(!github_push(&elsewhere).needs_processing());
    let mut empty = branch;
    empty["commits"] = serde_json::json!([]);
    assert_eq!(github_door(&empty), Some(false), "no commits listed");

    let gitlab = fixture("gitlab-webhooks/push.json");
    assert_eq!(gitlab_door(&gitlab), Some(true));
    let mut elsewhere = gitlab.clone();
    elsewhere["ref"] = "refs/heads/feature".into();
    assert_eq!(gitlab_door(&elsewhere), Some(false));
    let mut deleted = gitlab;
    deleted["commits"] = serde_json::json!([]);
    deleted["after"] = "0000000000000000000000000000000000000000".into();
    assert_eq!(gitlab_door(&deleted), Some(false), "a deleted branch");
}

#[test]
fn a_created_or_deleted_branch_is_told_by_its_zero_sha() {
    let mut push = gitlab_push(&fixture("gitlab-webhooks/push.json"));
    assert!(!push.creates_branch() && !push.deletes_branch());
    push.before = CommitSha::parse(&"0".repeat(40)).unwrap();
    assert!(push.creates_branch());
}
