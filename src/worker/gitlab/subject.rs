//! What a GitLab delivery is about (a merge request, a push, an override
//! note), for its receipt in the audit trail
//! and the repository's id.

use serde_json::json;

use super::super::history::Subject;
use crate::forge::gitlab::webhook::GitlabEvent;
use crate::ids::RepoName;

/// The receipt's subject: the merge request, or the push's project.
pub(super) fn subject(event: &GitlabEvent) -> Subject<'_> {
    match event {
        GitlabEvent::MergeRequest(mr) => Subject {
            repo: &mr.project,
            change: Some(mr.iid),
            head: Some(&mr.head_sha),
            action: Some(json!(mr.action)),
        },
        GitlabEvent::Push(push) => Subject {
            repo: &push.project,
            change: None,
            head: Some(&push.push.after),
            action: None,
        },
        GitlabEvent::Note(note) => super::super::overrides::note_subject(note),
    }
}

/// The project an event is about, by full path and GitLab's id, when the
/// payload says.
pub(super) fn project_identity(event: &GitlabEvent) -> Option<(&RepoName, u64)> {
    match event {
        GitlabEvent::MergeRequest(mr) => Some((&mr.project, mr.project_id?)),
        GitlabEvent::Push(push) => Some((&push.project, push.project_id?)),
        GitlabEvent::Note(note) => Some((&note.project, note.project_id?)),
    }
}
