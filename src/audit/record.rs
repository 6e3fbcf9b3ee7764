//! The audit events an evaluation leaves: one function from what the
//! worker knows (the change, the decision, the check it posted) to the rows
//! to append, the same for every forge.
//!
//! An evaluation records, in this order: each agent identified, each
//! approval counted or refused (per requirement), each review dismissed,
//! the decision, and the check posted. Re-evaluating a change records them
//! again: the trail keeps what Warrant saw at each head, not only the last.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{EventKind, NewAuditEvent};
use crate::engine::{Change, Decision, Registration};

/// What an evaluation published, as the worker knows it.
#[derive(Clone, Copy, Debug)]
pub struct Evaluated<'a> {
    /// `github` or `gitlab`.
    pub forge: &'a str,
    pub change: &'a Change,
    pub decision: &'a Decision,
    /// The account Warrant acts as (`warrant-app[bot]`), when known.
    pub acting_as: Option<&'a str>,
    /// The check run's (or commit status's) id on the forge, when it has one.
    pub check_id: Option<u64>,
    pub at: DateTime<Utc>,
}

/// The rows an evaluation appends, in order.
pub fn evaluation_events(e: &Evaluated<'_>) -> Vec<NewAuditEvent> {
    let d = e.decision;
    let base = |kind| {
        let mut event = NewAuditEvent::new(e.forge, &d.repository, kind, e.at);
        event.change = Some(d.number);
        event.head_sha = Some(d.head_sha.as_str().to_owned());
        event.base_sha = Some(d.base_sha.as_str().to_owned());
        event.policy_blob = d.policy.as_ref().map(|p| p.blob_id.clone());
        event.requester = requesters(d);
        event
    };
    let mut events = Vec::new();

    for agent in &d.agents {
        let mut event = base(EventKind::AgentIdentified);
        event.agent = Some(agent.id.clone());
        event.role = agent.role.clone();
        event.owner = agent.owner.clone();
        event.actor = agent_account(agent).or_else(|| author(e.change));
        event.paths = d
            .violations
            .iter()
            .filter(|v| v.agent.as_deref() == Some(agent.id.as_str()))
            .flat_map(|v| v.paths.iter().map(|p| p.as_str().to_owned()))
            .collect();
        let signals: Vec<_> = agent
            .signals
            .iter()
            .map(|s| json!({ "kind": s.kind, "verified": s.verified, "source": s.source, "value": s.value }))
            .collect();
        events.push(
            event
                .with_detail("registration", registration(&agent.status))
                .with_detail("catalog", agent.catalog.clone())
                .with_detail("signals", signals),
        );
    }

    for requirement in &d.requirements {
        let paths: Vec<String> = requirement
            .paths
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        for approver in &requirement.approved_by {
            let mut event = base(EventKind::ApprovalCounted);
            event.actor = Some(approver.as_str().to_owned());
            event.approval = Some("counted".to_owned());
            event.paths = paths.clone();
            events.push(
                event
                    .with_detail("requirement", requirement.id.clone())
                    .with_detail("label", requirement.label.clone()),
            );
        }
        for refused in &requirement.not_counted {
            let mut event = base(EventKind::ApprovalRefused);
            event.actor = Some(refused.reviewer.as_str().to_owned());
            event.approval = Some("refused".to_owned());
            event.paths = paths.clone();
            events.push(
                event
                    .with_detail("requirement", requirement.id.clone())
                    .with_detail("label", requirement.label.clone())
                    .with_detail("reason", json!(refused.reason))
                    .with_detail("why", refused.reason.describe())
                    .with_detail("review_id", refused.review_id),
            );
        }
    }

    for dismissal in &d.dismissals {
        let mut event = base(EventKind::ReviewDismissed);
        event.actor = e.acting_as.map(str::to_owned);
        events.push(
            event
                .with_detail("review_id", dismissal.review_id)
                .with_detail("reviewer", dismissal.reviewer.as_str())
                .with_detail("message", dismissal.message.clone()),
        );
    }

    let mut decided = base(EventKind::DecisionMade);
    if let [agent] = d.agents.as_slice() {
        decided.agent = Some(agent.id.clone());
        decided.role = agent.role.clone();
        decided.owner = agent.owner.clone();
    }
    decided.actor = author(e.change);
    decided.paths = e
        .change
        .touched_paths()
        .map(|p| p.as_str().to_owned())
        .collect();
    decided.approval = Some(approval_status(d).to_owned());
    decided.decision = Some(d.conclusion.as_str().to_owned());
    let agents: Vec<&str> = d.agents.iter().map(|a| a.id.as_str()).collect();
    events.push(
        decided
            .with_detail("title", d.title.clone())
            .with_detail("change_title", e.change.title.clone())
            .with_detail("would_conclude", d.would_conclude.as_str())
            .with_detail("mode", json!(d.mode))
            .with_detail("agents", agents),
    );

    let mut posted = base(EventKind::CheckPosted);
    posted.actor = e.acting_as.map(str::to_owned);
    posted.decision = Some(d.conclusion.as_str().to_owned());
    events.push(
        posted
            .with_detail("check_id", e.check_id)
            .with_detail("title", d.title.clone()),
    );
    events
}

/// The approval status of a whole decision: `not_required` when no area
/// asked for one, `approved` when every requirement is met, else `waiting`.
pub fn approval_status(d: &Decision) -> &'static str {
    if d.requirements.is_empty() {
        "not_required"
    } else if d.requirements.iter().all(|r| r.satisfied) {
        "approved"
    } else {
        "waiting"
    }
}

fn registration(status: &Registration) -> serde_json::Value {
    match status {
        Registration::Registered => json!("registered"),
        Registration::Unregistered => json!("unregistered"),
        Registration::Lapsed { expired_at } => json!({ "lapsed": expired_at }),
    }
}

/// The agent's own account, when a signal names one (the change author's
/// bot account, or a commit login).
fn agent_account(agent: &crate::engine::AgentFinding) -> Option<String> {
    use crate::engine::SignalKind;
    agent
        .signals
        .iter()
        .find(|s| {
            matches!(
                s.kind,
                SignalKind::Account | SignalKind::BotAccount | SignalKind::CommitLogin
            )
        })
        .map(|s| s.value.clone())
}

fn author(change: &Change) -> Option<String> {
    change.author.as_ref().map(|a| a.login.as_str().to_owned())
}

fn requesters(d: &Decision) -> Option<String> {
    (!d.requesters.is_empty()).then(|| d.requesters.join(", "))
}
