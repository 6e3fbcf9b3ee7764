//! The policy language, version 1: the file org admins write.
//!
//! [`load`] turns the YAML text into a validated, compiled [`Policy`]: every
//! glob compiled, every cross-reference checked, every default applied. A
//! policy that loads is one the engine can apply without further checks.
//! Errors carry the file, line and column (see [`PolicyError`]).

mod compile;
pub mod diff;
mod document;
mod error;
mod issue;
mod load;
#[cfg(test)]
mod load_tests;
mod org;
#[cfg(test)]
mod org_tests;
#[cfg(test)]
mod override_tests;
mod paths;
mod shape;
mod values;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, Principal, RepoPath, RoleId};
use crate::signals::Signals;

pub use document::PolicyDocument;
pub use error::{PolicyError, PolicyErrors};
pub use load::{load, load_under, schema};
pub use paths::{GlobIndex, PathCandidate, PathGlobs};

/// Where the policy may live, per forge, in the order they are tried: the
/// first file found wins.
pub const GITHUB_POLICY_PATHS: &[&str] = &[".github/warrant.yml", ".warrant.yml"];
pub const GITLAB_POLICY_PATHS: &[&str] = &[".gitlab/warrant.yml", ".warrant.yml"];
/// The organisation policy's file name, at the root of the default branch
/// of the organisation's repository.
pub const ORG_POLICY_FILE: &str = "warrant-org.yml";
/// The organisation's repository, by default: GitHub's home for
/// organisation-wide files (`<org>/.github`), GitLab's for group-wide ones
/// (`<top-level group>/gitlab-profile`).
pub const GITHUB_ORG_REPOSITORY: &str = ".github";
pub const GITLAB_ORG_REPOSITORY: &str = "gitlab-profile";
/// A local checkout may be mirrored from either forge.
pub const LOCAL_POLICY_PATHS: &[&str] =
    &[".github/warrant.yml", ".gitlab/warrant.yml", ".warrant.yml"];

/// A validated policy, ready to apply.
#[derive(Clone, Debug)]
pub struct Policy {
    pub mode: Mode,
    /// Registered agents, ordered by id.
    pub agents: Vec<Agent>,
    pub roles: BTreeMap<RoleId, Role>,
    pub sensitive: Vec<SensitiveArea>,
    /// All sensitive areas' globs in one automaton, list `i` being
    /// `sensitive[i]`.
    pub sensitive_index: GlobIndex,
    pub unregistered_agents: UnregisteredAgents,
    pub approvals: ApprovalRules,
    pub policy_file: PolicyFileRules,
    pub overrides: OverrideRules,
}

impl Policy {
    /// The policy of a repository with none: nothing registered, nothing
    /// sensitive. Identification still runs under it, so that every agent
    /// a change shows is seen (and unregistered) before anyone writes a
    /// policy.
    pub fn none() -> &'static Policy {
        static NONE: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(|| {
            load("(no policy)", "version: 1\n").expect("the empty policy is valid")
        });
        &NONE
    }

    pub fn agent(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.iter().find(|a| &a.id == id)
    }

    pub fn role(&self, id: &RoleId) -> &Role {
        // Validation guarantees every agent's role exists.
        &self.roles[id]
    }

    /// Every entry of every approvers list: `escalate_to`, the sensitive
    /// areas', `unregistered_agents`', `policy_file`'s and `overrides`'.
    fn approvers(&self) -> impl Iterator<Item = &Approver> {
        self.roles
            .values()
            .filter_map(|r| r.escalate_to.as_deref())
            .chain(self.sensitive.iter().map(|s| s.approvers.as_slice()))
            .chain([
                self.unregistered_agents.approvers.as_slice(),
                self.policy_file.approvers.as_slice(),
                self.overrides.approvers.as_slice(),
            ])
            .flatten()
    }

    /// Every team the policy names, so that a forge adapter can resolve their
    /// members before the (pure) evaluation.
    pub fn teams(&self) -> Vec<&crate::ids::TeamName> {
        let owners = self.agents.iter().map(|a| &a.owner);
        let approvers = self.approvers().filter_map(|a| match a {
            Approver::Principal(p) => Some(p),
            Approver::Owner | Approver::CodeOwners => None,
        });
        let mut teams: Vec<_> = owners
            .chain(approvers)
            .filter_map(|p| match p {
                Principal::Team(t) => Some(t),
                Principal::User(_) => None,
            })
            .collect();
        teams.sort();
        teams.dedup();
        teams
    }

    /// Whether any approvers list names `codeowners`: only then is the
    /// CODEOWNERS file read and applied.
    pub fn uses_codeowners(&self) -> bool {
        self.approvers().any(|a| *a == Approver::CodeOwners)
    }
}

/// `mode`: enforce decisions, or only report them while a team rolls out.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The check concludes as decided.
    #[default]
    Enforce,
    /// The check always concludes `neutral` and says what it would have
    /// concluded; no review is dismissed.
    Observe,
}

/// A registered agent (`agents.<id>`).
#[derive(Clone, Debug)]
pub struct Agent {
    pub id: AgentId,
    pub description: Option<String>,
    pub role: RoleId,
    pub owner: Principal,
    /// The catalog id named by `match.builtin`, whose signals are included
    /// in `signals`.
    pub builtin: Option<String>,
    pub signals: Signals,
    /// From this instant on the registration has lapsed.
    pub expires: Option<DateTime<Utc>>,
    pub elevations: Vec<Elevation>,
}

impl Agent {
    pub fn is_registered_at(&self, at: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| at < e)
    }
}

/// A time-boxed extra scope (`agents.<id>.elevations[]`).
#[derive(Clone, Debug)]
pub struct Elevation {
    pub paths: PathGlobs,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub reason: String,
}

impl Elevation {
    /// `[from, until)`.
    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

/// A role (`roles.<id>`): what its agents may touch.
#[derive(Clone, Debug)]
pub struct Role {
    pub id: RoleId,
    pub description: Option<String>,
    pub allow: PathGlobs,
    pub deny: PathGlobs,
    pub out_of_scope: OutOfScope,
    /// `None`: the agent's owner.
    pub escalate_to: Option<Vec<Approver>>,
    pub max_files: Option<usize>,
}

/// `roles.<id>.out_of_scope`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutOfScope {
    /// The check fails.
    #[default]
    Block,
    /// The files need one approval from `escalate_to`.
    Escalate,
}

/// One entry of `sensitive`.
#[derive(Clone, Debug)]
pub struct SensitiveArea {
    pub name: String,
    pub paths: PathGlobs,
    pub approvers: Vec<Approver>,
    pub min_approvals: u32,
}

/// An entry in an approvers list.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Approver {
    Principal(Principal),
    /// The word `owner`: the owner of each agent involved.
    Owner,
    /// The word `codeowners`: the code owners of each touched path, from
    /// the CODEOWNERS file at the base commit.
    CodeOwners,
}

impl std::fmt::Display for Approver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Approver::Principal(p) => p.fmt(f),
            Approver::Owner => f.write_str("owner"),
            Approver::CodeOwners => f.write_str("codeowners"),
        }
    }
}

/// `unregistered_agents`.
#[derive(Clone, Debug)]
pub struct UnregisteredAgents {
    pub action: UnregisteredAction,
    /// As written; empty means the default chain (`policy_file.approvers`,
    /// else repository admins), which the engine applies.
    pub approvers: Vec<Approver>,
}

/// `unregistered_agents.action`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnregisteredAction {
    /// Recorded in the audit trail only.
    Allow,
    /// The check passes and says so in its summary.
    Warn,
    /// The change needs one approval from `unregistered_agents.approvers`.
    #[default]
    Escalate,
    /// The check fails.
    Block,
}

/// `approvals`.
#[derive(Clone, Debug)]
pub struct ApprovalRules {
    pub stale_on_push: bool,
    pub exclude_requester: bool,
    pub exclude_contributors: bool,
    pub agent_reviews: AgentReviews,
}

/// `approvals.agent_reviews`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AgentReviews {
    /// Agent approvals never count and are recorded.
    #[default]
    Ignore,
    /// They are also dismissed on the forge.
    Dismiss,
}

/// `policy_file`.
#[derive(Clone, Debug, Default)]
pub struct PolicyFileRules {
    /// Empty: a human change to the policy file is only audited.
    pub approvers: Vec<Approver>,
}

/// `overrides`: who may override the check (break-glass).
#[derive(Clone, Debug, Default)]
pub struct OverrideRules {
    /// Empty: overrides are off.
    pub approvers: Vec<Approver>,
}

/// A policy as the engine receives it: where it came from, and what it says.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    /// The file it was read from (for example `.github/warrant.yml`).
    pub path: RepoPath,
    /// The git blob id of the file's contents, recorded with each decision.
    pub blob_id: String,
    pub policy: Policy,
}

/// The organisation policy as the engine receives it: the repository it
/// was read from (`acme/.github`, or GitLab's `acme/gitlab-profile`; none
/// for a file given on the command line) and the file there.
#[derive(Clone, Debug)]
pub struct OrgPolicy {
    pub repository: Option<String>,
    pub loaded: LoadedPolicy,
}

/// The agents a change is identified against: one registry, the
/// repository's agents (the organisation's given a role there among them)
/// before the rest of the organisation's. A repository policy alone has
/// no organisation part.
#[derive(Clone, Copy, Debug)]
pub struct Registry<'a> {
    first: &'a [Agent],
    then: &'a [Agent],
}

impl<'a> Registry<'a> {
    /// A repository's agents (`repository`, empty without a policy of its
    /// own) and its organisation's.
    pub fn of(repository: &'a [Agent], organisation: &'a [Agent]) -> Registry<'a> {
        Registry {
            first: repository,
            then: organisation,
        }
    }

    /// Whether the organisation registered the agent `id`.
    pub fn is_organisations(self, id: &str) -> bool {
        self.then.iter().any(|a| a.id.as_str() == id)
    }

    /// Every agent, each id once.
    pub fn agents(self) -> impl Iterator<Item = &'a Agent> {
        let first = self.first;
        first.iter().chain(
            self.then
                .iter()
                .filter(move |a| !first.iter().any(|f| f.id == a.id)),
        )
    }

    pub fn agent(self, id: &str) -> Option<&'a Agent> {
        self.agents().find(|a| a.id.as_str() == id)
    }
}

impl<'a> From<&'a Policy> for Registry<'a> {
    fn from(policy: &'a Policy) -> Registry<'a> {
        Registry {
            first: &policy.agents,
            then: &[],
        }
    }
}

/// The git blob id of some contents (`git hash-object`), so that a decision
/// names exactly the policy text it applied, in the form git and the forges
/// use.
pub fn blob_id(contents: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {}\0", contents.len()).as_bytes());
    hasher.update(contents);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn blob_id_is_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            super::blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
