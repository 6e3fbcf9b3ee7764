//! Every evaluation records the facts it decided on, so that a decision
//! can be made again without the forge: a policy change is tried on the
//! repository's past changes (listing those it would flip), `warrant audit
//! replay` reproduces a stored decision exactly, and `warrant simulate`
//! prints the replay from the database. On both forges and both databases.

mod support;

use support::cli;
use support::forge::{Approver, Harness, Outcome, on_each_forge};

/// The test policies' scope for the registered agent, and a wider one.
const SCOPE: &str = r#"allow: ["src/**"]"#;
const WIDER: &str = r#"allow: ["src/**", "infra/**"]"#;

/// `github:octo-org/hello-world`, `gitlab:platform/payments/ledger`.
fn repository(h: &Harness) -> String {
    format!("{}:{}", h.forge().name(), h.repo())
}

/// `requests` with change `number`'s own number in their paths written `N`.
fn numbered(requests: &[String], number: u64) -> Vec<String> {
    let (inner, last) = (format!("/{number}/"), format!("/{number}"));
    requests
        .iter()
        .map(|r| {
            let r = r.replace(&inner, "/N/");
            match r.strip_suffix(&last) {
                Some(start) => format!("{start}/N"),
                None => r,
            }
        })
        .collect()
}

/// The agent's change 1 out of scope (failure) and change 2 within it
/// (success), both closed, so that the policy changes opened next publish
/// their own checks at the shared head. Deliveries 1 to 4.
async fn history(h: &Harness) {
    h.put_policy(h.policy());
    h.add_agent_change(1, &["infra/main.tf"]);
    h.open(1, 1).await;
    h.close(1, 2).await;
    h.add_agent_change(2, &["src/lib.rs"]);
    h.open(2, 3).await;
    h.close(2, 4).await;
    assert_eq!(h.evaluations(1).await[0].conclusion, "failure");
    assert_eq!(h.evaluations(2).await[0].conclusion, "success");
}

#[tokio::test]
async fn a_policy_change_lists_the_past_changes_it_would_flip_without_asking_the_forge() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        h.put_policy(h.policy());
        let proposed = h.policy().replace(SCOPE, WIDER);
        assert_ne!(proposed, h.policy());

        // One past change within scope, a first policy change (which warms
        // the caches of accounts), then the same policy change again: what
        // it costs with two changes to replay.
        h.add_agent_change(2, &["src/lib.rs"]);
        h.open(2, 1).await;
        h.close(2, 2).await;
        h.add_policy_change(4, &proposed);
        h.open(4, 3).await;
        h.close(4, 4).await;
        h.add_policy_change(5, &proposed);
        let before = h.requests().len();
        h.open(5, 5).await;
        let two = numbered(&h.requests()[before..], 5);
        let replay = &h.decision(5).await["proposed"][0]["replay"];
        assert_eq!(replay["replayed"], 2, "{replay:#}");
        assert_eq!(replay.get("flips"), None, "{replay:#}");
        h.close(5, 6).await;

        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 7).await;
        h.close(1, 8).await;

        // The same policy change again, now with four past changes.
        h.add_policy_change(6, &proposed);
        let before = h.requests().len();
        h.open(6, 9).await;
        let four = numbered(&h.requests()[before..], 6);
        assert_eq!(
            four, two,
            "replaying more past changes asks the forge nothing more"
        );
        let d = h.decision(6).await;
        let difference = &d["proposed"][0]["differences"][0];
        assert_eq!(difference["effect"], "relaxed", "{d:#}");
        assert_eq!(difference["change"], "`infra/**` added", "{d:#}");
        let replay = &d["proposed"][0]["replay"];
        assert_eq!(replay["replayed"], 4, "#1, #5, #4 and #2: {replay:#}");
        let flips = replay["flips"].as_array().unwrap();
        assert_eq!(flips.len(), 1, "{replay:#}");
        assert_eq!(flips[0]["number"], 1);
        assert_eq!(flips[0]["from"], "failure");
        assert_eq!(flips[0]["to"], "success");
        let reason = flips[0]["reason"].as_str().unwrap();
        assert!(!reason.is_empty() && !reason.contains("outside"), "{reason}");

        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Passed));
        let sigil = h.change_ref(1);
        if let Some(summary) = published.summary {
            let line = format!("- {sigil}: failure -&gt; success ({reason})");
            assert!(summary.contains(&line), "{summary}");
            assert!(
                summary.contains(
                    "Decided 4 past changes again under the proposed policy: 1 would conclude otherwise."
                ),
                "{summary}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_stored_decision_is_reproduced_exactly_from_its_recorded_facts() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        history(&h).await;
        // Teams resolved: a sensitive change approved by the SRE group.
        h.add_agent_change(3, &["src/payments/refund.rs"]);
        h.open(3, 5).await;
        h.approve(3, Approver::Sre, 6).await;
        assert_eq!(h.evaluations(3).await.last().unwrap().conclusion, "success");

        let dir = tempfile::tempdir().unwrap();
        for number in [1, 2, 3] {
            let change = format!("{}{}", repository(&h), h.change_ref(number));
            let run = replay(dir.path(), &url, &[&change]).await;
            run.assert_code(0);
            assert!(run.stdout.contains("reproduced exactly"), "{run}");
        }

        // A decision altered in the database no longer follows from its
        // facts: the first difference is named.
        tamper(
            &url,
            1,
            r#""conclusion":"failure""#,
            r#""conclusion":"success""#,
        )
        .await;
        let change = format!("{}{}", repository(&h), h.change_ref(1));
        let run = replay(dir.path(), &url, &[&change, "--json"]).await;
        run.assert_code(1);
        let report = run.json();
        assert_eq!(report["reproduced"], false);
        assert_eq!(report["difference"]["at"], "/conclusion");
        assert_eq!(report["difference"]["recorded"], "success");
        assert_eq!(report["difference"]["replayed"], "failure");

        // A change with no evaluation cannot be replayed.
        let missing = format!("{}{}", repository(&h), h.change_ref(99));
        replay(dir.path(), &url, &[&missing]).await.assert_code(2);
    })
    .await;
}

#[tokio::test]
async fn simulate_prints_the_replay_from_the_database() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        history(&h).await;
        let dir = tempfile::tempdir().unwrap();
        let proposed = dir.path().join("proposed.yml");
        std::fs::write(&proposed, h.policy().replace(SCOPE, WIDER)).unwrap();
        let repo = repository(&h);
        let args = ["simulate", "--policy", "proposed.yml", "--repo", &repo];

        let run = warrant(dir.path(), &url, &args).await;
        run.assert_code(0);
        let first = format!("{}: failure -> success (", h.change_ref(1));
        assert_eq!(
            run.stdout.lines().collect::<Vec<_>>()[..1],
            ["Decided 2 past changes again under the proposed policy: 1 would conclude otherwise."],
            "{run}"
        );
        assert!(
            run.stdout.lines().nth(1).unwrap().starts_with(&first),
            "{run}"
        );

        let run = warrant(
            dir.path(),
            &url,
            &[&args[..], &["--last", "1", "--format", "json"]].concat(),
        )
        .await;
        run.assert_code(0);
        assert_eq!(run.json()["replayed"], 1, "only the last: change 2");
        assert_eq!(run.json().get("flips"), None, "{run}");

        // A proposal that does not load: its errors, exit 1.
        std::fs::write(&proposed, "version: 1\nmode: enforced\n").unwrap();
        let run = warrant(dir.path(), &url, &args).await;
        run.assert_code(1);
        assert!(run.stderr.contains("proposed.yml:2:7"), "{run}");
    })
    .await;
}

#[tokio::test]
async fn an_unreadable_repository_or_change_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("none.db").display());
    for args in [
        &["audit", "replay", "acme/app#1"][..],
        &["simulate", "--policy", "p.yml", "--repo", "acme/app"],
        &["simulate", "--repo", "github:acme/app"],
    ] {
        let run = warrant(dir.path(), &url, args).await;
        run.assert_code(2);
    }
    // A database that does not exist is not an empty history.
    let run = warrant(dir.path(), &url, &["audit", "replay", "github:acme/app#1"]).await;
    run.assert_code(2);
    assert!(run.stderr.contains("error"), "{run}");
}

/// `warrant ARGS` on the database at `url`, off the test's runtime.
async fn warrant(dir: &std::path::Path, url: &str, args: &[&str]) -> cli::Run {
    let dir = dir.to_owned();
    let url = url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = cli::warrant(&dir);
        cmd.env("WARRANT_DATABASE_URL", url).args(&args);
        cli::Run::from_output(cmd.output().expect("warrant runs"))
    })
    .await
    .unwrap()
}

async fn replay(dir: &std::path::Path, url: &str, args: &[&str]) -> cli::Run {
    warrant(dir, url, &[&["audit", "replay"][..], args].concat()).await
}

/// Replaces `from` by `to` in the stored decisions of change `number`.
async fn tamper(url: &str, number: i64, from: &str, to: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let done = sqlx::query(
        "UPDATE evaluations SET decision = replace(decision, $1, $2) WHERE number = $3",
    )
    .bind(from)
    .bind(to)
    .bind(number)
    .execute(&pool)
    .await
    .unwrap();
    assert!(done.rows_affected() >= 1);
    pool.close().await;
}
