//! The rules (stub).
use super::{Decision, Evaluation};
pub fn decide(e: &Evaluation) -> Decision { let _ = e; todo!() }
pub fn not_configured() -> Decision { todo!() }
pub fn invalid_policy() -> Decision { todo!() }
