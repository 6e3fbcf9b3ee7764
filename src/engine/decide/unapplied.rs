//! Decisions made without applying a policy: there is none to apply, or
//! one does not load (Warrant then fails closed).

use chrono::{DateTime, Utc};

use super::super::identify::identify;
use super::{skeleton, title};
use crate::engine::{
    Change, Conclusion, Context, Decision, Origin, PolicyErrorView, PolicySource, Violation,
    ViolationKind,
};
use crate::ids::RepoPath;
use crate::policy::{Policy, PolicyErrors};

/// The decision when the base commit has no policy file: `neutral`, yet
/// with the agents the change shows identified by the built-in catalog and
/// bot accounts (all of them unregistered), recorded like any decision's
/// and named in the summary: visibility before policy.
pub fn not_configured(change: &Change, context: &Context, at: DateTime<Utc>) -> Decision {
    let ident = identify(Policy::none(), change, context, at);
    let mut notes = Vec::new();
    if !ident.agents.is_empty() {
        let ids: Vec<&str> = ident.agents.iter().map(|a| a.id.as_str()).collect();
        notes.push(format!(
            "{} {} seen: {}. Nothing is enforced until the repository (or its organisation) has a policy.",
            ids.len(),
            title::plural(ids.len(), "agent", "agents"),
            ids.join(", ")
        ));
    }
    Decision {
        conclusion: Conclusion::Neutral,
        would_conclude: Conclusion::Neutral,
        title: "Warrant is not configured for this repository".into(),
        requesters: ident.requesters.iter().map(|r| r.display()).collect(),
        agents: ident.agents,
        notes,
        ..skeleton(change, at)
    }
}

/// The decision when the repository's policy file does not parse or
/// validate: `failure` (fail closed), naming the file, line, column and
/// reason.
pub fn invalid_policy(
    change: &Change,
    path: &RepoPath,
    blob_id: &str,
    errors: &PolicyErrors,
    at: DateTime<Utc>,
) -> Decision {
    let source = PolicySource {
        repository: None,
        path: path.clone(),
        blob_id: blob_id.to_owned(),
    };
    invalid(change, Origin::Repository, source, errors, at)
}

/// The decision when the organisation's policy does not parse or
/// validate: every check in the organisation fails closed, "Invalid
/// organisation policy: warrant-org.yml:LINE:COL: reason".
pub fn invalid_org_policy(
    change: &Change,
    source: PolicySource,
    errors: &PolicyErrors,
    at: DateTime<Utc>,
) -> Decision {
    invalid(change, Origin::Organisation, source, errors, at)
}

fn invalid(
    change: &Change,
    from: Origin,
    source: PolicySource,
    errors: &PolicyErrors,
    at: DateTime<Utc>,
) -> Decision {
    let views: Vec<PolicyErrorView> = errors.0.iter().map(PolicyErrorView::from).collect();
    let what = match from {
        Origin::Repository => "Invalid policy",
        Origin::Organisation => "Invalid organisation policy",
    };
    let title = match views.as_slice() {
        [] => format!("{what} in {}", source.path),
        [only] => format!("{what}: {}", title::located(only)),
        [first, rest @ ..] => format!(
            "{what}: {} (and {} more {})",
            title::located(first),
            rest.len(),
            title::plural(rest.len(), "error", "errors")
        ),
    };
    let violations = views
        .iter()
        .map(|e| Violation {
            kind: ViolationKind::InvalidPolicy,
            from,
            // Annotated at the line at fault, as a proposed policy's are.
            line: Some(e.line),
            agent: None,
            message: title::located(e),
            paths: vec![source.path.clone()],
            blocking: true,
        })
        .collect();
    let (policy, org_policy) = match from {
        Origin::Repository => (Some(source), None),
        Origin::Organisation => (None, Some(source)),
    };
    Decision {
        conclusion: Conclusion::Failure,
        would_conclude: Conclusion::Failure,
        title,
        policy,
        org_policy,
        policy_errors: views,
        violations,
        ..skeleton(change, at)
    }
}
