//! `warrant audit keygen`, `warrant audit checkpoint`, and the checkpoint
//! half of `warrant audit verify --checkpoints FILE --public-key KEY` (see
//! [`crate::audit::checkpoint`] and `docs/audit.md`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;

use crate::audit::checkpoint::verify::{
    Contradiction, SequenceReport, check_sequence, check_trail,
};
use crate::audit::checkpoint::write::{Signer, Written, write};
use crate::audit::checkpoint::{PublicKey, SigningKey};
use crate::store::Store;

use super::CliError;
use super::audit::{Database, on_database};

#[derive(Debug, clap::Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the new key file (mode 0600; never over an existing
    /// file). Point WARRANT_AUDIT_SIGNING_KEY at it.
    #[arg(long, env = "WARRANT_AUDIT_SIGNING_KEY")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckpointArgs {
    #[command(flatten)]
    database: Database,

    /// The file holding the signing key (`warrant audit keygen`).
    #[arg(long, env = "WARRANT_AUDIT_SIGNING_KEY")]
    signing_key: PathBuf,

    /// The instance named in the checkpoint: its public URL.
    #[arg(long, env = "WARRANT_PUBLIC_URL")]
    public_url: Option<String>,

    /// A directory whose `checkpoints.jsonl` the checkpoint is appended to.
    #[arg(long, env = "WARRANT_AUDIT_CHECKPOINT_DIR")]
    checkpoint_dir: Option<PathBuf>,
}

/// Writes a new key file and prints its public key, alone on a line, so
/// that `warrant audit keygen --out k > k.pub` keeps it.
pub(crate) fn keygen(args: KeygenArgs) -> Result<ExitCode, CliError> {
    let key = SigningKey::generate();
    key.write_new(&args.out).map_err(CliError::Usage)?;
    eprintln!(
        "wrote the signing key to {}: keep it off the database's machines; \
         give auditors the public key below",
        args.out.display()
    );
    println!("{}", key.public());
    Ok(ExitCode::SUCCESS)
}

/// Writes a checkpoint now, whether or not the trail grew, and prints it.
pub(crate) fn checkpoint(args: CheckpointArgs) -> Result<ExitCode, CliError> {
    let key = SigningKey::read(&args.signing_key).map_err(CliError::Usage)?;
    let signer = Signer {
        key,
        instance: args
            .public_url
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .unwrap_or_default(),
        dir: args.checkpoint_dir,
    };
    let written = on_database(&args.database, async |store: &Store| {
        write(store, &signer, chrono::Utc::now(), true).await
    })?;
    match written {
        Written::Wrote(signed) => println!("{}", signed.line()),
        Written::LostRace => println!("another replica wrote a checkpoint at this moment"),
        Written::Unchanged => unreachable!("a forced checkpoint is always written"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The checkpoint half of a verification.
#[derive(Debug, Serialize)]
pub(crate) struct CheckpointsReport {
    /// Checkpoints whose signature and link verified.
    pub verified: usize,
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub key: String,
    /// A fault in the file: a signature, a link, a line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints_break: Option<Contradiction>,
    /// The first checkpoint the database contradicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_break: Option<Contradiction>,
}

impl CheckpointsReport {
    pub fn is_sound(&self) -> bool {
        self.checkpoints_break.is_none() && self.trail_break.is_none()
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        match (&self.checkpoints_break, self.first, self.last) {
            (Some(broken), _, _) => out.push_str(&format!("BROKEN checkpoints: {}\n", broken.reason)),
            (None, Some(first), Some(last)) => out.push_str(&format!(
                "ok     checkpoints: {} signed by {}, each naming the one before (checkpoint {first} to {last})\n",
                self.verified, self.key
            )),
            _ => {}
        }
        match &self.trail_break {
            Some(broken) => out.push_str(&format!("BROKEN trail: {}\n", broken.reason)),
            None if self.verified > 0 => out.push_str(&format!(
                "ok     trail: consistent with {} checkpoint{}\n",
                self.verified,
                if self.verified == 1 { "" } else { "s" }
            )),
            None => {}
        }
        out
    }
}

/// Reads the checkpoints file and the key, before the database is opened:
/// either unreadable is a usage error.
pub(crate) fn read_inputs(file: &PathBuf, key: &str) -> Result<(String, PublicKey), CliError> {
    let key = PublicKey::from_argument(key)
        .context("--public-key")
        .map_err(CliError::Usage)?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("--checkpoints: cannot read {}", file.display()))
        .map_err(CliError::Usage)?;
    if text.lines().all(|l| l.trim().is_empty()) {
        return Err(CliError::Usage(anyhow::anyhow!(
            "--checkpoints: {} holds no checkpoint",
            file.display()
        )));
    }
    Ok((text, key))
}

/// Verifies the checkpoints in `text` with `key`, then the trail against
/// those that verified.
pub(crate) async fn verify_checkpoints(
    store: &Store,
    text: &str,
    key: &PublicKey,
) -> anyhow::Result<CheckpointsReport> {
    let SequenceReport { verified, broken } = check_sequence(text, key, false);
    let trail_break = check_trail(store, &verified).await?;
    Ok(CheckpointsReport {
        verified: verified.len(),
        first: verified.first().map(|v| v.checkpoint.checkpoint.seq),
        last: verified.last().map(|v| v.checkpoint.checkpoint.seq),
        key: key.to_string(),
        checkpoints_break: broken,
        trail_break,
    })
}

/// Writes `text` to standard output.
pub(crate) fn print(text: &str) -> Result<(), CliError> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write the report")
        .map_err(CliError::Evaluation)
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyExportArgs {
    /// The export, as `/audit/events/export.jsonl` serves it.
    file: PathBuf,

    /// The public key that signs the checkpoints, `ed25519:<base64>`, or a
    /// file holding it.
    #[arg(long, value_name = "KEY")]
    public_key: String,

    /// Print the report as JSON: `events`, `chains`, `checkpoint` and,
    /// when broken, `break` (`line`, `checkpoint`, `kind`, `reason`).
    #[arg(long)]
    json: bool,
}

/// Checks an export offline: no database is opened.
pub(crate) fn verify_export(args: VerifyExportArgs) -> Result<ExitCode, CliError> {
    let key = PublicKey::from_argument(&args.public_key)
        .context("--public-key")
        .map_err(CliError::Usage)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))
        .map_err(CliError::Usage)?;
    let report = crate::audit::export::verify_export(&text, &key);
    let out = if args.json {
        let mut json = serde_json::to_string_pretty(&report).expect("the report serialises");
        json.push('\n');
        json
    } else {
        match (&report.broken, report.checkpoint) {
            (Some(broken), _) => format!("BROKEN export: {}\n", broken.reason),
            (None, Some(checkpoint)) => format!(
                "ok     export: {} events of {} chains, each proved in checkpoint {checkpoint} \
                 signed by {key}, none left out\n",
                report.events, report.chains
            ),
            (None, None) => unreachable!("an export without a checkpoint is broken"),
        }
    };
    print(&out)?;
    Ok(if report.broken.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
