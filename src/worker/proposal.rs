//! A change that edits a policy file: the file it proposes, read at its
//! head, validated and compared with the policy in force (see
//! [`engine::review_proposal`]). It costs one more request, for such
//! changes only.

use super::Worker;
use super::adapter::Adapter;
use super::policies::{Applicable, load_file};
use super::target::Target;
use crate::engine::{self, Change, Decision, Origin, Proposal};
use crate::forge::PolicyFile;
use crate::policy::{ORG_POLICY_FILE, Policy};

impl Worker {
    /// Reviews the repository's policy file the change edits, and, in the
    /// organisation's repository, the organisation policy it edits.
    pub(super) async fn review_proposals<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        change: &Change,
        loaded: &Applicable,
        decision: &mut Decision,
    ) -> anyhow::Result<()> {
        let touches = |paths: &[&str]| change.touched_paths().any(|p| paths.contains(&p.as_str()));
        let own = change.forge.policy_paths();
        let org = loaded.org.as_ref().map(|o| &o.loaded.policy);
        if touches(own) {
            // The file the forge would read once merged: the first
            // candidate at the head. None there: the policy is removed,
            // which its diff against the base's shows as nothing to read.
            if let Some(file) = forge.head_file(t, &change.head_sha, own).await? {
                let in_force = loaded.repo.as_ref().map(|l| &l.policy);
                review(decision, Origin::Repository, &file, org, in_force);
            }
        }
        let org_file = [ORG_POLICY_FILE];
        if forge.is_org_repository(&t.key.repo) && touches(&org_file) {
            if let Some(file) = forge.head_file(t, &change.head_sha, &org_file).await? {
                review(decision, Origin::Organisation, &file, None, org);
            }
        }
        Ok(())
    }
}

/// Validates `file` (under `org`, for a repository's policy) and adds
/// its errors or its effect on `in_force` to the decision.
fn review(
    decision: &mut Decision,
    from: Origin,
    file: &PolicyFile,
    org: Option<&Policy>,
    in_force: Option<&Policy>,
) {
    let loaded = load_file(file, org);
    engine::review_proposal(
        decision,
        Proposal {
            from,
            path: &file.path,
            blob_id: &file.blob_id,
            loaded: loaded.as_ref(),
            in_force: in_force.unwrap_or(Policy::none()),
        },
    );
}
