//! Verifying checkpoints kept outside the database: each one's signature,
//! that each names the one before it, and that the database's chains are
//! consistent with every one (each stated size present, with the stated
//! root). The first contradiction is named, by checkpoint and line.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use serde::Serialize;

use super::{PublicKey, SignedCheckpoint};
use crate::audit::GENESIS;
use crate::audit::merkle::{Frontier, stored_leaf};
use crate::store::{Chain, Store};

/// What contradicts a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContradictionKind {
    /// The line is not a checkpoint.
    Unreadable,
    /// The checkpoint is not signed by the trusted key.
    Signature,
    /// The checkpoint does not name the one before it in the file: one
    /// was removed, inserted, reordered or forged.
    Unlinked,
    /// A chain holds fewer events than the checkpoint states: the newest
    /// were removed, or the chain truncated or deleted.
    Removed,
    /// A chain's first events do not have the root the checkpoint states:
    /// the chain was rewritten (hashes recomputed) or events replaced.
    Rewritten,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Contradiction {
    /// The line of the checkpoints file, from 1.
    pub line: usize,
    /// The checkpoint's seq, when the line can be read.
    pub checkpoint: Option<u64>,
    pub kind: ContradictionKind,
    /// In plain English, naming the checkpoint and what most likely happened.
    pub reason: String,
}

/// A checkpoint that verified, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub line: usize,
    pub checkpoint: SignedCheckpoint,
}

/// The verdict on a file of checkpoints, without the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceReport {
    /// The checkpoints before the first fault, in file order.
    pub verified: Vec<Verified>,
    /// The first fault, if any.
    pub broken: Option<Contradiction>,
}

/// Checks each line's signature with `key`, and that each checkpoint names
/// the one before it. The first checkpoint kept may be any: an auditor
/// may start keeping them late. Blank lines are skipped; so is any line
/// that is not a checkpoint when `others_allowed` (an export's events).
pub fn check_sequence(text: &str, key: &PublicKey, others_allowed: bool) -> SequenceReport {
    let mut verified: Vec<Verified> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let n = index + 1;
        if line.trim().is_empty() || (others_allowed && !is_checkpoint_line(line)) {
            continue;
        }
        let fault = |checkpoint, kind, reason| Contradiction {
            line: n,
            checkpoint,
            kind,
            reason,
        };
        let signed = match SignedCheckpoint::parse(line) {
            Ok(signed) => signed,
            Err(why) => {
                let reason = format!("line {n} cannot be read: {why}");
                let broken = fault(None, ContradictionKind::Unreadable, reason);
                return SequenceReport {
                    verified,
                    broken: Some(broken),
                };
            }
        };
        let seq = signed.checkpoint.seq;
        let broken = if !signed.signed_by(key) {
            Some(fault(
                Some(seq),
                ContradictionKind::Signature,
                format!(
                    "checkpoint {seq} (line {n}) is not signed by {key}: it was forged, \
                     or altered after it was signed"
                ),
            ))
        } else {
            let before = verified.last().map(|v| &v.checkpoint.checkpoint);
            link_fault(before, &signed)
                .map(|why| fault(Some(seq), ContradictionKind::Unlinked, why))
        };
        if broken.is_some() {
            return SequenceReport { verified, broken };
        }
        verified.push(Verified {
            line: n,
            checkpoint: signed,
        });
    }
    SequenceReport {
        verified,
        broken: None,
    }
}

/// Whether `line` is meant as a checkpoint (it names the format).
pub fn is_checkpoint_line(line: &str) -> bool {
    line.contains("\"format\":\"warrant-audit-checkpoint/")
}

/// What is wrong with `next` following `before`, if anything.
fn link_fault(before: Option<&super::Checkpoint>, next: &SignedCheckpoint) -> Option<String> {
    let next = &next.checkpoint;
    let seq = next.seq;
    let Some(before) = before else {
        return (seq == 1 && next.previous != GENESIS).then(|| {
            "checkpoint 1 does not start from the genesis hash: it was forged".to_owned()
        });
    };
    let b = before.seq;
    if seq > b + 1 {
        let missing = if seq == b + 2 {
            format!("checkpoint {} is missing", b + 1)
        } else {
            format!("checkpoints {} to {} are missing", b + 1, seq - 1)
        };
        return Some(format!(
            "checkpoint {seq} follows checkpoint {b}: {missing}: checkpoints were removed"
        ));
    }
    if seq <= b {
        return Some(format!(
            "checkpoint {seq} follows checkpoint {b}: checkpoints were reordered or repeated"
        ));
    }
    (next.previous != before.hash()).then(|| {
        format!(
            "checkpoint {seq} does not name checkpoint {b} as the one before it: \
             one of them was replaced, or the checkpoints forked"
        )
    })
}

/// Checks that the database's chains are consistent with each of
/// `checkpoints`, in order: the first contradiction, if any. Reads each
/// chain named once, in flat memory (a root per checkpointed size).
pub async fn check_trail(
    store: &Store,
    checkpoints: &[Verified],
) -> anyhow::Result<Option<Contradiction>> {
    let mut sizes: BTreeMap<(String, String), BTreeSet<u64>> = BTreeMap::new();
    for v in checkpoints {
        for c in &v.checkpoint.checkpoint.chains {
            sizes
                .entry((c.forge.clone(), c.repo.clone()))
                .or_default()
                .insert(c.size);
        }
    }
    // Per chain: how many events it holds, and the root at each size.
    let mut found: BTreeMap<(String, String), (u64, BTreeMap<u64, String>)> = BTreeMap::new();
    for ((forge, repo), wanted) in sizes {
        let chain = Chain { forge, repo };
        let mut frontier = Frontier::new();
        let mut roots = BTreeMap::new();
        store
            .scan_audit_hashes(&chain, 5_000, |hash| {
                // A hash that is not hex still takes its place (and
                // changes the root): the chain check names the row.
                frontier.push(stored_leaf(hash));
                if wanted.contains(&frontier.size()) {
                    roots.insert(frontier.size(), hex::encode(frontier.root()));
                }
                ControlFlow::Continue(())
            })
            .await?;
        found.insert((chain.forge, chain.repo), (frontier.size(), roots));
    }
    for v in checkpoints {
        let checkpoint = &v.checkpoint.checkpoint;
        let seq = checkpoint.seq;
        for c in &checkpoint.chains {
            let (held, roots) = &found[&(c.forge.clone(), c.repo.clone())];
            let name = format!("{} {}", c.forge, c.repo);
            let fault = |kind, reason| {
                Some(Contradiction {
                    line: v.line,
                    checkpoint: Some(seq),
                    kind,
                    reason,
                })
            };
            if *held < c.size {
                let what = match (*held, c.size) {
                    (0, _) => "the chain was deleted".to_owned(),
                    (h, n) if h + 1 == n => format!("event {n}, the newest it states, was removed"),
                    (h, n) => format!(
                        "events {} to {n} were removed (the chain was truncated)",
                        h + 1
                    ),
                };
                return Ok(fault(
                    ContradictionKind::Removed,
                    format!(
                        "checkpoint {seq} states {} events of {name}, but the database holds \
                         {held}: {what}",
                        c.size
                    ),
                ));
            }
            if roots.get(&c.size) != Some(&c.root) {
                return Ok(fault(
                    ContradictionKind::Rewritten,
                    format!(
                        "checkpoint {seq}: the first {} events of {name} do not have the \
                         root it states: the chain was rewritten (its hashes recomputed) \
                         or events were replaced",
                        c.size
                    ),
                ));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
