//! The fuzz targets' seeds (`tests/fuzz/seeds/`) and the doors they feed
//! (`warrant::fuzzing`), under plain `cargo test`: each seed is an input
//! its parser accepts (so the fuzzer starts from inputs that reach deep
//! into the parser, not from ones refused at the first byte), and every
//! input a fuzzer found crashing is fed again here (none so far).

use std::path::{Path, PathBuf};

use warrant::codeowners::{CodeownersFile, Flavour};
use warrant::forge::{github, gitlab};
use warrant::fuzzing;
use warrant::ids::RepoPath;

/// The seeds of one target, as (file name, bytes), in name order.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn each_github_seed_is_a_delivery_of_the_event_its_first_byte_picks() {
    let mut events = Vec::new();
    for (name, data) in seeds("github_webhook") {
        let event = github::webhook::EVENTS[usize::from(data[0])];
        let parsed = github::webhook::parse(event, &data[1..]);
        assert!(
            matches!(parsed, Ok(Some(_))),
            "{name} as {event}: {parsed:?}"
        );
        events.push(event);
        fuzzing::github_webhook(&data);
    }
    events.sort();
    let mut all = github::webhook::EVENTS.to_vec();
    all.sort();
    assert_eq!(events, all, "one seed per event Warrant reads");
}

#[test]
fn each_gitlab_seed_is_a_delivery_warrant_reads() {
    for (name, data) in seeds("gitlab_webhook") {
        let event = ["Merge Request Hook", "Push Hook", "Note Hook"][usize::from(data[0]) % 3];
        let parsed = gitlab::webhook::parse(event, &data[1..]);
        assert!(
            matches!(parsed, Ok(Some(_))),
            "{name} as {event}: {parsed:?}"
        );
        fuzzing::gitlab_webhook(&data);
    }
}

#[test]
fn each_policy_seed_loads_unless_named_invalid() {
    for (name, data) in seeds("policy") {
        let text = String::from_utf8(data.clone()).unwrap();
        let (org, repository) = match text.split_once('\0') {
            Some((org, repository)) => (Some(org), repository),
            None => (None, text.as_str()),
        };
        let org = org.map(|org| warrant::policy::load("org.yml", org).unwrap());
        let loaded = warrant::policy::load_under("warrant.yml", repository, org.as_ref());
        if name.starts_with("invalid-") {
            let errors = loaded.unwrap_err().to_string();
            assert!(errors.starts_with("warrant.yml:"), "{name}: {errors}");
        } else {
            assert!(loaded.is_ok(), "{name}: {}", loaded.unwrap_err());
        }
        fuzzing::policy(&data);
    }
}

#[test]
fn each_codeowners_seed_parses_in_the_syntax_its_first_byte_picks() {
    let path = RepoPath::parse(".github/CODEOWNERS").unwrap();
    for (name, data) in seeds("codeowners") {
        let flavour = if data[0] % 2 == 0 {
            Flavour::Github
        } else {
            Flavour::Gitlab
        };
        let file = CodeownersFile::from_bytes(&path, flavour, &data[1..]);
        assert!(file.parsed().is_some(), "{name}: {file:?}");
        fuzzing::codeowners(&data);
    }
}
