//! Real GitHub REST responses, shared in `../shared/fixtures/github-api/`
//! (never copied here), read with the client's own private structs: if
//! GitHub's shapes and ours drift apart, this says so.

use std::path::PathBuf;

use serde::de::DeserializeOwned;

use super::checks::{CheckRunList, CheckRunReply, ReviewReply};
use super::client::TokenReply;
use super::pulls::RestFile;
use super::teams::MemberNode;

fn fixture<T: DeserializeOwned>(name: &str) -> T {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The main checkout has `../shared`; a worktree under `wt/` one more level.
    let dir = [
        "../shared/fixtures/github-api",
        "../../shared/fixtures/github-api",
    ]
    .iter()
    .map(|d| root.join(d))
    .find(|d| d.is_dir())
    .expect("the shared github-api fixtures");
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn an_installation_token_reply_is_read() {
    let token: TokenReply = fixture("apps_create_installation_access_token.json");
    assert!(token.token.starts_with("ghs_"));
    assert_eq!(token.expires_at.to_rfc3339(), "2024-11-25T01:00:02+00:00");
}

#[test]
fn check_runs_are_read() {
    let created: CheckRunReply = fixture("checks_create.json");
    assert_eq!(
        (created.id, created.name.as_str()),
        (1296027873, "completed_check_run")
    );
    let list: CheckRunList = fixture("checks_list_for_ref.json");
    assert_eq!(list.check_runs.len(), 2);
}

#[test]
fn reviews_are_read() {
    let review: ReviewReply = fixture("pulls_get_review.json");
    assert_eq!(review.id, 80);
    let reviews: Vec<ReviewReply> = fixture("pulls_list_reviews.json");
    assert!(reviews.iter().any(|r| r.state == "APPROVED"));
}

#[test]
fn pull_request_files_are_read() {
    let files: Vec<RestFile> = fixture("pulls_list_files.json");
    assert_eq!(files.len(), 45);
    assert!(files.iter().all(|f| f.previous_filename.is_none()));
}

#[test]
fn team_members_are_read() {
    let members: Vec<MemberNode> = fixture("teams_list_members.json");
    assert_eq!(members[0].login, "octocat");
}

#[test]
fn pulls_of_a_commit_are_read() {
    // `GET /repos/{o}/{r}/commits/{sha}/pulls` answers pull requests in
    // the shape of `GET /repos/{o}/{r}/pulls`.
    use super::associations::AssociatedPull;
    use crate::forge::push::AssociatedChange;
    let pulls: Vec<AssociatedPull> = fixture("pulls_list.json");
    let changes: Vec<AssociatedChange> = pulls.into_iter().map(Into::into).collect();
    assert_eq!(
        changes,
        [AssociatedChange {
            number: 1347,
            merged: true
        }]
    );
}
