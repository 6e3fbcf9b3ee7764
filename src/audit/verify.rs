//! Verifying the audit trail: walks each repository's chain in stored order
//! and reports the first broken link, with what the evidence says happened.
//!
//! A [`ChainVerifier`] takes the rows of one chain one at a time (by `seq`,
//! then by row id) and keeps only the previous row's seq, id and hash, so a
//! chain of millions of rows is checked in flat memory. Each row must:
//!
//! 1. come right after the previous one: `seq` runs 1, 2, 3, ... without a
//!    gap or a repeat;
//! 2. be readable: a known kind, `paths` a JSON array, `detail` a JSON
//!    object, ...;
//! 3. hash to its `hash`: [`row_hash`] of its contents, seq and `prev_hash`;
//! 4. link to its predecessor: `prev_hash` is the previous row's `hash`
//!    ([`GENESIS`] for seq 1).
//!
//! Which of these fail tells the cases apart. A row that hashes but does
//! not link was written elsewhere, or its predecessor was rewritten with a
//! recomputed hash; a row that neither hashes nor links was moved; a row
//! that links but does not hash was altered in place. [`verify_store`]
//! reads every chain of a store through [`Store::scan_audit_chain`].

use std::ops::ControlFlow;

use serde::Serialize;

use super::{AuditEvent, GENESIS, row_hash};
use crate::store::{Chain, Store};

/// How many rows [`verify_store`] reads per query: large enough that the
/// round trips do not dominate, small enough that a page is a few MB.
pub const PAGE_ROWS: u32 = 1_000;

/// A row of a chain as the database holds it.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "rows pass one at a time from a page to the verifier; boxing would only add an allocation per row"
)]
pub enum StoredRow {
    /// A row whose values make an event.
    Event(AuditEvent),
    /// A row whose values do not: an unknown kind, `paths` or `detail` that
    /// are not JSON of the right shape, a negative seq, ...
    Unreadable {
        id: i64,
        /// `None` when the seq itself cannot be read.
        seq: Option<u64>,
        /// What is wrong with it.
        why: String,
    },
}

/// What a broken link most likely is, as far as the rows tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The row's values do not make an event.
    Unreadable,
    /// The row links to its predecessor but its contents do not match its
    /// hash: it was edited in place.
    Altered,
    /// One or more seqs are skipped: rows were deleted.
    Missing,
    /// The row's seq was changed: it hashes and links at the seq it skips.
    Renumbered,
    /// A seq appears a second time: a row was inserted.
    Duplicate,
    /// The row hashes but does not link to its predecessor: the predecessor
    /// was rewritten with a recomputed hash, or replaced, or the row comes
    /// from elsewhere.
    Relinked,
    /// The row neither hashes nor links: rows were reordered or replaced.
    Reordered,
}

/// The first broken link of a chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Break {
    /// The seq of the row where the chain breaks (`None` if it cannot be
    /// read).
    pub seq: Option<u64>,
    /// That row's id.
    pub row: i64,
    pub kind: BreakKind,
    /// In plain English, naming the row and what most likely happened.
    pub reason: String,
}

/// The last row of an intact chain: record its hash elsewhere to detect a
/// later rewrite of the whole chain or the loss of its tail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// The verdict on one chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChainReport {
    pub forge: String,
    pub repo: String,
    /// Rows found intact (before the break, if there is one).
    pub events: u64,
    /// The last intact row.
    pub head: Option<Head>,
    /// The first broken link, if any.
    #[serde(rename = "break", skip_serializing_if = "Option::is_none")]
    pub broken: Option<Break>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks one chain row by row, in stored order.
#[derive(Debug)]
pub struct ChainVerifier {
    report: ChainReport,
    /// The id of the last intact row, to name it when a seq repeats.
    last_id: i64,
}

impl ChainVerifier {
    pub fn new(chain: &Chain) -> ChainVerifier {
        ChainVerifier {
            report: ChainReport {
                forge: chain.forge.clone(),
                repo: chain.repo.clone(),
                events: 0,
                head: None,
                broken: None,
            },
            last_id: 0,
        }
    }

    /// Checks the next row. Breaks at the first broken link: the rows
    /// after it need not be read.
    pub fn check(&mut self, row: StoredRow) -> ControlFlow<()> {
        if self.report.broken.is_some() {
            return ControlFlow::Break(());
        }
        match self.first_fault(&row) {
            Some(broken) => {
                self.report.broken = Some(broken);
                ControlFlow::Break(())
            }
            None => {
                let StoredRow::Event(event) = row else {
                    unreachable!("an unreadable row is a fault");
                };
                self.report.events += 1;
                self.last_id = event.id;
                self.report.head = Some(Head {
                    seq: event.seq,
                    hash: event.hash,
                });
                ControlFlow::Continue(())
            }
        }
    }

    /// The verdict once every row (or the break) was seen.
    pub fn finish(self) -> ChainReport {
        self.report
    }

    /// What is wrong with `row` as the next row of the chain, if anything.
    fn first_fault(&self, row: &StoredRow) -> Option<Break> {
        let (id, seq) = match row {
            StoredRow::Event(event) => (event.id, Some(event.seq)),
            StoredRow::Unreadable { id, seq, .. } => (*id, *seq),
        };
        let expected = self.report.head.as_ref().map_or(1, |head| head.seq + 1);
        let prev_hash = self
            .report
            .head
            .as_ref()
            .map_or(GENESIS, |head| head.hash.as_str());
        let at = |kind, reason: String| {
            Some(Break {
                seq,
                row: id,
                kind,
                reason,
            })
        };
        if let Some(seq) = seq {
            if seq == 0 {
                return at(
                    BreakKind::Unreadable,
                    format!("row {id} has seq 0, but seqs start at 1: the row was altered"),
                );
            }
            if seq < expected {
                return at(
                    BreakKind::Duplicate,
                    format!(
                        "row {id} repeats seq {seq} of row {}: a row was inserted",
                        self.last_id
                    ),
                );
            }
            if seq > expected {
                return self.gap(row, id, seq, expected, prev_hash);
            }
        }
        let event = match row {
            StoredRow::Event(event) => event,
            StoredRow::Unreadable { why, .. } => {
                let place = seq.map_or_else(|| "unknown seq".to_owned(), |s| format!("seq {s}"));
                return at(
                    BreakKind::Unreadable,
                    format!("row {id} ({place}) cannot be read: {why}: the row was altered"),
                );
            }
        };
        let seq = event.seq;
        let hashes = event.hash == row_hash(&event.event, seq, &event.prev_hash);
        let links = event.prev_hash == prev_hash;
        match (hashes, links) {
            (true, true) => None,
            (false, true) => at(
                BreakKind::Altered,
                format!(
                    "row {id} (seq {seq}): its contents do not match its hash: the row was altered"
                ),
            ),
            (true, false) if seq == 1 => at(
                BreakKind::Relinked,
                format!(
                    "row {id} (seq 1): its prev_hash is not the genesis hash: \
                     the row was forged or copied from another chain"
                ),
            ),
            (true, false) => at(
                BreakKind::Relinked,
                format!(
                    "seq {seq}'s prev_hash is not seq {}'s hash: seq {} was rewritten \
                     (its hash recomputed) or replaced, or rows were reordered",
                    seq - 1,
                    seq - 1
                ),
            ),
            (false, false) => at(
                BreakKind::Reordered,
                format!(
                    "row {id} (seq {seq}) neither matches its hash nor links to {}: \
                     rows were reordered or replaced",
                    if seq == 1 {
                        "the genesis hash".to_owned()
                    } else {
                        format!("seq {}", seq - 1)
                    }
                ),
            ),
        }
    }

    /// The row at `seq` where `expected` was due: rows are missing, unless
    /// the row hashes and links exactly at `expected`, in which case only
    /// its seq was changed.
    fn gap(
        &self,
        row: &StoredRow,
        id: i64,
        seq: u64,
        expected: u64,
        prev_hash: &str,
    ) -> Option<Break> {
        if let StoredRow::Event(event) = row {
            if event.prev_hash == prev_hash
                && event.hash == row_hash(&event.event, expected, &event.prev_hash)
            {
                return Some(Break {
                    seq: Some(seq),
                    row: id,
                    kind: BreakKind::Renumbered,
                    reason: format!(
                        "row {id} says seq {seq} but was written as seq {expected}: \
                         its seq was changed"
                    ),
                });
            }
        }
        let missing = if seq - expected == 1 {
            format!("seq {expected} is missing")
        } else {
            format!("seqs {expected} to {} are missing", seq - 1)
        };
        let reason = if expected == 1 {
            format!("the chain starts at seq {seq}: {missing}: rows were deleted")
        } else {
            format!(
                "seq {seq} follows seq {}: {missing}: rows were deleted",
                expected - 1
            )
        };
        Some(Break {
            seq: Some(seq),
            row: id,
            kind: BreakKind::Missing,
            reason,
        })
    }
}

/// Verifies one chain given its rows in stored order.
pub fn verify_chain(chain: &Chain, rows: impl IntoIterator<Item = StoredRow>) -> ChainReport {
    let mut verifier = ChainVerifier::new(chain);
    for row in rows {
        if verifier.check(row).is_break() {
            break;
        }
    }
    verifier.finish()
}

/// Verifies every chain of `store`, ordered by forge and repository. Reads
/// only: an error is the database failing, never a broken chain.
pub async fn verify_store(store: &Store) -> anyhow::Result<Vec<ChainReport>> {
    let mut reports = Vec::new();
    for chain in store.audit_chains().await? {
        let mut verifier = ChainVerifier::new(&chain);
        store
            .scan_audit_chain(&chain, PAGE_ROWS, |row| verifier.check(row))
            .await?;
        reports.push(verifier.finish());
    }
    Ok(reports)
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
