//! Durable state, in SQL and nothing else: the queue of webhook deliveries
//! ([`deliveries`]), evaluations with the decision and the change each
//! decided ([`evaluations`]), the changes and merges ([`changes`]), the
//! checks on head commits ([`heads`]), the hash-chained audit trail
//! ([`audit`]), leases between replicas, the repositories' ids, and the
//! audit pages' sessions and tokens ([`access`]). `docs/storage.md` lists
//! every table.
//!
//! # Two databases, one pool type
//!
//! SQLite is the default (one process, one file, nothing to run); PostgreSQL
//! is for several replicas sharing one queue. The store speaks to both
//! through [`sqlx::Any`]: one pool type, one Rust function per query, and one
//! SQL text per query wherever the dialects agree. They disagree in exactly
//! one place so far, and only by a clause: claiming a delivery takes a row
//! lock with `FOR UPDATE SKIP LOCKED` on PostgreSQL, while on SQLite the same
//! single `UPDATE ... RETURNING` is already atomic because SQLite takes its
//! one write lock before the statement reads anything.
//!
//! The alternative, an enum of typed pools, would buy compile-time checked
//! queries at the price of writing every query function once per backend (or
//! generic over sqlx's database traits) and of keeping offline query data for
//! both databases in the build. We pay instead with runtime-checked SQL,
//! which the same test suite exercises on both databases.
//!
//! What `Any` implies, and the conventions that follow from it:
//!
//! - Values are integers, text and bytes. Times are stored as unix
//!   milliseconds (UTC) in `BIGINT`/`INTEGER` columns, everywhere; states are
//!   `TEXT` with a `CHECK`.
//! - Placeholders are written `$1`, `$2`: PostgreSQL's own, and sqlx binds
//!   SQLite's `$N` parameters by number too.
//! - Schemas differ in spelling (identity columns, `BYTEA` against `BLOB`), so
//!   migrations live per backend in `migrations/sqlite/` and
//!   `migrations/postgres/`, with the same file names and the same columns,
//!   and are applied by [`Store::connect`].

pub mod access;
pub mod alerts;
pub mod approvals;
pub mod audit;
pub mod changes;
pub mod checkpoints;
mod coordination;
pub mod deliveries;
pub mod evaluations;
mod group_commit;
pub mod heads;
mod inventory;
pub mod org_policies;
mod overrides;
mod postgres_tls;
mod pushes;
pub mod records;
pub mod reports;
mod repositories;
pub mod rollout;
mod sqlite_file;

use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

pub use audit::Chain;
pub use deliveries::{ClaimedDelivery, Enqueued, NewDelivery, QueueId, QueueStats};
pub use evaluations::{NewEvaluation, StoredEvaluation};

/// The database used when `WARRANT_DATABASE_URL` is not set: a file beside
/// the working directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://warrant.db";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a query waits for a free connection before it fails. sqlx's 30
/// seconds would outlast GitHub's 10-second webhook timeout; failing sooner
/// lets the handler answer 503 itself, and log why, while GitHub still
/// listens.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Set on every SQLite connection, because these settings are per connection
/// (except the journal mode, which is kept in the file but cheap to restate).
///
/// - `busy_timeout` first, so that the statements after it wait for a lock
///   rather than fail. Five seconds rides out a checkpoint or a burst of
///   claims and still leaves a webhook time to be answered within GitHub's
///   ten seconds.
/// - WAL lets readers (metrics, pages) run beside the one writer.
/// - `synchronous = FULL`: an acknowledged delivery must survive a power cut,
///   which WAL's cheaper `NORMAL` does not promise.
/// - Foreign keys are off by default in SQLite, on in PostgreSQL.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;";

/// Which database a store speaks to: decides the few SQL texts that differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn of_url(url: &str) -> anyhow::Result<Backend> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(Backend::Sqlite),
            Some("postgres" | "postgresql") => Ok(Backend::Postgres),
            _ => bail!(
                "WARRANT_DATABASE_URL must be an SQLite file (`sqlite://warrant.db`, \
                 the default) or a PostgreSQL URL (`postgres://user@host/db`); \
                 `{}` is neither",
                redacted(url)
            ),
        }
    }

    fn migrations(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// The handle on the database: cheap to clone, shared by the webhook handler,
/// the workers and the pages.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The queue's writer ([`group_commit`]).
    group_commit: group_commit::GroupCommit,
}

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite:path`, `postgres://...` or
    /// `postgresql://...`) and applies the migrations that have not been
    /// applied yet. An SQLite file is created if it is missing, readable by
    /// its owner only (see [`sqlite_file`]).
    ///
    /// Several replicas may connect at once: on PostgreSQL sqlx serialises
    /// migrations with an advisory lock.
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        let backend = Backend::of_url(url)?;
        install_default_drivers();
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let sqlite_url = sqlite_creating_file(url);
        let file = match backend {
            Backend::Sqlite => owned_file(&sqlite_url)?,
            Backend::Postgres => None,
        };
        if let Some(file) = &file {
            sqlite_file::secure(file)?;
        }
        let pool = match backend {
            Backend::Sqlite => {
                options
                    .after_connect(set_sqlite_pragmas)
                    .connect(&sqlite_url)
                    .await
            }
            Backend::Postgres => options.connect(&postgres_tls::as_libpq_reads(url)?).await,
        }
        .map_err(|err| cannot_connect(err, url))?;
        backend
            .migrations()
            .run(&pool)
            .await
            .with_context(|| format!("cannot migrate the database at {}", redacted(url)))?;
        // WAL mode has made its `-wal` and `-shm` files by now.
        if let Some(file) = &file {
            sqlite_file::secure(file)?;
        }
        Ok(Store {
            pool,
            backend,
            group_commit: Default::default(),
        })
    }

    /// Checks that the database answers, for `/readyz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .context("no database connection")?;
        conn.ping().await.context("the database does not answer")
    }

    /// Whether the connections are encrypted: `None` on SQLite (a local
    /// file), otherwise what PostgreSQL's `pg_stat_ssl` says of a pooled
    /// connection. `warrant serve` logs it at start.
    pub async fn tls(&self) -> anyhow::Result<Option<bool>> {
        if self.backend == Backend::Sqlite {
            return Ok(None);
        }
        let ssl: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&self.pool)
                .await
                .context("cannot read pg_stat_ssl")?;
        Ok(Some(ssl))
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Applies [`SQLITE_PRAGMAS`] to a new pooled connection.
fn set_sqlite_pragmas(
    conn: &mut AnyConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = sqlx::Result<()>> + Send + '_>> {
    Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(drop) })
}

/// Asks sqlx to create a missing SQLite file (`mode=rwc`), unless the URL
/// already says which mode it wants (`mode=ro`, say).
fn sqlite_creating_file(url: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|pair| pair.starts_with("mode=")) => {
            url.to_owned()
        }
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    }
}

/// The SQLite file Warrant creates and so owns (`mode=rwc`, the default):
/// `None` for one opened read-only or read-write as it is, or in memory.
fn owned_file(url: &str) -> anyhow::Result<Option<std::path::PathBuf>> {
    let creates = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=rwc"));
    if !creates {
        return Ok(None);
    }
    sqlite_file::database_path(url)
}

/// Why a connection failed, naming the database (without its password) and,
/// when TLS failed, the parameters that decide what TLS checks.
fn cannot_connect(err: sqlx::Error, url: &str) -> anyhow::Error {
    // rustls reports a failed handshake (a certificate refused, say) as an
    // I/O error of kind `InvalidData`; sqlx's own TLS errors are `Tls`.
    let tls_failed = match &err {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    };
    let hint = if tls_failed {
        " over TLS (`sslmode` and `sslrootcert` in WARRANT_DATABASE_URL \
         decide what is checked: see docs/storage.md)"
    } else {
        ""
    };
    anyhow::Error::new(err).context(format!(
        "cannot connect to the database at {}{hint}",
        redacted(url)
    ))
}

/// The URL without its password (in the authority or as a `password`
/// parameter), fit for an error message or a log line.
fn redacted(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    let Some(query) = query else {
        return base;
    };
    let query: Vec<&str> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***",
            _ => pair,
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// A time as stored: unix milliseconds. Sub-millisecond precision is dropped.
fn to_millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

/// A stored time read back.
fn from_millis(millis: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
        .with_context(|| format!("stored time {millis} ms is out of range"))
}

/// Forge ids are unsigned; SQL integers are signed 64-bit.
fn as_i64(n: u64) -> anyhow::Result<i64> {
    i64::try_from(n).with_context(|| format!("{n} is out of range for the database"))
}

/// A span as stored: milliseconds, saturating (a lease of a million years is
/// as good as forever).
fn duration_millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(
            Backend::of_url("sqlite://warrant.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("sqlite:warrant.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("postgres://h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of_url("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("WARRANT_DATABASE_URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn sqlite_files_are_created_unless_a_mode_is_given() {
        assert_eq!(
            sqlite_creating_file("sqlite://w.db"),
            "sqlite://w.db?mode=rwc"
        );
        assert_eq!(
            sqlite_creating_file("sqlite:w.db?cache=shared"),
            "sqlite:w.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_creating_file("sqlite:w.db?mode=ro"),
            "sqlite:w.db?mode=ro"
        );
    }

    #[tokio::test]
    async fn sqlite_connections_wait_for_locks_in_wal_mode_and_sync_fully() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::connect(&url).await.unwrap();
        let mut conn = store.pool.acquire().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        // synchronous 2 is FULL.
        for (pragma, expected) in [
            ("busy_timeout", 5000),
            ("synchronous", 2),
            ("foreign_keys", 1),
        ] {
            let value: i64 = sqlx::query_scalar(&format!("PRAGMA {pragma}"))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(value, expected, "PRAGMA {pragma}");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted("postgres://u:pw@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(redacted("postgres://h/db?x=a@b"), "postgres://h/db?x=a@b");
        assert_eq!(redacted("sqlite://warrant.db"), "sqlite://warrant.db");
        assert_eq!(
            redacted("postgres://u@h/db?sslmode=require&password=pw"),
            "postgres://***@h/db?sslmode=require&password=***"
        );
    }
}
