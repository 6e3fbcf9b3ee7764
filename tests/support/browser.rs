//! A real headless Chromium for tests, driven over the WebDriver protocol:
//! chromedriver is started on a free port for each test and stopped with
//! it, and its session opens Chromium with page JavaScript switched off,
//! so that what the tests do (follow links, fill in and submit forms) is
//! what a person can do on the pages as served.
//!
//! The binaries are named by `WARRANT_TEST_CHROMIUM` and
//! `WARRANT_TEST_CHROMEDRIVER` (`.ci/run` installs Debian's `chromium` and
//! `chromium-driver` and sets both), else looked for where Debian puts them.
//! Without them the tests fail when `CI` is set and say loudly that they
//! were skipped otherwise.

use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Once, mpsc};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

pub const CHROMIUM_ENV: &str = "WARRANT_TEST_CHROMIUM";
pub const CHROMEDRIVER_ENV: &str = "WARRANT_TEST_CHROMEDRIVER";

/// Where Debian's packages put them.
const CHROMIUM_DEFAULT: &str = "/usr/bin/chromium";
const CHROMEDRIVER_DEFAULT: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to listen: it does in well under a
/// second, so only a broken install waits this long.
const DRIVER_START: Duration = Duration::from_secs(15);

/// Runs `test` with a WebDriver session on a fresh headless Chromium, then
/// ends the session and chromedriver, whether `test` passed or panicked.
/// Returns without running `test` when the browser is missing outside CI.
pub async fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((chromium, chromedriver)) = binaries() else {
        return;
    };
    let driver = Driver::start(&chromedriver);
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities(&chromium))
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("chromedriver cannot start {}: {e}", chromium.display()));
    scripts_do_not_run(&client).await;
    // On its own task, so that a panic still lets the session end.
    let outcome = tokio::spawn(test(client.clone())).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("the browser test was cancelled: {err}"),
        }
    }
}

/// A page whose script would retitle it keeps its title: what the tests
/// do works without JavaScript.
async fn scripts_do_not_run(client: &Client) {
    let page = "data:text/html,<title>static</title><script>document.title='scripted'</script>";
    client.goto(page).await.expect("a page opens");
    let title = client.title().await.expect("a title");
    assert_eq!(title, "static", "the browser runs page JavaScript");
}

/// Headless, without the sandbox and the GPU (a container has neither),
/// with `/tmp` for shared memory (a container's `/dev/shm` is small), and
/// without page JavaScript: the pages must work without it.
fn capabilities(chromium: &std::path::Path) -> Capabilities {
    let options = json!({
        "binary": chromium,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ],
        "prefs": { "profile.managed_default_content_settings.javascript": 2 },
    });
    let mut capabilities = Capabilities::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    capabilities
}

/// chromedriver, listening on a free loopback port until dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &std::path::Path) -> Driver {
        let port = free_port();
        let mut child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        // It says when it listens; the rest of its output is read and
        // dropped so that it never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (listening, started) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = listening.send(());
                }
            }
        });
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        if started.recv_timeout(DRIVER_START).is_err() {
            panic!(
                "{} did not say it listens on port {port} within {DRIVER_START:?}",
                path.display()
            );
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now; chromedriver takes it a moment later.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// Chromium and chromedriver, or `None` (after a loud warning) when either
/// is missing outside CI. A variable that names a missing file fails: it
/// was asked for.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = binary(CHROMIUM_ENV, CHROMIUM_DEFAULT);
    let chromedriver = binary(CHROMEDRIVER_ENV, CHROMEDRIVER_DEFAULT);
    match (chromium, chromedriver) {
        (Ok(chromium), Ok(chromedriver)) => Some((chromium, chromedriver)),
        (chromium, chromedriver) => {
            let missing: Vec<String> = [chromium.err(), chromedriver.err()]
                .into_iter()
                .flatten()
                .collect();
            let missing = missing.join("; ");
            if std::env::var_os("CI").is_some() {
                panic!(
                    "the browser tests need Chromium and chromedriver, and CI is set: {missing}. \
                     `.ci/run` installs them (apt-get install chromium chromium-driver)"
                );
            }
            // Past the harness's capture, once per test binary.
            static ONCE: Once = Once::new();
            ONCE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!! Browser tests SKIPPED: {missing}. Install Debian's chromium and \
                     chromium-driver, or set {CHROMIUM_ENV} and {CHROMEDRIVER_ENV} !!!\n"
                );
            });
            None
        }
    }
}

fn binary(var: &str, default: &str) -> Result<PathBuf, String> {
    match std::env::var_os(var) {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{var} names {}, which does not exist",
                path.display()
            );
            Ok(path)
        }
        None if std::path::Path::new(default).is_file() => Ok(PathBuf::from(default)),
        None => Err(format!("no {default} and {var} is not set")),
    }
}
