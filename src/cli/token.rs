//! `warrant token`: API tokens for machines that read the audit exports
//! (`Authorization: Bearer wrt_...`). A token is printed once, when it is
//! made; the database keeps only its SHA-256, so a lost token is revoked
//! and replaced, never recovered.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};

use crate::config::Secret;
use crate::server::access::API_TOKEN_PREFIX;
use crate::server::auth::sha256_hex;
use crate::store::access::CreateTokenError;
use crate::store::{DEFAULT_DATABASE_URL, Store};

use super::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database `warrant serve` uses: an SQLite file
    /// (`sqlite://warrant.db`) or a PostgreSQL URL.
    #[arg(long, env = "WARRANT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, global = true)]
    database_url: Secret,

    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Make a token and print it, once.
    Create {
        /// What the token is for (e.g. `compliance-export`); unique among
        /// live tokens.
        #[arg(long)]
        name: String,
        /// Days until the token stops working (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in: Option<u32>,
    },
    /// List the tokens: names and dates, never the tokens.
    List,
    /// Stop a token from working, at once.
    Revoke {
        /// The token's name.
        name: String,
    },
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    if let TokenCommand::Create { name, .. } = &args.command {
        if !is_token_name(name) {
            return Err(CliError::Usage(anyhow::anyhow!(
                "--name: `{name}` is not a token name: 1 to 64 letters, digits, `-`, `_` or `.`"
            )));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(CliError::Serve)?;
    runtime.block_on(token(args))
}

async fn token(args: Args) -> Result<ExitCode, CliError> {
    let store = Store::connect(args.database_url.expose())
        .await
        .map_err(CliError::Serve)?;
    let now = Utc::now();
    let result = match args.command {
        TokenCommand::Create { name, expires_in } => {
            let expires_at = expires_in.map(|days| now + Duration::days(i64::from(days)));
            create(&store, &name, now, expires_at).await
        }
        TokenCommand::List => list(&store, now).await,
        TokenCommand::Revoke { name } => match store.revoke_api_token(&name, now).await {
            Ok(true) => {
                eprintln!("revoked `{name}`");
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => Err(CliError::Usage(anyhow::anyhow!(
                "no live token is named `{name}` (see `warrant token list`)"
            ))),
            Err(err) => Err(CliError::Serve(err)),
        },
    };
    store.close().await;
    result
}

async fn create(
    store: &Store,
    name: &str,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<ExitCode, CliError> {
    let token = new_api_token();
    match store
        .create_api_token(name, &sha256_hex(&token), now, expires_at)
        .await
    {
        Ok(()) => {}
        Err(err @ CreateTokenError::NameTaken(_)) => {
            return Err(CliError::Usage(anyhow::Error::new(err)));
        }
        Err(CreateTokenError::Other(err)) => return Err(CliError::Serve(err)),
    }
    // The token alone on standard output, for scripts; the advice beside.
    println!("{token}");
    let until = expires_at.map_or("does not expire".to_owned(), |at| {
        format!("expires {}", at.format("%Y-%m-%d %H:%M UTC"))
    });
    eprintln!(
        "token `{name}` created ({until}). It is shown only now: keep it in a secret store, and \
         send it as `Authorization: Bearer <token>`."
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &Store, now: DateTime<Utc>) -> Result<ExitCode, CliError> {
    let tokens = store.api_tokens().await.map_err(CliError::Serve)?;
    let date = |at: Option<DateTime<Utc>>| {
        at.map_or("-".to_owned(), |at| at.format("%Y-%m-%d %H:%M").to_string())
    };
    println!(
        "{:<24} {:<16} {:<16} {:<16} STATUS",
        "NAME", "CREATED", "EXPIRES", "LAST USED"
    );
    for token in tokens {
        let status = match (token.revoked_at, token.expires_at) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if at <= now => "expired",
            _ => "live",
        };
        println!(
            "{:<24} {:<16} {:<16} {:<16} {status}",
            token.name,
            date(Some(token.created_at)),
            date(token.expires_at),
            date(token.last_used_at),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A new token: the prefix and 32 random bytes in hex.
pub(crate) fn new_api_token() -> String {
    format!(
        "{API_TOKEN_PREFIX}{}",
        hex::encode(rand::random::<[u8; 32]>())
    )
}

/// Names are shown in lists and logs: keep them plain.
fn is_token_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_random() {
        let (a, b) = (new_api_token(), new_api_token());
        assert!(a.starts_with("wrt_") && a.len() == 4 + 64, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn token_names_are_plain() {
        assert!(is_token_name("compliance-export.v2"));
        for bad in ["", "a b", "a\nb", &"x".repeat(65)] {
            assert!(!is_token_name(bad), "{bad:?}");
        }
    }
}
