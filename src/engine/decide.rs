//! The rules of POLICY.md ("Deciding"), applied in order.
use chrono::{DateTime, Utc};

use crate::ids::RepoPath;
use crate::policy::PolicyErrors;

use super::{Change, Decision, Evaluation};

/// Decides a change under a valid policy.
pub fn decide(evaluation: &Evaluation) -> Decision {
    let _ = evaluation;
    todo!()
}

/// The decision when the base commit has no policy file: `neutral`.
pub fn not_configured(change: &Change, at: DateTime<Utc>) -> Decision {
    let _ = (change, at);
    todo!()
}

/// The decision when the policy file does not parse or validate: `failure`
/// (fail closed), naming the file, line, column and reason.
pub fn invalid_policy(
    change: &Change,
    path: &RepoPath,
    blob_id: &str,
    errors: &PolicyErrors,
    at: DateTime<Utc>,
) -> Decision {
    let _ = (change, path, blob_id, errors, at);
    todo!()
}
