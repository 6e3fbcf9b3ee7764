//! `warrant check`: decides a local git range, `base..head`, as the app
//! would decide a pull request from `head` into `base`, under the policy
//! read from `base`. Locally there are no reviews, so any requirement shows
//! as awaited.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::anyhow;

use crate::codeowners::CodeownersFile;
use crate::engine::{self, Context, Forge, Origin};
use crate::git::{PolicyAtRev, Repo};
use crate::ids::{CommitSha, RepoPath};
use crate::policy::{LOCAL_POLICY_PATHS, Policy, PolicyError, PolicyErrors};

use super::CliError;
use super::output::{DecisionOptions, print_decision};
use super::policy_file::{self, PolicyFile};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The repository, or any directory inside it.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) repo: PathBuf,
    /// The commit the change is merged into; the policy is read from it.
    /// [default: the merge base of --head with the default branch:
    /// origin/HEAD's target, else main, origin/main, master, origin/master]
    #[arg(long, value_name = "REV")]
    pub(crate) base: Option<String>,
    /// The tip of the change.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub(crate) head: String,
    /// The organisation's policy (`warrant-org.yml`), decided beside the
    /// repository's as the app does: see "Organisation policy" in
    /// docs/policy.md.
    #[arg(long = "org-policy", value_name = "FILE")]
    pub(crate) org_policy: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: DecisionOptions,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    let repo = Repo::open(&args.repo).map_err(CliError::Usage)?;
    let org = (args.org_policy.as_deref())
        .map(PolicyFile::read)
        .transpose()
        .map_err(CliError::Usage)?;
    let head = resolve(&repo, "--head", &args.head)?;
    let base = match &args.base {
        Some(rev) => resolve(&repo, "--base", rev)?,
        None => default_base(&repo, &head)?,
    };
    let (change, policy) = repo
        .read_change(&base, &head)
        .map_err(|e| CliError::Evaluation(with_shallow_hint(&repo, e)))?;
    let at = args.output.at();
    let mut context = Context::default();
    match &policy {
        PolicyAtRev::File { path, .. } => context.codeowners = codeowners_at(&repo, &base, path)?,
        // The organisation's policy may name `codeowners` too; the file's
        // own place then says its syntax.
        PolicyAtRev::Absent if org.is_some() => {
            let nowhere = RepoPath::parse("warrant-org.yml").expect("a valid path");
            context.codeowners = codeowners_at(&repo, &base, &nowhere)?;
        }
        _ => {}
    }
    // A range that edits the policy keeps the base's file, to compare
    // the proposal with.
    let touches_policy = change
        .touched_paths()
        .any(|p| LOCAL_POLICY_PATHS.contains(&p.as_str()));
    let base_policy = match &policy {
        PolicyAtRev::File { path, contents, .. } if touches_policy => {
            Some((path.clone(), contents.clone()))
        }
        _ => None,
    };
    let mut decision = match policy {
        PolicyAtRev::Absent => policy_file::decide(None, org.as_ref(), &change, &context, at),
        PolicyAtRev::File {
            path,
            blob_id,
            contents,
        } => {
            let file = PolicyFile {
                shown_as: path.to_string(),
                path,
                blob_id,
                contents,
            };
            policy_file::decide(Some(file), org.as_ref(), &change, &context, at)
        }
        PolicyAtRev::NotAFile {
            path,
            object_id,
            what,
        } => {
            let errors = PolicyErrors(vec![PolicyError {
                file: path.to_string(),
                line: 1,
                column: 1,
                message: format!(
                    "the policy file is {what} at the base commit {}; Warrant reads \
                     the policy only from a regular file",
                    base.short()
                ),
            }]);
            engine::invalid_policy(&change, &path, &object_id, &errors, at)
        }
    };
    if touches_policy {
        // Read as the app reads them; a file that does not load has
        // already failed the decision.
        let org = (org.as_ref()).and_then(|f| policy_file::load(&f.shown_as, &f.contents).ok());
        let in_force = (base_policy.as_ref()).and_then(|(path, contents)| {
            policy_file::load_under(path.as_str(), contents, org.as_ref()).ok()
        });
        review_proposal(
            &repo,
            &head,
            (org.as_ref(), in_force.as_ref()),
            &mut decision,
        )?;
    }
    print_decision(&decision, args.output.format)
}

/// On a range that edits the policy: the policy at `head`, validated
/// (under the organisation's) and compared with `in_force`, as the app
/// does on a pull request. An invalid proposal fails the check.
fn review_proposal(
    repo: &Repo,
    head: &CommitSha,
    (org, in_force): (Option<&Policy>, Option<&Policy>),
    decision: &mut crate::engine::Decision,
) -> Result<(), CliError> {
    let proposed = repo.policy_at(head).map_err(CliError::Evaluation)?;
    let PolicyAtRev::File {
        path,
        blob_id,
        contents,
    } = proposed
    else {
        return Ok(());
    };
    let loaded = policy_file::load_under(path.as_str(), &contents, org);
    engine::review_proposal(
        decision,
        engine::Proposal {
            from: Origin::Repository,
            path: &path,
            blob_id: &blob_id,
            loaded: loaded.as_ref(),
            in_force: in_force.unwrap_or(Policy::none()),
        },
    );
    Ok(())
}

/// The CODEOWNERS file at the base, beside the policy at `policy` (read
/// whatever the policy says: the engine applies it only for `codeowners`).
fn codeowners_at(
    repo: &Repo,
    base: &CommitSha,
    policy: &RepoPath,
) -> Result<CodeownersFile, CliError> {
    let found = repo.codeowners_at(base).map_err(CliError::Evaluation)?;
    Ok(match found {
        PolicyAtRev::Absent => CodeownersFile::Absent,
        PolicyAtRev::File { path, contents, .. } => {
            let flavour = Forge::Local.codeowners_flavour(&path, policy);
            CodeownersFile::from_bytes(&path, flavour, &contents)
        }
        PolicyAtRev::NotAFile {
            path,
            object_id,
            what,
        } => CodeownersFile::unreadable(
            &path,
            &object_id,
            1,
            format!(
                "the CODEOWNERS file is {what} at the base commit {}; Warrant reads it only \
                 from a regular file",
                base.short()
            ),
        ),
    })
}

fn resolve(repo: &Repo, option: &str, rev: &str) -> Result<CommitSha, CliError> {
    repo.commit(rev)
        .map_err(CliError::Evaluation)?
        .ok_or_else(|| {
            CliError::Usage(anyhow!(
                "{option} `{rev}`: no such commit in `{}`",
                repo.dir().display()
            ))
        })
}

/// The merge base of `head` with the default branch: where a pull request
/// from this branch would start.
fn default_base(repo: &Repo, head: &CommitSha) -> Result<CommitSha, CliError> {
    let (branch, tip) = repo
        .default_branch()
        .map_err(CliError::Evaluation)?
        .ok_or_else(|| {
            CliError::Usage(anyhow!(
                "cannot tell which branch this change goes into: origin/HEAD is not set and \
             there is no main or master branch; name it with --base REV"
            ))
        })?;
    repo.merge_base(&tip, head)
        .map_err(CliError::Evaluation)?
        .ok_or_else(|| {
            CliError::Usage(with_shallow_hint(
                repo,
                anyhow!(
                    "{} and {branch} have no common history; name the base with --base REV",
                    head.short()
                ),
            ))
        })
}

/// Adds the usual cause of missing history in CI to an error.
fn with_shallow_hint(repo: &Repo, err: anyhow::Error) -> anyhow::Error {
    if repo.is_shallow() {
        err.context(
            "the clone is shallow, so history may be missing: fetch the whole history \
             (`git fetch --unshallow`; `fetch-depth: 0` in actions/checkout, \
             `GIT_DEPTH: 0` in GitLab CI)",
        )
    } else {
        err
    }
}
