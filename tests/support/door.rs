//! The webhook doors, `POST /webhooks/github` and `POST /webhooks/gitlab`,
//! in one vocabulary over [`Forge`], so that what both doors do (verify the
//! sender, store a delivery once, acknowledge, refuse) is written once and
//! run against each: send a delivery with a [`Credential`], a delivery id
//! or none and a given body, read the [`Answer`], and read what the queue
//! holds.
//!
//! A [`Door`] is the real router on a real port over a fresh store, with
//! no worker: what a delivery leaves behind stays in the queue. Its server
//! accepts GitHub's [`SECRET`] and [`OLD_SECRET`] and GitLab's [`TOKEN`]
//! and [`OLD_TOKEN`]. What only one door does (GitLab's event UUID,
//! GitHub's replayed bodies, body limits) stays in that forge's tests.

use std::path::Path;

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use warrant::config::WebhookSecrets;
use warrant::metrics::Metrics;
use warrant::server::AppState;
use warrant::store::{ClaimedDelivery, Store};

use super::forge::Forge;
use super::server::{OLD_SECRET, SECRET, TestServer, fixture, sign, test_state};

/// GitLab's webhook token in use.
pub const TOKEN: &str = "gitlab-secret";
/// The GitLab token being rotated out, still accepted.
pub const OLD_TOKEN: &str = "gitlab-old-secret";

/// A well-formed signature that is no body's under the test secret: it
/// passes the checks made before the body is read.
pub const WRONG: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// What a delivery shows to prove its sender: on GitHub an HMAC of the
/// body (`X-Hub-Signature-256`), on GitLab a shared token
/// (`X-Gitlab-Token`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The secret in use: the body signed with it, or the token.
    Current,
    /// The secret being rotated out, still accepted.
    RotatedOut,
    /// No signature or token at all.
    Missing,
    /// This header value, sent as it is.
    Raw(String),
}

impl Credential {
    pub fn raw(value: &str) -> Credential {
        Credential::Raw(value.to_owned())
    }
}

/// What a door answered: its status and JSON body (`Null` if the body is
/// not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The answer's `status` field: `queued`, `duplicate` or `ignored`.
    pub fn said(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }

    /// Why the delivery was refused: the answer's `error` field.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// The webhook door of one forge on a running server.
pub struct Door {
    pub forge: Forge,
    pub server: TestServer,
}

impl Door {
    /// `forge`'s door on a server over the database at `database_url`,
    /// with both forges' secrets ([`Door::state`]).
    pub async fn start(forge: Forge, database_url: &str) -> Door {
        let store = Store::connect(database_url).await.expect("store connects");
        Door::serve(forge, Door::state(&store)).await
    }

    /// `forge`'s door on a server of `state`.
    pub async fn serve(forge: Forge, state: AppState) -> Door {
        Door {
            forge,
            server: TestServer::serve(state).await,
        }
    }

    /// The state of a server over `store` accepting both forges' secrets,
    /// the current one and the one being rotated out.
    pub fn state(store: &Store) -> AppState {
        let tokens = WebhookSecrets::parse_list(&format!("{OLD_TOKEN},{TOKEN}"));
        test_state(store).with_gitlab_secrets(tokens)
    }

    /// The state of a server over `store` with no secret for `forge`'s
    /// door, only the other forge's: one forge set up, not this one.
    pub fn state_without_secret(forge: Forge, store: &Store) -> AppState {
        match forge {
            Forge::Github => {
                let tokens = WebhookSecrets::parse_list(&format!("{OLD_TOKEN},{TOKEN}"));
                AppState::new(store.clone(), WebhookSecrets::default(), Metrics::new())
                    .with_gitlab_secrets(tokens)
            }
            Forge::Gitlab => test_state(store),
        }
    }

    pub fn path(&self) -> &'static str {
        match self.forge {
            Forge::Github => "/webhooks/github",
            Forge::Gitlab => "/webhooks/gitlab",
        }
    }

    /// The header naming the event.
    pub fn event_header(&self) -> &'static str {
        match self.forge {
            Forge::Github => "X-GitHub-Event",
            Forge::Gitlab => "X-Gitlab-Event",
        }
    }

    /// The header naming the delivery, the same when the forge sends it
    /// again (GitLab's fallback, `X-Gitlab-Event-UUID`, is never sent
    /// here).
    pub fn delivery_header(&self) -> &'static str {
        match self.forge {
            Forge::Github => "X-GitHub-Delivery",
            Forge::Gitlab => "Idempotency-Key",
        }
    }

    /// The header carrying the [`Credential`].
    pub fn credential_header(&self) -> &'static str {
        match self.forge {
            Forge::Github => "X-Hub-Signature-256",
            Forge::Gitlab => "X-Gitlab-Token",
        }
    }

    /// An event Warrant acts on: a change being opened.
    pub fn known_event(&self) -> &'static str {
        match self.forge {
            Forge::Github => "pull_request",
            Forge::Gitlab => "Merge Request Hook",
        }
    }

    /// An event Warrant does not know.
    pub fn unknown_event(&self) -> &'static str {
        match self.forge {
            Forge::Github => "deployment_review",
            Forge::Gitlab => "Emoji Hook",
        }
    }

    /// The forge's example of a change being opened, sent as
    /// [`Door::known_event`]: octokit's `pull_request` `opened`, GitLab's
    /// documented `Merge Request Hook`.
    pub fn opened(&self) -> Vec<u8> {
        match self.forge {
            Forge::Github => fixture("pull_request", "opened.payload.json"),
            Forge::Gitlab => gitlab_fixture("merge_request.json"),
        }
    }

    /// Genuine deliveries Warrant does not act on, by event: unknown
    /// events, pings, and actions it ignores.
    pub fn ignored(&self) -> Vec<(&'static str, Vec<u8>)> {
        match self.forge {
            Forge::Github => vec![
                (
                    "issue_comment",
                    fixture("issue_comment", "created.payload.json"),
                ),
                ("ping", fixture("ping", "payload.json")),
                (
                    "pull_request",
                    fixture("pull_request", "labeled.payload.json"),
                ),
                // A tag: no commits on the default branch.
                ("push", fixture("push", "with-installation.payload.json")),
            ],
            Forge::Gitlab => vec![("Pipeline Hook", b"{}".to_vec())],
        }
    }

    /// Credentials that are not the sender's, each with what it is, for a
    /// delivery of `body`: all refused (`401`).
    pub fn wrong_credentials(&self, body: &[u8]) -> Vec<(&'static str, Credential)> {
        match self.forge {
            Forge::Github => vec![
                ("missing", Credential::Missing),
                (
                    "wrong secret",
                    Credential::Raw(sign("not-the-secret", body)),
                ),
                ("another body", Credential::Raw(sign(SECRET, b"{}"))),
                ("not hex", Credential::raw("sha256=nothex")),
            ],
            Forge::Gitlab => vec![
                ("wrong", Credential::raw("wrong")),
                ("empty", Credential::raw("")),
                (
                    "the token and a comma",
                    Credential::raw(&format!("{TOKEN},")),
                ),
                ("missing", Credential::Missing),
            ],
        }
    }

    /// Credentials that cannot be genuine whatever the body: refused
    /// before any of it is read.
    pub fn hopeless_credentials(&self) -> Vec<Credential> {
        match self.forge {
            Forge::Github => vec![
                Credential::Missing,
                Credential::raw("sha256=00"),
                Credential::Raw(format!("sha256={}", "z".repeat(64))),
                Credential::Raw(format!("{WRONG}0")),
                Credential::raw("sha1=0000000000000000000000000000000000000000"),
            ],
            Forge::Gitlab => vec![
                Credential::raw("wrong"),
                Credential::raw(""),
                Credential::Missing,
            ],
        }
    }

    /// A credential that could be genuine before the body is read, so that
    /// the server reads it: on GitHub a well-formed signature ([`WRONG`]),
    /// on GitLab the token.
    pub fn plausible(&self) -> Credential {
        match self.forge {
            Forge::Github => Credential::raw(WRONG),
            Forge::Gitlab => Credential::Current,
        }
    }

    /// The header value `credential` comes to for `body`, if any.
    pub fn credential(&self, credential: &Credential, body: &[u8]) -> Option<String> {
        match (self.forge, credential) {
            (_, Credential::Missing) => None,
            (_, Credential::Raw(value)) => Some(value.clone()),
            (Forge::Github, Credential::Current) => Some(sign(SECRET, body)),
            (Forge::Github, Credential::RotatedOut) => Some(sign(OLD_SECRET, body)),
            (Forge::Gitlab, Credential::Current) => Some(TOKEN.to_owned()),
            (Forge::Gitlab, Credential::RotatedOut) => Some(OLD_TOKEN.to_owned()),
        }
    }

    /// A delivery of `event` with `body`, as the forge sends it: with the
    /// delivery id `delivery` (or none) and `credential`.
    pub fn request(
        &self,
        event: &str,
        delivery: Option<&str>,
        body: &[u8],
        credential: &Credential,
    ) -> RequestBuilder {
        let server = &self.server;
        let mut request = server
            .client
            .post(server.url(self.path()))
            .header("content-type", "application/json")
            .header(self.event_header(), event)
            .body(body.to_vec());
        if let Some(delivery) = delivery {
            request = request.header(self.delivery_header(), delivery);
        }
        if let Some(value) = self.credential(credential, body) {
            request = request.header(self.credential_header(), value);
        }
        request
    }

    /// Sends a delivery (see [`Door::request`]) and reads the answer.
    pub async fn send(
        &self,
        event: &str,
        delivery: Option<&str>,
        body: &[u8],
        credential: &Credential,
    ) -> Answer {
        let request = self.request(event, delivery, body, credential);
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let body = response.bytes().await.expect("a body");
        Answer {
            status,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        }
    }

    /// Sends `body` as `event` with the current credential, as delivery
    /// `delivery`.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &[u8]) -> Answer {
        self.send(event, Some(delivery), body, &Credential::Current)
            .await
    }

    /// Sends [`Door::opened`] as delivery `delivery`, genuine.
    pub async fn deliver_opened(&self, delivery: &str) -> Answer {
        self.deliver(self.known_event(), delivery, &self.opened())
            .await
    }

    /// The head (request line and headers, without the blank line) of a
    /// delivery of [`Door::known_event`] showing `credential` (computed
    /// over no body), framed by `framing` (`content-length: ...`,
    /// `transfer-encoding: chunked`, ...): for [`TestServer::open`].
    pub fn head(&self, credential: &Credential, framing: &[&str]) -> String {
        let mut head = format!(
            "POST {} HTTP/1.1\r\nhost: x\r\n{}: {}\r\n{}: d-open",
            self.path(),
            self.event_header(),
            self.known_event(),
            self.delivery_header(),
        );
        for line in framing {
            head.push_str("\r\n");
            head.push_str(line);
        }
        if let Some(value) = self.credential(credential, b"") {
            head.push_str(&format!("\r\n{}: {value}", self.credential_header()));
        }
        head
    }

    /// The head of a delivery announcing `length` bytes and asking to be
    /// told (`100 Continue`) when the server starts reading them.
    pub fn announcing(&self, credential: &Credential, length: usize) -> String {
        let length = format!("content-length: {length}");
        self.head(credential, &[&length, "expect: 100-continue"])
    }

    /// How many deliveries wait in the queue.
    pub async fn queued(&self) -> u64 {
        self.server.queue().await.queued
    }

    /// The delivery a worker speaking `forges` claims, if any.
    pub async fn claim(&self, forges: &[Forge]) -> Option<ClaimedDelivery> {
        let forges: Vec<_> = forges.iter().map(|f| f.engine()).collect();
        let lease = std::time::Duration::from_secs(60);
        self.server
            .store
            .claim("w", &forges, lease, chrono::Utc::now())
            .await
            .expect("the queue answers")
    }

    /// The line of `/metrics` counting `n` deliveries of `event` with
    /// `outcome` (`accepted`, `duplicate`, `rejected`) at this door.
    pub fn counted(&self, event: &str, outcome: &str, n: u64) -> String {
        format!(
            "warrant_webhook_deliveries_total{{forge=\"{}\",event=\"{event}\",outcome=\"{outcome}\"}} {n}",
            self.forge.name()
        )
    }

    pub async fn metrics(&self) -> String {
        self.server.get("/metrics").await.text().await.unwrap()
    }
}

/// A GitLab documented example from `shared/fixtures/gitlab-webhooks`, in
/// the nearest folder above the checkout that has one.
pub fn gitlab_fixture(file: &str) -> Vec<u8> {
    const FIXTURES: &str = "shared/fixtures/gitlab-webhooks";
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = checkout
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(FIXTURES))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no {FIXTURES} above {}", checkout.display()));
    let path = dir.join(file);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}
