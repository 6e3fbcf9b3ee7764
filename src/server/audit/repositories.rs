//! `GET /audit/repositories`: every repository Warrant has seen, with its
//! rollout state (judged by its latest decision), the policies that apply,
//! and its agents and changes in the last 30 days; and its exports.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::address;
use super::export::{Format, respond};
use super::filter::encode;
use super::{PageError, STYLE, page, readable};
use crate::engine::{Decision, Forge, Origin};
use crate::policy::Mode;
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::reports::{EvaluationRow, Readable};

/// "Recent" on the repositories page: the usual window of an access
/// review, and short enough that a repository's column says what it does
/// now.
pub(super) const RECENT_DAYS: i64 = 30;

/// Where a repository stands in the rollout, by its latest decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rollout {
    /// A policy that applies does not parse or validate: checks fail.
    Invalid,
    /// No policy: agents are identified and recorded, nothing is decided.
    VisibilityOnly,
    Observe,
    Enforce,
    /// Seen (a change, an event) but no decision recorded yet.
    Undecided,
}

impl Rollout {
    pub(super) const ALL: [Rollout; 5] = [
        Rollout::Enforce,
        Rollout::Observe,
        Rollout::VisibilityOnly,
        Rollout::Invalid,
        Rollout::Undecided,
    ];

    pub(super) fn of(latest: Option<&EvaluationRow>) -> Rollout {
        let Some(decision) = latest.and_then(|e| e.decision.as_ref()) else {
            return Rollout::Undecided;
        };
        if !decision.policy_errors.is_empty() {
            return Rollout::Invalid;
        }
        match decision.mode {
            Some(Mode::Enforce) => Rollout::Enforce,
            Some(Mode::Observe) => Rollout::Observe,
            None => Rollout::VisibilityOnly,
        }
    }

    pub(super) fn words(self) -> &'static str {
        match self {
            Rollout::Invalid => "Invalid policy",
            Rollout::VisibilityOnly => "Visibility only",
            Rollout::Observe => "Observe",
            Rollout::Enforce => "Enforce",
            Rollout::Undecided => "No decision yet",
        }
    }

    /// As the exports spell it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Rollout::Invalid => "invalid",
            Rollout::VisibilityOnly => "visibility_only",
            Rollout::Observe => "observe",
            Rollout::Enforce => "enforce",
            Rollout::Undecided => "undecided",
        }
    }

    /// The status class: decoration only, the words say it.
    pub(super) fn class(self) -> &'static str {
        match self {
            Rollout::Invalid => "blocked",
            Rollout::Observe => "waiting",
            Rollout::Enforce => "allowed",
            Rollout::VisibilityOnly | Rollout::Undecided => "neutral",
        }
    }
}

/// Which policies a decision applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Policies {
    Both,
    Organisation,
    Repository,
    None,
}

impl Policies {
    fn of(decision: Option<&Decision>) -> Policies {
        let Some(d) = decision else {
            return Policies::None;
        };
        match (d.org_policy.is_some(), d.policy.is_some()) {
            (true, true) => Policies::Both,
            (true, false) => Policies::Organisation,
            (false, true) => Policies::Repository,
            (false, false) => Policies::None,
        }
    }

    /// As the exports spell it.
    fn name(self) -> &'static str {
        match self {
            Policies::Both => "both",
            Policies::Organisation => "organisation",
            Policies::Repository => "repository",
            Policies::None => "none",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Policies::Both => "organisation and repository",
            other => other.name(),
        }
    }
}

/// Each policy's own mode under an organisation policy (`organisation
/// enforce, repository observe`); empty otherwise.
fn modes(decision: Option<&Decision>) -> String {
    let Some(d) = decision else {
        return String::new();
    };
    d.applied
        .iter()
        .map(|a| {
            let mode = match a.mode {
                Mode::Enforce => "enforce",
                Mode::Observe => "observe",
            };
            let from = match a.from {
                Origin::Organisation => "organisation",
                Origin::Repository => "repository",
            };
            format!("{from} {mode}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One repository, as the page, its exports and the overview read it.
pub(super) struct RepositoryLine {
    pub forge: Forge,
    pub repo: String,
    pub rollout: Rollout,
    pub policies: Policies,
    pub modes: String,
    /// Agents seen on its changes in the last [`RECENT_DAYS`] days.
    pub agents: BTreeSet<String>,
    /// Changes evaluated in the last [`RECENT_DAYS`] days.
    pub changes: u64,
    /// The changes page, filtered to those changes.
    pub recent_link: String,
    pub last_decision: Option<DateTime<Utc>>,
}

impl RepositoryLine {
    /// The changes page, filtered to this repository.
    pub(super) fn changes_link(&self) -> String {
        format!(
            "/audit/changes?forge={}&repo={}",
            self.forge.as_str(),
            encode(&self.repo)
        )
    }
}

/// Where "recent" starts: the start of the day (UTC) [`RECENT_DAYS`] days
/// ago, so that the changes page filtered `from` that day lists exactly
/// the changes counted.
pub(super) fn recent_since(now: DateTime<Utc>) -> DateTime<Utc> {
    (now - Duration::days(RECENT_DAYS))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// Every `readable` repository, in name order.
pub(super) async fn lines(
    state: &AppState,
    readable: &Readable,
    now: DateTime<Utc>,
) -> Result<Vec<RepositoryLine>, PageError> {
    let store = state.store();
    let latest = store.latest_by_repository(readable).await?;
    // Per `(forge, repo)`: changes evaluated recently, and their agents.
    let mut recent: BTreeMap<(&str, &str), (u64, BTreeSet<String>)> = BTreeMap::new();
    let changes = store.changes_since(readable, recent_since(now)).await?;
    for change in &changes {
        let (count, agents) = recent
            .entry((change.change.forge.as_str(), change.change.repo.as_str()))
            .or_default();
        *count += 1;
        agents.extend(change.agents.iter().map(|(id, _)| id.clone()));
    }
    let from = recent_since(now).format("%Y-%m-%d").to_string();
    let mut lines = Vec::new();
    for (forge, repo) in &readable.0 {
        let Some(forge_kind) = Forge::parse(forge) else {
            continue;
        };
        let evaluation = latest.get(&(forge.clone(), repo.clone()));
        let decision = evaluation.and_then(|e| e.decision.as_ref());
        let (changes, agents) = recent
            .remove(&(forge.as_str(), repo.as_str()))
            .unwrap_or_default();
        let mut line = RepositoryLine {
            forge: forge_kind,
            repo: repo.clone(),
            rollout: Rollout::of(evaluation),
            policies: Policies::of(decision),
            modes: modes(decision),
            agents,
            changes,
            recent_link: String::new(),
            last_decision: evaluation.map(|e| e.evaluated_at),
        };
        line.recent_link = format!("{}&from={from}", line.changes_link());
        lines.push(line);
    }
    Ok(lines)
}

/// A line of the page, in words.
struct LineView {
    line: RepositoryLine,
    label: Option<&'static str>,
    policies: &'static str,
    agents: String,
    last_decision: String,
    link: String,
}

#[derive(Template)]
#[template(path = "audit/repositories.html")]
struct RepositoriesPage {
    lines: Vec<LineView>,
    /// `(words, count)` of each rollout state with at least one repository.
    counts: Vec<(&'static str, usize)>,
    recent_days: i64,
    /// Agent commits pushed without review in the last `recent_days`.
    pushes: Vec<super::pushes::PushView>,
}

/// `GET /audit/repositories`.
pub(super) async fn page_of_repositories(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let readable = readable(&state, &viewer).await?;
    let now = Utc::now();
    let lines = lines(&state, &readable, now).await?;
    let pushes = super::pushes::recent(&state, &readable, recent_since(now)).await?;
    let counts = Rollout::ALL
        .iter()
        .map(|r| (r.words(), lines.iter().filter(|l| l.rollout == *r).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let lines = lines
        .into_iter()
        .map(|line| LineView {
            label: (line.forge != Forge::Github).then(|| address::terms(line.forge).name),
            policies: line.policies.words(),
            agents: line.agents.iter().cloned().collect::<Vec<_>>().join(", "),
            last_decision: line
                .last_decision
                .map(super::view::time)
                .unwrap_or_default(),
            link: line.changes_link(),
            line,
        })
        .collect();
    let body = RepositoriesPage {
        lines,
        counts,
        recent_days: RECENT_DAYS,
        pushes,
    };
    Ok(page(StatusCode::OK, &body))
}

/// One row of the repositories export (`docs/audit-export.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRow {
    pub forge: String,
    pub repository: String,
    pub rollout: String,
    pub policies: String,
    pub modes: String,
    pub agents_30_days: String,
    pub changes_30_days: u64,
    pub last_decision: String,
}

/// The repositories export's schema version.
const SCHEMA: &str = "1";

async fn rows(state: &AppState, viewer: &Viewer) -> Result<Vec<RepositoryRow>, PageError> {
    let readable = readable(state, viewer).await?;
    let lines = lines(state, &readable, Utc::now()).await?;
    Ok(lines
        .into_iter()
        .map(|l| RepositoryRow {
            forge: l.forge.as_str().to_owned(),
            repository: l.repo,
            rollout: l.rollout.name().to_owned(),
            policies: l.policies.name().to_owned(),
            modes: l.modes,
            agents_30_days: l.agents.into_iter().collect::<Vec<_>>().join(" "),
            changes_30_days: l.changes,
            last_decision: l
                .last_decision
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
        })
        .collect())
}

/// `GET /audit/repositories/export.csv`.
pub(super) async fn export_csv(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let rows = rows(&state, &viewer).await?;
    Ok(respond(Format::Csv, "repositories", SCHEMA, &rows, false)?)
}

/// `GET /audit/repositories/export.jsonl`.
pub(super) async fn export_jsonl(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let rows = rows(&state, &viewer).await?;
    Ok(respond(
        Format::JsonLines,
        "repositories",
        SCHEMA,
        &rows,
        false,
    )?)
}
