//! A merge queue, as a merge group's check reads it: which pull requests
//! the group holds, and the policy and CODEOWNERS at the group's base
//! commit, in one GraphQL query.
//!
//! GitHub's `merge_group` webhook names the group's head and base commits
//! and, in its head ref (`gh-readonly-queue/{base}/pr-{number}-{sha}`), the
//! last pull request of the group, but not the others. A merge queue builds
//! each entry's commit on the entries ahead of it, so a group holds every
//! entry of the queue up to the one whose head commit is the group's:
//! `mergeQueue.entries` lists them with their positions.

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{GithubClient, GithubError, InstallationId};
use super::graphql::{ORG_FIELDS, ORG_PARAMS, base_blobs};
use super::pulls::{base_blob_vars, base_files};
use crate::ids::CommitSha;

pub use crate::forge::PolicyFile;

/// The operation name; the fake GitHub recognises the query by it.
pub const MERGE_QUEUE_OPERATION: &str = "WarrantMergeQueue";

/// GitHub caps a merge queue's group size at 100 entries, and so does the
/// page: a queue longer than that is listed in part, and a group whose
/// head is past the page is not found (the check then fails closed).
const ENTRIES: u32 = 100;

/// One entry of a merge queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueEntry {
    /// 1 is next to merge.
    pub position: u64,
    /// The commit the queue built for this entry: the base, the entries
    /// ahead and this pull request merged. `None` before it is built.
    pub head_commit: Option<CommitSha>,
    /// The pull request and its own head commit; `None` when the app
    /// cannot see it (a group holding it cannot be decided).
    pub pull: Option<QueuedPull>,
}

/// The pull request of a queue entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedPull {
    pub number: u64,
    pub head: CommitSha,
}

/// What a merge group's check reads.
#[derive(Clone, Debug)]
pub struct MergeQueueSnapshot {
    /// By position; empty when the branch has no queue.
    pub entries: Vec<QueueEntry>,
    /// The policy file at the group's base commit, if there is one.
    pub policy: Option<PolicyFile>,
    /// The organisation policy, read in the same query.
    pub org_policy: Option<crate::forge::OrgPolicyFile>,
    /// The CODEOWNERS file there, if there is one.
    pub codeowners: Option<PolicyFile>,
}

impl MergeQueueSnapshot {
    /// The pull requests of the group whose head commit is `head`: every
    /// entry up to the one the queue built `head` for, in queue order.
    /// `last`, the pull request the group's head ref names, must be that
    /// entry. `None` when the queue does not show the group (it was
    /// dequeued, or the answer disagrees with the webhook): the group
    /// cannot be decided.
    pub fn group(&self, head: &CommitSha, last: Option<u64>) -> Option<Vec<&QueueEntry>> {
        let end = self
            .entries
            .iter()
            .position(|e| e.head_commit.as_ref().is_some_and(|c| c.matches(head)))?;
        let entry = &self.entries[end];
        if last.is_some_and(|n| entry.pull.as_ref().is_none_or(|p| p.number != n)) {
            return None;
        }
        Some(self.entries[..=end].iter().collect())
    }
}

/// The query: the queue's entries and the policy and CODEOWNERS blobs at
/// the base (one alias per candidate path, as in the pull request's query).
pub fn merge_queue_query() -> String {
    let (params, fields) = base_blobs();
    format!(
        "query {MERGE_QUEUE_OPERATION}($owner: String!, $name: String!, $branch: String!{params}{ORG_PARAMS}) {{
{ORG_FIELDS}  repository(owner: $owner, name: $name) {{
{fields}    mergeQueue(branch: $branch) {{
      entries(first: {ENTRIES}) {{
        nodes {{ position headCommit {{ oid }} pullRequest {{ number headRefOid }} }}
      }}
    }}
  }}
}}"
    )
}

#[derive(Deserialize)]
struct Data {
    repository: Option<Repository>,
    #[serde(rename = "orgPolicy", default)]
    org_policy: Option<Value>,
}

#[derive(Deserialize)]
struct Repository {
    #[serde(rename = "mergeQueue")]
    merge_queue: Option<Queue>,
    /// `policyN` aliases.
    #[serde(flatten)]
    policies: std::collections::HashMap<String, Value>,
}

#[derive(Deserialize)]
struct Queue {
    entries: Nodes,
}

#[derive(Deserialize)]
struct Nodes {
    nodes: Vec<EntryNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryNode {
    position: u64,
    head_commit: Option<Oid>,
    /// `None` when the pull request cannot be seen.
    pull_request: Option<PullRequestNode>,
}

#[derive(Deserialize)]
struct Oid {
    oid: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullRequestNode {
    number: u64,
    head_ref_oid: String,
}

impl GithubClient {
    /// The merge queue of `branch` in `repo` (`owner/name`) and the policy
    /// at `base_sha`, in one query.
    pub async fn merge_queue(
        &self,
        installation: InstallationId,
        repo: &str,
        branch: &str,
        base_sha: &CommitSha,
    ) -> Result<MergeQueueSnapshot, GithubError> {
        let (owner, name) = repo
            .split_once('/')
            .ok_or_else(|| GithubError::Invalid(format!("`{repo}` is not owner/name")))?;
        let mut vars = json!({ "owner": owner, "name": name, "branch": branch });
        base_blob_vars(&mut vars, base_sha);
        self.org_vars(&mut vars);
        let data: Data = self
            .graphql(installation, &merge_queue_query(), vars)
            .await?;
        let org_policy = self.org_policy_of(owner, data.org_policy.as_ref());
        let repository = data
            .repository
            .ok_or_else(|| GithubError::NotFound(format!("repository {repo}")))?;
        let mut entries = Vec::new();
        for node in repository
            .merge_queue
            .map(|q| q.entries.nodes)
            .unwrap_or_default()
        {
            let pull = node
                .pull_request
                .map(|pr| -> Result<QueuedPull, GithubError> {
                    Ok(QueuedPull {
                        number: pr.number,
                        head: CommitSha::parse(&pr.head_ref_oid).map_err(|e| {
                            GithubError::Decode {
                                path: "/graphql".into(),
                                message: e.to_string(),
                            }
                        })?,
                    })
                })
                .transpose()?;
            entries.push(QueueEntry {
                position: node.position,
                head_commit: node.head_commit.and_then(|c| CommitSha::parse(&c.oid).ok()),
                pull,
            });
        }
        entries.sort_by_key(|e| e.position);
        let (policy, codeowners) = base_files(&repository.policies);
        Ok(MergeQueueSnapshot {
            entries,
            policy,
            codeowners,
            org_policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> CommitSha {
        CommitSha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn entry(position: u64, number: u64, head: char) -> QueueEntry {
        QueueEntry {
            position,
            head_commit: Some(sha(head)),
            pull: Some(QueuedPull {
                number,
                head: sha('f'),
            }),
        }
    }

    fn queue(entries: Vec<QueueEntry>) -> MergeQueueSnapshot {
        MergeQueueSnapshot {
            entries,
            policy: None,
            org_policy: None,
            codeowners: None,
        }
    }

    #[test]
    fn a_group_holds_every_entry_up_to_the_one_built_for_its_head() {
        let q = queue(vec![entry(1, 7, 'a'), entry(2, 9, 'b'), entry(3, 4, 'c')]);
        let numbers = |g: Option<Vec<&QueueEntry>>| {
            g.map(|g| {
                g.iter()
                    .map(|e| e.pull.as_ref().unwrap().number)
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(numbers(q.group(&sha('b'), Some(9))), Some(vec![7, 9]));
        assert_eq!(numbers(q.group(&sha('a'), None)), Some(vec![7]));
        assert_eq!(numbers(q.group(&sha('c'), Some(4))), Some(vec![7, 9, 4]));
    }

    #[test]
    fn a_group_the_queue_does_not_show_as_the_webhook_says_is_not_found() {
        let q = queue(vec![entry(1, 7, 'a'), entry(2, 9, 'b')]);
        // Dequeued since the webhook.
        assert_eq!(q.group(&sha('d'), Some(9)), None);
        // The head ref names another pull request than the queue's entry.
        assert_eq!(q.group(&sha('b'), Some(7)), None);
        // No queue at all.
        assert_eq!(queue(Vec::new()).group(&sha('a'), None), None);
    }

    #[test]
    fn the_query_declares_what_it_uses() {
        let q = merge_queue_query();
        for i in 0..crate::policy::GITHUB_POLICY_PATHS.len() {
            assert!(q.contains(&format!("$policy{i}: String!")));
            assert!(q.contains(&format!("expression: $policy{i}")));
        }
        assert!(q.contains("mergeQueue(branch: $branch)"));
        assert!(q.contains("expression: $codeowners0"));
    }
}
