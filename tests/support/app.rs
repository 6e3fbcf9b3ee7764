//! The whole GitHub App under test, in the bors style: a fake GitHub, the
//! real router on a real port over a fresh store, and the real worker
//! pointed at the fake. Tests send signed webhooks built from real payloads
//! and wait for the worker on its own signal, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};
use warrant::engine::{Account, AccountKind, Change, Review, ReviewState};
use warrant::forge::github::client::GithubClient;
use warrant::forge::github::fake::{CheckRun, FakeGithub, PullRequest, events};
use warrant::forge::github::retry::RetryPolicy;
use warrant::ids::{CommitSha, Login};
use warrant::store::{Store, StoredEvaluation};
use warrant::worker::{Forges, Worker, WorkerConfig};

use super::github::{APP_ID, INSTALLATION, REPO, Waits, key, pull, user};
use super::server::{TestServer, test_state};

pub const PUBLIC_URL: &str = "https://warrant.example.com";

/// Copilot is registered to work in `src/`; payments code needs an SRE.
pub const POLICY: &str = r#"version: 1
mode: enforce
agents:
  copilot:
    role: feature-dev
    owner: alice
    match:
      builtin: copilot
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
    out_of_scope: block
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo-org/sre"]
    min_approvals: 1
approvals:
  agent_reviews: dismiss
"#;

/// How long a test waits for the worker before failing: generous on a
/// loaded machine, yet a hang fails the test rather than the suite.
const WAIT: Duration = Duration::from_secs(20);

pub struct App {
    pub fake: FakeGithub,
    pub server: TestServer,
    pub store: Store,
    /// The waits the client asked for (rate limits, backoff), not slept.
    pub waits: Waits,
    work: Arc<Notify>,
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
    started: bool,
}

impl App {
    /// Everything running, the worker included.
    pub async fn start(database_url: &str) -> App {
        let mut app = App::without_worker(database_url).await;
        app.start_worker();
        app
    }

    /// The server and the fake only: deliveries stay queued until
    /// [`App::start_worker`].
    pub async fn without_worker(database_url: &str) -> App {
        App::with_config(database_url, config()).await
    }

    /// Everything running, with the worker configured by `tweak`.
    pub async fn start_with(database_url: &str, tweak: impl FnOnce(&mut WorkerConfig)) -> App {
        let mut config = config();
        tweak(&mut config);
        let mut app = App::with_config(database_url, config).await;
        app.start_worker();
        app
    }

    async fn with_config(database_url: &str, config: WorkerConfig) -> App {
        let fake = FakeGithub::start().await.unwrap();
        fake.install_app(APP_ID, &key("app-key.pub.pem"), INSTALLATION.0);
        let store = Store::connect(database_url).await.expect("store connects");
        let state = test_state(&store);
        let work = state.work_signal();
        let waits = Waits::default();
        let worker = Worker::new(
            store.clone(),
            Forges::github(Arc::new(client(&fake, &waits))),
            state.metrics(),
            config,
        );
        let server = TestServer::serve(state).await;
        App {
            fake,
            server,
            store,
            waits,
            work,
            worker,
            stop: watch::channel(false).0,
            started: false,
        }
    }

    pub fn start_worker(&mut self) {
        assert!(!self.started, "the worker runs already");
        self.started = true;
        self.worker.spawn(self.work.clone(), self.stop.subscribe());
    }

    /// Waits until the worker has ended `n` deliveries in all.
    pub async fn wait_for_deliveries(&self, n: u64) {
        let mut ended = self.worker.ended();
        tokio::time::timeout(WAIT, ended.wait_for(|count| *count >= n))
            .await
            .unwrap_or_else(|_| panic!("the worker did not end {n} deliveries in {WAIT:?}"))
            .expect("the worker runs");
    }

    /// A second replica's worker sharing the queue: its own connection to
    /// the same database, its own name, the same fake GitHub.
    pub async fn start_replica(&self, database_url: &str) -> Replica {
        self.start_replica_woken(database_url, true).await
    }

    /// A replica that only this app's deliveries never wake: it finds work
    /// by polling the queue, as a replica behind another load balancer
    /// target does.
    pub async fn start_polling_replica(&self, database_url: &str) -> Replica {
        self.start_replica_woken(database_url, false).await
    }

    async fn start_replica_woken(&self, database_url: &str, woken: bool) -> Replica {
        let store = Store::connect(database_url).await.expect("store connects");
        let state = test_state(&store);
        let config = WorkerConfig {
            name: "replica".to_owned(),
            ..config()
        };
        let worker = Worker::new(
            store.clone(),
            Forges::github(Arc::new(client(&self.fake, &self.waits))),
            state.metrics(),
            config,
        );
        let stop = watch::channel(false).0;
        // Woken by the same deliveries as this app's worker, to contend;
        // or by nothing at all.
        let work = if woken {
            self.work.clone()
        } else {
            Arc::new(tokio::sync::Notify::new())
        };
        worker.spawn(work, stop.subscribe());
        Replica {
            store,
            worker,
            stop,
        }
    }

    /// Waits until this app's worker and `replica`'s have ended `n`
    /// deliveries between them.
    pub async fn wait_for_deliveries_with(&self, replica: &Replica, n: u64) {
        let (mut a, mut b) = (self.worker.ended(), replica.worker.ended());
        let both = async {
            loop {
                if *a.borrow_and_update() + *b.borrow_and_update() >= n {
                    return;
                }
                tokio::select! {
                    changed = a.changed() => changed.expect("the worker runs"),
                    changed = b.changed() => changed.expect("the replica runs"),
                }
            }
        };
        tokio::time::timeout(WAIT, both)
            .await
            .unwrap_or_else(|_| panic!("the workers did not end {n} deliveries in {WAIT:?}"));
    }

    /// Sends a signed webhook and checks it was queued.
    pub async fn deliver(&self, event: &str, delivery: &str, body: &Value) -> reqwest::StatusCode {
        let bytes = serde_json::to_vec(body).unwrap();
        let resp = self
            .server
            .webhook(event, delivery, &bytes)
            .send()
            .await
            .unwrap();
        resp.status()
    }

    /// Sends a delivery and waits for the worker to end it, as the
    /// `n`-th in all.
    pub async fn deliver_and_wait(&self, event: &str, delivery: &str, body: &Value, n: u64) {
        let status = self.deliver(event, delivery, body).await;
        assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{event} {delivery}");
        self.wait_for_deliveries(n).await;
    }

    pub fn add_pull(&self, change: Change) {
        self.fake.add_pull_request(pull(change));
    }

    /// A pull request by Copilot touching `paths`, with no reviews, under
    /// [`POLICY`] at the base commit.
    pub fn add_copilot_pull(&self, number: u64, paths: &[&str]) {
        let mut c = super::github::change(number, 0, 2);
        c.files = paths
            .iter()
            .map(|p| warrant::engine::ChangedFile {
                path: warrant::ids::RepoPath::parse(p).unwrap(),
                previous_path: None,
            })
            .collect();
        c.reviews.clear();
        self.add_pull(c);
        self.put_policy(super::github::base().as_str(), POLICY);
    }

    /// Pull request `number` now has the head `sha` on the fake GitHub,
    /// as after a push its webhook has not told yet.
    pub fn push_to(&self, number: u64, sha: &CommitSha) {
        let mut state = self.fake.state();
        let pull = state.pulls.get_mut(&(REPO.to_owned(), number)).unwrap();
        pull.change.head_sha = sha.clone();
    }

    pub fn put_policy(&self, base: &str, text: &str) {
        self.fake.put_file(REPO, base, ".github/warrant.yml", text);
    }

    /// The check runs named `warrant` the fake holds.
    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.fake.check_runs()
    }

    /// The only check run, completed.
    pub fn the_check_run(&self) -> CheckRun {
        let runs = self.check_runs();
        assert_eq!(runs.len(), 1, "{runs:#?}");
        let run = runs.into_iter().next().unwrap();
        assert_eq!(run.status, "completed", "{run:#?}");
        run
    }

    pub async fn evaluations(&self, number: u64) -> Vec<StoredEvaluation> {
        let change = crate::support::keys::key("github", REPO, number);
        self.store.evaluations(&change).await.unwrap()
    }

    /// The decision of the latest evaluation, as stored.
    pub async fn decision(&self, number: u64) -> Value {
        let evaluations = self.evaluations(number).await;
        let last = evaluations.last().expect("an evaluation");
        serde_json::from_str(last.decision.as_deref().expect("a decision")).unwrap()
    }

    /// The API requests the fake received, without the app's own
    /// (`GET /app` once per process, the token exchange once per hour).
    pub fn api_requests(&self) -> Vec<String> {
        let requests = self.fake.requests();
        requests
            .iter()
            .filter(|r| r.path != "/app" && !r.path.starts_with("/app/"))
            .map(|r| match &r.operation {
                Some(op) => format!("{} {} {op}", r.method, r.path),
                None => format!("{} {}", r.method, r.path),
            })
            .collect()
    }
}

/// Another replica's worker; it stops when dropped.
pub struct Replica {
    pub store: Store,
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
}

impl Replica {
    /// Deliveries this replica's worker has ended.
    pub fn ended(&self) -> u64 {
        *self.worker.ended().borrow()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// The client's own retries are quick and few in tests, so that the
/// queue's retries are what a test of forge errors sees; the waits it asks
/// for are recorded in `waits`, not slept.
fn client(fake: &FakeGithub, waits: &Waits) -> GithubClient {
    let recorded = waits.clone();
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        max_attempts: 2,
        sleep: Arc::new(move |d| {
            recorded.0.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..RetryPolicy::default()
    };
    GithubClient::new(&fake.base_url(), APP_ID, key("app-key.pem").as_bytes())
        .unwrap()
        .with_retry(retry)
}

/// Retries come due at once, and three attempts are enough to show both
/// recovery and giving up.
fn config() -> WorkerConfig {
    WorkerConfig {
        tasks: 2,
        retry_base: Duration::ZERO,
        max_attempts: 3,
        public_url: Some(PUBLIC_URL.to_owned()),
        name: "test".to_owned(),
        ..WorkerConfig::default()
    }
}

/// The fake's pull request `number` as a webhook shows it: Copilot's,
/// between `base` and `head` in [`REPO`].
fn webhook_pull(number: u64, base: &str, head: &str) -> PullRequest {
    let mut c = super::github::change(number, 0, 0);
    c.base_sha = CommitSha::parse(base).unwrap();
    c.head_sha = CommitSha::parse(head).unwrap();
    pull(c)
}

/// A `pull_request` delivery (`opened`, `synchronize`, ...).
pub fn pull_request_event(action: &str, number: u64, base: &str, head: &str) -> Value {
    let pull = webhook_pull(number, base, head);
    let sender = pull.change.author.clone().unwrap();
    events::pull_request(action, &pull, INSTALLATION.0, &sender)
}

/// A `check_run` `rerequested` delivery for Warrant's run on `head`,
/// listing pull request `number`.
pub fn check_run_rerequested(number: u64, head: &str) -> Value {
    let pull = webhook_pull(number, super::github::base().as_str(), head);
    let run = CheckRun {
        id: 4,
        app_id: APP_ID,
        repo: REPO.to_owned(),
        name: "warrant".to_owned(),
        head_sha: head.to_owned(),
        status: "completed".to_owned(),
        conclusion: Some("success".to_owned()),
        details_url: None,
        title: None,
        summary: None,
        annotations: Vec::new(),
        history: Vec::new(),
    };
    events::check_run_rerequested(&run, INSTALLATION.0, &[&pull], &user("alice", 1))
}

/// A `pull_request_review` `submitted` delivery.
pub fn review_event(number: u64, base: &str, head: &str, review: (u64, &str, &str)) -> Value {
    let pull = webhook_pull(number, base, head);
    let (id, login, state) = review;
    let login = Login::parse(login).unwrap();
    let reviewer = Account {
        kind: if login.has_bot_suffix() {
            AccountKind::Bot
        } else {
            AccountKind::User
        },
        login,
        id: None,
    };
    let state = match state {
        "approved" => ReviewState::Approved,
        "changes_requested" => ReviewState::ChangesRequested,
        "dismissed" => ReviewState::Dismissed,
        _ => ReviewState::Commented,
    };
    let review = Review {
        id: Some(id),
        reviewer,
        state,
        commit_sha: CommitSha::parse(head).unwrap(),
        submitted_at: chrono::Utc::now(),
    };
    events::review_submitted(&pull, INSTALLATION.0, &review)
}
