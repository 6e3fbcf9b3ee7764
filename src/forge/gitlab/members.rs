//! Who belongs to a group, and who maintains a project: approvers written
//! `group/subgroup`, and the default approvers of an unregistered agent
//! (the GitLab counterpart of a GitHub repository's admins). Both are
//! cached for a short while.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::client::{GitlabClient, GitlabError, project_path};
use crate::ids::{Login, TeamName};

pub use crate::forge::cache::DEFAULT_PEOPLE_TTL as DEFAULT_MEMBER_TTL;

/// GitLab's Maintainer access level; Owner is 50. Maintainers can change a
/// project's settings and protected branches, as a GitHub admin can.
pub const MAINTAINER_ACCESS: u32 = 40;

/// Pages of members read at most (10,000 members): a group larger than
/// that is not an approver list, and the read must end.
const MAX_MEMBER_PAGES: usize = 100;

/// Members by key (`group:<path>` or `maintainers:<project>`,
/// lowercased).
pub use crate::forge::cache::PeopleCache as MemberCache;

/// An item of `GET /groups/:id/members/all` or `/projects/:id/members/all`.
#[derive(Deserialize)]
pub(crate) struct Member {
    pub username: String,
    /// `active`, `blocked`, `deactivated`...
    #[serde(default)]
    pub state: Option<String>,
    /// `awaiting` for an invitation not yet accepted.
    #[serde(default)]
    pub membership_state: Option<String>,
    pub access_level: u32,
}

impl Member {
    fn active(&self) -> bool {
        self.state.as_deref().is_none_or(|s| s == "active")
            && self
                .membership_state
                .as_deref()
                .is_none_or(|s| s == "active")
    }
}

impl GitlabClient {
    /// Active members of each group (direct, inherited and shared), by
    /// the name as written; from the cache or one request per 100 members.
    /// A group that does not exist, or that the token cannot see, has no
    /// members: nobody can approve through it.
    pub async fn group_members(
        &self,
        groups: &[&TeamName],
    ) -> Result<BTreeMap<String, Vec<Login>>, GitlabError> {
        let mut out = BTreeMap::new();
        for group in groups {
            let key = format!("group:{}", group.key());
            let members = match self.members.get(&key) {
                Some(members) => members,
                None => {
                    let path = format!(
                        "/groups/{}/members/all",
                        crate::urls::encode(group.as_str())
                    );
                    let members = self.active_members(&path, 0).await?;
                    self.members.put(key, members.clone());
                    members
                }
            };
            out.insert(group.as_str().to_owned(), members);
        }
        Ok(out)
    }

    /// The project's Maintainers and Owners, inherited ones included: the
    /// default approvers when the policy names none.
    pub async fn project_maintainers(&self, project: &str) -> Result<Vec<Login>, GitlabError> {
        let key = format!("maintainers:{}", project.to_lowercase());
        if let Some(maintainers) = self.members.get(&key) {
            return Ok(maintainers);
        }
        let path = format!("{}/members/all", project_path(project)?);
        let maintainers = self.active_members(&path, MAINTAINER_ACCESS).await?;
        self.members.put(key, maintainers.clone());
        Ok(maintainers)
    }

    /// Active members at `min_access` or above; none when the group or
    /// project is not found.
    async fn active_members(&self, path: &str, min_access: u32) -> Result<Vec<Login>, GitlabError> {
        let members: Vec<Member> = match self.get_pages(path, MAX_MEMBER_PAGES).await {
            Ok((members, _)) => members,
            Err(e) if e.status() == Some(404) => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut logins: Vec<Login> = members
            .iter()
            .filter(|m| m.active() && m.access_level >= min_access)
            .filter_map(|m| Login::parse(&m.username).ok())
            .collect();
        // `members/all` lists someone once per path to membership.
        logins.sort_by_key(Login::key);
        logins.dedup_by(|a, b| a.same_as(b));
        Ok(logins)
    }
}
