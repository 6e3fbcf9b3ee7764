//! The `warrant` command line.
//!
//! One module per subcommand, each an `Args` struct (clap derive) and a
//! `run(Args) -> Result<ExitCode, CliError>`; adding a subcommand is a new
//! module and one variant of `Command`. What several subcommands share
//! (printing a decision, loading a policy file) lives in `output` and
//! `policy_file`.
//!
//! The exit code is the contract with CI: the decision's conclusion when
//! there is one ([`crate::engine::Conclusion::exit_code`]), and
//! [`EXIT_NO_DECISION`] when the command could not decide.

mod audit;
mod audit_checkpoint;
mod check;
mod demo;
mod evaluate;
mod output;
mod policy_diff;
mod policy_file;
mod replay;
mod serve;
mod token;
mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The exit code when the command could not decide: bad arguments (clap's
/// own usage errors use it too), a file or change that cannot be read, a
/// revision git does not know. Distinct from 1 so that CI can tell "the
/// policy says no" from "the check did not run".
pub const EXIT_NO_DECISION: u8 = 2;

const EXIT_CODES: &str = "\
Exit codes:
  0  success or neutral (no agent activity, requirements met, not configured,
     observe mode; `validate`: the policy is valid)
  1  failure (a rule fails, or the policy is invalid)
  2  no decision: a usage error, an unreadable file or change, a git error
  3  action required: waiting for approvals";

/// Governs AI coding agents on pull requests: identity, scope, approval,
/// lifecycle and audit.
#[derive(Debug, Parser)]
#[command(name = "warrant", version, about, long_about = None, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of `serve`'s settings costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Check a policy file and report every error with its line and column.
    #[command(after_help = EXIT_CODES)]
    Validate(validate::Args),
    /// Decide a change described in a JSON file under a policy file.
    #[command(after_help = EXIT_CODES)]
    Evaluate(evaluate::Args),
    /// Compare two policy files key by key: each difference tightened,
    /// relaxed or neutral, as a policy change's check shows them.
    PolicyDiff(policy_diff::Args),
    /// Try a proposed policy on a repository's last evaluated changes, each
    /// decided again from its recorded facts at its recorded time, and list
    /// those whose conclusion would differ. Reads the server's database
    /// (WARRANT_DATABASE_URL), never the forge.
    Simulate(replay::SimulateArgs),
    /// Decide a local git range (a branch about to become a pull request,
    /// or a pull request checked out in CI) under the policy at its base.
    #[command(after_help = EXIT_CODES)]
    Check(check::Args),
    /// Run the GitHub App: receive webhooks, store them durably, evaluate
    /// pull requests, serve the audit pages, health checks and metrics.
    /// Configured by flags or WARRANT_* variables; runs until SIGINT or
    /// SIGTERM.
    Serve(crate::config::ServeArgs),
    /// Inspect the audit trail: `warrant audit verify` checks its hash
    /// chains (and, given them, its signed checkpoints) and reports the
    /// first broken link of each; `warrant audit replay` decides a stored
    /// evaluation again from its recorded facts; `keygen`, `checkpoint` and
    /// `verify-export` sign checkpoints and check exports offline.
    #[command(after_help = audit::VERIFY_EXIT_CODES)]
    Audit(audit::Args),
    /// Create, list and revoke the API tokens that read the audit exports.
    Token(token::Args),
    /// Show the whole product offline: a simulated GitHub, scripted pull
    /// requests evaluated by the real server, and the pages to open.
    Demo(demo::Args),
}

/// Why a command could not decide. Each variant exits
/// [`EXIT_NO_DECISION`]; they differ in what the user should do next.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command cannot run as invoked: a file that cannot be read, a
    /// change file that does not parse, a revision git does not know. The
    /// user fixes the command line or the input.
    #[error("{0:#}")]
    Usage(anyhow::Error),
    /// The inputs are fine but reading them failed: git could not list the
    /// range, the output could not be written.
    #[error("could not evaluate: {0:#}")]
    Evaluation(anyhow::Error),
    /// `warrant serve` could not start or stopped on an error: a database
    /// that does not answer, a port already in use.
    #[error("{0:#}")]
    Serve(anyhow::Error),
    /// The database could not be opened or read (`warrant audit`).
    #[error("{0:#}")]
    Database(anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        EXIT_NO_DECISION
    }
}

/// The `warrant` binary.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the command line on `args` (the first being the program name) and
/// returns its exit code; errors are printed on standard error.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` come this way too, with exit code 0.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(EXIT_NO_DECISION));
        }
    };
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Check(args) => check::run(args),
        Command::PolicyDiff(args) => policy_diff::run(args),
        Command::Simulate(args) => replay::simulate(args),
        Command::Serve(args) => serve::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Token(args) => token::run(args),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            if matches!(err, CliError::Usage(_)) {
                eprintln!("\nFor more information, try '--help'.");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("warrant").chain(args.iter().copied()))
    }

    #[test]
    fn evaluate_needs_a_policy_and_a_change() {
        let err = parse(&["evaluate", "--policy", "p.yml"]).unwrap_err();
        assert_eq!(err.exit_code(), i32::from(EXIT_NO_DECISION));
        assert!(parse(&["evaluate", "--policy", "p.yml", "--change", "c.json"]).is_ok());
    }

    #[test]
    fn check_defaults_head_to_head_and_leaves_base_to_the_default_branch() {
        let Command::Check(args) = parse(&["check"]).unwrap().command else {
            panic!("not check");
        };
        assert_eq!(args.head, "HEAD");
        assert_eq!(args.base, None);
        assert_eq!(args.repo, std::path::PathBuf::from("."));
    }

    #[test]
    fn at_must_be_an_rfc3339_time_and_format_a_known_one() {
        let evaluate = ["evaluate", "--policy", "p.yml", "--change", "c.json"];
        let ok = parse(
            &[
                &evaluate[..],
                &["--at", "2026-12-05T23:00:00+01:00", "--format", "json"],
            ]
            .concat(),
        );
        let Command::Evaluate(args) = ok.unwrap().command else {
            panic!("not evaluate");
        };
        assert_eq!(args.output.at().to_rfc3339(), "2026-12-05T22:00:00+00:00");
        assert_eq!(args.output.format, output::Format::Json);
        for bad in [
            &["--at", "2026-12-05"][..],
            &["--at", "tomorrow"],
            &["--format", "html"],
        ] {
            let err = parse(&[&evaluate[..], bad].concat()).unwrap_err();
            assert_eq!(err.exit_code(), i32::from(EXIT_NO_DECISION), "{bad:?}");
        }
    }

    #[test]
    fn serve_takes_its_settings_as_flags() {
        let Command::Serve(args) = parse(&["serve", "--listen", "0.0.0.0:8080"])
            .unwrap()
            .command
        else {
            panic!("not serve");
        };
        assert_eq!(args.listen, "0.0.0.0:8080");
    }

    #[test]
    fn validate_takes_an_optional_file() {
        let Command::Validate(args) = parse(&["validate"]).unwrap().command else {
            panic!("not validate");
        };
        assert_eq!(args.file, None);
        assert!(parse(&["validate", "a.yml", "b.yml"]).is_err());
    }
}
