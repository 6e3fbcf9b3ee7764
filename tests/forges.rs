//! What Warrant does the same on GitHub and on GitLab, written once and run
//! against both forges, each on SQLite and on PostgreSQL (when
//! `WARRANT_TEST_POSTGRES_URL` is set): webhooks through the real router
//! and queue, the real worker against the fake forge, and what the forge
//! received ([`Published`]: a check run on GitHub, a commit status on
//! GitLab), what the store holds and what the audit trail says.
//!
//! Where the forges differ (check run conclusions and commit status
//! states, request counts, dismissals GitLab cannot make), a test says so
//! per forge, matching on [`Harness::github`] and [`Harness::gitlab`].
//! Snapshots of what was published are named per forge and shared by both
//! databases.

mod support;

use serde_json::{Value, json};
use support::app::App;
use support::forge::{Approver, Forge, Harness, Outcome, Published, on_each_forge};
use support::github::{REPO, sha};
use support::gitlab::GitlabApp;
use warrant::forge::gitlab::fake::events::HookAction;

/// The states of the `warrant` statuses on `sha`, oldest first.
fn states(app: &GitlabApp, sha: &str) -> Vec<String> {
    app.statuses_on(sha).into_iter().map(|s| s.state).collect()
}

/// The API requests the fake GitHub received, as `App::api_requests`.
fn requests(app: &App) -> Vec<String> {
    app.api_requests()
}

/// Snapshots what was published, under `name` for this forge: the same on
/// every database.
fn snapshot(forge: Forge, name: &str, published: &Published) {
    insta::assert_snapshot!(format!("{}_{name}", forge.name()), published.snapshot());
}

/// The kinds of `trail`'s events, in order.
fn kinds(trail: &[warrant::audit::AuditEvent]) -> Vec<String> {
    trail
        .iter()
        .map(|e| e.event.kind.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn an_agent_change_within_its_scope_succeeds_linked_to_its_audit_page() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["src/app.rs", "src/lib.rs"]);
        h.put_policy(h.policy());
        h.open(1, 1).await;

        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Passed), "{published:#?}");
        assert_eq!(published.link.as_deref(), Some(h.audit_url(1).as_str()));
        snapshot(forge, "within_scope", &published);
        let stored = h.evaluations(1).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].conclusion, "success");
        assert_eq!(stored[0].head_sha, h.head());
        assert_eq!(stored[0].base_sha.as_deref(), Some(h.base().as_str()));
        assert_eq!(stored[0].delivery_id.as_deref(), Some("d-1"));
        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "success");
        assert_eq!(decision["forge"], forge.name());
        assert_eq!(decision["repository"], h.repo());
        assert_eq!(decision["policy"]["path"], h.policy_path());
        let trail = h.trail(1).await;
        let kinds = kinds(&trail);
        assert!(kinds.contains(&"delivery_received".to_owned()), "{kinds:?}");
        assert!(kinds.contains(&"decision_made".to_owned()), "{kinds:?}");
        assert!(trail.iter().all(|e| e.event.forge == forge.name()));
        assert_eq!(h.server().queue().await.queued, 0);
        let metrics = h.metrics().await;
        assert!(
            metrics.contains("warrant_evaluations_total{conclusion=\"success\"} 1"),
            "{metrics}"
        );

        match &h {
            Harness::Github(app) => within_scope_on_github(app, &metrics).await,
            Harness::Gitlab(app) => {
                assert_eq!(states(app, &h.head()), ["running", "success"]);
                let status = app.last_status(&h.head());
                assert_eq!(
                    status.git_ref.as_deref(),
                    Some("change-1"),
                    "the source branch"
                );
                let title = status.description.clone().unwrap();
                assert!(title.contains("ledger-bot"), "{title}");
                assert!(
                    metrics.contains("warrant_gitlab_api_requests_total{status=\"2xx\"}"),
                    "{metrics}"
                );
            }
        }
    })
    .await;
}

/// On GitHub, in three requests: the first pull request of a repository
/// and every one after it.
async fn within_scope_on_github(app: &App, metrics: &str) {
    let run = app.the_check_run();
    let id = run.id;
    // The repository's first evaluation: its policy's teams are not
    // known before the policy is read, so the team costs a query and
    // the check run is created with the decision, in one request.
    assert_eq!(
        requests(app),
        [
            "POST /graphql WarrantPullRequest".to_owned(),
            "POST /graphql WarrantTeams".to_owned(),
            format!("POST /repos/{REPO}/check-runs"),
        ]
    );
    assert_eq!(run.history.len(), 1, "created completed: {run:#?}");
    let stored = app.evaluations(1).await;
    assert_eq!(stored[0].check_run_id, Some(id as i64));
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
    assert_eq!(app_reads(app), 1);

    // Another pull request of the repository: the run shows in
    // progress while the pull request and the team are read in one
    // query; three requests.
    app.fake.clear_requests();
    app.add_copilot_pull(11, &["src/billing/import.rs"]);
    let other_head = sha(0x4eae);
    app.push_to(11, &other_head);
    let base = support::github::base();
    let event = support::app::pull_request_event("opened", 11, base.as_str(), other_head.as_str());
    app.deliver_and_wait("pull_request", "d-1b", &event, 2)
        .await;
    let requests = requests(app);
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
    assert_eq!(app_reads(app), 0);
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
async fn an_agent_change_out_of_its_scope_fails_naming_the_path() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(2, &["src/lib.rs", "infra/main.tf"]);
        h.put_policy(h.policy());
        h.open(2, 1).await;

        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Failed), "{published:#?}");
        let title = published.title.clone().unwrap();
        assert!(
            title.contains("out of scope") || title.contains("outside"),
            "{title}"
        );
        snapshot(forge, "out_of_scope", &published);
        assert_eq!(h.evaluations(2).await[0].conclusion, "failure");
        let decision = h.decision(2).await;
        let paths = &decision["violations"][0]["paths"];
        assert_eq!(paths, &json!(["infra/main.tf"]));

        if let Some(app) = h.github() {
            // With annotations on the files.
            let run = app.the_check_run();
            let paths: Vec<_> = run.annotations.iter().map(|a| a["path"].clone()).collect();
            assert_eq!(paths, [Value::from("infra/main.tf")]);
            assert_eq!(run.annotations[0]["annotation_level"], "failure");
        }
    })
    .await;
}

#[tokio::test]
async fn a_sensitive_change_waits_until_an_eligible_human_approves() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(3, &["src/payments/charge.rs"]);
        h.put_policy(h.policy());
        h.open(3, 1).await;
        let waiting = h.published();
        assert_eq!(waiting.state, h.state(Outcome::Waiting), "{waiting:#?}");
        let title = waiting.title.clone().unwrap();
        assert!(title.contains(h.sre()), "{title}");
        snapshot(forge, "sensitive_waiting", &waiting);

        // On GitHub the agent approves its own change first: not counted,
        // and dismissed.
        let mut n = 1;
        if let Some(app) = h.github() {
            n += 1;
            agent_approves_on_github(app, n).await;
        }

        n += 1;
        h.approve(3, Approver::Sre, n).await;
        let approved = h.published();
        assert_eq!(approved.state, h.state(Outcome::Passed), "{approved:#?}");
        snapshot(forge, "sensitive_approved", &approved);
        let decision = h.decision(3).await;
        let counted = &decision["requirements"][0]["approved_by"];
        assert!(
            counted.to_string().contains(h.login(Approver::Sre)),
            "{decision:#}"
        );
        let trail = h.trail(3).await;
        let counted: Vec<_> = trail
            .iter()
            .map(|e| &e.event)
            .filter(|e| e.kind.as_str() == "approval_counted")
            .collect();
        assert_eq!(counted.len(), 1, "{counted:#?}");
        assert_eq!(counted[0].actor.as_deref(), Some(h.login(Approver::Sre)));
        assert_eq!(counted[0].paths, ["src/payments/charge.rs"]);

        match &h {
            Harness::Github(app) => sensitive_on_github(app, &trail).await,
            Harness::Gitlab(app) => {
                // GitLab cannot move a running status back to pending: it
                // was canceled and a pending one started; the head was
                // evaluated before, so the approval moved it on without
                // `running` again.
                assert_eq!(
                    states(app, &h.head()),
                    ["running", "canceled", "pending", "success"]
                );
            }
        }
    })
    .await;
}

/// Copilot approves its own pull request 3, delivered as the `n`-th.
async fn agent_approves_on_github(app: &App, n: u64) {
    use support::github::{base, bot, head, review};
    let agent = bot("copilot-swe-agent[bot]", 198982749);
    {
        let mut state = app.fake.state();
        let pull = state.pulls.get_mut(&(REPO.to_owned(), 3)).unwrap();
        let approval = review(31, agent, warrant::engine::ReviewState::Approved, head());
        pull.change.reviews.push(approval);
    }
    let approval = support::app::review_event(
        3,
        base().as_str(),
        head().as_str(),
        (31, "Copilot", "approved"),
    );
    app.deliver_and_wait("pull_request_review", "d-agent", &approval, n)
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
    // The SRE's approval, next, is a re-evaluation.
    app.fake.clear_requests();
}

/// After the SRE's approval on GitHub: the requests it cost, and the audit
/// trail of who acted, what counted and why.
async fn sensitive_on_github(app: &App, trail: &[warrant::audit::AuditEvent]) {
    // Re-evaluation: the check run's id and the team are known.
    assert_eq!(requests(app).len(), 2, "{:?}", requests(app));
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
    let last = of_kind("decision_made").pop().unwrap();
    assert_eq!(last.decision.as_deref(), Some("success"));
    assert_eq!(last.approval.as_deref(), Some("approved"));
    assert_eq!(last.paths, ["src/payments/charge.rs"]);
    assert!(last.policy_blob.is_some());
    // Each event in its repository's chain, in order.
    let seqs: Vec<u64> = trail.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[tokio::test]
async fn approvals_by_a_bot_or_the_requester_do_not_count_and_are_recorded() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_requested_change(1, &["src/payments/ledger.rs"]);
        h.put_policy(h.policy());
        h.open(1, 1).await;
        assert_eq!(h.published().state, h.state(Outcome::Waiting));

        let bot = h.approve(1, Approver::Bot, 2).await;
        assert_eq!(h.published().state, h.state(Outcome::Waiting));
        if let Some(app) = h.github() {
            let dismissed: Vec<_> = app.fake.dismissals().iter().map(|d| d.review_id).collect();
            assert_eq!(dismissed, [bot]);
            let summary = h.published().summary.unwrap_or_default();
            assert!(
                summary.contains("agents and bots never count as approvers"),
                "{summary}"
            );
        }

        h.approve(1, Approver::Requester, 3).await;
        let waiting = h.published();
        assert_eq!(waiting.state, h.state(Outcome::Waiting), "{waiting:#?}");
        snapshot(forge, "requester_and_bot_not_counted", &waiting);
        let decision = h.decision(1).await;
        let refused = decision["requirements"][0]["not_counted"].to_string();
        assert!(refused.contains(h.login(Approver::Bot)), "{decision:#}");
        assert!(
            refused.contains(h.login(Approver::Requester)),
            "{decision:#}"
        );
        let refusals: Vec<_> = h
            .trail(1)
            .await
            .iter()
            .filter(|e| e.event.kind.as_str() == "approval_refused")
            .filter_map(|e| e.event.actor.clone())
            .collect();
        assert!(
            refusals.contains(&h.login(Approver::Bot).to_owned()),
            "{refusals:?}"
        );
        match &h {
            Harness::Github(app) => {
                let summary = waiting.summary.clone().unwrap_or_default();
                assert!(
                    summary.contains("the human who asked the agent cannot approve"),
                    "{summary}"
                );
                // The requester's approval is not dismissed: only the bot's.
                let dismissed: Vec<_> = app.fake.dismissals().iter().map(|d| d.review_id).collect();
                assert_eq!(dismissed, [bot]);
            }
            Harness::Gitlab(_) => {
                // GitLab cannot withdraw the bot's approval: it is
                // ignored, and the decision says so instead of dismissing
                // it.
                assert_eq!(decision["dismissals"], json!([]));
                assert!(
                    decision["notes"]
                        .to_string()
                        .contains("GitLab does not let"),
                    "{decision:#}"
                );
            }
        }

        h.approve(1, Approver::Sre, 4).await;
        assert_eq!(h.published().state, h.state(Outcome::Passed));
    })
    .await;
}

#[tokio::test]
async fn new_commits_after_an_approval_need_a_new_one() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["src/payments/ledger.rs"]);
        h.put_policy(h.policy());
        h.open(1, 1).await;
        assert_eq!(h.published().state, h.state(Outcome::Waiting));
        h.approve(1, Approver::Sre, 2).await;
        assert_eq!(h.published().state, h.state(Outcome::Passed));

        // The forge keeps the approval listed after the push (GitLab does
        // not reset it on this tier), but it was given on the old head.
        h.push(1, 3).await;
        let new_head = h.new_head();
        assert_eq!(h.published().state, h.state(Outcome::Passed), "old head");
        let waiting = h.published_on(&new_head);
        assert_eq!(waiting.state, h.state(Outcome::Waiting), "{waiting:#?}");
        snapshot(forge, "approval_on_an_earlier_commit", &waiting);
        let decision = h.decision(1).await;
        assert!(
            decision["requirements"][0]["not_counted"]
                .to_string()
                .contains(h.login(Approver::Sre)),
            "{decision:#}"
        );
        let stored = h.evaluations(1).await;
        let last = stored.last().unwrap();
        assert_eq!(
            (last.head_sha.as_str(), last.conclusion.as_str()),
            (new_head.as_str(), "action_required")
        );
        match &h {
            Harness::Github(_) => {
                let summary = waiting.summary.clone().unwrap_or_default();
                assert!(summary.contains("given on an earlier commit"), "{summary}");
            }
            Harness::Gitlab(app) => {
                assert_eq!(states(app, &new_head), ["running", "canceled", "pending"]);
            }
        }

        h.approve(1, Approver::Sre, 4).await;
        assert_eq!(h.published_on(&new_head).state, h.state(Outcome::Passed));
    })
    .await;
}

#[tokio::test]
async fn an_invalid_policy_fails_closed_naming_the_file_and_line() {
    on_each_forge(|forge, url| async move {
        // A value the schema does not know, on line 2.
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(5, &["src/lib.rs"]);
        h.put_policy("version: 1\nmode: sometimes\n");
        h.open(5, 1).await;
        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Failed), "{published:#?}");
        let title = published.title.clone().unwrap();
        assert!(title.contains(&format!("{}:2", h.policy_path())), "{title}");
        if let Some(app) = h.github() {
            // Annotated at the line at fault.
            let run = app.the_check_run();
            assert_eq!(run.annotations[0]["path"], h.policy_path());
            assert_eq!(run.annotations[0]["start_line"], 2, "{run:#?}");
        }
        snapshot(forge, "invalid_policy_value", &published);
    })
    .await;
}

#[tokio::test]
async fn a_policy_that_is_not_yaml_fails_closed_naming_the_file_and_line() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(6, &["src/app.rs"]);
        h.put_policy("version: 1\nmode: enforce\nroles:\n  dev: [unclosed\n");
        h.open(6, 1).await;
        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Failed), "{published:#?}");
        let title = published.title.clone().unwrap();
        assert!(
            title.starts_with(&format!("Invalid policy: {}:5:1:", h.policy_path())),
            "{title}"
        );
        assert!(title.contains("invalid YAML"), "{title}");
        snapshot(forge, "invalid_policy_yaml", &published);
    })
    .await;
}

#[tokio::test]
async fn without_a_policy_nothing_is_blocked_and_the_agent_is_seen_and_recorded() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(4, &["infra/main.tf"]);
        h.open(4, 1).await;

        let published = h.published();
        assert_eq!(
            published.state,
            h.state(Outcome::NotConfigured),
            "{published:#?}"
        );
        assert_eq!(
            published.title.as_deref(),
            Some("Warrant is not configured for this repository")
        );
        snapshot(forge, "not_configured", &published);
        let evaluation = &h.evaluations(4).await[0];
        assert_eq!(evaluation.conclusion, "neutral");
        // Visibility before policy: the agent is seen, named and recorded.
        let decision = h.decision(4).await;
        assert_eq!(
            decision["agents"].as_array().map(Vec::len),
            Some(1),
            "{decision}"
        );
        let agent = &decision["agents"][0];
        assert_eq!(agent["status"]["kind"], "unregistered", "{decision}");
        assert_eq!(agent["id"], h.agent_seen(), "{decision}");
        let notes = decision["notes"].to_string();
        assert!(notes.contains("1 agent seen"), "{notes}");
        let trail = h.trail(4).await;
        let seen: Vec<_> = trail
            .iter()
            .filter(|e| e.event.kind == warrant::audit::EventKind::AgentIdentified)
            .map(|e| e.event.agent.clone().unwrap_or_default())
            .collect();
        assert_eq!(seen, [h.agent_seen()], "{trail:#?}");
        // And in the inventory of agents.
        let readable = warrant::store::reports::Readable(
            [(forge.name().to_owned(), h.repo().to_owned())]
                .into_iter()
                .collect(),
        );
        let agents = h.server().store.agents_inventory(&readable).await.unwrap();
        let found = agents.iter().find(|a| a.id == h.agent_seen());
        assert_eq!(found.map(|a| a.registration), Some("unregistered"));

        if h.github().is_some() {
            let summary = published.summary.clone().unwrap_or_default();
            assert!(
                summary.contains("1 agent seen: catalog:copilot."),
                "{summary}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_policy_at_the_repository_root_is_read_when_the_forge_s_folder_has_none() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.put_file(".warrant.yml", h.policy());
        h.open(1, 1).await;
        assert_eq!(h.published().state, h.state(Outcome::Failed));
        assert_eq!(h.decision(1).await["policy"]["path"], ".warrant.yml");
    })
    .await;
}

#[tokio::test]
async fn an_unregistered_agent_escalated_waits_for_an_approver() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_unregistered_change(73, &["src/app.rs"]);
        h.open(73, 1).await;
        let waiting = h.published();
        assert_eq!(waiting.state, h.state(Outcome::Waiting), "{waiting:#?}");
        snapshot(forge, "unregistered_escalated", &waiting);
        let decision = h.decision(73).await;
        let found = decision["agents"].to_string();
        assert!(found.contains("unregistered"), "{decision:#}");
        if h.gitlab().is_some() {
            assert!(found.contains("helper-bot"), "{decision:#}");
        }

        h.approve(73, Approver::Sre, 2).await;
        assert_eq!(h.published().state, h.state(Outcome::Passed));
    })
    .await;
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_evaluated_once() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(8, &["src/app.rs"]);
        h.put_policy(h.policy());
        // Again while the first is queued or running, and after it ended.
        assert_eq!(h.send_opened(8, "key-1").await, 202);
        assert_eq!(h.send_opened(8, "key-1").await, 200);
        h.wait_for_deliveries(1).await;
        assert_eq!(h.send_opened(8, "key-1").await, 200);

        assert_eq!(h.evaluations(8).await.len(), 1);
        assert_eq!(h.server().queue().await.queued, 0);
        if let Some(app) = h.github() {
            let run = app.the_check_run();
            assert_eq!(run.history.len(), 1, "created completed, once");
        }
    })
    .await;
}

#[tokio::test]
async fn a_delivery_with_a_wrong_secret_is_refused_and_nothing_is_stored() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["src/app.rs"]);
        h.put_policy(h.policy());
        assert_eq!(h.send_opened_forged(1).await, 401);
        let stats = h.server().queue().await;
        assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 0));
        assert!(h.nothing_published());
        let trail = h.trail(1).await;
        assert!(trail.is_empty(), "{trail:#?}");
    })
    .await;
}

#[tokio::test]
async fn forge_errors_are_retried_until_the_decision_is_published() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(1, &["src/app.rs"]);
        h.put_policy(h.policy());
        h.fail_one_attempt(1);
        // Two attempts: the first ends in a retry.
        h.open(1, 2).await;

        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Passed), "{published:#?}");
        let queue = h.server().queue().await;
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));
        assert_eq!(h.evaluations(1).await.len(), 1);
        if let Some(app) = h.gitlab() {
            let diffs = support::forge::gitlab_diffs(1);
            let failed = app
                .fake
                .requests()
                .iter()
                .filter(|r| r.path.starts_with(&diffs))
                .count();
            assert_eq!(failed, 8, "seven failures, then the answer");
        }
    })
    .await;
}

#[tokio::test]
async fn after_the_last_attempt_the_change_fails_closed() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(7, &["src/app.rs"]);
        h.put_policy(h.policy());
        h.fail_every_attempt(7);
        // Three attempts, the worker's maximum in these tests.
        h.open(7, 3).await;

        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Failed), "{published:#?}");
        assert_eq!(
            published.title.as_deref(),
            Some("Warrant could not evaluate this change")
        );
        let summary = published.summary.clone().unwrap_or_default();
        assert!(!summary.contains("500"), "no internal detail: {summary}");
        snapshot(forge, "could_not_evaluate", &published);
        assert_eq!(h.server().queue().await.failed, 1);
        assert_eq!(h.evaluations(7).await[0].conclusion, "failure");
    })
    .await;
}

#[tokio::test]
async fn a_policy_pushed_to_the_default_branch_is_audited() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        let after = sha(0x9001);
        let after = after.as_str();
        let pushed = h
            .push_policy(after, h.policy(), &[h.policy_path()], "push-1")
            .await;
        assert_eq!(pushed, 202);
        h.wait_for_deliveries(1).await;

        let chain = h.chain().await;
        assert_eq!(kinds(&chain), ["delivery_received", "policy_changed"]);
        let changed = &chain[1].event;
        assert_eq!(changed.paths, [h.policy_path()]);
        assert_eq!(changed.actor.as_deref(), Some(h.pusher()));
        assert_eq!(changed.head_sha.as_deref(), Some(after));
        assert_eq!(
            changed.policy_blob.as_deref(),
            Some(warrant::policy::blob_id(h.policy().as_bytes()).as_str())
        );
        assert_eq!(changed.detail["policy"], "valid");
        assert_eq!(changed.detail["teams"], json!([h.sre()]));

        match &h {
            Harness::Github(app) => {
                // The repository's first pull request: its team is already
                // known, so the run shows in progress and the team comes
                // with the query.
                app.fake.clear_requests();
                h.add_agent_change(94, &["src/lib.rs"]);
                h.open(94, 2).await;
                let requests = requests(app);
                assert_eq!(requests.len(), 3, "{requests:?}");
                assert_eq!(requests[0], format!("POST /repos/{REPO}/check-runs"));
                assert!(
                    !requests.iter().any(|r| r.ends_with("WarrantTeams")),
                    "{requests:?}"
                );
            }
            Harness::Gitlab(app) => {
                // A push to another branch is not even stored.
                use support::gitlab::{ALICE, BASE, PROJECT};
                let pusher = app.fake.state().user(ALICE);
                let range = (BASE, after);
                let paths = [h.policy_path()];
                let elsewhere = warrant::forge::gitlab::fake::events::push_hook(
                    PROJECT,
                    "main",
                    "refs/heads/feature",
                    range,
                    &pusher,
                    &paths,
                );
                assert_eq!(app.send("Push Hook", &elsewhere, "push-2").await, 200);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_merge_is_recorded_with_its_merge_commit() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.add_agent_change(10, &["src/app.rs"]);
        h.put_policy(h.policy());
        let merge = "5555555555555555555555555555555555555555";
        match &h {
            Harness::Github(app) => {
                use support::github::{base, head};
                let mut event = support::app::pull_request_event(
                    "closed",
                    10,
                    base().as_str(),
                    head().as_str(),
                );
                event["pull_request"]["merged"] = Value::Bool(true);
                event["pull_request"]["commits"] = Value::from(3);
                event["pull_request"]["merged_by"] =
                    json!({ "login": "carol", "id": 5, "type": "User" });
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
            }
            Harness::Gitlab(app) => {
                let merged = HookAction::Merge {
                    merge_commit_sha: merge.to_owned(),
                };
                app.hook_and_wait(10, support::gitlab::MARIA, merged, 1)
                    .await;
            }
        }

        let record = h.change_record(10).await.expect("a record");
        assert_eq!(record.state.as_str(), "merged");
        let last = h.last_merge(10).await.expect("a merge");
        assert_eq!(last.merge_commit_sha.as_deref(), Some(merge));
        assert!(h.nothing_published());
        let trail = h.trail(10).await;
        assert_eq!(kinds(&trail), ["delivery_received", "change_merged"]);
        let merged = &trail[1].event;
        assert_eq!(merged.detail["merge_commit_sha"], merge);

        match &h {
            Harness::Github(_) => {
                assert_eq!(last.method.map(|m| m.as_str()), Some("merge"));
                assert_eq!(last.commit_count, Some(3));
                assert_eq!(merged.detail["merge_method"], "merge", "two parents");
                assert_eq!(merged.actor.as_deref(), Some("carol"));
                assert_eq!(trail[0].event.detail["delivery"], "d-12");
            }
            Harness::Gitlab(app) => {
                let page = app
                    .server
                    .get("/audit/gitlab/platform/payments/ledger/changes/10")
                    .await;
                assert_eq!(page.status().as_u16(), 200);
                let html = page.text().await.unwrap();
                assert!(html.contains(&format!("git revert -m 1 {merge}")), "{html}");
            }
        }
    })
    .await;
}
