//! The policies that apply to a change: the organisation's, parsed once
//! per blob id, and the repository's read under it. A policy that does not
//! load is a decision already made: `failure`, naming its file, line and
//! reason.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::codeowners::CodeownersFile;
use crate::engine::{self, Change, Decision, Policies, PolicySource};
use crate::forge::{OrgPolicyFile, PolicyFile, Teams};
use crate::ids::RepoPath;
use crate::policy::{
    self, AgentReviews, LoadedPolicy, OrgPolicy, Policy, PolicyError, PolicyErrors,
    UnregisteredAction,
};

/// The valid policies that apply to a change.
pub(crate) struct Applicable {
    pub(crate) org: Option<OrgPolicy>,
    pub(crate) repo: Option<LoadedPolicy>,
}

impl Applicable {
    pub(crate) fn policies(&self) -> Policies<'_> {
        Policies {
            org: self.org.as_ref(),
            repo: self.repo.as_ref(),
        }
    }

    /// Each policy, the organisation's first.
    fn each(&self) -> impl Iterator<Item = &LoadedPolicy> {
        self.org.iter().map(|o| &o.loaded).chain(self.repo.as_ref())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.org.is_none() && self.repo.is_none()
    }

    /// Whether any policy names override approvers: only then are the
    /// overrides given on a change read.
    pub(crate) fn allows_overrides(&self) -> bool {
        self.each()
            .any(|l| !l.policy.overrides.approvers.is_empty())
    }

    pub(crate) fn uses_codeowners(&self) -> bool {
        self.each().any(|l| l.policy.uses_codeowners())
    }

    /// The policy file whose place says the CODEOWNERS syntax (the
    /// repository's, else the organisation's).
    pub(crate) fn anchor(&self) -> Option<&RepoPath> {
        self.repo
            .as_ref()
            .or(self.org.as_ref().map(|o| &o.loaded))
            .map(|l| &l.path)
    }

    /// The blob id the repository's team hints are kept under.
    pub(crate) fn blob_id(&self) -> &str {
        self.repo
            .as_ref()
            .or(self.org.as_ref().map(|o| &o.loaded))
            .map_or("", |l| l.blob_id.as_str())
    }

    /// The teams every policy names, and those owning touched paths.
    pub(crate) fn teams(&self, codeowners: &CodeownersFile, change: &Change) -> Teams {
        let mut all = Teams::default();
        for loaded in self.each() {
            let teams = Teams::of(&loaded.policy, codeowners, change);
            all.resolve.extend(teams.resolve);
            all.remember.extend(teams.remember);
        }
        all.resolve.sort();
        all.resolve.dedup();
        all.remember.sort();
        all.remember.dedup();
        all
    }

    /// Whether a decision asks for the repository's admins: an
    /// unregistered agent escalated by a policy naming no approvers for
    /// it nor for its file, so that the default chain ends at the admins.
    pub(crate) fn admins_needed(&self, decision: &Decision) -> bool {
        let escalates_to_admins = |p: &Policy| {
            p.unregistered_agents.action == UnregisteredAction::Escalate
                && p.unregistered_agents.approvers.is_empty()
                && p.policy_file.approvers.is_empty()
        };
        self.each().any(|l| escalates_to_admins(&l.policy))
            && decision
                .agents
                .iter()
                .any(|a| a.status != engine::Registration::Registered)
    }

    /// Whether any policy asks for agents' approvals to be dismissed.
    pub(crate) fn dismisses(&self) -> bool {
        self.each()
            .any(|l| l.policy.approvals.agent_reviews == AgentReviews::Dismiss)
    }
}

/// Policies parsed, by their text (and, for a repository's, the text of
/// the organisation policy it was read under): a file read with every
/// change is parsed once per version in each process, and a replay of
/// many past changes under one proposal parses it once.
#[derive(Default)]
pub struct ParsedPolicies {
    parsed: Mutex<HashMap<Key, Parsed>>,
}

type Parsed = Arc<Result<Policy, PolicyErrors>>;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    path: String,
    text: String,
    truncated: bool,
    /// The organisation policy's text, for a file read under it.
    under: Option<String>,
}

/// Versions kept: an organisation and a few repositories per
/// installation, and the odd one just replaced. Past it the cache starts
/// again.
const KEPT: usize = 256;

impl ParsedPolicies {
    /// `file` loaded under `org` (its text and policy), parsed once.
    fn load(&self, file: &PolicyFile, org: Option<(&str, &Policy)>) -> Parsed {
        let key = Key {
            path: file.path.to_string(),
            text: file.text.clone(),
            truncated: file.truncated,
            under: org.map(|(text, _)| text.to_owned()),
        };
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = parsed.get(&key) {
            return found.clone();
        }
        if parsed.len() >= KEPT {
            parsed.clear();
        }
        let loaded = Arc::new(load_file(file, org.map(|(_, policy)| policy)));
        parsed.insert(key, loaded.clone());
        loaded
    }
}

/// Loads the policies of a change: the organisation's `org` and the
/// repository's `repo`, read at its base. Either may be absent; one that
/// does not load (or was cut short by the forge) is the decision, failing
/// closed.
pub(crate) fn load(
    cache: &ParsedPolicies,
    change: &Change,
    org: Option<&OrgPolicyFile>,
    repo: Option<&PolicyFile>,
    at: DateTime<Utc>,
) -> Result<Applicable, Box<Decision>> {
    let org_file = org;
    let org = match org {
        None => None,
        Some(found) => match &*cache.load(&found.file, None) {
            Ok(policy) => Some(OrgPolicy {
                repository: Some(found.repository.clone()),
                loaded: LoadedPolicy {
                    path: found.file.path.clone(),
                    blob_id: found.file.blob_id.clone(),
                    policy: policy.clone(),
                },
            }),
            Err(errors) => {
                let source = PolicySource {
                    repository: Some(found.repository.clone()),
                    path: found.file.path.clone(),
                    blob_id: found.file.blob_id.clone(),
                };
                return Err(Box::new(engine::invalid_org_policy(
                    change, source, errors, at,
                )));
            }
        },
    };
    let repo = match repo {
        None => None,
        Some(file) => {
            let under =
                (org.as_ref().zip(org_file)).map(|(o, f)| (f.file.text.as_str(), &o.loaded.policy));
            match &*cache.load(file, under) {
                Ok(policy) => Some(LoadedPolicy {
                    path: file.path.clone(),
                    blob_id: file.blob_id.clone(),
                    policy: policy.clone(),
                }),
                Err(errors) => {
                    let mut decision =
                        engine::invalid_policy(change, &file.path, &file.blob_id, errors, at);
                    decision.org_policy = org.as_ref().map(engine::org_source);
                    return Err(Box::new(decision));
                }
            }
        }
    };
    Ok(Applicable { org, repo })
}

/// A policy file loaded (under `org`); a file the forge cut short is an
/// error at its end rather than a policy missing its tail.
pub(crate) fn load_file(file: &PolicyFile, org: Option<&Policy>) -> Result<Policy, PolicyErrors> {
    if file.truncated {
        return Err(PolicyErrors(vec![PolicyError {
            file: file.path.to_string(),
            line: file.text.lines().count().max(1),
            column: 1,
            message: "the forge returned only part of this file (it is too large): \
                      Warrant applies a policy only whole"
                .into(),
        }]));
    }
    policy::load_under(file.path.as_str(), &file.text, org)
}
