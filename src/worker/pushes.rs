//! Pushes to the default branch, the same way for both forges: agent
//! commits that reached the branch other than by a change's merge
//! (`push_unreviewed`, alert `dev.warrant.push.unreviewed`), the policies
//! the push changed (`policy_changed`), and a policy relaxed by a push that
//! is not a change's merge (`policy_relaxed`, alert
//! `dev.warrant.policy.relaxed`; a merge's relaxation is raised when the
//! merge is recorded, `history::relaxations_merged`).
//!
//! Whether a commit came by a merge is decided the same way whatever order
//! the forge's deliveries arrive in: from the merges Warrant recorded, else
//! from the forge, which records a merge before it sends either delivery
//! (see `docs/alerts.md`, "How Warrant tells a push from a merge"). Every
//! read comes before the one transaction that records the push, so a
//! forge outage retries the delivery and never drops or doubles a report.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::adapter::Adapter;
use super::history::BranchPush;
use super::{Failure, Worker};
use crate::alerts::{Alert, AlertType};
use crate::audit::{EventKind, NewAuditEvent};
use crate::engine::{
    Account, AccountKind, AgentFinding, Change, Commit, Context, Forge, Origin, Person,
    Registration, identify,
};
use crate::evaluation::record::Input;
use crate::forge::PolicyFile;
use crate::forge::push::{PushPerson, PushedCommit};
use crate::ids::{CommitSha, Login};
use crate::policy::diff::Effect;
use crate::policy::{Policy, Registry};
use crate::store::ClaimedDelivery;
use crate::store::alerts::NewAlert;

/// A pushed commit with agent signals, and the agents they name.
struct AgentCommit<'a> {
    commit: &'a PushedCommit,
    agents: Vec<AgentFinding>,
}

/// How a commit reached the default branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Landed {
    /// By the merge of this change (its merge, squash or rebased commit,
    /// or one of its own commits).
    ByMerge(u64),
    /// Not by any change's merge the forge knows: pushed.
    Pushed,
    /// The forge cannot be asked (a GitHub delivery without an
    /// installation): nothing is reported.
    Unknown,
}

/// What a push changed in one policy file, and what it relaxed.
struct PolicyChange {
    origin: Origin,
    paths: &'static [&'static str],
    before: Option<PolicyFile>,
    after: Option<PolicyFile>,
}

impl Worker {
    /// Acts on a push to the default branch that lists commits.
    pub(super) async fn on_push<A: Adapter>(
        &self,
        forge: &A,
        push: &BranchPush<'_>,
        at: &A::Address,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        let (events, alerts) = self
            .push_events(forge, push, at, &delivery.delivery_id)
            .await
            .map_err(Failure::retry)?;
        (self.store.append_audit_alerting(&events, &alerts).await).map_err(Failure::retry)?;
        Ok(())
    }

    /// Everything a push records, read before any of it is written.
    async fn push_events<A: Adapter>(
        &self,
        forge: &A,
        push: &BranchPush<'_>,
        at: &A::Address,
        delivery: &str,
    ) -> anyhow::Result<(Vec<NewAuditEvent>, Vec<NewAlert>)> {
        let p = push.push;
        let own_paths = push.forge.policy_paths();
        let in_force = match p.creates_branch() {
            true => None,
            false => forge.policy_at(at, push.repo, &p.before, own_paths).await?,
        };
        let mut landed = HashMap::new();
        let (mut events, mut alerts) = (Vec::new(), Vec::new());
        for (origin, paths) in push.changed() {
            let before = match origin {
                Origin::Repository => in_force.clone(),
                Origin::Organisation if p.creates_branch() => None,
                Origin::Organisation => forge.policy_at(at, push.repo, &p.before, paths).await?,
            };
            let after = match p.deletes_branch() {
                true => None,
                false => forge.policy_at(at, push.repo, &p.after, paths).await?,
            };
            let change = PolicyChange {
                origin,
                paths,
                before,
                after,
            };
            let event =
                self.policy_change_event(push, (origin, paths), change.after.as_ref(), delivery);
            events.push(event.await?);
            let relaxations = change.relaxations();
            if relaxations.is_empty() {
                continue;
            }
            let by = self.landed(forge, at, push, &p.after, &mut landed).await?;
            if by == Landed::Pushed {
                let (event, alert) = self.relaxed_by_push(push, &change, relaxations, delivery);
                events.push(event);
                alerts.extend(alert);
            }
        }
        let pushed =
            (self.pushed_agent_commits(forge, push, at, in_force.as_ref(), &mut landed)).await?;
        if !pushed.is_empty() {
            let (event, alert) = self.unreviewed(push, &pushed, delivery);
            events.push(event);
            alerts.extend(alert);
        }
        Ok((events, alerts))
    }

    /// The push's agent commits that came by no change's merge, identified
    /// under the policy `in_force` (the repository's at `before`) and the
    /// organisation policy Warrant keeps.
    async fn pushed_agent_commits<'p, A: Adapter>(
        &self,
        forge: &A,
        push: &BranchPush<'p>,
        at: &A::Address,
        in_force: Option<&PolicyFile>,
        landed: &mut HashMap<CommitSha, Landed>,
    ) -> anyhow::Result<Vec<AgentCommit<'p>>> {
        let org = self.kept_org_policy(push).await?;
        let policy = in_force.and_then(|f| {
            let loaded = crate::evaluation::policies::load_file(f, org.as_ref());
            let why = "the policy in force does not load: agents are identified by the catalog";
            loaded
                .inspect_err(|_| tracing::warn!(path = %f.path, "{why}"))
                .ok()
        });
        let context = Context {
            app_logins: forge.acting_as().await.into_iter().collect(),
            ..Context::default()
        };
        let registry = Registry::of(agents(policy.as_ref()), agents(org.as_ref()));
        let mut pushed = Vec::new();
        for agent_commit in agent_commits(push, registry, &context, Utc::now()) {
            let sha = &agent_commit.commit.sha;
            match self.landed(forge, at, push, sha, landed).await? {
                Landed::Pushed => pushed.push(agent_commit),
                Landed::ByMerge(number) => {
                    tracing::debug!(sha = sha.as_str(), change = number, "agent commit merged")
                }
                Landed::Unknown => tracing::warn!(
                    sha = sha.as_str(),
                    "cannot ask the forge how an agent commit reached the default branch"
                ),
            }
        }
        Ok(pushed)
    }

    /// The organisation policy as the store keeps it (read with the
    /// organisation's repository's last push, or for GitLab's
    /// evaluations), else as the repository's last evaluation recorded it
    /// (GitHub reads it with each pull request), if it loads: it registers
    /// agents for every repository of the organisation.
    async fn kept_org_policy(&self, push: &BranchPush<'_>) -> anyhow::Result<Option<Policy>> {
        let Some(org) = &push.org_policy_at else {
            return Ok(None);
        };
        let Some(kept) = self.store.org_policy(push.forge, org).await? else {
            return self.recorded_org_policy(push).await;
        };
        let file = kept.file.filter(|f| !f.truncated);
        Ok(file.and_then(|f| crate::policy::load(&f.path, &f.text).ok()))
    }

    /// The organisation policy the repository's last evaluation applied,
    /// from its recorded facts.
    async fn recorded_org_policy(&self, push: &BranchPush<'_>) -> anyhow::Result<Option<Policy>> {
        let input = self.store.last_input_of(push.forge, push.repo).await?;
        let Some(Ok(Input::Facts(record))) = input.as_deref().map(Input::parse) else {
            return Ok(None);
        };
        let Some(org) = record.org else {
            return Ok(None);
        };
        let texts = self
            .store
            .recorded_texts([org.file.sha256.as_str()])
            .await?;
        Ok(org.file.policy(&texts, None))
    }

    /// How commit `sha` of the push reached the default branch: by a merge
    /// Warrant recorded, else as the forge tells (each commit asked once).
    async fn landed<A: Adapter>(
        &self,
        forge: &A,
        at: &A::Address,
        push: &BranchPush<'_>,
        sha: &CommitSha,
        known: &mut HashMap<CommitSha, Landed>,
    ) -> anyhow::Result<Landed> {
        if let Some(landed) = known.get(sha) {
            return Ok(*landed);
        }
        let recorded = self
            .store
            .change_merged_as(push.forge, push.repo, sha)
            .await?;
        let landed = match recorded {
            Some(number) => Landed::ByMerge(number),
            None => match forge.changes_of_commit(at, push.repo, sha).await? {
                None => Landed::Unknown,
                Some(changes) => (changes.iter().find(|c| c.merged))
                    .map_or(Landed::Pushed, |c| Landed::ByMerge(c.number)),
            },
        };
        known.insert(sha.clone(), landed);
        Ok(landed)
    }

    /// `push_unreviewed` and its alert: agent commits pushed, not merged.
    fn unreviewed(
        &self,
        push: &BranchPush<'_>,
        commits: &[AgentCommit<'_>],
        delivery: &str,
    ) -> (NewAuditEvent, Option<NewAlert>) {
        let p = push.push;
        let listed: Vec<Value> = commits.iter().map(commit_json).collect();
        let mut agents: Vec<&str> = (commits.iter())
            .flat_map(|c| c.agents.iter().map(|a| a.id.as_str()))
            .collect();
        agents.sort();
        agents.dedup();
        let now = Utc::now();
        let mut event = NewAuditEvent::new(push.forge, push.repo, EventKind::PushUnreviewed, now);
        event.head_sha = Some(p.after.as_str().to_owned());
        event.base_sha = Some(p.before.as_str().to_owned());
        event.actor = p.pusher.clone();
        let event = event
            .with_detail("delivery", delivery)
            .with_detail("ref", p.git_ref.as_str())
            .with_detail("agents", agents)
            .with_detail("commits", listed.clone());
        let data = json!({
            "repository": push.repo.as_str(),
            "push": push_json(push),
            "commits": listed,
        });
        let alert = self.raise_on_repository(AlertType::PushUnreviewed, push, data, now);
        (event, alert)
    }

    /// `policy_relaxed` and its alert for a policy relaxed by a push that
    /// is no change's merge: nobody approved it.
    fn relaxed_by_push(
        &self,
        push: &BranchPush<'_>,
        change: &PolicyChange,
        relaxations: Vec<String>,
        delivery: &str,
    ) -> (NewAuditEvent, Option<NewAlert>) {
        let p = push.push;
        let blob = |f: &Option<PolicyFile>| f.as_ref().map(|f| f.blob_id.clone());
        let path = (change.after.as_ref().or(change.before.as_ref()))
            .map_or(change.paths[0].to_owned(), |f| f.path.to_string());
        let now = Utc::now();
        let mut event = NewAuditEvent::new(push.forge, push.repo, EventKind::PolicyRelaxed, now);
        event.head_sha = Some(p.after.as_str().to_owned());
        event.base_sha = Some(p.before.as_str().to_owned());
        event.actor = p.pusher.clone();
        event.paths = vec![path.clone()];
        event.policy_blob = blob(&change.after);
        let event = event
            .with_detail("delivery", delivery)
            .with_detail("scope", change.origin.as_str())
            .with_detail("pushed", true)
            .with_detail("ref", p.git_ref.as_str())
            .with_detail("relaxations", relaxations.clone())
            .with_detail("approved_by", Vec::<String>::new());
        let data = json!({
            "repository": push.repo.as_str(),
            "policy": path,
            "scope": change.origin.as_str(),
            "blob_before": blob(&change.before),
            "blob_after": blob(&change.after),
            "relaxations": relaxations,
            "commit": p.after.as_str(),
            "push": push_json(push),
            "approved_by": [],
        });
        let alert = self.raise_on_repository(AlertType::PolicyRelaxed, push, data, now);
        (event, alert)
    }

    /// The alert about the repository (no one change): its subject is
    /// `FORGE:OWNER/NAME`, unless the operator sends none of its type.
    fn raise_on_repository(
        &self,
        kind: AlertType,
        push: &BranchPush<'_>,
        data: Value,
        at: DateTime<Utc>,
    ) -> Option<NewAlert> {
        let subject = format!("{}:{}", push.forge.as_str(), push.repo);
        self.config
            .alerts
            .queue(&Alert::new(kind, subject, at, data))
    }
}

impl PolicyChange {
    /// What the push relaxed, each as `key: change` (as `warrant
    /// policy-diff` prints it). Removing a policy relaxes all it required;
    /// a policy that does not load before or after relaxes nothing here
    /// (after, the check fails closed on it).
    fn relaxations(&self) -> Vec<String> {
        let load = |f: &PolicyFile| crate::evaluation::policies::load_file(f, None).ok();
        let Some(before) = self.before.as_ref().and_then(load) else {
            return Vec::new();
        };
        let after = match &self.after {
            None => Policy::none().clone(),
            Some(file) => match load(file) {
                Some(policy) => policy,
                None => return Vec::new(),
            },
        };
        (crate::policy::diff::diff(&before, &after).into_iter())
            .filter(|d| d.effect == Effect::Relaxed)
            .map(|d| format!("{}: {}", d.key, d.change))
            .collect()
    }
}

/// The push's commits that carry agent signals, each identified alone as
/// the evaluations identify a change's commits: under the registrations of
/// the policy in force and the catalog, by author, committer and trailers,
/// and by the account that pushed (the forge says who did: an agent's
/// account pushing makes each of its commits an agent's).
fn agent_commits<'a>(
    push: &BranchPush<'a>,
    registry: Registry<'_>,
    context: &Context,
    at: DateTime<Utc>,
) -> Vec<AgentCommit<'a>> {
    let p = push.push;
    let pusher = (p.pusher.as_deref()).and_then(|name| Login::parse(name).ok());
    (p.commits.iter())
        .filter_map(|commit| {
            let mut change = Change {
                forge: push.forge,
                repository: push.repo.to_string(),
                number: 0,
                title: String::new(),
                body: String::new(),
                author: pusher.clone().map(account),
                assignees: Vec::new(),
                base_sha: p.before.clone(),
                head_sha: commit.sha.clone(),
                commits: vec![engine_commit(push.forge, commit)],
                files: Vec::new(),
                reviews: Vec::new(),
            };
            change.link_noreply_accounts();
            let agents = identify(registry, &change, context, at).agents;
            (!agents.is_empty()).then_some(AgentCommit { commit, agents })
        })
        .collect()
}

/// A policy's registered agents; none without a policy.
fn agents(policy: Option<&Policy>) -> &[crate::policy::Agent] {
    policy.map_or(&[], |p| &p.agents)
}

/// A pushed commit as the engine reads a change's commits.
fn engine_commit(forge: Forge, commit: &PushedCommit) -> Commit {
    Commit {
        sha: commit.sha.clone(),
        author: person(forge, &commit.author),
        committer: person(forge, &commit.committer),
        message: commit.message.clone(),
    }
}

/// A commit's person, linked to the GitHub account the push names (GitLab
/// names none in a push).
fn person(forge: Forge, p: &PushPerson) -> Person {
    let account = (p.username.as_deref())
        .filter(|_| forge == Forge::Github)
        .and_then(|name| Login::parse(name).ok())
        .map(account);
    Person {
        name: p.name.clone(),
        email: p.email.clone(),
        account,
    }
}

/// An account known by its login: a bot if the login says so (a push
/// names no account kind).
fn account(login: Login) -> Account {
    let kind = match login.has_bot_suffix() {
        true => AccountKind::Bot,
        false => AccountKind::User,
    };
    Account {
        login,
        kind,
        id: None,
    }
}

/// The push, as the alerts and the audit trail name it.
fn push_json(push: &BranchPush<'_>) -> Value {
    let p = push.push;
    json!({
        "ref": p.git_ref,
        "before": p.before.as_str(),
        "after": p.after.as_str(),
        "pusher": p.pusher,
    })
}

/// An agent commit: its sha, title, author, page, its (first) agent with
/// its signals and whether a policy registers it, and each agent so (a
/// commit may name several).
fn commit_json(c: &AgentCommit<'_>) -> Value {
    let agents: Vec<Value> = (c.agents.iter())
        .map(|a| {
            let mut signals = serde_json::to_value(&a.signals).unwrap_or_default();
            // The change identified is the push: its author, the pusher.
            for signal in signals.as_array_mut().into_iter().flatten() {
                if signal["source"] == "change author" {
                    signal["source"] = Value::from("pusher");
                }
            }
            json!({
                "id": a.id,
                "registered": a.status == Registration::Registered,
                "signals": signals,
            })
        })
        .collect();
    let commit = c.commit;
    let first = agents.first().cloned().unwrap_or_default();
    json!({
        "sha": commit.sha.as_str(),
        "agent": first["id"],
        "registered": first["registered"],
        "signals": first["signals"],
        "title": commit.message.lines().next().unwrap_or_default(),
        "author": format!("{} <{}>", commit.author.name, commit.author.email),
        "url": commit.url,
        "agents": agents,
    })
}
