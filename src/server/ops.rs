//! Operations endpoints: liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;

use super::{AppState, HttpError};

/// Liveness: the process answers. Deliberately checks nothing else, so that
/// a database outage does not get every replica restarted.
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers, so a webhook sent here can be stored.
pub(super) async fn readyz(State(state): State<AppState>) -> Result<&'static str, HttpError> {
    match state.store.ping().await {
        Ok(()) => Ok("ready\n"),
        Err(err) => {
            tracing::warn!(
                error = format!("{err:#}"),
                "not ready: the database does not answer"
            );
            Err(HttpError::Unavailable)
        }
    }
}

/// The Prometheus text exposition, with the queue read now. Served even
/// when the database is down (`warrant_database_up 0`), so that the other
/// counters still tell what happened.
pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let stats = match state.store.stats(Utc::now()).await {
        Ok(stats) => Some(stats),
        Err(err) => {
            tracing::warn!(
                error = format!("{err:#}"),
                "cannot read the queue for metrics"
            );
            None
        }
    };
    state.metrics.set_queue(stats.as_ref());
    match state.store.alert_stats().await {
        Ok(alerts) => state.metrics.set_alerts(&alerts),
        Err(err) => tracing::warn!(
            error = format!("{err:#}"),
            "cannot read the alerts for metrics"
        ),
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}
