//! Access to the audit pages through the real router, with the fake GitHub
//! over real HTTP: signing in with GitHub, what a signed-in user may read,
//! signing out with a CSRF-checked form, bearer tokens, and anonymous
//! requests. Tests that touch the store run on SQLite and PostgreSQL.
//!
//! The audit pages themselves are not needed: a probe route, built here on
//! the same state, answers with the viewer and with `Viewer::may_read`.

mod support;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use sha2::{Digest, Sha256};
use support::keys::repo_name;
use support::store::on_each_backend;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use warrant::config::{Secret, WebhookSecrets};
use warrant::engine::Forge;
use warrant::forge::github::fake::FakeGithub;
use warrant::forge::github::oauth::OauthClient;
use warrant::metrics::Metrics;
use warrant::server::access::Viewer;
use warrant::server::auth::{Access, SessionKey, TokenKey};
use warrant::server::{self, AppState};
use warrant::store::Store;
use warrant::store::access::NewSession;

const CLIENT_ID: &str = "Iv1.test-client";
const CLIENT_SECRET: &str = "test-client-secret";
const SESSION_KEY: &str = "a-session-key-of-at-least-32-characters";

/// Where the public URL is, when not the test server's own address.
const HTTPS_PUBLIC_URL: &str = "https://warrant.example.com";

/// A Warrant server with sign-in against a fake GitHub, plus the probe.
struct Harness {
    base: String,
    public_url: String,
    store: Store,
    github: FakeGithub,
    client: reqwest::Client,
    https: bool,
    _stop: oneshot::Sender<()>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy)]
struct Options {
    public_pages: bool,
    https: bool,
    /// Whether `WARRANT_TOKEN_KEY` is set ([`TOKEN_KEY`]).
    token_key: bool,
}

const PRIVATE: Options = Options {
    public_pages: false,
    https: false,
    token_key: true,
};

/// `WARRANT_TOKEN_KEY`, when a test sets it.
const TOKEN_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn token_key() -> TokenKey {
    TokenKey::from_hex(TOKEN_KEY).unwrap()
}

/// `GET /probe/{owner}/{repo}`: who the viewer is, and whether they may
/// read the repository.
async fn probe(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((owner, repo)): Path<(String, String)>,
) -> String {
    let who = match &viewer {
        Viewer::Public => "public".to_owned(),
        Viewer::User { login, .. } => format!("user:{login}"),
        Viewer::Token { name } => format!("token:{name}"),
    };
    let may = viewer
        .may_read(&state, "github", &format!("{owner}/{repo}"))
        .await
        .expect("may_read answers");
    format!("{who} {}", if may { "may-read" } else { "may-not-read" })
}

impl Harness {
    async fn start(database_url: &str, options: Options) -> Harness {
        let github = FakeGithub::start().await.unwrap();
        github.set_oauth_client(CLIENT_ID, CLIENT_SECRET);
        github.add_user("alice", 101, &["octo-org/readable"]);
        github.sign_in_as("alice");
        let store = Store::connect(database_url).await.unwrap();
        // Warrant has a trail of both, as their webhooks recorded them.
        for repo in ["octo-org/readable", "octo-org/hidden"] {
            store
                .record_repository(
                    Forge::Github,
                    &repo_name(repo),
                    github.repo_id(repo),
                    Utc::now(),
                )
                .await
                .unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let public_url = if options.https {
            HTTPS_PUBLIC_URL.to_owned()
        } else {
            base.clone()
        };
        let oauth = OauthClient::new(
            &github.base_url(),
            &github.base_url(),
            CLIENT_ID,
            Secret::new(CLIENT_SECRET),
        )
        .unwrap();
        let mut access =
            Access::new(SessionKey::new(SESSION_KEY)).with_github(oauth, Some(public_url.clone()));
        if options.token_key {
            access = access.with_token_key(token_key());
        }
        let state = AppState::new(store.clone(), WebhookSecrets::default(), Metrics::new())
            .with_public_pages(options.public_pages)
            .with_access(access);
        let app = Router::new()
            .route("/probe/{owner}/{repo}", get(probe))
            .with_state(state.clone())
            .merge(server::router(state));
        let stop = support::serve::serve(listener, app);
        let client = support::serve::client();
        Harness {
            base,
            public_url,
            store,
            github,
            client,
            https: options.https,
            _stop: stop,
            _dir: None,
        }
    }

    /// On a fresh SQLite file, for tests that are not about the store.
    async fn sqlite(options: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
        let mut harness = Harness::start(&url, options).await;
        harness._dir = Some(dir);
        harness
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A cookie's name as this server names it: `__Host-` prefixed over
    /// https.
    fn cookie(&self, base: &str) -> String {
        if self.https {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send().await.unwrap()
    }

    /// The probe's answer for `repo`, with a cookie or a bearer token.
    async fn probe(
        &self,
        repo: &str,
        cookie: Option<&str>,
        bearer: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = self.client.get(self.url(&format!("/probe/{repo}")));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Starts signing in: the redirect to GitHub and the sign-in cookie.
    async fn start_sign_in(&self, next: &str) -> (String, String) {
        let response = self
            .get(&format!("/auth/github/login?next={next}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let cookie = cookie_pair(response.headers(), &self.cookie("warrant_sign_in"))
            .expect("a sign-in cookie");
        (location(&response), cookie)
    }

    /// GitHub's answer to the authorise redirect: the callback URL, with
    /// a code and the state.
    async fn authorise(&self, authorize_url: &str) -> String {
        let response = self.client.get(authorize_url).send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "GitHub authorises"
        );
        location(&response)
    }

    /// The callback as the browser follows it, to this server.
    async fn callback(&self, callback_url: &str, cookie: &str) -> reqwest::Response {
        let path = callback_url
            .strip_prefix(&self.public_url)
            .expect("the callback is under the public URL");
        self.get(path, Some(cookie)).await
    }

    /// The whole dance; returns the session cookie (`name=value`).
    async fn sign_in(&self) -> String {
        let (authorize, sign_in_cookie) = self.start_sign_in("/audit").await;
        let callback = self.authorise(&authorize).await;
        let response = self.callback(&callback, &sign_in_cookie).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        cookie_pair(response.headers(), &self.cookie("warrant_session")).expect("a session cookie")
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The full `Set-Cookie` header for `name`.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// `name=value` of a cookie set, to send back; `None` if unset or cleared.
fn cookie_pair(headers: &HeaderMap, name: &str) -> Option<String> {
    let header = set_cookie(headers, name)?;
    let pair = header.split(';').next().unwrap().to_owned();
    (pair != format!("{name}=")).then_some(pair)
}

/// A query parameter of a URL.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[tokio::test]
async fn signing_in_with_github_sets_a_signed_http_only_lax_cookie_and_returns_to_next() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let (authorize, sign_in_cookie) = h.start_sign_in("/audit/github/octo-org/readable").await;
        assert!(
            authorize.starts_with(&format!("{}/login/oauth/authorize?", h.github.base_url())),
            "{authorize}"
        );
        assert_eq!(
            query_param(&authorize, "client_id").as_deref(),
            Some(CLIENT_ID)
        );
        let state = query_param(&authorize, "state").expect("a state");
        assert_eq!(state.len(), 64);
        assert!(
            query_param(&authorize, "redirect_uri")
                .unwrap()
                .ends_with("%2Fauth%2Fgithub%2Fcallback")
        );

        let callback = h.authorise(&authorize).await;
        assert_eq!(
            query_param(&callback, "state").as_deref(),
            Some(state.as_str())
        );
        let response = h.callback(&callback, &sign_in_cookie).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/audit/github/octo-org/readable");
        let header = set_cookie(response.headers(), "warrant_session").unwrap();
        assert!(header.contains("; HttpOnly"), "{header}");
        assert!(header.contains("; SameSite=Lax"), "{header}");
        assert!(header.contains("; Path=/;"), "{header}");
        assert!(!header.contains("Secure"), "plain http: {header}");
        // The sign-in cookie is spent.
        assert_eq!(cookie_pair(response.headers(), "warrant_sign_in"), None);

        let session = cookie_pair(response.headers(), "warrant_session").unwrap();
        let (status, body) = h.probe("octo-org/readable", Some(&session), None).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "user:alice may-read")
        );
        // The cookie holds neither the GitHub token nor anything the store
        // could match: the store keeps the id's hash.
        assert!(!session.contains("ghu_"), "{session}");
    })
    .await;
}

#[tokio::test]
async fn a_callback_with_a_wrong_missing_or_replayed_state_is_refused() {
    let h = Harness::sqlite(PRIVATE).await;
    let (authorize, sign_in_cookie) = h.start_sign_in("/audit").await;
    let callback = h.authorise(&authorize).await;
    let state = query_param(&callback, "state").unwrap();
    let forged = callback.replace(&state, &"0".repeat(64));
    let response = h.callback(&forged, &sign_in_cookie).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(cookie_pair(response.headers(), "warrant_session"), None);

    // The right state works once; a replay with the same cookie does not.
    let response = h.callback(&callback, &sign_in_cookie).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = h.callback(&callback, &sign_in_cookie).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Another browser, without the sign-in cookie, cannot use the code.
    let (authorize, _) = h.start_sign_in("/audit").await;
    let callback = h.authorise(&authorize).await;
    let response = h.callback(&callback, "unrelated=1").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(cookie_pair(response.headers(), "warrant_session"), None);
}

const HTTPS: Options = Options {
    public_pages: false,
    https: true,
    token_key: true,
};

/// Asserts what a `__Host-` cookie needs: browsers drop it otherwise.
#[track_caller]
fn assert_host_cookie(header: &str) {
    assert!(header.starts_with("__Host-"), "{header}");
    assert!(header.contains("; Path=/;"), "{header}");
    assert!(header.ends_with("; Secure"), "{header}");
    assert!(!header.to_ascii_lowercase().contains("domain="), "{header}");
}

#[tokio::test]
async fn over_https_both_cookies_are_host_prefixed_secure_and_on_the_whole_site() {
    let h = Harness::sqlite(HTTPS).await;
    let response = h.get("/auth/github/login?next=/audit", None).await;
    let header =
        set_cookie(response.headers(), "__Host-warrant_sign_in").expect("a sign-in cookie");
    assert_host_cookie(&header);
    assert_eq!(set_cookie(response.headers(), "warrant_sign_in"), None);

    let (authorize, sign_in_cookie) = h.start_sign_in("/audit").await;
    assert!(
        query_param(&authorize, "redirect_uri").unwrap()
            == "https%3A%2F%2Fwarrant.example.com%2Fauth%2Fgithub%2Fcallback"
    );
    let callback = h.authorise(&authorize).await;
    let response = h.callback(&callback, &sign_in_cookie).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let header = set_cookie(response.headers(), "__Host-warrant_session").unwrap();
    assert_host_cookie(&header);
    let cleared = set_cookie(response.headers(), "__Host-warrant_sign_in").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn over_https_a_session_cookie_without_the_host_prefix_is_ignored() {
    let h = Harness::sqlite(HTTPS).await;
    let session = h.sign_in().await;
    let (status, body) = h.probe("octo-org/readable", Some(&session), None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "user:alice may-read")
    );
    // The same signed value under the plain name, as a sibling host or a
    // plain-http answer could plant it: not read.
    let planted = session.strip_prefix("__Host-").unwrap();
    let (status, _) = h.probe("octo-org/readable", Some(planted), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{planted}");
}

#[tokio::test]
async fn over_plain_http_both_cookies_keep_their_plain_names() {
    let h = Harness::sqlite(PRIVATE).await;
    let response = h.get("/auth/github/login?next=/audit", None).await;
    let header = set_cookie(response.headers(), "warrant_sign_in").expect("a sign-in cookie");
    assert!(header.contains("; Path=/;"), "{header}");
    assert!(!header.contains("Secure"), "{header}");
    let session = h.sign_in().await;
    assert!(session.starts_with("warrant_session="), "{session}");
}

#[tokio::test]
async fn a_tampered_session_cookie_is_refused() {
    let h = Harness::sqlite(PRIVATE).await;
    let session = h.sign_in().await;
    let (value, signature) = session.rsplit_once('.').unwrap();
    let mut other_id = value.to_owned();
    let last = other_id.pop().unwrap();
    other_id.push(if last == '0' { '1' } else { '0' });
    for tampered in [
        format!("{other_id}.{signature}"),
        format!("{value}.{}", "0".repeat(64)),
        value.to_owned(),
    ] {
        let (status, _) = h.probe("octo-org/readable", Some(&tampered), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{tampered}");
    }
}

#[tokio::test]
async fn forbidden_for_a_user_without_access_to_the_repository() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let session = h.sign_in().await;
        let (status, body) = h.probe("octo-org/hidden", Some(&session), None).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "user:alice may-not-read")
        );
        let (_, body) = h.probe("octo-org/readable", Some(&session), None).await;
        assert_eq!(body, "user:alice may-read");

        // GitHub's answers are cached: asking again does not ask GitHub.
        let asked = |h: &Harness| {
            h.github
                .requests()
                .iter()
                .filter(|r| r.path.starts_with("/repos/"))
                .count()
        };
        assert_eq!(asked(&h), 2);
        let (_, body) = h.probe("octo-org/hidden", Some(&session), None).await;
        assert_eq!(body, "user:alice may-not-read");
        assert_eq!(asked(&h), 2);
    })
    .await;
}

#[tokio::test]
async fn logout_without_the_csrf_token_is_forbidden_and_with_it_ends_the_session() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let session = h.sign_in().await;
        let page = h
            .get("/auth/signin", Some(&session))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Signed in as alice"), "{page}");
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF field in the sign-out form")
            .to_owned();

        let logout = |body: String, origin: &str| {
            h.client
                .post(h.url("/auth/logout"))
                .header("cookie", &session)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", origin)
                .body(body)
                .send()
        };
        let own = h.base.clone();
        let response = logout(String::new(), &own).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = logout(format!("csrf={}", "0".repeat(64)), &own)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = logout(format!("csrf={csrf}"), "https://evil.example")
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let (status, _) = h.probe("octo-org/readable", Some(&session), None).await;
        assert_eq!(status, StatusCode::OK, "the refused forms ended nothing");

        let response = logout(format!("csrf={csrf}"), &own).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(
            set_cookie(response.headers(), "warrant_session")
                .unwrap()
                .contains("Max-Age=0")
        );
        let (status, _) = h.probe("octo-org/readable", Some(&session), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the old cookie is dead");
    })
    .await;
}

/// The session cookie for session `id`, signed as the server signs it.
fn signed_session_cookie(id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SESSION_KEY.as_bytes()).unwrap();
    mac.update(b"warrant_session\0");
    mac.update(id.as_bytes());
    format!(
        "warrant_session={id}.{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let now = Utc::now();
        for (id, expires_at) in [
            ("expired", now - Duration::hours(1)),
            ("live", now + Duration::hours(1)),
        ] {
            let id_hash = hex::encode(Sha256::digest(id.as_bytes()));
            h.store
                .create_session(&NewSession {
                    id_hash: &id_hash,
                    login: "alice",
                    user_id: 101,
                    sealed_token: Some(&token_key().seal("ghu_unused", &id_hash)),
                    created_at: now - Duration::hours(9),
                    expires_at,
                })
                .await
                .unwrap();
        }
        let (status, body) = h
            .probe(
                "octo-org/readable",
                Some(&signed_session_cookie("live")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = h
            .probe(
                "octo-org/readable",
                Some(&signed_session_cookie("expired")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn a_bearer_token_reads_everything_and_a_revoked_expired_or_wrong_one_is_401() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let now = Utc::now();
        let hash = |token: &str| hex::encode(Sha256::digest(token.as_bytes()));
        let live = format!("wrt_{}", "1".repeat(64));
        let old = format!("wrt_{}", "2".repeat(64));
        h.store
            .create_api_token("export", &hash(&live), now, Some(now + Duration::days(1)))
            .await
            .unwrap();
        h.store
            .create_api_token(
                "old",
                &hash(&old),
                now - Duration::days(2),
                Some(now - Duration::days(1)),
            )
            .await
            .unwrap();

        let (status, body) = h.probe("octo-org/hidden", None, Some(&live)).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "token:export may-read")
        );
        let listed = h.store.api_tokens().await.unwrap();
        assert!(
            listed
                .iter()
                .find(|t| t.name == "export")
                .unwrap()
                .last_used_at
                .is_some()
        );

        for wrong in [old.as_str(), "wrt_guess", "ghp_not_ours", ""] {
            let (status, _) = h.probe("octo-org/readable", None, Some(wrong)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
        }
        // A bad bearer is refused even with a valid session beside it.
        let session = h.sign_in().await;
        let (status, _) = h
            .probe("octo-org/readable", Some(&session), Some(&old))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        assert!(
            h.store
                .revoke_api_token("export", Utc::now())
                .await
                .unwrap()
        );
        let (status, _) = h.probe("octo-org/readable", None, Some(&live)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            !h.store
                .revoke_api_token("export", Utc::now())
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_made_with_the_cli_is_accepted_listed_without_its_secret_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let cli = |args: &[&str]| {
        let args: Vec<&str> = [&["token", "--database-url", database.as_str()][..], args].concat();
        support::cli::run(dir.path(), &args)
    };
    let created = cli(&["create", "--name", "ci-export", "--expires-in", "30"]);
    created.assert_code(0);
    let token = created.stdout.trim().to_owned();
    assert!(token.starts_with("wrt_") && token.len() == 68, "{created}");
    assert!(created.stderr.contains("shown only now"), "{created}");
    cli(&["create", "--name", "ci-export"]).assert_code(2);

    let h = Harness::start(&database, PRIVATE).await;
    let (status, body) = h.probe("octo-org/readable", None, Some(&token)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "token:ci-export may-read")
    );

    let listed = cli(&["list"]);
    listed.assert_code(0);
    assert!(listed.stdout.contains("ci-export"), "{listed}");
    assert!(listed.stdout.contains("live"), "{listed}");
    assert!(!listed.stdout.contains(&token[4..]), "{listed}");

    cli(&["revoke", "ci-export"]).assert_code(0);
    let (status, _) = h.probe("octo-org/readable", None, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    cli(&["revoke", "ci-export"]).assert_code(2);
    assert!(cli(&["list"]).stdout.contains("revoked"));
}

#[tokio::test]
async fn anonymous_readers_sign_in_first_unless_pages_are_public() {
    let h = Harness::sqlite(PRIVATE).await;
    let page = h
        .client
        .get(h.url("/probe/octo-org/readable?x=1"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page),
        "/auth/github/login?next=%2Fprobe%2Focto-org%2Freadable%3Fx%3D1"
    );
    let (status, _) = h.probe("octo-org/readable", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The sign-in page says what signing in grants, and links to GitHub.
    let page = h.get("/auth/signin?next=/audit/x", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("and no others"), "{page}");
    assert!(
        page.contains("href=\"/auth/github/login?next=%2Faudit%2Fx\""),
        "{page}"
    );

    let public = Harness::sqlite(Options {
        public_pages: true,
        ..PRIVATE
    })
    .await;
    let (status, body) = public.probe("octo-org/hidden", None, None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "public may-read"));
    // Signed in, a user reads what anyone reads.
    let session = public.sign_in().await;
    let (_, body) = public.probe("octo-org/hidden", Some(&session), None).await;
    assert_eq!(body, "user:alice may-read");
}

#[tokio::test]
async fn a_next_outside_this_server_is_refused() {
    let h = Harness::sqlite(PRIVATE).await;
    for next in [
        "https://evil.example",
        "//evil.example",
        "%2F%2Fevil.example",
    ] {
        let response = h
            .get(&format!("/auth/github/login?next={next}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{next}");
        assert!(response.headers().get(LOCATION).is_none());
    }
}

#[test]
fn the_registered_app_sends_people_back_to_the_sign_in_callback() {
    let manifest =
        warrant::server::register::AppManifest::for_server("https://w.example.com").unwrap();
    assert_eq!(
        manifest.callback_urls,
        ["https://w.example.com/auth/github/callback"]
    );
}

#[tokio::test]
async fn a_token_name_is_unique_among_live_tokens_and_reusable_once_revoked() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let now = Utc::now();
        store
            .create_api_token("ci", "hash-1", now, None)
            .await
            .unwrap();
        let err = store
            .create_api_token("ci", "hash-2", now, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`ci` exists"), "{err}");
        assert!(store.revoke_api_token("ci", now).await.unwrap());
        store
            .create_api_token("ci", "hash-3", now, None)
            .await
            .unwrap();
        assert_eq!(store.use_api_token("hash-1", now).await.unwrap(), None);
        assert_eq!(
            store.use_api_token("hash-3", now).await.unwrap().as_deref(),
            Some("ci")
        );
        let names: Vec<_> = store
            .api_tokens()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.revoked_at.is_some()))
            .collect();
        assert_eq!(names, [("ci".to_owned(), true), ("ci".to_owned(), false)]);
    })
    .await;
}

#[tokio::test]
async fn replicas_share_the_first_session_key_stored() {
    on_each_backend(|url| async move {
        let first = Store::connect(&url).await.unwrap();
        let second = Store::connect(&url).await.unwrap();
        assert_eq!(first.session_key_or("key-a").await.unwrap(), "key-a");
        assert_eq!(second.session_key_or("key-b").await.unwrap(), "key-a");
    })
    .await;
}

/// Everything the database holds, as text: the SQLite files byte for byte,
/// or every session row on PostgreSQL.
async fn database_text(url: &str) -> String {
    use sqlx::{Connection, Row};
    if let Some(file) = url.strip_prefix("sqlite://") {
        return ["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::read(format!("{file}{suffix}")).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect();
    }
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT s::text AS row FROM sessions s")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(!rows.is_empty(), "a session is stored");
    rows.iter().map(|row| row.get::<String, _>("row")).collect()
}

#[tokio::test]
async fn the_database_never_holds_a_users_github_token_in_clear() {
    for token_key in [true, false] {
        on_each_backend(move |url| async move {
            let h = Harness::start(
                &url,
                Options {
                    token_key,
                    ..PRIVATE
                },
            )
            .await;
            let session = h.sign_in().await;
            let (_, body) = h.probe("octo-org/readable", Some(&session), None).await;
            assert_eq!(body, "user:alice may-read", "the token is still used");
            // The fake GitHub hands out `ghu_N` tokens.
            let stored = database_text(&url).await;
            assert!(!stored.contains("ghu_"), "token key set: {token_key}");
        })
        .await;
    }
}

#[tokio::test]
async fn a_session_whose_token_is_in_clear_or_sealed_with_another_key_reads_as_signed_out() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        let now = Utc::now();
        let other_key = TokenKey::from_hex(&"9".repeat(64)).unwrap();
        for (id, sealed) in [
            ("in-clear", "ghu_from_an_older_warrant".to_owned()),
            (
                "other-key",
                other_key.seal("ghu_x", &hex::encode(Sha256::digest(b"other-key"))),
            ),
        ] {
            let id_hash = hex::encode(Sha256::digest(id.as_bytes()));
            h.store
                .create_session(&NewSession {
                    id_hash: &id_hash,
                    login: "alice",
                    user_id: 101,
                    sealed_token: Some(&sealed),
                    created_at: now,
                    expires_at: now + Duration::hours(1),
                })
                .await
                .unwrap();
            let (status, _) = h
                .probe("octo-org/readable", Some(&signed_session_cookie(id)), None)
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{id}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_new_repository_under_the_name_of_an_old_trail_does_not_open_it() {
    on_each_backend(|url| async move {
        let h = Harness::start(&url, PRIVATE).await;
        // `acme/app` (id 1) had a trail; it was deleted, and someone made a
        // new `acme/app` (id 2) that alice reads.
        h.store
            .record_repository(Forge::Github, &repo_name("acme/app"), 1, Utc::now())
            .await
            .unwrap();
        h.github
            .add_user("alice", 101, &["acme/app", "acme/kept", "acme/untracked"]);
        h.github.set_repo_id("acme/app", 2);
        // `acme/kept` (id 7) is still the repository it was.
        h.store
            .record_repository(Forge::Github, &repo_name("acme/kept"), 7, Utc::now())
            .await
            .unwrap();
        h.github.set_repo_id("acme/kept", 7);
        let session = h.sign_in().await;

        let (_, body) = h.probe("acme/app", Some(&session), None).await;
        assert_eq!(body, "user:alice may-not-read", "a reused name");
        let (_, body) = h.probe("acme/kept", Some(&session), None).await;
        assert_eq!(body, "user:alice may-read", "the same repository");
        // No id recorded (a trail from before ids were): nobody signed in.
        let (_, body) = h.probe("acme/untracked", Some(&session), None).await;
        assert_eq!(body, "user:alice may-not-read", "no recorded id");
        // A token still reads every trail.
        let token = format!("wrt_{}", "3".repeat(64));
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        h.store
            .create_api_token("auditor", &hash, Utc::now(), None)
            .await
            .unwrap();
        let (_, body) = h.probe("acme/app", None, Some(&token)).await;
        assert_eq!(body, "token:auditor may-read");
    })
    .await;
}

#[tokio::test]
async fn the_first_id_recorded_for_a_repository_name_is_kept() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(
            store
                .repository_id(Forge::Github, &repo_name("acme/app"))
                .await
                .unwrap(),
            None
        );
        let now = Utc::now();
        assert_eq!(
            store
                .record_repository(Forge::Github, &repo_name("acme/app"), 1, now)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .record_repository(Forge::Github, &repo_name("acme/app"), 2, now)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .repository_id(Forge::Github, &repo_name("acme/app"))
                .await
                .unwrap(),
            Some(1)
        );
        assert_eq!(
            store
                .record_repository(Forge::Gitlab, &repo_name("acme/app"), 3, now)
                .await
                .unwrap(),
            3
        );
    })
    .await;
}
