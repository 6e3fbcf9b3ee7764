//! `warrant evaluate --policy FILE --change FILE`: decides a change
//! described in JSON, as the app would, without a forge. For trying a
//! policy on past pull requests and for reproducing a decision.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use serde::Deserialize;

use crate::codeowners::CodeownersFile;
use crate::engine::{Change, Context};

use super::CliError;
use super::output::{DecisionOptions, print_decision};
use super::policy_file::{self, PolicyFile};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy file to apply (YAML).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// The organisation's policy (`warrant-org.yml`), decided beside the
    /// repository's as the app does: see "Organisation policy" in
    /// docs/policy.md.
    #[arg(long = "org-policy", value_name = "FILE")]
    org_policy: Option<PathBuf>,
    /// The change to decide: a JSON file, `{"change": ..., "context": ...}`
    /// or a bare change object (see docs/cli.md); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    change: PathBuf,
    /// The CODEOWNERS file at the change's base, for a policy that names
    /// `codeowners`; read in GitLab's syntax when the change's forge is
    /// `gitlab` (or the file is `.gitlab/CODEOWNERS`). Without it, no path
    /// has a code owner.
    #[arg(long, value_name = "FILE")]
    codeowners: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: DecisionOptions,
}

pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    let file = PolicyFile::read(&args.policy).map_err(CliError::Usage)?;
    let org = (args.org_policy.as_deref())
        .map(PolicyFile::read)
        .transpose()
        .map_err(CliError::Usage)?;
    let (mut change, mut context) = read_change_file(&args.change).map_err(CliError::Usage)?;
    change.link_noreply_accounts();
    let policy_path = file.path.clone();
    if let Some(given) = &args.codeowners {
        let contents = std::fs::read(given)
            .with_context(|| format!("cannot read the CODEOWNERS file `{}`", given.display()))
            .map_err(CliError::Usage)?;
        let path = policy_file::recorded_path(given);
        let flavour = change.forge.codeowners_flavour(&path, &policy_path);
        context.codeowners = CodeownersFile::from_bytes(&path, flavour, &contents);
    }
    let at = args.output.at();
    let decision = policy_file::decide(Some(file), org.as_ref(), &change, &context, at);
    print_decision(&decision, args.output.format)
}

fn read_change_file(path: &std::path::Path) -> anyhow::Result<(Change, Context)> {
    let (shown_as, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the change from standard input")?;
        ("standard input".to_owned(), text)
    } else {
        let shown_as = format!("`{}`", path.display());
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the change file {shown_as}"))?;
        (shown_as, text)
    };
    parse_change(&text).with_context(|| format!("the change in {shown_as} is not valid"))
}

/// The change file: a change with the context the engine needs beyond it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeFile {
    change: Change,
    #[serde(default)]
    context: Context,
}

/// Just enough of a JSON object to tell the two accepted forms apart.
#[derive(Deserialize)]
struct Shape {
    change: Option<serde::de::IgnoredAny>,
}

/// Parses either form of a change file. An object with a `change` key is
/// a [`ChangeFile`] (a change has no such field); anything else is read as
/// a bare [`Change`] with an empty context. Each form is then parsed
/// strictly, so that errors carry their line and column and unknown keys
/// are refused.
fn parse_change(text: &str) -> Result<(Change, Context), serde_json::Error> {
    let wrapped = serde_json::from_str::<Shape>(text).is_ok_and(|s| s.change.is_some());
    if wrapped {
        let file: ChangeFile = serde_json::from_str(text)?;
        Ok((file.change, file.context))
    } else {
        Ok((serde_json::from_str(text)?, Context::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGE: &str = r#"{
        "forge": "github",
        "repository": "octo-org/app",
        "number": 7,
        "base_sha": "1111111111111111111111111111111111111111",
        "head_sha": "2222222222222222222222222222222222222222",
        "files": [{"path": "src/main.rs"}, {"path": "src/b.rs", "previous_path": "infra/b.rs"}]
    }"#;

    #[test]
    fn a_change_file_carries_a_change_and_its_context() {
        let text = format!(
            r#"{{"change": {CHANGE}, "context": {{"teams": {{"octo-org/sre": ["bob"]}}}}}}"#
        );
        let (change, context) = parse_change(&text).unwrap();
        assert_eq!(change.number, 7);
        assert_eq!(change.touched_paths().count(), 3);
        assert_eq!(context.teams["octo-org/sre"].len(), 1);
    }

    #[test]
    fn the_context_may_be_left_out() {
        let text = format!(r#"{{"change": {CHANGE}}}"#);
        let (_, context) = parse_change(&text).unwrap();
        assert!(context.teams.is_empty());
    }

    #[test]
    fn a_bare_change_is_read_with_an_empty_context() {
        let (change, context) = parse_change(CHANGE).unwrap();
        assert_eq!(change.repository, "octo-org/app");
        assert!(context.app_logins.is_empty());
    }

    #[test]
    fn unknown_keys_are_refused_in_either_form() {
        let text = format!(r#"{{"change": {CHANGE}, "contxt": {{}}}}"#);
        assert!(
            parse_change(&text)
                .unwrap_err()
                .to_string()
                .contains("contxt")
        );
        let bare = CHANGE.replace("\"number\"", "\"nmber\"");
        assert!(
            parse_change(&bare)
                .unwrap_err()
                .to_string()
                .contains("nmber")
        );
    }

    #[test]
    fn errors_point_at_the_line_and_column() {
        let bad = CHANGE.replace("src/main.rs", "/etc/passwd");
        let err = parse_change(&bad).unwrap_err();
        assert_eq!(err.line(), 7, "{err}");
        assert!(err.to_string().contains("absolute"), "{err}");
        assert!(parse_change("[1, 2]").is_err());
        assert!(parse_change("{").is_err());
    }
}
