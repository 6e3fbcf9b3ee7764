//! What the worker records besides evaluations, the same way for both
//! forges: a delivery's arrival, a change merged or closed, the policy
//! changed on the default branch.

use chrono::Utc;

use super::Worker;
use crate::audit::rollback::MergeMethod;
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::{Forge, Origin};
use crate::forge::PolicyFile;
use crate::forge::push::Push;
use crate::ids::{ChangeKey, CommitSha, RepoName};
use crate::policy::ORG_POLICY_FILE;
use crate::store::ClaimedDelivery;
use crate::store::changes::NewMerge;

/// A change closed, merged or not.
pub(super) struct Closed<'a> {
    pub key: ChangeKey,
    pub head_sha: &'a CommitSha,
    pub base_sha: Option<&'a CommitSha>,
    /// Who merged or closed it.
    pub actor: Option<&'a str>,
    pub merged: bool,
    pub merge_commit: Option<&'a CommitSha>,
    pub method: Option<MergeMethod>,
    /// The change's commits, when the forge says.
    pub commits: Option<u64>,
}

/// A push to the default branch that lists commits: its agent commits are
/// checked for review (`worker/pushes.rs`), and the policies it changed,
/// if any (the repository's, or, in the organisation's repository, the
/// organisation policy, or both), are recorded.
pub(super) struct BranchPush<'a> {
    pub forge: Forge,
    pub repo: &'a RepoName,
    pub push: &'a Push,
    /// Whether `repo` is the organisation's repository (where
    /// `warrant-org.yml` is the organisation policy).
    pub org_repository: bool,
    /// The organisation's repository, whose policy (as the store keeps
    /// it) registers agents for `repo` too.
    pub org_policy_at: Option<RepoName>,
}

impl<'a> BranchPush<'a> {
    /// The push as one the worker acts on, when it is to the default
    /// branch and lists commits (`org_name`: the name of the
    /// organisation's repository under the owner or top-level group).
    pub fn of(
        forge: Forge,
        repo: &'a RepoName,
        push: &'a Push,
        org_name: &str,
    ) -> Option<BranchPush<'a>> {
        let owner = repo.as_str().split_once('/').map(|(owner, _)| owner);
        push.needs_processing().then(|| BranchPush {
            forge,
            repo,
            push,
            org_repository: crate::forge::is_org_repository(repo.as_str(), org_name),
            org_policy_at: owner.and_then(|o| RepoName::parse(&format!("{o}/{org_name}")).ok()),
        })
    }

    /// The files of the policies the push changed, each with what it is.
    pub fn changed(&self) -> Vec<(Origin, &'static [&'static str])> {
        let own = self.forge.policy_paths();
        let org: &'static [&'static str] = &[ORG_POLICY_FILE];
        let touches =
            |paths: &[&str]| (self.push.changed_paths.iter()).any(|p| paths.contains(&p.as_str()));
        let mut changed = Vec::new();
        if self.org_repository && touches(org) {
            changed.push((Origin::Organisation, org));
        }
        if touches(own) {
            changed.push((Origin::Repository, own));
        }
        changed
    }
}

impl Worker {
    /// Records the forge's id of the repository a delivery is about, the
    /// first time its name is seen, so that the audit pages grant access
    /// by id ([`crate::server::access`]). A later delivery under the same
    /// name with another id (the name was taken by a new repository) keeps
    /// the first, and is logged: the trail under that name began with it.
    pub(super) async fn record_repository(
        &self,
        forge: Forge,
        repo: &RepoName,
        id: u64,
        delivery: &ClaimedDelivery,
    ) -> Result<(), super::Failure> {
        let recorded = self
            .store
            .record_repository(forge, repo, id, delivery.received_at)
            .await
            .map_err(super::Failure::retry)?;
        if recorded != id {
            tracing::warn!(
                forge = forge.as_str(),
                repo = repo.as_str(),
                recorded,
                reported = id,
                delivery = %delivery.delivery_id,
                "a repository name Warrant has a trail of now names another repository: \
                 signed-in users are not shown that trail"
            );
        }
        Ok(())
    }

    /// Records a merge (with its method, for the revert command) or a
    /// close, in the merges table and the audit trail.
    pub(super) async fn record_close(&self, c: &Closed<'_>, delivery: &str) -> anyhow::Result<()> {
        let merge = c.merge_commit.filter(|_| c.merged);
        tracing::info!(repo = %c.key.repo, change = c.key.number, merged = c.merged, merge_commit = ?merge.map(CommitSha::as_str), "change closed");
        let kind = if c.merged {
            EventKind::ChangeMerged
        } else {
            EventKind::ChangeClosed
        };
        let mut event = NewAuditEvent::new(c.key.forge, &c.key.repo, kind, Utc::now());
        event.change = Some(c.key.number);
        event.head_sha = Some(c.head_sha.as_str().to_owned());
        event.base_sha = c.base_sha.map(|b| b.as_str().to_owned());
        event.actor = c.actor.map(str::to_owned);
        let mut event = event.with_detail("delivery", delivery);
        if let Some(sha) = merge {
            event = event
                .with_detail("merge_commit_sha", sha.as_str())
                .with_detail("merge_method", c.method.map(MergeMethod::as_str))
                .with_detail("commits", c.commits);
            self.store
                .record_merge_details(&NewMerge {
                    change: &c.key,
                    head_sha: c.head_sha.as_str(),
                    merge_commit_sha: Some(sha.as_str()),
                    method: c.method,
                    commit_count: c.commits.and_then(|n| u32::try_from(n).ok()),
                    delivery_id: Some(delivery),
                    recorded_at: Utc::now(),
                })
                .await?;
        }
        let mut events = vec![event];
        let mut alerts = Vec::new();
        if let Some(sha) = merge {
            let (relaxed, raised) = self.relaxations_merged(c, sha, delivery).await?;
            events.extend(relaxed);
            alerts = raised;
        }
        self.store.append_audit_alerting(&events, &alerts).await?;
        Ok(())
    }

    /// A merged change that proposed a policy relaxing the one in force:
    /// one `policy_relaxed` event per proposed file, with each relaxation
    /// and who approved, from its last decision, and the alert of each.
    /// Recorded on any merge: a policy governs the changes into the branch
    /// it is merged into.
    async fn relaxations_merged(
        &self,
        c: &Closed<'_>,
        merge: &CommitSha,
        delivery: &str,
    ) -> anyhow::Result<(Vec<NewAuditEvent>, Vec<crate::store::alerts::NewAlert>)> {
        let decision = (self.store.last_decision(&c.key).await?)
            .and_then(|d| serde_json::from_str::<crate::engine::Decision>(&d).ok());
        let Some(decision) = decision else {
            return Ok(Default::default());
        };
        let mut alerts = Vec::new();
        let mut approved_by: Vec<&str> = (decision.requirements.iter())
            .flat_map(|r| r.approved_by.iter().map(|l| l.as_str()))
            .collect();
        approved_by.sort();
        approved_by.dedup();
        let mut events = Vec::new();
        for proposed in &decision.proposed {
            let relaxations: Vec<String> = (proposed.differences.iter())
                .filter(|d| d.effect == crate::policy::diff::Effect::Relaxed)
                .map(|d| format!("{}: {}", d.key, d.change))
                .collect();
            if relaxations.is_empty() {
                continue;
            }
            let mut event = NewAuditEvent::new(
                c.key.forge,
                &c.key.repo,
                EventKind::PolicyRelaxed,
                Utc::now(),
            );
            event.change = Some(c.key.number);
            event.head_sha = Some(c.head_sha.as_str().to_owned());
            event.actor = c.actor.map(str::to_owned);
            event.paths = vec![proposed.path.to_string()];
            event.policy_blob = Some(proposed.blob_id.clone());
            let before = match proposed.from {
                crate::engine::Origin::Repository => decision.policy.as_ref(),
                crate::engine::Origin::Organisation => decision.org_policy.as_ref(),
            };
            alerts.extend(self.relaxed_alert(
                &c.key,
                serde_json::json!({
                    "repository": c.key.repo.as_str(),
                    "number": c.key.number,
                    "policy": proposed.path.as_str(),
                    "scope": proposed.from.as_str(),
                    "blob_before": before.map(|p| p.blob_id.as_str()),
                    "blob_after": proposed.blob_id,
                    "relaxations": relaxations,
                    "commit": merge.as_str(),
                    "merged_by": c.actor,
                    "approved_by": approved_by,
                }),
            ));
            events.push(
                event
                    .with_detail("delivery", delivery)
                    .with_detail("scope", proposed.from.as_str())
                    .with_detail("merge_commit_sha", merge.as_str())
                    .with_detail("relaxations", relaxations)
                    .with_detail("approved_by", approved_by.clone()),
            );
        }
        Ok((events, alerts))
    }

    /// A change to the policy on the default branch, for the audit trail:
    /// the new policy's blob (`file`, read at the pushed commit), whether
    /// it is valid, and the teams it names (stored now as hints, so that
    /// the next evaluation resolves them at once).
    pub(super) async fn policy_change_event(
        &self,
        push: &BranchPush<'_>,
        (origin, paths): (Origin, &[&str]),
        file: Option<&PolicyFile>,
        delivery: &str,
    ) -> anyhow::Result<NewAuditEvent> {
        let at = Utc::now();
        let forge = push.forge;
        let mut event = NewAuditEvent::new(forge, push.repo, EventKind::PolicyChanged, at);
        event.head_sha = Some(push.push.after.as_str().to_owned());
        event.base_sha = Some(push.push.before.as_str().to_owned());
        event.actor = push.push.pusher.clone();
        event.paths = push
            .push
            .changed_paths
            .iter()
            .filter(|p| paths.contains(&p.as_str()))
            .cloned()
            .collect();
        let mut event = event
            .with_detail("delivery", delivery)
            .with_detail("ref", push.push.git_ref.as_str());
        if origin == Origin::Organisation {
            // Every repository of the organisation decides under it from
            // now on: what the store keeps for the forges that read it
            // apart from the change is replaced at once.
            event = event.with_detail("scope", origin.as_str());
            self.keep_org_policy(push.forge, push.repo, file, at)
                .await?;
        }
        match file {
            None => event = event.with_detail("policy", "removed"),
            Some(file) => {
                event.policy_blob = Some(file.blob_id.clone());
                event = event.with_detail("path", file.path.as_str());
                match crate::policy::load(file.path.as_str(), &file.text) {
                    Ok(policy) => {
                        let teams: Vec<String> = policy
                            .teams()
                            .iter()
                            .map(|t| t.as_str().to_owned())
                            .collect();
                        if origin == Origin::Repository {
                            self.store
                                .record_policy_teams(forge, push.repo, &file.blob_id, &teams, at)
                                .await?;
                        }
                        event = event
                            .with_detail("policy", "valid")
                            .with_detail("teams", teams);
                    }
                    Err(errors) => {
                        let first: Vec<String> =
                            errors.0.iter().take(5).map(ToString::to_string).collect();
                        event = event
                            .with_detail("policy", "invalid")
                            .with_detail("errors", first);
                    }
                }
            }
        }
        Ok(event)
    }
}

/// What a delivery is about, for its receipt in the audit trail.
pub(super) struct Subject<'a> {
    pub repo: &'a RepoName,
    pub change: Option<u64>,
    pub head: Option<&'a CommitSha>,
    pub action: Option<serde_json::Value>,
}

/// The audit trail's record of a delivery's arrival.
pub(super) fn receipt(
    forge: Forge,
    delivery: &ClaimedDelivery,
    about: Subject<'_>,
) -> NewAuditEvent {
    let mut receipt = NewAuditEvent::new(
        forge,
        about.repo,
        EventKind::DeliveryReceived,
        delivery.received_at,
    );
    receipt.change = about.change;
    receipt.head_sha = about.head.map(|h| h.as_str().to_owned());
    receipt
        .with_detail("delivery", delivery.delivery_id.as_str())
        .with_detail("event", delivery.event.as_str())
        .with_detail("action", about.action)
}
