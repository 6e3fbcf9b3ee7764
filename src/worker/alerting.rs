//! The alerts an evaluation raises, queued in the transaction that records
//! it (see `docs/alerts.md`): a change blocked, once per head commit, and
//! an evaluation given up after its retries.

use chrono::Utc;
use serde_json::json;

use super::Worker;
use super::target::Target;
use crate::alerts::{Alert, AlertType};
use crate::engine::{Conclusion, Decision};
use crate::ids::CommitSha;
use crate::store::alerts::NewAlert;

impl Worker {
    /// `dev.warrant.change.blocked` for a decision that fails the check,
    /// unless the change's last evaluation already failed at this head: a
    /// re-evaluation that fails again is not news.
    pub(super) async fn blocked_alert<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        decision: &Decision,
    ) -> anyhow::Result<Option<NewAlert>> {
        if decision.conclusion != Conclusion::Failure {
            return Ok(None);
        }
        let last = self.store.last_recorded(&t.key).await?;
        let same_head = |sha: &str| CommitSha::parse(sha).is_ok_and(|sha| sha.matches(head));
        if last.is_some_and(|l| l.conclusion == "failure" && same_head(&l.head_sha)) {
            return Ok(None);
        }
        let violations: Vec<_> = (decision.violations.iter())
            .filter(|v| v.blocking)
            .map(|v| json!({ "kind": v.kind, "message": v.message, "paths": v.paths }))
            .collect();
        let data = json!({
            "repository": t.key.repo.as_str(),
            "number": t.key.number,
            "head_sha": head.as_str(),
            "title": decision.title,
            "violations": violations,
            "page": self.audit_url(t),
        });
        Ok(self.raise(AlertType::ChangeBlocked, t, data))
    }

    /// `dev.warrant.evaluation.failed`: the check failed closed after the
    /// last attempt.
    pub(super) fn failed_alert<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        error: &str,
    ) -> Option<NewAlert> {
        let data = json!({
            "repository": t.key.repo.as_str(),
            "number": t.key.number,
            "head_sha": head.as_str(),
            "error": error,
            "page": self.audit_url(t),
        });
        self.raise(AlertType::EvaluationFailed, t, data)
    }

    fn raise<X>(
        &self,
        kind: AlertType,
        t: &Target<X>,
        data: serde_json::Value,
    ) -> Option<NewAlert> {
        let subject = format!("{}:{}#{}", t.key.forge.as_str(), t.key.repo, t.key.number);
        self.config
            .alerts
            .queue(&Alert::new(kind, subject, Utc::now(), data))
    }
}
