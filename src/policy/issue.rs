//! What every stage of loading reports: a position and a message, before the
//! file name is attached. Also the "did you mean" logic shared by the stages.

use marked_yaml::{Marker, Span};

use super::{PolicyError, PolicyErrors};

/// One problem at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Issue {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Issue {
    /// At the start of the file: for problems with no better place, such as a
    /// missing top-level key.
    pub fn at_start(message: impl Into<String>) -> Self {
        Self {
            line: 1,
            column: 1,
            message: message.into(),
        }
    }

    pub fn at_marker(marker: Option<&Marker>, message: impl Into<String>) -> Self {
        match marker {
            Some(m) => Self {
                line: m.line(),
                column: m.column(),
                message: message.into(),
            },
            None => Self::at_start(message),
        }
    }

    pub fn at(span: &Span, message: impl Into<String>) -> Self {
        Self::at_marker(span.start(), message)
    }
}

/// Sorts issues into file order, drops exact repeats, and names the file.
pub(super) fn into_errors(file: &str, mut issues: Vec<Issue>) -> PolicyErrors {
    issues.sort();
    issues.dedup();
    PolicyErrors(
        issues
            .into_iter()
            .map(|i| PolicyError {
                file: file.to_owned(),
                line: i.line,
                column: i.column,
                message: i.message,
            })
            .collect(),
    )
}

/// Prefixes a message with the key path it is about (`agents.claude.role`);
/// the top level has no prefix.
pub(super) fn at_path(path: &str, message: impl std::fmt::Display) -> String {
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}

/// The key path of a mapping entry.
pub(super) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The key path of a list item.
pub(super) fn item(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

/// How similar (Jaro-Winkler, case-insensitive) a word must be to a known one
/// to be suggested: high enough that `rols` suggests `roles` and `enforced`
/// suggests `enforce`, low enough that unrelated words suggest nothing.
const SUGGESTION_THRESHOLD: f64 = 0.8;

/// The known word closest to `input`, when it is close enough to be what the
/// writer meant.
pub(super) fn did_you_mean<'a>(
    input: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input = input.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for candidate in known {
        let score = strsim::jaro_winkler(&input, &candidate.to_lowercase());
        if score >= SUGGESTION_THRESHOLD && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `; did you mean `x`?`, or nothing.
pub(super) fn suggestion<'a>(input: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(input, known)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// A list of words for a message: `` `a`, `b`, `c` ``.
pub(super) fn backticked<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words
        .into_iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
