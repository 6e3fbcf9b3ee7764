//! A Warrant server with no app configured, registering one at a fake
//! GitHub: the real router on 127.0.0.1, a fresh SQLite store, and the
//! credentials file in a temporary directory.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use warrant::config::{GithubAppConfig, WebhookSecrets};
use warrant::forge::github::fake::FakeGithub;
use warrant::metrics::Metrics;
use warrant::server::register::Registration;
use warrant::server::{self, AppState};
use warrant::store::Store;

/// Where the test server says GitHub and browsers reach it.
pub const PUBLIC_URL: &str = "https://warrant.test.example";

pub struct RegisterServer {
    pub address: SocketAddr,
    pub fake: FakeGithub,
    pub app_file: PathBuf,
    /// The app registered while running, as workers would see it.
    pub registered: tokio::sync::watch::Receiver<Option<GithubAppConfig>>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl RegisterServer {
    pub async fn start() -> RegisterServer {
        RegisterServer::start_with(Some(PUBLIC_URL)).await
    }

    /// A server without an app, reached at `public_url`.
    pub async fn start_with(public_url: Option<&str>) -> RegisterServer {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("warrant.db").display());
        let store = Store::connect(&database).await.expect("store connects");
        let fake = FakeGithub::start().await.unwrap();
        let app_file = dir.path().join("warrant-github-app.json");
        let registration = Registration::new(
            public_url.map(str::to_owned),
            fake.base_url(),
            app_file.clone(),
        );
        let registered = registration.subscribe();
        let state = AppState::new(store, WebhookSecrets::default(), Metrics::new())
            .with_registration(registration);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server::serve(listener, state, shutdown).await.unwrap();
        });
        RegisterServer {
            address,
            fake,
            app_file,
            registered,
            client: reqwest::Client::new(),
            _dir: dir,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Status and body of a GET.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Makes the fake GitHub answer `code` with a new app's credentials.
    pub fn github_created_app(&self, code: &str, webhook_secret: &str) {
        let pem = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/github-app/app-key.pem"),
        )
        .unwrap();
        let app = serde_json::json!({
            "id": 31337,
            "slug": "warrant-octo",
            "pem": pem,
            "webhook_secret": webhook_secret,
            "client_id": "Iv1.abc",
            "client_secret": "client-secret",
            "html_url": "https://github.com/apps/warrant-octo",
        });
        self.fake.state().manifests.insert(code.to_owned(), app);
    }
}

impl Drop for RegisterServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Undoes HTML escaping (named and numeric entities), for reading values
/// back out of a page.
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').expect("an entity ends with ;");
        let entity = &tail[1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = entity.strip_prefix('#').expect("a numeric entity");
                let n = match n.strip_prefix('x') {
                    Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                    None => n.parse().unwrap(),
                };
                char::from_u32(n).unwrap()
            }
        };
        out.push(c);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The unescaped value of the first `attribute="..."` after `after`.
pub fn attribute(page: &str, after: &str, attribute: &str) -> String {
    let start = page
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {page}"));
    let page = &page[start..];
    let key = format!("{attribute}=\"");
    let at = page.find(&key).unwrap() + key.len();
    let end = page[at..].find('"').unwrap();
    unescape(&page[at..at + end])
}

/// The `state` in a form's action URL.
pub fn state_of(action: &str) -> String {
    action.split("state=").nth(1).expect("a state").to_owned()
}
