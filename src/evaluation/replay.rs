//! A recorded evaluation decided again from its facts alone: to check that
//! a stored decision followed from its recorded facts (`warrant audit
//! replay`), or to see what a proposed policy would have decided instead
//! ([`super::simulate`]). Nothing here asks the forge.

use std::sync::Mutex;

use serde_json::Value;

use super::record::{Missing, Record, Texts};
use super::{Applicable, Facts, Inputs, ParsedPolicies};
use crate::engine::{Context, Decision, OverrideRequest};
use crate::forge::{OrgPolicyFile, PolicyFile, Teams};
use crate::ids::Login;

/// Policies to decide under in place of the recorded ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct Instead<'a> {
    pub repo: Option<&'a PolicyFile>,
    pub org: Option<&'a OrgPolicyFile>,
}

/// A decision made again, and the facts it asked for that the record
/// does not hold (a proposed policy naming a team the recorded one did
/// not): each stood in as absent.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub decision: Decision,
    pub unrecorded: Vec<String>,
}

/// Decides the change `record` holds again, under its recorded policies
/// or those `instead` names. With `exact`, a fact the record does not
/// hold is an error rather than absent.
pub(crate) async fn decide(
    record: &Record,
    texts: &Texts,
    cache: &ParsedPolicies,
    instead: Instead<'_>,
    exact: bool,
) -> anyhow::Result<Replayed> {
    let org = match (instead.org, &record.org) {
        (Some(org), _) => Some(org.clone()),
        (None, Some(recorded)) => Some(recorded.read(texts)?),
        (None, None) => None,
    };
    let repo = match (instead.repo, &record.repo) {
        (Some(repo), _) => Some(repo.clone()),
        (None, Some(recorded)) => Some(recorded.read(texts)?),
        (None, None) => None,
    };
    let facts = Recorded {
        record,
        texts,
        exact,
        unrecorded: Mutex::default(),
    };
    let inputs = Inputs {
        change: &record.change,
        org: org.as_ref(),
        repo: repo.as_ref(),
        at: record.at,
        dismisses: record.dismisses,
        org_repository: record.org_repository,
    };
    let decision = super::decide(&facts, cache, inputs).await?;
    let unrecorded = facts.unrecorded.into_inner().unwrap_or_default();
    Ok(Replayed {
        decision,
        unrecorded,
    })
}

/// The facts of a record, as the evaluation asks for them.
struct Recorded<'a> {
    record: &'a Record,
    texts: &'a Texts,
    exact: bool,
    unrecorded: Mutex<Vec<String>>,
}

impl Recorded<'_> {
    /// A fact the record does not hold: an error when replaying exactly,
    /// else noted and taken as absent.
    fn unrecorded(&self, what: String) -> anyhow::Result<()> {
        if self.exact {
            return Err(Missing { what }.into());
        }
        let mut unrecorded = self.unrecorded.lock().unwrap_or_else(|e| e.into_inner());
        if !unrecorded.contains(&what) {
            unrecorded.push(what);
        }
        Ok(())
    }
}

impl Facts for Recorded<'_> {
    async fn codeowners(&self) -> anyhow::Result<Option<PolicyFile>> {
        match &self.record.codeowners {
            Some(found) => Ok(found
                .file
                .as_ref()
                .map(|f| f.read(self.texts))
                .transpose()?),
            None => {
                self.unrecorded("the CODEOWNERS file".to_owned())?;
                Ok(None)
            }
        }
    }

    async fn context(&self, _loaded: &Applicable, teams: &Teams) -> anyhow::Result<Context> {
        let Some(context) = &self.record.context else {
            self.unrecorded("Warrant's own accounts and the teams' members".to_owned())?;
            return Ok(Context::default());
        };
        for team in &teams.resolve {
            let key = team.key();
            if !context.teams.keys().any(|k| k.to_lowercase() == key) {
                self.unrecorded(format!("the members of {team}"))?;
            }
        }
        Ok(context.clone())
    }

    async fn admins(&self) -> anyhow::Result<Vec<Login>> {
        match &self.record.admins {
            Some(admins) => Ok(admins.clone()),
            None => {
                self.unrecorded("the repository's admins".to_owned())?;
                Ok(Vec::new())
            }
        }
    }

    async fn head_file(&self, paths: &[&str]) -> anyhow::Result<Option<PolicyFile>> {
        let found = (self.record.head_files.iter()).find(|h| h.paths.iter().eq(paths.iter()));
        match found {
            Some(head) => Ok(head.file.as_ref().map(|f| f.read(self.texts)).transpose()?),
            None => {
                self.unrecorded(format!("{} at the head", paths.join(" or ")))?;
                Ok(None)
            }
        }
    }

    /// A decision recorded before overrides were read had none to read:
    /// it blocked under a policy without override approvers.
    async fn overrides(&self) -> anyhow::Result<Vec<OverrideRequest>> {
        match &self.record.overrides {
            Some(overrides) => Ok(overrides.clone()),
            None => {
                self.unrecorded("the overrides given at the head".to_owned())?;
                Ok(Vec::new())
            }
        }
    }
}

/// Whether a stored decision is the one its recorded facts lead to.
#[derive(Clone, Debug)]
pub struct Reproduction {
    pub replayed: Decision,
    /// The first place the two differ, if they do.
    pub difference: Option<Difference>,
}

/// Where a replayed decision first departs from the stored one.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// A JSON pointer into the decision (`/requirements/0/satisfied`).
    pub at: String,
    pub recorded: Option<Value>,
    pub replayed: Option<Value>,
}

/// Decides `record` again, exactly, and compares the result with the
/// decision stored beside it. The simulation a policy change carries
/// (`proposed[].replay`) is left out of the comparison: it was decided
/// from other changes' records, as they stood then.
pub async fn reproduce(
    record: &Record,
    texts: &Texts,
    stored: &str,
) -> anyhow::Result<Reproduction> {
    let cache = ParsedPolicies::default();
    let replayed = decide(record, texts, &cache, Instead::default(), true)
        .await?
        .decision;
    let mut recorded: Value = serde_json::from_str(stored)?;
    let mut again = serde_json::to_value(&replayed)?;
    for value in [&mut recorded, &mut again] {
        without_simulations(value);
    }
    let difference = first_difference("", Some(&recorded), Some(&again));
    Ok(Reproduction {
        replayed,
        difference,
    })
}

fn without_simulations(decision: &mut Value) {
    if let Some(Value::Array(proposed)) = decision.get_mut("proposed") {
        for p in proposed.iter_mut().filter_map(Value::as_object_mut) {
            p.remove("replay");
        }
    }
}

/// The first place, in document order, where `a` and `b` differ.
fn first_difference(at: &str, a: Option<&Value>, b: Option<&Value>) -> Option<Difference> {
    let differ = || {
        Some(Difference {
            at: at.to_owned(),
            recorded: a.cloned(),
            replayed: b.cloned(),
        })
    };
    let (Some(a), Some(b)) = (a, b) else {
        return (a.is_some() || b.is_some()).then(differ).flatten();
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k)));
            keys.into_iter().find_map(|k| {
                let at = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                first_difference(&at, x.get(k), y.get(k))
            })
        }
        (Value::Array(x), Value::Array(y)) => (0..x.len().max(y.len()))
            .find_map(|i| first_difference(&format!("{at}/{i}"), x.get(i), y.get(i))),
        (x, y) if x == y => None,
        _ => differ(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_first_difference_is_named_by_a_pointer() {
        let a = json!({"conclusion": "failure", "requirements": [{"satisfied": true}]});
        let b = json!({"conclusion": "failure", "requirements": [{"satisfied": false}]});
        let d = first_difference("", Some(&a), Some(&b)).expect("they differ");
        assert_eq!(d.at, "/requirements/0/satisfied");
        assert_eq!(d.recorded, Some(json!(true)));
        assert_eq!(d.replayed, Some(json!(false)));
        assert!(first_difference("", Some(&a), Some(&a)).is_none());
    }

    #[test]
    fn a_key_only_one_side_has_is_a_difference() {
        let a = json!({"notes": []});
        let b = json!({"notes": [], "proposed": [1]});
        let d = first_difference("", Some(&a), Some(&b)).expect("they differ");
        assert_eq!(d.at, "/proposed");
        assert_eq!(d.recorded, None);
        let short = json!({"notes": ["x", "y"]});
        let d = first_difference("", Some(&a), Some(&short)).expect("they differ");
        assert_eq!(d.at, "/notes/0");
    }
}
