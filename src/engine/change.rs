//! The forge-neutral description of a change, which the forge adapters and
//! the CLI build and the engine decides on. Its JSON form is the input of
//! `warrant evaluate` (documented in `docs/cli.md`, "The change file").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::codeowners::{CodeownersFile, Flavour};
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

    /// How the forge writes a change's number: `!12` on GitLab, `#12`
    /// elsewhere.
    pub fn change_sigil(self) -> char {
        match self {
            Forge::Gitlab => '!',
            Forge::Github | Forge::Local => '#',
        }
    }

    /// What the forge calls its changes, in the plural.
    pub fn change_noun_plural(self) -> &'static str {
        match self {
            Forge::Gitlab => "merge requests",
            Forge::Github | Forge::Local => "pull requests",
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

    /// Where the forge looks for a CODEOWNERS file, in order.
    pub fn codeowners_paths(self) -> &'static [&'static str] {
        match self {
            Forge::Github => crate::codeowners::GITHUB_CODEOWNERS_PATHS,
            Forge::Gitlab => crate::codeowners::GITLAB_CODEOWNERS_PATHS,
            Forge::Local => crate::codeowners::LOCAL_CODEOWNERS_PATHS,
        }
    }

    /// The syntax of a CODEOWNERS file found at `path` on this forge: a
    /// local checkout's file under `.gitlab/`, or beside a policy under
    /// `.gitlab/`, is GitLab's.
    pub fn codeowners_flavour(self, path: &RepoPath, policy: &RepoPath) -> Flavour {
        let gitlab = |p: &RepoPath| p.as_str().starts_with(".gitlab/");
        match self {
            Forge::Github => Flavour::Github,
            Forge::Gitlab => Flavour::Gitlab,
            Forge::Local if gitlab(path) || gitlab(policy) => Flavour::Gitlab,
            Forge::Local => Flavour::Github,
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
    /// Links each commit's author and committer to the GitHub account
    /// their noreply address names, as GitHub does on a pull request: a
    /// change read from git or from a change file then names the same
    /// accounts, and `logins:` match there as they do on the forge. GitLab
    /// links commits itself and has other addresses, so its changes are
    /// left as they are.
    pub fn link_noreply_accounts(&mut self) {
        if self.forge != Forge::Gitlab {
            self.commits
                .iter_mut()
                .for_each(Commit::link_noreply_accounts);
        }
    }
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

    /// The GitHub account a noreply address names: GitHub gives every
    /// account `<id>+<login>@users.noreply.github.com` (older ones
    /// `<login>@...`) and links commits to the account by it, so a local
    /// range names the same account the forge would. Only a `[bot]` login
    /// is a bot: the address says nothing else about the account.
    pub fn from_noreply(email: &str) -> Option<Account> {
        let login = noreply_login(email)?;
        let kind = if login.has_bot_suffix() {
            AccountKind::Bot
        } else {
            AccountKind::User
        };
        let id = bare_email(email)
            .split_once('+')
            .and_then(|(id, _)| id.parse().ok());
        Some(Account { login, kind, id })
    }
}

/// GitHub's noreply domain: `<id>+<login>@` or (older) `<login>@` it.
const GITHUB_NOREPLY_SUFFIX: &str = "@users.noreply.github.com";

/// An address as written, without the quotes (sometimes escaped,
/// `<\"1+name@users.noreply.github.com\">`) some tools put around it.
pub(crate) fn bare_email(email: &str) -> &str {
    email.trim().trim_matches(['"', '\\'])
}

/// The GitHub login a noreply address belongs to.
pub(crate) fn noreply_login(email: &str) -> Option<Login> {
    let email = bare_email(email);
    let split = email.len().checked_sub(GITHUB_NOREPLY_SUFFIX.len())?;
    let (local, domain) = (email.get(..split)?, email.get(split..)?);
    if !domain.eq_ignore_ascii_case(GITHUB_NOREPLY_SUFFIX) {
        return None;
    }
    let login = local.split_once('+').map_or(local, |(_, login)| login);
    Login::parse(login).ok()
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

    /// Links the author and committer to the accounts their GitHub noreply
    /// addresses name, where nothing linked them yet: what GitHub does for
    /// a pull request, done for a local range or a change file.
    pub fn link_noreply_accounts(&mut self) {
        for person in [&mut self.author, &mut self.committer] {
            if person.account.is_none() {
                person.account = Account::from_noreply(&person.email);
            }
        }
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
    /// The CODEOWNERS file at the base commit, for a policy that names
    /// `codeowners`. Read beside the policy, never from a change file
    /// (`warrant evaluate` takes it as `--codeowners FILE`).
    #[serde(skip)]
    #[schemars(skip)]
    pub codeowners: CodeownersFile,
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
