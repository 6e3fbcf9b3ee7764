//! Notes Warrant writes on a merge request: its answers to override
//! commands (how to write one, why one did not count).

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::client::{GitlabClient, GitlabError, project_path};

impl GitlabClient {
    /// Writes `body` as a note on merge request `iid` of `project` (`POST
    /// /projects/:id/merge_requests/:iid/notes`).
    pub async fn post_note(&self, project: &str, iid: u64, body: &str) -> Result<(), GitlabError> {
        let path = format!("{}/merge_requests/{iid}/notes", project_path(project)?);
        self.send(Method::POST, &path, Some(&json!({ "body": body })))
            .await?;
        Ok(())
    }
}

/// The part of `GET /users/:id` Warrant reads.
#[derive(Deserialize)]
struct UserReply {
    #[serde(default)]
    bot: bool,
}

impl GitlabClient {
    /// Whether user `id` is a bot (`GET /users/:id`): a note event names
    /// its author without saying, and a bot never overrides a check.
    pub async fn user_is_bot(&self, id: u64) -> Result<bool, GitlabError> {
        let reply: UserReply = self.get(&format!("/users/{id}")).await?;
        Ok(reply.bot)
    }
}
