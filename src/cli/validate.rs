//! `warrant validate [FILE]`: checks a policy file, as admins do before
//! committing it and as CI does on the pull requests that change it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;

use crate::policy::{LOCAL_POLICY_PATHS, Policy};

use super::CliError;
use super::output::write_stdout;
use super::policy_file;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The policy file. [default: the first of .github/warrant.yml,
    /// .gitlab/warrant.yml and .warrant.yml in the current directory]
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// The organisation's policy (`warrant-org.yml`) the file is read
    /// under: checked first, then the file against it (an agent the
    /// organisation registered may only be given a role).
    #[arg(long = "org-policy", value_name = "ORG_FILE")]
    pub(crate) org_policy: Option<PathBuf>,
}

/// Exit 0 with a one-line summary when the policy is valid; 1 with every
/// error on standard error when it is not.
pub(crate) fn run(args: Args) -> Result<ExitCode, CliError> {
    let file = match args.file {
        Some(file) => file,
        None => find_policy(Path::new(".")).map_err(CliError::Usage)?,
    };
    let org = match &args.org_policy {
        None => None,
        Some(given) => match policy_file::read_and_load(given, None)? {
            Ok(org) => Some(org),
            Err(code) => return Ok(code),
        },
    };
    let shown_as = file.display().to_string();
    match policy_file::read_and_load(&file, org.as_ref())? {
        Ok(policy) => {
            let under = match &args.org_policy {
                Some(given) => format!(" under {}", given.display()),
                None => String::new(),
            };
            write_stdout(&format!(
                "{shown_as}: valid{under} ({})\n",
                summary(&policy)
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

/// The first policy file that exists in `dir`, in the order a forge looks
/// for it.
fn find_policy(dir: &Path) -> anyhow::Result<PathBuf> {
    LOCAL_POLICY_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| dir.join(p).exists())
        .ok_or_else(|| {
            anyhow!(
                "no policy file in the current directory: looked for {}; \
                 name the file to validate: `warrant validate FILE`",
                LOCAL_POLICY_PATHS.join(", ")
            )
        })
}

fn summary(policy: &Policy) -> String {
    format!(
        "{}, {}, {}",
        count(policy.agents.len(), "agent", "agents"),
        count(policy.roles.len(), "role", "roles"),
        count(policy.sensitive.len(), "sensitive area", "sensitive areas"),
    )
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_written_in_words_a_person_reads() {
        assert_eq!(count(0, "agent", "agents"), "0 agents");
        assert_eq!(count(1, "agent", "agents"), "1 agent");
        assert_eq!(count(3, "role", "roles"), "3 roles");
    }

    #[test]
    fn the_first_policy_path_found_wins() {
        let dir = tempfile::tempdir().unwrap();
        assert!(find_policy(dir.path()).is_err());
        std::fs::write(dir.path().join(".warrant.yml"), "").unwrap();
        assert_eq!(
            find_policy(dir.path()).unwrap(),
            PathBuf::from(".warrant.yml")
        );
        std::fs::create_dir(dir.path().join(".gitlab")).unwrap();
        std::fs::write(dir.path().join(".gitlab/warrant.yml"), "").unwrap();
        assert_eq!(
            find_policy(dir.path()).unwrap(),
            PathBuf::from(".gitlab/warrant.yml")
        );
    }
}
