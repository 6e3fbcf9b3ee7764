//! Identification measured on real public commits labelled by hand, shared
//! in `../shared/fixtures/realworld-commits/` (never copied here; see its
//! README). Each commit is decided as a one-commit change under a policy
//! that registers nobody, its change author taken from a GitHub noreply
//! address when the commit has one. A labelled product is found when an
//! agent is reported under an id that names it; anything reported that no
//! label explains is a false flag.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::*;
use crate::engine::{Commit, Forge};
use crate::ids::CommitSha;
use crate::policy::Policy;

/// The share of each product's labelled commits that must be found.
const MIN_RECALL: f64 = 0.95;

#[derive(Deserialize)]
struct Record {
    repo: String,
    sha: String,
    parent: Option<String>,
    author: Who,
    committer: Who,
    message: String,
    label: Label,
}

#[derive(Deserialize)]
struct Who {
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct Label {
    class: String,
    agents: Vec<Labelled>,
    automation: Vec<Labelled>,
}

/// A product on a commit, and the `[bot]` logins it committed under.
#[derive(Deserialize)]
struct Labelled {
    product: String,
    accounts: Vec<String>,
}

fn corpus() -> Vec<Record> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The main checkout has `../shared`; a worktree under `wt/` one more level.
    let dir = [
        "../shared/fixtures/realworld-commits",
        "../../shared/fixtures/realworld-commits",
    ]
    .iter()
    .map(|d| root.join(d))
    .find(|d| d.is_dir())
    .expect("the shared realworld-commits corpus");
    let text = std::fs::read_to_string(dir.join("corpus.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The policy the corpus is measured under: `version: 1` and
/// `unregistered_agents: {action: warn}`.
fn nobody_registered() -> Policy {
    let text = "version: 1\nunregistered_agents:\n  action: warn\n";
    crate::policy::load(".github/warrant.yml", text).unwrap()
}

fn person(who: &Who) -> Person {
    Person {
        name: who.name.clone(),
        email: who.email.clone(),
        account: None,
    }
}

fn change_of(record: &Record) -> Change {
    let sha = CommitSha::parse(&record.sha).unwrap();
    let parent = record
        .parent
        .as_deref()
        .map(|p| CommitSha::parse(p).unwrap());
    let mut change = Change {
        forge: Forge::Github,
        repository: record.repo.clone(),
        number: 1,
        title: String::new(),
        body: String::new(),
        author: Account::from_noreply(&record.author.email)
            .or_else(|| Account::from_noreply(&record.committer.email)),
        assignees: Vec::new(),
        base_sha: parent.unwrap_or_else(|| sha.clone()),
        head_sha: sha.clone(),
        commits: vec![Commit {
            sha,
            author: person(&record.author),
            committer: person(&record.committer),
            message: record.message.clone(),
        }],
        files: Vec::new(),
        reviews: Vec::new(),
    };
    change.link_noreply_accounts();
    change
}

/// Whether a finding names a labelled product: by its catalog entry or
/// `declared:` tool, or as one of the product's own bot accounts.
fn names(finding: &AgentFinding, labelled: &Labelled) -> bool {
    let product = labelled.product.as_str();
    let own_bot = format!("{product}[bot]");
    let is_account = |login: &str| {
        login.eq_ignore_ascii_case(&own_bot)
            || labelled
                .accounts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(login))
    };
    let entry_accounts = finding
        .catalog
        .as_deref()
        .and_then(|id| catalog::builtin().get(id))
        .is_some_and(|e| {
            e.signals
                .logins
                .iter()
                .any(|l| is_account(l.login().as_str()))
        });
    finding.catalog.as_deref() == Some(product)
        || finding.id == format!("declared:{product}")
        || finding.id.strip_prefix("bot:").is_some_and(is_account)
        || entry_accounts
}

#[derive(Default)]
struct Tally {
    /// Per product: commits found, commits labelled.
    products: BTreeMap<String, (usize, usize)>,
    /// Findings no label explains, by commit.
    false_flags: Vec<String>,
}

impl Tally {
    fn add(&mut self, record: &Record, found: &[AgentFinding]) {
        for labelled in &record.label.agents {
            let entry = self.products.entry(labelled.product.clone()).or_default();
            entry.1 += 1;
            if found.iter().any(|f| names(f, labelled)) {
                entry.0 += 1;
            } else {
                println!(
                    "missed {} in {} {}",
                    labelled.product,
                    record.repo,
                    &record.sha[..10]
                );
            }
        }
        let labels = || record.label.agents.iter().chain(&record.label.automation);
        for finding in found {
            if !labels().any(|l| names(finding, l)) {
                self.false_flags.push(format!(
                    "{} on {} commit {} {}",
                    finding.id,
                    record.label.class,
                    record.repo,
                    &record.sha[..10]
                ));
            }
        }
    }

    fn recall(found: usize, total: usize) -> f64 {
        found as f64 / total as f64
    }
}

#[test]
fn real_agent_commits_are_found_and_no_human_is_flagged() {
    let policy = nobody_registered();
    let at = chrono::Utc::now();
    let mut tally = Tally::default();
    for record in corpus() {
        let found = identify(&policy, &change_of(&record), &Context::default(), at).agents;
        tally.add(&record, &found);
    }
    let (mut found, mut total) = (0, 0);
    let mut below = Vec::new();
    for (product, (f, t)) in &tally.products {
        let recall = Tally::recall(*f, *t);
        let mark = if recall < MIN_RECALL {
            "  BELOW TARGET"
        } else {
            ""
        };
        println!("{product:>20}: {f:>3}/{t:<3} {:5.1}%{mark}", recall * 100.0);
        (found, total) = (found + f, total + t);
        if recall < MIN_RECALL {
            below.push(product.clone());
        }
    }
    println!(
        "{:>20}: {found:>3}/{total:<3} {:5.1}%",
        "overall",
        Tally::recall(found, total) * 100.0
    );
    for flag in &tally.false_flags {
        println!("false flag: {flag}");
    }
    assert!(
        tally.false_flags.is_empty(),
        "{} false flags",
        tally.false_flags.len()
    );
    assert!(below.is_empty(), "below {MIN_RECALL}: {below:?}");
}
