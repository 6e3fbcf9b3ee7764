//! The daily sweep of lapsing registrations, on both forges and both
//! databases: a registration lapsing within 14 days is recorded in the
//! audit trail and raises `dev.warrant.agent.lapsing` once per day across
//! replicas; one lapsing later, or lapsed already, does not; the access
//! review lists what the sweep tells.

mod support;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use support::alerts::{queued_at, readable};
use support::forge::{Harness, on_each_forge};
use support::server::{TestServer, test_state};
use warrant::alerts::lapsing::{self, sweep};

fn raise() -> warrant::alerts::Raise {
    support::alerts::raise("")
}

/// The test policy, its agent's registration lapsing at `expires`.
fn lapsing_at(h: &Harness, expires: DateTime<Utc>) -> String {
    let expires = expires.format("%Y-%m-%dT%H:%M:%SZ");
    h.policy().replacen(
        "    owner: alice\n",
        &format!("    owner: alice\n    expires: {expires}\n"),
        1,
    )
}

async fn lapsing_events(h: &Harness) -> Vec<warrant::audit::AuditEvent> {
    let chain = h.chain().await;
    chain
        .into_iter()
        .filter(|e| e.event.kind == warrant::audit::EventKind::AgentLapsing)
        .collect()
}

#[tokio::test]
async fn a_registration_lapsing_within_two_weeks_is_told_once_a_day() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        let store = &h.server().store;
        let now = Utc::now();
        h.put_policy(&lapsing_at(&h, now + TimeDelta::days(5)));
        h.add_agent_change(1, &["src/lib.rs"]);
        h.open(1, 1).await;
        let decided = h.decision(1).await;
        let agent = decided["agents"][0]["id"].as_str().unwrap().to_owned();

        let found = lapsing::lapsing(store, now).await.unwrap();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].agent, agent);
        assert_eq!(found[0].days_left, 5);
        assert_eq!(found[0].policy, h.policy_path());

        assert_eq!(
            sweep(store, &raise(), "replica-a", now).await.unwrap(),
            Some(1)
        );
        let events = queued_at(store, now).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let alert = &events[0];
        assert_eq!(alert["type"], "dev.warrant.agent.lapsing");
        assert_eq!(
            alert["subject"],
            format!("{}:{}", h.forge().name(), h.repo())
        );
        assert_eq!(alert["data"]["agent"], agent.as_str());
        assert_eq!(alert["data"]["owner"], "alice");
        assert_eq!(alert["data"]["days_left"], 5);
        assert_eq!(alert["data"]["policy"], h.policy_path());
        assert_eq!(alert["data"]["scope"], "repository");
        let mut stable = alert.clone();
        stable["data"]["expires"] = "<five days from now>".into();
        let name = format!("agent_lapsing_{}", h.forge().name());
        insta::assert_snapshot!(name, readable(&stable));
        let recorded = lapsing_events(&h).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].event.agent.as_deref(), Some(agent.as_str()));
        assert_eq!(recorded[0].event.detail["days_left"], 5);

        // Another replica, later the same day: the sweep has run.
        let later = now + TimeDelta::minutes(1);
        assert_eq!(
            sweep(store, &raise(), "replica-b", later).await.unwrap(),
            None
        );
        assert_eq!(queued_at(store, later).await, Vec::<Value>::new());

        // The next day, two replicas at once: one of them tells again.
        let tomorrow = now + TimeDelta::days(1);
        let (raise_a, raise_b) = (raise(), raise());
        let (a, b) = tokio::join!(
            sweep(store, &raise_a, "replica-a", tomorrow),
            sweep(store, &raise_b, "replica-b", tomorrow),
        );
        let mut ran = [a.unwrap(), b.unwrap()];
        ran.sort();
        assert_eq!(ran, [None, Some(1)]);
        let events = queued_at(store, tomorrow).await;
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0]["data"]["days_left"], 4);
        assert_ne!(events[0]["id"], alert["id"], "a new alert, a new id");
        assert_eq!(lapsing_events(&h).await.len(), 2);

        // Once it has lapsed, the sweep has nothing to tell.
        let after = now + TimeDelta::days(6);
        assert_eq!(
            sweep(store, &raise(), "replica-a", after).await.unwrap(),
            Some(0)
        );
        assert_eq!(queued_at(store, after).await, Vec::<Value>::new());
    })
    .await;
}

#[tokio::test]
async fn a_registration_lapsing_later_is_not_told_and_the_access_review_lists_the_soon_ones() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        let store = &h.server().store;
        let now = Utc::now();
        h.put_policy(&lapsing_at(&h, now + TimeDelta::days(30)));
        h.add_agent_change(1, &["src/lib.rs"]);
        h.open(1, 1).await;
        assert_eq!(
            sweep(store, &raise(), "replica-a", now).await.unwrap(),
            Some(0)
        );
        assert_eq!(queued_at(store, now).await, Vec::<Value>::new());
        assert!(lapsing_events(&h).await.is_empty());
        // The audit pages, open to anyone, over the same store.
        let pages = TestServer::serve(test_state(store).with_public_pages(true)).await;
        let page = pages.get("/audit/agents").await;
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Lapsing within 14 days"), "{page}");
        assert!(!page.contains("<table class=\"stacks lapsing\">"), "{page}");

        // The policy now lapses sooner: the page lists it at once.
        h.put_policy(&lapsing_at(&h, now + TimeDelta::days(3)));
        h.edit(1, 2).await;
        let page = pages.get("/audit/agents").await.text().await.unwrap();
        let table = &page[page.find("<table class=\"stacks lapsing\">").expect(&page)..];
        let table = &table[..table.find("</table>").unwrap()];
        let agent = h.decision(1).await["agents"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(table.contains(&format!("<code>{agent}</code>")), "{table}");
        assert!(table.contains("3 days"), "{table}");
        assert!(table.contains(h.policy_path()), "{table}");
    })
    .await;
}
