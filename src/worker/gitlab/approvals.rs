//! GitLab's approvals as reviews: GitLab lists who approved a merge
//! request but not on which commit, so each approval is taken as given on
//! the head Warrant saw it given on (`approvals_seen`).

use std::collections::HashMap;

use chrono::Utc;

use crate::engine::{Review, ReviewState};
use crate::forge::gitlab::merge_requests::MergeRequestSnapshot;
use crate::ids::CommitSha;
use crate::store::approvals::SeenApproval;

/// The commit an approval is taken as given on when Warrant did not see it
/// given: none, so that `stale_on_push` never counts it on the head.
const UNSEEN: &str = "0000000000000000000000000000000000000000";

/// Each listed approval as a review on the commit it was seen given on.
pub(super) fn reviews(mr: &MergeRequestSnapshot, seen: &[SeenApproval]) -> Vec<Review> {
    let seen: HashMap<&str, &SeenApproval> = seen
        .iter()
        .filter(|s| s.approved)
        .map(|s| (s.approver.as_str(), s))
        .collect();
    mr.approvals
        .iter()
        .map(|approval| {
            let key = approval.user.login.key();
            let witnessed = seen.get(key.as_str());
            let commit = witnessed
                .and_then(|s| CommitSha::parse(&s.head_sha).ok())
                .unwrap_or_else(|| CommitSha::parse(UNSEEN).expect("a valid sha"));
            Review {
                id: None,
                reviewer: approval.user.clone(),
                state: ReviewState::Approved,
                commit_sha: commit,
                submitted_at: witnessed
                    .map(|s| s.at)
                    .or(approval.approved_at)
                    .unwrap_or_else(Utc::now),
            }
        })
        .collect()
}
