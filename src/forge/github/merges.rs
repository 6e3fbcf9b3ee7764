//! How a pull request was merged, for its rollback reference. GitHub's
//! `closed` event names the merge commit but not the method, so Warrant
//! reads the commit (one request per merged pull request, not per
//! evaluation) and infers it:
//!
//! - two parents: a merge commit, reverted with `git revert -m 1 <sha>`;
//! - one parent and a pull request of one commit: squash and rebase leave
//!   the same single commit, reverted with `git revert <sha>`: `squash`;
//! - one parent, several commits: squashing writes one commit whose title
//!   ends with `(#<number>)` by default; otherwise the commits were
//!   rebased and the merge commit is the last of them: `rebase`.

use reqwest::Method;
use serde::Deserialize;

use super::client::{GithubClient, GithubError, InstallationId};
use crate::ids::CommitSha;

/// How a pull request reached its base branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMethod {
    Merge,
    Squash,
    Rebase,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        }
    }

    /// The method given a merge commit with `parents` parents and
    /// `message`, for pull request `number` of `commits` commits.
    pub fn infer(parents: usize, message: &str, number: u64, commits: Option<u64>) -> MergeMethod {
        if parents >= 2 {
            return MergeMethod::Merge;
        }
        let title = message.lines().next().unwrap_or_default().trim_end();
        if commits.is_some_and(|n| n > 1) && !title.ends_with(&format!("(#{number})")) {
            MergeMethod::Rebase
        } else {
            MergeMethod::Squash
        }
    }
}

/// A commit as `GET /repos/{o}/{r}/commits/{sha}` returns it, in part.
#[derive(Debug, Deserialize)]
struct CommitReply {
    parents: Vec<serde_json::Value>,
    commit: CommitDetail,
}

#[derive(Debug, Deserialize)]
struct CommitDetail {
    message: String,
}

impl GithubClient {
    /// How the pull request `number` was merged into `sha`.
    pub async fn merge_method(
        &self,
        installation: InstallationId,
        repo: &str,
        sha: &CommitSha,
        number: u64,
        commits: Option<u64>,
    ) -> Result<MergeMethod, GithubError> {
        let path = format!("/repos/{repo}/commits/{}", sha.as_str());
        let reply: CommitReply = self.rest(installation, Method::GET, &path, None).await?;
        Ok(MergeMethod::infer(
            reply.parents.len(),
            &reply.commit.message,
            number,
            commits,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_follows_from_parents_commits_and_title() {
        use MergeMethod::*;
        assert_eq!(
            MergeMethod::infer(2, "Merge pull request #7 from a/b", 7, Some(3)),
            Merge
        );
        assert_eq!(
            MergeMethod::infer(1, "Add export (#7)\n\n* one\n* two", 7, Some(2)),
            Squash
        );
        assert_eq!(MergeMethod::infer(1, "Add export", 7, Some(1)), Squash);
        assert_eq!(MergeMethod::infer(1, "Second step", 7, Some(2)), Rebase);
        assert_eq!(
            MergeMethod::infer(1, "Fix (#8)", 7, Some(2)),
            Rebase,
            "another pull request's number"
        );
        assert_eq!(
            MergeMethod::infer(1, "Anything", 7, None),
            Squash,
            "unknown count: one commit to revert"
        );
    }
}
