use super::*;
use crate::audit::checkpoint::{ChainState, Checkpoint, FORMAT, SigningKey};

/// `n` checkpoints, each naming the one before, signed by `key`.
fn sequence(key: &SigningKey, n: u64) -> Vec<SignedCheckpoint> {
    let mut previous = GENESIS.to_owned();
    (1..=n)
        .map(|seq| {
            let checkpoint = Checkpoint {
                format: FORMAT.to_owned(),
                seq,
                at: 1_790_000_000_000 + seq as i64,
                instance: String::new(),
                previous: previous.clone(),
                chains: vec![ChainState {
                    forge: "github".into(),
                    repo: "acme/app".into(),
                    size: seq * 2,
                    root: format!("{seq:064}"),
                }],
            };
            previous = checkpoint.hash();
            checkpoint.sign(key)
        })
        .collect()
}

fn text(lines: &[SignedCheckpoint]) -> String {
    lines.iter().map(|c| format!("{}\n", c.line())).collect()
}

#[track_caller]
fn assert_broken(
    report: &SequenceReport,
    at: (usize, Option<u64>),
    kind: ContradictionKind,
    says: &str,
) {
    let broken = report.broken.as_ref().expect("a contradiction");
    assert_eq!(
        (broken.line, broken.checkpoint, broken.kind),
        (at.0, at.1, kind),
        "{broken:?}"
    );
    assert!(
        broken.reason.contains(says),
        "`{}` does not say `{says}`",
        broken.reason
    );
}

#[test]
fn a_sound_sequence_verifies_whole_and_may_start_late() {
    let key = SigningKey::generate();
    let all = sequence(&key, 5);
    let report = check_sequence(&text(&all), &key.public(), false);
    assert_eq!(report.broken, None);
    assert_eq!(report.verified.len(), 5);
    assert_eq!(report.verified[4].line, 5);
    let late = check_sequence(&format!("\n{}", text(&all[2..])), &key.public(), false);
    assert_eq!(late.broken, None);
    assert_eq!(late.verified[0].line, 2);
}

#[test]
fn a_checkpoint_signed_by_another_key_is_named() {
    let key = SigningKey::generate();
    let mut all = sequence(&key, 4);
    let forger = SigningKey::generate();
    all[2] = all[2].checkpoint.clone().sign(&forger);
    let report = check_sequence(&text(&all), &key.public(), false);
    assert_broken(
        &report,
        (3, Some(3)),
        ContradictionKind::Signature,
        "checkpoint 3 (line 3) is not signed by ed25519:",
    );
    assert_eq!(report.verified.len(), 2, "the ones before still count");
}

#[test]
fn an_altered_checkpoint_no_longer_verifies() {
    let key = SigningKey::generate();
    let mut all = sequence(&key, 3);
    all[1].checkpoint.chains[0].size -= 1;
    let report = check_sequence(&text(&all), &key.public(), false);
    assert_broken(
        &report,
        (2, Some(2)),
        ContradictionKind::Signature,
        "altered after it was signed",
    );
}

#[test]
fn a_checkpoint_dropped_from_the_middle_is_named_by_the_one_after_it() {
    let key = SigningKey::generate();
    let mut all = sequence(&key, 5);
    all.remove(2);
    let report = check_sequence(&text(&all), &key.public(), false);
    assert_broken(
        &report,
        (3, Some(4)),
        ContradictionKind::Unlinked,
        "checkpoint 4 follows checkpoint 2: checkpoint 3 is missing",
    );
}

#[test]
fn a_fork_with_the_same_key_is_caught_by_the_link() {
    let key = SigningKey::generate();
    let mut all = sequence(&key, 3);
    let mut other = all[1].checkpoint.clone();
    other.chains[0].size = 99;
    all[1] = other.sign(&key);
    let report = check_sequence(&text(&all), &key.public(), false);
    assert_broken(
        &report,
        (3, Some(3)),
        ContradictionKind::Unlinked,
        "does not name checkpoint 2",
    );
    let mut first = sequence(&key, 1)[0].checkpoint.clone();
    first.previous = "1".repeat(64);
    let report = check_sequence(&text(&[first.sign(&key)]), &key.public(), false);
    assert_broken(
        &report,
        (1, Some(1)),
        ContradictionKind::Unlinked,
        "genesis",
    );
}

#[test]
fn a_line_that_is_not_a_checkpoint_is_named_unless_others_are_allowed() {
    let key = SigningKey::generate();
    let all = sequence(&key, 2);
    let mixed = format!("{{\"event\":1}}\n{}", text(&all));
    let report = check_sequence(&mixed, &key.public(), false);
    assert_broken(
        &report,
        (1, None),
        ContradictionKind::Unreadable,
        "line 1 cannot be read",
    );
    let report = check_sequence(&mixed, &key.public(), true);
    assert_eq!(report.broken, None);
    assert_eq!(report.verified.len(), 2);
}
