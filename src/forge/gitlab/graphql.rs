//! GitLab's GraphQL API (`POST /api/graphql`), for what it serves in one
//! request: a merge request with its author, assignees and approvers (bot
//! flags included), its commits, and the policy and CODEOWNERS blobs at
//! the base. The changed files stay on REST (`diffs`): GraphQL lists a
//! merge request's paths (`diffStats`) without the old path of a rename.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::{GitlabClient, GitlabError};

/// The merge request, its first 100 commits, and (when `$blobs`) the
/// files at `$ref` among `$paths` with the commit `$ref` names (a guess of
/// the base: the last evaluation's, or `HEAD`, the default branch); when
/// `$atHead`, the same files at `$head`, the head the webhook named, which
/// are the base's when the merge request does not change them.
pub(crate) const MERGE_REQUEST_QUERY: &str = "query WarrantMergeRequest($project: ID!, $iid: String!, $ref: String!, $head: String!, $paths: [String!]!, $blobs: Boolean!, $atHead: Boolean!) {
  project(fullPath: $project) {
    mergeRequest(iid: $iid) {
      iid title description state draft sourceBranch targetBranch webUrl
      diffRefs { baseSha headSha }
      diffStatsSummary { fileCount }
      author { id username bot }
      assignees { nodes { id username bot } }
      approvedBy { nodes { id username bot } }
      commits(first: 100) {
        pageInfo { hasNextPage endCursor }
        nodes { sha message authorName authorEmail committerName committerEmail }
      }
    }
    repository @include(if: $blobs) {
      tree(ref: $ref) { lastCommit { sha } }
      blobs(ref: $ref, paths: $paths) { nodes { path oid rawTextBlob } }
      headBlobs: blobs(ref: $head, paths: $paths) @include(if: $atHead) { nodes { path oid rawTextBlob } }
    }
  }
}";

/// The next 100 commits after `$after`.
pub(crate) const COMMITS_QUERY: &str =
    "query WarrantCommits($project: ID!, $iid: String!, $after: String!) {
  project(fullPath: $project) {
    mergeRequest(iid: $iid) {
      commits(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { sha message authorName authorEmail committerName committerEmail }
      }
    }
  }
}";

/// The files at `$ref` among `$paths`: the base, when the merge request
/// query guessed it wrong.
pub(crate) const BLOBS_QUERY: &str =
    "query WarrantBlobs($project: ID!, $ref: String!, $paths: [String!]!) {
  project(fullPath: $project) {
    repository {
      blobs(ref: $ref, paths: $paths) { nodes { path oid rawTextBlob } }
    }
  }
}";

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
}

/// `data.project`, present or not.
#[derive(Deserialize)]
pub(crate) struct ProjectData<T> {
    pub project: Option<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProjectReply {
    pub merge_request: Option<MergeRequestNode>,
    #[serde(default)]
    pub repository: Option<RepositoryReply>,
}

#[derive(Deserialize)]
pub(crate) struct RepositoryReply {
    /// The tree at the ref asked: its commit says which commit the blobs
    /// were read at. `null` when the ref names nothing.
    #[serde(default)]
    pub tree: Option<TreeNode>,
    pub blobs: Nodes<BlobNode>,
    /// The same files at the head, when asked.
    #[serde(default, rename = "headBlobs")]
    pub head_blobs: Option<Nodes<BlobNode>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TreeNode {
    #[serde(default)]
    pub last_commit: Option<ShaNode>,
}

#[derive(Deserialize)]
pub(crate) struct ShaNode {
    pub sha: String,
}

#[derive(Deserialize)]
pub(crate) struct Nodes<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlobNode {
    pub path: String,
    pub oid: String,
    /// `null` for a binary file.
    pub raw_text_blob: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MergeRequestNode {
    pub iid: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: bool,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub web_url: Option<String>,
    /// `null` while GitLab prepares a new merge request.
    pub diff_refs: Option<DiffRefsNode>,
    #[serde(default)]
    pub diff_stats_summary: Option<DiffStatsSummary>,
    pub author: Option<UserNode>,
    pub assignees: Nodes<UserNode>,
    pub approved_by: Nodes<UserNode>,
    pub commits: CommitPage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffRefsNode {
    pub base_sha: Option<String>,
    pub head_sha: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DiffStatsSummary {
    /// How many files the merge request changes, past GitLab's diff limits.
    pub file_count: usize,
}

/// A user as GraphQL gives it: a global id, and the `bot` flag GitLab
/// sets for access token bots and service accounts.
#[derive(Clone, Deserialize)]
pub(crate) struct UserNode {
    /// `gid://gitlab/User/<id>`.
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub bot: bool,
}

impl UserNode {
    /// The numeric id in the global id.
    pub fn numeric_id(&self) -> Option<u64> {
        self.id.rsplit('/').next()?.parse().ok()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitPage {
    pub page_info: PageInfo,
    pub nodes: Vec<CommitNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitNode {
    pub sha: String,
    /// The full message, trailers included.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub author_name: Option<String>,
    #[serde(default)]
    pub author_email: Option<String>,
    #[serde(default)]
    pub committer_name: Option<String>,
    #[serde(default)]
    pub committer_email: Option<String>,
}

/// The commits page of `WarrantCommits`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommitsProject {
    pub merge_request: Option<CommitsOnly>,
}

#[derive(Deserialize)]
pub(crate) struct CommitsOnly {
    pub commits: CommitPage,
}

/// The repository of `WarrantBlobs`.
#[derive(Deserialize)]
pub(crate) struct BlobsProject {
    pub repository: Option<RepositoryReply>,
}

impl GitlabClient {
    /// One GraphQL query: `data` on success; GitLab's `errors` (answered
    /// with a 200) as an error, named by the operation.
    pub(crate) async fn graphql<T: DeserializeOwned>(
        &self,
        operation: &str,
        query: &str,
        variables: Value,
    ) -> Result<T, GitlabError> {
        let body = json!({ "query": query, "variables": variables });
        let name = format!("graphql {operation}");
        let resp = self.send_graphql(&name, &body).await?;
        let envelope: Envelope<T> = super::client::json(&name, resp).await?;
        if let Some(first) = envelope.errors.first() {
            return Err(GitlabError::decode(&name, &first.message));
        }
        envelope
            .data
            .ok_or_else(|| GitlabError::decode(&name, "no `data` in the answer"))
    }
}
