//! GitLab's documented API responses, shared in
//! `../shared/fixtures/gitlab-api/` (never copied here), read with the
//! client's own private structs: if GitLab's shapes and ours drift apart,
//! this says so.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::client::UserRef;
use super::members::Member;
use super::merge_requests::{DiffReply, FileReply};

fn fixture<T: DeserializeOwned>(name: &str) -> T {
    const FIXTURES: &str = "shared/fixtures/gitlab-api";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The main checkout has `../shared`; a worktree under `wt/` one more level.
    let dir = checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()));
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn diffs_are_read() {
    let diffs: Vec<DiffReply> = fixture("merge_request_diffs.json");
    let paths: Vec<_> = diffs.iter().map(|d| d.new_path.as_str()).collect();
    assert_eq!(paths, ["README", "VERSION"]);
    assert!(diffs.iter().all(|d| !d.renamed_file && !d.deleted_file));
}

#[test]
fn a_repository_file_is_read() {
    // The documented content is shortened and not valid base64; only the
    // shape is checked.
    let file: FileReply = fixture("repository_file.json");
    assert_eq!(file.encoding, "base64");
    assert_eq!(file.blob_id, "79f7bbd25901e8334750839545a9bd021f0e4c83");
}

#[test]
fn a_commit_status_reply_carries_its_author() {
    #[derive(serde::Deserialize)]
    struct StatusReply {
        author: UserRef,
        name: String,
        status: String,
    }
    let status: StatusReply = fixture("commit_status.json");
    assert_eq!(status.author.username, "thedude");
    assert_eq!(
        (status.name.as_str(), status.status.as_str()),
        ("default", "success")
    );
}

#[test]
fn a_member_is_read_from_an_author_shaped_user() {
    // The members API adds `access_level` to the user object.
    let mut user: serde_json::Value = fixture("merge_request.json");
    user["author"]["access_level"] = 40.into();
    let member: Member = serde_json::from_value(user["author"].clone()).unwrap();
    assert_eq!(member.username, "marcel.amirault");
    assert_eq!(member.state.as_deref(), Some("active"));
}

#[test]
fn merge_requests_of_a_commit_are_read() {
    // `GET /projects/:id/repository/commits/:sha/merge_requests` answers
    // merge requests in the shape of `GET .../merge_requests/:iid`.
    use super::associations::AssociatedMergeRequest;
    use crate::forge::push::AssociatedChange;
    let mr: AssociatedMergeRequest = fixture("merge_request.json");
    assert_eq!(
        AssociatedChange::from(mr),
        AssociatedChange {
            number: 133,
            merged: false
        }
    );
}
