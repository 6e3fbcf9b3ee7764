//! Secrets in the settings: held so that they never reach a log.

use std::fmt;
use std::str::FromStr;

/// A value that must not reach logs: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The accepted webhook secrets, in the order given; never empty when built
/// from a config.
#[derive(Clone, Debug, Default)]
pub struct WebhookSecrets(Vec<Secret>);

impl WebhookSecrets {
    /// Secrets from a comma-separated list; blanks around commas are
    /// dropped, and so are empty entries (a trailing comma).
    pub fn parse_list(list: &str) -> WebhookSecrets {
        WebhookSecrets(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }
}
