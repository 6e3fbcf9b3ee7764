//! CODEOWNERS files, as GitHub and GitLab read them: who owns each path.
//!
//! A policy that lists the word `codeowners` among approvers delegates to
//! this file. It is read at the base commit, like the policy, parsed here
//! (pure, no I/O) for the forge's flavour, and the engine asks it who owns
//! each touched path.
//!
//! Patterns follow the forges' documented, gitignore-like rules: a leading
//! `/` or a `/` inside the pattern anchors it at the root, otherwise it
//! matches at any depth; a trailing `/` means a directory and everything
//! under it; `*` stays within one segment, `**` crosses segments; a pattern
//! naming a directory also covers the files below it, except when its last
//! segment is a wildcard (`docs/*` owns `docs/a.md`, not `docs/x/b.md`).
//! `\#` and `\ ` escape. The last matching line wins: over the whole file
//! on GitHub, within each section on GitLab, where a path can be owned in
//! several sections at once.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::ids::{Login, RepoPath, TeamName};

#[cfg(test)]
mod tests;

/// Where GitHub looks, in order: the first file found is used.
pub const GITHUB_CODEOWNERS_PATHS: &[&str] =
    &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];
/// Where GitLab looks, in the order GitLab itself tries them.
pub const GITLAB_CODEOWNERS_PATHS: &[&str] =
    &["CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"];
/// A local checkout may be mirrored from either forge.
pub const LOCAL_CODEOWNERS_PATHS: &[&str] = &[
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// Whose syntax the file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// One list of rules; the last matching line of the file wins.
    Github,
    /// `[Section]` headers (optional with `^`, with a required approval
    /// count as `[Section][2]`, with default owners after the header);
    /// the last matching line of each section applies.
    Gitlab,
}

/// A CODEOWNERS file that does not parse: the decision fails closed with
/// this, as with an invalid policy.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct CodeownersError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// An owner as a line names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// `@login`.
    User(Login),
    /// `@org/team` (GitHub) or `@group/subgroup` (GitLab).
    Team(TeamName),
    /// An owner Warrant cannot check an approval against: an email
    /// address, or a GitLab role (`@@maintainer`). Kept, to be reported.
    Unsupported(String),
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::User(login) => write!(f, "@{login}"),
            Owner::Team(team) => write!(f, "@{team}"),
            Owner::Unsupported(raw) => f.write_str(raw),
        }
    }
}

/// A GitLab section; GitHub files have only the unnamed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// `None`: the lines before any header.
    pub name: Option<String>,
    /// `^[Section]`: its approval is not required.
    pub optional: bool,
    /// `[Section][N]`: approvals needed from its owners (at least 1).
    pub approvals: u32,
}

/// One line with a pattern.
#[derive(Clone, Debug)]
struct Rule {
    line: usize,
    pattern: String,
    /// Empty: the line un-owns what it matches.
    owners: Vec<Owner>,
    section: usize,
}

/// A parsed CODEOWNERS file.
#[derive(Clone, Debug)]
pub struct Codeowners {
    pub path: RepoPath,
    pub flavour: Flavour,
    sections: Vec<Section>,
    rules: Vec<Rule>,
    set: GlobSet,
    /// For each glob of `set`, its rule.
    rule_of: Vec<usize>,
}

/// Who owns a path in one section: the last matching line there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ownership<'a> {
    pub section: &'a Section,
    /// The line that decided it (1-based).
    pub line: usize,
    pub pattern: &'a str,
    /// Never empty: a matching line without owners leaves the path unowned.
    pub owners: &'a [Owner],
}

impl Codeowners {
    /// Parses `text`, read from `path`; the error names the first line that
    /// does not parse.
    pub fn parse(
        path: &RepoPath,
        flavour: Flavour,
        text: &str,
    ) -> Result<Codeowners, CodeownersError> {
        let mut parser = Parser {
            file: path.as_str(),
            flavour,
            sections: vec![Section {
                name: None,
                optional: false,
                approvals: 1,
            }],
            current: 0,
            defaults: Vec::new(),
            rules: Vec::new(),
            set: GlobSetBuilder::new(),
            rule_of: Vec::new(),
        };
        for (i, line) in text.lines().enumerate() {
            parser.line(i + 1, line.strip_suffix('\r').unwrap_or(line))?;
        }
        let set = parser.set.build().map_err(|e| CodeownersError {
            file: path.to_string(),
            line: 1,
            column: 1,
            reason: e.to_string(),
        })?;
        Ok(Codeowners {
            path: path.clone(),
            flavour,
            sections: parser.sections,
            rules: parser.rules,
            set,
            rule_of: parser.rule_of,
        })
    }

    /// Who owns `path`: on GitHub at most one entry (the last matching
    /// line of the file); on GitLab one per section whose last matching
    /// line names owners. Empty: nobody owns it.
    pub fn owners_of(&self, path: &RepoPath) -> Vec<Ownership<'_>> {
        let mut last: Vec<Option<usize>> = vec![None; self.sections.len()];
        for glob in self.set.matches(path.as_str()) {
            let rule = self.rule_of[glob];
            let section = match self.flavour {
                Flavour::Github => 0,
                Flavour::Gitlab => self.rules[rule].section,
            };
            last[section] = last[section].max(Some(rule));
        }
        last.into_iter()
            .flatten()
            .map(|i| &self.rules[i])
            .filter(|rule| !rule.owners.is_empty())
            .map(|rule| Ownership {
                section: &self.sections[rule.section],
                line: rule.line,
                pattern: &rule.pattern,
                owners: &rule.owners,
            })
            .collect()
    }

    /// Every team the file names.
    pub fn teams(&self) -> Vec<TeamName> {
        let mut teams: Vec<TeamName> = self
            .rules
            .iter()
            .flat_map(|r| &r.owners)
            .filter_map(|o| match o {
                Owner::Team(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        teams.sort();
        teams.dedup();
        teams
    }

    /// The teams that own any of `paths`, so that a forge adapter can
    /// resolve their members before the evaluation.
    pub fn teams_owning<'a>(&self, paths: impl IntoIterator<Item = &'a RepoPath>) -> Vec<TeamName> {
        let mut teams: Vec<TeamName> = paths
            .into_iter()
            .flat_map(|p| {
                self.owners_of(p)
                    .into_iter()
                    .flat_map(|o| o.owners.iter())
                    .filter_map(|o| match o {
                        Owner::Team(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        teams.sort();
        teams.dedup();
        teams
    }
}

struct Parser<'a> {
    file: &'a str,
    flavour: Flavour,
    sections: Vec<Section>,
    /// The section the lines read now belong to.
    current: usize,
    /// Its default owners, for lines that name none.
    defaults: Vec<Owner>,
    rules: Vec<Rule>,
    set: GlobSetBuilder,
    rule_of: Vec<usize>,
}

impl Parser<'_> {
    fn error(&self, line: usize, column: usize, reason: impl Into<String>) -> CodeownersError {
        CodeownersError {
            file: self.file.to_owned(),
            line,
            column,
            reason: reason.into(),
        }
    }

    fn line(&mut self, n: usize, text: &str) -> Result<(), CodeownersError> {
        let indent = text.len() - text.trim_start().len();
        let body = &text[indent..];
        if body.is_empty() || body.starts_with('#') {
            return Ok(());
        }
        let column = text[..indent].chars().count() + 1;
        if body.starts_with('[') || body.starts_with("^[") {
            return match self.flavour {
                Flavour::Gitlab => self.section(n, column, body),
                Flavour::Github => Err(self.error(
                    n,
                    column,
                    "`[...]` starts a section, which only GitLab's CODEOWNERS has",
                )),
            };
        }
        let tokens = tokens(body, column);
        let Some(((pattern, pattern_column), owner_tokens)) = tokens.split_first() else {
            return Ok(());
        };
        let (pattern, excluded) = match pattern.strip_prefix('!') {
            Some(rest) if self.flavour == Flavour::Gitlab => (rest, true),
            Some(_) => {
                return Err(self.error(
                    n,
                    *pattern_column,
                    "`!` negation is not supported in GitHub's CODEOWNERS",
                ));
            }
            None => (pattern.as_str(), false),
        };
        let mut owners = Vec::new();
        for (token, col) in owner_tokens {
            owners.push(self.owner(n, *col, token)?);
        }
        let section = self.current;
        if excluded {
            owners.clear();
        } else if owners.is_empty() {
            owners = self.defaults.clone();
        }
        let rule = self.rules.len();
        for glob in globs(pattern) {
            let compiled = GlobBuilder::new(&glob)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| {
                    self.error(
                        n,
                        *pattern_column,
                        format!("pattern `{pattern}`: {}", e.kind()),
                    )
                })?;
            self.set.add(compiled);
            self.rule_of.push(rule);
        }
        self.rules.push(Rule {
            line: n,
            pattern: pattern.to_owned(),
            owners,
            section,
        });
        Ok(())
    }

    /// `[Name]`, `^[Name]`, `[Name][2]`, each optionally followed by the
    /// section's default owners. Sections of the same name (compared
    /// without case) are one section, as on GitLab.
    fn section(&mut self, n: usize, column: usize, body: &str) -> Result<(), CodeownersError> {
        let optional = body.starts_with('^');
        let rest = body.trim_start_matches('^');
        let open = column + usize::from(optional);
        let Some(close) = rest.find(']') else {
            return Err(self.error(n, open, "unterminated section header: `]` is missing"));
        };
        let name = rest[1..close].trim();
        if name.is_empty() {
            return Err(self.error(n, open, "a section needs a name"));
        }
        let mut after = &rest[close + 1..];
        let mut approvals = 1;
        if let Some(count) = after.strip_prefix('[') {
            let at = open + close + 2;
            let Some(end) = count.find(']') else {
                return Err(self.error(n, at, "unterminated approval count: `]` is missing"));
            };
            approvals = match count[..end].trim().parse::<u32>() {
                Ok(k) if k >= 1 => k,
                _ => {
                    return Err(self.error(
                        n,
                        at,
                        format!(
                            "`[{}]` is not an approval count (a whole number, at least 1)",
                            &count[..end]
                        ),
                    ));
                }
            };
            after = &count[end + 1..];
        }
        let after_column = column + (body.len() - after.len());
        let mut defaults = Vec::new();
        for (token, col) in tokens(after, after_column) {
            defaults.push(self.owner(n, col, &token)?);
        }
        let existing = self.sections.iter().position(|s| {
            s.name
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
        });
        self.current = match existing {
            Some(i) => {
                // A repeated header keeps the first one's name and
                // optionality; the higher approval count stands.
                let section = &mut self.sections[i];
                section.approvals = section.approvals.max(approvals);
                i
            }
            None => {
                self.sections.push(Section {
                    name: Some(name.to_owned()),
                    optional,
                    approvals,
                });
                self.sections.len() - 1
            }
        };
        self.defaults = defaults;
        Ok(())
    }

    fn owner(&self, n: usize, column: usize, token: &str) -> Result<Owner, CodeownersError> {
        if let Some(role) = token.strip_prefix("@@") {
            return match self.flavour {
                Flavour::Gitlab if !role.is_empty() => Ok(Owner::Unsupported(token.to_owned())),
                _ => Err(self.error(n, column, format!("`{token}` is not an owner"))),
            };
        }
        if let Some(name) = token.strip_prefix('@') {
            let parsed = if name.contains('/') {
                let team = TeamName::parse(name).map(Owner::Team);
                match (self.flavour, team) {
                    (Flavour::Github, Ok(_)) if name.matches('/').count() > 1 => {
                        Err(format!("`{token}`: a GitHub team is written `@org/team`"))
                    }
                    (_, team) => team.map_err(|e| e.to_string()),
                }
            } else {
                Login::parse(name)
                    .map(Owner::User)
                    .map_err(|e| e.to_string())
            };
            return parsed.map_err(|reason| self.error(n, column, reason));
        }
        if is_email(token) {
            return Ok(Owner::Unsupported(token.to_owned()));
        }
        Err(self.error(
            n,
            column,
            format!("`{token}` is not an owner: write `@user`, `@org/team` or an email address"),
        ))
    }
}

fn is_email(token: &str) -> bool {
    token.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    })
}

/// Splits a line at unescaped whitespace, up to an unescaped `#` that
/// starts a word (a comment); each word with its column (1-based, in
/// characters, `column` being the first character's).
fn tokens(text: &str, column: usize) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut chars = text.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let col = column + i;
        if c.is_whitespace() {
            out.extend(current.take());
            continue;
        }
        if c == '#' && current.is_none() {
            break;
        }
        let word = current.get_or_insert_with(|| (String::new(), col));
        word.0.push(c);
        if c == '\\'
            && let Some((_, next)) = chars.next()
        {
            word.0.push(next);
        }
    }
    out.extend(current);
    out
}

/// The globs (over whole repository paths) one pattern stands for.
fn globs(pattern: &str) -> Vec<String> {
    let directory = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() || body == "**" {
        return vec!["**".to_owned()];
    }
    let base = if anchored {
        body.to_owned()
    } else {
        format!("**/{body}")
    };
    let last = body.rsplit('/').next().unwrap_or(body);
    let below = format!("{base}/**");
    if directory {
        vec![below]
    } else if last.contains('*') && last != "**" {
        vec![base]
    } else {
        vec![base, below]
    }
}

/// The CODEOWNERS file at the base commit, as an evaluation receives it.
/// Read only for a policy that names `codeowners`; otherwise `Absent`.
#[derive(Clone, Debug, Default)]
pub enum CodeownersFile {
    /// No file in any of the forge's places (or not read).
    #[default]
    Absent,
    Parsed {
        codeowners: Codeowners,
        /// The git blob id of its contents, recorded with the decision.
        blob_id: String,
    },
    /// It does not parse: a decision that needs it fails closed.
    Invalid {
        error: CodeownersError,
        path: RepoPath,
        blob_id: String,
    },
}

impl CodeownersFile {
    /// Parses the file found at `path` with contents `text`.
    pub fn read(path: &RepoPath, flavour: Flavour, text: &str) -> CodeownersFile {
        let blob_id = crate::policy::blob_id(text.as_bytes());
        match Codeowners::parse(path, flavour, text) {
            Ok(codeowners) => CodeownersFile::Parsed {
                codeowners,
                blob_id,
            },
            Err(error) => CodeownersError::into_file(error, path, blob_id),
        }
    }

    /// Parses raw contents: bytes that are not UTF-8 make the file invalid.
    pub fn from_bytes(path: &RepoPath, flavour: Flavour, contents: &[u8]) -> CodeownersFile {
        match std::str::from_utf8(contents) {
            Ok(text) => CodeownersFile::read(path, flavour, text),
            Err(e) => {
                let valid = &contents[..e.valid_up_to()];
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let reason = "the file is not UTF-8 text";
                let blob_id = crate::policy::blob_id(contents);
                CodeownersFile::unreadable(path, &blob_id, line, reason)
            }
        }
    }

    /// A file the forge returned only in part: it cannot be applied.
    pub fn truncated(path: &RepoPath, blob_id: &str) -> CodeownersFile {
        let reason = "the file is too long for the forge to return it whole";
        CodeownersFile::unreadable(path, blob_id, 1, reason)
    }

    /// A file that cannot be read as CODEOWNERS, for `reason`.
    pub fn unreadable(
        path: &RepoPath,
        blob_id: &str,
        line: usize,
        reason: impl Into<String>,
    ) -> CodeownersFile {
        CodeownersFile::Invalid {
            error: CodeownersError {
                file: path.to_string(),
                line,
                column: 1,
                reason: reason.into(),
            },
            path: path.clone(),
            blob_id: blob_id.to_owned(),
        }
    }

    pub fn parsed(&self) -> Option<&Codeowners> {
        match self {
            CodeownersFile::Parsed { codeowners, .. } => Some(codeowners),
            _ => None,
        }
    }

    /// Where it was read from and its blob id, if there is a file.
    pub fn source(&self) -> Option<(&RepoPath, &str)> {
        match self {
            CodeownersFile::Absent => None,
            CodeownersFile::Parsed {
                codeowners,
                blob_id,
            } => Some((&codeowners.path, blob_id)),
            CodeownersFile::Invalid { path, blob_id, .. } => Some((path, blob_id)),
        }
    }

    /// Every team the file names (none without a file that parses).
    pub fn teams(&self) -> Vec<TeamName> {
        self.parsed().map(Codeowners::teams).unwrap_or_default()
    }

    /// The teams that own any of `paths`.
    pub fn teams_owning<'a>(&self, paths: impl IntoIterator<Item = &'a RepoPath>) -> Vec<TeamName> {
        self.parsed()
            .map(|c| c.teams_owning(paths))
            .unwrap_or_default()
    }
}

impl CodeownersError {
    fn into_file(self, path: &RepoPath, blob_id: String) -> CodeownersFile {
        CodeownersFile::Invalid {
            error: self,
            path: path.clone(),
            blob_id,
        }
    }
}
