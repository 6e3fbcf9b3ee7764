//! Retrying GitHub requests: the forge-neutral policy lives in
//! [`crate::forge::retry`], shared with the GitLab client; it is re-exported
//! here so that `forge::github::retry::RetryPolicy` keeps working.

pub use crate::forge::retry::{
    ApiStats, RateLimitHook, RequestHook, RetryPolicy, Sleeper, Verdict, tokio_sleeper,
};
