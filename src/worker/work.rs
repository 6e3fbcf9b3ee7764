//! What a delivery asks of the worker, whatever its forge, and the one
//! place that does it.
//!
//! Each forge's adapter reads its own payloads into a [`Work`] (the
//! repository it names, what to note in the audit trail and on the audit
//! pages, and one [`Action`]); [`Worker::act_on`] then does the same steps
//! in the same order for every forge: record the repository's id, the
//! delivery's receipt (on its first attempt), the change's facts, an
//! approval seen, then the action. What differs by forge is only what the
//! forge does differently, behind [`Adapter`]: reading the merge method, the
//! policy at a commit, and what only one forge has (GitHub's merge
//! groups).

use super::adapter::Adapter;
use super::history::{BranchPush, Closed, Subject, receipt};
use super::target::Target;
use super::{Failure, Worker};
use crate::ids::{ChangeKey, RepoName};
use crate::store::ClaimedDelivery;
use crate::store::approvals::SeenApproval;
use crate::store::changes::ChangeRecord;

/// A delivery in Warrant's terms.
pub(super) struct Work<'a, A: Adapter> {
    /// The repository the delivery names, with the forge's id for it.
    pub repository: Option<(RepoName, u64)>,
    /// What the delivery is about, for its receipt; `None` for deliveries
    /// about no one repository (an installation).
    pub subject: Option<Subject<'a>>,
    /// The change's own facts, for the audit pages.
    pub change: Option<ChangeRecord>,
    /// An approval given or withdrawn on a change, and the head it was
    /// seen at.
    pub approval: Option<(ChangeKey, SeenApproval)>,
    pub action: Action<'a, A>,
}

/// What to do about a delivery.
pub(super) enum Action<'a, A: Adapter> {
    /// Nothing more than what [`Work`] records.
    Nothing,
    /// Evaluate each change at its head.
    Evaluate(Vec<Target<A::At>>),
    /// A change closed, merged or not: recorded, and the check on its head
    /// recomputed for the changes still there (when the forge lets
    /// Warrant act on it: `target`).
    Close {
        closed: Closed<'a>,
        target: Option<Target<A::At>>,
    },
    /// Commits pushed to the default branch, where `at` addresses the
    /// repository on the forge: agent commits that bypassed review and
    /// policy changes recorded (`worker/pushes.rs`).
    Push {
        push: BranchPush<'a>,
        at: A::Address,
    },
    /// An override command on a change: answered, or stored and the
    /// change evaluated again (see `worker/overrides.rs`).
    Override(super::overrides::Command<'a, A>),
    /// What only this forge does.
    Own(A::Own),
}

impl Worker {
    /// Reads a delivery with its forge's adapter and does what it asks.
    pub(super) async fn act_with<A: Adapter>(
        &self,
        forge: &A,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        let event = match A::parse(&delivery.event, &delivery.payload) {
            Ok(Some(event)) => event,
            Ok(None) => return Ok(()),
            Err(err) => return Err(Failure::Permanent(err)),
        };
        let work = forge.work(&event, delivery)?;
        self.act_on(forge, work, delivery).await
    }

    /// Does what a delivery asks, the same way for every forge.
    pub(super) async fn act_on<A: Adapter>(
        &self,
        forge: &A,
        work: Work<'_, A>,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        if let Some((repo, id)) = &work.repository {
            self.record_repository(A::FORGE, repo, *id, delivery)
                .await?;
        }
        if let Some(about) = work.subject.filter(|_| delivery.attempts == 1) {
            self.store
                .append_audit(&[receipt(A::FORGE, delivery, about)])
                .await
                .map_err(Failure::retry)?;
        }
        if let Some(change) = &work.change {
            self.store
                .upsert_change(change)
                .await
                .map_err(Failure::retry)?;
        }
        if let Some((change, seen)) = &work.approval {
            self.store
                .record_approval_seen(change, seen)
                .await
                .map_err(Failure::retry)?;
        }
        match work.action {
            Action::Nothing => Ok(()),
            Action::Evaluate(targets) => self.evaluate_all(forge, targets, delivery).await,
            Action::Close { closed, target } => self.close(forge, closed, target, delivery).await,
            Action::Push { push, at } => self.on_push(forge, &push, &at, delivery).await,
            // Boxed: the evaluation it runs is already a large future, and
            // inline it would grow every delivery's.
            Action::Override(command) => {
                Box::pin(self.override_command(forge, command, delivery)).await
            }
            Action::Own(own) => forge.act_own(self, own, delivery).await,
        }
    }

    /// A change closed: its merge method read where the forge needs a
    /// request for it, the close recorded, and the check on its head
    /// recomputed for the changes still there.
    async fn close<A: Adapter>(
        &self,
        forge: &A,
        mut closed: Closed<'_>,
        target: Option<Target<A::At>>,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        if let Some(t) = &target {
            closed.method = forge
                .merge_method(t, &closed)
                .await
                .map_err(Failure::retry)?
                .or(closed.method);
        }
        self.record_close(&closed, &delivery.delivery_id)
            .await
            .map_err(Failure::retry)?;
        match target {
            Some(t) => self.closed_at_head(forge, &t, delivery).await,
            None => Ok(()),
        }
    }
}
