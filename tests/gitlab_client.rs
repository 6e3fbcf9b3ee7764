//! The GitLab client against the stateful fake GitLab, over real HTTP:
//! reading a merge request in full, accounts and bots, approvals, the
//! policy at the base, groups and maintainers, the commit status, and
//! retries. Requests are counted from the fake's log. The fake's webhook
//! builders are checked against the real router at the end.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use warrant::engine::{AccountKind, Commit, Person};
use warrant::forge::gitlab::client::{GitlabClient, GitlabError};
use warrant::forge::gitlab::fake::events::{
    GitlabWebhookSender, HookAction, merge_request_hook, push_hook,
};
use warrant::forge::gitlab::fake::{DEFAULT_TOKEN, FakeGitlab, FakeMergeRequest, Fault};
use warrant::forge::gitlab::statuses::{
    CommitStatus, MAX_DESCRIPTION_CHARS, STATUS_NAME, StatusState,
};
use warrant::forge::retry::RetryPolicy;
use warrant::ids::{CommitSha, TeamName};

const PROJECT: &str = "group/sub/project";
const ENCODED: &str = "group%2Fsub%2Fproject";
const POLICY: &str = "version: 1\nmode: enforce\n";

/// The waits the client asked for, instead of sleeping them.
#[derive(Clone, Default)]
struct Waits(Arc<Mutex<Vec<Duration>>>);

impl Waits {
    fn all(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

struct Gitlab {
    fake: FakeGitlab,
    client: GitlabClient,
    waits: Waits,
}

fn retry(waits: &Waits) -> RetryPolicy {
    let waits = waits.clone();
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        sleep: Arc::new(move |d| {
            waits.0.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..Default::default()
    }
}

async fn gitlab() -> Gitlab {
    let fake = FakeGitlab::start().await.unwrap();
    let waits = Waits::default();
    let client = GitlabClient::new(&fake.base_url(), DEFAULT_TOKEN)
        .unwrap()
        .with_retry(retry(&waits));
    fake.add_user(5, "alice", false);
    fake.add_user(6, "bob", false);
    Gitlab {
        fake,
        client,
        waits,
    }
}

fn sha(n: u64) -> String {
    format!("{n:040x}")
}

fn head() -> String {
    sha(0xeeee)
}

fn base() -> String {
    sha(0xbbbb)
}

fn commit(i: u64, message: &str) -> Commit {
    let person = Person {
        name: "Alice".into(),
        email: "alice@example.com".into(),
        account: None,
    };
    Commit {
        sha: CommitSha::parse(&sha(0x1000 + i)).unwrap(),
        author: person.clone(),
        committer: person,
        message: message.into(),
    }
}

fn merge_request(iid: u64, files: usize, commits: u64) -> FakeMergeRequest {
    FakeMergeRequest {
        project: PROJECT.into(),
        iid,
        title: "Add a thing".into(),
        description: "Does a thing.".into(),
        author_id: 5,
        assignee_ids: vec![6],
        head_sha: head(),
        base_sha: base(),
        source_branch: "feature".into(),
        target_branch: "main".into(),
        files: (0..files).map(|i| (format!("src/f{i}.rs"), None)).collect(),
        commits: (0..commits)
            .map(|i| commit(i, &format!("Change {i}")))
            .collect(),
        web_url: Some(format!(
            "https://gitlab.example.com/{PROJECT}/-/merge_requests/{iid}"
        )),
        ..Default::default()
    }
}

/// Requests as `METHOD path`, without `/api/v4`, a GraphQL query's
/// followed by its operation name.
fn requests(g: &Gitlab) -> Vec<String> {
    g.fake
        .requests()
        .iter()
        .map(|r| {
            let path = r.path.strip_prefix("/api/v4").unwrap_or(&r.path);
            match &r.operation {
                Some(op) => format!("{} {path} {op}", r.method),
                None => format!("{} {path}", r.method),
            }
        })
        .collect()
}

fn count(g: &Gitlab, part: &str) -> usize {
    requests(g).iter().filter(|r| r.contains(part)).count()
}

#[tokio::test]
async fn a_merge_request_of_250_files_and_120_commits_is_read_in_full() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(1, 250, 120));
    let snap = g.client.fetch_merge_request(PROJECT, 1).await.unwrap();
    assert_eq!(snap.change.files.len(), 250);
    assert_eq!(snap.change.commits.len(), 120);
    assert!(snap.files_complete && snap.commits_complete);
    let paths: Vec<_> = snap.change.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths[0], "src/f0.rs");
    assert_eq!(paths[249], "src/f249.rs");
    // Oldest first, as GitHub lists them.
    assert_eq!(snap.change.commits[0].message, "Change 0");
    assert_eq!(snap.change.commits[119].message, "Change 119");
    assert_eq!(count(&g, "/diffs?per_page=100&page="), 3);
    // The merge request with its first 100 commits, the next 20, and the
    // policy at the base, which the first query could not guess.
    assert_eq!(count(&g, "POST /api/graphql WarrantMergeRequest"), 1);
    assert_eq!(count(&g, "POST /api/graphql WarrantCommits"), 1);
    assert_eq!(count(&g, "POST /api/graphql WarrantBlobs"), 1);
    assert_eq!(requests(&g).len(), 6, "{:#?}", requests(&g));
    assert_eq!(g.client.stats().requests(), 6);
}

/// The measured budget of an evaluation, as `docs/gitlab-api.md` reports
/// it: the merge request with its commits, approvers, bot flags, policy and
/// CODEOWNERS in one GraphQL query, the diffs on REST, and the status
/// shown running then decided.
#[tokio::test]
async fn an_evaluation_of_a_100_file_100_commit_merge_request_spends_four_requests() {
    let g = gitlab().await;
    g.fake.add_user(7, "renovate", true);
    let mut mr = merge_request(20, 100, 100);
    mr.assignee_ids = vec![6, 7];
    g.fake.add_merge_request(mr);
    g.fake.approve(PROJECT, 20, 6);
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/CODEOWNERS", "* @bob\n");
    let at_base = CommitSha::parse(&base()).unwrap();
    let at_head = CommitSha::parse(&head()).unwrap();

    let snap = g
        .client
        .fetch_merge_request_at(PROJECT, 20, Some(&at_base), None)
        .await
        .unwrap();
    for state in [StatusState::Running, StatusState::Success] {
        g.client
            .set_commit_status(PROJECT, &at_head, &status(state, "Allowed"))
            .await
            .unwrap();
    }

    assert_eq!(snap.change.files.len(), 100);
    assert_eq!(snap.change.commits.len(), 100);
    assert!(snap.files_complete && snap.commits_complete);
    assert_eq!(snap.policy.unwrap().text, POLICY);
    assert_eq!(snap.codeowners.unwrap().unwrap().text, "* @bob\n");
    assert_eq!(snap.change.assignees[1].kind, AccountKind::Bot);
    assert_eq!(snap.approvals[0].user.login.as_str(), "bob");
    // The query and the diffs go out together, in either order.
    let mut sent = requests(&g);
    sent.sort();
    let mut expected = vec![
        format!("GET /projects/{ENCODED}/merge_requests/20/diffs?per_page=100&page=1"),
        "POST /api/graphql WarrantMergeRequest".to_owned(),
        format!("POST /projects/{ENCODED}/statuses/{}", head()),
        format!("POST /projects/{ENCODED}/statuses/{}", head()),
    ];
    expected.sort();
    assert_eq!(sent, expected);
    assert_eq!(requests(&g).len(), 4, "{:#?}", requests(&g));
}

/// The base is not known before the merge request is read: a read that
/// guesses it wrong (or cannot guess) reads the files at the real base in
/// one query more.
#[tokio::test]
async fn a_wrong_base_guess_costs_one_query_more_and_reads_at_the_real_base() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(21, 1, 1));
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
    g.fake
        .put_file(PROJECT, &head(), ".gitlab/warrant.yml", "mode: off\n");
    let at_head = CommitSha::parse(&head()).unwrap();
    let snap = g
        .client
        .fetch_merge_request_at(PROJECT, 21, Some(&at_head), None)
        .await
        .unwrap();
    assert_eq!(snap.policy.unwrap().text, POLICY);
    assert_eq!(count(&g, "WarrantMergeRequest"), 1);
    assert_eq!(count(&g, "WarrantBlobs"), 1);
    assert_eq!(requests(&g).len(), 3, "{:#?}", requests(&g));
}

#[tokio::test]
async fn the_change_reads_as_the_merge_request() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(2, 1, 1));
    let snap = g.client.fetch_merge_request(PROJECT, 2).await.unwrap();
    let c = &snap.change;
    assert_eq!(c.forge, warrant::engine::Forge::Gitlab);
    assert_eq!((c.repository.as_str(), c.number), (PROJECT, 2));
    assert_eq!(c.title, "Add a thing");
    assert_eq!(c.body, "Does a thing.");
    assert_eq!(c.head_sha.as_str(), head());
    assert_eq!(c.base_sha.as_str(), base());
    let author = c.author.as_ref().unwrap();
    assert_eq!((author.login.as_str(), author.id), ("alice", Some(5)));
    assert_eq!(author.kind, AccountKind::User);
    assert_eq!(c.assignees[0].login.as_str(), "bob");
    assert!(c.reviews.is_empty());
    assert_eq!(snap.state, "opened");
    assert_eq!(
        (snap.source_branch.as_str(), snap.target_branch.as_str()),
        ("feature", "main")
    );
    assert!(snap.web_url.unwrap().ends_with("/merge_requests/2"));
}

#[tokio::test]
async fn a_small_merge_request_reads_as_this_change() {
    let g = gitlab().await;
    let mut mr = merge_request(14, 2, 2);
    mr.files[1] = ("app/new.rs".into(), Some("infra/old.rs".into()));
    mr.commits[1].message = "Fix it\n\nAgent: claude-code\n".into();
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 14).await.unwrap();
    insta::assert_json_snapshot!(snap.change);
}

#[tokio::test]
async fn a_nested_project_path_is_sent_as_one_encoded_segment() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(3, 1, 1));
    g.client.fetch_merge_request(PROJECT, 3).await.unwrap();
    assert!(
        requests(&g).contains(&format!(
            "GET /projects/{ENCODED}/merge_requests/3/diffs?per_page=100&page=1"
        )),
        "{:#?}",
        requests(&g)
    );
    // GraphQL takes the full path as it is.
    let query = &g.fake.requests()[0].body;
    assert!(
        query.contains(&format!("\"project\":\"{PROJECT}\"")),
        "{query}"
    );
}

#[tokio::test]
async fn a_renamed_file_touches_both_paths_and_a_deleted_file_its_own() {
    let g = gitlab().await;
    let mut mr = merge_request(4, 0, 1);
    mr.files = vec![
        ("app/new.rs".into(), Some("infra/old.rs".into())),
        ("README.md".into(), None),
    ];
    mr.deleted = vec!["infra/gone.tf".into()];
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 4).await.unwrap();
    let files: Vec<_> = snap
        .change
        .files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.previous_path.as_ref().map(|p| p.as_str()),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("app/new.rs", Some("infra/old.rs")),
            ("README.md", None),
            ("infra/gone.tf", None),
        ]
    );
    let touched: Vec<_> = snap.change.touched_paths().map(|p| p.as_str()).collect();
    assert!(touched.contains(&"infra/old.rs"));
}

#[tokio::test]
async fn trailers_survive_in_commit_messages() {
    let g = gitlab().await;
    let mut mr = merge_request(5, 1, 0);
    mr.commits = vec![commit(
        1,
        "Add a thing\n\nBody.\n\nAgent: claude-code\nCo-authored-by: Bot <bot@example.com>\n",
    )];
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 5).await.unwrap();
    let c = &snap.change.commits[0];
    let trailers: Vec<_> = c.trailers().into_iter().map(|t| t.key).collect();
    assert!(
        trailers.iter().any(|k| k.eq_ignore_ascii_case("agent")),
        "{trailers:?}"
    );
    assert_eq!(c.author.email, "alice@example.com");
    assert_eq!(c.sha.as_str(), sha(0x1001));
}

#[tokio::test]
async fn a_bot_is_known_from_gitlabs_own_flag_in_the_same_query() {
    let g = gitlab().await;
    g.fake.add_user(7, "renovate", true);
    let mut mr = merge_request(6, 1, 1);
    mr.author_id = 7;
    mr.assignee_ids = vec![];
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 6).await.unwrap();
    let author = snap.change.author.unwrap();
    assert_eq!(
        (author.login.as_str(), author.kind),
        ("renovate", AccountKind::Bot)
    );
    assert!(author.is_bot());
    assert_eq!(count(&g, "/users/"), 0, "{:#?}", requests(&g));
}

#[tokio::test]
async fn a_reserved_bot_username_is_a_bot_without_asking() {
    let g = gitlab().await;
    // Not marked a bot in the fake: the name alone decides.
    g.fake.add_user(8, "project_42_bot_3f9a1c", false);
    let mut mr = merge_request(7, 1, 1);
    mr.author_id = 8;
    mr.assignee_ids = vec![];
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 7).await.unwrap();
    assert_eq!(snap.change.author.unwrap().kind, AccountKind::Bot);
    assert_eq!(count(&g, "GET /users/"), 0);
}

#[tokio::test]
async fn approvals_are_read_with_who_and_whether_a_bot() {
    let g = gitlab().await;
    g.fake.add_user(9, "group_3_bot_77aa", true);
    g.fake.add_merge_request(merge_request(8, 1, 1));
    g.fake.approve(PROJECT, 8, 6);
    g.fake.approve(PROJECT, 8, 9);
    g.fake.approve(PROJECT, 8, 5);
    g.fake.unapprove(PROJECT, 8, 5);
    let snap = g.client.fetch_merge_request(PROJECT, 8).await.unwrap();
    let approvals: Vec<_> = snap
        .approvals
        .iter()
        .map(|a| (a.user.login.as_str(), a.user.kind))
        .collect();
    assert_eq!(
        approvals,
        [
            ("bob", AccountKind::User),
            ("group_3_bot_77aa", AccountKind::Bot)
        ]
    );
    // GraphQL does not say when: the worker takes the time it saw the
    // approval given.
    assert!(snap.approvals.iter().all(|a| a.approved_at.is_none()));
}

/// Merge request `iid` read with no base known, and `head` as the head
/// the webhook named.
async fn read_without_base(
    g: &Gitlab,
    iid: u64,
    head: &CommitSha,
) -> warrant::forge::gitlab::merge_requests::MergeRequestSnapshot {
    g.client
        .fetch_merge_request_at(PROJECT, iid, None, Some(head))
        .await
        .unwrap()
}

/// Without the base, the files at the head the webhook named stand for
/// the base's when the merge request changes none of them: the same blob,
/// read in the merge request's own query. A merge request that changes
/// one of them (the policy here, or CODEOWNERS) has them read at its base.
#[tokio::test]
async fn files_the_merge_request_does_not_change_are_read_at_its_head_in_the_same_query() {
    let g = gitlab().await;
    let at_head = CommitSha::parse(&head()).unwrap();
    g.fake.add_merge_request(merge_request(22, 3, 2));
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
    g.fake
        .put_file(PROJECT, &base(), "CODEOWNERS", "* @alice\n");
    let snap = read_without_base(&g, 22, &at_head).await;
    let policy = snap.policy.unwrap();
    assert_eq!(policy.text, POLICY);
    assert_eq!(
        policy.blob_id,
        warrant::forge::gitlab::fake::git_blob_id(POLICY)
    );
    assert_eq!(snap.codeowners.unwrap().unwrap().text, "* @alice\n");
    assert_eq!(snap.change.base_sha.as_str(), base());
    assert_eq!(count(&g, "WarrantBlobs"), 0, "{:#?}", requests(&g));
    assert_eq!(requests(&g).len(), 2, "{:#?}", requests(&g));

    for (iid, touched) in [(23, ".gitlab/warrant.yml"), (24, ".gitlab/CODEOWNERS")] {
        let g = gitlab().await;
        let mut mr = merge_request(iid, 3, 2);
        mr.files.push((touched.to_owned(), None));
        g.fake.add_merge_request(mr);
        g.fake
            .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
        g.fake
            .put_file(PROJECT, &head(), ".gitlab/warrant.yml", "mode: off\n");
        let snap = read_without_base(&g, iid, &at_head).await;
        assert_eq!(snap.policy.unwrap().text, POLICY, "{touched}");
        assert_eq!(count(&g, "WarrantBlobs"), 1, "{touched}");
    }

    // A head the merge request has moved past is not used either.
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(25, 3, 2));
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
    let older = CommitSha::parse(&sha(0xdddd)).unwrap();
    g.fake.put_file(
        PROJECT,
        older.as_str(),
        ".gitlab/warrant.yml",
        "mode: off\n",
    );
    let snap = read_without_base(&g, 25, &older).await;
    assert_eq!(snap.policy.unwrap().text, POLICY);
    assert_eq!(count(&g, "WarrantBlobs"), 1);
}

#[tokio::test]
async fn the_policy_under_gitlab_is_preferred_to_the_one_at_the_root() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(9, 1, 1));
    g.fake
        .put_file(PROJECT, &base(), ".gitlab/warrant.yml", POLICY);
    g.fake
        .put_file(PROJECT, &base(), ".warrant.yml", "version: 1\n");
    let snap = g.client.fetch_merge_request(PROJECT, 9).await.unwrap();
    let policy = snap.policy.unwrap();
    assert_eq!(policy.path.as_str(), ".gitlab/warrant.yml");
    assert_eq!(policy.text, POLICY);
    assert_eq!(
        policy.blob_id,
        warrant::forge::gitlab::fake::git_blob_id(POLICY)
    );
    assert!(!policy.truncated);
    // Both candidates in one query, none on REST.
    assert_eq!(count(&g, "WarrantBlobs"), 1);
    assert_eq!(count(&g, "/repository/files/"), 0);
}

#[tokio::test]
async fn the_policy_at_the_root_is_read_when_there_is_none_under_gitlab() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(10, 1, 1));
    g.fake.put_file(PROJECT, &base(), ".warrant.yml", POLICY);
    let snap = g.client.fetch_merge_request(PROJECT, 10).await.unwrap();
    assert_eq!(snap.policy.unwrap().path.as_str(), ".warrant.yml");
}

#[tokio::test]
async fn the_policy_is_read_at_the_base_not_the_head() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(11, 1, 1));
    g.fake
        .put_file(PROJECT, &head(), ".gitlab/warrant.yml", "mode: off\n");
    let snap = g.client.fetch_merge_request(PROJECT, 11).await.unwrap();
    assert!(snap.policy.is_none());
    let at_head = CommitSha::parse(&head()).unwrap();
    let policy = g.client.policy_at(PROJECT, &at_head).await.unwrap();
    assert_eq!(policy.unwrap().text, "mode: off\n");
}

#[tokio::test]
async fn a_merge_request_that_does_not_exist_is_not_found() {
    let g = gitlab().await;
    let err = g
        .client
        .fetch_merge_request(PROJECT, 404)
        .await
        .unwrap_err();
    assert!(matches!(err, GitlabError::NotFound(_)), "{err}");
}

#[tokio::test]
async fn a_list_cut_by_gitlabs_diff_limits_is_marked_incomplete() {
    let g = gitlab().await;
    let mut mr = merge_request(12, 3, 1);
    mr.changes_count = Some("1000+".into());
    g.fake.add_merge_request(mr);
    let snap = g.client.fetch_merge_request(PROJECT, 12).await.unwrap();
    assert!(!snap.files_complete);
    assert!(snap.commits_complete);
}

#[tokio::test]
async fn group_members_are_paged_and_cached() {
    let g = gitlab().await;
    let names: Vec<String> = (0..150).map(|i| format!("member{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    g.fake.set_group("group/sub", &refs);
    let team = TeamName::parse("group/sub").unwrap();
    let missing = TeamName::parse("group/nobody").unwrap();
    let members = g.client.group_members(&[&team, &missing]).await.unwrap();
    assert_eq!(members["group/sub"].len(), 150);
    assert!(members["group/nobody"].is_empty());
    assert_eq!(count(&g, "/groups/group%2Fsub/members/all?per_page=100"), 2);
    g.fake.clear_requests();
    let again = g.client.group_members(&[&team, &missing]).await.unwrap();
    assert_eq!(again, members);
    assert!(requests(&g).is_empty(), "{:#?}", requests(&g));
}

#[tokio::test]
async fn an_expired_group_is_fetched_again() {
    let g = gitlab().await;
    let client = GitlabClient::new(&g.fake.base_url(), DEFAULT_TOKEN)
        .unwrap()
        .with_group_cache(Duration::ZERO);
    g.fake.set_group("group/sub", &["alice"]);
    let team = TeamName::parse("group/sub").unwrap();
    client.group_members(&[&team]).await.unwrap();
    g.fake.set_group("group/sub", &["alice", "bob"]);
    let members = client.group_members(&[&team]).await.unwrap();
    assert_eq!(members["group/sub"].len(), 2);
}

#[tokio::test]
async fn project_maintainers_are_members_at_maintainer_or_owner() {
    let g = gitlab().await;
    g.fake
        .set_project_members(PROJECT, &[("alice", 50), ("bob", 40), ("carol", 30)]);
    let maintainers = g.client.project_maintainers(PROJECT).await.unwrap();
    let names: Vec<_> = maintainers.iter().map(|l| l.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    g.client.project_maintainers(PROJECT).await.unwrap();
    assert_eq!(count(&g, "/members/all"), 1);
}

#[tokio::test]
async fn the_current_user_is_the_tokens_account() {
    let g = gitlab().await;
    assert_eq!(g.client.current_user().await.unwrap().as_str(), "warrant");
}

fn status(state: StatusState, description: &str) -> CommitStatus {
    CommitStatus {
        state,
        description: description.into(),
        target_url: Some("https://warrant.example.com/decisions/1".into()),
        git_ref: Some("feature".into()),
    }
}

#[tokio::test]
async fn a_commit_status_is_written_with_its_link_and_ref() {
    let g = gitlab().await;
    let at = CommitSha::parse(&head()).unwrap();
    g.client
        .set_commit_status(
            PROJECT,
            &at,
            &status(StatusState::Success, "All rules pass"),
        )
        .await
        .unwrap();
    let written = g.fake.statuses();
    assert_eq!(written.len(), 1);
    let s = &written[0];
    assert_eq!(
        (s.project.as_str(), s.sha.as_str()),
        (PROJECT, head().as_str())
    );
    assert_eq!(
        (s.name.as_str(), s.state.as_str()),
        (STATUS_NAME, "success")
    );
    assert_eq!(s.description.as_deref(), Some("All rules pass"));
    assert_eq!(
        s.target_url.as_deref(),
        Some("https://warrant.example.com/decisions/1")
    );
    assert_eq!(s.git_ref.as_deref(), Some("feature"));
    assert!(requests(&g).contains(&format!("POST /projects/{ENCODED}/statuses/{}", head())));
}

#[tokio::test]
async fn a_long_description_is_cut_to_gitlabs_limit() {
    let g = gitlab().await;
    let at = CommitSha::parse(&head()).unwrap();
    let long = "ü".repeat(400);
    g.client
        .set_commit_status(PROJECT, &at, &status(StatusState::Failed, &long))
        .await
        .unwrap();
    let description = g.fake.statuses()[0].description.clone().unwrap();
    assert_eq!(description.chars().count(), MAX_DESCRIPTION_CHARS);
    assert!(description.ends_with('…'));
}

#[tokio::test]
async fn posting_the_same_running_state_again_is_a_success() {
    let g = gitlab().await;
    let at = CommitSha::parse(&head()).unwrap();
    let running = status(StatusState::Running, "Evaluating");
    g.client
        .set_commit_status(PROJECT, &at, &running)
        .await
        .unwrap();
    g.client
        .set_commit_status(PROJECT, &at, &running)
        .await
        .unwrap();
    g.client
        .set_commit_status(PROJECT, &at, &status(StatusState::Success, "Pass"))
        .await
        .unwrap();
    g.client
        .set_commit_status(PROJECT, &at, &status(StatusState::Success, "Pass"))
        .await
        .unwrap();
    let states: Vec<_> = g
        .fake
        .statuses()
        .iter()
        .map(|s| (s.id, s.state.clone()))
        .collect();
    // The refused repeat wrote nothing; running moved on to success in the
    // same status; a success after a success is a new one.
    assert_eq!(states.len(), 3);
    assert_eq!(states[0].0, states[1].0);
    assert_ne!(states[1].0, states[2].0);
    assert_eq!(count(&g, "POST "), 4);
}

#[tokio::test]
async fn server_errors_are_retried_until_an_answer() {
    let g = gitlab().await;
    g.fake.fail_next("GET", "/user", 1, Fault::ServerError);
    g.fake.fail_next("GET", "/user", 1, Fault::BadGateway);
    assert_eq!(g.client.current_user().await.unwrap().as_str(), "warrant");
    assert_eq!(g.client.stats().requests(), 3);
    assert_eq!(g.client.stats().retries(), 2);
    assert_eq!(g.waits.all().len(), 2);
}

#[tokio::test]
async fn a_429_waits_as_long_as_retry_after_says() {
    let g = gitlab().await;
    g.fake.add_merge_request(merge_request(13, 1, 1));
    let prefix = format!("/projects/{ENCODED}/merge_requests/13/diffs");
    g.fake
        .fail_next("GET", &prefix, 1, Fault::TooManyRequests { retry_after: 3 });
    g.client.fetch_merge_request(PROJECT, 13).await.unwrap();
    assert_eq!(g.waits.all(), [Duration::from_secs(3)]);
}

#[tokio::test]
async fn an_exhausted_rate_limit_waits_until_its_reset() {
    let g = gitlab().await;
    let reset = chrono::Utc::now().timestamp() as u64 + 20;
    g.fake
        .fail_next("GET", "/user", 1, Fault::RateLimited { reset_epoch: reset });
    g.client.current_user().await.unwrap();
    let waits = g.waits.all();
    assert_eq!(waits.len(), 1);
    assert!(
        (Duration::from_secs(19)..=Duration::from_secs(22)).contains(&waits[0]),
        "{waits:?}"
    );
    assert_eq!(g.client.stats().rate_limit_remaining(), Some(1998));
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_401_and_never_shown() {
    let g = gitlab().await;
    g.fake.set_token("glpat-another");
    let err = g.client.current_user().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("401 Unauthorized"), "{err}");
    assert!(!err.to_string().contains(DEFAULT_TOKEN));
    assert!(!format!("{:?}", g.client).contains(DEFAULT_TOKEN));
    // A refusal is final: no retries.
    assert_eq!(g.client.stats().requests(), 1);
}

#[tokio::test]
async fn built_webhooks_are_accepted_and_queued_by_the_real_router() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("warrant.db").display());
    let store = warrant::store::Store::connect(&url).await.unwrap();
    let secrets = warrant::config::WebhookSecrets::parse_list("hook-secret");
    let state = support::server::test_state(&store).with_gitlab_secrets(secrets);
    let server = support::server::TestServer::serve(state).await;
    let sender = GitlabWebhookSender {
        url: server.url("/webhooks/gitlab"),
        secret: "hook-secret".into(),
    };
    let mr = merge_request(1, 1, 1);
    let alice = warrant::forge::gitlab::fake::FakeUser {
        id: 5,
        username: "alice".into(),
        bot: false,
    };
    let open = merge_request_hook(&mr, &alice, &HookAction::Open);
    let sent = sender.send("Merge Request Hook", &open, Some("k-1")).await;
    assert_eq!(sent.unwrap().status(), reqwest::StatusCode::ACCEPTED);
    let approval = merge_request_hook(&mr, &alice, &HookAction::Approval);
    let sent = sender.send("Merge Request Hook", &approval, None).await;
    assert_eq!(sent.unwrap().status(), reqwest::StatusCode::ACCEPTED);
    let before_after = (sha(1), sha(2));
    let push = push_hook(
        PROJECT,
        "main",
        "refs/heads/main",
        (&before_after.0, &before_after.1),
        &alice,
        &[".gitlab/warrant.yml"],
    );
    let sent = sender.send("Push Hook", &push, None).await;
    assert_eq!(sent.unwrap().status(), reqwest::StatusCode::ACCEPTED);
    assert_eq!(server.queue().await.queued, 3);
    let wrong = GitlabWebhookSender {
        secret: "other".into(),
        ..sender
    };
    let sent = wrong.send("Merge Request Hook", &open, Some("k-2")).await;
    assert_eq!(sent.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_reported_after_five_attempts() {
    let g = gitlab().await;
    g.fake
        .fail_next("GET", "/api/v4/user", 10, Fault::ServerError);
    let err = g.client.current_user().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(g.client.stats().requests(), 5);
    assert_eq!(g.waits.all().len(), 4);
}

/// Which external status check is Warrant's is asked of the project once
/// (5 minutes): a project without the feature (403) or without a check
/// named `warrant` costs nothing more per merge request.
#[tokio::test]
async fn a_projects_status_checks_are_asked_once_for_all_its_merge_requests() {
    let g = gitlab().await;
    for iid in [1, 2, 3] {
        assert_eq!(
            g.client.warrant_status_check(PROJECT, iid).await.unwrap(),
            None
        );
    }
    let other = "group/other";
    g.fake.add_status_check(other, 78, "compliance-scan");
    g.fake.add_status_check(other, 77, "Warrant");
    for iid in [1, 2] {
        let found = g.client.warrant_status_check(other, iid).await.unwrap();
        assert_eq!(found, Some(77));
    }
    let asked: Vec<String> = g.fake.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        asked,
        [
            format!("/api/v4/projects/{ENCODED}/external_status_checks"),
            "/api/v4/projects/group%2Fother/external_status_checks".to_owned(),
        ]
    );
}
