//! Signed checkpoints against real tampering, through the `warrant` binary
//! on SQLite and PostgreSQL: a key is made with `warrant audit keygen`,
//! checkpoints are written with `warrant audit checkpoint` into a
//! directory (the auditor's copy), then the database or the copy is
//! tampered with, and `warrant audit verify --checkpoints --public-key`
//! names the first checkpoint contradicted.

mod support;

use std::path::{Path, PathBuf};

use chrono::Utc;
use support::audit::{append, tamper};
use support::cli::{Run, run};
use support::store::on_each_backend;
use warrant::audit::checkpoint::verify::check_sequence;
use warrant::audit::checkpoint::write::{FILE_NAME, Signer, Written, append_to_dir, write};
use warrant::audit::checkpoint::{SignedCheckpoint, SigningKey};
use warrant::audit::{GENESIS, row_hash};
use warrant::store::{Chain, Store};

/// A trail with a signing key and a checkpoint directory, driven through
/// the binary.
struct Trail {
    dir: tempfile::TempDir,
    url: String,
    public_key: String,
}

impl Trail {
    fn new(url: &str) -> Trail {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), &["audit", "keygen", "--out", "audit.key"]);
        out.assert_code(0);
        let public_key = out.stdout.trim().to_owned();
        assert!(public_key.starts_with("ed25519:"), "{out}");
        Trail {
            dir,
            url: url.to_owned(),
            public_key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `warrant audit checkpoint`, which prints the checkpoint's line.
    fn checkpoint(&self) -> SignedCheckpoint {
        let out = run(
            self.dir.path(),
            &[
                "audit",
                "checkpoint",
                "--database-url",
                &self.url,
                "--signing-key",
                "audit.key",
                "--public-url",
                "https://w.example.com/",
                "--checkpoint-dir",
                "kept",
            ],
        );
        out.assert_code(0);
        SignedCheckpoint::parse(out.stdout.trim()).unwrap()
    }

    /// The auditor's copy.
    fn kept(&self) -> PathBuf {
        self.path("kept").join(FILE_NAME)
    }

    fn verify(&self, checkpoints: &Path, json: bool) -> Run {
        let checkpoints = checkpoints.to_str().unwrap();
        let mut args = vec![
            "audit",
            "verify",
            "--database-url",
            &self.url,
            "--checkpoints",
            checkpoints,
            "--public-key",
            &self.public_key,
        ];
        if json {
            args.push("--json");
        }
        run(self.dir.path(), &args)
    }

    /// Rewrites the kept file with `edit` applied to its lines.
    fn edit_kept(&self, edit: impl FnOnce(&mut Vec<String>)) -> PathBuf {
        let text = std::fs::read_to_string(self.kept()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        edit(&mut lines);
        let path = self.path("edited.jsonl");
        std::fs::write(
            &path,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        path
    }
}

/// A trail of three checkpoints: after 2, 4 and 6 events per chain.
async fn three_checkpoints(url: &str) -> (Store, Trail) {
    let store = Store::connect(url).await.unwrap();
    let trail = Trail::new(url);
    for _ in 0..3 {
        append(&store, 2).await;
        trail.checkpoint();
    }
    (store, trail)
}

#[track_caller]
fn assert_says(out: &Run, code: i32, line: &str) {
    out.assert_code(code);
    assert!(out.stdout.contains(line), "no line `{line}` in:\n{out}");
}

#[tokio::test]
async fn a_sound_trail_verifies_against_every_checkpoint_kept() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        let out = trail.verify(&trail.kept(), false);
        assert_says(
            &out,
            0,
            &format!(
                "ok     checkpoints: 3 signed by {}, each naming the one before (checkpoint 1 to 3)\n",
                trail.public_key
            ),
        );
        assert_says(&out, 0, "ok     trail: consistent with 3 checkpoints\n");
        assert!(out.stdout.contains("ok     github acme/app: 6 events"), "{out}");

        // The copy holds what the database holds, line for line.
        let stored: Vec<String> = store
            .checkpoints_after(0)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.line)
            .collect();
        let kept = std::fs::read_to_string(trail.kept()).unwrap();
        assert_eq!(kept.lines().collect::<Vec<_>>(), stored);
        let last = SignedCheckpoint::parse(&stored[2]).unwrap().checkpoint;
        assert_eq!(last.instance, "https://w.example.com");
        let sizes: Vec<(&str, u64)> = last.chains.iter().map(|c| (c.repo.as_str(), c.size)).collect();
        assert_eq!(sizes, [("acme/app", 6), ("acme/lib", 6), ("group/sub/project", 6)]);

        // A trail that grew since still extends every checkpoint.
        append(&store, 1).await;
        let json = trail.verify(&trail.kept(), true);
        json.assert_code(0);
        let json = json.json();
        assert_eq!(json["intact"], true);
        assert_eq!(json["checkpoints"]["verified"], 3);
        assert_eq!(json["checkpoints"]["last"], 3);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn removing_the_newest_event_is_named_at_the_checkpoint_that_stated_it() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        tamper(
            &url,
            "DELETE FROM audit_events WHERE repo = 'acme/app' AND seq = 6",
        )
        .await;
        let out = trail.verify(&trail.kept(), false);
        // The hash chain alone cannot see it.
        assert!(
            out.stdout.contains("ok     github acme/app: 5 events"),
            "{out}"
        );
        assert_says(
            &out,
            1,
            "BROKEN trail: checkpoint 3 states 6 events of github acme/app, but the database \
             holds 5: event 6, the newest it states, was removed\n",
        );
        let json = trail.verify(&trail.kept(), true).json();
        assert_eq!(json["intact"], false);
        assert_eq!(json["checkpoints"]["trail_break"]["checkpoint"], 3);
        assert_eq!(json["checkpoints"]["trail_break"]["line"], 3);
        assert_eq!(json["checkpoints"]["trail_break"]["kind"], "removed");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_truncated_chain_is_named_at_the_first_checkpoint_it_falls_short_of() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        tamper(&url, "DELETE FROM audit_events WHERE repo = 'acme/lib' AND seq > 1").await;
        let out = trail.verify(&trail.kept(), false);
        assert_says(
            &out,
            1,
            "BROKEN trail: checkpoint 1 states 2 events of github acme/lib, but the database \
             holds 1: event 2, the newest it states, was removed\n",
        );
        tamper(&url, "DELETE FROM audit_events WHERE repo = 'group/sub/project'").await;
        let out = trail.verify(&trail.kept(), false);
        assert_says(
            &out,
            1,
            "BROKEN trail: checkpoint 1 states 2 events of github acme/lib, but the database holds 1",
        );
        store.close().await;
    })
    .await;
}

/// Rewrites `repo`'s chain from seq 2 on, as someone with write access
/// would: a changed actor, and every hash after it recomputed.
async fn rewrite(store: &Store, url: &str, repo: &str) {
    let chain = Chain {
        forge: "github".into(),
        repo: repo.into(),
    };
    let rows = store.audit_chain_page(&chain, 0, 100).await.unwrap();
    let mut prev = rows[0].hash.clone();
    let mut sql = String::new();
    for row in &rows[1..] {
        let mut event = row.event.clone();
        event.actor = Some("mallory".into());
        let hash = row_hash(&event, row.seq, &prev);
        sql.push_str(&format!(
            "UPDATE audit_events SET actor = 'mallory', prev_hash = '{prev}', hash = '{hash}' \
             WHERE id = {};\n",
            row.id
        ));
        prev = hash;
    }
    tamper(url, &sql).await;
}

#[tokio::test]
async fn a_chain_rewritten_with_recomputed_hashes_is_named_at_the_first_checkpoint() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        rewrite(&store, &url, "acme/app").await;
        let out = trail.verify(&trail.kept(), false);
        assert!(
            out.stdout.contains("ok     github acme/app: 6 events"),
            "the chain alone verifies: {out}"
        );
        assert_says(
            &out,
            1,
            "BROKEN trail: checkpoint 1: the first 2 events of github acme/app do not have the \
             root it states: the chain was rewritten (its hashes recomputed) or events were \
             replaced\n",
        );
        // A checkpoint started late (the copy's first two lines lost)
        // still catches it, at the checkpoint it kept.
        let late = trail.edit_kept(|lines| {
            lines.drain(..2);
        });
        assert_says(
            &trail.verify(&late, false),
            1,
            "BROKEN trail: checkpoint 3: the first 6 events",
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_checkpoint_forged_with_another_key_is_named() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        let forger = SigningKey::generate();
        let forged = trail.edit_kept(|lines| {
            let mut c = SignedCheckpoint::parse(&lines[1]).unwrap().checkpoint;
            c.chains[0].size = 1;
            lines[1] = c.sign(&forger).line();
        });
        assert_says(
            &trail.verify(&forged, false),
            1,
            &format!(
                "BROKEN checkpoints: checkpoint 2 (line 2) is not signed by {}: it was forged, \
                 or altered after it was signed\n",
                trail.public_key
            ),
        );
        let out = trail.verify(&forged, false);
        assert!(
            out.stdout
                .contains("ok     trail: consistent with 1 checkpoint\n"),
            "{out}"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_checkpoint_dropped_from_the_middle_is_named() {
    on_each_backend(|url| async move {
        let (store, trail) = three_checkpoints(&url).await;
        let dropped = trail.edit_kept(|lines| {
            lines.remove(1);
        });
        assert_says(
            &trail.verify(&dropped, false),
            1,
            "BROKEN checkpoints: checkpoint 3 follows checkpoint 1: checkpoint 2 is missing: \
             checkpoints were removed\n",
        );
        store.close().await;
    })
    .await;
}

#[test]
fn an_unreadable_key_or_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("w.db"), b"").unwrap();
    std::fs::write(dir.path().join("empty.jsonl"), b"\n").unwrap();
    let url = format!("sqlite://{}", dir.path().join("w.db").display());
    let base = ["audit", "verify", "--database-url", &url];
    let key = SigningKey::generate().public().to_string();
    let out = run(
        dir.path(),
        &[
            &base[..],
            &["--checkpoints", "empty.jsonl", "--public-key", &key],
        ]
        .concat(),
    );
    out.assert_code(2);
    assert!(out.stderr.contains("holds no checkpoint"), "{out}");
    let out = run(
        dir.path(),
        &[
            &base[..],
            &["--checkpoints", "empty.jsonl", "--public-key", "nope"],
        ]
        .concat(),
    );
    out.assert_code(2);
    assert!(out.stderr.contains("--public-key"), "{out}");
    run(
        dir.path(),
        &[&base[..], &["--checkpoints", "empty.jsonl"]].concat(),
    )
    .assert_code(2);
    let out = run(dir.path(), &["audit", "keygen", "--out", "k"]);
    out.assert_code(0);
    let again = run(dir.path(), &["audit", "keygen", "--out", "k"]);
    again.assert_code(2);
    assert!(again.stderr.contains("cannot create"), "{again}");
}

fn signer(key: &SigningKey, dir: Option<PathBuf>) -> Signer {
    Signer {
        key: key.clone(),
        instance: "https://w.example.com".into(),
        dir,
    }
}

#[tokio::test]
async fn a_checkpoint_is_written_only_when_the_trail_grew_unless_forced() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let signer = signer(&SigningKey::generate(), None);
        let now = Utc::now();
        assert_eq!(
            write(&store, &signer, now, false).await.unwrap(),
            Written::Unchanged
        );
        append(&store, 1).await;
        let Written::Wrote(first) = write(&store, &signer, now, false).await.unwrap() else {
            panic!("not written")
        };
        assert_eq!(
            (first.checkpoint.seq, first.checkpoint.previous.as_str()),
            (1, GENESIS)
        );
        assert_eq!(
            write(&store, &signer, now, false).await.unwrap(),
            Written::Unchanged
        );
        let Written::Wrote(second) = write(&store, &signer, now, true).await.unwrap() else {
            panic!("not forced")
        };
        assert_eq!(second.checkpoint.previous, first.checkpoint.hash());
        assert_eq!(second.checkpoint.chains, first.checkpoint.chains);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn no_checkpoint_is_signed_over_a_trail_that_contradicts_the_last_or_after_a_forged_one() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let key = SigningKey::generate();
        let signer = signer(&key, None);
        append(&store, 3).await;
        write(&store, &signer, Utc::now(), true).await.unwrap();
        tamper(
            &url,
            "DELETE FROM audit_events WHERE repo = 'acme/lib' AND seq = 3",
        )
        .await;
        let err = write(&store, &signer, Utc::now(), true).await.unwrap_err();
        assert!(
            format!("{err:#}")
                .contains("github acme/lib has 2 events, fewer than the 3 checkpoint 1 states"),
            "{err:#}"
        );

        let store = {
            store.close().await;
            tamper(&url, "DELETE FROM audit_checkpoints").await;
            Store::connect(&url).await.unwrap()
        };
        let forged = signer_forged_row(&store).await;
        let err = write(&store, &signer, Utc::now(), true).await.unwrap_err();
        assert!(
            format!("{err:#}").contains(&format!(
                "the stored checkpoint {forged} is not signed by this instance's key"
            )),
            "{err:#}"
        );
        assert_eq!(store.checkpoints_after(0).await.unwrap().len(), 1);
        store.close().await;
    })
    .await;
}

/// Stores a checkpoint signed by a key that is not the instance's.
async fn signer_forged_row(store: &Store) -> u64 {
    let other = signer(&SigningKey::generate(), None);
    let Written::Wrote(c) = write(store, &other, Utc::now(), true).await.unwrap() else {
        panic!("not written")
    };
    c.checkpoint.seq
}

#[tokio::test]
async fn replicas_writing_at_once_never_fork_the_checkpoints() {
    on_each_backend(|url| async move {
        let key = SigningKey::generate();
        let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores = Vec::new();
        for _ in &dirs {
            stores.push(Store::connect(&url).await.unwrap());
        }
        for round in 0..3 {
            let writers: Vec<_> = stores
                .iter()
                .zip(&dirs)
                .map(|(store, dir)| {
                    let store = store.clone();
                    let signer = signer(&key, Some(dir.path().to_owned()));
                    tokio::spawn(async move {
                        append(&store, 1).await;
                        write(&store, &signer, Utc::now(), true).await.unwrap()
                    })
                })
                .collect();
            let mut wrote = 0;
            for writer in writers {
                if matches!(writer.await.unwrap(), Written::Wrote(_)) {
                    wrote += 1;
                }
            }
            assert!(wrote >= 1, "round {round}: no replica wrote");
        }
        let stored = stores[0].checkpoints_after(0).await.unwrap();
        let text: String = stored.iter().map(|c| format!("{}\n", c.line)).collect();
        let report = check_sequence(&text, &key.public(), false);
        assert_eq!(report.broken, None);
        assert_eq!(report.verified.len(), stored.len());
        for (store, dir) in stores.iter().zip(&dirs) {
            // Each replica's copy is the start of the checkpoints, each
            // once, and catches up whole at its next sync.
            let kept = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
            assert!(text.starts_with(&kept), "{kept}");
            append_to_dir(store, dir.path()).await.unwrap();
            let kept = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
            assert_eq!(kept, text);
        }
        for store in stores {
            store.close().await;
        }
    })
    .await;
}
