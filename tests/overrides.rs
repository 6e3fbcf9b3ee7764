//! Overrides (break-glass), end to end through the real router on both
//! forges and both databases: a `/warrant override <reason>` comment (a
//! GitHub pull request comment, a GitLab merge request note) by an override
//! approver turns a blocked check into `success` titled "Overridden by
//! @login: reason", recorded (`override_used`) and alerted; every kind of
//! ineligible person changes nothing and is told why; a reason is required;
//! a new push voids it; rule 4 is never lifted; an organisation's floor is
//! lifted only by its own approvers; a comment that is not an override is
//! not stored and costs no request; the decision replays exactly.

mod support;

use serde_json::Value;
use support::alerts::queued;
use support::forge::{Forge, Harness, Outcome, on_each_forge};
use support::github::{self as gh, INSTALLATION, REPO};
use support::gitlab as gl;
use warrant::engine::{Account, ChangedFile, Person};
use warrant::forge::github::fake::events as gh_events;
use warrant::forge::gitlab::fake::FakeMergeRequest;
use warrant::forge::gitlab::fake::events::note_hook;
use warrant::ids::RepoPath;

const REASON: &str = "INC-42: payments outage hotfix";

/// GitLab users the tests add: a human no policy names, and one only the
/// organisation's overrides name.
const ZOE: u64 = 30;
const ERIN: u64 = 31;

/// Who comments, by the part they play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// An override approver with no part in the change.
    Approver,
    /// A human no override list names.
    Outsider,
    /// The organisation's override approver (only in the organisation
    /// test).
    OrgApprover,
    /// The registered agent's own account.
    Agent,
    /// A human who plays a part in the change ([`Kind`] sets it up).
    Named(&'static str, u64),
}

fn login(h: &Harness, who: Who) -> (&'static str, u64) {
    match (h.forge(), who) {
        (Forge::Github, Who::Approver) => ("dave", 9),
        (Forge::Gitlab, Who::Approver) => ("maria", gl::MARIA),
        (Forge::Github, Who::Outsider) => ("zoe", 30),
        (Forge::Gitlab, Who::Outsider) => ("zoe", ZOE),
        (Forge::Github, Who::OrgApprover) => ("erin", 31),
        (Forge::Gitlab, Who::OrgApprover) => ("erin", ERIN),
        (Forge::Github, Who::Agent) => ("copilot-swe-agent[bot]", 198982749),
        (Forge::Gitlab, Who::Agent) => ("project_42_bot_7f3a", gl::AGENT_BOT),
        (_, Who::Named(login, id)) => (login, id),
    }
}

/// The test policy with override approvers: the SRE group on each forge
/// (dave, alice and a bot on GitHub; maria, omar and a bot on GitLab).
fn policy(h: &Harness) -> String {
    format!("{}overrides:\n  approvers: [\"{}\"]\n", h.policy(), h.sre())
}

async fn start(forge: Forge, url: &str) -> Harness {
    let h = Harness::start_with(forge, url, |config| {
        config.alerts = support::alerts::raise("");
    })
    .await;
    if let Some(app) = h.gitlab() {
        app.fake.add_user(ZOE, "zoe", false);
        app.fake.add_user(ERIN, "erin", false);
    }
    h.put_policy(&policy(&h));
    h
}

/// `who` comments `body` on change `number`, as the `n`-th delivery in
/// all; answers the door's status. Waits for the worker when `wait`.
async fn comment(h: &Harness, number: u64, who: Who, body: &str, n: u64, wait: bool) -> u16 {
    let (name, id) = login(h, who);
    let key = Harness::delivery(n);
    let status = match h {
        Harness::Github(app) => {
            let pull = app.fake.state().pulls[&(REPO.to_owned(), number)].clone();
            let author = if name.ends_with("[bot]") {
                gh::bot(name, id)
            } else {
                gh::user(name, id)
            };
            let event = gh_events::issue_comment(&pull, INSTALLATION.0, &author, 5_000 + n, body);
            app.deliver("issue_comment", &key, &event).await.as_u16()
        }
        Harness::Gitlab(app) => {
            let mr = app.merge_request(number);
            let user = app.fake.state().user(id);
            let event = note_hook(&mr, &user, 5_000 + n, body);
            app.send("Note Hook", &event, &key).await
        }
    };
    if wait {
        assert_eq!(status, 202, "delivery {key} is queued");
        h.wait_for_deliveries(n).await;
    }
    status
}

/// What Warrant wrote on changes' conversations, oldest first.
fn answers(h: &Harness) -> Vec<String> {
    match h {
        Harness::Github(app) => app.fake.comments().into_iter().map(|c| c.body).collect(),
        Harness::Gitlab(app) => app.fake.notes().into_iter().map(|n| n.body).collect(),
    }
}

fn kinds(trail: &[warrant::audit::AuditEvent]) -> Vec<&str> {
    trail.iter().map(|e| e.event.kind.as_str()).collect()
}

#[tokio::test]
async fn an_approvers_override_turns_a_failure_into_success_recorded_and_alerted() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        assert_eq!(h.published().state, h.state(Outcome::Failed));
        let blocked = queued(&h.server().store).await;
        assert_eq!(blocked.len(), 1, "{blocked:#?}");

        let body = format!("/warrant override {REASON}\nThe fix cannot wait for review.");
        comment(&h, 1, Who::Approver, &body, 2, true).await;
        let (overrider, _) = login(&h, Who::Approver);
        let published = h.published();
        assert_eq!(published.state, h.state(Outcome::Passed));
        let title = format!("Overridden by @{overrider}: {REASON}");
        assert_eq!(published.title.as_deref(), Some(title.as_str()));
        if let Some(summary) = &published.summary {
            // Everything the decision found is still listed, and what
            // the override lifted.
            assert!(summary.contains("infra/main.tf"), "{summary}");
            assert!(summary.contains("lifted"), "{summary}");
        }

        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "success");
        assert_eq!(decision["would_conclude"], "failure");
        let used = &decision["overrides"][0];
        assert_eq!(used["by"], overrider);
        assert_eq!(used["reason"], REASON);
        assert_eq!(used["lifted"][0]["kind"], "violation");
        assert_eq!(used["lifted"][0]["id"], "out_of_scope");

        let trail = h.trail(1).await;
        let at = kinds(&trail).iter().position(|k| *k == "override_used");
        let event = &trail[at.expect("override_used is recorded")].event;
        assert_eq!(event.actor.as_deref(), Some(overrider));
        assert_eq!(event.head_sha.as_deref(), Some(h.head().as_str()));
        assert_eq!(event.detail["reason"], REASON);
        assert_eq!(event.detail["check_overridden"], true);
        assert_eq!(event.detail["comment_id"], 5_002);

        let alerts = queued(&h.server().store).await;
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
        assert_eq!(alerts[0]["type"], "dev.warrant.override.used");
        assert_eq!(alerts[0]["data"]["overrider"], overrider);
        assert_eq!(alerts[0]["data"]["reason"], REASON);
        assert_eq!(alerts[0]["data"]["lifted"][0]["id"], "out_of_scope");
        let name = format!("override_used_{}", forge.name());
        insta::assert_snapshot!(name, support::alerts::readable(&alerts[0]));
        assert_eq!(answers(&h), Vec::<String>::new(), "nothing to answer");

        // The change page shows who, when, why, at which head, and what
        // it lifted.
        let pages = support::server::TestServer::serve(
            support::server::test_state(&h.server().store).with_public_pages(true),
        )
        .await;
        let path = format!("/audit/{}/{}/changes/1", forge.name(), h.repo());
        let page = pages.get(&path).await.text().await.unwrap();
        let section = &page[page
            .find("<h2>Overrides</h2>")
            .expect("an overrides section")..];
        assert!(
            section.contains(&format!("<code>@{overrider}</code>")),
            "{section}"
        );
        assert!(section.contains(REASON), "{section}");
        assert!(
            section.contains(&format!("on head <code>{}</code>", &h.head()[..7])),
            "{section}"
        );
        assert!(section.contains("infra/main.tf"), "{section}");
        assert!(section.contains(">Lifted<"), "{section}");

        // Decided again at the same head: still overridden, not told again.
        h.edit(1, 3).await;
        assert_eq!(h.decision(1).await["conclusion"], "success");
        assert_eq!(queued(&h.server().store).await, Vec::<Value>::new());
        let used = kinds(&h.trail(1).await)
            .into_iter()
            .filter(|k| *k == "override_used")
            .count();
        assert_eq!(used, 1);
    })
    .await;
}

/// The kinds of people whose override never counts.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Agent,
    Author,
    Requester,
    Contributor,
    NotAnApprover,
}

/// Change `number`, out of scope, in which the commenter plays `kind`'s
/// part; answers who comments and the refusal the decision records.
fn change_for(h: &Harness, number: u64, kind: Kind) -> (Who, &'static str) {
    let paths = ["infra/main.tf"];
    match (h, kind) {
        (_, Kind::Agent) => {
            h.add_agent_change(number, &paths);
            (Who::Agent, "agent")
        }
        (_, Kind::NotAnApprover) => {
            h.add_agent_change(number, &paths);
            (Who::Outsider, "not_an_approver")
        }
        (Harness::Github(app), kind) => {
            // dave, an SRE, plays the part.
            let mut c = gh::change(number, 0, 2);
            c.files = vec![changed(paths[0])];
            c.reviews.clear();
            match kind {
                Kind::Author => c.author = Some(gh::user("dave", 9)),
                Kind::Requester => c.assignees.push(gh::user("dave", 9)),
                _ => {
                    c.commits[1].committer = Person {
                        name: "Dave".into(),
                        email: "dave@example.com".into(),
                        account: Some(gh::user("dave", 9)),
                    }
                }
            }
            app.add_pull(c);
            (Who::Named("dave", 9), refusal(kind))
        }
        (Harness::Gitlab(app), kind) => {
            // maria, an SRE, plays the part.
            let author = match kind {
                Kind::Author => gl::MARIA,
                _ => gl::AGENT_BOT,
            };
            let message = "Add infra\n\nCo-authored-by: Claude <noreply@anthropic.com>";
            app.add_merge_request(number, author, &paths, message);
            let mut state = app.fake.state();
            let mr: &mut FakeMergeRequest = state
                .merge_requests
                .get_mut(&(gl::PROJECT.to_owned(), number))
                .unwrap();
            match kind {
                Kind::Requester => mr.assignee_ids = vec![gl::MARIA],
                Kind::Contributor => {
                    mr.commits[0].author = Person {
                        name: "maria".into(),
                        email: "maria@example.com".into(),
                        account: None,
                    };
                    mr.commits[0].message = "Add infra".into();
                }
                _ => {}
            }
            (Who::Named("maria", gl::MARIA), refusal(kind))
        }
    }
}

fn refusal(kind: Kind) -> &'static str {
    match kind {
        Kind::Agent => "agent",
        Kind::Author => "change_author",
        Kind::Requester => "requester",
        Kind::Contributor => "contributor",
        Kind::NotAnApprover => "not_an_approver",
    }
}

fn changed(path: &str) -> ChangedFile {
    ChangedFile {
        path: RepoPath::parse(path).unwrap(),
        previous_path: None,
    }
}

#[tokio::test]
async fn an_override_by_each_kind_of_ineligible_person_changes_nothing_and_says_why() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        let mut n = 0;
        let kinds = [
            Kind::Agent,
            Kind::Author,
            Kind::Requester,
            Kind::Contributor,
            Kind::NotAnApprover,
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            let number = 10 + i as u64;
            let (who, refused) = change_for(&h, number, kind);
            n += 1;
            h.open(number, n).await;
            let before = h.decision(number).await;
            assert_eq!(before["conclusion"], "failure", "{kind:?}: {before:#}");
            let answered = answers(&h).len();

            n += 1;
            let body = format!("/warrant override {REASON}");
            comment(&h, number, who, &body, n, true).await;
            let after = h.decision(number).await;
            assert_eq!(after["conclusion"], "failure", "{kind:?}: {after:#}");
            assert_eq!(after["title"], before["title"], "{kind:?}");
            let used = &after["overrides"][0];
            assert_eq!(used["refused"], refused, "{kind:?}: {after:#}");
            assert!(used.get("lifted").is_none(), "{kind:?}: {after:#}");
            assert!(
                !kinds_of(&h, number)
                    .await
                    .contains(&"override_used".to_owned()),
                "{kind:?}"
            );
            // One answer, saying why.
            let new = answers(&h)[answered..].to_vec();
            assert_eq!(new.len(), 1, "{kind:?}: {new:#?}");
            assert!(new[0].contains("did not count"), "{kind:?}: {new:#?}");
            n += 1;
            h.close(number, n).await;
        }
        let alerts = queued(&h.server().store).await;
        assert!(
            alerts
                .iter()
                .all(|a| a["type"] != "dev.warrant.override.used"),
            "{alerts:#?}"
        );
    })
    .await;
}

async fn kinds_of(h: &Harness, number: u64) -> Vec<String> {
    let trail = h.trail(number).await;
    trail
        .iter()
        .map(|e| e.event.kind.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn an_override_without_a_reason_is_answered_with_how_to_write_it_and_changes_nothing() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let evaluations = h.evaluations(1).await.len();
        comment(&h, 1, Who::Approver, "/warrant override", 2, true).await;
        comment(&h, 1, Who::Approver, "/warrant override too short", 3, true).await;
        let said = answers(&h);
        assert_eq!(said.len(), 2, "{said:#?}");
        for answer in &said {
            assert!(
                answer.contains("/warrant override <reason of at least 10 characters>"),
                "{answer}"
            );
        }
        assert_eq!(h.evaluations(1).await.len(), evaluations, "not evaluated");
        assert_eq!(h.published().state, h.state(Outcome::Failed));
        let key = support::keys::key(h.forge().name(), h.repo(), 1);
        let head = warrant::ids::CommitSha::parse(&h.head()).unwrap();
        let stored = h.server().store.overrides_at(&key, &head).await.unwrap();
        assert!(stored.is_empty(), "{stored:#?}");
    })
    .await;
}

#[tokio::test]
async fn a_new_push_is_decided_afresh_without_the_override() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let body = format!("/warrant override {REASON}");
        comment(&h, 1, Who::Approver, &body, 2, true).await;
        assert_eq!(h.published().state, h.state(Outcome::Passed));

        h.push(1, 3).await;
        let published = h.published_on(&h.new_head());
        assert_eq!(published.state, h.state(Outcome::Failed));
        assert!(!published.title.unwrap().starts_with("Overridden"));
        let decision = h.decision(1).await;
        assert_eq!(decision["head_sha"], h.new_head());
        assert_eq!(decision["conclusion"], "failure");
        assert!(decision.get("overrides").is_none(), "{decision:#}");

        // The old override, given again after the push, is for the new
        // head and lifts it.
        comment(&h, 1, Who::Approver, &body, 4, true).await;
        let published = h.published_on(&h.new_head());
        assert_eq!(published.state, h.state(Outcome::Passed));
    })
    .await;
}

#[tokio::test]
async fn an_override_never_lifts_an_agents_change_to_the_policy_file() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        let policy_path = h.policy_path();
        h.add_agent_change(1, &[policy_path]);
        h.open(1, 1).await;
        assert_eq!(h.decision(1).await["conclusion"], "failure");

        let body = format!("/warrant override {REASON}");
        comment(&h, 1, Who::Approver, &body, 2, true).await;
        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "failure", "{decision:#}");
        let title = decision["title"].as_str().unwrap();
        assert!(title.contains("cannot lift"), "{title}");
        assert!(title.contains("policy file"), "{title}");
        assert_eq!(h.published().state, h.state(Outcome::Failed));
        let said = answers(&h);
        assert_eq!(said.len(), 1, "{said:#?}");
        assert!(said[0].contains("cannot lift"), "{said:#?}");
        let alerts = queued(&h.server().store).await;
        assert!(
            alerts
                .iter()
                .all(|a| a["type"] != "dev.warrant.override.used"),
            "{alerts:#?}"
        );
    })
    .await;
}

/// The organisation's floor: infrastructure needs an SRE's approval, and
/// only erin may override for the organisation.
fn org_policy(h: &Harness) -> String {
    format!(
        "version: 1\nsensitive:\n  - name: infrastructure\n    paths: [\"infra/**\"]\n    \
         approvers: [\"{}\"]\noverrides:\n  approvers: [erin]\n",
        h.sre()
    )
}

#[tokio::test]
async fn a_repository_override_cannot_lift_the_organisations_floor_and_the_organisations_can() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        let (repo_approver, _) = login(&h, Who::Approver);
        // The repository's override approvers: one person, not the group.
        h.put_policy(&format!(
            "{}overrides:\n  approvers: [{repo_approver}]\n",
            h.policy()
        ));
        match &h {
            Harness::Github(app) => {
                app.fake
                    .put_default_file("octo-org/.github", "warrant-org.yml", &org_policy(&h))
            }
            Harness::Gitlab(app) => app.fake.put_file(
                "platform/gitlab-profile",
                "HEAD",
                "warrant-org.yml",
                &org_policy(&h),
            ),
        }
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "failure", "{decision:#}");

        let body = format!("/warrant override {REASON}");
        comment(&h, 1, Who::Approver, &body, 2, true).await;
        let decision = h.decision(1).await;
        // The repository's part (out of scope) is lifted; the
        // organisation's requirement still waits.
        assert_eq!(decision["conclusion"], "action_required", "{decision:#}");
        let title = decision["title"].as_str().unwrap();
        assert!(title.contains("infrastructure"), "{title}");
        assert!(title.contains("cannot lift"), "{title}");
        let used = &decision["overrides"][0];
        assert_eq!(used["scope"], serde_json::json!(["repository"]));
        assert_eq!(used["lifted"][0]["id"], "out_of_scope");
        assert_eq!(h.published().state, h.state(Outcome::Waiting));

        comment(&h, 1, Who::OrgApprover, &body, 3, true).await;
        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "success", "{decision:#}");
        assert_eq!(decision["title"], format!("Overridden by @erin: {REASON}"));
        let erin = &decision["overrides"][1];
        assert_eq!(erin["scope"], serde_json::json!(["organisation"]));
        assert_eq!(erin["lifted"][0]["from"], "organisation");
        assert_eq!(h.published().state, h.state(Outcome::Passed));
        // Each override is recorded once, when it first lifted something.
        let trail = h.trail(1).await;
        let actors: Vec<_> = (trail.iter())
            .filter(|e| e.event.kind.as_str() == "override_used")
            .map(|e| e.event.actor.clone().unwrap_or_default())
            .collect();
        assert_eq!(actors, [repo_approver, "erin"]);
    })
    .await;
}

#[tokio::test]
async fn a_comment_that_is_not_an_override_is_not_stored_and_costs_no_request() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let requests = h.requests();
        for (i, body) in [
            "LGTM",
            "please /warrant override INC-1 now",
            "/warrant overrides x",
        ]
        .into_iter()
        .enumerate()
        {
            let status = comment(&h, 1, Who::Approver, body, 2 + i as u64, false).await;
            assert!((200..300).contains(&status), "{body}: {status}");
        }
        // A delivery that is stored comes after them, and is the only one
        // the worker ends: the comments never reached the queue.
        let status = comment(&h, 1, Who::Approver, "/warrant override", 5, false).await;
        assert_eq!(status, 202);
        h.wait_for_deliveries(2).await;
        let after = h.requests();
        let new: Vec<_> = after[requests.len()..]
            .iter()
            .filter(|r| !r.contains("/access_tokens"))
            .cloned()
            .collect();
        assert_eq!(new.len(), 1, "only the answer to the override: {new:#?}");
        assert!(new[0].starts_with("POST "), "{new:#?}");
        let receipts = kinds_of(&h, 1)
            .await
            .into_iter()
            .filter(|k| k == "delivery_received")
            .count();
        assert_eq!(receipts, 2, "the opening and the override");
    })
    .await;
}

#[tokio::test]
async fn an_overridden_decision_is_reproduced_exactly_from_its_recorded_facts() {
    on_each_forge(|forge, url| async move {
        let h = start(forge, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let body = format!("/warrant override {REASON}");
        comment(&h, 1, Who::Approver, &body, 2, true).await;
        assert_eq!(h.decision(1).await["conclusion"], "success");

        let store = &h.server().store;
        let key = support::keys::key(h.forge().name(), h.repo(), 1);
        let last = store.last_recorded(&key).await.unwrap().unwrap();
        let input = warrant::evaluation::record::Input::parse(&last.input).unwrap();
        let warrant::evaluation::record::Input::Facts(record) = input else {
            panic!("the facts are recorded");
        };
        let overrides = record
            .overrides
            .clone()
            .expect("the overrides are recorded");
        assert_eq!(overrides.len(), 1);
        assert_eq!(overrides[0].reason, REASON);
        let texts = store.recorded_texts(record.digests()).await.unwrap();
        let again = warrant::evaluation::replay::reproduce(&record, &texts, &last.decision)
            .await
            .unwrap();
        assert_eq!(again.difference, None);
        assert_eq!(
            again.replayed.title,
            format!("Overridden by @{}: {REASON}", login(&h, Who::Approver).0)
        );

        // Without the override the same facts fail: the override is what
        // the decision rests on.
        let mut without = (*record).clone();
        without.overrides = Some(Vec::new());
        let replayed = warrant::evaluation::replay::reproduce(&without, &texts, &last.decision)
            .await
            .unwrap();
        assert_eq!(replayed.replayed.conclusion.as_str(), "failure");
        assert!(replayed.difference.is_some());
        let _: Option<Account> = None;
    })
    .await;
}

/// A shared fixture of real webhook payloads (never copied here).
fn real(path: &str) -> Value {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = ["../shared/fixtures", "../../shared/fixtures"]
        .iter()
        .map(|d| root.join(d).join(path))
        .find(|f| f.is_file())
        .unwrap_or_else(|| panic!("the shared fixture {path}"));
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

#[test]
fn githubs_real_comment_payload_is_read_only_as_an_override_on_a_pull_request() {
    use warrant::forge::github::webhook::{GithubEvent, parse, worth_storing};
    let mut payload = real("octokit-webhooks/issue_comment/created.with-installation.payload.json");
    let bytes = |p: &Value| serde_json::to_vec(p).unwrap();
    // As GitHub sends it: a comment on an issue, not an override.
    assert_eq!(parse("issue_comment", &bytes(&payload)).unwrap(), None);
    assert_eq!(
        worth_storing("issue_comment", &bytes(&payload)).unwrap(),
        Some(false)
    );
    // An override, but on an issue: not Warrant's.
    payload["comment"]["body"] = Value::from(format!("/warrant override {REASON}"));
    assert_eq!(parse("issue_comment", &bytes(&payload)).unwrap(), None);
    // On a pull request's conversation.
    payload["issue"]["pull_request"] = serde_json::json!({ "url": "https://api.github.com/x" });
    assert_eq!(
        worth_storing("issue_comment", &bytes(&payload)).unwrap(),
        Some(true)
    );
    let Some(GithubEvent::Comment(event)) = parse("issue_comment", &bytes(&payload)).unwrap()
    else {
        panic!("an override comment");
    };
    assert_eq!(event.repo.as_str(), "Codertocat/Hello-World");
    assert_eq!(event.number, 1);
    assert_eq!(event.installation_id, Some(1));
    assert_eq!(event.comment.comment_id, 492700400);
    assert_eq!(event.comment.author.as_str(), "Codertocat");
    assert!(!event.comment.author_bot);
    assert_eq!(event.comment.reason, REASON);
    // An edit of a comment is not a new override.
    payload["action"] = Value::from("edited");
    assert_eq!(parse("issue_comment", &bytes(&payload)).unwrap(), None);
}

#[test]
fn gitlabs_real_note_payload_is_read_only_as_an_override_on_a_merge_request() {
    use warrant::forge::gitlab::webhook::{GitlabEvent, parse, worth_storing};
    let bytes = |p: &Value| serde_json::to_vec(p).unwrap();
    let mut payload = real("gitlab-webhooks/note.merge_request.json");
    assert_eq!(parse("Note Hook", &bytes(&payload)).unwrap(), None);
    assert_eq!(
        worth_storing("Note Hook", &bytes(&payload)).unwrap(),
        Some(false)
    );
    for other in ["note.issue.json", "note.commit.json", "note.snippet.json"] {
        let mut note = real(&format!("gitlab-webhooks/{other}"));
        note["object_attributes"]["note"] = Value::from(format!("/warrant override {REASON}"));
        assert_eq!(parse("Note Hook", &bytes(&note)).unwrap(), None, "{other}");
    }
    payload["object_attributes"]["note"] = Value::from(format!("/warrant override {REASON}\nmore"));
    assert_eq!(
        worth_storing("Note Hook", &bytes(&payload)).unwrap(),
        Some(true)
    );
    let Some(GitlabEvent::Note(note)) = parse("Note Hook", &bytes(&payload)).unwrap() else {
        panic!("an override note");
    };
    assert_eq!(note.project.as_str(), "gitlab-org/gitlab-test");
    assert_eq!(note.iid, 1);
    assert_eq!(
        note.head_sha.as_str(),
        "562e173be03b8ff2efb05345d12df18815438a4b"
    );
    assert_eq!(note.source_branch, "master");
    assert_eq!(note.comment.comment_id, 1244);
    assert_eq!(note.comment.author.as_str(), "root");
    assert_eq!(note.comment.reason, REASON);
    assert_eq!(
        note.comment.created_at.map(|t| t.to_rfc3339()),
        Some("2015-05-17T18:21:36+00:00".to_owned())
    );
}

#[tokio::test]
async fn on_gitlab_a_bot_in_the_approvers_group_never_overrides() {
    // A note names its author without saying it is a bot; GitLab's API
    // says so.
    support::store::on_each_backend(|url| async move {
        let h = start(Forge::Gitlab, &url).await;
        h.add_agent_change(1, &["infra/main.tf"]);
        h.open(1, 1).await;
        let body = format!("/warrant override {REASON}");
        let bot = Who::Named("review-bot", gl::REVIEW_BOT);
        comment(&h, 1, bot, &body, 2, true).await;
        let decision = h.decision(1).await;
        assert_eq!(decision["conclusion"], "failure", "{decision:#}");
        assert_eq!(decision["overrides"][0]["refused"], "agent", "{decision:#}");
    })
    .await;
}
