//! `codeowners` as approvers on GitHub, end to end: the CODEOWNERS file at
//! the base read in the pull request's own query, its team resolved like
//! the policy's, and the check waiting for the path's owner. Each test
//! runs on SQLite, and on PostgreSQL when `WARRANT_TEST_POSTGRES_URL` is
//! set.

mod support;

use serde_json::Value;
use support::app::{App, pull_request_event, review_event};
use support::forge::Published;
use support::github::{REPO, base, head, review, user};
use support::store::on_each_backend;
use warrant::engine::{Review, ReviewState};

/// Copilot may work in `src/`; authentication code needs its code owners.
const POLICY: &str = r#"version: 1
agents:
  copilot:
    role: feature-dev
    owner: alice
    match:
      builtin: copilot
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
sensitive:
  - name: authentication
    paths: ["src/auth/**"]
    approvers: [codeowners]
"#;

const CODEOWNERS: &str = "\
# Everything else: the maintainers.
*            @octo-org/maintainers
/src/auth/   @octo-org/security
";

/// Copilot's pull request `number` touching `paths`, under [`POLICY`] and
/// `codeowners` in `.github/CODEOWNERS` at the base.
fn setup(app: &App, number: u64, paths: &[&str], codeowners: &str) -> Value {
    app.add_copilot_pull(number, paths);
    app.put_policy(base().as_str(), POLICY);
    app.fake
        .put_file(REPO, base().as_str(), ".github/CODEOWNERS", codeowners);
    pull_request_event("opened", number, base().as_str(), head().as_str())
}

/// Adds `review` to pull request `number` and delivers its `submitted`
/// event as the `n`-th delivery.
async fn submit(app: &App, number: u64, review: Review, n: u64) {
    let id = review.id.unwrap();
    let login = review.reviewer.login.to_string();
    app.fake
        .state()
        .pulls
        .get_mut(&(REPO.to_owned(), number))
        .unwrap()
        .change
        .reviews
        .push(review);
    let event = review_event(
        number,
        base().as_str(),
        head().as_str(),
        (id, &login, "approved"),
    );
    app.deliver_and_wait("pull_request_review", &format!("r-{id}"), &event, n)
        .await;
}

fn summary(app: &App) -> String {
    app.the_check_run().summary.unwrap_or_default()
}

#[tokio::test]
async fn an_agent_change_to_owned_code_waits_for_its_code_owner_within_the_request_budget() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        app.fake.set_team("octo-org/security", &["sam"]);
        app.fake.set_team("octo-org/maintainers", &["mia"]);
        let opened = setup(&app, 1, &["src/auth/login.rs"], CODEOWNERS);
        app.deliver_and_wait("pull_request", "d-1", &opened, 1).await;

        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("action_required"), "{run:#?}");
        let text = summary(&app);
        assert!(
            text.contains(
                "- `src/auth/login.rs` — owned by `@octo-org/security` (CODEOWNERS line 3) — not approved yet"
            ),
            "{text}"
        );
        assert!(text.contains("code owners `.github/CODEOWNERS`"), "{text}");
        let published = Published::of_check_run(app.the_check_run());
        insta::assert_snapshot!("waiting_for_a_code_owner", published.snapshot());
        // The same requests as for any first evaluation: CODEOWNERS came
        // with the pull request, its team in the one team query.
        assert_eq!(
            app.api_requests(),
            [
                "POST /graphql WarrantPullRequest".to_owned(),
                "POST /graphql WarrantTeams".to_owned(),
                format!("POST /repos/{REPO}/check-runs"),
            ]
        );
        let asked = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.operation.as_deref() == Some("WarrantPullRequest"))
            .any(|r| r.body.contains(".github/CODEOWNERS"));
        assert!(asked, "CODEOWNERS is read in the pull request's query");

        // A maintainer owns other paths, not this one.
        app.fake.clear_requests();
        submit(&app, 1, review(21, user("mia", 21), ReviewState::Approved, head()), 2).await;
        assert_eq!(
            app.the_check_run().conclusion.as_deref(),
            Some("action_required")
        );
        let requests = app.api_requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[0], "POST /graphql WarrantPullRequest");
        assert!(requests[1].starts_with(&format!("PATCH /repos/{REPO}/check-runs/")));
        // Every team CODEOWNERS names is remembered and comes with the
        // query from now on, whatever a later change touches (the security
        // team is in the client's cache since the first evaluation).
        let resolved = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.operation.as_deref() == Some("WarrantPullRequest"))
            .all(|r| r.body.contains("maintainers"));
        assert!(resolved, "the other team is asked for in the query");

        submit(&app, 1, review(22, user("sam", 22), ReviewState::Approved, head()), 3).await;
        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
        let text = summary(&app);
        assert!(
            text.contains("(CODEOWNERS line 3) — approved by `@sam`"),
            "{text}"
        );
        let published = Published::of_check_run(app.the_check_run());
        insta::assert_snapshot!("approved_by_a_code_owner", published.snapshot());

        let stored = app.evaluations(1).await;
        let decision: Value =
            serde_json::from_str(stored.last().unwrap().decision.as_deref().unwrap()).unwrap();
        let owned = &decision["requirements"][0]["owned_paths"][0];
        assert_eq!(owned["path"], "src/auth/login.rs");
        assert_eq!(owned["owners"], serde_json::json!(["@octo-org/security"]));
        assert_eq!(owned["line"], 3);
        assert_eq!(owned["approved_by"], serde_json::json!(["sam"]));
        assert_eq!(decision["codeowners"]["path"], ".github/CODEOWNERS");
    })
    .await;
}

#[tokio::test]
async fn a_path_no_code_owner_owns_fails_the_check_naming_it() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let opened = setup(
            &app,
            2,
            &["src/auth/login.rs"],
            "/docs/ @octo-org/writers\n",
        );
        app.deliver_and_wait("pull_request", "d-2", &opened, 1)
            .await;
        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        assert!(
            run.title
                .as_deref()
                .unwrap_or_default()
                .contains("src/auth/login.rs"),
            "{run:#?}"
        );
        let published = Published::of_check_run(run);
        insta::assert_snapshot!("a_path_nobody_owns", published.snapshot());
    })
    .await;
}

#[tokio::test]
async fn an_invalid_codeowners_file_fails_closed_with_its_line() {
    on_each_backend(|url| async move {
        let app = App::start(&url).await;
        let opened = setup(
            &app,
            3,
            &["src/lib.rs"],
            "* @octo-org/maintainers\nsrc/ alice\n",
        );
        app.deliver_and_wait("pull_request", "d-3", &opened, 1)
            .await;
        let run = app.the_check_run();
        assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
        let title = run.title.clone().unwrap_or_default();
        assert!(
            title.starts_with("Invalid CODEOWNERS: .github/CODEOWNERS:2:6:"),
            "{title}"
        );
        let published = Published::of_check_run(run);
        insta::assert_snapshot!("invalid_codeowners", published.snapshot());
    })
    .await;
}
