//! The auditors' pages and exports for GitLab merge requests, beside a
//! GitHub pull request in the same store, through the real router on SQLite
//! and PostgreSQL: nested project paths in the change page's address, the
//! merge request's words and link, the forge filter, and the exports.
//!
//! Public pages are on here; who may read a GitLab project when they are
//! off is in `audit_pages_access.rs`.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use support::keys::{key, repo_name};
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::engine::Decision;
use warrant::store::changes::{ChangeRecord, ChangeStatus};
use warrant::store::{NewEvaluation, Store};

const BASE: &str = "1111111111111111111111111111111111111111";
/// The project of the main merge request: two nested groups.
const LEDGER: &str = "platform/payments/ledger";
/// The merge request's `web_url`, as the GitLab worker records it.
const LEDGER_URL: &str = "https://gitlab.example.com/platform/payments/ledger/-/merge_requests/7";
/// The GitLab instance the server is configured with; the pages link a merge
/// request under it when no `web_url` was recorded.
const GITLAB_URL: &str = "https://gitlab.internal.example";

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap()
}

/// A decision with one agent, as the engine serialises it.
fn decision(forge: &str, repo: &str, number: u64, agent: &str) -> String {
    let value = serde_json::json!({
        "conclusion": "success",
        "would_conclude": "success",
        "title": "title",
        "mode": "enforce",
        "evaluated_at": "2026-11-20T10:00:00Z",
        "forge": forge,
        "repository": repo,
        "number": number,
        "head_sha": format!("{number:0>40}"),
        "base_sha": BASE,
        "policy": {"path": ".gitlab/warrant.yml", "blob_id": "b10b"},
        "agents": [{"id": agent, "status": {"kind": "registered"}, "role": "dev",
            "owner": "alice", "signals": []}],
        "requesters": [],
        "requirements": [],
        "violations": [],
        "elevations": [],
        "dismissals": [],
        "notes": []
    });
    let decoded: Decision = serde_json::from_value(value).expect("a decision the engine reads");
    serde_json::to_string(&decoded).unwrap()
}

/// Stores an evaluation of `forge` `repo` `number` with its audit events
/// (the agent identified, the decision made), as the workers do.
async fn evaluate(store: &Store, forge: &str, repo: &str, number: u64, agent: &str, day: u32) {
    let decision = decision(forge, repo, number, agent);
    let head = format!("{number:0>40}");
    let mut identified = NewAuditEvent::new(
        support::keys::forge(forge),
        &repo_name(repo),
        EventKind::AgentIdentified,
        at(day),
    );
    identified.change = Some(number);
    identified.agent = Some(agent.into());
    identified.head_sha = Some(head.clone());
    let mut decided = NewAuditEvent::new(
        support::keys::forge(forge),
        &repo_name(repo),
        EventKind::DecisionMade,
        at(day),
    );
    decided.change = Some(number);
    decided.decision = Some("success".into());
    decided.head_sha = Some(head.clone());
    store
        .record_evaluation(
            &NewEvaluation {
                change: &key(forge, repo, number),
                head_sha: &head,
                base_sha: Some(BASE),
                check_run_id: None,
                conclusion: "success",
                title: &format!("Allowed: {agent}"),
                decision: Some(&decision),
                input: None,
                texts: None,
                alerts: &[],
                delivery_id: None,
                evaluated_at: at(day),
            },
            &[identified, decided],
        )
        .await
        .unwrap();
}

async fn record(store: &Store, forge: &str, repo: &str, number: u64, title: &str, url: &str) {
    store
        .upsert_change(&ChangeRecord {
            change: key(forge, repo, number),
            title: title.into(),
            author: Some("alice".into()),
            url: Some(url.into()),
            state: ChangeStatus::Open,
            updated_at: at(20),
        })
        .await
        .unwrap();
}

/// Three GitLab merge requests and a GitHub pull request:
/// - `platform/payments/ledger!7`, recorded with its `web_url`;
/// - `solo!1`, a one-segment project, never recorded (no `web_url`);
/// - `a/b/c/d!4`, a four-segment project;
/// - `acme/app#3` on GitHub.
async fn seed(store: &Store) {
    evaluate(store, "gitlab", LEDGER, 7, "gitlab-duo", 21).await;
    record(store, "gitlab", LEDGER, 7, "Reconcile ledgers", LEDGER_URL).await;
    evaluate(store, "gitlab", "solo", 1, "gitlab-duo", 22).await;
    evaluate(store, "gitlab", "a/b/c/d", 4, "gitlab-duo", 23).await;
    evaluate(store, "github", "acme/app", 3, "claude-code", 24).await;
    let github_url = "https://github.com/acme/app/pull/3";
    record(store, "github", "acme/app", 3, "Add caching", github_url).await;
}

async fn started(url: &str) -> TestServer {
    let store = Store::connect(url).await.expect("store connects");
    seed(&store).await;
    let state = test_state(&store)
        .with_public_pages(true)
        .with_gitlab_url(&format!("{GITLAB_URL}/"));
    TestServer::serve(state).await
}

async fn html(server: &TestServer, path: &str) -> String {
    let response = server.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

/// The links of the changes a list page shows, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<th scope=\"row\"><a href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn a_gitlab_change_page_reads_as_a_merge_request_at_its_nested_address() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/gitlab/platform/payments/ledger/changes/7").await;
        assert!(
            page.contains("<h1>platform/payments/ledger!7: Reconcile ledgers</h1>"),
            "{page}"
        );
        assert!(
            page.contains("<title>platform/payments/ledger!7: Warrant</title>"),
            "{page}"
        );
        assert!(page.contains("On GitLab, merge request !7"), "{page}");
        assert!(page.contains(&format!("href=\"{LEDGER_URL}\"")), "{page}");
        assert!(!page.contains("ledger#7"), "{page}");
        assert!(!page.contains("On GitHub"), "{page}");
        assert!(page.contains("<code>gitlab-duo</code>"), "{page}");
        let timeline = &page[page.find("<h2>Timeline</h2>").unwrap()..];
        assert!(timeline.contains("Agent identified"), "{timeline}");
        assert!(timeline.contains("Decision made"), "{timeline}");
    })
    .await;
}

#[tokio::test]
async fn one_and_four_segment_project_paths_have_pages() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let solo = html(&server, "/audit/gitlab/solo/changes/1").await;
        assert!(solo.contains("<h1>solo!1"), "{solo}");
        assert!(
            solo.contains(&format!("href=\"{GITLAB_URL}/solo/-/merge_requests/1\"")),
            "no web_url recorded: the configured GitLab's address: {solo}"
        );
        let deep = html(&server, "/audit/gitlab/a/b/c/d/changes/4").await;
        assert!(deep.contains("<h1>a/b/c/d!4"), "{deep}");
        assert!(
            deep.contains(&format!("href=\"{GITLAB_URL}/a/b/c/d/-/merge_requests/4\"")),
            "{deep}"
        );
    })
    .await;
}

#[tokio::test]
async fn paths_that_name_no_gitlab_change_are_404() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for path in [
            // `platform` is a group, not a project with a change 7.
            "/audit/gitlab/platform/changes/7",
            "/audit/gitlab/changes/7",
            "/audit/gitlab/a/b/changes/x",
            "/audit/gitlab/platform/payments/ledger/changes/8",
            "/audit/gitlab/platform/payments/ledger/changes/7/",
            "/audit/gitlab/platform/payments/ledger/change/7",
            "/audit/gitbucket/a/b/changes/1",
            // The same project and number, on the other forge.
            "/audit/github/platform/payments/ledger/changes/7",
            "/audit/github/solo/changes/1",
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
async fn the_forge_filter_separates_gitlab_changes_from_github_ones() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let gitlab = html(&server, "/audit/changes?forge=gitlab").await;
        assert_eq!(
            listed(&gitlab),
            [
                "/audit/gitlab/a/b/c/d/changes/4",
                "/audit/gitlab/solo/changes/1",
                "/audit/gitlab/platform/payments/ledger/changes/7",
            ]
        );
        assert!(
            gitlab.contains(">platform/payments/ledger!7</a> <span class=\"forge\">GitLab</span>"),
            "{gitlab}"
        );
        assert!(
            gitlab.contains("<option value=\"gitlab\" selected>GitLab</option>"),
            "{gitlab}"
        );
        assert!(gitlab.contains("export.csv?forge=gitlab"), "{gitlab}");

        let github = html(&server, "/audit/changes?forge=github").await;
        assert_eq!(listed(&github), ["/audit/github/acme/app/changes/3"]);
        assert!(github.contains(">acme/app#3</a></th>"), "{github}");
        assert!(
            github.contains("<option value=\"github\" selected>GitHub</option>"),
            "{github}"
        );

        assert_eq!(listed(&html(&server, "/audit/changes").await).len(), 4);
        let by_sigil = html(&server, "/audit/changes?q=%217").await;
        assert_eq!(
            listed(&by_sigil),
            ["/audit/gitlab/platform/payments/ledger/changes/7"]
        );
        let by_project = html(&server, "/audit/changes?repo=platform%2Fpayments%2Fledger").await;
        assert_eq!(
            listed(&by_project),
            ["/audit/gitlab/platform/payments/ledger/changes/7"]
        );
    })
    .await;
}

#[tokio::test]
async fn a_github_change_beside_gitlab_ones_keeps_its_address_and_words() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/github/acme/app/changes/3").await;
        assert!(page.contains("<h1>acme/app#3: Add caching</h1>"), "{page}");
        assert!(page.contains("On GitHub, pull request #3"), "{page}");
        assert!(
            page.contains("href=\"https://github.com/acme/app/pull/3\""),
            "{page}"
        );
        assert!(!page.contains("merge request !"), "{page}");
    })
    .await;
}

/// One row of a changes export: the fields this test reads.
#[derive(Debug, serde::Deserialize)]
struct Row {
    forge: String,
    repository: String,
    change: u64,
    agent_id: String,
}

#[tokio::test]
async fn exports_carry_forge_gitlab_and_the_full_project_path() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        for path in [
            "/audit/export.csv?repo=platform%2Fpayments%2Fledger",
            "/audit/export.jsonl?repo=platform%2Fpayments%2Fledger",
        ] {
            let body = html(&server, path).await;
            let rows: Vec<Row> = if path.contains(".csv") {
                csv::Reader::from_reader(body.as_bytes())
                    .deserialize()
                    .collect::<Result<_, _>>()
                    .unwrap()
            } else {
                body.lines()
                    .map(|line| serde_json::from_str(line).unwrap())
                    .collect()
            };
            assert_eq!(rows.len(), 1, "{path}: {rows:?}");
            let row = &rows[0];
            assert_eq!(
                (row.forge.as_str(), row.repository.as_str(), row.change),
                ("gitlab", LEDGER, 7),
                "{path}"
            );
            assert_eq!(row.agent_id, "gitlab-duo");
        }
        let github = html(&server, "/audit/export.csv?forge=github").await;
        assert!(!github.contains("gitlab"), "{github}");
    })
    .await;
}

#[tokio::test]
async fn the_agents_page_names_the_forge_of_each_repository() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/agents").await;
        assert!(page.contains("platform/payments/ledger (GitLab)"), "{page}");
        assert!(page.contains("acme/app (GitHub)"), "{page}");
        let export = html(&server, "/audit/agents/export.csv").await;
        assert!(
            export.contains("gitlab:platform/payments/ledger"),
            "{export}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_repositories_page_names_the_forge_and_links_to_the_projects_changes() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/repositories").await;
        assert!(
            page.contains(
                "<a href=\"/audit/changes?forge=gitlab&#38;repo=platform%2Fpayments%2Fledger\">\
                 platform/payments/ledger</a> <span class=\"forge\">GitLab</span>"
            ),
            "{page}"
        );
        assert!(
            page.contains(
                "<a href=\"/audit/changes?forge=github&#38;repo=acme%2Fapp\">acme/app</a></th>"
            ),
            "{page}"
        );
        let export = html(&server, "/audit/repositories/export.csv").await;
        assert!(
            export.contains("gitlab,platform/payments/ledger,enforce,repository,"),
            "{export}"
        );
        let list = html(
            &server,
            "/audit/changes?forge=gitlab&repo=platform%2Fpayments%2Fledger",
        )
        .await;
        assert!(list.contains("1 change matches"), "{list}");
    })
    .await;
}
