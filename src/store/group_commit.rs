//! Group commit: the queue's one writer in each process.
//!
//! A synchronous commit costs one sync to disk (SQLite's `synchronous =
//! FULL`, PostgreSQL's WAL flush), whatever it holds. Committing each
//! delivery alone caps the door at one delivery per sync, and on SQLite
//! every concurrent writer waits for the file's one write lock in its busy
//! handler, sleeping for milliseconds at a time. So the door hands each
//! delivery to this writer and waits: the writer takes every delivery that
//! arrived while the previous commit was syncing (up to [`MAX_BATCH`]),
//! inserts them in one transaction, commits once, and only then answers
//! each. A delivery is therefore acknowledged only once the commit that
//! holds it is durable, as before; what changes is that many share one
//! sync.
//!
//! - **All or nothing.** If the transaction fails (an insert or the commit
//!   itself), every delivery in it is answered with the error and none is
//!   stored: the door answers each with an error, never `2xx`, so the forge
//!   shows them failed and they can be delivered again.
//! - **Idempotent.** Each insert is the same `ON CONFLICT DO NOTHING` as
//!   alone: a redelivery, even of a delivery in the same batch, is a
//!   [`Enqueued::Duplicate`].
//! - **Replicas.** On PostgreSQL each replica has its own writer, and their
//!   transactions meet only at the unique indexes. Two batches inserting the
//!   same delivery ids in opposite orders could deadlock, so each batch is
//!   inserted in `(forge, delivery id)` order.
//!
//! The writer is started by the first delivery (on the runtime that sent
//! it) and ends when the last handle on the store is dropped; should it end
//! early (its runtime stopped), the next delivery starts another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::deliveries::{Enqueued, NewDelivery, QueueId};
use super::{Store, to_millis};

/// The most deliveries one transaction holds. A batch this size of 25 MB
/// bodies (the largest accepted) would be big, but the body budget of the
/// doors bounds what can be waiting at once anyway; this only keeps one
/// commit from growing without end under a flood of small deliveries.
const MAX_BATCH: usize = 512;

/// Deliveries waiting for the writer, beyond which senders wait in turn:
/// back-pressure on the doors rather than a queue in memory.
const INBOX: usize = 4096;

/// How the writer is reached: started on first use.
#[derive(Clone, Debug, Default)]
pub(super) struct GroupCommit {
    inbox: Arc<Mutex<Option<mpsc::Sender<Pending>>>>,
}

/// A delivery handed to the writer, owned, so that the writer only writes.
#[derive(Debug)]
struct Pending {
    forge: String,
    delivery_id: String,
    event: String,
    payload: Vec<u8>,
    replay_key: Option<String>,
    received_at: DateTime<Utc>,
    reply: oneshot::Sender<Result<Committed, String>>,
}

/// A delivery's fate in the transaction that held it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Committed {
    pub enqueued: Enqueued,
    /// How many deliveries that transaction held, this one included.
    pub batch: usize,
}

impl Store {
    /// Like [`Store::enqueue`], and says how many deliveries shared the
    /// commit that made this one durable.
    pub(crate) async fn enqueue_in_batch(
        &self,
        delivery: &NewDelivery<'_>,
    ) -> anyhow::Result<Committed> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            forge: delivery.forge.to_owned(),
            delivery_id: delivery.delivery_id.to_owned(),
            event: delivery.event.to_owned(),
            payload: delivery.payload.to_vec(),
            replay_key: delivery.replay_key.map(str::to_owned),
            received_at: delivery.received_at,
            reply,
        };
        self.group_commit
            .sender(&self.pool)
            .send(pending)
            .await
            .ok()
            .context("the queue's writer has stopped")?;
        let committed = answer
            .await
            .ok()
            .context("the queue's writer stopped before committing")?;
        committed
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot enqueue delivery {}", delivery.delivery_id))
    }
}

impl GroupCommit {
    /// The writer's inbox, starting the writer if there is none running.
    fn sender(&self, pool: &AnyPool) -> mpsc::Sender<Pending> {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        match &*inbox {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let (sender, receiver) = mpsc::channel(INBOX);
                tokio::spawn(write(pool.clone(), receiver));
                *inbox = Some(sender.clone());
                sender
            }
        }
    }
}

/// The writer: each turn commits everything that is waiting, in one
/// transaction, then answers each sender.
async fn write(pool: AnyPool, mut inbox: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        batch.sort_by(|a: &Pending, b| (&a.forge, &a.delivery_id).cmp(&(&b.forge, &b.delivery_id)));
        let size = batch.len();
        match insert_all(&pool, &batch).await {
            Ok(ids) => {
                for (pending, id) in batch.drain(..).zip(ids) {
                    let enqueued = id.map_or(Enqueued::Duplicate, |id| {
                        Enqueued::Accepted(QueueId::from_row(id))
                    });
                    let _ = pending.reply.send(Ok(Committed {
                        enqueued,
                        batch: size,
                    }));
                }
            }
            Err(err) => {
                let why = format!("the transaction of {size} deliveries failed: {err}");
                for pending in batch.drain(..) {
                    let _ = pending.reply.send(Err(why.clone()));
                }
            }
        }
    }
}

/// Inserts a batch in one transaction: each delivery's new row id, or
/// `None` for one already stored (before, or earlier in the batch).
/// Nothing is stored unless all is.
async fn insert_all(pool: &AnyPool, batch: &[Pending]) -> sqlx::Result<Vec<Option<i64>>> {
    let mut tx = pool.begin().await?;
    let mut inserted = HashMap::with_capacity(batch.len());
    let mut rest = batch;
    while !rest.is_empty() {
        let (rows, after) = rest.split_at(statement_rows(rest.len()));
        let mut insert = sqlx::query_as::<_, (i64, String, String)>(insert_sql(rows.len()));
        for pending in rows {
            insert = insert
                .bind(pending.forge.as_str())
                .bind(pending.delivery_id.as_str())
                .bind(pending.event.as_str())
                .bind(pending.payload.as_slice())
                .bind(pending.replay_key.as_deref())
                .bind(to_millis(pending.received_at));
        }
        for (id, forge, delivery_id) in insert.fetch_all(&mut *tx).await? {
            inserted.insert((forge, delivery_id), id);
        }
        rest = after;
    }
    tx.commit().await?;
    // A delivery id twice in one batch was inserted once: the first copy
    // takes the row, the second is a duplicate.
    Ok(batch
        .iter()
        .map(|p| inserted.remove(&(p.forge.clone(), p.delivery_id.clone())))
        .collect())
}

/// The most rows one statement inserts, a power of two: 6 parameters a
/// row stays far below SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_STATEMENT_ROWS: usize = 64;

/// How many of `remaining` rows the next statement inserts: a power of
/// two, so that each connection prepares at most seven statement texts
/// (1, 2, 4, ... 64 rows) and reuses them from its cache.
fn statement_rows(remaining: usize) -> usize {
    let below = 1 << remaining.max(1).ilog2();
    below.min(MAX_STATEMENT_ROWS)
}

/// `INSERT` of `rows` deliveries. With no conflict target, `DO NOTHING`
/// covers both unique indexes (the delivery id, and the replay key among
/// GitHub's deliveries), also between rows of the one statement; the rows
/// inserted name themselves, since `RETURNING` skips the others.
fn insert_sql(rows: usize) -> &'static str {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..=MAX_STATEMENT_ROWS.ilog2())
            .map(|power| {
                let values = (0..1usize << power)
                    .map(|row| {
                        let p = row * 6;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
                            p + 1,
                            p + 2,
                            p + 3,
                            p + 4,
                            p + 5,
                            p + 6,
                            p + 6
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "INSERT INTO deliveries \
                     (forge, delivery_id, event, payload, replay_key, received_at, next_attempt_at) \
                     VALUES {values} ON CONFLICT DO NOTHING RETURNING id, forge, delivery_id"
                )
            })
            .collect()
    });
    &texts[rows.ilog2() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_insert_powers_of_two_up_to_the_most_rows() {
        let split = |mut n: usize| {
            let mut sizes = Vec::new();
            while n > 0 {
                sizes.push(statement_rows(n));
                n -= statement_rows(n);
            }
            sizes
        };
        assert_eq!(split(1), [1]);
        assert_eq!(split(7), [4, 2, 1]);
        assert_eq!(split(64), [64]);
        assert_eq!(split(200), [64, 64, 64, 8]);
        assert!(insert_sql(2).contains("($7, $8, $9, $10, $11, $12, $12) ON CONFLICT"));
    }
}
