//! The audit trail's append path on SQLite and PostgreSQL: rows are chained
//! per repository, in order, and concurrent writers never fork a chain.

mod support;

use chrono::{TimeZone, Utc};
use support::keys::{key, repo_name};
use support::store::on_each_backend;
use tokio::task::JoinSet;
use warrant::audit::{EventKind, GENESIS, NewAuditEvent, row_hash};
use warrant::engine::Forge;
use warrant::store::{Chain, Store};

fn event(repo: &str, kind: EventKind, n: i64) -> NewAuditEvent {
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap() + chrono::Duration::seconds(n);
    let mut e = NewAuditEvent::new(Forge::Github, &repo_name(repo), kind, at).with_detail("n", n);
    e.change = Some(7);
    e.paths = vec![format!("src/{n}.rs")];
    e
}

async fn whole_chain(store: &Store, repo: &str) -> Vec<warrant::audit::AuditEvent> {
    let chain = Chain {
        forge: "github".into(),
        repo: repo.into(),
    };
    store.audit_chain_page(&chain, 0, 10_000).await.unwrap()
}

#[tokio::test]
async fn appended_events_are_chained_per_repository() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let stored = store
            .append_audit(&[
                event("acme/app", EventKind::DeliveryReceived, 1),
                event("acme/app", EventKind::DecisionMade, 2),
                event("acme/lib", EventKind::PolicyChanged, 3),
            ])
            .await
            .unwrap();
        assert_eq!(stored[0].seq, 1);
        assert_eq!(stored[0].prev_hash, GENESIS);
        assert_eq!(stored[1].seq, 2);
        assert_eq!(stored[1].prev_hash, stored[0].hash);
        assert_eq!(stored[2].seq, 1, "another repository starts its own chain");
        assert_eq!(stored[2].prev_hash, GENESIS);

        let read = whole_chain(&store, "acme/app").await;
        assert_eq!(read, stored[..2].to_vec(), "read back exactly as appended");
        for row in &read {
            assert_eq!(row.hash, row_hash(&row.event, row.seq, &row.prev_hash));
        }
        let chains = store.audit_chains().await.unwrap();
        let repos: Vec<&str> = chains.iter().map(|c| c.repo.as_str()).collect();
        assert_eq!(repos, ["acme/app", "acme/lib"]);
        let of_change = store
            .audit_events_of_change(&key("github", "acme/app", 7))
            .await
            .unwrap();
        assert_eq!(of_change.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn concurrent_appends_to_one_repository_make_one_unbroken_chain() {
    on_each_backend(|url| async move {
        // Two stores: two replicas' pools on the same database.
        let stores = [
            Store::connect(&url).await.unwrap(),
            Store::connect(&url).await.unwrap(),
        ];
        let mut writers = JoinSet::new();
        for w in 0..8i64 {
            let store = stores[(w % 2) as usize].clone();
            writers.spawn(async move {
                for i in 0..5 {
                    store
                        .append_audit(&[event("acme/app", EventKind::CheckPosted, w * 100 + i)])
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = writers.join_next().await {
            done.unwrap();
        }
        let chain = whole_chain(&stores[0], "acme/app").await;
        assert_eq!(chain.len(), 40);
        let mut prev = GENESIS.to_owned();
        for (i, row) in chain.iter().enumerate() {
            assert_eq!(row.seq, i as u64 + 1);
            assert_eq!(
                row.prev_hash, prev,
                "row {} links to its predecessor",
                row.seq
            );
            prev = row.hash.clone();
        }
    })
    .await;
}
