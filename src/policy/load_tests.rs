//! Tests of the policy loader: each key's default, each kind of error with
//! its exact position and message, and the compiled result.

use chrono::{DateTime, Utc};

use super::issue::did_you_mean;
use super::*;
use crate::ids::{Login, TeamName};
use crate::signals::Trailer;

/// Joins lines, so that a test reads with its line numbers: line N is
/// `lines[N - 1]`.
fn yaml(lines: &[&str]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn ok(text: &str) -> Policy {
    load("warrant.yml", text).unwrap_or_else(|e| panic!("should load, got:\n{e}"))
}

/// Every error as `LINE:COL: message`.
fn errors(text: &str) -> Vec<String> {
    match load("warrant.yml", text) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(e) => {
            e.0.iter()
                .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
                .collect()
        }
    }
}

fn error(text: &str) -> String {
    let all = errors(text);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.into_iter().next().unwrap()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn login(s: &str) -> Login {
    Login::parse(s).unwrap()
}

fn user(s: &str) -> Approver {
    Approver::Principal(Principal::User(login(s)))
}

fn team(s: &str) -> Approver {
    Approver::Principal(Principal::Team(TeamName::parse(s).unwrap()))
}

/// A valid policy with one agent `bot` in role `dev`, then `extra` lines.
fn with(extra: &[&str]) -> String {
    let mut lines = vec![
        "version: 1",
        "agents:",
        "  bot:",
        "    role: dev",
        "    owner: alice",
        "    match:",
        "      logins: [bot]",
        "roles:",
        "  dev:",
        "    scope:",
        "      allow: [\"src/**\"]",
    ];
    lines.extend_from_slice(extra);
    yaml(&lines)
}

// Defaults ------------------------------------------------------------------

#[test]
fn a_version_alone_applies_every_default() {
    let p = ok("version: 1\n");
    assert_eq!(p.mode, Mode::Enforce);
    assert!(p.agents.is_empty() && p.roles.is_empty() && p.sensitive.is_empty());
    assert_eq!(p.unregistered_agents.action, UnregisteredAction::Escalate);
    assert!(p.unregistered_agents.approvers.is_empty());
    assert!(p.approvals.stale_on_push);
    assert!(p.approvals.exclude_requester);
    assert!(p.approvals.exclude_contributors);
    assert_eq!(p.approvals.agent_reviews, AgentReviews::Ignore);
    assert!(p.policy_file.approvers.is_empty());
}

#[test]
fn empty_sections_are_the_same_as_absent_ones() {
    let p = ok(&yaml(&[
        "version: 1",
        "agents:",
        "roles:",
        "sensitive:",
        "unregistered_agents:",
        "approvals:",
        "policy_file:",
    ]));
    assert!(p.agents.is_empty());
    assert!(p.approvals.stale_on_push);
    assert_eq!(p.unregistered_agents.action, UnregisteredAction::Escalate);
}

#[test]
fn role_keys_default_to_block_with_no_deny_no_limit_and_the_owner() {
    let p = ok(&with(&[]));
    let role = &p.roles[&RoleId::parse("dev").unwrap()];
    assert_eq!(role.id.as_str(), "dev");
    assert_eq!(role.allow.patterns(), ["src/**"]);
    assert!(role.deny.is_empty());
    assert_eq!(role.out_of_scope, OutOfScope::Block);
    assert_eq!(role.escalate_to, None);
    assert_eq!(role.max_files, None);
    assert_eq!(role.description, None);
}

#[test]
fn agent_keys_default_to_no_expiry_no_elevation_no_builtin() {
    let p = ok(&with(&[]));
    let agent = &p.agents[0];
    assert_eq!(agent.id.as_str(), "bot");
    assert_eq!(agent.role.as_str(), "dev");
    assert_eq!(agent.owner, Principal::User(login("alice")));
    assert_eq!(agent.expires, None);
    assert!(agent.elevations.is_empty());
    assert_eq!(agent.builtin, None);
    assert_eq!(agent.description, None);
}

#[test]
fn min_approvals_defaults_to_one() {
    let p = ok(&with(&[
        "sensitive:",
        "  - name: ci",
        "    paths: [\".github/**\"]",
        "    approvers: [bob]",
    ]));
    assert_eq!(p.sensitive[0].min_approvals, 1);
}

#[test]
fn every_written_value_replaces_its_default() {
    let p = ok(&yaml(&[
        "version: 1",
        "mode: observe",
        "unregistered_agents:",
        "  action: block",
        "  approvers: [octo-org/maintainers]",
        "approvals:",
        "  stale_on_push: false",
        "  exclude_requester: false",
        "  exclude_contributors: false",
        "  agent_reviews: dismiss",
        "policy_file:",
        "  approvers: [octo-org/admins, carol]",
    ]));
    assert_eq!(p.mode, Mode::Observe);
    assert_eq!(p.unregistered_agents.action, UnregisteredAction::Block);
    assert_eq!(
        p.unregistered_agents.approvers,
        [team("octo-org/maintainers")]
    );
    assert!(!p.approvals.stale_on_push);
    assert!(!p.approvals.exclude_requester);
    assert!(!p.approvals.exclude_contributors);
    assert_eq!(p.approvals.agent_reviews, AgentReviews::Dismiss);
    assert_eq!(
        p.policy_file.approvers,
        [team("octo-org/admins"), user("carol")]
    );
}

#[test]
fn each_unregistered_action_is_read() {
    for (word, action) in [
        ("allow", UnregisteredAction::Allow),
        ("warn", UnregisteredAction::Warn),
        ("escalate", UnregisteredAction::Escalate),
        ("block", UnregisteredAction::Block),
    ] {
        let p = ok(&format!(
            "version: 1\nunregistered_agents:\n  action: {word}\n"
        ));
        assert_eq!(p.unregistered_agents.action, action);
    }
}

#[test]
fn role_keys_are_read() {
    let p = ok(&yaml(&[
        "version: 1",
        "roles:",
        "  docs:",
        "    description: '  Documentation  '",
        "    scope:",
        "      allow: [\"docs/**\"]",
        "      deny: [\"docs/secret/**\"]",
        "    out_of_scope: escalate",
        "    escalate_to: [owner, octo-org/docs]",
        "    max_files: 5",
    ]));
    let role = p.roles.values().next().unwrap();
    assert_eq!(role.description.as_deref(), Some("Documentation"));
    assert_eq!(role.deny.patterns(), ["docs/secret/**"]);
    assert_eq!(role.out_of_scope, OutOfScope::Escalate);
    assert_eq!(
        role.escalate_to,
        Some(vec![Approver::Owner, team("octo-org/docs")])
    );
    assert_eq!(role.max_files, Some(5));
}

#[test]
fn escalate_to_is_accepted_with_block_too() {
    let p = ok(&with(&["    escalate_to: [bob]"]));
    let role = p.roles.values().next().unwrap();
    assert_eq!(role.out_of_scope, OutOfScope::Block);
    assert_eq!(role.escalate_to, Some(vec![user("bob")]));
}

// Compiled values -----------------------------------------------------------

#[test]
fn agents_are_ordered_by_id() {
    let p = ok(&yaml(&[
        "version: 1",
        "agents:",
        "  zeta: {role: dev, owner: a, match: {logins: [z]}}",
        "  alpha: {role: dev, owner: a, match: {logins: [x]}}",
        "  mid: {role: dev, owner: a, match: {logins: [m]}}",
        "roles:",
        "  dev: {scope: {allow: [\"**\"]}}",
    ]));
    let ids: Vec<&str> = p.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["alpha", "mid", "zeta"]);
}

#[test]
fn signals_compile_to_their_matchers() {
    let p = ok(&yaml(&[
        "version: 1",
        "agents:",
        "  bot:",
        "    role: dev",
        "    owner: octo-org/platform",
        "    match:",
        "      logins: [Renovate]",
        "      emails: [\"*+renovate[bot]@users.noreply.github.com\"]",
        "      trailers: [\"Co-authored-by: Renovate*\"]",
        "roles:",
        "  dev: {scope: {allow: [\"**\"]}}",
    ]));
    let agent = &p.agents[0];
    assert_eq!(
        agent.owner,
        Principal::Team(TeamName::parse("octo-org/platform").unwrap())
    );
    let s = &agent.signals;
    assert!(s.login(&login("renovate[bot]")).is_some());
    assert!(
        s.email("29139614+Renovate[bot]@users.noreply.github.com")
            .is_some()
    );
    assert!(s.email("renovate@example.com").is_none());
    let trailer =
        Trailer::parse_line("co-authored-by: Renovate Bot <bot@renovateapp.com>").unwrap();
    assert!(s.trailer(&trailer).is_some());
}

#[test]
fn expires_as_a_date_means_the_end_of_that_day_utc() {
    let p = ok(&with(&[]).replace("    match:", "    expires: 2027-06-30\n    match:"));
    let agent = &p.agents[0];
    assert_eq!(agent.expires, Some(time("2027-07-01T00:00:00Z")));
    assert!(agent.is_registered_at(time("2027-06-30T23:59:59Z")));
    assert!(!agent.is_registered_at(time("2027-07-01T00:00:00Z")));
}

#[test]
fn expires_as_an_rfc3339_time_is_that_instant() {
    let p = ok(&with(&[]).replace(
        "    match:",
        "    expires: 2027-06-30T18:00:00+02:00\n    match:",
    ));
    assert_eq!(p.agents[0].expires, Some(time("2027-06-30T16:00:00Z")));
}

#[test]
fn elevations_compile_with_their_window() {
    let p = ok(&with(&[]).replace(
        "    match:",
        "    elevations:\n      - paths: [\"infra/db/**\"]\n        from: 2026-12-05T22:00:00Z\n        until: 2026-12-06T02:00:00Z\n        reason: CHG-1234\n    match:",
    ));
    let e = &p.agents[0].elevations[0];
    assert_eq!(e.paths.patterns(), ["infra/db/**"]);
    assert_eq!(e.reason, "CHG-1234");
    assert!(e.in_force_at(time("2026-12-05T22:00:00Z")));
    assert!(!e.in_force_at(time("2026-12-06T02:00:00Z")));
}

#[test]
fn the_word_owner_is_an_approver_in_sensitive_areas() {
    let p = ok(&with(&[
        "sensitive:",
        "  - name: ci",
        "    paths: [\".github/**\"]",
        "    approvers: [Owner, bob, octo-org/sre]",
        "    min_approvals: 2",
    ]));
    let area = &p.sensitive[0];
    assert_eq!(
        area.approvers,
        [Approver::Owner, user("bob"), team("octo-org/sre")]
    );
    assert_eq!(area.min_approvals, 2);
}

#[test]
fn the_word_codeowners_is_an_approver_in_every_list() {
    let p = ok(&with(&[
        "    out_of_scope: escalate",
        "    escalate_to: [codeowners]",
        "sensitive:",
        "  - name: auth",
        "    paths: [\"src/auth/**\"]",
        "    approvers: [CodeOwners, octo-org/security]",
        "    min_approvals: 2",
        "unregistered_agents:",
        "  approvers: [codeowners]",
        "policy_file:",
        "  approvers: [codeowners, bob]",
    ]));
    let role = p.roles.values().next().unwrap();
    assert_eq!(role.escalate_to, Some(vec![Approver::CodeOwners]));
    assert_eq!(
        p.sensitive[0].approvers,
        [Approver::CodeOwners, team("octo-org/security")]
    );
    assert_eq!(p.unregistered_agents.approvers, [Approver::CodeOwners]);
    assert_eq!(p.policy_file.approvers, [Approver::CodeOwners, user("bob")]);
    assert!(p.uses_codeowners());
    assert_eq!(Approver::CodeOwners.to_string(), "codeowners");
    // Not a team to resolve: the file names the teams.
    assert_eq!(p.teams().len(), 1);
    assert!(!ok(&with(&[])).uses_codeowners());
}

#[test]
fn codeowners_alone_may_need_more_approvals_than_people_listed() {
    // How many code owners there are is known only from the file.
    let p = ok(&with(&[
        "sensitive:",
        "  - name: auth",
        "    paths: [\"src/auth/**\"]",
        "    approvers: [codeowners]",
        "    min_approvals: 3",
    ]));
    assert_eq!(p.sensitive[0].min_approvals, 3);
}

const SPEC_EXAMPLE: &str = include_str!("../../fixtures/policies/spec-example.yml");

#[test]
fn the_spec_example_compiles_to_the_expected_values() {
    let p = ok(SPEC_EXAMPLE);
    assert_eq!(p.mode, Mode::Enforce);
    let ids: Vec<&str> = p.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["claude", "copilot", "renovate"]);

    let claude = p.agent(&AgentId::parse("claude").unwrap()).unwrap();
    assert_eq!(claude.expires, Some(time("2027-07-01T00:00:00Z")));
    assert_eq!(claude.owner, Principal::User(login("alice")));
    assert_eq!(claude.elevations[0].from, time("2026-12-05T22:00:00Z"));
    assert_eq!(claude.elevations[0].until, time("2026-12-06T02:00:00Z"));
    assert_eq!(claude.elevations[0].reason, "CHG-1234 database maintenance");
    let trailer =
        Trailer::parse_line("Co-authored-by: Claude Opus 4 <noreply@anthropic.com>").unwrap();
    assert!(claude.signals.trailer(&trailer).is_some());

    let copilot = p.agent(&AgentId::parse("copilot").unwrap()).unwrap();
    assert_eq!(copilot.builtin.as_deref(), Some("copilot"));
    let entry = crate::catalog::builtin().get("copilot").unwrap();
    assert_eq!(
        copilot.signals, entry.signals,
        "the catalog's signals are merged in"
    );
    assert_eq!(
        copilot.description.as_deref(),
        Some("GitHub Copilot coding agent")
    );

    let dev = p.role(&claude.role);
    assert_eq!(dev.allow.patterns(), ["src/**", "tests/**", "docs/**"]);
    assert_eq!(dev.deny.patterns(), ["src/auth/**"]);
    assert_eq!(dev.max_files, Some(60));
    assert!(
        dev.deny
            .is_match(&crate::ids::RepoPath::parse("src/auth/login.rs").unwrap())
    );
    let bot = p.role(&RoleId::parse("dependency-bot").unwrap());
    assert_eq!(bot.out_of_scope, OutOfScope::Block);

    let names: Vec<(&str, u32)> = p
        .sensitive
        .iter()
        .map(|s| (s.name.as_str(), s.min_approvals))
        .collect();
    assert_eq!(names, [("ci-pipelines", 1), ("infrastructure", 2)]);
    assert_eq!(
        p.sensitive[0].approvers,
        [team("octo-org/sre"), user("bob")]
    );
    assert_eq!(
        p.unregistered_agents.approvers,
        [team("octo-org/maintainers")]
    );
    assert_eq!(p.approvals.agent_reviews, AgentReviews::Dismiss);
    assert_eq!(p.policy_file.approvers, [team("octo-org/admins")]);
    let teams: Vec<&str> = p.teams().iter().map(|t| t.as_str()).collect();
    assert_eq!(
        teams,
        [
            "octo-org/admins",
            "octo-org/maintainers",
            "octo-org/platform",
            "octo-org/sre"
        ]
    );
}

#[test]
fn the_builtin_signals_are_added_to_the_written_ones() {
    let p = ok(&with(&[]).replace(
        "      logins: [bot]",
        "      logins: [bot]\n      builtin: renovate",
    ));
    let signals = &p.agents[0].signals;
    let entry = crate::catalog::builtin().get("renovate").unwrap();
    assert_eq!(signals.logins.len(), 1 + entry.signals.logins.len());
    assert!(signals.login(&login("bot")).is_some());
    assert_eq!(p.agents[0].builtin.as_deref(), Some("renovate"));
}

// YAML errors ---------------------------------------------------------------

#[test]
fn an_empty_file_is_an_error_at_the_start() {
    let expected = "1:1: the policy file is empty: it needs at least `version: 1`";
    assert_eq!(error(""), expected);
    assert_eq!(error("# only a comment\n\n"), expected);
}

#[test]
fn a_top_level_list_or_value_is_refused() {
    let message = "the policy must be a mapping of keys (`version: 1`, `agents:`, `roles:` ...), not a list or a single value";
    assert_eq!(error("- version: 1\n"), format!("1:1: {message}"));
    assert_eq!(error("\nversion 1\n"), format!("2:1: {message}"));
}

#[test]
fn a_missing_version_is_an_error_at_the_start() {
    assert_eq!(
        error("mode: observe\n"),
        "1:1: missing required key `version`"
    );
    assert_eq!(
        error("# a policy\n\nmode: observe\n"),
        "1:1: missing required key `version`"
    );
}

#[test]
fn only_version_1_is_understood() {
    assert_eq!(
        error("version: 2\n"),
        "1:10: version: must be `1`, found `2`"
    );
    assert_eq!(
        error("version: \"1\"\n"),
        "1:10: version: expected a whole number, found the quoted text \"1\"; remove the quotes"
    );
    assert_eq!(
        error("version: one\n"),
        "1:10: version: expected a whole number, found `one`"
    );
}

#[test]
fn yaml_syntax_errors_point_at_the_problem() {
    let e = error("version: 1\nroles: [a, b\n");
    assert!(e.starts_with("3:1: invalid YAML: "), "{e}");
}

#[test]
fn a_duplicate_agent_id_is_an_error_at_the_second() {
    let text = with(&[]).replace("roles:", "  bot:\n    role: dev\nroles:");
    assert_eq!(
        error(&text),
        "8:3: `bot` is written twice in the same mapping (first on line 3): each key, agent id and role id may appear once"
    );
}

#[test]
fn a_duplicate_key_is_an_error_at_the_second() {
    let text = with(&[]).replace("    owner: alice", "    owner: alice\n    owner: bob");
    assert!(
        error(&text)
            .starts_with("6:5: `owner` is written twice in the same mapping (first on line 5)")
    );
}

#[test]
fn anchors_and_aliases_are_refused() {
    let message = "YAML anchors (`&name`) and aliases (`*name`) are not supported in a policy: write each value out in full, so that every rule reads where it applies";
    let anchor = with(&["  docs:", "    scope:", "      allow: &docs [\"docs/**\"]"]);
    assert_eq!(error(&anchor), format!("14:20: {message}"));
    let alias = with(&["  docs:", "    scope:", "      allow: *docs"]);
    assert_eq!(error(&alias), format!("14:14: {message}"));
}

#[test]
fn tags_are_refused() {
    assert_eq!(
        error("version: !!int 1\n"),
        "1:16: YAML tags (`!!str`, `!name`) are not supported in a policy: write the value plainly, in quotes if it must stay text"
    );
}

#[test]
fn a_second_yaml_document_is_refused() {
    assert_eq!(
        error("---\nversion: 1\n---\nmode: observe\n"),
        "3:1: a second YAML document starts here: a policy file holds exactly one (remove the `---` line)"
    );
    assert!(error("version: 1\n...\nmode: observe\n").starts_with("3:1: a second YAML document"));
    ok("%YAML 1.2\n---\n# the policy\nversion: 1\n...\n");
}

// Shape errors --------------------------------------------------------------

#[test]
fn an_unknown_key_suggests_the_nearest_known_one() {
    assert_eq!(
        error("version: 1\nrols: {}\n"),
        "2:1: unknown key `rols`; did you mean `roles`?"
    );
    let text = with(&[]).replace("      logins:", "      login:");
    assert_eq!(
        error(&text),
        "7:7: agents.bot.match: unknown key `login`; did you mean `logins`?"
    );
}

#[test]
fn an_unknown_key_with_nothing_close_lists_the_known_ones() {
    assert_eq!(
        error("version: 1\nwebhook: x\n"),
        "2:1: unknown key `webhook` (the keys here are `agents`, `approvals`, `mode`, `overrides`, `policy_file`, `roles`, `sensitive`, `unregistered_agents`, `version`)"
    );
}

#[test]
fn a_wrong_enum_value_suggests_the_nearest_valid_one() {
    assert_eq!(
        error("version: 1\nmode: enforced\n"),
        "2:7: mode: `enforced` is not one of `enforce`, `observe`; did you mean `enforce`?"
    );
    assert_eq!(
        error(&with(&["    out_of_scope: escalte"])),
        "12:19: roles.dev.out_of_scope: `escalte` is not one of `block`, `escalate`; did you mean `escalate`?"
    );
    assert_eq!(
        error("version: 1\nunregistered_agents:\n  action: deny\n"),
        "3:11: unregistered_agents.action: `deny` is not one of `allow`, `warn`, `escalate`, `block`"
    );
    assert_eq!(
        error("version: 1\napprovals:\n  agent_reviews: [dismiss]\n"),
        "3:18: approvals.agent_reviews: expected one of `ignore`, `dismiss`, found a list"
    );
}

#[test]
fn a_wrong_type_says_what_was_expected() {
    let text = with(&[]).replace("logins: [bot]", "logins: renovate[bot]");
    assert_eq!(
        error(&text),
        "7:15: agents.bot.match.logins: expected a list, found `renovate[bot]`; write a list, such as [\"renovate[bot]\"]"
    );
    assert_eq!(
        error("version: 1\napprovals:\n  stale_on_push: yes\n"),
        "3:18: approvals.stale_on_push: expected `true` or `false`, found `yes`"
    );
    assert_eq!(
        error("version: 1\nagents: [claude]\n"),
        "2:9: agents: expected a mapping of keys, found a list"
    );
    assert_eq!(
        error(&with(&["    max_files:"])),
        "13:1: roles.dev.max_files: expected a whole number, found nothing"
    );
}

#[test]
fn a_missing_required_key_points_at_its_parent() {
    let text = with(&[]).replace("    role: dev\n", "");
    assert_eq!(error(&text), "3:3: agents.bot: missing required key `role`");
    let text = with(&["  docs:", "    out_of_scope: block"]);
    assert_eq!(
        error(&text),
        "12:3: roles.docs: missing required key `scope`"
    );
    let text = with(&["sensitive:", "  - paths: [a]", "    approvers: [b]"]);
    assert_eq!(
        error(&text),
        "13:5: sensitive[0]: missing required key `name`"
    );
}

#[test]
fn counts_below_one_are_refused() {
    assert_eq!(
        error(&with(&["    max_files: 0"])),
        "12:16: roles.dev.max_files: must be at least 1, found 0"
    );
    let text = with(&[
        "sensitive:",
        "  - name: ci",
        "    paths: [a]",
        "    approvers: [b]",
        "    min_approvals: 0",
    ]);
    assert_eq!(
        error(&text),
        "16:20: sensitive[0].min_approvals: must be at least 1, found 0"
    );
}

#[test]
fn every_error_is_reported_in_file_order() {
    let text = yaml(&[
        "version: 1",          // 1
        "mode: observ",        // 2
        "agents:",             // 3
        "  Claude:",           // 4
        "    role: feature",   // 5
        "    owner: '@alice'", // 6
        "    match:",          // 7
        "      logins: [claude]",
        "roles:", // 9
        "  feature-dev:",
        "    scope:",
        "      allow: [\"src/[a\"]", // 12
        "    max_files: 0",          // 13
    ]);
    assert_eq!(
        errors(&text),
        [
            "2:7: mode: `observ` is not one of `enforce`, `observe`; did you mean `observe`?",
            "4:3: agents.Claude: agent id `Claude` must be lowercase letters, digits and `-`, start with a letter or digit, and be at most 63 characters long; did you mean `claude`?",
            "5:11: agents.Claude.role: role `feature` is not defined in `roles`; did you mean `feature-dev`?",
            "6:12: agents.Claude.owner: write logins and teams without `@`: `alice`",
            "12:15: roles.feature-dev.scope.allow[0]: path glob `src/[a` does not compile: unclosed character class; missing ']'",
            "13:16: roles.feature-dev.max_files: must be at least 1, found 0",
        ]
    );
}

#[test]
fn the_display_names_file_line_and_column() {
    let e = load(".github/warrant.yml", "version: 1\nrols: {}\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        ".github/warrant.yml:2:1: unknown key `rols`; did you mean `roles`?"
    );
}

// Meaning errors ------------------------------------------------------------

#[test]
fn ids_must_be_well_formed() {
    let text = with(&[]).replace("  bot:", "  my_bot:");
    assert_eq!(
        error(&text),
        "3:3: agents.my_bot: agent id `my_bot` must be lowercase letters, digits and `-`, start with a letter or digit, and be at most 63 characters long; did you mean `my-bot`?"
    );
    let text = with(&["  -docs:", "    scope: {allow: []}"]);
    assert_eq!(
        error(&text),
        "12:3: roles.-docs: role id `-docs` must be lowercase letters, digits and `-`, start with a letter or digit, and be at most 63 characters long"
    );
}

#[test]
fn an_agents_role_must_be_defined() {
    let text = with(&[]).replace("role: dev", "role: devs");
    assert_eq!(
        error(&text),
        "4:11: agents.bot.role: role `devs` is not defined in `roles`; did you mean `dev`?"
    );
    let text = with(&[]).replace("role: dev", "role: release");
    assert_eq!(
        error(&text),
        "4:11: agents.bot.role: role `release` is not defined in `roles`"
    );
    let text = "version: 1\nagents:\n  bot: {role: dev, owner: a, match: {logins: [b]}}\n";
    assert_eq!(
        error(text),
        "3:15: agents.bot.role: role `dev` is not defined: add it under `roles`"
    );
}

#[test]
fn a_glob_that_does_not_compile_is_named() {
    let text = with(&["      deny: [\"src/ok/**\", \"src/{a,b\"]"]);
    assert_eq!(
        error(&text),
        "12:27: roles.dev.scope.deny[1]: path glob `src/{a,b` does not compile: unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)"
    );
    let text = with(&[
        "sensitive:",
        "  - name: root",
        "    paths: [\"/etc/**\"]",
        "    approvers: [b]",
    ]);
    assert_eq!(
        error(&text),
        "14:13: sensitive[0].paths[0]: path glob `/etc/**` starts with `/`: paths are relative to the repository root"
    );
}

#[test]
fn an_agent_needs_at_least_one_signal() {
    let message = "3:3: agents.bot: has no signals: add `match.logins`, `match.emails`, `match.trailers` or `match.builtin`, so that Warrant can recognise its changes";
    let text = with(&[]).replace("    match:\n      logins: [bot]\n", "");
    assert_eq!(error(&text), message);
    let text = with(&[]).replace("logins: [bot]", "logins: []");
    assert_eq!(error(&text), message);
}

#[test]
fn trailers_need_the_key_value_form() {
    let text = with(&[]).replace(
        "logins: [bot]",
        "trailers: [\"Claude <noreply@anthropic.com>\"]",
    );
    assert_eq!(
        error(&text),
        "7:18: agents.bot.match.trailers[0]: `Claude <noreply@anthropic.com>` is not a trailer pattern: write `Key: value`, such as `Co-authored-by: Claude*<noreply@anthropic.com>`"
    );
}

#[test]
fn signals_that_would_match_everyone_are_refused() {
    let text = with(&[]).replace("logins: [bot]", "emails: [\"*@*\"]");
    assert_eq!(
        error(&text),
        "7:16: agents.bot.match.emails[0]: `*@*` would match every email address: name the agent's own address, such as `*+my-agent[bot]@users.noreply.github.com`"
    );
    let text = with(&[]).replace("logins: [bot]", "trailers: [\"Co-authored-by: *\"]");
    assert_eq!(
        error(&text),
        "7:18: agents.bot.match.trailers[0]: `Co-authored-by: *` would match every such trailer: name the agent in the value, such as `Co-authored-by: Claude*<noreply@anthropic.com>`"
    );
}

#[test]
fn logins_owners_and_approvers_must_parse() {
    let text = with(&[]).replace("logins: [bot]", "logins: [\"@bot\", octo/bots, \"a b\"]");
    assert_eq!(
        errors(&text),
        [
            "7:16: agents.bot.match.logins[0]: write logins without `@`: `bot`",
            "7:24: agents.bot.match.logins[1]: `octo/bots` is a team; `match.logins` lists the agent's own accounts",
            "7:35: agents.bot.match.logins[2]: `a b` is not an account login (letters, digits, `-`, `_`, `.`, `[bot]`)",
        ]
    );
    let text = with(&[]).replace("owner: alice", "owner: octo-org/");
    assert_eq!(
        error(&text),
        "5:12: agents.bot.owner: `octo-org/` is not a team (`org/team`)"
    );
    let text = with(&[]).replace("owner: alice", "owner: ''");
    assert_eq!(
        error(&text),
        "5:12: agents.bot.owner: cannot be empty: name a login or `org/team`"
    );
    let text = with(&["policy_file:", "  approvers: [\"@octo-org/admins\"]"]);
    assert_eq!(
        error(&text),
        "13:15: policy_file.approvers[0]: write logins and teams without `@`: `octo-org/admins`"
    );
}

#[test]
fn an_account_belongs_to_one_agent() {
    let text = with(&[]).replace(
        "roles:",
        "  other:\n    role: dev\n    owner: bob\n    match:\n      logins: [\"Bot[bot]\"]\nroles:",
    );
    assert_eq!(
        error(&text),
        "12:16: agents.other.match.logins[0]: login `Bot[bot]` is already claimed by agent `bot`: an account can belong to one registered agent only"
    );
}

#[test]
fn the_word_owner_is_refused_where_it_means_nothing() {
    let text = with(&["unregistered_agents:", "  approvers: [owner]"]);
    assert_eq!(
        error(&text),
        "13:15: unregistered_agents.approvers[0]: the word `owner` means the owner of a registered agent, and an unregistered agent has none: name a login or `org/team`"
    );
    let text = with(&["policy_file:", "  approvers: [octo-org/admins, owner]"]);
    assert_eq!(
        error(&text),
        "13:32: policy_file.approvers[1]: the word `owner` means the owner of an agent involved, but a change to the policy file that involves an agent always fails: name a login or `org/team`"
    );
}

#[test]
fn approver_lists_that_nobody_can_satisfy_are_refused() {
    let text = with(&["    escalate_to: []"]);
    assert_eq!(
        error(&text),
        "12:18: roles.dev.escalate_to: list at least one approver, or remove `escalate_to` to use the agent's owner"
    );
    let text = with(&[
        "sensitive:",
        "  - name: ci",
        "    paths: []",
        "    approvers: []",
    ]);
    assert_eq!(
        errors(&text),
        [
            "14:12: sensitive[0].paths: list at least one path glob",
            "15:16: sensitive[0].approvers: list at least one approver: nobody could approve changes here",
        ]
    );
    let text = with(&[
        "sensitive:",
        "  - name: ci",
        "    paths: [a]",
        "    approvers: [bob, Bob, carol]",
        "    min_approvals: 3",
    ]);
    assert_eq!(
        error(&text),
        "16:20: sensitive[0].min_approvals: needs 3 approvals, but `approvers` lists 2 people and no team: add approvers or lower `min_approvals`"
    );
    // A team (or `owner`) may stand for any number of people.
    ok(&text.replace("carol]", "carol, octo-org/sre]"));
}

#[test]
fn sensitive_names_are_unique_ignoring_case() {
    let text = with(&[
        "sensitive:",
        "  - {name: infra, paths: [a], approvers: [b]}",
        "  - {name: ' ', paths: [c], approvers: [d]}",
        "  - {name: Infra, paths: [e], approvers: [f]}",
    ]);
    assert_eq!(
        errors(&text),
        [
            "14:12: sensitive[1].name: cannot be empty",
            "15:12: sensitive[2].name: `Infra` is already the name of `sensitive[0]`: names must be unique",
        ]
    );
}

#[test]
fn expires_must_be_a_date_or_a_time() {
    for bad in ["2027-13-01", "30/06/2027", "2027-6-30", "tomorrow"] {
        let text = with(&[]).replace("    match:", &format!("    expires: {bad}\n    match:"));
        assert_eq!(
            error(&text),
            format!(
                "6:14: agents.bot.expires: `{bad}` is not a date (`2027-06-30`, meaning the end of that day, UTC) or an RFC 3339 time (`2027-06-30T18:00:00Z`)"
            )
        );
    }
}

fn elevation(from: &str, until: &str, reason: &str) -> String {
    with(&[]).replace(
        "    match:",
        &format!(
            "    elevations:\n      - paths: [\"infra/**\"]\n        from: {from}\n        until: {until}\n        reason: {reason}\n    match:"
        ),
    )
}

#[test]
fn an_elevation_ends_after_it_starts() {
    let text = elevation("2026-12-06T02:00:00Z", "2026-12-06T02:00:00Z", "x");
    assert_eq!(
        error(&text),
        "9:16: agents.bot.elevations[0].until: must be after `from` (2026-12-06T02:00:00Z): the window is [from, until)"
    );
}

#[test]
fn elevation_times_are_rfc3339() {
    let text = elevation("2026-12-05", "soon", "x");
    assert_eq!(
        errors(&text),
        [
            "8:15: agents.bot.elevations[0].from: `2026-12-05` is a date: write a full RFC 3339 time, such as `2026-12-05T00:00:00Z`",
            "9:16: agents.bot.elevations[0].until: `soon` is not an RFC 3339 time, such as `2026-12-05T22:00:00Z`",
        ]
    );
}

#[test]
fn an_elevation_needs_paths_and_a_reason() {
    let text = elevation("2026-12-05T22:00:00Z", "2026-12-06T02:00:00Z", "''")
        .replace("[\"infra/**\"]", "[]");
    assert_eq!(
        errors(&text),
        [
            "7:16: agents.bot.elevations[0].paths: list at least one path glob",
            "10:17: agents.bot.elevations[0].reason: cannot be empty: say why, for the audit trail (a change ticket, for example)",
        ]
    );
}

#[test]
fn an_unknown_builtin_suggests_a_catalog_id() {
    let text = with(&[]).replace("logins: [bot]", "builtin: copilt");
    assert_eq!(
        error(&text),
        "7:16: agents.bot.match.builtin: `copilt` is not in the built-in catalog; did you mean `copilot`?"
    );
    let text = with(&[]).replace("logins: [bot]", "builtin: skynet");
    let e = error(&text);
    assert!(
        e.starts_with("7:16: agents.bot.match.builtin: `skynet` is not in the built-in catalog (its entries are `copilot`, "),
        "{e}"
    );
}

#[test]
fn a_builtin_is_registered_once() {
    let text = with(&[])
        .replace("logins: [bot]", "builtin: renovate")
        .replace(
            "roles:",
            "  again:\n    role: dev\n    owner: bob\n    match:\n      builtin: renovate\nroles:",
        );
    assert_eq!(
        error(&text),
        "12:16: agents.again.match.builtin: catalog entry `renovate` is already used by agent `bot`: a product can be registered once"
    );
}

// Helpers -------------------------------------------------------------------

#[test]
fn suggestions_come_only_when_close_enough() {
    let keys = [
        "version",
        "mode",
        "agents",
        "roles",
        "sensitive",
        "approvals",
    ];
    assert_eq!(did_you_mean("rols", keys), Some("roles"));
    assert_eq!(did_you_mean("Roles", keys), Some("roles"));
    assert_eq!(did_you_mean("agent", keys), Some("agents"));
    assert_eq!(did_you_mean("aprovals", keys), Some("approvals"));
    assert_eq!(did_you_mean("sensitve", keys), Some("sensitive"));
    assert_eq!(did_you_mean("webhook", keys), None);
    assert_eq!(did_you_mean("x", keys), None);
    assert_eq!(
        did_you_mean("enforced", ["enforce", "observe"]),
        Some("enforce")
    );
    assert_eq!(
        did_you_mean("feature", ["feature-dev", "dependency-bot"]),
        Some("feature-dev")
    );
}

#[test]
fn serde_errors_are_the_fallback_and_keep_their_suggestion() {
    let node = marked_yaml::parse_yaml(0, "version: 1\nrols: {}\n").unwrap();
    let error = marked_yaml::from_node::<PolicyDocument>(&node).unwrap_err();
    let issue = super::load::from_node_issue(error.into_inner());
    assert_eq!(issue.message, "unknown key `rols`; did you mean `roles`?");
}

#[test]
fn the_schema_allows_no_null_and_describes_every_key() {
    fn walk(value: &serde_json::Value, path: &str) {
        match value {
            serde_json::Value::Object(map) => {
                assert_ne!(map.get("type"), Some(&serde_json::json!("null")), "{path}");
                if let Some(serde_json::Value::Array(types)) = map.get("type") {
                    assert!(!types.contains(&serde_json::json!("null")), "{path}");
                }
                assert_ne!(map.get("default"), Some(&serde_json::Value::Null), "{path}");
                if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                    for (key, prop) in props {
                        assert!(
                            prop.get("description").is_some(),
                            "{path}.{key} has no description"
                        );
                    }
                }
                for (key, v) in map {
                    walk(v, &format!("{path}/{key}"));
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, path)),
            _ => {}
        }
    }
    let schema = schema();
    assert_eq!(schema["title"], "Warrant policy");
    assert_eq!(schema["required"], serde_json::json!(["version"]));
    walk(&schema, "#");
}

// Reporting everything at once ---------------------------------------------

#[test]
fn a_malformed_match_is_not_also_reported_as_missing() {
    let text = with(&[]).replace("      logins: [bot]", "      login: [bot]");
    assert_eq!(
        errors(&text),
        ["7:7: agents.bot.match: unknown key `login`; did you mean `logins`?"]
    );
}

#[test]
fn a_malformed_role_is_not_also_reported_as_undefined() {
    let text = with(&["  ops: [\"infra/**\"]"]).replace("role: dev", "role: ops");
    assert_eq!(
        errors(&text),
        ["12:8: roles.ops: expected a mapping of keys, found a list"]
    );
}

#[test]
fn shape_and_meaning_errors_are_reported_together() {
    let text = with(&["    out_of_scope: maybe", "mode: strict"])
        .replace("owner: alice", "owner: '@alice'");
    assert_eq!(
        errors(&text),
        [
            "5:12: agents.bot.owner: write logins and teams without `@`: `alice`",
            "12:19: roles.dev.out_of_scope: `maybe` is not one of `block`, `escalate`",
            "13:7: mode: `strict` is not one of `enforce`, `observe`",
        ]
    );
}

#[test]
fn a_missing_version_stops_before_the_meaning_checks() {
    let text = with(&[])
        .replace("version: 1\n", "")
        .replace("owner: alice", "owner: '@alice'");
    assert_eq!(errors(&text), ["1:1: missing required key `version`"]);
}

#[test]
fn a_misspelt_required_key_is_reported_once() {
    let text = with(&[]).replace("    owner: alice", "    ownr: alice");
    assert_eq!(
        errors(&text),
        ["5:5: agents.bot: unknown key `ownr`; did you mean `owner`?"]
    );
}

#[test]
fn windows_line_endings_and_a_byte_order_mark_are_read() {
    let text = with(&[]).replace('\n', "\r\n");
    assert_eq!(ok(&text).agents.len(), 1);
    assert_eq!(ok(&format!("\u{feff}{}", with(&[]))).agents.len(), 1);
    assert!(
        error("version: 1\r\n---\r\nmode: observe\r\n").starts_with("2:1: a second YAML document")
    );
    assert_eq!(
        error("version: 1\r\nrols: {}\r\n"),
        "2:1: unknown key `rols`; did you mean `roles`?"
    );
}
