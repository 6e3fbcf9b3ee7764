//! The auditors' pages and exports: server-rendered HTML that works without
//! JavaScript, and the same views as CSV and JSON Lines.
//!
//! | Route | |
//! |---|---|
//! | `GET /audit` | the overview: charts of the rollout and of agent activity ([`overview`]); with a query string, a redirect to `/audit/changes` with it (the list's old address) |
//! | `GET /audit/changes` | changes, filtered and paginated ([`filter::ListQuery`]) |
//! | `GET /audit/export.csv`, `GET /audit/export.jsonl` | the same filtered view, every page ([`export`]) |
//! | `GET /audit/{forge}/{repository}/changes/{number}` | one change: decision, timeline, rollback ([`address`]) |
//! | `GET /audit/repositories` | every repository seen, with its rollout state ([`repositories`]) |
//! | `GET /audit/repositories/export.csv`, `.jsonl` | the same list |
//! | `GET /audit/agents` | the access review: every agent seen, registered or not ([`agents`]) |
//! | `GET /audit/agents/export.csv`, `.jsonl` | the same inventory |
//! | `GET /audit/alerts` | the operator's view of the alerts: given up on, raised last ([`alerts`]) |
//! | `GET /audit/checkpoints` | the trail's signed checkpoints, JSON Lines ([`checkpoints`]) |
//! | `GET /audit/events/export.jsonl` | the events the latest checkpoint covers, with their inclusion proofs, then that checkpoint |
//!
//! The repository of a change's page is `owner/name` on GitHub
//! (`/audit/github/acme/app/changes/12`) and the project's full path on
//! GitLab, nested groups included
//! (`/audit/gitlab/platform/payments/ledger/changes/7`).
//!
//! Every handler takes a [`Viewer`] and reads only what
//! [`Viewer::may_read`] allows. A change in a repository the viewer may
//! not read is answered exactly like a change that does not exist (404),
//! so that the pages never reveal which private repositories Warrant
//! governs; lists and counts leave such repositories out.

mod address;
mod agents;
mod alerts;
mod chart;
mod checkpoints;
mod export;
mod filter;
mod overview;
mod pages;
mod policy_view;
mod proofs;
mod pushes;
mod repositories;
mod view;

use std::collections::BTreeSet;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::access::Viewer;
use super::{AppState, page};
use crate::store::reports::Readable;

/// The stylesheet inlined into every page: no external assets.
const STYLE: &str = include_str!("../../../templates/style.css");

/// The audit routes, to merge into the server's router.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(overview::overview))
        .route("/audit/changes", get(pages::changes))
        .route("/audit/export.csv", get(export::changes_csv))
        .route("/audit/export.jsonl", get(export::changes_jsonl))
        .route(
            "/audit/repositories",
            get(repositories::page_of_repositories),
        )
        .route(
            "/audit/repositories/export.csv",
            get(repositories::export_csv),
        )
        .route(
            "/audit/repositories/export.jsonl",
            get(repositories::export_jsonl),
        )
        .route("/audit/agents", get(agents::agents))
        .route("/audit/alerts", get(alerts::alerts))
        .route("/audit/checkpoints", get(checkpoints::checkpoints))
        .route("/audit/events/export.jsonl", get(checkpoints::events_jsonl))
        .route("/audit/agents/export.csv", get(export::agents_csv))
        .route("/audit/agents/export.jsonl", get(export::agents_jsonl))
        // The repository may have any number of segments (GitLab's nested
        // groups): the rest of the path is read by `address`.
        .route("/audit/{forge}/{*rest}", get(pages::change))
}

/// Why a page cannot be shown, as the reader sees it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// A wrong query value; the message says which and how to fix it, and
    /// holds nothing internal.
    #[error("{0}")]
    BadRequest(String),
    /// No such change, or one the viewer may not read: the same answer.
    #[error("There is no such change, or you may not read its repository.")]
    NotFound,
    /// Anything else; the cause is logged, never shown.
    #[error("Warrant could not read its records. The cause is in its log.")]
    Internal(#[from] anyhow::Error),
}

impl PageError {
    pub(crate) fn bad(message: impl Into<String>) -> PageError {
        PageError::BadRequest(message.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Template)]
#[template(path = "audit/problem.html")]
struct ProblemPage {
    heading: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::Internal(err) = &self {
            tracing::error!(error = format!("{err:#}"), "audit page failed");
        }
        let heading = match self {
            PageError::BadRequest(_) => "This request cannot be answered",
            PageError::NotFound => "Not found",
            PageError::Internal(_) => "Something went wrong",
        };
        let problem = ProblemPage {
            heading,
            message: self.to_string(),
        };
        page(self.status(), &problem)
    }
}

/// The repositories with something to report that `viewer` may read.
async fn readable(state: &AppState, viewer: &Viewer) -> Result<Readable, PageError> {
    let mut set = BTreeSet::new();
    for (forge, repo) in state.store().report_repositories().await? {
        if viewer.may_read(state, &forge, &repo).await? {
            set.insert((forge, repo));
        }
    }
    Ok(Readable(set))
}
