//! The inventory of every agent seen, for the agents page and its exports:
//! the access review. Built from the latest decision on each change (where
//! it is registered, its role per repository, when its registration
//! lapses) and from the audit trail (agents only the trail names).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::reports::{AgentSummary, ChangeBatches, ChangeFilter, ChangeRow, Readable};
use super::{Store, from_millis};
use crate::engine::{AgentFinding, Conclusion, Origin, Registration};
use crate::ids::ChangeKey;

impl Store {
    /// Every agent seen in a `readable` repository, in the latest decision
    /// on a change or in an audit event: unregistered ones first, then
    /// lapsed ones, then registered ones, each by last activity, newest
    /// first.
    pub async fn agents_inventory(&self, readable: &Readable) -> anyhow::Result<Vec<AgentSummary>> {
        let mut inventory = Inventory::default();
        let everything = ChangeFilter::default();
        let mut batches = ChangeBatches::new(&everything, readable);
        while let Some(rows) = batches.next(self).await? {
            for row in &rows {
                inventory.add_change(row);
            }
        }
        // A lapsing registration found by the sweep is not a sighting.
        let rows = sqlx::query(
            "SELECT forge, repo, change_number, agent_id, role, owner, at FROM audit_events
             WHERE agent_id IS NOT NULL AND kind <> 'agent_lapsing'",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot read the agents of the audit trail")?;
        for row in &rows {
            let forge: String = row.try_get("forge")?;
            let repo: String = row.try_get("repo")?;
            if readable.contains(&forge, &repo) {
                inventory.add_event(row, &forge, &repo)?;
            }
        }
        Ok(inventory.finish())
    }
}

/// The inventory as it is gathered: per agent, its summary and the changes
/// it was seen on (to count each once).
#[derive(Default)]
struct Inventory {
    agents: BTreeMap<String, (AgentSummary, BTreeSet<SeenOn>)>,
}

/// A change an agent was seen on, as `(forge, repo, number)`.
type SeenOn = (String, String, u64);

impl Inventory {
    fn entry(&mut self, id: &str, at: DateTime<Utc>) -> &mut (AgentSummary, BTreeSet<SeenOn>) {
        self.agents.entry(id.to_owned()).or_insert_with(|| {
            (
                AgentSummary {
                    id: id.to_owned(),
                    registration: "unregistered",
                    role: None,
                    owner: None,
                    repositories: BTreeSet::new(),
                    roles: BTreeMap::new(),
                    by_organisation: false,
                    registered_in: BTreeSet::new(),
                    expires: None,
                    last_seen: at,
                    changes: 0,
                    blocked: 0,
                },
                BTreeSet::new(),
            )
        })
    }

    /// Changes arrive newest evaluation first: the first finding of an
    /// agent, and the first in each repository, are the latest.
    fn add_change(&mut self, row: &ChangeRow) {
        let Some(decision) = &row.latest.decision else {
            return;
        };
        let at = row.latest.evaluated_at;
        let blocked = decision.would_conclude == Conclusion::Failure;
        let ChangeKey {
            forge,
            repo,
            number,
        } = &row.change;
        let key = format!("{}:{repo}", forge.as_str());
        for agent in &decision.agents {
            let (summary, changes) = self.entry(&agent.id, at);
            if at >= summary.last_seen || summary.role.is_none() {
                summary.registration = registration(&agent.status);
                summary.role = agent.role.clone().or(summary.role.take());
                summary.owner = agent.owner.clone().or(summary.owner.take());
                summary.expires = expiry(agent).or(summary.expires);
            }
            summary.last_seen = summary.last_seen.max(at);
            if summary.repositories.insert(key.clone()) {
                registered_where(summary, agent, &key);
            }
            if changes.insert((forge.as_str().to_owned(), repo.as_str().to_owned(), *number)) {
                summary.changes += 1;
                summary.blocked += u64::from(blocked);
            }
        }
    }

    fn add_event(&mut self, row: &AnyRow, forge: &str, repo: &str) -> anyhow::Result<()> {
        let id: String = row.try_get("agent_id")?;
        let at = from_millis(row.try_get("at")?)?;
        let change: Option<i64> = row.try_get("change_number")?;
        let role: Option<String> = row.try_get("role")?;
        let owner: Option<String> = row.try_get("owner")?;
        let known = self.agents.contains_key(&id);
        let (summary, changes) = self.entry(&id, at);
        if !known {
            summary.registration = if id.starts_with("unregistered:") {
                "unregistered"
            } else {
                "registered"
            };
        }
        let key = format!("{forge}:{repo}");
        if let Some(role) = &role {
            summary
                .roles
                .entry(key.clone())
                .or_insert_with(|| role.clone());
        }
        summary.role = summary.role.take().or(role);
        summary.owner = summary.owner.take().or(owner);
        summary.last_seen = summary.last_seen.max(at);
        summary.repositories.insert(key);
        if let Some(number) = change.and_then(|n| u64::try_from(n).ok()) {
            if changes.insert((forge.to_owned(), repo.to_owned(), number)) {
                summary.changes += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<AgentSummary> {
        let mut list: Vec<AgentSummary> = self.agents.into_values().map(|(s, _)| s).collect();
        // Unregistered first, then lapsed: what an access review acts on.
        let rank = |a: &AgentSummary| match a.registration {
            "unregistered" => 0,
            "lapsed" => 1,
            _ => 2,
        };
        list.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(b.last_seen.cmp(&a.last_seen))
                .then(a.id.cmp(&b.id))
        });
        list
    }
}

/// A registration as the inventory and exports spell it.
pub(super) fn registration(status: &Registration) -> &'static str {
    match status {
        Registration::Registered => "registered",
        Registration::Unregistered => "unregistered",
        Registration::Lapsed { .. } => "lapsed",
    }
}

/// When `agent`'s registration lapses: its `expires`, or for a lapsed one
/// the time it lapsed.
fn expiry(agent: &AgentFinding) -> Option<DateTime<Utc>> {
    match agent.status {
        Registration::Lapsed { expired_at } => agent.expires.or(Some(expired_at)),
        _ => agent.expires,
    }
}

/// Records, from the latest finding in repository `key`, its role there
/// and which policy registers it: the organisation's, or the repository's
/// own (a finding without `registered_by` comes from a repository policy
/// alone).
fn registered_where(summary: &mut AgentSummary, agent: &AgentFinding, key: &str) {
    if let Some(role) = &agent.role {
        summary.roles.insert(key.to_owned(), role.clone());
    }
    if matches!(agent.status, Registration::Unregistered) {
        return;
    }
    match agent.registered_by {
        Some(Origin::Organisation) => summary.by_organisation = true,
        Some(Origin::Repository) | None => {
            summary.registered_in.insert(key.to_owned());
        }
    }
}
