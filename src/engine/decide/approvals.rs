//! Rules 6 and 7: which approvals count, for which requirement.

use std::collections::BTreeMap;

use crate::ids::{Principal, RepoPath};
use crate::policy::{AgentReviews, Policy, Registry};

use super::super::identify::{Identification, is_agent_account};
use super::{Draft, codeowners};
use crate::engine::{
    Account, Change, Context, Dismissal, Evaluation, RefusalReason, RefusedApproval, Review,
    ReviewState, ViolationKind,
};

/// Why agent approvals are dismissed, as the forge shows it to people.
pub(crate) const DISMISSAL_MESSAGE: &str = "Dismissed by Warrant: approvals by agents and bots never count \
     (this repository's policy sets `approvals.agent_reviews: dismiss`). A human approver must review.";

/// One reviewer's standing approval, or why they have none that counts.
pub(super) struct Standing<'a> {
    pub(super) review: &'a Review,
    /// `None`: eligible, if the reviewer is one of a requirement's approvers.
    pub(super) refusal: Option<RefusalReason>,
}

/// Counts approvals against every requirement in `draft`, records agent
/// approvals (rule 7), and returns the reviews to dismiss. `touched` are
/// the change's paths: what `codeowners` covers in a requirement without
/// paths of its own.
pub(super) fn count(
    evaluation: &Evaluation,
    registry: Registry,
    ident: &Identification,
    touched: &[RepoPath],
    draft: &mut Draft,
) -> Vec<Dismissal> {
    let policy = &evaluation.policy.policy;
    let context = evaluation.context;
    let standings = standings(evaluation, registry, ident);
    let mut unmeetable = Vec::new();
    for (requirement, approvers) in draft.requirements.iter_mut().zip(&draft.approvers) {
        let covered = match (approvers.codeowners, requirement.paths.is_empty()) {
            (false, _) => Vec::new(),
            (true, true) => touched.to_vec(),
            (true, false) => requirement.paths.clone(),
        };
        let owners = approvers
            .codeowners
            .then(|| codeowners::Owners::of(&context.codeowners, &covered));
        for standing in &standings {
            let reviewer = &standing.review.reviewer;
            let may_approve = is_approver(&approvers.listed, reviewer, context)
                || owners
                    .as_ref()
                    .is_some_and(|o| o.include(reviewer, context));
            let refusal = standing
                .refusal
                .or_else(|| (!may_approve).then_some(RefusalReason::NotAnApprover));
            match refusal {
                None => requirement.approved_by.push(reviewer.login.clone()),
                Some(reason) => requirement.not_counted.push(RefusedApproval {
                    reviewer: reviewer.login.clone(),
                    review_id: standing.review.id,
                    reason,
                }),
            }
        }
        let enough = requirement.approved_by.len() as u32 >= requirement.min_approvals;
        requirement.satisfied = match owners {
            None => enough,
            Some(owners) => {
                let each_path = owners.record(requirement, &approvers.listed, &standings, context);
                if !requirement.unowned.is_empty() && approvers.listed.is_empty() {
                    unmeetable.push(requirement.id.clone());
                }
                enough && each_path
            }
        };
    }
    codeowners::report(&context.codeowners, &unmeetable, draft);
    agent_approvals(
        policy,
        registry,
        evaluation.change,
        evaluation.context,
        draft,
    )
}

/// Each reviewer's latest decisive review (approval, changes requested or
/// dismissal), for reviewers who approved at some point.
fn standings<'a>(
    evaluation: &Evaluation<'a>,
    registry: Registry,
    ident: &Identification,
) -> Vec<Standing<'a>> {
    let change = evaluation.change;
    let mut by_reviewer: BTreeMap<String, Vec<&Review>> = BTreeMap::new();
    for review in &change.reviews {
        by_reviewer
            .entry(review.reviewer.login.key())
            .or_default()
            .push(review);
    }
    let mut out = Vec::new();
    for reviews in by_reviewer.values_mut() {
        // Stable: reviews submitted in the same second keep forge order.
        reviews.sort_by_key(|r| r.submitted_at);
        let ever_approved = reviews
            .iter()
            .rev()
            .find(|r| matches!(r.state, ReviewState::Approved | ReviewState::Dismissed));
        let Some(approval) = ever_approved else {
            continue;
        };
        let latest = reviews
            .iter()
            .rev()
            .find(|r| r.state != ReviewState::Commented)
            .expect("an approving or dismissed review is decisive");
        let refusal = if latest.state != ReviewState::Approved {
            Some(RefusalReason::Withdrawn)
        } else {
            refusal(evaluation, registry, ident, latest)
        };
        out.push(Standing {
            review: if refusal == Some(RefusalReason::Withdrawn) {
                approval
            } else {
                latest
            },
            refusal,
        });
    }
    out
}

/// Rule 6, for a reviewer whose latest decisive review is an approval:
/// everything but "is one of the approvers", which depends on the
/// requirement.
fn refusal(
    evaluation: &Evaluation,
    registry: Registry,
    ident: &Identification,
    review: &Review,
) -> Option<RefusalReason> {
    let Evaluation {
        policy,
        change,
        context,
        ..
    } = *evaluation;
    let rules = &policy.policy.approvals;
    let login = &review.reviewer.login;
    // An agent's approval never counts, on any commit: say so first, as
    // the reason that holds whatever else changes.
    if is_agent_account(registry, &review.reviewer, context) {
        Some(RefusalReason::Agent)
    } else if rules.stale_on_push && !review.commit_sha.matches(&change.head_sha) {
        Some(RefusalReason::Stale)
    } else if change
        .author
        .as_ref()
        .is_some_and(|a| a.login.same_as(login))
    {
        Some(RefusalReason::ChangeAuthor)
    } else if rules.exclude_requester && ident.requesters.iter().any(|r| r.is(login)) {
        Some(RefusalReason::Requester)
    } else if rules.exclude_contributors && ident.contributors.iter().any(|c| c.is(login)) {
        Some(RefusalReason::Contributor)
    } else {
        None
    }
}

pub(super) fn is_approver(approvers: &[Principal], reviewer: &Account, context: &Context) -> bool {
    approvers.iter().any(|p| match p {
        Principal::User(login) => login.same_as(&reviewer.login),
        Principal::Team(team) => context.is_member(team, &reviewer.login),
    })
}

/// Rule 7: every approving review by an agent or bot is recorded, and
/// dismissed when the policy says so.
fn agent_approvals(
    policy: &Policy,
    registry: Registry,
    change: &Change,
    context: &Context,
    draft: &mut Draft,
) -> Vec<Dismissal> {
    let mut dismissals = Vec::new();
    for review in &change.reviews {
        if review.state != ReviewState::Approved
            || !is_agent_account(registry, &review.reviewer, context)
        {
            continue;
        }
        let login = &review.reviewer.login;
        draft.violate(
            ViolationKind::AgentApprovalIgnored,
            Some(login.as_str()),
            format!("agent approval ignored: `{login}` is an agent or bot and never counts as an approver"),
            Vec::new(),
            false,
        );
        if let (AgentReviews::Dismiss, Some(id)) = (policy.approvals.agent_reviews, review.id) {
            dismissals.push(Dismissal {
                review_id: id,
                reviewer: login.clone(),
                message: DISMISSAL_MESSAGE.into(),
            });
        }
    }
    dismissals
}
