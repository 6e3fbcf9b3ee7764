//! The built-in catalog of known coding agents and automation: the signals
//! each product leaves on a change, used by `match.builtin` in a policy and
//! to find unregistered agents.
//!
//! The catalog is data, not code: `agents.yml` beside this file, compiled
//! into the binary and parsed once on first use. Keeping it as data lets
//! reviewers read each entry with its source, and lets a new product be added
//! without touching the matching logic. `docs/catalog.md` explains it for
//! org admins.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::ids::{AgentId, Login};
use crate::signals::{LoginPattern, Signals, TextGlob, TrailerPattern};

/// The catalog's text, as shipped.
const CATALOG_YAML: &str = include_str!("agents.yml");

/// The domain of GitHub's noreply addresses, which every GitHub user and bot
/// has: a glob on it must name the account (`*+<login>@...`).
const GITHUB_NOREPLY_DOMAIN: &str = "@users.noreply.github.com";

/// One known product's signature.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    /// The id used in `match.builtin`.
    pub id: String,
    /// The product's name, for people.
    pub name: String,
    pub kind: EntryKind,
    /// How well the entry's signals are established.
    pub confidence: Confidence,
    pub signals: Signals,
    /// Where each fact came from, for reviewers of the catalog.
    pub source: String,
    /// Caveats about single signals (weak or unverified ones).
    pub notes: Vec<String>,
}

/// What a catalog entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// An AI agent that writes code.
    CodingAgent,
    /// Rule-based automation, such as dependency updates.
    Automation,
}

/// How an entry's signals were established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// In the vendor's own documentation or source.
    Verified,
    /// Seen in several independent public sources.
    Corroborated,
}

#[derive(Debug)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

impl Catalog {
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    pub fn get(&self, id: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.id == id)
    }
}

/// The catalog shipped with this build.
pub fn builtin() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
        parse(CATALOG_YAML).unwrap_or_else(|e| panic!("the built-in catalog is invalid: {e}"))
    });
    &CATALOG
}

/// The file's shape. Unknown keys are refused so that a typo in the data
/// (`login:` for `logins:`) cannot silently drop a signal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogDocument {
    entries: Vec<EntryDocument>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDocument {
    id: String,
    name: String,
    kind: EntryKind,
    confidence: Confidence,
    source: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    logins: Vec<Login>,
    #[serde(default)]
    account_ids: Vec<u64>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    trailers: Vec<String>,
    #[serde(default)]
    body_markers: Vec<String>,
    #[serde(default)]
    messages: Vec<String>,
    #[serde(default)]
    tools: Vec<String>,
}

/// Parses and checks catalog text. Separate from [`builtin`] so that tests
/// can feed it broken data.
fn parse(text: &str) -> Result<Catalog, String> {
    let document: CatalogDocument = marked_yaml::from_yaml(0, text).map_err(|e| e.to_string())?;
    let mut entries: Vec<CatalogEntry> = Vec::new();
    for doc in document.entries {
        let entry = compile(doc)?;
        if entries.iter().any(|e| e.id == entry.id) {
            return Err(format!("catalog id `{}` appears twice", entry.id));
        }
        entries.push(entry);
    }
    Ok(Catalog { entries })
}

fn compile(doc: EntryDocument) -> Result<CatalogEntry, String> {
    AgentId::parse(&doc.id).map_err(|e| e.to_string())?;
    let id = doc.id;
    for email in &doc.emails {
        check_noreply_anchor(&id, email)?;
    }
    let trailers = doc
        .trailers
        .iter()
        .map(|t| {
            TrailerPattern::parse(t)
                .ok_or_else(|| format!("catalog `{id}`: trailer `{t}` is not `Key: value-glob`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signals = Signals {
        logins: doc.logins.into_iter().map(LoginPattern::new).collect(),
        account_ids: doc.account_ids,
        emails: globs(&doc.emails),
        names: globs(&doc.names),
        trailers,
        body_markers: globs(&doc.body_markers),
        messages: globs(&doc.messages),
        tools: doc.tools,
    };
    if signals.is_empty() {
        return Err(format!("catalog `{id}` has no signal"));
    }
    Ok(CatalogEntry {
        id,
        name: doc.name,
        kind: doc.kind,
        confidence: doc.confidence,
        signals,
        source: doc.source,
        notes: doc.notes,
    })
}

fn globs(patterns: &[String]) -> Vec<TextGlob> {
    patterns.iter().map(|p| TextGlob::new(p)).collect()
}

/// Every GitHub account has a noreply address, so a glob on the domain would
/// match every commit made from the web: it must name the account, as
/// `*+<login>@users.noreply.github.com`.
fn check_noreply_anchor(id: &str, email: &str) -> Result<(), String> {
    let lower = email.to_ascii_lowercase();
    let Some(local) = lower.strip_suffix(GITHUB_NOREPLY_DOMAIN) else {
        if lower.contains("noreply.github.com") {
            return Err(format!(
                "catalog `{id}`: email `{email}` must end in `+<login>{GITHUB_NOREPLY_DOMAIN}`"
            ));
        }
        return Ok(());
    };
    let login = local.strip_prefix("*+").unwrap_or(local);
    if Login::parse(login).is_err() {
        return Err(format!(
            "catalog `{id}`: email `{email}` must be anchored on `*+<login>{GITHUB_NOREPLY_DOMAIN}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
