//! Runs each store test on every database the store supports: SQLite always,
//! PostgreSQL when `WARRANT_TEST_POSTGRES_URL` names a server (CI sets it to
//! `postgres://postgres@127.0.0.1:5432/test`). Each run gets a fresh, empty
//! database of its own, so tests run in parallel and leave nothing behind.

use std::future::Future;
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};

/// The variable naming a PostgreSQL server that tests may create databases on.
pub const POSTGRES_ENV: &str = "WARRANT_TEST_POSTGRES_URL";

/// Runs `test` with the URL of a fresh database, once on SQLite and once on
/// PostgreSQL (or says loudly that PostgreSQL was skipped). A panic in
/// either run fails the test, after its database is dropped.
pub async fn on_each_backend<F, Fut>(test: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("warrant.db");
    run("SQLite", test(format!("sqlite://{}", file.display()))).await;

    match std::env::var(POSTGRES_ENV) {
        Ok(server) => {
            let db = PostgresDatabase::create(&server).await;
            let outcome = tokio::spawn(test(db.url.clone())).await;
            db.drop().await;
            resume("PostgreSQL", outcome);
        }
        Err(_) => warn_postgres_skipped(),
    }
}

/// Runs one half on its own task, so that a panic is reported with the
/// backend it happened on.
async fn run(backend: &str, test: impl Future<Output = ()> + Send + 'static) {
    resume(backend, tokio::spawn(test).await);
}

fn resume(backend: &str, outcome: Result<(), tokio::task::JoinError>) {
    if let Err(err) = outcome {
        eprintln!("the store test failed on {backend}");
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("the store test on {backend} was cancelled: {err}"),
        }
    }
}

/// Written to the real stderr, past the test harness's capture, once per
/// test binary: a green run that never touched PostgreSQL must not pass for
/// one that did.
fn warn_postgres_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! PostgreSQL half of the store tests SKIPPED: set {POSTGRES_ENV} \
             (e.g. postgres://postgres@127.0.0.1:5432/test) to run it !!!\n"
        );
    });
}

/// A database created for one test on the server named by the environment.
struct PostgresDatabase {
    server: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(server: &str) -> PostgresDatabase {
        let name = unique_name();
        let mut admin = admin_connection(server).await;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        let url = with_database(server, &name);
        PostgresDatabase {
            server: server.to_owned(),
            name,
            url,
        }
    }

    /// Drops the database even if a store left connections open.
    async fn drop(self) {
        let mut admin = admin_connection(&self.server).await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .expect("DROP DATABASE");
    }
}

/// A connection to create and drop databases from: to the database the
/// variable names or, if that one does not exist (a fresh server has no
/// `test` database), to the `postgres` database every server has.
async fn admin_connection(server: &str) -> PgConnection {
    match PgConnection::connect(server).await {
        Ok(conn) => conn,
        Err(first) => PgConnection::connect(&with_database(server, "postgres"))
            .await
            .unwrap_or_else(|_| panic!("{POSTGRES_ENV} does not answer: {first}")),
    }
}

/// `warrant_t_<pid>_<nanos>_<n>`: unique across concurrent test binaries and
/// the tests within one.
fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .subsec_nanos();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("warrant_t_{}_{nanos}_{n}", std::process::id())
}

/// The server URL with its database replaced by `name`, query kept.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..host_end])
}
