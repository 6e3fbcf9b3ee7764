//! The alerts the worker raises, queued in the transaction that records
//! what caused them (see `docs/alerts.md`): a change blocked, once per
//! head commit; an unregistered agent, the first time a repository sees
//! it; a lapsed registration's agent, once per change; an evaluation given
//! up after its retries; a merged change that relaxes a policy.

use chrono::Utc;
use serde_json::json;

use super::Worker;
use super::target::Target;
use crate::alerts::{Alert, AlertType};
use crate::engine::{AgentFinding, Conclusion, Decision, Registration};
use crate::ids::{ChangeKey, CommitSha};
use crate::store::alerts::NewAlert;

/// The change's last evaluation, when it was at the head being published:
/// what a re-evaluation there is compared with, so that an alert or an
/// override's record is not news twice.
pub(super) struct Previous {
    /// The conclusion it published.
    pub conclusion: String,
    pub decision: Option<Decision>,
}

impl Worker {
    /// The change's last evaluation that reached a decision, if it was at
    /// `head`: read once per publication, for every alert and record that
    /// compares with it.
    pub(super) async fn previous_at<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
    ) -> anyhow::Result<Option<Previous>> {
        let last = self.store.last_recorded(&t.key).await?;
        let same_head = |sha: &str| CommitSha::parse(sha).is_ok_and(|sha| sha.matches(head));
        Ok(last.filter(|l| same_head(&l.head_sha)).map(|l| Previous {
            decision: serde_json::from_str(&l.decision).ok(),
            conclusion: l.conclusion,
        }))
    }

    /// `dev.warrant.change.blocked` for a decision that fails the check,
    /// unless the change's last evaluation already failed at this head: a
    /// re-evaluation that fails again is not news.
    pub(super) fn blocked_alert<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        decision: &Decision,
        previous: Option<&Previous>,
    ) -> Option<NewAlert> {
        if decision.conclusion != Conclusion::Failure {
            return None;
        }
        if previous.is_some_and(|p| p.conclusion == "failure") {
            return None;
        }
        let violations: Vec<_> = (decision.violations.iter())
            .filter(|v| v.blocking)
            .map(|v| json!({ "kind": v.kind, "message": v.message, "paths": v.paths }))
            .collect();
        let data = json!({
            "repository": t.key.repo.as_str(),
            "number": t.key.number,
            "head_sha": head.as_str(),
            "title": decision.title,
            "violations": violations,
            "page": self.audit_url(t),
        });
        self.raise(AlertType::ChangeBlocked, t, data)
    }

    /// `dev.warrant.agent.unregistered` for each agent no policy registers
    /// that the repository had not seen before, and
    /// `dev.warrant.agent.lapsed_active` for each lapsed registration's
    /// agent, once per change. Each is raised once whatever the number of
    /// evaluations or replicas: its id is derived from what it is about,
    /// and the outbox keeps an id once.
    pub(super) fn agent_alerts<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        decision: &Decision,
    ) -> Vec<NewAlert> {
        let (forge, repo, number) = (t.key.forge.as_str(), &t.key.repo, t.key.number);
        let subject = format!("{forge}:{repo}#{number}");
        let change = json!({
            "repository": repo.as_str(),
            "number": number,
            "head_sha": head.as_str(),
            "page": self.audit_url(t),
        });
        let mut alerts = Vec::new();
        for agent in &decision.agents {
            let (kind, key, data) = match agent.status {
                Registration::Registered => continue,
                Registration::Unregistered => (
                    AlertType::AgentUnregistered,
                    format!("{forge}:{repo}:{}", agent.id),
                    json!({
                        "agent": agent.id,
                        "catalog": agent.catalog,
                        "signals": signals(agent),
                        "change": change,
                    }),
                ),
                Registration::Lapsed { expired_at } => (
                    AlertType::AgentLapsedActive,
                    format!("{forge}:{repo}#{number}:{}", agent.id),
                    json!({
                        "agent": agent.id,
                        "owner": agent.owner,
                        "role": agent.role,
                        "expires": agent.expires.unwrap_or(expired_at),
                        "signals": signals(agent),
                        "change": change,
                    }),
                ),
            };
            let alert = Alert::once(kind, &key, subject.clone(), Utc::now(), data);
            alerts.extend(self.config.alerts.queue(&alert));
        }
        alerts
    }

    /// `dev.warrant.evaluation.failed`: the check failed closed after the
    /// last attempt.
    pub(super) fn failed_alert<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        error: &str,
    ) -> Option<NewAlert> {
        let data = json!({
            "repository": t.key.repo.as_str(),
            "number": t.key.number,
            "head_sha": head.as_str(),
            "error": error,
            "page": self.audit_url(t),
        });
        self.raise(AlertType::EvaluationFailed, t, data)
    }

    /// `dev.warrant.policy.relaxed`: a change with relaxations merged.
    pub(super) fn relaxed_alert(
        &self,
        change: &ChangeKey,
        data: serde_json::Value,
    ) -> Option<NewAlert> {
        self.raise_on(AlertType::PolicyRelaxed, change, data)
    }

    fn raise<X>(
        &self,
        kind: AlertType,
        t: &Target<X>,
        data: serde_json::Value,
    ) -> Option<NewAlert> {
        self.raise_on(kind, &t.key, data)
    }

    /// The alert, unless the operator sends none of its type; its subject
    /// is `FORGE:OWNER/NAME#N`, whatever the forge's own sigil.
    pub(super) fn raise_on(
        &self,
        kind: AlertType,
        change: &ChangeKey,
        data: serde_json::Value,
    ) -> Option<NewAlert> {
        let (forge, repo, number) = (change.forge.as_str(), &change.repo, change.number);
        let subject = format!("{forge}:{repo}#{number}");
        self.config
            .alerts
            .queue(&Alert::new(kind, subject, Utc::now(), data))
    }
}

/// An agent's signals, as alerts list them: what was seen, and where.
fn signals(agent: &AgentFinding) -> Vec<serde_json::Value> {
    (agent.signals.iter())
        .map(|s| json!({ "kind": s.kind, "source": s.source, "value": s.value, "verified": s.verified }))
        .collect()
}
