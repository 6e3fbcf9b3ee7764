//! `GET /audit/agents`: the access review. Every agent seen, unregistered
//! ones first: where it is registered (by the organisation, or by which
//! repositories), its owner, its role per repository, and when its
//! registration lapses, marked when that is within 30 days or when it has
//! lapsed and the agent is still seen on changes.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::filter::encode;
use super::{PageError, STYLE, address, page, readable, view};
use crate::alerts::lapsing;
use crate::engine::{Forge, Origin};
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::reports::AgentSummary;

/// A registration that lapses within this many days is marked: a month is
/// the usual notice for renewing an access grant.
pub(super) const LAPSE_NOTICE_DAYS: i64 = 30;

/// What the access review says about an agent's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mark {
    /// It lapses within [`LAPSE_NOTICE_DAYS`] days.
    LapsesSoon,
    /// It has lapsed, and changes still show the agent after that.
    LapsedStillSeen,
    /// It has lapsed, and the agent has not been seen since.
    Lapsed,
}

impl Mark {
    /// As the exports spell it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Mark::LapsesSoon => "lapses_soon",
            Mark::LapsedStillSeen => "lapsed_still_seen",
            Mark::Lapsed => "lapsed",
        }
    }
}

/// An agent's registration, reviewed at a time.
pub(super) struct Review {
    /// Whole days until it lapses; 0 once it has (the expiry date says
    /// since when).
    pub days_left: Option<i64>,
    pub mark: Option<Mark>,
}

impl Review {
    pub(super) fn of(agent: &AgentSummary, now: DateTime<Utc>) -> Review {
        let Some(expires) = agent.expires else {
            let mark = (agent.registration == "lapsed").then_some(Mark::LapsedStillSeen);
            return Review {
                days_left: None,
                mark,
            };
        };
        let days_left = (expires - now).num_days();
        let mark =
            if agent.registration == "lapsed" || (expires <= now && agent.last_seen >= expires) {
                Some(Mark::LapsedStillSeen)
            } else if expires <= now {
                Some(Mark::Lapsed)
            } else if days_left <= LAPSE_NOTICE_DAYS {
                Some(Mark::LapsesSoon)
            } else {
                None
            };
        Review {
            days_left: Some(days_left.max(0)),
            mark,
        }
    }
}

/// Where an agent is registered: `organisation` and/or the repositories
/// (`forge:owner/name`) whose own policy registers it.
pub(super) fn registered_by(agent: &AgentSummary) -> Vec<String> {
    let organisation = agent.by_organisation.then(|| "organisation".to_owned());
    organisation
        .into_iter()
        .chain(agent.registered_in.iter().cloned())
        .collect()
}

#[derive(Template)]
#[template(path = "audit/agents.html")]
struct AgentsPage {
    agents: Vec<AgentLine>,
    unregistered: usize,
    /// Registrations marked for review.
    marked: usize,
    notice_days: i64,
    /// The registrations the daily sweep tells about: lapsing within
    /// [`lapsing::WITHIN_DAYS`] days.
    lapsing: Vec<LapsingLine>,
    lapsing_days: i64,
    /// When the sweep last ran, if it has.
    swept: Option<String>,
}

struct LapsingLine {
    agent: String,
    registered_in: String,
    policy: String,
    owner: String,
    role: String,
    expires: String,
    days_left: String,
    search: String,
}

struct AgentLine {
    summary: AgentSummary,
    registered_by: String,
    roles: String,
    expires: String,
    /// The review's mark in words, and its status class.
    mark: Option<(String, &'static str)>,
    repositories: String,
    last_seen: String,
    search: String,
}

/// `GET /audit/agents`.
pub(super) async fn agents(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let readable = readable(&state, &viewer).await?;
    let inventory = state.store().agents_inventory(&readable).await?;
    let now = Utc::now();
    let unregistered = inventory
        .iter()
        .filter(|a| a.registration != "registered")
        .count();
    let agents: Vec<AgentLine> = inventory
        .into_iter()
        .map(|summary| line(summary, now))
        .collect();
    let marked = agents.iter().filter(|a| a.mark.is_some()).count();
    let lapsing = lapsing::lapsing(state.store(), now).await?;
    let lapsing = (lapsing.into_iter())
        .filter(|l| readable.contains(l.forge.as_str(), l.repository.as_str()))
        .map(|l| LapsingLine {
            registered_in: match l.scope {
                Origin::Organisation => format!("the organisation ({})", l.repository),
                Origin::Repository => l.repository.to_string(),
            },
            search: format!("/audit/changes?agent={}", encode(&l.agent)),
            agent: l.agent,
            policy: l.policy,
            owner: l.owner,
            role: l.role,
            expires: view::time(l.expires),
            days_left: days(l.days_left),
        })
        .collect();
    let swept = state.store().last_sweep(lapsing::NAME).await?;
    Ok(page(
        StatusCode::OK,
        &AgentsPage {
            agents,
            unregistered,
            marked,
            notice_days: LAPSE_NOTICE_DAYS,
            lapsing,
            lapsing_days: lapsing::WITHIN_DAYS,
            swept: swept.map(|s| view::time(s.ran_at)),
        },
    ))
}

/// `n` days, in words.
fn days(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

fn line(summary: AgentSummary, now: DateTime<Utc>) -> AgentLine {
    let review = Review::of(&summary, now);
    let words = |key: &String| repository_words(key);
    let registered_by = registered_by(&summary)
        .iter()
        .map(|k| {
            if k == "organisation" {
                k.clone()
            } else {
                words(k)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let expires = match (summary.expires, review.days_left) {
        (Some(at), Some(left)) if at > now => {
            format!("{} ({} left)", at.format("%Y-%m-%d"), days(left))
        }
        (Some(at), _) => format!("{} (lapsed)", at.format("%Y-%m-%d")),
        _ => String::new(),
    };
    let mark = review.mark.map(|mark| match mark {
        Mark::LapsesSoon => (
            format!("Lapses in {}", days(review.days_left.unwrap_or(0))),
            "waiting",
        ),
        Mark::LapsedStillSeen => ("Lapsed, still seen".to_owned(), "blocked"),
        Mark::Lapsed => ("Lapsed".to_owned(), "neutral"),
    });
    AgentLine {
        registered_by: if registered_by.is_empty() {
            "nowhere".to_owned()
        } else {
            registered_by
        },
        roles: summary
            .roles
            .iter()
            .map(|(repo, role)| format!("{role} in {}", words(repo)))
            .collect::<Vec<_>>()
            .join("; "),
        expires,
        mark,
        repositories: summary
            .repositories
            .iter()
            .map(words)
            .collect::<Vec<_>>()
            .join(", "),
        last_seen: view::time(summary.last_seen),
        search: format!("/audit/changes?agent={}", encode(&summary.id)),
        summary,
    }
}

/// A repository of the inventory (`forge:repo`) as the agents page shows
/// it: `acme/app (GitHub)`, `platform/payments/ledger (GitLab)`.
fn repository_words(key: &str) -> String {
    match key.split_once(':') {
        Some((forge, repo)) => {
            let forge = Forge::parse(forge).map_or("its forge", |f| address::terms(f).name);
            format!("{repo} ({forge})")
        }
        None => key.to_owned(),
    }
}
