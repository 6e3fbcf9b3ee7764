//! Unreviewed pushes as the repositories page and the overview show them:
//! agent commits that reached a default branch other than by a change's
//! merge (`push_unreviewed` events), each commit linked to the forge.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::PageError;
use crate::audit::AuditEvent;
use crate::server::AppState;
use crate::store::reports::Readable;

/// The most pushes a page lists.
pub(super) const SHOWN: usize = 50;

/// One unreviewed push, in words.
pub(super) struct PushView {
    pub when: String,
    pub forge: String,
    pub repo: String,
    pub pusher: String,
    pub git_ref: String,
    pub commits: Vec<CommitView>,
}

/// One agent commit of a push.
pub(super) struct CommitView {
    pub short: String,
    /// The commit on its forge.
    pub link: String,
    pub title: String,
    /// Each agent, `(registered)` or `(unregistered)`.
    pub agents: String,
}

/// The unreviewed pushes since `since` of the `readable` repositories,
/// newest first.
pub(super) async fn recent(
    state: &AppState,
    readable: &Readable,
    since: DateTime<Utc>,
) -> Result<Vec<PushView>, PageError> {
    let events = state
        .store()
        .unreviewed_pushes(readable, since, SHOWN)
        .await?;
    Ok(events.iter().map(|e| view(e, state.gitlab_url())).collect())
}

fn view(e: &AuditEvent, gitlab_url: &str) -> PushView {
    let ev = &e.event;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let commits = (ev.detail.get("commits").and_then(Value::as_array))
        .into_iter()
        .flatten()
        .map(|c| {
            let sha = text(&c["sha"]);
            let agents: Vec<String> = (c["agents"].as_array().into_iter().flatten())
                .map(|a| {
                    let registered = if a["registered"] == true {
                        "registered"
                    } else {
                        "unregistered"
                    };
                    format!("{} ({registered})", text(&a["id"]))
                })
                .collect();
            CommitView {
                short: sha.chars().take(7).collect(),
                link: commit_link(&ev.forge, &ev.repo, &sha, c["url"].as_str(), gitlab_url),
                title: text(&c["title"]),
                agents: agents.join(", "),
            }
        })
        .collect();
    PushView {
        when: super::view::time(ev.at),
        forge: ev.forge.clone(),
        repo: ev.repo.clone(),
        pusher: ev.actor.clone().unwrap_or_else(|| "unknown".to_owned()),
        git_ref: ev.detail.get("ref").map(text).unwrap_or_default(),
        commits,
    }
}

/// The commit on its forge: the address the push gave, or the usual one
/// (on GitLab under `gitlab_url`).
fn commit_link(
    forge: &str,
    repo: &str,
    sha: &str,
    given: Option<&str>,
    gitlab_url: &str,
) -> String {
    match given {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => url.to_owned(),
        _ if forge == "gitlab" => format!("{gitlab_url}/{repo}/-/commit/{sha}"),
        _ => format!("https://github.com/{repo}/commit/{sha}"),
    }
}

#[cfg(test)]
mod tests {
    use super::commit_link;

    #[test]
    fn a_commit_links_to_its_forge_and_never_to_a_script() {
        let gitlab = "https://gitlab.example.com";
        assert_eq!(
            commit_link("github", "acme/app", "abc", None, gitlab),
            "https://github.com/acme/app/commit/abc"
        );
        assert_eq!(
            commit_link("gitlab", "g/p", "abc", Some("javascript:alert(1)"), gitlab),
            "https://gitlab.example.com/g/p/-/commit/abc"
        );
        assert_eq!(
            commit_link("gitlab", "g/p", "abc", Some("https://gl.example/c"), gitlab),
            "https://gl.example/c"
        );
    }
}
