//! The rollout's pages through the real router, on SQLite and PostgreSQL:
//! the overview's charts and their tables, the repositories with their
//! rollout state, the agents page as an access review, their exports, and
//! the list's old address sent on to its new one.
//!
//! Times are relative to now: the pages count the last 30 days and the
//! last 12 weeks from the server's clock.

mod support;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use support::decisions::{BASE, decision};
use support::keys::key;
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::store::changes::{ChangeRecord, ChangeStatus};
use warrant::store::{NewEvaluation, Store};

fn days_ago(days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days)
}

/// When claude-code's registration lapses: ten days and an hour from now, so
/// the page counts 10 days left whatever the hour of the run.
fn claude_lapses_at() -> DateTime<Utc> {
    Utc::now() + Duration::days(10) + Duration::hours(1)
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn evaluate(
    store: &Store,
    repo: &str,
    number: u64,
    conclusion: &str,
    when: DateTime<Utc>,
    extra: serde_json::Value,
) {
    let decision = decision(repo, number, conclusion, extra);
    let head = format!("{number:0>40}");
    store
        .record_evaluation(
            &NewEvaluation {
                change: &key("github", repo, number),
                head_sha: &head,
                base_sha: Some(BASE),
                check_run_id: Some(number),
                conclusion,
                title: "title",
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

fn agent(id: &str, status: serde_json::Value, more: serde_json::Value) -> serde_json::Value {
    let mut agent = serde_json::json!({"id": id, "status": status, "signals": []});
    for (key, v) in more.as_object().unwrap() {
        agent[key] = v.clone();
    }
    agent
}

const ORG_POLICY: &str =
    r#"{"repository": "acme/.github", "path": "warrant-org.yml", "blob_id": "0a0a"}"#;

/// One repository in each rollout state:
/// - acme/enforced: its own policy, enforced; claude-code registered
///   there, lapsing in 10 days;
/// - acme/both: the organisation's policy (enforced) and its own
///   (observed); copilot registered by the organisation, devin by the
///   repository and lapsed 5 days ago, still seen;
/// - acme/observed: the organisation's policy alone, observed; an
///   unregistered bot;
/// - acme/quiet: no policy, last seen 40 days ago (visibility only), with
///   an unregistered catalog agent;
/// - acme/broken: enforced 20 days ago, its policy invalid since;
/// - acme/pending: a change recorded, never decided.
async fn seed(store: &Store) {
    let claude = agent(
        "claude-code",
        serde_json::json!({"kind": "registered"}),
        serde_json::json!({"role": "app-dev", "owner": "alice",
            "expires": rfc3339(claude_lapses_at())}),
    );
    evaluate(
        store,
        "acme/enforced",
        1,
        "success",
        days_ago(1),
        serde_json::json!({"agents": [claude]}),
    )
    .await;

    let org: serde_json::Value = serde_json::from_str(ORG_POLICY).unwrap();
    let copilot = agent(
        "copilot",
        serde_json::json!({"kind": "registered"}),
        serde_json::json!({"role": "infra", "owner": "bob", "registered_by": "organisation",
            "expires": rfc3339(Utc::now() + Duration::days(200))}),
    );
    let lapsed_at = days_ago(5);
    let devin = agent(
        "devin",
        serde_json::json!({"kind": "lapsed", "expired_at": rfc3339(lapsed_at)}),
        serde_json::json!({"role": "db", "owner": "kenji", "registered_by": "repository",
            "expires": rfc3339(lapsed_at)}),
    );
    evaluate(
        store,
        "acme/both",
        2,
        "failure",
        days_ago(2),
        serde_json::json!({"org_policy": org, "agents": [copilot, devin],
            "applied": [
                {"from": "organisation", "mode": "enforce", "would_conclude": "failure"},
                {"from": "repository", "mode": "observe", "would_conclude": "success"}]}),
    )
    .await;

    let shadow = agent(
        "bot:shadow[bot]",
        serde_json::json!({"kind": "unregistered"}),
        serde_json::json!({}),
    );
    evaluate(
        store,
        "acme/observed",
        3,
        "neutral",
        days_ago(3),
        serde_json::json!({"org_policy": org, "policy": null, "mode": "observe",
            "agents": [shadow]}),
    )
    .await;

    let cursor = agent(
        "catalog:cursor",
        serde_json::json!({"kind": "unregistered"}),
        serde_json::json!({"catalog": "cursor"}),
    );
    evaluate(
        store,
        "acme/quiet",
        4,
        "neutral",
        days_ago(40),
        serde_json::json!({"policy": null, "mode": null, "agents": [cursor]}),
    )
    .await;

    evaluate(
        store,
        "acme/broken",
        5,
        "success",
        days_ago(20),
        serde_json::json!({}),
    )
    .await;
    evaluate(
        store,
        "acme/broken",
        6,
        "failure",
        days_ago(4),
        serde_json::json!({"mode": null, "policy_errors": [{"file": ".github/warrant.yml",
            "line": 3, "column": 1, "message": "unknown key `agnets`"}]}),
    )
    .await;

    store
        .upsert_change(&ChangeRecord {
            change: key("github", "acme/pending", 7),
            title: "Not yet decided".into(),
            author: Some("octocat".into()),
            url: None,
            state: ChangeStatus::Open,
            updated_at: days_ago(1),
        })
        .await
        .unwrap();
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

/// The cells after the header cell of the table row whose header cell
/// holds `name`, as text.
fn row_of(page: &str, name: &str) -> Vec<String> {
    let row = page
        .split("<tr>")
        .find(|row| {
            row.split("</th>")
                .next()
                .is_some_and(|head| head.contains(name))
        })
        .unwrap_or_else(|| panic!("no row for {name}: {page}"));
    let row = &row[..row.find("</tr>").unwrap()];
    let cells = row.split_once("</th>").map_or(row, |(_, cells)| cells);
    cells
        .split("</td>")
        .map(text)
        .filter(|cell| !cell.is_empty())
        .collect()
}

/// `html` without its tags (each read as a space), whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_repositories_page_shows_each_rollout_state_by_the_latest_decision() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/repositories").await;
        assert!(
            page.contains(
                "6 repositories: 2 enforce, 1 observe, 1 visibility only, 1 invalid policy, \
                 1 no decision yet."
            ),
            "{page}"
        );
        let since = (Utc::now() - Duration::days(30)).format("%Y-%m-%d");
        for (repo, cells) in [
            (
                "acme/both",
                vec![
                    "Enforce".to_owned(),
                    "organisation and repository (organisation enforce, repository observe)".into(),
                    "copilot, devin".into(),
                    "1 change".into(),
                ],
            ),
            (
                "acme/enforced",
                vec![
                    "Enforce".into(),
                    "repository".into(),
                    "claude-code".into(),
                    "1 change".into(),
                ],
            ),
            (
                "acme/observed",
                vec![
                    "Observe".into(),
                    "organisation".into(),
                    "bot:shadow[bot]".into(),
                    "1 change".into(),
                ],
            ),
            (
                "acme/quiet",
                vec![
                    "Visibility only".into(),
                    "none".into(),
                    "none".into(),
                    "0 changes".into(),
                ],
            ),
            (
                "acme/broken",
                vec![
                    "Invalid policy".into(),
                    "repository".into(),
                    "none".into(),
                    "2 changes".into(),
                ],
            ),
            (
                "acme/pending",
                vec![
                    "No decision yet".into(),
                    "none".into(),
                    "none".into(),
                    "0 changes".into(),
                    "none".into(),
                ],
            ),
        ] {
            let row = row_of(&page, &format!(">{repo}<"));
            assert_eq!(row[..cells.len()], cells[..], "{repo}: {row:?}");
            assert!(
                page.contains(&format!(
                    "href=\"/audit/changes?forge=github&#38;repo={}&#38;from={since}\"",
                    repo.replace('/', "%2F")
                )),
                "{repo} links to its recent changes: {page}"
            );
        }
        // The link lists exactly the changes counted.
        let broken = html(
            &server,
            &format!("/audit/changes?forge=github&repo=acme%2Fbroken&from={since}"),
        )
        .await;
        assert!(broken.contains("2 changes match"), "{broken}");
    })
    .await;
}

#[derive(Debug, Deserialize, PartialEq)]
struct RepositoryRow {
    forge: String,
    repository: String,
    rollout: String,
    policies: String,
    modes: String,
    agents_30_days: String,
    changes_30_days: u64,
    last_decision: String,
}

#[tokio::test]
async fn the_repositories_export_has_the_pages_rows_in_both_formats() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let response = server.get("/audit/repositories/export.csv").await;
        assert_eq!(response.headers()["warrant-export-schema"], "1");
        let body = response.text().await.unwrap();
        let csv_rows: Vec<RepositoryRow> = csv::Reader::from_reader(body.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let jsonl = html(&server, "/audit/repositories/export.jsonl").await;
        let jsonl_rows: Vec<RepositoryRow> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(csv_rows, jsonl_rows);
        let states: Vec<(&str, &str, &str)> = csv_rows
            .iter()
            .map(|r| {
                (
                    r.repository.as_str(),
                    r.rollout.as_str(),
                    r.policies.as_str(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                ("acme/both", "enforce", "both"),
                ("acme/broken", "invalid", "repository"),
                ("acme/enforced", "enforce", "repository"),
                ("acme/observed", "observe", "organisation"),
                ("acme/pending", "undecided", "none"),
                ("acme/quiet", "visibility_only", "none"),
            ]
        );
        let both = &csv_rows[0];
        assert_eq!(both.forge, "github");
        assert_eq!(both.modes, "organisation enforce, repository observe");
        assert_eq!(both.agents_30_days, "copilot devin");
        assert_eq!(both.changes_30_days, 1);
        assert!(both.last_decision.ends_with('Z'), "{both:?}");
        assert_eq!(csv_rows[4].last_decision, "");
    })
    .await;
}

#[tokio::test]
async fn the_agents_page_reviews_where_each_agent_is_registered_and_when_it_lapses() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit/agents").await;
        let order: Vec<usize> = [
            "bot:shadow[bot]",
            "catalog:cursor",
            "devin",
            "claude-code",
            "copilot",
        ]
        .iter()
        .map(|id| page.find(&format!("<code>{id}</code>")).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {page}");
        assert!(page.contains("2 registrations need review"), "{page}");

        let claude = row_of(&page, "<code>claude-code</code>");
        assert_eq!(claude[1], "acme/enforced (GitHub)", "{claude:?}");
        assert_eq!(claude[2], "alice");
        assert_eq!(claude[3], "app-dev in acme/enforced (GitHub)");
        // The date of the instant the seed wrote, not of ten days from now:
        // the two differ in the last hour of a UTC day.
        let expires = claude_lapses_at().format("%Y-%m-%d");
        assert_eq!(
            claude[4],
            format!("{expires} (10 days left) Lapses in 10 days")
        );
        let copilot = row_of(&page, "<code>copilot</code>");
        assert_eq!(copilot[1], "organisation", "{copilot:?}");
        assert!(!copilot[4].contains("Lapse"), "{copilot:?}");
        let devin = row_of(&page, "<code>devin</code>");
        assert_eq!(devin[0], "lapsed");
        assert_eq!(devin[1], "acme/both (GitHub)");
        assert!(
            devin[4].ends_with("(lapsed) Lapsed, still seen"),
            "{devin:?}"
        );
        let shadow = row_of(&page, "<code>bot:shadow[bot]</code>");
        assert_eq!(shadow[1..4], ["nowhere", "nobody", "none"], "{shadow:?}");
        assert_eq!(shadow[4], "never");
    })
    .await;
}

#[derive(Debug, Deserialize)]
struct AgentRow {
    agent_id: String,
    registration: String,
    registered_by: String,
    roles: String,
    expires: String,
    days_left: Option<i64>,
    review: String,
}

#[tokio::test]
async fn the_agents_exports_carry_the_access_review() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let response = server.get("/audit/agents/export.csv").await;
        assert_eq!(response.headers()["warrant-export-schema"], "2");
        let body = response.text().await.unwrap();
        let header = body.lines().next().unwrap();
        assert_eq!(
            header,
            "agent_id,registration,role,owner,repositories,last_seen,changes,blocked,\
             registered_by,roles,expires,days_left,review"
        );
        let rows: Vec<AgentRow> = csv::Reader::from_reader(body.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        let jsonl = html(&server, "/audit/agents/export.jsonl").await;
        let json_rows: Vec<AgentRow> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for rows in [&rows, &json_rows] {
            let find = |id: &str| rows.iter().find(|r| r.agent_id == id).unwrap();
            let claude = find("claude-code");
            assert_eq!(claude.registered_by, "github:acme/enforced");
            assert_eq!(claude.roles, "github:acme/enforced=app-dev");
            assert_eq!(claude.days_left, Some(10));
            assert_eq!(claude.review, "lapses_soon");
            assert!(claude.expires.ends_with('Z'), "{claude:?}");
            let copilot = find("copilot");
            assert_eq!(copilot.registered_by, "organisation");
            assert_eq!(copilot.review, "");
            let devin = find("devin");
            assert_eq!(devin.registration, "lapsed");
            assert_eq!(devin.review, "lapsed_still_seen");
            assert_eq!(devin.days_left, Some(0), "no days left, never fewer");
            let shadow = find("bot:shadow[bot]");
            assert_eq!(
                (shadow.registered_by.as_str(), shadow.days_left),
                ("", None)
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_overview_draws_each_chart_with_its_numbers_in_a_table() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let page = html(&server, "/audit").await;
        assert!(page.contains("<title>Overview: Warrant</title>"), "{page}");
        assert_eq!(page.matches("<svg class=\"chart\"").count(), 5, "{page}");
        assert!(!page.contains("<script"), "{page}");

        // Repositories by rollout state.
        for (state, n) in [
            ("Enforce", "2"),
            ("Observe", "1"),
            ("Visibility only", "1"),
            ("Invalid policy", "1"),
            ("No decision yet", "1"),
        ] {
            assert_eq!(row_of(&page, &format!(">{state}<")), [n], "{state}");
        }
        // Six changes in the 12 weeks, five with agents: one blocked, one
        // allowed, two neutral (observed, not configured), and the one
        // 40 days ago.
        let weeks: Vec<Vec<String>> = page
            .split("<tr><th scope=\"row\">20")
            .skip(1)
            .map(|row| row_of(&format!("<tr><th>20{row}"), "20"))
            .collect();
        assert_eq!(weeks.len(), 24, "twelve weeks in each of two tables");
        let sum = |table: &[Vec<String>], column: usize| -> u64 {
            table
                .iter()
                .map(|r| r[column].parse::<u64>().unwrap())
                .sum()
        };
        let (by_conclusion, share) = weeks.split_at(12);
        assert_eq!(
            [0, 1, 2, 3, 4].map(|c| sum(by_conclusion, c)),
            [1, 0, 1, 2, 4]
        );
        assert_eq!([0, 1].map(|c| sum(share, c)), [6, 4]);

        // The most active agents and the unregistered ones, linked to
        // their changes.
        for id in [
            "claude-code",
            "copilot",
            "devin",
            "bot:shadow[bot]",
            "catalog:cursor",
        ] {
            assert!(page.contains(&format!("<code>{id}</code>")), "{id}");
        }
        let unregistered = &page[page.find("id=\"unregistered-heading\"").unwrap()..];
        assert!(
            unregistered.contains("href=\"/audit/changes?agent=bot%3Ashadow%5Bbot%5D\""),
            "{unregistered}"
        );
        assert!(
            !unregistered.contains("<code>copilot</code>"),
            "{unregistered}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_lists_old_address_with_filters_is_sent_to_the_new_one() {
    on_each_backend(|url| async move {
        let server = started(&url).await;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .get(server.url("/audit?repo=acme%2Fboth&page=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers()["location"],
            "/audit/changes?repo=acme%2Fboth&page=1"
        );
        let followed = html(&server, "/audit?repo=acme%2Fboth").await;
        assert!(followed.contains("1 change matches"), "{followed}");
        // Without filters, /audit is the overview.
        let overview = client.get(server.url("/audit")).send().await.unwrap();
        assert_eq!(overview.status(), 200);
    })
    .await;
}
