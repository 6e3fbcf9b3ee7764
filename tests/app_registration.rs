//! Registering the GitHub App through the manifest flow, against the real
//! router and the fake GitHub: the page, the shipped manifest, the
//! callback's CSRF check, the credentials file, and the live switch to the
//! new app's webhook secret.

mod support_register;
mod support_server;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use support_register::{PUBLIC_URL, RegisterServer, attribute, state_of};
use support_server::{fixture, sign};
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
const EVENTS: [&str; 5] = [
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
    "push",
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
async fn the_root_page_offers_the_manifest_under_the_public_url() {
    let server = RegisterServer::start().await;
    let (status, page) = server.get("/").await;
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
    let response = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.headers()["cache-control"], "private, no-store");
}

#[tokio::test]
async fn an_organisation_gets_a_form_posting_to_its_settings() {
    let server = RegisterServer::start().await;
    let (status, page) = server.get("/?org=octo-org").await;
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
    let (status, page) = server.get("/?org=%3Cscript%3Ealert(1)%3C/script%3E").await;
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
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("WARRANT_PUBLIC_URL"));
    assert!(!page.contains("name=\"manifest\""));
}

#[tokio::test]
async fn a_callback_with_a_missing_wrong_or_reused_state_is_refused_and_writes_nothing() {
    let server = RegisterServer::start().await;
    server.github_created_app("code-1", "new-secret");
    let (status, _) = server.get("/github/manifest/callback?code=code-1").await;
    assert_eq!(status, 400);
    let (status, _) = server
        .get("/github/manifest/callback?code=code-1&state=forged")
        .await;
    assert_eq!(status, 403);
    assert!(!server.app_file.exists());
    assert!(
        server.fake.requests().is_empty(),
        "no code is exchanged without a good state"
    );

    // A good state is used once; GitHub's code fails the first time, so the
    // app is still unconfigured when the state comes back.
    let (_, page) = server.get("/").await;
    let state = state_of(&attribute(&page, "<form method=\"post\"", "action"));
    let (status, _) = server
        .get(&format!(
            "/github/manifest/callback?code=unknown&state={state}"
        ))
        .await;
    assert_eq!(status, 502);
    let (status, _) = server
        .get(&format!(
            "/github/manifest/callback?code=code-1&state={state}"
        ))
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

    let (_, page) = server.get("/").await;
    let state = state_of(&attribute(&page, "<form method=\"post\"", "action"));
    let (status, page) = server
        .get(&format!(
            "/github/manifest/callback?code=code-2&state={state}"
        ))
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
        .get(&format!(
            "/github/manifest/callback?code=code-2&state={state}"
        ))
        .await;
    assert_eq!(status, 409, "a configured server registers no second app");
}

/// The real binary, started in a directory holding the credentials file a
/// registration wrote, with none of the GitHub App variables set.
#[tokio::test]
async fn the_next_start_of_serve_runs_as_the_registered_app() {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let server = RegisterServer::start().await;
    server.github_created_app("code-3", "kept-secret");
    let (_, page) = server.get("/").await;
    let state = state_of(&attribute(&page, "<form method=\"post\"", "action"));
    let (status, _) = server
        .get(&format!(
            "/github/manifest/callback?code=code-3&state={state}"
        ))
        .await;
    assert_eq!(status, 200);

    let mut command = Command::new(env!("CARGO_BIN_EXE_warrant"));
    command
        .arg("serve")
        .current_dir(server.app_file.parent().unwrap());
    for (variable, _) in std::env::vars().filter(|(v, _)| v.starts_with("WARRANT_")) {
        command.env_remove(variable);
    }
    let child = command
        .env("WARRANT_LISTEN", "127.0.0.1:0")
        .env("WARRANT_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    // Read to the end, off the runtime: a closed pipe would fail the
    // server's next log line.
    let (lines, logged) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    let mut configured = None;
    let address = loop {
        let line = logged
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("serve starts");
        let log: Value = serde_json::from_str(&line).unwrap();
        if log["fields"]["message"] == "GitHub App configured" {
            configured = Some(log["fields"]["app_id"].clone());
        }
        if let Some(address) = log["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    assert_eq!(configured, Some(Value::from(31337)));
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

/// The server process, killed when the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_existing_credentials_file_is_never_overwritten_and_nothing_switches() {
    let server = RegisterServer::start().await;
    std::fs::write(&server.app_file, "an earlier app").unwrap();
    server.github_created_app("code-4", "new-secret");
    let (_, page) = server.get("/").await;
    let state = state_of(&attribute(&page, "<form method=\"post\"", "action"));
    let (status, page) = server
        .get(&format!(
            "/github/manifest/callback?code=code-4&state={state}"
        ))
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
    let (status, page) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"manifest\""), "still unconfigured");
}
