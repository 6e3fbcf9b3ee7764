//! Merge queues: the `warrant` check on a merge group's head commit.
//!
//! A repository that requires `warrant` and merges through a merge queue
//! needs the check on each merge group: GitHub builds a commit merging the
//! pull requests ahead in the queue, and the last one, onto the base
//! branch's tip, and asks every required check for it (`merge_group`
//! `checks_requested`). Warrant decides each pull request of the group
//! again under the policy at the group's base commit (the policy may have
//! changed since the pull request was checked), with the change and its
//! reviews as its last evaluation recorded them, and the check concludes
//! the strictest decision, listing each pull request. A pull request that
//! cannot be decided, or a group whose pull requests Warrant cannot tell,
//! fails the group: a merge queue must never merge on a guess.

use chrono::Utc;

use super::Github;
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::{Change, Context, Forge};
use crate::evaluation::record::Input;
use crate::evaluation::{self, Applicable, Facts, Inputs};
use crate::forge::check::CheckOutcome;
use crate::forge::github::checks::CheckRunId;
use crate::forge::github::client::InstallationId;
use crate::forge::github::merge_queue::{MergeQueueSnapshot, QueuedPull};
use crate::forge::github::webhook::{MergeGroupAction, MergeGroupEvent};
use crate::forge::{PolicyFile, Teams};
use crate::ids::Login;
use crate::ids::TeamName;
use crate::store::ClaimedDelivery;
use crate::worker::adapter::Adapter;
use crate::worker::evaluate::{cannot_evaluate, still_held};
use crate::worker::heads::{Standing, listed, strictest_first};
use crate::worker::target::{NotAnApp, Target};
use crate::worker::{Failure, Worker};

/// The title of a merge group's check when Warrant cannot tell which pull
/// requests the group holds.
pub const UNKNOWN_GROUP: &str = "Warrant cannot tell which pull requests this merge group holds";

/// One pull request of a group, decided again.
struct Decided {
    pull: QueuedPull,
    position: u64,
    outcome: CheckOutcome,
}

impl Worker {
    /// A `merge_group` delivery: the check on the group's head commit, or
    /// the group's end recorded.
    pub(in crate::worker) async fn github_merge_group(
        &self,
        github: &Github,
        group: &MergeGroupEvent,
        claimed: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        if group.action == MergeGroupAction::Destroyed {
            return self
                .store
                .append_audit(&[destroyed(group)])
                .await
                .map(drop)
                .map_err(Failure::retry);
        }
        let installation = group.installation_id.map(InstallationId).ok_or(NotAnApp)?;
        let check = self.check_group(github, installation, group, claimed);
        let checked = self
            .on_commit(Forge::Github, &group.repo, &group.head_sha, claimed, check)
            .await;
        let Err(err) = checked else {
            return Ok(());
        };
        if self.last_attempt(claimed) {
            self.group_gives_up(github, installation, group, claimed)
                .await;
        }
        Err(Failure::retry(err))
    }

    /// Decides every pull request of the group and publishes the check on
    /// its head, holding the lease on that commit.
    async fn check_group(
        &self,
        github: &Github,
        installation: InstallationId,
        group: &MergeGroupEvent,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<()> {
        let at = Utc::now();
        let queue = github
            .client
            .merge_queue(
                installation,
                group.repo.as_str(),
                group.base_branch(),
                &group.base_sha,
            )
            .await?;
        let decided = match queue.group(&group.head_sha, group.last_pull_request()) {
            Some(entries) if entries.iter().all(|e| e.pull.is_some()) => {
                let mut decided = Vec::new();
                for entry in entries {
                    let Some(pull) = &entry.pull else { continue };
                    let outcome = self
                        .decide_queued(github, installation, group, &queue, pull, at)
                        .await?;
                    decided.push(Decided {
                        pull: pull.clone(),
                        position: entry.position,
                        outcome,
                    });
                }
                decided
            }
            _ => Vec::new(),
        };
        let outcome = self
            .group_outcome(installation, group, &decided)
            .unwrap_or_else(|| unknown_group(group));
        still_held(claimed)?;
        let run = self
            .publish_group(github, installation, group, &outcome)
            .await?;
        let acting_as = github.acting_as().await;
        let events = checked_events(group, &decided, &outcome, run.0, acting_as, &queue);
        self.store.append_audit(&events).await.map(drop)
    }

    /// Decides one pull request of the group under the policy (and
    /// CODEOWNERS) at the group's base. The teams it needs come from the
    /// client's cache after the first pull request.
    async fn decide_queued(
        &self,
        github: &Github,
        installation: InstallationId,
        group: &MergeGroupEvent,
        queue: &MergeQueueSnapshot,
        pull: &QueuedPull,
        at: chrono::DateTime<Utc>,
    ) -> anyhow::Result<CheckOutcome> {
        let t = super::target(Some(installation.0), &group.repo, pull.number, &pull.head)?
            .with_base(group.base_sha.clone());
        let mut change = match self.queued_change(github, &t, pull).await? {
            Ok(change) => change,
            Err(why) => return Ok(cannot_evaluate(why)),
        };
        // Decided under the group's base, whatever base it was checked on.
        change.base_sha = group.base_sha.clone();
        let facts = Queued {
            worker: self,
            github,
            t: &t,
            queue,
            at,
        };
        let inputs = Inputs {
            change: &change,
            org: queue.org_policy.as_ref(),
            repo: queue.policy.as_ref(),
            at,
            dismisses: Github::DISMISSES,
            org_repository: github.is_org_repository(&t.key.repo),
        };
        let decision = evaluation::decide(&facts, &self.parsed_policies, inputs).await?;
        let url = self.audit_url(&t);
        Ok(CheckOutcome::from_decision(&decision, url.as_deref()))
    }

    /// The change of a queued pull request as its last evaluation decided
    /// it, when that was at the pull request's head; else read anew (one
    /// query). `Err` says why it cannot be decided.
    async fn queued_change(
        &self,
        github: &Github,
        t: &Target<InstallationId>,
        pull: &QueuedPull,
    ) -> anyhow::Result<Result<Change, &'static str>> {
        let recorded = self.store.last_recorded(&t.key).await?;
        let at_head = recorded.filter(|r| {
            crate::ids::CommitSha::parse(&r.head_sha).is_ok_and(|sha| sha.matches(&pull.head))
        });
        let recorded = at_head.and_then(|r| Input::parse(&r.input).ok());
        if let Some(input) = recorded {
            return Ok(Ok(input.change().clone()));
        }
        let base = self
            .store
            .last_base_sha(&t.key)
            .await?
            .and_then(|s| crate::ids::CommitSha::parse(&s).ok())
            .or_else(|| t.base_sha.clone())
            .unwrap_or_else(|| pull.head.clone());
        let snapshot = github
            .client
            .fetch_pull_request(t.at, t.key.repo.as_str(), pull.number, &base, &[])
            .await?;
        if let Some(why) = Github::incomplete(&snapshot) {
            return Ok(Err(why));
        }
        if !snapshot.change.head_sha.matches(&pull.head) {
            return Ok(Err(
                "The pull request was pushed to after it joined the merge queue; \
                 GitHub takes it out of the group.",
            ));
        }
        Ok(Ok(snapshot.change))
    }

    /// The group's check: the strictest decision, listing each pull
    /// request. `None` for a group with no pull request Warrant could
    /// tell.
    fn group_outcome(
        &self,
        installation: InstallationId,
        group: &MergeGroupEvent,
        decided: &[Decided],
    ) -> Option<CheckOutcome> {
        let mut standings: Vec<Standing> = decided
            .iter()
            .map(|d| Standing {
                number: d.pull.number,
                outcome: d.outcome.clone(),
                url: super::target(
                    Some(installation.0),
                    &group.repo,
                    d.pull.number,
                    &d.pull.head,
                )
                .ok()
                .and_then(|t| self.audit_url(&t)),
            })
            .collect();
        let order = decided
            .iter()
            .map(|d| format!("#{}", d.pull.number))
            .collect::<Vec<_>>()
            .join(", ");
        strictest_first(&mut standings);
        let intro = format!(
            "This merge group merges {} onto `{}` of `{}`. Each pull request is decided \
             again under the policy at the group's base commit, with its reviews as \
             recorded, and the check shows the strictest decision: the queue merges \
             nothing that its own check would not pass today.",
            plural(decided.len(), &order),
            group.base_sha.short(),
            group.base_branch(),
        );
        listed(Forge::Github, &standings, &intro)
    }

    /// Shows `outcome` on the group's head commit: completes the check run
    /// recorded there (a redelivery), or creates it completed, its details
    /// link the audit page of the group's last pull request.
    async fn publish_group(
        &self,
        github: &Github,
        installation: InstallationId,
        group: &MergeGroupEvent,
        outcome: &CheckOutcome,
    ) -> anyhow::Result<CheckRunId> {
        let last = super::target(
            Some(installation.0),
            &group.repo,
            group.last_pull_request().unwrap_or_default(),
            &group.head_sha,
        )?;
        let run = self.stored_run::<Github>(&last, &group.head_sha).await?;
        self.publish_run(github, &last, &group.head_sha, run, outcome)
            .await
    }

    /// After the last attempt: the group's check fails closed. Best
    /// effort: GitHub may still be failing.
    async fn group_gives_up(
        &self,
        github: &Github,
        installation: InstallationId,
        group: &MergeGroupEvent,
        claimed: &ClaimedDelivery,
    ) {
        let outcome = cannot_evaluate(
            "Warrant met an error while reading this merge group or publishing its check, \
             and gave up after several attempts. The queue builds the group again when \
             it is re-queued.",
        );
        let failed = self.publish_group(github, installation, group, &outcome);
        let published = self
            .on_commit(Forge::Github, &group.repo, &group.head_sha, claimed, failed)
            .await;
        if let Err(err) = published {
            tracing::error!(error = %format!("{err:#}"), "cannot publish the failed merge group check");
        }
    }
}

/// "#7 and #9", "#7, #9 and #4", "#7".
fn plural(count: usize, order: &str) -> String {
    match order.rsplit_once(", ") {
        Some((head, last)) if count > 1 => {
            format!("{count} pull requests, in this order, {head} and {last},")
        }
        _ => format!("pull request {order}"),
    }
}

/// The check of a group Warrant cannot tell the pull requests of.
fn unknown_group(group: &MergeGroupEvent) -> CheckOutcome {
    CheckOutcome {
        conclusion: crate::engine::Conclusion::Failure,
        title: UNKNOWN_GROUP.to_owned(),
        summary: format!(
            "GitHub's merge queue for `{}` does not list the entry it built as `{}` \
             (`{}`), or lists a pull request of it that Warrant cannot read. Warrant \
             decides a merge group only when it knows every pull request in it, so the \
             check fails closed. The queue asks again when it builds the group anew.",
            group.base_branch(),
            group.head_sha.short(),
            group.head_ref,
        ),
        annotations: Vec::new(),
    }
}

/// One `merge_group_checked` event per pull request of the group, on that
/// pull request's trail.
fn checked_events(
    group: &MergeGroupEvent,
    decided: &[Decided],
    outcome: &CheckOutcome,
    check_id: u64,
    acting_as: Option<crate::ids::Login>,
    queue: &MergeQueueSnapshot,
) -> Vec<NewAuditEvent> {
    let at = Utc::now();
    let numbers: Vec<u64> = decided.iter().map(|d| d.pull.number).collect();
    decided
        .iter()
        .map(|d| {
            let mut event =
                NewAuditEvent::new(Forge::Github, &group.repo, EventKind::MergeGroupChecked, at);
            event.change = Some(d.pull.number);
            event.head_sha = Some(d.pull.head.as_str().to_owned());
            event.base_sha = Some(group.base_sha.as_str().to_owned());
            event.actor = acting_as.as_ref().map(|l| l.as_str().to_owned());
            event.decision = Some(d.outcome.conclusion.as_str().to_owned());
            event.policy_blob = queue.policy.as_ref().map(|p| p.blob_id.clone());
            event
                .with_detail("title", d.outcome.title.clone())
                .with_detail("group_head", group.head_sha.as_str())
                .with_detail("group_ref", group.head_ref.clone())
                .with_detail("group_conclusion", outcome.conclusion.as_str())
                .with_detail("group_pull_requests", numbers.clone())
                .with_detail("position", d.position)
                .with_detail("check_id", check_id)
        })
        .collect()
}

/// The `merge_group_destroyed` event, on the trail of the group's last
/// pull request.
fn destroyed(group: &MergeGroupEvent) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(
        Forge::Github,
        &group.repo,
        EventKind::MergeGroupDestroyed,
        Utc::now(),
    );
    event.change = group.last_pull_request();
    event.head_sha = Some(group.head_sha.as_str().to_owned());
    event.base_sha = Some(group.base_sha.as_str().to_owned());
    event
        .with_detail("reason", group.reason.clone())
        .with_detail("group_ref", group.head_ref.clone())
}

/// The facts of a queued pull request, under the group's base: the
/// CODEOWNERS file read with the queue, teams from the client's cache
/// after the first pull request.
struct Queued<'a> {
    worker: &'a Worker,
    github: &'a Github,
    t: &'a Target<InstallationId>,
    queue: &'a MergeQueueSnapshot,
    at: chrono::DateTime<Utc>,
}

impl Facts for Queued<'_> {
    async fn codeowners(&self) -> anyhow::Result<Option<PolicyFile>> {
        Ok(self.queue.codeowners.clone())
    }

    async fn context(&self, loaded: &Applicable, teams: &Teams) -> anyhow::Result<Context> {
        if !loaded.is_empty() {
            (self.worker)
                .record_team_hints(self.t, loaded, teams, self.at)
                .await?;
        }
        let resolve: Vec<&TeamName> = teams.resolve.iter().collect();
        Ok(Context {
            teams: (self.github.client)
                .team_members(self.t.at, &resolve)
                .await?,
            app_logins: self.github.app_logins().await,
            ..Context::default()
        })
    }

    async fn admins(&self) -> anyhow::Result<Vec<Login>> {
        self.github.admins(self.t).await
    }

    /// None: the policy a queued pull request proposes was reviewed on the
    /// pull request itself; the group decides it under the base's.
    async fn head_file(&self, _paths: &[&str]) -> anyhow::Result<Option<PolicyFile>> {
        Ok(None)
    }

    /// The overrides given on the pull request at its head: an override
    /// that let it into the queue holds in the group too.
    async fn overrides(&self) -> anyhow::Result<Vec<crate::engine::OverrideRequest>> {
        (self.worker.store)
            .overrides_at(&self.t.key, &self.t.head_sha)
            .await
    }
}
