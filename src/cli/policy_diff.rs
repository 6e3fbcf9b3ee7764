//! `warrant policy-diff OLD NEW`: the effect of replacing one policy file by
//! another, key by key, each difference `tightened`, `relaxed` or
//! `neutral`: what a reviewer of a policy change needs to see.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;
use super::output::{Format, write_stdout};
use super::policy_file;
use crate::policy::diff;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy as it is (the base branch's file).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The policy as proposed.
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// The organisation's policy both files are read under.
    #[arg(long = "org-policy", value_name = "FILE")]
    org_policy: Option<PathBuf>,
    /// How to print the differences.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Exit 0 with the differences (none is a valid answer); 1 with every
/// error on standard error when a file is not a valid policy.
pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    let org = match &args.org_policy {
        None => None,
        Some(given) => match policy_file::read_and_load(given, None)? {
            Ok(org) => Some(org),
            Err(code) => return Ok(code),
        },
    };
    let old = match policy_file::read_and_load(&args.old, org.as_ref())? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let new = match policy_file::read_and_load(&args.new, org.as_ref())? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let differences = diff::diff(&old, &new);
    let printed = match args.format {
        Format::Text => diff::text(&differences),
        Format::Markdown => diff::markdown(&differences),
        Format::Json => {
            let count = |effect| differences.iter().filter(|d| d.effect == effect).count();
            let json = serde_json::json!({
                "differences": differences,
                "tightened": count(diff::Effect::Tightened),
                "relaxed": count(diff::Effect::Relaxed),
                "neutral": count(diff::Effect::Neutral),
            });
            format!("{json:#}\n")
        }
    };
    write_stdout(&printed)?;
    Ok(ExitCode::SUCCESS)
}
