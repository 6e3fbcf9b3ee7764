//! What the pages show, in words: statuses, agents with their evidence,
//! requirements with the approvals that counted and those that did not,
//! violations, the timeline and the rollback reference. Built from the
//! engine's own types; the templates only lay it out.

use chrono::{DateTime, Utc};

use crate::audit::rollback::{ChangeState, MergeMethod, Rollback, rollback};
use crate::audit::{AuditEvent, EventKind};
use crate::engine::render::{OwnershipLine, ownership};
use crate::engine::{
    AgentFinding, Conclusion, Decision, Registration, Requirement, SignalKind, Violation,
    ViolationKind,
};
use crate::ids::ChangeKey;
use crate::store::changes::{ChangeStatus, MergeRecord};
use crate::store::reports::{ChangeReport, ChangeRow, EvaluationRow};

/// A status in words, and a class that only decorates it.
#[derive(Clone, Debug)]
pub(super) struct Status {
    pub words: String,
    pub class: &'static str,
}

/// The status of an evaluation: from its decision when there is one, else
/// from the stored conclusion alone.
pub(super) fn status(evaluation: &EvaluationRow) -> Status {
    let (word, class) = match (evaluation.decision.as_ref(), evaluation.conclusion.as_str()) {
        (Some(d), _) => match d.conclusion {
            Conclusion::Success => ("Allowed", "allowed"),
            Conclusion::Failure => ("Blocked", "blocked"),
            Conclusion::ActionRequired => ("Waiting for approval", "waiting"),
            Conclusion::Neutral if d.mode.is_some() => ("Observing", "neutral"),
            Conclusion::Neutral => ("Not enforced", "neutral"),
        },
        (None, "success") => ("Allowed", "allowed"),
        (None, "failure") => ("Blocked", "blocked"),
        (None, "action_required") => ("Waiting for approval", "waiting"),
        (None, _) => ("Not enforced", "neutral"),
    };
    let Some(d) = evaluation.decision.as_ref() else {
        return Status {
            words: word.to_owned(),
            class,
        };
    };
    let blocking = || d.violations.iter().find(|v| v.blocking);
    let words = match (d.conclusion, d.would_conclude) {
        (Conclusion::Failure, _) => match blocking() {
            Some(v) => format!("{word}: {}", violation_words(v.kind)),
            None => word.to_owned(),
        },
        // Observe mode: say what enforcing would have done.
        (Conclusion::Neutral, Conclusion::Failure) if d.mode.is_some() => match blocking() {
            Some(v) => format!("{word}: would block, {}", violation_words(v.kind)),
            None => format!("{word}: would block"),
        },
        (Conclusion::Neutral, Conclusion::ActionRequired) if d.mode.is_some() => {
            format!("{word}: would wait for approval")
        }
        _ => word.to_owned(),
    };
    Status { words, class }
}

pub(super) fn violation_words(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::OutOfScope => "out of scope",
        ViolationKind::TooManyFiles => "too many files",
        ViolationKind::PolicyFileChangedByAgent => "policy file changed by an agent",
        ViolationKind::UnregisteredAgent => "unregistered agent",
        ViolationKind::LapsedRegistration => "registration expired",
        ViolationKind::AgentApprovalIgnored => "agent approval ignored",
        ViolationKind::InvalidPolicy => "invalid policy",
        ViolationKind::InvalidCodeowners => "invalid CODEOWNERS",
        ViolationKind::UnownedPaths => "paths without code owners",
        ViolationKind::UnsupportedCodeowners => "unsupported code owners",
        ViolationKind::ProposedPolicyInvalid => "proposed policy is invalid",
    }
}

pub(super) fn registration_words(status: &Registration) -> String {
    match status {
        Registration::Registered => "registered".into(),
        Registration::Unregistered => "unregistered".into(),
        Registration::Lapsed { expired_at } => {
            format!("registration expired {}", expired_at.format("%Y-%m-%d"))
        }
    }
}

/// Engine messages quote names in Markdown code spans; pages show text.
pub(super) fn plain(message: &str) -> String {
    message.replace('`', "")
}

pub(super) fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The change on its forge: the stored address (a GitLab merge request's
/// `web_url`, a pull request's `html_url`), or the usual one, on GitLab
/// under `gitlab_url` (`WARRANT_GITLAB_URL`, without a trailing slash).
pub(super) fn forge_url(change: &ChangeKey, stored: Option<&str>, gitlab_url: &str) -> String {
    match stored {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => url.to_owned(),
        _ => crate::urls::forge_change(change, "https://github.com", gitlab_url),
    }
}

/// The title shown for a change: its own, else its check's.
pub(super) fn title(row: &ChangeRow) -> String {
    match &row.record {
        Some(record) => record.title.clone(),
        None => row.latest.check_title.clone(),
    }
}

pub(super) fn agent_ids(decision: Option<&Decision>) -> Vec<String> {
    decision
        .map(|d| d.agents.iter().map(|a| a.id.clone()).collect())
        .unwrap_or_default()
}

/// The account an agent acted through: its verified account, else the
/// account its commits are linked to.
pub(super) fn acting_account(agent: &AgentFinding) -> String {
    let of_kind = |kinds: &[SignalKind]| {
        agent
            .signals
            .iter()
            .find(|s| kinds.contains(&s.kind))
            .map(|s| s.value.clone())
    };
    of_kind(&[SignalKind::Account, SignalKind::BotAccount])
        .or_else(|| of_kind(&[SignalKind::CommitLogin]))
        .unwrap_or_default()
}

/// How to undo the change, from what was recorded: the merge row first,
/// then the trail's merge or close event, then the change's state.
pub(super) fn rollback_of(report_state: RollbackFacts<'_>) -> Rollback {
    let merged_event = report_state
        .events
        .iter()
        .rev()
        .find(|e| e.event.kind == EventKind::ChangeMerged);
    let detail = |key: &str| {
        merged_event
            .and_then(|e| e.event.detail.get(key))
            .and_then(|v| v.as_str())
    };
    let commit_count = merged_event
        .and_then(|e| e.event.detail.get("commit_count"))
        .and_then(|v| v.as_u64())
        .and_then(|n| u32::try_from(n).ok());
    let state = if report_state.merge.is_some() || merged_event.is_some() {
        let merge = report_state.merge;
        ChangeState::Merged {
            commit: merge
                .and_then(|m| m.merge_commit_sha.as_deref())
                .or_else(|| detail("merge_commit_sha")),
            method: merge
                .and_then(|m| m.method)
                .or_else(|| detail("merge_method").and_then(MergeMethod::parse)),
            commits: merge.and_then(|m| m.commit_count).or(commit_count),
        }
    } else if report_state.status == Some(ChangeStatus::Merged) {
        ChangeState::Merged {
            commit: None,
            method: None,
            commits: None,
        }
    } else if report_state.status == Some(ChangeStatus::Closed)
        || report_state
            .events
            .iter()
            .any(|e| e.event.kind == EventKind::ChangeClosed)
    {
        ChangeState::Closed
    } else {
        ChangeState::Open {
            base: report_state.base,
        }
    };
    rollback(&state)
}

/// What [`rollback_of`] reads.
pub(super) struct RollbackFacts<'a> {
    pub merge: Option<&'a MergeRecord>,
    pub events: &'a [AuditEvent],
    pub status: Option<ChangeStatus>,
    /// The base commit of the latest evaluation.
    pub base: Option<&'a str>,
}

impl<'a> RollbackFacts<'a> {
    pub(super) fn of(report: &'a ChangeReport) -> RollbackFacts<'a> {
        RollbackFacts {
            merge: report.merge.as_ref(),
            events: &report.events,
            status: report.record.as_ref().map(|r| r.state),
            base: report
                .evaluations
                .iter()
                .rev()
                .find_map(|e| e.base_sha.as_deref()),
        }
    }
}

/// An agent as the change page lists it.
pub(super) struct AgentView {
    pub id: String,
    pub registration: String,
    pub role: String,
    pub owner: String,
    pub signals: Vec<SignalView>,
}

pub(super) struct SignalView {
    /// `verified` or `declared`.
    pub trust: &'static str,
    pub source: String,
    pub value: String,
}

pub(super) fn agents(decision: &Decision) -> Vec<AgentView> {
    decision
        .agents
        .iter()
        .map(|a| AgentView {
            id: a.id.clone(),
            registration: registration_words(&a.status),
            role: a.role.clone().unwrap_or_else(|| "none".into()),
            owner: a.owner.clone().unwrap_or_else(|| "nobody".into()),
            signals: a
                .signals
                .iter()
                .map(|s| SignalView {
                    trust: if s.verified { "verified" } else { "declared" },
                    source: s.source.clone(),
                    value: s.value.clone(),
                })
                .collect(),
        })
        .collect()
}

/// A requirement with the approvals that counted and those that did not.
pub(super) struct RequirementView {
    pub label: String,
    /// Under an organisation policy, the policy that asks for it
    /// (`organisation policy`); empty for a repository policy alone.
    pub from: String,
    /// `Approved` or `Waiting for N more`.
    pub status: String,
    pub class: &'static str,
    pub needs: u32,
    pub approvers: String,
    pub paths: Vec<String>,
    pub counted: Vec<String>,
    /// `(reviewer, why it did not count)`.
    pub refused: Vec<(String, &'static str)>,
    /// With `codeowners` among the approvers: per path, who owns it and
    /// who of them approved.
    pub owners: Vec<OwnershipLine>,
}

pub(super) fn requirements(decision: &Decision) -> Vec<RequirementView> {
    let combined = decision.org_policy.is_some();
    (decision.requirements.iter())
        .map(|r| requirement(r, from_words(combined, r.from)))
        .collect()
}

/// "organisation policy" or "repository policy", where a decision applied
/// an organisation policy; empty otherwise.
fn from_words(combined: bool, from: crate::engine::Origin) -> String {
    if combined {
        format!("{} policy", from.as_str())
    } else {
        String::new()
    }
}

fn requirement(r: &Requirement, from: String) -> RequirementView {
    RequirementView {
        label: r.label.clone(),
        from,
        status: if r.satisfied {
            "Approved".into()
        } else {
            format!("Waiting for {} more", r.missing())
        },
        class: if r.satisfied { "allowed" } else { "waiting" },
        needs: r.min_approvals,
        approvers: if r.approvers.is_empty() {
            "nobody is configured".into()
        } else {
            r.approvers.join(" or ")
        },
        paths: r.paths.iter().map(|p| p.as_str().to_owned()).collect(),
        counted: r
            .approved_by
            .iter()
            .map(|l| l.as_str().to_owned())
            .collect(),
        refused: r
            .not_counted
            .iter()
            .map(|n| (n.reviewer.as_str().to_owned(), n.reason.describe()))
            .collect(),
        owners: ownership(r),
    }
}

pub(super) struct ViolationView {
    pub kind: &'static str,
    /// As for requirements.
    pub from: String,
    /// `Blocks the change` or `Recorded`.
    pub effect: &'static str,
    pub class: &'static str,
    pub message: String,
    pub paths: Vec<String>,
}

pub(super) fn violations(decision: &Decision) -> Vec<ViolationView> {
    let combined = decision.org_policy.is_some();
    (decision.violations.iter())
        .map(|v| violation(v, from_words(combined, v.from)))
        .collect()
}

fn violation(v: &Violation, from: String) -> ViolationView {
    ViolationView {
        kind: violation_words(v.kind),
        from,
        effect: if v.blocking {
            "Blocks the change"
        } else {
            "Recorded"
        },
        class: if v.blocking { "blocked" } else { "neutral" },
        message: plain(&v.message),
        paths: v.paths.iter().map(|p| p.as_str().to_owned()).collect(),
    }
}

/// An override given on the decision's head, for the change page: who,
/// when, the reason, at which head, and what it lifted or why it did not
/// count.
pub(super) struct OverrideView {
    pub by: String,
    pub when: String,
    pub reason: String,
    pub head: String,
    pub status: String,
    pub class: &'static str,
    pub lifted: Vec<String>,
}

pub(super) fn overrides(decision: &Decision) -> Vec<OverrideView> {
    let combined = decision.org_policy.is_some();
    (decision.overrides.iter())
        .map(|u| {
            let (status, class) = match (u.refused, u.lifted.is_empty()) {
                (Some(why), _) => (
                    format!("Did not count: {}", plain(why.describe())),
                    "blocked",
                ),
                (None, true) => ("Counted; nothing it may lift".to_owned(), "neutral"),
                (None, false) => ("Lifted".to_owned(), "allowed"),
            };
            let lifted = (u.lifted.iter())
                .map(|l| {
                    let from = from_words(combined, l.from);
                    let from = if from.is_empty() {
                        from
                    } else {
                        format!(" ({from})")
                    };
                    match l.kind.as_str() {
                        "requirement" => format!("approval for {}{from}", l.what),
                        _ => format!("{}{from}", plain(&l.what)),
                    }
                })
                .collect();
            OverrideView {
                by: u.by.as_str().to_owned(),
                when: time(u.at),
                reason: u.reason.clone(),
                head: short(decision.head_sha.as_str()).to_owned(),
                status,
                class,
                lifted,
            }
        })
        .collect()
}

/// One line of the timeline.
pub(super) struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub when: String,
    pub what: String,
    pub who: String,
    pub detail: String,
}

/// Evaluations and audit events of a change, oldest first.
pub(super) fn timeline(report: &ChangeReport) -> Vec<TimelineEntry> {
    let mut entries: Vec<TimelineEntry> = report
        .evaluations
        .iter()
        .map(|e| TimelineEntry {
            at: e.evaluated_at,
            when: time(e.evaluated_at),
            what: format!("Evaluated: {}", status(e).words),
            who: "Warrant".into(),
            detail: format!("{} (head {})", e.check_title, short(&e.head_sha)),
        })
        .collect();
    entries.extend(report.events.iter().map(event_entry));
    // Stable: at one instant, evaluations come before events.
    entries.sort_by_key(|e| e.at);
    entries
}

fn event_entry(e: &AuditEvent) -> TimelineEntry {
    let ev = &e.event;
    let what = match ev.kind {
        EventKind::DeliveryReceived => "Webhook received",
        EventKind::AgentIdentified => "Agent identified",
        EventKind::DecisionMade => "Decision made",
        EventKind::ApprovalCounted => "Approval counted",
        EventKind::ApprovalRefused => "Approval not counted",
        EventKind::ReviewDismissed => "Review dismissed",
        EventKind::CheckPosted => "Check published",
        EventKind::PolicyChanged => "Policy changed",
        EventKind::ChangeMerged => "Merged",
        EventKind::ChangeClosed => "Closed without merging",
        EventKind::MergeGroupChecked => "Decided again in a merge group",
        EventKind::MergeGroupDestroyed => "Merge group ended",
        EventKind::PolicyRelaxed => "Policy relaxed",
        EventKind::AgentLapsing => "Registration lapsing",
        EventKind::PushUnreviewed => "Agent commits pushed without review",
        EventKind::OverrideUsed => "Override used",
    };
    let who = [ev.actor.as_deref(), ev.agent.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" for ");
    let mut detail = Vec::new();
    if let Some(reason) = ev.detail.get("reason").and_then(|r| r.as_str()) {
        detail.push(reason.to_owned());
    }
    if let Some(approval) = &ev.approval {
        detail.push(format!("approval {approval}"));
    }
    if let Some(decision) = &ev.decision {
        detail.push(format!("decision {decision}"));
    }
    if !ev.paths.is_empty() {
        detail.push(ev.paths.join(", "));
    }
    if let Some(head) = &ev.head_sha {
        detail.push(format!("head {}", short(head)));
    }
    detail.push(format!("trail #{}", e.seq));
    TimelineEntry {
        at: ev.at,
        when: time(ev.at),
        what: what.into(),
        who,
        detail: detail.join("; "),
    }
}

pub(super) fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::NewAuditEvent;
    use crate::engine::Forge;
    use crate::ids::RepoName;

    /// [`super::forge_url`] of change `number` of `repo` on `forge`.
    fn forge_url(
        forge: &str,
        repo: &str,
        number: u64,
        stored: Option<&str>,
        gitlab: &str,
    ) -> String {
        let forge = Forge::parse(forge).unwrap();
        let change = ChangeKey::new(forge, RepoName::parse(repo).unwrap(), number);
        super::forge_url(&change, stored, gitlab)
    }

    fn event(kind: EventKind) -> AuditEvent {
        let at = DateTime::from_timestamp_millis(1_790_000_000_000).unwrap();
        AuditEvent {
            id: 1,
            seq: 1,
            event: NewAuditEvent::new(
                Forge::Github,
                &RepoName::parse("acme/app").unwrap(),
                kind,
                at,
            ),
            prev_hash: crate::audit::GENESIS.into(),
            hash: String::new(),
        }
    }

    fn facts<'a>(merge: Option<&'a MergeRecord>, events: &'a [AuditEvent]) -> RollbackFacts<'a> {
        RollbackFacts {
            merge,
            events,
            status: Some(ChangeStatus::Open),
            base: Some("1111111"),
        }
    }

    #[test]
    fn the_merge_event_supplies_what_the_merge_row_lacks() {
        let merge = MergeRecord {
            head_sha: "aaaaaaa".into(),
            merge_commit_sha: Some("bbbbbbb".into()),
            method: None,
            commit_count: None,
            recorded_at: DateTime::from_timestamp_millis(0).unwrap(),
        };
        let mut merged = event(EventKind::ChangeMerged);
        merged.event = merged.event.with_detail("merge_method", "merge");
        let events = [merged];
        let r = rollback_of(facts(Some(&merge), &events));
        assert_eq!(r.reference, "git revert -m 1 bbbbbbb");

        let mut only_event = event(EventKind::ChangeMerged);
        only_event.event = only_event
            .event
            .with_detail("merge_commit_sha", "ccccccc")
            .with_detail("merge_method", "squash");
        let events = [only_event];
        assert_eq!(
            rollback_of(facts(None, &events)).reference,
            "git revert ccccccc"
        );
    }

    #[test]
    fn a_close_event_means_nothing_to_undo_and_no_record_means_open() {
        let events = [event(EventKind::ChangeClosed)];
        assert_eq!(rollback_of(facts(None, &events)).reference, "");
        assert_eq!(rollback_of(facts(None, &[])).reference, "base:1111111");
    }

    #[test]
    fn stored_addresses_are_used_only_when_they_are_web_links() {
        let gitlab = "https://gitlab.example";
        assert_eq!(
            forge_url("github", "acme/app", 3, Some("javascript:alert(1)"), gitlab),
            "https://github.com/acme/app/pull/3"
        );
        assert_eq!(
            forge_url(
                "github",
                "acme/app",
                3,
                Some("https://ghe.example/acme/app/pull/3"),
                gitlab
            ),
            "https://ghe.example/acme/app/pull/3"
        );
        assert_eq!(
            forge_url("gitlab", "group/sub/app", 3, None, gitlab),
            "https://gitlab.example/group/sub/app/-/merge_requests/3"
        );
    }
}
