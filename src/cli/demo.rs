//! `warrant demo`: starts the server on a demo database beside a simulated
//! GitHub, plays the demo's pull requests through it (see [`crate::demo`]),
//! prints what each shows and where to look, and serves the pages until
//! Ctrl-C.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::demo::{Demo, Played, REPOSITORY, Received};
use crate::store::Store;

use super::CliError;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the server listens; `127.0.0.1:0` picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: String,
    /// The database to use, which must hold no demo yet. By default, an
    /// SQLite file in a fresh temporary directory, removed on exit.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Play the demo, print the result and exit, instead of serving until
    /// Ctrl-C.
    #[arg(long)]
    pub exit_when_played: bool,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(CliError::Serve)?;
    runtime.block_on(demo(args)).map_err(CliError::Serve)?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(args: Args) -> anyhow::Result<()> {
    // Held until the end: dropping it removes the database.
    let (database_url, temporary) = match &args.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("warrant-demo-")
                .tempdir()
                .context("cannot create a temporary directory for the database")?;
            let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
            (url, Some(dir))
        }
    };
    let store = Store::connect(&database_url).await?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("--listen: cannot listen on {}", args.listen))?;
    let demo = Demo::start(store, listener).await?;
    let played = demo.play().await?;
    let alerts = demo.alerts().await?;
    let database = match &temporary {
        Some(dir) => format!(
            "a temporary SQLite database in {}, removed when the demo stops",
            dir.path().display()
        ),
        None => "the database given by --database-url".to_owned(),
    };
    print_report(&demo.base_url(), &played, &alerts, &database)?;
    if !args.exit_when_played {
        println!("Press Ctrl-C to stop.");
        crate::server::shutdown_signal().await;
    }
    demo.stop().await?;
    drop(temporary);
    Ok(())
}

/// What was played and where to look, on standard output.
fn print_report(
    base: &str,
    played: &[Played],
    alerts: &[Received],
    database: &str,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let report = report(base, played, alerts, database);
    out.write_all(report.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write the report")
}

fn report(base: &str, played: &[Played], alerts: &[Received], database: &str) -> String {
    let mut text = format!(
        "Warrant demo: a simulated GitHub with the organisation acme, whose\n\
         organisation policy (acme/.github: warrant-org.yml) registers Copilot,\n\
         Claude Code and Devin once, Jules and Codex on trial, asks the\n\
         acme/platform team for infrastructure and lets it override the check\n\
         in an incident; its repository {REPOSITORY} adds the ledger and the\n\
         migrations. {n} pull requests, in {REPOSITORY}, in acme/checkout (no policy\n\
         of its own), in globex/website (no policy at all) and in acme/.github\n\
         (a change to the organisation policy), were delivered to Warrant as\n\
         signed webhooks and evaluated by its worker, as on GitHub. Then come\n\
         changes to a policy (their checks list what the change relaxes and the\n\
         past pull requests it would decide otherwise, or the line of a typo),\n\
         an override, and a registration that lapsed.\n\n",
        n = played.len(),
    );
    for p in played {
        let changed = p.conclusions.windows(2).any(|w| w[0] != w[1]);
        let history = if changed {
            format!("{} ({})", p.conclusion(), p.conclusions.join(" -> "))
        } else {
            p.conclusion().to_owned()
        };
        let unexpected = if p.as_expected() {
            String::new()
        } else {
            format!(" [expected {}]", p.expected.as_str())
        };
        let elsewhere = p.change.repo.as_str() != REPOSITORY;
        let repo = if elsewhere {
            p.change.repo.as_str()
        } else {
            ""
        };
        text.push_str(&format!(
            "{repo}#{number}  {shows}\n      check: {history}{unexpected}: {title}\n      {base}{page}\n\n",
            number = p.number,
            page = p.change.audit_page(),
            shows = p.shows,
            title = p.title,
        ));
    }
    text.push_str(&format!(
        "Then kenji pushed a commit of Devin's straight onto {REPOSITORY}'s main,\n\
         past review, and the daily sweep looked for registrations about to lapse.\n\n\
         Alerts raised ({n}), as a receiver set by WARRANT_ALERT_WEBHOOK_URLS gets them\n\
         (signed CloudEvents; here the demo's own receiver):\n",
        n = alerts.len()
    ));
    for alert in alerts {
        text.push_str(&format!("  {}\n      {}\n", alert.text, alert.kind));
    }
    text.push('\n');
    text.push_str(&format!(
        "Overview:                        {base}/audit\n\
         Changes and their decisions:     {base}/audit/changes\n\
         Repositories and their rollout:  {base}/audit/repositories\n\
         Agents and their owners:         {base}/audit/agents\n\
         Alerts and their delivery:       {base}/audit/alerts\n\n\
         The pages are public in the demo only.\n\
         Data: {database}.\n"
    ));
    text
}

/// Quiet by default: the report is the demo's output. `RUST_LOG` shows
/// the server's and worker's logs on standard error. sqlx's warnings of
/// slow statements are left out: on a busy laptop they say only that the
/// laptop is busy.
fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,sqlx::query=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::super::{Cli, Command};

    #[test]
    fn the_demo_listens_on_port_3000_with_a_temporary_database_by_default() {
        let Command::Demo(args) = Cli::try_parse_from(["warrant", "demo"]).unwrap().command else {
            panic!("not demo");
        };
        assert_eq!(args.listen, "127.0.0.1:3000");
        assert_eq!(args.database_url, None);
        assert!(!args.exit_when_played);
    }
}
