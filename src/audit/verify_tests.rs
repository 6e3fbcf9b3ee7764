use chrono::DateTime;

use super::*;
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::Forge;
use crate::ids::RepoName;

fn chain() -> Chain {
    Chain {
        forge: "github".into(),
        repo: "acme/app".into(),
    }
}

/// An intact chain of `n` rows, ids 101, 102, ...
fn rows(n: u64) -> Vec<AuditEvent> {
    let mut prev = GENESIS.to_owned();
    (1..=n)
        .map(|seq| {
            let at = DateTime::from_timestamp_millis(1_790_000_000_000 + seq as i64).unwrap();
            let repo = RepoName::parse("acme/app").unwrap();
            let mut event = NewAuditEvent::new(Forge::Github, &repo, EventKind::CheckPosted, at)
                .with_detail("n", seq);
            event.actor = Some("warrant[bot]".into());
            let hash = row_hash(&event, seq, &prev);
            let row = AuditEvent {
                id: 100 + seq as i64,
                seq,
                event,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            };
            prev = hash;
            row
        })
        .collect()
}

/// Re-hashes `row` after a change, as someone covering their tracks would.
fn rehash(row: &mut AuditEvent) {
    row.hash = row_hash(&row.event, row.seq, &row.prev_hash);
}

fn verify(rows: Vec<AuditEvent>) -> ChainReport {
    verify_chain(&chain(), rows.into_iter().map(StoredRow::Event))
}

#[track_caller]
fn broken_at(report: &ChainReport, seq: u64, kind: BreakKind) -> &Break {
    let broken = report.broken.as_ref().expect("the chain is broken");
    assert_eq!((broken.seq, broken.kind), (Some(seq), kind), "{broken:?}");
    broken
}

#[test]
fn a_long_intact_chain_reports_its_length_and_head() {
    let rows = rows(10_000);
    let last = rows.last().unwrap().hash.clone();
    let report = verify(rows);
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.events, 10_000);
    assert_eq!(
        report.head,
        Some(Head {
            seq: 10_000,
            hash: last
        })
    );
}

#[test]
fn an_empty_chain_is_intact() {
    let report = verify(Vec::new());
    assert!(report.is_intact());
    assert_eq!((report.events, report.head), (0, None));
}

#[test]
fn an_edited_field_breaks_the_rows_own_hash() {
    let mut rows = rows(8);
    rows[4].event.actor = Some("mallory".into());
    let report = verify(rows);
    let broken = broken_at(&report, 5, BreakKind::Altered);
    assert_eq!(broken.row, 105);
    assert_eq!(
        broken.reason,
        "row 105 (seq 5): its contents do not match its hash: the row was altered"
    );
    assert_eq!(report.events, 4, "the rows before the break verified");
    assert_eq!(report.head.as_ref().unwrap().seq, 4);
}

#[test]
fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
    let mut rows = rows(8);
    rows[4].event.paths = vec!["README.md".into()];
    rehash(&mut rows[4]);
    let report = verify(rows);
    let broken = broken_at(&report, 6, BreakKind::Relinked);
    assert_eq!(
        broken.reason,
        "seq 6's prev_hash is not seq 5's hash: seq 5 was rewritten (its hash recomputed) \
         or replaced, or rows were reordered"
    );
}

#[test]
fn a_deleted_row_leaves_a_gap_in_the_seqs() {
    let mut rows = rows(8);
    rows.remove(4);
    let report = verify(rows.clone());
    let broken = broken_at(&report, 6, BreakKind::Missing);
    assert_eq!(
        broken.reason,
        "seq 6 follows seq 4: seq 5 is missing: rows were deleted"
    );

    rows.drain(1..3);
    let report = verify(rows);
    let broken = broken_at(&report, 4, BreakKind::Missing);
    assert_eq!(
        broken.reason,
        "seq 4 follows seq 1: seqs 2 to 3 are missing: rows were deleted"
    );
}

#[test]
fn a_deleted_first_row_is_a_chain_that_does_not_start_at_one() {
    let mut rows = rows(3);
    rows.remove(0);
    let report = verify(rows);
    let broken = broken_at(&report, 2, BreakKind::Missing);
    assert_eq!(
        broken.reason,
        "the chain starts at seq 2: seq 1 is missing: rows were deleted"
    );
    assert_eq!((report.events, report.head), (0, None));
}

#[test]
fn a_repeated_seq_is_an_inserted_row() {
    let mut rows = rows(5);
    let mut forged = rows[2].clone();
    forged.id = 999;
    forged.event.actor = Some("mallory".into());
    rehash(&mut forged);
    rows.insert(3, forged);
    let report = verify(rows);
    let broken = broken_at(&report, 3, BreakKind::Duplicate);
    assert_eq!(
        broken.reason,
        "row 999 repeats seq 3 of row 103: a row was inserted"
    );
}

#[test]
fn swapped_seqs_are_rows_out_of_order() {
    let mut rows = rows(6);
    rows.swap(2, 3);
    rows[2].seq = 3;
    rows[3].seq = 4;
    let report = verify(rows);
    let broken = broken_at(&report, 3, BreakKind::Reordered);
    assert_eq!(
        broken.reason,
        "row 104 (seq 3) neither matches its hash nor links to seq 2: \
         rows were reordered or replaced"
    );
}

#[test]
fn a_tail_row_moved_to_a_later_seq_is_renumbered_not_missing() {
    let mut rows = rows(4);
    rows[3].seq = 9;
    let report = verify(rows);
    let broken = broken_at(&report, 9, BreakKind::Renumbered);
    assert_eq!(
        broken.reason,
        "row 104 says seq 9 but was written as seq 4: its seq was changed"
    );
}

#[test]
fn a_first_row_that_does_not_start_from_genesis_is_forged() {
    let mut rows = rows(2);
    rows[0].prev_hash = "1".repeat(64);
    rehash(&mut rows[0]);
    let report = verify(rows);
    broken_at(&report, 1, BreakKind::Relinked);
}

#[test]
fn an_unreadable_row_is_a_break_naming_the_row_and_why() {
    let rows = rows(3);
    let mut stored: Vec<StoredRow> = rows.into_iter().map(StoredRow::Event).collect();
    stored[1] = StoredRow::Unreadable {
        id: 102,
        seq: Some(2),
        why: "unknown event kind `approval_forged`".into(),
    };
    let report = verify_chain(&chain(), stored);
    let broken = broken_at(&report, 2, BreakKind::Unreadable);
    assert_eq!(
        broken.reason,
        "row 102 (seq 2) cannot be read: unknown event kind `approval_forged`: \
         the row was altered"
    );
}

#[test]
fn only_the_first_break_is_reported_and_later_rows_are_not_asked_for() {
    let mut rows = rows(9);
    rows[2].event.decision = Some("success".into());
    rows.remove(6);
    let mut verifier = ChainVerifier::new(&chain());
    let mut seen = 0;
    for row in rows {
        seen += 1;
        if verifier.check(StoredRow::Event(row)).is_break() {
            break;
        }
    }
    assert_eq!(seen, 3, "verification stops at the first break");
    let report = verifier.finish();
    broken_at(&report, 3, BreakKind::Altered);
}

#[test]
fn a_row_at_seq_0_is_not_read_as_a_repeat() {
    let mut rows = rows(3);
    rows[0].seq = 0;
    let report = verify(rows);
    let broken = broken_at(&report, 0, BreakKind::Unreadable);
    assert_eq!(
        broken.reason,
        "row 101 has seq 0, but seqs start at 1: the row was altered"
    );
}
