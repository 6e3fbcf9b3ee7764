//! The audit trail: what happened to each change, by whom, under which
//! policy, as append-only rows hash-chained per repository.
//!
//! An [`AuditEvent`] is one governance event (a delivery received, an agent
//! identified, a decision made, an approval counted or refused, ...). The
//! store appends events ([`crate::store::Store::append_audit`]) and computes
//! each row's place in its repository's chain: `seq` counts from 1,
//! `prev_hash` is the previous row's `hash` (64 zeros for the first), and
//! `hash` is the SHA-256 of the row's [canonical contents](canonical).
//!
//! The canonical contents are a compact JSON object whose keys come in a
//! fixed order and whose `detail` object has its keys sorted, so that the
//! same row always hashes the same on either database:
//!
//! ```text
//! {"forge":..,"repo":..,"seq":..,"at":<unix ms>,"kind":..,"change":..,
//!  "head_sha":..,"base_sha":..,"policy_blob":..,"agent":..,"role":..,
//!  "owner":..,"actor":..,"requester":..,"paths":[..],"approval":..,
//!  "decision":..,"detail":{..},"prev_hash":..}
//! ```

pub mod checkpoint;
pub mod export;
pub mod merkle;
pub mod record;
pub mod rollback;
pub mod verify;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::Forge;
use crate::ids::RepoName;

/// The `prev_hash` of the first row of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. Stored as the snake-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A webhook delivery was accepted and queued.
    DeliveryReceived,
    /// An agent (registered or not) was found on a change.
    AgentIdentified,
    /// The engine decided on a change at a head commit.
    DecisionMade,
    /// An approval counted towards a requirement.
    ApprovalCounted,
    /// An approval did not count, and why (`detail.reason`).
    ApprovalRefused,
    /// Warrant dismissed an agent's approval.
    ReviewDismissed,
    /// The `warrant` check (or commit status) was published.
    CheckPosted,
    /// The policy file changed on the default branch.
    PolicyChanged,
    /// The change was merged (`detail.merge_commit_sha`, `detail.merge_method`).
    ChangeMerged,
    /// The change was closed without merging.
    ChangeClosed,
    /// The change was decided again in a merge group, under the policy at
    /// the group's base (`detail.group_head`, `detail.group_conclusion`).
    MergeGroupChecked,
    /// A merge group went (`detail.reason`: `merged`, `invalidated`,
    /// `dequeued`).
    MergeGroupDestroyed,
    /// A merged change relaxed a policy: each relaxation
    /// (`detail.relaxations`), the policy file (`paths`, `policy_blob`),
    /// the merge commit and who approved (`detail.approved_by`).
    PolicyRelaxed,
    /// A registration lapses within 14 days (`detail.expires`,
    /// `detail.days_left`), found by the daily sweep.
    AgentLapsing,
    /// Commits with agent signals reached the default branch by a push
    /// that is no change's merge: the push (`head_sha` after, `base_sha`
    /// before, `actor` the pusher, `detail.ref`) and each agent commit
    /// (`detail.commits`: sha, title, author, agents with their signals and
    /// whether registered).
    PushUnreviewed,
    /// An override (break-glass) lifted what blocked a change at a head:
    /// the overrider (`actor`), `detail.reason`, `detail.comment_id`,
    /// `detail.lifted` and whether the check then passed
    /// (`detail.check_overridden`).
    OverrideUsed,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::DeliveryReceived,
        EventKind::AgentIdentified,
        EventKind::DecisionMade,
        EventKind::ApprovalCounted,
        EventKind::ApprovalRefused,
        EventKind::ReviewDismissed,
        EventKind::CheckPosted,
        EventKind::PolicyChanged,
        EventKind::ChangeMerged,
        EventKind::ChangeClosed,
        EventKind::MergeGroupChecked,
        EventKind::MergeGroupDestroyed,
        EventKind::PolicyRelaxed,
        EventKind::AgentLapsing,
        EventKind::PushUnreviewed,
        EventKind::OverrideUsed,
    ];

    /// The stored name, `snake_case`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DeliveryReceived => "delivery_received",
            EventKind::AgentIdentified => "agent_identified",
            EventKind::DecisionMade => "decision_made",
            EventKind::ApprovalCounted => "approval_counted",
            EventKind::ApprovalRefused => "approval_refused",
            EventKind::ReviewDismissed => "review_dismissed",
            EventKind::CheckPosted => "check_posted",
            EventKind::PolicyChanged => "policy_changed",
            EventKind::ChangeMerged => "change_merged",
            EventKind::ChangeClosed => "change_closed",
            EventKind::MergeGroupChecked => "merge_group_checked",
            EventKind::MergeGroupDestroyed => "merge_group_destroyed",
            EventKind::PolicyRelaxed => "policy_relaxed",
            EventKind::AgentLapsing => "agent_lapsing",
            EventKind::PushUnreviewed => "push_unreviewed",
            EventKind::OverrideUsed => "override_used",
        }
    }

    /// The kind stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event before it is appended: everything but its place in the chain.
/// Fields that do not apply to a kind stay `None` (or empty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// `github` or `gitlab`.
    pub forge: String,
    /// `owner/name`, or GitLab's project path.
    pub repo: String,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub change: Option<u64>,
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    pub policy_blob: Option<String>,
    pub agent: Option<String>,
    pub role: Option<String>,
    pub owner: Option<String>,
    pub actor: Option<String>,
    pub requester: Option<String>,
    pub paths: Vec<String>,
    pub approval: Option<String>,
    pub decision: Option<String>,
    /// A JSON object; anything kind-specific (a reason, a review id, ...).
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl NewAuditEvent {
    /// An event of `kind` on `repo` at `at`, with nothing else set.
    pub fn new(forge: Forge, repo: &RepoName, kind: EventKind, at: DateTime<Utc>) -> NewAuditEvent {
        NewAuditEvent {
            forge: forge.as_str().to_owned(),
            repo: repo.as_str().to_owned(),
            at,
            kind,
            change: None,
            head_sha: None,
            base_sha: None,
            policy_blob: None,
            agent: None,
            role: None,
            owner: None,
            actor: None,
            requester: None,
            paths: Vec::new(),
            approval: None,
            decision: None,
            detail: serde_json::Map::new(),
        }
    }

    /// Adds `key: value` to the detail object.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> NewAuditEvent {
        self.detail.insert(key.to_owned(), value.into());
        self
    }
}

/// An event as stored: its contents, its place in the chain and its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The row id: global order of appends, not part of the hash.
    pub id: i64,
    pub seq: u64,
    #[serde(flatten)]
    pub event: NewAuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical contents of the row at `seq` after `prev_hash`: the bytes
/// whose SHA-256 is the row's hash.
pub fn canonical(event: &NewAuditEvent, seq: u64, prev_hash: &str) -> String {
    // Field order is the struct's; `detail` is rebuilt with its keys
    // sorted at every depth, whatever map serde_json is built with.
    #[derive(Serialize)]
    struct Canonical<'a> {
        forge: &'a str,
        repo: &'a str,
        seq: u64,
        at: i64,
        kind: EventKind,
        change: Option<u64>,
        head_sha: Option<&'a str>,
        base_sha: Option<&'a str>,
        policy_blob: Option<&'a str>,
        agent: Option<&'a str>,
        role: Option<&'a str>,
        owner: Option<&'a str>,
        actor: Option<&'a str>,
        requester: Option<&'a str>,
        paths: &'a [String],
        approval: Option<&'a str>,
        decision: Option<&'a str>,
        detail: serde_json::Value,
        prev_hash: &'a str,
    }
    let c = Canonical {
        forge: &event.forge,
        repo: &event.repo,
        seq,
        at: event.at.timestamp_millis(),
        kind: event.kind,
        change: event.change,
        head_sha: event.head_sha.as_deref(),
        base_sha: event.base_sha.as_deref(),
        policy_blob: event.policy_blob.as_deref(),
        agent: event.agent.as_deref(),
        role: event.role.as_deref(),
        owner: event.owner.as_deref(),
        actor: event.actor.as_deref(),
        requester: event.requester.as_deref(),
        paths: &event.paths,
        approval: event.approval.as_deref(),
        decision: event.decision.as_deref(),
        detail: sorted(&serde_json::Value::Object(event.detail.clone())),
        prev_hash,
    };
    serde_json::to_string(&c).expect("the canonical form serialises")
}

/// `value` with the keys of every object in sorted order.
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The hash of the row at `seq` after `prev_hash`, as lowercase hex.
pub fn row_hash(event: &NewAuditEvent, seq: u64, prev_hash: &str) -> String {
    hex::encode(Sha256::digest(canonical(event, seq, prev_hash).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> NewAuditEvent {
        let at = DateTime::from_timestamp_millis(1_790_000_000_123).unwrap();
        let repo = RepoName::parse("acme/app").unwrap();
        let mut e = NewAuditEvent::new(Forge::Github, &repo, EventKind::ApprovalRefused, at)
            .with_detail("reason", "the approver is an agent")
            .with_detail("review_id", 7);
        e.change = Some(12);
        e.actor = Some("copilot-swe-agent[bot]".into());
        e.paths = vec!["infra/main.tf".into()];
        e
    }

    #[test]
    fn the_canonical_form_is_fixed_field_order_with_sorted_detail() {
        let text = canonical(&event(), 3, GENESIS);
        assert!(text.starts_with(r#"{"forge":"github","repo":"acme/app","seq":3,"at":1790000000123,"kind":"approval_refused","change":12,"#), "{text}");
        assert!(
            text.contains(r#""detail":{"reason":"the approver is an agent","review_id":7}"#),
            "{text}"
        );
        assert!(
            text.ends_with(&format!(r#""prev_hash":"{GENESIS}"}}"#)),
            "{text}"
        );
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let base = row_hash(&event(), 3, GENESIS);
        assert_eq!(base.len(), 64);
        assert_eq!(base, row_hash(&event(), 3, GENESIS));
        assert_ne!(base, row_hash(&event(), 4, GENESIS));
        assert_ne!(base, row_hash(&event(), 3, &"1".repeat(64)));
        let mut other = event();
        other.paths.push("infra/b.tf".into());
        assert_ne!(base, row_hash(&other, 3, GENESIS));
        let other = event().with_detail("reason", "changed");
        assert_ne!(base, row_hash(&other, 3, GENESIS));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(EventKind::parse("nope"), None);
    }
}
