//! One vocabulary over both apps under test, [`App`] on GitHub and
//! [`GitlabApp`] on GitLab, so that a behaviour both forges share is
//! written once and run against each: start, add an agent's change, open
//! it, approve it, push to it, put or push a policy, make the forge fail,
//! and read back what was published for it ([`Published`]), what was
//! stored and what was audited.
//!
//! What the forges do differently stays in the tests, per forge: a test
//! matches on [`Harness::github`] or [`Harness::gitlab`] to reach the app
//! underneath (check runs and request counts on GitHub, commit statuses on
//! GitLab).

use std::future::Future;

use serde_json::Value;
use warrant::audit::AuditEvent;
use warrant::engine::{ChangedFile, ReviewState};
use warrant::forge::github::fake::CheckRun;
use warrant::forge::gitlab::fake::FakeStatus;
use warrant::forge::gitlab::fake::events::{GitlabWebhookSender, HookAction, merge_request_hook};
use warrant::ids::RepoPath;
use warrant::store::changes::{ChangeRecord, MergeRecord};
use warrant::store::{Chain, StoredEvaluation};

use super::app::{self, App};
use super::github::{self as gh, INSTALLATION, REPO};
use super::gitlab::{self as gl, GitlabApp};
use super::server::{TestServer, sign};
use super::store::on_each_backend;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    Github,
    Gitlab,
}

impl Forge {
    pub const ALL: [Forge; 2] = [Forge::Github, Forge::Gitlab];

    /// The forge's name in the store, the audit trail and the URLs.
    pub fn name(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        }
    }

    /// The forge as Warrant's queue names it.
    pub fn engine(self) -> warrant::engine::Forge {
        match self {
            Forge::Github => warrant::engine::Forge::Github,
            Forge::Gitlab => warrant::engine::Forge::Gitlab,
        }
    }

    /// The other forge.
    pub fn other(self) -> Forge {
        match self {
            Forge::Github => Forge::Gitlab,
            Forge::Gitlab => Forge::Github,
        }
    }

    /// How the forge shows `outcome`: a check run's conclusion on GitHub,
    /// a commit status's state on GitLab (which has no neutral state and no
    /// state that asks for an action).
    pub fn state(self, outcome: Outcome) -> &'static str {
        match (self, outcome) {
            (Forge::Github, Outcome::Passed) => "success",
            (Forge::Github, Outcome::Failed) => "failure",
            (Forge::Github, Outcome::Waiting) => "action_required",
            (Forge::Github, Outcome::NotConfigured) => "neutral",
            (Forge::Gitlab, Outcome::Passed) => "success",
            (Forge::Gitlab, Outcome::Failed) => "failed",
            (Forge::Gitlab, Outcome::Waiting) => "pending",
            (Forge::Gitlab, Outcome::NotConfigured) => "success",
        }
    }
}

/// What a decision comes to, whichever forge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Waiting,
    NotConfigured,
}

/// Runs `test` against each forge, on each database (see
/// [`on_each_backend`]).
pub async fn on_each_forge<F, Fut>(test: F)
where
    F: Fn(Forge, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for forge in Forge::ALL {
        // Shown with the failure, if the test fails on this forge.
        eprintln!("--- on {forge:?}");
        on_each_backend(|url| test(forge, url)).await;
    }
}

/// What the forge received for a change's head, the latest of it: a check
/// run on GitHub, a commit status on GitLab (which has a title, its
/// description, and no summary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The check run's conclusion, or the commit status's state.
    pub state: String,
    pub title: Option<String>,
    pub summary: Option<String>,
    /// Where it links to: Warrant's audit page of the change.
    pub link: Option<String>,
}

impl Published {
    /// What a check run shows, completed.
    pub fn of_check_run(run: CheckRun) -> Published {
        assert_eq!(run.status, "completed", "{run:#?}");
        Published {
            state: run.conclusion.clone().unwrap(),
            title: run.title,
            summary: run.summary,
            link: run.details_url,
        }
    }

    /// What a commit status shows.
    pub fn of_status(status: FakeStatus) -> Published {
        Published {
            state: status.state,
            title: status.description,
            summary: None,
            link: status.target_url,
        }
    }

    /// What was published as text for a snapshot, the same on every run
    /// and database: the evaluation time in the summary is replaced.
    pub fn snapshot(&self) -> String {
        let mut text = format!("state: {}\n", self.state);
        for (name, value) in [("title", &self.title), ("link", &self.link)] {
            if let Some(value) = value {
                text.push_str(&format!("{name}: {value}\n"));
            }
        }
        if let Some(summary) = &self.summary {
            text.push_str("--- summary\n");
            text.push_str(&timeless(summary));
        }
        text
    }
}

/// `text` with each evaluation time replaced.
pub fn timeless(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("evaluated 20") {
            Some(at) => format!("{}evaluated <time>", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Who approves a change, by the part they play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approver {
    /// A human in the group the policy names for sensitive paths.
    Sre,
    /// A bot in that group: never counted.
    Bot,
    /// The human who asked the agent for the change (from
    /// [`Harness::add_requested_change`]): never counted.
    Requester,
}

pub enum Harness {
    Github(App),
    Gitlab(GitlabApp),
}

impl Harness {
    /// The app on `forge` over the database at `database_url`, running.
    /// On GitHub the SRE team has a human and a bot (as the GitLab group
    /// has), and alice, who asks Copilot for its pull requests.
    pub async fn start(forge: Forge, database_url: &str) -> Harness {
        Harness::start_with(forge, database_url, |_| {}).await
    }

    /// [`Harness::start`], with the worker configured by `tweak`.
    pub async fn start_with(
        forge: Forge,
        database_url: &str,
        tweak: impl FnOnce(&mut warrant::worker::WorkerConfig),
    ) -> Harness {
        match forge {
            Forge::Github => {
                let app = App::start_with(database_url, tweak).await;
                app.fake.set_team(
                    "octo-org/sre",
                    &["dave", "alice", "gemini-code-assist[bot]"],
                );
                Harness::Github(app)
            }
            Forge::Gitlab => Harness::Gitlab(GitlabApp::start_with(database_url, tweak).await),
        }
    }

    pub fn forge(&self) -> Forge {
        match self {
            Harness::Github(_) => Forge::Github,
            Harness::Gitlab(_) => Forge::Gitlab,
        }
    }

    pub fn github(&self) -> Option<&App> {
        match self {
            Harness::Github(app) => Some(app),
            Harness::Gitlab(_) => None,
        }
    }

    pub fn gitlab(&self) -> Option<&GitlabApp> {
        match self {
            Harness::Gitlab(app) => Some(app),
            Harness::Github(_) => None,
        }
    }

    pub fn server(&self) -> &TestServer {
        match self {
            Harness::Github(app) => &app.server,
            Harness::Gitlab(app) => &app.server,
        }
    }

    /// How this forge shows `outcome`.
    pub fn state(&self, outcome: Outcome) -> &'static str {
        self.forge().state(outcome)
    }

    /// The repository (GitHub) or project (GitLab) of the tests.
    pub fn repo(&self) -> &'static str {
        match self {
            Harness::Github(_) => REPO,
            Harness::Gitlab(_) => gl::PROJECT,
        }
    }

    /// The test policy: its agent works in `src/`, `src/payments/` needs
    /// an approval from [`Harness::sre`].
    pub fn policy(&self) -> &'static str {
        match self {
            Harness::Github(_) => app::POLICY,
            Harness::Gitlab(_) => gl::POLICY,
        }
    }

    /// Where the forge's policy lives.
    pub fn policy_path(&self) -> &'static str {
        match self {
            Harness::Github(_) => ".github/warrant.yml",
            Harness::Gitlab(_) => ".gitlab/warrant.yml",
        }
    }

    /// The group that approves sensitive changes.
    pub fn sre(&self) -> &'static str {
        match self {
            Harness::Github(_) => "octo-org/sre",
            Harness::Gitlab(_) => "platform/sre",
        }
    }

    /// The login of `approver`.
    pub fn login(&self, approver: Approver) -> &'static str {
        match (self, approver) {
            (Harness::Github(_), Approver::Sre) => "dave",
            (Harness::Github(_), Approver::Bot) => "gemini-code-assist[bot]",
            (Harness::Github(_), Approver::Requester) => "alice",
            (Harness::Gitlab(_), Approver::Sre) => "maria",
            (Harness::Gitlab(_), Approver::Bot) => "review-bot",
            (Harness::Gitlab(_), Approver::Requester) => "omar",
        }
    }

    /// The registered agent's identity, as a decision names it when no
    /// policy registers it.
    pub fn agent_seen(&self) -> &'static str {
        match self {
            Harness::Github(_) => "catalog:copilot",
            Harness::Gitlab(_) => "bot:project_42_bot_7f3a",
        }
    }

    /// The head of every change the tests add.
    pub fn head(&self) -> String {
        match self {
            Harness::Github(_) => gh::head().as_str().to_owned(),
            Harness::Gitlab(_) => gl::HEAD.to_owned(),
        }
    }

    /// The head after [`Harness::push`].
    pub fn new_head(&self) -> String {
        match self {
            Harness::Github(_) => gh::sha(0x5e1).as_str().to_owned(),
            Harness::Gitlab(_) => gl::NEW_HEAD.to_owned(),
        }
    }

    pub fn base(&self) -> String {
        match self {
            Harness::Github(_) => gh::base().as_str().to_owned(),
            Harness::Gitlab(_) => gl::BASE.to_owned(),
        }
    }

    /// The forge's id of the repository, as its webhooks name it.
    pub fn repository_id_sent(&self, number: u64) -> u64 {
        let event = self.opened_event(number);
        let repository = match self {
            Harness::Github(_) => &event["repository"],
            Harness::Gitlab(_) => &event["project"],
        };
        repository["id"].as_u64().expect("the forge sends the id")
    }

    /// The repository's id as the store holds it.
    pub async fn repository_id(&self) -> Option<u64> {
        let store = &self.server().store;
        store
            .repository_id(
                crate::support::keys::forge(self.forge().name()),
                &crate::support::keys::repo_name(self.repo()),
            )
            .await
            .unwrap()
    }

    /// Warrant's audit page of change `number`, as published.
    pub fn audit_url(&self, number: u64) -> String {
        let forge = self.forge().name();
        format!(
            "{}/audit/{forge}/{}/changes/{number}",
            app::PUBLIC_URL,
            self.repo()
        )
    }

    /// The registered agent's change `number` touching `paths`, without
    /// reviews: Copilot's pull request on GitHub, the project bot's merge
    /// request on GitLab. No policy is put.
    pub fn add_agent_change(&self, number: u64, paths: &[&str]) {
        match self {
            Harness::Github(app) => {
                let mut c = gh::change(number, 0, 2);
                c.files = paths.iter().map(|p| changed(p)).collect();
                c.reviews.clear();
                app.add_pull(c);
            }
            Harness::Gitlab(app) => {
                app.add_merge_request(number, gl::AGENT_BOT, paths, "Add a feature")
            }
        }
    }

    /// An agent's change `number` touching `paths` that a human asked for
    /// ([`Approver::Requester`]): Copilot's pull request assigned to alice
    /// on GitHub; on GitLab omar's merge request of a commit Claude wrote
    /// with him.
    pub fn add_requested_change(&self, number: u64, paths: &[&str]) {
        match self {
            Harness::Github(_) => self.add_agent_change(number, paths),
            Harness::Gitlab(app) => app.add_merge_request(
                number,
                gl::OMAR,
                paths,
                "Round amounts\n\nCo-authored-by: Claude <noreply@anthropic.com>",
            ),
        }
    }

    /// An unregistered agent's change `number` touching `paths`, under a
    /// policy that escalates unregistered agents to [`Harness::sre`]:
    /// Copilot's pull request under a policy that registers no agent on
    /// GitHub; a bot's merge request that the test policy does not name on
    /// GitLab.
    pub fn add_unregistered_change(&self, number: u64, paths: &[&str]) {
        match self {
            Harness::Github(_) => {
                self.add_agent_change(number, paths);
                self.put_policy(
                    "version: 1\nmode: enforce\nunregistered_agents:\n  action: escalate\n  approvers: [\"octo-org/sre\"]\n",
                );
            }
            Harness::Gitlab(app) => {
                app.add_merge_request(number, gl::SHADOW_BOT, paths, "Refactor");
                self.put_policy(gl::POLICY);
            }
        }
    }

    /// A human's change `number` editing only the policy file, which reads
    /// `proposed` at the shared head: carol's pull request on GitHub,
    /// alice's merge request on GitLab.
    pub fn add_policy_change(&self, number: u64, proposed: &str) {
        match self {
            Harness::Github(app) => {
                let mut c = gh::change(number, 0, 0);
                c.author = Some(gh::user("carol", 7));
                c.assignees.clear();
                c.reviews.clear();
                c.files = vec![changed(".github/warrant.yml")];
                app.add_pull(c);
                app.fake
                    .put_file(REPO, gh::head().as_str(), ".github/warrant.yml", proposed);
            }
            Harness::Gitlab(app) => {
                app.add_merge_request(
                    number,
                    gl::ALICE,
                    &[".gitlab/warrant.yml"],
                    "Widen the scope",
                );
                app.fake
                    .put_file(gl::PROJECT, gl::HEAD, ".gitlab/warrant.yml", proposed);
            }
        }
    }

    /// The requests the fake forge has received so far, as `METHOD
    /// PATH`, oldest first.
    pub fn requests(&self) -> Vec<String> {
        let requests = match self {
            Harness::Github(app) => app.fake.requests(),
            Harness::Gitlab(app) => app.fake.requests(),
        };
        requests
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Puts `text` as the policy at the base commit.
    pub fn put_policy(&self, text: &str) {
        match self {
            Harness::Github(app) => app.put_policy(gh::base().as_str(), text),
            Harness::Gitlab(app) => app.put_policy(text),
        }
    }

    /// Puts `text` at `path` of the base commit, as the forge serves it.
    pub fn put_file(&self, path: &str, text: &str) {
        match self {
            Harness::Github(app) => app.fake.put_file(REPO, gh::base().as_str(), path, text),
            Harness::Gitlab(app) => app.fake.put_file(gl::PROJECT, gl::BASE, path, text),
        }
    }

    /// The webhook telling that change `number` was opened, as the agent
    /// (or author) sent it, naming the base and head the forge holds.
    pub fn opened_event(&self, number: u64) -> Value {
        match self {
            Harness::Github(app) => pull_request_event(app, "opened", number),
            Harness::Gitlab(app) => {
                let mr = app.merge_request(number);
                let actor = app.fake.state().user(mr.author_id);
                merge_request_hook(&mr, &actor, &HookAction::Open)
            }
        }
    }

    /// Change `number` is edited (its title, say: not its commits), and
    /// the webhook saying so is delivered as the `n`-th in all.
    pub async fn edit(&self, number: u64, n: u64) {
        match self {
            Harness::Github(app) => {
                let event = pull_request_event(app, "edited", number);
                app.deliver_and_wait("pull_request", &Harness::delivery(n), &event, n)
                    .await
            }
            Harness::Gitlab(app) => {
                app.hook_and_wait(number, gl::AGENT_BOT, HookAction::Update, n)
                    .await
            }
        }
    }

    /// Change `number` is closed unmerged, and the webhook saying so is
    /// delivered as the `n`-th in all.
    pub async fn close(&self, number: u64, n: u64) {
        match self {
            Harness::Github(app) => {
                let event = pull_request_event(app, "closed", number);
                app.deliver_and_wait("pull_request", &Harness::delivery(n), &event, n)
                    .await
            }
            Harness::Gitlab(app) => {
                app.hook_and_wait(number, gl::AGENT_BOT, HookAction::Close, n)
                    .await
            }
        }
    }

    /// How the forge refers to change `number` in titles: `#1`, `!1`.
    pub fn change_ref(&self, number: u64) -> String {
        match self {
            Harness::Github(_) => format!("#{number}"),
            Harness::Gitlab(_) => format!("!{number}"),
        }
    }

    /// Sends the webhook that change `number` was opened, with delivery id
    /// (or idempotency key) `key`, and answers the status code.
    pub async fn send_opened(&self, number: u64, key: &str) -> u16 {
        let event = self.opened_event(number);
        match self {
            Harness::Github(app) => app.deliver("pull_request", key, &event).await.as_u16(),
            Harness::Gitlab(app) => app.send("Merge Request Hook", &event, key).await,
        }
    }

    /// Sends that change `number` was opened signed (GitHub) or tokened
    /// (GitLab) with a secret that is not Warrant's, and answers the status
    /// code.
    pub async fn send_opened_forged(&self, number: u64) -> u16 {
        let event = self.opened_event(number);
        match self {
            Harness::Github(app) => {
                let body = serde_json::to_vec(&event).unwrap();
                let response = app
                    .server
                    .unsigned("pull_request", "k", &body)
                    .header("x-hub-signature-256", sign("not-the-secret", &body))
                    .send()
                    .await
                    .unwrap();
                response.status().as_u16()
            }
            Harness::Gitlab(app) => {
                let forged = GitlabWebhookSender {
                    url: app.hooks.url.clone(),
                    secret: "not-the-secret".to_owned(),
                };
                let response = forged
                    .send("Merge Request Hook", &event, Some("k"))
                    .await
                    .unwrap();
                response.status().as_u16()
            }
        }
    }

    /// The delivery id the `n`-th delivery in all has, when sent by this
    /// harness and waited for.
    pub fn delivery(n: u64) -> String {
        format!("d-{n}")
    }

    /// Sends that change `number` was opened and waits for the worker to
    /// end `n` deliveries in all (more than one when it retries).
    pub async fn open(&self, number: u64, n: u64) {
        let key = Harness::delivery(n);
        let status = self.send_opened(number, &key).await;
        assert_eq!(status, 202, "delivery {key} is queued");
        self.wait_for_deliveries(n).await;
    }

    pub async fn wait_for_deliveries(&self, n: u64) {
        match self {
            Harness::Github(app) => app.wait_for_deliveries(n).await,
            Harness::Gitlab(app) => app.wait_for_deliveries(n).await,
        }
    }

    /// `approver` approves change `number` at its current head, and the
    /// webhook saying so is delivered as the `n`-th in all. Answers the
    /// review's id on GitHub, the approver's user id on GitLab.
    pub async fn approve(&self, number: u64, approver: Approver, n: u64) -> u64 {
        let login = self.login(approver);
        match self {
            Harness::Github(app) => {
                let head = app.fake.state().pulls[&(REPO.to_owned(), number)]
                    .change
                    .head_sha
                    .clone();
                let reviewer = match approver {
                    Approver::Sre => gh::user(login, 9),
                    Approver::Requester => gh::user(login, 1),
                    Approver::Bot => gh::bot(login, 176961590),
                };
                let id = 100 + n;
                let review = gh::review(id, reviewer, ReviewState::Approved, head.clone());
                app.fake
                    .state()
                    .pulls
                    .get_mut(&(REPO.to_owned(), number))
                    .unwrap()
                    .change
                    .reviews
                    .push(review);
                let event = app::review_event(
                    number,
                    gh::base().as_str(),
                    head.as_str(),
                    (id, login, "approved"),
                );
                app.deliver_and_wait("pull_request_review", &Harness::delivery(n), &event, n)
                    .await;
                id
            }
            Harness::Gitlab(app) => {
                let user = match approver {
                    Approver::Sre => gl::MARIA,
                    Approver::Bot => gl::REVIEW_BOT,
                    Approver::Requester => gl::OMAR,
                };
                app.fake.approve(gl::PROJECT, number, user);
                app.hook_and_wait(number, user, HookAction::Approval, n)
                    .await;
                user
            }
        }
    }

    /// The agent pushes a commit to change `number`, moving its head to
    /// [`Harness::new_head`], and the webhook saying so is delivered as the
    /// `n`-th in all.
    pub async fn push(&self, number: u64, n: u64) {
        match self {
            Harness::Github(app) => {
                let pushed = gh::sha(0x5e1);
                app.push_to(number, &pushed);
                let sync = app::pull_request_event(
                    "synchronize",
                    number,
                    gh::base().as_str(),
                    pushed.as_str(),
                );
                app.deliver_and_wait("pull_request", &Harness::delivery(n), &sync, n)
                    .await;
            }
            Harness::Gitlab(app) => {
                app.push_to(number, gl::NEW_HEAD);
                let oldrev = HookAction::NewCommits {
                    oldrev: gl::HEAD.to_owned(),
                };
                app.hook_and_wait(number, gl::AGENT_BOT, oldrev, n).await;
            }
        }
    }

    /// Someone pushes `policy` to the default branch at commit `after` in
    /// a commit touching `paths`; answers the webhook's status code.
    pub async fn push_policy(&self, after: &str, policy: &str, paths: &[&str], key: &str) -> u16 {
        match self {
            Harness::Github(app) => {
                app.put_policy(after, policy);
                let event = push_event(gh::base().as_str(), after, paths);
                app.deliver("push", key, &event).await.as_u16()
            }
            Harness::Gitlab(app) => {
                app.fake
                    .put_file(gl::PROJECT, after, ".gitlab/warrant.yml", policy);
                app.push_policy(after, paths, key).await
            }
        }
    }

    /// Who pushed in [`Harness::push_policy`].
    pub fn pusher(&self) -> &'static str {
        match self {
            Harness::Github(_) => "carol",
            Harness::Gitlab(_) => "alice",
        }
    }

    /// The forge fails reading change `number` more often than one
    /// attempt's client retries: the delivery is retried from the queue,
    /// once.
    pub fn fail_one_attempt(&self, number: u64) {
        match self {
            // Two 500s use up the client's own two attempts.
            Harness::Github(app) => app.fake.fail_next(
                "POST",
                "/graphql",
                2,
                warrant::forge::github::fake::Fault::ServerError,
            ),
            // Seven failures: more than one attempt's client retries (five).
            Harness::Gitlab(app) => app.fake.fail_next(
                "GET",
                &gitlab_diffs(number),
                7,
                warrant::forge::gitlab::fake::Fault::BadGateway,
            ),
        }
    }

    /// The forge fails reading change `number` on every attempt.
    pub fn fail_every_attempt(&self, number: u64) {
        match self {
            Harness::Github(app) => app.fake.fail_next(
                "POST",
                "/graphql",
                1000,
                warrant::forge::github::fake::Fault::ServerError,
            ),
            Harness::Gitlab(app) => app.fake.fail_next(
                "GET",
                &gitlab_diffs(number),
                1_000,
                warrant::forge::gitlab::fake::Fault::ServerError,
            ),
        }
    }

    /// The latest of what was published on commit `sha`: on GitHub its
    /// only check run, which must be completed.
    pub fn published_on(&self, sha: &str) -> Published {
        match self {
            Harness::Github(app) => {
                let runs: Vec<_> = app
                    .check_runs()
                    .into_iter()
                    .filter(|r| r.head_sha == sha)
                    .collect();
                assert_eq!(runs.len(), 1, "one check run on {sha}: {runs:#?}");
                Published::of_check_run(runs.into_iter().next().unwrap())
            }
            Harness::Gitlab(app) => Published::of_status(app.last_status(sha)),
        }
    }

    /// What was published on the change's first head.
    pub fn published(&self) -> Published {
        self.published_on(&self.head())
    }

    /// Whether nothing at all was published.
    pub fn nothing_published(&self) -> bool {
        match self {
            Harness::Github(app) => app.check_runs().is_empty(),
            Harness::Gitlab(app) => app.fake.statuses().is_empty(),
        }
    }

    pub async fn evaluations(&self, number: u64) -> Vec<StoredEvaluation> {
        match self {
            Harness::Github(app) => app.evaluations(number).await,
            Harness::Gitlab(app) => app.evaluations(number).await,
        }
    }

    /// The decision of change `number`'s latest evaluation, as stored.
    pub async fn decision(&self, number: u64) -> Value {
        let evaluations = self.evaluations(number).await;
        let last = evaluations.last().expect("an evaluation");
        serde_json::from_str(last.decision.as_deref().expect("a decision")).unwrap()
    }

    /// Change `number`'s audit trail.
    pub async fn trail(&self, number: u64) -> Vec<AuditEvent> {
        let store = &self.server().store;
        store
            .audit_events_of_change(&crate::support::keys::key(
                self.forge().name(),
                self.repo(),
                number,
            ))
            .await
            .unwrap()
    }

    /// What the store records of change `number`.
    pub async fn change_record(&self, number: u64) -> Option<ChangeRecord> {
        let store = &self.server().store;
        store
            .change_record(&crate::support::keys::key(
                self.forge().name(),
                self.repo(),
                number,
            ))
            .await
            .unwrap()
    }

    /// Change `number`'s last merge, as recorded.
    pub async fn last_merge(&self, number: u64) -> Option<MergeRecord> {
        let store = &self.server().store;
        store
            .last_merge(&crate::support::keys::key(
                self.forge().name(),
                self.repo(),
                number,
            ))
            .await
            .unwrap()
    }

    /// The repository's whole audit chain.
    pub async fn chain(&self) -> Vec<AuditEvent> {
        let chain = Chain {
            forge: self.forge().name().to_owned(),
            repo: self.repo().to_owned(),
        };
        let store = &self.server().store;
        store.audit_chain_page(&chain, 0, 1000).await.unwrap()
    }

    pub async fn metrics(&self) -> String {
        self.server().get("/metrics").await.text().await.unwrap()
    }
}

/// A `pull_request` delivery with `action` for pull request `number`,
/// naming the base and head the fake GitHub holds for it.
fn pull_request_event(app: &App, action: &str, number: u64) -> Value {
    let (base, head) = {
        let state = app.fake.state();
        let change = &state.pulls[&(REPO.to_owned(), number)].change;
        (change.base_sha.clone(), change.head_sha.clone())
    };
    app::pull_request_event(action, number, base.as_str(), head.as_str())
}

fn changed(path: &str) -> ChangedFile {
    ChangedFile {
        path: RepoPath::parse(path).unwrap(),
        previous_path: None,
    }
}

/// The API path of merge request `iid`'s diffs, as the GitLab client
/// requests it.
pub fn gitlab_diffs(iid: u64) -> String {
    let project = gl::PROJECT.replace('/', "%2F");
    format!("/api/v4/projects/{project}/merge_requests/{iid}/diffs")
}

/// A GitHub `push` of `after` onto the default branch touching `paths`,
/// from the octokit example with the test's repository and installation.
pub fn push_event(before: &str, after: &str, paths: &[&str]) -> Value {
    let raw = super::server::fixture("push", "with-installation.payload.json");
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["installation"] = serde_json::json!({ "id": INSTALLATION.0 });
    payload["repository"]["full_name"] = Value::from(REPO);
    payload["repository"]["default_branch"] = Value::from("main");
    payload["repository"]["master_branch"] = Value::from("main");
    payload["ref"] = Value::from("refs/heads/main");
    payload["before"] = Value::from(before);
    payload["after"] = Value::from(after);
    payload["pusher"] = serde_json::json!({ "name": "carol", "email": "carol@example.com" });
    payload["commits"] = serde_json::json!([{
        "id": after, "message": "Require an SRE for payments", "added": [], "removed": [],
        "modified": paths,
    }]);
    payload
}
