//! A change page's inclusion proofs: the latest checkpoint that covers the
//! change's events, and for each event the RFC 6962 audit path from its
//! leaf to the root that checkpoint signed (see `docs/audit.md`,
//! "Checkpoints"). Without a checkpoint, the page says why.

use std::ops::ControlFlow;

use crate::audit::AuditEvent;
use crate::audit::checkpoint::SignedCheckpoint;
use crate::audit::merkle::{Hash, Tree, stored_leaf};
use crate::server::AppState;
use crate::store::Chain;

/// Hashes read per query while building the chain's tree.
const PAGE: u32 = 5_000;

/// What the page shows of the proofs.
pub(super) struct ProofsView {
    /// Why there are no proofs, when there are none.
    pub note: Option<String>,
    pub checkpoint: u64,
    pub at: String,
    pub size: u64,
    pub root: String,
    pub key: String,
    pub events: Vec<EventProof>,
    /// The change's events appended after the checkpoint.
    pub uncovered: usize,
}

/// One event's proof.
pub(super) struct EventProof {
    pub seq: u64,
    pub kind: String,
    pub hash: String,
    /// The audit path, leaf to root, hex hashes separated by spaces.
    pub path: String,
}

impl ProofsView {
    fn note(note: &str) -> ProofsView {
        ProofsView {
            note: Some(note.to_owned()),
            checkpoint: 0,
            at: String::new(),
            size: 0,
            root: String::new(),
            key: String::new(),
            events: Vec::new(),
            uncovered: 0,
        }
    }
}

/// The proofs of `events` (one change's, in chain order) in the latest
/// checkpoint.
pub(super) async fn proofs(state: &AppState, events: &[AuditEvent]) -> anyhow::Result<ProofsView> {
    let Some(first) = events.first() else {
        return Ok(ProofsView::note("No audit events recorded yet."));
    };
    let Some(latest) = state.store().latest_checkpoint().await? else {
        return Ok(ProofsView::note(match state.checkpoint_key() {
            None => {
                "Checkpoints are off: this instance has no signing key \
                 (WARRANT_AUDIT_SIGNING_KEY), so its trail is not anchored outside its database."
            }
            Some(_) => "No checkpoint has been written yet.",
        }));
    };
    let signed = SignedCheckpoint::parse(&latest.line).map_err(anyhow::Error::msg)?;
    let (forge, repo) = (&first.event.forge, &first.event.repo);
    let covered = signed
        .checkpoint
        .chain(forge, repo)
        .map(|c| (c.size, c.root.clone()));
    let Some((size, root)) = covered.filter(|(size, _)| first.seq <= *size) else {
        return Ok(ProofsView::note(
            "No checkpoint covers this change's events yet: they are in the next one.",
        ));
    };
    let chain = Chain {
        forge: forge.clone(),
        repo: repo.clone(),
    };
    let mut leaves: Vec<Hash> = Vec::new();
    state
        .store()
        .scan_audit_hashes(&chain, PAGE, |hash| {
            // The checkpoint's tree holds the first `size` events only.
            if leaves.len() as u64 >= size {
                return ControlFlow::Break(());
            }
            leaves.push(stored_leaf(hash));
            ControlFlow::Continue(())
        })
        .await?;
    let tree = Tree::new(leaves);
    let in_tree = |e: &&AuditEvent| e.seq >= 1 && e.seq <= size;
    let proved = events
        .iter()
        .filter(in_tree)
        .map(|e| EventProof {
            seq: e.seq,
            kind: e.event.kind.to_string(),
            hash: e.hash.clone(),
            path: tree
                .inclusion_proof(usize::try_from(e.seq - 1).unwrap_or(usize::MAX))
                .unwrap_or_default()
                .iter()
                .map(hex::encode)
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect::<Vec<_>>();
    let at = chrono::DateTime::from_timestamp_millis(signed.checkpoint.at)
        .map(super::view::time)
        .unwrap_or_default();
    Ok(ProofsView {
        note: None,
        checkpoint: signed.checkpoint.seq,
        at,
        size,
        root,
        key: signed.key.clone(),
        uncovered: events.len() - proved.len(),
        events: proved,
    })
}
