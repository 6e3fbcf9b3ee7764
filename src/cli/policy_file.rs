//! A policy file as the CLI finds it (on disk or at a git revision), and
//! the decision it leads to.

use chrono::{DateTime, Utc};

use crate::engine::{self, Change, Context, Decision, Evaluation};
use crate::ids::RepoPath;
use crate::policy::{self, LoadedPolicy, Policy, PolicyError, PolicyErrors};

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

/// Decides a change under a policy file: `not_configured` without one,
/// `invalid_policy` (fail closed) when it does not load.
pub(crate) fn decide(
    file: Option<PolicyFile>,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Decision {
    let Some(file) = file else {
        return engine::not_configured(change, context, at);
    };
    match load(&file.shown_as, &file.contents) {
        Ok(policy) => {
            let loaded = LoadedPolicy {
                path: file.path,
                blob_id: file.blob_id,
                policy,
            };
            engine::decide(&Evaluation {
                policy: &loaded,
                change,
                context,
                at,
            })
        }
        Err(errors) => engine::invalid_policy(change, &file.path, &file.blob_id, &errors, at),
    }
}

/// Loads a policy from raw bytes. Bytes that are not UTF-8 are a policy
/// error at the first bad byte, like any other error in the file, so that
/// `check` fails closed on them rather than refusing to decide.
pub(crate) fn load(shown_as: &str, contents: &[u8]) -> Result<Policy, PolicyErrors> {
    match std::str::from_utf8(contents) {
        Ok(text) => policy::load(shown_as, text),
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
