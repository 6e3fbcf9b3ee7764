//! The meaning of a well-formed policy: ids, references, globs, people and
//! times are checked, every problem is collected with its position, and the
//! [`Policy`] the engine applies is built.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use marked_yaml::Spanned;

use super::document::{
    AgentDocument, ElevationDocument, MatchDocument, PolicyDocument, RoleDocument,
    SensitiveDocument,
};
use super::issue::{Issue, at_path, backticked, child, item, suggestion};
use super::values::{bad_id, distinct_people, names_nothing, parse_date, parse_expiry};
use super::{
    Agent, ApprovalRules, Approver, Elevation, OverrideRules, PathGlobs, Policy, PolicyFileRules,
    Role, SensitiveArea, UnregisteredAgents, paths,
};
use crate::ids::{AgentId, Login, Principal, RoleId};
use crate::signals::{LoginPattern, Signals, TextGlob, TrailerPattern};

/// Whether the word `owner` may stand in an approvers list, and why not.
#[derive(Clone, Copy)]
enum OwnerWord {
    Allowed,
    Refused(&'static str),
}

const NO_OWNER_FOR_UNREGISTERED: &str = "the word `owner` means the owner of a registered \
    agent, and an unregistered agent has none: name a login or `org/team`";
const NO_OWNER_FOR_POLICY_FILE: &str = "the word `owner` means the owner of an agent involved, \
    but a change to the policy file that involves an agent always fails: name a login or \
    `org/team`";
const NO_OWNER_FOR_OVERRIDES: &str = "the word `owner` means the owner of an agent involved, \
    who may not override a check on their own agent's change: name a login or `org/team`";

/// `cut` lists the key paths the shape check removed: their absence is not
/// reported again (an agent whose `match` was malformed is not also "without
/// signals").
pub(super) fn compile(doc: &PolicyDocument, cut: &[String]) -> Result<Policy, Vec<Issue>> {
    let mut cx = Compiler {
        cut: cut.to_vec(),
        ..Compiler::default()
    };
    let roles = cx.roles(&doc.roles);
    let agents = cx.agents(doc);
    let sensitive = cx.sensitive(&doc.sensitive);
    let unregistered_agents = UnregisteredAgents {
        action: doc.unregistered_agents.action,
        approvers: cx.approvers(
            "unregistered_agents.approvers",
            &doc.unregistered_agents.approvers,
            OwnerWord::Refused(NO_OWNER_FOR_UNREGISTERED),
        ),
    };
    let policy_file = PolicyFileRules {
        approvers: cx.approvers(
            "policy_file.approvers",
            &doc.policy_file.approvers,
            OwnerWord::Refused(NO_OWNER_FOR_POLICY_FILE),
        ),
    };
    let overrides = OverrideRules {
        approvers: cx.approvers(
            "overrides.approvers",
            &doc.overrides.approvers,
            OwnerWord::Refused(NO_OWNER_FOR_OVERRIDES),
        ),
    };
    let approvals = ApprovalRules {
        stale_on_push: doc.approvals.stale_on_push,
        exclude_requester: doc.approvals.exclude_requester,
        exclude_contributors: doc.approvals.exclude_contributors,
        agent_reviews: doc.approvals.agent_reviews,
    };
    if !cx.issues.is_empty() {
        return Err(cx.issues);
    }
    Ok(Policy {
        mode: doc.mode,
        agents,
        roles,
        sensitive_index: super::GlobIndex::new(sensitive.iter().map(|a| &a.paths)),
        sensitive,
        unregistered_agents,
        approvals,
        policy_file,
        overrides,
    })
}

#[derive(Default)]
struct Compiler {
    issues: Vec<Issue>,
    cut: Vec<String>,
    /// Logins (lowercased, without `[bot]`) and catalog ids already claimed,
    /// with the agent that claimed them.
    claimed_logins: HashMap<String, String>,
    claimed_builtins: HashMap<String, String>,
}

/// Map entries in the order written, so that results do not depend on
/// hashing and a clash is reported at its second occurrence.
fn in_file_order<T>(map: &HashMap<Spanned<String>, T>) -> Vec<(&Spanned<String>, &T)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start().map(|m| (m.line(), m.column())));
    entries
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Compiler {
    /// Whether the shape check cut something at or under `path`.
    fn was_cut(&self, path: &str) -> bool {
        self.cut.iter().any(|c| {
            c.strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    fn report(&mut self, value: &Spanned<impl Sized>, path: &str, message: impl std::fmt::Display) {
        self.issues
            .push(Issue::at(value.span(), at_path(path, message)));
    }

    fn roles(&mut self, roles: &HashMap<Spanned<String>, RoleDocument>) -> BTreeMap<RoleId, Role> {
        let mut compiled = BTreeMap::new();
        for (id, role) in in_file_order(roles) {
            let path = child("roles", id);
            let parsed = RoleId::parse(id).ok();
            if parsed.is_none() {
                self.report(id, &path, bad_id("role", id));
            }
            if let Some(role) = self.role(&path, parsed, role) {
                compiled.insert(role.id.clone(), role);
            }
        }
        compiled
    }

    fn role(&mut self, path: &str, id: Option<RoleId>, role: &RoleDocument) -> Option<Role> {
        let allow = self.globs(&child(path, "scope.allow"), &role.scope.allow);
        let deny = self.globs(&child(path, "scope.deny"), &role.scope.deny);
        let escalate_to = role.escalate_to.as_ref().map(|list| {
            let path = child(path, "escalate_to");
            if list.is_empty() {
                self.report(
                    list,
                    &path,
                    "list at least one approver, or remove `escalate_to` to use the agent's owner",
                );
            }
            self.approvers(&path, list, OwnerWord::Allowed)
        });
        Some(Role {
            id: id?,
            description: text(&role.description),
            allow: allow?,
            deny: deny?,
            out_of_scope: role.out_of_scope,
            escalate_to,
            max_files: role.max_files.map(|n| n as usize),
        })
    }

    fn agents(&mut self, doc: &PolicyDocument) -> Vec<Agent> {
        let mut agents = Vec::new();
        for (id, agent) in in_file_order(&doc.agents) {
            let path = child("agents", id);
            if let Some(agent) = self.agent(&path, id, agent, doc) {
                agents.push(agent);
            }
        }
        agents.sort_by(|a, b| a.id.cmp(&b.id));
        agents
    }

    fn agent(
        &mut self,
        path: &str,
        id: &Spanned<String>,
        agent: &AgentDocument,
        doc: &PolicyDocument,
    ) -> Option<Agent> {
        let parsed = AgentId::parse(id).ok();
        if parsed.is_none() {
            self.report(id, path, bad_id("agent", id));
        }
        let role = self.role_ref(&child(path, "role"), &agent.role, doc);
        let owner = self.principal(&child(path, "owner"), &agent.owner);
        let signals = self.signals(&child(path, "match"), id, &agent.signals);
        let expires = agent.expires.as_ref().and_then(|expires| {
            let parsed = parse_expiry(expires);
            if parsed.is_none() {
                self.report(
                    expires,
                    &child(path, "expires"),
                    format!(
                        "`{}` is not a date (`2027-06-30`, meaning the end of that day, UTC) \
                         or an RFC 3339 time (`2027-06-30T18:00:00Z`)",
                        expires.as_str()
                    ),
                );
            }
            parsed
        });
        let elevations: Vec<Option<Elevation>> = (agent.elevations.iter().enumerate())
            .map(|(i, e)| self.elevation(&item(&child(path, "elevations"), i), e))
            .collect();
        Some(Agent {
            id: parsed?,
            description: text(&agent.description),
            role: role?,
            owner: owner?,
            builtin: agent.signals.builtin.as_ref().map(|b| b.to_string()),
            signals: signals?,
            expires,
            elevations: elevations.into_iter().collect::<Option<_>>()?,
        })
    }

    fn role_ref(
        &mut self,
        path: &str,
        role: &Spanned<String>,
        doc: &PolicyDocument,
    ) -> Option<RoleId> {
        if doc.roles.contains_key(role.as_str()) {
            // A malformed role id is reported where the role is defined.
            return RoleId::parse(role).ok();
        }
        if self.was_cut(&child("roles", role)) {
            return None;
        }
        let message = if doc.roles.is_empty() {
            format!(
                "role `{}` is not defined: add it under `roles`",
                role.as_str()
            )
        } else {
            format!(
                "role `{}` is not defined in `roles`{}",
                role.as_str(),
                suggestion(role, doc.roles.keys().map(|k| k.as_str()))
            )
        };
        self.report(role, path, message);
        None
    }

    fn signals(&mut self, path: &str, id: &Spanned<String>, m: &MatchDocument) -> Option<Signals> {
        let none = m.logins.is_empty()
            && m.emails.is_empty()
            && m.trailers.is_empty()
            && m.builtin.is_none();
        if none && self.was_cut(path) {
            return None;
        }
        if none {
            let agent_path = path.strip_suffix(".match").unwrap_or(path);
            self.report(
                id,
                agent_path,
                "has no signals: add `match.logins`, `match.emails`, `match.trailers` or \
                 `match.builtin`, so that Warrant can recognise its changes",
            );
            return None;
        }
        let before = self.issues.len();
        let mut signals = Signals::default();
        for (i, login) in m.logins.iter().enumerate() {
            let login_path = item(&child(path, "logins"), i);
            if let Some(parsed) = self.login(&login_path, login) {
                self.claim_login(&login_path, login, &parsed, id);
                signals.logins.push(LoginPattern::new(parsed));
            }
        }
        for (i, email) in m.emails.iter().enumerate() {
            if names_nothing(email) {
                self.report(
                    email,
                    &item(&child(path, "emails"), i),
                    format!(
                        "`{}` would match every email address: name the agent's own address, \
                         such as `*+my-agent[bot]@users.noreply.github.com`",
                        email.as_str()
                    ),
                );
            } else {
                signals.emails.push(TextGlob::new(email.trim()));
            }
        }
        for (i, trailer) in m.trailers.iter().enumerate() {
            match TrailerPattern::parse(trailer) {
                Some(_) if names_nothing(trailer.split_once(':').map_or("", |(_, v)| v)) => self
                    .report(
                        trailer,
                        &item(&child(path, "trailers"), i),
                        format!(
                            "`{}` would match every such trailer: name the agent in the value, \
                             such as `Co-authored-by: Claude*<noreply@anthropic.com>`",
                            trailer.as_str()
                        ),
                    ),
                Some(pattern) => signals.trailers.push(pattern),
                None => self.report(
                    trailer,
                    &item(&child(path, "trailers"), i),
                    format!(
                        "`{}` is not a trailer pattern: write `Key: value`, such as \
                         `Co-authored-by: Claude*<noreply@anthropic.com>`",
                        trailer.as_str()
                    ),
                ),
            }
        }
        if let Some(builtin) = &m.builtin {
            self.builtin(&child(path, "builtin"), builtin, id, &mut signals);
        }
        (self.issues.len() == before).then_some(signals)
    }

    fn builtin(
        &mut self,
        path: &str,
        builtin: &Spanned<String>,
        agent: &Spanned<String>,
        signals: &mut Signals,
    ) {
        let catalog = crate::catalog::builtin();
        let Some(entry) = catalog.get(builtin) else {
            let known = || catalog.entries().iter().map(|e| e.id.as_str());
            let message = format!(
                "`{}` is not in the built-in catalog{}",
                builtin.as_str(),
                match suggestion(builtin, known()) {
                    s if s.is_empty() => format!(" (its entries are {})", backticked(known())),
                    s => s,
                }
            );
            self.report(builtin, path, message);
            return;
        };
        let key = entry.id.clone();
        if let Some(other) = self.claimed_builtins.get(&key) {
            let message = format!(
                "catalog entry `{key}` is already used by agent `{other}`: a product can be \
                 registered once"
            );
            self.report(builtin, path, message);
            return;
        }
        self.claimed_builtins.insert(key, agent.to_string());
        signals.extend(&entry.signals);
    }

    fn claim_login(&mut self, path: &str, at: &Spanned<String>, login: &Login, agent: &str) {
        let key = login.key();
        let key = key.strip_suffix("[bot]").unwrap_or(&key).to_owned();
        match self.claimed_logins.get(&key) {
            Some(other) if other != agent => {
                let message = format!(
                    "login `{login}` is already claimed by agent `{other}`: an account can \
                     belong to one registered agent only"
                );
                self.report(at, path, message);
            }
            Some(_) => {}
            None => {
                self.claimed_logins.insert(key, agent.to_owned());
            }
        }
    }

    fn elevation(&mut self, path: &str, e: &ElevationDocument) -> Option<Elevation> {
        if e.paths.is_empty() {
            self.report(
                &e.paths,
                &child(path, "paths"),
                "list at least one path glob",
            );
        }
        let paths = self.globs(&child(path, "paths"), &e.paths);
        let from = self.time(&child(path, "from"), &e.from);
        let until = self.time(&child(path, "until"), &e.until);
        if let (Some(from), Some(until)) = (from, until) {
            if until <= from {
                let message = format!(
                    "must be after `from` ({}): the window is [from, until)",
                    e.from.as_str()
                );
                self.report(&e.until, &child(path, "until"), message);
            }
        }
        if e.reason.trim().is_empty() {
            self.report(
                &e.reason,
                &child(path, "reason"),
                "cannot be empty: say why, for the audit trail (a change ticket, for example)",
            );
        }
        Some(Elevation {
            paths: paths?,
            from: from?,
            until: until?,
            reason: e.reason.trim().to_owned(),
        })
    }

    fn time(&mut self, path: &str, value: &Spanned<String>) -> Option<DateTime<Utc>> {
        if let Ok(time) = DateTime::parse_from_rfc3339(value.trim()) {
            return Some(time.with_timezone(&Utc));
        }
        let message = if parse_date(value).is_some() {
            format!(
                "`{0}` is a date: write a full RFC 3339 time, such as `{0}T00:00:00Z`",
                value.as_str()
            )
        } else {
            format!(
                "`{}` is not an RFC 3339 time, such as `2026-12-05T22:00:00Z`",
                value.as_str()
            )
        };
        self.report(value, path, message);
        None
    }

    fn sensitive(&mut self, areas: &[SensitiveDocument]) -> Vec<SensitiveArea> {
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut compiled = Vec::new();
        for (i, area) in areas.iter().enumerate() {
            let path = item("sensitive", i);
            let name = area.name.trim();
            if name.is_empty() {
                self.report(&area.name, &child(&path, "name"), "cannot be empty");
            } else if let Some(first) = names.get(&name.to_lowercase()) {
                let message = format!(
                    "`{name}` is already the name of `sensitive[{first}]`: names must be unique"
                );
                self.report(&area.name, &child(&path, "name"), message);
            } else {
                names.insert(name.to_lowercase(), i);
            }
            compiled.extend(self.area(&path, area));
        }
        compiled
    }

    fn area(&mut self, path: &str, area: &SensitiveDocument) -> Option<SensitiveArea> {
        if area.paths.is_empty() {
            self.report(
                &area.paths,
                &child(path, "paths"),
                "list at least one path glob",
            );
        }
        let paths = self.globs(&child(path, "paths"), &area.paths);
        if area.approvers.is_empty() {
            let message = "list at least one approver: nobody could approve changes here";
            self.report(&area.approvers, &child(path, "approvers"), message);
        }
        let approvers = self.approvers(
            &child(path, "approvers"),
            &area.approvers,
            OwnerWord::Allowed,
        );
        let min = *area.min_approvals;
        // Counted only when every approver was read.
        let people = (approvers.len() == area.approvers.len())
            .then(|| distinct_people(&approvers))
            .flatten()
            .filter(|n| *n > 0);
        if people.is_some_and(|n| n < min as usize) {
            let message = format!(
                "needs {min} approvals, but `approvers` lists {} people and no team: add \
                 approvers or lower `min_approvals`",
                people.unwrap_or(0)
            );
            self.report(&area.min_approvals, &child(path, "min_approvals"), message);
        }
        Some(SensitiveArea {
            name: area.name.trim().to_owned(),
            paths: paths?,
            approvers,
            min_approvals: min,
        })
    }

    /// Compiles each glob, reporting every one that does not compile.
    fn globs(&mut self, path: &str, patterns: &[Spanned<String>]) -> Option<PathGlobs> {
        let before = self.issues.len();
        for (i, pattern) in patterns.iter().enumerate() {
            if let Err(message) = paths::compile(pattern) {
                self.report(pattern, &item(path, i), message);
            }
        }
        if self.issues.len() > before {
            return None;
        }
        let texts: Vec<&str> = patterns.iter().map(|p| p.as_str()).collect();
        match PathGlobs::new(&texts) {
            Ok(globs) => Some(globs),
            Err(message) => {
                self.issues.push(Issue::at_start(at_path(path, message)));
                None
            }
        }
    }

    fn approvers(
        &mut self,
        path: &str,
        list: &[Spanned<String>],
        owner: OwnerWord,
    ) -> Vec<Approver> {
        let mut approvers = Vec::new();
        for (i, value) in list.iter().enumerate() {
            let path = item(path, i);
            if value.trim().eq_ignore_ascii_case("owner") {
                match owner {
                    OwnerWord::Allowed => approvers.push(Approver::Owner),
                    OwnerWord::Refused(why) => self.report(value, &path, why),
                }
            } else if value.trim().eq_ignore_ascii_case("codeowners") {
                // Every list accepts it: the code owners of each touched
                // path, from the CODEOWNERS file at the base.
                approvers.push(Approver::CodeOwners);
            } else if let Some(principal) = self.principal(&path, value) {
                approvers.push(Approver::Principal(principal));
            }
        }
        approvers
    }

    fn principal(&mut self, path: &str, value: &Spanned<String>) -> Option<Principal> {
        let raw = value.trim();
        let result = if raw.is_empty() {
            Err("cannot be empty: name a login or `org/team`".to_owned())
        } else if let Some(bare) = raw.strip_prefix('@') {
            Err(format!("write logins and teams without `@`: `{bare}`"))
        } else {
            Principal::parse(raw).map_err(|e| e.to_string())
        };
        result
            .map_err(|message| self.report(value, path, message))
            .ok()
    }

    fn login(&mut self, path: &str, value: &Spanned<String>) -> Option<Login> {
        let raw = value.trim();
        let result = if let Some(bare) = raw.strip_prefix('@') {
            Err(format!("write logins without `@`: `{bare}`"))
        } else if raw.contains('/') {
            Err(format!(
                "`{raw}` is a team; `match.logins` lists the agent's own accounts"
            ))
        } else {
            Login::parse(raw).map_err(|e| e.to_string())
        };
        result
            .map_err(|message| self.report(value, path, message))
            .ok()
    }
}
