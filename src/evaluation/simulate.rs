//! A proposed policy tried on past changes: each decided again from its
//! recorded facts at its recorded time, under the proposed policy in place
//! of the one it replaces, and compared with what was published. The
//! check of a policy change lists the changes it would flip; `warrant
//! simulate` prints the same from the server's database.

use super::ParsedPolicies;
use super::record::{Input, Texts};
use super::replay::{self, Instead};
use crate::engine::{Conclusion, Flip, Forge, Replay};
use crate::ids::ChangeKey;
use crate::store::Store;
use crate::store::records::Scope;

/// How many past changes a policy change is tried on.
pub const REPLAYED: usize = 50;

/// A past change as its last evaluation recorded it.
#[derive(Clone, Debug)]
pub struct Past {
    pub repository: String,
    pub number: u64,
    /// What was published.
    pub conclusion: Conclusion,
    /// `None` when the stored input cannot be read.
    pub input: Option<Input>,
}

/// Decides each of `past` again under the policies `instead` names (the
/// others as recorded) and lists those whose conclusion would differ.
pub async fn simulate(past: &[Past], texts: &Texts, instead: Instead<'_>) -> Replay {
    let cache = ParsedPolicies::default();
    let mut replay = Replay::default();
    for p in past {
        let Some(Input::Facts(record)) = &p.input else {
            replay.not_replayable += 1;
            continue;
        };
        let Ok(again) = replay::decide(record, texts, &cache, instead, false).await else {
            replay.not_replayable += 1;
            continue;
        };
        replay.replayed += 1;
        let to = again.decision.conclusion;
        if to != p.conclusion {
            replay.flips.push(Flip {
                repository: p.repository.clone(),
                number: p.number,
                from: p.conclusion,
                to,
                reason: reason(&again.decision.title),
                unrecorded: again.unrecorded,
            });
        }
    }
    replay
}

/// A check's title as the reason of a flip: "agent copilot within scope".
fn reason(title: &str) -> String {
    let mut chars = title.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(title[first.len_utf8()..].chars())
            .collect(),
        _ => title.to_owned(),
    }
}

impl Flip {
    /// `#12: failure -> success (reason)`, the repository named when it is
    /// not `here`.
    pub fn line(&self, here: &str, sigil: char) -> String {
        let repo = if self.repository == here {
            ""
        } else {
            &self.repository
        };
        let mut line = format!(
            "{repo}{sigil}{}: {} -> {} ({})",
            self.number,
            self.from.as_str(),
            self.to.as_str(),
            self.reason
        );
        if !self.unrecorded.is_empty() {
            line.push_str(&format!(
                "; not recorded, taken as absent: {}",
                self.unrecorded.join(", ")
            ));
        }
        line
    }
}

impl Replay {
    /// "Decided 50 past changes again under the proposed policy: 2 would
    /// conclude otherwise."
    pub fn headline(&self) -> String {
        if self.replayed == 0 && self.not_replayable == 0 {
            return "No past change is recorded to decide again under the proposed policy."
                .to_owned();
        }
        let changes = if self.replayed == 1 {
            "change"
        } else {
            "changes"
        };
        let flipped = match self.flips.len() {
            0 => "none".to_owned(),
            n => n.to_string(),
        };
        let mut line = format!(
            "Decided {} past {changes} again under the proposed policy: {flipped} would \
             conclude otherwise.",
            self.replayed,
        );
        if self.not_replayable > 0 {
            line.push_str(&format!(
                " {} could not be replayed (recorded before Warrant kept an evaluation's facts).",
                self.not_replayable
            ));
        }
        line
    }
}

/// The last `limit` evaluated changes of `scope` other than `except`, most
/// recent first, with the texts their records name: two queries. An input
/// that cannot be read counts as not replayable.
pub async fn past_changes(
    store: &Store,
    forge: Forge,
    scope: &Scope<'_>,
    except: Option<&ChangeKey>,
    limit: usize,
) -> anyhow::Result<(Vec<Past>, Texts)> {
    let rows = store
        .recent_evaluations(forge, scope, except, limit)
        .await?;
    let past: Vec<Past> = rows
        .into_iter()
        .filter_map(|row| {
            Some(Past {
                number: u64::try_from(row.number).ok()?,
                conclusion: Conclusion::parse(&row.conclusion)?,
                input: Input::parse(&row.input).ok(),
                repository: row.repo,
            })
        })
        .collect();
    let digests = past.iter().flat_map(|p| match &p.input {
        Some(Input::Facts(record)) => record.digests().collect::<Vec<_>>(),
        _ => Vec::new(),
    });
    let texts = store.recorded_texts(digests).await?;
    Ok((past, texts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_becomes_a_reason() {
        assert_eq!(
            reason("Agent copilot within scope"),
            "agent copilot within scope"
        );
        assert_eq!(reason("CODEOWNERS is invalid"), "CODEOWNERS is invalid");
        assert_eq!(reason(""), "");
    }

    #[test]
    fn a_flip_is_one_line() {
        let flip = Flip {
            repository: "acme/api".into(),
            number: 12,
            from: Conclusion::Failure,
            to: Conclusion::Success,
            reason: "agent copilot within scope".into(),
            unrecorded: Vec::new(),
        };
        assert_eq!(
            flip.line("acme/api", '#'),
            "#12: failure -> success (agent copilot within scope)"
        );
        assert_eq!(
            flip.line("acme/web", '!'),
            "acme/api!12: failure -> success (agent copilot within scope)"
        );
    }
}
