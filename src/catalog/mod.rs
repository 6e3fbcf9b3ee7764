//! The built-in catalog of known coding agents and automation (stub: being written).

use crate::signals::Signals;

/// One known product's signature.
#[derive(Clone, Debug)]
pub struct CatalogEntry {
    /// The id used in `match.builtin`.
    pub id: String,
    /// The product's name, for people.
    pub name: String,
    pub kind: EntryKind,
    pub signals: Signals,
    /// Where each fact came from, for reviewers of the catalog.
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    CodingAgent,
    Automation,
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
    todo!()
}
