//! What a change shows about who wrote it, one observation per thing seen,
//! and how a set of [`Signals`] matches those observations.

use crate::engine::change::{Account, Change, Commit, Forge, Person, bare_email};
use crate::engine::decision::{SignalKind, SignalMatch};
use crate::ids::Login;
use crate::signals::{Signals, Trailer};

/// One thing seen on the change that a signal may match.
#[derive(Debug)]
pub(super) struct Observation<'c> {
    pub kind: SignalKind,
    pub verified: bool,
    /// `change author`, `commit 1a2b3c4 author`, `commit 1a2b3c4 trailer`, ...
    pub source: String,
    /// What was seen, as shown to people.
    pub value: String,
    /// The piece of evidence this observation is part of; see [`subject`].
    pub subject: String,
    /// The commit it was seen in, by position in the change.
    pub commit: Option<usize>,
    pub probe: Probe<'c>,
}

/// The part of an observation that signals are tested against.
#[derive(Debug)]
pub(super) enum Probe<'c> {
    Account(&'c Account),
    Email(&'c str),
    Name(&'c str),
    Trailer(Trailer),
    BodyLine(&'c str),
    /// A line of a commit message outside its trailer block; `closing`
    /// when it is in the message's last paragraph.
    MessageLine {
        line: &'c str,
        closing: bool,
    },
    /// A whole commit message.
    Message(&'c str),
}

/// The key under which a registered agent *claims* evidence (see the module
/// docs of `identify`): the person for account, login, email and name
/// observations (one commit author is one actor, however many of their
/// attributes match), the line itself for trailers and body lines.
///
/// The key names a commit by its position in the change, not by the short
/// sha in `source`: two commits may share a short sha, and must not merge
/// into one actor.
fn subject(kind: SignalKind, source: &str, value: &str, commit: Option<usize>) -> String {
    let at = commit.map_or_else(|| "change".to_owned(), |i| format!("commit #{i}"));
    match kind {
        SignalKind::Trailer | SignalKind::Body => format!("{at}\n{source}\n{value}"),
        _ => format!("{at}\n{source}"),
    }
}

impl<'c> Observation<'c> {
    fn new(
        kind: SignalKind,
        source: String,
        value: String,
        commit: Option<usize>,
        probe: Probe<'c>,
    ) -> Self {
        Self {
            kind,
            // Only the forge's account model is verified; a commit's linked
            // account is derived from an email that anyone can write.
            verified: kind == SignalKind::Account,
            subject: subject(kind, &source, &value, commit),
            source,
            value,
            commit,
            probe,
        }
    }

    /// The account observed, for account and commit login observations.
    pub fn account(&self) -> Option<&'c Account> {
        match self.probe {
            Probe::Account(account) => Some(account),
            _ => None,
        }
    }
}

/// Everything in the change that a signal may match, in a stable order:
/// the change author, then each commit's author, committer and trailers,
/// then the body.
pub(super) fn observe(change: &Change) -> Vec<Observation<'_>> {
    let mut seen = Vec::new();
    if let Some(author) = &change.author {
        let source = "change author".to_owned();
        let value = author.login.to_string();
        seen.push(Observation::new(
            SignalKind::Account,
            source,
            value,
            None,
            Probe::Account(author),
        ));
    }
    for (index, commit) in change.commits.iter().enumerate() {
        for (person, role) in commit_people(commit) {
            observe_person(&mut seen, person, person_source(commit, role), index);
        }
        let trailers = commit.trailers();
        observe_message(&mut seen, commit, &trailers, index);
        for trailer in trailers {
            let short = commit.sha.short();
            let (source, value) = (format!("commit {short} trailer"), trailer.to_string());
            seen.push(Observation::new(
                SignalKind::Trailer,
                source,
                value,
                Some(index),
                Probe::Trailer(trailer),
            ));
        }
    }
    for line in change.body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (source, value) = ("change body".to_owned(), line.to_owned());
        seen.push(Observation::new(
            SignalKind::Body,
            source,
            value,
            None,
            Probe::BodyLine(line),
        ));
    }
    seen
}

/// A commit message, whole and line by line, but for the lines of its
/// trailer block, which are observed as trailers. Agents write their marks
/// into the message too: a "Generated with" line, a session link, or a
/// `Co-authored-by:` line in a last paragraph that also holds prose (which
/// git does not read as a trailer block, but GitHub credits). Only the last
/// paragraph is read for such `Key: value` lines: one in the middle of the
/// body is quoted prose, such as a revert naming what it reverts.
fn observe_message<'c>(
    seen: &mut Vec<Observation<'c>>,
    commit: &'c Commit,
    trailers: &[Trailer],
    index: usize,
) {
    let source = format!("commit {} message", commit.sha.short());
    let lines: Vec<&'c str> = commit.message.lines().map(str::trim).collect();
    let subject = lines.first().copied().unwrap_or_default().to_owned();
    let (kind, whole) = (SignalKind::Body, Probe::Message(&commit.message));
    seen.push(Observation::new(
        kind,
        source.clone(),
        subject,
        Some(index),
        whole,
    ));
    let in_block = |line: &str| Trailer::parse_line(line).is_some_and(|t| trailers.contains(&t));
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    let closing = lines[..end]
        .iter()
        .rposition(|l| l.is_empty())
        .map_or(0, |i| i + 1);
    for (at, &line) in lines.iter().enumerate() {
        if line.is_empty() || in_block(line) {
            continue;
        }
        let closing = closing > 0 && at >= closing;
        let probe = Probe::MessageLine { line, closing };
        let value = line.to_owned();
        seen.push(Observation::new(
            kind,
            source.clone(),
            value,
            Some(index),
            probe,
        ));
    }
}

/// A commit's author and committer, with the role each plays.
pub(super) fn commit_people(commit: &Commit) -> [(&Person, &'static str); 2] {
    [(&commit.author, "author"), (&commit.committer, "committer")]
}

/// How evidence names a commit's author or committer: `commit 1a2b3c4
/// author`. Identification and contributors must agree on it.
pub(super) fn person_source(commit: &Commit, role: &str) -> String {
    format!("commit {} {role}", commit.sha.short())
}

fn observe_person<'c>(
    seen: &mut Vec<Observation<'c>>,
    person: &'c Person,
    source: String,
    commit: usize,
) {
    let commit = Some(commit);
    if let Some(account) = &person.account {
        let value = account.login.to_string();
        seen.push(Observation::new(
            SignalKind::CommitLogin,
            source.clone(),
            value,
            commit,
            Probe::Account(account),
        ));
    }
    if !person.email.is_empty() {
        let value = person.email.clone();
        seen.push(Observation::new(
            SignalKind::Email,
            source.clone(),
            value,
            commit,
            Probe::Email(&person.email),
        ));
    }
    if !person.name.is_empty() {
        let value = person.name.clone();
        seen.push(Observation::new(
            SignalKind::Name,
            source,
            value,
            commit,
            Probe::Name(&person.name),
        ));
    }
}

/// How signals are compared on a given change.
#[derive(Clone, Copy, Debug)]
pub(super) struct Matcher {
    /// Account ids in signals are GitHub's; GitLab numbers its accounts
    /// independently, so a GitLab user could share a GitHub bot's id.
    pub compare_ids: bool,
}

impl Matcher {
    pub fn for_forge(forge: Forge) -> Self {
        Self {
            compare_ids: forge != Forge::Gitlab,
        }
    }

    /// Each observation the signals match, by index, with what it matched.
    pub fn match_all(
        self,
        signals: &Signals,
        seen: &[Observation<'_>],
    ) -> Vec<(usize, SignalMatch)> {
        seen.iter()
            .enumerate()
            .filter_map(|(index, obs)| {
                let pattern = self.pattern(signals, &obs.probe)?;
                Some((index, signal_match(obs, pattern)))
            })
            .collect()
    }

    /// The signal that matches the probe, as written.
    fn pattern(self, signals: &Signals, probe: &Probe<'_>) -> Option<String> {
        match probe {
            Probe::Account(account) => self.account(signals, account),
            Probe::Email(email) => signals.email(bare_email(email)).map(ToString::to_string),
            Probe::Name(name) => signals.name(name).map(ToString::to_string),
            Probe::Trailer(trailer) => trailer_pattern(signals, trailer),
            Probe::BodyLine(line) => body_marker(signals, line),
            Probe::MessageLine { line, closing } => body_marker(signals, line).or_else(|| {
                let trailer = Trailer::parse_line(line).filter(|_| *closing)?;
                trailer_pattern(signals, &trailer)
            }),
            Probe::Message(message) => signals.message(message).map(ToString::to_string),
        }
    }

    /// A login match, else (for a renamed account) an id match.
    pub fn account(self, signals: &Signals, account: &Account) -> Option<String> {
        if let Some(login) = signals.login(&account.login) {
            return Some(login.to_string());
        }
        let id = account
            .id
            .filter(|id| self.compare_ids && signals.account_id(*id))?;
        Some(format!("account id {id}"))
    }
}

fn body_marker(signals: &Signals, line: &str) -> Option<String> {
    signals
        .body_markers
        .iter()
        .find(|g| g.matches(line))
        .map(ToString::to_string)
}

/// A trailer pattern, or the product's tool named by an AI-assistance
/// trailer, else for a `Co-authored-by` trailer the co-author's
/// address or name: squash merges credit an agent as
/// `Co-authored-by: some-agent[bot] <id+some-agent[bot]@users.noreply.github.com>`,
/// which is that agent's commit email.
fn trailer_pattern(signals: &Signals, trailer: &Trailer) -> Option<String> {
    if let Some(pattern) = signals.trailer(trailer) {
        return Some(pattern.to_string());
    }
    if let Some(tool) = signals.tool(trailer) {
        return Some(format!("{}: {tool}", trailer.key));
    }
    let (name, email) = co_author(trailer)?;
    let email = bare_email(email);
    let email = (!email.is_empty()).then(|| signals.email(email)).flatten();
    let name = || (!name.is_empty()).then(|| signals.name(name)).flatten();
    email.or_else(name).map(ToString::to_string)
}

fn signal_match(obs: &Observation<'_>, pattern: String) -> SignalMatch {
    SignalMatch {
        kind: obs.kind,
        verified: obs.verified,
        source: obs.source.clone(),
        value: obs.value.clone(),
        pattern,
    }
}

/// The name and email of a `Co-authored-by` trailer, `None` for other keys.
pub(super) fn co_author(trailer: &Trailer) -> Option<(&str, &str)> {
    trailer
        .key
        .eq_ignore_ascii_case("co-authored-by")
        .then(|| split_address(&trailer.value))
}

/// `Name <email>` into its parts. Some tools leave out the angle brackets
/// (`OpenHands-Gemini openhands@all-hands.dev`): then a last word with an
/// `@` is the address. Any other value is all name.
pub(super) fn split_address(value: &str) -> (&str, &str) {
    let value = value.trim();
    if let Some((name, email)) = value.strip_suffix('>').and_then(|v| v.rsplit_once('<')) {
        return (name.trim(), email.trim());
    }
    match value.rsplit_once(' ') {
        Some((name, email)) if email.contains('@') => (name.trim(), email),
        _ => (value, ""),
    }
}

/// The GitHub login a noreply address belongs to.
pub(super) fn noreply_login(email: &str) -> Option<Login> {
    crate::engine::change::noreply_login(email)
}

/// GitHub's web-flow committer (`GitHub <noreply@github.com>`), which signs
/// web edits, squash merges and agent pushes alike: never anyone's signal.
pub(super) fn is_web_flow(person: &Person) -> bool {
    person.email.eq_ignore_ascii_case("noreply@github.com")
        || person
            .account
            .as_ref()
            .is_some_and(|a| is_web_flow_login(&a.login))
}

pub(super) fn is_web_flow_login(login: &Login) -> bool {
    login.key() == "web-flow"
}
