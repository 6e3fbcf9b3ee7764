//! Speaking to the forges. Everything GitHub- or GitLab-shaped stays in
//! here: payloads and API responses are turned into Warrant's own types
//! (`engine::Change`, `webhook::GithubEvent`) at this edge.

pub mod cache;
pub mod check;
pub mod comment;
pub mod fake_server;
pub mod github;
pub mod gitlab;
pub(crate) mod http;
pub mod push;
pub mod retry;

use crate::codeowners::CodeownersFile;
use crate::engine::{Change, Forge};
use crate::ids::{RepoPath, TeamName};
use crate::policy::Policy;

/// A payload Warrant should understand but could not read. The message names
/// the event and serde's reason; it is meant for logs, not for the sender.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the `{event}` webhook payload: {source}")]
pub struct WebhookPayloadError {
    pub(crate) event: String,
    #[source]
    pub(crate) source: serde_json::Error,
}

/// What the webhook door makes of a signed payload, from one reading of
/// it: enough to decide whether to store it, no more (the worker reads the
/// stored body in full).
#[derive(Debug)]
pub enum Worth {
    /// An event and action a worker acts on.
    Store,
    /// Valid JSON that no worker would act on: a ping, an unknown event, an
    /// action that changes nothing Warrant decides.
    Ignore,
    /// Valid JSON of a known event in a shape Warrant cannot read: stored
    /// anyway, for the worker to record why it failed.
    Unreadable(WebhookPayloadError),
    /// Not JSON at all: no worker could ever read it.
    NotJson(serde_json::Error),
}

impl Worth {
    /// Judges a forge's reading of `payload`: `Ok(Some(worth))` for a known
    /// event, `Ok(None)` for an event it does not read (then only the
    /// syntax is checked), or why it could not be read.
    pub(crate) fn judge(
        event: &str,
        payload: &[u8],
        read: serde_json::Result<Option<bool>>,
    ) -> Worth {
        let syntax = || serde_json::from_slice::<serde::de::IgnoredAny>(payload).map(drop);
        match read {
            Ok(Some(true)) => Worth::Store,
            Ok(Some(false)) => Worth::Ignore,
            Ok(None) => syntax().map_or_else(Worth::NotJson, |()| Worth::Ignore),
            // serde stops at the first error: a shape error may hide a
            // syntax error further on, so the rare unreadable payload is
            // read once more.
            Err(err) if err.is_data() => match syntax() {
                Ok(()) => Worth::Unreadable(WebhookPayloadError {
                    event: event.to_owned(),
                    source: err,
                }),
                Err(syntax) => Worth::NotJson(syntax),
            },
            Err(err) => Worth::NotJson(err),
        }
    }
}

/// A policy (or CODEOWNERS) file read from the base commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFile {
    pub path: RepoPath,
    pub text: String,
    /// Its git blob id, as the decision records it.
    pub blob_id: String,
    /// Whether the forge returned only part of the file (GitHub returns
    /// at most about 512 kB of a blob's text): a truncated policy is
    /// refused, not applied.
    pub truncated: bool,
}

/// The organisation policy as a forge read it: the organisation's
/// repository (`acme/.github`) and the file at the head of its default
/// branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgPolicyFile {
    pub repository: String,
    pub file: PolicyFile,
}

/// Whether `repo` (`owner/name`, or a GitLab project's full path) is the
/// organisation's repository named `name`: directly under the owner or
/// top-level group.
pub fn is_org_repository(repo: &str, name: &str) -> bool {
    repo.split_once('/')
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(name))
}

/// The CODEOWNERS file the forge found beside the policy at `policy`,
/// parsed in the forge's syntax. A file the forge returned only in part
/// is refused (the decision fails closed), as a truncated policy is.
pub fn read_codeowners(
    file: Option<&PolicyFile>,
    forge: Forge,
    policy: &RepoPath,
) -> CodeownersFile {
    let Some(file) = file else {
        return CodeownersFile::Absent;
    };
    let flavour = forge.codeowners_flavour(&file.path, policy);
    if file.truncated {
        return CodeownersFile::truncated(&file.path, &file.blob_id);
    }
    CodeownersFile::read(&file.path, flavour, &file.text)
}

/// The teams of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teams {
    /// Resolved before deciding: the policy's, and those owning a touched
    /// path in CODEOWNERS.
    pub resolve: Vec<TeamName>,
    /// Remembered as the repository's hints: the policy's and every team
    /// CODEOWNERS names, so that the next evaluation, whatever it touches,
    /// resolves its teams in the query that reads the change.
    pub remember: Vec<String>,
}

impl Teams {
    pub fn of(policy: &Policy, codeowners: &CodeownersFile, change: &Change) -> Teams {
        let named = policy.teams();
        let mut resolve: Vec<TeamName> = named.iter().map(|t| (*t).clone()).collect();
        resolve.extend(codeowners.teams_owning(change.touched_paths()));
        resolve.sort();
        resolve.dedup();
        let mut remember: Vec<TeamName> = named.into_iter().cloned().collect();
        remember.extend(codeowners.teams());
        remember.sort();
        remember.dedup();
        Teams {
            resolve,
            remember: remember.iter().map(|t| t.as_str().to_owned()).collect(),
        }
    }
}
