use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::engine::{AccountKind, Commit, Forge, Registration, SignalKind, SignalMatch};
use crate::ids::{AgentId, CommitSha, Principal, RoleId};
use crate::policy::Policy;
use crate::policy::{
    Agent, AgentReviews, ApprovalRules, Mode, OutOfScope, PathGlobs, PolicyFileRules, Role,
    UnregisteredAction, UnregisteredAgents,
};
use crate::signals::{LoginPattern, TrailerPattern};

// ---- builders -------------------------------------------------------------

fn login(s: &str) -> Login {
    Login::parse(s).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn policy(agents: Vec<Agent>) -> Policy {
    let dev = RoleId::parse("dev").unwrap();
    let role = Role {
        id: dev.clone(),
        description: None,
        allow: PathGlobs::new(&["**"]).unwrap(),
        deny: PathGlobs::empty(),
        out_of_scope: OutOfScope::Block,
        escalate_to: None,
        max_files: None,
    };
    Policy {
        mode: Mode::Enforce,
        agents,
        roles: BTreeMap::from([(dev, role)]),
        sensitive: Vec::new(),
        sensitive_index: crate::policy::GlobIndex::new([]),
        unregistered_agents: UnregisteredAgents {
            action: UnregisteredAction::Escalate,
            approvers: Vec::new(),
        },
        approvals: ApprovalRules {
            stale_on_push: true,
            exclude_requester: true,
            exclude_contributors: true,
            agent_reviews: AgentReviews::Ignore,
        },
        policy_file: PolicyFileRules::default(),
        overrides: Default::default(),
    }
}

fn agent(id: &str, signals: Signals) -> Agent {
    Agent {
        id: AgentId::parse(id).unwrap(),
        description: None,
        role: RoleId::parse("dev").unwrap(),
        owner: Principal::parse("octo-org/platform").unwrap(),
        builtin: None,
        signals,
        expires: None,
        elevations: Vec::new(),
    }
}

/// An agent registered with `match.builtin: <id>`.
fn builtin_agent(id: &str, builtin: &str) -> Agent {
    let mut signals = Signals::default();
    signals.extend(&catalog::builtin().get(builtin).unwrap().signals);
    Agent {
        builtin: Some(builtin.to_owned()),
        ..agent(id, signals)
    }
}

fn logins(l: &[&str]) -> Signals {
    Signals {
        logins: l.iter().map(|s| LoginPattern::new(login(s))).collect(),
        ..Signals::default()
    }
}

fn trailers(t: &[&str]) -> Signals {
    Signals {
        trailers: t
            .iter()
            .map(|s| TrailerPattern::parse(s).unwrap())
            .collect(),
        ..Signals::default()
    }
}

fn user(name: &str) -> Account {
    Account {
        login: login(name),
        kind: AccountKind::User,
        id: None,
    }
}

fn bot(name: &str, id: Option<u64>) -> Account {
    Account {
        login: login(name),
        kind: AccountKind::Bot,
        id,
    }
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
        account: None,
    }
}

fn linked(name: &str, email: &str, account: Account) -> Person {
    Person {
        account: Some(account),
        ..person(name, email)
    }
}

fn web_flow() -> Person {
    linked("GitHub", "noreply@github.com", user("web-flow"))
}

fn commit(sha: &str, author: Person, committer: Person, message: &str) -> Commit {
    Commit {
        sha: CommitSha::parse(sha).unwrap(),
        author,
        committer,
        message: message.into(),
    }
}

/// A commit by one person who is also its committer.
fn commit_by(sha: &str, who: Person, message: &str) -> Commit {
    commit(sha, who.clone(), who, message)
}

fn change(author: Option<Account>, commits: Vec<Commit>, body: &str) -> Change {
    Change {
        forge: Forge::Github,
        repository: "octo-org/app".into(),
        number: 7,
        title: "A change".into(),
        body: body.into(),
        author,
        assignees: Vec::new(),
        base_sha: CommitSha::parse("0000000").unwrap(),
        head_sha: CommitSha::parse("fffffff").unwrap(),
        commits,
        files: Vec::new(),
        reviews: Vec::new(),
    }
}

fn run(policy: &Policy, change: &Change) -> Identification {
    identify(policy, change, &Context::default(), now())
}

fn ids(found: &Identification) -> Vec<&str> {
    found.agents.iter().map(|a| a.id.as_str()).collect()
}

fn finding<'a>(found: &'a Identification, id: &str) -> &'a AgentFinding {
    found
        .agents
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no finding `{id}` in {:?}", ids(found)))
}

fn shown(people: &[Identity]) -> Vec<String> {
    people.iter().map(Identity::display).collect()
}

const ALICE_NOREPLY: &str = "1001+alice@users.noreply.github.com";
const CLAUDE_TRAILER: &str = "Co-Authored-By: Claude <noreply@anthropic.com>";
const HUMAN_ALICE: fn() -> Person = || person("Alice", "alice@example.com");

/// The pull request Copilot's coding agent opens: the bot is the change
/// author, its commits are pushed through web-flow and credit the human
/// who assigned the task, who is also an assignee.
fn copilot_change() -> Change {
    let copilot = linked(
        "copilot-swe-agent[bot]",
        "198982749+Copilot@users.noreply.github.com",
        bot("Copilot", Some(198982749)),
    );
    let message = format!("Add a thing\n\nCo-authored-by: alice <{ALICE_NOREPLY}>\n");
    let mut c = change(
        Some(bot("Copilot", Some(198982749))),
        vec![commit("1a2b3c4d", copilot, web_flow(), &message)],
        "Fixes #12.",
    );
    c.assignees = vec![user("alice"), bot("Copilot", Some(198982749))];
    c
}

// ---- evidence: verified and declared, each source --------------------------

#[test]
fn change_author_is_verified_and_commit_evidence_is_declared() {
    let found = run(
        &policy(vec![builtin_agent("copilot", "copilot")]),
        &copilot_change(),
    );
    assert_eq!(ids(&found), ["copilot"]);
    let copilot = finding(&found, "copilot");
    assert_eq!(copilot.status, Registration::Registered);
    assert_eq!(copilot.role.as_deref(), Some("dev"));
    assert_eq!(copilot.owner.as_deref(), Some("octo-org/platform"));
    assert_eq!(copilot.catalog.as_deref(), Some("copilot"));
    let kinds: Vec<(SignalKind, bool, &str)> = copilot
        .signals
        .iter()
        .map(|s| (s.kind, s.verified, s.source.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (SignalKind::Account, true, "change author"),
            (SignalKind::CommitLogin, false, "commit 1a2b3c4 author"),
            (SignalKind::Email, false, "commit 1a2b3c4 author"),
        ]
    );
}

#[test]
fn names_trailers_and_body_lines_are_declared_with_their_source() {
    let bob = person("Bob", "bob@example.com");
    let aider = commit(
        "abcdef12",
        person("Bob (aider)", "bob@example.com"),
        bob,
        "Fix",
    );
    let claude = commit_by(
        "1234567a",
        HUMAN_ALICE(),
        &format!("Fix\n\n{CLAUDE_TRAILER}"),
    );
    let body = "Does it.\n\n🤖 Generated with [Claude Code](https://claude.ai/code)";
    let found = run(
        &policy(vec![]),
        &change(Some(user("alice")), vec![aider, claude], body),
    );
    assert_eq!(ids(&found), ["catalog:claude-code", "catalog:aider"]);
    let aider = &finding(&found, "catalog:aider").signals;
    assert_eq!(aider.len(), 1);
    assert_eq!(
        (
            aider[0].kind,
            aider[0].verified,
            aider[0].source.as_str(),
            aider[0].pattern.as_str()
        ),
        (
            SignalKind::Name,
            false,
            "commit abcdef1 author",
            "* (aider)"
        )
    );
    let claude = &finding(&found, "catalog:claude-code").signals;
    let seen: Vec<(SignalKind, &str, &str)> = claude
        .iter()
        .map(|s| (s.kind, s.source.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                SignalKind::Trailer,
                "commit 1234567 trailer",
                CLAUDE_TRAILER
            ),
            (
                SignalKind::Body,
                "change body",
                "🤖 Generated with [Claude Code](https://claude.ai/code)"
            ),
        ]
    );
    assert!(claude.iter().all(|s| !s.verified));
}

#[test]
fn identical_evidence_is_reported_once() {
    let message = format!("Fix\n\n{CLAUDE_TRAILER}\n{CLAUDE_TRAILER}");
    let found = run(
        &policy(vec![builtin_agent("claude", "claude-code")]),
        &change(
            Some(user("alice")),
            vec![commit_by("1234567", HUMAN_ALICE(), &message)],
            "",
        ),
    );
    assert_eq!(finding(&found, "claude").signals.len(), 1);
}

#[test]
fn logins_and_trailer_keys_are_compared_ignoring_case() {
    let p = policy(vec![
        agent("deps", logins(&["Renovate"])),
        agent(
            "claude",
            trailers(&["co-authored-by: claude*<NOREPLY@anthropic.com>"]),
        ),
    ]);
    let claude = commit_by(
        "1234567",
        HUMAN_ALICE(),
        "Fix\n\nCO-AUTHORED-BY: Claude Sonnet 4.5 <noreply@Anthropic.com>",
    );
    let found = run(
        &p,
        &change(Some(bot("RENOVATE[bot]", None)), vec![claude], ""),
    );
    assert_eq!(ids(&found), ["deps", "claude"]);
}

#[test]
fn squash_merges_crediting_an_agent_as_co_author_are_its_evidence() {
    let message = "Fix (#3)\n\nCo-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>";
    let found = run(
        &policy(vec![]),
        &change(
            Some(user("alice")),
            vec![commit_by("1234567", HUMAN_ALICE(), message)],
            "",
        ),
    );
    let copilot = finding(&found, "catalog:copilot");
    assert_eq!(copilot.signals[0].kind, SignalKind::Trailer);
    assert_eq!(
        copilot.signals[0].pattern,
        "*+Copilot@users.noreply.github.com"
    );
}

// ---- precision traps --------------------------------------------------------

#[test]
fn a_spoofed_claude_co_author_is_a_human_not_an_agent() {
    let message = "Fix\n\nCo-authored-by: Claude <claude@example.com>";
    let found = run(
        &policy(vec![]),
        &change(
            Some(user("alice")),
            vec![commit_by("1234567", HUMAN_ALICE(), message)],
            "",
        ),
    );
    assert!(found.agents.is_empty(), "{:?}", found.agents);
    assert!(found.requesters.is_empty());
    assert_eq!(shown(&found.contributors), ["Alice", "Claude"]);
}

#[test]
fn a_human_named_devin_is_not_devin() {
    let devin = linked("Devin Smith", "devin@example.com", user("devin"));
    let message = "Fix\n\nCo-authored-by: Devin Smith <devin@corp.example>";
    let found = run(
        &policy(vec![]),
        &change(
            Some(user("devin")),
            vec![commit_by("1234567", devin, message)],
            "",
        ),
    );
    assert!(found.agents.is_empty(), "{:?}", found.agents);
}

#[test]
fn the_human_github_user_claude_is_not_the_claude_app() {
    let claude = linked(
        "Claude",
        "81847+claude@users.noreply.github.com",
        user("claude"),
    );
    let found = run(
        &policy(vec![]),
        &change(
            Some(user("claude")),
            vec![commit_by("1234567", claude, "Fix")],
            "",
        ),
    );
    assert!(found.agents.is_empty(), "{:?}", found.agents);
    let human = Account {
        id: Some(81847),
        ..user("claude")
    };
    assert!(!is_agent_account(
        &policy(vec![]),
        &human,
        &Context::default()
    ));
}

#[test]
fn web_flow_is_neither_an_agent_nor_a_contributor() {
    let c = commit("1234567", HUMAN_ALICE(), web_flow(), "Edit README");
    let found = run(&policy(vec![]), &change(Some(user("alice")), vec![c], ""));
    assert!(found.agents.is_empty(), "{:?}", found.agents);
    assert_eq!(shown(&found.contributors), ["Alice"]);
}

#[test]
fn github_account_ids_are_not_compared_on_gitlab() {
    let mut c = change(
        Some(Account {
            id: Some(49699333),
            ..user("dana")
        }),
        vec![],
        "",
    );
    assert_eq!(ids(&run(&policy(vec![]), &c)), ["catalog:dependabot"]);
    c.forge = Forge::Gitlab;
    assert!(run(&policy(vec![]), &c).agents.is_empty());
}

// ---- registrations, lapses and claims --------------------------------------

#[test]
fn a_lapsed_registration_is_reported_as_lapsed_without_a_catalog_duplicate() {
    let expired_at = Utc.with_ymd_and_hms(2026, 6, 30, 23, 59, 59).unwrap();
    let devin = Agent {
        expires: Some(expired_at),
        ..builtin_agent("devin", "devin")
    };
    let found = run(
        &policy(vec![devin]),
        &change(
            Some(bot("devin-ai-integration[bot]", Some(158243242))),
            vec![],
            "",
        ),
    );
    assert_eq!(ids(&found), ["devin"]);
    assert_eq!(found.agents[0].status, Registration::Lapsed { expired_at });
}

#[test]
fn a_registration_not_yet_expired_is_registered() {
    let devin = Agent {
        expires: Some(now() + chrono::Duration::days(1)),
        ..builtin_agent("devin", "devin")
    };
    let found = run(
        &policy(vec![devin]),
        &change(Some(bot("devin-ai-integration[bot]", None)), vec![], ""),
    );
    assert_eq!(found.agents[0].status, Registration::Registered);
}

#[test]
fn a_registered_agent_claims_what_a_lapsed_one_also_matches() {
    let old = Agent {
        expires: Some(now() - chrono::Duration::days(1)),
        ..agent("deps-old", logins(&["renovate[bot]"]))
    };
    let found = run(
        &policy(vec![old, agent("deps", logins(&["renovate"]))]),
        &change(Some(bot("renovate[bot]", None)), vec![], ""),
    );
    assert_eq!(ids(&found), ["deps"]);
}

#[test]
fn an_agent_registered_by_its_trailer_claims_its_products_body_line() {
    let p = policy(vec![agent(
        "claude",
        trailers(&["Co-authored-by: Claude*<noreply@anthropic.com>"]),
    )]);
    let body = "🤖 Generated with [Claude Code](https://claude.ai/code)";
    let c = commit_by(
        "1234567",
        HUMAN_ALICE(),
        &format!("Fix\n\n{CLAUDE_TRAILER}"),
    );
    let found = run(&p, &change(Some(user("alice")), vec![c], body));
    assert_eq!(ids(&found), ["claude"]);
    let body_match = &finding(&found, "claude").signals[1];
    assert_eq!(body_match.kind, SignalKind::Body);
    assert_eq!(
        body_match.pattern,
        "catalog claude-code: *Generated with [Claude Code](*"
    );
}

#[test]
fn an_agent_registered_by_login_claims_its_commits_emails() {
    let renovate = linked(
        "renovate[bot]",
        "29139614+renovate[bot]@users.noreply.github.com",
        bot("renovate[bot]", Some(29139614)),
    );
    let found = run(
        &policy(vec![agent("renovate", logins(&["renovate[bot]"]))]),
        &change(
            Some(bot("renovate[bot]", None)),
            vec![commit_by("1234567", renovate, "Bump")],
            "",
        ),
    );
    assert_eq!(ids(&found), ["renovate"]);
}

#[test]
fn a_catalog_signature_no_registration_claims_is_unregistered() {
    let devin = person(
        "Devin AI",
        "158243242+devin-ai-integration[bot]@users.noreply.github.com",
    );
    let claude = commit_by(
        "1234567",
        HUMAN_ALICE(),
        &format!("Fix\n\n{CLAUDE_TRAILER}"),
    );
    let found = run(
        &policy(vec![builtin_agent("claude", "claude-code")]),
        &change(
            Some(user("alice")),
            vec![claude, commit_by("abcdef0", devin, "More")],
            "",
        ),
    );
    assert_eq!(ids(&found), ["claude", "catalog:devin"]);
    let devin = finding(&found, "catalog:devin");
    assert_eq!(devin.status, Registration::Unregistered);
    assert_eq!(devin.catalog.as_deref(), Some("devin"));
    assert_eq!((devin.role.as_ref(), devin.owner.as_ref()), (None, None));
}

// ---- bot accounts ------------------------------------------------------------

#[test]
fn an_unknown_bot_account_is_an_unregistered_agent() {
    let helper = linked(
        "helper",
        "9+some-app[bot]@users.noreply.github.com",
        bot("some-app[bot]", None),
    );
    let found = run(
        &policy(vec![]),
        &change(
            Some(bot("some-app[bot]", None)),
            vec![commit_by("1234567", helper, "x")],
            "",
        ),
    );
    assert_eq!(ids(&found), ["bot:some-app[bot]"]);
    let signals: Vec<(SignalKind, bool, &str)> = found.agents[0]
        .signals
        .iter()
        .map(|s| (s.kind, s.verified, s.source.as_str()))
        .collect();
    assert_eq!(
        signals,
        [
            (SignalKind::BotAccount, true, "change author"),
            (SignalKind::BotAccount, false, "commit 1234567 author"),
            (SignalKind::BotAccount, false, "commit 1234567 committer"),
        ]
    );
}

#[test]
fn the_apps_own_bot_and_recognised_bots_are_not_unknown_bots() {
    let context = Context {
        app_logins: vec![login("warrant")],
        ..Context::default()
    };
    let c = change(Some(bot("warrant[bot]", None)), vec![], "");
    assert!(
        identify(&policy(vec![]), &c, &context, now())
            .agents
            .is_empty()
    );
    let c = change(Some(bot("dependabot[bot]", Some(49699333))), vec![], "");
    assert_eq!(ids(&run(&policy(vec![]), &c)), ["catalog:dependabot"]);
}

// ---- requesters --------------------------------------------------------------

#[test]
fn copilots_requesters_are_its_human_assignee_and_co_author() {
    let mut c = copilot_change();
    c.assignees.push(user("bob"));
    let found = run(&policy(vec![builtin_agent("copilot", "copilot")]), &c);
    assert_eq!(shown(&found.requesters), ["@alice", "@bob"]);
    assert_eq!(found.requesters[0].email, ALICE_NOREPLY);
}

#[test]
fn a_co_author_named_as_the_assignees_login_is_the_assignee() {
    let mut c = copilot_change();
    let message = "Add a thing\n\nCo-authored-by: alice <alice@example.com>\n\
                   Co-authored-by: Alice Smith <asmith@example.com>\n";
    c.commits[0].message = message.to_owned();
    let found = run(&policy(vec![builtin_agent("copilot", "copilot")]), &c);
    // `alice` is the account alice, as she is when kept from approving;
    // a fuller name is nobody's login, so it stays a person of its own.
    assert_eq!(shown(&found.requesters), ["@alice", "Alice Smith"]);
    assert_eq!(found.requesters[0].email, "alice@example.com");
}

#[test]
fn devins_requester_is_named_in_the_body() {
    let body =
        "Link to Devin run: https://app.devin.ai/sessions/abc\n**Requested by:** Alice (@alice)\n";
    let found = run(
        &policy(vec![]),
        &change(
            Some(bot("devin-ai-integration[bot]", Some(158243242))),
            vec![],
            body,
        ),
    );
    assert_eq!(ids(&found), ["catalog:devin"]);
    assert_eq!(shown(&found.requesters), ["@alice"]);
    let plain = change(
        Some(bot("devin-ai-integration[bot]", None)),
        vec![],
        "Requested by: @bob, @carol",
    );
    assert_eq!(
        shown(&run(&policy(vec![]), &plain).requesters),
        ["@bob", "@carol"]
    );
}

#[test]
fn claude_codes_requester_is_the_human_who_opened_the_change() {
    let c = commit_by(
        "1234567",
        HUMAN_ALICE(),
        &format!("Fix\n\n{CLAUDE_TRAILER}"),
    );
    let found = run(
        &policy(vec![]),
        &change(Some(user("alice")), vec![c], "Requested by: @mallory"),
    );
    assert_eq!(shown(&found.requesters), ["@alice"]);
}

#[test]
fn a_change_without_agents_has_no_requester() {
    let c = commit_by("1234567", HUMAN_ALICE(), "Fix");
    let found = run(
        &policy(vec![]),
        &change(Some(user("alice")), vec![c], "Requested by: @bob"),
    );
    assert!(found.agents.is_empty());
    assert!(found.requesters.is_empty());
}

#[test]
fn agent_co_authors_and_bot_assignees_are_not_requesters() {
    let jules = linked(
        "google-labs-jules[bot]",
        "161369871+google-labs-jules[bot]@users.noreply.github.com",
        bot("google-labs-jules[bot]", Some(161369871)),
    );
    let message = format!(
        "Fix\n\n{CLAUDE_TRAILER}\nCo-authored-by: helper <7+helper[bot]@users.noreply.github.com>"
    );
    let mut c = change(
        Some(bot("google-labs-jules[bot]", None)),
        vec![commit_by("1234567", jules, &message)],
        "",
    );
    c.assignees = vec![bot("renovate[bot]", None), user("Copilot")];
    assert!(run(&policy(vec![]), &c).requesters.is_empty());
}

// ---- contributors --------------------------------------------------------------

#[test]
fn contributors_are_the_humans_who_wrote_committed_or_co_authored() {
    let alice = linked("Alice", "alice@example.com", user("alice"));
    let carol = person("Carol", "carol@example.com");
    let commits = vec![
        commit(
            "1234567",
            alice.clone(),
            carol,
            "One\n\nCo-authored-by: Dan <4+dan@users.noreply.github.com>",
        ),
        commit(
            "abcdef0",
            alice,
            web_flow(),
            &format!("Two\n\n{CLAUDE_TRAILER}"),
        ),
        commit_by(
            "7654321",
            person("Copilot", "198982749+Copilot@users.noreply.github.com"),
            "Three",
        ),
    ];
    let found = run(&policy(vec![]), &change(Some(user("alice")), commits, ""));
    assert_eq!(shown(&found.contributors), ["@alice", "Carol", "@dan"]);
}

#[test]
fn a_human_whose_commit_shares_a_short_sha_with_an_agents_is_a_contributor() {
    let copilot = person("Copilot", "198982749+Copilot@users.noreply.github.com");
    let commits = vec![
        commit_by("1234567a", copilot, "One"),
        commit_by("1234567b", person("Carol", "carol@example.com"), "Two"),
    ];
    let found = run(&policy(vec![]), &change(None, commits, ""));
    assert_eq!(shown(&found.contributors), ["Carol"]);
}

// ---- identities and agent accounts -----------------------------------------------

#[test]
fn an_identity_is_a_login_by_login_noreply_address_or_name() {
    let alice = login("Alice");
    assert!(Identity::login(login("alice")).is(&alice));
    assert!(
        Identity {
            email: ALICE_NOREPLY.into(),
            ..Identity::default()
        }
        .is(&alice)
    );
    assert!(
        Identity {
            email: "alice@users.noreply.github.com".into(),
            ..Identity::default()
        }
        .is(&alice)
    );
    assert!(
        Identity {
            name: "ALICE".into(),
            ..Identity::default()
        }
        .is(&alice)
    );
    let other = Identity {
        name: "Alice Smith".into(),
        email: "alice@example.com".into(),
        login: None,
    };
    assert!(!other.is(&alice));
    assert!(!Identity::login(login("alice2")).is(&alice));
}

#[test]
fn an_identity_shows_its_login_else_name_else_email() {
    let full = Identity {
        login: Some(login("alice")),
        name: "Alice".into(),
        email: "a@x".into(),
    };
    assert_eq!(full.display(), "@alice");
    assert_eq!(
        Identity {
            login: None,
            ..full.clone()
        }
        .display(),
        "Alice"
    );
    assert_eq!(
        Identity {
            email: "a@x".into(),
            ..Identity::default()
        }
        .display(),
        "a@x"
    );
}

#[test]
fn agent_accounts_are_bots_registered_logins_and_catalog_accounts() {
    let p = policy(vec![agent("helper", logins(&["build-helper"]))]);
    let ctx = Context::default();
    assert!(is_agent_account(&p, &bot("anything", None), &ctx));
    assert!(is_agent_account(&p, &user("anything[bot]"), &ctx));
    assert!(is_agent_account(&p, &user("Build-Helper"), &ctx));
    assert!(is_agent_account(&p, &user("Copilot"), &ctx));
    assert!(is_agent_account(
        &p,
        &Account {
            id: Some(29139614),
            ..user("renamed")
        },
        &ctx
    ));
    assert!(!is_agent_account(&p, &user("alice"), &ctx));
    assert!(!is_agent_account(&p, &user("devin"), &ctx));
}

#[test]
fn signal_matches_carry_the_pattern_that_matched() {
    let found = run(
        &policy(vec![]),
        &change(Some(bot("Renovate[bot]", Some(1))), vec![], ""),
    );
    assert_eq!(
        found.agents[0].signals,
        [SignalMatch {
            kind: SignalKind::Account,
            verified: true,
            source: "change author".into(),
            value: "Renovate[bot]".into(),
            pattern: "renovate[bot]".into(),
        }]
    );
}

#[test]
fn an_unknown_bot_whose_commit_shares_a_short_sha_with_an_agents_is_still_found() {
    let renovate = agent("renovate", logins(&["renovate[bot]"]));
    let commits = vec![
        commit_by(
            "1234567a",
            linked("renovate[bot]", "r@example.com", bot("renovate[bot]", None)),
            "One",
        ),
        commit_by(
            "1234567b",
            linked("helper[bot]", "h@example.com", bot("helper[bot]", None)),
            "Two",
        ),
    ];
    let found = run(&policy(vec![renovate]), &change(None, commits, ""));
    assert_eq!(ids(&found), ["renovate", "bot:helper[bot]"]);
}
