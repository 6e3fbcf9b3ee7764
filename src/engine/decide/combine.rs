//! Deciding under an organisation policy ("Organisation policy" in
//! POLICY.md): one registry of agents; each policy decided on the change
//! with its own roles, sensitive areas, rules and mode; the stricter
//! conclusion wins; every requirement of both must be met, and one that
//! both raise alike is asked once.

use chrono::{DateTime, Utc};

use super::super::identify::{Identification, identify};
use super::{
    Part, alone, apply, codeowners_source, not_configured, org_source, skeleton, source, title,
};
use crate::engine::{
    Applied, Change, Conclusion, Context, Decision, Dismissal, Evaluation, Origin, Requirement,
};
use crate::policy::{LoadedPolicy, Mode, OrgPolicy, Registry};

/// The valid policies that apply to a change: its organisation's and its
/// repository's, either of which may be absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policies<'a> {
    pub org: Option<&'a OrgPolicy>,
    pub repo: Option<&'a LoadedPolicy>,
}

/// Decides a change under the policies that apply: neither (visibility
/// only, `neutral`), one of them alone, or both combined.
pub fn decide_under(
    policies: Policies,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Decision {
    let evaluation = |policy| Evaluation {
        policy,
        change,
        context,
        at,
    };
    match (policies.org, policies.repo) {
        (None, None) => not_configured(change, context, at),
        (None, Some(repo)) => super::decide(&evaluation(repo)),
        (Some(org), None) => {
            let registry = Registry::of(&[], &org.loaded.policy.agents);
            let mut ident = identify(registry, change, context, at);
            registered_by(&mut ident, registry);
            let one = evaluation(&org.loaded);
            let part = apply(
                &one,
                registry,
                &ident,
                Origin::Organisation,
                governed_by_org(org, change),
            );
            let source = org_source(org);
            alone(part, &one, ident, source)
        }
        (Some(org), Some(repo)) => {
            let registry = Registry::of(&repo.policy.agents, &org.loaded.policy.agents);
            let mut ident = identify(registry, change, context, at);
            registered_by(&mut ident, registry);
            let theirs = apply(
                &evaluation(&org.loaded),
                registry,
                &ident,
                Origin::Organisation,
                governed_by_org(org, change),
            );
            let ours = apply(
                &evaluation(repo),
                registry,
                &ident,
                Origin::Repository,
                None,
            );
            let mut decision = both(theirs, ours, ident, change, context, at);
            decision.policy = Some(source(repo, None));
            decision.org_policy = Some(org_source(org));
            decision
        }
    }
}

/// Says which policy registered each agent found: the organisation's, for
/// an agent a repository only gives a role.
fn registered_by(ident: &mut Identification, registry: Registry) {
    for finding in &mut ident.agents {
        if finding.role.is_some() {
            finding.registered_by = Some(if registry.is_organisations(&finding.id) {
                Origin::Organisation
            } else {
                Origin::Repository
            });
        }
    }
}

/// Rule 6 of the organisation policy: in the organisation's own
/// repository, its file is governed like any policy file, by the
/// organisation policy's `policy_file`.
fn governed_by_org<'a>(org: &'a OrgPolicy, change: &Change) -> Option<&'a crate::ids::RepoPath> {
    org.repository
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case(&change.repository))
        .then_some(&org.loaded.path)
}

/// The stricter of two conclusions: failure, then action required, then
/// success, then neutral.
fn stricter(a: Conclusion, b: Conclusion) -> Conclusion {
    if b.strictness() > a.strictness() {
        b
    } else {
        a
    }
}

fn both(
    theirs: Part,
    ours: Part,
    ident: Identification,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Decision {
    let conclusion = stricter(theirs.contributes(), ours.contributes());
    let would_conclude = stricter(theirs.would, ours.would);
    let applied = [&theirs, &ours]
        .map(|p| Applied {
            from: p.from,
            mode: p.mode,
            would_conclude: p.would,
        })
        .to_vec();
    let enforced = |p: &Part| p.mode == Mode::Enforce;
    let mode = if enforced(&theirs) || enforced(&ours) {
        Mode::Enforce
    } else {
        Mode::Observe
    };
    let codeowners = (theirs.codeowners || ours.codeowners)
        .then(|| codeowners_source(context))
        .flatten();
    let mut dismissals: Vec<Dismissal> = Vec::new();
    for part in [&theirs, &ours].into_iter().filter(|p| enforced(p)) {
        for d in &part.dismissals {
            if !dismissals.iter().any(|k| k.review_id == d.review_id) {
                dismissals.push(d.clone());
            }
        }
    }
    let mut requirements = theirs.draft.requirements.clone();
    for mine in ours.draft.requirements.iter().cloned() {
        ask_once(&mut requirements, mine);
    }
    let mut violations = theirs.draft.violations.clone();
    for v in ours.draft.violations.iter().cloned() {
        let same = |k: &crate::engine::Violation| {
            k.kind == v.kind
                && k.agent == v.agent
                && k.message == v.message
                && k.paths == v.paths
                && k.blocking == v.blocking
        };
        if !violations.iter().any(same) {
            violations.push(v);
        }
    }
    let merged = super::Draft {
        requirements,
        violations,
        ..super::Draft::default()
    };
    let title = combined_title(&theirs, &ours, conclusion, &merged, &ident);
    let super::Draft {
        requirements,
        violations,
        ..
    } = merged;
    let mut notes = theirs.draft.notes;
    for note in ours.draft.notes {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    let mut elevations = theirs.draft.elevations;
    elevations.extend(ours.draft.elevations);
    Decision {
        conclusion,
        would_conclude,
        title,
        mode: Some(mode),
        applied,
        codeowners,
        agents: ident.agents,
        requesters: ident.requesters.iter().map(|r| r.display()).collect(),
        requirements,
        violations,
        elevations,
        dismissals,
        notes,
        ..skeleton(change, at)
    }
}

/// Adds the repository's requirement `mine`, unless the organisation
/// raised the same one (same id, approvers and count): then it is asked
/// once, for the paths of both, and met only when both policies' rules
/// count it met.
fn ask_once(requirements: &mut Vec<Requirement>, mine: Requirement) {
    let same = requirements.iter_mut().find(|r| {
        r.id == mine.id && r.approvers == mine.approvers && r.min_approvals == mine.min_approvals
    });
    let Some(theirs) = same else {
        requirements.push(mine);
        return;
    };
    for path in mine.paths {
        if !theirs.paths.contains(&path) {
            theirs.paths.push(path);
        }
    }
    if !mine.satisfied {
        theirs.satisfied = false;
        for refused in mine.not_counted {
            if !theirs.not_counted.contains(&refused) {
                theirs.not_counted.push(refused);
            }
        }
        theirs
            .approved_by
            .retain(|login| mine.approved_by.contains(login));
    }
}

/// The title of what the check concludes, from the parts that decided
/// it (`merged`: both parts' requirements and violations, each once); a
/// policy in observe mode that would have concluded more strictly is
/// named after it.
fn combined_title(
    theirs: &Part,
    ours: &Part,
    conclusion: Conclusion,
    merged: &super::Draft,
    ident: &Identification,
) -> String {
    let observed: Vec<&Part> = [theirs, ours]
        .into_iter()
        .filter(|p| p.mode == Mode::Observe)
        .collect();
    let mut title = match observed.as_slice() {
        [] => title::title(conclusion, ident, merged),
        [one] => {
            let enforced = if one.from == theirs.from {
                ours
            } else {
                theirs
            };
            title::title(conclusion, ident, &enforced.draft)
        }
        _ => {
            // Both observe: what enforcing them would show.
            let would = stricter(theirs.would, ours.would);
            return title::observe(would, &title::title(would, ident, merged));
        }
    };
    for part in observed {
        if part.would.strictness() > conclusion.strictness() {
            let would = title::observe(part.would, &title::title(part.would, ident, &part.draft));
            title.push_str(&format!(
                " (the {} policy, in observe mode, {})",
                part.from.as_str(),
                would.trim_start_matches("Observe mode: ")
            ));
        }
    }
    title
}
