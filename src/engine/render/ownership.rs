//! Who owns each path a `codeowners` requirement covers, line by line.

use std::fmt::Write;

use super::{code, inline};
use crate::engine::Requirement;

/// Who owns one path a `codeowners` requirement covers, and who approved
/// it: a line of the check summary, the CLI's report and the change page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnershipLine {
    pub path: String,
    /// `@user` and `@org/team`, as the CODEOWNERS file writes them; empty
    /// for a path no line owns.
    pub owners: Vec<String>,
    /// Where the ownership comes from and what it asks ("CODEOWNERS line
    /// 4", "section Security, 2 approvals needed", "no code owner").
    pub source: String,
    /// Owners on the line that Warrant cannot check (email addresses,
    /// roles): shown as ignored.
    pub unsupported: Vec<String>,
    /// `@alice`, ...
    pub approved_by: Vec<String>,
    /// Said when nobody approved yet.
    pub waiting: String,
}

impl OwnershipLine {
    pub(super) fn markdown(&self) -> String {
        let mut source = inline(&self.source);
        if !self.unsupported.is_empty() {
            let ignored: Vec<String> = self.unsupported.iter().map(|o| code(o)).collect();
            let _ = write!(
                source,
                "; unsupported owners ignored: {}",
                ignored.join(", ")
            );
        }
        let owned = if self.owners.is_empty() {
            source
        } else {
            let owners: Vec<String> = self.owners.iter().map(|o| code(o)).collect();
            format!("owned by {} ({source})", owners.join(", "))
        };
        format!("{} — {owned} — {}", code(&self.path), self.approval(code))
    }

    /// Plain text, as the CLI and the change page show it.
    pub fn text(&self) -> String {
        let mut source = self.source.clone();
        if !self.unsupported.is_empty() {
            let _ = write!(
                source,
                "; unsupported owners ignored: {}",
                self.unsupported.join(", ")
            );
        }
        let owned = if self.owners.is_empty() {
            source
        } else {
            format!("owned by {} ({source})", self.owners.join(", "))
        };
        format!(
            "{} — {owned} — {}",
            self.path,
            self.approval(|s| s.to_owned())
        )
    }

    fn approval(&self, show: impl Fn(&str) -> String) -> String {
        if self.approved_by.is_empty() {
            self.waiting.clone()
        } else {
            let who: Vec<String> = self.approved_by.iter().map(|a| show(a)).collect();
            format!("approved by {}", who.join(", "))
        }
    }
}

/// One line per covered path (per GitLab section) of a requirement that
/// names `codeowners`; none for other requirements.
pub fn ownership(r: &Requirement) -> Vec<OwnershipLine> {
    let at = |l: &crate::ids::Login| format!("@{l}");
    let owned = r.owned_paths.iter().map(|o| {
        let mut source = format!("CODEOWNERS line {}", o.line);
        if let Some(section) = &o.section {
            let _ = write!(source, ", section {section}");
            match o.required {
                0 => source.push_str(", optional"),
                1 => {}
                n => {
                    let _ = write!(source, ", {n} approvals needed");
                }
            }
        }
        OwnershipLine {
            path: o.path.to_string(),
            owners: o.owners.clone(),
            source,
            unsupported: o.unsupported.clone(),
            approved_by: o.approved_by.iter().map(at).collect(),
            waiting: match o.missing() {
                0 => "no approval needed here".to_owned(),
                _ => "not approved yet".to_owned(),
            },
        }
    });
    let others = r.approvers.iter().any(|a| a != "codeowners");
    let unowned = r.unowned.iter().map(|u| OwnershipLine {
        path: u.path.to_string(),
        owners: Vec::new(),
        source: "no code owner".to_owned(),
        unsupported: u.unsupported.clone(),
        approved_by: u.approved_by.iter().map(at).collect(),
        waiting: if others {
            "not approved yet by the other approvers".to_owned()
        } else {
            "nobody else may approve it".to_owned()
        },
    });
    owned.chain(unowned).collect()
}
