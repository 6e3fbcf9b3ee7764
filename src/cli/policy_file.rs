//! A policy file as the CLI finds it (on disk or at a git revision), and
//! the decision it leads to.

use chrono::{DateTime, Utc};

use crate::engine::{self, Change, Context, Decision, Policies, PolicySource};
use crate::ids::RepoPath;
use crate::policy::{self, LoadedPolicy, OrgPolicy, Policy, PolicyError, PolicyErrors};

/// The contents of a policy file and where they came from.
#[derive(Clone, Debug)]
pub(crate) struct PolicyFile {
    /// The path recorded with the decision.
    pub(crate) path: RepoPath,
    /// The name errors are reported under (`FILE:LINE:COL: ...`): the path
    /// as the user wrote it, so that editors can open it.
    pub(crate) shown_as: String,
    pub(crate) blob_id: String,
    pub(crate) contents: Vec<u8>,
}

impl PolicyFile {
    /// Reads a policy file named on the command line.
    pub(crate) fn read(given: &std::path::Path) -> anyhow::Result<PolicyFile> {
        use anyhow::Context as _;
        let shown_as = given.display().to_string();
        let contents = std::fs::read(given)
            .with_context(|| format!("cannot read the policy file `{shown_as}`"))?;
        Ok(PolicyFile {
            path: recorded_path(given),
            shown_as,
            blob_id: policy::blob_id(&contents),
            contents,
        })
    }

    fn source(&self) -> PolicySource {
        PolicySource {
            repository: None,
            path: self.path.clone(),
            blob_id: self.blob_id.clone(),
        }
    }
}

/// Decides a change under a repository policy file and an organisation
/// policy file (`--org-policy`), either of which may be absent: visibility
/// only without both, `failure` (fail closed) when one does not load.
pub(crate) fn decide(
    file: Option<PolicyFile>,
    org: Option<&PolicyFile>,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Decision {
    let org = match org.map(|f| (f, load(&f.shown_as, &f.contents))) {
        None => None,
        Some((f, Err(errors))) => {
            return engine::invalid_org_policy(change, f.source(), &errors, at);
        }
        Some((f, Ok(policy))) => Some(OrgPolicy {
            repository: None,
            loaded: LoadedPolicy {
                path: f.path.clone(),
                blob_id: f.blob_id.clone(),
                policy,
            },
        }),
    };
    let repo = match file {
        None => None,
        Some(file) => {
            let under = org.as_ref().map(|o| &o.loaded.policy);
            match load_under(&file.shown_as, &file.contents, under) {
                Ok(policy) => Some(LoadedPolicy {
                    path: file.path,
                    blob_id: file.blob_id,
                    policy,
                }),
                Err(errors) => {
                    let mut decision =
                        engine::invalid_policy(change, &file.path, &file.blob_id, &errors, at);
                    decision.org_policy = org.as_ref().map(engine::org_source);
                    return decision;
                }
            }
        }
    };
    let policies = Policies {
        org: org.as_ref(),
        repo: repo.as_ref(),
    };
    engine::decide_under(policies, change, context, at)
}

/// Reads and loads the policy file `given` (under `org`), as `validate`
/// and `policy-diff` do: when it is invalid, every error is printed on
/// standard error and the exit code given; a file that cannot be read is
/// a usage error.
pub(crate) fn read_and_load(
    given: &std::path::Path,
    org: Option<&Policy>,
) -> Result<Result<Policy, std::process::ExitCode>, super::CliError> {
    let file = PolicyFile::read(given).map_err(super::CliError::Usage)?;
    Ok(match load_under(&file.shown_as, &file.contents, org) {
        Ok(policy) => Ok(policy),
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            if errors.0.is_empty() {
                eprintln!("{}: invalid policy", file.shown_as);
            }
            Err(std::process::ExitCode::FAILURE)
        }
    })
}

/// Loads a policy from raw bytes, under an organisation's policy when one
/// is given (see [`policy::load_under`]).
pub(crate) fn load_under(
    shown_as: &str,
    contents: &[u8],
    org: Option<&Policy>,
) -> Result<Policy, PolicyErrors> {
    let text = utf8(shown_as, contents)?;
    policy::load_under(shown_as, text, org)
}

/// Loads a policy from raw bytes. Bytes that are not UTF-8 are a policy
/// error at the first bad byte, like any other error in the file, so that
/// `check` fails closed on them rather than refusing to decide.
pub(crate) fn load(shown_as: &str, contents: &[u8]) -> Result<Policy, PolicyErrors> {
    load_under(shown_as, contents, None)
}

fn utf8<'a>(shown_as: &str, contents: &'a [u8]) -> Result<&'a str, PolicyErrors> {
    match std::str::from_utf8(contents) {
        Ok(text) => Ok(text),
        Err(e) => {
            let valid = &contents[..e.valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            // The column counts characters, and the valid prefix of the
            // line is whole characters.
            let column = String::from_utf8_lossy(&valid[line_start..])
                .chars()
                .count()
                + 1;
            Err(PolicyErrors(vec![PolicyError {
                file: shown_as.to_owned(),
                line,
                column,
                message: "the policy file is not UTF-8 text".to_owned(),
            }]))
        }
    }
}

/// The path a decision records for a policy file given on the command
/// line: as written when it is a repository path (`.github/warrant.yml`,
/// also after a leading `./`), else its file name, since a decision never
/// records an absolute or `..` path of the machine it ran on.
pub(crate) fn recorded_path(given: &std::path::Path) -> RepoPath {
    let text = given.to_string_lossy();
    let mut relative: &str = &text;
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest.trim_start_matches('/');
    }
    RepoPath::parse(relative)
        .ok()
        .or_else(|| {
            given
                .file_name()
                .and_then(|n| RepoPath::parse(&n.to_string_lossy()).ok())
        })
        .unwrap_or_else(|| RepoPath::parse("warrant.yml").expect("a valid path"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_repository_path_is_recorded_as_given() {
        for (given, recorded) in [
            (".github/warrant.yml", ".github/warrant.yml"),
            ("./.github/warrant.yml", ".github/warrant.yml"),
            ("/home/ci/repo/.github/warrant.yml", "warrant.yml"),
            ("../policies/strict.yml", "strict.yml"),
            ("policies//strict.yml", "strict.yml"),
        ] {
            assert_eq!(
                recorded_path(Path::new(given)).as_str(),
                recorded,
                "{given}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_a_policy_error_at_the_first_bad_byte() {
        let errors = load("p.yml", b"version: 1\nmode: \xc3\xa9x\xff\n").unwrap_err();
        assert_eq!(errors.0.len(), 1);
        let e = &errors.0[0];
        assert_eq!((e.file.as_str(), e.line, e.column), ("p.yml", 2, 9));
        assert_eq!(
            e.to_string(),
            "p.yml:2:9: the policy file is not UTF-8 text"
        );
    }
}
