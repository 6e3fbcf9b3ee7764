//! Warrant on GitLab, end to end: webhooks shaped like GitLab's through the
//! real router and queue, the real worker against a fake GitLab over HTTP,
//! the `warrant` commit status and the stored decision checked. On SQLite
//! always, on PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set.

mod support;

use support::gitlab::*;
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::Fault;
use warrant::forge::gitlab::fake::events::HookAction;
use warrant::store::audit::Chain;

const AUDIT_URL: &str =
    "https://warrant.example.com/audit/gitlab/platform/payments/ledger/changes/1";

/// The API path of merge request !1's diffs, as the client requests it.
fn diffs_of_first() -> String {
    let project = PROJECT.replace('/', "%2F");
    format!("/api/v4/projects/{project}/merge_requests/1/diffs")
}

fn states(app: &GitlabApp, sha: &str) -> Vec<String> {
    app.statuses_on(sha).into_iter().map(|s| s.state).collect()
}

#[tokio::test]
async fn an_agent_change_within_its_scope_succeeds_with_a_linked_status() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs", "src/lib.rs"], "Add a feature");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;

        assert_eq!(states(&app, HEAD), ["running", "success"]);
        let status = app.last_status(HEAD);
        assert_eq!(status.target_url.as_deref(), Some(AUDIT_URL));
        assert_eq!(
            status.git_ref.as_deref(),
            Some("change-1"),
            "the source branch"
        );
        let title = status.description.clone().unwrap();
        assert!(title.contains("ledger-bot"), "{title}");
        let evaluations = app.evaluations(1).await;
        assert_eq!(evaluations.len(), 1);
        assert_eq!(evaluations[0].conclusion, "success");
        assert_eq!(evaluations[0].head_sha, HEAD);
        assert_eq!(evaluations[0].base_sha.as_deref(), Some(BASE));
        let decision = app.decision(1).await;
        assert_eq!(decision["forge"], "gitlab");
        assert_eq!(decision["repository"], PROJECT);
        assert_eq!(decision["policy"]["path"], ".gitlab/warrant.yml");
        let trail = app
            .store
            .audit_events_of_change("gitlab", PROJECT, 1)
            .await
            .unwrap();
        let kinds: Vec<String> = trail
            .iter()
            .map(|e| e.event.kind.as_str().to_owned())
            .collect();
        assert!(kinds.contains(&"delivery_received".to_owned()), "{kinds:?}");
        assert!(kinds.contains(&"decision_made".to_owned()), "{kinds:?}");
        assert!(trail.iter().all(|e| e.event.forge == "gitlab"));
        let metrics = app
            .server
            .client
            .get(app.server.url("/metrics"))
            .send()
            .await;
        let metrics = metrics.unwrap().text().await.unwrap();
        assert!(
            metrics.contains("warrant_gitlab_api_requests_total{status=\"2xx\"}"),
            "{metrics}"
        );
        assert!(metrics.contains("warrant_evaluations_total{conclusion=\"success\"} 1"));
    })
    .await;
}

#[tokio::test]
async fn an_agent_change_out_of_its_scope_fails() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(
            1,
            AGENT_BOT,
            &["src/app.rs", "infra/main.tf"],
            "Tweak infra",
        );
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;

        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let title = status.description.unwrap();
        assert!(
            title.contains("out of scope") || title.contains("outside"),
            "{title}"
        );
        let decision = app.decision(1).await;
        let paths = &decision["violations"][0]["paths"];
        assert_eq!(paths, &serde_json::json!(["infra/main.tf"]));
    })
    .await;
}

#[tokio::test]
async fn a_sensitive_change_waits_as_pending_until_a_group_member_approves() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        let waiting = app.last_status(HEAD);
        assert_eq!(waiting.state, "pending");
        let title = waiting.description.unwrap();
        assert!(title.contains("platform/sre"), "{title}");

        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;
        assert_eq!(app.last_status(HEAD).state, "success");
        let decision = app.decision(1).await;
        let counted = &decision["requirements"][0]["approved_by"];
        assert!(counted.to_string().contains("maria"), "{decision:#}");
        // GitLab cannot move a running status back to pending: it was
        // canceled and a pending one started; the head was evaluated
        // before, so the approval moved it on without `running` again.
        assert_eq!(
            states(&app, HEAD),
            ["running", "canceled", "pending", "success"]
        );
    })
    .await;
}

#[tokio::test]
async fn approvals_by_an_agent_or_the_requester_do_not_count_and_are_recorded() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        // Omar asked Claude for the change: he is its requester.
        app.add_merge_request(
            1,
            OMAR,
            &["src/payments/ledger.rs"],
            "Round amounts\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        );
        app.put_policy(POLICY);
        app.hook_and_wait(1, OMAR, HookAction::Open, 1).await;
        app.fake.approve(PROJECT, 1, REVIEW_BOT);
        app.hook_and_wait(1, REVIEW_BOT, HookAction::Approval, 2)
            .await;
        app.fake.approve(PROJECT, 1, OMAR);
        app.hook_and_wait(1, OMAR, HookAction::Approval, 3).await;

        assert_eq!(app.last_status(HEAD).state, "pending");
        let decision = app.decision(1).await;
        let refused = decision["requirements"][0]["not_counted"].to_string();
        assert!(refused.contains("review-bot"), "{decision:#}");
        assert!(refused.contains("omar"), "{decision:#}");
        // GitLab cannot withdraw the bot's approval: it is ignored, and
        // the decision says so instead of dismissing it.
        assert_eq!(decision["dismissals"], serde_json::json!([]));
        assert!(
            decision["notes"]
                .to_string()
                .contains("GitLab does not let"),
            "{decision:#}"
        );
        let trail = app
            .store
            .audit_events_of_change("gitlab", PROJECT, 1)
            .await
            .unwrap();
        let refusals: Vec<_> = trail
            .iter()
            .filter(|e| e.event.kind.as_str() == "approval_refused")
            .filter_map(|e| e.event.actor.clone())
            .collect();
        assert!(refusals.contains(&"review-bot".to_owned()), "{refusals:?}");

        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 4).await;
        assert_eq!(app.last_status(HEAD).state, "success");
    })
    .await;
}

#[tokio::test]
async fn new_commits_after_an_approval_need_a_new_one() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;
        assert_eq!(app.last_status(HEAD).state, "success");

        // GitLab keeps Maria's approval listed after the push (no reset on
        // this tier), but it was given on the old head.
        app.push_to(1, NEW_HEAD);
        let oldrev = HookAction::NewCommits {
            oldrev: HEAD.to_owned(),
        };
        app.hook_and_wait(1, AGENT_BOT, oldrev, 3).await;
        assert_eq!(states(&app, NEW_HEAD), ["running", "canceled", "pending"]);
        let decision = app.decision(1).await;
        assert!(
            decision["requirements"][0]["not_counted"]
                .to_string()
                .contains("maria")
        );

        app.hook_and_wait(1, MARIA, HookAction::Approval, 4).await;
        assert_eq!(app.last_status(NEW_HEAD).state, "success");
    })
    .await;
}

#[tokio::test]
async fn an_invalid_policy_fails_closed_naming_the_file_and_line() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        app.put_policy("version: 1\nmode: enforce\nroles:\n  dev: [unclosed\n");
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        let title = status.description.unwrap();
        assert!(
            title.starts_with("Invalid policy: .gitlab/warrant.yml:5:1:"),
            "{title}"
        );
        assert!(title.contains("invalid YAML"), "{title}");
    })
    .await;
}

#[tokio::test]
async fn without_a_policy_the_status_succeeds_saying_so() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["infra/main.tf"], "Tweak infra");
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        let status = app.last_status(HEAD);
        assert_eq!(status.state, "success");
        assert_eq!(
            status.description.as_deref(),
            Some("Warrant is not configured for this repository")
        );
        let evaluation = &app.evaluations(1).await[0];
        assert_eq!(evaluation.conclusion, "neutral");
        // Visibility before policy: the bot is seen and recorded.
        let decision: serde_json::Value =
            serde_json::from_str(evaluation.decision.as_deref().unwrap()).unwrap();
        assert_eq!(
            decision["agents"].as_array().map(Vec::len),
            Some(1),
            "{decision}"
        );
        let agent = &decision["agents"][0];
        assert_eq!(agent["status"]["kind"], "unregistered", "{decision}");
        assert_eq!(agent["id"], "bot:project_42_bot_7f3a", "{decision}");
        let notes = decision["notes"].to_string();
        assert!(notes.contains("1 agent seen"), "{notes}");
    })
    .await;
}

#[tokio::test]
async fn a_policy_at_the_root_is_read_when_gitlab_has_none() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["infra/main.tf"], "Tweak infra");
        app.fake.put_file(PROJECT, BASE, ".warrant.yml", POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        assert_eq!(app.last_status(HEAD).state, "failed");
        assert_eq!(app.decision(1).await["policy"]["path"], ".warrant.yml");
    })
    .await;
}

#[tokio::test]
async fn a_bot_nobody_registered_is_found_and_escalated() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, SHADOW_BOT, &["src/app.rs"], "Refactor");
        app.put_policy(POLICY);
        app.hook_and_wait(1, SHADOW_BOT, HookAction::Open, 1).await;
        let status = app.last_status(HEAD);
        assert_eq!(status.state, "pending");
        let decision = app.decision(1).await;
        let found = decision["agents"].to_string();
        assert!(found.contains("helper-bot"), "{decision:#}");
        assert!(found.contains("unregistered"), "{decision:#}");

        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;
        assert_eq!(app.last_status(HEAD).state, "success");
    })
    .await;
}

#[tokio::test]
async fn a_redelivered_hook_is_acknowledged_and_evaluated_once() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        app.put_policy(POLICY);
        assert_eq!(app.hook(1, AGENT_BOT, HookAction::Open, "key-1").await, 202);
        assert_eq!(app.hook(1, AGENT_BOT, HookAction::Open, "key-1").await, 200);
        app.wait_for_deliveries(1).await;
        assert_eq!(app.evaluations(1).await.len(), 1);
        assert_eq!(app.server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn a_hook_with_a_wrong_token_is_refused_and_nothing_is_stored() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        let mr = app.merge_request(1);
        let actor = app.fake.state().user(AGENT_BOT);
        let payload = warrant::forge::gitlab::fake::events::merge_request_hook(
            &mr,
            &actor,
            &HookAction::Open,
        );
        let forged = warrant::forge::gitlab::fake::events::GitlabWebhookSender {
            url: app.hooks.url.clone(),
            secret: "not-the-secret".to_owned(),
        };
        let response = forged
            .send("Merge Request Hook", &payload, Some("k"))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let stats = app.server.queue().await;
        assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 0));
        assert!(app.fake.statuses().is_empty());
        let trail = app
            .store
            .audit_events_of_change("gitlab", PROJECT, 1)
            .await
            .unwrap();
        assert!(trail.is_empty(), "{trail:#?}");
    })
    .await;
}

#[tokio::test]
async fn gitlab_errors_are_retried_until_the_status_is_posted() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        app.put_policy(POLICY);
        // Seven failures: more than one attempt's client retries (five),
        // so the delivery itself is retried, and succeeds.
        let diffs = diffs_of_first();
        app.fake.fail_next("GET", &diffs, 7, Fault::BadGateway);
        // Two attempts: the first ends in a retry.
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 2).await;
        assert_eq!(app.last_status(HEAD).state, "success");
        let failed = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.path.starts_with(&diffs))
            .count();
        assert_eq!(failed, 8, "seven failures, then the answer");
        let queue = app.server.queue().await;
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn after_the_last_attempt_the_status_fails_closed() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        app.put_policy(POLICY);
        let diffs = diffs_of_first();
        app.fake.fail_next("GET", &diffs, 1_000, Fault::ServerError);
        // Three attempts, the worker's maximum in these tests.
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 3).await;
        let status = app.last_status(HEAD);
        assert_eq!(status.state, "failed");
        assert_eq!(
            status.description.as_deref(),
            Some("Warrant could not evaluate this change")
        );
        assert_eq!(app.server.queue().await.failed, 1);
    })
    .await;
}

#[tokio::test]
async fn a_policy_pushed_to_the_default_branch_is_audited() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        let after = "4444444444444444444444444444444444444444";
        app.fake
            .put_file(PROJECT, after, ".gitlab/warrant.yml", POLICY);
        assert_eq!(
            app.push_policy(after, &[".gitlab/warrant.yml"], "push-1")
                .await,
            202
        );
        app.wait_for_deliveries(1).await;
        let chain = Chain {
            forge: "gitlab".to_owned(),
            repo: PROJECT.to_owned(),
        };
        let trail = app.store.audit_chain_page(&chain, 0, 50).await.unwrap();
        let changed = trail
            .iter()
            .map(|e| &e.event)
            .find(|e| e.kind.as_str() == "policy_changed")
            .expect("a policy_changed event");
        assert_eq!(changed.detail["policy"], "valid");
        assert_eq!(changed.detail["teams"], serde_json::json!(["platform/sre"]));
        assert_eq!(changed.head_sha.as_deref(), Some(after));
        // A push elsewhere is not even stored.
        assert_eq!(app.push_policy(after, &["README.md"], "push-2").await, 200);
    })
    .await;
}

#[tokio::test]
async fn a_merge_is_recorded_with_its_revert_command() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["src/app.rs"], "Add a feature");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        let merge = "5555555555555555555555555555555555555555";
        let merged = HookAction::Merge {
            merge_commit_sha: merge.to_owned(),
        };
        app.hook_and_wait(1, MARIA, merged, 2).await;
        let record = app
            .store
            .change_record("gitlab", PROJECT, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.state.as_str(), "merged");
        let last = app
            .store
            .last_merge("gitlab", PROJECT, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(last.merge_commit_sha.as_deref(), Some(merge));
        let page = app
            .server
            .client
            .get(
                app.server
                    .url("/audit/gitlab/platform/payments/ledger/changes/1"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("git revert -m 1 {merge}")), "{html}");
    })
    .await;
}

#[tokio::test]
async fn an_external_status_check_named_warrant_is_answered_after_each_decision() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.fake.add_status_check(PROJECT, 78, "compliance-scan");
        app.fake.add_status_check(PROJECT, 77, "warrant");
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;

        let answers: Vec<(u64, String, String)> = app
            .fake
            .check_responses()
            .into_iter()
            .map(|r| (r.check_id, r.sha, r.status))
            .collect();
        assert_eq!(
            answers,
            [
                (77, HEAD.to_owned(), "pending".to_owned()),
                (77, HEAD.to_owned(), "passed".to_owned()),
            ]
        );
        // Which check is Warrant's is asked once, not on every decision.
        let asked = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.path.contains("/status_checks"))
            .count();
        assert_eq!(asked, 1);

        // GitLab notifies the check's URL of changes; Warrant acts on the
        // webhook instead and stores nothing from the notification.
        let notified = app
            .server
            .client
            .post(app.server.url("/webhooks/gitlab/status-check"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(notified.status().as_u16(), 200);
        assert_eq!(app.server.queue().await.queued, 0);
    })
    .await;
}

#[tokio::test]
async fn below_ultimate_no_status_check_is_answered() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["infra/main.tf"], "Tweak infra");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        // The fake answers 403 to status checks, as GitLab below Ultimate.
        assert_eq!(app.last_status(HEAD).state, "failed");
        assert!(app.fake.check_responses().is_empty());
        assert_eq!(app.server.queue().await.failed, 0);
    })
    .await;
}
