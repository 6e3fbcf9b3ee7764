//! The settings of `warrant serve`, from flags or the environment.
//!
//! [`ServeArgs`] is the one source of truth: each setting is a clap argument
//! with its `WARRANT_*` variable, so `--help` documents both. Values are read
//! as text and checked by [`ServeArgs::validate`] into a [`ServeConfig`],
//! whose errors name the variable, so that an operator who only ever sets
//! the environment knows which one to fix.
//!
//! Secrets (the private key, the webhook secrets) are held in [`Secret`],
//! whose `Debug` prints nothing of them: configs get logged.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use jsonwebtoken::EncodingKey;

use crate::server::auth::TokenKey;
use crate::store::DEFAULT_DATABASE_URL;

mod alerts;
mod app;
mod checkpoints;
mod secrets;

pub use alerts::{AlertArgs, AlertConfig};
pub use app::OrgRepositories;
pub use checkpoints::{CheckpointArgs, CheckpointConfig, parse_duration};
pub use secrets::{Secret, WebhookSecrets};

/// Where the GitHub API is, unless `WARRANT_GITHUB_API_URL` says otherwise
/// (GitHub Enterprise Server: `https://ghe.example.com/api/v3`).
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

/// Where GitLab is, unless `WARRANT_GITLAB_URL` says otherwise (a
/// self-managed instance).
pub const DEFAULT_GITLAB_URL: &str = "https://gitlab.com";

/// How logs are written: `text` for people, `json` for log collectors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The flags of `warrant serve`. Every flag can be given instead through
/// the variable it names; flags win. Secrets are better set in the
/// environment or a file, since command lines are visible to other users.
#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    /// The address and port to listen on.
    #[arg(long, env = "WARRANT_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: String,

    /// The URL at which GitHub and browsers reach this server, e.g.
    /// `https://warrant.example.com`; used in links and for the app's
    /// webhook URL.
    #[arg(long, env = "WARRANT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The database: an SQLite file (`sqlite://warrant.db`) or a PostgreSQL
    /// URL (`postgres://user:password@host/db`).
    #[arg(long, env = "WARRANT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: Secret,

    /// The GitHub App's id. The GitHub settings are optional as a group:
    /// without them the server starts and explains how to register an app.
    #[arg(long, env = "WARRANT_GITHUB_APP_ID")]
    pub github_app_id: Option<String>,

    /// The GitHub App's private key, in PEM.
    // A PEM starts with `-----`, which clap would take for a flag.
    #[arg(
        long,
        env = "WARRANT_GITHUB_PRIVATE_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub github_private_key: Option<Secret>,

    /// A file holding the GitHub App's private key, in PEM (instead of
    /// `WARRANT_GITHUB_PRIVATE_KEY`).
    #[arg(long, env = "WARRANT_GITHUB_PRIVATE_KEY_PATH")]
    pub github_private_key_path: Option<PathBuf>,

    /// The webhook secret, or several separated by commas: a delivery signed
    /// with any of them is accepted, so that a secret can be rotated.
    #[arg(long, env = "WARRANT_GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
    pub github_webhook_secret: Option<Secret>,

    /// The file that keeps the credentials of an app registered at `/`
    /// (default: `warrant-github-app.json` beside the SQLite database, or
    /// in the working directory). Read at start when none of the GitHub App
    /// variables is set: the variables win.
    #[arg(long, env = "WARRANT_GITHUB_APP_FILE")]
    pub github_app_file: Option<PathBuf>,

    /// `false` turns the registration of a GitHub App at `/` off, `true`
    /// turns it on (default: on, unless GitLab is configured). It is only
    /// ever offered while no app is configured, and only to whoever
    /// presents the setup token `warrant serve` logs at start.
    #[arg(long, env = "WARRANT_GITHUB_REGISTRATION")]
    pub github_registration: Option<String>,

    /// The GitHub API's base URL; set it for GitHub Enterprise Server.
    #[arg(long, env = "WARRANT_GITHUB_API_URL", default_value = DEFAULT_GITHUB_API_URL)]
    pub github_api_url: String,

    /// The GitHub App's OAuth client id, for signing in to the audit pages
    /// (default: from the credentials file of an app registered at `/`).
    #[arg(long, env = "WARRANT_GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,

    /// The GitHub App's OAuth client secret (default: from the credentials
    /// file, with the client id).
    #[arg(long, env = "WARRANT_GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<Secret>,

    /// GitHub's web URL, where people sign in: `https://github.com`, or
    /// `https://HOST` for GitHub Enterprise Server (default: derived from
    /// the API URL).
    #[arg(long, env = "WARRANT_GITHUB_URL")]
    pub github_url: Option<String>,

    /// The repository of each GitHub organisation that keeps its
    /// organisation policy, `warrant-org.yml`.
    #[arg(long, env = "WARRANT_GITHUB_ORG_REPOSITORY", default_value = crate::policy::GITHUB_ORG_REPOSITORY)]
    pub github_org_repository: String,

    /// The project of each GitLab top-level group that keeps its
    /// organisation policy, `warrant-org.yml`.
    #[arg(long, env = "WARRANT_GITLAB_ORG_PROJECT", default_value = crate::policy::GITLAB_ORG_REPOSITORY)]
    pub gitlab_org_project: String,

    /// GitLab's web URL: `https://gitlab.com`, or `https://HOST` for a
    /// self-managed instance.
    #[arg(long, env = "WARRANT_GITLAB_URL", default_value = DEFAULT_GITLAB_URL)]
    pub gitlab_url: String,

    /// A GitLab project, group or service-account access token. Reading
    /// merge requests needs the `read_api` scope; setting commit statuses
    /// needs `api` (see docs/gitlab.md). Set it with
    /// WARRANT_GITLAB_WEBHOOK_SECRET to turn GitLab support on.
    #[arg(long, env = "WARRANT_GITLAB_TOKEN", hide_env_values = true)]
    pub gitlab_token: Option<Secret>,

    /// The GitLab webhook secret token, or several separated by commas: a
    /// delivery whose `X-Gitlab-Token` is any of them is accepted, so that
    /// a secret can be rotated.
    #[arg(long, env = "WARRANT_GITLAB_WEBHOOK_SECRET", hide_env_values = true)]
    pub gitlab_webhook_secret: Option<Secret>,

    /// `true` makes the audit pages and exports readable by anyone, without
    /// signing in. Off by default.
    #[arg(long, env = "WARRANT_PUBLIC_PAGES")]
    pub public_pages: Option<String>,

    /// The key that signs session cookies and CSRF tokens, at least 32
    /// characters. When unset, a random key is made once and kept in the
    /// database, so that every replica shares it.
    #[arg(long, env = "WARRANT_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<Secret>,

    /// The memory, in MiB, that webhook bodies being received may take at
    /// once, for both forges together (default 64). A delivery that finds
    /// it spent is answered 503 with `Retry-After`. At least 25, the largest
    /// body a forge sends.
    #[arg(long, env = "WARRANT_WEBHOOK_MEMORY_MB")]
    pub webhook_memory_mb: Option<String>,
    /// The key that seals signed-in users' GitHub tokens in the database:
    /// 32 bytes in hex (`openssl rand -hex 32`). When unset, tokens are
    /// kept in memory only: a restart signs everyone out, and several
    /// replicas need the key.
    #[arg(long, env = "WARRANT_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<Secret>,

    /// How logs are written.
    #[arg(long, env = "WARRANT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub alerts: AlertArgs,

    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
}

/// A setting that is missing or malformed. The message starts with the
/// variable's name and never contains a secret.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn new(variable: &str, problem: impl fmt::Display) -> ConfigError {
        ConfigError(format!("{variable}: {problem}"))
    }
}

/// The checked settings of `warrant serve`.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Absolute `http(s)` URL without a trailing slash.
    pub public_url: Option<String>,
    pub database_url: Secret,
    /// `None` when no GitHub App is configured yet.
    pub github: Option<GithubAppConfig>,
    /// Where an app registered at `/` is kept, and read from at start.
    pub github_app_file: PathBuf,
    /// Whether `/` may register a GitHub App while none is configured
    /// (see [`ServeConfig::offers_registration`]).
    pub github_registration: bool,
    /// The GitHub API's base URL, also when no app is configured (the
    /// registration needs it). Absolute, without a trailing slash.
    pub github_api_url: String,
    pub log_format: LogFormat,
    /// The app's OAuth client, for signing in; `None`: sign-in is off.
    pub github_oauth: Option<OauthAppConfig>,
    /// GitHub's web URL (sign-in), absolute, without a trailing slash.
    pub github_url: String,
    /// Whether the audit pages are readable without signing in.
    pub public_pages: bool,
    /// The configured session key; `None`: the one kept in the database.
    pub session_key: Option<Secret>,
    /// Where alerts go.
    pub alerts: AlertConfig,
    /// Whether, how often and where audit checkpoints are written.
    pub checkpoints: CheckpointConfig,
    /// The key sealing users' GitHub tokens; `None`: tokens stay in memory.
    pub token_key: Option<TokenKey>,
    /// `None` when GitLab is not configured.
    pub gitlab: Option<GitlabConfig>,
    /// Bytes of webhook bodies that may be held at once.
    pub webhook_memory: usize,
    /// The organisation's repository (GitHub) and the top-level group's
    /// project (GitLab) that keep `warrant-org.yml`.
    pub org_repositories: OrgRepositories,
}

/// A GitLab instance Warrant receives webhooks from and acts on.
#[derive(Clone, Debug)]
pub struct GitlabConfig {
    /// Absolute `http(s)` URL without a trailing slash.
    pub url: String,
    pub token: Secret,
    pub webhook_secrets: WebhookSecrets,
}

/// The GitHub App's OAuth credentials, with which people sign in.
#[derive(Clone, Debug)]
pub struct OauthAppConfig {
    pub client_id: String,
    pub client_secret: Secret,
}

/// The shortest `WARRANT_SESSION_KEY` accepted: 32 characters, so that a
/// random key has at least the 128 bits a guess must cover (hex or
/// base64 carry 4 to 6 bits a character).
pub const MIN_SESSION_KEY_LEN: usize = 32;

/// A GitHub App, with everything needed to receive its webhooks and act as
/// it.
#[derive(Clone, Debug)]
pub struct GithubAppConfig {
    pub app_id: u64,
    /// Checked at start-up to be an RSA private key; its `Debug` is
    /// redacted.
    pub private_key: EncodingKey,
    pub webhook_secrets: WebhookSecrets,
    /// Absolute `http(s)` URL without a trailing slash.
    pub api_url: String,
}

impl ServeArgs {
    /// Checks every setting, naming the variable of the first that is wrong.
    pub fn validate(&self) -> Result<ServeConfig, ConfigError> {
        let listen = self.listen.trim().parse().map_err(|_| {
            ConfigError::new(
                "WARRANT_LISTEN",
                format!(
                    "`{}` is not an address and port such as 127.0.0.1:3000",
                    self.listen
                ),
            )
        })?;
        let public_url = self
            .public_url
            .as_deref()
            .map(|url| http_url("WARRANT_PUBLIC_URL", url))
            .transpose()?;
        let github_api_url = http_url("WARRANT_GITHUB_API_URL", &self.github_api_url)?;
        let github_app_file = self.github_app_file.clone().unwrap_or_else(|| {
            crate::forge::github::app_file::default_path(self.database_url.expose())
        });
        let github = match self.github()? {
            Some(app) => Some(app),
            None => app::registered(&github_app_file, &github_api_url)?,
        };
        let github_url = match &self.github_url {
            Some(url) => http_url("WARRANT_GITHUB_URL", url)?,
            None => crate::server::register::github_web_url(&github_api_url),
        };
        let gitlab = self.gitlab()?;
        // A GitLab server has no use for a GitHub App unless its operator
        // says so: the registration page would only be a door left open.
        let github_registration = flag("WARRANT_GITHUB_REGISTRATION", &self.github_registration)?
            .unwrap_or(gitlab.is_none());
        Ok(ServeConfig {
            listen,
            public_url,
            database_url: self.database_url.clone(),
            github,
            github_oauth: self.oauth(&github_app_file)?,
            github_app_file,
            github_registration,
            github_api_url,
            log_format: self.log_format,
            github_url,
            public_pages: flag("WARRANT_PUBLIC_PAGES", &self.public_pages)?.unwrap_or(false),
            session_key: self.session_key()?,
            alerts: self.alerts.validate()?,
            checkpoints: self.checkpoints.validate()?,
            gitlab,
            webhook_memory: self.webhook_memory()?,
            token_key: self.token_key()?,
            org_repositories: OrgRepositories {
                github: app::repository_name(
                    "WARRANT_GITHUB_ORG_REPOSITORY",
                    &self.github_org_repository,
                )?,
                gitlab: app::repository_name(
                    "WARRANT_GITLAB_ORG_PROJECT",
                    &self.gitlab_org_project,
                )?,
            },
        })
    }

    /// `WARRANT_WEBHOOK_MEMORY_MB` in bytes: at least one body of the
    /// largest size, or a chunked delivery could never be received; at most
    /// 64 GiB, far beyond any need, so that a typo is caught.
    fn webhook_memory(&self) -> Result<usize, ConfigError> {
        const MIB: usize = 1024 * 1024;
        let Some(value) = self.webhook_memory_mb.as_deref() else {
            return Ok(crate::server::DEFAULT_BODY_BUDGET);
        };
        let least = crate::server::MAX_WEBHOOK_BODY.div_ceil(MIB);
        match value.trim().parse::<usize>() {
            Ok(mb) if (least..=65_536).contains(&mb) => Ok(mb * MIB),
            _ => Err(ConfigError::new(
                "WARRANT_WEBHOOK_MEMORY_MB",
                format!("`{value}` is not a number of MiB from {least} to 65536"),
            )),
        }
    }

    /// The OAuth client: both variables, or neither and the credentials
    /// file's, or none.
    fn oauth(&self, app_file: &Path) -> Result<Option<OauthAppConfig>, ConfigError> {
        let id = self.github_client_id.as_deref().map(str::trim);
        let secret = self.github_client_secret.as_ref();
        match (id, secret) {
            (Some(""), _) => Err(ConfigError("WARRANT_GITHUB_CLIENT_ID is empty".into())),
            (_, Some(secret)) if secret.expose().trim().is_empty() => {
                Err(ConfigError("WARRANT_GITHUB_CLIENT_SECRET is empty".into()))
            }
            (Some(id), Some(secret)) => Ok(Some(OauthAppConfig {
                client_id: id.to_owned(),
                client_secret: Secret::new(secret.expose().trim()),
            })),
            (Some(_), None) | (None, Some(_)) => {
                let missing = if id.is_none() {
                    "WARRANT_GITHUB_CLIENT_ID"
                } else {
                    "WARRANT_GITHUB_CLIENT_SECRET"
                };
                Err(ConfigError(format!(
                    "{missing} is not set: signing in needs WARRANT_GITHUB_CLIENT_ID and \
                     WARRANT_GITHUB_CLIENT_SECRET together"
                )))
            }
            (None, None) => {
                let credentials =
                    crate::forge::github::app_file::load(app_file).map_err(|err| {
                        ConfigError::new("WARRANT_GITHUB_APP_FILE", format!("{err:#}"))
                    })?;
                Ok(credentials
                    .filter(|c| !c.client_id.is_empty() && !c.client_secret.is_empty())
                    .map(|c| OauthAppConfig {
                        client_id: c.client_id,
                        client_secret: Secret::new(c.client_secret),
                    }))
            }
        }
    }

    fn session_key(&self) -> Result<Option<Secret>, ConfigError> {
        let Some(key) = &self.session_key else {
            return Ok(None);
        };
        let key = key.expose().trim();
        if key.chars().count() < MIN_SESSION_KEY_LEN {
            return Err(ConfigError::new(
                "WARRANT_SESSION_KEY",
                format!(
                    "too short ({} characters); use at least {MIN_SESSION_KEY_LEN} random ones, \
                     e.g. from `openssl rand -hex 32`",
                    key.chars().count()
                ),
            ));
        }
        Ok(Some(Secret::new(key)))
    }

    fn token_key(&self) -> Result<Option<TokenKey>, ConfigError> {
        self.token_key
            .as_ref()
            .map(|key| TokenKey::from_hex(key.expose()))
            .transpose()
            .map_err(|err| ConfigError::new("WARRANT_TOKEN_KEY", err))
    }

    /// GitLab, if its token or webhook secret is given; then both must be.
    fn gitlab(&self) -> Result<Option<GitlabConfig>, ConfigError> {
        let url = http_url("WARRANT_GITLAB_URL", &self.gitlab_url)?;
        let (token, secrets) = match (&self.gitlab_token, &self.gitlab_webhook_secret) {
            (None, None) => return Ok(None),
            (Some(token), Some(secrets)) => (token, secrets),
            (token, _) => {
                let missing = if token.is_none() {
                    "WARRANT_GITLAB_TOKEN"
                } else {
                    "WARRANT_GITLAB_WEBHOOK_SECRET"
                };
                return Err(ConfigError(format!(
                    "{missing} is not set: GitLab needs WARRANT_GITLAB_TOKEN and \
                     WARRANT_GITLAB_WEBHOOK_SECRET together (or neither)"
                )));
            }
        };
        let token = token.expose().trim();
        if token.is_empty() {
            return Err(ConfigError("WARRANT_GITLAB_TOKEN is empty".into()));
        }
        let webhook_secrets = WebhookSecrets::parse_list(secrets.expose());
        if webhook_secrets.is_empty() {
            return Err(ConfigError("WARRANT_GITLAB_WEBHOOK_SECRET is empty".into()));
        }
        Ok(Some(GitlabConfig {
            url,
            token: Secret::new(token),
            webhook_secrets,
        }))
    }

    /// The GitHub App, if any of its settings is given; then all must be.
    fn github(&self) -> Result<Option<GithubAppConfig>, ConfigError> {
        let has_key = self.github_private_key.is_some() || self.github_private_key_path.is_some();
        let given = [
            ("WARRANT_GITHUB_APP_ID", self.github_app_id.is_some()),
            ("WARRANT_GITHUB_PRIVATE_KEY", has_key),
            (
                "WARRANT_GITHUB_WEBHOOK_SECRET",
                self.github_webhook_secret.is_some(),
            ),
        ];
        if given.iter().all(|(_, set)| !set) {
            return Ok(None);
        }
        if let Some((missing, _)) = given.iter().find(|(_, set)| !set) {
            let missing = if *missing == "WARRANT_GITHUB_PRIVATE_KEY" {
                "WARRANT_GITHUB_PRIVATE_KEY (or WARRANT_GITHUB_PRIVATE_KEY_PATH)"
            } else {
                missing
            };
            return Err(ConfigError(format!(
                "{missing} is not set: a GitHub App needs WARRANT_GITHUB_APP_ID, \
                 WARRANT_GITHUB_PRIVATE_KEY or WARRANT_GITHUB_PRIVATE_KEY_PATH, and \
                 WARRANT_GITHUB_WEBHOOK_SECRET together (or none of them, to register an app first)"
            )));
        }
        let app_id = self.github_app_id.as_deref().unwrap_or_default().trim();
        let app_id = app_id
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                ConfigError::new(
                    "WARRANT_GITHUB_APP_ID",
                    format!("`{app_id}` is not an app id (a positive number)"),
                )
            })?;
        let webhook_secrets = self
            .github_webhook_secret
            .as_ref()
            .map(|list| WebhookSecrets::parse_list(list.expose()))
            .unwrap_or_default();
        if webhook_secrets.is_empty() {
            return Err(ConfigError("WARRANT_GITHUB_WEBHOOK_SECRET is empty".into()));
        }
        Ok(Some(GithubAppConfig {
            app_id,
            private_key: self.private_key()?,
            webhook_secrets,
            api_url: http_url("WARRANT_GITHUB_API_URL", &self.github_api_url)?,
        }))
    }

    /// The private key from the variable or the file, checked to be an RSA
    /// key in PEM, as GitHub hands them out.
    fn private_key(&self) -> Result<EncodingKey, ConfigError> {
        let (variable, pem) = match (&self.github_private_key, &self.github_private_key_path) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "WARRANT_GITHUB_PRIVATE_KEY and WARRANT_GITHUB_PRIVATE_KEY_PATH are both set; \
                     set only one"
                        .into(),
                ));
            }
            (Some(pem), None) => ("WARRANT_GITHUB_PRIVATE_KEY", pem.expose().to_owned()),
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(path).map_err(|err| {
                    ConfigError::new(
                        "WARRANT_GITHUB_PRIVATE_KEY_PATH",
                        format!("cannot read {}: {err}", path.display()),
                    )
                })?;
                ("WARRANT_GITHUB_PRIVATE_KEY_PATH", pem)
            }
            (None, None) => unreachable!("checked by the caller"),
        };
        // Platforms that cannot hold a multi-line variable often get the key
        // with its newlines written as `\n`.
        let pem = if pem.contains('\n') {
            pem
        } else {
            pem.replace("\\n", "\n")
        };
        EncodingKey::from_rsa_pem(pem.trim().as_bytes()).map_err(|err| {
            ConfigError::new(
                variable,
                format!("not an RSA private key in PEM ({err}); use the .pem file GitHub gave for the app"),
            )
        })
    }
}

impl ServeConfig {
    /// Whether `/` offers to register a GitHub App: none is configured and
    /// the operator did not turn registration off (nor runs GitLab alone).
    pub fn offers_registration(&self) -> bool {
        self.github.is_none() && self.github_registration
    }
}

/// A yes-or-no setting: `None` when unset (or empty, as every setting),
/// an error naming `variable` when it is neither.
fn flag(variable: &str, value: &Option<String>) -> Result<Option<bool>, ConfigError> {
    let Some(value) = value.as_deref() else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        "" => Ok(None),
        _ => Err(ConfigError::new(
            variable,
            format!("`{value}` is not true or false"),
        )),
    }
}

/// An absolute `http` or `https` URL, without its trailing slashes.
fn http_url(variable: &str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::new(
            variable,
            format!("`{url}` is not an absolute http(s) URL such as https://warrant.example.com"),
        )),
    }
}

#[cfg(test)]
mod tests;
