//! A Warrant server with no app configured, registering one at a fake
//! GitHub: the real router on 127.0.0.1, a fresh SQLite store, and the
//! credentials file in a temporary directory. Also `warrant serve` itself,
//! with its log read line by line.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use warrant::config::{GithubAppConfig, Secret, WebhookSecrets};
use warrant::forge::github::fake::FakeGithub;
use warrant::metrics::Metrics;
use warrant::server::register::Registration;
use warrant::server::{self, AppState};
use warrant::store::Store;

/// Where the test server says GitHub and browsers reach it.
pub const PUBLIC_URL: &str = "https://warrant.test.example";

/// The setup token of the test server, as `warrant serve` would log it.
pub const SETUP_TOKEN: &str = "0123456789abcdef-the-setup-token";

/// The operator's cookie under an https [`PUBLIC_URL`].
pub const SETUP_COOKIE: &str = "__Host-warrant_setup";

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

    /// A server without an app, reached at `public_url`, registering one
    /// for whoever presents [`SETUP_TOKEN`].
    pub async fn start_with(public_url: Option<&str>) -> RegisterServer {
        RegisterServer::start_as(public_url, Some(SETUP_TOKEN)).await
    }

    /// A server without an app that offers no registration, as when the
    /// operator turned it off or runs GitLab alone.
    pub async fn start_closed() -> RegisterServer {
        RegisterServer::start_as(Some(PUBLIC_URL), None).await
    }

    async fn start_as(public_url: Option<&str>, setup_token: Option<&str>) -> RegisterServer {
        let dir = tempfile::tempdir().unwrap();
        let database = format!("sqlite://{}", dir.path().join("warrant.db").display());
        let store = Store::connect(&database).await.expect("store connects");
        let fake = FakeGithub::start().await.unwrap();
        let app_file = dir.path().join("warrant-github-app.json");
        let mut registration = Registration::new(
            public_url.map(str::to_owned),
            fake.base_url(),
            app_file.clone(),
        );
        if let Some(token) = setup_token {
            registration = registration.with_setup_token(Secret::new(token));
        }
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
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
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

    /// Status and body of a GET from the browser holding `cookie`
    /// (`name=value`).
    pub async fn get_as(&self, cookie: &str, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A browser that presented the setup token through `?setup=`: its
    /// cookie, as `name=value`.
    pub async fn operator(&self) -> String {
        let response = self
            .client
            .get(self.url(&format!("/?setup={SETUP_TOKEN}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "the setup token is accepted");
        set_cookie(&response).expect("the operator gets a cookie")
    }

    /// A state made for the browser holding `cookie`.
    pub async fn state_for(&self, cookie: &str) -> String {
        let (status, page) = self.get_as(cookie, "/").await;
        assert_eq!(status, 200);
        state_of(&attribute(&page, "<form method=\"post\"", "action"))
    }

    /// Makes the fake GitHub answer `code` with a new app's credentials.
    pub fn github_created_app(&self, code: &str, webhook_secret: &str) {
        github_created_app(&self.fake, code, webhook_secret);
    }
}

impl Drop for RegisterServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Makes `fake` answer `code` with a new app's credentials (app 31337,
/// `warrant-octo`).
pub fn github_created_app(fake: &FakeGithub, code: &str, webhook_secret: &str) {
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
    fake.state().manifests.insert(code.to_owned(), app);
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

/// The `name=value` of a response's first `Set-Cookie`.
pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    let header = response.headers().get("set-cookie")?.to_str().unwrap();
    Some(header.split(';').next().unwrap().trim().to_owned())
}

/// `warrant serve`, the real binary, in a directory of its own, logging
/// JSON; killed when dropped.
pub struct Serve {
    /// `host:port` it listens on.
    pub address: String,
    child: std::process::Child,
    logged: std::sync::mpsc::Receiver<String>,
    /// Every line read so far.
    lines: Vec<String>,
}

/// How long `serve` may take to log what a test waits for.
const LOG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Serve {
    /// Starts it in `dir` with `env` and none of the caller's `WARRANT_*`
    /// variables, and waits until it listens.
    pub fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Serve {
        use std::io::{BufRead as _, BufReader};
        use std::process::{Command, Stdio};

        let mut command = Command::new(env!("CARGO_BIN_EXE_warrant"));
        command.arg("serve").current_dir(dir);
        for (variable, _) in std::env::vars().filter(|(v, _)| v.starts_with("WARRANT_")) {
            command.env_remove(variable);
        }
        command
            .env("WARRANT_LISTEN", "127.0.0.1:0")
            .env("WARRANT_LOG_FORMAT", "json")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        // Read to the end, off the runtime: a closed pipe would fail the
        // server's next log line.
        let (lines, logged) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let _ = lines.send(line.unwrap());
            }
        });
        let mut serve = Serve {
            address: String::new(),
            child,
            logged,
            lines: Vec::new(),
        };
        let listening = serve.wait_for(|log| log["fields"]["address"].is_string());
        serve.address = listening["fields"]["address"].as_str().unwrap().to_owned();
        serve
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The first line from now on that `matches`.
    pub fn wait_for(&mut self, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        loop {
            let line = self
                .logged
                .recv_timeout(LOG_TIMEOUT)
                .unwrap_or_else(|_| panic!("serve did not log it; so far: {:#?}", self.lines));
            let log: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}"));
            self.lines.push(line);
            if matches(&log) {
                return log;
            }
        }
    }

    /// Every line logged so far, as written.
    pub fn log(&mut self) -> String {
        while let Ok(line) = self.logged.try_recv() {
            self.lines.push(line);
        }
        self.lines.join("\n")
    }

    /// Every line logged so far, parsed.
    pub fn logs(&mut self) -> Vec<serde_json::Value> {
        self.log();
        let parse = |line: &String| serde_json::from_str(line).unwrap();
        self.lines.iter().map(parse).collect()
    }

    /// The setup token, if the start-up logged one.
    pub fn setup_token(&mut self) -> Option<String> {
        self.logs()
            .iter()
            .find_map(|log| Some(log["fields"]["setup_token"].as_str()?.to_owned()))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
