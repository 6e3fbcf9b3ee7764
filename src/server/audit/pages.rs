//! The HTML pages of changes: the list, and one change.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::address::{self, Terms};
use super::filter::{CONCLUSIONS, FORGES, ListQuery, ListRequest};
use super::view::{self, AgentView, RequirementView, Status, TimelineEntry, ViolationView};
use super::{PageError, STYLE, page, readable};
use crate::audit::rollback::Rollback;
use crate::engine::Forge;
use crate::ids::ChangeKey;
use crate::server::AppState;
use crate::server::access::Viewer;
use crate::store::reports::ChangePage;
use crate::store::reports::EvaluationRow;

/// One line of the list of changes.
struct ChangeLine {
    link: String,
    repo: String,
    number: u64,
    terms: Terms,
    /// The forge's name, shown beside changes not on GitHub (the usual
    /// forge, left unmarked).
    label: Option<&'static str>,
    title: String,
    status: Status,
    agents: String,
    evaluated: String,
}

#[derive(Template)]
#[template(path = "audit/changes.html")]
struct ChangesPage {
    query: ListQuery,
    conclusions: Vec<(&'static str, &'static str, bool)>,
    /// `(value, name, selected)` of each forge the filter offers.
    forges: Vec<(&'static str, &'static str, bool)>,
    lines: Vec<ChangeLine>,
    total: u64,
    page: u64,
    pages: u64,
    previous: Option<String>,
    next: Option<String>,
    /// The filters as a query string, for the export links.
    filters: String,
}

/// `GET /audit/changes`.
pub(super) async fn changes(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let request = query.parse()?;
    let readable = readable(&state, &viewer).await?;
    let ListRequest {
        filter,
        page: number,
        per_page,
    } = &request;
    let offset = (number - 1).saturating_mul(u64::from(*per_page));
    let ChangePage { rows, total } = state
        .store()
        .changes_page(filter, &readable, offset, *per_page)
        .await?;
    let pages = total.div_ceil(u64::from(*per_page)).max(1);
    let lines = rows
        .iter()
        .map(|row| ChangeLine {
            link: row.change.audit_page(),
            repo: row.change.repo.as_str().to_owned(),
            number: row.change.number,
            terms: address::terms(row.change.forge),
            label: (row.change.forge != Forge::Github)
                .then(|| address::terms(row.change.forge).name),
            title: view::title(row),
            status: view::status(&row.latest),
            agents: view::agent_ids(row.latest.decision.as_ref()).join(", "),
            evaluated: view::time(row.latest.evaluated_at),
        })
        .collect();
    let link = |page: u64| format!("/audit/changes?{}", query.page_query(page, *per_page));
    let body = ChangesPage {
        conclusions: CONCLUSIONS
            .iter()
            .map(|(name, words)| (*name, *words, query.conclusion.trim() == *name))
            .collect(),
        forges: FORGES
            .iter()
            .map(|(name, words)| (*name, *words, query.forge.trim() == *name))
            .collect(),
        lines,
        total,
        page: *number,
        pages,
        previous: (*number > 1).then(|| link(number - 1)),
        next: (*number < pages).then(|| link(number + 1)),
        filters: query.filters_query(),
        query,
    };
    Ok(page(StatusCode::OK, &body))
}

#[derive(Template)]
#[template(path = "audit/change.html")]
struct ChangeDetailPage {
    terms: Terms,
    repo: String,
    number: u64,
    title: String,
    author: String,
    state: String,
    forge_url: String,
    status: Option<Status>,
    sentence: String,
    evaluated: String,
    mode: String,
    /// Each policy applied, organisation first.
    policies: Vec<String>,
    proposed: Vec<super::policy_view::ProposedView>,
    head: String,
    base: String,
    agents: Vec<AgentView>,
    requesters: String,
    requirements: Vec<RequirementView>,
    violations: Vec<ViolationView>,
    overrides: Vec<view::OverrideView>,
    notes: Vec<String>,
    timeline: Vec<TimelineEntry>,
    rollback: Rollback,
    /// What the check on the head shows, when that is not this change's
    /// decision alone.
    head_check: Option<HeadCheckView>,
    /// The change's events in the latest checkpoint.
    proofs: super::proofs::ProofsView,
}

/// The check on a head commit that several changes share.
struct HeadCheckView {
    status: Status,
    title: String,
    /// Each change the check stands for: its name, page and conclusion.
    changes: Vec<(String, String, String)>,
}

/// `GET /audit/{forge}/{repository}/changes/{number}`: a path that names no
/// change is a 404, like a change that was never seen.
pub(super) async fn change(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((forge, rest)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let change = address::parse(&forge, &rest).ok_or(PageError::NotFound)?;
    if !viewer
        .may_read(&state, change.forge.as_str(), change.repo.as_str())
        .await?
    {
        return Err(PageError::NotFound);
    }
    let report = state
        .store()
        .change_report(&change)
        .await?
        .ok_or(PageError::NotFound)?;
    let latest = report.evaluations.last();
    let decision = latest.and_then(|e| e.decision.as_ref());
    let status = latest.map(view::status);
    let sentence = match latest {
        Some(e) => sentence_end(&e.check_title),
        None => "Warrant has not evaluated this change yet.".to_owned(),
    };
    let head_check = match latest {
        Some(e) => head_check(&state, &change, e).await?,
        None => None,
    };
    let record = report.record.as_ref();
    let proofs = super::proofs::proofs(&state, &report.events).await?;
    let body = ChangeDetailPage {
        proofs,
        title: record
            .map(|r| r.title.clone())
            .or_else(|| latest.map(|e| e.check_title.clone()))
            .unwrap_or_default(),
        author: record.and_then(|r| r.author.clone()).unwrap_or_default(),
        state: record
            .map(|r| r.state.as_str().to_owned())
            .unwrap_or_default(),
        forge_url: view::forge_url(
            &change,
            record.and_then(|r| r.url.as_deref()),
            state.gitlab_url(),
        ),
        status,
        sentence,
        evaluated: latest
            .map(|e| view::time(e.evaluated_at))
            .unwrap_or_default(),
        mode: match decision.and_then(|d| d.mode) {
            Some(crate::policy::Mode::Enforce) => "enforce".into(),
            Some(crate::policy::Mode::Observe) => "observe".into(),
            None => "no policy applies".into(),
        },
        policies: decision
            .map(super::policy_view::policies)
            .unwrap_or_default(),
        proposed: decision
            .map(super::policy_view::proposed)
            .unwrap_or_default(),
        head: latest.map(|e| e.head_sha.clone()).unwrap_or_default(),
        base: latest.and_then(|e| e.base_sha.clone()).unwrap_or_default(),
        agents: decision.map(view::agents).unwrap_or_default(),
        requesters: decision
            .map(|d| d.requesters.join(", "))
            .unwrap_or_default(),
        requirements: decision.map(view::requirements).unwrap_or_default(),
        violations: decision.map(view::violations).unwrap_or_default(),
        overrides: decision.map(view::overrides).unwrap_or_default(),
        notes: decision
            .map(|d| d.notes.iter().map(|n| view::plain(n)).collect())
            .unwrap_or_default(),
        timeline: view::timeline(&report),
        rollback: view::rollback_of(view::RollbackFacts::of(&report)),
        head_check,
        terms: address::terms(change.forge),
        repo: change.repo.as_str().to_owned(),
        number: change.number,
    };
    Ok(page(StatusCode::OK, &body))
}

/// The check on the head of `latest`, when it stands for other changes too
/// or shows another conclusion than this change's own: the page then says
/// what the check shows, so that it never disagrees with the forge.
async fn head_check(
    state: &AppState,
    change: &ChangeKey,
    latest: &EvaluationRow,
) -> Result<Option<HeadCheckView>, PageError> {
    let check = state
        .store()
        .head_check(change.forge, &change.repo, &latest.head_sha)
        .await?;
    let Some(check) = check else { return Ok(None) };
    let alone = check.changes.iter().all(|c| c.number == change.number);
    if alone && check.conclusion == latest.conclusion {
        return Ok(None);
    }
    let sigil = address::terms(change.forge).sigil;
    let shown = EvaluationRow {
        conclusion: check.conclusion.clone(),
        decision: None,
        ..latest.clone()
    };
    Ok(Some(HeadCheckView {
        status: view::status(&shown),
        title: view::plain(&check.title),
        changes: check
            .changes
            .iter()
            .map(|c| {
                (
                    format!("{sigil}{}", c.number),
                    ChangeKey::new(change.forge, change.repo.clone(), c.number).audit_page(),
                    c.conclusion.clone(),
                )
            })
            .collect(),
    }))
}

/// The check's title as the end of a sentence.
fn sentence_end(title: &str) -> String {
    let title = view::plain(title.trim());
    if title.ends_with(['.', '!', '?']) {
        title
    } else {
        format!("{title}.")
    }
}
