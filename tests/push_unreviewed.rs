//! Agent commits pushed straight to the default branch are reported, and
//! merges never are, whatever order the forge's deliveries arrive in;
//! a policy relaxed by a push raises `policy.relaxed`, a merged relaxation
//! only once. Through the real router with signed webhooks, on both forges
//! and both databases.

mod support;

use serde_json::{Value, json};
use support::alerts::queued;
use support::forge::{Forge, Harness, on_each_forge, push_event};
use support::gitlab::{self as gl, MARIA, OMAR};
use warrant::audit::AuditEvent;
use warrant::forge::gitlab::fake::events::{HookAction, push_hook};

fn raising(config: &mut warrant::worker::WorkerConfig) {
    config.alerts = support::alerts::raise("");
}

fn sha(n: u64) -> String {
    format!("{n:040x}")
}

/// A commit as the forge's push lists it: GitHub names the linked
/// account (`username`) and the committer, GitLab the author alone.
fn commit(forge: Forge, sha: &str, who: (&str, &str, Option<&str>), message: &str) -> Value {
    let (name, email, username) = who;
    let repo = match forge {
        Forge::Github => support::github::REPO,
        Forge::Gitlab => gl::PROJECT,
    };
    let mut c = json!({
        "id": sha,
        "message": message,
        "url": format!("https://forge.example.com/{repo}/commit/{sha}"),
        "author": { "name": name, "email": email },
        "added": [], "modified": ["src/lib.rs"], "removed": [],
    });
    if forge == Forge::Github {
        c["author"]["username"] = json!(username);
        c["committer"] = c["author"].clone();
    }
    c
}

/// `pusher` pushes `commits` onto `branch` (from the base the tests' policy
/// is at, to the last commit), delivered as the `n`-th delivery; waits
/// for `ended` deliveries to end (more than `n` when attempts are retried).
/// A push to the default branch is queued (`202`), any other ignored.
async fn push(h: &Harness, pusher: &str, branch: &str, commits: Vec<Value>, n: u64, ended: u64) {
    let after = commits.last().unwrap()["id"].as_str().unwrap().to_owned();
    let key = format!("push-{n}");
    let status = match h {
        Harness::Github(app) => {
            let mut event = push_event(&h.base(), &after, &[]);
            event["ref"] = json!(format!("refs/heads/{branch}"));
            event["pusher"] = json!({ "name": pusher, "email": format!("{pusher}@example.com") });
            event["commits"] = Value::Array(commits);
            app.deliver("push", &key, &event).await.as_u16()
        }
        Harness::Gitlab(app) => {
            let mut user = app.fake.state().user(gl::ALICE);
            user.username = pusher.to_owned();
            let git_ref = format!("refs/heads/{branch}");
            let range = (gl::BASE, after.as_str());
            let mut payload = push_hook(gl::PROJECT, "main", &git_ref, range, &user, &[]);
            payload["total_commits_count"] = json!(commits.len());
            payload["commits"] = Value::Array(commits);
            app.send("Push Hook", &payload, &key).await
        }
    };
    let expected = if branch == "main" { 202 } else { 200 };
    assert_eq!(status, expected, "push {n} to {branch}");
    h.wait_for_deliveries(ended).await;
}

/// The repository's events of `kind`.
async fn events_of(h: &Harness, kind: &str) -> Vec<AuditEvent> {
    let chain = h.chain().await;
    chain
        .into_iter()
        .filter(|e| e.event.kind.as_str() == kind)
        .collect()
}

fn of_type<'a>(alerts: &'a [Value], kind: &str) -> Vec<&'a Value> {
    alerts.iter().filter(|a| a["type"] == kind).collect()
}

/// An agent's account pushing its commit on each forge: Copilot's bot on
/// GitHub, the registered project bot on GitLab.
fn agent(
    forge: Forge,
) -> (
    &'static str,
    (&'static str, &'static str, Option<&'static str>),
) {
    match forge {
        Forge::Github => (
            "copilot-swe-agent[bot]",
            (
                "Copilot",
                "198982749+Copilot@users.noreply.github.com",
                Some("copilot-swe-agent[bot]"),
            ),
        ),
        Forge::Gitlab => (
            "project_42_bot_7f3a",
            (
                "project_42_bot_7f3a",
                "project_42_bot_7f3a@noreply.gitlab.example.com",
                None,
            ),
        ),
    }
}

const HUMAN: (&str, &str, Option<&str>) = ("Alice", "alice@example.com", Some("alice"));
const CLAUDE_TRAILER: &str = "Round amounts\n\nCo-authored-by: Claude <noreply@anthropic.com>";

#[tokio::test]
async fn an_agent_accounts_direct_push_is_reported_with_its_commit_and_signals() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let (pusher, identity) = agent(forge);
        let pushed = sha(0xa1);
        let commits = vec![commit(forge, &pushed, identity, "Tidy up")];
        push(&h, pusher, "main", commits, 1, 1).await;

        let events = events_of(&h, "push_unreviewed").await;
        assert_eq!(events.len(), 1, "{events:#?}");
        let event = &events[0].event;
        assert_eq!(event.actor.as_deref(), Some(pusher));
        assert_eq!(event.head_sha.as_deref(), Some(pushed.as_str()));
        assert_eq!(event.base_sha.as_deref(), Some(h.base().as_str()));
        assert_eq!(event.detail["ref"], "refs/heads/main");
        let agent_id = match forge {
            Forge::Github => "copilot",
            Forge::Gitlab => "ledger-bot",
        };
        assert_eq!(event.detail["agents"], json!([agent_id]));

        let alerts = queued(&h.server().store).await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        let alert = &alerts[0];
        assert_eq!(alert["type"], "dev.warrant.push.unreviewed");
        assert_eq!(alert["subject"], format!("{}:{}", forge.name(), h.repo()));
        let data = &alert["data"];
        assert_eq!(data["repository"], h.repo());
        assert_eq!(
            data["push"],
            json!({ "ref": "refs/heads/main", "before": h.base(), "after": pushed, "pusher": pusher })
        );
        let listed = &data["commits"][0];
        assert_eq!(listed["sha"], pushed.as_str());
        assert_eq!(listed["agent"], agent_id);
        assert_eq!(listed["agents"][0]["registered"], true, "{listed:#}");
        assert_eq!(listed["registered"], true);
        assert_eq!(listed["signals"], listed["agents"][0]["signals"]);
        let signals = listed["agents"][0]["signals"].as_array().unwrap();
        assert!(
            signals.iter().any(|s| s["source"] == "pusher"),
            "the account that pushed: {signals:#?}"
        );
        assert_eq!(event.detail["commits"], data["commits"]);
        let name = format!("push_unreviewed_{}", forge.name());
        insta::assert_snapshot!(name, support::alerts::readable(alert));

        // Shown on the repositories page and the overview, linked to the
        // forge's commit.
        let store = h.server().store.clone();
        let state = support::server::test_state(&store).with_public_pages(true);
        let pages = support::server::TestServer::serve(state).await;
        let link = format!("https://forge.example.com/{}/commit/{pushed}", h.repo());
        let page = pages.get("/audit/repositories").await.text().await.unwrap();
        let shown = format!("<a href=\"{link}\"><code>{}</code></a> Tidy up", &pushed[..7]);
        assert!(page.contains(&shown), "{page}");
        assert!(page.contains(&format!("{agent_id} (registered)")), "{page}");
        assert!(page.contains(&format!("<td>{pusher}</td>")), "{page}");
        let overview = pages.get("/audit").await.text().await.unwrap();
        let told = "<a href=\"/audit/repositories#pushes\">1 push of agent commits without review</a>";
        assert!(overview.contains(told), "{overview}");
        assert!(overview.contains(&format!("the latest by {pusher} to {}", h.repo())));
    })
    .await;
}

#[tokio::test]
async fn a_humans_push_of_a_commit_with_an_agent_trailer_is_reported() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let plain = commit(forge, &sha(0xb1), HUMAN, "Fix a typo");
        let assisted = commit(forge, &sha(0xb2), HUMAN, CLAUDE_TRAILER);
        push(&h, "alice", "main", vec![plain, assisted], 1, 1).await;

        let alerts = queued(&h.server().store).await;
        let pushed = of_type(&alerts, "dev.warrant.push.unreviewed");
        assert_eq!(pushed.len(), 1, "{alerts:#?}");
        let commits = pushed[0]["data"]["commits"].as_array().unwrap();
        assert_eq!(
            commits.len(),
            1,
            "the plain commit is a human's: {commits:#?}"
        );
        assert_eq!(commits[0]["sha"], sha(0xb2));
        let (id, registered) = match forge {
            // The GitHub policy registers Copilot only; GitLab's, Claude.
            Forge::Github => ("catalog:claude-code", false),
            Forge::Gitlab => ("claude", true),
        };
        assert_eq!(commits[0]["agent"], id, "{commits:#?}");
        assert_eq!(commits[0]["agents"][0]["registered"], registered);
        let signal = &commits[0]["agents"][0]["signals"][0];
        assert_eq!(signal["kind"], "trailer", "{signal:#}");
        assert_eq!(events_of(&h, "push_unreviewed").await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_humans_push_and_an_agents_push_to_another_branch_are_not_reported() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let human = commit(forge, &sha(0xc1), HUMAN, "Fix a typo");
        push(&h, "alice", "main", vec![human], 1, 1).await;
        let (pusher, identity) = agent(forge);
        let agents = commit(forge, &sha(0xc2), identity, CLAUDE_TRAILER);
        push(&h, pusher, "feature", vec![agents], 2, 1).await;

        // The second is not even stored: nothing is queued for it.
        let received = events_of(&h, "delivery_received").await;
        assert_eq!(received.len(), 1, "only the push to main: {received:#?}");
        assert!(events_of(&h, "push_unreviewed").await.is_empty());
        assert_eq!(queued(&h.server().store).await, Vec::<Value>::new());

        let store = h.server().store.clone();
        let state = support::server::test_state(&store).with_public_pages(true);
        let pages = support::server::TestServer::serve(state).await;
        let page = pages.get("/audit/repositories").await.text().await.unwrap();
        assert!(
            page.contains("No agent commit was pushed without review."),
            "{page}"
        );
        let overview = pages.get("/audit").await.text().await.unwrap();
        let none = "No agent commit was pushed without review in these weeks.";
        assert!(overview.contains(none), "{overview}");
    })
    .await;
}

/// Change `number` merged on the forge, `landed` the commit its merge put
/// on the base branch (`squash`: a squash commit rather than a merge
/// commit), and its merge delivery sent as the `n`-th.
async fn merge(h: &Harness, number: u64, landed: &str, squash: bool, n: u64) {
    match h {
        Harness::Github(app) => {
            app.fake
                .merge_pull(support::github::REPO, number, &[landed]);
            let parents = match squash {
                true => vec![h.base()],
                false => vec![h.base(), h.head()],
            };
            let message = format!("Merge (#{number})");
            let key = (support::github::REPO.to_owned(), landed.to_owned());
            app.fake.state().commits.insert(key, (parents, message));
            let head = h.head();
            let mut merged =
                support::app::pull_request_event("closed", number, &h.base(), head.as_str());
            merged["pull_request"]["merged"] = Value::Bool(true);
            merged["pull_request"]["merge_commit_sha"] = Value::from(landed);
            merged["pull_request"]["merged_by"] =
                json!({ "login": "carol", "id": 7, "type": "User" });
            let key = format!("merge-{n}");
            app.deliver_and_wait("pull_request", &key, &merged, n).await;
        }
        Harness::Gitlab(app) => {
            let (merge_commit, squash_commit) = match squash {
                true => (None, Some(landed)),
                false => (Some(landed), None),
            };
            app.fake
                .merge(gl::PROJECT, number, merge_commit, squash_commit);
            let merged = HookAction::Merge {
                merge_commit_sha: landed.to_owned(),
            };
            app.hook_and_wait(number, MARIA, merged, n).await;
        }
    }
}

/// An agent's change `number` whose commit (the shared head) carries
/// agent signals: Copilot's pull request on GitHub, omar's merge request
/// of a commit Claude co-wrote on GitLab.
fn add_agent_change(h: &Harness, number: u64) {
    match h {
        Harness::Github(app) => {
            let mut c = support::github::change(number, 1, 0);
            let mut first = support::github::change(number, 0, 1).commits.remove(0);
            first.sha = warrant::ids::CommitSha::parse(&h.head()).unwrap();
            c.commits = vec![first];
            c.reviews.clear();
            app.add_pull(c);
        }
        Harness::Gitlab(app) => {
            app.add_merge_request(number, OMAR, &["src/lib.rs"], CLAUDE_TRAILER)
        }
    }
}

/// The push of change `number`'s merge: its own agent commit and the
/// merge commit by a human (a merge), or the squash commit alone, which
/// credits the agent.
fn merge_push(h: &Harness, landed: &str, squash: bool) -> Vec<Value> {
    let forge = h.forge();
    let (_, identity) = agent(forge);
    let own = match forge {
        Forge::Github => commit(forge, &h.head(), identity, "Step 0"),
        Forge::Gitlab => commit(forge, &h.head(), HUMAN, CLAUDE_TRAILER),
    };
    let carol = ("Carol", "carol@example.com", Some("carol"));
    match squash {
        true => vec![commit(forge, landed, carol, CLAUDE_TRAILER)],
        false => vec![own, commit(forge, landed, carol, "Merge the change")],
    }
}

#[tokio::test]
async fn a_merge_whose_push_arrives_first_is_not_reported() {
    merge_pushed_first(false).await;
}

#[tokio::test]
async fn a_squash_merge_whose_push_arrives_first_is_not_reported() {
    merge_pushed_first(true).await;
}

async fn merge_pushed_first(squash: bool) {
    on_each_forge(|forge, url| async move {
        {
            let h = Harness::start_with(forge, &url, raising).await;
            h.put_policy(h.policy());
            add_agent_change(&h, 5);
            let landed = sha(0xd1);
            // The forge records the merge, then sends the push first.
            match &h {
                Harness::Github(app) => {
                    app.fake
                        .merge_pull(support::github::REPO, 5, &[landed.as_str()])
                }
                Harness::Gitlab(app) => {
                    let (m, s) = if squash {
                        (None, Some(landed.as_str()))
                    } else {
                        (Some(landed.as_str()), None)
                    };
                    app.fake.merge(gl::PROJECT, 5, m, s)
                }
            }
            push(&h, "carol", "main", merge_push(&h, &landed, squash), 1, 1).await;
            merge(&h, 5, &landed, squash, 2).await;

            assert!(events_of(&h, "push_unreviewed").await.is_empty());
            let alerts = queued(&h.server().store).await;
            assert!(
                of_type(&alerts, "dev.warrant.push.unreviewed").is_empty(),
                "{alerts:#?}"
            );
            let agents_commit = if squash { landed.clone() } else { h.head() };
            let asked = h.requests();
            assert!(
                asked
                    .iter()
                    .any(|r| r.contains(&format!("/commits/{agents_commit}/"))),
                "the forge was asked about the agent's commit: {asked:#?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_merge_whose_push_arrives_after_it_is_not_reported_nor_asked_about() {
    merge_pushed_after(false).await;
}

#[tokio::test]
async fn a_squash_merge_whose_push_arrives_after_it_is_not_reported_nor_asked_about() {
    merge_pushed_after(true).await;
}

async fn merge_pushed_after(squash: bool) {
    on_each_forge(|forge, url| async move {
        {
            let h = Harness::start_with(forge, &url, raising).await;
            h.put_policy(h.policy());
            add_agent_change(&h, 6);
            let landed = sha(0xe1);
            merge(&h, 6, &landed, squash, 1).await;
            push(&h, "carol", "main", merge_push(&h, &landed, squash), 2, 2).await;

            assert!(events_of(&h, "push_unreviewed").await.is_empty());
            let alerts = queued(&h.server().store).await;
            assert!(
                of_type(&alerts, "dev.warrant.push.unreviewed").is_empty(),
                "{alerts:#?}"
            );
            let agents_commit = if squash { landed.clone() } else { h.head() };
            let asked = h.requests();
            assert!(
                !asked
                    .iter()
                    .any(|r| r.contains(&format!("/commits/{agents_commit}/"))),
                "the recorded merge answers for the agent's commit: {asked:#?}"
            );
        }
    })
    .await;
}

/// `proposed` put at commit `sha` as the forge's policy file.
fn put_policy_at(h: &Harness, sha: &str, proposed: &str) {
    match h {
        Harness::Github(app) => app.put_policy(sha, proposed),
        Harness::Gitlab(app) => {
            app.fake
                .put_file(gl::PROJECT, sha, ".gitlab/warrant.yml", proposed)
        }
    }
}

fn widened(policy: &str) -> String {
    policy.replace(r#"allow: ["src/**"]"#, r#"allow: ["src/**", "infra/**"]"#)
}

fn policy_commit(h: &Harness, sha: &str) -> Value {
    let mut c = commit(h.forge(), sha, HUMAN, "Widen the scope");
    c["modified"] = json!([h.policy_path()]);
    c
}

#[tokio::test]
async fn a_push_relaxing_the_policy_raises_policy_relaxed() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let after = sha(0xf1);
        let proposed = widened(h.policy());
        put_policy_at(&h, &after, &proposed);
        push(&h, "alice", "main", vec![policy_commit(&h, &after)], 1, 1).await;

        let relaxed = events_of(&h, "policy_relaxed").await;
        assert_eq!(relaxed.len(), 1, "{relaxed:#?}");
        let event = &relaxed[0].event;
        assert_eq!(event.change, None);
        assert_eq!(event.actor.as_deref(), Some("alice"));
        assert_eq!(event.paths, [h.policy_path()]);
        assert_eq!(event.detail["pushed"], true);
        let expected = json!(["roles.feature-dev.scope.allow: `infra/**` added"]);
        assert_eq!(event.detail["relaxations"], expected);
        assert_eq!(events_of(&h, "policy_changed").await.len(), 1);

        let alerts = queued(&h.server().store).await;
        let raised = of_type(&alerts, "dev.warrant.policy.relaxed");
        assert_eq!(raised.len(), 1, "{alerts:#?}");
        assert_eq!(
            raised[0]["subject"],
            format!("{}:{}", forge.name(), h.repo())
        );
        let data = &raised[0]["data"];
        assert_eq!(data["relaxations"], expected);
        assert_eq!(data["commit"], after.as_str());
        assert_eq!(data["push"]["pusher"], "alice");
        let name = format!("policy_relaxed_by_push_{}", forge.name());
        insta::assert_snapshot!(name, support::alerts::readable(raised[0]));
        assert_eq!(
            data["blob_before"],
            warrant::policy::blob_id(h.policy().as_bytes()).as_str()
        );
        assert_eq!(
            data["blob_after"],
            warrant::policy::blob_id(proposed.as_bytes()).as_str()
        );
        assert!(of_type(&alerts, "dev.warrant.push.unreviewed").is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_merged_relaxing_change_whose_push_comes_first_raises_policy_relaxed_once() {
    relaxing_merge(true).await;
}

#[tokio::test]
async fn a_merged_relaxing_change_whose_push_comes_after_raises_policy_relaxed_once() {
    relaxing_merge(false).await;
}

async fn relaxing_merge(push_first: bool) {
    on_each_forge(|forge, url| async move {
        {
            let h = Harness::start_with(forge, &url, raising).await;
            h.put_policy(h.policy());
            let proposed = widened(h.policy());
            h.add_policy_change(7, &proposed);
            h.open(7, 1).await;
            let landed = sha(0xf7);
            put_policy_at(&h, &landed, &proposed);
            let mut merge_commit = policy_commit(&h, &landed);
            merge_commit["message"] = json!("Merge the policy change");
            if push_first {
                match &h {
                    Harness::Github(app) => {
                        app.fake
                            .merge_pull(support::github::REPO, 7, &[landed.as_str()])
                    }
                    Harness::Gitlab(app) => app.fake.merge(gl::PROJECT, 7, Some(&landed), None),
                }
                push(&h, "carol", "main", vec![merge_commit], 2, 2).await;
                merge(&h, 7, &landed, false, 3).await;
            } else {
                merge(&h, 7, &landed, false, 2).await;
                push(&h, "carol", "main", vec![merge_commit], 3, 3).await;
            }

            let relaxed = events_of(&h, "policy_relaxed").await;
            assert_eq!(relaxed.len(), 1, "{relaxed:#?}");
            assert_eq!(relaxed[0].event.change, Some(7), "raised by the merge");
            let alerts = queued(&h.server().store).await;
            assert_eq!(
                of_type(&alerts, "dev.warrant.policy.relaxed").len(),
                1,
                "{alerts:#?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_forge_failure_on_the_merge_test_is_retried_not_dropped() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let pushed = sha(0xab);
        match &h {
            // More failures than one attempt's client retries.
            Harness::Github(app) => app.fake.fail_next(
                "GET",
                &format!("/repos/{}/commits/{pushed}/pulls", support::github::REPO),
                2,
                warrant::forge::github::fake::Fault::ServerError,
            ),
            Harness::Gitlab(app) => app.fake.fail_next(
                "GET",
                &format!(
                    "/api/v4/projects/{}/repository/commits/{pushed}/merge_requests",
                    gl::PROJECT.replace('/', "%2F")
                ),
                7,
                warrant::forge::gitlab::fake::Fault::BadGateway,
            ),
        }
        let (pusher, identity) = agent(forge);
        let commits = vec![commit(forge, &pushed, identity, "Tidy up")];
        // The first attempt fails; the second reports.
        push(&h, pusher, "main", commits, 1, 2).await;

        assert_eq!(events_of(&h, "push_unreviewed").await.len(), 1);
        let alerts = queued(&h.server().store).await;
        assert_eq!(
            of_type(&alerts, "dev.warrant.push.unreviewed").len(),
            1,
            "{alerts:#?}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_agent_the_organisation_policy_registers_is_reported_as_registered() {
    on_each_forge(|forge, url| async move {
        let h = Harness::start_with(forge, &url, raising).await;
        h.put_policy(h.policy());
        let org = r#"version: 1
agents:
  helper:
    role: feature-dev
    owner: alice
    match:
      trailers: ["Assisted-by: Helper*"]
roles:
  feature-dev:
    scope:
      allow: ["src/**"]
"#;
        let org_repo = match forge {
            Forge::Github => "octo-org/.github",
            Forge::Gitlab => "platform/gitlab-profile",
        };
        let kept = warrant::store::org_policies::OrgPolicyText {
            path: "warrant-org.yml".to_owned(),
            blob_id: warrant::policy::blob_id(org.as_bytes()),
            text: org.to_owned(),
            truncated: false,
        };
        let store = &h.server().store;
        let repo = warrant::ids::RepoName::parse(org_repo).unwrap();
        let now = chrono::Utc::now();
        (store
            .record_org_policy(forge.engine(), &repo, Some(&kept), now)
            .await)
            .unwrap();

        // No catalog entry knows this trailer: only the organisation's
        // registration makes the commit an agent's.
        let assisted = commit(forge, &sha(0x0a), HUMAN, "Tidy\n\nAssisted-by: Helper 2");
        push(&h, "alice", "main", vec![assisted], 1, 1).await;
        let alerts = queued(store).await;
        let pushed = of_type(&alerts, "dev.warrant.push.unreviewed");
        assert_eq!(pushed.len(), 1, "{alerts:#?}");
        let listed = &pushed[0]["data"]["commits"][0];
        assert_eq!(listed["agent"], "helper", "{listed:#}");
        assert_eq!(listed["agents"][0]["registered"], true);
    })
    .await;
}
