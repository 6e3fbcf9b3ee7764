//! What commit messages declare (AI-assistance and session-link trailers,
//! agent lines beside prose), precision on look-alikes, and the local login
//! rule.

use chrono::TimeZone;

use super::*;
use crate::engine::{AccountKind, Commit, Forge, Registration};
use crate::ids::CommitSha;
use crate::policy::Policy;

const NOBODY: &str = "version: 1\nunregistered_agents:\n  action: warn\n";

/// A policy that registers `house-bot` by login and `crush` by its builtin.
const TWO_AGENTS: &str = r#"version: 1
agents:
  house-bot:
    role: dev
    owner: alice
    match:
      logins: ["house-bot"]
  charm:
    role: dev
    owner: alice
    match:
      builtin: crush
roles:
  dev:
    scope:
      allow: ["**"]
"#;

fn load(text: &str) -> Policy {
    crate::policy::load(".github/warrant.yml", text).unwrap()
}

fn who(name: &str, email: &str) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
        account: None,
    }
}

fn one_commit(forge: Forge, author: Person, message: &str) -> Change {
    let sha = CommitSha::parse("1234567").unwrap();
    let mut change = Change {
        forge,
        repository: "octo-org/app".into(),
        number: 0,
        title: String::new(),
        body: String::new(),
        author: None,
        assignees: Vec::new(),
        base_sha: CommitSha::parse("0000000").unwrap(),
        head_sha: sha.clone(),
        commits: vec![Commit {
            sha,
            committer: author.clone(),
            author,
            message: message.into(),
        }],
        files: Vec::new(),
        reviews: Vec::new(),
    };
    change.link_noreply_accounts();
    change
}

fn by_alice(message: &str) -> Change {
    one_commit(
        Forge::Github,
        who("Alice Doe", "alice@example.com"),
        message,
    )
}

fn ids(policy: &Policy, change: &Change) -> Vec<String> {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let found = identify(policy, change, &Context::default(), at);
    found.agents.into_iter().map(|a| a.id).collect()
}

#[test]
fn an_assisted_by_trailer_naming_an_unknown_tool_is_an_agent_named_after_it() {
    let change = by_alice("Fix the parser\n\nAssisted-by: FooCoder:gpt-9 sparse");
    assert_eq!(ids(&load(NOBODY), &change), ["declared:foocoder"]);
    let change = by_alice("Fix\n\nGenerated-by: Some Agent (v2) <bot@some.example>");
    assert_eq!(ids(&load(NOBODY), &change), ["declared:some-agent"]);
    let change = by_alice("Fix\n\nAgent-Logs-Url: https://agents.example.com/runs/42");
    assert_eq!(ids(&load(NOBODY), &change), ["declared:agents-example-com"]);
}

#[test]
fn an_assisted_by_trailer_naming_a_known_tool_is_that_product() {
    let change = by_alice("Fix\n\nAssisted-by: Claude Code");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:claude-code"]);
    let change = by_alice("Fix\n\nAssisted-by: GLM 4.7 via Crush <crush@charm.land>");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:crush"]);
    let change = by_alice("Fix\n\nReplit-Commit-Session-Id: 7c1e0a");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:replit"]);
}

#[test]
fn a_registered_builtin_claims_the_declarations_of_its_tool() {
    let change = by_alice("Fix\n\nAssisted-by: Crush:kimi-k3");
    assert_eq!(ids(&load(TWO_AGENTS), &change), ["charm"]);
}

#[test]
fn agent_lines_beside_prose_in_the_message_are_found() {
    let change =
        by_alice("Fix\n\nTested by hand.\nCo-Authored-By: Claude <noreply@anthropic.com>\nThanks!");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:claude-code"]);
    let change = by_alice("Fix\n\n🤖 Generated with Claude Code\n\nSigned-off: me");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:claude-code"]);
    let change =
        by_alice("Fix\n\nBody.\n\nCo-authored-by: OpenHands-Gemini openhands@all-hands.dev");
    assert_eq!(ids(&load(NOBODY), &change), ["catalog:openhands"]);
}

#[test]
fn people_at_vendors_first_names_and_prose_are_not_agents() {
    let vendor_people = [
        who("Paul Gauthier", "paul@aider.chat"),
        who("Jane Roe", "jane@anthropic.com"),
        who("Jules Verne", "jules@example.com"),
        who("Devin Smith", "devin@example.com"),
        who("Cody", "cody@sourcegraph.com"),
        who("Roo Code", "support@roocode.com"),
    ];
    for person in vendor_people {
        let change = one_commit(Forge::Github, person, "Fix the build");
        assert_eq!(ids(&load(NOBODY), &change), Vec::<String>::new());
    }
    let prose = "Use Claude Code in CI\n\nWe tried Copilot and Cursor; aider: not yet.\n\
        Generated with Claude Code, the docs say, when you ask it.";
    assert_eq!(ids(&load(NOBODY), &by_alice(prose)), Vec::<String>::new());
    let subject_only = "aider: tweak the prompt\n\nBy hand this time.";
    assert_eq!(
        ids(&load(NOBODY), &by_alice(subject_only)),
        Vec::<String>::new()
    );
}

#[test]
fn a_noreply_address_names_the_account_so_logins_match_locally() {
    let bot = who("House Bot", "4242+house-bot@users.noreply.github.com");
    let change = one_commit(Forge::Local, bot, "Tidy up");
    let account = change.commits[0].author.account.as_ref().unwrap();
    assert_eq!(account.login.as_str(), "house-bot");
    assert_eq!(account.id, Some(4242));
    assert_eq!(ids(&load(TWO_AGENTS), &change), ["house-bot"]);
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let found = identify(&load(TWO_AGENTS), &change, &Context::default(), at);
    assert_eq!(found.agents[0].status, Registration::Registered);
}

#[test]
fn a_noreply_address_gives_a_bot_only_for_a_bot_login() {
    let bot = Account::from_noreply("\"9+some-app[bot]@users.noreply.github.com\"").unwrap();
    assert_eq!(
        (bot.login.as_str(), bot.kind),
        ("some-app[bot]", AccountKind::Bot)
    );
    let old = Account::from_noreply("alice@users.noreply.github.com").unwrap();
    assert_eq!(
        (old.login.as_str(), old.kind, old.id),
        ("alice", AccountKind::User, None)
    );
    let quoted = Account::from_noreply(r#"\"7+MentatBot@users.noreply.github.com\""#).unwrap();
    assert_eq!((quoted.login.as_str(), quoted.id), ("MentatBot", Some(7)));
    assert!(Account::from_noreply("alice@example.com").is_none());
    assert!(Account::from_noreply("noreply@github.com").is_none());
}

#[test]
fn gitlab_changes_keep_the_accounts_gitlab_linked() {
    let bot = who("House Bot", "4242+house-bot@users.noreply.github.com");
    let change = one_commit(Forge::Gitlab, bot, "Tidy up");
    assert!(change.commits[0].author.account.is_none());
}
