//! Fetching a pull request for an evaluation, and turning GitHub's answer
//! into Warrant's [`Change`] at this edge.
//!
//! One GraphQL query returns the pull request, its first 100 commits,
//! files and reviews, and the policy blob at the base commit for every
//! candidate path. Larger pull requests take one more query per 100 of the
//! longest connection. GraphQL's `files` has no previous path, so when a
//! file is renamed the REST file list (which has `previous_filename`) is
//! read too: one more request per 100 files, only then.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{GithubClient, GithubError, InstallationId};
use super::graphql::{self, Actor, Blob, GitActor, PageInfo, PullRequest};
use super::teams::team_vars;
use crate::codeowners::GITHUB_CODEOWNERS_PATHS;
use crate::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Forge, Person, Review, ReviewState,
};
use crate::ids::{CommitSha, Login, RepoPath, TeamName};
use crate::policy::{GITHUB_POLICY_PATHS, ORG_POLICY_FILE};

pub use crate::forge::{OrgPolicyFile, PolicyFile};

/// What an evaluation reads about a pull request.
#[derive(Clone, Debug)]
pub struct PullRequestSnapshot {
    pub change: Change,
    /// The policy file at the base commit: the first of
    /// `GITHUB_POLICY_PATHS` that exists; `None` when none does.
    pub policy: Option<PolicyFile>,
    /// The CODEOWNERS file at the base commit, likewise: the first of
    /// `GITHUB_CODEOWNERS_PATHS`.
    pub codeowners: Option<PolicyFile>,
    /// The organisation policy, at the head of the default branch of the
    /// organisation's repository; `None` when there is none (or the app
    /// cannot see that repository).
    pub org_policy: Option<OrgPolicyFile>,
    pub is_draft: bool,
    pub base_ref: String,
    pub head_ref: String,
    /// Members of the teams asked for, by team as written.
    pub teams: BTreeMap<String, Vec<Login>>,
    /// Whether `change.files` lists every changed file. GitHub's APIs list
    /// at most 3,000 files of a pull request; a change with more must not
    /// be decided on the files it shows (a path past the limit could be
    /// out of scope), so the caller fails closed when this is false.
    pub files_complete: bool,
    /// Whether `change.commits` lists every commit: GitHub lists at most
    /// 250, and a commit past them could carry an agent's signals.
    pub commits_complete: bool,
}

/// An item of `GET /repos/{o}/{r}/pulls/{n}/files`, the part Warrant reads.
#[derive(Deserialize)]
pub(crate) struct RestFile {
    pub filename: String,
    pub previous_filename: Option<String>,
}

/// What the query returned over all its pages.
struct Fetched {
    pr: PullRequest,
    policies: HashMap<String, Value>,
    org_policy: Option<OrgPolicyFile>,
    teams: HashMap<String, Value>,
    pages: Pages,
}

/// Commits, files and reviews gathered over pages.
#[derive(Default)]
struct Pages {
    commits: Page<graphql::CommitNode>,
    files: Page<graphql::FileNode>,
    reviews: Page<graphql::ReviewNode>,
}

/// A connection's nodes so far, and its total where asked for.
struct Page<T> {
    nodes: Vec<T>,
    total: Option<u64>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            nodes: Vec::new(),
            total: None,
        }
    }
}

impl GithubClient {
    /// Fetches pull request `number` of `repo` (`owner/name`). `base_sha`
    /// is the base commit the webhook named: the policy is read from it in
    /// the same query. Should the base have moved since, the query is made
    /// again at the new base (one more request) so that the change and its
    /// policy agree. `teams` not in the team cache are resolved in the same
    /// query: pass the teams of the policy the repository had last time,
    /// and an evaluation needs no separate team request.
    pub async fn fetch_pull_request(
        &self,
        installation: InstallationId,
        repo: &str,
        number: u64,
        base_sha: &CommitSha,
        teams: &[&TeamName],
    ) -> Result<PullRequestSnapshot, GithubError> {
        let (owner, name) = repo
            .split_once('/')
            .ok_or_else(|| GithubError::Invalid(format!("`{repo}` is not owner/name")))?;
        let (mut members, missing) = self.cached_teams(teams);
        let mut base = base_sha.clone();
        for _ in 0..2 {
            let at = (owner, name, number, &base);
            let fetched = self.query_pages(installation, at, &missing).await?;
            let actual = sha(&fetched.pr.base_ref_oid)?;
            if actual.matches(&base) {
                let found = self.absorb_teams(installation, &missing, &fetched.teams);
                members.extend(found.await?);
                let files = &fetched.pages.files.nodes;
                let renames = self.renames(installation, repo, number, files).await?;
                return build(repo, fetched, &renames, members);
            }
            base = actual;
        }
        Err(GithubError::Invalid(format!(
            "the base of {repo}#{number} keeps moving"
        )))
    }

    /// The first of `paths` that exists at `sha` (the policy's candidate
    /// paths, or the organisation policy's file), in one query; `None`
    /// when none does.
    pub async fn policy_at(
        &self,
        installation: InstallationId,
        repo: &str,
        sha: &CommitSha,
        paths: &[&str],
    ) -> Result<Option<PolicyFile>, GithubError> {
        let (owner, name) = repo
            .split_once('/')
            .ok_or_else(|| GithubError::Invalid(format!("`{repo}` is not owner/name")))?;
        let mut vars = json!({ "owner": owner, "name": name });
        for (i, path) in paths.iter().enumerate() {
            vars[format!("policy{i}")] = json!(format!("{}:{path}", sha.as_str()));
        }
        let data: graphql::Data = self
            .graphql(installation, &graphql::policy_query(paths.len()), vars)
            .await?;
        let repository = data
            .repository
            .ok_or_else(|| GithubError::NotFound(format!("repository {repo}")))?;
        Ok(first_blob(&repository.policies, "policy", paths))
    }

    /// Runs the query until every connection is complete.
    async fn query_pages(
        &self,
        installation: InstallationId,
        (owner, name, number, base): (&str, &str, u64, &CommitSha),
        teams: &[&TeamName],
    ) -> Result<Fetched, GithubError> {
        let query = graphql::pull_request_query(teams.len());
        let mut vars = json!({
            "owner": owner, "name": name, "number": number,
            "commits": true, "files": true, "reviews": true,
        });
        self.org_vars(&mut vars);
        base_blob_vars(&mut vars, base);
        if let (Value::Object(map), false) = (&mut vars, teams.is_empty()) {
            map.insert("teams".into(), json!(true));
            team_vars(teams, map);
        }
        let mut pages = Pages::default();
        let mut first_teams = None;
        let mut org_policy = None;
        loop {
            let data: graphql::Data = self.graphql(installation, &query, vars.clone()).await?;
            first_teams.get_or_insert(data.teams);
            if org_policy.is_none() {
                org_policy = Some(self.org_policy_of(owner, data.org_policy.as_ref()));
            }
            if !teams.is_empty() {
                vars["teams"] = json!(false);
            }
            let repo = data
                .repository
                .ok_or_else(|| GithubError::NotFound(format!("repository {owner}/{name}")))?;
            let mut pr = repo.pull_request.ok_or_else(|| {
                GithubError::NotFound(format!("pull request {owner}/{name}#{number}"))
            })?;
            let more = [
                take(&mut pr.commits, &mut pages.commits, &mut vars, "commits"),
                take(&mut pr.files, &mut pages.files, &mut vars, "files"),
                take(&mut pr.reviews, &mut pages.reviews, &mut vars, "reviews"),
            ];
            if !more.contains(&true) {
                return Ok(Fetched {
                    pr,
                    policies: repo.policies,
                    org_policy: org_policy.flatten(),
                    teams: first_teams.unwrap_or_default(),
                    pages,
                });
            }
        }
    }

    /// Sets the variables of the organisation policy's field.
    pub(super) fn org_vars(&self, vars: &mut Value) {
        vars["orgRepository"] = json!(self.org_repository);
        vars["orgPolicy"] = json!(format!("HEAD:{ORG_POLICY_FILE}"));
    }

    /// The organisation policy of the query's `orgPolicy` field.
    pub(super) fn org_policy_of(
        &self,
        owner: &str,
        found: Option<&Value>,
    ) -> Option<OrgPolicyFile> {
        let blob: Blob = serde_json::from_value(found?.get("object")?.clone()).ok()?;
        Some(OrgPolicyFile {
            repository: format!("{owner}/{}", self.org_repository),
            file: PolicyFile {
                path: RepoPath::parse(ORG_POLICY_FILE).expect("a valid path"),
                text: blob.text.unwrap_or_default(),
                blob_id: blob.oid,
                truncated: blob.is_truncated,
            },
        })
    }

    /// Previous paths of renamed files, from the REST file list; no request
    /// when nothing was renamed.
    async fn renames(
        &self,
        installation: InstallationId,
        repo: &str,
        number: u64,
        files: &[graphql::FileNode],
    ) -> Result<HashMap<String, String>, GithubError> {
        let mut renames = HashMap::new();
        if !files.iter().any(|f| f.change_type == "RENAMED") {
            return Ok(renames);
        }
        for page in 1.. {
            let path = format!("/repos/{repo}/pulls/{number}/files?per_page=100&page={page}");
            let list: Vec<RestFile> = self.rest(installation, Method::GET, &path, None).await?;
            let last = list.len() < 100;
            renames.extend(
                list.into_iter()
                    .filter_map(|f| Some((f.filename, f.previous_filename?))),
            );
            if last || page * 100 >= files.len() {
                break;
            }
        }
        Ok(renames)
    }
}

/// Sets the variables of [`graphql::base_blobs`]: each candidate path of
/// the policy and CODEOWNERS at `base`.
pub(super) fn base_blob_vars(vars: &mut Value, base: &CommitSha) {
    for (alias, paths) in [
        ("policy", GITHUB_POLICY_PATHS),
        ("codeowners", GITHUB_CODEOWNERS_PATHS),
    ] {
        for (i, path) in paths.iter().enumerate() {
            vars[format!("{alias}{i}")] = json!(format!("{}:{path}", base.as_str()));
        }
    }
}

/// The policy and CODEOWNERS files of a query's answer.
pub(super) fn base_files(
    blobs: &HashMap<String, Value>,
) -> (Option<PolicyFile>, Option<PolicyFile>) {
    (
        first_blob(blobs, "policy", GITHUB_POLICY_PATHS),
        first_blob(blobs, "codeowners", GITHUB_CODEOWNERS_PATHS),
    )
}

/// Moves one page of a connection into `into`; sets the variables for the
/// next page and says whether there is one.
fn take<T>(
    conn: &mut Option<graphql::Connection<T>>,
    into: &mut Page<T>,
    vars: &mut Value,
    name: &str,
) -> bool {
    let Some(conn) = conn.take() else {
        vars[name] = json!(false);
        return false;
    };
    into.nodes.extend(conn.nodes);
    into.total = conn.total_count.or(into.total);
    let PageInfo {
        has_next_page,
        end_cursor,
    } = conn.page_info;
    vars[name] = json!(has_next_page);
    vars[format!("{name}After")] = json!(end_cursor);
    has_next_page
}

fn sha(s: &str) -> Result<CommitSha, GithubError> {
    CommitSha::parse(s).map_err(|e| decode(e.to_string()))
}

fn decode(message: String) -> GithubError {
    GithubError::Decode {
        path: "/graphql".into(),
        message,
    }
}

fn build(
    repo: &str,
    fetched: Fetched,
    renames: &HashMap<String, String>,
    teams: BTreeMap<String, Vec<Login>>,
) -> Result<PullRequestSnapshot, GithubError> {
    let Fetched {
        pr,
        policies,
        org_policy,
        pages,
        ..
    } = fetched;
    let files_complete = pages.files.nodes.len() as u64 >= pr.changed_files;
    let commits_complete = pages
        .commits
        .total
        .is_none_or(|n| pages.commits.nodes.len() as u64 >= n);
    let commits = pages.commits.nodes.into_iter().map(|c| commit(c.commit));
    let files = pages.files.nodes.iter().map(|f| file(f, renames));
    let change = Change {
        forge: Forge::Github,
        repository: repo.to_owned(),
        number: pr.number,
        title: pr.title,
        body: pr.body,
        author: pr.author.as_ref().and_then(account),
        assignees: pr.assignees.nodes.iter().filter_map(account).collect(),
        base_sha: sha(&pr.base_ref_oid)?,
        head_sha: sha(&pr.head_ref_oid)?,
        commits: commits.collect::<Result<_, _>>()?,
        files: files.collect::<Result<_, _>>()?,
        reviews: pages.reviews.nodes.into_iter().filter_map(review).collect(),
    };
    let (policy, codeowners) = base_files(&policies);
    Ok(PullRequestSnapshot {
        change,
        policy,
        codeowners,
        org_policy,
        is_draft: pr.is_draft,
        base_ref: pr.base_ref_name,
        head_ref: pr.head_ref_name,
        teams,
        files_complete,
        commits_complete,
    })
}

/// The first candidate path whose blob (alias `{alias}N`) exists.
fn first_blob(blobs: &HashMap<String, Value>, alias: &str, paths: &[&str]) -> Option<PolicyFile> {
    paths.iter().enumerate().find_map(|(i, path)| {
        let value = blobs.get(&format!("{alias}{i}"))?;
        let blob: Blob = serde_json::from_value(value.clone()).ok()?;
        Some(PolicyFile {
            path: RepoPath::parse(path).ok()?,
            text: blob.text.unwrap_or_default(),
            blob_id: blob.oid,
            truncated: blob.is_truncated,
        })
    })
}

/// GraphQL names a GitHub App's bot by its slug (`dependabot`), REST and
/// webhooks as `dependabot[bot]`: bots get the REST form here so that a
/// login reads the same wherever it came from. Copilot's coding agent is
/// `copilot-swe-agent` in GraphQL and `Copilot` in REST; it becomes
/// `copilot-swe-agent[bot]`, which the catalog lists, and its account id
/// matches too.
fn account(actor: &Actor) -> Option<Account> {
    let bot = actor.typename == "Bot";
    let login = if bot && !actor.login.ends_with("[bot]") {
        format!("{}[bot]", actor.login)
    } else {
        actor.login.clone()
    };
    Some(Account {
        login: Login::parse(&login).ok()?,
        kind: if bot {
            AccountKind::Bot
        } else {
            AccountKind::User
        },
        id: actor.database_id,
    })
}

fn person(actor: Option<GitActor>) -> Person {
    let Some(actor) = actor else {
        return Person::default();
    };
    Person {
        name: actor.name.unwrap_or_default(),
        email: actor.email.unwrap_or_default(),
        account: actor.user.as_ref().and_then(account),
    }
}

fn commit(c: graphql::GitCommit) -> Result<Commit, GithubError> {
    Ok(Commit {
        sha: sha(&c.oid)?,
        author: person(c.author),
        committer: person(c.committer),
        message: c.message,
    })
}

fn file(
    f: &graphql::FileNode,
    renames: &HashMap<String, String>,
) -> Result<ChangedFile, GithubError> {
    let path = |p: &str| RepoPath::parse(p).map_err(|e| decode(e.to_string()));
    Ok(ChangedFile {
        path: path(&f.path)?,
        previous_path: renames.get(&f.path).map(|p| path(p)).transpose()?,
    })
}

/// Pending reviews are drafts nobody else sees, and are left out; so is a
/// review without an author (a deleted account), an id, a commit or a time.
fn review(r: graphql::ReviewNode) -> Option<Review> {
    let state = match r.state.as_str() {
        "APPROVED" => ReviewState::Approved,
        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
        "COMMENTED" => ReviewState::Commented,
        "DISMISSED" => ReviewState::Dismissed,
        _ => return None,
    };
    Some(Review {
        id: r.database_id,
        reviewer: account(r.author.as_ref()?)?,
        state,
        commit_sha: CommitSha::parse(&r.commit?.oid).ok()?,
        submitted_at: r.submitted_at?,
    })
}
