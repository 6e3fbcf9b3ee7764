//! The daily sweep of lapsing registrations: every registration that
//! lapses within [`WITHIN_DAYS`] days is recorded in the audit trail of the
//! repository whose policy registers it (`agent_lapsing`) and raises
//! `dev.warrant.agent.lapsing`, at most once per registration and day.
//!
//! The sweep runs when `serve` starts and then each hour, and does its work
//! once a day (UTC) across replicas: the replica whose transaction records
//! the day's run in `sweeps` is the one that ran it; another finds the row
//! and writes nothing. The registrations are those of the policies each
//! repository's last evaluation applied (the repository's, and its
//! organisation's), which is what the access review shows too.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Alert, AlertType, Raise};
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::{Forge, Origin};
use crate::evaluation::record::Input;
use crate::ids::RepoName;
use crate::policy::Policy;
use crate::store::Store;
use crate::store::alerts::Sweep;

/// The sweep's name in `sweeps`.
pub const NAME: &str = "agent.lapsing";

/// A registration that lapses within this many days is told about: two
/// weeks leaves an access review time to renew it.
pub const WITHIN_DAYS: i64 = 14;

/// How often a replica looks whether today's sweep has run.
const INTERVAL: Duration = Duration::from_secs(60 * 60);

/// A registration that lapses soon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lapsing {
    pub forge: Forge,
    /// The repository whose policy registers the agent: the
    /// organisation's repository for `warrant-org.yml`.
    pub repository: RepoName,
    /// The policy file.
    pub policy: String,
    pub scope: Origin,
    pub agent: String,
    pub owner: String,
    pub role: String,
    pub expires: DateTime<Utc>,
    /// Whole days left, rounded up: 1 means within a day.
    pub days_left: i64,
}

/// Every registration that lapses after `now` and within [`WITHIN_DAYS`]
/// days, soonest first.
pub async fn lapsing(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Vec<Lapsing>> {
    let mut records = Vec::new();
    for (forge, repo, input) in store.last_inputs().await? {
        let (Some(forge), Ok(repo)) = (Forge::parse(&forge), RepoName::parse(&repo)) else {
            continue;
        };
        // An input recorded before the facts were kept names no policy.
        if let Ok(Input::Facts(record)) = Input::parse(&input) {
            records.push((forge, repo, record));
        }
    }
    let texts = store
        .recorded_texts(records.iter().flat_map(|(_, _, r)| r.digests()))
        .await?;
    let mut found = BTreeMap::new();
    for (forge, repo, record) in &records {
        let org = record.org.as_ref().and_then(|org| {
            let repository = RepoName::parse(&org.repository).ok()?;
            let policy = org.file.policy(&texts, None)?;
            Some((repository, org.file.path.to_string(), policy))
        });
        if let Some((repository, path, policy)) = &org {
            let at = (*forge, repository, path.as_str(), Origin::Organisation);
            collect(&mut found, at, policy, |_| true, now);
        }
        let org_policy = org.as_ref().map(|(_, _, p)| p);
        let Some(file) = &record.repo else { continue };
        let Some(policy) = file.policy(&texts, org_policy) else {
            continue;
        };
        // The organisation's agents given a role here lapse with the
        // organisation's registration, told about once, above.
        let own =
            |id: &str| org_policy.is_none_or(|o| !o.agents.iter().any(|a| a.id.as_str() == id));
        let path = file.path.to_string();
        collect(
            &mut found,
            (*forge, repo, &path, Origin::Repository),
            &policy,
            own,
            now,
        );
    }
    let mut found: Vec<Lapsing> = found.into_values().collect();
    found.sort_by(|a, b| (a.expires, &a.agent).cmp(&(b.expires, &b.agent)));
    Ok(found)
}

/// Runs the sweep for `now`'s day unless a replica already did: records
/// each lapsing registration and queues its alert. `None` when the day's
/// sweep had already run, else how many registrations it found.
pub async fn sweep(
    store: &Store,
    raise: &Raise,
    worker: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<usize>> {
    let day = now.date_naive();
    let today = day.format("%Y-%m-%d").to_string();
    if store
        .last_sweep(NAME)
        .await?
        .is_some_and(|s| s.day >= today)
    {
        return Ok(None);
    }
    let found = lapsing(store, now).await?;
    let mut events = Vec::new();
    let mut alerts = Vec::new();
    for l in &found {
        let mut event = NewAuditEvent::new(l.forge, &l.repository, EventKind::AgentLapsing, now);
        event.agent = Some(l.agent.clone());
        event.role = Some(l.role.clone());
        event.owner = Some(l.owner.clone());
        event.paths = vec![l.policy.clone()];
        events.push(
            event
                .with_detail("expires", l.expires.to_rfc3339())
                .with_detail("days_left", l.days_left)
                .with_detail("scope", l.scope.as_str()),
        );
        let (forge, repo) = (l.forge.as_str(), &l.repository);
        let key = format!("{forge}:{repo}:{}:{}:{today}", l.policy, l.agent);
        let data = json!({
            "agent": l.agent,
            "repository": repo.as_str(),
            "policy": l.policy,
            "scope": l.scope.as_str(),
            "owner": l.owner,
            "role": l.role,
            "expires": l.expires,
            "days_left": l.days_left,
        });
        let subject = format!("{forge}:{repo}");
        let alert = Alert::once(AlertType::AgentLapsing, &key, subject, now, data);
        alerts.extend(raise.queue(&alert));
    }
    let run = Sweep {
        name: NAME,
        day,
        at: now,
        worker,
    };
    let ran = store.record_sweep(&run, &events, &alerts).await?;
    Ok(ran.then_some(found.len()))
}

/// Sweeps now, then looks each hour whether the day's sweep is due, until
/// `stop` turns true.
pub fn spawn(
    store: Store,
    raise: Raise,
    worker: String,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match sweep(&store, &raise, &worker, Utc::now()).await {
                Ok(Some(found)) => tracing::info!(found, "swept lapsing registrations"),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "cannot sweep lapsing registrations; trying again within the hour")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(INTERVAL) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}

type Found = BTreeMap<(&'static str, String, String, String), Lapsing>;

/// Adds the registrations of `policy` (kept `at` forge, repository, path,
/// scope) that `keep` and that lapse within the window.
fn collect(
    found: &mut Found,
    (forge, repository, path, scope): (Forge, &RepoName, &str, Origin),
    policy: &Policy,
    keep: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) {
    let window = now + TimeDelta::days(WITHIN_DAYS);
    for agent in &policy.agents {
        let Some(expires) = agent.expires.filter(|e| *e > now && *e <= window) else {
            continue;
        };
        if !keep(agent.id.as_str()) {
            continue;
        }
        let key = (
            forge.as_str(),
            repository.as_str().to_owned(),
            path.to_owned(),
            agent.id.as_str().to_owned(),
        );
        let seconds = (expires - now).num_seconds();
        found.entry(key).or_insert_with(|| Lapsing {
            forge,
            repository: repository.clone(),
            policy: path.to_owned(),
            scope,
            agent: agent.id.as_str().to_owned(),
            owner: agent.owner.to_string(),
            role: agent.role.as_str().to_owned(),
            expires,
            days_left: (seconds + 86_399) / 86_400,
        });
    }
}
