//! Decisions as the engine records them, for tests that seed the store
//! directly rather than through the worker.

#![allow(dead_code)] // Each test crate uses a part.

use warrant::engine::Decision;

/// The base commit of every seeded decision.
pub const BASE: &str = "1111111111111111111111111111111111111111";

/// The head commit of change `n`.
pub fn head(n: u64) -> String {
    format!("{n:0>40}")
}

/// A decision as the engine serialises it: built from JSON, checked by
/// decoding it into the engine's type, and stored as serde writes it.
pub fn decision(repo: &str, number: u64, conclusion: &str, extra: serde_json::Value) -> String {
    let mut value = serde_json::json!({
        "conclusion": conclusion,
        "would_conclude": conclusion,
        "title": "title",
        "mode": "enforce",
        "evaluated_at": "2026-11-20T10:00:00Z",
        "forge": "github",
        "repository": repo,
        "number": number,
        "head_sha": head(number),
        "base_sha": BASE,
        "policy": {"path": ".github/warrant.yml", "blob_id": "b10b"},
        "agents": [],
        "requesters": [],
        "requirements": [],
        "violations": [],
        "elevations": [],
        "dismissals": [],
        "notes": []
    });
    for (key, v) in extra.as_object().unwrap() {
        value[key] = v.clone();
    }
    let decoded: Decision = serde_json::from_value(value).expect("a decision the engine reads");
    serde_json::to_string(&decoded).unwrap()
}
