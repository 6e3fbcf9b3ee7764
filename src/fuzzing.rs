//! The doors the fuzz targets (`tests/fuzz/`) knock on, and their
//! regression tests with them: each function takes any bytes, reads them
//! with a parser that reads untrusted input in production, and uses what
//! the parser returns as Warrant goes on to use it, so that a panic
//! anywhere on that path is a crash the fuzzer sees. Nothing here is for
//! use by the application.

use crate::codeowners::{CodeownersFile, Flavour};
use crate::forge::{github, gitlab};
use crate::ids::RepoPath;
use crate::policy;

/// The events GitLab sends that Warrant reads (its `X-Gitlab-Event`).
const GITLAB_EVENTS: &[&str] = &["Merge Request Hook", "Push Hook", "Note Hook"];

/// Paths asked about in a parsed CODEOWNERS: at the root, nested, hidden,
/// and with characters glob patterns treat specially.
const PATHS: &[&str] = &[
    "README.md",
    "src/lib.rs",
    "docs/a/b/c.md",
    ".github/warrant.yml",
    "weird [name]/*.rs",
];

/// A GitHub delivery: the first byte picks the event (`X-GitHub-Event`)
/// among those Warrant reads, the rest is the payload, read as the
/// webhook door and then the worker read it.
pub fn github_webhook(data: &[u8]) {
    let (event, payload) = event_and_payload(data, github::webhook::EVENTS);
    let _ = github::webhook::worth_storing(event, payload);
    let _ = github::webhook::repository_identity(payload);
    if let Ok(Some(event)) = github::webhook::parse(event, payload) {
        event.needs_processing();
        let _ = format!("{event:?}");
    }
}

/// A GitLab delivery, as [`github_webhook`].
pub fn gitlab_webhook(data: &[u8]) {
    let (event, payload) = event_and_payload(data, GITLAB_EVENTS);
    let _ = gitlab::webhook::worth_storing(event, payload);
    if let Ok(Some(event)) = gitlab::webhook::parse(event, payload) {
        event.needs_processing();
        let _ = format!("{event:?}");
    }
}

/// A policy file, with its errors rendered as the user reads them (file,
/// line, column). Text before a NUL byte, if any, is first loaded as the
/// organisation's policy and the rest loaded under it.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (org, repository) = match text.split_once('\0') {
        Some((org, repository)) => (Some(org), repository),
        None => (None, text),
    };
    let org = match org.map(|org| policy::load(".github/warrant.yml", org)) {
        Some(Ok(org)) => Some(org),
        Some(Err(errors)) => {
            let _ = errors.to_string();
            None
        }
        None => None,
    };
    match policy::load_under(".github/warrant.yml", repository, org.as_ref()) {
        Ok(loaded) => {
            let _ = loaded.teams();
            if let Some(org) = &org {
                let _ = policy::diff::text(&policy::diff::diff(org, &loaded));
            }
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
}

/// A CODEOWNERS file: the first byte picks GitHub's or GitLab's syntax;
/// a parsed file is asked who owns a few paths.
pub fn codeowners(data: &[u8]) {
    let Some((&first, contents)) = data.split_first() else {
        return;
    };
    let flavour = if first % 2 == 0 {
        Flavour::Github
    } else {
        Flavour::Gitlab
    };
    let path = RepoPath::parse(".github/CODEOWNERS").expect("a valid path");
    let file = CodeownersFile::from_bytes(&path, flavour, contents);
    let paths: Vec<RepoPath> = PATHS
        .iter()
        .map(|path| RepoPath::parse(path).expect("a valid path"))
        .collect();
    let _ = file.teams();
    let _ = file.teams_owning(&paths);
    if let Some(parsed) = file.parsed() {
        for path in &paths {
            let _ = parsed.owners_of(path);
        }
    }
}

/// The event the first byte picks from `events`, and the rest.
fn event_and_payload<'a>(data: &'a [u8], events: &[&'static str]) -> (&'static str, &'a [u8]) {
    match data.split_first() {
        Some((&first, rest)) => (events[usize::from(first) % events.len()], rest),
        None => (events[0], data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_door_takes_empty_and_arbitrary_input() {
        for data in [
            &b""[..],
            b"\x00",
            b"\xff{}",
            b"\x01\x00\xff\xfe",
            b"agents: [",
        ] {
            github_webhook(data);
            gitlab_webhook(data);
            policy(data);
            codeowners(data);
        }
    }

    #[test]
    fn the_first_byte_picks_the_event() {
        assert_eq!(
            event_and_payload(b"\x02{}", GITLAB_EVENTS),
            ("Note Hook", &b"{}"[..])
        );
        assert_eq!(
            event_and_payload(b"\x04{}", GITLAB_EVENTS),
            ("Push Hook", &b"{}"[..])
        );
    }
}
