//! From observations to agent findings: registered agents, lapsed ones,
//! unclaimed catalog signatures and unknown bot accounts.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use crate::catalog::{self, CatalogEntry};
use crate::engine::change::Context;
use crate::engine::decision::{AgentFinding, Registration, SignalKind, SignalMatch};
use crate::policy::{Agent, Registry};

use crate::signals::{Trailer, declared_tool};

use super::evidence::{Matcher, Observation, Probe, is_web_flow_login};

/// Matches, each with the index of the observation it matched.
type Matches = Vec<(usize, SignalMatch)>;

/// The findings, with what the people rules need to know about them.
pub(super) struct Found {
    pub agents: Vec<AgentFinding>,
    /// Per observation: whether a policy agent or a catalog entry matched it.
    pub matched: Vec<bool>,
    /// Commits (by position) with evidence of an agent or bot.
    pub agent_commits: BTreeSet<usize>,
}

/// A finding being assembled.
struct Draft {
    finding: AgentFinding,
    matches: Matches,
}

impl Draft {
    fn new(finding: AgentFinding, matches: Matches) -> Self {
        Self { finding, matches }
    }

    fn is_registered(&self) -> bool {
        self.finding.status == Registration::Registered
    }

    fn subjects<'a>(&self, seen: &'a [Observation<'_>]) -> HashSet<&'a str> {
        self.matches
            .iter()
            .map(|(i, _)| seen[*i].subject.as_str())
            .collect()
    }

    fn overlaps(&self, other: &Matches, seen: &[Observation<'_>]) -> bool {
        let mine = self.subjects(seen);
        other
            .iter()
            .any(|(i, _)| mine.contains(seen[*i].subject.as_str()))
    }
}

pub(super) fn find(
    registry: Registry<'_>,
    seen: &[Observation<'_>],
    matcher: Matcher,
    context: &Context,
    at: DateTime<Utc>,
) -> Found {
    let mut matched = vec![false; seen.len()];
    let mut mark = |matches: &Matches| matches.iter().for_each(|(i, _)| matched[*i] = true);

    let mut drafts: Vec<Draft> = Vec::new();
    for agent in registry.agents() {
        let matches = matcher.match_all(&agent.signals, seen);
        mark(&matches);
        if !matches.is_empty() {
            drafts.push(Draft::new(agent_finding(agent, at), matches));
        }
    }
    drop_claimed_from_lapsed(&mut drafts, seen);

    let mut unclaimed: Vec<Draft> = Vec::new();
    for entry in catalog::builtin().entries() {
        let matches = matcher.match_all(&entry.signals, seen);
        mark(&matches);
        if matches.is_empty() {
            continue;
        }
        match claimant(&mut drafts, &matches, seen) {
            Some(draft) => draft.matches.extend(credited(entry, matches)),
            None => unclaimed.push(Draft::new(catalog_finding(entry), matches)),
        }
    }
    drafts.retain(|d| !d.matches.is_empty());
    drafts.extend(unclaimed);
    drafts.extend(declared_tools(seen, &mut matched));
    drafts.extend(unknown_bots(seen, &matched, context));
    finish(drafts, seen, matched)
}

/// Evidence that a registered agent matches is that agent's, even when an
/// agent whose registration lapsed matches it too (an agent renewed under
/// a new id): a lapsed finding keeps only what no registration claims.
fn drop_claimed_from_lapsed(drafts: &mut [Draft], seen: &[Observation<'_>]) {
    let registered: HashSet<&str> = drafts
        .iter()
        .filter(|d| d.is_registered())
        .flat_map(|d| d.subjects(seen))
        .collect();
    for draft in drafts.iter_mut().filter(|d| !d.is_registered()) {
        draft
            .matches
            .retain(|(i, _)| !registered.contains(seen[*i].subject.as_str()));
    }
}

/// The policy agent that claims a catalog entry's evidence in this change:
/// the first registered agent that matches any of the same evidence, else
/// the first lapsed one. Matching one piece of a product's evidence makes
/// the agent that product here, so it claims the rest too: an agent
/// registered by its trailer also owns the product's body line.
fn claimant<'d>(
    drafts: &'d mut [Draft],
    matches: &Matches,
    seen: &[Observation<'_>],
) -> Option<&'d mut Draft> {
    let live = |d: &Draft| !d.matches.is_empty() && d.overlaps(matches, seen);
    let index = drafts
        .iter()
        .position(|d| d.is_registered() && live(d))
        .or_else(|| drafts.iter().position(|d| !d.is_registered() && live(d)))?;
    Some(&mut drafts[index])
}

/// A catalog entry's matches, credited to the agent that claims them.
fn credited(entry: &CatalogEntry, matches: Matches) -> Matches {
    matches
        .into_iter()
        .map(|(i, mut m)| {
            m.pattern = format!("catalog {}: {}", entry.id, m.pattern);
            (i, m)
        })
        .collect()
}

fn agent_finding(agent: &Agent, at: DateTime<Utc>) -> AgentFinding {
    let status = match agent.expires {
        Some(expired_at) if !agent.is_registered_at(at) => Registration::Lapsed { expired_at },
        _ => Registration::Registered,
    };
    AgentFinding {
        id: agent.id.to_string(),
        status,
        catalog: agent.builtin.clone(),
        role: Some(agent.role.to_string()),
        owner: Some(agent.owner.to_string()),
        expires: agent.expires,
        registered_by: None,
        signals: Vec::new(),
    }
}

fn catalog_finding(entry: &CatalogEntry) -> AgentFinding {
    AgentFinding {
        id: format!("catalog:{}", entry.id),
        status: Registration::Unregistered,
        catalog: Some(entry.id.clone()),
        role: None,
        owner: None,
        expires: None,
        registered_by: None,
        signals: Vec::new(),
    }
}

/// Bot accounts that no policy agent or catalog entry recognises, one
/// finding per login. The app's own accounts and GitHub's web-flow
/// committer are not agents.
fn unknown_bots(seen: &[Observation<'_>], matched: &[bool], context: &Context) -> Vec<Draft> {
    let recognised: HashSet<&str> = seen
        .iter()
        .zip(matched)
        .filter(|(_, m)| **m)
        .map(|(o, _)| o.subject.as_str())
        .collect();
    let mut drafts: Vec<Draft> = Vec::new();
    for (index, obs) in seen.iter().enumerate() {
        let Some(account) = obs.account() else {
            continue;
        };
        let ignored = !account.is_bot()
            || recognised.contains(obs.subject.as_str())
            || context.is_app(&account.login)
            || is_web_flow_login(&account.login);
        if ignored {
            continue;
        }
        let id = format!("bot:{}", account.login);
        let signal = SignalMatch {
            kind: SignalKind::BotAccount,
            verified: obs.verified,
            source: obs.source.clone(),
            value: obs.value.clone(),
            pattern: "a bot account".to_owned(),
        };
        match drafts
            .iter_mut()
            .find(|d| d.finding.id.eq_ignore_ascii_case(&id))
        {
            Some(draft) => draft.matches.push((index, signal)),
            None => drafts.push(Draft::new(bot_finding(id), vec![(index, signal)])),
        }
    }
    drafts
}

/// AI-assistance and session-link trailers (see
/// [`crate::signals::DECLARED_KEYS`]) that no policy agent or catalog entry
/// matched: each names a tool that is an agent all the same, reported as
/// `declared:<tool>` and unregistered, so that a product the catalog does
/// not know yet is not waved through. They count as matched for the people
/// rules: the trailer names a tool, not a person.
fn declared_tools(seen: &[Observation<'_>], matched: &mut [bool]) -> Vec<Draft> {
    let mut drafts: Vec<Draft> = Vec::new();
    for (index, obs) in seen.iter().enumerate() {
        let trailer = match obs.probe {
            Probe::Trailer(ref trailer) => Some(trailer.clone()),
            Probe::MessageLine {
                line,
                closing: true,
            } => Trailer::parse_line(line),
            _ => None,
        };
        let Some(tool) = trailer
            .filter(|_| !matched[index])
            .as_ref()
            .and_then(declared_tool)
        else {
            continue;
        };
        matched[index] = true;
        let id = format!("declared:{tool}");
        let signal = SignalMatch {
            kind: obs.kind,
            verified: false,
            source: obs.source.clone(),
            value: obs.value.clone(),
            pattern: "an AI-assistance trailer".to_owned(),
        };
        match drafts.iter_mut().find(|d| d.finding.id == id) {
            Some(draft) => draft.matches.push((index, signal)),
            None => drafts.push(Draft::new(bot_finding(id), vec![(index, signal)])),
        }
    }
    drafts
}

fn bot_finding(id: String) -> AgentFinding {
    AgentFinding {
        id,
        status: Registration::Unregistered,
        catalog: None,
        role: None,
        owner: None,
        expires: None,
        registered_by: None,
        signals: Vec::new(),
    }
}

/// Moves each draft's matches into its finding, without repeating a piece
/// of evidence (the catalog and the policy often match the same one).
fn finish(drafts: Vec<Draft>, seen: &[Observation<'_>], matched: Vec<bool>) -> Found {
    let mut agent_commits = BTreeSet::new();
    let mut agents = Vec::with_capacity(drafts.len());
    for Draft {
        mut finding,
        matches,
    } in drafts
    {
        for (index, signal) in matches {
            agent_commits.extend(seen[index].commit);
            let repeated = finding.signals.iter().any(|s| {
                s.kind == signal.kind && s.source == signal.source && s.value == signal.value
            });
            if !repeated {
                finding.signals.push(signal);
            }
        }
        agents.push(finding);
    }
    Found {
        agents,
        matched,
        agent_commits,
    }
}
