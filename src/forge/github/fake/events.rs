//! Webhook deliveries as GitHub sends them, built from the fake's own
//! pull requests, reviews and check runs, and signed as GitHub signs them.
//!
//! The payloads carry the fields of GitHub's (a repository, the app
//! installation, the sender, the pull request with its head and base refs
//! and commits, accounts with their `type`), a realistic subset rather
//! than every URL GitHub adds: enough for Warrant's parser, which reads
//! only what it uses, and for a reader of the delivery log to recognise
//! the event. Tests and `warrant demo` post them to the real webhook
//! endpoint, so a delivery takes the same path as one from GitHub.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

mod push;

pub use push::{Pushed, push};

use super::{CheckRun, PullRequest};
use crate::engine::{Account, Review, ReviewState};
use crate::forge::fake_server::guid;
use crate::ids::CommitSha;

/// A `pull_request` delivery (`opened`, `synchronize`, `reopened`,
/// `closed`, ...) for `pull`, sent by `sender`. A `closed` one is closed
/// without merging; see [`pull_request_merged`].
pub fn pull_request(
    action: &str,
    pull: &PullRequest,
    installation: u64,
    sender: &Account,
) -> Value {
    let mut payload = envelope(action, pull, installation, sender);
    payload["number"] = json!(pull.change.number);
    // Pull request events carry the full pull request; review events a
    // shorter one, without these.
    let c = &pull.change;
    let pr = &mut payload["pull_request"];
    pr["merged"] = json!(false);
    pr["merged_by"] = Value::Null;
    pr["commits"] = json!(pull.total_commits.unwrap_or(c.commits.len() as u64));
    pr["changed_files"] = json!(pull.changed_files.unwrap_or(c.files.len() as u64));
    if action == "closed" {
        let now = timestamp(Utc::now());
        payload["pull_request"]["state"] = json!("closed");
        payload["pull_request"]["closed_at"] = json!(now);
    }
    payload
}

/// The `pull_request` `closed` delivery of a merge: `merged` is true and
/// `merge_commit_sha` names the commit the merge created.
pub fn pull_request_merged(
    pull: &PullRequest,
    installation: u64,
    merged_by: &Account,
    merge_commit: &CommitSha,
    at: DateTime<Utc>,
) -> Value {
    let mut payload = pull_request("closed", pull, installation, merged_by);
    let pr = &mut payload["pull_request"];
    pr["closed_at"] = json!(timestamp(at));
    pr["merged_at"] = json!(timestamp(at));
    pr["merged"] = json!(true);
    pr["merge_commit_sha"] = json!(merge_commit.as_str());
    pr["merged_by"] = user(merged_by);
    payload
}

/// A `pull_request_review` `submitted` delivery of `review` on `pull`.
pub fn review_submitted(pull: &PullRequest, installation: u64, review: &Review) -> Value {
    let mut payload = envelope("submitted", pull, installation, &review.reviewer);
    let repo = &pull.change.repository;
    let number = pull.change.number;
    let id = review
        .id
        .unwrap_or_else(|| stable_id(&format!("{repo}#{number} review")));
    let html = format!("https://github.com/{repo}/pull/{number}#pullrequestreview-{id}");
    payload["review"] = json!({
        "id": id,
        "user": user(&review.reviewer),
        "body": null,
        "commit_id": review.commit_sha.as_str(),
        "submitted_at": timestamp(review.submitted_at),
        "state": review_state(review.state),
        "html_url": html,
        "pull_request_url": format!("https://api.github.com/repos/{repo}/pulls/{number}"),
        "author_association": if review.reviewer.is_bot() { "NONE" } else { "MEMBER" },
    });
    payload
}

/// A `check_run` `rerequested` delivery: `sender` clicked "Re-run" on
/// `run`, which lists `pulls`.
pub fn check_run_rerequested(
    run: &CheckRun,
    installation: u64,
    pulls: &[&PullRequest],
    sender: &Account,
) -> Value {
    let repo = repository(&run.repo, pulls.first().map_or("main", |p| &p.base_ref));
    let listed: Vec<Value> = pulls
        .iter()
        .map(|p| {
            json!({
                "url": format!("https://api.github.com/repos/{}/pulls/{}", run.repo, p.change.number),
                "id": stable_id(&format!("{}#{}", run.repo, p.change.number)),
                "number": p.change.number,
                "head": { "ref": p.head_ref, "sha": p.change.head_sha.as_str(), "repo": repo_ref(&repo) },
                "base": { "ref": p.base_ref, "sha": p.change.base_sha.as_str(), "repo": repo_ref(&repo) },
            })
        })
        .collect();
    json!({
        "action": "rerequested",
        "check_run": {
            "id": run.id,
            "head_sha": run.head_sha,
            "external_id": "",
            "url": format!("https://api.github.com/repos/{}/check-runs/{}", run.repo, run.id),
            "html_url": format!("https://github.com/{}/runs/{}", run.repo, run.id),
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "name": run.name,
            "app": { "id": run.app_id },
            "pull_requests": listed,
        },
        "repository": repo,
        "sender": user(sender),
        "installation": installation_json(installation),
    })
}

/// A merge group: the commit a merge queue built on `base_sha` of
/// `base_ref` for the entries up to pull request `last`.
#[derive(Clone, Debug)]
pub struct MergeGroup {
    pub repo: String,
    /// The base branch's name (`main`).
    pub base_ref: String,
    pub base_sha: CommitSha,
    pub head_sha: CommitSha,
    /// The last pull request of the group, which its head ref names.
    pub last: u64,
}

/// A `merge_group` `checks_requested` delivery: GitHub asks for the
/// required checks on the group's head commit.
pub fn merge_group_checks_requested(
    group: &MergeGroup,
    installation: u64,
    sender: &Account,
) -> Value {
    merge_group_event("checks_requested", group, installation, sender)
}

/// A `merge_group` `destroyed` delivery, for `reason` (`merged`,
/// `invalidated` or `dequeued`).
pub fn merge_group_destroyed(
    group: &MergeGroup,
    installation: u64,
    sender: &Account,
    reason: &str,
) -> Value {
    let mut payload = merge_group_event("destroyed", group, installation, sender);
    payload["reason"] = json!(reason);
    payload
}

fn merge_group_event(
    action: &str,
    group: &MergeGroup,
    installation: u64,
    sender: &Account,
) -> Value {
    let committer = json!({ "name": "GitHub", "email": "noreply@github.com" });
    json!({
        "action": action,
        "merge_group": {
            "head_sha": group.head_sha.as_str(),
            "head_ref": format!(
                "refs/heads/gh-readonly-queue/{}/pr-{}-{}",
                group.base_ref, group.last, group.base_sha.as_str()
            ),
            "base_sha": group.base_sha.as_str(),
            "base_ref": format!("refs/heads/{}", group.base_ref),
            "head_commit": {
                "id": group.head_sha.as_str(),
                "tree_id": hex::encode(Sha1::digest(group.head_sha.as_str().as_bytes())),
                "message": format!("Merge pull request #{} into {}", group.last, group.base_ref),
                "timestamp": timestamp(Utc::now()),
                "author": committer,
                "committer": committer,
            },
        },
        "repository": repository(&group.repo, &group.base_ref),
        "organization": { "login": group.repo.split('/').next().unwrap_or_default() },
        "sender": user(sender),
        "installation": installation_json(installation),
    })
}

/// An `issue_comment` `created` delivery: `author` commented `body` on
/// `pull`'s conversation (comment `id`). GitHub sends pull requests'
/// comments as comments on their issue, marked by `issue.pull_request`.
pub fn issue_comment(
    pull: &PullRequest,
    installation: u64,
    author: &Account,
    id: u64,
    body: &str,
) -> Value {
    let c = &pull.change;
    let (repo, number) = (&c.repository, c.number);
    let now = timestamp(Utc::now());
    let api = format!("https://api.github.com/repos/{repo}");
    json!({
        "action": "created",
        "issue": {
            "url": format!("{api}/issues/{number}"),
            "html_url": format!("https://github.com/{repo}/pull/{number}"),
            "number": number,
            "title": c.title,
            "user": c.author.as_ref().map(user),
            "state": "open",
            "pull_request": {
                "url": format!("{api}/pulls/{number}"),
                "html_url": format!("https://github.com/{repo}/pull/{number}"),
            },
            "body": c.body,
        },
        "comment": {
            "url": format!("{api}/issues/comments/{id}"),
            "html_url": format!("https://github.com/{repo}/pull/{number}#issuecomment-{id}"),
            "id": id,
            "user": user(author),
            "created_at": now,
            "updated_at": now,
            "author_association": "MEMBER",
            "body": body,
        },
        "repository": repository(repo, &pull.base_ref),
        "sender": user(author),
        "installation": installation_json(installation),
    })
}

/// `sha256=<hex>`: GitHub's `X-Hub-Signature-256` of a body under a
/// secret.
pub use crate::server::sign as signature;

/// Posts signed deliveries to a webhook endpoint, as GitHub does.
#[derive(Clone, Debug)]
pub struct WebhookSender {
    url: String,
    secret: String,
    http: reqwest::Client,
}

impl WebhookSender {
    /// Deliveries to `url` (`http://host/webhooks/github`), signed with
    /// `secret`.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> WebhookSender {
        WebhookSender {
            url: url.into(),
            secret: secret.into(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends `payload` as the `event` delivery `delivery` (a GUID, the same
    /// on a redelivery) and returns the status the endpoint answered.
    pub async fn send(
        &self,
        event: &str,
        delivery: &str,
        payload: &Value,
    ) -> reqwest::Result<reqwest::StatusCode> {
        let body = serde_json::to_vec(payload).expect("a JSON value serialises");
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/warrant-fake")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature(&self.secret, &body))
            .body(body)
            .send()
            .await?;
        Ok(response.status())
    }
}

/// A delivery id shaped like GitHub's (a GUID), the same for the same
/// `seed`, so that a replayed script is recognised as a redelivery.
pub fn delivery_id(seed: &str) -> String {
    guid(&hex::encode(Sha1::digest(seed.as_bytes())))
}

/// What every pull request and review delivery shares.
fn envelope(action: &str, pull: &PullRequest, installation: u64, sender: &Account) -> Value {
    let repo = repository(&pull.change.repository, &pull.base_ref);
    json!({
        "action": action,
        "pull_request": pull_request_json(pull, &repo),
        "repository": repo,
        "sender": user(sender),
        "installation": installation_json(installation),
    })
}

fn pull_request_json(pull: &PullRequest, repo: &Value) -> Value {
    let c = &pull.change;
    let (full_name, number) = (&c.repository, c.number);
    let api = format!("https://api.github.com/repos/{full_name}/pulls/{number}");
    let owner = repo["owner"]["login"].as_str().unwrap_or_default();
    let author = c.author.as_ref().map(user);
    let head_owner = c.author.as_ref().map_or(owner, |a| a.login.as_str());
    let now = timestamp(Utc::now());
    json!({
        "url": api,
        "id": stable_id(&format!("{full_name}#{number}")),
        "html_url": format!("https://github.com/{full_name}/pull/{number}"),
        "number": number,
        "state": "open",
        "locked": false,
        "title": c.title,
        "user": author,
        "body": c.body,
        "created_at": now,
        "updated_at": now,
        "closed_at": null,
        "merged_at": null,
        "merge_commit_sha": null,
        "assignee": c.assignees.first().map(user),
        "assignees": c.assignees.iter().map(user).collect::<Vec<_>>(),
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [],
        "draft": pull.draft,
        "head": {
            "label": format!("{head_owner}:{}", pull.head_ref),
            "ref": pull.head_ref,
            "sha": c.head_sha.as_str(),
            "user": repo["owner"],
            "repo": repo,
        },
        "base": {
            "label": format!("{owner}:{}", pull.base_ref),
            "ref": pull.base_ref,
            "sha": c.base_sha.as_str(),
            "user": repo["owner"],
            "repo": repo,
        },
        "author_association": if c.author.as_ref().is_some_and(Account::is_bot) { "NONE" } else { "MEMBER" },
    })
}

/// A private repository of an organisation, `owner/name`.
fn repository(full_name: &str, default_branch: &str) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
    json!({
        "id": stable_id(full_name),
        "name": name,
        "full_name": full_name,
        "private": true,
        "owner": {
            "login": owner,
            "id": stable_id(owner),
            "url": format!("https://api.github.com/users/{owner}"),
            "html_url": format!("https://github.com/{owner}"),
            "type": "Organization",
            "site_admin": false,
        },
        "html_url": format!("https://github.com/{full_name}"),
        "url": format!("https://api.github.com/repos/{full_name}"),
        "fork": false,
        "default_branch": default_branch,
        "visibility": "private",
    })
}

/// The short form of a repository in a check run's pull requests.
fn repo_ref(repo: &Value) -> Value {
    json!({ "id": repo["id"], "url": repo["url"], "name": repo["name"] })
}

/// An account as REST shows it: a bot's login ends in `[bot]`, and its
/// `type` is `Bot`.
fn user(account: &Account) -> Value {
    let login = account.login.as_str();
    let id = account.id.unwrap_or_else(|| stable_id(login));
    json!({
        "login": login,
        "id": id,
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": if account.is_bot() { "Bot" } else { "User" },
        "site_admin": false,
    })
}

fn installation_json(id: u64) -> Value {
    json!({ "id": id })
}

fn review_state(state: ReviewState) -> &'static str {
    match state {
        ReviewState::Approved => "approved",
        ReviewState::ChangesRequested => "changes_requested",
        ReviewState::Commented => "commented",
        ReviewState::Dismissed => "dismissed",
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A numeric id for what the fake does not number itself (repositories,
/// organisations, pull requests): stable for the same name, in GitHub's
/// range of 32-bit ids.
fn stable_id(name: &str) -> u64 {
    let digest = Sha1::digest(name.as_bytes());
    u64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{AccountKind, Change, Forge};
    use crate::forge::github::webhook::{self, GithubEvent, PullRequestAction};
    use crate::ids::Login;

    fn account(login: &str, kind: AccountKind) -> Account {
        Account {
            login: Login::parse(login).unwrap(),
            kind,
            id: Some(7),
        }
    }

    fn sha(c: char) -> CommitSha {
        CommitSha::parse(&c.to_string().repeat(40)).unwrap()
    }

    fn pull() -> PullRequest {
        PullRequest {
            change: Change {
                forge: Forge::Github,
                repository: "acme/payments".into(),
                number: 12,
                title: "Export statements".into(),
                body: String::new(),
                author: Some(account("copilot-swe-agent[bot]", AccountKind::Bot)),
                assignees: vec![account("priya", AccountKind::User)],
                base_sha: sha('b'),
                head_sha: sha('a'),
                commits: Vec::new(),
                files: Vec::new(),
                reviews: Vec::new(),
            },
            draft: false,
            base_ref: "main".into(),
            head_ref: "copilot/export".into(),
            changed_files: None,
            total_commits: None,
        }
    }

    fn parse(event: &str, payload: &Value) -> GithubEvent {
        let bytes = serde_json::to_vec(payload).unwrap();
        webhook::parse(event, &bytes).unwrap().unwrap()
    }

    #[test]
    fn a_merge_group_reads_back_as_warrant_parses_it() {
        let group = MergeGroup {
            repo: "acme/payments".into(),
            base_ref: "main".into(),
            base_sha: sha('b'),
            head_sha: sha('c'),
            last: 12,
        };
        let sender = account("priya", AccountKind::User);
        let GithubEvent::MergeGroup(event) = parse(
            "merge_group",
            &merge_group_checks_requested(&group, 5, &sender),
        ) else {
            panic!("not a merge group");
        };
        assert_eq!(event.action, webhook::MergeGroupAction::ChecksRequested);
        assert_eq!(event.installation_id, Some(5));
        assert_eq!(event.repo, "acme/payments");
        assert_eq!((&event.head_sha, &event.base_sha), (&sha('c'), &sha('b')));
        assert_eq!(event.base_branch(), "main");
        assert_eq!(event.last_pull_request(), Some(12));
        let GithubEvent::MergeGroup(gone) = parse(
            "merge_group",
            &merge_group_destroyed(&group, 5, &sender, "merged"),
        ) else {
            panic!("not a merge group");
        };
        assert_eq!(gone.action, webhook::MergeGroupAction::Destroyed);
        assert_eq!(gone.reason.as_deref(), Some("merged"));
    }

    #[test]
    fn github_s_documented_signature_example() {
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn delivery_ids_look_like_guids_and_repeat_for_the_same_seed() {
        let id = delivery_id("acme/payments#1 opened");
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(id, delivery_id("acme/payments#1 opened"));
        assert_ne!(id, delivery_id("acme/payments#2 opened"));
    }

    #[test]
    fn an_opened_pull_request_reads_back_as_the_fake_s_pull_request() {
        let bot = account("copilot-swe-agent[bot]", AccountKind::Bot);
        let payload = pull_request("opened", &pull(), 77, &bot);
        assert_eq!(payload["pull_request"]["user"]["type"], "Bot");
        assert_eq!(payload["sender"]["login"], "copilot-swe-agent[bot]");
        let GithubEvent::PullRequest(event) = parse("pull_request", &payload) else {
            panic!("not a pull request event");
        };
        assert_eq!(event.action, PullRequestAction::Opened);
        assert_eq!(event.installation_id, Some(77));
        assert_eq!(event.repo, "acme/payments");
        assert_eq!(event.number, 12);
        assert_eq!(event.head_sha, sha('a'));
        assert_eq!(event.base_sha, sha('b'));
        assert_eq!(event.base_ref, "main");
        assert!(!event.merged);
    }

    #[test]
    fn a_merged_pull_request_names_its_merge_commit() {
        let maria = account("maria", AccountKind::User);
        let payload = pull_request_merged(&pull(), 77, &maria, &sha('c'), Utc::now());
        let GithubEvent::PullRequest(event) = parse("pull_request", &payload) else {
            panic!("not a pull request event");
        };
        assert_eq!(event.action, PullRequestAction::Closed);
        assert!(event.merged);
        assert_eq!(event.merge_commit_sha, Some(sha('c')));
    }

    #[test]
    fn a_submitted_review_names_its_reviewer_state_and_commit() {
        let review = Review {
            id: Some(99),
            reviewer: account("devin-ai-integration[bot]", AccountKind::Bot),
            state: ReviewState::Approved,
            commit_sha: sha('a'),
            submitted_at: Utc::now(),
        };
        let payload = review_submitted(&pull(), 77, &review);
        assert_eq!(payload["review"]["user"]["type"], "Bot");
        let GithubEvent::Review(event) = parse("pull_request_review", &payload) else {
            panic!("not a review event");
        };
        assert_eq!(event.review_id, 99);
        assert_eq!(
            event.reviewer.unwrap().as_str(),
            "devin-ai-integration[bot]"
        );
        assert_eq!(event.state, webhook::ReviewState::Approved);
        assert_eq!(event.commit_id, Some(sha('a')));
        assert_eq!(event.base_sha, sha('b'));
    }
}
