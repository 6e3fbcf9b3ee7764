use super::*;
use crate::signals::Trailer;

/// One thing seen on a change, as the engine would test it.
#[derive(Debug)]
enum Seen {
    Login(&'static str),
    AccountId(u64),
    Email(&'static str),
    Name(&'static str),
    Trailer(&'static str),
    Body(&'static str),
}

fn matches(signals: &Signals, seen: &Seen) -> bool {
    match seen {
        Seen::Login(l) => signals.login(&Login::parse(l).unwrap()).is_some(),
        Seen::AccountId(id) => signals.account_id(*id),
        Seen::Email(e) => signals.email(e).is_some(),
        Seen::Name(n) => signals.name(n).is_some(),
        Seen::Trailer(t) => signals.trailer(&Trailer::parse_line(t).unwrap()).is_some(),
        Seen::Body(b) => signals.body(b).is_some(),
    }
}

/// The ids of the entries whose signals match.
fn matched_by(seen: &Seen) -> Vec<&'static str> {
    builtin()
        .entries()
        .iter()
        .filter(|e| matches(&e.signals, seen))
        .map(|e| e.id.as_str())
        .collect()
}

const REQUIRED_IDS: &[&str] = &[
    "copilot",
    "devin",
    "cursor",
    "claude-code",
    "claude-app",
    "codex",
    "jules",
    "aider",
    "openhands",
    "amazon-q",
    "gemini",
    "dependabot",
    "renovate",
];

#[test]
fn the_shipped_catalog_parses_with_every_required_id() {
    let catalog = builtin();
    for id in REQUIRED_IDS {
        assert!(catalog.get(id).is_some(), "missing catalog entry `{id}`");
    }
    for entry in catalog.entries() {
        assert!(
            !entry.source.trim().is_empty(),
            "`{}` has no source",
            entry.id
        );
        assert!(!entry.signals.is_empty());
    }
    assert_eq!(
        catalog.get("dependabot").unwrap().kind,
        EntryKind::Automation
    );
    assert_eq!(catalog.get("devin").unwrap().kind, EntryKind::CodingAgent);
}

/// What each product really writes, and the one entry that must match it.
const EXAMPLES: &[(&str, Seen)] = &[
    ("copilot", Seen::Login("Copilot")),
    ("copilot", Seen::Login("copilot-swe-agent[bot]")),
    ("copilot", Seen::AccountId(198982749)),
    (
        "copilot",
        Seen::Email("198982749+Copilot@users.noreply.github.com"),
    ),
    (
        "copilot",
        Seen::Trailer("Co-authored-by: Copilot <copilot@github.com>"),
    ),
    ("devin", Seen::Login("devin-ai-integration[bot]")),
    ("devin", Seen::AccountId(158243242)),
    (
        "devin",
        Seen::Email("158243242+devin-ai-integration[bot]@users.noreply.github.com"),
    ),
    (
        "devin",
        Seen::Body("Link to Devin run: https://app.devin.ai/sessions/0123abcd"),
    ),
    ("cursor", Seen::Login("cursor[bot]")),
    ("cursor", Seen::Email("cursoragent@cursor.com")),
    (
        "cursor",
        Seen::Trailer("Co-authored-by: Cursor <cursoragent@cursor.com>"),
    ),
    (
        "claude-code",
        Seen::Trailer("Co-Authored-By: Claude <noreply@anthropic.com>"),
    ),
    (
        "claude-code",
        Seen::Trailer("Co-authored-by: Claude Opus 4.5 <noreply@anthropic.com>"),
    ),
    (
        "claude-code",
        Seen::Trailer("Claude-Session: https://claude.ai/code/session_01AbC"),
    ),
    (
        "claude-code",
        Seen::Body("🤖 Generated with [Claude Code](https://claude.ai/code)"),
    ),
    (
        "claude-code",
        Seen::Body("🤖 Generated with [Claude Code](https://claude.com/claude-code)"),
    ),
    ("claude-app", Seen::Login("claude[bot]")),
    ("claude-app", Seen::Login("claude-code-action[bot]")),
    ("claude-app", Seen::AccountId(209825114)),
    (
        "claude-app",
        Seen::Email("209825114+claude[bot]@users.noreply.github.com"),
    ),
    ("codex", Seen::Login("chatgpt-codex-connector[bot]")),
    ("codex", Seen::AccountId(215057067)),
    (
        "codex",
        Seen::Trailer("Co-authored-by: Codex <codex@openai.com>"),
    ),
    (
        "codex",
        Seen::Body("[Codex Task](https://chatgpt.com/codex/tasks/task_e_68a1b2)"),
    ),
    ("jules", Seen::Login("google-labs-jules[bot]")),
    (
        "jules",
        Seen::Email("161369871+google-labs-jules[bot]@users.noreply.github.com"),
    ),
    (
        "aider",
        Seen::Trailer("Co-authored-by: aider (gpt-4o) <aider@aider.chat>"),
    ),
    ("aider", Seen::Name("Alice Example (aider)")),
    ("aider", Seen::Email("noreply@aider.chat")),
    ("openhands", Seen::Email("openhands@all-hands.dev")),
    (
        "openhands",
        Seen::Trailer("Co-authored-by: openhands <openhands@all-hands.dev>"),
    ),
    ("amazon-q", Seen::Login("amazon-q-developer[bot]")),
    ("amazon-q", Seen::AccountId(208079219)),
    ("gemini", Seen::Login("gemini-code-assist[bot]")),
    ("replit", Seen::Trailer("Replit-Commit-Author: Agent")),
    (
        "amp",
        Seen::Trailer("Co-authored-by: Amp <amp@ampcode.com>"),
    ),
    ("cline", Seen::Login("cline[bot]")),
    ("windsurf", Seen::Login("windsurf-bot[bot]")),
    ("dependabot", Seen::Login("dependabot[bot]")),
    (
        "dependabot",
        Seen::Email("49699333+dependabot[bot]@users.noreply.github.com"),
    ),
    (
        "copilot",
        Seen::Email("175728472+Copilot@users.noreply.github.com"),
    ),
    ("copilot", Seen::Email("agent@github.copilot")),
    ("copilot", Seen::Name("Copilot Autofix powered by AI")),
    ("copilot", Seen::Login("copilot-pull-request-reviewer[bot]")),
    (
        "copilot",
        Seen::Trailer("Agent-Logs-Url: https://github.com/octo/app/sessions/0a1b"),
    ),
    ("cursor", Seen::Trailer("Made-with: Cursor")),
    ("claude-code", Seen::Email("noreply@anthropic.com")),
    ("claude-code", Seen::Email("claude-code@anthropic.com")),
    ("claude-code", Seen::Body("🤖 Generated with Claude Code")),
    (
        "claude-code",
        Seen::Body("https://claude.ai/code/session_01AbCdEf"),
    ),
    ("codex", Seen::Email("codex@openai.com")),
    (
        "codex",
        Seen::Trailer("Co-Authored-By: codex (GPT-5.4) <noreply@openai.com>"),
    ),
    ("aider", Seen::Email("noreply@aider.dev")),
    ("aider", Seen::Body("# Aider chat conversation:")),
    ("openhands", Seen::Email("opendevin@all-hands.dev")),
    ("openhands", Seen::Email("openhands-claude@all-hands.dev")),
    (
        "amazon-q",
        Seen::Body("🤖 Assisted by [Amazon Q Developer](https://aws.amazon.com/q/developer)"),
    ),
    ("replit", Seen::Trailer("Replit-Commit-Session-Id: 7c1e")),
    (
        "amp",
        Seen::Trailer("Amp-Thread-ID: https://ampcode.com/threads/T-0a1b"),
    ),
    ("cline", Seen::Email("cline-agent@users.noreply.github.com")),
    ("windsurf", Seen::Email("cascade@windsurf.ai")),
    ("crush", Seen::Email("crush@charm.land")),
    ("crush", Seen::Body("💘 Generated with Crush")),
    ("roomote", Seen::Login("roomote[bot]")),
    ("roomote", Seen::Email("roomote@roocode.com")),
    ("kiro", Seen::Login("kiro-agent[bot]")),
    (
        "kiro",
        Seen::Email("123456+kiro-agent@users.noreply.github.com"),
    ),
    ("mentat", Seen::Login("MentatBot")),
    ("cosine", Seen::Email("agent@cosine.sh")),
    ("ellipsis", Seen::Login("ellipsis-dev[bot]")),
    ("greptile", Seen::Login("greptile-apps[bot]")),
    ("codeflash", Seen::Login("codeflash-ai[bot]")),
    ("factory", Seen::AccountId(138933559)),
    ("opencode", Seen::Email("noreply@opencode.ai")),
    (
        "opencode",
        Seen::Body("🤖 Generated with [opencode](https://opencode.ai)"),
    ),
    ("codebuff", Seen::Email("noreply@codebuff.com")),
    ("codebuff", Seen::Body("🤖 Generated with Codebuff")),
    (
        "gemini-cli",
        Seen::Email("gemini-cli[bot]@users.noreply.github.com"),
    ),
    ("coderabbit", Seen::Login("coderabbitai[bot]")),
    ("gitlab-duo", Seen::Login("GitLabDuo")),
    ("renovate", Seen::Login("Renovate[bot]")),
    ("renovate", Seen::AccountId(29139614)),
    (
        "renovate",
        Seen::Email("29139614+renovate[bot]@users.noreply.github.com"),
    ),
];

#[test]
fn each_entry_matches_what_its_product_writes_and_nothing_else_does() {
    for (id, seen) in EXAMPLES {
        assert_eq!(matched_by(seen), vec![*id], "{seen:?}");
    }
    for entry in builtin().entries() {
        assert!(
            EXAMPLES.iter().any(|(id, _)| *id == entry.id),
            "catalog entry `{}` has no example",
            entry.id
        );
    }
}

/// Look-alikes that no entry may match: human accounts, human first names,
/// ordinary words, and what GitHub writes for everyone.
const TRAPS: &[Seen] = &[
    Seen::Login("claude"),
    Seen::Login("Claude"),
    Seen::AccountId(81847),
    Seen::Login("devin"),
    Seen::Login("cursor"),
    Seen::Login("codex"),
    Seen::Login("jules"),
    Seen::Trailer("Co-authored-by: Claude <claude@example.com>"),
    Seen::Trailer("Co-authored-by: Cursor Fan <fan@example.com>"),
    Seen::Trailer("Co-authored-by: Devin Smith <devin@example.com>"),
    Seen::Trailer("Co-authored-by: GitHub <noreply@github.com>"),
    Seen::Trailer("Co-authored-by: alice <1234+alice@users.noreply.github.com>"),
    Seen::Trailer("Claude-Session: whatever"),
    Seen::Email("noreply@github.com"),
    Seen::Email("devin@cognition.ai"),
    Seen::Email("devin@example.com"),
    Seen::Email("1234+alice@users.noreply.github.com"),
    Seen::Email("claude@users.noreply.github.com"),
    Seen::Email("81847+claude@users.noreply.github.com"),
    Seen::Email("codex@example.com"),
    Seen::Name("GitHub"),
    Seen::Name("Claude"),
    Seen::Name("Devin"),
    Seen::Name("Devin Smith"),
    Seen::Name("Cursor Fan"),
    Seen::Name("aider fan"),
    Seen::Body("Fixes the cursor position in the editor."),
    Seen::Body("Codex task runner cleanup"),
    Seen::Body("Generated with care by hand"),
    // People at agent vendors, and what the vendors write for people.
    Seen::Email("paul@aider.chat"),
    Seen::Email("jane@anthropic.com"),
    Seen::Email("dev@all-hands.dev"),
    Seen::Email("support@roocode.com"),
    Seen::Email("someone@sourcegraph.com"),
    Seen::Email("someone@openai.com"),
    Seen::Email("noreply@openai.com"),
    Seen::Email("218312386+gemini-cli[bot]@users.noreply.github.com"),
    Seen::Name("Roo Code"),
    Seen::Name("Cody"),
    Seen::Name("Jules"),
    Seen::Trailer("Co-authored-by: Jane <noreply@openai.com>"),
    Seen::Trailer("Co-authored-by: Paul <paul@aider.chat>"),
    Seen::Body("Made the build faster with Claude Code's help."),
    Seen::Body("Assisted by Amazon Q Developer, we fixed it."),
    Seen::Body("aider: tweak the prompt"),
];

#[test]
fn no_entry_matches_human_names_ordinary_words_or_web_flow() {
    for seen in TRAPS {
        assert_eq!(matched_by(seen), Vec::<&str>::new(), "{seen:?}");
    }
}

#[test]
fn unknown_keys_in_the_data_are_refused() {
    let text = "entries:\n  - id: x\n    name: X\n    kind: automation\n    confidence: verified\n    source: s\n    login: [x]\n";
    let err = parse(text).unwrap_err();
    assert!(err.contains("login"), "{err}");
}

#[test]
fn noreply_globs_must_name_the_account() {
    let entry = |email: &str| {
        format!(
            "entries:\n  - id: x\n    name: X\n    kind: automation\n    confidence: verified\n    source: s\n    emails: [\"{email}\"]\n"
        )
    };
    assert!(parse(&entry("*@users.noreply.github.com")).is_err());
    assert!(parse(&entry("*+*@users.noreply.github.com")).is_err());
    assert!(parse(&entry("*noreply.github.com")).is_err());
    assert!(parse(&entry("*+x[bot]@users.noreply.github.com")).is_ok());
}

#[test]
fn duplicate_ids_and_entries_without_signals_are_refused() {
    let one = "  - id: x\n    name: X\n    kind: automation\n    confidence: verified\n    source: s\n    logins: [\"x[bot]\"]\n";
    assert!(
        parse(&format!("entries:\n{one}{one}"))
            .unwrap_err()
            .contains("twice")
    );
    let empty = "entries:\n  - id: x\n    name: X\n    kind: automation\n    confidence: verified\n    source: s\n";
    assert!(parse(empty).unwrap_err().contains("no signal"));
}
