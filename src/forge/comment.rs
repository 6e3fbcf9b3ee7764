//! The `/warrant override <reason>` command, as both forges' comments carry
//! it: read at the edge, the same way for a GitHub comment and a GitLab
//! note.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::Login;

/// The command, at the start of a comment's first line.
pub const OVERRIDE_COMMAND: &str = "/warrant override";

/// The shortest reason that is accepted: long enough to say something
/// ("hotfix" is not a reason an auditor can follow up), short enough for
/// an incident ticket's id and a few words.
pub const MIN_REASON_CHARS: usize = 10;

/// How to write an override, as Warrant answers a comment that lacks a
/// reason.
pub const HOW_TO_OVERRIDE: &str = "Warrant did not act on this override: it needs a reason of \
    at least 10 characters, on the comment's first line:\n\n\
    `/warrant override <reason of at least 10 characters>`\n\n\
    for example `/warrant override INC-4211: hotfix for the payment outage`. \
    The reason is recorded in the audit trail.";

/// An override comment on a change, as a forge's webhook delivers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverrideComment {
    /// The comment's (GitLab: the note's) id.
    pub comment_id: u64,
    /// Who wrote it.
    pub author: Login,
    /// The forge's id of the author, when sent.
    pub author_id: Option<u64>,
    /// Whether the forge says the author is a bot (GitHub does; GitLab's
    /// note events do not, and its reserved bot names tell instead).
    pub author_bot: bool,
    /// What follows the command on the first line, trimmed.
    pub reason: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl OverrideComment {
    /// Whether the reason is long enough to act on.
    pub fn has_reason(&self) -> bool {
        self.reason.chars().count() >= MIN_REASON_CHARS
    }
}

/// The reason of an override command: `Some` (perhaps empty) when the
/// comment's first line starts with [`OVERRIDE_COMMAND`] as a word, `None`
/// for any other comment.
pub fn override_reason(body: &str) -> Option<&str> {
    let first = body.trim_start_matches('\u{feff}').lines().next()?;
    let rest = first.trim_start().strip_prefix(OVERRIDE_COMMAND)?;
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

/// Whether a comment is an override command: only those are stored.
pub fn is_override(body: &str) -> bool {
    override_reason(body).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_first_line_starting_with_the_command_is_an_override() {
        assert_eq!(
            override_reason("/warrant override INC-1: payments down\nmore"),
            Some("INC-1: payments down")
        );
        assert_eq!(override_reason("  /warrant override"), Some(""));
        assert_eq!(override_reason("/warrant overrides x"), None);
        assert_eq!(override_reason("LGTM\n/warrant override INC-1 ok"), None);
        assert_eq!(override_reason("please /warrant override"), None);
        assert_eq!(override_reason(""), None);
    }
}
