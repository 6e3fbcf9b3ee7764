//! What the engine decides, with all the evidence behind it: what the check
//! shows, what the audit trail records, and what the CLI prints as JSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CommitSha, Login, RepoPath};
use crate::policy::Mode;

use super::change::Forge;

/// A check conclusion, as GitHub names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    Success,
    Neutral,
    /// Waiting for a human approval.
    ActionRequired,
    Failure,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Conclusion::Success => "success",
            Conclusion::Neutral => "neutral",
            Conclusion::ActionRequired => "action_required",
            Conclusion::Failure => "failure",
        }
    }

    /// The conclusion named `name` (as [`Conclusion::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Conclusion> {
        [
            Conclusion::Success,
            Conclusion::Neutral,
            Conclusion::ActionRequired,
            Conclusion::Failure,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
    }

    /// The CLI's exit code: 0 success or neutral, 1 failure, 3 action
    /// required (2 is reserved for usage errors).
    pub fn exit_code(self) -> u8 {
        match self {
            Conclusion::Success | Conclusion::Neutral => 0,
            Conclusion::Failure => 1,
            Conclusion::ActionRequired => 3,
        }
    }

    /// How strict a conclusion is, where one check stands for several
    /// decisions: a failure blocks, waiting for approval blocks until
    /// someone approves, success says the policy was met, and neutral
    /// (observe mode, no policy) says nothing was enforced.
    pub fn strictness(self) -> u8 {
        match self {
            Conclusion::Neutral => 0,
            Conclusion::Success => 1,
            Conclusion::ActionRequired => 2,
            Conclusion::Failure => 3,
        }
    }
}

/// The decision on one change at one head commit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Decision {
    /// What the check shows (`neutral` in observe mode).
    pub conclusion: Conclusion,
    /// What the rules concluded, before observe mode.
    pub would_conclude: Conclusion,
    /// The check's one-line title.
    pub title: String,
    /// `None` when no policy applies (not configured, or invalid).
    pub mode: Option<Mode>,
    /// The evaluation's clock.
    pub evaluated_at: DateTime<Utc>,
    pub forge: Forge,
    pub repository: String,
    pub number: u64,
    pub head_sha: CommitSha,
    pub base_sha: CommitSha,
    /// The repository's policy applied: its file and git blob id.
    pub policy: Option<PolicySource>,
    /// The organisation's policy applied, when the organisation keeps one:
    /// its repository, file and blob id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_policy: Option<PolicySource>,
    /// Under an organisation policy, each policy decided on the change,
    /// the organisation's first: its mode and what it alone concludes (a
    /// policy in observe mode contributes `neutral`). Empty for a
    /// repository policy alone, whose `mode` and `would_conclude` say it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Applied>,
    /// The CODEOWNERS file applied, for a policy that names `codeowners`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codeowners: Option<PolicySource>,
    /// Errors of an invalid policy (the decision then fails closed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_errors: Vec<PolicyErrorView>,
    /// Agents found in the change, registered or not.
    pub agents: Vec<AgentFinding>,
    /// The humans who asked an agent for this change.
    pub requesters: Vec<String>,
    pub requirements: Vec<Requirement>,
    pub violations: Vec<Violation>,
    /// Elevations that allowed paths the role alone would not.
    pub elevations: Vec<ElevationUse>,
    /// Reviews the forge adapter should dismiss (`agent_reviews: dismiss`,
    /// enforce mode only).
    pub dismissals: Vec<Dismissal>,
    /// Notes for the summary that change nothing (for example a `warn`).
    pub notes: Vec<String>,
    /// On a change that edits a policy file: each proposed policy, as read
    /// at the head, with its errors or its effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposed: Vec<ProposedPolicy>,
    /// Break-glass overrides given on this head, counted or not, with
    /// what each lifted (see "Overrides" in `docs/policy.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<super::OverrideUse>,
}

/// A policy file as a change proposes it (at its head): validated, and
/// compared with the policy in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedPolicy {
    /// Which policy it would replace.
    pub from: Origin,
    pub path: RepoPath,
    /// Its git blob id at the head.
    pub blob_id: String,
    /// Why it does not load: the check then fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PolicyErrorView>,
    /// What it changes, key by key, when it loads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<crate::policy::diff::Difference>,
    /// The past changes decided again under it, when it loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

/// Past changes decided again under a proposed policy, each from its
/// recorded facts at its recorded time: those whose conclusion it would
/// change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replay {
    /// How many changes were decided again.
    pub replayed: usize,
    /// Changes whose record cannot be decided again (recorded before
    /// Warrant kept an evaluation's facts, or missing a file's text).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_replayable: usize,
    /// Each change whose conclusion would differ, most recent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flips: Vec<Flip>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A past change the proposed policy would decide otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flip {
    pub repository: String,
    pub number: u64,
    /// What was published.
    pub from: Conclusion,
    /// What the proposed policy concludes.
    pub to: Conclusion,
    /// Why, in the words of the check's title it would show.
    pub reason: String,
    /// Facts the proposed policy asks for that the change's record does
    /// not hold (a team the policy in force did not name): taken as
    /// absent, so the replay may be stricter than the forge would be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecorded: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySource {
    /// The repository the file was read from, for an organisation policy
    /// (`acme/.github`); absent for the change's own repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub path: RepoPath,
    pub blob_id: String,
}

/// Which policy a requirement or violation comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The change's repository's policy (absent in recorded decisions).
    #[default]
    Repository,
    /// The organisation policy.
    Organisation,
}

impl Origin {
    pub fn is_repository(&self) -> bool {
        *self == Origin::Repository
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Repository => "repository",
            Origin::Organisation => "organisation",
        }
    }
}

/// One policy decided on a change under an organisation policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub from: Origin,
    pub mode: Mode,
    /// What this policy alone concludes, before its mode.
    pub would_conclude: Conclusion,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyErrorView {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// An agent found in the change.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentFinding {
    /// The registered agent's id, or for an unregistered agent the catalog
    /// id (`catalog:devin`) or the bot login (`bot:some-app[bot]`).
    pub id: String,
    pub status: Registration,
    /// The catalog entry whose signals matched, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// When the registration lapses (`expires`), for the access review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
    /// Under an organisation policy, the policy that registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<Origin>,
    pub signals: Vec<SignalMatch>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Registration {
    Registered,
    Unregistered,
    /// Its registration expired before the evaluation time.
    Lapsed {
        expired_at: DateTime<Utc>,
    },
}

/// One piece of evidence that an agent took part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalMatch {
    pub kind: SignalKind,
    /// `true` for the forge's own account model (the change author account
    /// is a bot or app); `false` for what anyone can write: emails, names,
    /// trailers, body text and commit logins linked from them.
    pub verified: bool,
    /// Where it was seen: `change author`, `commit 1a2b3c4 author`, ...
    pub source: String,
    /// What was seen.
    pub value: String,
    /// The signal that matched it.
    pub pattern: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// The account that opened the change (verified).
    Account,
    /// A bot account that no catalog entry or registration names.
    BotAccount,
    /// The account a commit author or committer is linked to.
    CommitLogin,
    Email,
    Name,
    Trailer,
    Body,
}

/// Approvals that a change needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Requirement {
    /// Stable within a decision: `scope:<agent>`, `sensitive:<name>`,
    /// `policy-file`, `unregistered-agents`.
    pub id: String,
    /// The policy that raised it (the organisation's, when both raise it).
    #[serde(default, skip_serializing_if = "Origin::is_repository")]
    pub from: Origin,
    /// Why it is needed, in a sentence fragment ("infrastructure").
    pub label: String,
    pub paths: Vec<RepoPath>,
    /// Who may approve, as written (`owner` already resolved).
    pub approvers: Vec<String>,
    pub min_approvals: u32,
    /// Approvals that counted.
    pub approved_by: Vec<Login>,
    /// Approvals that did not count, each with its reason.
    pub not_counted: Vec<RefusedApproval>,
    pub satisfied: bool,
    /// With `codeowners` among the approvers: for each covered path (and,
    /// on GitLab, each section owning it), its code owners and who of them
    /// approved. Absent in decisions recorded before CODEOWNERS support.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owned_paths: Vec<PathOwnership>,
    /// Covered paths that no CODEOWNERS line owns: the other approvers
    /// listed may approve them, and with none they cannot be approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unowned: Vec<UnownedPath>,
}

impl Requirement {
    /// Approvals still needed: overall, or on the path that lacks most.
    pub fn missing(&self) -> u32 {
        let overall = self
            .min_approvals
            .saturating_sub(self.approved_by.len() as u32);
        let owned = self.owned_paths.iter().map(PathOwnership::missing);
        let unowned = self
            .unowned
            .iter()
            .map(|u| u32::from(u.approved_by.is_empty()));
        owned.chain(unowned).fold(overall, u32::max)
    }
}

/// Who owns a covered path (in one CODEOWNERS section) and who approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathOwnership {
    pub path: RepoPath,
    /// The CODEOWNERS line that decided it (1-based).
    pub line: usize,
    /// The GitLab section, when the line is in a named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Owners as written (`@alice`, `@octo-org/security`).
    pub owners: Vec<String>,
    /// Owners Warrant cannot check an approval against (email addresses,
    /// GitLab roles): reported, never counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Approvals needed from these owners: GitLab's `[Section][N]`, else
    /// 1; 0 in an optional section when a required one owns the path too.
    pub required: u32,
    /// Eligible approvals from these owners.
    pub approved_by: Vec<Login>,
}

impl PathOwnership {
    pub fn missing(&self) -> u32 {
        self.required.saturating_sub(self.approved_by.len() as u32)
    }
}

/// A covered path that no CODEOWNERS line owns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnownedPath {
    pub path: RepoPath,
    /// Owners named only as email addresses or roles, which Warrant
    /// cannot check (the path is then treated as unowned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// Eligible approvals from the list's other approvers.
    pub approved_by: Vec<Login>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedApproval {
    pub reviewer: Login,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<u64>,
    pub reason: RefusalReason,
}

/// Why an approval did not count (rule 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The reviewer later requested changes, or the approval was dismissed.
    Withdrawn,
    /// Given on an earlier head commit (`stale_on_push`).
    Stale,
    /// The reviewer is an agent or bot.
    Agent,
    /// The reviewer opened the change.
    ChangeAuthor,
    /// The reviewer asked an agent for the change.
    Requester,
    /// The reviewer authored, committed or co-authored commits in it.
    Contributor,
    /// The reviewer is not one of the requirement's approvers.
    NotAnApprover,
}

impl RefusalReason {
    pub fn describe(self) -> &'static str {
        match self {
            RefusalReason::Withdrawn => "withdrawn by a later review or dismissal",
            RefusalReason::Stale => "given on an earlier commit",
            RefusalReason::Agent => "agents and bots never count as approvers",
            RefusalReason::ChangeAuthor => "the author of the change cannot approve it",
            RefusalReason::Requester => "the human who asked the agent cannot approve",
            RefusalReason::Contributor => "contributors to the change cannot approve it",
            RefusalReason::NotAnApprover => "not one of the approvers",
        }
    }
}

/// Something the policy forbids, or records as irregular.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Violation {
    pub kind: ViolationKind,
    /// The policy it comes from.
    #[serde(default, skip_serializing_if = "Origin::is_repository")]
    pub from: Origin,
    /// The line of its one path it is about, when there is one (an error
    /// in a proposed policy): its annotation points there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub message: String,
    pub paths: Vec<RepoPath>,
    /// Whether it fails the check by itself.
    pub blocking: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    OutOfScope,
    TooManyFiles,
    PolicyFileChangedByAgent,
    UnregisteredAgent,
    LapsedRegistration,
    AgentApprovalIgnored,
    InvalidPolicy,
    /// The CODEOWNERS file a policy relies on does not parse (blocking).
    InvalidCodeowners,
    /// A change proposes a policy file that does not load (blocking): it
    /// would fail every check once merged.
    ProposedPolicyInvalid,
    /// Paths no code owner owns, in a requirement that lists no other
    /// approvers: it cannot be met (blocking).
    UnownedPaths,
    /// Code owners Warrant cannot check (email addresses, roles).
    UnsupportedCodeowners,
}

/// An elevation that allowed paths during its window.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ElevationUse {
    pub agent: String,
    pub reason: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub paths: Vec<RepoPath>,
}

/// A review the forge adapter should dismiss.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dismissal {
    pub review_id: u64,
    pub reviewer: Login,
    pub message: String,
}
