//! The GraphQL query that fetches everything an evaluation reads about a
//! pull request, and the private structs its answer is read into. Past
//! `pulls.rs` nothing sees these shapes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::codeowners::GITHUB_CODEOWNERS_PATHS;
use crate::policy::GITHUB_POLICY_PATHS;

/// The operation name; the fake GitHub recognises the query by it.
pub const PULL_REQUEST_OPERATION: &str = "WarrantPullRequest";

/// The query. Each connection can be skipped (`@include`) so that a
/// further page asks only for the connections that have more; the policy
/// blobs (one alias per candidate path, `policyN`, read at the base
/// commit), the CODEOWNERS blobs likewise (`codeownersN`: a policy may
/// name `codeowners`, and reading them here costs no request) and the pull
/// request's own fields come with every page because they are cheap. `teams` teams are resolved in the first page too
/// (aliases `tN`), so that an evaluation needs no separate team query.
pub fn pull_request_query(teams: usize) -> String {
    // GraphQL refuses a declared variable that the query does not use.
    let team_params = match teams {
        0 => String::new(),
        n => format!(", $teams: Boolean!{}", super::teams::team_params(n)),
    };
    let team_fields = super::teams::team_fields(teams, " @include(if: $teams)");
    let (policy_params, policy_fields) = base_blobs();
    format!(
        "query {PULL_REQUEST_OPERATION}($owner: String!, $name: String!, $number: Int!{policy_params},
  $commits: Boolean!, $commitsAfter: String, $files: Boolean!, $filesAfter: String,
  $reviews: Boolean!, $reviewsAfter: String{team_params}{ORG_PARAMS}) {{
{team_fields}{ORG_FIELDS}  repository(owner: $owner, name: $name) {{
{policy_fields}    pullRequest(number: $number) {{
      number title body isDraft changedFiles baseRefName headRefName baseRefOid headRefOid
      author {{ {ACTOR} }}
      assignees(first: 100) {{ nodes {{ __typename login databaseId }} }}
      commits(first: 100, after: $commitsAfter) @include(if: $commits) {{
        totalCount pageInfo {{ hasNextPage endCursor }}
        nodes {{ commit {{ oid message
          author {{ name email user {{ __typename login databaseId }} }}
          committer {{ name email user {{ __typename login databaseId }} }} }} }}
      }}
      files(first: 100, after: $filesAfter) @include(if: $files) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ path changeType }}
      }}
      reviews(first: 100, after: $reviewsAfter) @include(if: $reviews) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ databaseId state submittedAt commit {{ oid }} author {{ {ACTOR} }} }}
      }}
    }}
  }}
}}"
    )
}

/// The organisation policy, read in the same query as the change: the
/// blob at the head of the default branch of the organisation's
/// repository (`$orgPolicy` is `HEAD:warrant-org.yml`). A repository that
/// does not exist, or that the installation cannot see, answers `null`
/// with a `NOT_FOUND` error, which the client takes for "no organisation
/// policy".
pub(crate) const ORG_PARAMS: &str = ", $orgRepository: String!, $orgPolicy: String!";
pub(crate) const ORG_FIELDS: &str = "  orgPolicy: repository(owner: $owner, name: $orgRepository) {
    object(expression: $orgPolicy) { ... on Blob { oid text isTruncated } }
  }
";

/// `, $policyN: String!` for each of `n` candidate paths.
/// The parameters and fields of every file an evaluation reads at the
/// base commit: the policy (`policyN`) and CODEOWNERS (`codeownersN`), one
/// alias per candidate path, set by `pulls::base_blob_vars`.
pub(crate) fn base_blobs() -> (String, String) {
    let params = blob_params("policy", GITHUB_POLICY_PATHS.len())
        + &blob_params("codeowners", GITHUB_CODEOWNERS_PATHS.len());
    let fields = blob_fields("policy", GITHUB_POLICY_PATHS.len())
        + &blob_fields("codeowners", GITHUB_CODEOWNERS_PATHS.len());
    (params, fields)
}

fn blob_params(alias: &str, n: usize) -> String {
    (0..n).map(|i| format!(", ${alias}{i}: String!")).collect()
}

/// One blob alias per candidate path, read from its `$aliasN` expression.
fn blob_fields(alias: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!("    {alias}{i}: object(expression: ${alias}{i}) {{ ... on Blob {{ oid text isTruncated }} }}\n")
        })
        .collect()
}

/// The operation reading only the policy file at a commit.
pub const POLICY_OPERATION: &str = "WarrantPolicy";

/// The policy blobs at a commit: one alias per candidate path (`n` of
/// them), as in the pull request's query.
pub fn policy_query(n: usize) -> String {
    let params: String = (0..n).map(|i| format!(", $policy{i}: String!")).collect();
    let fields: String = (0..n)
        .map(|i| {
            format!("    policy{i}: object(expression: $policy{i}) {{ ... on Blob {{ oid text isTruncated }} }}\n")
        })
        .collect();
    format!(
        "query {POLICY_OPERATION}($owner: String!, $name: String!{params}) {{
  repository(owner: $owner, name: $name) {{
{fields}  }}
}}"
    )
}

/// An actor's type, login and numeric id (on the types that have one).
const ACTOR: &str = "__typename login ... on User { databaseId } ... on Bot { databaseId }";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Data {
    pub repository: Option<Repository>,
    /// The organisation's repository, with the policy blob.
    #[serde(rename = "orgPolicy", default)]
    pub org_policy: Option<Value>,
    /// `tN` team aliases.
    #[serde(flatten)]
    pub teams: HashMap<String, Value>,
}

#[derive(Deserialize)]
pub(crate) struct Repository {
    #[serde(rename = "pullRequest")]
    pub pull_request: Option<PullRequest>,
    /// `policyN` and `codeownersN` aliases.
    #[serde(flatten)]
    pub policies: HashMap<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Blob {
    pub oid: String,
    pub text: Option<String>,
    #[serde(default)]
    pub is_truncated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PullRequest {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub is_draft: bool,
    pub changed_files: u64,
    pub base_ref_name: String,
    pub head_ref_name: String,
    pub base_ref_oid: String,
    pub head_ref_oid: String,
    pub author: Option<Actor>,
    pub assignees: Nodes<Actor>,
    pub commits: Option<Connection<CommitNode>>,
    pub files: Option<Connection<FileNode>>,
    pub reviews: Option<Connection<ReviewNode>>,
}

#[derive(Deserialize)]
pub(crate) struct Nodes<T> {
    pub nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Connection<T> {
    /// Asked for on commits only.
    #[serde(default)]
    pub total_count: Option<u64>,
    pub page_info: PageInfo,
    pub nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Actor {
    #[serde(rename = "__typename")]
    pub typename: String,
    pub login: String,
    pub database_id: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct CommitNode {
    pub commit: GitCommit,
}

#[derive(Deserialize)]
pub(crate) struct GitCommit {
    pub oid: String,
    pub message: String,
    pub author: Option<GitActor>,
    pub committer: Option<GitActor>,
}

#[derive(Deserialize)]
pub(crate) struct GitActor {
    pub name: Option<String>,
    pub email: Option<String>,
    pub user: Option<Actor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileNode {
    pub path: String,
    pub change_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReviewNode {
    pub database_id: Option<u64>,
    pub state: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub commit: Option<Oid>,
    pub author: Option<Actor>,
}

#[derive(Deserialize)]
pub(crate) struct Oid {
    pub oid: String,
}

#[cfg(test)]
mod tests {
    /// GraphQL refuses a declared variable the query does not use.
    #[test]
    fn the_team_switch_is_declared_only_with_teams() {
        assert!(!super::pull_request_query(0).contains("$teams"));
        let with = super::pull_request_query(1);
        assert!(with.contains("$teams: Boolean!") && with.contains("@include(if: $teams)"));
    }
}
