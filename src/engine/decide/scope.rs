//! Rule 2: every changed path must lie in the agent's scope.

use chrono::{DateTime, Utc};

use crate::ids::RepoPath;
use crate::policy::{Agent, Approver, OutOfScope, Policy};

use super::{Approvers, Draft, title::plural};
use crate::engine::{Change, ElevationUse, ViolationKind};

/// Checks one registered agent's scope: the role's `allow` and `deny`, the
/// elevations in force at `at`, and `max_files`.
pub(super) fn check(
    agent: &Agent,
    policy: &Policy,
    change: &Change,
    touched: &[super::Touched],
    at: DateTime<Utc>,
    draft: &mut Draft,
) {
    let role = policy.role(&agent.role);
    let windows: Vec<_> = agent
        .elevations
        .iter()
        .filter(|e| e.in_force_at(at))
        .collect();
    let mut elevated: Vec<Vec<RepoPath>> = vec![Vec::new(); windows.len()];
    let mut outside: Vec<RepoPath> = Vec::new();
    for (path, candidate) in touched {
        let path = (*path).clone();
        if role.deny.is_match_candidate(candidate) {
            outside.push(path);
        } else if role.allow.is_match_candidate(candidate) {
            continue;
        } else if let Some(i) = windows
            .iter()
            .position(|e| e.paths.is_match_candidate(candidate))
        {
            elevated[i].push(path);
        } else {
            outside.push(path);
        }
    }
    for (window, paths) in windows.iter().zip(elevated) {
        if !paths.is_empty() {
            draft.elevations.push(ElevationUse {
                agent: agent.id.to_string(),
                reason: window.reason.clone(),
                from: window.from,
                until: window.until,
                paths,
            });
        }
    }

    let id = agent.id.as_str();
    let block = role.out_of_scope == OutOfScope::Block;
    let too_many = role.max_files.filter(|max| change.files.len() > *max);
    if !outside.is_empty() {
        let n = outside.len();
        draft.violate(
            ViolationKind::OutOfScope,
            Some(id),
            format!(
                "`{id}` changed {n} {} outside its role `{}`",
                plural(n, "path", "paths"),
                role.id
            ),
            outside.clone(),
            block,
        );
    }
    if let Some(max) = too_many {
        draft.violate(
            ViolationKind::TooManyFiles,
            Some(id),
            format!(
                "`{id}` changed {} files, more than the {max} its role `{}` allows",
                change.files.len(),
                role.id
            ),
            Vec::new(),
            block,
        );
    }
    if !block && (!outside.is_empty() || too_many.is_some()) {
        let approvers = escalation_approvers(agent, role.escalate_to.as_deref());
        let label = if outside.is_empty() {
            format!("{id} changing more files than its role allows")
        } else {
            format!("{id} working outside its role")
        };
        draft.require(format!("scope:{id}"), label, outside, approvers, 1);
    }
}

/// `escalate_to`, else the agent's owner; `owner` in the list is this
/// agent's owner.
fn escalation_approvers(agent: &Agent, escalate_to: Option<&[Approver]>) -> Approvers {
    match escalate_to {
        None => Approvers::listed(vec![agent.owner.clone()]),
        Some(list) => {
            let mut out = Approvers::default();
            for approver in list {
                match approver {
                    Approver::Principal(p) => out.listed.push(p.clone()),
                    Approver::Owner => out.listed.push(agent.owner.clone()),
                    Approver::CodeOwners => out.codeowners = true,
                }
            }
            out.listed.dedup();
            out
        }
    }
}
