//! The events export with inclusion proofs, and `warrant audit
//! verify-export` checking it offline: a sound export verifies, and each
//! tampering with a line is named; `/audit/checkpoints` serves the
//! checkpoints to those who may read the pages, and says when there are
//! none. On SQLite and PostgreSQL.

mod support;

use support::audit::{append, checkpoint};
use support::cli::{Run, run};
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::audit::checkpoint::{SignedCheckpoint, SigningKey};
use warrant::audit::export::ExportedEvent;
use warrant::audit::row_hash;
use warrant::store::Store;

async fn server(store: &Store, key: Option<&SigningKey>) -> TestServer {
    let state = test_state(store)
        .with_public_pages(true)
        .with_checkpoint_key(key.map(SigningKey::public));
    TestServer::serve(state).await
}

async fn body(server: &TestServer, path: &str) -> (u16, String) {
    let response = server.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs `warrant audit verify-export` on `lines`.
fn verify(lines: &[String], key: &SigningKey) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("export.jsonl"), text).unwrap();
    let public = key.public().to_string();
    run(
        dir.path(),
        &[
            "audit",
            "verify-export",
            "export.jsonl",
            "--public-key",
            &public,
        ],
    )
}

#[track_caller]
fn assert_says(out: &Run, code: i32, says: &str) {
    out.assert_code(code);
    assert!(out.stdout.contains(says), "no `{says}` in:\n{out}");
}

/// The line of `repo`'s event at `seq`.
fn find(lines: &[String], repo: &str, seq: u64) -> usize {
    lines
        .iter()
        .position(|l| {
            serde_json::from_str::<ExportedEvent>(l)
                .is_ok_and(|e| e.event.event.repo == repo && e.event.seq == seq)
        })
        .unwrap()
}

#[tokio::test]
async fn an_export_verifies_offline_and_each_tampered_line_is_named() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let key = SigningKey::generate();
        append(&store, 2).await;
        checkpoint(&store, &key).await;
        append(&store, 2).await;
        checkpoint(&store, &key).await;
        append(&store, 1).await; // after the last checkpoint: not exported
        let server = server(&store, Some(&key)).await;
        let (status, text) = body(&server, "/audit/events/export.jsonl").await;
        assert_eq!(status, 200, "{text}");
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 12 + 1, "4 events of 3 chains, then the checkpoint");
        let last = SignedCheckpoint::parse(&lines[12]).unwrap();
        assert_eq!(last.checkpoint.seq, 2);

        assert_says(
            &verify(&lines, &key),
            0,
            "ok     export: 12 events of 3 chains, each proved in checkpoint 2",
        );
        assert_says(&verify(&lines, &SigningKey::generate()), 1, "BROKEN export: checkpoint 2 (line 13) is not signed by");

        // An altered event.
        let mut altered = lines.clone();
        let at = find(&lines, "acme/lib", 2);
        altered[at] = altered[at].replace("copilot-swe-agent[bot]", "alice");
        assert_says(
            &verify(&altered, &key),
            1,
            &format!("BROKEN export: line {} (github acme/lib seq 2): its contents do not match its hash: the line was altered", at + 1),
        );

        // An altered event whose hash is recomputed: its proof fails.
        let mut rehashed = lines.clone();
        let mut e: ExportedEvent = serde_json::from_str(&lines[at]).unwrap();
        e.event.event.actor = Some("alice".into());
        e.event.hash = row_hash(&e.event.event, e.event.seq, &e.event.prev_hash);
        rehashed[at] = serde_json::to_string(&e).unwrap();
        assert_says(
            &verify(&rehashed, &key),
            1,
            &format!("BROKEN export: line {} (github acme/lib seq 2): its proof does not show it in checkpoint 2", at + 1),
        );

        // An event left out of the middle, and the newest left out.
        let mut gap = lines.clone();
        gap.remove(find(&lines, "acme/app", 2));
        assert_says(&verify(&gap, &key), 1, "(github acme/app seq 3): seq 3 follows seq 1: events were left out of the export");
        let mut tail = lines.clone();
        tail.remove(find(&lines, "group/sub/project", 4));
        assert_says(
            &verify(&tail, &key),
            1,
            "BROKEN export: gitlab group/sub/project: event 4 is missing of the 4 that checkpoint 2 covers",
        );

        // Cut short: no checkpoint at the end.
        assert_says(&verify(&lines[..12], &key), 1, "the export does not end with a checkpoint");
        drop(server);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_checkpoints_are_served_as_json_lines_and_their_absence_explained() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        append(&store, 1).await;
        let off = server(&store, None).await;
        let (status, text) = body(&off, "/audit/checkpoints").await;
        assert_eq!(status, 404);
        assert!(
            text.contains("no signing key (WARRANT_AUDIT_SIGNING_KEY)"),
            "{text}"
        );
        let (status, text) = body(&off, "/audit/events/export.jsonl").await;
        assert_eq!(
            (status, text.contains("no signing key")),
            (404, true),
            "{text}"
        );
        drop(off);

        let key = SigningKey::generate();
        let on = server(&store, Some(&key)).await;
        let (status, text) = body(&on, "/audit/checkpoints").await;
        assert_eq!(
            (status, text.as_str()),
            (404, "No checkpoint has been written yet.\n")
        );
        checkpoint(&store, &key).await;
        checkpoint(&store, &key).await;
        let response = on.get("/audit/checkpoints").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/jsonl; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        let stored: String = store
            .checkpoints_after(0)
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{}\n", c.line))
            .collect();
        assert_eq!(text, stored);
        assert_eq!(text.lines().count(), 2);
        drop(on);

        // Behind the same access as the other pages.
        let closed = TestServer::serve(test_state(&store)).await;
        let response = closed.get("/audit/checkpoints").await;
        assert_eq!(response.status(), 401);
        drop(closed);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_change_page_shows_its_events_proofs_in_the_latest_checkpoint_or_why_not() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        append(&store, 3).await;
        let page = "/audit/github/acme/app/changes/7";
        let off = server(&store, None).await;
        let (status, html) = body(&off, page).await;
        assert_eq!(status, 200);
        assert!(html.contains("Checkpoints are off: this instance has no signing key"), "{html}");
        drop(off);

        let key = SigningKey::generate();
        checkpoint(&store, &key).await;
        append(&store, 1).await;
        let on = server(&store, Some(&key)).await;
        let (_, html) = body(&on, page).await;
        assert!(html.contains("This change&#x27;s events are in checkpoint 1") || html.contains("This change's events are in checkpoint 1"), "{html}");
        assert!(html.contains("1 later events are not in a checkpoint yet"), "{html}");
        // The page's paths are the export's.
        let (_, export) = body(&on, "/audit/events/export.jsonl").await;
        let mut shown = 0;
        for line in export.lines() {
            let Ok(e) = serde_json::from_str::<ExportedEvent>(line) else { continue };
            if e.event.event.repo == "acme/app" {
                let row = format!(
                    "<td>{}</td><th scope=\"row\">decision_made</th><td><code>{}</code></td><td><code>{}</code></td>",
                    e.event.seq,
                    e.event.hash,
                    e.proof.path.join(" ")
                );
                assert!(html.contains(&row), "no {row} in {html}");
                shown += 1;
            }
        }
        assert_eq!(shown, 3);
        drop(on);
        store.close().await;
    })
    .await;
}
