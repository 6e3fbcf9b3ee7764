//! `warrant demo`: the whole product, offline. A simulated GitHub (the
//! [fake](crate::forge::github::fake)) holds the demo organisation's
//! repository and pull requests; Warrant's own server and worker run on a
//! store of their own; and the [script] is played by delivering signed
//! webhooks to the server over HTTP, as GitHub would. Each delivery takes
//! the production path (signature, queue, worker, GitHub API, check run,
//! store), so what the demo shows is what Warrant does.
//!
//! The app's key is the test key in `fixtures/github-app/`, which protects
//! nothing: only the fake trusts it.

mod alerts;
pub mod bypasses;
mod policy_changes;
pub mod script;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::WebhookSecrets;
use crate::engine::Forge;
use crate::engine::{Conclusion, Review};
use crate::forge::github::client::GithubClient;
use crate::forge::github::fake::events::{self, WebhookSender};
use crate::forge::github::fake::{FakeGithub, PullRequest};
use crate::ids::{ChangeKey, CommitSha, RepoName};
use crate::metrics::Metrics;
use crate::server::{self, AppState};
use crate::store::Store;
use crate::worker::{Forges, Worker, WorkerConfig};

pub use alerts::Received;
pub use script::{REPOSITORY, Scene, Step};

/// Pull request `number` of the demo repository.
pub fn demo_change(number: u64) -> ChangeKey {
    let repo = RepoName::parse(REPOSITORY).expect("the demo repository is a name");
    ChangeKey::new(Forge::Github, repo, number)
}

/// The demo app's id and installation in the fake.
const APP_ID: u64 = 1;
const INSTALLATION: u64 = 1;

/// The demo app's key pair: the test key, trusted by the fake only.
const APP_KEY: &str = include_str!("../../fixtures/github-app/app-key.pem");
const APP_PUBLIC_KEY: &str = include_str!("../../fixtures/github-app/app-key.pub.pem");

/// Signs the demo's deliveries; only the demo's own server accepts it.
const WEBHOOK_SECRET: &str = "warrant-demo-only";

/// How long one delivery may take to be evaluated: far above the few
/// milliseconds it takes, so that only a hang fails the demo.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running demo: the fake GitHub, the server and its worker. It stops
/// with [`Demo::stop`] (or, less tidily, when dropped).
pub struct Demo {
    fake: FakeGithub,
    store: Store,
    address: SocketAddr,
    worker: Arc<Worker>,
    sender: WebhookSender,
    alerts: alerts::Alerts,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<anyhow::Result<()>>,
}

/// What one scene ended on, read back from the store.
#[derive(Clone, Debug)]
pub struct Played {
    /// The pull request: its repository and number.
    pub change: ChangeKey,
    pub number: u64,
    pub shows: &'static str,
    pub expected: Conclusion,
    /// Every evaluation's conclusion, oldest first.
    pub conclusions: Vec<String>,
    /// The last evaluation's check title.
    pub title: String,
}

impl Played {
    /// The conclusion the check shows now.
    pub fn conclusion(&self) -> &str {
        self.conclusions.last().map_or("", String::as_str)
    }

    /// Whether the check ended as the script expects.
    pub fn as_expected(&self) -> bool {
        self.conclusion() == self.expected.as_str()
    }
}

impl Demo {
    /// Starts the fake GitHub with the demo repository set up, and the
    /// server (audit pages public) and a worker on `store`, serving on
    /// `listener`. Refuses a store that holds a demo already: its check
    /// runs would name runs the new fake never created.
    pub async fn start(store: Store, listener: TcpListener) -> anyhow::Result<Demo> {
        if !store.evaluations(&demo_change(101)).await?.is_empty() {
            bail!("the database holds a demo already: give the demo an empty database");
        }
        let address = listener.local_addr().context("no local address")?;
        let fake = FakeGithub::start()
            .await
            .context("cannot start the simulated GitHub")?;
        fake.install_app(APP_ID, APP_PUBLIC_KEY, INSTALLATION);
        let github = GithubClient::new(&fake.base_url(), APP_ID, APP_KEY.as_bytes())
            .context("cannot set up the GitHub client")?;
        let state = AppState::new(
            store.clone(),
            WebhookSecrets::parse_list(WEBHOOK_SECRET),
            Metrics::new(),
        )
        .with_public_pages(true);
        let (stop, stopping) = watch::channel(false);
        let alerts = alerts::Alerts::start(&store, &base_url(address), stopping.clone()).await?;
        let worker = Worker::new(
            store.clone(),
            Forges::github(Arc::new(github)),
            state.metrics(),
            WorkerConfig {
                public_url: Some(base_url(address)),
                // An error shows at once as a failed check, never as a
                // demo waiting for a retry.
                max_attempts: 1,
                name: "demo".to_owned(),
                alerts: alerts.raise(&base_url(address)),
                ..WorkerConfig::default()
            },
        );
        let tasks = worker.spawn(state.work_signal(), stopping.clone());
        let server = tokio::spawn(server::serve(listener, state, stopped(stopping)));
        let sender = WebhookSender::new(
            format!("{}/webhooks/github", base_url(address)),
            WEBHOOK_SECRET,
        );
        Ok(Demo {
            fake,
            store,
            address,
            worker,
            sender,
            alerts,
            stop,
            tasks,
            server,
        })
    }

    /// Where the server listens, as a browser can reach it.
    pub fn base_url(&self) -> String {
        base_url(self.address)
    }

    /// The simulated GitHub, to inspect what Warrant wrote to it.
    pub fn fake(&self) -> &FakeGithub {
        &self.fake
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Plays every scene, one delivery at a time, each evaluated before
    /// the next is sent; returns each scene's outcome from the store.
    /// Then delivers the pushes ([`bypasses::pushes`]), and runs the
    /// daily sweep of lapsing registrations as `serve` would.
    pub async fn play(&self) -> anyhow::Result<Vec<Played>> {
        let now = Utc::now();
        self.set_up_repository(now);
        let scenes = script::scenes(now);
        let mut played = Vec::with_capacity(scenes.len());
        for scene in &scenes {
            self.play_scene(scene).await?;
            played.push(self.outcome(scene).await?);
        }
        for (index, push) in bypasses::pushes().iter().enumerate() {
            let payload = push.payload(INSTALLATION);
            let seed = format!("{} push {index}", push.repo);
            self.deliver("push", &events::delivery_id(&seed), &payload)
                .await
                .with_context(|| format!("the push to {}", push.repo))?;
        }
        let raise = self.alerts.raise(&self.base_url());
        crate::alerts::lapsing::sweep(&self.store, &raise, "demo", now)
            .await
            .context("the sweep of lapsing registrations")?;
        Ok(played)
    }

    /// The alerts the demo raised, as its receiver got them, once the
    /// outbox has delivered them all.
    pub async fn alerts(&self) -> anyhow::Result<Vec<Received>> {
        self.alerts.received(&self.store).await
    }

    /// Stops the server and the worker, after the delivery in hand.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks.into_iter().chain(self.alerts.tasks) {
            let _ = task.await;
        }
        let served = self.server.await.context("the server task failed")?;
        self.store.close().await;
        served
    }

    /// The organisation policy, acme/payments' policy on its base branch,
    /// and the teams they name.
    fn set_up_repository(&self, now: chrono::DateTime<Utc>) {
        let base = script::base_sha();
        self.fake.put_default_file(
            script::ORG_REPOSITORY,
            crate::policy::ORG_POLICY_FILE,
            &script::org_policy(now),
        );
        self.fake.put_file(
            REPOSITORY,
            base.as_str(),
            ".github/warrant.yml",
            script::POLICY,
        );
        for (team, members) in script::TEAMS {
            self.fake.set_team(team, members);
        }
    }

    async fn play_scene(&self, scene: &Scene) -> anyhow::Result<()> {
        let number = scene.number();
        self.fake.add_pull_request(scene.pull.clone());
        let (repo, head) = (&scene.pull.change.repository, &scene.pull.change.head_sha);
        for (path, text) in &scene.at_head {
            self.fake.put_file(repo, head.as_str(), path, text);
        }
        for (index, step) in scene.steps.iter().enumerate() {
            let seed = format!("{}#{number} step {index}", scene.pull.change.repository);
            let (event, payload) = match step {
                Step::Open => {
                    let author = scene.pull.change.author.as_ref().context("no author")?;
                    let payload = events::pull_request("opened", &scene.pull, INSTALLATION, author);
                    ("pull_request", payload)
                }
                Step::Review(review) => {
                    let pull = self.with_review(&scene.pull, review)?;
                    let payload = events::review_submitted(&pull, INSTALLATION, review);
                    ("pull_request_review", payload)
                }
                Step::Queue { ahead, head } => {
                    let group = self.enqueue(&scene.pull, ahead, head);
                    let sender = scene.pull.change.assignees.first().context("no assignee")?;
                    let payload =
                        events::merge_group_checks_requested(&group, INSTALLATION, sender);
                    ("merge_group", payload)
                }
                Step::Comment { by, id, body } => {
                    let payload = events::issue_comment(&scene.pull, INSTALLATION, by, *id, body);
                    ("issue_comment", payload)
                }
                Step::Merge { by, commit } => {
                    self.add_merge_commit(&scene.pull, commit);
                    let payload = events::pull_request_merged(
                        &scene.pull,
                        INSTALLATION,
                        by,
                        commit,
                        Utc::now(),
                    );
                    ("pull_request", payload)
                }
            };
            self.deliver(event, &events::delivery_id(&seed), &payload)
                .await
                .with_context(|| format!("pull request #{number}: {event}"))?;
        }
        Ok(())
    }

    /// Puts the pull requests `ahead` and `pull` in the base branch's merge
    /// queue, in that order, the last entry built as `head`.
    fn enqueue(&self, pull: &PullRequest, ahead: &[u64], head: &CommitSha) -> events::MergeGroup {
        let branch = &pull.base_ref;
        let repo = pull.change.repository.as_str();
        for number in ahead {
            let built = script::queue_commit(*number);
            self.fake.enqueue(repo, branch, *number, built.as_str());
        }
        self.fake
            .enqueue(repo, branch, pull.change.number, head.as_str());
        events::MergeGroup {
            repo: repo.to_owned(),
            base_ref: branch.clone(),
            base_sha: pull.change.base_sha.clone(),
            head_sha: head.clone(),
            last: pull.change.number,
        }
    }

    /// The commit a merge creates, as the "Create a merge commit" button
    /// writes it: two parents, the base and the pull request's head.
    fn add_merge_commit(&self, pull: &PullRequest, commit: &CommitSha) {
        let c = &pull.change;
        let parents = vec![
            c.base_sha.as_str().to_owned(),
            c.head_sha.as_str().to_owned(),
        ];
        let repo = c.repository.as_str();
        let owner = repo.split('/').next().unwrap_or(repo);
        let message = format!(
            "Merge pull request #{} from {owner}/{}\n\n{}",
            c.number, pull.head_ref, c.title
        );
        self.fake.state().commits.insert(
            (repo.to_owned(), commit.as_str().to_owned()),
            (parents, message),
        );
    }

    /// Adds `review` to the fake's pull request, as submitting it does.
    fn with_review(&self, scene: &PullRequest, review: &Review) -> anyhow::Result<PullRequest> {
        let mut state = self.fake.state();
        let key = (scene.change.repository.clone(), scene.change.number);
        let pull = state
            .pulls
            .get_mut(&key)
            .context("the pull request is not in the simulated GitHub")?;
        pull.change.reviews.push(review.clone());
        Ok(pull.clone())
    }

    /// Sends one delivery and waits until the worker has ended it.
    async fn deliver(
        &self,
        event: &str,
        delivery: &str,
        payload: &serde_json::Value,
    ) -> anyhow::Result<()> {
        let mut ended = self.worker.ended();
        let before = *ended.borrow_and_update();
        let status = self
            .sender
            .send(event, delivery, payload)
            .await
            .context("the webhook endpoint does not answer")?;
        if status != reqwest::StatusCode::ACCEPTED {
            bail!("the webhook endpoint answered {status}, not 202 Accepted");
        }
        tokio::time::timeout(DELIVERY_TIMEOUT, ended.wait_for(|n| *n > before))
            .await
            .with_context(|| format!("the worker did not evaluate it in {DELIVERY_TIMEOUT:?}"))?
            .context("the worker stopped")?;
        Ok(())
    }

    async fn outcome(&self, scene: &Scene) -> anyhow::Result<Played> {
        let change = scene.change();
        let evaluations = self.store.evaluations(&change).await?;
        Ok(Played {
            change,
            number: scene.number(),
            shows: scene.shows,
            expected: scene.expected,
            conclusions: evaluations.iter().map(|e| e.conclusion.clone()).collect(),
            title: evaluations
                .last()
                .map(|e| e.title.clone())
                .unwrap_or_default(),
        })
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// `http://host:port`, where a wildcard address (`0.0.0.0:3000`) becomes
/// the loopback one, which a browser on the same machine can open and the
/// demo can post to.
fn base_url(address: SocketAddr) -> String {
    format!("http://{}", reachable(address))
}

fn reachable(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V4(a) if a.ip().is_unspecified() => {
            SocketAddr::from(([127, 0, 0, 1], a.port()))
        }
        SocketAddr::V6(a) if a.ip().is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, a.port()))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_address_is_shown_as_loopback_and_others_as_they_are() {
        let url = |a: &str| base_url(a.parse().unwrap());
        assert_eq!(url("0.0.0.0:3000"), "http://127.0.0.1:3000");
        assert_eq!(url("[::]:3000"), "http://[::1]:3000");
        assert_eq!(url("192.0.2.7:8080"), "http://192.0.2.7:8080");
    }
}
