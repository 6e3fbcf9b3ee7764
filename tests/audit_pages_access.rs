//! The audit pages and exports for a user who can read only some of the
//! repositories Warrant governs, through the real router and the real
//! sign-in against the fake GitHub, with public pages off. On SQLite and
//! PostgreSQL.
//!
//! Two repositories: `acme/open`, which alice can read on GitHub, and
//! `acme/secret`, which she cannot. Nothing of the second may show on any
//! page or export she reads, not even that it exists. The same holds for a
//! GitLab project: a GitHub sign-in proves nothing about it, so only an API
//! token reads it.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use support::keys::{key, repo_name};
use support::store::on_each_backend;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use warrant::audit::{EventKind, NewAuditEvent};
use warrant::config::{Secret, WebhookSecrets};
use warrant::engine::Decision;
use warrant::engine::Forge;
use warrant::forge::github::fake::FakeGithub;
use warrant::forge::github::oauth::OauthClient;
use warrant::metrics::Metrics;
use warrant::server::auth::{Access, SessionKey, TokenKey, sha256_hex};
use warrant::server::{self, AppState};
use warrant::store::changes::{ChangeRecord, ChangeStatus};
use warrant::store::{NewEvaluation, Store};

const CLIENT_ID: &str = "Iv1.test-client";
const CLIENT_SECRET: &str = "test-client-secret";
const SESSION_KEY: &str = "a-session-key-of-at-least-32-characters";

const BASE: &str = "1111111111111111111111111111111111111111";

const OPEN: &str = "acme/open";
const SECRET: &str = "acme/secret";
/// Words that appear only in the secret repository's records.
const SECRET_WORDS: [&str; 4] = [
    "acme/secret",
    "secret-agent",
    "unregistered:hidden-bot",
    "Secret plan",
];

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 10, 0, 0).unwrap()
}

/// A GitLab project with nested groups, and one merge request in it.
const GITLAB_PROJECT: &str = "platform/payments/ledger";
const GITLAB_CHANGE: &str = "/audit/gitlab/platform/payments/ledger/changes/7";
/// Words that appear only in the GitLab project's records.
const GITLAB_WORDS: [&str; 4] = [
    "platform/payments",
    "gitlab-duo",
    "unregistered:gitlab-bot",
    "Reconcile ledgers",
];

/// A decision with one registered agent, as the engine serialises it.
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
        "policy": {"path": ".github/warrant.yml", "blob_id": "b10b"},
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

async fn evaluate(store: &Store, repo: &str, number: u64, agent: &str, title: &str, day: u32) {
    evaluate_on(store, "github", repo, number, agent, title, day).await;
}

async fn evaluate_on(
    store: &Store,
    forge: &str,
    repo: &str,
    number: u64,
    agent: &str,
    title: &str,
    day: u32,
) {
    let decision = decision(forge, repo, number, agent);
    let head = format!("{number:0>40}");
    store
        .record_evaluation(
            &NewEvaluation {
                change: &key(forge, repo, number),
                head_sha: &head,
                base_sha: Some(BASE),
                check_run_id: Some(number),
                conclusion: "success",
                title,
                decision: Some(&decision),
                input: None,
                texts: None,
                alerts: &[],
                delivery_id: None,
                evaluated_at: at(day),
            },
            &[],
        )
        .await
        .unwrap();
}

/// Three changes in `acme/open`, two in `acme/secret` (one with the same
/// number as an open one), and an audit event naming an agent in each.
async fn seed(store: &Store) {
    for (number, day) in [(1, 10), (2, 11), (3, 12)] {
        evaluate(
            store,
            OPEN,
            number,
            "claude-code",
            "Allowed: claude-code",
            day,
        )
        .await;
    }
    for (number, day) in [(1, 13), (2, 14)] {
        evaluate(store, SECRET, number, "secret-agent", "Secret plan", day).await;
    }
    let mut events = Vec::new();
    for (repo, agent) in [
        (OPEN, "unregistered:open-bot"),
        (SECRET, "unregistered:hidden-bot"),
    ] {
        let mut event = NewAuditEvent::new(
            Forge::Github,
            &repo_name(repo),
            EventKind::AgentIdentified,
            at(15),
        );
        event.change = Some(1);
        event.agent = Some(agent.into());
        events.push(event);
    }
    store.append_audit(&events).await.unwrap();
}

/// Merge request !7 of [`GITLAB_PROJECT`], as the GitLab worker stores it:
/// an evaluation, the change's record, and an audit event naming an agent.
async fn seed_gitlab(store: &Store) {
    evaluate_on(
        store,
        "gitlab",
        GITLAB_PROJECT,
        7,
        "gitlab-duo",
        "Reconcile ledgers",
        16,
    )
    .await;
    store
        .upsert_change(&ChangeRecord {
            change: key("gitlab", GITLAB_PROJECT, 7),
            title: "Reconcile ledgers".into(),
            author: Some("alice".into()),
            url: Some(format!(
                "https://gitlab.com/{GITLAB_PROJECT}/-/merge_requests/7"
            )),
            state: ChangeStatus::Open,
            updated_at: at(16),
        })
        .await
        .unwrap();
    let mut event = NewAuditEvent::new(
        Forge::Gitlab,
        &repo_name(GITLAB_PROJECT),
        EventKind::AgentIdentified,
        at(16),
    );
    event.change = Some(7);
    event.agent = Some("unregistered:gitlab-bot".into());
    store.append_audit(&[event]).await.unwrap();
}

/// A seeded Warrant server with sign-in against a fake GitHub where alice
/// reads `acme/open` only, and public pages off.
struct Harness {
    base: String,
    store: Store,
    github: FakeGithub,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

impl Harness {
    async fn start(database_url: &str) -> Harness {
        let github = FakeGithub::start().await.unwrap();
        github.set_oauth_client(CLIENT_ID, CLIENT_SECRET);
        github.add_user("alice", 101, &[OPEN]);
        github.sign_in_as("alice");
        let store = Store::connect(database_url).await.unwrap();
        seed(&store).await;
        for repo in [OPEN, SECRET] {
            store
                .record_repository(
                    Forge::Github,
                    &repo_name(repo),
                    github.repo_id(repo),
                    at(10),
                )
                .await
                .unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let oauth = OauthClient::new(
            &github.base_url(),
            &github.base_url(),
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
        )
        .unwrap();
        let access = Access::new(SessionKey::new(SESSION_KEY))
            .with_github(oauth, Some(base.clone()))
            .with_token_key(TokenKey::from_hex(&"5a".repeat(32)).unwrap());
        let state = AppState::new(store.clone(), WebhookSecrets::default(), Metrics::new())
            .with_public_pages(false)
            .with_access(access);
        let app = server::router(state);
        let stop = support::serve::serve(listener, app);
        let client = support::serve::client();
        Harness {
            base,
            store,
            github,
            client,
            _stop: stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// Signs alice in the way a browser does: Warrant's login, GitHub's
    /// authorise page, Warrant's callback. Returns the session cookie.
    async fn sign_in(&self) -> String {
        let response = self.get("/auth/github/login?next=/audit", None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let sign_in_cookie = cookie_pair(&response, "warrant_sign_in");
        let authorize = location(&response);
        assert!(
            authorize.starts_with(&self.github.base_url()),
            "{authorize}"
        );
        let response = self.client.get(&authorize).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "GitHub authorises"
        );
        let callback = location(&response);
        let path = callback.strip_prefix(&self.base).expect("back to Warrant");
        let response = self.get(path, Some(&sign_in_cookie)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/audit");
        cookie_pair(&response, "warrant_session")
    }

    /// A live API token, as `warrant token create` makes one.
    async fn token(&self) -> String {
        let token = format!("wrt_{}", "7".repeat(64));
        let now = Utc::now();
        self.store
            .create_api_token(
                "audit-export",
                &sha256_hex(&token),
                now,
                Some(now + Duration::days(1)),
            )
            .await
            .unwrap();
        token
    }

    /// A page or export read with an API token: 200, and its body.
    async fn read_with_token(&self, path: &str, token: &str) -> String {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// A page or export alice reads: 200, and its body.
    async fn read(&self, path: &str, session: &str) -> String {
        let response = self.get(path, Some(session)).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// `name=value` of the cookie `name` the response sets.
fn cookie_pair(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// The changes a list page shows, as `repo#number`, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<th scope=\"row\"><a href=\"/audit/github/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].replace("/changes/", "#"))
        .collect()
}

fn assert_nothing_secret(what: &str, body: &str) {
    for word in SECRET_WORDS {
        assert!(!body.contains(word), "{what} shows {word:?}: {body}");
    }
}

/// The repositories of the rows of a changes export (CSV or JSON Lines).
/// An export with no row is empty, without even a header line.
fn exported_repositories(body: &str, jsonl: bool) -> BTreeSet<String> {
    if body.is_empty() {
        BTreeSet::new()
    } else if jsonl {
        body.lines()
            .map(|line| {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                row["repository"].as_str().unwrap().to_owned()
            })
            .collect()
    } else {
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let column = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "repository")
            .expect("a repository column");
        reader
            .records()
            .map(|r| r.unwrap()[column].to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_list_counts_and_pages_only_the_changes_a_user_can_read() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        let session = h.sign_in().await;

        let page = h.read("/audit/changes", &session).await;
        assert_eq!(listed(&page), ["acme/open#3", "acme/open#2", "acme/open#1"]);
        assert!(page.contains("3 changes match"), "{page}");
        assert_nothing_secret("/audit/changes", &page);

        let first = h.read("/audit/changes?per_page=2", &session).await;
        assert_eq!(listed(&first), ["acme/open#3", "acme/open#2"]);
        assert!(first.contains("Page 1 of 2"), "{first}");
        let second = h.read("/audit/changes?per_page=2&page=2", &session).await;
        assert_eq!(listed(&second), ["acme/open#1"]);
        assert!(!second.contains("rel=\"next\""), "{second}");

        // Filters naming the other repository find nothing.
        for query in [
            "repo=acme%2Fsecret",
            "agent=secret-agent",
            "q=Secret%20plan",
            "q=secret",
        ] {
            let page = h.read(&format!("/audit/changes?{query}"), &session).await;
            assert!(listed(&page).is_empty(), "{query}: {page}");
            assert!(page.contains("0 changes match"), "{query}: {page}");
            let export = h
                .read(&format!("/audit/export.csv?{query}"), &session)
                .await;
            assert!(
                exported_repositories(&export, false).is_empty(),
                "{query}: {export}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_change_in_a_repository_the_user_cannot_read_is_404_like_a_missing_one() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        let session = h.sign_in().await;
        let readable = h.read("/audit/github/acme/open/changes/1", &session).await;
        assert!(readable.contains("claude-code"), "{readable}");

        let hidden = h
            .get("/audit/github/acme/secret/changes/1", Some(&session))
            .await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "not 403");
        let hidden = hidden.text().await.unwrap();
        let missing = h
            .get("/audit/github/acme/secret/changes/99", Some(&session))
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            hidden,
            missing.text().await.unwrap(),
            "an existing change and a missing one read the same"
        );
        assert_nothing_secret("the 404", &hidden);
    })
    .await;
}

#[tokio::test]
async fn the_agents_and_the_exports_leave_unreadable_repositories_out() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        let session = h.sign_in().await;

        let agents = h.read("/audit/agents", &session).await;
        assert!(agents.contains("<code>claude-code</code>"), "{agents}");
        assert!(
            agents.contains("<code>unregistered:open-bot</code>"),
            "{agents}"
        );
        assert!(
            agents.contains("2 agents, of which 1 not registered"),
            "{agents}"
        );
        assert_nothing_secret("/audit/agents", &agents);
        for path in ["/audit/agents/export.csv", "/audit/agents/export.jsonl"] {
            let export = h.read(path, &session).await;
            assert!(export.contains("claude-code"), "{path}: {export}");
            assert_nothing_secret(path, &export);
        }

        for (path, jsonl) in [("/audit/export.csv", false), ("/audit/export.jsonl", true)] {
            let export = h.read(path, &session).await;
            assert_eq!(
                exported_repositories(&export, jsonl),
                BTreeSet::from([OPEN.to_owned()]),
                "{path}"
            );
            assert_nothing_secret(path, &export);
        }
    })
    .await;
}

#[tokio::test]
async fn the_overview_and_the_repositories_leave_unreadable_repositories_out() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        let session = h.sign_in().await;

        let repositories = h.read("/audit/repositories", &session).await;
        assert!(repositories.contains(">acme/open</a>"), "{repositories}");
        assert!(
            repositories.contains("1 repository: 1 enforce."),
            "{repositories}"
        );
        assert_nothing_secret("/audit/repositories", &repositories);
        for (path, jsonl) in [
            ("/audit/repositories/export.csv", false),
            ("/audit/repositories/export.jsonl", true),
        ] {
            let export = h.read(path, &session).await;
            assert_eq!(
                exported_repositories(&export, jsonl),
                BTreeSet::from([OPEN.to_owned()]),
                "{path}"
            );
            assert_nothing_secret(path, &export);
        }

        let overview = h.read("/audit", &session).await;
        assert!(
            overview.contains("1 repository, by the state of their latest decision"),
            "{overview}"
        );
        assert_nothing_secret("/audit", &overview);
    })
    .await;
}

#[tokio::test]
async fn anonymous_browsers_are_sent_to_sign_in_and_anonymous_exports_get_401() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        for path in [
            "/audit",
            "/audit/changes",
            "/audit/repositories",
            "/audit/agents",
            "/audit/github/acme/secret/changes/1",
        ] {
            let response = h
                .client
                .get(h.url(path))
                .header("accept", "text/html,application/xhtml+xml")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert!(
                location(&response).starts_with("/auth/github/login?next=%2Faudit"),
                "{path}"
            );
        }
        for path in [
            "/audit/export.csv",
            "/audit/export.jsonl",
            "/audit/agents/export.csv",
            "/audit/repositories/export.jsonl",
        ] {
            let response = h.get(path, None).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
            let body = response.text().await.unwrap();
            assert!(!body.contains("acme"), "{path}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_bearer_token_exports_every_repository() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        let token = h.token().await;
        for (path, jsonl) in [("/audit/export.csv", false), ("/audit/export.jsonl", true)] {
            let response = h
                .client
                .get(h.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let body = response.text().await.unwrap();
            assert_eq!(
                exported_repositories(&body, jsonl),
                BTreeSet::from([OPEN.to_owned(), SECRET.to_owned()]),
                "{path}"
            );
        }
        let agents = h
            .client
            .get(h.url("/audit/agents/export.csv"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(agents.contains("secret-agent"), "{agents}");
        assert!(agents.contains("unregistered:hidden-bot"), "{agents}");
    })
    .await;
}

#[tokio::test]
async fn a_github_sign_in_reads_no_gitlab_project() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        seed_gitlab(&h.store).await;
        let session = h.sign_in().await;

        let page = h.read("/audit/changes", &session).await;
        assert_eq!(listed(&page), ["acme/open#3", "acme/open#2", "acme/open#1"]);
        assert!(page.contains("3 changes match"), "{page}");
        let gitlab = h.read("/audit/changes?forge=gitlab", &session).await;
        assert!(gitlab.contains("0 changes match"), "{gitlab}");
        for path in [
            "/audit",
            "/audit/changes",
            "/audit/changes?forge=gitlab",
            "/audit/changes?q=%217",
            "/audit/repositories",
            "/audit/repositories/export.csv",
            "/audit/agents",
            "/audit/export.csv",
            "/audit/export.jsonl?forge=gitlab",
            "/audit/agents/export.csv",
            "/audit/agents/export.jsonl",
        ] {
            let body = h.read(path, &session).await;
            for word in GITLAB_WORDS {
                assert!(!body.contains(word), "{path} shows {word:?}: {body}");
            }
        }

        let hidden = h.get(GITLAB_CHANGE, Some(&session)).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "not 403");
        let hidden = hidden.text().await.unwrap();
        let missing = h
            .get(
                "/audit/gitlab/platform/payments/ledger/changes/99",
                Some(&session),
            )
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            hidden,
            missing.text().await.unwrap(),
            "an existing merge request and a missing one read the same"
        );
    })
    .await;
}

#[tokio::test]
async fn an_api_token_reads_gitlab_projects() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        seed_gitlab(&h.store).await;
        let token = h.token().await;

        let list = h
            .read_with_token("/audit/changes?forge=gitlab", &token)
            .await;
        assert!(
            list.contains(&format!("href=\"{GITLAB_CHANGE}\"")),
            "{list}"
        );
        assert!(list.contains("1 change matches"), "{list}");
        let page = h.read_with_token(GITLAB_CHANGE, &token).await;
        assert!(page.contains("platform/payments/ledger!7"), "{page}");
        assert!(page.contains("On GitLab, merge request !7"), "{page}");

        for (path, jsonl) in [("/audit/export.csv", false), ("/audit/export.jsonl", true)] {
            let body = h.read_with_token(path, &token).await;
            assert_eq!(
                exported_repositories(&body, jsonl),
                BTreeSet::from([
                    GITLAB_PROJECT.to_owned(),
                    OPEN.to_owned(),
                    SECRET.to_owned()
                ]),
                "{path}"
            );
        }
        let agents = h.read_with_token("/audit/agents", &token).await;
        assert!(agents.contains("<code>gitlab-duo</code>"), "{agents}");
        assert!(
            agents.contains("<code>unregistered:gitlab-bot</code>"),
            "{agents}"
        );
    })
    .await;
}

/// Asserts the security headers every response carries.
#[track_caller]
fn assert_security_headers(what: &str, response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_owned()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "style-src 'sha256-",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn every_page_export_error_and_webhook_answer_forbids_framing_scripts_and_sniffing() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&format!("sqlite://{}", dir.path().join("w.db").display())).await;
    let session = h.sign_in().await;
    let token = h.token().await;
    for (what, response) in [
        ("a page", h.get("/audit", Some(&session)).await),
        ("the sign-in page", h.get("/auth/signin", None).await),
        (
            "a missing change",
            h.get("/audit/github/acme/open/changes/99", Some(&session))
                .await,
        ),
        ("an unknown route", h.get("/nowhere", None).await),
        (
            "an anonymous export",
            h.get("/audit/export.csv", None).await,
        ),
        (
            "an export",
            h.client
                .get(h.url("/audit/export.csv"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        ),
        (
            "the webhook door",
            h.client
                .post(h.url("/webhooks/github"))
                .header("x-github-event", "ping")
                .body("{}")
                .send()
                .await
                .unwrap(),
        ),
        ("the health check", h.get("/healthz", None).await),
    ] {
        assert_security_headers(what, &response);
    }
}

#[tokio::test]
async fn the_policy_allows_exactly_the_stylesheet_the_pages_inline() {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(&format!("sqlite://{}", dir.path().join("w.db").display())).await;
    let session = h.sign_in().await;
    for path in ["/audit", "/auth/signin"] {
        let response = h.get(path, Some(&session)).await;
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let page = response.text().await.unwrap();
        let style = page
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .expect("an inline stylesheet");
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
        assert!(
            csp.contains(&format!("style-src 'sha256-{hash}'")),
            "{path}: {csp}"
        );
    }
}

/// A checkpoint names every repository: someone who may read only some
/// gets no checkpoint (answered as a page that does not exist), and the
/// events export with proofs holds only the chains they may read, ending
/// with the checkpoint's signed line. An API token reads them all.
#[tokio::test]
async fn checkpoints_go_only_to_readers_of_every_repository() {
    use warrant::audit::checkpoint::SigningKey;
    use warrant::audit::export::ExportedEvent;

    on_each_backend(|url| async move {
        let h = Harness::start(&url).await;
        support::audit::checkpoint(&h.store, &SigningKey::generate()).await;
        let session = h.sign_in().await;

        let refused = h.get("/audit/checkpoints", Some(&session)).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        let refused = refused.text().await.unwrap();
        assert_nothing_secret("the refused checkpoints", &refused);

        let export = h.read("/audit/events/export.jsonl", &session).await;
        let (events, last) = export.trim_end().rsplit_once('\n').unwrap();
        let repos: BTreeSet<String> = events
            .lines()
            .map(|line| {
                let e: ExportedEvent = serde_json::from_str(line).expect(line);
                e.event.event.repo
            })
            .collect();
        assert_eq!(repos, BTreeSet::from([OPEN.to_owned()]));
        // The checkpoint's own line names every chain, as signed; it is
        // the root the reader's proofs lead to.
        assert!(last.contains("\"signature\""), "{last}");

        let token = h.token().await;
        let all = h.read_with_token("/audit/checkpoints", &token).await;
        assert_eq!(all.lines().count(), 1);
        assert_eq!(all.trim_end(), last);
    })
    .await;
}
