//! One evaluation of a pull request: the check run in progress, the pull
//! request and its policy in one query, the decision, the check completed,
//! agent approvals dismissed, and the decision stored.
//!
//! Three requests on a first evaluation (create, fetch, complete), two on
//! a re-evaluation whose check run id is stored; see `docs/github-api.md`.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use tracing::Instrument;

use super::{Worker, installation};
use crate::audit::record::Evaluated;
use crate::audit::{self, EventKind, NewAuditEvent};
use crate::engine::{self, Conclusion, Context, Decision, Evaluation};
use crate::forge::github::checks::{CheckOutcome, CheckRunId};
use crate::forge::github::client::InstallationId;
use crate::forge::github::pulls::PullRequestSnapshot;
use crate::ids::{CommitSha, Login, TeamName};
use crate::policy::{self, LoadedPolicy};
use crate::store::{ClaimedDelivery, NewEvaluation};

/// The title of a check Warrant could not decide: it fails closed.
pub const CANNOT_EVALUATE: &str = "Warrant could not evaluate this change";

/// How long a worker waits for another to finish with a pull request
/// before retrying the delivery later, and how often it looks meanwhile.
const CHANGE_LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
const CHANGE_LEASE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// How long the teams of a policy stay among the hints after its last use:
/// pull requests against older bases still apply older policies.
const HINT_WINDOW: chrono::Duration = chrono::Duration::days(30);

/// The title of a check on a commit that is no longer the head.
pub const SUPERSEDED: &str = "Superseded by a newer commit";

/// A delivery that names no installation: sent to a repository webhook,
/// not to the app, so Warrant cannot act as the app on it.
#[derive(Debug, thiserror::Error)]
#[error("the payload names no app installation")]
pub struct NotAnApp;

/// A pull request to evaluate at a head commit.
#[derive(Clone, Debug)]
pub struct Target {
    pub installation: InstallationId,
    pub repo: String,
    pub number: u64,
    pub head_sha: CommitSha,
    /// The base commit, when the event names it; else the last one stored.
    pub base_sha: Option<CommitSha>,
}

impl Target {
    pub(super) fn new(
        installation_id: Option<u64>,
        repo: &str,
        number: u64,
        head_sha: &CommitSha,
    ) -> Result<Target, NotAnApp> {
        Ok(Target {
            installation: installation(installation_id)?,
            repo: repo.to_owned(),
            number,
            head_sha: head_sha.clone(),
            base_sha: None,
        })
    }

    pub(super) fn with_base(mut self, base: CommitSha) -> Target {
        self.base_sha = Some(base);
        self
    }

    /// One target per pull request of a check run or suite.
    pub(super) fn each(
        installation_id: Option<u64>,
        repo: &str,
        numbers: &[u64],
        head_sha: &CommitSha,
    ) -> Result<Vec<Target>, NotAnApp> {
        numbers
            .iter()
            .map(|n| Target::new(installation_id, repo, *n, head_sha))
            .collect()
    }
}

impl Worker {
    /// Evaluates a pull request and publishes the decision, inside a span
    /// naming it; records the evaluation's metrics.
    pub(super) async fn evaluate(
        &self,
        target: &Target,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<()> {
        let delivery = claimed.delivery_id.as_str();
        let span = tracing::info_span!(
            "evaluation",
            repo = %target.repo,
            change = target.number,
            head_sha = %target.head_sha.as_str(),
            delivery,
        );
        let change = self.change_lock(target);
        let _evaluating = change.lock().await;
        let started = Instant::now();
        let result = self
            .leased(target, claimed, self.evaluate_in_span(target, claimed))
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match &result {
            Ok(conclusion) => {
                tracing::info!(conclusion = conclusion.as_str(), "evaluated");
                self.metrics
                    .record_evaluation(Some(*conclusion), started.elapsed());
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "evaluation failed");
                self.metrics.record_evaluation(None, started.elapsed());
            }
        }
        result.map(drop)
    }

    async fn evaluate_in_span(
        &self,
        t: &Target,
        claimed: &ClaimedDelivery,
    ) -> anyhow::Result<Conclusion> {
        let hints = self.hints(&t.repo).await?;
        // A run shows `in_progress` while Warrant reads the pull request,
        // unless the repository was never evaluated: then its policy's teams
        // are unknown and may cost a query of their own, so the run is
        // created once the decision is known, in one request instead of two.
        let mut run = match self.stored_run(t, &t.head_sha).await? {
            Some(run) => Some(run),
            None if hints.is_some() => Some(self.check_run(t, &t.head_sha).await?),
            None => None,
        };
        let snapshot = self.fetch(t, hints.as_deref().unwrap_or_default()).await?;
        let head = &snapshot.change.head_sha;
        if !head.matches(&t.head_sha) {
            if let Some(old) = run {
                self.supersede(t, old).await?;
            }
            run = self.stored_run(t, head).await?;
        }
        let at = Utc::now();
        let (outcome, decision) = match incomplete(&snapshot) {
            Some(why) => (cannot_evaluate(why), None),
            None => {
                let decision = self.decide(t, &snapshot, at).await?;
                let url = self.audit_url(t);
                (
                    CheckOutcome::from_decision(&decision, url.as_deref()),
                    Some(decision),
                )
            }
        };
        still_held(claimed)?;
        let run = self.publish(t, head, run, &outcome).await?;
        if let Some(decision) = &decision {
            self.dismiss(t, decision).await?;
        }
        let record = Recorded {
            run,
            outcome: &outcome,
            decision: decision.as_ref(),
            snapshot: Some(&snapshot),
        };
        self.record(t, head, &claimed.delivery_id, record).await?;
        Ok(outcome.conclusion)
    }

    /// Completes `run`, or creates the run of `head` already completed.
    async fn publish(
        &self,
        t: &Target,
        head: &CommitSha,
        run: Option<CheckRunId>,
        outcome: &CheckOutcome,
    ) -> anyhow::Result<CheckRunId> {
        if let Some(run) = run {
            self.github
                .complete_check_run(t.installation, &t.repo, run, outcome)
                .await?;
            return Ok(run);
        }
        let url = self.audit_url(t);
        let id = self
            .github
            .create_completed_check_run(t.installation, &t.repo, head, url.as_deref(), outcome)
            .await?;
        self.store
            .record_check_run("github", &t.repo, head.as_str(), id.0)
            .await?;
        Ok(id)
    }

    /// Runs `work` holding the store's lease on the change, so that no other
    /// replica evaluates it meanwhile. Waits a while for a lease held by
    /// another worker; a lease of a crashed one runs out with its delivery's.
    async fn leased<T>(
        &self,
        t: &Target,
        claimed: &ClaimedDelivery,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let owner = format!("{}/{}", self.config.name, claimed.id);
        let deadline = Instant::now() + CHANGE_LEASE_WAIT;
        loop {
            let taken = self
                .store
                .lease_change(
                    "github",
                    &t.repo,
                    t.number,
                    &owner,
                    self.config.lease,
                    Utc::now(),
                )
                .await?;
            if taken {
                break;
            }
            if Instant::now() >= deadline {
                anyhow::bail!("another worker is evaluating this pull request");
            }
            tokio::time::sleep(CHANGE_LEASE_POLL).await;
        }
        let result = work.await;
        if let Err(err) = self
            .store
            .release_change("github", &t.repo, t.number, &owner)
            .await
        {
            tracing::warn!(error = %format!("{err:#}"), "cannot release the change; its lease will run out");
        }
        result
    }

    /// Pushed again since the event: the decision belongs to the new head,
    /// and the old head's run is closed rather than left in progress.
    async fn supersede(&self, t: &Target, run: CheckRunId) -> anyhow::Result<()> {
        let outcome = CheckOutcome {
            conclusion: Conclusion::Neutral,
            title: SUPERSEDED.to_owned(),
            summary: "Warrant evaluates the pull request's newest head commit instead.".to_owned(),
            annotations: Vec::new(),
        };
        self.github
            .complete_check_run(t.installation, &t.repo, run, &outcome)
            .await?;
        Ok(())
    }

    /// The lock serialising evaluations of `t`'s pull request.
    fn change_lock(&self, t: &Target) -> super::ChangeLock {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        let key = (t.repo.clone(), t.number);
        changes.entry(key).or_default().clone()
    }

    /// The check run recorded for `head`, if any.
    async fn stored_run(&self, t: &Target, head: &CommitSha) -> anyhow::Result<Option<CheckRunId>> {
        let id = self
            .store
            .check_run_id("github", &t.repo, head.as_str())
            .await?;
        Ok(id.map(CheckRunId))
    }

    /// The check run of `head`: stored, else created in progress (and
    /// stored before anything can fail, so that a retry updates it).
    async fn check_run(&self, t: &Target, head: &CommitSha) -> anyhow::Result<CheckRunId> {
        if let Some(id) = self.stored_run(t, head).await? {
            return Ok(id);
        }
        let url = self.audit_url(t);
        let id = self
            .github
            .create_check_run(t.installation, &t.repo, head, url.as_deref())
            .await?;
        self.store
            .record_check_run("github", &t.repo, head.as_str(), id.0)
            .await?;
        // Another worker may have recorded one first: use the recorded one.
        Ok(self.stored_run(t, head).await?.unwrap_or(id))
    }

    /// The pull request, with the members of `hints` (the teams of the
    /// repository's recent policies).
    async fn fetch(&self, t: &Target, hints: &[TeamName]) -> anyhow::Result<PullRequestSnapshot> {
        let base = match &t.base_sha {
            Some(base) => base.clone(),
            None => self.last_base(t).await?,
        };
        let hints: Vec<&TeamName> = hints.iter().collect();
        let snapshot = self
            .github
            .fetch_pull_request(t.installation, &t.repo, t.number, &base, &hints)
            .await?;
        Ok(snapshot)
    }

    /// The base of the last evaluation, or the head as a guess that costs
    /// one more query when wrong (the fetch follows the real base).
    async fn last_base(&self, t: &Target) -> anyhow::Result<CommitSha> {
        let stored = self
            .store
            .last_base_sha("github", &t.repo, t.number)
            .await?;
        Ok(stored
            .and_then(|s| CommitSha::parse(&s).ok())
            .unwrap_or_else(|| t.head_sha.clone()))
    }

    /// The teams named by the policies `repo` applied in the last
    /// [`HINT_WINDOW`], or `None` for a repository never evaluated. Stored,
    /// so that replicas and restarts share them.
    async fn hints(&self, repo: &str) -> anyhow::Result<Option<Vec<TeamName>>> {
        let since = Utc::now() - HINT_WINDOW;
        let names = self.store.policy_team_hints("github", repo, since).await?;
        Ok(names.map(|names| {
            names
                .iter()
                .filter_map(|name| TeamName::parse(name).ok())
                .collect()
        }))
    }

    /// Loads the policy from the snapshot and decides; an absent policy is
    /// `neutral`, an invalid (or truncated) one `failure`.
    async fn decide(
        &self,
        t: &Target,
        snapshot: &PullRequestSnapshot,
        at: chrono::DateTime<Utc>,
    ) -> anyhow::Result<Decision> {
        let change = &snapshot.change;
        let Some(file) = &snapshot.policy else {
            return Ok(engine::not_configured(change, at));
        };
        let loaded = match policy::load(file.path.as_str(), &file.text) {
            Ok(policy) => LoadedPolicy {
                path: file.path.clone(),
                blob_id: file.blob_id.clone(),
                policy,
            },
            Err(errors) => {
                return Ok(engine::invalid_policy(
                    change,
                    &file.path,
                    &file.blob_id,
                    &errors,
                    at,
                ));
            }
        };
        let teams = loaded.policy.teams();
        let names: Vec<String> = teams.iter().map(|t| t.as_str().to_owned()).collect();
        self.store
            .record_policy_teams("github", &t.repo, file.blob_id.as_str(), &names, at)
            .await?;
        let mut context = Context {
            teams: self.teams(t.installation, &teams, &snapshot.teams).await?,
            repository_admins: Vec::new(),
            app_logins: self.app_logins().await,
        };
        let decide = |context: &Context| {
            engine::decide(&Evaluation {
                policy: &loaded,
                change,
                context,
                at,
            })
        };
        let decision = decide(&context);
        // The admins cost a request: read them only for a decision that
        // needs them, and decide again with them (deciding is cheap).
        if admins_needed(&loaded.policy, &decision) {
            context.repository_admins = self
                .github
                .repository_admins(t.installation, &t.repo)
                .await?;
            return Ok(decide(&context));
        }
        Ok(decision)
    }

    /// Warrant's own bot, asked of GitHub once per process. While GitHub
    /// does not answer, none: Warrant's account then has no special case,
    /// which is stricter, never more lenient.
    async fn app_logins(&self) -> Vec<Login> {
        let login = self
            .app_login
            .get_or_try_init(|| async {
                let slug = self.github.app_slug().await?;
                Login::parse(&format!("{slug}[bot]")).map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await;
        match login {
            Ok(login) => vec![login.clone()],
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "cannot read the app's bot login");
                Vec::new()
            }
        }
    }

    /// Members of the policy's teams: those the fetch resolved, the rest
    /// from the client's team cache (or one query).
    async fn teams(
        &self,
        installation: InstallationId,
        teams: &[&TeamName],
        fetched: &BTreeMap<String, Vec<Login>>,
    ) -> anyhow::Result<BTreeMap<String, Vec<Login>>> {
        let missing: Vec<&TeamName> = teams
            .iter()
            .filter(|team| !fetched.contains_key(team.as_str()))
            .copied()
            .collect();
        let mut members = fetched.clone();
        if !missing.is_empty() {
            members.extend(self.github.team_members(installation, &missing).await?);
        }
        Ok(members)
    }

    /// Dismisses the agent approvals the decision names.
    async fn dismiss(&self, t: &Target, decision: &Decision) -> anyhow::Result<()> {
        for d in &decision.dismissals {
            self.github
                .dismiss_review(t.installation, &t.repo, t.number, d.review_id, &d.message)
                .await
                .with_context(|| format!("cannot dismiss review {}", d.review_id))?;
        }
        Ok(())
    }

    /// After the last attempt: the check concludes `failure` with a
    /// generic summary (the cause is in the log and the queue, not on the
    /// pull request). Best effort: GitHub may still be failing.
    pub(super) async fn give_up(&self, t: &Target, claimed: &ClaimedDelivery) {
        let outcome = cannot_evaluate(
            "Warrant met an error while reading or publishing this change and \
             gave up after several attempts. Re-run the check to try again.",
        );
        let published = self.leased(t, claimed, async {
            still_held(claimed)?;
            let run = self.check_run(t, &t.head_sha).await?;
            self.github
                .complete_check_run(t.installation, &t.repo, run, &outcome)
                .await?;
            let record = Recorded {
                run,
                outcome: &outcome,
                decision: None,
                snapshot: None,
            };
            self.record(t, &t.head_sha, &claimed.delivery_id, record)
                .await
        });
        if let Err(err) = published.await {
            tracing::error!(error = %format!("{err:#}"), "cannot publish the failed check");
        }
    }

    async fn record(
        &self,
        t: &Target,
        head: &CommitSha,
        delivery: &str,
        r: Recorded<'_>,
    ) -> anyhow::Result<()> {
        let at = Utc::now();
        let acting_as = self
            .app_logins()
            .await
            .first()
            .map(|l| l.as_str().to_owned());
        let events = match (r.decision, r.snapshot) {
            (Some(decision), Some(snapshot)) => audit::record::evaluation_events(&Evaluated {
                forge: "github",
                change: &snapshot.change,
                decision,
                acting_as: acting_as.as_deref(),
                check_id: Some(r.run.0),
                at,
            }),
            // No decision reached: the failed check is the event.
            _ => {
                let mut posted = NewAuditEvent::new("github", &t.repo, EventKind::CheckPosted, at);
                posted.change = Some(t.number);
                posted.head_sha = Some(head.as_str().to_owned());
                posted.base_sha = r.snapshot.map(|s| s.change.base_sha.as_str().to_owned());
                posted.actor = acting_as;
                posted.decision = Some(r.outcome.conclusion.as_str().to_owned());
                vec![
                    posted
                        .with_detail("check_id", r.run.0)
                        .with_detail("title", r.outcome.title.clone())
                        .with_detail("why", r.outcome.summary.clone()),
                ]
            }
        };
        let decision = r.decision.map(serde_json::to_string).transpose()?;
        let base = r.snapshot.map(|s| s.change.base_sha.as_str());
        let evaluation = NewEvaluation {
            forge: "github",
            repo: &t.repo,
            number: t.number,
            head_sha: head.as_str(),
            base_sha: base,
            check_run_id: Some(r.run.0),
            conclusion: r.outcome.conclusion.as_str(),
            title: &r.outcome.title,
            decision: decision.as_deref(),
            delivery_id: Some(delivery),
            evaluated_at: at,
        };
        self.store.record_evaluation(&evaluation, &events).await
    }

    /// `{WARRANT_PUBLIC_URL}/audit/github/{owner}/{repo}/changes/{number}`.
    fn audit_url(&self, t: &Target) -> Option<String> {
        let base = self.config.public_url.as_deref()?;
        Some(format!(
            "{base}/audit/github/{}/changes/{}",
            t.repo, t.number
        ))
    }
}

/// What one evaluation published.
struct Recorded<'a> {
    run: CheckRunId,
    outcome: &'a CheckOutcome,
    decision: Option<&'a Decision>,
    snapshot: Option<&'a PullRequestSnapshot>,
}

/// Whether a decision asks for the repository's admins: an unregistered
/// agent escalated, with no approvers named under `unregistered_agents`
/// nor `policy_file`, so that the default chain ends at the admins.
fn admins_needed(policy: &crate::policy::Policy, decision: &Decision) -> bool {
    policy.unregistered_agents.action == crate::policy::UnregisteredAction::Escalate
        && policy.unregistered_agents.approvers.is_empty()
        && policy.policy_file.approvers.is_empty()
        && decision
            .agents
            .iter()
            .any(|a| a.status == engine::Registration::Unregistered)
}

/// Refuses to publish once the lease ran out: another worker may hold the
/// delivery now, and its result must not be overwritten by an older one.
/// The check stays in progress (never open) and the attempt is retried.
fn still_held(claimed: &ClaimedDelivery) -> anyhow::Result<()> {
    if Utc::now() >= claimed.lease_expires_at {
        anyhow::bail!(
            "the lease on the delivery ran out at {}: not publishing",
            claimed.lease_expires_at
        );
    }
    Ok(())
}

/// Why a snapshot cannot be decided on, if it cannot: a file or commit
/// past GitHub's listing limits, or a policy too long to read whole, could
/// change the decision, so Warrant fails closed.
fn incomplete(snapshot: &PullRequestSnapshot) -> Option<&'static str> {
    if !snapshot.files_complete {
        Some("GitHub lists only the first 3,000 files of a pull request, and this one has more.")
    } else if !snapshot.commits_complete {
        Some("GitHub lists only the first 250 commits of a pull request, and this one has more.")
    } else if snapshot.policy.as_ref().is_some_and(|p| p.truncated) {
        Some("The policy file is too long for GitHub to return it whole.")
    } else {
        None
    }
}

/// A failed check that says Warrant could not decide, and why in general
/// terms.
fn cannot_evaluate(summary: &str) -> CheckOutcome {
    CheckOutcome {
        conclusion: Conclusion::Failure,
        title: CANNOT_EVALUATE.to_owned(),
        summary: summary.to_owned(),
        annotations: Vec::new(),
    }
}
