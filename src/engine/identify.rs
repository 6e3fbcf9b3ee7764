//! Agent identification (stub: being written).
use chrono::{DateTime, Utc};

use crate::ids::Login;
use crate::policy::Policy;

use super::{Account, AgentFinding, Change, Context};

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
    /// Whether this identity is the account `login`.
    pub fn is(&self, login: &Login) -> bool {
        let _ = login;
        todo!()
    }

    /// How to show it: `@login`, else the name, else the email.
    pub fn display(&self) -> String {
        todo!()
    }
}

pub fn identify(
    policy: &Policy,
    change: &Change,
    context: &Context,
    at: DateTime<Utc>,
) -> Identification {
    let _ = (policy, change, context, at);
    todo!()
}

/// Whether an account is an agent or bot: the forge says so, or a
/// registered agent or a catalog entry names it.
pub fn is_agent_account(policy: &Policy, account: &Account, context: &Context) -> bool {
    let _ = (policy, account, context);
    todo!()
}
