//! The GitHub adapter: which deliveries mean what, and the evaluation's
//! GitHub side: one GraphQL query for the pull request, its policy and its
//! teams, the `warrant` check run, review dismissals.
//!
//! Three requests on a first evaluation (create, fetch, complete), two on
//! a re-evaluation whose check run id is stored; see `docs/github-api.md`.

mod merge_group;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;

use super::adapter::{Adapter, OrgPolicySource};
use super::evaluate::superseded;
use super::history::{BranchPush, Closed, Subject};
use super::shown::{Known, Needs, Stored};
use super::target::{NotAnApp, Target};
use super::work::{Action, Work};
use super::{Failure, Worker};
use crate::audit::rollback::MergeMethod;
use crate::engine::{Change, Context, Decision, Forge};
use crate::forge::check::CheckOutcome;
use crate::forge::github::checks::{CHECK_NAME, CheckRunId};
use crate::forge::github::client::{GithubClient, InstallationId};
use crate::forge::github::pulls::PullRequestSnapshot;
use crate::forge::github::webhook::{self as events, GithubEvent, PullRequestAction};
use crate::forge::{PolicyFile, is_org_repository};
use crate::ids::{ChangeKey, CommitSha, Login, RepoName, TeamName};
use crate::store::ClaimedDelivery;
use crate::store::changes::{ChangeRecord, ChangeStatus};

/// Warrant on GitHub, as one app.
pub(super) struct Github {
    client: Arc<GithubClient>,
    /// Warrant's own bot (`{slug}[bot]`), read once per process.
    app_login: tokio::sync::OnceCell<Login>,
}

impl Github {
    pub(super) fn new(client: Arc<GithubClient>) -> Github {
        Github {
            client,
            app_login: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether a check run or suite belongs to this app: a workflow job
    /// may be called `warrant` too, and re-running it is not ours to act on.
    fn is_ours(&self, app_id: Option<u64>) -> bool {
        app_id.is_none_or(|id| Some(id) == self.client.app_id())
    }

    /// Warrant's own bot, asked of GitHub once per process. While GitHub
    /// does not answer, none: Warrant's account then has no special case,
    /// which is stricter, never more lenient.
    async fn app_logins(&self) -> Vec<Login> {
        let login = self
            .app_login
            .get_or_try_init(|| async {
                let slug = self.client.app_slug().await?;
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
}

impl Adapter for Github {
    const FORGE: Forge = Forge::Github;

    const DISMISSES: bool = true;
    const RUN_HAS_ID: bool = true;
    /// The teams to ask for in the one query, and the base to read the
    /// policy at when the event does not name it.
    const NEEDS: Needs = Needs {
        team_hints: true,
        last_base: true,
        approvals_seen: false,
    };
    type Run = CheckRunId;
    type Snapshot = PullRequestSnapshot;
    /// The app installation to act as.
    type At = InstallationId;
    type Event = GithubEvent;
    /// The app installation, when the delivery names one.
    type Address = Option<InstallationId>;
    /// Merge groups: GitHub's alone.
    type Own = events::MergeGroupEvent;

    fn parse(event: &str, payload: &[u8]) -> Result<Option<GithubEvent>, String> {
        events::parse(event, payload).map_err(|err| err.to_string())
    }

    fn work<'a>(
        &self,
        event: &'a GithubEvent,
        delivery: &'a ClaimedDelivery,
    ) -> Result<Work<'a, Github>, Failure> {
        self.read_work(event, delivery)
    }

    fn change(snapshot: &PullRequestSnapshot) -> &Change {
        &snapshot.change
    }

    fn policy(snapshot: &PullRequestSnapshot) -> Option<&PolicyFile> {
        snapshot.policy.as_ref()
    }

    /// Read in the pull request's query: no request of its own.
    fn org_policy(&self, snapshot: &PullRequestSnapshot) -> OrgPolicySource {
        OrgPolicySource::Read(snapshot.org_policy.clone())
    }

    /// Never asked: the pull request's query reads it.
    async fn read_org_policy(&self, _repo: &RepoName) -> anyhow::Result<Option<PolicyFile>> {
        Ok(None)
    }

    /// One query, for a change that edits a policy file.
    async fn head_file(
        &self,
        t: &Target<InstallationId>,
        _snapshot: &Self::Snapshot,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>> {
        let repo = t.key.repo.as_str();
        Ok(self.client.policy_at(t.at, repo, sha, paths).await?)
    }

    fn is_org_repository(&self, repo: &RepoName) -> bool {
        is_org_repository(repo.as_str(), &self.client.org_repository)
    }

    /// Read in the pull request's query: no request of its own.
    async fn codeowners(
        &self,
        _t: &Target<InstallationId>,
        snapshot: &PullRequestSnapshot,
    ) -> anyhow::Result<Option<PolicyFile>> {
        Ok(snapshot.codeowners.clone())
    }

    /// A file or commit past GitHub's listing limits, or a policy too long
    /// to read whole, could change the decision.
    fn incomplete(snapshot: &PullRequestSnapshot) -> Option<&'static str> {
        if !snapshot.files_complete {
            Some(
                "GitHub lists only the first 3,000 files of a pull request, and this one has more.",
            )
        } else if !snapshot.commits_complete {
            Some(
                "GitHub lists only the first 250 commits of a pull request, and this one has more.",
            )
        } else if snapshot.policy.as_ref().is_some_and(|p| p.truncated) {
            Some("The policy file is too long for GitHub to return it whole.")
        } else {
            None
        }
    }

    fn run_id(run: &CheckRunId) -> Option<u64> {
        Some(run.0)
    }

    /// A check run is named by its id.
    fn stored(stored: &Stored) -> Option<CheckRunId> {
        stored.check_run_id.map(CheckRunId)
    }

    /// A run shows `in_progress` while Warrant reads the pull request,
    /// unless the repository was never evaluated: then its policy's teams
    /// are unknown and may cost a query of their own, so the run is
    /// created once the decision is known, in one request instead of two.
    fn shows_running(known: &Known) -> bool {
        known.team_hints.is_some()
    }

    async fn show_running(
        &self,
        t: &Target<InstallationId>,
        details: Option<&str>,
    ) -> anyhow::Result<CheckRunId> {
        Ok(self
            .client
            .create_check_run(t.at, t.key.repo.as_str(), &t.head_sha, details)
            .await?)
    }

    /// One query at the base the event named (else the last evaluation's,
    /// else the head as a guess that costs one more query when wrong: the
    /// fetch follows the real base), asking for the members of the teams
    /// of the repository's recent policies in the same query.
    async fn read(
        &self,
        t: &Target<InstallationId>,
        known: &Known,
    ) -> anyhow::Result<PullRequestSnapshot> {
        let base = t
            .base_sha
            .clone()
            .or_else(|| known.last_base.clone())
            .unwrap_or_else(|| t.head_sha.clone());
        let hints: Vec<&TeamName> = known.team_hints.iter().flatten().collect();
        Ok(self
            .client
            .fetch_pull_request(t.at, t.key.repo.as_str(), t.key.number, &base, &hints)
            .await?)
    }

    async fn supersede(&self, t: &Target<InstallationId>, run: CheckRunId) -> anyhow::Result<()> {
        self.client
            .complete_check_run(t.at, t.key.repo.as_str(), run, &superseded())
            .await?;
        Ok(())
    }

    /// Members of the policy's teams: those the fetch resolved, the rest
    /// from the client's team cache (or one query).
    async fn context(
        &self,
        t: &Target<InstallationId>,
        teams: &[&TeamName],
        snapshot: &PullRequestSnapshot,
    ) -> anyhow::Result<Context> {
        let missing: Vec<&TeamName> = teams
            .iter()
            .filter(|team| !snapshot.teams.contains_key(team.as_str()))
            .copied()
            .collect();
        let mut members: BTreeMap<String, Vec<Login>> = snapshot.teams.clone();
        if !missing.is_empty() {
            let installation = t.at;
            members.extend(self.client.team_members(installation, &missing).await?);
        }
        Ok(Context {
            teams: members,
            repository_admins: Vec::new(),
            app_logins: self.app_logins().await,
            codeowners: Default::default(),
        })
    }

    async fn admins(&self, t: &Target<InstallationId>) -> anyhow::Result<Vec<Login>> {
        Ok(self
            .client
            .repository_admins(t.at, t.key.repo.as_str())
            .await?)
    }

    /// Completes `run`, or creates the run of `head` already completed.
    async fn publish(
        &self,
        t: &Target<InstallationId>,
        head: &CommitSha,
        run: Option<CheckRunId>,
        outcome: &CheckOutcome,
        details: Option<&str>,
    ) -> anyhow::Result<CheckRunId> {
        let installation = t.at;
        if let Some(run) = run {
            self.client
                .complete_check_run(installation, t.key.repo.as_str(), run, outcome)
                .await?;
            return Ok(run);
        }
        Ok(self
            .client
            .create_completed_check_run(installation, t.key.repo.as_str(), head, details, outcome)
            .await?)
    }

    async fn comment(
        &self,
        key: &ChangeKey,
        at: &InstallationId,
        body: &str,
    ) -> anyhow::Result<()> {
        let repo = key.repo.as_str();
        self.client
            .post_comment(*at, repo, key.number, body)
            .await?;
        Ok(())
    }

    async fn dismiss(&self, t: &Target<InstallationId>, decision: &Decision) -> anyhow::Result<()> {
        for d in &decision.dismissals {
            self.client
                .dismiss_review(
                    t.at,
                    t.key.repo.as_str(),
                    t.key.number,
                    d.review_id,
                    &d.message,
                )
                .await
                .with_context(|| format!("cannot dismiss review {}", d.review_id))?;
        }
        Ok(())
    }

    async fn acting_as(&self) -> Option<Login> {
        self.app_logins().await.into_iter().next()
    }

    /// One small query at the pushed commit; nothing without an
    /// installation to ask as.
    async fn policy_at(
        &self,
        at: &Option<InstallationId>,
        repo: &RepoName,
        sha: &CommitSha,
        paths: &[&str],
    ) -> anyhow::Result<Option<PolicyFile>> {
        match at {
            Some(installation) => Ok(self
                .client
                .policy_at(*installation, repo.as_str(), sha, paths)
                .await?),
            None => Ok(None),
        }
    }

    /// One request per commit; nothing without an installation to ask as.
    async fn changes_of_commit(
        &self,
        at: &Option<InstallationId>,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> anyhow::Result<Option<Vec<crate::forge::push::AssociatedChange>>> {
        let Some(installation) = at else {
            return Ok(None);
        };
        let pulls = (self.client)
            .pulls_of_commit(*installation, repo.as_str(), sha)
            .await?;
        Ok(Some(pulls))
    }

    /// Read from the merge commit: one request, for a merged pull request
    /// only.
    async fn merge_method(
        &self,
        t: &Target<InstallationId>,
        closed: &Closed<'_>,
    ) -> anyhow::Result<Option<MergeMethod>> {
        let Some(sha) = closed.merge_commit.filter(|_| closed.merged) else {
            return Ok(None);
        };
        let method = self
            .client
            .merge_method(
                t.at,
                t.key.repo.as_str(),
                sha,
                closed.key.number,
                closed.commits,
            )
            .await?;
        Ok(Some(method))
    }

    async fn act_own(
        &self,
        w: &Worker,
        group: events::MergeGroupEvent,
        delivery: &ClaimedDelivery,
    ) -> Result<(), Failure> {
        w.github_merge_group(self, &group, delivery).await
    }
}

impl Github {
    /// A GitHub delivery in Warrant's terms.
    fn read_work<'a>(
        &self,
        event: &'a GithubEvent,
        delivery: &'a ClaimedDelivery,
    ) -> Result<Work<'a, Github>, Failure> {
        let action = match event {
            GithubEvent::PullRequest(pr) if pr.action == PullRequestAction::Closed => closed(pr),
            GithubEvent::PullRequest(pr) => {
                let target = target(pr.installation_id, &pr.repo, pr.number, &pr.head_sha)?;
                Action::Evaluate(vec![target.with_base(pr.base_sha.clone())])
            }
            GithubEvent::Review(r) => {
                let target = target(r.installation_id, &r.repo, r.number, &r.head_sha)?;
                Action::Evaluate(vec![target.with_base(r.base_sha.clone())])
            }
            GithubEvent::CheckRun(run) if run.name == CHECK_NAME && self.is_ours(run.app_id) => {
                Action::Evaluate(targets(
                    run.installation_id,
                    &run.repo,
                    &run.pull_requests,
                    &run.head_sha,
                )?)
            }
            GithubEvent::CheckSuite(suite) if self.is_ours(suite.app_id) => {
                Action::Evaluate(targets(
                    suite.installation_id,
                    &suite.repo,
                    &suite.pull_requests,
                    &suite.head_sha,
                )?)
            }
            GithubEvent::Push(push) => {
                let org = &self.client.org_repository;
                match BranchPush::of(Forge::Github, &push.repo, &push.push, org) {
                    Some(push_) => Action::Push {
                        push: push_,
                        at: push.installation_id.map(InstallationId),
                    },
                    None => Action::Nothing,
                }
            }
            GithubEvent::MergeGroup(group) => Action::Own(group.clone()),
            GithubEvent::Comment(c) => super::overrides::github_action(c)?,
            // Installations span repositories and have no chain of their
            // own (their deliveries stay in the queue's history); the rest
            // is not Warrant's.
            _ => Action::Nothing,
        };
        let change = match event {
            GithubEvent::PullRequest(pr) => Some(change_record(pr, delivery)),
            _ => None,
        };
        Ok(Work {
            repository: events::repository_identity(&delivery.payload),
            subject: subject(event),
            change,
            approval: None,
            action,
        })
    }
}

/// Pull request `number` of `repo` at `head_sha`, acted on as the app
/// installation the delivery names.
pub(super) fn target(
    installation_id: Option<u64>,
    repo: &RepoName,
    number: u64,
    head_sha: &CommitSha,
) -> Result<Target<InstallationId>, NotAnApp> {
    Ok(Target {
        key: ChangeKey::new(Forge::Github, repo.clone(), number),
        head_sha: head_sha.clone(),
        base_sha: None,
        at: installation_id.map(InstallationId).ok_or(NotAnApp)?,
    })
}

/// One target per pull request of a check run or suite.
fn targets(
    installation_id: Option<u64>,
    repo: &RepoName,
    numbers: &[u64],
    head_sha: &CommitSha,
) -> Result<Vec<Target<InstallationId>>, NotAnApp> {
    numbers
        .iter()
        .map(|n| target(installation_id, repo, *n, head_sha))
        .collect()
}

/// A pull request closed, merged or not; the merge method is read from
/// the merge commit (see [`Adapter::merge_method`]).
fn closed(pr: &events::PullRequestEvent) -> Action<'_, Github> {
    let merge = pr.merge_commit_sha.as_ref().filter(|_| pr.merged);
    let closed = Closed {
        key: ChangeKey::new(Forge::Github, pr.repo.clone(), pr.number),
        head_sha: &pr.head_sha,
        base_sha: Some(&pr.base_sha),
        actor: pr.merged_by.as_ref().map(Login::as_str),
        merged: pr.merged,
        merge_commit: merge,
        method: None,
        commits: pr.commits,
    };
    let target = target(pr.installation_id, &pr.repo, pr.number, &pr.head_sha).ok();
    Action::Close { closed, target }
}

/// The pull request's own facts, for the audit pages.
fn change_record(pr: &events::PullRequestEvent, delivery: &ClaimedDelivery) -> ChangeRecord {
    let state = match (pr.action, pr.merged) {
        (PullRequestAction::Closed, true) => ChangeStatus::Merged,
        (PullRequestAction::Closed, false) => ChangeStatus::Closed,
        _ => ChangeStatus::Open,
    };
    ChangeRecord {
        change: ChangeKey::new(Forge::Github, pr.repo.clone(), pr.number),
        title: pr.title.clone(),
        author: pr.author.as_ref().map(|l| l.as_str().to_owned()),
        url: pr.html_url.clone(),
        state,
        updated_at: pr.updated_at.unwrap_or(delivery.received_at),
    }
}

/// What a GitHub delivery is about, for events about one repository
/// (installations span many and are not chained to one).
fn subject(event: &GithubEvent) -> Option<Subject<'_>> {
    Some(match event {
        GithubEvent::PullRequest(pr) => Subject {
            repo: &pr.repo,
            change: Some(pr.number),
            head: Some(&pr.head_sha),
            action: Some(json!(pr.action)),
        },
        GithubEvent::Review(r) => Subject {
            repo: &r.repo,
            change: Some(r.number),
            head: Some(&r.head_sha),
            action: Some(json!(r.action)),
        },
        GithubEvent::CheckRun(run) => Subject {
            repo: &run.repo,
            change: run.pull_requests.first().copied(),
            head: Some(&run.head_sha),
            action: None,
        },
        GithubEvent::CheckSuite(suite) => Subject {
            repo: &suite.repo,
            change: suite.pull_requests.first().copied(),
            head: Some(&suite.head_sha),
            action: None,
        },
        GithubEvent::MergeGroup(group) => Subject {
            repo: &group.repo,
            change: group.last_pull_request(),
            head: Some(&group.head_sha),
            action: Some(json!(group.action)),
        },
        GithubEvent::Push(push) => Subject {
            repo: &push.repo,
            change: None,
            head: Some(&push.push.after),
            action: None,
        },
        GithubEvent::Comment(c) => Subject {
            repo: &c.repo,
            change: Some(c.number),
            head: None,
            action: Some(json!("override")),
        },
        _ => return None,
    })
}
