//! Rendering decisions for people: the check's Markdown summary and the
//! CLI's plain text.
use super::Decision;

/// The Markdown summary a developer reads on the pull request. `audit_url`
/// links to the change's audit page when the server knows it.
pub fn markdown(decision: &Decision, audit_url: Option<&str>) -> String {
    let _ = (decision, audit_url);
    todo!()
}

/// A terse plain-text report for terminals.
pub fn text(decision: &Decision) -> String {
    let _ = decision;
    todo!()
}
