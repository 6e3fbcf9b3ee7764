//! Settings about the forge apps: the GitHub App registered at `/`, and
//! the names of the organisations' policy repositories.

use std::path::Path;

use jsonwebtoken::EncodingKey;

use super::{ConfigError, GithubAppConfig, WebhookSecrets};
use crate::forge::github::checks::AppCredentials;

/// Where each forge's organisation policy lives: a repository directly
/// under the organisation or top-level group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRepositories {
    pub github: String,
    pub gitlab: String,
}

/// The app registered at `/` in an earlier run, if its file exists.
pub(super) fn registered(
    file: &Path,
    api_url: &str,
) -> Result<Option<GithubAppConfig>, ConfigError> {
    const VARIABLE: &str = "WARRANT_GITHUB_APP_FILE";
    let credentials = crate::forge::github::app_file::load(file)
        .map_err(|err| ConfigError::new(VARIABLE, format!("{err:#}")))?;
    let Some(credentials) = credentials else {
        return Ok(None);
    };
    GithubAppConfig::from_credentials(&credentials, api_url)
        .map(Some)
        .map_err(|problem| ConfigError::new(VARIABLE, format!("{}: {problem}", file.display())))
}

impl GithubAppConfig {
    /// The app GitHub created through the manifest flow; the error says
    /// what is wrong without quoting a secret.
    pub fn from_credentials(
        credentials: &AppCredentials,
        api_url: &str,
    ) -> Result<GithubAppConfig, String> {
        let secret = credentials.webhook_secret.as_deref().unwrap_or_default();
        let webhook_secrets = WebhookSecrets::parse_list(secret);
        if webhook_secrets.is_empty() {
            return Err("no webhook secret".into());
        }
        let private_key = EncodingKey::from_rsa_pem(credentials.pem.trim().as_bytes())
            .map_err(|err| format!("no RSA private key in PEM ({err})"))?;
        Ok(GithubAppConfig {
            app_id: credentials.id,
            private_key,
            webhook_secrets,
            api_url: api_url.to_owned(),
        })
    }
}

/// A repository's name without its owner (`.github`, `gitlab-profile`):
/// one path segment of the characters both forges allow.
pub(super) fn repository_name(variable: &str, name: &str) -> Result<String, ConfigError> {
    let name = name.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || !name.chars().all(allowed) || name == "." || name == ".." {
        return Err(ConfigError::new(
            variable,
            format!("`{name}` is not a repository name such as .github (no owner, no slash)"),
        ));
    }
    Ok(name.to_owned())
}
