//! The humans around a change: who asked an agent for it (requesters) and
//! who wrote it (contributors).

use std::collections::HashSet;

use crate::engine::change::{Account, AccountKind, Change, Context, Person};
use crate::engine::decision::SignalKind;
use crate::ids::Login;
use crate::policy::Registry;

use super::evidence::{self, Observation, Probe, co_author, is_web_flow, noreply_login};
use super::findings::Found;
use super::{Identity, is_agent_account};

/// What the people rules read.
pub(super) struct Facts<'a, 'c> {
    pub registry: Registry<'a>,
    pub change: &'c Change,
    pub context: &'a Context,
    pub seen: &'a [Observation<'c>],
    pub found: &'a Found,
}

/// The requesters: the human author of a change that involves an agent;
/// for a change an agent opened (or a local range, which has no author),
/// its human assignees, the humans its agent commits credit as co-authors,
/// and the `@login`s of a `Requested by:` line in the body.
pub(super) fn requesters(facts: &Facts<'_, '_>) -> Vec<Identity> {
    let mut people = People::default();
    if facts.found.agents.is_empty() {
        return people.0;
    }
    let human_author = facts
        .change
        .author
        .as_ref()
        .filter(|author| !is_agent_account(facts.registry, author, facts.context));
    if let Some(author) = human_author {
        people.add(Identity::login(author.login.clone()));
        return people.0;
    }
    for assignee in &facts.change.assignees {
        if !is_agent_account(facts.registry, assignee, facts.context) {
            people.add(Identity::login(assignee.login.clone()));
        }
    }
    for (index, obs) in facts.seen.iter().enumerate() {
        let in_agent_commit = obs
            .commit
            .is_some_and(|c| facts.found.agent_commits.contains(&c));
        if in_agent_commit {
            people.extend(human_co_author(facts, index));
        }
    }
    for login in requested_by(&facts.change.body) {
        if facts.is_human_login(&login) {
            people.add(Identity::login(login));
        }
    }
    people.0
}

/// The contributors: each human commit author or committer, and each human
/// a commit credits as co-author. A person counts as an agent when their
/// linked account is a bot or an agent's, or their email matches an agent
/// signal; a name alone (`Alice (aider)`) leaves a human address human.
pub(super) fn contributors(facts: &Facts<'_, '_>) -> Vec<Identity> {
    // By commit position as well as source: two commits of a change may
    // share a short sha.
    let agent_people: HashSet<(Option<usize>, &str)> = facts
        .seen
        .iter()
        .zip(&facts.found.matched)
        .filter(|(o, m)| **m && matches!(o.kind, SignalKind::CommitLogin | SignalKind::Email))
        .map(|(o, _)| (o.commit, o.source.as_str()))
        .collect();
    let mut people = People::default();
    for (index, commit) in facts.change.commits.iter().enumerate() {
        for (person, role) in evidence::commit_people(commit) {
            let source = evidence::person_source(commit, role);
            let agent = agent_people.contains(&(Some(index), source.as_str()));
            if !agent && facts.is_human_person(person) {
                people.add(Identity::of_person(person));
            }
        }
    }
    for index in 0..facts.seen.len() {
        people.extend(human_co_author(facts, index));
    }
    people.0
}

/// The human a `Co-authored-by` trailer names, if it names one: no agent
/// signal matched the trailer, it is not the web-flow address, and the
/// login of a noreply address is no agent's.
fn human_co_author(facts: &Facts<'_, '_>, index: usize) -> Option<Identity> {
    let Probe::Trailer(trailer) = &facts.seen[index].probe else {
        return None;
    };
    let (name, email) = co_author(trailer)?;
    let person = Person {
        name: name.to_owned(),
        email: email.to_owned(),
        account: None,
    };
    let human = !facts.found.matched[index] && facts.is_human_person(&person);
    human.then(|| Identity::of_person(&person))
}

impl Facts<'_, '_> {
    fn is_human_person(&self, person: &Person) -> bool {
        let empty = person.name.is_empty() && person.email.is_empty() && person.account.is_none();
        let account = person.account.as_ref();
        let agent_account =
            account.is_some_and(|a| is_agent_account(self.registry, a, self.context));
        let agent_noreply = noreply_login(&person.email).is_some_and(|l| !self.is_human_login(&l));
        !empty && !is_web_flow(person) && !agent_account && !agent_noreply
    }

    fn is_human_login(&self, login: &Login) -> bool {
        let account = Account {
            login: login.clone(),
            kind: AccountKind::User,
            id: None,
        };
        !is_agent_account(self.registry, &account, self.context)
    }
}

/// The `@login`s on `Requested by:` lines of a body, as agents write them
/// (`Requested by: @alice`, `**Requested by:** Alice (@alice)`).
pub(super) fn requested_by(body: &str) -> Vec<Login> {
    body.lines()
        .filter_map(requested_by_line)
        .flat_map(mentions)
        .collect()
}

fn requested_by_line(line: &str) -> Option<&str> {
    const LABEL: &str = "requested by";
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || "-*_>#".contains(c));
    let head = line.get(..LABEL.len())?;
    if !head.eq_ignore_ascii_case(LABEL) {
        return None;
    }
    line[LABEL.len()..]
        .trim_start_matches(['*', '_', ' '])
        .strip_prefix(':')
}

/// Each `@login` in a text; an `@` inside a word is an email address.
fn mentions(text: &str) -> Vec<Login> {
    let is_login_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.char_indices()
        .filter(|(i, c)| *c == '@' && !text[..*i].ends_with(|p: char| is_login_char(p) || p == '.'))
        .filter_map(|(i, _)| {
            let rest = &text[i + 1..];
            let end = rest.find(|c: char| !is_login_char(c)).unwrap_or(rest.len());
            Login::parse(&rest[..end]).ok()
        })
        .collect()
}

/// Identities without repeats: two are the same person when they share a
/// login, or an email address, or when one without a login is named as the
/// other's login (`Co-authored-by: alice <alice@example.com>` beside the
/// account `alice`), as [`Identity::is`] already takes them to be when it
/// keeps a requester from approving.
#[derive(Default)]
struct People(Vec<Identity>);

impl People {
    fn extend(&mut self, identities: impl IntoIterator<Item = Identity>) {
        identities.into_iter().for_each(|i| self.add(i));
    }

    fn add(&mut self, identity: Identity) {
        let named = |a: &Identity, b: &Identity| {
            a.login.is_none() && b.login.as_ref().is_some_and(|login| a.is(login))
        };
        let same = |known: &Identity| match (&known.login, &identity.login) {
            (Some(a), Some(b)) => a.same_as(b),
            _ if named(known, &identity) || named(&identity, known) => true,
            _ => !identity.email.is_empty() && known.email.eq_ignore_ascii_case(&identity.email),
        };
        match self.0.iter_mut().find(|known| same(known)) {
            Some(known) => known.fill_from(identity),
            None => self.0.push(identity),
        }
    }
}
