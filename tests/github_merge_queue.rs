//! Merge queues end to end: `merge_group` webhooks through the real router,
//! the worker reading the queue from the fake GitHub and publishing the
//! `warrant` check on the group's head commit. Each test runs on SQLite,
//! and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use support::app::{App, POLICY, pull_request_event};
use support::forge::timeless;
use support::github::{INSTALLATION, REPO, base, sha, user};
use support::keys::key;
use support::store::on_each_backend;
use warrant::audit::EventKind;
use warrant::forge::github::fake::events::{self, MergeGroup};
use warrant::forge::github::fake::{CheckRun, Fault};
use warrant::ids::{CommitSha, RepoPath};

/// The commit the queue builds for the `n`-th entry.
fn group_head(n: u64) -> CommitSha {
    sha(0x6e00 + n)
}

/// Pull request `number` by Copilot, at head `head_of(number)`, touching
/// `paths`, opened and evaluated under [`POLICY`] at [`base`]: the
/// `delivered`-th delivery in all.
async fn evaluated(app: &App, number: u64, paths: &[&str], delivered: u64) {
    app.add_copilot_pull(number, paths);
    app.push_to(number, &head_of(number));
    let opened = pull_request_event("opened", number, base().as_str(), head_of(number).as_str());
    app.deliver_and_wait(
        "pull_request",
        &format!("open-{number}"),
        &opened,
        delivered,
    )
    .await;
}

fn head_of(number: u64) -> CommitSha {
    sha(0x4ead_0000 + number)
}

/// `numbers` queued in order into `main`, each entry's commit built on
/// `group_base`; returns the group of the last one.
fn enqueue(app: &App, numbers: &[u64], group_base: &CommitSha) -> MergeGroup {
    for (i, n) in numbers.iter().enumerate() {
        app.fake
            .enqueue(REPO, "main", *n, group_head(i as u64 + 1).as_str());
    }
    MergeGroup {
        repo: REPO.to_owned(),
        base_ref: "main".to_owned(),
        base_sha: group_base.clone(),
        head_sha: group_head(numbers.len() as u64),
        last: *numbers.last().unwrap(),
    }
}

async fn checks_requested(app: &App, group: &MergeGroup, delivered: u64) {
    let body = events::merge_group_checks_requested(group, INSTALLATION.0, &user("alice", 1));
    let id = format!("group-{}", group.head_sha.as_str());
    app.deliver_and_wait("merge_group", &id, &body, delivered)
        .await;
}

/// The completed check run on the group's head commit.
fn group_check(app: &App, group: &MergeGroup) -> CheckRun {
    let runs: Vec<CheckRun> = app
        .check_runs()
        .into_iter()
        .filter(|r| r.head_sha == group.head_sha.as_str())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = runs.into_iter().next().unwrap();
    assert_eq!(run.status, "completed", "{run:#?}");
    run
}

/// The completed check run on the group's head commit, asserting its
/// conclusion.
fn concluded(app: &App, group: &MergeGroup, conclusion: &str) -> CheckRun {
    let run = group_check(app, group);
    assert_eq!(run.conclusion.as_deref(), Some(conclusion), "{run:#?}");
    run
}

fn summary(run: &CheckRun) -> &str {
    run.summary.as_deref().unwrap_or_default()
}

#[tokio::test]
async fn a_group_of_passing_pull_requests_passes_in_two_requests() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        evaluated(&app, 2, &["src/billing/totals.rs"], 2).await;
        let group = enqueue(&app, &[1, 2], &base());
        app.fake.clear_requests();

        checks_requested(&app, &group, 3).await;

        let run = concluded(&app, &group, "success");
        let summary = summary(&run);
        assert!(
            summary.contains("2 pull requests, in this order, #1 and #2"),
            "{summary}"
        );
        assert!(summary.contains("| `success` |"), "{summary}");
        for n in [1, 2] {
            let row =
                format!("[#{n}](https://warrant.example.com/audit/github/{REPO}/changes/{n})");
            assert!(summary.contains(&row), "{row} in {summary}");
        }
        insta::assert_snapshot!("group_of_two_passing", timeless(summary));
        // The queue and the policy in one query, the check in one more:
        // each pull request is decided from its recorded evaluation.
        assert_eq!(
            app.api_requests(),
            [
                "POST /graphql WarrantMergeQueue".to_owned(),
                format!("POST /repos/{REPO}/check-runs"),
            ]
        );
        // Each pull request's trail says it was decided again in the group.
        for n in [1, 2] {
            let trail = app
                .store
                .audit_events_of_change(&key("github", REPO, n))
                .await
                .unwrap();
            let checked: Vec<_> = trail
                .iter()
                .filter(|e| e.event.kind == EventKind::MergeGroupChecked)
                .collect();
            assert_eq!(checked.len(), 1, "{trail:#?}");
            let event = &checked[0].event;
            assert_eq!(event.decision.as_deref(), Some("success"));
            assert_eq!(event.base_sha.as_deref(), Some(base().as_str()));
            assert_eq!(event.detail["group_head"], group.head_sha.as_str());
            assert_eq!(
                event.detail["group_pull_requests"],
                serde_json::json!([1, 2])
            );
        }
        // The pull requests' own checks are untouched.
        assert_eq!(app.evaluations(1).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_policy_at_the_group_s_base_decides_not_the_one_each_was_checked_under() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        // Since pull request 1 was checked, `main` made billing sensitive.
        let tightened = POLICY.replace("src/payments/**", "src/billing/**");
        let new_base = sha(0xba5e2);
        app.put_policy(new_base.as_str(), &tightened);
        let group = enqueue(&app, &[1], &new_base);

        checks_requested(&app, &group, 2).await;

        let run = concluded(&app, &group, "action_required");
        let title = run.title.as_deref().unwrap_or_default();
        assert!(title.starts_with("#1: "), "{title}");
        assert!(
            summary(&run).contains("pull request #1 onto"),
            "{}",
            summary(&run)
        );
        insta::assert_snapshot!("decided_under_the_group_s_base", timeless(summary(&run)));
        // The pull request's own check stands as it was decided.
        let own: Vec<CheckRun> = app
            .check_runs()
            .into_iter()
            .filter(|r| r.head_sha == head_of(1).as_str())
            .collect();
        assert_eq!(own[0].conclusion.as_deref(), Some("success"));
        let trail = app
            .store
            .audit_events_of_change(&key("github", REPO, 1))
            .await
            .unwrap();
        let checked = trail
            .iter()
            .find(|e| e.event.kind == EventKind::MergeGroupChecked)
            .unwrap();
        let blob = warrant::policy::blob_id(tightened.as_bytes());
        assert_eq!(checked.event.policy_blob.as_deref(), Some(blob.as_str()));
        assert_eq!(checked.event.decision.as_deref(), Some("action_required"));
    })
    .await;
}

#[tokio::test]
async fn the_group_concludes_the_strictest_and_names_where_it_comes_from() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        // Out of Copilot's scope: blocked.
        evaluated(&app, 2, &["docs/guide.md"], 2).await;
        evaluated(&app, 3, &["src/billing/totals.rs"], 3).await;
        let group = enqueue(&app, &[1, 2, 3], &base());

        checks_requested(&app, &group, 4).await;

        let run = concluded(&app, &group, "failure");
        let title = run.title.as_deref().unwrap_or_default();
        assert!(title.starts_with("#2: "), "{title}");
        let summary = summary(&run);
        assert!(summary.contains("#1, #2 and #3"), "{summary}");
        let failure = summary.find("| `failure` |").expect(summary);
        let success = summary.find("| `success` |").expect(summary);
        assert!(failure < success, "strictest first: {summary}");
        assert!(summary.contains("## #2"), "{summary}");
        // Its annotation names the file out of scope.
        let paths: Vec<&str> = run
            .annotations
            .iter()
            .filter_map(|a| a["path"].as_str())
            .collect();
        assert_eq!(paths, ["docs/guide.md"]);
        // The whole summary, as GitHub shows it (evaluation times elided).
        insta::assert_snapshot!("group_summary_strictest_first", timeless(summary));
    })
    .await;
}

#[tokio::test]
async fn a_pull_request_never_evaluated_is_read_and_one_that_cannot_be_decided_fails_the_group() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        // Never evaluated here (Warrant was installed after it was
        // opened): read from GitHub, in one more query.
        app.add_copilot_pull(2, &["src/billing/totals.rs"]);
        app.push_to(2, &head_of(2));
        let group = enqueue(&app, &[1, 2], &base());
        app.fake.clear_requests();
        checks_requested(&app, &group, 2).await;
        concluded(&app, &group, "success");
        let requests = app.api_requests();
        assert_eq!(
            requests
                .iter()
                .filter(|r| r.ends_with("WarrantPullRequest"))
                .count(),
            1,
            "{requests:#?}"
        );

        // Pull request 3 lists more files than GitHub shows: it cannot be
        // decided, so the group fails closed.
        let mut c = support::github::change(3, 1, 1);
        c.head_sha = head_of(3);
        c.files[0].path = RepoPath::parse("src/billing/more.rs").unwrap();
        let mut pull = support::github::pull(c);
        pull.changed_files = Some(3_001);
        app.fake.add_pull_request(pull);
        app.fake.enqueue(REPO, "main", 3, group_head(3).as_str());
        let bigger = MergeGroup {
            head_sha: group_head(3),
            last: 3,
            ..group
        };
        checks_requested(&app, &bigger, 3).await;
        let run = concluded(&app, &bigger, "failure");
        let title = run.title.as_deref().unwrap_or_default();
        assert!(
            title.starts_with("#3: Warrant could not evaluate"),
            "{title}"
        );
        assert!(summary(&run).contains("3,000 files"), "{}", summary(&run));
        insta::assert_snapshot!("a_member_that_cannot_be_decided", timeless(summary(&run)));
    })
    .await;
}

#[tokio::test]
async fn a_group_the_queue_does_not_list_fails_closed() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        // The webhook names a group the queue no longer holds (dequeued
        // since), or whose head ref names another pull request.
        let mut group = enqueue(&app, &[1], &base());
        group.head_sha = group_head(9);
        checks_requested(&app, &group, 2).await;
        let run = concluded(&app, &group, "failure");
        assert_eq!(
            run.title.as_deref(),
            Some("Warrant cannot tell which pull requests this merge group holds")
        );

        let wrong = MergeGroup {
            head_sha: group_head(1),
            last: 7,
            ..group
        };
        checks_requested(&app, &wrong, 3).await;
        concluded(&app, &wrong, "failure");
    })
    .await;
}

#[tokio::test]
async fn an_outage_is_retried_and_the_last_attempt_fails_the_group() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        let group = enqueue(&app, &[1], &base());
        // Fails the client's two tries: the queue retries the delivery
        // (each attempt counts as a delivery ended).
        app.fake
            .fail_next("POST", "/graphql", 2, Fault::ServerError);
        checks_requested(&app, &group, 3).await;
        concluded(&app, &group, "success");

        let again = MergeGroup {
            head_sha: sha(0x6e99),
            ..group
        };
        app.fake.enqueue(REPO, "main", 1, again.head_sha.as_str());
        app.fake
            .fail_next("POST", "/graphql", 100, Fault::ServerError);
        // Three attempts, the last of which gives up.
        checks_requested(&app, &again, 6).await;
        let run = concluded(&app, &again, "failure");
        assert_eq!(
            run.title.as_deref(),
            Some("Warrant could not evaluate this change")
        );
    })
    .await;
}

#[tokio::test]
async fn a_destroyed_group_is_recorded_on_its_last_pull_request() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        let group = enqueue(&app, &[1], &base());
        let body =
            events::merge_group_destroyed(&group, INSTALLATION.0, &user("alice", 1), "dequeued");
        app.deliver_and_wait("merge_group", "gone-1", &body, 2)
            .await;
        let trail = app
            .store
            .audit_events_of_change(&key("github", REPO, 1))
            .await
            .unwrap();
        let gone = trail
            .iter()
            .find(|e| e.event.kind == EventKind::MergeGroupDestroyed)
            .expect("a merge_group_destroyed event");
        assert_eq!(gone.event.detail["reason"], "dequeued");
        assert_eq!(
            gone.event.head_sha.as_deref(),
            Some(group.head_sha.as_str())
        );
        // Nothing is published for a group that is gone.
        assert!(
            app.check_runs()
                .iter()
                .all(|r| r.head_sha != group.head_sha.as_str())
        );
        // And the delivery itself is on the trail.
        assert!(
            trail
                .iter()
                .any(|e| e.event.kind == EventKind::DeliveryReceived),
            "{trail:#?}"
        );
    })
    .await;
}

#[tokio::test]
async fn code_owners_at_the_group_s_base_must_have_approved_as_recorded() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        evaluated(&app, 1, &["src/billing/export.rs"], 1).await;
        // Since, `main` hands billing to its code owners.
        let owned = POLICY.replace(
            "paths: [\"src/payments/**\"]\n    approvers: [\"octo-org/sre\"]",
            "paths: [\"src/billing/**\"]\n    approvers: [codeowners]",
        );
        assert_ne!(owned, POLICY);
        let new_base = sha(0xba5e3);
        app.put_policy(new_base.as_str(), &owned);
        app.fake.put_file(
            REPO,
            new_base.as_str(),
            ".github/CODEOWNERS",
            "/src/billing/ @octo-org/billing\n",
        );
        app.fake.set_team("octo-org/billing", &["dana"]);
        let group = enqueue(&app, &[1], &new_base);
        checks_requested(&app, &group, 2).await;
        let run = concluded(&app, &group, "action_required");
        assert!(
            summary(&run).contains("@octo-org/billing"),
            "{}",
            summary(&run)
        );
        insta::assert_snapshot!(
            "waiting_for_a_code_owner_at_the_base",
            timeless(summary(&run))
        );

        // dana, a code owner, approves: the pull request's own evaluation
        // records the review, and the group decided again counts it.
        let approval = support::github::review(
            21,
            user("dana", 21),
            warrant::engine::ReviewState::Approved,
            head_of(1),
        );
        app.fake
            .state()
            .pulls
            .get_mut(&(REPO.to_owned(), 1))
            .unwrap()
            .change
            .reviews
            .push(approval);
        let reviewed = support::app::review_event(
            1,
            base().as_str(),
            head_of(1).as_str(),
            (21, "dana", "approved"),
        );
        app.deliver_and_wait("pull_request_review", "r-21", &reviewed, 3)
            .await;
        let again = MergeGroup {
            head_sha: sha(0x6e77),
            ..group
        };
        app.fake.dequeue(REPO, "main", 1);
        app.fake.enqueue(REPO, "main", 1, again.head_sha.as_str());
        app.fake.clear_requests();
        checks_requested(&app, &again, 4).await;
        concluded(&app, &again, "success");
        // The team was resolved for the first group and is cached.
        assert_eq!(
            app.api_requests(),
            [
                "POST /graphql WarrantMergeQueue".to_owned(),
                format!("POST /repos/{REPO}/check-runs"),
            ]
        );
    })
    .await;
}
