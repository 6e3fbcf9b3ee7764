//! The committed JSON Schema (`docs/warrant.schema.json`) is what editors
//! validate policy files against: it must be the one this build generates.

use std::path::Path;

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/warrant.schema.json");

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&warrant::policy::schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn the_committed_schema_is_current() {
    let fresh = generated();
    if std::env::var_os("WARRANT_BLESS").is_some() {
        std::fs::write(SCHEMA_FILE, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(Path::new(SCHEMA_FILE)).unwrap_or_default();
    assert!(
        committed == fresh,
        "docs/warrant.schema.json is stale: regenerate it with\n\n    \
         WARRANT_BLESS=1 cargo test --test policy_schema\n\nand commit the result"
    );
}

#[test]
fn the_schema_is_draft_2020_12_and_closed() {
    let schema = warrant::policy::schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["version"]["const"], 1);
}
