//! Team membership, for approvals and ownership by team. Every team the
//! policy names is resolved in one GraphQL query (one alias per team), and
//! the answer is cached for a short while.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{GithubClient, GithubError, InstallationId};
use crate::ids::{Login, TeamName};

/// Team members by team (`org/slug`, lowercased) and repository admins
/// (`admins:owner/name`, which no team key can spell).
pub use crate::forge::cache::{DEFAULT_PEOPLE_TTL as DEFAULT_TEAM_TTL, PeopleCache as TeamCache};

const TEAM_MEMBERS_QUERY: &str =
    "query WarrantTeamMembers($org: String!, $slug: String!, $after: String) {
  organization(login: $org) {
    team(slug: $slug) {
      members(first: 100, after: $after, membership: ALL) {
        pageInfo { hasNextPage endCursor }
        nodes { login }
      }
    }
  }
}";

/// `, $o0: String!, $s0: String!, ...` for `count` teams.
pub(crate) fn team_params(count: usize) -> String {
    (0..count)
        .map(|i| format!(", $o{i}: String!, $s{i}: String!"))
        .collect()
}

/// One alias per team: `t0: organization(login: $o0) { team(slug: $s0) ... }`,
/// each with `directive` (for example an `@include`).
pub(crate) fn team_fields(count: usize, directive: &str) -> String {
    (0..count)
        .map(|i| {
            format!(
                "  t{i}: organization(login: $o{i}){directive} {{ team(slug: $s{i}) {{ members(first: 100, membership: ALL) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ login }} }} }} }}\n"
            )
        })
        .collect()
}

fn teams_query(count: usize) -> String {
    let params = team_params(count);
    format!(
        "query WarrantTeams({}) {{\n{}}}",
        params.trim_start_matches(", "),
        team_fields(count, "")
    )
}

/// Sets `oN`/`sN` for each team.
pub(crate) fn team_vars(teams: &[&TeamName], vars: &mut Map<String, Value>) {
    for (i, team) in teams.iter().enumerate() {
        let (org, slug) = split(team);
        vars.insert(format!("o{i}"), json!(org));
        vars.insert(format!("s{i}"), json!(slug));
    }
}

#[derive(Deserialize)]
struct Org {
    team: Option<Team>,
}

#[derive(Deserialize)]
struct Team {
    members: Members,
}

#[derive(Deserialize)]
struct Members {
    #[serde(rename = "pageInfo")]
    page_info: super::graphql::PageInfo,
    nodes: Vec<MemberNode>,
}

/// A team member: GraphQL's node and REST's `simple-user` both have a
/// `login`.
#[derive(Deserialize)]
pub(crate) struct MemberNode {
    pub login: String,
}

impl Members {
    fn logins(&self) -> impl Iterator<Item = Login> + '_ {
        self.nodes
            .iter()
            .filter_map(|n| Login::parse(&n.login).ok())
    }
}

impl GithubClient {
    /// The repository's administrators: the default approvers of an
    /// unregistered agent when the policy names none. One request (per 100
    /// admins) with the app's `metadata: read` permission, then cached as
    /// long as team members are.
    pub async fn repository_admins(
        &self,
        installation: InstallationId,
        repo: &str,
    ) -> Result<Vec<Login>, GithubError> {
        let key = format!("admins:{}", repo.to_ascii_lowercase());
        if let Some(admins) = self.teams.get(&key) {
            return Ok(admins);
        }
        #[derive(Deserialize)]
        struct Collaborator {
            login: String,
        }
        let mut admins = Vec::new();
        for page in 1.. {
            let path =
                format!("/repos/{repo}/collaborators?permission=admin&per_page=100&page={page}");
            let list: Vec<Collaborator> = self
                .rest(installation, reqwest::Method::GET, &path, None)
                .await?;
            let full = list.len() == 100;
            admins.extend(list.into_iter().filter_map(|c| Login::parse(&c.login).ok()));
            if !full {
                break;
            }
        }
        self.teams.put(key, admins.clone());
        Ok(admins)
    }

    /// Members of each team, from the cache or in one query for all teams
    /// not cached (plus one per further page of a team over 100 members).
    /// A team that does not exist, or that the app cannot see, has no
    /// members: nobody can approve through it.
    pub async fn team_members(
        &self,
        installation: InstallationId,
        teams: &[&TeamName],
    ) -> Result<BTreeMap<String, Vec<Login>>, GithubError> {
        let (mut out, missing) = self.cached_teams(teams);
        if missing.is_empty() {
            return Ok(out);
        }
        let mut vars = Map::new();
        team_vars(&missing, &mut vars);
        let data: HashMap<String, Value> = self
            .graphql(
                installation,
                &teams_query(missing.len()),
                Value::Object(vars),
            )
            .await?;
        out.extend(self.absorb_teams(installation, &missing, &data).await?);
        Ok(out)
    }

    /// The members of the cached teams, and the teams not cached.
    pub(crate) fn cached_teams<'t>(
        &self,
        teams: &[&'t TeamName],
    ) -> (BTreeMap<String, Vec<Login>>, Vec<&'t TeamName>) {
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        for team in teams {
            match self.teams.get(&team.key()) {
                Some(members) => {
                    out.insert(team.as_str().to_owned(), members);
                }
                None if !missing.contains(team) => missing.push(*team),
                None => {}
            }
        }
        (out, missing)
    }

    /// Reads the `tN` aliases of an answer, fetches further pages of large
    /// teams, and caches the result.
    pub(crate) async fn absorb_teams(
        &self,
        installation: InstallationId,
        teams: &[&TeamName],
        data: &HashMap<String, Value>,
    ) -> Result<BTreeMap<String, Vec<Login>>, GithubError> {
        let mut out = BTreeMap::new();
        for (i, team) in teams.iter().enumerate() {
            let org: Option<Org> = data
                .get(&format!("t{i}"))
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let members = match org.and_then(|o| o.team) {
                Some(t) => self.rest_of_members(installation, team, &t.members).await?,
                None => Vec::new(),
            };
            self.teams.put(team.key(), members.clone());
            out.insert(team.as_str().to_owned(), members);
        }
        Ok(out)
    }

    async fn rest_of_members(
        &self,
        installation: InstallationId,
        team: &TeamName,
        first: &Members,
    ) -> Result<Vec<Login>, GithubError> {
        #[derive(Deserialize)]
        struct Data {
            organization: Option<Org>,
        }
        let mut members: Vec<Login> = first.logins().collect();
        let mut page = first.page_info.clone();
        let (org, slug) = split(team);
        while page.has_next_page {
            let vars = json!({ "org": org, "slug": slug, "after": page.end_cursor });
            let data: Data = self.graphql(installation, TEAM_MEMBERS_QUERY, vars).await?;
            let Some(next) = data.organization.and_then(|o| o.team) else {
                break;
            };
            members.extend(next.members.logins());
            page = next.members.page_info;
        }
        Ok(members)
    }
}

/// `org/slug`; a nested GitLab-style path keeps its last segment as slug.
fn split(team: &TeamName) -> (&str, &str) {
    let s = team.as_str();
    match s.split_once('/') {
        Some((org, rest)) => (org, rest.rsplit('/').next().unwrap_or(rest)),
        None => (s, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_teams_query_has_one_alias_per_team() {
        let q = teams_query(2);
        assert!(q.starts_with(
            "query WarrantTeams($o0: String!, $s0: String!, $o1: String!, $s1: String!)"
        ));
        assert!(q.contains("t1: organization(login: $o1) { team(slug: $s1)"));
    }
}
