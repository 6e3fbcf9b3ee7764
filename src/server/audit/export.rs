//! Exports of the filtered list of changes and of the agents' inventory, as
//! CSV and JSON Lines with one schema, documented in `docs/audit-export.md`.
//! The field order of [`ExportRow`] and [`AgentRow`] is the column order:
//! changing either is a new schema version. CSV cells that a spreadsheet
//! would run as formulas are neutralised ([`neutralised`]); JSON Lines
//! carry the text as written.

use std::borrow::Cow;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::agents::{Review, registered_by};
use super::filter::ListQuery;
use super::view::{self, RollbackFacts};
use super::{PageError, readable};
use crate::engine::{AgentFinding, Decision, Registration, Requirement, Violation};
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::reports::{AgentSummary, ChangeRow};

/// The changes export's schema version, sent as the
/// `Warrant-Export-Schema` header. Each export has its own.
pub const SCHEMA_VERSION: &str = "1";

/// The agents export's schema version: 2 added the access review's fields
/// after the first eight.
pub const AGENTS_SCHEMA_VERSION: &str = "2";

/// At most this many changes go into one export, whatever the filter: an
/// export is built in memory. Beyond it the response says so in the
/// `Warrant-Export-Truncated` header, and narrower date ranges get the rest.
const MAX_EXPORTED_CHANGES: u64 = 10_000;

/// Changes read per query while exporting.
const BATCH: u32 = 200;

/// One row of the changes export: one path ruled on, for one agent, in the
/// latest evaluation of one change (see `docs/audit-export.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRow {
    pub timestamp: String,
    pub forge: String,
    pub repository: String,
    pub change: u64,
    pub title: String,
    pub head_sha: String,
    pub agent_id: String,
    pub agent_registration: String,
    pub acting_account: String,
    pub requester: String,
    pub action: String,
    pub resource_path: String,
    pub requirement: String,
    pub violation: String,
    pub approval_status: String,
    pub approved_by: String,
    pub decision: String,
    pub rollback: String,
    pub policy_blob: String,
}

/// One row of the agents export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRow {
    pub agent_id: String,
    pub registration: String,
    pub role: String,
    pub owner: String,
    pub repositories: String,
    pub last_seen: String,
    pub changes: u64,
    pub blocked: u64,
    pub registered_by: String,
    pub roles: String,
    pub expires: String,
    pub days_left: Option<i64>,
    pub review: String,
}

/// `GET /audit/export.csv`.
pub(super) async fn changes_csv(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (rows, truncated) = change_rows(&state, &viewer, &query).await?;
    Ok(respond(
        Format::Csv,
        "changes",
        SCHEMA_VERSION,
        &rows,
        truncated,
    )?)
}

/// `GET /audit/export.jsonl`.
pub(super) async fn changes_jsonl(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let (rows, truncated) = change_rows(&state, &viewer, &query).await?;
    Ok(respond(
        Format::JsonLines,
        "changes",
        SCHEMA_VERSION,
        &rows,
        truncated,
    )?)
}

/// `GET /audit/agents/export.csv`.
pub(super) async fn agents_csv(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let rows = agent_rows(&state, &viewer).await?;
    Ok(respond(
        Format::Csv,
        "agents",
        AGENTS_SCHEMA_VERSION,
        &rows,
        false,
    )?)
}

/// `GET /audit/agents/export.jsonl`.
pub(super) async fn agents_jsonl(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let rows = agent_rows(&state, &viewer).await?;
    Ok(respond(
        Format::JsonLines,
        "agents",
        AGENTS_SCHEMA_VERSION,
        &rows,
        false,
    )?)
}

#[derive(Clone, Copy)]
pub(super) enum Format {
    Csv,
    JsonLines,
}

/// `rows` as a download named `warrant-{name}`, with schema version
/// `schema`.
pub(super) fn respond<T: Serialize>(
    format: Format,
    name: &str,
    schema: &'static str,
    rows: &[T],
    truncated: bool,
) -> anyhow::Result<Response> {
    let (body, content_type, extension) = match format {
        Format::Csv => (csv_text(rows)?, "text/csv; charset=utf-8", "csv"),
        Format::JsonLines => (
            jsonl_text(rows)?,
            "application/jsonl; charset=utf-8",
            "jsonl",
        ),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename=\"warrant-{name}.{extension}\""
        ))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert("warrant-export-schema", HeaderValue::from_static(schema));
    if truncated {
        headers.insert("warrant-export-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// CSV with a header line, every field quoted only when it must be, and
/// no cell that a spreadsheet would run as a formula ([`neutralised`]).
fn csv_text<T: Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut plain = csv::Writer::from_writer(Vec::new());
    for row in rows {
        plain.serialize(row)?;
    }
    let plain = plain.into_inner()?;
    // serde hands the writer a whole row, so the cells are neutralised on a
    // second pass over the records written.
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(plain.as_slice());
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records.records() {
        let record = record?;
        writer.write_record(record.iter().map(|cell| neutralised(cell).into_owned()))?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// `cell`, with a `'` before it when it begins with a character that makes
/// a spreadsheet read it as a formula (`=`, `+`, `-`, `@`, tab or carriage
/// return), as OWASP advises against CSV injection: the titles, paths and
/// names exported are written by whoever opens a change, and a title such
/// as `=HYPERLINK(...)` would otherwise run on the auditor's machine. The
/// cell still reads as written, after the quote (`'-1`).
fn neutralised(cell: &str) -> Cow<'_, str> {
    const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One compact JSON object per line, each line ending in `\n`.
fn jsonl_text<T: Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut out = String::new();
    for row in rows {
        out.push_str(&serde_json::to_string(row)?);
        out.push('\n');
    }
    Ok(out)
}

/// The rows of every change the filter matches, in the list's order, and
/// whether [`MAX_EXPORTED_CHANGES`] cut it short.
async fn change_rows(
    state: &AppState,
    viewer: &Viewer,
    query: &ListQuery,
) -> Result<(Vec<ExportRow>, bool), PageError> {
    let request = query.parse()?;
    let readable = readable(state, viewer).await?;
    let store = state.store();
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .changes_page(&request.filter, &readable, offset, BATCH)
            .await?;
        for change in &page.rows {
            let merge = store.last_merge(&change.change).await?;
            let events = store.audit_events_of_change(&change.change).await?;
            let rollback = view::rollback_of(RollbackFacts {
                merge: merge.as_ref(),
                events: &events,
                status: change.record.as_ref().map(|r| r.state),
                base: change.latest.base_sha.as_deref(),
            });
            rows.extend(rows_of(change, &rollback.reference));
        }
        offset += page.rows.len() as u64;
        if offset >= page.total || page.rows.is_empty() {
            return Ok((rows, false));
        }
        if offset >= MAX_EXPORTED_CHANGES {
            return Ok((rows, true));
        }
    }
}

/// The rows of one change: for each agent (or none), one row per path of
/// each requirement and violation that concerns it, or a single row when
/// nothing does.
pub(super) fn rows_of(change: &ChangeRow, rollback: &str) -> Vec<ExportRow> {
    let e = &change.latest;
    let base = ExportRow {
        timestamp: e
            .evaluated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        forge: change.change.forge.as_str().to_owned(),
        repository: change.change.repo.as_str().to_owned(),
        change: change.change.number,
        title: view::title(change),
        head_sha: e.head_sha.clone(),
        agent_id: String::new(),
        agent_registration: String::new(),
        acting_account: String::new(),
        requester: String::new(),
        action: "evaluated".into(),
        resource_path: String::new(),
        requirement: String::new(),
        violation: String::new(),
        approval_status: String::new(),
        approved_by: String::new(),
        decision: e.conclusion.clone(),
        rollback: rollback.to_owned(),
        policy_blob: String::new(),
    };
    let Some(decision) = &e.decision else {
        return vec![base];
    };
    let base = ExportRow {
        requester: decision.requesters.join(" "),
        policy_blob: decision
            .policy
            .as_ref()
            .map(|p| p.blob_id.clone())
            .unwrap_or_default(),
        ..base
    };
    let mut rows = Vec::new();
    if decision.agents.is_empty() {
        rows.extend(rulings(decision, None, &base));
        if rows.is_empty() {
            rows.push(base);
        }
        return rows;
    }
    for agent in &decision.agents {
        let of_agent = ExportRow {
            agent_id: agent.id.clone(),
            agent_registration: match agent.status {
                Registration::Registered => "registered",
                Registration::Unregistered => "unregistered",
                Registration::Lapsed { .. } => "lapsed",
            }
            .into(),
            acting_account: view::acting_account(agent),
            ..base.clone()
        };
        let ruled = rulings(decision, Some(agent), &of_agent);
        if ruled.is_empty() {
            rows.push(ExportRow {
                action: "identified".into(),
                approval_status: "not_required".into(),
                ..of_agent
            });
        } else {
            rows.extend(ruled);
        }
    }
    rows
}

/// The requirement and violation rows that concern `agent` (all of them
/// when there is no agent): a `scope:<id>` requirement or a violation
/// naming an agent concerns that agent only.
fn rulings(decision: &Decision, agent: Option<&AgentFinding>, base: &ExportRow) -> Vec<ExportRow> {
    let concerns_req = |r: &Requirement| match (r.id.strip_prefix("scope:"), agent) {
        (Some(owner), Some(a)) => owner == a.id,
        _ => true,
    };
    let concerns_violation = |v: &Violation| match (&v.agent, agent) {
        (Some(named), Some(a)) => *named == a.id,
        _ => true,
    };
    let mut rows = Vec::new();
    for r in decision.requirements.iter().filter(|r| concerns_req(r)) {
        let row = ExportRow {
            action: "approval_required".into(),
            requirement: r.label.clone(),
            approval_status: if r.satisfied { "approved" } else { "waiting" }.into(),
            approved_by: r
                .approved_by
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            ..base.clone()
        };
        per_path(&mut rows, row, r.paths.iter().map(|p| p.as_str()));
    }
    for v in decision.violations.iter().filter(|v| concerns_violation(v)) {
        let row = ExportRow {
            action: if v.blocking { "blocked" } else { "recorded" }.into(),
            violation: view::violation_words(v.kind).into(),
            ..base.clone()
        };
        per_path(&mut rows, row, v.paths.iter().map(|p| p.as_str()));
    }
    rows
}

/// `row` once per path, or once with no path when there is none.
fn per_path<'a>(rows: &mut Vec<ExportRow>, row: ExportRow, paths: impl Iterator<Item = &'a str>) {
    let before = rows.len();
    for path in paths {
        rows.push(ExportRow {
            resource_path: path.to_owned(),
            ..row.clone()
        });
    }
    if rows.len() == before {
        rows.push(row);
    }
}

async fn agent_rows(state: &AppState, viewer: &Viewer) -> Result<Vec<AgentRow>, PageError> {
    let readable = readable(state, viewer).await?;
    let inventory = state.store().agents_inventory(&readable).await?;
    let now = Utc::now();
    Ok(inventory.iter().map(|a| agent_row(a, now)).collect())
}

fn agent_row(a: &AgentSummary, now: DateTime<Utc>) -> AgentRow {
    let review = Review::of(a, now);
    AgentRow {
        agent_id: a.id.clone(),
        registration: a.registration.to_owned(),
        role: a.role.clone().unwrap_or_default(),
        owner: a.owner.clone().unwrap_or_default(),
        repositories: a.repositories.iter().cloned().collect::<Vec<_>>().join(" "),
        last_seen: a
            .last_seen
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        changes: a.changes,
        blocked: a.blocked,
        registered_by: registered_by(a).join(" "),
        roles: a
            .roles
            .iter()
            .map(|(repo, role)| format!("{repo}={role}"))
            .collect::<Vec<_>>()
            .join(" "),
        expires: a
            .expires
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default(),
        days_left: review.days_left,
        review: review.mark.map(|m| m.name()).unwrap_or_default().to_owned(),
    }
}
