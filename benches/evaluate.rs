//! Benchmarks of the policy engine on the workload the README reports:
//! a policy of 50 agents, 20 roles of 20 globs each and 30 sensitive areas,
//! and a change of 5,000 files in 30 commits.
//!
//! Run with `cargo bench --bench evaluate`.

use std::fmt::Write;
use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use warrant::engine::{
    Account, AccountKind, Change, ChangedFile, Commit, Context, Evaluation, Forge, Person, Review,
    ReviewState, decide,
};
use warrant::ids::{CommitSha, Login, RepoPath};
use warrant::policy::{self, LoadedPolicy};

const AGENTS: usize = 50;
const ROLES: usize = 20;
const GLOBS_PER_ROLE: usize = 20;
const SENSITIVE: usize = 30;
const FILES: usize = 5_000;
const COMMITS: usize = 30;

fn policy_text() -> String {
    let mut y = String::from("version: 1\nmode: enforce\nagents:\n");
    for a in 0..AGENTS {
        let _ = write!(
            y,
            "  agent-{a}:\n    role: role-{}\n    owner: octo-org/team-{}\n    match:\n      logins: [\"agent-{a}[bot]\"]\n      emails: [\"*+agent-{a}[bot]@users.noreply.github.com\"]\n      trailers: [\"Co-authored-by: Agent {a}*<agent-{a}@example.com>\"]\n",
            a % ROLES,
            a % 7
        );
        if a == 0 {
            y.push_str("      builtin: copilot\n");
        }
    }
    y.push_str("roles:\n");
    for r in 0..ROLES {
        let _ = writeln!(
            y,
            "  role-{r}:\n    out_of_scope: escalate\n    max_files: 10000\n    scope:\n      allow:"
        );
        for g in 0..GLOBS_PER_ROLE {
            let _ = writeln!(y, "        - \"svc-{g}/**/*.{{rs,toml}}\"");
        }
        let _ = writeln!(y, "      deny: [\"svc-{r}/secrets/**\"]");
    }
    y.push_str("sensitive:\n");
    for s in 0..SENSITIVE {
        let _ = writeln!(
            y,
            "  - name: area-{s}\n    paths: [\"svc-{s}/deploy/**\", \"**/area-{s}.tf\"]\n    approvers: [\"octo-org/sre\", owner]\n    min_approvals: 2"
        );
    }
    y.push_str(
        "unregistered_agents:\n  action: escalate\n  approvers: [\"octo-org/maintainers\"]\n",
    );
    y.push_str("policy_file:\n  approvers: [\"octo-org/admins\"]\n");
    y
}

fn sha(n: usize) -> CommitSha {
    CommitSha::parse(&format!("{n:040x}")).unwrap()
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: name.into(),
        email: email.into(),
        account: None,
    }
}

fn change() -> Change {
    let files = (0..FILES)
        .map(|i| ChangedFile {
            path: RepoPath::parse(&format!(
                "svc-{}/module-{}/deploy/file-{i}.rs",
                i % 25,
                i % 40
            ))
            .unwrap(),
            previous_path: None,
        })
        .collect();
    let commits = (0..COMMITS)
        .map(|i| Commit {
            sha: sha(i + 1),
            author: person("agent-3[bot]", "3+agent-3[bot]@users.noreply.github.com"),
            committer: person("GitHub", "noreply@github.com"),
            message: format!(
                "Change {i}\n\nMore words.\n\nCo-authored-by: Alice <alice@example.com>\n"
            ),
        })
        .collect();
    let reviews = ["bob", "carol", "dependabot[bot]"]
        .iter()
        .enumerate()
        .map(|(i, login)| Review {
            id: Some(i as u64),
            reviewer: Account {
                login: Login::parse(login).unwrap(),
                kind: if login.ends_with("[bot]") {
                    AccountKind::Bot
                } else {
                    AccountKind::User
                },
                id: None,
            },
            state: ReviewState::Approved,
            commit_sha: sha(COMMITS),
            submitted_at: at(),
        })
        .collect();
    Change {
        forge: Forge::Github,
        repository: "octo-org/big".into(),
        number: 1,
        title: "A large change".into(),
        body: "Requested by: @alice".into(),
        author: Some(Account {
            login: Login::parse("agent-3[bot]").unwrap(),
            kind: AccountKind::Bot,
            id: None,
        }),
        assignees: vec![],
        base_sha: sha(0),
        head_sha: sha(COMMITS),
        commits,
        files,
        reviews,
    }
}

fn context() -> Context {
    let mut ctx = Context::default();
    ctx.teams.insert(
        "octo-org/sre".into(),
        ["bob", "carol", "dave"]
            .iter()
            .map(|l| Login::parse(l).unwrap())
            .collect(),
    );
    ctx
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

fn benches(c: &mut Criterion) {
    let text = policy_text();
    c.bench_function(
        "parse and compile policy (50 agents, 20x20 globs, 30 areas)",
        |b| b.iter(|| policy::load(".github/warrant.yml", black_box(&text)).unwrap()),
    );
    let loaded = LoadedPolicy {
        path: RepoPath::parse(".github/warrant.yml").unwrap(),
        blob_id: policy::blob_id(text.as_bytes()),
        policy: policy::load(".github/warrant.yml", &text).unwrap(),
    };
    let change = change();
    let context = context();
    let evaluation = Evaluation {
        policy: &loaded,
        change: &change,
        context: &context,
        at: at(),
    };
    // The workload must exercise every rule, or the figure means little.
    let decision = decide(&evaluation);
    assert!(!decision.agents.is_empty() && !decision.requirements.is_empty());
    c.bench_function("evaluate 5,000 files x 30 commits", |b| {
        b.iter(|| decide(black_box(&evaluation)))
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
