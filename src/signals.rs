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

impl Trailer {
    /// The trailers of a commit message, as git reads them: the lines of the
    /// last paragraph, when that paragraph is not the subject and every line
    /// in it is `Key: value` (or an indented continuation of one). A
    /// `Co-authored-by:` line in the middle of the body is prose, not a
    /// trailer.
    pub fn parse_all(message: &str) -> Vec<Trailer> {
        let message = message.replace("\r\n", "\n");
        let paragraphs: Vec<&str> = message
            .trim()
            .split("\n\n")
            .map(|p| p.trim_matches('\n'))
            .filter(|p| !p.trim().is_empty())
            .collect();
        if paragraphs.len() < 2 {
            return Vec::new();
        }
        let last = paragraphs[paragraphs.len() - 1];
        let mut trailers: Vec<Trailer> = Vec::new();
        for line in last.lines() {
            if line.starts_with([' ', '\t']) {
                match trailers.last_mut() {
                    Some(previous) => {
                        previous.value.push(' ');
                        previous.value.push_str(line.trim());
                    }
                    None => return Vec::new(),
                }
            } else if let Some(trailer) = Self::parse_line(line) {
                trailers.push(trailer);
            } else {
                return Vec::new();
            }
        }
        trailers
    }

    /// One `Key: value` line; the key is letters, digits and `-`.
    pub fn parse_line(line: &str) -> Option<Trailer> {
        let (key, value) = line.split_once(':')?;
        let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let value = value.trim();
        (key_ok && !value.is_empty()).then(|| Trailer {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }
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
    /// Globs on single lines of the change body.
    pub body_markers: Vec<TextGlob>,
}

impl Signals {
    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
            && self.account_ids.is_empty()
            && self.emails.is_empty()
            && self.names.is_empty()
            && self.trailers.is_empty()
            && self.body_markers.is_empty()
    }

    /// Adds another set's signals (a catalog entry's, for `builtin`).
    pub fn extend(&mut self, other: &Signals) {
        self.logins.extend(other.logins.iter().cloned());
        self.account_ids.extend(other.account_ids.iter().copied());
        self.emails.extend(other.emails.iter().cloned());
        self.names.extend(other.names.iter().cloned());
        self.trailers.extend(other.trailers.iter().cloned());
        self.body_markers.extend(other.body_markers.iter().cloned());
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
