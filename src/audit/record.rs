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
use crate::engine::{Change, Decision, Forge, Registration};
use crate::ids::RepoName;

/// What an evaluation published, as the worker knows it.
#[derive(Clone, Copy, Debug)]
pub struct Evaluated<'a> {
    pub forge: Forge,
    /// The change's repository, as the worker addresses it (and the
    /// decision names it).
    pub repo: &'a RepoName,
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
        let mut event = NewAuditEvent::new(e.forge, e.repo, kind, e.at);
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

/// The requesters as logins (the decision writes them `@login`).
fn requesters(d: &Decision) -> Option<String> {
    let logins: Vec<&str> = d
        .requesters
        .iter()
        .map(|r| r.strip_prefix('@').unwrap_or(r))
        .collect();
    (!logins.is_empty()).then(|| logins.join(", "))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::engine::{Context, Evaluation};
    use crate::ids::RepoPath;
    use crate::policy::{self, LoadedPolicy};

    const POLICY: &str = include_str!("../../fixtures/changes/warrant.yml");
    const EXAMPLE: &str = include_str!("../../fixtures/changes/example.json");

    /// The CLI's example: Claude Code (by its trailer) on alice's pull
    /// request, touching `infra/`, approved by bob of the SRE team.
    fn example() -> (Change, Decision) {
        #[derive(serde::Deserialize)]
        struct Example {
            change: Change,
            context: Context,
        }
        let example: Example = serde_json::from_str(EXAMPLE).unwrap();
        let loaded = LoadedPolicy {
            path: RepoPath::parse(".github/warrant.yml").unwrap(),
            blob_id: policy::blob_id(POLICY.as_bytes()),
            policy: policy::load(".github/warrant.yml", POLICY).unwrap(),
        };
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let decision = crate::engine::decide(&Evaluation {
            policy: &loaded,
            change: &example.change,
            context: &example.context,
            at,
        });
        (example.change, decision)
    }

    fn events(change: &Change, decision: &Decision) -> Vec<NewAuditEvent> {
        evaluation_events(&Evaluated {
            forge: crate::engine::Forge::Github,
            repo: &RepoName::parse(&decision.repository).unwrap(),
            change,
            decision,
            acting_as: Some("warrant[bot]"),
            check_id: Some(9),
            at: decision.evaluated_at,
        })
    }

    #[test]
    fn an_evaluation_records_agents_approvals_decision_and_check_in_order() {
        let (change, decision) = example();
        let events = events(&change, &decision);
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::AgentIdentified,
                EventKind::ApprovalCounted,
                EventKind::DecisionMade,
                EventKind::CheckPosted
            ]
        );
        for e in &events {
            assert_eq!(e.repo, "octo-org/app");
            assert_eq!(e.change, Some(42));
            assert_eq!(
                e.head_sha.as_deref(),
                Some("2222222222222222222222222222222222222222")
            );
            assert_eq!(e.policy_blob, Some(policy::blob_id(POLICY.as_bytes())));
            assert_eq!(e.requester.as_deref(), Some("alice"), "{e:?}");
        }
        let agent = &events[0];
        assert_eq!(agent.agent.as_deref(), Some("claude"));
        assert_eq!(
            (agent.role.as_deref(), agent.owner.as_deref()),
            (Some("feature-dev"), Some("alice"))
        );
        assert_eq!(
            agent.actor.as_deref(),
            Some("alice"),
            "no account signal: the author"
        );
        assert_eq!(agent.detail["registration"], "registered");
        assert_eq!(agent.detail["signals"][0]["kind"], "trailer");
        assert_eq!(agent.detail["signals"][0]["verified"], false);

        let counted = &events[1];
        assert_eq!(counted.actor.as_deref(), Some("bob"));
        assert_eq!(counted.approval.as_deref(), Some("counted"));
        assert_eq!(counted.detail["requirement"], "sensitive:infrastructure");

        let decided = &events[2];
        assert_eq!(decided.decision.as_deref(), Some("success"));
        assert_eq!(decided.approval.as_deref(), Some("approved"));
        assert_eq!(
            decided.paths,
            ["src/upload.rs", "infra/queue.tf", "infra/old-queue.tf"]
        );
        assert_eq!(decided.agent.as_deref(), Some("claude"));
        assert_eq!(decided.detail["change_title"], "Retry failed uploads");

        let posted = &events[3];
        assert_eq!(posted.actor.as_deref(), Some("warrant[bot]"));
        assert_eq!(posted.detail["check_id"], 9);
    }

    #[test]
    fn an_approval_by_the_changes_author_is_recorded_as_refused_with_its_reason() {
        let (mut change, _) = example();
        change.reviews[0].reviewer.login = crate::ids::Login::parse("alice").unwrap();
        let loaded = LoadedPolicy {
            path: RepoPath::parse(".github/warrant.yml").unwrap(),
            blob_id: "b".into(),
            policy: policy::load(".github/warrant.yml", POLICY).unwrap(),
        };
        let decision = crate::engine::decide(&Evaluation {
            policy: &loaded,
            change: &change,
            context: &Context::default(),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        });
        let events = events(&change, &decision);
        let refused: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::ApprovalRefused)
            .collect();
        assert_eq!(refused.len(), 1, "{events:#?}");
        assert_eq!(refused[0].actor.as_deref(), Some("alice"));
        assert_eq!(refused[0].approval.as_deref(), Some("refused"));
        assert_eq!(refused[0].detail["reason"], "change_author");
        assert_eq!(
            refused[0].detail["why"],
            "the author of the change cannot approve it"
        );
        let decided = events
            .iter()
            .find(|e| e.kind == EventKind::DecisionMade)
            .unwrap();
        assert_eq!(decided.approval.as_deref(), Some("waiting"));
        assert_eq!(decided.decision.as_deref(), Some("action_required"));
    }
}
