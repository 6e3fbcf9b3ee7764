//! The decision engine: pure functions from a change to a decision.
//!
//! Nothing here performs I/O or reads the clock. The forge adapters and the
//! CLI gather a [`Change`], its [`Context`] and the [`LoadedPolicy`] read
//! from the base commit, pick the evaluation time, and call [`decide`].

mod change;
mod decide;
mod decision;
mod identify;
pub mod render;

pub use change::{
    Account, AccountKind, Change, ChangedFile, Commit, Context, Forge, Person, Review, ReviewState,
};
pub use decide::{
    Lifted, OverrideRefusal, OverrideRequest, OverrideUse, Policies, Proposal, apply_overrides,
    decide, decide_under, invalid_org_policy, invalid_policy, not_configured, org_source,
    overridden_title, review_proposal,
};
pub use decision::*;
pub use identify::{Identification, Identity, identify, is_agent_account};

use chrono::{DateTime, Utc};

use crate::policy::LoadedPolicy;

/// Everything one evaluation needs.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation<'a> {
    pub policy: &'a LoadedPolicy,
    pub change: &'a Change,
    pub context: &'a Context,
    /// The evaluation's clock (rule 0: registrations and elevations).
    pub at: DateTime<Utc>,
}
