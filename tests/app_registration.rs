//! Registering the GitHub App through the manifest flow, against the real
//! router and the fake GitHub: the page, the shipped manifest, the setup
//! token and the operator's cookie that keep anyone else from registering,
//! the callback's CSRF check, the credentials file, and the live switch to
//! the new app's webhook secret.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use support::register::{
    PUBLIC_URL, RegisterServer, SETUP_COOKIE, SETUP_TOKEN, Serve, attribute, set_cookie, state_of,
};
use support::server::{fixture, sign};
use warrant::forge::github::fake::FakeGithub;
use warrant::server::register::AppManifest;

/// What Warrant may ask for, and the level: the table in
/// docs/github-app.md. Anything else is broader than needed.
const PERMISSIONS: [(&str, &str); 5] = [
    ("checks", "write"),
    ("contents", "read"),
    ("members", "read"),
    ("metadata", "read"),
    ("pull_requests", "write"),
];

/// The events Warrant handles that an app must subscribe to
/// (installation and installation_repositories come unasked).
const EVENTS: [&str; 7] = [
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "push",
    "merge_group",
    "issue_comment",
];

#[test]
fn the_shipped_manifest_asks_for_the_least_permissions_and_every_handled_event() {
    let manifest = AppManifest::shipped().unwrap();
    let expected: BTreeMap<String, String> = PERMISSIONS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(manifest.default_permissions, expected);
    assert!(!manifest.default_permissions.contains_key("administration"));
    assert_ne!(manifest.default_permissions["contents"], "write");
    let mut events = manifest.default_events.clone();
    events.sort();
    let mut handled = EVENTS.map(str::to_owned).to_vec();
    handled.sort();
    assert_eq!(events, handled);
    assert!(!manifest.public);
}

#[test]
fn every_permission_is_documented_with_its_level() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/github-app.md"),
    )
    .unwrap();
    for (permission, level) in PERMISSIONS {
        let row = format!("| `{permission}` | {level} |");
        assert!(docs.contains(&row), "docs/github-app.md lacks {row}");
    }
}

#[tokio::test]
async fn the_root_page_offers_the_operator_the_manifest_under_the_public_url() {
    let server = RegisterServer::start().await;
    let operator = server.operator().await;
    let (status, page) = server.get_as(&operator, "/").await;
    assert_eq!(status, 200);
    let action = attribute(&page, "<form method=\"post\"", "action");
    let web = server.fake.base_url();
    assert!(
        action.starts_with(&format!("{web}/settings/apps/new?state=")),
        "{action}"
    );
    let manifest: Value =
        serde_json::from_str(&attribute(&page, "name=\"manifest\"", "value")).unwrap();
    assert_eq!(
        manifest["hook_attributes"]["url"],
        format!("{PUBLIC_URL}/webhooks/github")
    );
    assert_eq!(manifest["url"], PUBLIC_URL);
    assert_eq!(
        manifest["redirect_url"],
        format!("{PUBLIC_URL}/github/manifest/callback")
    );
    let shipped = serde_json::to_value(AppManifest::shipped().unwrap()).unwrap();
    assert_eq!(
        manifest["default_permissions"],
        shipped["default_permissions"]
    );
    assert_eq!(manifest["default_events"], shipped["default_events"]);
    assert!(!page.contains("<script"), "the page needs no JavaScript");
}

#[tokio::test]
async fn the_registration_page_with_its_single_use_state_is_never_cached() {
    let server = RegisterServer::start().await;
    let operator = server.operator().await;
    let response = server
        .client
        .get(server.url("/"))
        .header("cookie", &operator)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "private, no-store");
}

#[tokio::test]
async fn an_organisation_gets_a_form_posting_to_its_settings() {
    let server = RegisterServer::start().await;
    let operator = server.operator().await;
    let (status, page) = server.get_as(&operator, "/?org=octo-org").await;
    assert_eq!(status, 200);
    let action = attribute(&page, "Register on my account", "action");
    let web = server.fake.base_url();
    assert!(
        action.starts_with(&format!(
            "{web}/organizations/octo-org/settings/apps/new?state="
        )),
        "{action}"
    );
}

#[tokio::test]
async fn an_organisation_name_with_markup_is_refused_and_shown_escaped() {
    let server = RegisterServer::start().await;
    let operator = server.operator().await;
    let (status, page) = server
        .get_as(&operator, "/?org=%3Cscript%3Ealert(1)%3C/script%3E")
        .await;
    assert_eq!(status, 200);
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("/organizations/"), "{page}");
}

#[tokio::test]
async fn without_a_public_url_the_page_asks_for_one_and_offers_no_form() {
    let server = RegisterServer::start_with(None).await;
    let (status, page) = server.get(&format!("/?setup={SETUP_TOKEN}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("WARRANT_PUBLIC_URL"));
    assert!(!page.contains("name=\"manifest\""));
}

#[tokio::test]
async fn a_callback_with_a_missing_wrong_or_reused_state_is_refused_and_writes_nothing() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-1", "new-secret");
    let operator = server.operator().await;
    let (status, _) = server
        .get_as(&operator, "/github/manifest/callback?code=code-1")
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .get_as(
            &operator,
            "/github/manifest/callback?code=code-1&state=forged",
        )
        .await;
    assert_eq!(status, 403);
    assert!(!server.app_file.exists());
    assert!(
        server.fake.requests().is_empty(),
        "no code is exchanged without a good state"
    );

    // A good state is used once; GitHub's code fails the first time, so the
    // app is still unconfigured when the state comes back.
    let state = server.state_for(&operator).await;
    let (status, _) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=unknown&state={state}"),
        )
        .await;
    assert_eq!(status, 502);
    let (status, _) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=code-1&state={state}"),
        )
        .await;
    assert_eq!(status, 403);
    assert!(!server.app_file.exists());
}

#[tokio::test]
async fn a_good_callback_keeps_the_credentials_owner_only_and_accepts_the_apps_webhooks() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-2", "new-secret");
    let body = fixture("pull_request", "opened.payload.json");
    let webhook = |secret: &str| {
        server
            .client
            .post(server.url("/webhooks/github"))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "d-1")
            .header("x-hub-signature-256", sign(secret, &body))
            .body(body.clone())
    };
    assert_eq!(webhook("new-secret").send().await.unwrap().status(), 401);

    let operator = server.operator().await;
    let state = server.state_for(&operator).await;
    let (status, page) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=code-2&state={state}"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("https://github.com/apps/warrant-octo/installations/new"));
    assert!(!page.contains("client-secret") && !page.contains("new-secret"));

    let exchanged: Vec<_> = server
        .fake
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        exchanged,
        [(
            "POST".to_owned(),
            "/app-manifests/code-2/conversions".to_owned()
        )]
    );
    let mode = std::fs::metadata(&server.app_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let kept: Value = serde_json::from_slice(&std::fs::read(&server.app_file).unwrap()).unwrap();
    assert_eq!(kept["id"], 31337);
    assert_eq!(kept["webhook_secret"], "new-secret");
    assert_eq!(kept["slug"], "warrant-octo");

    assert_eq!(webhook("new-secret").send().await.unwrap().status(), 202);
    let registered = server.registered.borrow().clone();
    assert_eq!(registered.map(|app| app.app_id), Some(31337));
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("31337"),
        "the status page names the app: {page}"
    );
    let (status, _) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=code-2&state={state}"),
        )
        .await;
    assert_eq!(status, 409, "a configured server registers no second app");
    let (status, page) = server.get(&format!("/?setup={SETUP_TOKEN}")).await;
    assert_eq!(status, 200, "the setup token is spent");
    assert!(!page.contains("name=\"manifest\"") && !page.contains("name=\"setup\""));
}

/// The real binary, started in a directory holding the credentials file a
/// registration wrote, with none of the GitHub App variables set.
#[tokio::test]
async fn the_next_start_of_serve_runs_as_the_registered_app() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-3", "kept-secret");
    let operator = server.operator().await;
    let state = server.state_for(&operator).await;
    let (status, _) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=code-3&state={state}"),
        )
        .await;
    assert_eq!(status, 200);

    let mut serve = Serve::start(server.app_file.parent().unwrap(), &[]);
    let configured = serve
        .logs()
        .into_iter()
        .find(|log| log["fields"]["message"] == "GitHub App configured");
    assert_eq!(configured.unwrap()["fields"]["app_id"], 31337);
    assert_eq!(serve.setup_token(), None, "an app is configured");
    let address = serve.address.clone();
    let body = fixture("pull_request", "opened.payload.json");
    let response = reqwest::Client::new()
        .post(format!("http://{address}/webhooks/github"))
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "d-next")
        .header("x-hub-signature-256", sign("kept-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

#[tokio::test]
async fn an_existing_credentials_file_is_never_overwritten_and_nothing_switches() {
    let server = RegisterServer::start().await;
    std::fs::write(&server.app_file, "an earlier app").unwrap();
    server.github_created_app("code-4", "new-secret");
    let operator = server.operator().await;
    let state = server.state_for(&operator).await;
    let (status, page) = server
        .get_as(
            &operator,
            &format!("/github/manifest/callback?code=code-4&state={state}"),
        )
        .await;
    assert_eq!(status, 500);
    assert!(
        !page.contains("new-secret") && !page.contains(".json:"),
        "{page}"
    );
    assert_eq!(
        std::fs::read_to_string(&server.app_file).unwrap(),
        "an earlier app"
    );
    assert!(server.registered.borrow().is_none());
    let (status, page) = server.get_as(&operator, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"manifest\""), "still unconfigured");
}

/// A form posted from the page.
async fn post_setup(server: &RegisterServer, token: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("setup={token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_anonymous_visitor_gets_neither_a_state_nor_the_manifest() {
    let server = RegisterServer::start().await;
    for path in ["/", "/?org=octo-org"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(set_cookie(&response), None);
        let page = response.text().await.unwrap();
        assert!(!page.contains("state="), "{page}");
        assert!(!page.contains("name=\"manifest\""), "{page}");
        assert!(!page.contains("/settings/apps/new"), "{page}");
        assert!(
            page.contains("name=\"setup\""),
            "asks for the token: {page}"
        );
    }
}

#[tokio::test]
async fn a_wrong_setup_token_or_a_made_up_cookie_opens_nothing() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-x", "attackers-secret");
    let near = &SETUP_TOKEN[..SETUP_TOKEN.len() - 1];
    for wrong in ["", "guess", near, &format!("{SETUP_TOKEN}0")] {
        let link = server.url(&format!("/?setup={wrong}"));
        let response = server.client.get(link).send().await.unwrap();
        assert_eq!(response.status(), 403, "{wrong:?}");
        assert_eq!(set_cookie(&response), None);
        assert!(!response.text().await.unwrap().contains("state="));
        let response = post_setup(&server, wrong).await;
        assert_eq!(response.status(), 403, "{wrong:?}");
        assert_eq!(set_cookie(&response), None);
    }
    let made_up = format!("{SETUP_COOKIE}=made-up");
    let (_, page) = server.get_as(&made_up, "/").await;
    assert!(!page.contains("state="), "{page}");
    let (status, _) = server
        .get_as(
            &made_up,
            "/github/manifest/callback?code=code-x&state=made-up",
        )
        .await;
    assert_eq!(status, 403);
    assert!(server.fake.requests().is_empty(), "no code is exchanged");
    assert!(!server.app_file.exists());
}

#[tokio::test]
async fn the_setup_token_entered_in_the_form_lets_that_browser_alone_register() {
    let server = RegisterServer::start().await;
    let response = post_setup(&server, SETUP_TOKEN).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let header = response.headers()["set-cookie"].to_str().unwrap();
    assert!(header.starts_with(&format!("{SETUP_COOKIE}=")), "{header}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Secure"] {
        assert!(header.contains(attribute), "{header} lacks {attribute}");
    }
    assert!(!header.contains("Domain"), "{header}");
    let operator = set_cookie(&response).unwrap();

    let (status, page) = server.get_as(&operator, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"manifest\""), "{page}");
    assert!(!page.contains(SETUP_TOKEN), "the token is never shown");
    let (_, page) = server.get("/").await;
    assert!(
        !page.contains("name=\"manifest\""),
        "another browser: {page}"
    );
}

#[tokio::test]
async fn a_state_is_refused_without_the_cookie_of_the_browser_it_was_made_for() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-5", "new-secret");
    let operator = server.operator().await;
    let other_browser = server.operator().await;
    let state = server.state_for(&operator).await;
    let callback = format!("/github/manifest/callback?code=code-5&state={state}");

    let (status, _) = server.get(&callback).await;
    assert_eq!(status, 403, "without a cookie");
    let (status, _) = server.get_as(&other_browser, &callback).await;
    assert_eq!(status, 403, "with another browser's cookie");
    assert!(server.fake.requests().is_empty(), "no code is exchanged");
    assert!(!server.app_file.exists());

    let (status, page) = server.get_as(&operator, &callback).await;
    assert_eq!(
        status, 200,
        "the state still serves its own browser: {page}"
    );
}

#[tokio::test]
async fn no_page_shows_where_the_credentials_are_kept() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-6", "new-secret");
    let dir = server.app_file.parent().unwrap().display().to_string();
    let (_, asking) = server.get("/").await;
    let operator = server.operator().await;
    let (_, offering) = server.get_as(&operator, "/").await;
    let state = state_of(&attribute(&offering, "<form method=\"post\"", "action"));
    let callback = format!("/github/manifest/callback?code=code-6&state={state}");
    let (status, registered) = server.get_as(&operator, &callback).await;
    assert_eq!(status, 200);
    let (_, running) = server.get("/").await;
    for page in [asking, offering, registered, running] {
        assert!(!page.contains(&dir), "{page}");
        assert!(!page.contains("warrant-github-app.json"), "{page}");
    }
}

#[tokio::test]
async fn a_server_that_offers_no_registration_shows_its_status_and_refuses_callbacks() {
    let server = RegisterServer::start_closed().await;
    server.github_created_app("code-7", "attackers-secret");
    let with_token = format!("/?setup={SETUP_TOKEN}");
    for path in ["/", "/?org=octo-org", with_token.as_str()] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(set_cookie(&response), None);
        let page = response.text().await.unwrap();
        assert!(page.contains("offers no registration"), "{page}");
        assert!(!page.contains("name=\"setup\"") && !page.contains("state="));
    }
    let response = post_setup(&server, SETUP_TOKEN).await;
    assert_eq!(response.status(), 200);
    assert_eq!(set_cookie(&response), None);
    let (status, _) = server
        .get_as(
            &format!("{SETUP_COOKIE}=made-up"),
            "/github/manifest/callback?code=code-7&state=made-up",
        )
        .await;
    assert_eq!(status, 403);
    assert!(server.fake.requests().is_empty(), "no code is exchanged");
    assert!(!server.app_file.exists());
}

/// `warrant serve` with no app, reached at [`PUBLIC_URL`], registering at
/// `fake`.
fn serve_registering_at(dir: &std::path::Path, fake: &FakeGithub) -> Serve {
    Serve::start(
        dir,
        &[
            ("WARRANT_PUBLIC_URL", PUBLIC_URL),
            ("WARRANT_GITHUB_API_URL", &fake.base_url()),
        ],
    )
}

/// Presents `token` to `serve` through its link: the operator's cookie.
async fn present(client: &reqwest::Client, serve: &Serve, token: &str) -> String {
    let link = serve.url(&format!("/?setup={token}"));
    let response = client.get(link).send().await.unwrap();
    assert_eq!(response.status(), 303, "the token is accepted");
    set_cookie(&response).unwrap()
}

/// A state of `serve`'s registration page, for the browser with `cookie`.
async fn state_from(client: &reqwest::Client, serve: &Serve, cookie: &str) -> String {
    let response = client.get(serve.url("/")).header("cookie", cookie);
    let page = response.send().await.unwrap().text().await.unwrap();
    state_of(&attribute(&page, "<form method=\"post\"", "action"))
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_setup_token_in_serves_log_opens_registration_and_is_shown_nowhere_else() {
    let fake = FakeGithub::start().await.unwrap();
    support::register::github_created_app(&fake, "code-8", "new-secret");
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve_registering_at(dir.path(), &fake);
    let token = serve.setup_token().expect("serve logs a setup token");
    assert_eq!(token.len(), 64, "32 random bytes: {token}");
    let client = browser();
    for path in ["/", "/metrics", "/healthz", "/readyz"] {
        let body = client.get(serve.url(path)).send().await.unwrap();
        let body = body.text().await.unwrap();
        assert!(!body.contains(&token), "{path} shows the token");
    }
    let anonymous = client.get(serve.url("/")).send().await.unwrap();
    let anonymous = anonymous.text().await.unwrap();
    assert!(!anonymous.contains("state="), "{anonymous}");

    let operator = present(&client, &serve, &token).await;
    let state = state_from(&client, &serve, &operator).await;
    let callback = format!("/github/manifest/callback?code=code-8&state={state}");
    let response = client.get(serve.url(&callback)).header("cookie", &operator);
    assert_eq!(response.send().await.unwrap().status(), 200);
    let registered = serve.wait_for(|log| {
        let message = log["fields"]["message"].as_str().unwrap_or_default();
        message.starts_with("GitHub App registered")
    });
    assert_eq!(registered["fields"]["app_id"], 31337);

    let spent = client.get(serve.url(&format!("/?setup={token}")));
    let spent = spent.send().await.unwrap();
    assert_eq!(spent.status(), 200);
    assert_eq!(set_cookie(&spent), None, "the token is spent");
}

#[tokio::test]
async fn a_failed_manifest_exchange_keeps_the_code_out_of_serves_log() {
    let fake = FakeGithub::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve_registering_at(dir.path(), &fake);
    let token = serve.setup_token().expect("serve logs a setup token");
    let client = browser();
    let operator = present(&client, &serve, &token).await;
    let state = state_from(&client, &serve, &operator).await;

    // GitHub does not know it (yet): it would be good for an hour.
    let code = "c0de-worth-an-app-7f3a9";
    let callback = format!("/github/manifest/callback?code={code}&state={state}");
    let response = client.get(serve.url(&callback)).header("cookie", &operator);
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(!response.text().await.unwrap().contains(code));
    let failed = serve
        .wait_for(|log| log["fields"]["message"] == "GitHub did not exchange the manifest code");
    assert!(
        failed["fields"]["error"].as_str().unwrap().contains("404"),
        "{failed}"
    );
    let log = serve.log();
    assert!(!log.contains(code), "{log}");
}

#[tokio::test]
async fn serve_offers_no_registration_when_turned_off_or_with_gitlab_alone() {
    let gitlab = [
        ("WARRANT_GITLAB_URL", "http://127.0.0.1:9"),
        ("WARRANT_GITLAB_TOKEN", "glpat-test"),
        ("WARRANT_GITLAB_WEBHOOK_SECRET", "s3cret"),
    ];
    let off = [("WARRANT_GITHUB_REGISTRATION", "false")];
    for settings in [&gitlab[..], &off[..]] {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("WARRANT_PUBLIC_URL", PUBLIC_URL)];
        env.extend_from_slice(settings);
        let mut serve = Serve::start(dir.path(), &env);
        assert_eq!(serve.setup_token(), None, "{settings:?}");
        let client = browser();
        let page = client.get(serve.url("/")).send().await.unwrap();
        let page = page.text().await.unwrap();
        assert!(page.contains("offers no registration"), "{page}");
        assert!(!page.contains("name=\"setup\""), "{page}");
        let callback = serve.url("/github/manifest/callback?code=c&state=s");
        let response = client.get(callback).send().await.unwrap();
        assert_eq!(response.status(), 403, "{settings:?}");
    }
}
