//! The forge-neutral description of a change, which the forge adapters and
//! the CLI build and the engine decides on. Its JSON form is the input of
//! `warrant evaluate` (documented in `docs/cli.md`, "The change file").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{CommitSha, Login, RepoPath, TeamName};
use crate::signals::Trailer;

/// Which forge a change lives on; decides where the policy file may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    #[default]
    Github,
    Gitlab,
    /// A local git range (`warrant check`).
    Local,
}

impl Forge {
    pub fn as_str(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
            Forge::Local => "local",
        }
    }

    /// The policy file paths on this forge, in the order they are tried.
    pub fn policy_paths(self) -> &'static [&'static str] {
        match self {
            Forge::Github => crate::policy::GITHUB_POLICY_PATHS,
            Forge::Gitlab => crate::policy::GITLAB_POLICY_PATHS,
            Forge::Local => crate::policy::LOCAL_POLICY_PATHS,
        }
    }
}

/// A pull request (GitHub), merge request (GitLab) or local git range.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    pub forge: Forge,
    /// `owner/name` (GitHub) or the project's full path (GitLab).
    #[serde(default)]
    pub repository: String,
    /// The pull or merge request number; 0 for a local range.
    #[serde(default)]
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// The account that opened the change; absent for a local range.
    #[serde(default)]
    pub author: Option<Account>,
    /// Accounts assigned to the change.
    #[serde(default)]
    pub assignees: Vec<Account>,
    pub base_sha: CommitSha,
    pub head_sha: CommitSha,
    #[serde(default)]
    pub commits: Vec<Commit>,
    #[serde(default)]
    pub files: Vec<ChangedFile>,
    #[serde(default)]
    pub reviews: Vec<Review>,
}

impl Change {
    /// Every path the change touches: each file's path, and a renamed file's
    /// old path too (moving a file out of `infra/` touches `infra/`).
    pub fn touched_paths(&self) -> impl Iterator<Item = &RepoPath> {
        self.files
            .iter()
            .flat_map(|f| std::iter::once(&f.path).chain(f.previous_path.as_ref()))
    }
}

/// A forge account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub login: Login,
    /// What the forge says the account is. Only this is *verified*.
    #[serde(default)]
    pub kind: AccountKind,
    /// The forge's numeric id, when known.
    #[serde(default)]
    pub id: Option<u64>,
}

impl Account {
    pub fn is_bot(&self) -> bool {
        self.kind == AccountKind::Bot || self.login.has_bot_suffix()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    #[default]
    User,
    /// A bot, app or service account.
    Bot,
}

/// A commit in the change.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    pub sha: CommitSha,
    pub author: Person,
    pub committer: Person,
    /// The full message; trailers are read from its last paragraph.
    #[serde(default)]
    pub message: String,
}

impl Commit {
    pub fn trailers(&self) -> Vec<Trailer> {
        Trailer::parse_all(&self.message)
    }
}

/// A commit author or committer: what git records (declared), plus the
/// account the forge linked it to, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub account: Option<Account>,
}

/// A file in the change.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangedFile {
    pub path: RepoPath,
    /// The old path of a renamed file.
    #[serde(default)]
    pub previous_path: Option<RepoPath>,
}

/// A review (GitHub) or approval (GitLab).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The forge's review id, used to dismiss it.
    #[serde(default)]
    pub id: Option<u64>,
    pub reviewer: Account,
    pub state: ReviewState,
    /// The head commit the review was given on.
    pub commit_sha: CommitSha,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
}

/// What the engine needs to know beyond the change, resolved by the caller
/// (the forge adapter asks the API; the CLI reads it from the change file).
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Members of each team the policy names.
    #[serde(default)]
    pub teams: BTreeMap<String, Vec<Login>>,
    /// Repository administrators: the last resort approvers for
    /// unregistered agents.
    #[serde(default)]
    pub repository_admins: Vec<Login>,
    /// Warrant's own accounts, which are never unregistered agents.
    #[serde(default)]
    pub app_logins: Vec<Login>,
}

impl Context {
    pub fn is_member(&self, team: &TeamName, login: &Login) -> bool {
        let key = team.key();
        self.teams
            .iter()
            .filter(|(name, _)| name.to_lowercase() == key)
            .flat_map(|(_, members)| members)
            .any(|m| m.same_as(login))
    }

    pub fn is_app(&self, login: &Login) -> bool {
        self.app_logins.iter().any(|a| {
            a.same_as(login) || login.key().strip_suffix("[bot]") == Some(a.key().as_str())
        })
    }
}
