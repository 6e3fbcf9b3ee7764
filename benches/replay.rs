//! The replay a policy change runs: its proposal tried on the repository's
//! last 50 evaluated changes, each decided again from its recorded facts.
//! The workload is typical: a policy of 4 agents, 3 roles and 3 sensitive
//! areas; changes of 12 files in 4 commits with 2 reviews, by an agent,
//! half of them blocked; a proposal that widens a scope and lowers an
//! approval count.
//!
//! Two figures: from the stored rows already read (parse each record, then
//! decide), and from an SQLite store (the two queries the worker makes,
//! then the same).
//!
//! Run with `cargo bench --bench replay`.

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use warrant::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Context, Forge, Person, Review, ReviewState,
};
use warrant::evaluation::record::{self, Record, Recorder};
use warrant::evaluation::replay::Instead;
use warrant::evaluation::simulate::{self, REPLAYED, past_changes};
use warrant::forge::PolicyFile;
use warrant::ids::{ChangeKey, CommitSha, Login, RepoName, RepoPath};
use warrant::store::records::Scope;
use warrant::store::{NewEvaluation, Store};

const REPO: &str = "octo-org/payments";

const POLICY: &str = r#"version: 1
mode: enforce
agents:
  copilot:
    role: feature-dev
    owner: alice
    match:
      builtin: copilot
  claude:
    role: feature-dev
    owner: bob
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
  renovate:
    role: deps
    owner: octo-org/platform
    match:
      logins: ["renovate[bot]"]
  docs-bot:
    role: docs
    owner: carol
    match:
      logins: ["docs-bot[bot]"]
roles:
  feature-dev:
    scope:
      allow: ["src/**", "tests/**"]
      deny: ["src/ledger/**"]
    out_of_scope: block
    max_files: 50
  deps:
    scope:
      allow: ["Cargo.toml", "Cargo.lock", "package.json", "package-lock.json"]
  docs:
    scope:
      allow: ["docs/**", "*.md"]
sensitive:
  - name: ledger
    paths: ["src/ledger/**"]
    approvers: ["octo-org/finance", owner]
    min_approvals: 2
  - name: payments
    paths: ["src/payments/**"]
    approvers: ["octo-org/sre"]
    min_approvals: 1
  - name: migrations
    paths: ["migrations/**"]
    approvers: ["octo-org/dba"]
    min_approvals: 1
unregistered_agents:
  action: escalate
  approvers: ["octo-org/sre"]
approvals:
  agent_reviews: dismiss
"#;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, minute, 0).unwrap()
}

fn sha(n: u64) -> CommitSha {
    CommitSha::parse(&format!("{n:040x}")).unwrap()
}

fn login(name: &str) -> Login {
    Login::parse(name).unwrap()
}

fn account(name: &str, kind: AccountKind) -> Account {
    Account {
        login: login(name),
        kind,
        id: None,
    }
}

/// Copilot's change `number`: even ones stay in `src/`, odd ones reach
/// into `infra/` (blocked today, allowed by the proposal).
fn change(number: u64) -> Change {
    let dir = if number % 2 == 0 { "src/app" } else { "infra" };
    let files = (0..12)
        .map(|i| ChangedFile {
            path: RepoPath::parse(&format!("{dir}/module-{i}.rs")).unwrap(),
            previous_path: None,
        })
        .collect();
    let copilot = Person {
        name: "Copilot".into(),
        email: "198982749+Copilot@users.noreply.github.com".into(),
        account: Some(account("copilot-swe-agent[bot]", AccountKind::Bot)),
    };
    let commits = (0..4)
        .map(|i| Commit {
            sha: sha(number * 100 + i + 1),
            author: copilot.clone(),
            committer: copilot.clone(),
            message: format!("Step {i}\n\nCo-authored-by: alice <alice@example.com>"),
        })
        .collect();
    let reviews = ["dave", "erin"]
        .iter()
        .enumerate()
        .map(|(i, name)| Review {
            id: Some(number * 10 + i as u64),
            reviewer: account(name, AccountKind::User),
            state: ReviewState::Approved,
            commit_sha: sha(number * 100 + 4),
            submitted_at: at(1),
        })
        .collect();
    Change {
        forge: Forge::Github,
        repository: REPO.into(),
        number,
        title: format!("Change {number}"),
        body: "Closes #1".into(),
        author: Some(account("copilot-swe-agent[bot]", AccountKind::Bot)),
        assignees: vec![account("alice", AccountKind::User)],
        base_sha: sha(1),
        head_sha: sha(number * 100 + 4),
        commits,
        files,
        reviews,
    }
}

fn policy_file(text: &str) -> PolicyFile {
    PolicyFile {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        text: text.to_owned(),
        blob_id: warrant::policy::blob_id(text.as_bytes()),
        truncated: false,
    }
}

/// Change `number`'s record, as its evaluation stored it.
fn record(number: u64, recorder: &mut Recorder) -> Record {
    let mut context = Context::default();
    for (team, members) in [
        ("octo-org/sre", ["dave", "erin"]),
        ("octo-org/finance", ["frank", "gina"]),
        ("octo-org/dba", ["hana", "ivan"]),
        ("octo-org/platform", ["jo", "kim"]),
    ] {
        context
            .teams
            .insert(team.into(), members.iter().map(|m| login(m)).collect());
    }
    context.app_logins = vec![login("warrant")];
    Record {
        version: record::VERSION,
        at: at(number as u32 % 60),
        dismisses: true,
        org_repository: false,
        change: change(number),
        org: None,
        repo: Some(recorder.file(&policy_file(POLICY))),
        codeowners: None,
        context: Some(context),
        admins: None,
        head_files: Vec::new(),
        overrides: None,
    }
}

/// The 50 stored rows, the most recent first: (number, conclusion, input
/// JSON).
fn rows(recorder: &mut Recorder) -> Vec<(u64, &'static str, String)> {
    (1..=REPLAYED as u64)
        .rev()
        .map(|n| {
            let conclusion = if n % 2 == 0 { "success" } else { "failure" };
            let input = serde_json::to_string(&record(n, recorder)).unwrap();
            (n, conclusion, input)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let proposed = policy_file(
        &POLICY
            .replace(
                r#"allow: ["src/**", "tests/**"]"#,
                r#"allow: ["src/**", "tests/**", "infra/**"]"#,
            )
            .replace("min_approvals: 2", "min_approvals: 1"),
    );
    let instead = Instead {
        repo: Some(&proposed),
        org: None,
    };
    let mut recorder = Recorder::default();
    let rows = rows(&mut recorder);
    let texts = recorder.texts;

    // The workload must flip what the proposal relaxes, or the figure
    // means little.
    let stored = |rows: &[(u64, &str, String)]| -> Vec<simulate::Past> {
        rows.iter()
            .map(|(n, conclusion, input)| simulate::Past {
                repository: REPO.into(),
                number: *n,
                conclusion: warrant::engine::Conclusion::parse(conclusion).unwrap(),
                input: record::Input::parse(input).ok(),
            })
            .collect()
    };
    let replay = runtime.block_on(simulate::simulate(&stored(&rows), &texts, instead));
    assert_eq!(replay.replayed, REPLAYED);
    assert_eq!(replay.flips.len(), REPLAYED / 2, "{replay:#?}");
    assert!(
        replay.flips.iter().all(|f| f.unrecorded.is_empty()),
        "{replay:#?}"
    );

    c.bench_function("replay 50 recorded changes under a proposed policy", |b| {
        b.iter(|| {
            let past = stored(black_box(&rows));
            runtime.block_on(simulate::simulate(&past, &texts, instead))
        })
    });

    // The same, read from an SQLite store as the worker reads it.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let store = runtime.block_on(Store::connect(&url)).unwrap();
    let repo = RepoName::parse(REPO).unwrap();
    let base = sha(1);
    for (n, conclusion, input) in rows.iter().rev() {
        let key = ChangeKey::new(Forge::Github, repo.clone(), *n);
        let head = sha(n * 100 + 4);
        let evaluation = NewEvaluation {
            change: &key,
            head_sha: head.as_str(),
            base_sha: Some(base.as_str()),
            check_run_id: Some(*n),
            conclusion,
            title: "title",
            decision: Some("{}"),
            input: Some(input),
            texts: Some(&texts),
            alerts: &[],
            delivery_id: None,
            evaluated_at: at(2),
        };
        runtime
            .block_on(store.record_evaluation(&evaluation, &[]))
            .unwrap();
    }
    let from_store = || async {
        let scope = Scope::Repository(&repo);
        let (past, texts) = past_changes(&store, Forge::Github, &scope, None, REPLAYED)
            .await
            .unwrap();
        simulate::simulate(&past, &texts, instead).await
    };
    assert_eq!(runtime.block_on(from_store()), replay);
    c.bench_function("read 50 changes from SQLite and replay them", |b| {
        b.iter(|| runtime.block_on(from_store()))
    });
}

criterion_group!(replay, benches);
criterion_main!(replay);
