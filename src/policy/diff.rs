//! The effect of replacing one policy by another, key by key ("Policy
//! changes on their own pull request" in POLICY.md): each difference is
//! `tightened` (agents may do less, or need more approval), `relaxed` (the
//! other way) or `neutral` (neither, such as a new owner).
//!
//! A reviewer reads the list on the pull request that changes the policy;
//! the relaxations of a change that lands are recorded in the audit trail.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Agent, Approver, Mode, OutOfScope, PathGlobs, Policy, Role, SensitiveArea, UnregisteredAction,
};

/// Which way a difference moves the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Tightened,
    Relaxed,
    Neutral,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Tightened => "tightened",
            Effect::Relaxed => "relaxed",
            Effect::Neutral => "neutral",
        }
    }
}

/// One difference between two policies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The key it is about, as the policy file writes it
    /// (`roles.feature-dev.scope.allow`, `sensitive[ledger].min_approvals`).
    pub key: String,
    pub effect: Effect,
    /// What changed, in a sentence fragment ("`infra/**` added").
    pub change: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.effect.as_str(), self.key, self.change)
    }
}

/// The differences from `old` to `new`, in the order of the policy file's
/// keys; none when they say the same.
pub fn diff(old: &Policy, new: &Policy) -> Vec<Difference> {
    let mut out = Differences::default();
    out.mode(old.mode, new.mode);
    out.agents(old, new);
    out.roles(old, new);
    out.sensitive(&old.sensitive, &new.sensitive);
    out.unregistered(old, new);
    out.approvals(old, new);
    out.approvers(
        "policy_file.approvers",
        &old.policy_file.approvers,
        &new.policy_file.approvers,
        // No approvers: a human's change to the policy is only audited.
        Effect::Relaxed,
    );
    // Whoever may override the check can lift what the rest of the policy
    // requires: an approver added is a relaxation, one removed (or all,
    // turning overrides off) a tightening.
    out.approvers(
        "overrides.approvers",
        &old.overrides.approvers,
        &new.overrides.approvers,
        Effect::Tightened,
    );
    out.0
}

#[derive(Default)]
struct Differences(Vec<Difference>);

impl Differences {
    fn push(&mut self, key: impl Into<String>, effect: Effect, change: impl Into<String>) {
        self.0.push(Difference {
            key: key.into(),
            effect,
            change: change.into(),
        });
    }

    fn mode(&mut self, old: Mode, new: Mode) {
        let word = |m: Mode| match m {
            Mode::Enforce => "enforce",
            Mode::Observe => "observe",
        };
        if old != new {
            let effect = if new == Mode::Observe {
                Effect::Relaxed
            } else {
                Effect::Tightened
            };
            self.push(
                "mode",
                effect,
                format!("`{}` to `{}`", word(old), word(new)),
            );
        }
    }

    fn agents(&mut self, old: &Policy, new: &Policy) {
        for agent in &old.agents {
            if new.agent(&agent.id).is_none() {
                let key = format!("agents.{}", agent.id);
                self.push(key, Effect::Tightened, "registration removed");
            }
        }
        for agent in &new.agents {
            let key = format!("agents.{}", agent.id);
            match old.agent(&agent.id) {
                None => self.push(
                    key,
                    Effect::Relaxed,
                    format!("registered, role `{}`, owner `{}`", agent.role, agent.owner),
                ),
                Some(before) => {
                    let roles = (old.roles.get(&before.role), new.roles.get(&agent.role));
                    self.agent(&key, before, agent, roles)
                }
            }
        }
    }

    /// An agent's registration changed; `roles` are its role before and
    /// after, to tell whether a new role lets it do more or less.
    fn agent(
        &mut self,
        key: &str,
        old: &Agent,
        new: &Agent,
        roles: (Option<&Role>, Option<&Role>),
    ) {
        if old.role != new.role {
            let (effect, how) = match roles {
                (Some(before), Some(after)) => role_change(before, after),
                _ => (Effect::Neutral, "see the roles' scopes"),
            };
            self.push(
                format!("{key}.role"),
                effect,
                format!("`{}` to `{}` ({how})", old.role, new.role),
            );
        }
        if old.owner != new.owner {
            self.push(
                format!("{key}.owner"),
                Effect::Neutral,
                format!("`{}` to `{}`", old.owner, new.owner),
            );
        }
        let when = |t: Option<DateTime<Utc>>| match t {
            Some(t) => format!("`{}`", t.format("%Y-%m-%d %H:%M UTC")),
            None => "never".to_owned(),
        };
        // `None` lapses never: later than any time.
        let later = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
            (None, None) => false,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => a > b,
        };
        if old.expires != new.expires {
            let effect = if later(new.expires, old.expires) {
                Effect::Relaxed
            } else {
                Effect::Tightened
            };
            let change = format!(
                "lapses {} instead of {}",
                when(new.expires),
                when(old.expires)
            );
            self.push(format!("{key}.expires"), effect, change);
        }
        if old.signals != new.signals {
            self.push(
                format!("{key}.match"),
                Effect::Neutral,
                "signals changed: other commits and accounts are this agent's",
            );
        }
        let window = |e: &super::Elevation| {
            format!(
                "{} from {} until {} ({})",
                globs(e.paths.patterns()),
                e.from.format("%Y-%m-%d %H:%M UTC"),
                e.until.format("%Y-%m-%d %H:%M UTC"),
                e.reason
            )
        };
        let before: BTreeSet<String> = old.elevations.iter().map(window).collect();
        let after: BTreeSet<String> = new.elevations.iter().map(window).collect();
        for added in after.difference(&before) {
            self.push(
                format!("{key}.elevations"),
                Effect::Relaxed,
                format!("added: {added}"),
            );
        }
        for removed in before.difference(&after) {
            let change = format!("removed: {removed}");
            self.push(format!("{key}.elevations"), Effect::Tightened, change);
        }
    }

    fn roles(&mut self, old: &Policy, new: &Policy) {
        for id in old.roles.keys() {
            if !new.roles.contains_key(id) {
                // A role gives nothing by itself: its agents' changes show.
                let key = format!("roles.{id}");
                self.push(key, Effect::Neutral, "removed");
            }
        }
        for (id, role) in &new.roles {
            let key = format!("roles.{id}");
            match old.roles.get(id) {
                None => self.push(
                    key,
                    Effect::Neutral,
                    format!("added, allowing {}", globs(role.allow.patterns())),
                ),
                Some(before) => self.role(&key, before, role),
            }
        }
    }

    fn role(&mut self, key: &str, old: &Role, new: &Role) {
        self.globs(
            &format!("{key}.scope.allow"),
            &old.allow,
            &new.allow,
            [Effect::Relaxed, Effect::Tightened],
        );
        self.globs(
            &format!("{key}.scope.deny"),
            &old.deny,
            &new.deny,
            [Effect::Tightened, Effect::Relaxed],
        );
        if old.out_of_scope != new.out_of_scope {
            let (effect, change) = match new.out_of_scope {
                OutOfScope::Escalate => (Effect::Relaxed, "`block` to `escalate`"),
                OutOfScope::Block => (Effect::Tightened, "`escalate` to `block`"),
            };
            self.push(format!("{key}.out_of_scope"), effect, change);
        }
        if old.max_files != new.max_files {
            let limit = |m: Option<usize>| m.map_or("no limit".to_owned(), |m| m.to_string());
            let raised = match (old.max_files, new.max_files) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(a), Some(b)) => b > a,
            };
            let effect = if raised {
                Effect::Relaxed
            } else {
                Effect::Tightened
            };
            let change = format!("{} to {}", limit(old.max_files), limit(new.max_files));
            self.push(format!("{key}.max_files"), effect, change);
        }
        let (before, after) = (new_list(&old.escalate_to), new_list(&new.escalate_to));
        if before != after {
            self.push(
                format!("{key}.escalate_to"),
                Effect::Neutral,
                format!("{} to {}", approver_list(&before), approver_list(&after)),
            );
        }
    }

    /// Globs added and removed: `effects` says what adding and removing
    /// one does.
    fn globs(&mut self, key: &str, old: &PathGlobs, new: &PathGlobs, effects: [Effect; 2]) {
        let before: BTreeSet<&String> = old.patterns().iter().collect();
        let after: BTreeSet<&String> = new.patterns().iter().collect();
        for added in after.difference(&before) {
            self.push(key, effects[0], format!("`{added}` added"));
        }
        for removed in before.difference(&after) {
            self.push(key, effects[1], format!("`{removed}` removed"));
        }
    }

    fn sensitive(&mut self, old: &[SensitiveArea], new: &[SensitiveArea]) {
        let find = |list: &'_ [SensitiveArea], name: &str| {
            list.iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .cloned()
        };
        for area in old {
            if find(new, &area.name).is_none() {
                let key = format!("sensitive[{}]", area.name);
                self.push(key, Effect::Relaxed, "removed: its paths need no approval");
            }
        }
        for area in new {
            let key = format!("sensitive[{}]", area.name);
            let Some(before) = find(old, &area.name) else {
                let change = format!(
                    "added: {} need {} from {}",
                    globs(area.paths.patterns()),
                    area.min_approvals,
                    approver_list(&area.approvers)
                );
                self.push(key, Effect::Tightened, change);
                continue;
            };
            self.globs(
                &format!("{key}.paths"),
                &before.paths,
                &area.paths,
                [Effect::Tightened, Effect::Relaxed],
            );
            self.approvers(
                &format!("{key}.approvers"),
                &before.approvers,
                &area.approvers,
                Effect::Tightened,
            );
            if before.min_approvals != area.min_approvals {
                let effect = if area.min_approvals < before.min_approvals {
                    Effect::Relaxed
                } else {
                    Effect::Tightened
                };
                let change = format!("{} to {}", before.min_approvals, area.min_approvals);
                self.push(format!("{key}.min_approvals"), effect, change);
            }
        }
    }

    fn unregistered(&mut self, old: &Policy, new: &Policy) {
        let strength = |a: UnregisteredAction| match a {
            UnregisteredAction::Allow => 0,
            UnregisteredAction::Warn => 1,
            UnregisteredAction::Escalate => 2,
            UnregisteredAction::Block => 3,
        };
        let word = |a: UnregisteredAction| match a {
            UnregisteredAction::Allow => "allow",
            UnregisteredAction::Warn => "warn",
            UnregisteredAction::Escalate => "escalate",
            UnregisteredAction::Block => "block",
        };
        let (before, after) = (
            old.unregistered_agents.action,
            new.unregistered_agents.action,
        );
        if before != after {
            let effect = if strength(after) < strength(before) {
                Effect::Relaxed
            } else {
                Effect::Tightened
            };
            let change = format!("`{}` to `{}`", word(before), word(after));
            self.push("unregistered_agents.action", effect, change);
        }
        self.approvers(
            "unregistered_agents.approvers",
            &old.unregistered_agents.approvers,
            &new.unregistered_agents.approvers,
            Effect::Neutral,
        );
    }

    fn approvals(&mut self, old: &Policy, new: &Policy) {
        let (a, b) = (&old.approvals, &new.approvals);
        for (key, before, after) in [
            ("approvals.stale_on_push", a.stale_on_push, b.stale_on_push),
            (
                "approvals.exclude_requester",
                a.exclude_requester,
                b.exclude_requester,
            ),
            (
                "approvals.exclude_contributors",
                a.exclude_contributors,
                b.exclude_contributors,
            ),
        ] {
            if before != after {
                let (effect, change) = if after {
                    (Effect::Tightened, "turned on")
                } else {
                    (Effect::Relaxed, "turned off")
                };
                self.push(key, effect, change);
            }
        }
        if a.agent_reviews != b.agent_reviews {
            // Agents' approvals never count either way; only whether they
            // are also dismissed changes.
            let change = format!(
                "`{}` to `{}`",
                serde_plain(a.agent_reviews),
                serde_plain(b.agent_reviews)
            );
            self.push("approvals.agent_reviews", Effect::Neutral, change);
        }
    }

    /// An approvers list changed: people added may approve where they
    /// could not (relaxed), people removed no longer can (tightened);
    /// `emptied` is what emptying the list does.
    fn approvers(&mut self, key: &str, old: &[Approver], new: &[Approver], emptied: Effect) {
        if old == new {
            return;
        }
        if new.is_empty() {
            self.push(key, emptied, format!("{} removed", approver_list(old)));
            return;
        }
        for added in new.iter().filter(|a| !old.contains(a)) {
            self.push(key, Effect::Relaxed, format!("`{added}` added"));
        }
        for removed in old.iter().filter(|a| !new.contains(a)) {
            self.push(key, Effect::Tightened, format!("`{removed}` removed"));
        }
    }
}

fn new_list(list: &Option<Vec<Approver>>) -> Vec<Approver> {
    list.clone().unwrap_or_default()
}

fn approver_list(list: &[Approver]) -> String {
    if list.is_empty() {
        return "nobody (the default)".to_owned();
    }
    list.iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn globs(patterns: &[String]) -> String {
    if patterns.is_empty() {
        return "nothing".to_owned();
    }
    patterns
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A unit enum as serde names it (`dismiss`).
fn serde_plain(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What moving an agent from role `old` to role `new` does: the role
/// differences, as if one role had been edited into the other, summed up.
/// A move that lets the agent do more anywhere is a relaxation, whatever
/// else it narrows: that is what its reviewers must weigh.
fn role_change(old: &Role, new: &Role) -> (Effect, &'static str) {
    let mut between = Differences::default();
    between.role("", old, new);
    let any = |effect| between.0.iter().any(|d| d.effect == effect);
    match (any(Effect::Relaxed), any(Effect::Tightened)) {
        (true, true) => (
            Effect::Relaxed,
            "its scope widens in places and narrows in others",
        ),
        (true, false) => (Effect::Relaxed, "its scope widens"),
        (false, true) => (Effect::Tightened, "its scope narrows"),
        (false, false) => (Effect::Neutral, "the same scope"),
    }
}

/// The differences as the check's summary shows them, under "Policy
/// change": one line each, the effect first, in words.
pub fn markdown(differences: &[Difference]) -> String {
    let mut out = String::from("### Policy change\n\n");
    if differences.is_empty() {
        out.push_str("The proposed policy says the same as the current one.\n");
        return out;
    }
    for d in differences {
        out.push_str(&format!(
            "- **{}** `{}`: {}\n",
            d.effect.as_str(),
            d.key,
            d.change
        ));
    }
    out
}

/// The differences as plain text for a terminal, one per line.
pub fn text(differences: &[Difference]) -> String {
    if differences.is_empty() {
        return "No difference: the two policies say the same.\n".to_owned();
    }
    differences
        .iter()
        .map(|d| {
            format!(
                "{:<10} {}: {}\n",
                d.effect.as_str(),
                d.key,
                d.change.replace('`', "")
            )
        })
        .collect()
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
