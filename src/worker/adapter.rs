//! What differs between forges in an evaluation, behind one trait: the
//! evaluation itself (`evaluate`) is written once, above the adapters.

use crate::audit::rollback::MergeMethod;
use crate::engine::{Change, Context, Decision, Forge};
use crate::forge::check::CheckOutcome;
use crate::forge::{OrgPolicyFile, PolicyFile};
use crate::ids::{ChangeKey, CommitSha, Login, RepoName, TeamName};
use crate::store::ClaimedDelivery;

use super::history::Closed;

/// Where the organisation policy of a change comes from.
pub(crate) enum OrgPolicySource {
    /// Read with the change: the file, or none.
    Read(Option<OrgPolicyFile>),
    /// To be read from the organisation's repository.
    At(RepoName),
}
use super::shown::{Known, Needs, Stored};
use super::target::Target;
use super::work::Work;
use super::{Failure, Worker};

/// A forge as the evaluation sees it: read a change, resolve who is who,
/// publish the `warrant` check.
pub(super) trait Adapter: Sync {
    /// The forge this adapter speaks to.
    const FORGE: Forge;

    /// Whether the forge lets Warrant withdraw another account's approval
    /// (GitHub dismisses reviews; GitLab has no such thing, so an agent's
    /// approval there is ignored and recorded, never revoked).
    const DISMISSES: bool;

    /// A published check, as the forge knows it: a check run's id on
    /// GitHub; on GitLab, where a status is named by its commit, the state
    /// and description last shown.
    type Run: Send + Sync;

    /// What one read of a change returns.
    type Snapshot: Send + Sync;

    /// How the forge addresses a change beyond its repository and number
    /// (GitHub: the app installation to act as; GitLab: the source branch,
    /// to which a commit status is tied).
    type At: Clone + std::fmt::Debug + Send + Sync;

    /// How the forge addresses a repository for a request about no one
    /// change (GitHub: the app installation; GitLab: nothing beyond the
    /// project's path).
    type Address: Send + Sync;

    /// What only this forge does with a delivery (GitHub: merge groups).
    type Own: Send;

    /// A delivery, in the forge's webhook terms.
    type Event: Send + Sync;

    /// Reads a stored delivery: `None` for what Warrant does not act on,
    /// an error (a permanent failure) for a payload it cannot read.
    fn parse(event: &str, payload: &[u8]) -> Result<Option<Self::Event>, String>;

    /// What the delivery asks of the worker.
    fn work<'a>(
        &self,
        event: &'a Self::Event,
        delivery: &'a ClaimedDelivery,
    ) -> Result<Work<'a, Self>, Failure>
    where
        Self: Sized;

    fn change(snapshot: &Self::Snapshot) -> &Change;

    /// The policy file at the base commit, if there is one.
    fn policy(snapshot: &Self::Snapshot) -> Option<&PolicyFile>;

    /// The organisation policy of the change: read with it (GitHub), or
    /// the organisation's repository to read it from (GitLab), which the
    /// evaluation reads through [`Adapter::read_org_policy`] when what the
    /// store keeps is stale.
    fn org_policy(&self, snapshot: &Self::Snapshot) -> OrgPolicySource;

    /// `warrant-org.yml` at the head of the default branch of the
    /// organisation's repository `repo`, if there is one.
    async fn read_org_policy(&self, repo: &RepoName) -> anyhow::Result<Option<PolicyFile>>;

    /// The first of `paths` that exists at commit `sha` of the change's
    /// repository (the policy a change proposes, at its head), which
    /// `snapshot` may already hold.
    async fn head_file(
        &self,
        t: &Target<Self::At>,
        snapshot: &Self::Snapshot,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>>;

    /// Whether `repo` is its organisation's repository, where
    /// `warrant-org.yml` is the organisation policy.
    fn is_org_repository(&self, repo: &RepoName) -> bool;

    /// The CODEOWNERS file at the base commit, if there is one. Asked for
    /// only when the policy names `codeowners`: GitHub reads it with the
    /// change, GitLab with one more request per candidate path.
    async fn codeowners(
        &self,
        t: &Target<Self::At>,
        snapshot: &Self::Snapshot,
    ) -> anyhow::Result<Option<PolicyFile>>;

    /// Why the snapshot cannot be decided on (a listing cut short by the
    /// forge, a truncated policy), if it cannot: Warrant then fails closed.
    fn incomplete(snapshot: &Self::Snapshot) -> Option<&'static str>;

    /// The run's number for the audit trail, if it has one.
    fn run_id(run: &Self::Run) -> Option<u64>;

    /// Whether the forge names a published check by an id the store keeps
    /// (GitHub's check runs); otherwise what a commit shows is rebuilt
    /// from what Warrant last published there.
    const RUN_HAS_ID: bool;

    /// What of the store's [`Known`] the read uses.
    const NEEDS: Needs;

    /// The check the store says is shown on a commit, in the forge's terms.
    fn stored(stored: &Stored) -> Option<Self::Run>;

    /// Whether to show the check running while the change is read, given
    /// what the store knows of it.
    fn shows_running(known: &Known) -> bool;

    /// Shows the check running on the target's head, linking to
    /// `details`. The evaluation calls it holding the commit's lease, as
    /// every write to the check is.
    async fn show_running(
        &self,
        t: &Target<Self::At>,
        details: Option<&str>,
    ) -> anyhow::Result<Self::Run>;

    /// Reads the change, with what the store knows of it.
    async fn read(&self, t: &Target<Self::At>, known: &Known) -> anyhow::Result<Self::Snapshot>;

    /// Closes the check of a commit that is no longer the head.
    async fn supersede(&self, t: &Target<Self::At>, run: Self::Run) -> anyhow::Result<()>;

    /// Members of `teams` (`org/team` on GitHub, `group/subgroup` on GitLab)
    /// and Warrant's own accounts.
    async fn context(
        &self,
        t: &Target<Self::At>,
        teams: &[&TeamName],
        snapshot: &Self::Snapshot,
    ) -> anyhow::Result<Context>;

    /// Who administers the repository: the last approvers of an
    /// unregistered agent when the policy names none.
    async fn admins(&self, t: &Target<Self::At>) -> anyhow::Result<Vec<Login>>;

    /// Shows `outcome` on `head`: completes `run`, or publishes anew. The
    /// check belongs to the commit: `outcome` stands for every open change
    /// whose head it is.
    async fn publish(
        &self,
        t: &Target<Self::At>,
        head: &CommitSha,
        run: Option<Self::Run>,
        outcome: &CheckOutcome,
        details: Option<&str>,
    ) -> anyhow::Result<Self::Run>;

    /// Answers for the change itself where the forge asks per change as
    /// well as per commit (GitLab's external status checks), with the
    /// change's own `outcome`. Nothing on GitHub.
    async fn answer(
        &self,
        _t: &Target<Self::At>,
        _head: &CommitSha,
        _outcome: &CheckOutcome,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// Whether the author of an override command is a bot, where the
    /// event does not say for sure: GitHub's comment event does (the
    /// account's `type`); GitLab asks the API.
    async fn commenter_is_bot(
        &self,
        comment: &crate::forge::comment::OverrideComment,
    ) -> anyhow::Result<bool> {
        Ok(comment.author_bot)
    }

    /// Writes `body` on the change's conversation (a comment on GitHub, a
    /// note on GitLab): Warrant's answer to an override command.
    async fn comment(&self, key: &ChangeKey, at: &Self::At, body: &str) -> anyhow::Result<()>;

    /// Withdraws the agents' approvals the decision names (only called
    /// when [`Adapter::DISMISSES`]).
    async fn dismiss(&self, t: &Target<Self::At>, decision: &Decision) -> anyhow::Result<()>;

    /// The policy file at commit `sha` of `repo`, if there is one: a push
    /// that changed it is recorded with it.
    async fn policy_at(
        &self,
        at: &Self::Address,
        repo: &RepoName,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>>;

    /// The changes the forge associates with commit `sha` of `repo`, to
    /// tell whether a pushed commit came by a merge (see `docs/alerts.md`,
    /// "How Warrant tells a push from a merge"); `None` when the forge
    /// cannot be asked (a GitHub delivery without an installation).
    async fn changes_of_commit(
        &self,
        at: &Self::Address,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<Option<Vec<crate::forge::push::AssociatedChange>>>;

    /// How a merged change was merged, where the forge needs a request to
    /// tell; `None` to keep what its event said.
    async fn merge_method(
        &self,
        t: &Target<Self::At>,
        closed: &Closed<'_>,
    ) -> anyhow::Result<Option<MergeMethod>>;

    /// Does what only this forge does.
    async fn act_own(
        &self,
        w: &Worker,
        own: Self::Own,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure>;

    /// The account Warrant acts as on this forge, for the audit trail;
    /// `None` while the forge does not say.
    async fn acting_as(&self) -> Option<Login>;
}
