//! What the deciding subcommands (`evaluate`, `check`) share: the
//! `--format` and `--at` options, and printing a decision.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::ValueEnum;

use crate::engine::{Decision, render};

use super::CliError;

/// How a decision is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A terse report for a terminal: title, agents, requirements,
    /// violations.
    #[default]
    Text,
    /// The full decision as JSON, for scripts and the audit trail.
    Json,
    /// The summary the check shows on a pull request.
    Markdown,
}

/// Options of every subcommand that prints a decision.
#[derive(Debug, clap::Args)]
pub(crate) struct DecisionOptions {
    /// How to print the decision.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// The evaluation time, in RFC 3339 (`2026-12-05T23:00:00Z`): agent
    /// registrations expire and elevations apply relative to it. Fix it for
    /// a reproducible run. [default: now]
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
}

impl DecisionOptions {
    /// The evaluation time: `--at`, else the clock.
    pub(crate) fn at(&self) -> DateTime<Utc> {
        self.at.unwrap_or_else(Utc::now)
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}: expected an RFC 3339 time such as 2026-12-05T23:00:00Z"))
}

/// Prints the decision and returns the exit code of its conclusion.
pub(crate) fn print_decision(decision: &Decision, format: Format) -> Result<ExitCode, CliError> {
    let mut text = match format {
        Format::Text => render::text(decision),
        Format::Json => serde_json::to_string_pretty(decision)
            .context("serialising the decision")
            .map_err(CliError::Evaluation)?,
        Format::Markdown => render::markdown(decision, None),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    write_stdout(&text)?;
    Ok(ExitCode::from(decision.conclusion.exit_code()))
}

/// Writes to standard output. A closed pipe (`warrant ... | head`) is not
/// an error: the reader has what it wanted, and the exit code still tells
/// the decision.
pub(crate) fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Evaluation(
            anyhow::Error::new(e).context("writing to standard output"),
        )),
        _ => Ok(()),
    }
}
