//! The rules of the policy language ("Deciding"), applied in order.
//!
//! Each rule adds requirements (approvals a change needs) or violations
//! (what the policy forbids or records); rule 6 then counts approvals
//! against every requirement, and the conclusion follows from what is left.

mod approvals;
mod codeowners;
mod combine;
mod overrides;
mod proposed;
mod scope;
mod title;
mod unapplied;

pub use combine::{Policies, decide_under};
pub use overrides::{
    Lifted, OverrideRefusal, OverrideRequest, OverrideUse, apply_overrides, overridden_title,
};
pub use proposed::{Proposal, review_proposal};
pub use unapplied::{invalid_org_policy, invalid_policy, not_configured};

use chrono::{DateTime, Utc};

use crate::ids::{Principal, RepoPath};
use crate::policy::{
    Approver, LoadedPolicy, Mode, PathCandidate, Policy, Registry, UnregisteredAction,
};

use super::identify::{Identification, identify};
use super::{
    AgentFinding, Change, Conclusion, Decision, Evaluation, Origin, PolicySource, Registration,
    Requirement, Violation, ViolationKind,
};

/// Decides a change under a valid repository policy, alone.
pub fn decide(evaluation: &Evaluation) -> Decision {
    let loaded = evaluation.policy;
    let registry = Registry::from(&loaded.policy);
    let ident = identify(
        registry,
        evaluation.change,
        evaluation.context,
        evaluation.at,
    );
    let part = apply(evaluation, registry, &ident, Origin::Repository, None);
    alone(part, evaluation, ident, source(loaded, None))
}

/// One policy's rules applied to a change, before the check's conclusion.
struct Part {
    from: Origin,
    mode: Mode,
    /// What this policy alone concludes (rule 8).
    would: Conclusion,
    draft: Draft,
    dismissals: Vec<super::Dismissal>,
    /// Whether the policy names `codeowners` anywhere.
    codeowners: bool,
}

impl Part {
    /// What it contributes to the check (rule 9): observe mode, `neutral`.
    fn contributes(&self) -> Conclusion {
        match self.mode {
            Mode::Enforce => self.would,
            Mode::Observe => Conclusion::Neutral,
        }
    }
}

/// Rules 2 to 8 of one policy. `also_governed` is a policy file it
/// governs besides the repository's own (the organisation's file, in the
/// organisation's repository).
fn apply(
    evaluation: &Evaluation,
    registry: Registry,
    ident: &Identification,
    from: Origin,
    also_governed: Option<&RepoPath>,
) -> Part {
    let Evaluation {
        policy: loaded,
        change,
        context,
        at,
    } = *evaluation;
    let policy = &loaded.policy;
    let paths = touched_paths(change);
    let candidates: Vec<PathCandidate> = paths.iter().map(PathCandidate::new).collect();
    let touched: Vec<Touched> = paths.iter().zip(candidates).collect();
    let mut draft = Draft {
        from,
        ..Draft::default()
    };

    // Rule 2: each registered agent's scope, under this policy's role for
    // it. Rule 0 (lapsed registrations) is applied by identification,
    // which marks them `Lapsed`.
    for finding in registered(ident) {
        if let Some(agent) = policy.agents.iter().find(|a| a.id.as_str() == finding.id) {
            scope::check(agent, policy, change, &touched, at, &mut draft);
        }
    }
    let any_agent = !ident.agents.is_empty();
    // Rule 3: sensitive areas, in a change that involves any agent.
    if any_agent {
        sensitive_areas(policy, registry, ident, &touched, &mut draft);
    }
    // Rule 4: the policy file.
    policy_file(policy, change, also_governed, &paths, any_agent, &mut draft);
    // Rule 5: unregistered agents, lapsed registrations included.
    unregistered(policy, context, ident, &mut draft);
    // A CODEOWNERS file the policy relies on must parse.
    if policy.uses_codeowners() {
        codeowners::check_file(&context.codeowners, &mut draft);
    }
    // Rules 6 and 7: approvals.
    let dismissals = approvals::count(evaluation, registry, ident, &paths, &mut draft);

    // Rule 8.
    let would = if draft.violations.iter().any(|v| v.blocking) {
        Conclusion::Failure
    } else if draft.requirements.iter().any(|r| !r.satisfied) {
        Conclusion::ActionRequired
    } else {
        Conclusion::Success
    };
    Part {
        from,
        mode: policy.mode,
        would,
        draft,
        dismissals,
        codeowners: policy.uses_codeowners(),
    }
}

/// The decision of one policy alone (rule 9 applied).
fn alone(
    part: Part,
    evaluation: &Evaluation,
    ident: Identification,
    source: PolicySource,
) -> Decision {
    let rule_title = title::title(part.would, &ident, &part.draft);
    let (conclusion, title, dismissals) = match part.mode {
        Mode::Enforce => (part.would, rule_title, part.dismissals),
        Mode::Observe => (
            Conclusion::Neutral,
            title::observe(part.would, &rule_title),
            Vec::new(),
        ),
    };
    let (policy, org_policy, applied) = match part.from {
        Origin::Repository => (Some(source), None, Vec::new()),
        Origin::Organisation => (
            None,
            Some(source),
            vec![super::Applied {
                from: part.from,
                mode: part.mode,
                would_conclude: part.would,
            }],
        ),
    };
    let context = evaluation.context;
    Decision {
        conclusion,
        would_conclude: part.would,
        title,
        mode: Some(part.mode),
        policy,
        org_policy,
        applied,
        codeowners: part
            .codeowners
            .then(|| codeowners_source(context))
            .flatten(),
        agents: ident.agents,
        requesters: ident.requesters.iter().map(|r| r.display()).collect(),
        requirements: part.draft.requirements,
        violations: part.draft.violations,
        elevations: part.draft.elevations,
        dismissals,
        notes: part.draft.notes,
        ..skeleton(evaluation.change, evaluation.at)
    }
}

fn codeowners_source(context: &super::Context) -> Option<PolicySource> {
    context
        .codeowners
        .source()
        .map(|(path, blob_id)| PolicySource {
            repository: None,
            path: path.clone(),
            blob_id: blob_id.to_owned(),
        })
}

/// What the rules build up before the conclusion.
#[derive(Default)]
struct Draft {
    /// The policy whose rules fill it.
    from: Origin,
    requirements: Vec<Requirement>,
    /// Who may approve each requirement, in the same order.
    approvers: Vec<Approvers>,
    violations: Vec<Violation>,
    elevations: Vec<super::ElevationUse>,
    notes: Vec<String>,
}

impl Draft {
    fn require(
        &mut self,
        id: String,
        label: String,
        paths: Vec<RepoPath>,
        approvers: Approvers,
        min: u32,
    ) {
        self.requirements.push(Requirement {
            id,
            from: self.from,
            label,
            paths,
            approvers: approvers.names(),
            min_approvals: min,
            approved_by: Vec::new(),
            not_counted: Vec::new(),
            satisfied: false,
            owned_paths: Vec::new(),
            unowned: Vec::new(),
        });
        self.approvers.push(approvers);
    }

    fn violate(
        &mut self,
        kind: ViolationKind,
        agent: Option<&str>,
        message: String,
        paths: Vec<RepoPath>,
        blocking: bool,
    ) {
        self.violations.push(Violation {
            kind,
            from: self.from,
            line: None,
            agent: agent.map(str::to_owned),
            message,
            paths,
            blocking,
        });
    }
}

fn skeleton(change: &Change, at: DateTime<Utc>) -> Decision {
    Decision {
        conclusion: Conclusion::Neutral,
        would_conclude: Conclusion::Neutral,
        title: String::new(),
        mode: None,
        evaluated_at: at,
        forge: change.forge,
        repository: change.repository.clone(),
        number: change.number,
        head_sha: change.head_sha.clone(),
        base_sha: change.base_sha.clone(),
        policy: None,
        org_policy: None,
        applied: Vec::new(),
        codeowners: None,
        policy_errors: Vec::new(),
        agents: Vec::new(),
        requesters: Vec::new(),
        requirements: Vec::new(),
        violations: Vec::new(),
        elevations: Vec::new(),
        dismissals: Vec::new(),
        notes: Vec::new(),
        proposed: Vec::new(),
        overrides: Vec::new(),
    }
}

/// Where an organisation policy was read, as a decision names it.
pub fn org_source(org: &crate::policy::OrgPolicy) -> PolicySource {
    source(&org.loaded, org.repository.as_deref())
}

fn source(loaded: &LoadedPolicy, repository: Option<&str>) -> PolicySource {
    PolicySource {
        repository: repository.map(str::to_owned),
        path: loaded.path.clone(),
        blob_id: loaded.blob_id.clone(),
    }
}

/// A touched path, prepared once for the many glob lists it meets.
type Touched<'a> = (&'a RepoPath, PathCandidate<'a>);

/// Touched paths in change order, each once.
fn touched_paths(change: &Change) -> Vec<RepoPath> {
    let mut seen = std::collections::HashSet::new();
    change
        .touched_paths()
        .filter(|p| seen.insert(*p))
        .cloned()
        .collect()
}

fn registered(ident: &Identification) -> impl Iterator<Item = &AgentFinding> {
    ident
        .agents
        .iter()
        .filter(|a| a.status == Registration::Registered)
}

fn unregistered_findings(ident: &Identification) -> impl Iterator<Item = &AgentFinding> {
    ident
        .agents
        .iter()
        .filter(|a| a.status != Registration::Registered)
}

/// Who may approve a requirement: the people and teams listed (`owner`
/// resolved), and whether the code owners of its paths may too.
#[derive(Clone, Debug, Default)]
struct Approvers {
    listed: Vec<Principal>,
    /// The list names `codeowners`.
    codeowners: bool,
}

impl Approvers {
    fn listed(listed: Vec<Principal>) -> Approvers {
        Approvers {
            listed,
            codeowners: false,
        }
    }

    /// As the requirement shows them: `codeowners` stays a word.
    fn names(&self) -> Vec<String> {
        let listed = self.listed.iter().map(ToString::to_string);
        let word = self.codeowners.then(|| Approver::CodeOwners.to_string());
        listed.chain(word).collect()
    }
}

/// Resolves an approvers list for display and matching: `owner` becomes
/// the owners of the registered agents involved; `codeowners` is resolved
/// per path when approvals are counted.
fn resolve_approvers(
    approvers: &[Approver],
    registry: Registry,
    ident: &Identification,
) -> Approvers {
    let mut out = Approvers::default();
    for approver in approvers {
        match approver {
            Approver::Principal(p) => out.listed.push(p.clone()),
            Approver::Owner => out.listed.extend(
                registered(ident)
                    .filter_map(|f| registry.agent(&f.id))
                    .map(|a| a.owner.clone()),
            ),
            Approver::CodeOwners => out.codeowners = true,
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.listed.retain(|p| seen.insert(p.clone()));
    out
}

fn sensitive_areas(
    policy: &Policy,
    registry: Registry,
    ident: &Identification,
    touched: &[Touched],
    draft: &mut Draft,
) {
    let mut hits: Vec<Vec<RepoPath>> = vec![Vec::new(); policy.sensitive.len()];
    let mut scratch = Vec::new();
    for (path, candidate) in touched {
        for area in policy
            .sensitive_index
            .lists_matching(candidate, &mut scratch)
        {
            hits[area].push((*path).clone());
        }
    }
    for (area, hit) in policy.sensitive.iter().zip(hits) {
        if hit.is_empty() {
            continue;
        }
        let approvers = resolve_approvers(&area.approvers, registry, ident);
        draft.require(
            format!("sensitive:{}", area.name),
            area.name.clone(),
            hit,
            approvers,
            area.min_approvals,
        );
    }
}

fn policy_file(
    policy: &Policy,
    change: &Change,
    also_governed: Option<&RepoPath>,
    paths: &[RepoPath],
    any_agent: bool,
    draft: &mut Draft,
) {
    let candidates = change.forge.policy_paths();
    let hit: Vec<RepoPath> = paths
        .iter()
        .filter(|p| candidates.contains(&p.as_str()) || also_governed == Some(*p))
        .cloned()
        .collect();
    if hit.is_empty() {
        return;
    }
    if any_agent {
        draft.violate(
            ViolationKind::PolicyFileChangedByAgent,
            None,
            "an agent took part in a change to the policy file: agents never edit their own governance".into(),
            hit,
            true,
        );
    } else if policy.policy_file.approvers.is_empty() {
        draft.notes.push(
            "The policy file changed; it is audited (no `policy_file.approvers` set).".into(),
        );
    } else {
        let approvers = resolve_approvers(
            &policy.policy_file.approvers,
            Registry::from(policy),
            &Identification::default(),
        );
        draft.require(
            "policy-file".into(),
            "the policy file".into(),
            hit,
            approvers,
            1,
        );
    }
}

fn unregistered(
    policy: &Policy,
    context: &super::Context,
    ident: &Identification,
    draft: &mut Draft,
) {
    let found: Vec<&AgentFinding> = unregistered_findings(ident).collect();
    if found.is_empty() {
        return;
    }
    for finding in &found {
        if let Registration::Lapsed { expired_at } = finding.status {
            draft.violate(
                ViolationKind::LapsedRegistration,
                Some(&finding.id),
                format!(
                    "registration of `{}` expired on {}; its activity counts as an unregistered agent",
                    finding.id,
                    expired_at.format("%Y-%m-%d %H:%M UTC")
                ),
                Vec::new(),
                false,
            );
        }
    }
    let action = policy.unregistered_agents.action;
    let list = found
        .iter()
        .map(|f| format!("`{}`", f.id))
        .collect::<Vec<_>>()
        .join(", ");
    match action {
        UnregisteredAction::Allow => {}
        UnregisteredAction::Warn => draft.notes.push(format!(
            "Unregistered agent activity ({list}) is allowed with a warning: register these agents in the policy."
        )),
        UnregisteredAction::Escalate => {
            let approvers = unregistered_approvers(policy, context);
            draft.require(
                "unregistered-agents".into(),
                "unregistered agents".into(),
                Vec::new(),
                approvers,
                1,
            );
        }
        UnregisteredAction::Block => {}
    }
    if action != UnregisteredAction::Allow {
        for finding in found {
            draft.violate(
                ViolationKind::UnregisteredAgent,
                Some(&finding.id),
                format!(
                    "unregistered agent `{}` took part in this change",
                    finding.id
                ),
                Vec::new(),
                action == UnregisteredAction::Block,
            );
        }
    }
}

/// `unregistered_agents.approvers`, else `policy_file.approvers`, else the
/// repository's admins.
fn unregistered_approvers(policy: &Policy, context: &super::Context) -> Approvers {
    let listed = if !policy.unregistered_agents.approvers.is_empty() {
        &policy.unregistered_agents.approvers
    } else {
        &policy.policy_file.approvers
    };
    if listed.is_empty() {
        Approvers::listed(
            context
                .repository_admins
                .iter()
                .cloned()
                .map(Principal::User)
                .collect(),
        )
    } else {
        resolve_approvers(listed, Registry::from(policy), &Identification::default())
    }
}

#[cfg(test)]
mod tests;
