//! The demo's last acts, where Warrant tells people rather than waits to
//! be asked: maria overrides the check on an incident fix, with a reason;
//! sam works with Codex, whose trial registration lapsed; kenji pushes a
//! Devin commit straight onto `main`, past review; and Jules's trial lapses
//! within the fortnight. Each raises its alert.

use crate::engine::{Commit, Conclusion};
use crate::ids::CommitSha;

use super::script::{
    REPOSITORY, Scene, Step, base_sha, bot, copilot_pull, own_commit, person, pull, sha, user,
};

/// The reason maria gives for her override.
pub const OVERRIDE_REASON: &str = "INC-4412: merchants are logged out since the cookie \
                                   rename; the fix was reviewed live on the incident bridge";

pub(super) fn scenes() -> Vec<Scene> {
    vec![overridden_in_an_incident(), a_lapsed_registration()]
}

/// During an incident, Copilot restores the old session cookie's name in
/// `src/auth/`, which its role denies; maria, of acme/platform (the
/// organisation's `overrides.approvers`), overrides the check with the
/// incident's reference. The check passes, titled with her reason, and
/// still lists what it found.
fn overridden_in_an_incident() -> Scene {
    let pull = copilot_pull(
        110,
        "Accept the previous session cookie name",
        "Since the cookie was renamed, sessions issued before the release are \
         rejected and merchants are logged out. Accept both names for a week.\n\n\
         Fixes #131 (INC-4412).",
        "copilot/accept-previous-cookie",
        &["src/auth/cookie.rs", "tests/auth_cookie.rs"],
        "Accept the previous session cookie name",
    );
    Scene {
        shows: "Copilot fixes an incident in src/auth/, outside its role: maria of acme/platform overrides the check, with a reason",
        expected: Conclusion::Success,
        pull,
        steps: vec![
            Step::Open,
            Step::Comment {
                by: user("maria", 1004),
                id: 4_000_000_110,
                body: format!("/warrant override {OVERRIDE_REASON}"),
            },
        ],
        at_head: Vec::new(),
    }
}

/// sam works with OpenAI Codex, registered by acme for a trial that ended
/// twenty days ago and was not renewed: its signals count as an
/// unregistered agent's again, and the check says the registration lapsed.
fn a_lapsed_registration() -> Scene {
    let sam = user("sam", 1003);
    let commit = own_commit(
        "acme/payments#111 1",
        &sam,
        ("Sam Okafor", "sam@acme.example"),
        "Paginate the statements list\n\n\
                  Co-authored-by: Codex <codex@openai.com>",
    );
    let pull = pull(
        111,
        "Paginate the statements list",
        "Merchants with years of history wait seconds for the statements page; \
         it now loads fifty at a time.\n\n\
         Codex task: https://chatgpt.com/codex/tasks/task_e_6751c0a2f4e88321",
        sam,
        Vec::new(),
        "sam/statements-pagination",
        vec![commit],
        &["src/statements/list.rs", "tests/statements_list.rs"],
    );
    Scene {
        shows: "sam works with Codex, whose registration lapsed: it counts as unregistered until acme renews it",
        expected: Conclusion::ActionRequired,
        pull,
        steps: vec![Step::Open],
        at_head: Vec::new(),
    }
}

/// A push onto a branch, outside any pull request.
#[derive(Clone, Debug)]
pub struct Push {
    pub repo: &'static str,
    pub branch: &'static str,
    pub before: CommitSha,
    /// Each commit with the paths it modified.
    pub commits: Vec<(Commit, Vec<String>)>,
    pub pusher: crate::engine::Account,
}

impl Push {
    /// The `push` delivery GitHub sends for it, to the app's
    /// `installation`.
    pub fn payload(&self, installation: u64) -> serde_json::Value {
        let pushed = crate::forge::github::fake::events::Pushed {
            repo: self.repo,
            branch: self.branch,
            before: &self.before,
            commits: &self.commits,
            pusher: &self.pusher,
        };
        crate::forge::github::fake::events::push(&pushed, installation)
    }
}

/// kenji pushes Devin's index migration straight onto `main`, past the
/// pull request and the platform team's review.
pub fn pushes() -> Vec<Push> {
    let devin = bot("devin-ai-integration[bot]", 158243242);
    let devin_person = person(
        "Devin AI",
        "158243242+devin-ai-integration[bot]@users.noreply.github.com",
        Some(&devin),
    );
    let commit = Commit {
        sha: sha("acme/payments main push 1"),
        author: devin_person.clone(),
        committer: devin_person,
        message: "Index refunds by merchant\n\n\
                  Link to Devin run: https://app.devin.ai/sessions/0d4f1b2c3a5e6d7f8091a2b3c4d5e6f7"
            .into(),
    };
    vec![Push {
        repo: REPOSITORY,
        branch: "main",
        before: base_sha(),
        commits: vec![(
            commit,
            vec!["migrations/20261201090000_index_refunds_merchant.sql".to_owned()],
        )],
        pusher: user("kenji", 1005),
    }]
}
