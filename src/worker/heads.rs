//! One `warrant` check per commit. A check run (GitHub) or commit status
//! (GitLab) belongs to a commit, and every open change whose head is that
//! commit shows it; yet each change is decided under its own base's policy.
//! So the check on a commit shows the strictest decision over every open
//! change whose head it is, and lists them when there are several: a pull
//! request into a branch without a policy never turns another's blocked
//! check green, and a stale event never lowers it.
//!
//! Publishing to a commit is serialised across replicas by a lease on the
//! commit, and each publication reads the other changes' latest decisions
//! from the store inside it: whichever worker publishes last has seen every
//! decision recorded before it.

use std::fmt::Write as _;

use chrono::Utc;

use super::adapter::Adapter;
use super::evaluate::cannot_evaluate;
use super::target::Target;
use super::{Failure, Worker};
use crate::engine::{Conclusion, Decision, Forge};
use crate::forge::check::CheckOutcome;
use crate::ids::CommitSha;
use crate::store::ClaimedDelivery;
use crate::store::heads::{AtHead, HeadCheck, StandsFor};

/// One change's decision, as a part of the check on its head commit.
#[derive(Clone, Debug)]
pub(super) struct Standing {
    pub number: u64,
    pub outcome: CheckOutcome,
    /// The change's audit page, when the public URL is known.
    pub url: Option<String>,
}

/// What the check on a commit shows, and the changes it stands for.
#[derive(Clone, Debug)]
pub(super) struct Combined {
    pub outcome: CheckOutcome,
    /// Strictest first.
    pub stands_for: Vec<StandsFor>,
}

/// The check on a commit that is the head of `standings`' changes: the
/// strictest of their outcomes (the lowest number first among equals), as
/// it is when there is one; with several, its title names the change it
/// comes from and its summary lists each of them. `None` for no change.
pub(super) fn combine(forge: Forge, mut standings: Vec<Standing>) -> Option<Combined> {
    strictest_first(&mut standings);
    let stands_for = standings
        .iter()
        .map(|s| StandsFor {
            number: s.number,
            conclusion: s.outcome.conclusion.as_str().to_owned(),
        })
        .collect();
    let strictest = standings.first()?;
    if standings.len() == 1 {
        return Some(Combined {
            outcome: strictest.outcome.clone(),
            stands_for,
        });
    }
    let intro = format!(
        "This commit is the head of {} open {}. Each is decided under the policy of \
         its own base, and the check shows the strictest decision, so that none passes on \
         another's account.",
        standings.len(),
        forge.change_noun_plural()
    );
    Some(Combined {
        outcome: listed(forge, &standings, &intro)?,
        stands_for,
    })
}

/// Sorts `standings` strictest first, the lowest number first among
/// equals.
pub(super) fn strictest_first(standings: &mut [Standing]) {
    standings.sort_by_key(|s| {
        (
            std::cmp::Reverse(s.outcome.conclusion.strictness()),
            s.number,
        )
    });
}

/// One check for several changes' `standings`, strictest first: the
/// strictest conclusion, a title naming the change it comes from, and a
/// summary of `intro`, a table of each change with its conclusion, and the
/// strictest one's full report. `None` for no change.
pub(super) fn listed(forge: Forge, standings: &[Standing], intro: &str) -> Option<CheckOutcome> {
    let strictest = standings.first()?;
    let sigil = forge.change_sigil();
    let mut summary = format!("{intro}\n\n| Change | Conclusion | Decision |\n|---|---|---|\n");
    for s in standings {
        let change = match &s.url {
            Some(url) => format!("[{sigil}{}]({url})", s.number),
            None => format!("{sigil}{}", s.number),
        };
        let _ = writeln!(
            summary,
            "| {change} | `{}` | {} |",
            s.outcome.conclusion.as_str(),
            s.outcome.title.replace('|', "\\|")
        );
    }
    let _ = write!(
        summary,
        "\n## {sigil}{}\n\n{}",
        strictest.number, strictest.outcome.summary
    );
    Some(CheckOutcome {
        conclusion: strictest.outcome.conclusion,
        title: format!("{sigil}{}: {}", strictest.number, strictest.outcome.title),
        summary,
        annotations: strictest.outcome.annotations.clone(),
    })
}

/// What a change's latest evaluation showed, rebuilt from the store: from
/// its decision when it reached one, else its conclusion and title.
fn standing(at: &AtHead, url: Option<String>) -> Standing {
    let decision = at
        .decision
        .as_deref()
        .and_then(|json| serde_json::from_str::<Decision>(json).ok());
    let outcome = match (decision, Conclusion::parse(&at.conclusion)) {
        (Some(decision), _) => CheckOutcome::from_decision(&decision, url.as_deref()),
        (None, Some(conclusion)) => CheckOutcome {
            conclusion,
            title: at.title.clone(),
            summary: String::new(),
            annotations: Vec::new(),
        },
        // An unreadable row fails closed.
        (None, None) => cannot_evaluate("Warrant cannot read its last decision on this change."),
    };
    Standing {
        number: at.number,
        outcome,
        url,
    }
}

impl Worker {
    /// The check on `head` for the open changes whose head it is, with
    /// `own` standing for `t`'s change (decided just now) when given.
    /// Read from the store: call it holding the lease on `head`.
    pub(super) async fn combined<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        own: Option<&CheckOutcome>,
    ) -> anyhow::Result<Option<Combined>> {
        let at_head = self
            .store
            .changes_at_head(t.key.forge, &t.key.repo, head.as_str())
            .await?;
        let mut standings: Vec<Standing> = at_head
            .iter()
            .filter(|at| at.number != t.key.number)
            .map(|at| standing(at, self.audit_url_of(t, at.number)))
            .collect();
        if let Some(own) = own {
            standings.push(Standing {
                number: t.key.number,
                outcome: own.clone(),
                url: self.audit_url(t),
            });
        }
        Ok(combine(t.key.forge, standings))
    }

    /// Records what the check on `head` shows now.
    pub(super) async fn record_head_check<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        outcome: &CheckOutcome,
        stands_for: Vec<StandsFor>,
    ) -> anyhow::Result<()> {
        self.store
            .record_head_check(&HeadCheck {
                forge: t.key.forge,
                repo: t.key.repo.clone(),
                head_sha: head.as_str().to_owned(),
                conclusion: outcome.conclusion.as_str().to_owned(),
                title: outcome.title.clone(),
                changes: stands_for,
                published_at: Utc::now(),
            })
            .await
    }

    /// `old` is no longer the head of `t`'s change. The check there goes
    /// on standing for the other open changes whose head it still is, as
    /// they were decided; with none, a check left running (`run`, shown
    /// while the event was read) is closed as superseded, and one that
    /// was completed stays as it was.
    pub(super) async fn left_head<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        old: &CommitSha,
        run: Option<A::Run>,
    ) -> anyhow::Result<()> {
        let Some(combined) = self.combined(t, old, None).await? else {
            if let Some(run) = run {
                forge.supersede(t, run).await?;
                let superseded = super::evaluate::superseded();
                self.record_head_check(t, old, &superseded, Vec::new())
                    .await?;
            }
            return Ok(());
        };
        if run.is_none() && self.shows(t, old, &combined).await? {
            return Ok(());
        }
        let run = match run {
            Some(run) => Some(run),
            None => self.stored_run::<A>(t, old).await?,
        };
        self.publish_run(forge, t, old, run, &combined.outcome)
            .await?;
        self.record_head_check(t, old, &combined.outcome, combined.stands_for)
            .await
    }

    /// `t`'s change was closed or merged: the check on its head goes on
    /// standing for the other open changes whose head it still is, at
    /// once, so that none of them stays blocked by a change that is gone.
    pub(super) async fn closed_at_head<A: Adapter>(
        &self,
        forge: &A,
        t: &Target<A::At>,
        claimed: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        let head = &t.head_sha;
        self.on_head(t, head, claimed, self.left_head(forge, t, head, None))
            .await
            .map_err(Failure::retry)
    }

    /// Whether the check on `head` already shows `combined`.
    async fn shows<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        combined: &Combined,
    ) -> anyhow::Result<bool> {
        let shown = self
            .store
            .head_check(t.key.forge, &t.key.repo, head.as_str())
            .await?;
        Ok(shown.is_some_and(|shown| {
            shown.conclusion == combined.outcome.conclusion.as_str()
                && shown.title == combined.outcome.title
                && shown.changes == combined.stands_for
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(number: u64, conclusion: Conclusion, title: &str) -> Standing {
        Standing {
            number,
            outcome: CheckOutcome {
                conclusion,
                title: title.to_owned(),
                summary: format!("summary of {number}"),
                annotations: Vec::new(),
            },
            url: Some(format!(
                "https://w.example/audit/github/o/r/changes/{number}"
            )),
        }
    }

    #[test]
    fn one_change_shows_its_own_outcome() {
        let combined = combine(
            Forge::Github,
            vec![standing(2, Conclusion::Neutral, "Not configured")],
        )
        .unwrap();
        assert_eq!(combined.outcome.conclusion, Conclusion::Neutral);
        assert_eq!(combined.outcome.title, "Not configured");
        assert_eq!(combined.outcome.summary, "summary of 2");
        assert!(combine(Forge::Github, Vec::new()).is_none());
    }

    #[test]
    fn the_strictest_decision_wins_whatever_the_order() {
        let cases = [
            (
                Conclusion::Failure,
                Conclusion::Neutral,
                Conclusion::Failure,
            ),
            (
                Conclusion::ActionRequired,
                Conclusion::Success,
                Conclusion::ActionRequired,
            ),
            (
                Conclusion::Success,
                Conclusion::Neutral,
                Conclusion::Success,
            ),
            (
                Conclusion::ActionRequired,
                Conclusion::Failure,
                Conclusion::Failure,
            ),
        ];
        for (a, b, strictest) in cases {
            for order in [[(1, a), (2, b)], [(2, b), (1, a)]] {
                let standings = order
                    .iter()
                    .map(|(n, c)| standing(*n, *c, c.as_str()))
                    .collect();
                let combined = combine(Forge::Github, standings).unwrap();
                assert_eq!(combined.outcome.conclusion, strictest, "{a:?} + {b:?}");
                assert_eq!(combined.stands_for.len(), 2);
                assert_eq!(
                    combined.stands_for[0].conclusion,
                    strictest.as_str(),
                    "strictest first"
                );
            }
        }
    }

    #[test]
    fn several_changes_are_each_listed_with_the_strictest_in_full() {
        let combined = combine(
            Forge::Gitlab,
            vec![
                standing(2, Conclusion::Neutral, "Not configured"),
                standing(1, Conclusion::Failure, "Blocked | out of scope"),
            ],
        )
        .unwrap();
        let summary = &combined.outcome.summary;
        assert_eq!(combined.outcome.title, "!1: Blocked | out of scope");
        assert!(
            summary.contains("head of 2 open merge requests"),
            "{summary}"
        );
        assert!(
            summary.contains(
                "| [!1](https://w.example/audit/github/o/r/changes/1) | `failure` | Blocked \\| out of scope |"
            ),
            "{summary}"
        );
        assert!(
            summary.contains("| `neutral` | Not configured |"),
            "{summary}"
        );
        assert!(summary.ends_with("## !1\n\nsummary of 1"), "{summary}");
    }

    #[test]
    fn an_unreadable_stored_decision_fails_closed() {
        let at = AtHead {
            number: 3,
            conclusion: "bogus".to_owned(),
            title: "?".to_owned(),
            decision: Some("not json".to_owned()),
        };
        assert_eq!(
            super::standing(&at, None).outcome.conclusion,
            Conclusion::Failure
        );
    }
}
