//! What GitHub's and GitLab's push events share: each lists its commits'
//! added, modified and removed paths, and Warrant cares about a push only
//! when it changes a policy file on the default branch.

use serde::Deserialize;

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

/// The methods both forges' push events answer, written once: `$event`
/// has the fields `git_ref`, `default_branch` and `changed_paths`, and
/// `$policy_paths` are where its forge keeps the policy.
macro_rules! push_event_methods {
    ($event:ty, $policy_paths:expr) => {
        impl $event {
            /// Whether the push is to the default branch, where the policy
            /// in force lives.
            pub fn is_to_default_branch(&self) -> bool {
                $crate::forge::push::is_default_branch(&self.git_ref, &self.default_branch)
            }

            /// Whether the push changes one of the policy files on the
            /// default branch: an event for the audit trail.
            pub fn changes_policy_on_default_branch(&self) -> bool {
                $crate::forge::push::changes_policy(
                    &self.git_ref,
                    &self.default_branch,
                    &self.changed_paths,
                    $policy_paths,
                )
            }
        }
    };
}
pub(crate) use push_event_methods;
