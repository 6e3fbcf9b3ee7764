//! The demo's script, as data: the organisation `acme` with its
//! organisation policy, its repository `acme/payments` with a policy of its
//! own, the people and agents at work in it, and six pull requests there,
//! each showing one thing Warrant does; then one in `acme/checkout`, which
//! has no policy of its own, and one in `globex/website`, outside acme,
//! where nobody has written a policy yet; then, back in acme/payments,
//! Copilot out of its scope and the pull requests that change a policy
//! ([`super::policy_changes`]); and last an override, a lapsed
//! registration and a push past review ([`super::bypasses`]).
//!
//! Everything here is made up but shaped like the real thing: the agents'
//! accounts, emails, trailers and body lines are those the built-in catalog
//! recognises (`src/catalog/agents.yml`).

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};

use crate::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Conclusion, Forge, Person, Review,
    ReviewState,
};
use crate::forge::github::fake::PullRequest;
use crate::ids::{CommitSha, Login, RepoPath};

/// The demo repository.
pub const REPOSITORY: &str = "acme/payments";

/// Its policy, on the base branch: `.github/warrant.yml`.
pub const POLICY: &str = include_str!("warrant.yml");

/// The organisation's repository, where `warrant-org.yml` lives.
pub const ORG_REPOSITORY: &str = "acme/.github";

/// The organisation policy as written in `warrant-org.yml`; see
/// [`org_policy`] for the one the demo serves.
pub const ORG_POLICY: &str = include_str!("warrant-org.yml");

/// The dates `warrant-org.yml` gives the registrations on trial, which the
/// demo moves relative to its run: Jules's lapses in ten days, Codex's
/// lapsed twenty days ago.
const TRIAL_ENDS: [(&str, i64); 2] = [("expires: 2027-01-15", 10), ("expires: 2026-11-15", -20)];

/// The organisation policy at the head of its default branch, for a demo
/// played at `now`: [`ORG_POLICY`] with the trials' dates moved.
pub fn org_policy(now: DateTime<Utc>) -> String {
    TRIAL_ENDS
        .iter()
        .fold(ORG_POLICY.to_owned(), |text, (written, days)| {
            assert!(text.contains(written), "warrant-org.yml has {written}");
            let date = (now + chrono::Duration::days(*days)).date_naive();
            text.replacen(written, &format!("expires: {date}"), 1)
        })
}

/// A repository of acme without a policy of its own.
pub const UNDER_ORG_ONLY: &str = "acme/checkout";

/// A repository outside acme, where nobody has written a policy.
pub const OUTSIDE: &str = "globex/website";

/// The teams the policy names, with their members.
pub const TEAMS: &[(&str, &[&str])] = &[
    ("acme/platform", &["maria", "kenji"]),
    ("acme/payments-team", &["priya", "tom", "sam"]),
];

/// One pull request and what happens to it.
#[derive(Clone, Debug)]
pub struct Scene {
    /// What the scene shows, in one line.
    pub shows: &'static str,
    /// The conclusion the check ends on once the scene is played.
    pub expected: Conclusion,
    pub pull: PullRequest,
    /// What happens, in order; each step is one webhook delivery.
    pub steps: Vec<Step>,
    /// Files the pull request's head holds that the demo serves (the
    /// policy a pull request proposes): path and text.
    pub at_head: Vec<(&'static str, String)>,
}

impl Scene {
    pub fn number(&self) -> u64 {
        self.pull.change.number
    }

    /// The pull request's repository and number.
    pub fn change(&self) -> crate::ids::ChangeKey {
        let repo = crate::ids::RepoName::parse(&self.pull.change.repository)
            .expect("the script's repositories are names");
        crate::ids::ChangeKey::new(Forge::Github, repo, self.number())
    }
}

/// Something that happens to a pull request, delivered as a webhook.
#[derive(Clone, Debug)]
pub enum Step {
    /// The pull request is opened by its author.
    Open,
    /// A review is submitted on the head commit.
    Review(Review),
    /// The pull request joins the merge queue behind the pull requests
    /// `ahead`; the queue builds `head` for the group of them all, and asks
    /// for the `warrant` check on it.
    Queue { ahead: Vec<u64>, head: CommitSha },
    /// The pull request is merged by `by`, creating `commit`.
    Merge { by: Account, commit: CommitSha },
    /// `by` comments `body` on the pull request's conversation; `id` is
    /// the comment's.
    Comment { by: Account, id: u64, body: String },
}

/// The commit a merge queue builds for pull request `number`'s entry
/// when it is not the last of its group.
pub fn queue_commit(number: u64) -> CommitSha {
    sha(&format!("acme/payments merge queue #{number}"))
}

/// The base branch's commit, where the policy is read.
pub fn base_sha() -> CommitSha {
    sha("acme/payments main")
}

/// The fourteen scenes, in the order they are played; `now` dates the
/// reviews and the registrations on trial.
pub fn scenes(now: DateTime<Utc>) -> Vec<Scene> {
    let mut scenes = vec![
        in_scope(),
        out_of_scope(),
        sensitive_then_approved(now),
        agent_approves_itself(now),
        shadow_agent(),
        merged(),
        under_the_organisation(),
        visibility_only(),
    ];
    scenes.extend(super::policy_changes::scenes(now));
    scenes.extend(super::bypasses::scenes());
    scenes
}

/// Copilot, assigned an issue by priya, stays within `src/`, `tests/` and
/// `docs/`.
fn in_scope() -> Scene {
    let pull = copilot_pull(
        101,
        "Export monthly statements as CSV",
        "Adds `GET /statements/{month}.csv` for merchants who reconcile in a \
         spreadsheet, with the same rounding as the PDF statement.\n\nFixes #88.",
        "copilot/statement-csv-export",
        &[
            "src/statements/csv.rs",
            "src/statements/mod.rs",
            "tests/statements_csv.rs",
            "docs/statements.md",
        ],
        "Add CSV export of monthly statements",
    );
    Scene {
        shows: "Copilot works within its role's scope",
        expected: Conclusion::Success,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// tom asks Claude Code, on his own machine, to refresh sessions; it edits
/// `src/auth/`, which its role denies.
fn out_of_scope() -> Scene {
    let tom = user("tom", 1002);
    let commit = own_commit(
        "acme/payments#102 1",
        &tom,
        ("Tom Becker", "tom@acme.example"),
        "Refresh session tokens before they expire\n\n\
                  Sessions are refreshed in the background five minutes before\n\
                  expiry, so that long reconciliations are not logged out.\n\n\
                  Co-Authored-By: Claude <noreply@anthropic.com>",
    );
    let pull = pull(
        102,
        "Refresh session tokens before they expire",
        "Merchants running long reconciliations were logged out mid-way.\n\n\
         🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        tom,
        Vec::new(),
        "tom/session-refresh",
        vec![commit],
        &[
            "src/auth/session.rs",
            "src/auth/refresh.rs",
            "src/api/middleware.rs",
        ],
    );
    Scene {
        shows: "Claude Code edits src/auth/, outside its role's scope",
        expected: Conclusion::Failure,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// Copilot changes the ledger, a sensitive area: the check waits for the
/// platform team, then maria approves.
fn sensitive_then_approved(now: DateTime<Utc>) -> Scene {
    let pull = copilot_pull(
        103,
        "Round ledger entries half to even",
        "Rounds currency conversions half to even (banker's rounding), as the \
         settlement files from the acquirer do, so that daily totals match to \
         the cent.\n\nFixes #91.",
        "copilot/ledger-bankers-rounding",
        &["src/ledger/rounding.rs", "tests/ledger_rounding.rs"],
        "Round ledger entries half to even",
    );
    let approval = review(&pull, user("maria", 1004), ReviewState::Approved, now);
    Scene {
        shows: "Copilot changes the ledger: waits for acme/platform, then maria approves",
        expected: Conclusion::Success,
        pull,
        steps: vec![Step::Open, Step::Review(approval)],
        at_head: Vec::new(),
    }
}

/// Devin adds a migration for kenji and then approves its own pull
/// request: the approval never counts, and is dismissed.
fn agent_approves_itself(now: DateTime<Utc>) -> Scene {
    let devin = bot("devin-ai-integration[bot]", 158243242);
    let devin_person = person(
        "Devin AI",
        "158243242+devin-ai-integration[bot]@users.noreply.github.com",
        Some(&devin),
    );
    let commit = Commit {
        sha: sha("acme/payments#104 1"),
        author: devin_person.clone(),
        committer: devin_person,
        message: "Add a reason column to refunds".into(),
    };
    let pull = pull(
        104,
        "Add a reason column to refunds",
        "Adds `refunds.reason` (nullable text) and reads it in the refunds \
         repository, for the dispute report.\n\n\
         Requested by: @kenji\n\n\
         Link to Devin run: https://app.devin.ai/sessions/7c1e0f3a9b2d4e6f8a0b1c2d3e4f5a6b",
        devin.clone(),
        Vec::new(),
        "devin/1732460000-refund-reason",
        vec![commit],
        &[
            "migrations/20261124120000_add_refund_reason.sql",
            "src/db/refunds.rs",
        ],
    );
    let approval = review(&pull, devin, ReviewState::Approved, now);
    Scene {
        shows: "Devin approves its own migration: ignored and dismissed, still waiting",
        expected: Conclusion::ActionRequired,
        pull,
        steps: vec![Step::Open, Step::Review(approval)],
        at_head: Vec::new(),
    }
}

/// sam's own pull request, written with the Cursor agent, which the policy
/// does not register: the commit trailer gives it away.
fn shadow_agent() -> Scene {
    let sam = user("sam", 1003);
    let commit = own_commit(
        "acme/payments#105 1",
        &sam,
        ("Sam Okafor", "sam@acme.example"),
        "Retry merchant webhooks with backoff and jitter\n\n\
                  Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
    );
    let pull = pull(
        105,
        "Retry merchant webhooks with backoff and jitter",
        "Failed merchant webhooks are retried up to eight times over a day, \
         with jitter so that an outage does not end in a thundering herd.",
        sam,
        Vec::new(),
        "sam/webhook-retries",
        vec![commit],
        &["src/webhooks/retry.rs", "tests/webhook_retry.rs"],
    );
    Scene {
        shows: "sam's pull request carries an unregistered agent (Cursor) in a trailer",
        expected: Conclusion::ActionRequired,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// Copilot fixes a message; the check passes, maria puts it in the merge
/// queue behind #101 (the group is checked again under `main`'s policy),
/// and it merges, so its audit page can say how to revert it.
fn merged() -> Scene {
    let pull = copilot_pull(
        106,
        "Say why a refund was declined",
        "Refund errors now name the reason (`insufficient_balance`, \
         `window_closed`) instead of a generic message.\n\nFixes #95.",
        "copilot/refund-error-messages",
        &["src/refunds/errors.rs", "docs/refunds.md"],
        "Name the reason a refund was declined",
    );
    Scene {
        shows: "Copilot's change, passed, checked again in a merge group with #101, and merged: its audit page shows the revert",
        expected: Conclusion::Success,
        pull,
        steps: vec![
            Step::Open,
            Step::Queue {
                ahead: vec![101],
                head: sha("acme/payments merge group #101 #106"),
            },
            Step::Merge {
                by: user("maria", 1004),
                commit: sha("acme/payments#106 merge"),
            },
        ],
        at_head: Vec::new(),
    }
}

/// In acme/checkout, which has no policy of its own, Copilot works under
/// the organisation's: registered once, for every repository of acme.
fn under_the_organisation() -> Scene {
    let mut pull = copilot_pull(
        41,
        "Show the delivery estimate in the cart",
        "The cart shows when an order would arrive, from the carrier's \
         estimate, so that fewer buyers leave at the last step.\n\nFixes #17.",
        "copilot/cart-delivery-estimate",
        &["src/cart/estimate.rs", "tests/cart_estimate.rs"],
        "Show the delivery estimate in the cart",
    );
    pull.change.repository = UNDER_ORG_ONLY.into();
    Scene {
        shows: "acme/checkout has no policy of its own: Copilot is registered once, by acme, and works within its role",
        expected: Conclusion::Success,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// In globex/website, outside acme and with no policy anywhere, Warrant
/// still sees the agent: visibility before policy.
fn visibility_only() -> Scene {
    let lee = user("lee", 2001);
    let commit = own_commit(
        "globex/website#12 1",
        &lee,
        ("Lee Park", "lee@globex.example"),
        "Compress the hero images\n\n\
                  Co-authored-by: Cursor Agent <cursoragent@cursor.com>",
    );
    let mut pull = pull(
        12,
        "Compress the hero images",
        "The landing page loads 1.8 MB less.",
        lee,
        Vec::new(),
        "lee/compress-images",
        vec![commit],
        &["public/hero.webp", "src/pages/index.tsx"],
    );
    pull.change.repository = OUTSIDE.into();
    Scene {
        shows: "globex/website has no policy at all: the check is neutral, yet the Cursor agent is seen and recorded",
        expected: Conclusion::Neutral,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// A pull request opened by the Copilot coding agent for priya, who
/// assigned it the issue: one commit by the agent, co-authored by her.
pub(super) fn copilot_pull(
    number: u64,
    title: &str,
    body: &str,
    branch: &str,
    files: &[&str],
    message: &str,
) -> PullRequest {
    let copilot = bot("copilot-swe-agent[bot]", 198982749);
    let agent = person(
        "copilot-swe-agent[bot]",
        "198982749+Copilot@users.noreply.github.com",
        Some(&copilot),
    );
    let commit = Commit {
        sha: sha(&format!("acme/payments#{number} 1")),
        author: agent.clone(),
        committer: agent,
        message: format!(
            "{message}\n\nCo-authored-by: priya <1001+priya@users.noreply.github.com>"
        ),
    };
    pull(
        number,
        title,
        body,
        copilot,
        vec![user("priya", 1001)],
        branch,
        vec![commit],
        files,
    )
}

#[allow(clippy::too_many_arguments)]
pub(super) fn pull(
    number: u64,
    title: &str,
    body: &str,
    author: Account,
    assignees: Vec<Account>,
    branch: &str,
    commits: Vec<Commit>,
    files: &[&str],
) -> PullRequest {
    let head_sha = commits
        .last()
        .map(|c| c.sha.clone())
        .unwrap_or_else(base_sha);
    PullRequest {
        change: Change {
            forge: Forge::Github,
            repository: REPOSITORY.into(),
            number,
            title: title.into(),
            body: body.into(),
            author: Some(author),
            assignees,
            base_sha: base_sha(),
            head_sha,
            commits,
            files: files
                .iter()
                .map(|p| ChangedFile {
                    path: RepoPath::parse(p).expect("the script's paths are valid"),
                    previous_path: None,
                })
                .collect(),
            reviews: Vec::new(),
        },
        draft: false,
        base_ref: "main".into(),
        head_ref: branch.into(),
        changed_files: None,
        total_commits: None,
    }
}

/// A review of `pull`'s head commit; its id is the pull request's own, far
/// from the fake's numbering.
fn review(pull: &PullRequest, reviewer: Account, state: ReviewState, at: DateTime<Utc>) -> Review {
    Review {
        id: Some(3_000_000_000 + pull.change.number),
        reviewer,
        state,
        commit_sha: pull.change.head_sha.clone(),
        submitted_at: at,
    }
}

pub(super) fn user(login: &str, id: u64) -> Account {
    account(login, AccountKind::User, id)
}

pub(super) fn bot(login: &str, id: u64) -> Account {
    account(login, AccountKind::Bot, id)
}

fn account(login: &str, kind: AccountKind, id: u64) -> Account {
    Account {
        login: Login::parse(login).expect("the script's logins are valid"),
        kind,
        id: Some(id),
    }
}

/// A commit `account` (as `name <email>`) wrote and committed, with id
/// `sha(label)`.
pub(super) fn own_commit(
    label: &str,
    account: &Account,
    (name, email): (&str, &str),
    message: &str,
) -> Commit {
    let me = person(name, email, Some(account));
    Commit {
        sha: sha(label),
        author: me.clone(),
        committer: me,
        message: message.into(),
    }
}

pub(super) fn person(name: &str, email: &str, account: Option<&Account>) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
        account: account.cloned(),
    }
}

/// A commit id that looks like git's, the same for the same label.
pub(super) fn sha(label: &str) -> CommitSha {
    let hex = hex::encode(Sha1::digest(label.as_bytes()));
    CommitSha::parse(&hex).expect("a SHA-1 in hex is a commit id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policies_are_valid_the_repositorys_under_the_organisations() {
        let org = crate::policy::load("warrant-org.yml", ORG_POLICY).expect("valid");
        assert_eq!(org.agents.len(), 5);
        let now: DateTime<Utc> = "2027-03-01T12:00:00Z".parse().unwrap();
        let dated = crate::policy::load("warrant-org.yml", &org_policy(now)).expect("valid");
        let expires = |id: &str| {
            let agent = dated.agents.iter().find(|a| a.id.as_str() == id).unwrap();
            agent.expires.map(|e| e.to_rfc3339())
        };
        // A date lapses at the end of that day.
        let jules = Some("2027-03-12T00:00:00+00:00");
        assert_eq!(expires("jules").as_deref(), jules);
        assert_eq!(
            expires("codex").as_deref(),
            Some("2027-02-10T00:00:00+00:00")
        );
        let repo = crate::policy::load_under(".github/warrant.yml", POLICY, Some(&org));
        assert!(repo.is_ok(), "{:?}", repo.err());
    }

    #[test]
    fn every_scene_is_its_own_pull_request_on_the_same_base() {
        let scenes = scenes(Utc::now());
        let mut changes: Vec<String> = scenes.iter().map(|s| s.change().to_string()).collect();
        changes.dedup();
        assert_eq!(
            changes,
            [
                "github:acme/payments#101",
                "github:acme/payments#102",
                "github:acme/payments#103",
                "github:acme/payments#104",
                "github:acme/payments#105",
                "github:acme/payments#106",
                "github:acme/checkout#41",
                "github:globex/website#12",
                "github:acme/payments#107",
                "github:acme/payments#108",
                "github:acme/.github#3",
                "github:acme/payments#109",
                "github:acme/payments#110",
                "github:acme/payments#111",
            ]
        );
        assert!(scenes.iter().all(|s| s.pull.change.base_sha == base_sha()));
        assert!(scenes.iter().all(|s| matches!(s.steps[0], Step::Open)));
    }
}
