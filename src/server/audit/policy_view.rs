//! The policies behind a change's decision, as its page shows them: each
//! policy applied, and a policy the change proposes.

use super::view::plain;
use crate::engine::{Decision, Origin};
use crate::policy::Mode;

/// Each policy a decision applied, in a sentence: where it was read, its
/// blob and, under an organisation policy, its mode and what it alone
/// concludes.
pub(super) fn policies(decision: &Decision) -> Vec<String> {
    let applied = |from: Origin| {
        decision.applied.iter().find(|a| a.from == from).map(|a| {
            let mode = match a.mode {
                Mode::Enforce => "enforce",
                Mode::Observe => "observe",
            };
            format!(
                ", mode {mode}, alone it concludes {}",
                a.would_conclude.as_str()
            )
        })
    };
    let org = decision.org_policy.as_ref().map(|p| {
        let place = p
            .repository
            .as_deref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default();
        format!(
            "Organisation policy {}{place} (blob {}){}",
            p.path,
            p.blob_id,
            applied(Origin::Organisation).unwrap_or_default()
        )
    });
    let repo = decision.policy.as_ref().map(|p| {
        format!(
            "Repository policy {} (blob {}){}",
            p.path,
            p.blob_id,
            applied(Origin::Repository).unwrap_or_default()
        )
    });
    org.into_iter().chain(repo).collect()
}

/// A proposed policy, for its reviewers: its errors, or what it changes.
pub(super) struct ProposedView {
    pub heading: String,
    pub errors: Vec<String>,
    /// `(effect, key, change)`.
    pub differences: Vec<(&'static str, String, String)>,
    /// How many past changes were decided again under it, and how many
    /// would conclude otherwise; empty when none were.
    pub replay: String,
    /// `#12: failure -> success (reason)`, one per change.
    pub flips: Vec<String>,
}

pub(super) fn proposed(decision: &Decision) -> Vec<ProposedView> {
    (decision.proposed.iter())
        .map(|p| ProposedView {
            heading: format!("{} at blob {}", p.path, p.blob_id),
            errors: p
                .errors
                .iter()
                .map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message))
                .collect(),
            differences: (p.differences.iter())
                .map(|d| (d.effect.as_str(), d.key.clone(), plain(&d.change)))
                .collect(),
            replay: p.replay.as_ref().map(|r| r.headline()).unwrap_or_default(),
            flips: (p.replay.iter().flat_map(|r| &r.flips))
                .map(|f| f.line(&decision.repository, decision.forge.change_sigil()))
                .collect(),
        })
        .collect()
}
