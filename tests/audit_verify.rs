//! `warrant audit verify` against real tampering: rows of a stored trail are
//! altered, deleted, reordered and forged with plain SQL, on SQLite and
//! PostgreSQL, and each is caught at the right row with the right reason,
//! while the other repositories' chains still verify.

mod support;

use std::collections::HashMap;
use std::ops::ControlFlow;

use chrono::{TimeZone, Utc};
use sqlx::{AnyConnection, Connection, Executor};
use support::audit::tamper;
use support::keys::repo_name;
use support::store::on_each_backend;
use warrant::audit::verify::{BreakKind, ChainReport, ChainVerifier, verify_store};
use warrant::audit::{AuditEvent, EventKind, GENESIS, NewAuditEvent, canonical, row_hash};
use warrant::engine::Forge;
use warrant::store::{Chain, Store};

/// The repositories of the seeded trail. The GitLab project is never
/// tampered with.
const REPOS: [(&str, &str); 6] = [
    ("github", "acme/app"),
    ("github", "acme/lib"),
    ("github", "acme/web"),
    ("github", "acme/ops"),
    ("github", "acme/docs"),
    ("gitlab", "group/sub/project"),
];

/// Events per repository.
const EVENTS: i64 = 6;

const KINDS: [EventKind; 6] = [
    EventKind::DeliveryReceived,
    EventKind::AgentIdentified,
    EventKind::DecisionMade,
    EventKind::ApprovalRefused,
    EventKind::CheckPosted,
    EventKind::ChangeMerged,
];

/// Appends `EVENTS` events to each repository, round robin, so that the
/// chains' row ids interleave as they do in production. Returns the stored
/// rows by repository.
async fn seed(store: &Store) -> HashMap<&'static str, Vec<AuditEvent>> {
    let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let mut events = Vec::new();
    for n in 1..=EVENTS {
        for (forge, repo) in REPOS {
            let at = start + chrono::Duration::seconds(n);
            let mut e = NewAuditEvent::new(
                support::keys::forge(forge),
                &repo_name(repo),
                KINDS[(n - 1) as usize],
                at,
            )
            .with_detail("n", n)
            .with_detail("reason", "seeded");
            e.change = Some(7);
            e.actor = Some("copilot-swe-agent[bot]".into());
            e.agent = Some("copilot".into());
            e.paths = vec![format!("src/{n}.rs"), "infra/main.tf".into()];
            events.push(e);
        }
    }
    let stored = store.append_audit(&events).await.unwrap();
    let mut by_repo: HashMap<&'static str, Vec<AuditEvent>> = HashMap::new();
    for row in stored {
        let repo = REPOS.iter().find(|(_, r)| *r == row.event.repo).unwrap().1;
        by_repo.entry(repo).or_default().push(row);
    }
    by_repo
}

async fn reports(store: &Store) -> HashMap<String, ChainReport> {
    verify_store(store)
        .await
        .unwrap()
        .into_iter()
        .map(|report| (report.repo.clone(), report))
        .collect()
}

/// Asserts that `repo`'s chain breaks at `seq`, in the row `row`, for
/// `kind`, with a reason containing `reason`.
#[track_caller]
fn assert_broken(
    reports: &HashMap<String, ChainReport>,
    repo: &str,
    (seq, row): (u64, i64),
    kind: BreakKind,
    reason: &str,
) {
    let broken = reports[repo]
        .broken
        .as_ref()
        .unwrap_or_else(|| panic!("{repo} verifies: {:?}", reports[repo]));
    assert_eq!(
        (broken.seq, broken.row, broken.kind),
        (Some(seq), row, kind),
        "{repo}: {broken:?}"
    );
    assert!(
        broken.reason.contains(reason),
        "{repo}: `{}` does not say `{reason}`",
        broken.reason
    );
}

#[track_caller]
fn assert_intact(reports: &HashMap<String, ChainReport>, repo: &str, events: u64) {
    let report = &reports[repo];
    assert!(report.is_intact(), "{repo}: {:?}", report.broken);
    assert_eq!(report.events, events, "{repo}");
    assert_eq!(report.head.as_ref().map(|h| h.seq), Some(events), "{repo}");
}

/// `UPDATE audit_events SET {set} WHERE` the row of `repo` at `seq`.
fn update(repo: &str, seq: u64, set: &str) -> String {
    format!("UPDATE audit_events SET {set} WHERE repo = '{repo}' AND seq = {seq};\n")
}

/// The id of `repo`'s row at `seq`.
fn id(rows: &HashMap<&str, Vec<AuditEvent>>, repo: &str, seq: u64) -> i64 {
    rows[repo][(seq - 1) as usize].id
}

#[tokio::test]
async fn an_untouched_trail_verifies_with_every_chain_and_head() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        assert!(verify_store(&store).await.unwrap().is_empty());
        let rows = seed(&store).await;
        let reports = verify_store(&store).await.unwrap();
        let chains: Vec<(&str, &str)> = reports
            .iter()
            .map(|r| (r.forge.as_str(), r.repo.as_str()))
            .collect();
        assert_eq!(chains.len(), REPOS.len());
        assert_eq!(chains[0], ("github", "acme/app"), "ordered by forge, repo");
        assert_eq!(chains[5], ("gitlab", "group/sub/project"));
        for report in &reports {
            assert!(report.is_intact(), "{report:?}");
            let head = report.head.as_ref().unwrap();
            let last = rows[report.repo.as_str()].last().unwrap();
            assert_eq!(report.events, EVENTS as u64);
            assert_eq!((head.seq, &head.hash), (last.seq, &last.hash));
        }
    })
    .await;
}

#[tokio::test]
async fn edited_fields_are_caught_in_the_row_that_was_edited() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        let edits = [
            update("acme/app", 3, "actor = 'mallory'"),
            update("acme/lib", 2, "paths = '[\"src/2.rs\"]'"),
            update(
                "acme/web",
                4,
                "detail = '{\"n\":4,\"reason\":\"approved\"}'",
            ),
            update("acme/ops", 5, "at = at + 1"),
            update("acme/docs", 1, "kind = 'approval_counted'"),
        ]
        .concat();
        tamper(&url, &edits).await;

        let reports = reports(&store).await;
        let altered = "its contents do not match its hash: the row was altered";
        for (repo, seq) in [("acme/app", 3), ("acme/lib", 2), ("acme/web", 4)] {
            let row = id(&rows, repo, seq);
            assert_broken(&reports, repo, (seq, row), BreakKind::Altered, altered);
            assert_eq!(reports[repo].events, seq - 1, "{repo}: rows before verify");
        }
        let row = id(&rows, "acme/ops", 5);
        assert_broken(
            &reports,
            "acme/ops",
            (5, row),
            BreakKind::Altered,
            &format!("row {row} (seq 5): {altered}"),
        );
        let row = id(&rows, "acme/docs", 1);
        assert_broken(&reports, "acme/docs", (1, row), BreakKind::Altered, altered);
        assert_intact(&reports, "group/sub/project", 6);
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_row_is_reported_with_what_is_wrong() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        let edits = [
            update("acme/app", 2, "kind = 'approval_forged'"),
            update("acme/lib", 4, "detail = 'not json'"),
            update("acme/web", 3, "paths = '{}'"),
        ]
        .concat();
        tamper(&url, &edits).await;

        let reports = reports(&store).await;
        let row = id(&rows, "acme/app", 2);
        assert_broken(
            &reports,
            "acme/app",
            (2, row),
            BreakKind::Unreadable,
            &format!("row {row} (seq 2) cannot be read: unknown event kind `approval_forged`"),
        );
        let row = id(&rows, "acme/lib", 4);
        let why = "detail is not a JSON object";
        assert_broken(&reports, "acme/lib", (4, row), BreakKind::Unreadable, why);
        let row = id(&rows, "acme/web", 3);
        let why = "paths are not a JSON array";
        assert_broken(&reports, "acme/web", (3, row), BreakKind::Unreadable, why);
        assert_intact(&reports, "acme/ops", 6);
    })
    .await;
}

#[tokio::test]
async fn an_edit_with_a_recomputed_hash_is_caught_at_the_next_rows_link() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        // Rewrite seq 3 and give it the hash of its new contents: the row
        // itself verifies, but seq 4 still points at the old hash.
        let mut forged = rows["acme/app"][2].clone();
        forged.event.actor = Some("mallory".into());
        let hash = row_hash(&forged.event, 3, &forged.prev_hash);
        let set = format!("actor = 'mallory', hash = '{hash}'");
        tamper(&url, &update("acme/app", 3, &set)).await;

        let reports = reports(&store).await;
        let row = id(&rows, "acme/app", 4);
        assert_broken(
            &reports,
            "acme/app",
            (4, row),
            BreakKind::Relinked,
            "seq 4's prev_hash is not seq 3's hash: seq 3 was rewritten",
        );
        assert_eq!(reports["acme/app"].events, 3);
        assert_intact(&reports, "acme/lib", 6);
    })
    .await;
}

#[tokio::test]
async fn a_rewritten_last_row_verifies_but_changes_the_head() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        let recorded = rows["acme/app"][5].hash.clone();
        let mut forged = rows["acme/app"][5].clone();
        forged.event.decision = Some("success".into());
        let hash = row_hash(&forged.event, 6, &forged.prev_hash);
        let set = format!("decision = 'success', hash = '{hash}'");
        tamper(&url, &update("acme/app", 6, &set)).await;

        // Nothing follows the last row to contradict it: only a head
        // recorded elsewhere does.
        let reports = reports(&store).await;
        assert_intact(&reports, "acme/app", 6);
        let head = reports["acme/app"].head.as_ref().unwrap();
        assert_ne!(head.hash, recorded);
    })
    .await;
}

#[tokio::test]
async fn deleted_rows_are_caught_where_the_seqs_skip() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        let deletes = "\
            DELETE FROM audit_events WHERE repo = 'acme/app' AND seq = 3;
            DELETE FROM audit_events WHERE repo = 'acme/lib' AND seq = 1;
            DELETE FROM audit_events WHERE repo = 'acme/web' AND seq IN (2, 3, 4);
            DELETE FROM audit_events WHERE repo = 'acme/ops' AND seq = 6;";
        tamper(&url, deletes).await;

        let reports = reports(&store).await;
        let row = id(&rows, "acme/app", 4);
        assert_broken(
            &reports,
            "acme/app",
            (4, row),
            BreakKind::Missing,
            "seq 4 follows seq 2: seq 3 is missing",
        );
        let row = id(&rows, "acme/lib", 2);
        assert_broken(
            &reports,
            "acme/lib",
            (2, row),
            BreakKind::Missing,
            "the chain starts at seq 2: seq 1 is missing",
        );
        let row = id(&rows, "acme/web", 5);
        assert_broken(
            &reports,
            "acme/web",
            (5, row),
            BreakKind::Missing,
            "seq 5 follows seq 1: seqs 2 to 4 are missing",
        );
        // A lost tail leaves a shorter intact chain: its head tells.
        assert_intact(&reports, "acme/ops", 5);
        assert_intact(&reports, "acme/docs", 6);
    })
    .await;
}

#[tokio::test]
async fn reordered_rows_are_caught_at_the_first_moved_row() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        // Swap the seqs of acme/app's rows 3 and 4 (by way of a free seq,
        // the pair being unique), and swap everything but the seq between
        // acme/lib's rows 2 and 5.
        let swap_seqs = [
            update("acme/app", 3, "seq = 1000"),
            update("acme/app", 4, "seq = 3"),
            update("acme/app", 1000, "seq = 4"),
        ]
        .concat();
        let columns = [
            "at",
            "kind",
            "change_number",
            "agent_id",
            "actor",
            "paths",
            "detail",
            "prev_hash",
            "hash",
        ];
        let swap_contents = format!(
            "CREATE TABLE saved AS SELECT * FROM audit_events;
             UPDATE audit_events SET {} WHERE repo = 'acme/lib' AND seq IN (2, 5);
             DROP TABLE saved;",
            columns
                .iter()
                .map(|c| format!(
                    "{c} = (SELECT s.{c} FROM saved s WHERE s.forge = audit_events.forge \
                     AND s.repo = audit_events.repo AND s.seq = 7 - audit_events.seq)"
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        tamper(&url, &format!("{swap_seqs}{swap_contents}")).await;

        let reports = reports(&store).await;
        let reordered = "rows were reordered or replaced";
        let row = id(&rows, "acme/app", 4);
        assert_broken(
            &reports,
            "acme/app",
            (3, row),
            BreakKind::Reordered,
            &format!("row {row} (seq 3) neither matches its hash nor links to seq 2"),
        );
        let row = id(&rows, "acme/lib", 2);
        assert_broken(
            &reports,
            "acme/lib",
            (2, row),
            BreakKind::Reordered,
            reordered,
        );
        assert_intact(&reports, "acme/web", 6);
    })
    .await;
}

#[tokio::test]
async fn a_forged_row_with_a_repeated_seq_is_caught_on_every_page_size() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        // A copy of acme/app's seq 3 with another actor, into `columns`
        // from `values` (the same columns, with or without an id).
        let copy_of_seq_3 = |columns: &str, values: &str| {
            format!(
                "INSERT INTO audit_events ({columns}) SELECT {values} FROM audit_events \
                 WHERE repo = 'acme/app' AND seq = 3"
            )
        };
        let columns = "forge, repo, seq, at, kind, change_number, head_sha, base_sha, \
             policy_blob, agent_id, role, owner, actor, requester, paths, approval, decision, \
             detail, prev_hash, hash";
        let values = columns.replace(" actor,", " 'mallory',");
        // The schema refuses a repeated seq...
        let mut conn = AnyConnection::connect(&url).await.unwrap();
        let refused = conn
            .execute(copy_of_seq_3(columns, &values).as_str())
            .await
            .unwrap_err();
        assert!(
            refused.to_string().to_lowercase().contains("unique"),
            "{refused}"
        );
        conn.close().await.unwrap();
        // ... so a forger rebuilds the table without the constraint first.
        let rebuild = format!(
            "CREATE TABLE unconstrained AS SELECT * FROM audit_events;
             DROP TABLE audit_events;
             ALTER TABLE unconstrained RENAME TO audit_events;
             {};",
            copy_of_seq_3(&format!("id, {columns}"), &format!("99999, {values}"))
        );
        tamper(&url, &rebuild).await;

        let reports = reports(&store).await;
        let original = id(&rows, "acme/app", 3);
        assert_broken(
            &reports,
            "acme/app",
            (3, 99999),
            BreakKind::Duplicate,
            &format!("row 99999 repeats seq 3 of row {original}: a row was inserted"),
        );
        assert_intact(&reports, "acme/lib", 6);

        // Pages continue after the last row's seq and id: the copy is found
        // whether or not it starts a page.
        let chain = Chain {
            forge: "github".into(),
            repo: "acme/app".into(),
        };
        for page in 1..=4 {
            let mut verifier = ChainVerifier::new(&chain);
            store
                .scan_audit_chain(&chain, page, |row| verifier.check(row))
                .await
                .unwrap();
            let report = verifier.finish();
            let broken = report.broken.expect("broken");
            assert_eq!((broken.seq, broken.row), (Some(3), 99999), "page {page}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_intact_chain_is_read_whole_on_any_page_size() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        seed(&store).await;
        let chain = Chain {
            forge: "gitlab".into(),
            repo: "group/sub/project".into(),
        };
        for page in [1, 2, 5, 6, 7, 1000] {
            let mut seen = Vec::new();
            store
                .scan_audit_chain(&chain, page, |row| {
                    seen.push(row);
                    ControlFlow::Continue(())
                })
                .await
                .unwrap();
            assert_eq!(seen.len(), EVENTS as usize, "page {page}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_chain_of_several_pages_is_verified_to_its_last_row() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let events: Vec<NewAuditEvent> = (0..2_500)
            .map(|n| {
                let at = start + chrono::Duration::milliseconds(n);
                NewAuditEvent::new(
                    Forge::Github,
                    &repo_name("acme/big"),
                    EventKind::CheckPosted,
                    at,
                )
                .with_detail("n", n)
            })
            .collect();
        let stored = store.append_audit(&events).await.unwrap();
        let intact = reports(&store).await;
        assert_intact(&intact, "acme/big", 2_500);
        let head = intact["acme/big"].head.as_ref().unwrap();
        assert_eq!(head.hash, stored.last().unwrap().hash);

        tamper(&url, &update("acme/big", 2_222, "actor = 'mallory'")).await;
        let reports = reports(&store).await;
        let row = stored[2_221].id;
        assert_broken(
            &reports,
            "acme/big",
            (2_222, row),
            BreakKind::Altered,
            "altered",
        );
        assert_eq!(reports["acme/big"].events, 2_221);
    })
    .await;
}

#[test]
fn the_worked_example_in_docs_audit_md_is_what_warrant_computes() {
    let doc = include_str!("../docs/audit.md");
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    let mut event = NewAuditEvent::new(
        Forge::Github,
        &repo_name("acme/app"),
        EventKind::ApprovalRefused,
        at,
    )
    .with_detail("review_id", 7)
    .with_detail("reason", "the approver is an agent");
    event.change = Some(12);
    event.agent = Some("copilot".into());
    event.actor = Some("copilot-swe-agent[bot]".into());
    event.paths = vec!["infra/main.tf".into()];
    event.approval = Some("refused".into());
    let text = canonical(&event, 1, GENESIS);
    let hash = row_hash(&event, 1, GENESIS);
    assert!(doc.contains(&format!("\n{text}\n")), "{text}");
    assert!(doc.contains(&format!("\n{hash}\n")), "{hash}");
}

mod cli {
    use super::*;
    use support::cli::run;

    fn url_of(path: &std::path::Path) -> String {
        format!("sqlite://{}", path.display())
    }

    #[tokio::test]
    async fn verify_exits_0_when_intact_and_1_with_the_reason_once_tampered() {
        let dir = tempfile::tempdir().unwrap();
        let url = url_of(&dir.path().join("warrant.db"));
        let store = Store::connect(&url).await.unwrap();
        let rows = seed(&store).await;
        store.close().await;

        let args = ["audit", "verify", "--database-url", &url];
        let out = run(dir.path(), &args);
        out.assert_code(0);
        let app = &rows["acme/app"][5];
        assert_eq!(out.stdout.lines().count(), REPOS.len(), "{out}");
        assert!(
            out.stdout.contains(&format!(
                "ok     github acme/app: 6 events, head {}\n",
                app.hash
            )),
            "{out}"
        );

        tamper(&url, &update("acme/app", 3, "actor = 'mallory'")).await;
        let out = run(dir.path(), &args);
        out.assert_code(1);
        let row = id(&rows, "acme/app", 3);
        assert!(
            out.stdout.contains(&format!(
                "BROKEN github acme/app: row {row} (seq 3): its contents do not match its hash: \
                 the row was altered\n"
            )),
            "{out}"
        );
        assert!(
            out.stdout.contains("ok     github acme/lib: 6 events"),
            "{out}"
        );

        let out = run(dir.path(), &[&args[..], &["--json"]].concat());
        out.assert_code(1);
        let json = out.json();
        assert_eq!(json["intact"], false);
        let app = &json["chains"][0];
        assert_eq!(app["repo"], "acme/app");
        assert_eq!(app["intact"], false);
        assert_eq!(app["events"], 2);
        assert_eq!(app["break"]["seq"], 3);
        assert_eq!(app["break"]["row"], row);
        assert_eq!(app["break"]["kind"], "altered");
        let lib = json["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|chain| chain["repo"] == "acme/lib")
            .unwrap();
        assert_eq!(
            (&lib["intact"], &lib["head"]["seq"]),
            (&true.into(), &6.into())
        );
        assert_eq!(lib["head"]["hash"], rows["acme/lib"][5].hash);
    }

    #[test]
    fn verify_says_so_when_there_are_no_events_yet() {
        let dir = tempfile::tempdir().unwrap();
        let url = url_of(&dir.path().join("warrant.db"));
        std::fs::write(dir.path().join("warrant.db"), b"").unwrap();
        let out = run(dir.path(), &["audit", "verify", "--database-url", &url]);
        out.assert_code(0);
        assert_eq!(out.stdout, "no audit events yet\n");
    }

    #[test]
    fn verify_refuses_a_database_file_that_does_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        let out = run(
            dir.path(),
            &["audit", "verify", "--database-url", &url_of(&path)],
        );
        out.assert_code(2);
        assert!(
            out.stderr.contains("cannot connect to the database"),
            "{out}"
        );
        assert!(!path.exists(), "verifying created the file");
    }

    #[test]
    fn verify_takes_the_database_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("env.db"), b"").unwrap();
        let out = support::cli::warrant(dir.path())
            .args(["audit", "verify", "--json"])
            .env("WARRANT_DATABASE_URL", "sqlite://env.db")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "{\n  \"intact\": true,\n  \"chains\": []\n}\n"
        );
    }
}
