//! What the `warrant` check shows, whatever the forge: a GitHub check run
//! shows all of it; a GitLab commit status its state and title, with the
//! rest on the audit page it links to.

use crate::engine::Conclusion;
use crate::ids::RepoPath;

/// An annotation on a file, shown in the pull request's diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub path: RepoPath,
    /// The line it is about; the file's first line when none is.
    pub line: Option<usize>,
    /// `failure` when its violation blocks, `warning` otherwise.
    pub blocking: bool,
    pub message: String,
}

/// What a completed check run shows.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub conclusion: Conclusion,
    pub title: String,
    /// Markdown; truncated to GitHub's limit when longer.
    pub summary: String,
    pub annotations: Vec<Annotation>,
}

impl CheckOutcome {
    /// What the check shows for a decision: its conclusion and title, the
    /// Markdown summary linking to `audit_url`, and the annotations.
    pub fn from_decision(decision: &crate::engine::Decision, audit_url: Option<&str>) -> Self {
        CheckOutcome {
            conclusion: decision.conclusion,
            title: decision.title.clone(),
            summary: crate::engine::render::markdown(decision, audit_url),
            annotations: Annotation::from_decision(decision),
        }
    }
}

impl Annotation {
    /// One annotation per path of each violation that names paths: files
    /// out of an agent's scope, a policy file changed by an agent.
    pub fn from_decision(decision: &crate::engine::Decision) -> Vec<Annotation> {
        decision
            .violations
            .iter()
            .flat_map(|v| {
                v.paths.iter().map(|p| Annotation {
                    path: p.clone(),
                    line: v.line,
                    blocking: v.blocking,
                    message: v.message.clone(),
                })
            })
            .collect()
    }
}
