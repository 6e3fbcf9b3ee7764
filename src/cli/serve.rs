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

use crate::config::{DEFAULT_GITLAB_URL, GithubAppConfig, LogFormat, ServeArgs, ServeConfig};
use crate::forge::github::auth::AppKey;
use crate::forge::github::client::GithubClient;
use crate::forge::github::oauth::OauthClient;
use crate::forge::gitlab::client::GitlabClient;
use crate::metrics::Metrics;
use crate::server::auth::{Access, SessionKey};
use crate::server::register::Registration;
use crate::server::{self, AppState};
use crate::store::Store;
use crate::worker::{Forges, Worker, WorkerConfig};

use super::CliError;

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let config = args
        .validate()
        .map_err(|err| CliError::Usage(anyhow::Error::new(err)))?;
    // Held until serve returns: dropping it writes out the lines still
    // queued for standard error.
    let _logs = init_logs(config.log_format);
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
    if let Some(tls) = store.tls().await? {
        tracing::info!(tls, "connected to PostgreSQL");
    }
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
    let gitlab_secrets = match &config.gitlab {
        Some(gitlab) => {
            tracing::info!(url = %gitlab.url, "GitLab configured");
            gitlab.webhook_secrets.clone()
        }
        None => Default::default(),
    };
    let registration = registration(&config);
    let registered = registration.subscribe();
    let state = AppState::new(store.clone(), secrets, Metrics::new())
        .with_registration(registration)
        .with_public_pages(config.public_pages)
        .with_checkpoint_key(config.checkpoints.key.as_ref().map(|k| k.public()))
        .with_gitlab_secrets(gitlab_secrets)
        .with_gitlab_url(
            config
                .gitlab
                .as_ref()
                .map_or(DEFAULT_GITLAB_URL, |g| g.url.as_str()),
        )
        .with_access(access(&config, &store).await?)
        .with_body_limits(server::BodyLimits::new(
            config.webhook_memory,
            server::DEFAULT_BODY_READ_TIMEOUT,
        ));
    tracing::info!(
        %address,
        "listening on http://{address} (webhooks at /webhooks/github and /webhooks/gitlab, health at /healthz, /readyz, /metrics)"
    );
    let (stop, stopping) = watch::channel(false);
    let gitlab = gitlab_client(&config)?;
    let mut workers = start_alerts(&config, &store, stopping.clone());
    workers.extend(start_checkpoints(&config, &store, stopping.clone()));
    match &config.github {
        Some(app) => {
            let forges = Forges {
                github: Some(github_client(app, &config.org_repositories.github)?),
                gitlab,
            };
            workers.extend(start_workers(forges, &config, &store, &state, stopping));
        }
        None => {
            if let Some(gitlab) = gitlab {
                let forges = Forges::gitlab(gitlab);
                let stopping = stopping.clone();
                workers.extend(start_workers(forges, &config, &store, &state, stopping));
            }
            workers.push(tokio::spawn(workers_once_registered(
                registered,
                config.clone(),
                store.clone(),
                state.clone(),
                stopping,
            )));
        }
    }
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

/// What `/` offers: with no app configured and registration not turned
/// off, registering one to whoever presents the setup token made here and
/// logged, shown nowhere else. Each replica makes its own.
fn registration(config: &ServeConfig) -> Registration {
    let registration = Registration::from_config(config);
    if !config.offers_registration() {
        if config.github.is_none() {
            tracing::info!(
                "registering a GitHub App at / is off (WARRANT_GITHUB_REGISTRATION, \
                 off by default when GitLab is configured)"
            );
        }
        return registration;
    }
    let token = server::register::new_setup_token();
    let open = match &config.public_url {
        Some(url) => format!("{url}/?setup={}", token.expose()),
        None => "/ once WARRANT_PUBLIC_URL is set".to_owned(),
    };
    tracing::warn!(
        setup_token = token.expose(),
        credentials_file = %config.github_app_file.display(),
        "registering a GitHub App at / needs this setup token, valid on this \
         replica until an app is registered: open {open}, or enter it on the page"
    );
    registration.with_setup_token(token)
}

/// Without an app configured, waits for one to be registered at `/` and
/// then runs the workers as that app, so that the deliveries GitHub sends
/// right after registration are evaluated without a restart.
async fn workers_once_registered(
    mut registered: watch::Receiver<Option<GithubAppConfig>>,
    config: ServeConfig,
    store: Store,
    state: AppState,
    stop: watch::Receiver<bool>,
) {
    let mut stopping = stop.clone();
    let app = tokio::select! {
        app = registered.wait_for(Option::is_some) => app.ok().and_then(|app| app.clone()),
        _ = stopping.wait_for(|stop| *stop) => None,
    };
    let Some(app) = app else { return };
    tracing::info!(
        app_id = app.app_id,
        "GitHub App registered: starting the workers"
    );
    match github_client(&app, &config.org_repositories.github) {
        Ok(github) => {
            let forges = Forges::github(github);
            for worker in start_workers(forges, &config, &store, &state, stop) {
                let _ = worker.await;
            }
        }
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "cannot start the workers as the registered app");
        }
    }
}

/// Sign-in and sessions: the configured session key or the one the
/// replicas share in the database, and the app's OAuth client if set.
async fn access(config: &ServeConfig, store: &Store) -> anyhow::Result<Access> {
    let key = match &config.session_key {
        Some(key) => SessionKey::new(key.expose()),
        None => SessionKey::new(store.session_key_or(&SessionKey::random_hex()).await?),
    };
    let mut access = Access::new(key);
    if let Some(token_key) = &config.token_key {
        access = access.with_token_key(token_key.clone());
    }
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
    if !access.seals_tokens() {
        tracing::warn!(
            "WARRANT_TOKEN_KEY is not set: signed-in users' GitHub tokens are kept in memory, \
             not in the database, so a restart signs everyone out and sessions do not carry \
             over between replicas; set it to 32 random bytes in hex (`openssl rand -hex 32`)"
        );
    }
    Ok(access.with_github(client, config.public_url.clone()))
}

/// The GitHub App's client.
fn github_client(app: &GithubAppConfig, org_repository: &str) -> anyhow::Result<Arc<GithubClient>> {
    let key = AppKey::from_key(app.app_id, app.private_key.clone());
    let github =
        GithubClient::with_app_key(&app.api_url, key).context("cannot set up the GitHub client")?;
    Ok(Arc::new(github.with_org_repository(org_repository)))
}

/// The GitLab client, when GitLab is configured.
fn gitlab_client(config: &ServeConfig) -> anyhow::Result<Option<Arc<GitlabClient>>> {
    let Some(gitlab) = &config.gitlab else {
        return Ok(None);
    };
    let client = GitlabClient::new(&gitlab.url, gitlab.token.expose())
        .context("cannot set up the GitLab client")?
        .with_org_repository(&config.org_repositories.gitlab);
    Ok(Some(Arc::new(client)))
}

/// Starts the evaluation workers of `forges` beside the server, on the
/// same store, metrics and work signal.
fn start_workers(
    forges: Forges,
    config: &ServeConfig,
    store: &Store,
    state: &AppState,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let worker_config = WorkerConfig {
        public_url: config.public_url.clone(),
        alerts: raise(config),
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store.clone(), forges, state.metrics(), worker_config);
    worker.spawn(state.work_signal(), stop)
}

/// What raising an alert needs: the receivers, the types they are sent,
/// and the CloudEvents `source`.
fn raise(config: &ServeConfig) -> crate::alerts::Raise {
    crate::alerts::Raise {
        receivers: config.alerts.receiver_keys(),
        events: config.alerts.events.clone(),
        source: (config.public_url.clone()).unwrap_or_else(|| "urn:warrant".to_owned()),
    }
}

/// Starts the daily sweep of lapsing registrations (recorded in the audit
/// trail even when no receiver is configured), and delivering the alerts
/// queued in the store, one loop per configured receiver.
fn start_alerts(
    config: &ServeConfig,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let sweep = crate::alerts::lapsing::spawn(
        store.clone(),
        raise(config),
        crate::worker::default_name(),
        stop.clone(),
    );
    let alerts = &config.alerts;
    if alerts.receivers.is_empty() {
        return vec![sweep];
    }
    tracing::info!(receivers = alerts.receivers.len(), "alerts configured");
    let deliverer = crate::alerts::deliver::Deliverer {
        store: store.clone(),
        receivers: alerts.receivers.clone(),
        secret: alerts.secret.as_ref().map(|s| s.expose().to_owned()),
        links: crate::alerts::deliver::Links {
            public_url: config.public_url.clone(),
            github_url: config.github_url.clone(),
            gitlab_url: (config.gitlab.as_ref())
                .map_or(DEFAULT_GITLAB_URL, |g| g.url.as_str())
                .to_owned(),
        },
        worker: crate::worker::default_name(),
        http: reqwest::Client::new(),
    };
    let mut tasks = Arc::new(deliverer).spawn(stop);
    tasks.push(sweep);
    tasks
}

/// Starts writing audit checkpoints, if a signing key is configured.
fn start_checkpoints(
    config: &ServeConfig,
    store: &Store,
    stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let checkpoints = &config.checkpoints;
    let Some(key) = &checkpoints.key else {
        tracing::warn!(
            "no audit checkpoints are written: set WARRANT_AUDIT_SIGNING_KEY to a key \
             made by `warrant audit keygen` (docs/audit.md)"
        );
        return None;
    };
    tracing::info!(
        public_key = %key.public(),
        interval_secs = checkpoints.interval.as_secs(),
        "audit checkpoints are signed"
    );
    let signer = crate::audit::checkpoint::write::Signer {
        key: key.clone(),
        instance: config.public_url.clone().unwrap_or_default(),
        dir: checkpoints.dir.clone(),
    };
    Some(crate::audit::checkpoint::write::spawn(
        store.clone(),
        signer,
        checkpoints.interval,
        stop,
    ))
}

/// Logs go to standard error, as text or (`WARRANT_LOG_FORMAT=json`) one
/// JSON object per line. `RUST_LOG` filters them, `info` by default.
///
/// A line is formatted where it is logged, but written by a thread of its
/// own, which writes whatever lines are waiting in one go: the door logs
/// every delivery, and a slow reader of standard error (a pipe to a log
/// collector) must not hold up requests, nor one write per line cost a
/// system call each. No line is dropped: should the thread fall 128,000
/// lines behind, logging waits for it. The returned guard, once dropped,
/// writes out what is still queued.
fn init_logs(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let (stderr, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("warrant-logs")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal: a file or a log collector
    // gets plain lines, shorter and cheaper to write.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(stderr);
    // `try_init` fails only if logging was already set up (by a test).
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;

    use super::*;
    use crate::config::WebhookSecrets;
    use crate::forge::github::fake::FakeGithub;
    use crate::store::NewDelivery;

    const KEY: &str = include_str!("../../fixtures/github-app/app-key.pem");

    #[tokio::test]
    async fn workers_start_when_an_app_is_registered_while_serving() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::connect(&url).await.unwrap();
        let state = AppState::new(store.clone(), WebhookSecrets::default(), Metrics::new());
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let config = <Cli as clap::Parser>::parse_from(["warrant"])
            .serve
            .validate()
            .unwrap();
        let (register, registered) = watch::channel(None);
        let (stop, stopping) = watch::channel(false);
        let workers = tokio::spawn(workers_once_registered(
            registered,
            config,
            store.clone(),
            state.clone(),
            stopping,
        ));

        // An installation event: acknowledged by a worker without a request.
        let payload = br#"{"action":"created","installation":{"id":7,"account":{"login":"acme"}},"repositories":[]}"#;
        let delivery = NewDelivery {
            forge: "github",
            delivery_id: "d-1",
            event: "installation",
            payload,
            replay_key: None,
            received_at: Utc::now(),
        };
        store.enqueue(&delivery).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            store.stats(Utc::now()).await.unwrap().queued,
            1,
            "no app, no worker"
        );

        let fake = FakeGithub::start().await.unwrap();
        let app = GithubAppConfig {
            app_id: 1,
            private_key: jsonwebtoken::EncodingKey::from_rsa_pem(KEY.as_bytes()).unwrap(),
            webhook_secrets: WebhookSecrets::default(),
            api_url: fake.base_url(),
        };
        register.send(Some(app)).unwrap();
        let drained = async {
            while store.stats(Utc::now()).await.unwrap().queued > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), drained)
            .await
            .expect("the registered app's workers take the delivery");

        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), workers)
            .await
            .expect("the workers stop")
            .unwrap();
    }
}
