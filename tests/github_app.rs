//! The GitHub App end to end: signed webhooks through the real router, the
//! worker evaluating them against the fake GitHub, and assertions on what
//! the fake received (check runs, dismissals) and what the store holds. Each
//! test runs on SQLite, and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL`
//! is set.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::app::{App, PUBLIC_URL, check_run_rerequested, pull_request_event, review_event};
use support::github::{REPO, base, bot, change, head, review, sha, user};
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
async fn an_agent_change_within_its_scope_succeeds_in_three_requests() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 1, &["src/billing/export.rs"]);
        app.deliver_and_wait("pull_request", "d-1", &event, 1).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        assert_eq!(run.head_sha, head().as_str());
        let audit = format!("{PUBLIC_URL}/audit/github/{REPO}/changes/1");
        assert_eq!(run.details_url.as_deref(), Some(audit.as_str()));
        let id = run.id;
        // The repository's first evaluation: its policy's teams are not
        // known before the policy is read, so the team costs a query and
        // the check run is created with the decision, in one request.
        assert_eq!(
            app.api_requests(),
            [
                "POST /graphql WarrantPullRequest".to_owned(),
                "POST /graphql WarrantTeams".to_owned(),
                format!("POST /repos/{REPO}/check-runs"),
            ]
        );
        assert_eq!(run.history.len(), 1, "created completed: {run:#?}");
        let stored = app.evaluations(1).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].conclusion, "success");
        assert_eq!(stored[0].check_run_id, Some(id as i64));
        assert_eq!(stored[0].head_sha, head().as_str());
        assert_eq!(stored[0].delivery_id.as_deref(), Some("d-1"));
        let decision: Value = serde_json::from_str(stored[0].decision.as_deref().unwrap()).unwrap();
        assert_eq!(decision["conclusion"], "success");
        assert_eq!(app.server.queue().await.queued, 0);
        let metrics = app.server.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("warrant_evaluations_total{conclusion=\"success\"} 1"),
            "{metrics}"
        );
        // GitHub's remaining budget, per resource, as the fake reports it.
        assert!(
            metrics.contains("warrant_github_rate_limit_remaining{resource=\"graphql\"}"),
            "{metrics}"
        );
        assert!(
            metrics.contains("warrant_github_rate_limit_remaining{resource=\"core\"}"),
            "{metrics}"
        );
        // The three, the token exchange and `GET /app`.
        assert!(
            metrics.contains("warrant_github_api_requests_total{status=\"2xx\"} 5"),
            "{metrics}"
        );

        assert_eq!(app_reads(&app), 1);

        // Another pull request of the repository: the run shows in
        // progress while the pull request and the team are read in one
        // query; three requests.
        app.fake.clear_requests();
        let mut event = setup(&app, 11, &["src/billing/import.rs"]);
        let other_head = sha(0x4eae);
        app.fake
            .state()
            .pulls
            .get_mut(&(REPO.to_owned(), 11))
            .unwrap()
            .change
            .head_sha = other_head.clone();
        event["pull_request"]["head"]["sha"] = Value::from(other_head.as_str());
        app.deliver_and_wait("pull_request", "d-1b", &event, 2)
            .await;
        let requests = app.api_requests();
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert_eq!(requests[0], format!("POST /repos/{REPO}/check-runs"));
        assert_eq!(requests[1], "POST /graphql WarrantPullRequest");
        assert!(requests[2].starts_with(&format!("PATCH /repos/{REPO}/check-runs/")));
        let teams_asked = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.operation.as_deref() == Some("WarrantPullRequest"))
            .any(|r| r.body.contains("octo-org"));
        assert!(
            teams_asked,
            "the team is resolved in the pull request's query"
        );
        // The app's bot login is read once per process, not per evaluation.
        assert_eq!(app_reads(&app), 0);
    })
    .await;
}

#[tokio::test]
async fn an_agent_change_out_of_its_scope_fails_with_annotations_on_the_files() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 2, &["src/lib.rs", "infra/main.tf"]);
        app.deliver_and_wait("pull_request", "d-2", &event, 1).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        let paths: Vec<_> = run.annotations.iter().map(|a| a["path"].clone()).collect();
        assert_eq!(paths, [Value::from("infra/main.tf")]);
        assert_eq!(run.annotations[0]["annotation_level"], "failure");
        assert_eq!(app.evaluations(2).await[0].conclusion, "failure");
    })
    .await;
}

#[tokio::test]
async fn a_sensitive_area_waits_for_an_eligible_human_and_the_agents_approval_is_dismissed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/sre", &["dave"]);
        let event = setup(&app, 3, &["src/payments/charge.rs"]);
        app.deliver_and_wait("pull_request", "d-3", &event, 1).await;
        let run = app.the_check_run();
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );

        // The agent approves its own change: not counted, and dismissed.
        let agent = bot("copilot-swe-agent[bot]", 198982749);
        add_review(&app, 3, review(31, agent, ReviewState::Approved, head()));
        let approval = review_event(
            3,
            base().as_str(),
            head().as_str(),
            (31, "Copilot", "approved"),
        );
        app.deliver_and_wait("pull_request_review", "d-4", &approval, 2)
            .await;
        let run = app.the_check_run();
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );
        let dismissals = app.fake.dismissals();
        assert_eq!(dismissals.len(), 1, "{dismissals:#?}");
        assert_eq!(dismissals[0].review_id, 31);
        assert!(!dismissals[0].message.is_empty());

        // An SRE approves: the same check run now succeeds.
        app.fake.clear_requests();
        add_review(
            &app,
            3,
            review(32, user("dave", 9), ReviewState::Approved, head()),
        );
        let approval = review_event(
            3,
            base().as_str(),
            head().as_str(),
            (32, "dave", "approved"),
        );
        app.deliver_and_wait("pull_request_review", "d-5", &approval, 3)
            .await;
        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        // Re-evaluation: the check run's id and the team are known.
        assert_eq!(app.api_requests().len(), 2, "{:?}", app.api_requests());
        let conclusions: Vec<_> = app
            .evaluations(3)
            .await
            .into_iter()
            .map(|e| e.conclusion)
            .collect();
        assert_eq!(
            conclusions,
            ["action_required", "action_required", "success"]
        );

        // The audit trail of the change: who acted, what counted and why.
        let trail = app
            .store
            .audit_events_of_change("github", REPO, 3)
            .await
            .unwrap();
        let of_kind = |kind: &str| -> Vec<&warrant::audit::NewAuditEvent> {
            trail
                .iter()
                .map(|e| &e.event)
                .filter(|e| e.kind.as_str() == kind)
                .collect()
        };
        assert_eq!(of_kind("delivery_received").len(), 3);
        assert_eq!(of_kind("decision_made").len(), 3);
        assert_eq!(of_kind("check_posted").len(), 3);
        let agent = of_kind("agent_identified")[0];
        assert_eq!(agent.agent.as_deref(), Some("copilot"));
        assert_eq!(agent.actor.as_deref(), Some("copilot-swe-agent[bot]"));
        let refused = of_kind("approval_refused");
        assert!(
            refused
                .iter()
                .any(|e| e.actor.as_deref() == Some("copilot-swe-agent[bot]")
                    && e.detail["reason"] == "agent"),
            "{refused:#?}"
        );
        let dismissed = of_kind("review_dismissed");
        assert_eq!(dismissed[0].detail["review_id"], 31);
        assert_eq!(dismissed[0].actor.as_deref(), Some("warrant[bot]"));
        let counted = of_kind("approval_counted");
        assert_eq!(counted.len(), 1);
        assert_eq!(counted[0].actor.as_deref(), Some("dave"));
        assert_eq!(counted[0].paths, ["src/payments/charge.rs"]);
        let last = of_kind("decision_made").pop().unwrap();
        assert_eq!(last.decision.as_deref(), Some("success"));
        assert_eq!(last.approval.as_deref(), Some("approved"));
        assert_eq!(last.paths, ["src/payments/charge.rs"]);
        assert!(last.policy_blob.is_some());
        // Each event in its repository's chain, in order.
        let seqs: Vec<u64> = trail.iter().map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    })
    .await;
}

/// `GET /app` requests: the app's identity, for its bot login.
fn app_reads(app: &App) -> usize {
    app.fake
        .requests()
        .iter()
        .filter(|r| r.path == "/app")
        .count()
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
async fn a_repository_without_a_policy_gets_a_neutral_check() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let mut c = change(4, 1, 1);
        c.reviews.clear();
        app.add_pull(c);
        app.deliver_and_wait("pull_request", "d-6", &opened(4), 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("neutral"));
        assert_eq!(
            run.title.as_deref(),
            Some("Warrant is not configured for this repository")
        );
        // Visibility before policy: Copilot is seen, named and recorded.
        let summary = run.summary.as_deref().unwrap_or_default();
        assert!(
            summary.contains("1 agent seen: catalog:copilot."),
            "{summary}"
        );
        let trail = app
            .store
            .audit_events_of_change("github", REPO, 4)
            .await
            .unwrap();
        let seen: Vec<_> = trail
            .iter()
            .filter(|e| e.event.kind == warrant::audit::EventKind::AgentIdentified)
            .map(|e| e.event.agent.clone().unwrap_or_default())
            .collect();
        assert_eq!(seen, ["catalog:copilot"], "{trail:#?}");
        // And in the inventory of agents.
        let readable = warrant::store::reports::Readable(
            [("github".to_owned(), REPO.to_owned())]
                .into_iter()
                .collect(),
        );
        let agents = app.store.agents_inventory(&readable).await.unwrap();
        let copilot = agents.iter().find(|a| a.id == "catalog:copilot");
        assert_eq!(copilot.map(|a| a.registration), Some("unregistered"));
    })
    .await;
}

#[tokio::test]
async fn an_invalid_policy_fails_the_check_naming_file_and_line() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        setup(&app, 5, &["src/lib.rs"]);
        app.put_policy(base().as_str(), "version: 1\nmode: sometimes\n");
        app.deliver_and_wait("pull_request", "d-7", &opened(5), 1)
            .await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"));
        let title = run.title.unwrap();
        assert!(title.contains(".github/warrant.yml:2"), "{title}");
    })
    .await;
}

#[tokio::test]
async fn forge_errors_are_retried_and_the_evaluation_then_succeeds() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 6, &["src/lib.rs"]);
        // Two 500s use up the client's own two attempts: the delivery is
        // retried from the queue.
        app.fake
            .fail_next("POST", "/graphql", 2, Fault::ServerError);
        app.deliver_and_wait("pull_request", "d-8", &event, 2).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        let queue = app.server.queue().await;
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));
        assert_eq!(app.evaluations(6).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_forge_that_keeps_failing_fails_the_check_closed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 7, &["src/lib.rs"]);
        app.fake
            .fail_next("POST", "/graphql", 1000, Fault::ServerError);
        app.deliver_and_wait("pull_request", "d-9", &event, 3).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"));
        assert_eq!(
            run.title.as_deref(),
            Some("Warrant could not evaluate this change")
        );
        let summary = run.summary.unwrap_or_default();
        assert!(!summary.contains("500"), "no internal detail: {summary}");
        assert_eq!(app.server.queue().await.failed, 1);
        assert_eq!(app.evaluations(7).await[0].conclusion, "failure");
    })
    .await;
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
async fn a_duplicate_delivery_is_evaluated_once() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let event = setup(&app, 8, &["src/lib.rs"]);
        app.deliver_and_wait("pull_request", "d-10", &event, 1)
            .await;
        let again = app.deliver("pull_request", "d-10", &event).await;
        assert_eq!(again, StatusCode::OK);

        let run = app.the_check_run();
        assert_eq!(run.history.len(), 1, "created completed, once");
        assert_eq!(app.evaluations(8).await.len(), 1);
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
async fn a_merged_pull_request_records_its_merge_commit() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let mut event = pull_request_event("closed", 10, base().as_str(), head().as_str());
        event["pull_request"]["merged"] = Value::Bool(true);
        event["pull_request"]["commits"] = Value::from(3);
        event["pull_request"]["merged_by"] =
            serde_json::json!({ "login": "carol", "id": 5, "type": "User" });
        let merge = "1111111111111111111111111111111111111111";
        event["pull_request"]["merge_commit_sha"] = Value::from(merge);
        app.fake.state().commits.insert(
            (REPO.to_owned(), merge.to_owned()),
            (
                vec![base().as_str().to_owned(), head().as_str().to_owned()],
                "Merge pull request #10 from octo-org/feature".to_owned(),
            ),
        );
        app.deliver_and_wait("pull_request", "d-12", &event, 1)
            .await;

        let merged = app
            .store
            .last_merge("github", REPO, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(merged.merge_commit_sha.as_deref(), Some(merge));
        assert_eq!(merged.method.map(|m| m.as_str()), Some("merge"));
        assert_eq!(merged.commit_count, Some(3));
        let record = app
            .store
            .change_record("github", REPO, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.state.as_str(), "merged");
        assert!(app.check_runs().is_empty());
        let trail = app
            .store
            .audit_events_of_change("github", REPO, 10)
            .await
            .unwrap();
        let kinds: Vec<&str> = trail.iter().map(|e| e.event.kind.as_str()).collect();
        assert_eq!(kinds, ["delivery_received", "change_merged"]);
        let merged = &trail[1].event;
        assert_eq!(merged.detail["merge_commit_sha"], merge);
        assert_eq!(merged.detail["merge_method"], "merge", "two parents");
        assert_eq!(merged.actor.as_deref(), Some("carol"));
        assert_eq!(trail[0].event.detail["delivery"], "d-12");
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
            .audit_events_of_change("github", REPO, 20)
            .await
            .unwrap();
        assert_eq!(trail.last().unwrap().event.detail["merge_method"], "squash");
        let trail = app
            .store
            .audit_events_of_change("github", REPO, 21)
            .await
            .unwrap();
        assert_eq!(trail.last().unwrap().event.kind.as_str(), "change_closed");
        assert!(
            app.store
                .last_merge("github", REPO, 21)
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
    })
    .await;
}

#[tokio::test]
async fn an_unregistered_agent_escalated_waits_for_an_approver() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let run = unregistered(&app, 73, "escalate").await;
        assert_eq!(
            run.conclusion.as_deref(),
            Some("action_required"),
            "{run:#?}"
        );
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
            let stored = replica.store.evaluations("github", REPO, *n).await.unwrap();
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

/// A `push` of `after` onto the default branch touching `paths`, from the
/// octokit example with the test's repository and installation.
fn push_event(before: &str, after: &str, paths: &[&str]) -> Value {
    let raw = support::server::fixture("push", "with-installation.payload.json");
    let mut payload: Value = serde_json::from_slice(&raw).unwrap();
    payload["installation"] = serde_json::json!({ "id": support::github::INSTALLATION.0 });
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

#[tokio::test]
async fn a_policy_pushed_to_the_default_branch_is_audited_and_its_teams_known_at_once() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let pushed = sha(0x9001);
        app.put_policy(pushed.as_str(), support::app::POLICY);
        let event = push_event(base().as_str(), pushed.as_str(), &[".github/warrant.yml"]);
        app.deliver_and_wait("push", "d-93", &event, 1).await;

        let chain = repo_trail(&app).await;
        let kinds: Vec<&str> = chain.iter().map(|e| e.event.kind.as_str()).collect();
        assert_eq!(kinds, ["delivery_received", "policy_changed"]);
        let changed = &chain[1].event;
        assert_eq!(changed.paths, [".github/warrant.yml"]);
        assert_eq!(changed.actor.as_deref(), Some("carol"));
        assert_eq!(
            changed.policy_blob.as_deref(),
            Some(warrant::policy::blob_id(support::app::POLICY.as_bytes()).as_str())
        );
        assert_eq!(changed.detail["policy"], "valid");
        assert_eq!(changed.detail["teams"], serde_json::json!(["octo-org/sre"]));

        // The repository's first pull request: its team is already known,
        // so the run shows in progress and the team comes with the query.
        app.fake.clear_requests();
        let opened = setup(&app, 94, &["src/lib.rs"]);
        app.deliver_and_wait("pull_request", "d-94", &opened, 2)
            .await;
        let requests = app.api_requests();
        assert_eq!(requests.len(), 3, "{requests:?}");
        assert_eq!(requests[0], format!("POST /repos/{REPO}/check-runs"));
        assert!(
            !requests.iter().any(|r| r.ends_with("WarrantTeams")),
            "{requests:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_invalid_policy_pushed_is_audited_with_its_errors() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let pushed = sha(0x9002);
        app.put_policy(pushed.as_str(), "version: 1\nmode: enforse\n");
        let event = push_event(
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
