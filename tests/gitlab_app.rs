//! Warrant on GitLab, end to end: webhooks shaped like GitLab's through the
//! real router and queue, the real worker against a fake GitLab over HTTP,
//! the `warrant` commit status and the stored decision checked. On SQLite
//! always, on PostgreSQL too when `WARRANT_TEST_POSTGRES_URL` is set. Only
//! what is GitLab's own is here (external status checks); what the app
//! does the same on GitHub is in `forges.rs`, written once for both forges.

mod support;

use support::gitlab::*;
use support::store::on_each_backend;
use warrant::forge::gitlab::fake::events::HookAction;

#[tokio::test]
async fn an_external_status_check_named_warrant_is_answered_after_each_decision() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.fake.add_status_check(PROJECT, 78, "compliance-scan");
        app.fake.add_status_check(PROJECT, 77, "warrant");
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;

        let answers: Vec<(u64, String, String)> = app
            .fake
            .check_responses()
            .into_iter()
            .map(|r| (r.check_id, r.sha, r.status))
            .collect();
        assert_eq!(
            answers,
            [
                (77, HEAD.to_owned(), "pending".to_owned()),
                (77, HEAD.to_owned(), "passed".to_owned()),
            ]
        );
        // Which check is Warrant's is asked once, of the project: a check
        // on every branch applies to every merge request.
        let asked: Vec<String> = app
            .fake
            .requests()
            .iter()
            .filter(|r| r.path.contains("status_checks"))
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(asked.len(), 1, "{asked:?}");
        assert!(asked[0].ends_with("/external_status_checks"), "{asked:?}");

        // GitLab notifies the check's URL of changes; Warrant acts on the
        // webhook instead and stores nothing from the notification.
        let notified = app
            .server
            .client
            .post(app.server.url("/webhooks/gitlab/status-check"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(notified.status().as_u16(), 200);
        assert_eq!(app.server.queue().await.queued, 0);
    })
    .await;
}

/// A check scoped to protected branches applies to the merge requests
/// into them only: the merge request's own list says which, once.
#[tokio::test]
async fn a_status_check_scoped_to_a_branch_is_answered_for_merge_requests_into_it() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.fake
            .add_scoped_status_check(PROJECT, 77, "warrant", &["main"]);
        app.put_policy(POLICY);
        app.add_merge_request(1, AGENT_BOT, &["src/payments/ledger.rs"], "Round amounts");
        app.add_merge_request(2, AGENT_BOT, &["src/payments/fees.rs"], "Round fees");
        app.fake
            .state()
            .merge_requests
            .get_mut(&(PROJECT.to_owned(), 2))
            .unwrap()
            .target_branch = "release/1.x".into();
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        app.hook_and_wait(2, AGENT_BOT, HookAction::Open, 2).await;
        app.hook_and_wait(1, AGENT_BOT, HookAction::Update, 3).await;

        let answered: Vec<(u64, u64)> = app
            .fake
            .check_responses()
            .iter()
            .map(|r| (r.iid, r.check_id))
            .collect();
        assert_eq!(answered, [(1, 77), (1, 77)]);
        let asked: Vec<String> = since(&app, 0)
            .into_iter()
            .filter(|r| r.contains("status_checks"))
            .collect();
        assert_eq!(
            asked,
            [
                "GET /external_status_checks",
                "GET /merge_requests/1/status_checks",
                "GET /merge_requests/2/status_checks",
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn below_ultimate_no_status_check_is_answered() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.add_merge_request(1, AGENT_BOT, &["infra/main.tf"], "Tweak infra");
        app.put_policy(POLICY);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        // The fake answers 403 to status checks, as GitLab below Ultimate.
        assert_eq!(app.last_status(HEAD).state, "failed");
        assert!(app.fake.check_responses().is_empty());
        assert_eq!(app.server.queue().await.failed, 0);
    })
    .await;
}

/// Gives merge request `iid` 100 files within the agent's scope and 100
/// commits, the last at `head`.
fn make_large(app: &GitlabApp, iid: u64, head: &str) {
    let mut state = app.fake.state();
    let mr = state
        .merge_requests
        .get_mut(&(PROJECT.to_owned(), iid))
        .unwrap();
    mr.head_sha = head.to_owned();
    mr.files = (0..100).map(|i| (format!("src/f{i}.rs"), None)).collect();
    mr.commits = (0..99)
        .map(|i| commit(&format!("{:040x}", 0x1000 + 100 * iid + i), "Work"))
        .chain([commit(head, "Round amounts")])
        .collect();
}

/// The requests made since the `before`-th, as `METHOD path` (a GraphQL
/// query's with its operation; the project and query string left out),
/// sorted: the read's requests go out together.
fn since(app: &GitlabApp, before: usize) -> Vec<String> {
    let project = format!("/projects/{}", PROJECT.replace('/', "%2F"));
    let mut requests: Vec<String> = app.fake.requests()[before..]
        .iter()
        .map(|r| {
            let path = r.path.strip_prefix("/api/v4").unwrap_or(&r.path);
            let path = path.split('?').next().unwrap_or(path);
            let path = path.replace(&project, "");
            match &r.operation {
                Some(op) => format!("{} {path} {op}", r.method),
                None => format!("{} {path}", r.method),
            }
        })
        .collect();
    requests.sort();
    requests
}

/// The requests of one evaluation of merge request `iid` that reads
/// nothing cached: its diffs and one query, then `statuses` writes of the
/// status on `head` (two when it is first shown running), sorted as
/// [`since`] gives them.
fn evaluation(iid: u64, head: &str, statuses: usize) -> Vec<String> {
    let mut requests = vec![
        format!("GET /merge_requests/{iid}/diffs"),
        "POST /api/graphql WarrantMergeRequest".to_owned(),
    ];
    requests.extend(std::iter::repeat_n(
        format!("POST /statuses/{head}"),
        statuses,
    ));
    requests.sort();
    requests
}

/// What evaluations of a merge request of 100 files and 100 commits cost,
/// counted from the fake's request log through the real router and
/// worker, as `docs/gitlab-api.md` tables them: 4 once Warrant knows the
/// merge request's base or the merge request is on the default branch's
/// tip, and more for what is cached per process, per merge request or
/// for 5 minutes.
#[tokio::test]
async fn an_evaluation_of_100_files_and_100_commits_spends_at_most_four_requests() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.put_policy(POLICY);
        // The merge request branches from the default branch's tip.
        app.fake.set_ref(PROJECT, "HEAD", BASE);
        let third = "4444444444444444444444444444444444444444";
        app.add_merge_request(1, AGENT_BOT, &[], "Round amounts");
        make_large(&app, 1, HEAD);
        app.hook_and_wait(1, AGENT_BOT, HookAction::Open, 1).await;
        assert_eq!(app.last_status(HEAD).state, "success");
        let mut first: Vec<String> = [
            // Once per process, and once per 5 minutes: Warrant's own
            // account, the group's policy, the policy's group.
            "GET /user",
            "GET /projects/platform%2Fgitlab-profile/repository/files/warrant-org.yml",
            "GET /groups/platform%2Fsre/members/all",
            // Once per project and 5 minutes: which status check is
            // Warrant's.
            "GET /external_status_checks",
        ]
        .iter()
        .map(|r| r.to_string())
        .chain(evaluation(1, HEAD, 2))
        .collect();
        first.sort();
        assert_eq!(since(&app, 0), first);

        // Approved: the same head, its base known from the last evaluation.
        let before = app.fake.requests().len();
        app.fake.approve(PROJECT, 1, MARIA);
        app.hook_and_wait(1, MARIA, HookAction::Approval, 2).await;
        assert_eq!(since(&app, before), evaluation(1, HEAD, 1));

        // New commits: the status shown running on the new head, then
        // decided.
        let before = app.fake.requests().len();
        make_large(&app, 1, third);
        let oldrev = HEAD.to_owned();
        app.hook_and_wait(1, AGENT_BOT, HookAction::NewCommits { oldrev }, 3)
            .await;
        let pushed = evaluation(1, third, 2);
        assert_eq!(since(&app, before), pushed);
        assert!(pushed.len() <= 4);
        assert_eq!(app.last_status(third).state, "success");

        // The default branch moves on: a merge request branched before
        // does not change the policy, so the policy read at its head is the
        // one at its base: still 4 requests.
        app.fake.set_ref(PROJECT, "HEAD", third);
        // Read there, this policy would fail the check: it does not load.
        let broken = "version: 1\nunknown_key: true\n";
        app.fake
            .put_file(PROJECT, third, ".gitlab/warrant.yml", broken);
        let before = app.fake.requests().len();
        app.add_merge_request(2, AGENT_BOT, &[], "Round amounts");
        make_large(&app, 2, NEW_HEAD);
        app.hook_and_wait(2, AGENT_BOT, HookAction::Open, 4).await;
        assert_eq!(since(&app, before), evaluation(2, NEW_HEAD, 2));
        let decided = app.last_status(NEW_HEAD);
        assert_eq!(
            decided.state, "success",
            "under the policy at its base: {decided:?}"
        );

        // A new merge request branched from the default branch's tip, its
        // first evaluation: 4 requests, nothing cached for it.
        let fourth = "5555555555555555555555555555555555555555";
        let tip = "6666666666666666666666666666666666666666";
        app.fake
            .put_file(PROJECT, tip, ".gitlab/warrant.yml", POLICY);
        app.fake.set_ref(PROJECT, "HEAD", tip);
        app.add_merge_request(3, AGENT_BOT, &[], "Round amounts");
        make_large(&app, 3, fourth);
        app.fake
            .state()
            .merge_requests
            .get_mut(&(PROJECT.to_owned(), 3))
            .unwrap()
            .base_sha = tip.to_owned();
        let before = app.fake.requests().len();
        app.hook_and_wait(3, AGENT_BOT, HookAction::Open, 5).await;
        assert_eq!(since(&app, before), evaluation(3, fourth, 2));
        assert_eq!(app.last_status(fourth).state, "success");
    })
    .await;
}

/// A merge request that changes the policy: the policy it proposes comes
/// with the merge request's own query, read at its head, and the policy
/// that judges it at its base; no file is asked for apart.
#[tokio::test]
async fn a_proposed_policy_is_read_with_the_merge_request() {
    on_each_backend(|url| async move {
        let app = GitlabApp::start(&url).await;
        app.put_policy(POLICY);
        app.fake.set_ref(PROJECT, "HEAD", BASE);
        let proposed = POLICY.replace("allow: [\"src/**\"]", "allow: [\"src/**\", \"infra/**\"]");
        assert_ne!(proposed, POLICY);
        app.add_merge_request(1, ALICE, &[".gitlab/warrant.yml"], "Widen the scope");
        app.fake
            .put_file(PROJECT, HEAD, ".gitlab/warrant.yml", &proposed);
        app.hook_and_wait(1, ALICE, HookAction::Open, 1).await;

        let decision = app.decision(1).await;
        let difference = &decision["proposed"][0]["differences"][0];
        assert_eq!(difference["effect"], "relaxed", "{decision:#}");
        let requests = since(&app, 0);
        let apart: Vec<&String> = requests
            .iter()
            .filter(|r| r.contains("/repository/files/.gitlab") || r.ends_with("WarrantBlobs"))
            .collect();
        assert!(apart.is_empty(), "{requests:#?}");
    })
    .await;
}
