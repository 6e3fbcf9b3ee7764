//! Leases between workers and replicas: one evaluation of a change at a
//! time, one publication to a commit at a time. A lease is a row in the
//! store with an owner and an end, so a crashed worker's lease runs out
//! with its delivery's.

use std::time::Instant;

use chrono::Utc;

use super::Worker;
use super::target::Target;
use crate::engine::Forge;
use crate::ids::{ChangeKey, CommitSha, RepoName};
use crate::store::ClaimedDelivery;

/// How long a worker waits for another to finish with a change before
/// retrying the delivery later, and how often it looks meanwhile.
const CHANGE_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
const CHANGE_LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

impl Worker {
    /// Runs `work` holding the store's `lease`, so that no other replica
    /// evaluates the change (or publishes to the commit) meanwhile. Waits a
    /// while for a lease held by another worker; a lease of a crashed one
    /// runs out with its delivery's.
    pub(super) async fn leased<T>(
        &self,
        lease: Lease<'_>,
        claimed: &ClaimedDelivery,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let owner = format!("{}/{}", self.config.name, claimed.id);
        let deadline = Instant::now() + CHANGE_LEASE_WAIT;
        loop {
            if lease.take(self, &owner).await? {
                break;
            }
            if Instant::now() >= deadline {
                anyhow::bail!("another worker is {}", lease.busy());
            }
            tokio::time::sleep(CHANGE_LEASE_POLL).await;
        }
        let result = work.await;
        if let Err(err) = lease.release(self, &owner).await {
            tracing::warn!(error = %format!("{err:#}"), "cannot release a lease; it will run out");
        }
        result
    }

    /// Runs `work` holding the lease on publishing to `head`.
    pub(super) async fn on_head<X, T>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        claimed: &ClaimedDelivery,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        self.on_commit(t.key.forge, &t.key.repo, head, claimed, work)
            .await
    }

    /// Runs `work` holding the lease on publishing to commit `head` of
    /// `repo`, which may be no change's head (a merge group's).
    pub(super) async fn on_commit<T>(
        &self,
        forge: Forge,
        repo: &RepoName,
        head: &CommitSha,
        claimed: &ClaimedDelivery,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        self.leased(Lease::Head(forge, repo, head), claimed, work)
            .await
    }
}

/// What a worker holds while it works: a change (one evaluation of it at a
/// time) or a head commit (one publication to it at a time).
#[derive(Clone, Copy, Debug)]
pub(super) enum Lease<'a> {
    Change(&'a ChangeKey),
    Head(Forge, &'a RepoName, &'a CommitSha),
}

impl Lease<'_> {
    async fn take(self, w: &Worker, owner: &str) -> anyhow::Result<bool> {
        let (store, lease, now) = (&w.store, w.config.lease, Utc::now());
        match self {
            Lease::Change(change) => store.lease_change(change, owner, lease, now).await,
            Lease::Head(forge, repo, head) => {
                store
                    .lease_head(forge, repo, head.as_str(), owner, lease, now)
                    .await
            }
        }
    }

    async fn release(self, w: &Worker, owner: &str) -> anyhow::Result<()> {
        match self {
            Lease::Change(change) => w.store.release_change(change, owner).await,
            Lease::Head(forge, repo, head) => {
                w.store
                    .release_head(forge, repo, head.as_str(), owner)
                    .await
            }
        }
    }

    fn busy(self) -> &'static str {
        match self {
            Lease::Change(..) => "evaluating this change",
            Lease::Head(..) => "publishing to this head commit",
        }
    }
}
