//! One evaluation of a change from its facts, written once for the two
//! ways Warrant decides: live, the worker reading each fact from the forge
//! as the policy asks for it, and replayed, each fact read back from what
//! an earlier evaluation recorded ([`record`]): `warrant audit replay`, and
//! the simulation of a proposed policy over past changes ([`simulate`]).
//!
//! What an evaluation reads depends on its policy (CODEOWNERS only for a
//! policy naming `codeowners`, the admins only for an agent escalated to
//! them, the head's policy only for a change editing it), so the facts
//! are asked for through [`Facts`], in the order the decision needs them.

pub mod policies;
pub mod record;
pub mod replay;
pub mod simulate;

use chrono::{DateTime, Utc};

use crate::engine::{self, Change, Context, Decision, Origin, OverrideRequest, Proposal};
use crate::forge::{OrgPolicyFile, PolicyFile, Teams, read_codeowners};
use crate::ids::Login;
use crate::policy::{ORG_POLICY_FILE, Policy};
pub(crate) use policies::Applicable;
pub use policies::ParsedPolicies;

/// The facts of a change that an evaluation reads only when its policy
/// asks for them.
pub(crate) trait Facts {
    /// The CODEOWNERS file at the base, if there is one.
    async fn codeowners(&self) -> anyhow::Result<Option<PolicyFile>>;

    /// The members of the teams to resolve and Warrant's own accounts
    /// (`loaded` is empty for a change no policy governs).
    async fn context(&self, loaded: &Applicable, teams: &Teams) -> anyhow::Result<Context>;

    /// Who administers the repository.
    async fn admins(&self) -> anyhow::Result<Vec<Login>>;

    /// The first of `paths` that exists at the change's head.
    async fn head_file(&self, paths: &[&str]) -> anyhow::Result<Option<PolicyFile>>;

    /// The override comments given on the change at its head (asked only
    /// of a decision that blocks, under a policy that allows overrides).
    async fn overrides(&self) -> anyhow::Result<Vec<OverrideRequest>>;
}

/// What every evaluation has before it asks for any fact.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inputs<'a> {
    pub change: &'a Change,
    /// The organisation policy, as read for the change.
    pub org: Option<&'a OrgPolicyFile>,
    /// The repository's policy at the base.
    pub repo: Option<&'a PolicyFile>,
    /// The evaluation's clock.
    pub at: DateTime<Utc>,
    /// Whether the forge lets Warrant withdraw an agent's approval.
    pub dismisses: bool,
    /// Whether the change's repository is its organisation's, where
    /// `warrant-org.yml` is the organisation policy.
    pub org_repository: bool,
}

/// Why an agent's approval stays on a GitLab merge request.
pub const NOT_DISMISSED: &str = "GitLab does not let another account withdraw an approval: \
     the agents' approvals are ignored and recorded, not revoked.";

/// Decides a change: loads its policies (an invalid one is the decision),
/// asks `facts` for what they need, decides, and reviews the policies the
/// change proposes.
pub(crate) async fn decide<F: Facts>(
    facts: &F,
    cache: &ParsedPolicies,
    i: Inputs<'_>,
) -> anyhow::Result<Decision> {
    let (change, at) = (i.change, i.at);
    let loaded = match policies::load(cache, change, i.org, i.repo, at) {
        Ok(loaded) => loaded,
        Err(decision) => return Ok(*decision),
    };
    let mut context;
    let mut decision = if loaded.is_empty() {
        context = facts.context(&loaded, &Teams::default()).await?;
        engine::not_configured(change, &context, at)
    } else {
        let codeowners = match loaded.anchor().filter(|_| loaded.uses_codeowners()) {
            Some(anchor) => {
                read_codeowners(facts.codeowners().await?.as_ref(), change.forge, anchor)
            }
            None => Default::default(),
        };
        let teams = loaded.teams(&codeowners, change);
        context = facts.context(&loaded, &teams).await?;
        context.codeowners = codeowners;
        let mut decision =
            decide_with(&loaded, change, &mut context, || facts.admins(), at).await?;
        if !i.dismisses {
            not_dismissed(&loaded, &mut decision);
        }
        decision
    };
    review_proposals(facts, &i, &loaded, &mut decision).await?;
    let blocks = matches!(
        decision.conclusion,
        engine::Conclusion::Failure | engine::Conclusion::ActionRequired
    );
    if blocks && loaded.allows_overrides() {
        let overrides = facts.overrides().await?;
        engine::apply_overrides(
            &mut decision,
            loaded.policies(),
            change,
            &context,
            at,
            &overrides,
        );
    }
    Ok(decision)
}

/// Decides `change` under `loaded` with `context`; the admins cost a
/// request, so they are read (`admins`) only for a decision that needs
/// them, and the change decided again with them (deciding is cheap).
async fn decide_with<F>(
    loaded: &Applicable,
    change: &Change,
    context: &mut Context,
    admins: impl FnOnce() -> F,
    at: DateTime<Utc>,
) -> anyhow::Result<Decision>
where
    F: Future<Output = anyhow::Result<Vec<Login>>>,
{
    let decide = |context: &Context| engine::decide_under(loaded.policies(), change, context, at);
    let decision = decide(context);
    if !loaded.admins_needed(&decision) {
        return Ok(decision);
    }
    context.repository_admins = admins().await?;
    Ok(decide(context))
}

/// On a forge that cannot withdraw another account's approval, a policy
/// asking to dismiss agents' approvals gets them ignored instead, and the
/// decision says so where one was ignored.
fn not_dismissed(loaded: &Applicable, decision: &mut Decision) {
    decision.dismissals.clear();
    let ignored = decision
        .violations
        .iter()
        .any(|v| v.kind == engine::ViolationKind::AgentApprovalIgnored);
    if ignored && loaded.dismisses() {
        decision.notes.push(NOT_DISMISSED.to_owned());
    }
}

/// A change that edits a policy file: the file it proposes, read at its
/// head, validated and compared with the policy in force (see
/// [`engine::review_proposal`]): the repository's policy, and, in the
/// organisation's repository, the organisation policy.
async fn review_proposals<F: Facts>(
    facts: &F,
    i: &Inputs<'_>,
    loaded: &Applicable,
    decision: &mut Decision,
) -> anyhow::Result<()> {
    let change = i.change;
    let touches = |paths: &[&str]| change.touched_paths().any(|p| paths.contains(&p.as_str()));
    let own = change.forge.policy_paths();
    let org = loaded.org.as_ref().map(|o| &o.loaded.policy);
    if touches(own) {
        // The file the forge would read once merged: the first
        // candidate at the head. None there: the policy is removed,
        // which its diff against the base's shows as nothing to read.
        if let Some(file) = facts.head_file(own).await? {
            let in_force = loaded.repo.as_ref().map(|l| &l.policy);
            review(decision, Origin::Repository, &file, org, in_force);
        }
    }
    let org_file = [ORG_POLICY_FILE];
    if i.org_repository && touches(&org_file) {
        if let Some(file) = facts.head_file(&org_file).await? {
            review(decision, Origin::Organisation, &file, None, org);
        }
    }
    Ok(())
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
    let loaded = policies::load_file(file, org);
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
