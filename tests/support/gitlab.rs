//! Warrant on GitLab under test, as `support::app` does for GitHub: a fake
//! GitLab over HTTP, the real router on a real port over a fresh store, and
//! the real worker pointed at the fake. Tests send webhooks shaped like
//! GitLab's and wait for the worker on its own signal, never by sleeping.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};
use warrant::config::WebhookSecrets;
use warrant::engine::{Commit, Person};
use warrant::forge::gitlab::client::GitlabClient;
use warrant::forge::gitlab::fake::events::{
    GitlabWebhookSender, HookAction, merge_request_hook, push_hook,
};
use warrant::forge::gitlab::fake::{DEFAULT_TOKEN, FakeGitlab, FakeMergeRequest, FakeStatus};
use warrant::forge::retry::RetryPolicy;
use warrant::ids::CommitSha;
use warrant::store::{Store, StoredEvaluation};
use warrant::worker::{Forges, Worker, WorkerConfig};

use super::server::{TestServer, test_state};

pub const PUBLIC_URL: &str = "https://warrant.example.com";
/// A project two groups deep, as many GitLab projects are.
pub const PROJECT: &str = "platform/payments/ledger";
pub const TOKEN: &str = "gitlab-hook-secret";
pub const BASE: &str = "1111111111111111111111111111111111111111";
pub const HEAD: &str = "2222222222222222222222222222222222222222";
pub const NEW_HEAD: &str = "3333333333333333333333333333333333333333";

/// GitLab users of the tests, by id.
pub const ALICE: u64 = 10;
pub const MARIA: u64 = 11;
pub const OMAR: u64 = 12;
/// A project access token's bot, registered as an agent.
pub const AGENT_BOT: u64 = 20;
/// Another bot, which nobody registered.
pub const SHADOW_BOT: u64 = 21;
pub const REVIEW_BOT: u64 = 22;

/// The project bot works in `src/`; payments code needs an SRE, from a
/// GitLab subgroup.
pub const POLICY: &str = r#"version: 1
mode: enforce
agents:
  ledger-bot:
    role: feature-dev
    owner: alice
    match:
      logins: ["project_42_bot_7f3a"]
  claude:
    role: feature-dev
    owner: alice
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
    out_of_scope: block
sensitive:
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["platform/sre"]
    min_approvals: 1
unregistered_agents:
  action: escalate
  approvers: ["platform/sre"]
approvals:
  stale_on_push: true
  exclude_requester: true
  agent_reviews: dismiss
"#;

/// How long a test waits for the worker before failing.
const WAIT: Duration = Duration::from_secs(20);

pub struct GitlabApp {
    pub fake: FakeGitlab,
    pub server: TestServer,
    pub store: Store,
    pub hooks: GitlabWebhookSender,
    work: Arc<Notify>,
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
}

impl GitlabApp {
    /// Everything running: the fake with its users and the SRE group, the
    /// server, the worker.
    pub async fn start(database_url: &str) -> GitlabApp {
        GitlabApp::start_with(database_url, |_| {}).await
    }

    /// Everything running, with the worker configured by `tweak`.
    pub async fn start_with(
        database_url: &str,
        tweak: impl FnOnce(&mut WorkerConfig),
    ) -> GitlabApp {
        let fake = FakeGitlab::start().await.unwrap();
        fake.add_user(ALICE, "alice", false);
        fake.add_user(MARIA, "maria", false);
        fake.add_user(OMAR, "omar", false);
        fake.add_user(AGENT_BOT, "project_42_bot_7f3a", true);
        fake.add_user(SHADOW_BOT, "helper-bot", true);
        fake.add_user(REVIEW_BOT, "review-bot", true);
        fake.set_group("platform/sre", &["maria", "omar", "review-bot"]);
        let store = Store::connect(database_url).await.expect("store connects");
        let state = test_state(&store)
            .with_gitlab_secrets(WebhookSecrets::parse_list(TOKEN))
            .with_gitlab_url(&fake.base_url())
            .with_public_pages(true);
        let work = state.work_signal();
        let mut config = WorkerConfig {
            tasks: 2,
            retry_base: Duration::ZERO,
            max_attempts: 3,
            public_url: Some(PUBLIC_URL.to_owned()),
            name: "test".to_owned(),
            ..WorkerConfig::default()
        };
        tweak(&mut config);
        let worker = Worker::new(
            store.clone(),
            Forges::gitlab(Arc::new(client(&fake))),
            state.metrics(),
            config,
        );
        let server = TestServer::serve(state).await;
        let hooks = GitlabWebhookSender {
            url: server.url("/webhooks/gitlab"),
            secret: TOKEN.to_owned(),
        };
        let stop = watch::channel(false).0;
        worker.spawn(work.clone(), stop.subscribe());
        GitlabApp {
            fake,
            server,
            store,
            hooks,
            work,
            worker,
            stop,
        }
    }

    /// Waits until the worker has ended `n` deliveries in all.
    pub async fn wait_for_deliveries(&self, n: u64) {
        let mut ended = self.worker.ended();
        tokio::time::timeout(WAIT, ended.wait_for(|count| *count >= n))
            .await
            .unwrap_or_else(|_| panic!("the worker did not end {n} deliveries in {WAIT:?}"))
            .expect("the worker runs");
    }

    /// Sends a Merge Request Hook for merge request `iid`, by the user
    /// `actor`, and answers GitLab's status.
    pub async fn hook(&self, iid: u64, actor: u64, action: HookAction, key: &str) -> u16 {
        let mr = self.merge_request(iid);
        let actor = self.fake.state().user(actor);
        let payload = merge_request_hook(&mr, &actor, &action);
        self.send("Merge Request Hook", &payload, key).await
    }

    /// Sends a Merge Request Hook and waits for the worker to end it, as
    /// the `n`-th delivery in all.
    pub async fn hook_and_wait(&self, iid: u64, actor: u64, action: HookAction, n: u64) {
        let key = format!("mr-{iid}-{n}");
        let status = self.hook(iid, actor, action, &key).await;
        assert_eq!(status, 202, "delivery {key} is queued");
        self.wait_for_deliveries(n).await;
    }

    /// Sends a Push Hook of `modified` paths to the default branch.
    pub async fn push_policy(&self, after: &str, modified: &[&str], key: &str) -> u16 {
        let pusher = self.fake.state().user(ALICE);
        let payload = push_hook(
            PROJECT,
            "main",
            "refs/heads/main",
            (BASE, after),
            &pusher,
            modified,
        );
        self.send("Push Hook", &payload, key).await
    }

    pub async fn send(&self, event: &str, payload: &Value, key: &str) -> u16 {
        let response = self.hooks.send(event, payload, Some(key)).await.unwrap();
        response.status().as_u16()
    }

    pub fn merge_request(&self, iid: u64) -> FakeMergeRequest {
        let state = self.fake.state();
        state.merge_requests[&(PROJECT.to_owned(), iid)].clone()
    }

    /// Merge request `iid` by `author` touching `paths`, one commit with
    /// `message`, against [`BASE`] at [`HEAD`].
    pub fn add_merge_request(&self, iid: u64, author: u64, paths: &[&str], message: &str) {
        self.fake.add_merge_request(FakeMergeRequest {
            project: PROJECT.to_owned(),
            iid,
            title: format!("Change {iid}"),
            description: String::new(),
            author_id: author,
            head_sha: HEAD.to_owned(),
            base_sha: BASE.to_owned(),
            source_branch: format!("change-{iid}"),
            target_branch: "main".to_owned(),
            files: paths.iter().map(|p| (p.to_string(), None)).collect(),
            commits: vec![commit(HEAD, message)],
            web_url: Some(format!(
                "https://gitlab.example.com/{PROJECT}/-/merge_requests/{iid}"
            )),
            ..FakeMergeRequest::default()
        });
    }

    /// Pushes a new commit to merge request `iid`'s source branch.
    pub fn push_to(&self, iid: u64, head: &str) {
        let mut state = self.fake.state();
        let mr = state
            .merge_requests
            .get_mut(&(PROJECT.to_owned(), iid))
            .unwrap();
        mr.head_sha = head.to_owned();
        mr.commits.push(commit(head, "Follow-up"));
    }

    pub fn put_policy(&self, text: &str) {
        self.fake
            .put_file(PROJECT, BASE, ".gitlab/warrant.yml", text);
    }

    /// The `warrant` statuses written on `sha`, oldest first.
    pub fn statuses_on(&self, sha: &str) -> Vec<FakeStatus> {
        self.fake
            .statuses()
            .into_iter()
            .filter(|s| s.sha == sha && s.name == "warrant")
            .collect()
    }

    /// The state of the latest `warrant` status on `sha`.
    pub fn last_status(&self, sha: &str) -> FakeStatus {
        let statuses = self.statuses_on(sha);
        statuses
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no status on {sha}: {:#?}", self.fake.statuses()))
    }

    pub async fn evaluations(&self, iid: u64) -> Vec<StoredEvaluation> {
        let change = crate::support::keys::key("gitlab", PROJECT, iid);
        self.store.evaluations(&change).await.unwrap()
    }

    /// The decision of the latest evaluation, as stored.
    pub async fn decision(&self, iid: u64) -> Value {
        let evaluations = self.evaluations(iid).await;
        let last = evaluations.last().expect("an evaluation");
        serde_json::from_str(last.decision.as_deref().expect("a decision")).unwrap()
    }
}

impl Drop for GitlabApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A GitLab client for the fake whose retries do not wait.
pub fn client(fake: &FakeGitlab) -> GitlabClient {
    let retry = RetryPolicy {
        sleep: Arc::new(|_| Box::pin(async {})),
        ..RetryPolicy::default()
    };
    GitlabClient::new(&fake.base_url(), DEFAULT_TOKEN)
        .unwrap()
        .with_retry(retry)
}

pub fn commit(sha: &str, message: &str) -> Commit {
    let person = Person {
        name: "Alice".to_owned(),
        email: "alice@example.com".to_owned(),
        account: None,
    };
    Commit {
        sha: CommitSha::parse(sha).unwrap(),
        author: person.clone(),
        committer: person,
        message: message.to_owned(),
    }
}
