//! The GitLab adapter: which deliveries mean what, and the evaluation's
//! GitLab side: the merge request, its diffs, commits and approvals and the
//! policy at its base read through the API; the `warrant` commit status on
//! the head commit (and the answer to an external status check named
//! `warrant`, where a project has one); group members for `group/subgroup`
//! approvers.
//!
//! GitLab lists who approved but not on which commit, so the head of each
//! approval event is recorded as it arrives (`approvals_seen`) and an
//! approval counts on the commit it was seen given on. GitLab offers no way
//! to withdraw another account's approval: an agent's approval is ignored
//! and recorded, never revoked (see `docs/gitlab.md`).

mod approvals;
mod subject;

use std::sync::Arc;

use super::adapter::{Adapter, OrgPolicySource};
use super::evaluate::SUPERSEDED;
use super::history::{BranchPush, Closed};
use super::shown::{Known, Needs, Stored};
use super::target::Target;
use super::work::{Action, Work};
use super::{Failure, Worker};
use crate::audit::rollback::MergeMethod;
use crate::engine::{Change, Conclusion, Context, Decision, Forge};
use crate::forge::check::CheckOutcome;
use crate::forge::comment::OverrideComment;
use crate::forge::gitlab::client::GitlabClient;
use crate::forge::gitlab::merge_requests::MergeRequestSnapshot;
use crate::forge::gitlab::statuses::{
    CheckResponse, CommitStatus, StatusState, status_description,
};
use crate::forge::gitlab::webhook::{self as events, GitlabEvent, MergeRequestAction};
use crate::forge::push::AssociatedChange;
use crate::forge::{PolicyFile, is_org_repository};
use crate::ids::{ChangeKey, CommitSha, Login, RepoName, TeamName};
use crate::store::ClaimedDelivery;
use crate::store::approvals::SeenApproval;
use crate::store::changes::{ChangeRecord, ChangeStatus};
use approvals::reviews;
use subject::{project_identity, subject};

/// What the status says while Warrant reads a merge request.
pub const EVALUATING: &str = "Warrant is evaluating this merge request";

/// What a status replaced by a newer decision on the same commit says.
pub const REDECIDED: &str = "Replaced by a newer decision";

/// Warrant on one GitLab, with one token.
pub(super) struct Gitlab {
    client: Arc<GitlabClient>,
    /// The token's own account, read once per process.
    user: tokio::sync::OnceCell<Login>,
}

impl Gitlab {
    pub(super) fn new(client: Arc<GitlabClient>) -> Gitlab {
        Gitlab {
            client,
            user: tokio::sync::OnceCell::new(),
        }
    }

    /// The token's account: Warrant itself, never an unregistered agent.
    /// While GitLab does not answer, none (stricter, never more lenient).
    async fn own_logins(&self) -> Vec<Login> {
        let user = self
            .user
            .get_or_try_init(|| self.client.current_user())
            .await;
        match user {
            Ok(user) => vec![user.clone()],
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the GitLab token's account");
                Vec::new()
            }
        }
    }
}

/// A `warrant` status linking to `details`, the change's audit page.
fn status(
    t: &Target<String>,
    state: StatusState,
    description: &str,
    details: Option<&str>,
) -> CommitStatus {
    CommitStatus {
        state,
        description: description.to_owned(),
        target_url: details.map(str::to_owned),
        git_ref: Some(t.at.clone()),
    }
}

/// The `warrant` status Warrant last showed on a commit.
pub(super) struct Shown {
    state: StatusState,
    description: String,
}

impl From<&CommitStatus> for Shown {
    /// What GitLab shows of `status`: its description as cut on sending.
    fn from(status: &CommitStatus) -> Shown {
        Shown {
            state: status.state,
            description: status_description(&status.description),
        }
    }
}

impl Shown {
    /// Whether GitLab can move this status to `next` in place. A pending
    /// or running status moves on to a finished state; it cannot go back
    /// from running to pending, nor stay pending with a new description
    /// (GitLab refuses the repeated state). A finished status is followed
    /// by a new one.
    fn moves_to(&self, next: &CommitStatus) -> bool {
        match (self.state, next.state) {
            (StatusState::Running, StatusState::Pending) => false,
            (StatusState::Pending, StatusState::Pending) => {
                self.description == status_description(&next.description)
            }
            _ => true,
        }
    }
}

/// The merge request with its approvals as reviews.
pub(super) struct Snapshot {
    mr: MergeRequestSnapshot,
}

impl Adapter for Gitlab {
    const FORGE: Forge = Forge::Gitlab;

    const DISMISSES: bool = false;
    const RUN_HAS_ID: bool = false;
    /// The approvals seen, each on the head it was given at, and the last
    /// base, at which the read guesses the policy is.
    const NEEDS: Needs = Needs {
        team_hints: false,
        last_base: true,
        approvals_seen: true,
    };
    type Run = Shown;
    type Snapshot = Snapshot;
    /// The source branch, to which a commit status is tied.
    type At = String;
    type Event = GitlabEvent;
    /// A project's path is all GitLab needs.
    type Address = ();
    /// GitLab has nothing of its own to do.
    type Own = std::convert::Infallible;

    fn parse(event: &str, payload: &[u8]) -> Result<Option<GitlabEvent>, String> {
        events::parse(event, payload).map_err(|err| err.to_string())
    }

    fn work<'a>(
        &self,
        event: &'a GitlabEvent,
        delivery: &'a ClaimedDelivery,
    ) -> Result<Work<'a, Gitlab>, Failure> {
        Ok(self.read_work(event, delivery))
    }

    async fn policy_at(
        &self,
        _at: &(),
        repo: &RepoName,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>> {
        Ok(self
            .client
            .file_at(repo.as_str(), sha.as_str(), paths)
            .await?)
    }

    /// One request per commit.
    async fn changes_of_commit(
        &self,
        _at: &(),
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<Option<Vec<AssociatedChange>>> {
        let mrs = self.client.merge_requests_of_commit(repo.as_str(), sha);
        Ok(Some(mrs.await?))
    }

    /// The event said it: a merge commit, or none (fast-forward).
    async fn merge_method(
        &self,
        _t: &Target<String>,
        _closed: &Closed<'_>,
    ) -> anyhow::Result<Option<MergeMethod>> {
        Ok(None)
    }

    async fn act_own(
        &self,
        _w: &Worker,
        own: std::convert::Infallible,
        _delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        match own {}
    }

    fn change(snapshot: &Snapshot) -> &Change {
        &snapshot.mr.change
    }

    fn policy(snapshot: &Snapshot) -> Option<&PolicyFile> {
        snapshot.mr.policy.as_ref()
    }

    /// Read apart from the change, from the top-level group's project;
    /// none for a project outside any group.
    fn org_policy(&self, snapshot: &Snapshot) -> OrgPolicySource {
        let project = snapshot.mr.change.repository.as_str();
        let org = project.split_once('/').and_then(|(group, _)| {
            RepoName::parse(&format!("{group}/{}", self.client.org_repository)).ok()
        });
        match org {
            Some(org) => OrgPolicySource::At(org),
            None => OrgPolicySource::Read(None),
        }
    }

    /// One request, at the head of the default branch (`ref=HEAD`).
    async fn read_org_policy(&self, repo: &RepoName) -> anyhow::Result<Option<PolicyFile>> {
        let paths = [crate::policy::ORG_POLICY_FILE];
        Ok(self.client.file_at(repo.as_str(), "HEAD", &paths).await?)
    }

    /// For a change that edits a policy file: read with the merge request
    /// when it was read at `sha`, else one request per candidate path
    /// tried.
    async fn head_file(
        &self,
        t: &Target<String>,
        snapshot: &Snapshot,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>> {
        if let Some(read) = snapshot.mr.file_at_head(sha, paths) {
            return Ok(read?);
        }
        let project = t.key.repo.as_str();
        Ok(self.client.file_at(project, sha.as_str(), paths).await?)
    }

    fn is_org_repository(&self, repo: &RepoName) -> bool {
        is_org_repository(repo.as_str(), &self.client.org_repository)
    }

    /// Read at the base commit with the policy, at no request more.
    async fn codeowners(
        &self,
        _t: &Target<String>,
        snapshot: &Snapshot,
    ) -> anyhow::Result<Option<PolicyFile>> {
        snapshot.mr.codeowners.clone().map_err(anyhow::Error::msg)
    }

    fn incomplete(snapshot: &Snapshot) -> Option<&'static str> {
        if !snapshot.mr.files_complete {
            Some("GitLab did not list every changed file of this merge request.")
        } else if !snapshot.mr.commits_complete {
            Some("This merge request has more commits than Warrant reads (3,000).")
        } else {
            None
        }
    }

    /// A status has no number Warrant keeps: its commit names it.
    fn run_id(_: &Shown) -> Option<u64> {
        None
    }

    /// A status is named by its commit: what it shows is what Warrant
    /// last published there, if it was decided.
    fn stored(stored: &Stored) -> Option<Shown> {
        let (conclusion, title) = stored.shown.as_ref()?;
        Some(shown(*conclusion, title))
    }

    /// Always: `running` on a head evaluated for the first time, so that a
    /// merge request is never mergeable on Warrant's account before its
    /// decision (a head evaluated before keeps its status until the new
    /// decision).
    fn shows_running(_known: &Known) -> bool {
        true
    }

    async fn show_running(
        &self,
        t: &Target<String>,
        details: Option<&str>,
    ) -> anyhow::Result<Shown> {
        let running = status(t, StatusState::Running, EVALUATING, details);
        self.client
            .set_commit_status(t.key.repo.as_str(), &t.head_sha, &running)
            .await?;
        Ok(Shown::from(&running))
    }

    /// Reads the merge request, guessing its base is the last
    /// evaluation's, with the files at the head for a merge request that
    /// does not change them (a wrong guess otherwise costs one query more),
    /// and fills its reviews from the approvals, each on the head it was
    /// seen given at.
    async fn read(&self, t: &Target<String>, known: &Known) -> anyhow::Result<Snapshot> {
        let base = known.last_base.as_ref();
        let (project, iid) = (t.key.repo.as_str(), t.key.number);
        let mut mr = self
            .client
            .fetch_merge_request_at(project, iid, base, Some(&t.head_sha))
            .await?;
        mr.change.reviews = reviews(&mr, &known.approvals_seen);
        Ok(Snapshot { mr })
    }

    /// Cancels a status left pending or running on a commit that is no
    /// longer the head; a finished one stays as it is.
    async fn supersede(&self, t: &Target<String>, shown: Shown) -> anyhow::Result<()> {
        if shown.state.is_finished() {
            return Ok(());
        }
        let status = CommitStatus {
            state: StatusState::Canceled,
            description: SUPERSEDED.to_owned(),
            target_url: None,
            git_ref: Some(t.at.clone()),
        };
        self.client
            .set_commit_status(t.key.repo.as_str(), &t.head_sha, &status)
            .await?;
        Ok(())
    }

    async fn context(
        &self,
        _t: &Target<String>,
        teams: &[&TeamName],
        _snapshot: &Snapshot,
    ) -> anyhow::Result<Context> {
        Ok(Context {
            teams: self.client.group_members(teams).await?,
            repository_admins: Vec::new(),
            app_logins: self.own_logins().await,
            codeowners: Default::default(),
        })
    }

    /// The project's Maintainers and Owners.
    async fn admins(&self, t: &Target<String>) -> anyhow::Result<Vec<Login>> {
        Ok(self.client.project_maintainers(t.key.repo.as_str()).await?)
    }

    /// Posts the decision's status. Where GitLab cannot move the status
    /// shown to the new one in place (running back to pending, pending
    /// with another description), the shown one is canceled first and the
    /// new one starts afresh.
    async fn publish(
        &self,
        t: &Target<String>,
        head: &CommitSha,
        shown: Option<Shown>,
        outcome: &CheckOutcome,
        details: Option<&str>,
    ) -> anyhow::Result<Shown> {
        let next = status(t, state_of(outcome.conclusion), &outcome.title, details);
        if shown.is_some_and(|shown| !shown.moves_to(&next)) {
            let cancel = status(t, StatusState::Canceled, REDECIDED, details);
            self.client
                .set_commit_status(t.key.repo.as_str(), head, &cancel)
                .await?;
        }
        self.client
            .set_commit_status(t.key.repo.as_str(), head, &next)
            .await?;
        Ok(Shown::from(&next))
    }

    /// An external status check named `warrant` belongs to one merge
    /// request: it gets the merge request's own decision.
    async fn answer(
        &self,
        t: &Target<String>,
        head: &CommitSha,
        outcome: &CheckOutcome,
    ) -> anyhow::Result<()> {
        if let Some(check) = self
            .client
            .warrant_status_check(t.key.repo.as_str(), t.key.number)
            .await?
        {
            let response = response_of(outcome.conclusion);
            self.client
                .respond_to_status_check(t.key.repo.as_str(), t.key.number, head, check, response)
                .await?;
        }
        Ok(())
    }

    async fn dismiss(&self, _t: &Target<String>, _decision: &Decision) -> anyhow::Result<()> {
        Ok(())
    }

    /// A note event does not say: one request, for an override only.
    async fn commenter_is_bot(&self, c: &OverrideComment) -> anyhow::Result<bool> {
        match (c.author_bot, c.author_id) {
            (false, Some(id)) => Ok(self.client.user_is_bot(id).await?),
            (bot, _) => Ok(bot),
        }
    }

    async fn comment(&self, key: &ChangeKey, _at: &String, body: &str) -> anyhow::Result<()> {
        let project = key.repo.as_str();
        Ok(self.client.post_note(project, key.number, body).await?)
    }

    async fn acting_as(&self) -> Option<Login> {
        self.own_logins().await.into_iter().next()
    }
}

/// The status GitLab shows for a published conclusion and title.
fn shown(conclusion: Conclusion, title: &str) -> Shown {
    Shown {
        state: state_of(conclusion),
        description: status_description(title),
    }
}

/// The commit status for a conclusion: GitLab has no neutral state, so a
/// neutral check (observe mode, no policy) is `success`; waiting for a
/// human approval is `pending`, which keeps "Pipelines must succeed" from
/// merging.
pub fn state_of(conclusion: Conclusion) -> StatusState {
    match conclusion {
        Conclusion::Success | Conclusion::Neutral => StatusState::Success,
        Conclusion::ActionRequired => StatusState::Pending,
        Conclusion::Failure => StatusState::Failed,
    }
}

/// The answer to an external status check named `warrant`, for projects
/// that enforce Warrant that way (Ultimate): as the commit status, with
/// `passed` for both success and neutral.
pub fn response_of(conclusion: Conclusion) -> CheckResponse {
    match conclusion {
        Conclusion::Success | Conclusion::Neutral => CheckResponse::Passed,
        Conclusion::ActionRequired => CheckResponse::Pending,
        Conclusion::Failure => CheckResponse::Failed,
    }
}

impl Gitlab {
    /// A GitLab delivery in Warrant's terms. An approval event records the
    /// head it was seen at, since GitLab's API does not say which commit
    /// an approval was given on.
    fn read_work<'a>(
        &self,
        event: &'a GitlabEvent,
        delivery: &'a ClaimedDelivery,
    ) -> Work<'a, Gitlab> {
        let repository = project_identity(event).map(|(p, id)| (p.clone(), id));
        let subject = Some(subject(event));
        let mr = match event {
            GitlabEvent::MergeRequest(mr) => mr,
            GitlabEvent::Note(note) => return super::overrides::gitlab_work(note, repository),
            GitlabEvent::Push(push) => {
                let org = &self.client.org_repository;
                let push = BranchPush::of(Forge::Gitlab, &push.project, &push.push, org);
                let action = push.map_or(Action::Nothing, |push| Action::Push { push, at: () });
                return Work {
                    repository,
                    subject,
                    change: None,
                    approval: None,
                    action,
                };
            }
        };
        let approved = match mr.action {
            MergeRequestAction::Approval | MergeRequestAction::Approved => Some(true),
            MergeRequestAction::Unapproval | MergeRequestAction::Unapproved => Some(false),
            _ => None,
        };
        let approval = approved.zip(mr.actor.as_ref()).map(|(approved, actor)| {
            let seen = SeenApproval {
                approver: actor.clone(),
                head_sha: mr.head_sha.as_str().to_owned(),
                approved,
                at: delivery.received_at,
            };
            (
                ChangeKey::new(Forge::Gitlab, mr.project.clone(), mr.iid),
                seen,
            )
        });
        let target = target(&mr.project, mr.iid, &mr.head_sha, &mr.source_branch);
        let action = match mr.action {
            MergeRequestAction::Merge | MergeRequestAction::Close => Action::Close {
                closed: closed(mr),
                target: Some(target),
            },
            _ => Action::Evaluate(vec![target]),
        };
        Work {
            repository,
            subject,
            change: Some(change_record(mr, delivery)),
            approval,
            action,
        }
    }
}

/// Merge request `!iid` of `project` at `head_sha`, from `branch`.
fn target(project: &RepoName, iid: u64, head_sha: &CommitSha, branch: &str) -> Target<String> {
    Target {
        key: ChangeKey::new(Forge::Gitlab, project.clone(), iid),
        head_sha: head_sha.clone(),
        base_sha: None,
        at: branch.to_owned(),
    }
}

/// A merge request merged or closed. GitLab's event names the merge commit
/// when one was made; a fast-forward merge makes none, and its method is
/// then left unrecorded.
fn closed(mr: &events::MergeRequestEvent) -> Closed<'_> {
    Closed {
        key: ChangeKey::new(Forge::Gitlab, mr.project.clone(), mr.iid),
        head_sha: &mr.head_sha,
        base_sha: None,
        actor: mr.actor.as_deref(),
        merged: mr.action == MergeRequestAction::Merge,
        merge_commit: mr.merge_commit_sha.as_ref(),
        method: mr.merge_commit_sha.as_ref().map(|_| MergeMethod::Merge),
        commits: None,
    }
}

/// The merge request's own facts, for the audit pages. The event names
/// the author only by id: the one who opened it is the author.
fn change_record(mr: &events::MergeRequestEvent, delivery: &ClaimedDelivery) -> ChangeRecord {
    let state = match mr.action {
        MergeRequestAction::Merge => ChangeStatus::Merged,
        MergeRequestAction::Close => ChangeStatus::Closed,
        _ => ChangeStatus::Open,
    };
    let author = (mr.action == MergeRequestAction::Open)
        .then(|| mr.actor.clone())
        .flatten();
    ChangeRecord {
        change: ChangeKey::new(Forge::Gitlab, mr.project.clone(), mr.iid),
        title: mr.title.clone(),
        author,
        url: mr.url.clone(),
        state,
        updated_at: delivery.received_at,
    }
}
