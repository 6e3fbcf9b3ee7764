//! The policy file as written, before validation.
//!
//! These types mirror `POLICY.md` key for key. Their doc comments become the
//! descriptions of the JSON Schema (`docs/warrant.schema.json`), which editors
//! use for completion and which [`super::load`] checks the file against first.
//! Values that later checks must point at are kept [`Spanned`], so that an
//! error can name the line and column of the value at fault.

use std::collections::{BTreeMap, HashMap};

use marked_yaml::Spanned;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AgentReviews, Mode, OutOfScope, UnregisteredAction};

/// A Warrant policy (version 1): which coding agents may change what in this
/// repository, and whose approval their changes need. Read from the base
/// branch of each change, never from the change itself.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Warrant policy")]
pub struct PolicyDocument {
    /// The version of the policy language. Must be `1`.
    #[schemars(with = "u32", extend("const" = 1))]
    pub version: Spanned<u32>,
    /// `enforce`: the check concludes as decided. `observe`: the check always
    /// concludes `neutral` and says what it would have concluded, and no
    /// review is dismissed; use it for the first weeks of a roll-out.
    #[serde(default)]
    pub mode: Mode,
    /// Registered agents, by id (`[a-z0-9][a-z0-9-]{0,62}`): the coding agents
    /// and bots allowed to work here, each with a role and an accountable
    /// owner.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, AgentDocument>", extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}))]
    pub agents: HashMap<Spanned<String>, AgentDocument>,
    /// Roles, by id (`[a-z0-9][a-z0-9-]{0,62}`): what the agents acting in
    /// each role may change.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RoleDocument>", extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}))]
    pub roles: HashMap<Spanned<String>, RoleDocument>,
    /// Sensitive areas: paths that need human approval whenever an agent,
    /// registered or not, changes them.
    #[serde(default)]
    pub sensitive: Vec<SensitiveDocument>,
    /// What a change involving an agent that no registration claims (shadow
    /// automation) needs.
    #[serde(default)]
    pub unregistered_agents: UnregisteredAgentsDocument,
    /// Which approvals count.
    #[serde(default)]
    pub approvals: ApprovalsDocument,
    /// Who approves human changes to the policy file itself.
    #[serde(default)]
    pub policy_file: PolicyFileDocument,
    /// Who may override the check in an emergency (break-glass). Default:
    /// nobody, overrides are off.
    #[serde(default)]
    pub overrides: OverridesDocument,
}

/// A registered agent (`agents.<id>`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDocument {
    /// What this agent is, for people reading checks and audit pages.
    #[serde(default)]
    pub description: Option<String>,
    /// The role it acts in: a key of `roles`.
    #[schemars(with = "String")]
    pub role: Spanned<String>,
    /// The accountable human: a login (`alice`) or a team (`org/team`).
    #[schemars(with = "String")]
    pub owner: Spanned<String>,
    /// How to recognise this agent's changes. At least one signal is required.
    #[serde(default, rename = "match")]
    pub signals: MatchDocument,
    /// When the registration lapses: a date `YYYY-MM-DD` (the end of that
    /// day, UTC) or an RFC 3339 time. From then on the agent's signals count
    /// as an unregistered agent, until someone renews the registration.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub expires: Option<Spanned<String>>,
    /// Time-boxed extra scope, such as a maintenance window. The role's
    /// `deny` still wins, and sensitive areas still need their approvals.
    #[serde(default)]
    pub elevations: Vec<ElevationDocument>,
}

/// `agents.<id>.match`: the signals that identify an agent.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchDocument {
    /// Platform account logins, compared case-insensitively; `name` also
    /// matches the app account `name[bot]`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub logins: Vec<Spanned<String>>,
    /// Globs on commit author and committer emails: `*` matches any run of
    /// characters, `?` one character; case-insensitive.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub emails: Vec<Spanned<String>>,
    /// Commit trailers written `Key: value-glob`, for example
    /// `Co-authored-by: Claude*<noreply@anthropic.com>`. Keys compare
    /// case-insensitively; values are globs as in `emails`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub trailers: Vec<Spanned<String>>,
    /// The id of a built-in catalog entry (such as `copilot`), whose signals
    /// are added to this agent's.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub builtin: Option<Spanned<String>>,
}

/// One entry of `agents.<id>.elevations`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElevationDocument {
    /// Path globs allowed while the elevation is in force.
    #[schemars(with = "Vec<String>")]
    pub paths: Spanned<Vec<Spanned<String>>>,
    /// Start of the window (RFC 3339, included).
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub from: Spanned<String>,
    /// End of the window (RFC 3339, excluded); after `from`.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub until: Spanned<String>,
    /// Why, for the audit trail (a change ticket, for example).
    #[schemars(with = "String")]
    pub reason: Spanned<String>,
}

/// A role (`roles.<id>`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDocument {
    /// What the role is for, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The paths an agent in this role may change.
    pub scope: ScopeDocument,
    /// What a change to a path outside the scope (or to more than
    /// `max_files` files) does.
    #[serde(default)]
    pub out_of_scope: OutOfScope,
    /// Who approves escalated out-of-scope changes: logins, `org/team`,
    /// the word `owner`, or the word `codeowners` (the code owners of each
    /// path, from the CODEOWNERS file at the base). Default: the agent's
    /// owner. Used with `out_of_scope: escalate`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub escalate_to: Option<Spanned<Vec<Spanned<String>>>>,
    /// More changed files than this is treated like out-of-scope. Default:
    /// no limit.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub max_files: Option<u32>,
}

/// `roles.<id>.scope`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDocument {
    /// Path globs an agent in this role may change.
    #[schemars(with = "Vec<String>")]
    pub allow: Vec<Spanned<String>>,
    /// Path globs it may never change; deny wins over allow and over
    /// elevations.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub deny: Vec<Spanned<String>>,
}

/// One entry of `sensitive`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SensitiveDocument {
    /// A unique name, shown in checks and on audit pages.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Path globs that make up the area.
    #[schemars(with = "Vec<String>")]
    pub paths: Spanned<Vec<Spanned<String>>>,
    /// Who may approve: logins, `org/team`, the word `owner` (the owner of
    /// each agent involved), or the word `codeowners` (the code owners of
    /// each touched path, from the CODEOWNERS file at the base).
    #[schemars(with = "Vec<String>")]
    pub approvers: Spanned<Vec<Spanned<String>>>,
    /// How many distinct eligible approvals a change needs.
    #[serde(default = "one")]
    #[schemars(with = "u32", range(min = 1))]
    pub min_approvals: Spanned<u32>,
}

fn one() -> Spanned<u32> {
    Spanned::new(marked_yaml::Span::new_blank(), 1)
}

/// `unregistered_agents`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnregisteredAgentsDocument {
    /// What an agent signal that no registered agent claims does: `allow`
    /// (audit only), `warn`, `escalate` (needs one approval) or `block`.
    #[serde(default)]
    pub action: UnregisteredAction,
    /// Who approves with `escalate`: logins, `org/team`, or the word
    /// `codeowners` (the code owners of each touched path). Default:
    /// `policy_file.approvers`, else the repository's admins.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub approvers: Vec<Spanned<String>>,
}

/// `approvals`.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsDocument {
    /// An approval counts only if it was given on the change's current head
    /// commit.
    #[serde(default = "yes")]
    pub stale_on_push: bool,
    /// The human who asked the agent for the change cannot count as an
    /// approver.
    #[serde(default = "yes")]
    pub exclude_requester: bool,
    /// Humans who authored, committed or co-authored commits in the change
    /// cannot count as approvers.
    #[serde(default = "yes")]
    pub exclude_contributors: bool,
    /// Approvals by agents and bots never count; `dismiss` also dismisses
    /// them on the forge.
    #[serde(default)]
    pub agent_reviews: AgentReviews,
}

impl Default for ApprovalsDocument {
    fn default() -> Self {
        Self {
            stale_on_push: true,
            exclude_requester: true,
            exclude_contributors: true,
            agent_reviews: AgentReviews::default(),
        }
    }
}

fn yes() -> bool {
    true
}

/// `policy_file`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyFileDocument {
    /// Who approves a human's change to the policy file: logins,
    /// `org/team`, or the word `codeowners` (the code owners of the policy
    /// file). Default: nobody (such changes are only audited). A change
    /// to the policy file that involves an agent always fails.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub approvers: Vec<Spanned<String>>,
}

/// `overrides`: the break-glass.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverridesDocument {
    /// Who may override the check on a change's current head commit with a
    /// `/warrant override <reason>` comment: logins, `org/team`, or the
    /// word `codeowners` (a code owner of every path the change touches).
    /// Never an agent, the change's author, a requester or a contributor.
    /// Default: nobody (overrides are off).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub approvers: Vec<Spanned<String>>,
}
