//! `warrant serve`: the GitHub App's server, configured by flags or
//! `WARRANT_*` variables (see [`crate::config`] and `docs/github-app.md`).
//!
//! Start-up order matters: the configuration is checked first (so a typo
//! fails fast, naming the variable), then the database is connected and
//! migrated, and only then is the port bound, so that nothing is accepted
//! that could not be stored.

use std::process::ExitCode;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::sync::Arc;

use crate::config::{GithubAppConfig, LogFormat, ServeArgs, ServeConfig};
use crate::forge::github::auth::AppKey;
use crate::forge::github::client::GithubClient;
use crate::forge::github::oauth::OauthClient;
use crate::metrics::Metrics;
use crate::server::auth::{Access, SessionKey};
use crate::server::{self, AppState};
use crate::store::Store;
use crate::worker::{Worker, WorkerConfig};

use super::CliError;

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let config = args
        .validate()
        .map_err(|err| CliError::Usage(anyhow::Error::new(err)))?;
    init_logs(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(CliError::Serve)?;
    runtime.block_on(serve(config)).map_err(CliError::Serve)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs until SIGINT or SIGTERM.
async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let store = Store::connect(config.database_url.expose()).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("WARRANT_LISTEN: cannot listen on {}", config.listen))?;
    let address = listener.local_addr().context("no local address")?;
    let secrets = match &config.github {
        Some(app) => {
            tracing::info!(app_id = app.app_id, api = %app.api_url, "GitHub App configured");
            app.webhook_secrets.clone()
        }
        None => {
            tracing::warn!(
                "no GitHub App configured: webhooks are refused until \
                 WARRANT_GITHUB_APP_ID, WARRANT_GITHUB_PRIVATE_KEY(_PATH) and \
                 WARRANT_GITHUB_WEBHOOK_SECRET are set"
            );
            Default::default()
        }
    };
    let state = AppState::new(store.clone(), secrets, Metrics::new())
        .with_registration(server::register::Registration::from_config(&config))
        .with_public_pages(config.public_pages)
        .with_access(access(&config, &store).await?);
    tracing::info!(
        %address,
        "listening on http://{address} (webhooks at /webhooks/github, health at /healthz, /readyz, /metrics)"
    );
    let (stop, stopping) = watch::channel(false);
    let workers = match &config.github {
        Some(app) => start_workers(app, &config, &store, &state, stopping)?,
        None => Vec::new(),
    };
    let served = server::serve(listener, state, server::shutdown_signal()).await;
    // The workers finish the delivery in hand; one cut short is claimed
    // again when its lease runs out.
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    store.close().await;
    served
}

/// Sign-in and sessions: the configured session key or the one the
/// replicas share in the database, and the app's OAuth client if set.
async fn access(config: &ServeConfig, store: &Store) -> anyhow::Result<Access> {
    let key = match &config.session_key {
        Some(key) => SessionKey::new(key.expose()),
        None => SessionKey::new(store.session_key_or(&SessionKey::random_hex()).await?),
    };
    let access = Access::new(key);
    if config.public_pages {
        tracing::warn!("WARRANT_PUBLIC_PAGES is on: the audit pages are readable by anyone");
    }
    let (Some(oauth), Some(_)) = (&config.github_oauth, &config.public_url) else {
        tracing::info!(
            "signing in is off: it needs WARRANT_PUBLIC_URL and the app's client id and \
             secret (WARRANT_GITHUB_CLIENT_ID, WARRANT_GITHUB_CLIENT_SECRET)"
        );
        return Ok(access);
    };
    let client = OauthClient::new(
        &config.github_url,
        &config.github_api_url,
        &oauth.client_id,
        oauth.client_secret.clone(),
    )
    .context("cannot set up the GitHub sign-in client")?;
    tracing::info!(github = %config.github_url, "signing in with GitHub is on");
    Ok(access.with_github(client, config.public_url.clone()))
}

/// Starts the evaluation workers beside the server, on the same store,
/// metrics and work signal.
fn start_workers(
    app: &GithubAppConfig,
    config: &ServeConfig,
    store: &Store,
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let key = AppKey::from_key(app.app_id, app.private_key.clone());
    let github =
        GithubClient::with_app_key(&app.api_url, key).context("cannot set up the GitHub client")?;
    let worker_config = WorkerConfig {
        public_url: config.public_url.clone(),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(
        store.clone(),
        Arc::new(github),
        state.metrics(),
        worker_config,
    );
    Ok(worker.spawn(state.work_signal(), stop))
}

/// Logs go to standard error, as text or (`WARRANT_LOG_FORMAT=json`) one
/// JSON object per line. `RUST_LOG` filters them, `info` by default.
fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` fails only if logging was already set up (by a test).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
