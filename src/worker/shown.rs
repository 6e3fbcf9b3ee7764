//! What the check on a commit shows, as the store keeps it: the evaluation
//! reads and records it, so that an adapter only speaks to its forge.
//!
//! GitHub names a check run by its id, kept per commit (`check_runs`);
//! a GitLab commit status is named by its commit, and what it shows is
//! rebuilt from what Warrant last published there (`head_checks`, or the
//! change's last evaluation at that commit).

use chrono::Utc;

use super::Worker;
use super::adapter::Adapter;
use super::target::Target;
use crate::engine::Conclusion;
use crate::forge::check::CheckOutcome;
use crate::ids::{CommitSha, TeamName};
use crate::store::ClaimedDelivery;
use crate::store::approvals::SeenApproval;

/// How long the teams of a policy stay among the hints after its last use:
/// changes against older bases still apply older policies.
const HINT_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// What the store knows of a change before it is read.
#[derive(Clone, Debug, Default)]
pub(super) struct Known {
    /// The teams named by the policies (and CODEOWNERS) the repository
    /// applied lately; `None` for a repository never evaluated.
    pub team_hints: Option<Vec<TeamName>>,
    /// The base commit of the change's last evaluation.
    pub last_base: Option<CommitSha>,
    /// Approvals seen given or withdrawn, with the head each was seen at
    /// (GitLab's API does not say which commit an approval was given on).
    pub approvals_seen: Vec<SeenApproval>,
}

/// Which parts of [`Known`] an adapter's read uses: the others are not
/// read from the store (they cost a query on every evaluation).
#[derive(Clone, Copy, Debug)]
pub(super) struct Needs {
    pub team_hints: bool,
    /// Only read when the event did not name the base.
    pub last_base: bool,
    pub approvals_seen: bool,
}

/// What the store says Warrant last showed on a commit.
#[derive(Clone, Debug, Default)]
pub(super) struct Stored {
    /// The check run's id, where the forge names runs by id.
    pub check_run_id: Option<u64>,
    /// The conclusion and title last published there.
    pub shown: Option<(Conclusion, String)>,
}

impl Worker {
    /// What the store knows of `t`'s change that the adapter's read uses
    /// ([`Adapter::NEEDS`]).
    pub(super) async fn known<A: Adapter>(&self, t: &Target<A::At>) -> anyhow::Result<Known> {
        let (forge, needs) = (t.key.forge, A::NEEDS);
        let mut known = Known::default();
        if needs.team_hints {
            let since = Utc::now() - HINT_WINDOW;
            let hints = self
                .store
                .policy_team_hints(forge, &t.key.repo, since)
                .await?;
            known.team_hints = hints.map(|names| {
                names
                    .iter()
                    .filter_map(|name| TeamName::parse(name).ok())
                    .collect()
            });
        }
        if needs.last_base && t.base_sha.is_none() {
            known.last_base = self
                .store
                .last_base_sha(&t.key)
                .await?
                .and_then(|s| CommitSha::parse(&s).ok());
        }
        if needs.approvals_seen {
            known.approvals_seen = self.store.approvals_seen(&t.key).await?;
        }
        Ok(known)
    }

    /// The check already published on `head` (by any change whose head it
    /// is), if the store keeps a handle on it.
    pub(super) async fn stored_run<A: Adapter>(
        &self,
        t: &Target<A::At>,
        head: &CommitSha,
    ) -> anyhow::Result<Option<A::Run>> {
        let forge = t.key.forge;
        let mut stored = Stored::default();
        if A::RUN_HAS_ID {
            stored.check_run_id = self
                .store
                .check_run_id(forge, &t.key.repo, head.as_str())
                .await?;
        } else if let Some(check) = self
            .store
            .head_check(forge, &t.key.repo, head.as_str())
            .await?
        {
            stored.shown = Conclusion::parse(&check.conclusion).map(|c| (c, check.title));
        } else {
            // A head published before Warrant recorded what each shows:
            // this change's last decision there.
            let evaluations = self.store.evaluations(&t.key).await?;
            stored.shown = evaluations
                .iter()
                .rev()
                .find(|e| CommitSha::parse(&e.head_sha).is_ok_and(|sha| head.matches(&sha)))
                .and_then(|e| Some((Conclusion::parse(&e.conclusion)?, e.title.clone())));
        }
        Ok(A::stored(&stored))
    }

    /// The check shown running on the target's head while it is read: the
    /// one stored there, else one shown now and recorded (under the
    /// commit's lease: a commit has one check).
    pub(super) async fn show_running<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<A::Run> {
        let head = &t.head_sha;
        let show = async {
            if let Some(run) = self.stored_run::<A>(t, head).await? {
                return Ok(run);
            }
            let url = self.audit_url(t);
            let run = forge.show_running(t, url.as_deref()).await?;
            self.record_run::<A>(t, head, &run).await?;
            Ok(run)
        };
        self.on_head(t, head, claimed, show).await
    }

    /// Shows `outcome` on `head` through the forge, completing `run` or
    /// publishing anew, and records a new run's id.
    pub(super) async fn publish_run<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        head: &CommitSha,
        run: Option<A::Run>,
        outcome: &CheckOutcome,
    ) -> anyhow::Result<A::Run> {
        let created = run.is_none();
        let url = self.audit_url(t);
        let run = forge.publish(t, head, run, outcome, url.as_deref()).await?;
        if created {
            self.record_run::<A>(t, head, &run).await?;
        }
        Ok(run)
    }

    /// Records a run's id on its commit, where the forge names runs by id.
    async fn record_run<A: Adapter>(
        &self,
        t: &Target<A::At>,
        head: &CommitSha,
        run: &A::Run,
    ) -> anyhow::Result<()> {
        match A::run_id(run).filter(|_| A::RUN_HAS_ID) {
            Some(id) => {
                self.store
                    .record_check_run(t.key.forge, &t.key.repo, head.as_str(), id)
                    .await
            }
            None => Ok(()),
        }
    }
}
