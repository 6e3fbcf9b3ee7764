//! The GitHub App client against the stateful fake GitHub, over real HTTP:
//! authentication, the request budget of an evaluation, check runs,
//! dismissals, registration, and retries. Requests are counted from the
//! fake's log.

mod support;

use std::time::Duration;

use support::github::*;
use warrant::engine::{AccountKind, Conclusion, ReviewState};
use warrant::forge::github::checks::{Annotation, CheckOutcome, MAX_SUMMARY_CHARS};
use warrant::forge::github::client::{GithubClient, GithubError};
use warrant::forge::github::fake::Fault;
use warrant::ids::{RepoPath, TeamName};

const POLICY: &str = "version: 1\nmode: enforce\n";

fn graphql_requests(g: &Github) -> usize {
    g.fake
        .requests()
        .iter()
        .filter(|r| r.path == "/graphql")
        .count()
}

/// Requests other than the token exchange, which is cached per hour.
fn api_requests(g: &Github) -> Vec<String> {
    g.fake
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/app/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused_with_a_clear_error() {
    let g = github_with_key("wrong-key.pem").await;
    let err = g.client.installation_token(INSTALLATION).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, GithubError::Key(_)), "{message}");
    assert!(message.contains("refused the JWT of app 4242"), "{message}");
    assert!(message.contains("private key"), "{message}");
}

#[tokio::test]
async fn the_installation_token_is_exchanged_once_for_several_calls() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(1, 3, 2)));
    for _ in 0..3 {
        g.client
            .fetch_pull_request(INSTALLATION, REPO, 1, &base(), &[])
            .await
            .unwrap();
    }
    let tokens = g
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/app/"))
        .count();
    assert_eq!(tokens, 1);
    assert_eq!(graphql_requests(&g), 3);
}

#[tokio::test]
async fn a_token_close_to_expiry_is_replaced() {
    let g = github().await;
    // Shorter than the refresh margin: never fresh enough to reuse.
    g.fake.state().token_lifetime = Some(chrono::Duration::minutes(4));
    for _ in 0..2 {
        g.client.installation_token(INSTALLATION).await.unwrap();
    }
    assert_eq!(g.fake.requests().len(), 2);
}

#[tokio::test]
async fn concurrent_calls_share_one_token_exchange() {
    let g = github().await;
    let call = || g.client.installation_token(INSTALLATION);
    let (a, b, c, d) = tokio::join!(call(), call(), call(), call());
    let tokens = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(g.fake.requests().len(), 1);
}

#[tokio::test]
async fn a_pull_request_with_100_files_and_100_commits_takes_one_request() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(7, 100, 100)));
    g.fake
        .put_file(REPO, base().as_str(), ".github/warrant.yml", POLICY);
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.clear_requests();

    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 7, &base(), &[])
        .await
        .unwrap();

    assert_eq!(api_requests(&g), ["POST /graphql"]);
    let c = &snap.change;
    assert_eq!(
        (c.number, c.title.as_str(), c.body.as_str()),
        (7, "Add the billing export", "Closes #12")
    );
    assert_eq!((c.base_sha.clone(), c.head_sha.clone()), (base(), head()));
    assert_eq!((c.files.len(), c.commits.len()), (100, 100));
    let author = c.author.as_ref().unwrap();
    assert_eq!(author.login.as_str(), "copilot-swe-agent[bot]");
    assert_eq!(
        (author.kind, author.id),
        (AccountKind::Bot, Some(198982749))
    );
    assert_eq!(c.assignees[0].login.as_str(), "alice");
    assert_eq!(c.assignees[0].kind, AccountKind::User);
    let commit = &c.commits[0];
    assert_eq!(
        commit.author.email,
        "198982749+Copilot@users.noreply.github.com"
    );
    assert!(
        commit.author.account.is_none(),
        "GraphQL links commits to users only"
    );
    assert_eq!(
        commit.committer.account.as_ref().unwrap().login.as_str(),
        "alice"
    );
    assert!(commit.message.contains("Co-authored-by: alice"));
    let reviews: Vec<_> = c
        .reviews
        .iter()
        .map(|r| (r.id, r.reviewer.login.as_str(), r.reviewer.kind, r.state))
        .collect();
    assert_eq!(
        reviews,
        [
            (Some(11), "bob", AccountKind::User, ReviewState::Approved),
            (
                Some(12),
                "renovate[bot]",
                AccountKind::Bot,
                ReviewState::Approved
            ),
            (Some(13), "carol", AccountKind::User, ReviewState::Commented),
        ]
    );
    let policy = snap.policy.unwrap();
    assert_eq!(policy.path.as_str(), ".github/warrant.yml");
    assert_eq!(policy.text, POLICY);
    assert_eq!(policy.blob_id, warrant::policy::blob_id(POLICY.as_bytes()));
    assert!(!snap.is_draft);
    assert!(snap.files_complete && snap.commits_complete);
    assert_eq!(
        (snap.base_ref.as_str(), snap.head_ref.as_str()),
        ("main", "copilot/billing")
    );
}

#[tokio::test]
async fn the_policy_falls_back_to_the_root_file_and_may_be_absent() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(1, 1, 1)));
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 1, &base(), &[])
        .await
        .unwrap();
    assert!(snap.policy.is_none());
    g.fake
        .put_file(REPO, base().as_str(), ".warrant.yml", POLICY);
    // Only at the base: the same file at the head is not read.
    g.fake.put_file(
        REPO,
        head().as_str(),
        ".github/warrant.yml",
        "version: 1\nmode: observe\n",
    );
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 1, &base(), &[])
        .await
        .unwrap();
    assert_eq!(snap.policy.unwrap().path.as_str(), ".warrant.yml");
}

#[tokio::test]
async fn renamed_files_get_their_previous_path_for_one_more_request() {
    let g = github().await;
    let mut c = change(3, 100, 5);
    c.files[42].previous_path = Some(RepoPath::parse("infra/old.tf").unwrap());
    g.fake.add_pull_request(pull(c));
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.clear_requests();

    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 3, &base(), &[])
        .await
        .unwrap();

    assert_eq!(
        api_requests(&g),
        [
            "POST /graphql",
            "GET /repos/octo-org/api/pulls/3/files?per_page=100&page=1"
        ]
    );
    let renamed = &snap.change.files[42];
    assert_eq!(
        renamed.previous_path.as_ref().unwrap().as_str(),
        "infra/old.tf"
    );
    assert!(
        snap.change
            .touched_paths()
            .any(|p| p.as_str() == "infra/old.tf")
    );
}

#[tokio::test]
async fn a_pull_request_with_250_files_is_paginated() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(9, 250, 30)));
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.clear_requests();

    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 9, &base(), &[])
        .await
        .unwrap();

    assert_eq!(snap.change.files.len(), 250);
    assert_eq!(snap.change.files[249].path.as_str(), "src/billing/f249.rs");
    assert_eq!(snap.change.commits.len(), 30);
    assert_eq!(snap.change.reviews.len(), 3);
    assert_eq!(graphql_requests(&g), 3);
    // Later pages ask only for the files.
    let last = &g.fake.requests()[2].body;
    assert!(
        last.contains(r#""commits":false"#) && last.contains(r#""files":true"#),
        "{last}"
    );
}

#[tokio::test]
async fn a_moved_base_is_read_again_at_the_new_base() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(4, 2, 1)));
    g.fake
        .put_file(REPO, base().as_str(), ".github/warrant.yml", POLICY);
    let stale = sha(0x01d);
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 4, &stale, &[])
        .await
        .unwrap();
    assert_eq!(snap.change.base_sha, base());
    assert_eq!(snap.policy.unwrap().text, POLICY);
    assert_eq!(graphql_requests(&g), 2);
}

#[tokio::test]
async fn a_missing_pull_request_is_an_error() {
    let g = github().await;
    let err = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 404, &base(), &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("octo-org/api#404"), "{err}");
}

#[tokio::test]
async fn teams_are_resolved_in_one_query_then_served_from_the_cache() {
    let g = github().await;
    g.fake.set_team("octo-org/sre", &["alice", "bob"]);
    let many: Vec<String> = (0..130).map(|i| format!("dev{i}")).collect();
    g.fake.set_team(
        "octo-org/devs",
        &many.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let sre = TeamName::parse("octo-org/SRE").unwrap();
    let devs = TeamName::parse("octo-org/devs").unwrap();
    let ghost = TeamName::parse("octo-org/ghost").unwrap();
    let elsewhere = TeamName::parse("no-such-org/sre").unwrap();
    let teams = [&sre, &devs, &ghost, &elsewhere];

    let members = g.client.team_members(INSTALLATION, &teams).await.unwrap();
    assert_eq!(members["octo-org/SRE"].len(), 2);
    assert_eq!(members["octo-org/devs"].len(), 130);
    assert!(members["octo-org/ghost"].is_empty());
    assert!(members["no-such-org/sre"].is_empty());
    // One query for the four teams, one for the devs' second page.
    assert_eq!(graphql_requests(&g), 2);

    g.fake.clear_requests();
    let again = g.client.team_members(INSTALLATION, &teams).await.unwrap();
    assert_eq!(again, members);
    assert!(g.fake.requests().is_empty());
}

#[tokio::test]
async fn an_expired_team_entry_is_fetched_again() {
    use warrant::forge::github::teams::TeamCache;
    let g = github().await;
    let client = GithubClient::new(&g.fake.base_url(), APP_ID, key("app-key.pem").as_bytes())
        .unwrap()
        .with_team_cache(TeamCache::new(Duration::ZERO));
    g.fake.set_team("octo-org/sre", &["alice"]);
    let sre = TeamName::parse("octo-org/sre").unwrap();
    client.team_members(INSTALLATION, &[&sre]).await.unwrap();
    client.team_members(INSTALLATION, &[&sre]).await.unwrap();
    assert_eq!(graphql_requests(&g), 2);
}

fn outcome(annotations: usize, summary: String) -> CheckOutcome {
    CheckOutcome {
        conclusion: Conclusion::Failure,
        title: "Blocked: 120 files out of scope".into(),
        summary,
        annotations: (0..annotations)
            .map(|i| Annotation {
                path: RepoPath::parse(&format!("infra/f{i}.tf")).unwrap(),
                line: None,
                blocking: i % 2 == 0,
                message: "out of the agent's scope".into(),
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_check_run_with_120_annotations_is_written_50_at_a_time() {
    let g = github().await;
    let details = "https://warrant.example.com/changes/github/octo-org/api/7";
    let id = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), Some(details))
        .await
        .unwrap();
    let created = g.fake.check_runs();
    assert_eq!(created[0].status, "in_progress");
    assert_eq!(created[0].name, "warrant");

    g.client
        .complete_check_run(INSTALLATION, REPO, id, &outcome(120, "**Blocked**".into()))
        .await
        .unwrap();

    let writes: Vec<_> = api_requests(&g);
    assert_eq!(writes.len(), 4, "{writes:?}");
    assert_eq!(writes[0], "POST /repos/octo-org/api/check-runs");
    assert!(
        writes[1..]
            .iter()
            .all(|w| w == &format!("PATCH /repos/octo-org/api/check-runs/{}", id.0))
    );
    let run = &g.fake.check_runs()[0];
    assert_eq!(run.status, "completed");
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    assert_eq!(
        run.title.as_deref(),
        Some("Blocked: 120 files out of scope")
    );
    assert_eq!(run.summary.as_deref(), Some("**Blocked**"));
    assert_eq!(run.details_url.as_deref(), Some(details));
    assert_eq!(run.annotations.len(), 120);
    let sizes: Vec<usize> = run.history[1..]
        .iter()
        .map(|b| b["output"]["annotations"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(run.annotations[0]["annotation_level"], "failure");
    assert_eq!(run.annotations[1]["annotation_level"], "warning");
    assert_eq!(run.annotations[0]["start_line"], 1);
}

#[tokio::test]
async fn re_evaluation_finds_and_updates_the_same_check_run() {
    let g = github().await;
    assert_eq!(
        g.client
            .find_check_run(INSTALLATION, REPO, &head())
            .await
            .unwrap(),
        None
    );
    let id = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let found = g
        .client
        .find_check_run(INSTALLATION, REPO, &head())
        .await
        .unwrap();
    assert_eq!(found, Some(id));
    let mut passed = outcome(0, "ok".into());
    passed.conclusion = Conclusion::Success;
    g.client
        .complete_check_run(INSTALLATION, REPO, id, &passed)
        .await
        .unwrap();
    assert_eq!(g.fake.check_runs().len(), 1);
    assert_eq!(
        g.fake.check_runs()[0].conclusion.as_deref(),
        Some("success")
    );
}

#[tokio::test]
async fn a_check_run_named_warrant_by_another_app_is_not_reused() {
    let g = github().await;
    let ours = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let mut theirs = g.fake.check_runs()[0].clone();
    theirs.id += 100;
    theirs.app_id = 15368; // GitHub Actions
    g.fake.state().check_runs.push(theirs);
    let found = g
        .client
        .find_check_run(INSTALLATION, REPO, &head())
        .await
        .unwrap();
    assert_eq!(found, Some(ours));
    assert!(api_requests(&g)[1].contains("app_id=4242"));
}

#[tokio::test]
async fn a_long_summary_is_truncated_to_githubs_limit_at_a_character_boundary() {
    let g = github().await;
    let id = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let long = "é".repeat(MAX_SUMMARY_CHARS + 10);
    g.client
        .complete_check_run(INSTALLATION, REPO, id, &outcome(0, long))
        .await
        .unwrap();
    let summary = g.fake.check_runs()[0].summary.clone().unwrap();
    assert!(summary.len() <= MAX_SUMMARY_CHARS);
    assert!(summary.len() > MAX_SUMMARY_CHARS - 100);
    assert!(summary.starts_with("éé"));
    assert!(summary.ends_with("see the audit page for the full report)"));
}

#[tokio::test]
async fn an_agent_approval_is_dismissed_with_the_reason() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(7, 1, 1)));
    let why = "Warrant: approvals by agents never count (`agent_reviews: dismiss`).";
    g.client
        .dismiss_review(INSTALLATION, REPO, 7, 12, why)
        .await
        .unwrap();
    let d = &g.fake.dismissals()[0];
    assert_eq!(
        (d.repo.as_str(), d.number, d.review_id, d.message.as_str()),
        (REPO, 7, 12, why)
    );
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 7, &base(), &[])
        .await
        .unwrap();
    assert_eq!(snap.change.reviews[1].state, ReviewState::Dismissed);
}

#[tokio::test]
async fn a_refused_dismissal_is_not_retried() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(7, 1, 1)));
    let err = g
        .client
        .dismiss_review(INSTALLATION, REPO, 7, 13, "no")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(
        err.to_string().contains("Can not dismiss a commented"),
        "{err}"
    );
    assert_eq!(api_requests(&g).len(), 1);
}

#[tokio::test]
async fn the_manifest_code_is_exchanged_for_the_apps_credentials() {
    let g = github().await;
    g.fake.state().manifests.insert(
        "abc123".into(),
        serde_json::json!({
            "id": 99, "slug": "warrant-acme", "node_id": "A_1", "name": "Warrant (acme)",
            "pem": "-----BEGIN RSA PRIVATE KEY-----\n...", "webhook_secret": "s3cret",
            "client_id": "Iv1.abc", "client_secret": "shh",
            "html_url": "https://github.com/apps/warrant-acme", "owner": { "login": "acme" },
        }),
    );
    let client = GithubClient::unauthenticated(&g.fake.base_url()).unwrap();
    let app = client.convert_manifest("abc123").await.unwrap();
    assert_eq!((app.id, app.slug.as_str()), (99, "warrant-acme"));
    assert_eq!(app.webhook_secret.as_deref(), Some("s3cret"));
    assert_eq!(
        (app.client_id.as_str(), app.client_secret.as_str()),
        ("Iv1.abc", "shh")
    );
    assert!(
        !format!("{app:?}").contains("shh"),
        "secrets stay out of logs"
    );
    // A code works once.
    let err = client.convert_manifest("abc123").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(1, 1, 1)));
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.fail_next("POST", "/graphql", 2, Fault::ServerError);
    g.fake.clear_requests();
    g.client
        .fetch_pull_request(INSTALLATION, REPO, 1, &base(), &[])
        .await
        .unwrap();
    assert_eq!(graphql_requests(&g), 3);
    assert_eq!(g.waits.all().len(), 2);
    assert!(g.waits.all().iter().all(|w| *w <= Duration::from_millis(4)));
    assert_eq!(g.client.stats().retries(), 2);
}

#[tokio::test]
async fn persistent_server_errors_give_up_after_the_attempts() {
    let g = github().await;
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.fail_next("POST", "/repos/", 10, Fault::ServerError);
    let err = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(api_requests(&g).len(), 5);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let g = github().await;
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.fail_next(
        "POST",
        "/repos/",
        1,
        Fault::TooManyRequests { retry_after: 7 },
    );
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    assert_eq!(g.waits.all(), [Duration::from_secs(7)]);
    assert_eq!(api_requests(&g).len(), 2);
}

#[tokio::test]
async fn a_403_rate_limit_waits_until_the_reset() {
    let g = github().await;
    g.client.installation_token(INSTALLATION).await.unwrap();
    let reset = chrono::Utc::now().timestamp() as u64 + 30;
    g.fake.fail_next(
        "POST",
        "/repos/",
        1,
        Fault::RateLimited { reset_epoch: reset },
    );
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let wait = g.waits.all()[0];
    assert!(
        wait >= Duration::from_secs(29) && wait <= Duration::from_secs(32),
        "{wait:?}"
    );
    assert_eq!(api_requests(&g).len(), 2);
}

#[tokio::test]
async fn a_rate_limit_reset_beyond_the_longest_wait_fails_instead() {
    let g = github().await;
    g.client.installation_token(INSTALLATION).await.unwrap();
    let reset = chrono::Utc::now().timestamp() as u64 + 3600;
    g.fake.fail_next(
        "POST",
        "/repos/",
        1,
        Fault::RateLimited { reset_epoch: reset },
    );
    let err = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(g.waits.all().is_empty());
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let g = github().await;
    g.client.installation_token(INSTALLATION).await.unwrap();
    let err = g
        .client
        .dismiss_review(INSTALLATION, REPO, 999, 1, "x")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(api_requests(&g).len(), 1);
    assert!(g.waits.all().is_empty());
}

#[tokio::test]
async fn every_attempt_is_counted_and_reported_to_the_hook() {
    let g = github().await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    g.client
        .stats()
        .set_hook(std::sync::Arc::new(move |m: &str, p: &str, s: u16, _| {
            sink.lock().unwrap().push(format!("{m} {p} {s}"));
        }));
    g.fake.fail_next("POST", "/repos/", 1, Fault::ServerError);
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    assert_eq!(g.client.stats().requests(), 3);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "POST /app/installations/77/access_tokens 201",
            "POST /repos/octo-org/api/check-runs 500",
            "POST /repos/octo-org/api/check-runs 201",
        ]
    );
}

#[tokio::test]
async fn the_fakes_check_runs_have_the_fields_of_the_real_api() {
    let g = github().await;
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let token = g.client.installation_token(INSTALLATION).await.unwrap();
    let url = format!(
        "{}/repos/{REPO}/commits/{}/check-runs",
        g.fake.base_url(),
        head().as_str()
    );
    let ours: serde_json::Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let real: serde_json::Value =
        serde_json::from_str(&api_fixture("checks_list_for_ref.json")).unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&real));
    assert_eq!(keys(&ours["check_runs"][0]), keys(&real["check_runs"][0]));
    assert_eq!(
        keys(&ours["check_runs"][0]["output"]),
        keys(&real["check_runs"][0]["output"])
    );
}

/// The measured budget of an evaluation, as `docs/github-api.md` reports
/// it: fetch (pull request, commits, files, reviews, policy and teams in
/// one query), create the check run, complete it.
#[tokio::test]
async fn an_evaluation_of_a_100_file_pull_request_spends_three_requests() {
    let g = github().await;
    g.fake.add_pull_request(pull(change(7, 100, 100)));
    g.fake
        .put_file(REPO, base().as_str(), ".github/warrant.yml", POLICY);
    g.fake.set_team("octo-org/sre", &["bob"]);
    let sre = TeamName::parse("octo-org/sre").unwrap();
    // The token is exchanged once an hour per installation, not per evaluation.
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.clear_requests();

    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 7, &base(), &[&sre])
        .await
        .unwrap();
    let id = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let annotations = outcome(50, "**Blocked**".into());
    g.client
        .complete_check_run(INSTALLATION, REPO, id, &annotations)
        .await
        .unwrap();

    assert_eq!(snap.teams["octo-org/sre"][0].as_str(), "bob");
    assert_eq!(snap.change.files.len(), 100);
    assert_eq!(api_requests(&g).len(), 3, "{:?}", api_requests(&g));

    // Re-evaluation with the stored check run id: teams come from the cache.
    g.fake.clear_requests();
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 7, &base(), &[&sre])
        .await
        .unwrap();
    g.client
        .complete_check_run(INSTALLATION, REPO, id, &annotations)
        .await
        .unwrap();
    assert_eq!(snap.teams["octo-org/sre"].len(), 1);
    assert_eq!(api_requests(&g).len(), 2);
    assert!(
        !g.fake.requests()[0].body.contains("\"o0\""),
        "no team asked again"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let g = github().await;
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    g.fake.revoke_tokens();
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    let tokens = g
        .fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/app/"))
        .count();
    assert_eq!(tokens, 2);
    assert_eq!(g.fake.check_runs().len(), 2);
}

#[tokio::test]
async fn a_decision_becomes_the_checks_outcome_with_its_audit_link() {
    use warrant::engine::{Violation, ViolationKind};
    let mut decision = warrant::engine::not_configured(
        &change(7, 2, 1),
        &warrant::engine::Context::default(),
        chrono::Utc::now(),
    );
    decision.violations.push(Violation {
        from: Default::default(),
        line: None,
        kind: ViolationKind::OutOfScope,
        agent: Some("copilot".into()),
        message: "outside the scope of `copilot`".into(),
        paths: vec![RepoPath::parse("infra/main.tf").unwrap()],
        blocking: true,
    });
    let audit = "https://warrant.example.com/changes/github/octo-org/api/7";
    let outcome = CheckOutcome::from_decision(&decision, Some(audit));
    assert_eq!(outcome.conclusion, Conclusion::Neutral);
    assert_eq!(outcome.title, decision.title);
    assert!(outcome.summary.contains(audit));
    assert_eq!(outcome.annotations.len(), 1);
    assert!(outcome.annotations[0].blocking);

    let g = github().await;
    let id = g
        .client
        .create_check_run(INSTALLATION, REPO, &head(), Some(audit))
        .await
        .unwrap();
    g.client
        .complete_check_run(INSTALLATION, REPO, id, &outcome)
        .await
        .unwrap();
    let run = &g.fake.check_runs()[0];
    assert_eq!(run.annotations[0]["path"], "infra/main.tf");
    assert_eq!(run.annotations[0]["annotation_level"], "failure");
    assert_eq!(run.conclusion.as_deref(), Some("neutral"));
}

#[tokio::test]
async fn the_fake_records_and_refuses_unknown_routes() {
    let g = github().await;
    let token = g.client.installation_token(INSTALLATION).await.unwrap();
    let status = reqwest::Client::new()
        .get(format!("{}/repos/{REPO}/issues", g.fake.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    assert_eq!(api_requests(&g), [format!("GET /repos/{REPO}/issues")]);
}

#[tokio::test]
async fn the_rate_limit_left_is_read_from_every_response() {
    let g = github().await;
    g.client
        .create_check_run(INSTALLATION, REPO, &head(), None)
        .await
        .unwrap();
    // The token exchange and the create.
    assert_eq!(g.client.stats().rate_limit_remaining(), Some(4998));
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let g = github().await;
    let waits = g.waits.clone();
    let retry = warrant::forge::github::retry::RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        sleep: std::sync::Arc::new(move |d| {
            waits.0.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..Default::default()
    };
    let client = GithubClient::unauthenticated(&url)
        .unwrap()
        .with_retry(retry);
    let err = client.convert_manifest("abc").await.unwrap_err();
    assert!(matches!(err, GithubError::Transport { .. }), "{err}");
    assert_eq!(client.stats().requests(), 5);
    assert_eq!(g.waits.all().len(), 4);
}

#[tokio::test]
async fn a_small_pull_request_reads_as_this_change() {
    let g = github().await;
    let mut c = change(5, 2, 2);
    c.files[1].previous_path = Some(RepoPath::parse("infra/old.tf").unwrap());
    g.fake.add_pull_request(pull(c));
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 5, &base(), &[])
        .await
        .unwrap();
    insta::assert_json_snapshot!(snap.change);
}

#[tokio::test]
async fn a_pull_request_over_githubs_listing_limits_is_marked_incomplete() {
    let g = github().await;
    let mut over = pull(change(8, 3, 1));
    over.changed_files = Some(3001);
    g.fake.add_pull_request(over);
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 8, &base(), &[])
        .await
        .unwrap();
    assert!(!snap.files_complete);
}

#[tokio::test]
async fn commits_and_reviews_over_100_are_paginated_together() {
    let g = github().await;
    let mut c = change(10, 5, 150);
    for i in 0..120 {
        c.reviews.push(review(
            100 + i,
            user("dave", 9),
            ReviewState::Commented,
            head(),
        ));
    }
    g.fake.add_pull_request(pull(c));
    g.client.installation_token(INSTALLATION).await.unwrap();
    g.fake.clear_requests();
    let snap = g
        .client
        .fetch_pull_request(INSTALLATION, REPO, 10, &base(), &[])
        .await
        .unwrap();
    assert_eq!(snap.change.commits.len(), 150);
    assert_eq!(snap.change.reviews.len(), 123);
    assert!(snap.commits_complete);
    assert_eq!(graphql_requests(&g), 2);
}
