//! `GET /audit/alerts`: the operator's view of the alerts' outbox. How
//! many deliveries wait, are under way, arrived or were given up on; each
//! delivery given up on after 24 hours, with its last error; and the
//! alerts raised last, with where each delivery stands. Receivers are
//! named by their key (`webhook:<digest of the URL>`), never by the URL,
//! which is a secret. Alerts about a repository the viewer may not read
//! are left out.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{PageError, STYLE, page, readable, view};
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::alerts::AlertStats;
use crate::store::reports::Readable;

/// How many of the latest alerts the page lists.
const RECENT: u32 = 50;

/// How many failed deliveries the page lists.
const FAILED: u32 = 100;

#[derive(Template)]
#[template(path = "audit/alerts.html")]
struct AlertsPage {
    stats: AlertStats,
    failed: Vec<FailedLine>,
    recent: Vec<AlertLine>,
}

struct FailedLine {
    id: String,
    kind: String,
    subject: String,
    receiver: String,
    attempts: i64,
    error: String,
    ended: String,
}

struct AlertLine {
    id: String,
    kind: String,
    subject: String,
    raised: String,
    /// Each receiver's delivery, in words.
    deliveries: Vec<(String, String, &'static str)>,
}

/// `GET /audit/alerts`.
pub(super) async fn alerts(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let readable = readable(&state, &viewer).await?;
    let store = state.store();
    let stats = store.alert_stats().await?;
    let failed = (store.failed_alerts(FAILED).await?.into_iter())
        .filter(|f| about_readable(&f.subject, &readable))
        .map(|f| FailedLine {
            ended: (f.ended_at)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(view::time)
                .unwrap_or_default(),
            error: f.last_error.unwrap_or_default(),
            id: f.alert_id,
            kind: f.kind,
            subject: f.subject,
            receiver: f.receiver,
            attempts: f.attempts,
        })
        .collect();
    let recent = (store.recent_alerts(RECENT).await?.into_iter())
        .filter(|a| about_readable(&a.subject, &readable))
        .map(|a| AlertLine {
            raised: view::time(a.created_at),
            deliveries: (a.deliveries.into_iter())
                .map(|d| {
                    let (words, class) = match d.state.as_str() {
                        "delivered" => ("delivered".to_owned(), "allowed"),
                        "failed" => ("given up".to_owned(), "blocked"),
                        _ if d.attempts == 0 => ("waiting".to_owned(), "waiting"),
                        _ => (
                            format!(
                                "{} attempts, next at {}",
                                d.attempts,
                                view::time(d.next_attempt_at)
                            ),
                            "waiting",
                        ),
                    };
                    (d.receiver, words, class)
                })
                .collect(),
            id: a.id,
            kind: a.kind,
            subject: a.subject,
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &AlertsPage {
            stats,
            failed,
            recent,
        },
    ))
}

/// Whether an alert's subject (`FORGE:OWNER/NAME[#N]`) is a repository
/// the viewer may read.
fn about_readable(subject: &str, readable: &Readable) -> bool {
    let Some((forge, rest)) = subject.split_once(':') else {
        return false;
    };
    let repo = rest.split_once('#').map_or(rest, |(repo, _)| repo);
    readable.contains(forge, repo)
}
