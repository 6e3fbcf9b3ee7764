//! What GitHub's and GitLab's push events share: each lists its commits'
//! added, modified and removed paths, and Warrant cares about a push only
//! when it changes a policy file on the default branch.

use serde::{Deserialize, Serialize};

use crate::ids::CommitSha;

/// A pushed commit as both forges list it, paths only.
#[derive(Deserialize)]
pub(crate) struct PushCommit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

/// Every path the commits add, modify or remove, sorted, without repeats.
pub(crate) fn changed_paths(commits: impl IntoIterator<Item = PushCommit>) -> Vec<String> {
    let mut paths: Vec<String> = commits
        .into_iter()
        .flat_map(|c| c.added.into_iter().chain(c.modified).chain(c.removed))
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Whether `git_ref` (`refs/heads/<name>`) is the branch `default_branch`,
/// where the policy in force lives.
pub fn is_default_branch(git_ref: &str, default_branch: &str) -> bool {
    git_ref.strip_prefix("refs/heads/") == Some(default_branch)
}

/// Whether a push of `changed_paths` to `git_ref` changes one of
/// `policy_paths` on the default branch: an event for the audit trail.
pub fn changes_policy(
    git_ref: &str,
    default_branch: &str,
    changed_paths: &[String],
    policy_paths: &[&str],
) -> bool {
    is_default_branch(git_ref, default_branch)
        && changed_paths
            .iter()
            .any(|path| policy_paths.contains(&path.as_str()))
}

/// What both forges' push events say of a push, in Warrant's terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Push {
    pub default_branch: String,
    /// The full ref: `refs/heads/main`, `refs/tags/v1`.
    pub git_ref: String,
    /// All zeros when the ref was created.
    pub before: CommitSha,
    /// All zeros when the ref was deleted.
    pub after: CommitSha,
    /// Who pushed: a GitHub login, a GitLab username.
    pub pusher: Option<String>,
    /// Every path added, modified or removed by the listed commits, sorted
    /// and without repeats. The forges list only so many commits (GitHub
    /// 2048, GitLab 20) and none for a force push that only drops commits,
    /// so an empty list does not prove nothing changed.
    pub changed_paths: Vec<String>,
}

impl Push {
    /// Whether the push is to the default branch, where the policy in
    /// force lives.
    pub fn is_to_default_branch(&self) -> bool {
        is_default_branch(&self.git_ref, &self.default_branch)
    }

    /// Whether the push changes a policy file on the default branch: one
    /// of `policy_paths` (its forge's), or `warrant-org.yml` (the
    /// organisation policy, if the repository is the organisation's: the
    /// worker tells).
    pub fn changes_a_policy(&self, policy_paths: &[&str]) -> bool {
        self.changes_policy_on_default_branch(policy_paths)
            || self.changes_policy_on_default_branch(&[crate::policy::ORG_POLICY_FILE])
    }

    /// Whether the push changes one of `policy_paths` (its forge's) on the
    /// default branch: an event for the audit trail.
    pub fn changes_policy_on_default_branch(&self, policy_paths: &[&str]) -> bool {
        changes_policy(
            &self.git_ref,
            &self.default_branch,
            &self.changed_paths,
            policy_paths,
        )
    }
}
