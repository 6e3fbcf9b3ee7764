//! Evaluations raise alerts in the transaction that records them, through
//! the real router on both forges and both databases: a change blocked
//! (once per head), an evaluation given up, an unregistered agent (once
//! per repository), a lapsed registration's agent at work (once per
//! change); none for a change that passes, and none of a type the operator
//! filtered out.

mod support;

use serde_json::Value;
use support::alerts::{queued, readable};
use support::forge::{Harness, on_each_forge};
use warrant::store::Store;

fn raising(events: &str) -> impl FnOnce(&mut warrant::worker::WorkerConfig) {
    let raise = support::alerts::raise(events);
    move |config| config.alerts = raise
}

#[tokio::test]
async fn a_blocked_change_raises_one_alert_per_head_and_a_passing_one_none() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising("")).await;
        let store = &h.server().store;
        h.put_policy(h.policy());
        h.add_agent_change(1, &["src/lib.rs"]);
        h.open(1, 1).await;
        assert_eq!(queued(store).await, Vec::<Value>::new(), "it passed");

        h.add_agent_change(2, &["infra/main.tf"]);
        h.open(2, 2).await;
        let events = queued(store).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let blocked = &events[0];
        assert_eq!(blocked["type"], "dev.warrant.change.blocked");
        assert_eq!(
            blocked["subject"],
            format!("{}:{}#2", h.forge().name(), h.repo())
        );
        assert_eq!(blocked["data"]["title"], h.decision(2).await["title"]);
        assert_eq!(
            blocked["data"]["violations"][0]["paths"][0],
            "infra/main.tf"
        );
        assert_eq!(blocked["data"]["page"], h.audit_url(2));
        let name = format!("change_blocked_{}", h.forge().name());
        insta::assert_snapshot!(name, readable(blocked));

        // Decided again at the same head: still blocked, not told again.
        h.edit(2, 3).await;
        assert!(h.evaluations(2).await.len() >= 2);
        assert_eq!(queued(store).await, Vec::<Value>::new());
    })
    .await;
}

#[tokio::test]
async fn giving_up_raises_an_alert_and_a_filtered_type_is_not_queued() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising("dev.warrant.evaluation.")).await;
        let store = &h.server().store;
        h.put_policy(h.policy());
        h.add_agent_change(8, &["infra/main.tf"]);
        h.open(8, 1).await;
        assert_eq!(
            queued(store).await,
            Vec::<Value>::new(),
            "blocked is filtered out"
        );

        h.add_agent_change(7, &["src/app.rs"]);
        h.fail_every_attempt(7);
        h.open(7, 4).await;
        let events = queued(store).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["type"], "dev.warrant.evaluation.failed");
        assert!(
            events[0]["data"]["error"]
                .as_str()
                .unwrap()
                .contains("gave up after several attempts"),
            "{events:#?}"
        );
        let name = format!("evaluation_failed_{}", h.forge().name());
        insta::assert_snapshot!(name, readable(&events[0]));
    })
    .await;
}

#[tokio::test]
async fn a_merged_relaxation_raises_policy_relaxed_with_what_it_relaxed() {
    use support::gitlab::{ALICE, GitlabApp, HEAD, MARIA, POLICY, PROJECT};
    use warrant::forge::gitlab::fake::events::HookAction;
    support::store::on_each_backend(|url| async move {
        let app = GitlabApp::start_with(&url, raising("dev.warrant.policy.")).await;
        app.add_merge_request(4, ALICE, &[".gitlab/warrant.yml"], "Widen the scope");
        app.put_policy(POLICY);
        let proposed = POLICY.replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#);
        app.fake
            .put_file(PROJECT, HEAD, ".gitlab/warrant.yml", &proposed);
        app.hook_and_wait(4, ALICE, HookAction::Open, 1).await;
        assert_eq!(
            queued(&app.store).await,
            Vec::<Value>::new(),
            "not merged yet"
        );

        let merge = "4444444444444444444444444444444444444444";
        let merged = HookAction::Merge {
            merge_commit_sha: merge.to_owned(),
        };
        app.hook_and_wait(4, MARIA, merged, 2).await;
        let events = queued(&app.store).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let relaxed = &events[0];
        assert_eq!(relaxed["type"], "dev.warrant.policy.relaxed");
        insta::assert_snapshot!("policy_relaxed_gitlab", readable(relaxed));
        assert_eq!(relaxed["subject"], format!("gitlab:{PROJECT}#4"));
        let data = &relaxed["data"];
        assert_eq!(data["policy"], ".gitlab/warrant.yml");
        assert_eq!(data["commit"], merge);
        assert_eq!(data["merged_by"], "maria");
        assert_eq!(
            data["relaxations"],
            serde_json::json!(["roles.feature-dev.scope.allow: `infra/**` added"])
        );
        assert_eq!(
            data["blob_after"],
            warrant::policy::blob_id(proposed.as_bytes()).as_str()
        );
        assert_eq!(
            data["blob_before"],
            warrant::policy::blob_id(POLICY.as_bytes()).as_str()
        );
    })
    .await;
}

/// The alerts of types under `prefix` among those queued.
async fn queued_of(store: &Store, prefix: &str) -> Vec<Value> {
    let events = queued(store).await;
    let of = |e: &&Value| e["type"].as_str().is_some_and(|t| t.starts_with(prefix));
    events.iter().filter(of).cloned().collect()
}

#[tokio::test]
async fn an_unregistered_agent_is_told_about_once_per_repository() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising("")).await;
        let store = &h.server().store;
        h.add_unregistered_change(3, &["src/lib.rs"]);
        h.open(3, 1).await;
        let events = queued_of(store, "dev.warrant.agent.").await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let seen = &events[0];
        assert_eq!(seen["type"], "dev.warrant.agent.unregistered");
        assert_eq!(
            seen["subject"],
            format!("{}:{}#3", h.forge().name(), h.repo())
        );
        let decided = h.decision(3).await;
        let agent = &decided["agents"][0];
        assert_eq!(agent["status"]["kind"], "unregistered");
        assert_eq!(seen["data"]["agent"], agent["id"]);
        assert_eq!(seen["data"]["change"]["number"], 3);
        assert_eq!(seen["data"]["change"]["page"], h.audit_url(3));
        let signals = seen["data"]["signals"].as_array().unwrap();
        assert_eq!(signals.len(), agent["signals"].as_array().unwrap().len());
        assert_eq!(signals[0]["value"], agent["signals"][0]["value"]);
        let name = format!("agent_unregistered_{}", h.forge().name());
        insta::assert_snapshot!(name, readable(seen));

        // The same agent again, on this change and on another: not news.
        h.edit(3, 2).await;
        h.add_unregistered_change(4, &["src/app.rs"]);
        h.open(4, 3).await;
        assert_eq!(
            queued_of(store, "dev.warrant.agent.").await,
            Vec::<Value>::new()
        );
    })
    .await;
}

#[tokio::test]
async fn a_lapsed_registration_at_work_is_told_about_once_per_change() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising("dev.warrant.agent.")).await;
        let store = &h.server().store;
        let lapsed = h.policy().replacen(
            "    owner: alice\n",
            "    owner: alice\n    expires: 2026-01-31\n",
            1,
        );
        h.put_policy(&lapsed);
        h.add_agent_change(5, &["src/lib.rs"]);
        h.open(5, 1).await;
        let events = queued(store).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let lapsed = &events[0];
        assert_eq!(lapsed["type"], "dev.warrant.agent.lapsed_active");
        assert_eq!(lapsed["data"]["expires"], "2026-02-01T00:00:00Z");
        assert_eq!(lapsed["data"]["owner"], "alice");
        assert_eq!(lapsed["data"]["change"]["number"], 5);
        let decided = h.decision(5).await;
        assert_eq!(lapsed["data"]["agent"], decided["agents"][0]["id"]);
        let name = format!("agent_lapsed_active_{}", h.forge().name());
        insta::assert_snapshot!(name, readable(lapsed));

        h.edit(5, 2).await;
        assert_eq!(queued(store).await, Vec::<Value>::new(), "same change");
        h.add_agent_change(6, &["src/lib.rs"]);
        h.open(6, 3).await;
        let events = queued(store).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["data"]["change"]["number"], 6);
        assert_ne!(events[0]["id"], lapsed["id"]);
    })
    .await;
}
