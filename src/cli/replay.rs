//! Deciding again from the server's records: `warrant audit replay
//! CHANGE` checks that a stored decision follows from its recorded facts;
//! `warrant simulate` tries a proposed policy on a repository's past
//! changes. Both read the database only, never the forge.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Serialize;

use super::CliError;
use super::audit::{Database, on_database};
use super::output::{Format, write_stdout};
use super::policy_file;
use crate::engine::{Decision, Forge, Replay};
use crate::evaluation::record::Input;
use crate::evaluation::replay::{self, Instead, Reproduction};
use crate::evaluation::simulate::{self, REPLAYED};
use crate::forge::{OrgPolicyFile, PolicyFile};
use crate::ids::{ChangeKey, RepoName, RepoPath};
use crate::policy::{self, ORG_POLICY_FILE};
use crate::store::records::Scope;

/// The exit codes of `warrant audit replay`.
pub(crate) const REPLAY_EXIT_CODES: &str = "\
Exit codes:
  0  the stored decision is reproduced exactly from its recorded facts
  1  it is not: the first difference is shown
  2  it cannot be replayed: no such evaluation, one recorded before Warrant
     kept an evaluation's facts, a fact missing from the record, or the
     database cannot be read";

#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The change: `github:OWNER/NAME#N` or `gitlab:GROUP/PROJECT!N`. Its
    /// last evaluation that reached a decision is replayed.
    #[arg(value_name = "FORGE:OWNER/NAME#N", value_parser = parse_change)]
    change: ChangeKey,
    #[command(flatten)]
    database: Database,
    /// Print the result as JSON: `reproduced`, `change`, `evaluated_at`,
    /// `recorded` and `replayed` (each `conclusion` and `title`) and, when
    /// they differ, `difference` (`at`, a JSON pointer, `recorded`,
    /// `replayed`).
    #[arg(long)]
    json: bool,
}

fn parse_change(s: &str) -> Result<ChangeKey, String> {
    ChangeKey::parse(s).map_err(|e| e.to_string())
}

fn parse_repository(s: &str) -> Result<(Forge, RepoName), String> {
    crate::ids::parse_repository(s).map_err(|e| e.to_string())
}

/// What `audit replay` found, for JSON.
#[derive(Serialize)]
struct Replayed<'a> {
    reproduced: bool,
    change: String,
    evaluated_at: String,
    recorded: Outcome<'a>,
    replayed: Outcome<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    difference: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Outcome<'a> {
    conclusion: &'a str,
    title: &'a str,
}

pub(crate) fn audit_replay(args: ReplayArgs) -> Result<ExitCode, CliError> {
    let change = args.change.clone();
    let found = on_database(&args.database, async |store| {
        let Some(row) = store.last_recorded(&change).await? else {
            anyhow::bail!("{change} has no evaluation that reached a decision");
        };
        let Input::Facts(record) = Input::parse(&row.input)? else {
            anyhow::bail!(
                "the last evaluation of {change} was recorded before Warrant kept an \
                 evaluation's facts: it cannot be replayed"
            );
        };
        let texts = store.recorded_texts(record.digests()).await?;
        let reproduction = replay::reproduce(&record, &texts, &row.decision).await?;
        let stored: Decision = serde_json::from_str(&row.decision)?;
        Ok((record.at, stored, reproduction))
    })?;
    let (
        at,
        stored,
        Reproduction {
            replayed,
            difference,
        },
    ) = found;
    let report = Replayed {
        reproduced: difference.is_none(),
        change: change.to_string(),
        evaluated_at: at.to_rfc3339(),
        recorded: Outcome {
            conclusion: stored.conclusion.as_str(),
            title: &stored.title,
        },
        replayed: Outcome {
            conclusion: replayed.conclusion.as_str(),
            title: &replayed.title,
        },
        difference: difference.as_ref().map(
            |d| serde_json::json!({ "at": d.at, "recorded": d.recorded, "replayed": d.replayed }),
        ),
    };
    let printed = if args.json {
        format!("{:#}\n", serde_json::to_value(&report).expect("serialises"))
    } else {
        replay_text(&report)
    };
    write_stdout(&printed)?;
    Ok(if report.reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn replay_text(r: &Replayed) -> String {
    let verdict = if r.reproduced {
        "reproduced exactly"
    } else {
        "NOT reproduced"
    };
    let mut out = format!(
        "{}, evaluated at {}: {verdict} from its recorded facts\n  recorded: {}: {}\n  replayed: {}: {}\n",
        r.change,
        r.evaluated_at,
        r.recorded.conclusion,
        r.recorded.title,
        r.replayed.conclusion,
        r.replayed.title
    );
    if let Some(d) = &r.difference {
        let shown = |v: &serde_json::Value| match v {
            serde_json::Value::Null => "(absent)".to_owned(),
            other => other.to_string(),
        };
        out.push_str(&format!(
            "  first difference at {}: recorded {}, replayed {}\n",
            d["at"].as_str().unwrap_or_default(),
            shown(&d["recorded"]),
            shown(&d["replayed"])
        ));
    }
    out
}

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// The proposed repository policy.
    #[arg(long, value_name = "FILE", required_unless_present = "org_policy")]
    policy: Option<PathBuf>,
    /// The proposed organisation policy.
    #[arg(long = "org-policy", value_name = "FILE")]
    org_policy: Option<PathBuf>,
    /// The repository whose past changes to decide again:
    /// `github:OWNER/NAME` or `gitlab:GROUP/PROJECT`.
    #[arg(long, value_name = "FORGE:OWNER/NAME", value_parser = parse_repository)]
    repo: (Forge, RepoName),
    /// How many of its last evaluated changes.
    #[arg(long, value_name = "N", default_value_t = REPLAYED)]
    last: usize,
    /// How to print the changes that would conclude otherwise.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    database: Database,
}

/// Exit 0 with the replay (no flip is a valid answer); 1 with every error
/// on standard error when a file is not a valid policy.
pub(crate) fn simulate(args: SimulateArgs) -> Result<ExitCode, CliError> {
    let (forge, repo) = args.repo.clone();
    let replayed = on_database(&args.database, async |store| {
        let scope = Scope::Repository(&repo);
        let (past, texts) = simulate::past_changes(store, forge, &scope, None, args.last).await?;
        // Without a proposed organisation policy, the repository's is read
        // under the one its last changes were decided under.
        let recorded_org = past.iter().find_map(|p| match &p.input {
            Some(Input::Facts(record)) => record.org.as_ref()?.read(&texts).ok(),
            _ => None,
        });
        let files = match proposals(&args, forge, &repo, recorded_org)? {
            Ok(files) => files,
            Err(code) => return Ok(Err(code)),
        };
        let instead = Instead {
            repo: files.repo.as_ref(),
            org: files.org.as_ref(),
        };
        Ok(Ok(simulate::simulate(&past, &texts, instead).await))
    })?;
    let replay = match replayed {
        Ok(replay) => replay,
        Err(code) => return Ok(code),
    };
    let printed = match args.format {
        Format::Json => format!("{:#}\n", serde_json::to_value(&replay).expect("serialises")),
        Format::Text | Format::Markdown => simulation_text(&replay, forge, &repo),
    };
    write_stdout(&printed)?;
    Ok(ExitCode::SUCCESS)
}

/// The proposed policies of `warrant simulate`.
struct Proposed {
    repo: Option<PolicyFile>,
    org: Option<OrgPolicyFile>,
}

/// Reads and validates the proposed files: the organisation's, and the
/// repository's under it (or under `recorded_org`, the organisation
/// policy in force). `Err` with the exit code once errors are printed.
fn proposals(
    args: &SimulateArgs,
    forge: Forge,
    repo: &RepoName,
    recorded_org: Option<OrgPolicyFile>,
) -> anyhow::Result<Result<Proposed, ExitCode>> {
    let (org_policy, org) = match &args.org_policy {
        None => {
            let policy = (recorded_org.as_ref())
                .and_then(|o| policy::load(ORG_POLICY_FILE, &o.file.text).ok());
            (policy, None)
        }
        Some(given) => match proposed(given, ORG_POLICY_FILE, None)? {
            Ok((policy, file)) => {
                let repository = match &recorded_org {
                    Some(recorded) => recorded.repository.clone(),
                    None => format!("{}/{}", repo.owner(), org_repository_name(forge)),
                };
                (Some(policy), Some(OrgPolicyFile { repository, file }))
            }
            Err(code) => return Ok(Err(code)),
        },
    };
    let repo = match &args.policy {
        None => None,
        Some(given) => match proposed(given, forge.policy_paths()[0], org_policy.as_ref())? {
            Ok((_, file)) => Some(file),
            Err(code) => return Ok(Err(code)),
        },
    };
    Ok(Ok(Proposed { repo, org }))
}

fn simulation_text(replay: &Replay, forge: Forge, repo: &RepoName) -> String {
    let mut out = format!("{}\n", replay.headline());
    for flip in &replay.flips {
        out.push_str(&flip.line(repo.as_str(), forge.change_sigil()));
        out.push('\n');
    }
    out
}

/// The organisation's repository a forge reads `warrant-org.yml` from, by
/// default.
fn org_repository_name(forge: Forge) -> &'static str {
    match forge {
        Forge::Gitlab => policy::GITLAB_ORG_REPOSITORY,
        Forge::Github | Forge::Local => policy::GITHUB_ORG_REPOSITORY,
    }
}

/// A proposed policy file from the command line, loaded (under `org`) and
/// as the forge would serve it at `path`: `Err` with the exit code once
/// its errors are printed.
fn proposed(
    given: &std::path::Path,
    path: &str,
    org: Option<&policy::Policy>,
) -> anyhow::Result<Result<(policy::Policy, PolicyFile), ExitCode>> {
    let policy = match policy_file::read_and_load(given, org) {
        Ok(Ok(policy)) => policy,
        Ok(Err(code)) => return Ok(Err(code)),
        Err(err) => return Err(anyhow::anyhow!("{err}")),
    };
    let text = std::fs::read_to_string(given)
        .with_context(|| format!("cannot read `{}`", given.display()))?;
    let file = PolicyFile {
        path: RepoPath::parse(path).expect("a policy path is a valid path"),
        blob_id: policy::blob_id(text.as_bytes()),
        text,
        truncated: false,
    };
    Ok(Ok((policy, file)))
}
