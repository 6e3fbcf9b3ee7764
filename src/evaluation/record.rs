//! What an evaluation read, recorded with it so that it can be decided
//! again exactly, without asking the forge: the change, the evaluation's
//! clock, the policy files, and each fact the policy asked for (teams,
//! admins, CODEOWNERS, the policy a change proposes). Stored as the
//! evaluation's `input`; the files' texts are stored once each, by their
//! SHA-256, since most evaluations of a repository read the same ones.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{Change, Context, OverrideRequest};
use crate::forge::{OrgPolicyFile, PolicyFile};
use crate::ids::{Login, RepoPath};
use crate::policy::Policy;

/// The version of the record's format written today.
pub const VERSION: u32 = 1;

/// The facts of one evaluation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub version: u32,
    /// The evaluation's clock.
    pub at: DateTime<Utc>,
    pub dismisses: bool,
    #[serde(default)]
    pub org_repository: bool,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<RecordedOrg>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<RecordedFile>,
    /// The CODEOWNERS file, when the policy asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codeowners: Option<Found>,
    /// The teams' members and Warrant's own accounts, as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    /// The repository's admins, when the decision needed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<Login>>,
    /// Files read at the head (the policies the change proposes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub head_files: Vec<HeadFile>,
    /// The override comments given at the head, when the decision asked
    /// for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<Vec<OverrideRequest>>,
}

/// The organisation policy as read: its repository and file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedOrg {
    pub repository: String,
    pub file: RecordedFile,
}

/// A file read, its text named by its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedFile {
    pub path: RepoPath,
    pub blob_id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub sha256: String,
}

impl RecordedFile {
    /// The policy this file holds, loaded (under `org`) from its kept
    /// text: none when the text is not kept, was cut short when read, or
    /// does not load.
    pub fn policy(&self, texts: &Texts, org: Option<&Policy>) -> Option<Policy> {
        if self.truncated {
            return None;
        }
        let text = texts.get(&self.sha256)?;
        crate::policy::load_under(self.path.as_str(), text, org).ok()
    }
}

/// A file looked for: what was found, if anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Found {
    pub file: Option<RecordedFile>,
}

/// A file looked for at the head among `paths`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadFile {
    pub paths: Vec<String>,
    pub file: Option<RecordedFile>,
}

/// Files' texts by SHA-256.
pub type Texts = HashMap<String, String>;

/// An evaluation's input as stored: the facts, or (for evaluations
/// recorded before the facts were kept) the change alone.
#[derive(Clone, Debug)]
pub enum Input {
    Facts(Box<Record>),
    ChangeOnly(Box<Change>),
}

impl Input {
    /// Reads a stored input.
    pub fn parse(json: &str) -> anyhow::Result<Input> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Facts(Box<Record>),
            ChangeOnly(Box<Change>),
        }
        Ok(match serde_json::from_str(json)? {
            Either::Facts(record) => Input::Facts(record),
            Either::ChangeOnly(change) => Input::ChangeOnly(change),
        })
    }

    pub fn change(&self) -> &Change {
        match self {
            Input::Facts(record) => &record.change,
            Input::ChangeOnly(change) => change,
        }
    }
}

impl Record {
    /// The SHA-256 of every text the record names.
    pub fn digests(&self) -> impl Iterator<Item = &str> {
        let org = self.org.as_ref().map(|o| &o.file);
        let codeowners = self.codeowners.as_ref().and_then(|f| f.file.as_ref());
        let heads = self.head_files.iter().filter_map(|h| h.file.as_ref());
        org.into_iter()
            .chain(self.repo.as_ref())
            .chain(codeowners)
            .chain(heads)
            .map(|f| f.sha256.as_str())
    }
}

/// Records files as they are read: each file's text is kept once, by its
/// SHA-256, for the store.
#[derive(Debug, Default)]
pub struct Recorder {
    pub texts: Texts,
}

impl Recorder {
    pub fn file(&mut self, file: &PolicyFile) -> RecordedFile {
        let sha256 = hex::encode(Sha256::digest(file.text.as_bytes()));
        self.texts
            .entry(sha256.clone())
            .or_insert_with(|| file.text.clone());
        RecordedFile {
            path: file.path.clone(),
            blob_id: file.blob_id.clone(),
            truncated: file.truncated,
            sha256,
        }
    }

    pub fn org(&mut self, org: &OrgPolicyFile) -> RecordedOrg {
        RecordedOrg {
            repository: org.repository.clone(),
            file: self.file(&org.file),
        }
    }
}

impl RecordedFile {
    /// The file again, with its text from `texts`.
    pub fn read(&self, texts: &Texts) -> Result<PolicyFile, Missing> {
        let text = texts.get(&self.sha256).ok_or_else(|| Missing {
            what: format!("the text of {} (sha256 {})", self.path, self.sha256),
        })?;
        Ok(PolicyFile {
            path: self.path.clone(),
            text: text.clone(),
            blob_id: self.blob_id.clone(),
            truncated: self.truncated,
        })
    }
}

impl RecordedOrg {
    pub fn read(&self, texts: &Texts) -> Result<OrgPolicyFile, Missing> {
        Ok(OrgPolicyFile {
            repository: self.repository.clone(),
            file: self.file.read(texts)?,
        })
    }
}

/// A fact the record does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the record does not hold {what}")]
pub struct Missing {
    pub what: String,
}
