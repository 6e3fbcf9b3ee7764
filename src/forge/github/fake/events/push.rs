//! A `push` delivery as GitHub sends it for commits pushed onto a branch:
//! the ref, the range, the pusher, and each commit with its identity (the
//! account GitHub linked the address to, as `username`) and the paths it
//! touched.

use chrono::Utc;
use serde_json::{Value, json};

use super::{installation_json, repository, timestamp, user};
use crate::engine::{Account, Commit, Person};
use crate::ids::CommitSha;

/// What was pushed, and by whom.
#[derive(Clone, Debug)]
pub struct Pushed<'a> {
    pub repo: &'a str,
    /// The branch pushed to (also the repository's default branch here).
    pub branch: &'a str,
    /// The branch's tip before the push.
    pub before: &'a CommitSha,
    /// The commits pushed, oldest first, each with the paths it modified.
    pub commits: &'a [(Commit, Vec<String>)],
    pub pusher: &'a Account,
}

/// The `push` delivery of `pushed`, for the app's `installation`.
pub fn push(pushed: &Pushed<'_>, installation: u64) -> Value {
    let Pushed {
        repo,
        branch,
        before,
        commits,
        pusher,
    } = pushed;
    let listed: Vec<Value> = (commits.iter())
        .map(|(c, paths)| commit_json(repo, c, paths))
        .collect();
    let after = commits
        .last()
        .map_or(before.as_str(), |(c, _)| c.sha.as_str());
    let login = pusher.login.as_str();
    json!({
        "ref": format!("refs/heads/{branch}"),
        "before": before.as_str(),
        "after": after,
        "created": false,
        "deleted": false,
        "forced": false,
        "compare": format!("https://github.com/{repo}/compare/{}...{}", short(before.as_str()), short(after)),
        "commits": listed,
        "head_commit": listed.last().cloned().unwrap_or(Value::Null),
        "repository": repository(repo, branch),
        "pusher": { "name": login, "email": format!("{login}@users.noreply.github.com") },
        "sender": user(pusher),
        "installation": installation_json(installation),
    })
}

fn commit_json(repo: &str, c: &Commit, paths: &[String]) -> Value {
    json!({
        "id": c.sha.as_str(),
        "tree_id": c.sha.as_str(),
        "distinct": true,
        "message": c.message,
        "timestamp": timestamp(Utc::now()),
        "url": format!("https://github.com/{repo}/commit/{}", c.sha.as_str()),
        "author": person_json(&c.author),
        "committer": person_json(&c.committer),
        "added": [],
        "removed": [],
        "modified": paths,
    })
}

/// An author or committer: what git recorded, and the login GitHub linked
/// the address to, when it did.
fn person_json(p: &Person) -> Value {
    let mut person = json!({ "name": p.name, "email": p.email });
    if let Some(account) = &p.account {
        person["username"] = json!(account.login.as_str());
    }
    person
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::AccountKind;
    use crate::forge::github::webhook::{GithubEvent, parse};
    use crate::ids::Login;

    #[test]
    fn the_push_is_read_back_as_the_commits_pushed_by_the_pusher() {
        let bot = Account {
            login: Login::parse("devin-ai-integration[bot]").unwrap(),
            kind: AccountKind::Bot,
            id: Some(158243242),
        };
        let kenji = Account {
            login: Login::parse("kenji").unwrap(),
            kind: AccountKind::User,
            id: Some(1005),
        };
        let devin = Person {
            name: "Devin AI".into(),
            email: "158243242+devin-ai-integration[bot]@users.noreply.github.com".into(),
            account: Some(bot),
        };
        let sha = |n: u8| CommitSha::parse(&format!("{n:02x}").repeat(20)).unwrap();
        let commits = vec![(
            Commit {
                sha: sha(2),
                author: devin.clone(),
                committer: devin,
                message: "Index refunds by merchant".into(),
            },
            vec!["migrations/1_index.sql".to_owned()],
        )];
        let pushed = Pushed {
            repo: "acme/payments",
            branch: "main",
            before: &sha(1),
            commits: &commits,
            pusher: &kenji,
        };
        let body = serde_json::to_vec(&push(&pushed, 7)).unwrap();
        let Some(GithubEvent::Push(event)) = parse("push", &body).unwrap() else {
            panic!("a push");
        };
        assert_eq!(event.installation_id, Some(7));
        assert!(event.push.needs_processing());
        assert_eq!(event.push.pusher.as_deref(), Some("kenji"));
        assert_eq!(event.push.after, sha(2));
        assert_eq!(event.push.changed_paths, ["migrations/1_index.sql"]);
        let author = &event.push.commits[0].author;
        assert_eq!(
            author.username.as_deref(),
            Some("devin-ai-integration[bot]")
        );
    }
}
