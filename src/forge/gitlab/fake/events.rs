//! GitLab webhook deliveries for tests: `Merge Request Hook` and `Push
//! Hook` payloads shaped like GitLab's documented examples
//! (`shared/fixtures/gitlab-webhooks`), built from a [`FakeMergeRequest`]
//! and the acting user, and a sender that delivers them with GitLab's
//! headers.

use serde_json::{Value, json};

use super::{FakeMergeRequest, FakeUser};
use crate::forge::fake_server::guid;

/// What happened to the merge request, as GitLab's `object_attributes.action`
/// says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookAction {
    Open,
    Reopen,
    /// `update` with `oldrev`: new commits, the source branch was at
    /// `oldrev` before.
    NewCommits {
        oldrev: String,
    },
    /// `update` without `oldrev`: the title or another attribute changed.
    Update,
    Approved,
    Approval,
    Unapproved,
    Unapproval,
    Merge {
        merge_commit_sha: String,
    },
    Close,
}

impl HookAction {
    fn name(&self) -> &'static str {
        match self {
            HookAction::Open => "open",
            HookAction::Reopen => "reopen",
            HookAction::NewCommits { .. } | HookAction::Update => "update",
            HookAction::Approved => "approved",
            HookAction::Approval => "approval",
            HookAction::Unapproved => "unapproved",
            HookAction::Unapproval => "unapproval",
            HookAction::Merge { .. } => "merge",
            HookAction::Close => "close",
        }
    }

    fn state(&self) -> &'static str {
        match self {
            HookAction::Merge { .. } => "merged",
            HookAction::Close => "closed",
            _ => "opened",
        }
    }
}

fn project(path: &str, default_branch: &str) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    let web = format!("https://gitlab.example.com/{path}");
    json!({
        "id": 1,
        "name": name,
        "description": "",
        "web_url": web,
        "avatar_url": null,
        "git_ssh_url": format!("git@gitlab.example.com:{path}.git"),
        "git_http_url": format!("{web}.git"),
        "namespace": path.split('/').next().unwrap_or(path),
        "visibility_level": 0,
        "path_with_namespace": path,
        "default_branch": default_branch,
        "homepage": web,
        "url": format!("git@gitlab.example.com:{path}.git"),
        "ssh_url": format!("git@gitlab.example.com:{path}.git"),
        "http_url": format!("{web}.git"),
    })
}

fn user(user: &FakeUser) -> Value {
    json!({
        "id": user.id,
        "name": user.username,
        "username": user.username,
        "avatar_url": null,
        "email": "[REDACTED]",
    })
}

/// A `Merge Request Hook` payload: `actor` did `action` to `mr`. The
/// project's default branch is taken to be the target branch.
pub fn merge_request_hook(mr: &FakeMergeRequest, actor: &FakeUser, action: &HookAction) -> Value {
    let head_message = mr
        .commits
        .last()
        .map(|c| c.message.clone())
        .unwrap_or_default();
    let url = mr.web_url.clone().unwrap_or_else(|| {
        format!(
            "https://gitlab.example.com/{}/-/merge_requests/{}",
            mr.project, mr.iid
        )
    });
    let project = project(&mr.project, &mr.target_branch);
    let mut attributes = json!({
        "id": 100_000 + mr.iid,
        "iid": mr.iid,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "source_project_id": 1,
        "target_project_id": 1,
        "author_id": mr.author_id,
        "assignee_ids": mr.assignee_ids,
        "assignee_id": mr.assignee_ids.first(),
        "reviewer_ids": [],
        "title": mr.title,
        "description": mr.description,
        "created_at": "2024-05-13 07:26:38 UTC",
        "updated_at": "2024-05-14 03:38:31 UTC",
        "state": action.state(),
        "draft": mr.draft,
        "work_in_progress": mr.draft,
        "merge_status": "can_be_merged",
        "detailed_merge_status": "mergeable",
        "url": url,
        "source": project,
        "target": project,
        "last_commit": {
            "id": mr.head_sha,
            "message": head_message,
            "title": head_message.lines().next().unwrap_or_default(),
            "timestamp": "2024-05-13T09:46:39+00:00",
            "url": format!("https://gitlab.example.com/{}/-/commit/{}", mr.project, mr.head_sha),
            "author": { "name": "Author", "email": "author@example.com" },
        },
        "labels": [],
        "action": action.name(),
    });
    match action {
        HookAction::NewCommits { oldrev } => attributes["oldrev"] = json!(oldrev),
        HookAction::Merge { merge_commit_sha } => {
            attributes["merge_commit_sha"] = json!(merge_commit_sha)
        }
        _ => {}
    }
    json!({
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": user(actor),
        "project": project,
        "repository": {
            "name": mr.project.rsplit('/').next().unwrap_or(&mr.project),
            "url": format!("git@gitlab.example.com:{}.git", mr.project),
            "description": "",
            "homepage": format!("https://gitlab.example.com/{}", mr.project),
        },
        "object_attributes": attributes,
        "labels": [],
        "changes": {},
        "assignees": [],
        "reviewers": [],
    })
}

/// A `Note Hook` payload: `author` wrote `body` (note `id`) on `mr`, at
/// its current head, in the shape of GitLab's `note.merge_request` event.
pub fn note_hook(mr: &FakeMergeRequest, author: &FakeUser, id: u64, body: &str) -> Value {
    let mut hook = merge_request_hook(mr, author, &HookAction::Update);
    let project = hook["project"].clone();
    let mut merge_request = hook["object_attributes"].take();
    if let Some(mr) = merge_request.as_object_mut() {
        mr.remove("action");
    }
    let url = format!(
        "https://gitlab.example.com/{}/-/merge_requests/{}#note_{id}",
        mr.project, mr.iid
    );
    json!({
        "object_kind": "note",
        "event_type": "note",
        "user": user(author),
        "project_id": project["id"],
        "project": project,
        "repository": hook["repository"],
        "object_attributes": {
            "id": id,
            "note": body,
            "noteable_type": "MergeRequest",
            "author_id": author.id,
            "created_at": "2024-05-14 03:40:00 UTC",
            "updated_at": "2024-05-14 03:40:00 UTC",
            "project_id": project["id"],
            "commit_id": "",
            "noteable_id": 100_000 + mr.iid,
            "system": false,
            "action": "create",
            "url": url,
        },
        "merge_request": merge_request,
    })
}

/// A `Push Hook` payload: `pusher` moved `git_ref` (`refs/heads/main`) of
/// `project` from `before` to `after` with one commit that modified
/// `modified`.
pub fn push_hook(
    project_path: &str,
    default_branch: &str,
    git_ref: &str,
    (before, after): (&str, &str),
    pusher: &FakeUser,
    modified: &[&str],
) -> Value {
    json!({
        "object_kind": "push",
        "event_name": "push",
        "before": before,
        "after": after,
        "ref": git_ref,
        "ref_protected": true,
        "checkout_sha": after,
        "user_id": pusher.id,
        "user_name": pusher.username,
        "user_username": pusher.username,
        "user_email": "",
        "user_avatar": null,
        "project_id": 1,
        "project": project(project_path, default_branch),
        "commits": [{
            "id": after,
            "message": "Update the policy\n",
            "title": "Update the policy",
            "timestamp": "2024-05-13T09:46:39+00:00",
            "url": format!("https://gitlab.example.com/{project_path}/-/commit/{after}"),
            "author": { "name": pusher.username, "email": "pusher@example.com" },
            "added": [],
            "modified": modified,
            "removed": [],
        }],
        "total_commits_count": 1,
        "repository": {
            "name": project_path.rsplit('/').next().unwrap_or(project_path),
            "url": format!("git@gitlab.example.com:{project_path}.git"),
            "description": "",
            "homepage": format!("https://gitlab.example.com/{project_path}"),
            "visibility_level": 0,
        },
    })
}

/// Delivers payloads as GitLab does: `X-Gitlab-Event`, the secret token in
/// `X-Gitlab-Token`, a fresh `X-Gitlab-Event-UUID`, and an
/// `Idempotency-Key` when given.
#[derive(Clone, Debug)]
pub struct GitlabWebhookSender {
    /// The webhook endpoint, e.g. `http://127.0.0.1:PORT/webhooks/gitlab`.
    pub url: String,
    pub secret: String,
}

impl GitlabWebhookSender {
    /// Sends a `Merge Request Hook` or `Push Hook` (or any event name).
    pub async fn send(
        &self,
        event: &str,
        payload: &Value,
        idempotency_key: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("X-Gitlab-Event", event)
            .header("X-Gitlab-Token", &self.secret)
            .header("X-Gitlab-Event-UUID", event_uuid())
            .body(payload.to_string());
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        req.send().await
    }
}

/// A random version 4 UUID, as GitLab names each delivery.
fn event_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    guid(&hex::encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::gitlab::webhook::{GitlabEvent, MergeRequestAction, parse};

    fn mr() -> FakeMergeRequest {
        FakeMergeRequest {
            project: "group/sub/project".into(),
            iid: 7,
            title: "Add a thing".into(),
            author_id: 5,
            head_sha: "a".repeat(40),
            base_sha: "b".repeat(40),
            source_branch: "feature".into(),
            target_branch: "main".into(),
            ..Default::default()
        }
    }

    fn alice() -> FakeUser {
        FakeUser {
            id: 5,
            username: "alice".into(),
            bot: false,
        }
    }

    fn parsed(payload: &Value) -> crate::forge::gitlab::webhook::MergeRequestEvent {
        let bytes = serde_json::to_vec(payload).unwrap();
        match parse("Merge Request Hook", &bytes).unwrap() {
            Some(GitlabEvent::MergeRequest(event)) => event,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_merge_request_action_parses_as_warrant_reads_it() {
        let cases = [
            (HookAction::Open, MergeRequestAction::Open),
            (HookAction::Reopen, MergeRequestAction::Reopen),
            (
                HookAction::NewCommits {
                    oldrev: "c".repeat(40),
                },
                MergeRequestAction::NewCommits,
            ),
            (HookAction::Update, MergeRequestAction::Update),
            (HookAction::Approved, MergeRequestAction::Approved),
            (HookAction::Approval, MergeRequestAction::Approval),
            (HookAction::Unapproved, MergeRequestAction::Unapproved),
            (HookAction::Unapproval, MergeRequestAction::Unapproval),
            (
                HookAction::Merge {
                    merge_commit_sha: "d".repeat(40),
                },
                MergeRequestAction::Merge,
            ),
            (HookAction::Close, MergeRequestAction::Close),
        ];
        for (action, expected) in cases {
            let event = parsed(&merge_request_hook(&mr(), &alice(), &action));
            assert_eq!(event.action, expected, "{action:?}");
            assert_eq!(event.project, "group/sub/project");
            assert_eq!(event.iid, 7);
            assert_eq!(event.head_sha.as_str(), "a".repeat(40));
            assert_eq!(event.actor.as_deref(), Some("alice"));
            assert_eq!(event.author_id, Some(5));
        }
    }

    #[test]
    fn a_merge_carries_its_merge_commit() {
        let merge = HookAction::Merge {
            merge_commit_sha: "d".repeat(40),
        };
        let event = parsed(&merge_request_hook(&mr(), &alice(), &merge));
        assert_eq!(
            event.merge_commit_sha.map(|s| s.as_str().to_owned()),
            Some("d".repeat(40))
        );
    }

    #[test]
    fn a_push_of_the_policy_to_the_default_branch_parses_and_needs_processing() {
        let payload = push_hook(
            "group/sub/project",
            "main",
            "refs/heads/main",
            (&"1".repeat(40), &"2".repeat(40)),
            &alice(),
            &[".gitlab/warrant.yml"],
        );
        let bytes = serde_json::to_vec(&payload).unwrap();
        let event = parse("Push Hook", &bytes).unwrap().unwrap();
        assert!(event.needs_processing());
        let GitlabEvent::Push(push) = event else {
            panic!("not a push")
        };
        assert_eq!(push.push.changed_paths, [".gitlab/warrant.yml"]);
        assert_eq!(push.push.pusher.as_deref(), Some("alice"));
    }

    #[test]
    fn event_uuids_are_version_4() {
        let id = event_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
