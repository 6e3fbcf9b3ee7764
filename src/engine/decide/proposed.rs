//! A change that edits a policy file ("Policy changes on their own pull
//! request" in POLICY.md): it is decided under the policy at its base, as
//! always, and the policy it proposes is validated and compared with the
//! one in force. A proposal that does not load fails the check: a bad
//! policy never reaches the default branch.

use super::title;
use crate::engine::{
    Conclusion, Decision, Origin, PolicyErrorView, ProposedPolicy, Violation, ViolationKind,
};
use crate::ids::RepoPath;
use crate::policy::{Policy, PolicyErrors, diff};

/// The proposed file as read at the head, and what loading it gave.
pub struct Proposal<'a> {
    pub from: Origin,
    pub path: &'a RepoPath,
    pub blob_id: &'a str,
    pub loaded: Result<&'a Policy, &'a PolicyErrors>,
    /// The policy in force it would replace (the empty policy for a new
    /// file).
    pub in_force: &'a Policy,
}

/// Adds `proposal` to `decision`: its effect, or its errors, which fail
/// the check whatever the mode (an unreadable proposal would fail every
/// check once merged).
pub fn review_proposal(decision: &mut Decision, proposal: Proposal) {
    let mut reviewed = ProposedPolicy {
        from: proposal.from,
        path: proposal.path.clone(),
        blob_id: proposal.blob_id.to_owned(),
        errors: Vec::new(),
        differences: Vec::new(),
        replay: None,
    };
    match proposal.loaded {
        Ok(policy) => reviewed.differences = diff::diff(proposal.in_force, policy),
        Err(errors) => {
            reviewed.errors = errors.0.iter().map(PolicyErrorView::from).collect();
            fail(decision, &reviewed);
        }
    }
    decision.proposed.push(reviewed);
}

fn fail(decision: &mut Decision, proposed: &ProposedPolicy) {
    for e in &proposed.errors {
        decision.violations.push(Violation {
            kind: ViolationKind::ProposedPolicyInvalid,
            from: proposed.from,
            line: Some(e.line),
            agent: None,
            message: format!("proposed policy: {}", title::located(e)),
            paths: vec![proposed.path.clone()],
            blocking: true,
        });
    }
    let title = match proposed.errors.as_slice() {
        [] => format!("Proposed policy is invalid: {}", proposed.path),
        [only] => format!("Proposed policy is invalid: {}", title::located(only)),
        [first, rest @ ..] => format!(
            "Proposed policy is invalid: {} (and {} more {})",
            title::located(first),
            rest.len(),
            title::plural(rest.len(), "error", "errors")
        ),
    };
    decision.conclusion = Conclusion::Failure;
    decision.would_conclude = Conclusion::Failure;
    decision.title = title;
}

impl From<&crate::policy::PolicyError> for PolicyErrorView {
    fn from(e: &crate::policy::PolicyError) -> Self {
        PolicyErrorView {
            file: e.file.clone(),
            line: e.line,
            column: e.column,
            message: e.message.clone(),
        }
    }
}
