//! `warrant audit verify`: walks every repository's hash chain in the audit
//! trail and reports the first broken link of each (see
//! [`crate::audit::verify`] and `docs/audit.md`); with `--checkpoints` and
//! `--public-key`, also checks the trail against signed checkpoints kept
//! outside the database ([`super::audit_checkpoint`]).
//!
//! It reads only. Connecting applies pending migrations, as every command
//! that opens the database does, but an SQLite file that does not exist is
//! an error rather than a new empty trail that would verify as intact.

use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;

use super::audit_checkpoint::CheckpointsReport;
use crate::audit::verify::{ChainReport, verify_store};
use crate::config::Secret;
use crate::store::{DEFAULT_DATABASE_URL, Store};

use super::CliError;

/// The exit codes of `warrant audit verify`.
pub(crate) const VERIFY_EXIT_CODES: &str = "\
Exit codes:
  0  every chain is intact, or there are no audit events yet (and, with
     --checkpoints, every checkpoint verifies and the trail extends it)
  1  a chain is broken: the first broken link of each broken chain is shown;
     or a checkpoint is forged, missing, or contradicted by the trail: the
     first such checkpoint is named
  2  a usage error, or the database, the checkpoints file or the public key
     cannot be read";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Walk every repository's hash chain and report the first broken link
    /// of each: an altered, deleted, inserted or reordered row. Prints one
    /// line per chain, with its head hash: record the heads elsewhere to
    /// detect a later rewrite of a whole chain.
    #[command(after_help = VERIFY_EXIT_CODES)]
    Verify(VerifyArgs),
    /// Decide a change's last stored evaluation again from its recorded
    /// facts (the change, the policies, teams, admins, CODEOWNERS and the
    /// evaluation's time) and say whether the stored decision is
    /// reproduced exactly. Reads the database only, never the forge.
    #[command(after_help = super::replay::REPLAY_EXIT_CODES)]
    Replay(super::replay::ReplayArgs),
    /// Make a new key to sign audit checkpoints: writes the key file (mode
    /// 0600) and prints the public key, `ed25519:<base64>`.
    Keygen(super::audit_checkpoint::KeygenArgs),
    /// Write a signed checkpoint of the trail now: every chain's size and
    /// Merkle root. Prints it as a line of JSON.
    Checkpoint(super::audit_checkpoint::CheckpointArgs),
    /// Check an export of the audit events (`/audit/events/export.jsonl`)
    /// offline, with no database: the checkpoints' signatures, each
    /// event's hash and inclusion proof, and that no event of a covered
    /// chain was left out. Exit 0 sound, 1 broken, 2 usage.
    VerifyExport(super::audit_checkpoint::VerifyExportArgs),
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    #[command(flatten)]
    database: Database,

    /// Print the report as JSON: `intact`, and each chain's `forge`,
    /// `repo`, `intact`, `events`, `head` (`seq` and `hash`) and, when
    /// broken, `break` (`seq`, `row`, `kind`, `reason`).
    #[arg(long)]
    json: bool,

    /// A file of checkpoints kept outside the database (JSON Lines, as
    /// `/audit/checkpoints` serves them): checks each one's signature, that
    /// each names the one before, and that the trail is consistent with
    /// every one.
    #[arg(long, requires = "public_key", value_name = "FILE")]
    checkpoints: Option<std::path::PathBuf>,

    /// The public key that signs the checkpoints, `ed25519:<base64>`, or a
    /// file holding it.
    #[arg(long, requires = "checkpoints", value_name = "KEY")]
    public_key: Option<String>,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    let args = match args.command {
        AuditCommand::Verify(args) => args,
        AuditCommand::Replay(args) => return super::replay::audit_replay(args),
        AuditCommand::Keygen(args) => return super::audit_checkpoint::keygen(args),
        AuditCommand::Checkpoint(args) => return super::audit_checkpoint::checkpoint(args),
        AuditCommand::VerifyExport(args) => return super::audit_checkpoint::verify_export(args),
    };
    let inputs = match (&args.checkpoints, &args.public_key) {
        (Some(file), Some(key)) => Some(super::audit_checkpoint::read_inputs(file, key)?),
        _ => None,
    };
    let (reports, checkpoints) = on_database(&args.database, async |store| {
        let reports = verify_store(store).await?;
        let checkpoints = match &inputs {
            Some((text, key)) => {
                Some(super::audit_checkpoint::verify_checkpoints(store, text, key).await?)
            }
            None => None,
        };
        Ok((reports, checkpoints))
    })?;
    let text = if args.json {
        json(&reports, checkpoints.as_ref())
    } else {
        let mut text = text(&reports);
        text.push_str(&checkpoints.as_ref().map(|c| c.text()).unwrap_or_default());
        text
    };
    super::audit_checkpoint::print(&text)?;
    let sound = checkpoints.as_ref().is_none_or(|c| c.is_sound());
    Ok(if sound && reports.iter().all(ChainReport::is_intact) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line per chain: `ok     github acme/app: 42 events, head <hash>` or
/// `BROKEN github acme/app: <reason>`.
fn text(reports: &[ChainReport]) -> String {
    if reports.is_empty() {
        return "no audit events yet\n".to_owned();
    }
    let mut out = String::new();
    for report in reports {
        let chain = format!("{} {}", report.forge, report.repo);
        match (&report.broken, &report.head) {
            (Some(broken), _) => out.push_str(&format!("BROKEN {chain}: {}\n", broken.reason)),
            (None, Some(head)) => out.push_str(&format!(
                "ok     {chain}: {} event{}, head {}\n",
                report.events,
                if report.events == 1 { "" } else { "s" },
                head.hash
            )),
            // `audit_chains` lists only repositories with rows, and a row
            // either verifies (and becomes the head) or breaks the chain.
            (None, None) => out.push_str(&format!("ok     {chain}: 0 events\n")),
        }
    }
    out
}

fn json(reports: &[ChainReport], checkpoints: Option<&CheckpointsReport>) -> String {
    #[derive(Serialize)]
    struct Report<'a> {
        intact: bool,
        chains: Vec<Chain<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        checkpoints: Option<&'a CheckpointsReport>,
    }
    #[derive(Serialize)]
    struct Chain<'a> {
        intact: bool,
        #[serde(flatten)]
        report: &'a ChainReport,
    }
    let report = Report {
        intact: reports.iter().all(ChainReport::is_intact)
            && checkpoints.is_none_or(CheckpointsReport::is_sound),
        checkpoints,
        chains: reports
            .iter()
            .map(|report| Chain {
                intact: report.is_intact(),
                report,
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).expect("the report serialises");
    text.push('\n');
    text
}

/// The database, as `warrant serve` reads it.
#[derive(Debug, clap::Args)]
pub(crate) struct Database {
    /// The database: an SQLite file (`sqlite://warrant.db`) or a PostgreSQL
    /// URL (`postgres://user:password@host/db`).
    #[arg(long, env = "WARRANT_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database_url: Secret,
}

/// Runs `work` on the database, on a runtime of its own.
pub(super) fn on_database<T>(
    database: &Database,
    work: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(CliError::Database)?;
    runtime
        .block_on(async {
            let store = Store::connect(&existing_only(database.database_url.expose())).await?;
            let result = work(&store).await;
            store.close().await;
            result
        })
        .map_err(CliError::Database)
}

/// `url`, except that an SQLite file must already exist (`mode=rw`): a
/// mistyped path must not verify as an empty, intact trail.
fn existing_only(url: &str) -> String {
    if !url.starts_with("sqlite:") {
        return url.to_owned();
    }
    match url.split_once('?') {
        Some((_, query)) if query.split('&').any(|pair| pair.starts_with("mode=")) => {
            url.to_owned()
        }
        Some(_) => format!("{url}&mode=rw"),
        None => format!("{url}?mode=rw"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_must_exist_unless_a_mode_is_given() {
        assert_eq!(existing_only("sqlite://w.db"), "sqlite://w.db?mode=rw");
        assert_eq!(
            existing_only("sqlite:w.db?cache=shared"),
            "sqlite:w.db?cache=shared&mode=rw"
        );
        assert_eq!(existing_only("sqlite:w.db?mode=ro"), "sqlite:w.db?mode=ro");
        assert_eq!(existing_only("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn an_empty_trail_says_so() {
        assert_eq!(text(&[]), "no audit events yet\n");
        assert_eq!(
            json(&[], None),
            "{\n  \"intact\": true,\n  \"chains\": []\n}\n"
        );
    }
}
