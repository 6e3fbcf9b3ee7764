//! `GET /audit`: the overview, the landing page. Charts drawn on the
//! server as SVG, each with its numbers in a table beside it: agent
//! changes per week by conclusion, the share of changes with agents,
//! repositories by rollout state, the most active agents and the
//! unregistered agents seen; and in a sentence, the agent commits pushed
//! without review.
//!
//! A change counts once, in the week of its latest evaluation, with that
//! evaluation's conclusion, as on the list of changes.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, Days, NaiveDate, Utc};

use super::chart::{Bar, Chart, Scale};
use super::filter::encode;
use super::repositories::{self, Rollout};
use super::{PageError, STYLE, page, readable};
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::rollout::RecentChange;

/// The weeks the overview covers: a quarter, long enough to show a trend
/// and short enough to read week by week.
const WEEKS: u64 = 12;
/// The most active agents shown.
const TOP_AGENTS: usize = 10;

/// The conclusions in the order the weekly chart stacks them, with their
/// words (short: they head the columns of a table beside the chart) and
/// segment class.
const CONCLUSIONS: [(&str, &str, &str); 4] = [
    ("success", "Allowed", "allowed"),
    ("action_required", "Waiting", "waiting"),
    ("failure", "Blocked", "blocked"),
    ("neutral", "Neutral", "neutral"),
];

/// One week of the overview.
struct Week {
    start: NaiveDate,
    /// Its Monday, `YYYY-MM-DD`.
    label: String,
    /// Changes with agents, per conclusion in [`CONCLUSIONS`]' order.
    by_conclusion: [u64; 4],
    with_agents: u64,
    all: u64,
}

impl Week {
    /// The share of changes with agents, in whole percent.
    fn share(&self) -> u64 {
        (self.with_agents * 100).checked_div(self.all).unwrap_or(0)
    }
}

/// An agent seen in the window.
#[derive(Clone)]
struct AgentCount {
    id: String,
    link: String,
    changes: u64,
    repositories: usize,
    /// As last seen.
    registration: &'static str,
}

#[derive(Template)]
#[template(path = "audit/overview.html")]
struct OverviewPage {
    weeks: Vec<Week>,
    weekly: Chart,
    share: Chart,
    rollout: Chart,
    /// Each rollout state and how many repositories are in it.
    states: Vec<(Rollout, usize)>,
    repositories: usize,
    active: Vec<AgentCount>,
    active_chart: Chart,
    unregistered: Vec<AgentCount>,
    unregistered_chart: Chart,
    since: String,
    conclusions: [(&'static str, &'static str, &'static str); 4],
    /// Agent commits pushed without review in these weeks, newest first
    /// (at most `shown`), told in one sentence: the repositories page
    /// lists them.
    pushes: Vec<super::pushes::PushView>,
    shown: usize,
}

/// `GET /audit`. The list of changes was here: an old link with filters
/// (`/audit?repo=...`) is sent on to the list with the same filters.
pub(super) async fn overview(
    viewer: Viewer,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        return Ok(Redirect::to(&format!("/audit/changes?{query}")).into_response());
    }
    let readable = readable(&state, &viewer).await?;
    let now = Utc::now();
    let first = week_start(now.date_naive()) - Days::new(7 * (WEEKS - 1));
    let since = first
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let recent = state.store().changes_since(&readable, since).await?;
    let lines = repositories::lines(&state, &readable, now).await?;

    let weeks = weeks(first, &recent);
    let states: Vec<(Rollout, usize)> = Rollout::ALL
        .iter()
        .map(|r| (*r, lines.iter().filter(|l| l.rollout == *r).count()))
        .collect();
    let (active, unregistered) = agents(&recent);
    let pushes = super::pushes::recent(&state, &readable, since).await?;
    let body = OverviewPage {
        weekly: weekly_chart(&weeks),
        share: share_chart(&weeks),
        rollout: Chart::new(
            "rollout",
            "Repositories by rollout state",
            states
                .iter()
                .map(|(r, n)| Bar {
                    label: r.words().to_owned(),
                    parts: vec![(r.class(), *n as u64)],
                    value: n.to_string(),
                })
                .collect(),
            Scale::Largest,
            Vec::new(),
        ),
        states,
        repositories: lines.len(),
        active_chart: agents_chart("active", "Most active agents", &active),
        active,
        unregistered_chart: agents_chart("unregistered", "Unregistered agents seen", &unregistered),
        unregistered,
        since: first.format("%Y-%m-%d").to_string(),
        weeks,
        conclusions: CONCLUSIONS,
        pushes,
        shown: super::pushes::SHOWN,
    };
    Ok(page(StatusCode::OK, &body))
}

/// The Monday of `day`'s week (ISO weeks, UTC).
fn week_start(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// [`WEEKS`] weeks from `first`, oldest first, with the changes of each.
fn weeks(first: NaiveDate, recent: &[RecentChange]) -> Vec<Week> {
    let mut weeks: Vec<Week> = (0..WEEKS)
        .map(|i| {
            let start = first + Days::new(7 * i);
            Week {
                start,
                label: start.format("%Y-%m-%d").to_string(),
                by_conclusion: [0; 4],
                with_agents: 0,
                all: 0,
            }
        })
        .collect();
    for change in recent {
        let Some(week) = weeks
            .iter_mut()
            .rev()
            .find(|w| w.start <= change.evaluated_at.date_naive())
        else {
            continue;
        };
        week.all += 1;
        if change.agents.is_empty() {
            continue;
        }
        week.with_agents += 1;
        if let Some(i) = CONCLUSIONS
            .iter()
            .position(|(name, ..)| *name == change.conclusion)
        {
            week.by_conclusion[i] += 1;
        }
    }
    weeks
}

fn weekly_chart(weeks: &[Week]) -> Chart {
    Chart::new(
        "weekly",
        "Agent changes per week, by conclusion",
        weeks
            .iter()
            .map(|w| Bar {
                label: w.label.clone(),
                parts: CONCLUSIONS
                    .iter()
                    .zip(w.by_conclusion)
                    .map(|((_, _, class), n)| (*class, n))
                    .collect(),
                value: w.with_agents.to_string(),
            })
            .collect(),
        Scale::Largest,
        vec![
            ("allowed", "Allowed"),
            ("waiting", "Waiting for approval"),
            ("blocked", "Blocked"),
            ("neutral", "Neutral (observed, or not enforced)"),
        ],
    )
}

fn share_chart(weeks: &[Week]) -> Chart {
    Chart::new(
        "share",
        "Share of changes with agents, per week",
        weeks
            .iter()
            .map(|w| Bar {
                label: w.label.clone(),
                parts: vec![("agents", w.with_agents), ("others", w.all - w.with_agents)],
                value: if w.all == 0 {
                    "no changes".to_owned()
                } else {
                    format!("{}%", w.share())
                },
            })
            .collect(),
        Scale::Whole,
        vec![("agents", "With agents"), ("others", "Without agents")],
    )
}

/// The agents seen in the window, most active first, and the unregistered
/// ones among them (by their latest registration).
fn agents(recent: &[RecentChange]) -> (Vec<AgentCount>, Vec<AgentCount>) {
    let mut seen: BTreeMap<&str, AgentCount> = BTreeMap::new();
    let mut repositories: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // Newest first: the first registration seen of an agent is its latest.
    for change in recent {
        let repo = format!("{}:{}", change.change.forge.as_str(), change.change.repo);
        for (id, registration) in &change.agents {
            let count = seen.entry(id).or_insert_with(|| AgentCount {
                id: id.clone(),
                link: format!("/audit/changes?agent={}", encode(id)),
                changes: 0,
                repositories: 0,
                registration,
            });
            count.changes += 1;
            let mine = repositories.entry(id).or_default();
            mine.insert(repo.clone());
            count.repositories = mine.len();
        }
    }
    let mut all: Vec<AgentCount> = seen.into_values().collect();
    all.sort_by(|a, b| b.changes.cmp(&a.changes).then(a.id.cmp(&b.id)));
    let unregistered = all
        .iter()
        .filter(|a| a.registration == "unregistered")
        .cloned()
        .collect();
    all.truncate(TOP_AGENTS);
    (all, unregistered)
}

fn agents_chart(id: &'static str, title: &str, agents: &[AgentCount]) -> Chart {
    Chart::new(
        id,
        title,
        agents
            .iter()
            .map(|a| Bar {
                label: a.id.clone(),
                parts: vec![(
                    if a.registration == "registered" {
                        "allowed"
                    } else {
                        "blocked"
                    },
                    a.changes,
                )],
                value: a.changes.to_string(),
            })
            .collect(),
        Scale::Largest,
        Vec::new(),
    )
}
