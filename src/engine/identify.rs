//! Agent identification: which agents took part in a change, registered or
//! not, and which humans asked for it or wrote it.
//!
//! **Evidence.** Every signal is tested against what the change shows: the
//! account that opened it (kind `account`, the only *verified* evidence:
//! the forge says who opened the change), each commit's author and
//! committer (their linked account `commit_login`, `email` and `name`),
//! each commit trailer (`trailer`; for `Co-authored-by` the co-author's
//! address and name are tested against email and name signals too, since
//! squash merges credit agents that way), and each line of the body
//! (`body`). All but the change author are *declared*: anyone making a
//! commit can write them, and the forge links a commit to an account by its
//! email.
//!
//! **Claims.** A registered agent claims the evidence it matches. Evidence
//! is one *person* (the change author, or one commit's author or
//! committer, however many of their login, email and name match) or one
//! trailer or body line. A catalog entry that matches any evidence a
//! policy agent claims is that agent in this change, and its other matches
//! are credited to the agent (pattern `catalog <id>: ...`): an agent
//! registered by its trailer alone also owns its product's body line. The
//! first registered agent wins; an agent whose registration lapsed claims
//! only what no registered agent does, and its finding has status `lapsed`
//! so the decision treats it as unregistered, without a second
//! `catalog:<id>` finding for the same evidence.
//!
//! **Unregistered.** A catalog entry no policy agent claims is reported as
//! `catalog:<id>`; a bot account that no policy agent or catalog entry
//! recognises, other than Warrant's own accounts and GitHub's `web-flow`
//! committer, as `bot:<login>`.

mod evidence;
mod findings;
mod people;

use chrono::{DateTime, Utc};

use crate::catalog;
use crate::ids::Login;
use crate::policy::Registry;
use crate::signals::Signals;

use super::{Account, AgentFinding, Change, Context, Person};
use evidence::{Matcher, noreply_login};
use people::Facts;

/// Who took part in a change.
#[derive(Clone, Debug, Default)]
pub struct Identification {
    /// Registered agents (status `registered` or `lapsed`), then unregistered
    /// ones (catalog entries and bot accounts no registration claims).
    pub agents: Vec<AgentFinding>,
    /// The humans who asked an agent for the change.
    pub requesters: Vec<Identity>,
    /// Humans who authored, committed or co-authored commits in the change.
    pub contributors: Vec<Identity>,
}

/// A human as a commit or trailer names them: perhaps a login, perhaps only
/// a name and an email.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub login: Option<Login>,
    pub name: String,
    pub email: String,
}

impl Identity {
    /// An account known by its login only.
    pub fn login(login: Login) -> Self {
        Self {
            login: Some(login),
            ..Self::default()
        }
    }

    /// A commit's author or committer: the linked account's login, else the
    /// login of a GitHub noreply address.
    pub fn of_person(person: &Person) -> Self {
        let login = person.account.as_ref().map(|a| a.login.clone());
        Self {
            login: login.or_else(|| noreply_login(&person.email)),
            name: person.name.clone(),
            email: person.email.clone(),
        }
    }

    /// Whether this identity is the account `login`: the same login, or the
    /// login's GitHub noreply address, or a name equal to the login (ignoring
    /// case). This is deliberately conservative: it is used to exclude
    /// requesters and contributors from approving, and a false "same" only
    /// excludes one more approver, while a false "different" would let a
    /// contributor approve their own change.
    pub fn is(&self, login: &Login) -> bool {
        let same = |other: &Login| other.same_as(login);
        self.login.as_ref().is_some_and(same)
            || noreply_login(&self.email).as_ref().is_some_and(same)
            || (!self.name.is_empty() && self.name.to_lowercase() == login.key())
    }

    /// How to show it: `@login`, else the name, else the email.
    pub fn display(&self) -> String {
        match &self.login {
            Some(login) => format!("@{login}"),
            None if !self.name.is_empty() => self.name.clone(),
            None => self.email.clone(),
        }
    }

    /// Fills what this identity lacks from another view of the same person.
    fn fill_from(&mut self, other: Identity) {
        if self.login.is_none() {
            self.login = other.login;
        }
        if self.name.is_empty() {
            self.name = other.name;
        }
        if self.email.is_empty() {
            self.email = other.email;
        }
    }
}

/// Finds the agents in a change, and the humans who asked for it and wrote
/// it, under the policy's registrations as they stand at `at`.
pub fn identify<'a>(
    registry: impl Into<Registry<'a>>,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Identification {
    let registry = registry.into();
    let seen = evidence::observe(change);
    let found = findings::find(
        registry,
        &seen,
        Matcher::for_forge(change.forge),
        context,
        at,
    );
    let facts = Facts {
        registry,
        change,
        context,
        seen: &seen,
        found: &found,
    };
    let requesters = people::requesters(&facts);
    let contributors = people::contributors(&facts);
    Identification {
        agents: found.agents,
        requesters,
        contributors,
    }
}

/// Whether an account is an agent or bot: the forge says so, or a policy
/// agent (registered or lapsed) or a catalog entry names its login or id.
///
/// Ids are compared whatever the forge: this decides whose approvals never
/// count, and a false match there only refuses one more approval.
pub fn is_agent_account<'a>(
    registry: impl Into<Registry<'a>>,
    account: &Account,
    context: &Context,
) -> bool {
    let _ = context;
    let matcher = Matcher { compare_ids: true };
    let names = |signals: &Signals| matcher.account(signals, account).is_some();
    account.is_bot()
        || registry.into().agents().any(|a| names(&a.signals))
        || catalog::builtin()
            .entries()
            .iter()
            .any(|e| names(&e.signals))
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod declared_tests;
#[cfg(test)]
mod tests;
