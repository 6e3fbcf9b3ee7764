//! Overrides (break-glass), applied to a decision already made: an
//! override comment on the decision's head commit counts when its author
//! is a human in the relevant policy's `overrides.approvers` and none of
//! the change's author, its requesters or its contributors; it then lifts
//! what its policy may lift. An organisation's override approvers lift
//! the whole decision; a repository's only the repository policy's own
//! part (never the organisation's floor). Nothing lifts rule 4's "an agent
//! changed the policy file", nor a proposed policy that does not load (it
//! would fail every check once merged, overrides included).
//!
//! Every override given on the head is recorded in the decision, counted
//! or not and why, so that the check's summary, the audit trail and a
//! replay of the decision all see the same thing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::identify::{Identification, identify, is_agent_account};
use super::approvals::is_approver;
use super::codeowners::Owners;
use super::combine::Policies;
use super::{Draft, title, touched_paths};
use crate::engine::{
    Account, Change, Conclusion, Context, Decision, Origin, Violation, ViolationKind,
};
use crate::ids::{CommitSha, Login, Principal};
use crate::policy::{Approver, Mode, Policy, Registry};

/// An override comment as the engine receives it, read at the forge's
/// edge and stored by the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// The comment's (GitLab: the note's) id on the forge.
    pub comment_id: u64,
    /// Who wrote it.
    pub by: Account,
    pub reason: String,
    /// The change's head commit when the comment was made: it holds for
    /// that commit only.
    pub head_sha: CommitSha,
    pub at: DateTime<Utc>,
}

/// An override given on the decision's head, as the decision records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideUse {
    pub comment_id: u64,
    pub by: Login,
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Why it did not count; absent when it counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<OverrideRefusal>,
    /// The policies whose `overrides.approvers` name its author.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<Origin>,
    /// What it lifted: failing rules and unmet requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifted: Vec<Lifted>,
}

/// Why an override did not count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverrideRefusal {
    Agent,
    ChangeAuthor,
    Requester,
    Contributor,
    NotAnApprover,
}

impl OverrideRefusal {
    pub fn describe(self) -> &'static str {
        match self {
            OverrideRefusal::Agent => "agents and bots never override a check",
            OverrideRefusal::ChangeAuthor => "the author of the change cannot override its check",
            OverrideRefusal::Requester => "the human who asked the agent cannot override its check",
            OverrideRefusal::Contributor => "contributors to the change cannot override its check",
            OverrideRefusal::NotAnApprover => {
                "not one of the override approvers (`overrides.approvers`) of the policy that blocks"
            }
        }
    }
}

/// Something an override lifted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifted {
    /// `violation` or `requirement`.
    pub kind: String,
    /// The requirement's id, or the violation's kind.
    pub id: String,
    #[serde(default, skip_serializing_if = "Origin::is_repository")]
    pub from: Origin,
    /// In words: the violation's message, the requirement's label.
    pub what: String,
}

/// Applies the overrides given on the decision's head to a decision that
/// blocks (`failure` or `action_required`); any other is left as it is.
pub fn apply_overrides(
    decision: &mut Decision,
    policies: Policies,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
    requests: &[OverrideRequest],
) {
    let on_head: Vec<&OverrideRequest> = requests
        .iter()
        .filter(|r| r.head_sha.matches(&decision.head_sha))
        .collect();
    if on_head.is_empty() || !blocks(decision.conclusion) {
        return;
    }
    let empty: &[crate::policy::Agent] = &[];
    let org = policies.org.map(|o| &o.loaded.policy);
    let repo = policies.repo.map(|r| &r.policy);
    let registry = Registry::of(
        repo.map_or(empty, |p| p.agents.as_slice()),
        org.map_or(empty, |p| p.agents.as_slice()),
    );
    let ident = identify(registry, change, context, at);
    let judge = Judge {
        change,
        context,
        registry,
        ident: &ident,
    };
    let mut uses: Vec<OverrideUse> = on_head
        .iter()
        .map(|r| judge.judge(r, [(Origin::Organisation, org), (Origin::Repository, repo)]))
        .collect();
    let remaining = lift(decision, &mut uses);
    conclude(decision, &uses, remaining);
    decision.overrides = uses;
}

fn blocks(c: Conclusion) -> bool {
    matches!(c, Conclusion::Failure | Conclusion::ActionRequired)
}

struct Judge<'a> {
    change: &'a Change,
    context: &'a Context,
    registry: Registry<'a>,
    ident: &'a Identification,
}

impl Judge<'_> {
    /// Whether the override counts, and for which policies.
    fn judge(&self, r: &OverrideRequest, policies: [(Origin, Option<&Policy>); 2]) -> OverrideUse {
        let mut judged = OverrideUse {
            comment_id: r.comment_id,
            by: r.by.login.clone(),
            reason: r.reason.clone(),
            at: r.at,
            refused: None,
            scope: Vec::new(),
            lifted: Vec::new(),
        };
        judged.refused = self.refusal(&r.by);
        if judged.refused.is_none() {
            judged.scope = (policies.iter())
                .filter(|(_, p)| p.is_some_and(|p| self.may_override(p, &r.by)))
                .map(|(from, _)| *from)
                .collect();
            if judged.scope.is_empty() {
                judged.refused = Some(OverrideRefusal::NotAnApprover);
            }
        }
        judged
    }

    /// Segregation of duties, in an emergency too: whatever the policy's
    /// `approvals` exclusions say.
    fn refusal(&self, by: &Account) -> Option<OverrideRefusal> {
        let login = &by.login;
        if is_agent_account(self.registry, by, self.context) {
            Some(OverrideRefusal::Agent)
        } else if (self.change.author.as_ref()).is_some_and(|a| a.login.same_as(login)) {
            Some(OverrideRefusal::ChangeAuthor)
        } else if self.ident.requesters.iter().any(|r| r.is(login)) {
            Some(OverrideRefusal::Requester)
        } else if self.ident.contributors.iter().any(|c| c.is(login)) {
            Some(OverrideRefusal::Contributor)
        } else {
            None
        }
    }

    /// Whether `policy`'s override approvers name `by`: a listed login, a
    /// member of a listed team, or with `codeowners` a code owner of every
    /// path the change touches.
    fn may_override(&self, policy: &Policy, by: &Account) -> bool {
        let listed: Vec<Principal> = (policy.overrides.approvers.iter())
            .filter_map(|a| match a {
                Approver::Principal(p) => Some(p.clone()),
                Approver::Owner | Approver::CodeOwners => None,
            })
            .collect();
        if is_approver(&listed, by, self.context) {
            return true;
        }
        let codeowners = policy.overrides.approvers.contains(&Approver::CodeOwners);
        let paths = touched_paths(self.change);
        codeowners
            && !paths.is_empty()
            && paths.iter().all(|path| {
                Owners::of(&self.context.codeowners, std::slice::from_ref(path))
                    .include(by, self.context)
            })
    }
}

/// Lifts what each counted override may lift, crediting the first one
/// given that covers each item; returns what still blocks the check.
fn lift(decision: &Decision, uses: &mut [OverrideUse]) -> Draft {
    let enforced = |from: Origin| enforced(decision, from);
    let mut remaining = Draft::default();
    let mut credit = |from: Origin, liftable: bool, lifted: Lifted| {
        let by = (uses.iter_mut())
            .filter(|u| u.refused.is_none())
            .find(|u| liftable && covers(&u.scope, from));
        match by {
            Some(by) => {
                by.lifted.push(lifted);
                true
            }
            None => false,
        }
    };
    for v in decision.violations.iter().filter(|v| v.blocking) {
        if !enforced(v.from) {
            continue;
        }
        let lifted = Lifted {
            kind: "violation".to_owned(),
            id: serde_json::to_value(v.kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_default(),
            from: v.from,
            what: v.message.clone(),
        };
        if !credit(v.from, liftable(v), lifted) {
            remaining.violations.push(v.clone());
        }
    }
    for r in decision.requirements.iter().filter(|r| !r.satisfied) {
        if !enforced(r.from) {
            continue;
        }
        let lifted = Lifted {
            kind: "requirement".to_owned(),
            id: r.id.clone(),
            from: r.from,
            what: r.label.clone(),
        };
        if !credit(r.from, true, lifted) {
            remaining.requirements.push(r.clone());
        }
    }
    remaining
}

/// Nothing lifts an agent's change to its own governance, nor a proposed
/// policy that does not load.
fn liftable(v: &Violation) -> bool {
    !matches!(
        v.kind,
        ViolationKind::PolicyFileChangedByAgent | ViolationKind::ProposedPolicyInvalid
    )
}

/// The organisation's override approvers lift both policies' parts; the
/// repository's only its own.
fn covers(scope: &[Origin], from: Origin) -> bool {
    scope.contains(&Origin::Organisation) || scope.contains(&from)
}

/// Whether the policy `from` decides the check (enforce mode).
fn enforced(decision: &Decision, from: Origin) -> bool {
    match decision.applied.iter().find(|a| a.from == from) {
        Some(applied) => applied.mode == Mode::Enforce,
        None => decision.mode == Some(Mode::Enforce),
    }
}

/// The check after the overrides: `success` titled after the override when
/// nothing blocks any more; otherwise what still blocks, saying that the
/// override does not lift it. Each override is noted in the summary.
fn conclude(decision: &mut Decision, uses: &[OverrideUse], remaining: Draft) {
    for u in uses {
        decision.notes.push(note(u));
    }
    let Some(credited) = uses.iter().rev().find(|u| !u.lifted.is_empty()) else {
        return;
    };
    let blocked = if !remaining.violations.is_empty() {
        Some(Conclusion::Failure)
    } else if !remaining.requirements.is_empty() {
        Some(Conclusion::ActionRequired)
    } else {
        None
    };
    match blocked {
        None => {
            decision.conclusion = Conclusion::Success;
            decision.title = overridden_title(&credited.by, &credited.reason);
        }
        Some(conclusion) => {
            let rest = title::title(conclusion, &Identification::default(), &remaining);
            decision.conclusion = conclusion;
            decision.title = format!("{rest} (the override by @{} cannot lift this)", credited.by);
        }
    }
}

/// `Overridden by @login: reason`, the check's title.
pub fn overridden_title(by: &Login, reason: &str) -> String {
    format!("Overridden by @{by}: {reason}")
}

fn note(u: &OverrideUse) -> String {
    let head = format!("Override by @{} (\"{}\")", u.by, u.reason);
    match u.refused {
        Some(why) => format!("{head} did not count: {}.", why.describe()),
        None if u.lifted.is_empty() => format!("{head} counted, and had nothing it may lift."),
        None => {
            let lifted: Vec<String> = (u.lifted.iter())
                .map(|l| match l.kind.as_str() {
                    "requirement" => format!("approval for {}", l.what),
                    _ => l.what.clone(),
                })
                .collect();
            format!("{head} lifted: {}.", lifted.join("; "))
        }
    }
}
