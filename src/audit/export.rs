//! The audit trail's events exported as JSON Lines with their inclusion
//! proofs, and checking such an export offline (`warrant audit
//! verify-export`), with no database: see `docs/audit-export.md`.
//!
//! An export holds, for each chain it covers, every event of the chain up
//! to the size the latest checkpoint states, in `seq` order, each with its
//! inclusion proof in that checkpoint; its last line is that checkpoint.
//! So an offline check proves each event is the one the checkpoint
//! committed to (its contents hash to its hash, and the hash is the leaf
//! at its place), and that no event of a covered chain was left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checkpoint::verify::{
    Contradiction, ContradictionKind, check_sequence, is_checkpoint_line,
};
use super::checkpoint::{PublicKey, SignedCheckpoint};
use super::merkle::{Hash, Tree, event_leaf, stored_leaf, verify_inclusion};
use super::{AuditEvent, row_hash};

/// Where an event sits in a checkpoint's tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The checkpoint's seq.
    pub checkpoint: u64,
    /// The chain's size in it.
    pub size: u64,
    /// The leaf's index: `seq - 1`.
    pub index: u64,
    /// The audit path, leaf to root, in hex.
    pub path: Vec<String>,
}

/// One line of the export: the event as stored, and its proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    #[serde(flatten)]
    pub event: AuditEvent,
    pub proof: Proof,
}

/// The lines of one chain's events (its first `size` events, in `seq`
/// order), each with its proof in `checkpoint`.
pub fn chain_lines(events: &[AuditEvent], checkpoint: u64) -> Vec<String> {
    let leaves: Vec<Hash> = events.iter().map(|e| stored_leaf(&e.hash)).collect();
    let tree = Tree::new(leaves);
    events
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let path = tree.inclusion_proof(index).unwrap_or_default();
            let line = ExportedEvent {
                event: event.clone(),
                proof: Proof {
                    checkpoint,
                    size: tree.size(),
                    index: index as u64,
                    path: path.iter().map(hex::encode).collect(),
                },
            };
            serde_json::to_string(&line).expect("an event serialises")
        })
        .collect()
}

/// The verdict on an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Events whose hash and proof verified.
    pub events: u64,
    /// Chains found whole up to their checkpointed size.
    pub chains: u64,
    /// The checkpoint the export ends with.
    pub checkpoint: Option<u64>,
    /// The first thing wrong, if anything.
    #[serde(rename = "break", skip_serializing_if = "Option::is_none")]
    pub broken: Option<Contradiction>,
}

/// Checks an export with `key`: the checkpoints' signatures and links, that
/// the export ends with one, each event's hash and proof, and that each
/// chain holds every event up to the checkpointed size.
pub fn verify_export(text: &str, key: &PublicKey) -> ExportReport {
    let mut report = ExportReport {
        events: 0,
        chains: 0,
        checkpoint: None,
        broken: None,
    };
    let sequence = check_sequence(text, key, true);
    if let Some(broken) = sequence.broken {
        report.broken = Some(broken);
        return report;
    }
    let last_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map_or(0, |(i, _)| i + 1);
    let Some(last) = sequence.verified.last().filter(|v| v.line == last_line) else {
        report.broken = Some(fault(
            last_line,
            None,
            ContradictionKind::Unreadable,
            "the export does not end with a checkpoint: it was cut short".to_owned(),
        ));
        return report;
    };
    report.checkpoint = Some(last.checkpoint.checkpoint.seq);
    let checkpoints: BTreeMap<u64, &SignedCheckpoint> = sequence
        .verified
        .iter()
        .map(|v| (v.checkpoint.checkpoint.seq, &v.checkpoint))
        .collect();
    // Per chain: the checkpoint and size it is covered to, and the next seq due.
    let mut chains: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() || is_checkpoint_line(line) {
            continue;
        }
        if let Err(broken) = check_event(n, line, &checkpoints, &mut chains) {
            report.broken = Some(broken);
            return report;
        }
        report.events += 1;
    }
    for ((forge, repo), (checkpoint, size, next)) in &chains {
        if *next <= *size {
            let missing = if *next == *size {
                format!("event {size} is missing")
            } else {
                format!("events {next} to {size} are missing")
            };
            report.broken = Some(fault(
                last_line,
                Some(*checkpoint),
                ContradictionKind::Removed,
                format!(
                    "{forge} {repo}: {missing} of the {size} that checkpoint {checkpoint} covers: \
                 they were left out of the export"
                ),
            ));
            return report;
        }
        report.chains += 1;
    }
    report
}

fn fault(
    line: usize,
    checkpoint: Option<u64>,
    kind: ContradictionKind,
    reason: String,
) -> Contradiction {
    Contradiction {
        line,
        checkpoint,
        kind,
        reason,
    }
}

/// Checks the event on line `n`, in order after the ones before it.
fn check_event(
    n: usize,
    line: &str,
    checkpoints: &BTreeMap<u64, &SignedCheckpoint>,
    chains: &mut BTreeMap<(String, String), (u64, u64, u64)>,
) -> Result<(), Contradiction> {
    let unreadable = |why: String| fault(n, None, ContradictionKind::Unreadable, why);
    let exported: ExportedEvent = serde_json::from_str(line).map_err(|e| {
        unreadable(format!(
            "line {n} is neither an event nor a checkpoint: {e}"
        ))
    })?;
    let (e, proof) = (&exported.event, &exported.proof);
    let name = format!("{} {} seq {}", e.event.forge, e.event.repo, e.seq);
    let at = |kind, why: String| {
        fault(
            n,
            Some(proof.checkpoint),
            kind,
            format!("line {n} ({name}): {why}"),
        )
    };
    if row_hash(&e.event, e.seq, &e.prev_hash) != e.hash {
        return Err(at(
            ContradictionKind::Rewritten,
            "its contents do not match its hash: the line was altered".into(),
        ));
    }
    let Some(checkpoint) = checkpoints.get(&proof.checkpoint) else {
        return Err(at(
            ContradictionKind::Unlinked,
            format!(
                "its proof names checkpoint {}, which the export does not hold",
                proof.checkpoint
            ),
        ));
    };
    let state = checkpoint.checkpoint.chain(&e.event.forge, &e.event.repo);
    let root: Option<Hash> = state.and_then(|s| hex::decode(&s.root).ok()?.try_into().ok());
    let path: Option<Vec<Hash>> = proof
        .path
        .iter()
        .map(|p| hex::decode(p).ok()?.try_into().ok())
        .collect();
    let proved = match (state, root, path, event_leaf(&e.hash)) {
        (Some(state), Some(root), Some(path), Some(leaf)) => {
            state.size == proof.size
                && proof.index + 1 == e.seq
                && verify_inclusion(&leaf, proof.index, proof.size, &path, &root)
        }
        _ => false,
    };
    if !proved {
        return Err(at(
            ContradictionKind::Rewritten,
            format!(
                "its proof does not show it in checkpoint {}: the event or its proof was altered, \
             or it is not from this trail",
                proof.checkpoint
            ),
        ));
    }
    let key = (e.event.forge.clone(), e.event.repo.clone());
    let (_, _, next) = chains
        .entry(key)
        .or_insert((proof.checkpoint, proof.size, 1));
    if e.seq != *next {
        let why = if e.seq > *next && *next == 1 {
            format!(
                "the chain starts at seq {}: events were left out of the export",
                e.seq
            )
        } else if e.seq > *next {
            format!(
                "seq {} follows seq {}: events were left out of the export",
                e.seq,
                *next - 1
            )
        } else {
            format!("seq {} comes again or out of order", e.seq)
        };
        return Err(at(ContradictionKind::Removed, why));
    }
    *next += 1;
    Ok(())
}
