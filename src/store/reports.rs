//! The read queries behind the audit pages and exports: the filtered,
//! paginated list of changes and one change's whole record; the inventory
//! of agents and the rollout's figures, built on the same list, are in
//! `inventory` and `rollout`.
//!
//! A change is listed by its latest evaluation (the row with the highest id
//! for its forge, repository and number); filters apply to that evaluation.
//! The caller says which repositories the reader may see ([`Readable`]):
//! nothing else is ever read into a page, and counts say nothing of the rest.
//!
//! The SQL is the same on both databases but for one function name:
//! finding a string in the stored decision is `instr` on SQLite and `strpos`
//! on PostgreSQL. Agents are inside the stored decision JSON, so the agent
//! filter looks for the exact text serde writes for an agent finding,
//! `{"id":"<agent>","status":`, which no other object of a decision starts
//! with; the inventory decodes the decisions and aggregates in Rust.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::as_i64;
use super::changes::{ChangeRecord, ChangeStatus, MergeRecord};
use super::{Backend, Store, from_millis, to_millis};
use crate::audit::AuditEvent;
use crate::engine::{Decision, Forge};
use crate::ids::{ChangeKey, RepoName};

/// What narrows the list of changes. Empty fields do not narrow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFilter {
    pub forge: Option<String>,
    /// `owner/name`, or a GitLab project's full path, exactly.
    pub repo: Option<String>,
    /// An agent id as decisions record it (`claude-code`, `catalog:devin`,
    /// `bot:some-app[bot]`), exactly.
    pub agent: Option<String>,
    /// `success`, `failure`, `action_required` or `neutral`.
    pub conclusion: Option<String>,
    /// Evaluated at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Evaluated before this time.
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive: in the repository or the title (the change's or
    /// its check's), the number (`12`, `#12` or GitLab's `!12`), or exactly
    /// an agent id.
    pub text: Option<String>,
}

/// The repositories a reader may see, as `(forge, repo)` pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readable(pub BTreeSet<(String, String)>);

impl Readable {
    pub fn contains(&self, forge: &str, repo: &str) -> bool {
        self.0.contains(&(forge.to_owned(), repo.to_owned()))
    }
}

/// One stored evaluation, its decision decoded.
#[derive(Clone, Debug)]
pub struct EvaluationRow {
    pub id: i64,
    pub head_sha: String,
    pub base_sha: Option<String>,
    pub conclusion: String,
    /// The check's title.
    pub check_title: String,
    /// `None` when none was reached, or when the stored JSON no longer
    /// decodes (logged).
    pub decision: Option<Decision>,
    pub evaluated_at: DateTime<Utc>,
}

/// One line of the list: a change and its latest evaluation.
#[derive(Clone, Debug)]
pub struct ChangeRow {
    pub change: ChangeKey,
    /// The change's own title, author, address and state, when recorded.
    pub record: Option<ChangeRecord>,
    pub latest: EvaluationRow,
}

/// A page of the list and how many changes the filter matches in all.
#[derive(Clone, Debug)]
pub struct ChangePage {
    pub rows: Vec<ChangeRow>,
    pub total: u64,
}

/// Everything stored about one change.
#[derive(Clone, Debug)]
pub struct ChangeReport {
    pub change: ChangeKey,
    pub record: Option<ChangeRecord>,
    /// Oldest first.
    pub evaluations: Vec<EvaluationRow>,
    /// The change's audit events, in chain order.
    pub events: Vec<AuditEvent>,
    pub merge: Option<MergeRecord>,
}

/// One agent of the inventory, registered or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSummary {
    pub id: String,
    /// `registered`, `unregistered` or `lapsed`, as last seen.
    pub registration: &'static str,
    /// Its role in the repository it was last seen in.
    pub role: Option<String>,
    pub owner: Option<String>,
    /// `forge:owner/name` of each repository it was seen in.
    pub repositories: BTreeSet<String>,
    /// Per repository it was seen in (`forge:owner/name`), its role there
    /// as last seen.
    pub roles: BTreeMap<String, String>,
    /// Whether the organisation policy registers it, as last seen in any
    /// repository.
    pub by_organisation: bool,
    /// The repositories (`forge:owner/name`) whose own policy registers
    /// it, as last seen in each.
    pub registered_in: BTreeSet<String>,
    /// When its registration lapses (or lapsed), as last seen.
    pub expires: Option<DateTime<Utc>>,
    pub last_seen: DateTime<Utc>,
    /// Changes it took part in.
    pub changes: u64,
    /// Of those, how many the latest decision blocks or, in observe mode,
    /// would block.
    pub blocked: u64,
}

/// A bound value of a query built at run time.
enum Arg {
    Text(String),
    Int(i64),
}

/// The `WHERE` clauses of a query and the values they bind, numbered in
/// order.
#[derive(Default)]
struct Clauses {
    sql: Vec<String>,
    args: Vec<Arg>,
}

impl Clauses {
    /// Binds `arg` and returns its placeholder.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    fn text(&mut self, value: &str) -> String {
        self.bind(Arg::Text(value.to_owned()))
    }

    fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(sql);
        for arg in &self.args {
            q = match arg {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(n) => q.bind(*n),
            };
        }
        q
    }

    fn where_sql(&self) -> String {
        self.sql.join(" AND ")
    }
}

/// The columns of a listed change, in the order [`change_row`] reads.
const ROW_COLUMNS: &str = "e.id, e.forge, e.repo, e.number, e.head_sha, e.base_sha, e.conclusion,
     e.title, e.decision, e.evaluated_at, c.title AS change_title, c.author, c.url, c.state,
     c.updated_at";

/// Evaluations joined with their change's facts, latest evaluation only.
const LATEST_FROM: &str = "FROM evaluations e
     LEFT JOIN changes c ON c.forge = e.forge AND c.repo = e.repo AND c.number = e.number";
const IS_LATEST: &str = "e.id = (SELECT MAX(l.id) FROM evaluations l
     WHERE l.forge = e.forge AND l.repo = e.repo AND l.number = e.number)";

impl Store {
    /// Every repository with something to report (evaluations, change
    /// records or audit events), for the caller to decide which are
    /// [`Readable`].
    pub async fn report_repositories(&self) -> anyhow::Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT forge, repo FROM evaluations
             UNION SELECT forge, repo FROM changes
             UNION SELECT forge, repo FROM audit_events
             ORDER BY forge, repo",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot list the repositories")?;
        rows.iter()
            .map(|r| Ok((r.try_get("forge")?, r.try_get("repo")?)))
            .collect::<Result<_, sqlx::Error>>()
            .context("cannot read the repositories")
    }

    /// The changes `filter` matches among `readable` repositories, newest
    /// evaluation first: `limit` of them after skipping `offset`.
    pub async fn changes_page(
        &self,
        filter: &ChangeFilter,
        readable: &Readable,
        offset: u64,
        limit: u32,
    ) -> anyhow::Result<ChangePage> {
        let Some(clauses) = self.change_clauses(filter, readable) else {
            return Ok(ChangePage {
                rows: Vec::new(),
                total: 0,
            });
        };
        let conditions = clauses.where_sql();
        let count_sql = format!("SELECT COUNT(*) AS n {LATEST_FROM} WHERE {conditions}");
        let total: i64 = clauses
            .query(&count_sql)
            .fetch_one(&self.pool)
            .await
            .context("cannot count the changes")?
            .try_get("n")?;

        let mut clauses = clauses;
        let limit_at = clauses.bind(Arg::Int(i64::from(limit)));
        let offset_at = clauses.bind(Arg::Int(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {ROW_COLUMNS} {LATEST_FROM} WHERE {conditions}
             ORDER BY e.evaluated_at DESC, e.id DESC LIMIT {limit_at} OFFSET {offset_at}"
        );
        let rows = clauses
            .query(&sql)
            .fetch_all(&self.pool)
            .await
            .context("cannot list the changes")?;
        Ok(ChangePage {
            rows: rows.iter().map(change_row).collect::<anyhow::Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// The conditions of [`Store::changes_page`]; `None` when nothing can
    /// match (no readable repository).
    fn change_clauses(&self, filter: &ChangeFilter, readable: &Readable) -> Option<Clauses> {
        if readable.0.is_empty() {
            return None;
        }
        let mut c = Clauses::default();
        c.sql.push(IS_LATEST.to_owned());
        let keys: Vec<String> = readable
            .0
            .iter()
            .map(|(forge, repo)| format!("{forge}:{repo}"))
            .collect();
        let placeholders: Vec<String> = keys.iter().map(|k| c.text(k)).collect();
        c.sql.push(format!(
            "(e.forge || ':' || e.repo) IN ({})",
            placeholders.join(", ")
        ));
        if let Some(forge) = &filter.forge {
            let p = c.text(forge);
            c.sql.push(format!("e.forge = {p}"));
        }
        if let Some(repo) = &filter.repo {
            let p = c.text(repo);
            c.sql.push(format!("e.repo = {p}"));
        }
        if let Some(conclusion) = &filter.conclusion {
            let p = c.text(conclusion);
            c.sql.push(format!("e.conclusion = {p}"));
        }
        if let Some(from) = filter.from {
            let p = c.bind(Arg::Int(to_millis(from)));
            c.sql.push(format!("e.evaluated_at >= {p}"));
        }
        if let Some(until) = filter.until {
            let p = c.bind(Arg::Int(to_millis(until)));
            c.sql.push(format!("e.evaluated_at < {p}"));
        }
        if let Some(agent) = &filter.agent {
            let found = self.contains_sql("e.decision", &c.text(&agent_marker(agent)));
            let id = c.text(agent);
            c.sql.push(format!(
                "({found} OR EXISTS (SELECT 1 FROM audit_events a WHERE a.forge = e.forge
                   AND a.repo = e.repo AND a.change_number = e.number AND a.agent_id = {id}))"
            ));
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let lower = text.to_lowercase();
            let like = c.text(&format!("%{}%", like_escaped(&lower)));
            let marker = c.text(&agent_marker(&lower));
            let in_decision = self.contains_sql("LOWER(e.decision)", &marker);
            let mut any = vec![
                format!("LOWER(e.repo) LIKE {like} ESCAPE '\\'"),
                format!("LOWER(COALESCE(c.title, '')) LIKE {like} ESCAPE '\\'"),
                format!("LOWER(e.title) LIKE {like} ESCAPE '\\'"),
                in_decision,
                format!(
                    "EXISTS (SELECT 1 FROM audit_events a WHERE a.forge = e.forge
                       AND a.repo = e.repo AND a.change_number = e.number
                       AND LOWER(a.agent_id) LIKE {like} ESCAPE '\\')"
                ),
            ];
            if let Ok(number) = text.trim_start_matches(['#', '!']).parse::<u64>() {
                if let Ok(number) = i64::try_from(number) {
                    let p = c.bind(Arg::Int(number));
                    any.push(format!("e.number = {p}"));
                }
            }
            c.sql.push(format!("({})", any.join(" OR ")));
        }
        Some(c)
    }

    /// SQL that is true when `needle` (a placeholder) occurs in `haystack`.
    fn contains_sql(&self, haystack: &str, needle: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("instr(COALESCE({haystack}, ''), {needle}) > 0"),
            Backend::Postgres => format!("strpos(COALESCE({haystack}, ''), {needle}) > 0"),
        }
    }

    /// Everything stored about a change, or `None` when nothing is.
    pub async fn change_report(&self, change: &ChangeKey) -> anyhow::Result<Option<ChangeReport>> {
        let rows = sqlx::query(
            "SELECT id, head_sha, base_sha, conclusion, title, decision, evaluated_at
             FROM evaluations WHERE forge = $1 AND repo = $2 AND number = $3 ORDER BY id",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_all(&self.pool)
        .await
        .context("cannot read the evaluations of a change")?;
        let evaluations = rows
            .iter()
            .map(evaluation_row)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let record = self.change_record(change).await?;
        let events = self.audit_events_of_change(change).await?;
        let merge = self.last_merge(change).await?;
        if evaluations.is_empty() && record.is_none() && events.is_empty() && merge.is_none() {
            return Ok(None);
        }
        Ok(Some(ChangeReport {
            change: change.clone(),
            record,
            evaluations,
            events,
            merge,
        }))
    }
}

/// Every change a filter matches, read a batch at a time in the list's
/// order (newest evaluation first), so that a report over all of them
/// never holds every decoded decision at once.
pub(super) struct ChangeBatches<'a> {
    filter: &'a ChangeFilter,
    readable: &'a Readable,
    offset: u64,
    done: bool,
}

/// How many changes a report decodes at a time.
const BATCH: u32 = 500;

impl<'a> ChangeBatches<'a> {
    pub(super) fn new(filter: &'a ChangeFilter, readable: &'a Readable) -> Self {
        ChangeBatches {
            filter,
            readable,
            offset: 0,
            done: false,
        }
    }

    /// The next batch, or `None` after the last.
    pub(super) async fn next(&mut self, store: &Store) -> anyhow::Result<Option<Vec<ChangeRow>>> {
        if self.done {
            return Ok(None);
        }
        let page = store
            .changes_page(self.filter, self.readable, self.offset, BATCH)
            .await?;
        self.done = page.rows.len() < BATCH as usize;
        self.offset += u64::from(BATCH);
        Ok(Some(page.rows))
    }
}

/// The text serde writes at the start of an agent finding with this id.
fn agent_marker(agent: &str) -> String {
    let id = serde_json::to_string(agent).expect("a string serialises");
    format!("{{\"id\":{id},\"status\":")
}

/// `text` with LIKE's wildcards and the escape character escaped by `\`.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

pub(super) fn evaluation_row(row: &AnyRow) -> anyhow::Result<EvaluationRow> {
    let id: i64 = row.try_get("id")?;
    let decision: Option<String> = row.try_get("decision")?;
    let decision = decision.and_then(|json| match serde_json::from_str::<Decision>(&json) {
        Ok(decision) => Some(decision),
        Err(err) => {
            tracing::warn!(evaluation = id, error = %err, "a stored decision does not decode");
            None
        }
    });
    Ok(EvaluationRow {
        id,
        head_sha: row.try_get("head_sha")?,
        base_sha: row.try_get("base_sha")?,
        conclusion: row.try_get("conclusion")?,
        check_title: row.try_get("title")?,
        decision,
        evaluated_at: from_millis(row.try_get("evaluated_at")?)?,
    })
}

pub(super) fn change_row(row: &AnyRow) -> anyhow::Result<ChangeRow> {
    let forge: String = row.try_get("forge")?;
    let forge = Forge::parse(&forge).with_context(|| format!("unknown forge `{forge}`"))?;
    let repo: String = row.try_get("repo")?;
    let number: i64 = row.try_get("number")?;
    let number = u64::try_from(number).context("negative change number")?;
    let change = ChangeKey::new(forge, RepoName::parse(&repo)?, number);
    let state: Option<String> = row.try_get("state")?;
    let record = match state {
        None => None,
        Some(state) => Some(ChangeRecord {
            change: change.clone(),
            title: row.try_get("change_title")?,
            author: row.try_get("author")?,
            url: row.try_get("url")?,
            state: ChangeStatus::parse(&state)
                .with_context(|| format!("unknown change state `{state}`"))?,
            updated_at: from_millis(row.try_get("updated_at")?)?,
        }),
    };
    Ok(ChangeRow {
        change,
        record,
        latest: evaluation_row(row)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Registration;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escaped("a_b%c\\d"), "a\\_b\\%c\\\\d");
    }

    #[test]
    fn the_agent_marker_is_what_serde_writes_for_a_finding() {
        let finding = crate::engine::AgentFinding {
            id: "bot:odd\"name[bot]".into(),
            status: Registration::Unregistered,
            catalog: None,
            role: None,
            owner: None,
            expires: None,
            registered_by: None,
            signals: Vec::new(),
        };
        let json = serde_json::to_string(&finding).unwrap();
        assert!(json.starts_with(&agent_marker(&finding.id)), "{json}");
    }
}
