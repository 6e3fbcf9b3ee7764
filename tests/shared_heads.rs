//! One `warrant` check per commit, on GitHub: pull requests that share a
//! head commit but go into different bases are each decided under their own
//! base's policy, and the check on the commit shows the strictest decision,
//! whatever the order of their events; a superseded or stale event never
//! lowers it. The same holds for GitLab's `warrant` commit status. Signed
//! webhooks through the real router, the worker against the fake forge, on
//! SQLite and PostgreSQL.

mod support;

use serde_json::Value;
use support::app::{App, POLICY, pull_request_event, review_event};
use support::forge::{Harness, Outcome, on_each_forge};
use support::github::{REPO, head, sha};
use support::gitlab::{AGENT_BOT, GitlabApp, HEAD, PROJECT};
use support::server::{TestServer, test_state};
use support::store::on_each_backend;
use warrant::engine::ChangedFile;
use warrant::forge::github::fake::CheckRun;
use warrant::ids::{CommitSha, RepoPath};

/// What the base of a second pull request holds.
#[derive(Clone, Copy, Debug)]
enum Base {
    /// No policy file: Warrant is not configured there (`neutral`).
    Unconfigured,
    /// The same policy in observe mode (`neutral`, "would block").
    Observing,
    /// A policy under which Copilot may touch anything (`success`).
    Lenient,
}

const LENIENT: &str = r#"version: 1
mode: enforce
agents:
  copilot:
    role: anything
    owner: alice
    match:
      builtin: copilot
roles:
  anything:
    scope:
      allow: ["**"]
"#;

fn base_of(number: u64) -> CommitSha {
    sha(0xba5e_0000 + number)
}

/// Pull request `number` by Copilot from the shared head into its own base,
/// touching `paths`, with no reviews.
fn add_pull(app: &App, number: u64, paths: &[&str]) {
    let mut c = support::github::change(number, 0, 2);
    c.base_sha = base_of(number);
    c.files = paths
        .iter()
        .map(|p| ChangedFile {
            path: RepoPath::parse(p).unwrap(),
            previous_path: None,
        })
        .collect();
    c.reviews.clear();
    app.add_pull(c);
}

fn opened(number: u64) -> Value {
    pull_request_event("opened", number, base_of(number).as_str(), head().as_str())
}

/// Pull request 1 into a base under [`POLICY`] touching `first`, and pull
/// request 2 from the same head into a base holding `second`.
fn two_pulls(app: &App, first: &[&str], second: Base) {
    add_pull(app, 1, first);
    app.put_policy(base_of(1).as_str(), POLICY);
    add_pull(app, 2, &["docs/guide.md"]);
    match second {
        Base::Unconfigured => {}
        Base::Observing => app.put_policy(
            base_of(2).as_str(),
            &POLICY.replace("mode: enforce", "mode: observe"),
        ),
        Base::Lenient => app.put_policy(base_of(2).as_str(), LENIENT),
    }
}

/// Pull request 1 (blocked) and pull request 2 (not configured) at the
/// shared head, both decided, in that order.
async fn both_decided(url: &str) -> App {
    let app = App::start(url).await;
    two_pulls(&app, &["docs/readme.md"], Base::Unconfigured);
    app.deliver_and_wait("pull_request", "d-1", &opened(1), 1)
        .await;
    app.deliver_and_wait("pull_request", "d-2", &opened(2), 2)
        .await;
    app
}

/// The check run on `sha`, completed.
fn run_on(app: &App, sha: &str) -> CheckRun {
    let runs: Vec<CheckRun> = app
        .check_runs()
        .into_iter()
        .filter(|r| r.head_sha == sha)
        .collect();
    assert_eq!(runs.len(), 1, "one run per commit: {runs:#?}");
    let run = runs.into_iter().next().unwrap();
    assert_eq!(run.status, "completed", "{run:#?}");
    run
}

/// The own conclusion of each pull request's latest evaluation.
async fn own(app: &App, number: u64) -> String {
    app.evaluations(number)
        .await
        .last()
        .expect("evaluated")
        .conclusion
        .clone()
}

/// Both orders of the two `opened` events, then the lower one's event
/// again: the check ends on the strictest decision each time. Each order
/// on fresh databases.
async fn in_every_order(
    first: &'static [&'static str],
    second: Base,
    strictest: &'static str,
    other: &'static str,
) {
    for order in [[1, 2], [2, 1]] {
        on_each_backend(|url| async move {
            let app = App::start(&url).await;
            two_pulls(&app, first, second);
            for (n, number) in order.iter().enumerate() {
                let delivery = format!("d-{number}");
                app.deliver_and_wait("pull_request", &delivery, &opened(*number), n as u64 + 1)
                    .await;
            }
            let run = run_on(&app, head().as_str());
            assert_eq!(
                run.conclusion.as_deref(),
                Some(strictest),
                "{order:?}: {run:#?}"
            );
            assert_eq!(own(&app, 1).await, strictest, "{order:?}");
            assert_eq!(own(&app, 2).await, other, "{order:?}");
            let title = run.title.clone().unwrap();
            assert!(title.starts_with("#1: "), "{order:?}: {title}");
            let summary = run.summary.clone().unwrap();
            assert!(
                summary.contains("head of 2 open pull requests"),
                "{summary}"
            );
            assert!(summary.contains(&format!("| `{strictest}` |")), "{summary}");
            assert!(summary.contains(&format!("| `{other}` |")), "{summary}");
            assert!(summary.contains("/changes/1)"), "{summary}");
            assert!(summary.contains("/changes/2)"), "{summary}");

            // The more lenient pull request's event again (an edit, a
            // redelivery): it does not lower the check.
            let again = pull_request_event("edited", 2, base_of(2).as_str(), head().as_str());
            app.deliver_and_wait("pull_request", "d-2-again", &again, 3)
                .await;
            let run = run_on(&app, head().as_str());
            assert_eq!(
                run.conclusion.as_deref(),
                Some(strictest),
                "{order:?}: {run:#?}"
            );
        })
        .await;
    }
}

/// Change 1 into a base under the forge's test policy touching a path out
/// of the agent's scope (blocked), and change 2 from the same head into a
/// base without a policy (not configured).
fn two_changes_sharing_a_head(h: &Harness) {
    match h {
        Harness::Github(app) => two_pulls(app, &["docs/readme.md"], Base::Unconfigured),
        Harness::Gitlab(app) => two_merge_requests(app),
    }
}

/// The own conclusion of change `number`'s latest evaluation.
async fn own_conclusion(h: &Harness, number: u64) -> String {
    let stored = h.evaluations(number).await;
    stored.last().expect("evaluated").conclusion.clone()
}

/// Both orders of the two changes' opening, then the lower one's event
/// again: the forge shows the strictest decision each time. Each order on
/// fresh databases.
#[tokio::test]
async fn blocked_and_not_configured_shows_blocked_in_every_order() {
    for order in [[1, 2], [2, 1]] {
        on_each_forge(|forge, url| async move {
            let h = Harness::start(forge, &url).await;
            two_changes_sharing_a_head(&h);
            for (n, number) in order.iter().enumerate() {
                h.open(*number, n as u64 + 1).await;
            }
            assert_eq!(own_conclusion(&h, 1).await, "failure", "{order:?}");
            assert_eq!(own_conclusion(&h, 2).await, "neutral", "{order:?}");
            let published = h.published();
            let failed = h.state(Outcome::Failed);
            assert_eq!(published.state, failed, "{order:?}: {published:#?}");
            let title = published.title.clone().unwrap();
            let first = format!("{}: ", h.change_ref(1));
            assert!(title.starts_with(&first), "{order:?}: {title}");
            match &h {
                Harness::Github(_) => {
                    let summary = published.summary.clone().unwrap();
                    assert!(
                        summary.contains("head of 2 open pull requests"),
                        "{summary}"
                    );
                    assert!(summary.contains("| `failure` |"), "{summary}");
                    assert!(summary.contains("| `neutral` |"), "{summary}");
                    assert!(summary.contains("/changes/1)"), "{summary}");
                    assert!(summary.contains("/changes/2)"), "{summary}");
                }
                Harness::Gitlab(app) => {
                    let status = app.last_status(HEAD);
                    assert_eq!(status.git_ref.as_deref(), Some("docs-guide"));
                }
            }
            // What the forge shows, in each order: the title and summary
            // are the same, but the link goes to the audit page of the
            // change published last, not always to the strictest one's.
            let [x, y] = order;
            let name = format!("{}_blocked_and_not_configured_{x}{y}", forge.name());
            insta::assert_snapshot!(name, published.snapshot());

            // The more lenient change's event again (an edit, a
            // redelivery): it does not lower what the forge shows.
            h.edit(2, 3).await;
            let published = h.published();
            assert_eq!(published.state, failed, "{order:?}: {published:#?}");
        })
        .await;
    }
}

#[tokio::test]
async fn blocked_and_observed_shows_blocked_in_every_order() {
    in_every_order(&["docs/readme.md"], Base::Observing, "failure", "neutral").await;
}

#[tokio::test]
async fn waiting_and_allowed_shows_waiting_in_every_order() {
    in_every_order(
        &["src/payments/ledger.rs"],
        Base::Lenient,
        "action_required",
        "success",
    )
    .await;
}

#[tokio::test]
async fn both_events_at_once_still_show_the_strictest() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        two_pulls(&app, &["docs/readme.md"], Base::Unconfigured);
        // Two worker tasks take the two deliveries together: the lease on
        // the commit makes the second publication see the first decision.
        let (first, second) = (opened(1), opened(2));
        let (a, b) = tokio::join!(
            app.deliver("pull_request", "d-1", &first),
            app.deliver("pull_request", "d-2", &second),
        );
        assert_eq!((a.as_u16(), b.as_u16()), (202, 202));
        app.wait_for_deliveries(2).await;
        let run = run_on(&app, head().as_str());
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        assert!(run.title.unwrap().starts_with("#1: "));
    })
    .await;
}

#[tokio::test]
async fn a_stale_event_naming_an_old_head_does_not_lower_the_check() {
    on_each_backend(|url| async move {
        let app = both_decided(&url).await;
        assert_eq!(
            run_on(&app, head().as_str()).conclusion.as_deref(),
            Some("failure")
        );

        // Pull request 2 moves on; an event about it that still names the
        // shared head arrives late.
        let newer = sha(0x2e3e);
        app.push_to(2, &newer);
        let stale = review_event(
            2,
            base_of(2).as_str(),
            head().as_str(),
            (77, "bob", "commented"),
        );
        app.deliver_and_wait("pull_request_review", "d-stale", &stale, 3)
            .await;

        let old = run_on(&app, head().as_str());
        assert_eq!(old.conclusion.as_deref(), Some("failure"), "{old:#?}");
        // It stands for pull request 1 alone now, as its own decision.
        assert!(!old.title.clone().unwrap().starts_with("#1: "), "{old:#?}");
        let new = run_on(&app, newer.as_str());
        assert_eq!(new.conclusion.as_deref(), Some("neutral"), "{new:#?}");
        assert_eq!(
            app.evaluations(2).await.last().unwrap().head_sha,
            newer.as_str()
        );
    })
    .await;
}

#[tokio::test]
async fn a_head_left_by_the_strict_change_shows_the_others_decision() {
    on_each_backend(|url| async move {
        let app = both_decided(&url).await;

        // Pull request 1 is pushed to: the shared head is now pull request
        // 2's alone, and its check says what pull request 2's decision is.
        let newer = sha(0x1e3e);
        app.push_to(1, &newer);
        let pushed = pull_request_event("synchronize", 1, base_of(1).as_str(), newer.as_str());
        app.deliver_and_wait("pull_request", "d-1-push", &pushed, 3)
            .await;

        assert_eq!(
            run_on(&app, newer.as_str()).conclusion.as_deref(),
            Some("failure")
        );
        let old = run_on(&app, head().as_str());
        assert_eq!(old.conclusion.as_deref(), Some("neutral"), "{old:#?}");
    })
    .await;
}

#[tokio::test]
async fn closing_the_strict_change_frees_the_other_at_once() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start(forge, &url).await;
        two_changes_sharing_a_head(&h);
        h.open(1, 1).await;
        h.open(2, 2).await;
        assert_eq!(h.published().state, h.state(Outcome::Failed));
        h.close(1, 3).await;
        let published = h.published();
        let freed = h.state(Outcome::NotConfigured);
        assert_eq!(published.state, freed, "{published:#?}");
        let title = published.title.unwrap();
        assert!(
            !title.starts_with(&format!("{}: ", h.change_ref(1))),
            "{title}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_change_page_says_what_the_check_on_its_head_shows() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        two_pulls(&app, &["docs/readme.md"], Base::Unconfigured);
        app.deliver_and_wait("pull_request", "d-2", &opened(2), 1)
            .await;
        app.deliver_and_wait("pull_request", "d-1", &opened(1), 2)
            .await;
        let run = run_on(&app, head().as_str());
        assert_eq!(run.conclusion.as_deref(), Some("failure"));

        let pages = TestServer::serve(test_state(&app.store).with_public_pages(true)).await;
        let page = pages
            .get(&format!("/audit/github/{REPO}/changes/2"))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("Not enforced"), "its own decision: {page}");
        assert!(
            page.contains("The <code>warrant</code> check on this head shows"),
            "{page}"
        );
        assert!(page.contains("Blocked"), "what the check shows: {page}");
        assert!(
            page.contains(&format!("/audit/github/{REPO}/changes/1")),
            "a link to the change it comes from: {page}"
        );
    })
    .await;
}

/// Merge request 1 into `main` under the project's policy touching a path
/// out of the agent's scope (blocked), and merge request 2 from the same
/// source branch, at the same head, into a branch without a policy.
fn two_merge_requests(app: &GitlabApp) {
    app.put_policy(support::gitlab::POLICY);
    app.add_merge_request(1, AGENT_BOT, &["docs/readme.md"], "Add a guide");
    app.add_merge_request(2, AGENT_BOT, &["docs/readme.md"], "Add a guide");
    let mut state = app.fake.state();
    for iid in [1, 2] {
        let mr = state
            .merge_requests
            .get_mut(&(PROJECT.to_owned(), iid))
            .unwrap();
        mr.source_branch = "docs-guide".to_owned();
        if iid == 2 {
            mr.base_sha = "4444444444444444444444444444444444444444".to_owned();
            mr.target_branch = "release".to_owned();
        }
    }
}
