//! What evaluations recorded, read back to decide again: the last
//! evaluated changes of a repository or an organisation (a policy change
//! is tried on them), a change's last evaluation (`warrant audit
//! replay`), and the files' texts the records name, each stored once.

use std::collections::HashMap;

use anyhow::Context;
use sqlx::{Any, Transaction};

use super::{Store, as_i64};
use crate::engine::Forge;
use crate::ids::{ChangeKey, RepoName};

/// Whose past changes to read.
#[derive(Clone, Debug)]
pub enum Scope<'a> {
    /// One repository's.
    Repository(&'a RepoName),
    /// Every repository under an owner or group (`acme`, whose
    /// repositories are `acme/...`).
    Owner(&'a str),
}

/// An evaluation as recorded, with what it published.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordedEvaluation {
    pub repo: String,
    pub number: i64,
    /// The head commit it was decided at.
    pub head_sha: String,
    pub conclusion: String,
    /// Its facts (or, recorded before they were kept, its change) as JSON.
    pub input: String,
    pub decision: String,
}

impl Store {
    /// The last evaluation of each of the `limit` changes of `scope`
    /// evaluated last, other than `except`, that reached a decision; most
    /// recent first.
    pub async fn recent_evaluations(
        &self,
        forge: Forge,
        scope: &Scope<'_>,
        except: Option<&ChangeKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<RecordedEvaluation>> {
        let (filter, pattern) = match scope {
            Scope::Repository(repo) => ("repo = $2", repo.as_str().to_owned()),
            Scope::Owner(owner) => (
                "substr(repo, 1, length($2)) = $2",
                format!("{}/", owner.trim_end_matches('/')),
            ),
        };
        let (except_repo, except_number) = match except {
            Some(change) => (change.repo.as_str(), as_i64(change.number)?),
            None => ("", -1),
        };
        let sql = format!(
            "SELECT e.repo, e.number, e.head_sha, e.conclusion, e.input, e.decision
             FROM evaluations e JOIN (
                 SELECT MAX(id) AS id FROM evaluations
                 WHERE forge = $1 AND {filter}
                   AND input IS NOT NULL AND decision IS NOT NULL
                   AND NOT (repo = $3 AND number = $4)
                 GROUP BY repo, number
                 ORDER BY MAX(id) DESC LIMIT $5
             ) last ON e.id = last.id
             ORDER BY e.id DESC"
        );
        sqlx::query_as(&sql)
            .bind(forge.as_str())
            .bind(pattern)
            .bind(except_repo)
            .bind(except_number)
            .bind(as_i64(limit as u64)?)
            .fetch_all(&self.pool)
            .await
            .context("cannot read the last evaluated changes")
    }

    /// The last evaluation of a change that reached a decision: its facts,
    /// to decide it again.
    pub async fn last_recorded(
        &self,
        change: &ChangeKey,
    ) -> anyhow::Result<Option<RecordedEvaluation>> {
        sqlx::query_as(
            "SELECT repo, number, head_sha, conclusion, input, decision FROM evaluations
             WHERE forge = $1 AND repo = $2 AND number = $3
               AND input IS NOT NULL AND decision IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(change.forge.as_str())
        .bind(change.repo.as_str())
        .bind(as_i64(change.number)?)
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the change's last evaluation")
    }

    /// The facts of repository `repo`'s last evaluation that recorded
    /// them, if any: the policies that decided there last.
    pub async fn last_input_of(
        &self,
        forge: Forge,
        repo: &RepoName,
    ) -> anyhow::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT input FROM evaluations
             WHERE forge = $1 AND repo = $2 AND input IS NOT NULL AND decision IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(forge.as_str())
        .bind(repo.as_str())
        .fetch_optional(&self.pool)
        .await
        .context("cannot read the repository's last evaluation")
    }

    /// The facts of each repository's last evaluation that recorded them,
    /// as `(forge, repository, input)`: the policies in force there, as far
    /// as Warrant knows (the lapsing sweep reads their registrations).
    pub async fn last_inputs(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        sqlx::query_as(
            "SELECT e.forge, e.repo, e.input FROM evaluations e JOIN (
                 SELECT MAX(id) AS id FROM evaluations
                 WHERE input IS NOT NULL AND decision IS NOT NULL
                 GROUP BY forge, repo
             ) last ON e.id = last.id
             ORDER BY e.forge, e.repo",
        )
        .fetch_all(&self.pool)
        .await
        .context("cannot read the repositories' last evaluations")
    }

    /// The texts of `digests` that are stored, by SHA-256.
    pub async fn recorded_texts<'d>(
        &self,
        digests: impl IntoIterator<Item = &'d str>,
    ) -> anyhow::Result<HashMap<String, String>> {
        let mut digests: Vec<&str> = digests.into_iter().collect();
        digests.sort_unstable();
        digests.dedup();
        let mut texts = HashMap::new();
        // Bound parameters per statement stay well under every limit.
        for chunk in digests.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT sha256, text FROM recorded_texts WHERE sha256 IN ({})",
                marks.join(", ")
            );
            let mut query = sqlx::query_as::<_, (String, String)>(&sql);
            for digest in chunk {
                query = query.bind(*digest);
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .context("cannot read recorded texts")?;
            texts.extend(rows);
        }
        Ok(texts)
    }
}

/// Keeps each text an evaluation read, once.
pub(super) async fn insert_texts(
    tx: &mut Transaction<'static, Any>,
    texts: &HashMap<String, String>,
) -> Result<(), sqlx::Error> {
    for (sha256, text) in texts {
        sqlx::query(
            "INSERT INTO recorded_texts (sha256, text) VALUES ($1, $2)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(text)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
