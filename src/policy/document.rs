//! The policy file as written (stub: being written).

/// The policy file as written, before validation.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct PolicyDocument {}
