//! Parsing and validation (stub: being written).
use super::{Policy, PolicyErrors};

/// Parses and validates a policy. `file` is the name errors are reported under.
pub fn load(file: &str, text: &str) -> Result<Policy, PolicyErrors> {
    let _ = (file, text);
    todo!()
}

/// The JSON Schema of the policy file, generated from [`super::PolicyDocument`].
pub fn schema() -> serde_json::Value {
    todo!()
}
