//! Rendering decisions for people: the check's Markdown summary (what a
//! developer reads on the pull request) and the CLI's plain text.
//!
//! Status is always said in words ("Blocked", "Waiting", "Approved"), never
//! by colour or emoji alone. Everything that comes from a change (paths,
//! logins, messages) is put in code spans, so it cannot inject Markdown.

mod ownership;

use std::fmt::Write;

pub use ownership::{OwnershipLine, ownership};

use super::{
    AgentFinding, Conclusion, Decision, Registration, Requirement, SignalMatch, Violation,
};

/// How many paths one list shows before "and N more": GitHub caps a check
/// summary at 65,535 characters, and a 5,000-file change must still fit.
const MAX_LISTED_PATHS: usize = 20;

/// The Markdown summary. `audit_url` links to the change's audit page.
pub fn markdown(decision: &Decision, audit_url: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "**{}**\n", escape(&decision.title));
    let _ = writeln!(
        out,
        "Status: **{}**.\n",
        status_word(decision).to_lowercase()
    );
    if let Some(would) = observe_note(decision) {
        let _ = writeln!(out, "{would}\n");
    }
    for observed in observed_parts(decision) {
        let _ = writeln!(out, "{observed}\n");
    }
    errors_md(&mut out, decision);
    violations_md(&mut out, decision, true);
    requirements_md(&mut out, decision);
    agents_md(&mut out, decision);
    refused_md(&mut out, decision);
    elevations_md(&mut out, decision);
    violations_md(&mut out, decision, false);
    dismissals_md(&mut out, decision);
    proposed_md(&mut out, decision);
    if !decision.notes.is_empty() {
        out.push_str("### Notes\n\n");
        for note in &decision.notes {
            let _ = writeln!(out, "- {}", inline(note));
        }
        out.push('\n');
    }
    footer_md(&mut out, decision, audit_url);
    out
}

/// A terse plain-text report for terminals.
pub fn text(decision: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", status_word(decision), decision.title);
    if let Some(would) = observe_note(decision) {
        let _ = writeln!(out, "{}", would.replace("**", "").replace('`', ""));
    }
    for observed in observed_parts(decision) {
        let _ = writeln!(out, "{}", observed.replace("**", ""));
    }
    if decision.org_policy.is_some() {
        for p in sources(decision) {
            let _ = writeln!(out, "  {}", p.replace('`', ""));
        }
    }
    for e in &decision.policy_errors {
        let _ = writeln!(
            out,
            "  error: {}:{}:{}: {}",
            e.file, e.line, e.column, e.message
        );
    }
    for a in &decision.agents {
        let _ = writeln!(
            out,
            "  agent {} ({}){}",
            a.id,
            registration_word(&a.status),
            role_owner(a)
        );
        for s in &a.signals {
            let _ = writeln!(out, "    {} {}: {}", trust_word(s), s.source, s.value);
        }
    }
    let org = decision.org_policy.is_some();
    for r in &decision.requirements {
        let _ = writeln!(
            out,
            "  {} {}{}: {} of {} from {}{}",
            if r.satisfied { "approved" } else { "waiting" },
            r.label,
            from_text(org, r.from),
            r.approved_by.len(),
            r.min_approvals,
            approvers(r),
            approved_by(r)
        );
        let owned = ownership(r);
        if owned.is_empty() {
            for p in r.paths.iter().take(MAX_LISTED_PATHS) {
                let _ = writeln!(out, "    {p}");
            }
            more_line(&mut out, r.paths.len(), "    ");
        }
        for line in owned.iter().take(MAX_LISTED_PATHS) {
            let _ = writeln!(out, "    {}", line.text());
        }
        more_line(&mut out, owned.len(), "    ");
    }
    for v in &decision.violations {
        let _ = writeln!(
            out,
            "  {} {}{}",
            if v.blocking { "blocked:" } else { "recorded:" },
            v.message.replace('`', ""),
            from_text(org, v.from)
        );
        for p in v.paths.iter().take(MAX_LISTED_PATHS) {
            let _ = writeln!(out, "    {p}");
        }
        more_line(&mut out, v.paths.len(), "    ");
    }
    for note in &decision.notes {
        let _ = writeln!(out, "  note: {}", note.replace('`', ""));
    }
    out
}

fn status_word(decision: &Decision) -> &'static str {
    match decision.conclusion {
        Conclusion::Success => "Allowed",
        Conclusion::Failure => "Blocked",
        Conclusion::ActionRequired => "Waiting for approval",
        Conclusion::Neutral => {
            if decision.mode.is_some() {
                "Observing"
            } else {
                "Not enforced"
            }
        }
    }
}

fn observe_note(decision: &Decision) -> Option<String> {
    (decision.conclusion == Conclusion::Neutral && decision.mode.is_some()).then(|| {
        format!(
            "Warrant is in observe mode: this check does not block. Enforced, it would conclude **{}**.",
            decision.would_conclude.as_str()
        )
    })
}

/// Under an organisation policy, each policy in observe mode whose verdict
/// the check does not show: what it would conclude, enforced.
fn observed_parts(decision: &Decision) -> Vec<String> {
    if decision.conclusion == Conclusion::Neutral {
        // The observe note says it for the whole check.
        return Vec::new();
    }
    decision
        .applied
        .iter()
        .filter(|a| a.mode == crate::policy::Mode::Observe)
        .map(|a| {
            format!(
                "The {} policy is in observe mode: it does not block. Enforced, it would conclude **{}**.",
                a.from.as_str(),
                a.would_conclude.as_str()
            )
        })
        .collect()
}

/// "(organisation policy)" after a requirement or violation, when a
/// decision combines policies.
fn from_text(combined: bool, from: super::Origin) -> String {
    if combined {
        format!(" ({} policy)", from.as_str())
    } else {
        String::new()
    }
}

/// The policies a decision applied, each in a phrase: "Organisation policy
/// `warrant-org.yml` in `acme/.github` (blob `abc1234`)".
fn sources(decision: &Decision) -> Vec<String> {
    let org = decision.org_policy.as_ref().map(|p| {
        let place = match &p.repository {
            Some(repo) => format!(" in {}", code(repo)),
            None => String::new(),
        };
        format!(
            "Organisation policy {}{place} (blob {})",
            code(p.path.as_str()),
            code(short(&p.blob_id))
        )
    });
    let repo = decision.policy.as_ref().map(|p| {
        let what = if decision.org_policy.is_some() {
            "Repository policy"
        } else {
            "Policy"
        };
        format!(
            "{what} {} (blob {})",
            code(p.path.as_str()),
            code(short(&p.blob_id))
        )
    });
    org.into_iter().chain(repo).collect()
}

fn errors_md(out: &mut String, decision: &Decision) {
    if decision.policy_errors.is_empty() {
        return;
    }
    let which = match decision.violations.first().map(|v| v.from) {
        Some(super::Origin::Organisation) => "### The organisation policy is invalid",
        _ => "### The policy file is invalid",
    };
    let _ = write!(
        out,
        "{which}\n\nWarrant fails closed until it is fixed:\n\n"
    );
    for e in &decision.policy_errors {
        let _ = writeln!(
            out,
            "- {}: {}",
            code(&format!("{}:{}:{}", e.file, e.line, e.column)),
            inline(&e.message)
        );
    }
    out.push_str("\nCheck it locally with `warrant validate`.\n\n");
}

fn violations_md(out: &mut String, decision: &Decision, blocking: bool) {
    let list: Vec<&Violation> = decision
        .violations
        .iter()
        .filter(|v| v.blocking == blocking && v.kind != super::ViolationKind::InvalidPolicy)
        .collect();
    if list.is_empty() {
        return;
    }
    out.push_str(if blocking {
        "### Blocked\n\n"
    } else {
        "### Recorded\n\n"
    });
    let org = decision.org_policy.is_some();
    for v in list {
        let _ = writeln!(out, "- {}{}", inline(&v.message), from_text(org, v.from));
        paths_md(out, &v.paths, "  ");
    }
    out.push('\n');
}

fn requirements_md(out: &mut String, decision: &Decision) {
    if decision.requirements.is_empty() {
        return;
    }
    let org = decision.org_policy.is_some();
    out.push_str("### Approvals\n\n| Status | For | Needs | Who can approve | Approved by |\n|---|---|---|---|---|\n");
    for r in &decision.requirements {
        let _ = writeln!(
            out,
            "| {} | {}{} | {} | {} | {} |",
            if r.satisfied { "Approved" } else { "Waiting" },
            cell(&r.label),
            from_text(org, r.from),
            r.min_approvals,
            if r.approvers.is_empty() {
                "nobody is configured".to_owned()
            } else {
                r.approvers
                    .iter()
                    .map(|a| code(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if r.approved_by.is_empty() {
                "nobody yet".to_owned()
            } else {
                r.approved_by
                    .iter()
                    .map(|a| code(a.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    out.push('\n');
    for r in &decision.requirements {
        let owned = ownership(r);
        if !owned.is_empty() {
            let _ = writeln!(out, "Code owners for {}:", inline(&r.label));
            for line in owned.iter().take(MAX_LISTED_PATHS) {
                let _ = writeln!(out, "- {}", line.markdown());
            }
            more_line(&mut *out, owned.len(), "- ");
            out.push('\n');
        } else if !r.paths.is_empty() {
            let _ = writeln!(out, "Paths for {}:", inline(&r.label));
            paths_md(out, &r.paths, "");
            out.push('\n');
        }
    }
}

/// "Policy change": what each proposed policy changes, for its reviewers.
fn proposed_md(out: &mut String, decision: &Decision) {
    for p in &decision.proposed {
        if !p.errors.is_empty() {
            let _ = writeln!(
                out,
                "### Policy change\n\nThe proposed {} does not load (see *Blocked*): fix it before it is merged; `warrant validate` shows the same errors.\n",
                code(p.path.as_str())
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{}Proposed at blob {}.\n",
            crate::policy::diff::markdown(&p.differences),
            code(short(&p.blob_id))
        );
        if let Some(replay) = &p.replay {
            replay_md(out, decision, replay);
        }
    }
}

/// The past changes a proposed policy would decide otherwise.
fn replay_md(out: &mut String, decision: &Decision, replay: &crate::engine::Replay) {
    let _ = writeln!(out, "{}\n", replay.headline());
    let sigil = decision.forge.change_sigil();
    for flip in replay.flips.iter().take(MAX_LISTED_PATHS) {
        let _ = writeln!(out, "- {}", inline(&flip.line(&decision.repository, sigil)));
    }
    more_line(&mut *out, replay.flips.len(), "- ");
    if !replay.flips.is_empty() {
        out.push('\n');
    }
}

fn agents_md(out: &mut String, decision: &Decision) {
    if decision.agents.is_empty() {
        return;
    }
    out.push_str("### Agents\n\n");
    for a in &decision.agents {
        let _ = writeln!(
            out,
            "- {} ({}){}",
            code(&a.id),
            registration_word(&a.status),
            role_owner(a)
        );
        for s in &a.signals {
            let _ = writeln!(
                out,
                "  - {} {}: {}",
                trust_word(s),
                inline(&s.source),
                code(&s.value)
            );
        }
    }
    if !decision.requesters.is_empty() {
        let who: Vec<String> = decision.requesters.iter().map(|r| code(r)).collect();
        let _ = writeln!(out, "\nRequested by {}.", who.join(", "));
    }
    out.push('\n');
}

fn refused_md(out: &mut String, decision: &Decision) {
    let mut lines: Vec<String> = Vec::new();
    for r in &decision.requirements {
        for n in &r.not_counted {
            let line = format!(
                "- {} for {}: {}",
                code(n.reviewer.as_str()),
                inline(&r.label),
                n.reason.describe()
            );
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    if lines.is_empty() {
        return;
    }
    out.push_str("### Approvals that did not count\n\n");
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

fn dismissals_md(out: &mut String, decision: &Decision) {
    if decision.dismissals.is_empty() {
        return;
    }
    out.push_str("### Dismissed reviews\n\n");
    for d in &decision.dismissals {
        let _ = writeln!(
            out,
            "- the approval of {} (review {}), because agents never approve",
            code(d.reviewer.as_str()),
            d.review_id
        );
    }
    out.push('\n');
}

fn elevations_md(out: &mut String, decision: &Decision) {
    if decision.elevations.is_empty() {
        return;
    }
    out.push_str("### Elevations in force\n\n");
    for e in &decision.elevations {
        let _ = writeln!(
            out,
            "- {} until {}: {}",
            code(&e.agent),
            e.until.format("%Y-%m-%d %H:%M UTC"),
            inline(&e.reason)
        );
        paths_md(out, &e.paths, "  ");
    }
    out.push('\n');
}

fn footer_md(out: &mut String, decision: &Decision, audit_url: Option<&str>) {
    out.push_str("---\n");
    let mut facts = sources(decision);
    if let Some(c) = &decision.codeowners {
        facts.push(format!(
            "code owners {} (blob {})",
            code(c.path.as_str()),
            code(short(&c.blob_id))
        ));
    }
    if let Some(mode) = decision.mode {
        facts.push(format!(
            "mode {}",
            code(match mode {
                crate::policy::Mode::Enforce => "enforce",
                crate::policy::Mode::Observe => "observe",
            })
        ));
    }
    facts.push(format!("head {}", code(decision.head_sha.short())));
    facts.push(format!(
        "evaluated {}",
        decision.evaluated_at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    let _ = writeln!(out, "{}", facts.join(" · "));
    if let Some(url) = audit_url {
        let _ = writeln!(out, "\n[Audit report for this change]({url})");
    }
}

fn paths_md(out: &mut String, paths: &[crate::ids::RepoPath], indent: &str) {
    for p in paths.iter().take(MAX_LISTED_PATHS) {
        let _ = writeln!(out, "{indent}- {}", code(p.as_str()));
    }
    more_line(out, paths.len(), &format!("{indent}- "));
}

fn more_line(out: &mut String, total: usize, prefix: &str) {
    if total > MAX_LISTED_PATHS {
        let _ = writeln!(out, "{prefix}and {} more", total - MAX_LISTED_PATHS);
    }
}

fn registration_word(status: &Registration) -> String {
    match status {
        Registration::Registered => "registered".into(),
        Registration::Unregistered => "unregistered".into(),
        Registration::Lapsed { expired_at } => {
            format!("registration expired {}", expired_at.format("%Y-%m-%d"))
        }
    }
}

fn role_owner(a: &AgentFinding) -> String {
    match (&a.role, &a.owner) {
        (Some(role), Some(owner)) => format!(", role {role}, owner {owner}"),
        _ => String::new(),
    }
}

fn trust_word(s: &SignalMatch) -> &'static str {
    if s.verified { "verified" } else { "declared" }
}

fn approvers(r: &Requirement) -> String {
    if r.approvers.is_empty() {
        "nobody (none configured)".into()
    } else {
        r.approvers.join(" or ")
    }
}

fn approved_by(r: &Requirement) -> String {
    if r.approved_by.is_empty() {
        String::new()
    } else {
        let who: Vec<&str> = r.approved_by.iter().map(|l| l.as_str()).collect();
        format!("; approved by {}", who.join(", "))
    }
}

fn short(s: &str) -> &str {
    s.get(..7).unwrap_or(s)
}

/// A Markdown code span that holds any text: the fence is longer than the
/// longest run of backticks inside, and line breaks become spaces.
fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Engine-written text that may quote user input inside code spans: keep
/// the spans, flatten line breaks and escape HTML.
fn inline(s: &str) -> String {
    escape(&s.replace(['\n', '\r'], " "))
}

/// Escapes characters that would start HTML in GitHub's Markdown.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A table cell: no pipes or line breaks.
fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_in_the_text() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("two\nlines"), "`two lines`");
    }

    #[test]
    fn escape_neutralises_html() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(cell("a|b"), "a\\|b");
    }
}
