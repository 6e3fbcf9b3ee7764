//! Matching primitives for agent signals, shared by the policy (`match:`) and
//! the built-in catalog: logins, account ids, email and name globs, commit
//! trailers and body markers.
//!
//! Text globs here are not path globs: `*` matches any run of characters
//! (including `@`, `.` and spaces), `?` matches one character, and every
//! other character stands for itself, so `[bot]` in a pattern is literal.
//! Matching is case-insensitive: a signal is evidence of who wrote a change,
//! and `NoReply@Anthropic.com` is the same address as `noreply@anthropic.com`.

use std::fmt;

use crate::ids::Login;

/// A `*`/`?` wildcard pattern over text, compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextGlob {
    pattern: String,
    folded: Vec<char>,
}

impl TextGlob {
    pub fn new(pattern: &str) -> Self {
        Self {
            pattern: pattern.to_owned(),
            folded: fold(pattern).chars().collect(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, text: &str) -> bool {
        // Emails, names and trailers are nearly always ASCII: match them in
        // place, folding case byte by byte, without allocating. Identifying
        // agents calls this for every signal of every agent on every commit.
        if self.pattern.is_ascii() && text.is_ascii() {
            return wildcard_match(self.pattern.as_bytes(), text.as_bytes(), |p, t| {
                p.eq_ignore_ascii_case(t)
            });
        }
        let text: Vec<char> = fold(text).chars().collect();
        wildcard_match(&self.folded, &text, |p, t| p == t)
    }
}

impl fmt::Display for TextGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// Iterative wildcard matching with single-star backtracking: linear in
/// practice and never exponential, whatever the pattern. `same` compares a
/// pattern unit with a text unit.
fn wildcard_match<T: Copy + PartialEq + From<u8>>(
    pattern: &[T],
    text: &[T],
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    let (star, any) = (T::from(b'*'), T::from(b'?'));
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == any || same(&pattern[p], &text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == star {
            backtrack = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = backtrack {
            p = sp + 1;
            t = st + 1;
            backtrack = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == star)
}

/// A login signal. `name` also matches the GitHub App form `name[bot]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginPattern(Login);

impl LoginPattern {
    pub fn new(login: Login) -> Self {
        Self(login)
    }

    pub fn login(&self) -> &Login {
        &self.0
    }

    pub fn matches(&self, login: &Login) -> bool {
        let want = self.0.key();
        let got = login.key();
        got == want || got.strip_suffix("[bot]") == Some(want.as_str())
    }
}

impl fmt::Display for LoginPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A commit trailer as read from a message: `Key: value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    pub key: String,
    pub value: String,
}

impl fmt::Display for Trailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.value)
    }
}

/// Lines that git itself writes into a trailer block (`git commit -s`,
/// `git cherry-pick -x`); one of them lets the block hold other lines too.
const GIT_GENERATED_PREFIXES: &[&str] = &["Signed-off-by: ", "(cherry picked from commit "];

impl Trailer {
    /// The trailers of a commit message, as git reads them
    /// (`git interpret-trailers --parse`, `%(trailers)`): the trailer block
    /// is the last paragraph after the subject when every line in it is
    /// `Key: value` (or an indented continuation of one), or when it holds
    /// a line git generates itself (`Signed-off-by: `, `(cherry picked from
    /// commit `) and at least a quarter of its lines are trailers. A line of
    /// only whitespace separates paragraphs, and lines starting with `#` are
    /// comments. A `Co-authored-by:` line in the middle of the body is
    /// prose, not a trailer.
    pub fn parse_all(message: &str) -> Vec<Trailer> {
        let message = message.replace("\r\n", "\n");
        let lines: Vec<&str> = message.lines().collect();
        // The first paragraph is the subject and never holds trailers.
        let Some(end_of_title) = lines.iter().position(|l| !is_comment(l) && is_blank(l)) else {
            return Vec::new();
        };
        let Some(start) = trailer_block_start(&lines, end_of_title) else {
            return Vec::new();
        };
        let mut trailers: Vec<Trailer> = Vec::new();
        // Whether the previous line was a trailer, which a continuation
        // line extends; a continuation of a non-trailer line is not one.
        let mut in_trailer = false;
        for line in &lines[start..] {
            if is_comment(line) || is_blank(line) {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let (true, Some(previous)) = (in_trailer, trailers.last_mut()) {
                    if !previous.value.is_empty() {
                        previous.value.push(' ');
                    }
                    previous.value.push_str(line.trim());
                }
                continue;
            }
            in_trailer = false;
            if let Some(pos) = separator(line) {
                trailers.push(Trailer {
                    key: line[..pos].trim_end().to_owned(),
                    value: line[pos + 1..].trim().to_owned(),
                });
                in_trailer = true;
            }
        }
        trailers.retain(|t| !t.value.is_empty());
        trailers
    }

    /// One `Key: value` line; the key is letters, digits and `-`, and may be
    /// followed by spaces before the `:` as git allows.
    pub fn parse_line(line: &str) -> Option<Trailer> {
        let pos = separator(line)?;
        let value = line[pos + 1..].trim();
        (!value.is_empty()).then(|| Trailer {
            key: line[..pos].trim_end().to_owned(),
            value: value.to_owned(),
        })
    }
}

/// A line of only whitespace, which ends a paragraph for git.
fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c.is_ascii_whitespace())
}

/// A comment line, which git skips when it looks for trailers.
fn is_comment(line: &str) -> bool {
    line.starts_with('#')
}

/// Where the `:` of a `Key: value` line is, as git's `find_separator`: a
/// key of letters, digits and `-`, then optional spaces or tabs, then `:`.
fn separator(line: &str) -> Option<usize> {
    let mut key_done = false;
    for (i, c) in line.char_indices() {
        match c {
            ':' if i > 0 => return Some(i),
            c if !key_done && (c.is_ascii_alphanumeric() || c == '-') => {}
            ' ' | '\t' if i > 0 => key_done = true,
            _ => return None,
        }
    }
    None
}

/// Where the trailer block of a message starts, by git's rule
/// (`find_trailer_block_start`): scanning up from the end to the blank
/// line above the last paragraph, that paragraph is the block when all its
/// lines are trailers, or when it holds a git-generated line and trailers
/// make up at least a quarter of it. Indented lines continue the line above.
fn trailer_block_start(lines: &[&str], end_of_title: usize) -> Option<usize> {
    let mut only_spaces = true;
    let mut recognized_prefix = false;
    let (mut trailer_lines, mut non_trailer_lines, mut continuations) = (0usize, 0usize, 0usize);
    for index in (end_of_title..lines.len()).rev() {
        let line = lines[index];
        if is_comment(line) {
            non_trailer_lines += continuations;
            continuations = 0;
            continue;
        }
        if is_blank(line) {
            if only_spaces {
                continue;
            }
            non_trailer_lines += continuations;
            let block = (recognized_prefix && trailer_lines * 3 >= non_trailer_lines)
                || (trailer_lines > 0 && non_trailer_lines == 0);
            return block.then_some(index + 1);
        }
        only_spaces = false;
        if GIT_GENERATED_PREFIXES.iter().any(|p| line.starts_with(p)) {
            trailer_lines += 1;
            continuations = 0;
            recognized_prefix = true;
        } else if line.starts_with([' ', '\t']) {
            continuations += 1;
        } else if separator(line).is_some() {
            trailer_lines += 1;
            continuations = 0;
        } else {
            non_trailer_lines += 1 + continuations;
            continuations = 0;
        }
    }
    None
}

/// A trailer signal written `Key: value-glob`; the key is compared
/// case-insensitively, the value as a [`TextGlob`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailerPattern {
    source: String,
    key: String,
    value: TextGlob,
}

impl TrailerPattern {
    /// Parses `Key: value-glob`. Returns `None` when there is no `Key:`.
    pub fn parse(pattern: &str) -> Option<Self> {
        let (key, value) = pattern.split_once(':')?;
        let key = key.trim();
        let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let value = value.trim();
        (key_ok && !value.is_empty()).then(|| Self {
            source: pattern.to_owned(),
            key: key.to_ascii_lowercase(),
            value: TextGlob::new(value),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, trailer: &Trailer) -> bool {
        trailer.key.eq_ignore_ascii_case(&self.key) && self.value.matches(&trailer.value)
    }
}

impl fmt::Display for TrailerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Trailer keys by which a commit declares that an AI tool wrote or helped
/// write it: the AI-assistance trailers projects adopt (the Linux kernel's
/// and LLVM's `Assisted-by:`, `Generated-by:`) and the session links agents
/// append (`Agent-Logs-Url:`, `Claude-Session:`, `Replit-Commit-Session-Id:`).
/// Whatever tool they name, the commit says an agent took part.
pub const DECLARED_KEYS: &[&str] = &[
    "assisted-by",
    "generated-by",
    "agent-logs-url",
    "claude-session",
    "replit-commit-session-id",
];

/// Whether a trailer is one of the [`DECLARED_KEYS`].
pub fn is_declaration(trailer: &Trailer) -> bool {
    DECLARED_KEYS
        .iter()
        .any(|k| trailer.key.eq_ignore_ascii_case(k))
}

/// The tool a declaration names, as a slug: `Assisted-by: Claude Code`,
/// `Assisted-by: Crush:glm-5` (the kernel's `AGENT:MODEL`), `Assisted-by:
/// GLM 4.7 via Crush <crush@charm.land>` (a model via a tool) all name the
/// tool before any model, address or tool list. A session link names the
/// host it links to, or failing that its key.
pub fn declared_tool(trailer: &Trailer) -> Option<String> {
    if !is_declaration(trailer) {
        return None;
    }
    let value = trailer.value.trim();
    if let Some(rest) = value.split_once("://").map(|(_, rest)| rest) {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        return Some(slug(host)).filter(|s| !s.is_empty());
    }
    if !trailer.key.to_ascii_lowercase().ends_with("-by") {
        return Some(slug(&trailer.key));
    }
    let tool = value.rsplit_once(" via ").map_or(value, |(_, tool)| tool);
    let end = tool.find([':', '(', '<', '[']).unwrap_or(tool.len());
    Some(slug(&tool[..end])).filter(|s| !s.is_empty())
}

/// Lower case, runs of anything but letters and digits as one `-`.
fn slug(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.join("-")
}

/// Everything that identifies one agent. Registered agents get theirs from
/// `match:` in the policy (plus a catalog entry with `builtin`); catalog
/// entries carry their own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// Platform account logins.
    pub logins: Vec<LoginPattern>,
    /// Platform account ids (GitHub bot ids), which survive a rename.
    pub account_ids: Vec<u64>,
    /// Globs on commit author and committer emails.
    pub emails: Vec<TextGlob>,
    /// Globs on commit author and committer names (catalog only: names are
    /// never a signal on their own unless distinctive, like `* (aider)`).
    pub names: Vec<TextGlob>,
    /// Commit trailers.
    pub trailers: Vec<TrailerPattern>,
    /// Globs on single lines of the change body and of commit messages.
    pub body_markers: Vec<TextGlob>,
    /// Globs on a whole commit message, subject included, for a product
    /// whose mark is the shape of the message rather than one line (aider's
    /// `aider: ` subject over its chat transcript). Catalog only.
    pub messages: Vec<TextGlob>,
    /// The product's tool names, as slugs, in AI-assistance trailers
    /// (`Assisted-by: Claude Code` names `claude-code`). Catalog only.
    pub tools: Vec<String>,
}

impl Signals {
    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
            && self.account_ids.is_empty()
            && self.emails.is_empty()
            && self.names.is_empty()
            && self.trailers.is_empty()
            && self.body_markers.is_empty()
            && self.messages.is_empty()
            && self.tools.is_empty()
    }

    /// Adds another set's signals (a catalog entry's, for `builtin`).
    pub fn extend(&mut self, other: &Signals) {
        self.logins.extend(other.logins.iter().cloned());
        self.account_ids.extend(other.account_ids.iter().copied());
        self.emails.extend(other.emails.iter().cloned());
        self.names.extend(other.names.iter().cloned());
        self.trailers.extend(other.trailers.iter().cloned());
        self.body_markers.extend(other.body_markers.iter().cloned());
        self.messages.extend(other.messages.iter().cloned());
        self.tools.extend(other.tools.iter().cloned());
    }

    pub fn login(&self, login: &Login) -> Option<&LoginPattern> {
        self.logins.iter().find(|p| p.matches(login))
    }

    pub fn account_id(&self, id: u64) -> bool {
        self.account_ids.contains(&id)
    }

    pub fn email(&self, email: &str) -> Option<&TextGlob> {
        self.emails.iter().find(|g| g.matches(email))
    }

    pub fn name(&self, name: &str) -> Option<&TextGlob> {
        self.names.iter().find(|g| g.matches(name))
    }

    pub fn trailer(&self, trailer: &Trailer) -> Option<&TrailerPattern> {
        self.trailers.iter().find(|p| p.matches(trailer))
    }

    /// The tool an AI-assistance trailer declares, when it is one of ours.
    pub fn tool(&self, trailer: &Trailer) -> Option<&str> {
        let slug = declared_tool(trailer)?;
        self.tools.iter().find(|t| **t == slug).map(String::as_str)
    }

    pub fn message(&self, message: &str) -> Option<&TextGlob> {
        self.messages.iter().find(|g| g.matches(message))
    }

    /// The first body line a marker matches, with the marker.
    pub fn body<'b>(&self, body: &'b str) -> Option<(&TextGlob, &'b str)> {
        body.lines().find_map(|line| {
            let line = line.trim();
            self.body_markers
                .iter()
                .find(|g| g.matches(line))
                .map(|g| (g, line))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_any_run_including_at_and_dots() {
        let g = TextGlob::new("*+devin-ai-integration[bot]@users.noreply.github.com");
        assert!(g.matches("158243242+devin-ai-integration[bot]@users.noreply.github.com"));
        assert!(!g.matches("devin@users.noreply.github.com"));
        assert!(TextGlob::new("*@anthropic.com").matches("NoReply@Anthropic.com"));
        assert!(!TextGlob::new("noreply@anthropic.com").matches("noreply@anthropic.com.evil"));
        assert!(TextGlob::new("a?c").matches("abc"));
        assert!(!TextGlob::new("a?c").matches("ac"));
    }

    #[test]
    fn unicode_text_folds_case_too() {
        assert!(TextGlob::new("ÉLODIE*").matches("élodie <e@x>"));
        assert!(TextGlob::new("*(aider)").matches("Zoë (aider)"));
        assert!(!TextGlob::new("é?").matches("e"));
    }

    #[test]
    fn wildcard_matching_stays_linear_on_adversarial_patterns() {
        let g = TextGlob::new(&"*a".repeat(30));
        assert!(!g.matches(&format!("{}b", "a".repeat(5_000))));
    }

    #[test]
    fn login_pattern_matches_bot_suffix_and_ignores_case() {
        let p = LoginPattern::new(Login::parse("renovate").unwrap());
        assert!(p.matches(&Login::parse("Renovate[bot]").unwrap()));
        assert!(p.matches(&Login::parse("RENOVATE").unwrap()));
        assert!(!p.matches(&Login::parse("renovate-fan").unwrap()));
        let bot = LoginPattern::new(Login::parse("claude[bot]").unwrap());
        assert!(!bot.matches(&Login::parse("claude").unwrap()));
    }

    #[test]
    fn trailers_come_from_the_last_paragraph_only() {
        let msg = "Fix it\n\nCo-authored-by: Alice <a@x>\nis prose here\n\nSigned-off-by: Bob <b@x>\nCo-Authored-By: Claude <noreply@anthropic.com>\n";
        let trailers = Trailer::parse_all(msg);
        assert_eq!(trailers.len(), 2);
        assert_eq!(trailers[1].key, "Co-Authored-By");
        assert!(Trailer::parse_all("Subject: only a subject").is_empty());
        assert!(Trailer::parse_all("Subject\n\nBody text\nKey: value").is_empty());
    }

    /// Each case checked against `git interpret-trailers --parse` (git 2.47).
    #[test]
    fn trailers_are_read_as_git_reads_them() {
        let keys = |msg: &str| -> Vec<String> {
            Trailer::parse_all(msg)
                .into_iter()
                .map(|t| format!("{}: {}", t.key, t.value))
                .collect()
        };
        let claude = "Co-Authored-By: Claude <noreply@anthropic.com>";
        // `git cherry-pick -x` appends its line to the trailer block.
        let picked = format!("Fix\n\nBody.\n\n{claude}\n(cherry picked from commit 0a1b2c3)\n");
        assert_eq!(keys(&picked), [claude]);
        // A line of only whitespace ends a paragraph.
        assert_eq!(keys(&format!("Fix\n\nBody.\n  \n{claude}")), [claude]);
        // A git-generated line lets a quarter of trailers make a block.
        let signed = format!("Fix\n\nSigned-off-by: A <a@x>\nTested on staging.\n{claude}");
        assert_eq!(keys(&signed), ["Signed-off-by: A <a@x>", claude]);
        // Without one, a single prose line disqualifies the paragraph.
        assert!(keys(&format!("Fix\n\nTested on staging.\n{claude}")).is_empty());
        // Spaces before the colon, comment lines, continuations.
        assert_eq!(
            keys("Fix\n\nBody\n\nCo-authored-by : Codex <codex@openai.com>"),
            ["Co-authored-by: Codex <codex@openai.com>"]
        );
        assert_eq!(keys(&format!("Fix\n\nBody\n\n#42\n{claude}")), [claude]);
        assert_eq!(
            keys("Fix\n\nBody\n\nCo-authored-by: X\n  <x@y>"),
            ["Co-authored-by: X <x@y>"]
        );
        // An empty value counts towards the block but is not a trailer.
        assert_eq!(
            keys("Fix\n\nBody\n\nKey:\nCo-authored-by: X <x@y>"),
            ["Co-authored-by: X <x@y>"]
        );
        // The subject is never a trailer, nor is an indented first line.
        assert!(keys("Key: value\nOther: value").is_empty());
        assert!(keys("Fix\n\n  Key: value").is_empty());
        assert!(keys("Fix\n\n(cherry picked from commit 0a1b2c3)").is_empty());
    }

    #[test]
    fn trailer_keys_compare_case_insensitively_values_by_glob() {
        let p = TrailerPattern::parse("Co-authored-by: Claude*<noreply@anthropic.com>").unwrap();
        let t =
            Trailer::parse_line("CO-AUTHORED-BY: Claude Opus 4.5 <noreply@anthropic.com>").unwrap();
        assert!(p.matches(&t));
        let spoof = Trailer::parse_line("Co-authored-by: Claude <claude@example.com>").unwrap();
        assert!(!p.matches(&spoof));
        assert!(TrailerPattern::parse("no key here").is_none());
    }

    #[test]
    fn body_markers_match_whole_lines() {
        let signals = Signals {
            body_markers: vec![TextGlob::new("*Generated with [Claude Code]*")],
            ..Signals::default()
        };
        let body = "Adds a thing.\n\n🤖 Generated with [Claude Code](https://claude.ai/code)\n";
        assert!(signals.body(body).is_some());
        assert!(signals.body("Generated by hand").is_none());
    }
}
