//! Shared set-up for the GitHub client tests: a fake GitHub with the app
//! installed, a client pointed at it whose retries never really sleep, and
//! builders for pull requests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use warrant::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Forge, Person, Review, ReviewState,
};
use warrant::forge::github::client::{GithubClient, InstallationId};
use warrant::forge::github::fake::{FakeGithub, PullRequest};
use warrant::forge::github::retry::RetryPolicy;
use warrant::ids::{CommitSha, Login, RepoPath};

pub const APP_ID: u64 = 4242;
pub const INSTALLATION: InstallationId = InstallationId(77);
pub const REPO: &str = "octo-org/api";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn key(name: &str) -> String {
    std::fs::read_to_string(manifest_dir().join("fixtures/github-app").join(name)).unwrap()
}

/// A response recorded from the real API, shared by the project (never
/// copied into the repository). In a worktree it sits one level higher.
pub fn api_fixture(name: &str) -> String {
    let candidates = [
        "../shared/fixtures/github-api",
        "../../shared/fixtures/github-api",
    ];
    let dir = candidates
        .iter()
        .map(|c| manifest_dir().join(c))
        .find(|d| d.is_dir())
        .expect("the shared github-api fixtures");
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The waits the client asked for, instead of sleeping them.
#[derive(Clone, Default)]
pub struct Waits(pub Arc<Mutex<Vec<Duration>>>);

impl Waits {
    pub fn all(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Github {
    pub fake: FakeGithub,
    pub client: GithubClient,
    pub waits: Waits,
}

pub async fn github() -> Github {
    github_with_key("app-key.pem").await
}

pub async fn github_with_key(private_key: &str) -> Github {
    let fake = FakeGithub::start().await.unwrap();
    fake.install_app(APP_ID, &key("app-key.pub.pem"), INSTALLATION.0);
    let waits = Waits::default();
    let recorded = waits.clone();
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        sleep: Arc::new(move |d| {
            recorded.0.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..RetryPolicy::default()
    };
    let client = GithubClient::new(&fake.base_url(), APP_ID, key(private_key).as_bytes())
        .unwrap()
        .with_retry(retry);
    Github {
        fake,
        client,
        waits,
    }
}

pub fn sha(n: u64) -> CommitSha {
    CommitSha::parse(&format!("{n:040x}")).unwrap()
}

pub fn base() -> CommitSha {
    sha(0xba5e)
}

pub fn head() -> CommitSha {
    sha(0x4ead)
}

pub fn user(login: &str, id: u64) -> Account {
    Account {
        login: Login::parse(login).unwrap(),
        kind: AccountKind::User,
        id: Some(id),
    }
}

pub fn bot(login: &str, id: u64) -> Account {
    Account {
        login: Login::parse(login).unwrap(),
        kind: AccountKind::Bot,
        id: Some(id),
    }
}

pub fn review(id: u64, reviewer: Account, state: ReviewState, commit: CommitSha) -> Review {
    Review {
        id: Some(id),
        reviewer,
        state,
        commit_sha: commit,
        submitted_at: Utc
            .with_ymd_and_hms(2026, 11, 24, 12, 0, id as u32 % 60)
            .unwrap(),
    }
}

/// A pull request opened by Copilot with `files` files and `commits`
/// commits, reviewed by alice (approved) and a bot (approved).
pub fn change(number: u64, files: usize, commits: usize) -> Change {
    let person = |name: &str, email: &str, account: Option<Account>| Person {
        name: name.into(),
        email: email.into(),
        account,
    };
    Change {
        forge: Forge::Github,
        repository: REPO.into(),
        number,
        title: "Add the billing export".into(),
        body: "Closes #12".into(),
        author: Some(bot("copilot-swe-agent[bot]", 198982749)),
        assignees: vec![user("alice", 1)],
        base_sha: base(),
        head_sha: head(),
        commits: (0..commits as u64)
            .map(|i| Commit {
                sha: sha(0xc0_0000 + i),
                author: person(
                    "Copilot",
                    "198982749+Copilot@users.noreply.github.com",
                    Some(bot("copilot-swe-agent[bot]", 198982749)),
                ),
                committer: person("alice", "alice@example.com", Some(user("alice", 1))),
                message: format!("Step {i}\n\nCo-authored-by: alice <alice@example.com>"),
            })
            .collect(),
        files: (0..files)
            .map(|i| ChangedFile {
                path: RepoPath::parse(&format!("src/billing/f{i}.rs")).unwrap(),
                previous_path: None,
            })
            .collect(),
        reviews: vec![
            review(11, user("bob", 2), ReviewState::Approved, head()),
            review(12, bot("renovate[bot]", 3), ReviewState::Approved, head()),
            review(13, user("carol", 4), ReviewState::Commented, head()),
        ],
    }
}

pub fn pull(change: Change) -> PullRequest {
    PullRequest {
        change,
        draft: false,
        base_ref: "main".into(),
        head_ref: "copilot/billing".into(),
        changed_files: None,
        total_commits: None,
    }
}
