//! A repository policy read under its organisation's policy ("Organisation
//! policy" in POLICY.md): one registry of agents, and the keys a
//! repository leaves out taken from the organisation.
//!
//! Before the repository's file is checked, the agents the organisation
//! registered are taken out of its `agents` map: an entry with `role` as
//! its only key gives that agent a role in this repository; any other key
//! is an error at the entry's line (a repository may not register again
//! what the organisation registered). The rest of the file is then checked
//! and compiled as any policy; the role-only entries become copies of the
//! organisation's agents with the repository's role, and every top-level
//! key left out (and every key left out under `unregistered_agents`,
//! `approvals` and `policy_file`) takes the organisation's value.

use marked_yaml::Node;

use super::Policy;
use super::issue::{Issue, at_path, child, suggestion};
use crate::ids::{AgentId, RoleId};

/// An agent of the organisation given a role here.
struct RoleOnly {
    id: AgentId,
    role: String,
    at: marked_yaml::Span,
}

/// What the repository's file says about the organisation, read before
/// the rest of it is checked.
pub(super) struct Under<'a> {
    org: &'a Policy,
    roles: Vec<RoleOnly>,
    /// Dotted paths of the inheritable keys the file writes.
    written: Vec<&'static str>,
}

/// The keys a repository may leave out to take the organisation's value.
const INHERITED: &[&str] = &[
    "mode",
    "unregistered_agents.action",
    "unregistered_agents.approvers",
    "approvals.stale_on_push",
    "approvals.exclude_requester",
    "approvals.exclude_contributors",
    "approvals.agent_reviews",
    "policy_file.approvers",
];

const ROLE_ONLY: &str = "is registered by the organisation policy: a repository may give it \
    a role here (`role` as the entry's only key), never register it again";

/// Takes the organisation's agents out of `node` (the repository's file,
/// parsed) and notes which inheritable keys it writes. Problems are
/// reported with their position.
pub(super) fn detach<'a>(node: &mut Node, org: &'a Policy) -> (Under<'a>, Vec<Issue>) {
    let mut issues = Vec::new();
    let written = INHERITED
        .iter()
        .copied()
        .filter(|path| written(node, path))
        .collect();
    let mut roles = Vec::new();
    let agents = node
        .as_mapping_mut()
        .and_then(|m| m.get_mut("agents"))
        .and_then(Node::as_mapping_mut);
    if let Some(agents) = agents {
        let theirs: Vec<_> = agents
            .keys()
            .filter(|k| org.agents.iter().any(|a| a.id.as_str() == k.as_str()))
            .cloned()
            .collect();
        for key in theirs {
            let entry = agents.remove(key.as_str()).expect("the key was listed");
            let path = child("agents", key.as_str());
            let role = entry.as_mapping().and_then(|m| {
                let only_role = m.len() == 1;
                let role = m.get_scalar("role")?;
                only_role.then(|| (role.as_str().to_owned(), *role.span()))
            });
            match role {
                Some((role, at)) => roles.push(RoleOnly {
                    id: AgentId::parse(key.as_str()).expect("the organisation's id is valid"),
                    role,
                    at,
                }),
                None => issues.push(Issue::at(
                    key.span(),
                    at_path(&path, format!("`{}` {ROLE_ONLY}", key.as_str())),
                )),
            }
        }
    }
    let under = Under {
        org,
        roles,
        written,
    };
    (under, issues)
}

/// Whether the dotted `path` is written in `node`.
fn written(node: &Node, path: &str) -> bool {
    path.split('.')
        .try_fold(node, |n, key| n.as_mapping()?.get_node(key))
        .is_some()
}

impl Under<'_> {
    /// Completes the repository's compiled policy: the organisation's
    /// agents with a role here, and the keys left out.
    pub(super) fn complete(self, mut policy: Policy) -> Result<Policy, Vec<Issue>> {
        let mut issues = Vec::new();
        for given in &self.roles {
            let role = RoleId::parse(&given.role)
                .ok()
                .filter(|r| policy.roles.contains_key(r));
            let Some(role) = role else {
                let defined = policy.roles.keys().map(RoleId::as_str);
                issues.push(Issue::at(
                    &given.at,
                    at_path(
                        &child(&child("agents", given.id.as_str()), "role"),
                        format!(
                            "role `{}` is not defined in `roles`{}",
                            given.role,
                            suggestion(&given.role, defined)
                        ),
                    ),
                ));
                continue;
            };
            let mut agent = self
                .org
                .agent(&given.id)
                .expect("only the organisation's agents are detached")
                .clone();
            agent.role = role;
            policy.agents.push(agent);
        }
        policy.agents.sort_by(|a, b| a.id.cmp(&b.id));
        self.inherit(&mut policy);
        if issues.is_empty() {
            Ok(policy)
        } else {
            Err(issues)
        }
    }

    fn inherit(&self, policy: &mut Policy) {
        let org = self.org;
        let left_out = |key: &str| !self.written.contains(&key);
        if left_out("mode") {
            policy.mode = org.mode;
        }
        let (mine, theirs) = (&mut policy.unregistered_agents, &org.unregistered_agents);
        if left_out("unregistered_agents.action") {
            mine.action = theirs.action;
        }
        if left_out("unregistered_agents.approvers") {
            mine.approvers = theirs.approvers.clone();
        }
        let (mine, theirs) = (&mut policy.approvals, &org.approvals);
        if left_out("approvals.stale_on_push") {
            mine.stale_on_push = theirs.stale_on_push;
        }
        if left_out("approvals.exclude_requester") {
            mine.exclude_requester = theirs.exclude_requester;
        }
        if left_out("approvals.exclude_contributors") {
            mine.exclude_contributors = theirs.exclude_contributors;
        }
        if left_out("approvals.agent_reviews") {
            mine.agent_reviews = theirs.agent_reviews;
        }
        if left_out("policy_file.approvers") {
            policy.policy_file.approvers = org.policy_file.approvers.clone();
        }
    }
}
