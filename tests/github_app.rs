//! The GitHub App end to end: signed webhooks through the real router, the
//! worker evaluating them against the fake GitHub, and assertions on what
//! the fake received (check runs, dismissals) and what the store holds. Each
//! test runs on SQLite, and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL`
//! is set. What the app does the same on GitLab is in `forges.rs`, written
//! once for both forges.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::app::{App, check_run_rerequested, pull_request_event, review_event};
use support::github::{REPO, base, head, review, sha, user};
use support::keys::key;
use support::store::on_each_backend;
use warrant::engine::ReviewState;
use warrant::forge::github::fake::Fault;

/// A pull request by Copilot touching `paths`, with no reviews, under
/// `support::app::POLICY`; the `opened` delivery for it.
fn setup(app: &App, number: u64, paths: &[&str]) -> Value {
    app.add_copilot_pull(number, paths);
    opened(number)
}

fn opened(number: u64) -> Value {
    pull_request_event("opened", number, base().as_str(), head().as_str())
}

#[tokio::test]
async fn a_review_of_a_pull_request_never_evaluated_reads_it_once_at_the_base_it_names() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        setup(&app, 18, &["src/lib.rs"]);
        let approval = review_event(
            18,
            base().as_str(),
            head().as_str(),
            (41, "bob", "approved"),
        );
        app.deliver_and_wait("pull_request_review", "d-21", &approval, 1)
            .await;

        assert_eq!(app.the_check_run().conclusion.as_deref(), Some("success"));
        let fetches = app
            .api_requests()
            .iter()
            .filter(|r| r.ends_with("WarrantPullRequest"))
            .count();
        assert_eq!(fetches, 1, "{:?}", app.api_requests());
    })
    .await;
}

fn add_review(app: &App, number: u64, review: warrant::engine::Review) {
    let mut state = app.fake.state();
    let pull = state.pulls.get_mut(&(REPO.to_owned(), number)).unwrap();
    pull.change.reviews.push(review);
}

#[tokio::test]
async fn a_pull_request_with_more_files_than_github_lists_fails_closed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 13, &["src/lib.rs"]);
        let key = (REPO.to_owned(), 13);
        app.fake.state().pulls.get_mut(&key).unwrap().changed_files = Some(3001);
        app.deliver_and_wait("pull_request", "d-15", &event, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"));
        assert_eq!(
            run.title.as_deref(),
            Some("Warrant could not evaluate this change")
        );
        let stored = app.evaluations(13).await;
        assert_eq!(
            (stored[0].conclusion.as_str(), stored[0].decision.as_deref()),
            ("failure", None)
        );
    })
    .await;
}

#[tokio::test]
async fn events_arriving_together_share_one_check_run() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 14, &["src/lib.rs"]);
        let reopened = pull_request_event("reopened", 14, base().as_str(), head().as_str());
        let (a, b) = tokio::join!(
            app.deliver("pull_request", "d-16", &event),
            app.deliver("pull_request", "d-17", &reopened),
        );
        assert_eq!((a, b), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
        app.wait_for_deliveries(2).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"));
        assert_eq!(app.evaluations(14).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_head_pushed_since_the_event_gets_the_decision_and_the_old_run_is_closed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        // Another pull request first, at another head, so that the
        // repository is known and the check run shows in progress before
        // the pull request is read.
        app.add_copilot_pull(26, &["src/lib.rs"]);
        let elsewhere = sha(0x26);
        app.push_to(26, &elsewhere);
        let first = pull_request_event("opened", 26, base().as_str(), elsewhere.as_str());
        app.deliver_and_wait("pull_request", "d-19a", &first, 1)
            .await;
        let event = setup(&app, 16, &["src/lib.rs"]);
        let newer = sha(0x4eaf);
        app.push_to(16, &newer);
        app.deliver_and_wait("pull_request", "d-19", &event, 2)
            .await;

        let runs = app.check_runs();
        let by_head = |sha: &str| runs.iter().find(|r| r.head_sha == sha).unwrap();
        let old = by_head(head().as_str());
        assert_eq!(old.conclusion.as_deref(), Some("neutral"));
        assert_eq!(old.title.as_deref(), Some("Superseded by a newer commit"));
        assert_eq!(
            by_head(newer.as_str()).conclusion.as_deref(),
            Some("success")
        );
        assert_eq!(app.evaluations(16).await[0].head_sha, newer.as_str());
    })
    .await;
}

#[tokio::test]
async fn an_evaluation_that_outlives_its_lease_publishes_nothing() {
    on_each_backend(|url| async move {
        // A lease that has run out as soon as it is taken; one task, so
        // that nobody else takes the delivery over meanwhile.
        let app = App::start_with(&url, |c| {
            c.lease = std::time::Duration::ZERO;
            c.tasks = 1;
        })
        .await;
        let event = setup(&app, 17, &["src/lib.rs"]);
        app.deliver_and_wait("pull_request", "d-20", &event, 3)
            .await;

        let runs = app.check_runs();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, "in_progress", "never completed, never open");
        assert!(app.evaluations(17).await.is_empty());
        assert_eq!(app.server.queue().await.failed, 1);
    })
    .await;
}

#[tokio::test]
async fn deliveries_queued_while_no_worker_ran_are_evaluated_when_one_starts() {
    on_each_backend(|url| async move {
        let mut app = App::without_worker(&url).await;
        let event = setup(&app, 9, &["src/lib.rs"]);
        assert_eq!(
            app.deliver("pull_request", "d-11", &event).await,
            StatusCode::ACCEPTED
        );
        assert_eq!(app.server.queue().await.queued, 1);
        assert!(app.check_runs().is_empty());

        app.start_worker();
        app.wait_for_deliveries(1).await;
        assert_eq!(app.the_check_run().conclusion.as_deref(), Some("success"));
    })
    .await;
}

#[tokio::test]
async fn a_rerequested_check_run_is_evaluated_again_in_two_requests() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 12, &["src/lib.rs"]);
        app.deliver_and_wait("pull_request", "d-13", &event, 1)
            .await;
        app.fake.clear_requests();

        let rerun = check_run_rerequested(12, head().as_str());
        app.deliver_and_wait("check_run", "d-14", &rerun, 2).await;

        // The stored run and base: fetch and complete only.
        let requests = app.api_requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"));
        assert_eq!(run.history.len(), 2, "created completed, completed again");
        assert_eq!(app.evaluations(12).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_rerequested_check_run_of_another_app_is_left_alone() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        setup(&app, 15, &["src/lib.rs"]);
        let mut rerun = check_run_rerequested(15, head().as_str());
        rerun["check_run"]["app"]["id"] = Value::from(999);
        app.deliver_and_wait("check_run", "d-18", &rerun, 1).await;

        assert!(app.check_runs().is_empty());
        assert!(app.evaluations(15).await.is_empty());
        assert_eq!(app.server.queue().await.failed, 0);
    })
    .await;
}

#[tokio::test]
async fn a_squashed_merge_and_a_plain_close_are_told_apart_in_the_trail() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let squash = "2222222222222222222222222222222222222222";
        app.fake.state().commits.insert(
            (REPO.to_owned(), squash.to_owned()),
            (
                vec![base().as_str().to_owned()],
                "Export invoices (#20)\n\n* first\n* second".to_owned(),
            ),
        );
        let mut merged = pull_request_event("closed", 20, base().as_str(), head().as_str());
        merged["pull_request"]["merged"] = Value::Bool(true);
        merged["pull_request"]["commits"] = Value::from(2);
        merged["pull_request"]["merge_commit_sha"] = Value::from(squash);
        app.deliver_and_wait("pull_request", "d-20", &merged, 1)
            .await;
        let closed = pull_request_event("closed", 21, base().as_str(), head().as_str());
        app.deliver_and_wait("pull_request", "d-21", &closed, 2)
            .await;

        let trail = app
            .store
            .audit_events_of_change(&key("github", REPO, 20))
            .await
            .unwrap();
        assert_eq!(trail.last().unwrap().event.detail["merge_method"], "squash");
        let trail = app
            .store
            .audit_events_of_change(&key("github", REPO, 21))
            .await
            .unwrap();
        assert_eq!(trail.last().unwrap().event.kind.as_str(), "change_closed");
        assert!(
            app.store
                .last_merge(&key("github", REPO, 21))
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

/// No agent registered: Copilot's change is an unregistered agent's,
/// handled by `action`.
fn unregistered_policy(action: &str) -> String {
    format!(
        "version: 1\nmode: enforce\nunregistered_agents:\n  action: {action}\n  approvers: [\"octo-org/sre\"]\n"
    )
}

/// Evaluates Copilot's pull request `number` under [`unregistered_policy`].
async fn unregistered(
    app: &App,
    number: u64,
    action: &str,
) -> warrant::forge::github::fake::CheckRun {
    app.fake.set_team("octo-org/sre", &["dave"]);
    let event = setup(app, number, &["src/lib.rs"]);
    app.put_policy(base().as_str(), &unregistered_policy(action));
    app.deliver_and_wait("pull_request", &format!("u-{number}"), &event, 1)
        .await;
    app.the_check_run()
}

#[tokio::test]
async fn an_unregistered_agent_allowed_succeeds() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let run = unregistered(&app, 71, "allow").await;
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
    })
    .await;
}

#[tokio::test]
async fn an_unregistered_agent_warned_succeeds_saying_so_in_the_summary() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let run = unregistered(&app, 72, "warn").await;
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        let summary = run.summary.clone().unwrap_or_default().to_lowercase();
        assert!(summary.contains("unregistered"), "{run:#?}");
        let published = support::forge::Published::of_check_run(run);
        insta::assert_snapshot!("unregistered_agent_warned", published.snapshot());
    })
    .await;
}

#[tokio::test]
async fn an_unregistered_agent_blocked_fails() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let run = unregistered(&app, 74, "block").await;
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        assert_eq!(app.evaluations(74).await[0].conclusion, "failure");
    })
    .await;
}

#[tokio::test]
async fn a_rate_limited_request_waits_for_the_reset_and_the_evaluation_completes() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 75, &["src/lib.rs"]);
        let reset = chrono::Utc::now().timestamp() as u64 + 30;
        app.fake.fail_next(
            "POST",
            "/graphql",
            1,
            Fault::RateLimited { reset_epoch: reset },
        );
        app.deliver_and_wait("pull_request", "d-75", &event, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        let waits = app.waits.all();
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!(waits[0] >= std::time::Duration::from_secs(25), "{waits:?}");
        assert_eq!(app.server.queue().await.failed, 0);
    })
    .await;
}

#[tokio::test]
async fn a_secondary_rate_limit_waits_its_retry_after_and_the_evaluation_completes() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 76, &["src/lib.rs"]);
        app.fake.fail_next(
            "POST",
            "/graphql",
            1,
            Fault::TooManyRequests { retry_after: 7 },
        );
        app.deliver_and_wait("pull_request", "d-76", &event, 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        assert_eq!(app.waits.all(), [std::time::Duration::from_secs(7)]);
        assert_eq!(app.evaluations(76).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn two_replicas_sharing_the_queue_evaluate_each_delivery_once() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let replica = app.start_replica(&url).await;
        let numbers: Vec<u64> = (81..87).collect();
        let mut events = Vec::new();
        for &n in &numbers {
            let mut event = setup(&app, n, &["src/lib.rs"]);
            // Each pull request on its own head, so each has its own run.
            let own = sha(0x8000 + n);
            let key = (REPO.to_owned(), n);
            app.fake
                .state()
                .pulls
                .get_mut(&key)
                .unwrap()
                .change
                .head_sha = own.clone();
            event["pull_request"]["head"]["sha"] = Value::from(own.as_str());
            events.push((n, own, event));
        }
        for (n, _, event) in &events {
            let status = app.deliver("pull_request", &format!("d-8{n}"), event).await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        app.wait_for_deliveries_with(&replica, numbers.len() as u64)
            .await;

        let runs = app.check_runs();
        assert_eq!(runs.len(), numbers.len(), "{runs:#?}");
        for (n, own, _) in &events {
            let run = runs.iter().find(|r| r.head_sha == own.as_str()).unwrap();
            assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
            let completions = run
                .history
                .iter()
                .filter(|h| h.get("conclusion").is_some_and(|c| !c.is_null()))
                .count();
            assert_eq!(completions, 1, "completed once: {run:#?}");
            let stored = replica
                .store
                .evaluations(&key("github", REPO, *n))
                .await
                .unwrap();
            assert_eq!(stored.len(), 1, "pull request {n}");
        }
        let queue = app.server.queue().await;
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn a_replica_that_nothing_wakes_finds_deliveries_by_polling() {
    on_each_backend(|url| async move {
        // This app's server queues; only the other replica works.
        let app = App::without_worker(&url).await;
        let replica = app.start_polling_replica(&url).await;
        let event = setup(&app, 91, &["src/lib.rs"]);
        let status = app.deliver("pull_request", "d-91", &event).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        app.wait_for_deliveries_with(&replica, 1).await;

        assert_eq!(replica.ended(), 1);
        assert_eq!(app.the_check_run().conclusion.as_deref(), Some("success"));
        assert_eq!(app.evaluations(91).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn two_replicas_evaluating_one_pull_request_at_once_share_one_check_run() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let replica = app.start_replica(&url).await;
        let event = setup(&app, 92, &["src/lib.rs"]);
        let reopened = pull_request_event("reopened", 92, base().as_str(), head().as_str());
        let edited = pull_request_event("synchronize", 92, base().as_str(), head().as_str());
        let (a, b, c) = tokio::join!(
            app.deliver("pull_request", "d-92a", &event),
            app.deliver("pull_request", "d-92b", &reopened),
            app.deliver("pull_request", "d-92c", &edited),
        );
        assert_eq!(
            (a, b, c),
            (
                StatusCode::ACCEPTED,
                StatusCode::ACCEPTED,
                StatusCode::ACCEPTED
            )
        );
        app.wait_for_deliveries_with(&replica, 3).await;

        // Whichever replica came first created the run; the others,
        // waiting for the change's lease, updated it.
        let runs = app.check_runs();
        assert_eq!(runs.len(), 1, "{runs:#?}");
        assert_eq!(runs[0].conclusion.as_deref(), Some("success"));
        assert_eq!(app.evaluations(92).await.len(), 3);
        let queue = app.server.queue().await;
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));
    })
    .await;
}

/// The test repository's whole audit chain.
async fn repo_trail(app: &App) -> Vec<warrant::audit::AuditEvent> {
    let chain = warrant::store::Chain {
        forge: "github".into(),
        repo: REPO.into(),
    };
    app.store.audit_chain_page(&chain, 0, 1000).await.unwrap()
}

#[tokio::test]
async fn an_invalid_policy_pushed_is_audited_with_its_errors() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let pushed = sha(0x9002);
        app.put_policy(pushed.as_str(), "version: 1\nmode: enforse\n");
        let event = support::forge::push_event(
            base().as_str(),
            pushed.as_str(),
            &[".github/warrant.yml", "README.md"],
        );
        app.deliver_and_wait("push", "d-95", &event, 1).await;

        let chain = repo_trail(&app).await;
        let changed = &chain.last().unwrap().event;
        assert_eq!(changed.kind.as_str(), "policy_changed");
        assert_eq!(changed.detail["policy"], "invalid");
        let errors = changed.detail["errors"].to_string();
        assert!(errors.contains(".github/warrant.yml:2"), "{errors}");
    })
    .await;
}

#[tokio::test]
async fn without_named_approvers_a_repository_admin_approves_an_unregistered_agent() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake
            .state()
            .admins
            .insert(REPO.to_owned(), vec!["erin".to_owned()]);
        let event = setup(&app, 96, &["src/lib.rs"]);
        app.put_policy(
            base().as_str(),
            "version: 1\nmode: enforce\nunregistered_agents:\n  action: escalate\n",
        );
        app.deliver_and_wait("pull_request", "d-96", &event, 1)
            .await;
        let run = app.the_check_run();
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );
        assert!(
            run.summary.clone().unwrap_or_default().contains("erin"),
            "{run:#?}"
        );
        let published = support::forge::Published::of_check_run(run);
        insta::assert_snapshot!("repository_admins_approve", published.snapshot());

        add_review(
            &app,
            96,
            review(61, user("erin", 12), ReviewState::Approved, head()),
        );
        let approval = review_event(
            96,
            base().as_str(),
            head().as_str(),
            (61, "erin", "approved"),
        );
        app.deliver_and_wait("pull_request_review", "d-97", &approval, 2)
            .await;
        assert_eq!(app.the_check_run().conclusion.as_deref(), Some("success"));
        let admin_reads = app
            .api_requests()
            .iter()
            .filter(|r| r.contains("/collaborators?permission=admin"))
            .count();
        assert_eq!(admin_reads, 1, "read once, then cached");
    })
    .await;
}
