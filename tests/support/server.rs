//! A real Warrant server for tests: the real router on a real TCP port
//! (127.0.0.1, a free port), over a fresh store, with signed webhooks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use warrant::config::WebhookSecrets;
use warrant::metrics::Metrics;
use warrant::server::{self, AppState};
use warrant::store::{QueueStats, Store};

/// The webhook secret in use.
pub const SECRET: &str = "test-secret";
/// The secret being rotated out, still accepted.
pub const OLD_SECRET: &str = "old-secret";

/// A server running on its own task until dropped.
pub struct TestServer {
    pub address: SocketAddr,
    pub store: Store,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// Connects (and migrates) the store at `database_url` and serves on a
    /// free port, accepting [`SECRET`] and [`OLD_SECRET`].
    pub async fn start(database_url: &str) -> TestServer {
        let store = Store::connect(database_url).await.expect("store connects");
        TestServer::serve(test_state(&store)).await
    }

    /// Serves `state` (made with [`test_state`]) on a free port.
    pub async fn serve(state: AppState) -> TestServer {
        let store = state.store().clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            server::serve(listener, state, shutdown)
                .await
                .expect("server runs");
        });
        TestServer {
            address,
            store,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A webhook request with the delivery headers, not yet signed.
    pub fn unsigned(&self, event: &str, delivery: &str, body: &[u8]) -> reqwest::RequestBuilder {
        self.client
            .post(self.url("/webhooks/github"))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .body(body.to_vec())
    }

    /// A webhook request signed with [`SECRET`], as GitHub sends it.
    pub fn webhook(&self, event: &str, delivery: &str, body: &[u8]) -> reqwest::RequestBuilder {
        self.unsigned(event, delivery, body)
            .header("x-hub-signature-256", sign(SECRET, body))
    }

    /// Sends a signed webhook and returns the answer.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &[u8]) -> reqwest::Response {
        self.webhook(event, delivery, body)
            .send()
            .await
            .expect("the server answers")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("server answers")
    }

    pub async fn queue(&self) -> QueueStats {
        self.store
            .stats(chrono::Utc::now())
            .await
            .expect("queue stats")
    }

    /// Sends `head` (request line and headers, without the blank line) and
    /// then `body` over a raw connection, and returns the status line: for
    /// what an HTTP client would refuse to send, or would not stop sending.
    pub async fn raw(&self, head: &str, body: Vec<u8>) -> String {
        let stream = TcpStream::connect(self.address).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(format!("{head}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        // The server may answer before the body is sent, and hang up.
        tokio::spawn(async move {
            let _ = write.write_all(&body).await;
        });
        let mut response = Vec::new();
        let mut buf = [0; 4096];
        while !response.windows(2).any(|w| w == b"\r\n") {
            let n = read.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed without a response");
            response.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&response);
        text.lines().next().unwrap().to_owned()
    }
}

impl TestServer {
    /// Sends `head` (request line and headers, without the blank line) and
    /// the first `body` bytes over a raw connection, and sends no more until
    /// told: a sender that has not finished its body, for as long as the
    /// returned request lives.
    pub async fn open(&self, head: &str, body: &[u8]) -> OpenRequest {
        let stream = TcpStream::connect(self.address).await.unwrap();
        let (read, write) = stream.into_split();
        let mut open = OpenRequest {
            read,
            write,
            received: Vec::new(),
        };
        open.send(format!("{head}\r\n\r\n").as_bytes()).await;
        open.send(body).await;
        open
    }
}

/// A request sent in part over a raw connection ([`TestServer::open`]).
pub struct OpenRequest {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    received: Vec<u8>,
}

impl OpenRequest {
    /// How long [`OpenRequest::next_response`] waits: far longer than any
    /// answer takes, only so that a server waiting for the rest of a body
    /// fails the test instead of hanging it.
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

    /// Sends more of the body.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    /// The head (status line and headers) of the next response, interim
    /// ones such as `100 Continue` included, lowercased. Panics when none
    /// comes.
    pub async fn next_response(&mut self) -> String {
        tokio::time::timeout(Self::PATIENCE, self.read_head())
            .await
            .expect("the server answers without waiting for the rest of the body")
    }

    async fn read_head(&mut self) -> String {
        let mut buf = [0; 4096];
        loop {
            if let Some(end) = self.received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.received.drain(..end + 4).collect();
                return String::from_utf8_lossy(&head).to_lowercase();
            }
            let n = self.read.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed without a response");
            self.received.extend_from_slice(&buf[..n]);
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The state of a test server over `store`, accepting [`SECRET`] and
/// [`OLD_SECRET`].
pub fn test_state(store: &Store) -> AppState {
    let secrets = WebhookSecrets::parse_list(&format!("{OLD_SECRET},{SECRET}"));
    AppState::new(store.clone(), secrets, Metrics::new())
}

/// `sha256=<hex>`, GitHub's `X-Hub-Signature-256` of `body` under `secret`.
pub use warrant::server::sign;

/// An octokit example payload from `shared/fixtures/octokit-webhooks`, in
/// the nearest folder above the checkout that has one.
pub fn fixture(event: &str, file: &str) -> Vec<u8> {
    const FIXTURES: &str = "shared/fixtures/octokit-webhooks";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir: PathBuf = checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()));
    let path = dir.join(event).join(file);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
