//! The check's one-line title: the outcome, in words a developer can act on.

use super::super::identify::Identification;
use super::Draft;
use crate::engine::{Conclusion, PolicyErrorView, Registration, Requirement, Violation};

pub(crate) fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `FILE:LINE:COL: message`.
pub(crate) fn located(e: &PolicyErrorView) -> String {
    format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message)
}

pub(super) fn title(conclusion: Conclusion, ident: &Identification, draft: &Draft) -> String {
    match conclusion {
        Conclusion::Failure => failure(draft),
        Conclusion::ActionRequired => waiting(draft),
        Conclusion::Success | Conclusion::Neutral => success(ident, draft),
    }
}

/// "Observe mode: would fail: ...": what enforcement would have shown.
pub(super) fn observe(would: Conclusion, title: &str) -> String {
    let verb = match would {
        Conclusion::Failure => "would fail",
        Conclusion::ActionRequired => "would wait for approval",
        Conclusion::Success | Conclusion::Neutral => "would pass",
    };
    format!("Observe mode: {verb}: {title}")
}

fn failure(draft: &Draft) -> String {
    let blocking: Vec<_> = draft.violations.iter().filter(|v| v.blocking).collect();
    let first = sentence(blocking[0]);
    match blocking.len() {
        1 => first,
        n => format!(
            "{first} (and {} more {})",
            n - 1,
            plural(n - 1, "problem", "problems")
        ),
    }
}

/// A violation's message as the start of a title. Titles are plain text on
/// both forges, so code spans lose their backticks; an id keeps its case
/// ("Agent claude-code changed ...", never "Claude-code changed ..."),
/// since ids are case-sensitive and are what people search for.
fn sentence(violation: &Violation) -> String {
    let plain = violation.message.replace('`', "");
    match &violation.agent {
        Some(id) if violation.message.starts_with(&format!("`{id}`")) => format!("Agent {plain}"),
        _ if violation.message.starts_with('`') => plain,
        _ => capitalise(&plain),
    }
}

fn waiting(draft: &Draft) -> String {
    let unmet: Vec<&Requirement> = draft.requirements.iter().filter(|r| !r.satisfied).collect();
    let first = unmet[0];
    let missing = first.missing() as usize;
    let unapproved = first.owned_paths.iter().find(|o| o.missing() > 0);
    let from = if let Some(owned) = unapproved {
        format!("the code owners of {}", owned.path)
    } else if first.approvers.is_empty() {
        "an approver (none is configured)".to_owned()
    } else {
        first.approvers.join(" or ")
    };
    let head = format!(
        "Waiting for {missing} {} from {from} for {}",
        plural(missing, "approval", "approvals"),
        first.label
    );
    match unmet.len() {
        1 => head,
        n => format!(
            "{head} (and {} more {})",
            n - 1,
            plural(n - 1, "requirement", "requirements")
        ),
    }
}

fn success(ident: &Identification, draft: &Draft) -> String {
    let registered: Vec<&str> = ident
        .agents
        .iter()
        .filter(|a| a.status == Registration::Registered)
        .map(|a| a.id.as_str())
        .collect();
    let others = ident.agents.len() - registered.len();
    let mut parts = Vec::new();
    if !registered.is_empty() {
        // Ids are shown as written: "Agent claude", never "Claude".
        parts.push(format!(
            "{} {} within scope",
            plural(registered.len(), "Agent", "Agents"),
            registered.join(", ")
        ));
    }
    if others > 0 {
        parts.push(format!(
            "{others} unregistered {} allowed",
            plural(others, "agent", "agents")
        ));
    }
    if parts.is_empty() {
        parts.push(if draft.requirements.is_empty() && draft.notes.is_empty() {
            "No agent activity".to_owned()
        } else {
            "No agent activity; policy file change recorded".to_owned()
        });
    }
    let approvals: usize = draft.requirements.len();
    if approvals > 0 {
        parts.push(format!(
            "{approvals} {} approved",
            plural(approvals, "requirement", "requirements")
        ));
    }
    capitalise(&parts.join("; "))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
