//! Overrides (break-glass) in the worker: an override command is answered
//! when it has no reason; otherwise it is stored, tied to the change's head
//! when it was written, and the change evaluated again, where the decision
//! applies it (`engine::apply_overrides`). A command that did not count is
//! answered with why, in one comment. An evaluation that an override
//! changed records `override_used` and raises `dev.warrant.override.used`
//! in the transaction that stores it.

use chrono::Utc;
use serde_json::json;

use super::adapter::Adapter;
use super::alerting::Previous;
use super::github::Github;
use super::gitlab::Gitlab;
use super::history::Subject;
use super::target::{NotAnApp, Target};
use super::work::{Action, Work};
use super::{Failure, Worker};
use crate::alerts::AlertType;
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::Forge;
use crate::engine::{Account, AccountKind, Conclusion, Decision, OverrideRequest, OverrideUse};
use crate::forge::comment::{HOW_TO_OVERRIDE, OverrideComment};
use crate::forge::github::client::InstallationId;
use crate::forge::gitlab::webhook::NoteEvent;
use crate::ids::{ChangeKey, CommitSha, RepoName};
use crate::store::ClaimedDelivery;
use crate::store::alerts::NewAlert;

/// An override command on a change, as a forge's adapter reads it.
pub(super) struct Command<'a, A: Adapter> {
    pub comment: &'a OverrideComment,
    pub key: ChangeKey,
    /// The change's head when the command was written, when the event
    /// says (GitLab's note events do; GitHub's comment events do not, and
    /// the head Warrant last evaluated stands for it).
    pub head: Option<CommitSha>,
    pub at: A::At,
}

impl Worker {
    /// Answers, or stores and applies, an override command.
    pub(super) async fn override_command<A: Adapter>(
        &self,
        forge: &A,
        command: Command<'_, A>,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        let Command {
            comment,
            key,
            head,
            at,
        } = command;
        if !comment.has_reason() {
            return answer(forge, &key, &at, HOW_TO_OVERRIDE).await;
        }
        let head = match head {
            Some(head) => Some(head),
            None => (self.store.last_head_sha(&key).await)
                .map_err(Failure::retry)?
                .and_then(|sha| CommitSha::parse(&sha).ok()),
        };
        let Some(head) = head else {
            let body = "Warrant has not evaluated this pull request yet, so it cannot tell which \
                        commit this override is for: wait for the `warrant` check, then give the \
                        override again.";
            return answer(forge, &key, &at, body).await;
        };
        let bot = forge.commenter_is_bot(comment).await;
        let request = request(comment, bot.map_err(Failure::retry)?, &head, delivery);
        (self.store)
            .record_override(&key, &request, &delivery.delivery_id)
            .await
            .map_err(Failure::retry)?;
        let target = Target {
            key,
            head_sha: head,
            base_sha: None,
            at,
        };
        self.evaluate(forge, &target, delivery)
            .await
            .map_err(Failure::retry)?;
        let decision = (self.store.last_decision(&target.key).await)
            .map_err(Failure::retry)?
            .and_then(|json| serde_json::from_str::<Decision>(&json).ok());
        match decision.and_then(|d| why_not(&d, &request)) {
            Some(why) => answer(forge, &target.key, &target.at, &why).await,
            None => Ok(()),
        }
    }

    /// The `override_used` events of an evaluation an override changed:
    /// one per override that lifted something, unless the change's last
    /// evaluation at this head already recorded it lifting the same.
    pub(super) fn override_events<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        decision: &Decision,
        previous: Option<&Previous>,
    ) -> Vec<NewAuditEvent> {
        let mut used: Vec<&OverrideUse> = (decision.overrides.iter())
            .filter(|u| !u.lifted.is_empty())
            .collect();
        if used.is_empty() {
            return Vec::new();
        }
        if let Some(before) = previous.and_then(|p| p.decision.as_ref()) {
            used.retain(|u| !before.overrides.contains(u));
        }
        let overridden = is_overridden(decision);
        used.into_iter()
            .map(|u| {
                let mut event = NewAuditEvent::new(
                    t.key.forge,
                    &t.key.repo,
                    EventKind::OverrideUsed,
                    Utc::now(),
                );
                event.change = Some(t.key.number);
                event.head_sha = Some(head.as_str().to_owned());
                event.base_sha = Some(decision.base_sha.as_str().to_owned());
                event.policy_blob = decision.policy.as_ref().map(|p| p.blob_id.clone());
                event.actor = Some(u.by.as_str().to_owned());
                event.decision = Some(decision.conclusion.as_str().to_owned());
                event
                    .with_detail("reason", u.reason.clone())
                    .with_detail("comment_id", u.comment_id)
                    .with_detail("lifted", json!(u.lifted))
                    .with_detail("check_overridden", overridden)
            })
            .collect()
    }

    /// `dev.warrant.override.used` for a check an override turned to
    /// `success`, once per head and title.
    pub(super) fn override_alert<X>(
        &self,
        t: &Target<X>,
        head: &CommitSha,
        decision: &Decision,
        previous: Option<&Previous>,
    ) -> Option<NewAlert> {
        let credited = (decision.overrides.iter().rev()).find(|u| !u.lifted.is_empty());
        let used = credited.filter(|_| is_overridden(decision))?;
        let before = previous.and_then(|p| p.decision.as_ref());
        if before.is_some_and(|b| b.conclusion == decision.conclusion && b.title == decision.title)
        {
            return None;
        }
        let lifted: Vec<_> = (decision.overrides.iter())
            .flat_map(|u| &u.lifted)
            .collect();
        let data = json!({
            "repository": t.key.repo.as_str(),
            "number": t.key.number,
            "head_sha": head.as_str(),
            "title": decision.title,
            "overrider": used.by.as_str(),
            "reason": used.reason,
            "comment_id": used.comment_id,
            "lifted": lifted,
            "page": self.audit_url(t),
        });
        self.raise_on(AlertType::OverrideUsed, &t.key, data)
    }
}

/// Writes Warrant's answer on the change; a forge error is retried with
/// the delivery.
async fn answer<A: Adapter>(
    forge: &A,
    key: &ChangeKey,
    at: &A::At,
    body: &str,
) -> Result<(), Failure> {
    forge.comment(key, at, body).await.map_err(Failure::retry)
}

/// The override as stored and decided on.
fn request(
    comment: &OverrideComment,
    bot: bool,
    head: &CommitSha,
    delivery: &ClaimedDelivery,
) -> OverrideRequest {
    OverrideRequest {
        comment_id: comment.comment_id,
        by: Account {
            login: comment.author.clone(),
            kind: if bot {
                AccountKind::Bot
            } else {
                AccountKind::User
            },
            id: comment.author_id,
        },
        reason: comment.reason.clone(),
        head_sha: head.clone(),
        at: comment.created_at.unwrap_or(delivery.received_at),
    }
}

/// Whether the check passed by an override.
fn is_overridden(decision: &Decision) -> bool {
    decision.conclusion == Conclusion::Success && decision.would_conclude != Conclusion::Success
}

/// Why the override `request` did not lift what blocks the change, in a
/// sentence for its author; `None` when it did, or when nothing blocks.
fn why_not(decision: &Decision, request: &OverrideRequest) -> Option<String> {
    if !request.head_sha.matches(&decision.head_sha) {
        return Some(format!(
            "This override was given on commit {}, and the change has moved on to {}: an \
             override holds for the commit it was given on. Give it again if the new head \
             needs it.",
            short(&request.head_sha),
            short(&decision.head_sha)
        ));
    }
    let blocks = matches!(
        decision.conclusion,
        Conclusion::Failure | Conclusion::ActionRequired
    );
    let used = (decision.overrides.iter()).find(|u| u.comment_id == request.comment_id);
    match used {
        Some(u) => match u.refused {
            Some(why) => Some(format!(
                "This override by @{} did not count: {}. The `warrant` check is unchanged.",
                u.by,
                why.describe()
            )),
            None if blocks => Some(format!(
                "This override counted, but it cannot lift what still blocks this change: {}.",
                decision.title
            )),
            None => None,
        },
        None if blocks => Some(
            "This override did not count: no policy that applies to this change names \
             `overrides.approvers`, so overrides are off here."
                .to_owned(),
        ),
        None => None,
    }
}

fn short(sha: &CommitSha) -> &str {
    sha.as_str().get(..7).unwrap_or(sha.as_str())
}

/// A GitHub comment event in the worker's terms.
pub(super) fn github_action(
    c: &crate::forge::github::webhook::CommentEvent,
) -> Result<Action<'_, Github>, NotAnApp> {
    let at = (c.installation_id.map(InstallationId)).ok_or(NotAnApp)?;
    Ok(Action::Override(Command {
        comment: &c.comment,
        key: ChangeKey::new(Forge::Github, c.repo.clone(), c.number),
        head: None,
        at,
    }))
}

/// A GitLab note event in the worker's terms: the note carries the merge
/// request's head when it was written.
pub(super) fn gitlab_work(
    note: &NoteEvent,
    repository: Option<(RepoName, u64)>,
) -> Work<'_, Gitlab> {
    Work {
        repository,
        subject: Some(note_subject(note)),
        change: None,
        approval: None,
        action: Action::Override(Command {
            comment: &note.comment,
            key: ChangeKey::new(Forge::Gitlab, note.project.clone(), note.iid),
            head: Some(note.head_sha.clone()),
            at: note.source_branch.clone(),
        }),
    }
}

/// What a note delivery is about, for its receipt.
pub(super) fn note_subject(note: &NoteEvent) -> Subject<'_> {
    Subject {
        repo: &note.project,
        change: Some(note.iid),
        head: Some(&note.head_sha),
        action: Some(json!("override")),
    }
}
