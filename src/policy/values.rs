//! Small readers and checks of single values, shared by the compiler.

use chrono::{DateTime, NaiveDate, Utc};

use super::Approver;
use crate::ids::{AgentId, Principal};

/// `agents.Claude_Code: agent id ... must be ...; did you mean ...?`
pub(super) fn bad_id(kind: &str, id: &str) -> String {
    let fixed: String = id
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c == '_' || c == ' ' || c == '.' {
                '-'
            } else {
                c
            }
        })
        .collect();
    let hint = if fixed != id && AgentId::parse(&fixed).is_ok() {
        format!("; did you mean `{fixed}`?")
    } else {
        String::new()
    };
    format!(
        "{kind} id `{id}` must be lowercase letters, digits and `-`, start with a letter or \
         digit, and be at most 63 characters long{hint}"
    )
}

/// Whether a text glob has no literal character besides `@` (`*`, `*@*`): it
/// would claim every commit for one agent.
pub(super) fn names_nothing(glob: &str) -> bool {
    glob.chars()
        .all(|c| matches!(c, '*' | '?' | '@') || c.is_whitespace())
}

/// How many different people an approvers list names, when it names only
/// people (a team or `owner` may stand for any number).
pub(super) fn distinct_people(approvers: &[Approver]) -> Option<usize> {
    let mut logins = Vec::new();
    for approver in approvers {
        match approver {
            Approver::Principal(Principal::User(login)) => logins.push(login.key()),
            _ => return None,
        }
    }
    logins.sort();
    logins.dedup();
    Some(logins.len())
}

/// `YYYY-MM-DD`, exactly.
pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.trim().as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .flatten()
}

/// `expires`: a date means the end of that day, UTC (the registration has
/// lapsed from the next day 00:00Z); otherwise an RFC 3339 time.
pub(super) fn parse_expiry(s: &str) -> Option<DateTime<Utc>> {
    if let Some(date) = parse_date(s) {
        return Some(date.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
