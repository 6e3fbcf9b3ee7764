//! One evaluation of a change, whatever its forge: the change read (with
//! the check shown running meanwhile), the policy at its base loaded, the
//! decision, the check published, agent approvals dismissed where the forge
//! allows it, and the decision stored with its audit events. What differs
//! between GitHub and GitLab is behind [`Adapter`].

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use tracing::Instrument;

use super::Worker;
use super::adapter::Adapter;
use super::facts::Live;
use super::lease::Lease;
use super::target::Target;
use crate::audit::record::Evaluated;
use crate::audit::{self, EventKind, NewAuditEvent};
use crate::engine::{self, Conclusion, Decision};
use crate::evaluation::Applicable;
use crate::evaluation::record::{Record, Texts};
use crate::evaluation::{self, Inputs};
use crate::forge::check::CheckOutcome;
use crate::ids::{ChangeKey, CommitSha};
use crate::store::heads::StandsFor;
use crate::store::{ClaimedDelivery, NewEvaluation};

/// The title of a check Warrant could not decide: it fails closed.
pub const CANNOT_EVALUATE: &str = "Warrant could not evaluate this change";

/// The title of a check on a commit that is no longer the head.
pub const SUPERSEDED: &str = "Superseded by a newer commit";

impl Worker {
    /// Evaluates a change and publishes the decision, inside a span naming
    /// it; records the evaluation's metrics.
    pub(super) async fn evaluate<A: Adapter>(
        &self,
        forge: &A,
        target: &Target<A::At>,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<()> {
        let delivery = claimed.delivery_id.as_str();
        let span = tracing::info_span!(
            "evaluation",
            forge = target.key.forge.as_str(),
            repo = %target.key.repo,
            change = target.key.number,
            head_sha = %target.head_sha.as_str(),
            delivery,
        );
        let change = self.change_lock(target);
        let _evaluating = change.lock().await;
        let started = Instant::now();
        let result = self
            .leased(
                Lease::Change(&target.key),
                claimed,
                self.evaluate_in_span(forge, target, claimed),
            )
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match &result {
            Ok(conclusion) => {
                tracing::info!(conclusion = conclusion.as_str(), "evaluated");
                self.metrics
                    .record_evaluation(Some(*conclusion), started.elapsed());
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "evaluation failed");
                self.metrics.record_evaluation(None, started.elapsed());
            }
        }
        result.map(drop)
    }

    async fn evaluate_in_span<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<Conclusion> {
        let known = self.known::<A>(t).await?;
        let run = match self.stored_run::<A>(t, &t.head_sha).await? {
            Some(run) => Some(run),
            None if A::shows_running(&known) => Some(self.show_running(forge, t, claimed).await?),
            None => None,
        };
        let snapshot = forge.read(t, &known).await?;
        let head = A::change(&snapshot).head_sha.clone();
        // The run shown while reading is on the event's head: when the
        // change has moved on since, it is the old head's.
        let moved = !head.matches(&t.head_sha);
        let (run, old_run) = if moved { (None, run) } else { (run, None) };
        let at = Utc::now();
        let (outcome, decided) = match A::incomplete(&snapshot) {
            Some(why) => (cannot_evaluate(why), None),
            None => {
                let decided = self.decide(forge, t, &snapshot, at).await?;
                let url = self.audit_url(t);
                (
                    CheckOutcome::from_decision(&decided.decision, url.as_deref()),
                    Some(decided),
                )
            }
        };
        let previous = self
            .store
            .last_head_sha(&t.key)
            .await?
            .and_then(|sha| CommitSha::parse(&sha).ok());
        let published = Published {
            head: &head,
            run,
            outcome: &outcome,
            decided: decided.as_ref(),
            change: A::change(&snapshot),
        };
        self.on_head(
            t,
            &head,
            claimed,
            self.publish(forge, t, claimed, published),
        )
        .await?;
        // The heads the change left: the check on each goes on standing
        // for the other open changes whose head it still is.
        let mut left = Vec::new();
        if moved {
            left.push((t.head_sha.clone(), old_run));
        }
        if let Some(previous) = previous.filter(|p| !p.matches(&head) && !p.matches(&t.head_sha)) {
            left.push((previous, None));
        }
        for (old, run) in left {
            self.on_head(t, &old, claimed, self.left_head(forge, t, &old, run))
                .await?;
        }
        Ok(outcome.conclusion)
    }

    /// Publishes on the change's head the strictest decision over the open
    /// changes whose head it is, this one's fresh, and records this one's
    /// decision with its audit events. Run holding the lease on the head.
    async fn publish<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        claimed: &ClaimedDelivery,
        p: Published<'_, A::Run>,
    ) -> anyhow::Result<()> {
        still_held(claimed)?;
        // Another worker may have published on this head since the read.
        let run = match p.run {
            Some(run) => Some(run),
            None => self.stored_run::<A>(t, p.head).await?,
        };
        let combined = self
            .combined(t, p.head, Some(p.outcome))
            .await?
            .context("the change itself stands at its head")?;
        let run = self
            .publish_run(forge, t, p.head, run, &combined.outcome)
            .await?;
        forge.answer(t, p.head, p.outcome).await?;
        if let Some(decided) = p.decided.filter(|_| A::DISMISSES) {
            forge.dismiss(t, &decided.decision).await?;
        }
        let mut alerts = Vec::new();
        let mut events = Vec::new();
        if let Some(decided) = p.decided {
            let (head, decision) = (p.head, &decided.decision);
            let previous = self.previous_at(t, head).await?;
            let previous = previous.as_ref();
            alerts.extend(self.blocked_alert(t, head, decision, previous));
            alerts.extend(self.agent_alerts(t, head, decision));
            alerts.extend(self.override_alert(t, head, decision, previous));
            events = self.override_events(t, head, decision, previous);
        }
        let record = Recorded {
            run: A::run_id(&run),
            outcome: p.outcome,
            decided: p.decided,
            change: Some(p.change),
            alerts,
            events,
        };
        let acting_as = forge.acting_as().await;
        self.record(t, p.head, &claimed.delivery_id, acting_as, record)
            .await?;
        self.record_head_check(t, p.head, &combined.outcome, combined.stands_for)
            .await
    }

    /// The lock serialising evaluations of `t`'s change in this process.
    fn change_lock<X>(&self, t: &Target<X>) -> super::ChangeLock {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes.entry(t.key.clone()).or_default().clone()
    }

    /// Decides the change from its facts, read from the forge as its
    /// policies ask for them, and tries a policy it proposes on past
    /// changes. An absent policy is `neutral`, an invalid (or truncated)
    /// one `failure`. Returns the decision with its record.
    async fn decide<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        snapshot: &A::Snapshot,
        at: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Decided> {
        let org = self.org_policy_of(forge, snapshot).await?;
        let inputs = Inputs {
            change: A::change(snapshot),
            org: org.as_ref(),
            repo: A::policy(snapshot),
            at,
            dismisses: A::DISMISSES,
            org_repository: forge.is_org_repository(&t.key.repo),
        };
        let live = Live::new(self, forge, t, snapshot, at);
        let mut decision = evaluation::decide(&live, &self.parsed_policies, inputs).await?;
        let (record, texts) = live.into_record(&inputs);
        self.simulate_proposals(t, &record, &texts, &mut decision)
            .await?;
        Ok(Decided {
            decision,
            record,
            texts,
        })
    }

    /// Keeps the teams of an evaluation among the repository's hints, so
    /// that the next read resolves them in its own query.
    pub(super) async fn record_team_hints<X>(
        &self,
        t: &Target<X>,
        loaded: &Applicable,
        teams: &crate::forge::Teams,
        at: chrono::DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.store
            .record_policy_teams(
                t.key.forge,
                &t.key.repo,
                loaded.blob_id(),
                &teams.remember,
                at,
            )
            .await
    }

    /// After the last attempt: the check concludes `failure` with a
    /// generic summary (the cause is in the log and the queue, not on the
    /// change). Best effort: the forge may still be failing.
    pub(super) async fn give_up<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        claimed: &ClaimedDelivery,
    ) {
        let outcome = cannot_evaluate(
            "Warrant met an error while reading or publishing this change and \
             gave up after several attempts. Re-run the check to try again.",
        );
        let failed = async {
            still_held(claimed)?;
            let run = self.stored_run::<A>(t, &t.head_sha).await?;
            let run = self
                .publish_run(forge, t, &t.head_sha, run, &outcome)
                .await?;
            forge.answer(t, &t.head_sha, &outcome).await?;
            let record = Recorded {
                run: A::run_id(&run),
                outcome: &outcome,
                decided: None,
                change: None,
                alerts: (self.failed_alert(t, &t.head_sha, &outcome.summary))
                    .into_iter()
                    .collect(),
                events: Vec::new(),
            };
            let acting_as = forge.acting_as().await;
            self.record(t, &t.head_sha, &claimed.delivery_id, acting_as, record)
                .await?;
            // A failure is the strictest there is: it stands for every
            // change at this head without asking the others.
            let stands_for = vec![StandsFor {
                number: t.key.number,
                conclusion: outcome.conclusion.as_str().to_owned(),
            }];
            self.record_head_check(t, &t.head_sha, &outcome, stands_for)
                .await
        };
        // The lease on the commit too, so that no publication of another
        // change at this head that misses this failure comes after it.
        let on_head = self.on_head(t, &t.head_sha, claimed, failed);
        let published = self.leased(Lease::Change(&t.key), claimed, on_head);
        if let Err(err) = published.await {
            tracing::error!(error = %format!("{err:#}"), "cannot publish the failed check");
        }
    }

    /// Stores the evaluation with its audit events, in one transaction.
    async fn record<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        delivery: &str,
        acting_as: Option<crate::ids::Login>,
        r: Recorded<'_>,
    ) -> anyhow::Result<()> {
        let at = Utc::now();
        let forge = t.key.forge;
        let acting_as = acting_as.map(|l| l.as_str().to_owned());
        let mut events = match (r.decided.map(|d| &d.decision), r.change) {
            (Some(decision), Some(change)) => audit::record::evaluation_events(&Evaluated {
                forge,
                repo: &t.key.repo,
                change,
                decision,
                acting_as: acting_as.as_deref(),
                check_id: r.run,
                at,
            }),
            // No decision reached: the failed check is the event.
            _ => {
                let mut posted = NewAuditEvent::new(forge, &t.key.repo, EventKind::CheckPosted, at);
                posted.change = Some(t.key.number);
                posted.head_sha = Some(head.as_str().to_owned());
                posted.base_sha = r.change.map(|c| c.base_sha.as_str().to_owned());
                posted.actor = acting_as;
                posted.decision = Some(r.outcome.conclusion.as_str().to_owned());
                vec![
                    posted
                        .with_detail("check_id", r.run)
                        .with_detail("title", r.outcome.title.clone())
                        .with_detail("why", r.outcome.summary.clone()),
                ]
            }
        };
        // An override's event follows the decision it changed, before the
        // check posted.
        let posted = (events
            .iter()
            .rposition(|e| e.kind == EventKind::CheckPosted))
        .unwrap_or(events.len());
        events.splice(posted..posted, r.events);
        let decision = (r.decided.map(|d| serde_json::to_string(&d.decision))).transpose()?;
        let input = (r.decided.map(|d| serde_json::to_string(&d.record))).transpose()?;
        let base = r.change.map(|c| c.base_sha.as_str());
        let evaluation = NewEvaluation {
            change: &t.key,
            head_sha: head.as_str(),
            base_sha: base,
            check_run_id: r.run,
            conclusion: r.outcome.conclusion.as_str(),
            title: &r.outcome.title,
            decision: decision.as_deref(),
            input: input.as_deref(),
            texts: r.decided.map(|d| &d.texts),
            alerts: &r.alerts,
            delivery_id: Some(delivery),
            evaluated_at: at,
        };
        self.store.record_evaluation(&evaluation, &events).await
    }

    /// `{WARRANT_PUBLIC_URL}/audit/{forge}/{repository}/changes/{number}`,
    /// the repository being a GitLab project's full path on GitLab.
    pub(super) fn audit_url<X>(&self, t: &Target<X>) -> Option<String> {
        self.audit_url_of(t, t.key.number)
    }

    /// The audit page of change `number` of `t`'s repository.
    pub(super) fn audit_url_of<X>(&self, t: &Target<X>, number: u64) -> Option<String> {
        let base = self.config.public_url.as_deref()?;
        let change = ChangeKey::new(t.key.forge, t.key.repo.clone(), number);
        let page = crate::urls::change_page(&change);
        Some(format!("{base}{page}"))
    }
}

/// What one evaluation publishes on its head.
struct Published<'a, R> {
    head: &'a CommitSha,
    /// The check already shown on the head, if any.
    run: Option<R>,
    /// The change's own outcome.
    outcome: &'a CheckOutcome,
    decided: Option<&'a Decided>,
    change: &'a engine::Change,
}

/// What one evaluation published.
struct Recorded<'a> {
    run: Option<u64>,
    outcome: &'a CheckOutcome,
    decided: Option<&'a Decided>,
    change: Option<&'a engine::Change>,
    /// Alerts queued with the evaluation.
    alerts: Vec<crate::store::alerts::NewAlert>,
    /// Audit events of the evaluation beyond the decision's own (an
    /// override used).
    events: Vec<NewAuditEvent>,
}

/// A decision with the facts it was made from.
pub(super) struct Decided {
    pub decision: Decision,
    pub record: Record,
    pub texts: Texts,
}

/// Refuses to publish once the lease ran out: another worker may hold the
/// delivery now, and its result must not be overwritten by an older one.
/// The check stays running (never open) and the attempt is retried.
pub(super) fn still_held(claimed: &ClaimedDelivery) -> anyhow::Result<()> {
    if Utc::now() >= claimed.lease_expires_at {
        anyhow::bail!(
            "the lease on the delivery ran out at {}: not publishing",
            claimed.lease_expires_at
        );
    }
    Ok(())
}

/// A failed check that says Warrant could not decide, and why in general
/// terms.
pub(super) fn cannot_evaluate(summary: &str) -> CheckOutcome {
    CheckOutcome {
        conclusion: Conclusion::Failure,
        title: CANNOT_EVALUATE.to_owned(),
        summary: summary.to_owned(),
        annotations: Vec::new(),
    }
}

/// What a check on a superseded head shows.
pub(super) fn superseded() -> CheckOutcome {
    CheckOutcome {
        conclusion: Conclusion::Neutral,
        title: SUPERSEDED.to_owned(),
        summary: "Warrant evaluates the change's newest head commit instead.".to_owned(),
        annotations: Vec::new(),
    }
}
