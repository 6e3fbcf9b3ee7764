//! What GitHub's and GitLab's push events share: each lists its commits
//! (identity, message, and added, modified and removed paths). Warrant
//! keeps every push to the default branch that lists commits: its agent
//! commits may have bypassed review (`dev.warrant.push.unreviewed`), and it
//! may change a policy file.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::ids::CommitSha;

/// A pushed commit as both forges list it.
#[derive(Deserialize)]
pub(crate) struct PushCommit {
    id: CommitSha,
    #[serde(default)]
    message: String,
    /// The commit's page on the forge.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    author: Option<PushPerson>,
    /// GitHub's; GitLab lists the author only.
    #[serde(default)]
    committer: Option<PushPerson>,
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

/// A commit's author or committer as a push lists it: what git recorded,
/// and on GitHub the account the address is linked to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPerson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    /// The GitHub login the forge linked the address to, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A commit of a push, in Warrant's terms: what identifies an agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushedCommit {
    pub sha: CommitSha,
    pub author: PushPerson,
    /// The author again when the forge names no committer (GitLab).
    pub committer: PushPerson,
    pub message: String,
    /// The commit's page on the forge, as the push names it.
    pub url: Option<String>,
}

/// The listed commits, and every path they add, modify or remove, sorted,
/// without repeats.
pub(crate) fn read_commits(
    commits: impl IntoIterator<Item = PushCommit>,
) -> (Vec<PushedCommit>, Vec<String>) {
    let mut paths = Vec::new();
    let mut listed = Vec::new();
    for c in commits {
        paths.extend(c.added.into_iter().chain(c.modified).chain(c.removed));
        let author = c.author.unwrap_or_default();
        listed.push(PushedCommit {
            sha: c.id,
            committer: c.committer.unwrap_or_else(|| author.clone()),
            author,
            message: c.message,
            url: c.url,
        });
    }
    paths.sort();
    paths.dedup();
    (listed, paths)
}

/// Whether a push is worth storing, as the webhook door reads it (the
/// commits' contents skipped unread, `IgnoredAny`): to `default_branch`,
/// listing commits. A push that lists none (a deleted branch, a force push
/// that only drops commits) or goes elsewhere changes nothing Warrant
/// audits.
pub(crate) fn push_worth_storing(
    git_ref: &str,
    commits: Option<&[IgnoredAny]>,
    default_branch: &str,
) -> bool {
    is_default_branch(git_ref, default_branch) && commits.is_some_and(|c| !c.is_empty())
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
    /// The listed commits, oldest first (as many as the forge lists).
    pub commits: Vec<PushedCommit>,
}

impl Push {
    /// Whether the push is to the default branch, where the policy in
    /// force lives.
    pub fn is_to_default_branch(&self) -> bool {
        is_default_branch(&self.git_ref, &self.default_branch)
    }

    /// Whether the worker has anything to do with the push: it is to the
    /// default branch and lists commits (which may be an agent's that
    /// bypassed review, or change a policy).
    pub fn needs_processing(&self) -> bool {
        self.is_to_default_branch() && !self.commits.is_empty()
    }

    /// Whether the push created the branch (nothing was there before).
    pub fn creates_branch(&self) -> bool {
        is_zero(&self.before)
    }

    /// Whether the push deleted the branch (nothing to read at `after`).
    pub fn deletes_branch(&self) -> bool {
        is_zero(&self.after)
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

fn is_zero(sha: &CommitSha) -> bool {
    sha.as_str().bytes().all(|b| b == b'0')
}

/// A change the forge associates with a commit (GitHub: the pull requests
/// of `GET /repos/{o}/{r}/commits/{sha}/pulls`; GitLab: the merge requests
/// of `GET /projects/:id/repository/commits/:sha/merge_requests`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociatedChange {
    pub number: u64,
    /// Whether it was merged: the commit then reached its base by that
    /// merge (its own commit, the merge commit, a squash or a rebase).
    pub merged: bool,
}

#[cfg(test)]
#[path = "push_tests.rs"]
mod tests;
