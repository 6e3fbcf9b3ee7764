//! Who may approve an agent's change in a sensitive area, end to end:
//! signed review webhooks through the real router and worker, against the
//! fake GitHub, asserting on the check run it received. Each test runs on
//! SQLite, and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL` is set.
//! Approvals by a bot or by the requester, and on an earlier commit, are
//! in `forges.rs`, written once for both forges.

mod support;

use serde_json::Value;
use support::app::{App, POLICY, pull_request_event, review_event};
use support::github::{REPO, base, change, head, review, sha, user};
use support::store::on_each_backend;
use warrant::engine::{ChangedFile, Review, ReviewState};
use warrant::ids::{CommitSha, RepoPath};

/// Copilot's pull request `number` touching payments code, assigned to
/// alice, with no reviews; `sre` are the team's members. Delivers its
/// `opened` event and checks it waits for a human.
async fn waiting(app: &App, number: u64, sre: &[&str]) {
    app.fake.set_team("octo-org/sre", sre);
    app.add_copilot_pull(number, &["src/payments/charge.rs"]);
    let opened = pull_request_event("opened", number, base().as_str(), head().as_str());
    app.deliver_and_wait("pull_request", &format!("o-{number}"), &opened, 1)
        .await;
    assert_eq!(conclusion(app), "action_required");
}

/// Adds `review` to pull request `number` and delivers its `submitted`
/// event as the `n`-th delivery.
async fn submit(app: &App, number: u64, review: Review, n: u64) {
    let id = review.id.unwrap();
    let login = review.reviewer.login.to_string();
    let commit = review.commit_sha.clone();
    let state = match review.state {
        ReviewState::Approved => "approved",
        ReviewState::ChangesRequested => "changes_requested",
        _ => "commented",
    };
    {
        let mut s = app.fake.state();
        let pull = s.pulls.get_mut(&(REPO.to_owned(), number)).unwrap();
        pull.change.reviews.push(review);
    }
    let mut event = review_event(
        number,
        base().as_str(),
        head().as_str(),
        (id, &login, state),
    );
    event["review"]["commit_id"] = Value::from(commit.as_str());
    app.deliver_and_wait("pull_request_review", &format!("r-{id}"), &event, n)
        .await;
}

/// Whether the only check run's summary says `text`.
fn summary_says(app: &App, text: &str) -> bool {
    let run = app.the_check_run();
    run.summary.unwrap_or_default().contains(text)
}

/// Snapshots the only check run as published, under `name`: the same on
/// every database.
fn snapshot(app: &App, name: &str) {
    let run = app.the_check_run();
    let published = support::forge::Published::of_check_run(run);
    insta::assert_snapshot!(name.to_owned(), published.snapshot());
}

/// The conclusion of the only check run, completed.
fn conclusion(app: &App) -> String {
    let run = app.the_check_run();
    run.conclusion.clone().unwrap_or_else(|| panic!("{run:#?}"))
}

fn approved(id: u64, login: &str, user_id: u64, commit: CommitSha) -> Review {
    review(id, user(login, user_id), ReviewState::Approved, commit)
}

#[tokio::test]
async fn an_approval_by_a_human_who_authored_a_commit_does_not_count() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin"]);
        let mut c = change(53, 0, 2);
        c.files = vec![ChangedFile {
            path: RepoPath::parse("src/payments/charge.rs").unwrap(),
            previous_path: None,
        }];
        c.reviews.clear();
        let mut commit = c.commits[0].clone();
        // Its short sha, 0000000, is also the agent's commits'.
        commit.sha = sha(0xe1);
        commit.author.name = "erin".into();
        commit.author.email = "erin@example.com".into();
        commit.author.account = Some(user("erin", 5));
        commit.message = "Fix the rounding".into();
        c.commits.push(commit);
        app.add_pull(c);
        app.put_policy(base().as_str(), POLICY);
        let opened = pull_request_event("opened", 53, base().as_str(), head().as_str());
        app.deliver_and_wait("pull_request", "o-53", &opened, 1)
            .await;
        assert_eq!(conclusion(&app), "action_required");

        submit(&app, 53, approved(63, "erin", 5, head()), 2).await;
        assert_eq!(conclusion(&app), "action_required");
        assert!(summary_says(
            &app,
            "contributors to the change cannot approve it"
        ));
        snapshot(&app, "commit_author_not_counted");
    })
    .await;
}

#[tokio::test]
async fn changes_requested_after_an_approval_by_the_same_reviewer_waits_again() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        waiting(&app, 55, &["dave"]).await;
        submit(&app, 55, approved(65, "dave", 9, head()), 2).await;
        assert_eq!(conclusion(&app), "success");

        let withdrawn = review(66, user("dave", 9), ReviewState::ChangesRequested, head());
        submit(&app, 55, withdrawn, 3).await;
        assert_eq!(conclusion(&app), "action_required");
        assert!(summary_says(&app, "withdrawn by a later review"));
        snapshot(&app, "withdrawn_by_a_later_review");
        let conclusions: Vec<_> = app
            .evaluations(55)
            .await
            .into_iter()
            .map(|e| e.conclusion)
            .collect();
        assert_eq!(
            conclusions,
            ["action_required", "success", "action_required"]
        );
    })
    .await;
}

#[tokio::test]
async fn an_approval_by_someone_outside_the_approving_team_does_not_count() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        waiting(&app, 56, &["dave"]).await;
        submit(&app, 56, approved(67, "frank", 6, head()), 2).await;
        assert_eq!(conclusion(&app), "action_required");
        assert!(summary_says(&app, "not one of the approvers"));
        snapshot(&app, "outside_the_approving_team");

        submit(&app, 56, approved(68, "dave", 9, head()), 3).await;
        assert_eq!(conclusion(&app), "success");
    })
    .await;
}

#[tokio::test]
async fn an_approval_by_the_human_who_opened_a_claude_code_change_does_not_count() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["erin", "dave"]);
        let claude = "  claude:\n    role: feature-dev\n    owner: alice\n    match:\n      builtin: claude-code\nroles:";
        let policy = POLICY.replacen("roles:", claude, 1);
        let mut c = change(57, 0, 1);
        c.files = vec![ChangedFile {
            path: RepoPath::parse("src/payments/charge.rs").unwrap(),
            previous_path: None,
        }];
        c.reviews.clear();
        c.author = Some(user("erin", 5));
        c.assignees.clear();
        let commit = &mut c.commits[0];
        for person in [&mut commit.author, &mut commit.committer] {
            person.name = "erin".into();
            person.email = "erin@example.com".into();
            person.account = Some(user("erin", 5));
        }
        commit.message = "Fix the rounding\n\nCo-Authored-By: Claude <noreply@anthropic.com>".into();
        app.add_pull(c);
        app.put_policy(base().as_str(), &policy);
        let opened = pull_request_event("opened", 57, base().as_str(), head().as_str());
        app.deliver_and_wait("pull_request", "o-57", &opened, 1)
            .await;
        assert_eq!(conclusion(&app), "action_required");

        submit(&app, 57, approved(69, "erin", 5, head()), 2).await;
        assert_eq!(conclusion(&app), "action_required");

        submit(&app, 57, approved(70, "dave", 9, head()), 3).await;
        assert_eq!(conclusion(&app), "success");
    })
    .await;
}
