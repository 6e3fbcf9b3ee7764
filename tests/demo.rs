//! `warrant demo`: the built binary plays the script and prints what each
//! pull request shows; the library plays it on each database and leaves
//! the evaluations, check runs, dismissals and merges the script promises;
//! and the webhooks it sends have the shape of GitHub's own.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use chrono::Utc;
use serde_json::Value;
use support::keys::key;
use support::server::fixture;
use support::store::on_each_backend;
use tokio::net::TcpListener;
use warrant::audit::EventKind;
use warrant::demo::script::{self, Step};
use warrant::demo::{Demo, REPOSITORY, bypasses};
use warrant::forge::github::fake::events;
use warrant::store::Store;

/// Each scene's pull request and the conclusion its check ends on.
const EXPECTED: &[(&str, u64, &str)] = &[
    ("acme/payments", 101, "success"),
    ("acme/payments", 102, "failure"),
    ("acme/payments", 103, "success"),
    ("acme/payments", 104, "action_required"),
    ("acme/payments", 105, "action_required"),
    ("acme/payments", 106, "success"),
    ("acme/checkout", 41, "success"),
    ("globex/website", 12, "neutral"),
    ("acme/payments", 107, "failure"),
    ("acme/payments", 108, "action_required"),
    ("acme/.github", 3, "action_required"),
    ("acme/payments", 109, "failure"),
    ("acme/payments", 110, "success"),
    ("acme/payments", 111, "action_required"),
];

#[test]
fn the_demo_command_prints_each_change_with_its_conclusion_and_page() {
    let output = Command::new(env!("CARGO_BIN_EXE_warrant"))
        .args(["demo", "--listen", "127.0.0.1:0", "--exit-when-played"])
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("[expected"), "{stdout}");
    // Quiet by default: no error or warning logged on the way.
    assert_eq!(stderr.trim(), "", "{stdout}");

    let base = base_url(&stdout);
    for (repo, number, conclusion) in EXPECTED {
        let prefix = if *repo == "acme/payments" { "" } else { repo };
        let heading = format!("{prefix}#{number}  ");
        let at = stdout
            .find(&heading)
            .unwrap_or_else(|| panic!("no #{number}:\n{stdout}"));
        let block: Vec<&str> = stdout[at..].lines().take(3).collect();
        assert!(
            block[1]
                .trim_start()
                .starts_with(&format!("check: {conclusion}")),
            "{block:?}"
        );
        let url = format!("{base}/audit/github/{repo}/changes/{number}");
        assert_eq!(block[2].trim(), url);
    }
    // The sensitive change waited before it was approved.
    assert!(
        stdout.contains("success (action_required -> success)"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{base}/audit\n")), "{stdout}");
    assert!(
        stdout.contains(&format!("{base}/audit/repositories\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{base}/audit/agents\n")),
        "{stdout}"
    );
    assert!(stdout.contains("removed when the demo stops"), "{stdout}");
    assert!(stdout.contains("Alerts raised (10)"), "{stdout}");
    assert!(
        stdout.contains("check: success (failure -> success): Overridden by @maria: INC-4412"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Agent commits pushed without review in github:acme/payments: 1 agent commit pushed to main by kenji"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Agent registration lapsing in github:acme/.github: jules lapses in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Unregistered agent seen in github:acme/payments#105: catalog:cursor"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{base}/audit/alerts\n")),
        "{stdout}"
    );
    assert!(!stdout.contains("Press Ctrl-C"), "{stdout}");
}

/// `http://127.0.0.1:<port>`, from the index line, checked to name a real
/// port (not the `0` asked for).
fn base_url(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Changes and their decisions: "))
        .unwrap_or_else(|| panic!("no index line:\n{stdout}"));
    let url = line.rsplit(' ').next().unwrap();
    let base = (url.strip_suffix("/audit/changes")).expect("the changes are at /audit/changes");
    let port: u16 = base
        .strip_prefix("http://127.0.0.1:")
        .expect("a loopback URL")
        .parse()
        .expect("a port");
    assert_ne!(port, 0);
    base.to_owned()
}

#[tokio::test]
async fn the_script_leaves_its_evaluations_check_runs_dismissals_and_merge() {
    on_each_backend(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let demo = Demo::start(store.clone(), listener).await.unwrap();
        let played = demo.play().await.unwrap();

        let outcomes: Vec<(&str, u64, &str)> = played
            .iter()
            .map(|p| (p.change.repo.as_str(), p.number, p.conclusion()))
            .collect();
        assert_eq!(outcomes, EXPECTED);
        let evaluations = |n| {
            let store = store.clone();
            async move { store.evaluations(&key("github", REPOSITORY, n)).await }
        };

        // acme registers its agents once: acme/payments decides under both
        // policies, acme/checkout under the organisation's alone, and
        // globex/website, outside acme, shows its agent with no policy.
        let decision_of = |repo: &'static str, n| {
            let store = store.clone();
            async move {
                let stored = store.evaluations(&key("github", repo, n)).await.unwrap();
                let last = stored.last().expect("evaluated").decision.clone();
                serde_json::from_str::<serde_json::Value>(&last.expect("a decision")).unwrap()
            }
        };
        let payments = decision_of("acme/payments", 103).await;
        assert_eq!(payments["org_policy"]["repository"], "acme/.github");
        assert_eq!(payments["policy"]["path"], ".github/warrant.yml");
        assert_eq!(payments["requirements"][0]["id"], "sensitive:ledger");
        let checkout = decision_of("acme/checkout", 41).await;
        assert!(checkout["policy"].is_null(), "{checkout:#}");
        assert_eq!(checkout["org_policy"]["path"], "warrant-org.yml");
        assert_eq!(checkout["agents"][0]["id"], "copilot");
        assert_eq!(checkout["agents"][0]["registered_by"], "organisation");
        let outside = decision_of("globex/website", 12).await;
        assert!(outside["org_policy"].is_null() && outside["policy"].is_null());
        assert_eq!(outside["agents"][0]["id"], "catalog:cursor");
        assert_eq!(outside["agents"][0]["status"]["kind"], "unregistered");
        assert_eq!(
            outside["notes"][0].as_str().unwrap(),
            "1 agent seen: catalog:cursor. Nothing is enforced until the repository (or its organisation) has a policy."
        );

        // The policy changes: the ledger's relaxation flips nothing among
        // acme/payments' past pull requests; Copilot's wider role in the
        // organisation policy would make #107 wait for acme/platform
        // instead of failing; the typo fails at its line.
        let ledger = decision_of("acme/payments", 108).await;
        let proposed = &ledger["proposed"][0];
        assert_eq!(proposed["differences"][0]["key"], "sensitive[ledger].approvers");
        assert_eq!(proposed["differences"][0]["effect"], "relaxed");
        assert_eq!(proposed["replay"]["replayed"], 7, "#101 to #107: {ledger:#}");
        assert!(proposed["replay"]["flips"].is_null(), "{ledger:#}");
        let widened = decision_of("acme/.github", 3).await;
        let proposed = &widened["proposed"][0];
        assert_eq!(proposed["from"], "organisation");
        assert_eq!(proposed["differences"][0]["key"], "agents.copilot.role");
        assert_eq!(proposed["differences"][0]["effect"], "relaxed");
        assert_eq!(proposed["replay"]["replayed"], 9, "acme's past pull requests: {widened:#}");
        let flips = proposed["replay"]["flips"].as_array().unwrap();
        assert_eq!(flips.len(), 1, "{widened:#}");
        assert_eq!(flips[0]["repository"], "acme/payments");
        assert_eq!(flips[0]["number"], 107);
        assert_eq!(flips[0]["to"], "action_required");
        let runs = demo.fake().check_runs();
        let org_run = runs.iter().find(|r| r.repo == "acme/.github").unwrap();
        let summary = org_run.summary.as_deref().unwrap();
        assert!(
            summary.contains(
                "- acme/payments#107: failure -&gt; action_required (waiting for 2 approvals from acme/platform for infrastructure)"
            ),
            "{summary}"
        );
        let typo = decision_of("acme/payments", 109).await;
        assert_eq!(typo["proposed"][0]["errors"][0]["line"], 10, "{typo:#}");
        let typo_run = runs.iter().find(|r| r.title.as_deref().is_some_and(|t| t.starts_with("Proposed policy is invalid"))).unwrap();
        assert_eq!(typo_run.annotations[0]["start_line"], 10);

        // The sensitive change: waiting, then approved, on one check run.
        let ledger = evaluations(103).await.unwrap();
        let conclusions: Vec<&str> = ledger.iter().map(|e| e.conclusion.as_str()).collect();
        assert_eq!(conclusions, ["action_required", "success"]);
        assert!(
            ledger[0].title.contains("acme/platform"),
            "{}",
            ledger[0].title
        );
        assert_eq!(ledger[0].check_run_id, ledger[1].check_run_id);
        let runs = demo.fake().check_runs();
        let run_of = |id: Option<i64>| runs.iter().find(|r| Some(r.id as i64) == id).unwrap();
        let run = run_of(ledger[1].check_run_id);
        assert_eq!(run.conclusion.as_deref(), Some("success"));
        assert_eq!(run.history.len(), 3, "created, waiting, approved");

        // Out of scope: annotated on the files the role denies.
        let claude = evaluations(102).await.unwrap();
        let run = run_of(claude[0].check_run_id);
        let annotated: BTreeSet<&str> = run
            .annotations
            .iter()
            .filter_map(|a| a["path"].as_str())
            .collect();
        assert_eq!(
            annotated,
            BTreeSet::from(["src/auth/refresh.rs", "src/auth/session.rs"])
        );

        // Devin's approval of its own pull request: dismissed, no more.
        let dismissed: Vec<(u64, u64)> = demo
            .fake()
            .dismissals()
            .iter()
            .map(|d| (d.number, d.review_id))
            .collect();
        assert_eq!(dismissed, [(104, 3_000_000_104)]);

        // The shadow agent, found by its trailer.
        let shadow = evaluations(105).await.unwrap();
        let decision = shadow[0].decision.as_deref().unwrap();
        assert!(decision.contains("cursoragent@cursor.com"), "{decision}");

        // The merge, with its commit, for the revert command.
        let merge_commit = script::scenes(Utc::now())
            .into_iter()
            .flat_map(|s| s.steps)
            .find_map(|step| match step {
                Step::Merge { commit, .. } => Some(commit.as_str().to_owned()),
                _ => None,
            })
            .unwrap();
        let merge = store
            .last_merge(&key("github", REPOSITORY, 106))
            .await
            .unwrap();
        let merge = merge.expect("the merge is recorded");
        assert_eq!(
            merge.merge_commit_sha.as_deref(),
            Some(merge_commit.as_str())
        );
        assert_eq!(merge.method.map(|m| m.as_str()), Some("merge"));
        let audit = |n| {
            let store = store.clone();
            async move {
                store
                    .audit_events_of_change(&key("github", REPOSITORY, n))
                    .await
            }
        };
        let merged = audit(106).await.unwrap();
        let merged = merged
            .iter()
            .find(|e| e.event.kind == EventKind::ChangeMerged)
            .expect("the merge is audited");
        assert_eq!(
            merged.event.detail["merge_commit_sha"],
            merge_commit.as_str()
        );
        assert_eq!(merged.event.detail["merge_method"], "merge");
        let devin = audit(104).await.unwrap();
        assert!(
            devin
                .iter()
                .any(|e| e.event.kind == EventKind::ReviewDismissed),
            "{devin:#?}"
        );

        // Nothing failed on the way, the merge's commit read included.
        let queue = store.stats(Utc::now()).await.unwrap();
        assert_eq!((queue.queued, queue.running, queue.failed), (0, 0, 0));

        // The merge group of #101 and #106: decided again under `main`'s
        // policy, on the group's head commit.
        let group_head = script::scenes(Utc::now())
            .into_iter()
            .flat_map(|s| s.steps)
            .find_map(|step| match step {
                Step::Queue { head, .. } => Some(head.as_str().to_owned()),
                _ => None,
            })
            .unwrap();
        let group = runs.iter().find(|r| r.head_sha == group_head).unwrap();
        assert_eq!(group.conclusion.as_deref(), Some("success"), "{group:#?}");
        let summary = group.summary.as_deref().unwrap_or_default();
        assert!(summary.contains("#101 and #106"), "{summary}");
        assert!(
            merged_trail_has_group(&audit(106).await.unwrap()),
            "the merge group is on #106's trail"
        );

        // Every check run is completed, one per pull request and the
        // merge group's.
        assert_eq!(runs.len(), EXPECTED.len() + 1);
        assert!(runs.iter().all(|r| r.status == "completed"), "{runs:#?}");

        // Its alerts reached its receiver, signed, once each: every check
        // that failed, Cursor the first time each repository saw it, the
        // override, Codex active after its registration lapsed, Devin's
        // commit pushed past review, and Jules's registration lapsing.
        let alerts = demo.alerts().await.unwrap();
        let told: Vec<(&str, &str)> = (alerts.iter())
            .map(|a| (a.kind.as_str(), a.subject.as_str()))
            .collect();
        assert_eq!(
            told,
            [
                ("dev.warrant.change.blocked", "github:acme/payments#102"),
                ("dev.warrant.agent.unregistered", "github:acme/payments#105"),
                ("dev.warrant.agent.unregistered", "github:globex/website#12"),
                ("dev.warrant.change.blocked", "github:acme/payments#107"),
                ("dev.warrant.change.blocked", "github:acme/payments#109"),
                ("dev.warrant.change.blocked", "github:acme/payments#110"),
                ("dev.warrant.override.used", "github:acme/payments#110"),
                ("dev.warrant.agent.lapsed_active", "github:acme/payments#111"),
                ("dev.warrant.push.unreviewed", "github:acme/payments"),
                ("dev.warrant.agent.lapsing", "github:acme/.github"),
            ]
        );
        let stats = demo.store().alert_stats().await.unwrap();
        assert_eq!((stats.delivered, stats.failed), (10, 0));

        // The override: recorded with its reason and what it lifted; the
        // check passed, and its summary still lists what was found.
        let overridden = audit(110).await.unwrap();
        let used = (overridden.iter())
            .find(|e| e.event.kind == EventKind::OverrideUsed)
            .expect("the override is audited");
        assert_eq!(used.event.actor.as_deref(), Some("maria"));
        assert_eq!(used.event.detail["reason"], bypasses::OVERRIDE_REASON);
        let run = (runs.iter())
            .find(|r| r.title.as_deref().is_some_and(|t| t.starts_with("Overridden by @maria")))
            .expect("the overridden check run");
        assert_eq!(run.conclusion.as_deref(), Some("success"));
        let summary = run.summary.as_deref().unwrap_or_default();
        assert!(summary.contains("src/auth/cookie.rs"), "{summary}");
        // Codex's lapsed registration: the check says so.
        let codex = decision_of("acme/payments", 111).await;
        assert_eq!(codex["agents"][0]["id"], "codex", "{codex:#}");
        assert!(codex.to_string().contains("expired on"), "{codex:#}");

        // The push past review, on the repository's trail.
        let readable = warrant::store::reports::Readable(BTreeSet::from([(
            "github".to_owned(),
            REPOSITORY.to_owned(),
        )]));
        let since = Utc::now() - chrono::Duration::hours(1);
        let pushed = store.unreviewed_pushes(&readable, since, 10).await.unwrap();
        assert_eq!(pushed.len(), 1, "{pushed:#?}");
        assert_eq!(pushed[0].event.actor.as_deref(), Some("kenji"), "{pushed:#?}");
        // Devin is named as acme registers it: GitHub reads the
        // organisation policy with each pull request, and the push takes
        // it from acme/payments' last evaluation.
        assert_eq!(pushed[0].event.detail["agents"], serde_json::json!(["devin"]));
        demo.stop().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_database_that_holds_a_demo_already_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let first = Demo::start(
        Store::connect(&url).await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    first.play().await.unwrap();
    first.stop().await.unwrap();

    let again = Demo::start(
        Store::connect(&url).await.unwrap(),
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await;
    let err = again.err().expect("refused");
    assert!(err.to_string().contains("holds a demo already"), "{err:#}");
}

fn merged_trail_has_group(trail: &[warrant::audit::AuditEvent]) -> bool {
    trail.iter().any(|e| {
        e.event.kind == EventKind::MergeGroupChecked
            && e.event.decision.as_deref() == Some("success")
    })
}

/// Every field the demo's payloads carry is one GitHub sends, with the
/// same JSON type (compared with the octokit examples).
#[test]
fn the_demo_s_webhooks_have_the_shape_of_github_s() {
    let scenes = script::scenes(Utc::now());
    let sender = scenes[0].pull.change.author.clone().unwrap();
    let reviewed = scenes
        .iter()
        .find_map(|s| {
            s.steps.iter().find_map(|step| match step {
                Step::Review(r) => Some((s.pull.clone(), r.clone())),
                _ => None,
            })
        })
        .unwrap();
    let merge = &scenes[5];
    let Some((by, commit)) = merge.steps.iter().find_map(|step| match step {
        Step::Merge { by, commit } => Some((by, commit)),
        _ => None,
    }) else {
        panic!("the last scene merges");
    };
    let Some(group_head) = merge.steps.iter().find_map(|step| match step {
        Step::Queue { head, .. } => Some(head.clone()),
        _ => None,
    }) else {
        panic!("the last scene goes through the merge queue");
    };
    let group = events::MergeGroup {
        repo: REPOSITORY.to_owned(),
        base_ref: "main".to_owned(),
        base_sha: script::base_sha(),
        head_sha: group_head,
        last: merge.number(),
    };
    let run = warrant::forge::github::fake::CheckRun {
        id: 4,
        app_id: 1,
        repo: REPOSITORY.to_owned(),
        name: "warrant".to_owned(),
        head_sha: scenes[0].pull.change.head_sha.as_str().to_owned(),
        status: "completed".to_owned(),
        conclusion: Some("success".to_owned()),
        details_url: None,
        title: None,
        summary: None,
        annotations: Vec::new(),
        history: Vec::new(),
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            events::pull_request("opened", &scenes[0].pull, 1, &sender),
            "pull_request",
            "opened.payload.json",
        ),
        (
            events::pull_request("synchronize", &scenes[0].pull, 1, &sender),
            "pull_request",
            "synchronize.payload.json",
        ),
        (
            events::pull_request_merged(&merge.pull, 1, by, commit, Utc::now()),
            "pull_request",
            "closed.payload.json",
        ),
        (
            events::merge_group_checks_requested(&group, 1, by),
            "merge_group",
            "checks_requested.payload.json",
        ),
        (
            events::review_submitted(&reviewed.0, 1, &reviewed.1),
            "pull_request_review",
            "submitted.payload.json",
        ),
        (
            events::check_run_rerequested(&run, 1, &[&scenes[0].pull], &sender),
            "check_run",
            // The `completed` example is newer (with `details_url` and a pull
            // request listed) but comes from a repository webhook.
            "rerequested.payload.json completed.payload.json",
        ),
        (
            on_an_issue(events::issue_comment(
                &scenes[0].pull,
                1,
                &sender,
                4,
                "/warrant override",
            )),
            "issue_comment",
            "created.with-installation.payload.json",
        ),
        (
            bypasses::pushes()[0].payload(1),
            "push",
            "with-installation.payload.json",
        ),
    ];
    // A field is known when one of the examples listed has it.
    for (payload, event, files) in cases {
        let unknown = files
            .split(' ')
            .map(|file| {
                let github: Value = serde_json::from_slice(&fixture(event, file)).unwrap();
                let mut unknown = BTreeSet::new();
                same_shape(&payload, &github, String::new(), &mut unknown);
                unknown
            })
            .reduce(|a, b| a.intersection(&b).cloned().collect())
            .unwrap();
        assert!(unknown.is_empty(), "{event}/{files}: {unknown:#?}");
    }
}

/// A comment on a pull request as the examples have it, which are all on
/// issues: without `issue.pull_request` (the link to the pull request, on
/// GitHub's pull requests' comments).
fn on_an_issue(mut comment: Value) -> Value {
    let issue = comment["issue"].as_object_mut().unwrap();
    assert!(issue.remove("pull_request").is_some());
    comment
}

/// Collects in `unknown` the paths of `ours` that GitHub's example lacks or
/// types differently. `null` matches any type (GitHub's examples leave
/// optional fields empty), and so does an empty example list.
fn same_shape(ours: &Value, github: &Value, path: String, unknown: &mut BTreeSet<String>) {
    match (ours, github) {
        (_, Value::Null) | (Value::Null, _) => {}
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    Some(theirs) => same_shape(value, theirs, format!("{path}.{key}"), unknown),
                    None => {
                        unknown.insert(format!("{path}.{key}"));
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(theirs), true) = (b.first(), !a.is_empty()) {
                for value in a {
                    same_shape(value, theirs, format!("{path}[]"), unknown);
                }
            }
        }
        (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => {}
        _ => {
            unknown.insert(format!("{path}: {ours} is not of the type of {github}"));
        }
    }
}
