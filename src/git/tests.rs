//! Parsing canned git output, and reading real repositories built in
//! temporary directories.

use super::*;

fn paths(files: &[ChangedFile]) -> Vec<(String, Option<String>)> {
    files
        .iter()
        .map(|f| {
            (
                f.path.to_string(),
                f.previous_path.as_ref().map(ToString::to_string),
            )
        })
        .collect()
}

const SHA_1: &str = "8b67855b95bd4fd4bf2254c988dbc3065d236c84";
const SHA_2: &str = "2ba7da8963f0764bc6d1eb88eba3beb9221592e8";

#[test]
fn log_output_gives_each_commit_with_its_people_and_full_message() {
    let out = format!(
        "{SHA_1}\0Ann\0ann@example.com\0Cy\0cy@example.com\0one\n\0\
         {SHA_2}\0Ann\0ann@example.com\0GitHub\0noreply@github.com\0two\n\nbody\n\n\
         Co-Authored-By: Claude <noreply@anthropic.com>\n\0"
    );
    let commits = parse_log(out.as_bytes()).unwrap();
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[0].sha.as_str(), SHA_1);
    assert_eq!(commits[0].author.email, "ann@example.com");
    assert_eq!(commits[0].committer.name, "Cy");
    assert_eq!(commits[0].message, "one");
    assert_eq!(commits[1].committer.email, "noreply@github.com");
    assert_eq!(
        commits[1].message,
        "two\n\nbody\n\nCo-Authored-By: Claude <noreply@anthropic.com>"
    );
    assert_eq!(commits[1].trailers().len(), 1);
    assert!(commits[1].author.account.is_none());
}

#[test]
fn empty_log_output_is_no_commits() {
    assert!(parse_log(b"").unwrap().is_empty());
}

#[test]
fn log_output_that_does_not_line_up_is_an_error() {
    let out = format!("{SHA_1}\0Ann\0ann@example.com\0Cy\0cy@example.com\0a\0b\0");
    assert!(parse_log(out.as_bytes()).is_err());
    let shifted = "Ann\0ann@example.com\0Cy\0cy@example.com\0one\0x\0";
    let err = parse_log(shifted.as_bytes()).unwrap_err();
    assert!(format!("{err:#}").contains("not a commit id"), "{err:#}");
}

#[test]
fn a_rename_reports_both_paths_and_a_copy_only_its_new_path() {
    let out = b"A\0new.rs\0M\0src/lib.rs\0R100\0infra/a.tf\0src/a.tf\0C075\0x.rs\0y.rs\0D\0gone\0T\0link\0";
    assert_eq!(
        paths(&parse_name_status(out).unwrap()),
        vec![
            ("new.rs".into(), None),
            ("src/lib.rs".into(), None),
            ("src/a.tf".into(), Some("infra/a.tf".into())),
            ("y.rs".into(), None),
            ("gone".into(), None),
            ("link".into(), None),
        ]
    );
}

#[test]
fn paths_keep_spaces_newlines_and_unicode_as_git_wrote_them() {
    let out = "M\0docs/a b.md\0A\0odd\nname\0M\0ünï/路径.rs\0".as_bytes();
    assert_eq!(
        paths(&parse_name_status(out).unwrap()),
        vec![
            ("docs/a b.md".into(), None),
            ("odd\nname".into(), None),
            ("ünï/路径.rs".into(), None),
        ]
    );
}

#[test]
fn a_path_warrant_cannot_represent_is_an_error_not_skipped() {
    let err = parse_name_status(b"M\0ok.rs\0A\0bad\\name\0").unwrap_err();
    assert!(format!("{err:#}").contains("backslash"), "{err:#}");
    let err = parse_name_status(b"M\0caf\xe9.rs\0").unwrap_err();
    assert!(format!("{err:#}").contains("not UTF-8"), "{err:#}");
}

#[test]
fn truncated_or_unknown_diff_output_is_an_error() {
    assert!(parse_name_status(b"R100\0only-old\0").is_err());
    assert!(parse_name_status(b"Z\0x\0").is_err());
    assert!(parse_name_status(b"").unwrap().is_empty());
}

#[test]
fn ls_tree_output_gives_mode_type_id_and_path() {
    let out = b"100644 blob 617807982...\t.github/warrant.yml\0\
                120000 blob ce01362\t.warrant.yml\x00040000 tree abc\t.gitlab/warrant.yml\0";
    let entries = parse_ls_tree(out).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].mode, "100644");
    assert_eq!(entries[0].kind, "blob");
    assert_eq!(entries[0].path.as_str(), ".github/warrant.yml");
    assert_eq!(entries[1].object_id, "ce01362");
    assert_eq!(entries[2].kind, "tree");
    assert!(parse_ls_tree(b"100644 blob x\0").is_err());
}

#[test]
fn remote_urls_name_the_repository_on_its_forge() {
    for (url, name) in [
        ("https://github.com/octo-org/app.git", "octo-org/app"),
        (
            "https://x-access-token:secret@github.com/octo-org/app",
            "octo-org/app",
        ),
        ("git@github.com:octo-org/app.git", "octo-org/app"),
        (
            "ssh://git@gitlab.example.com:2222/group/sub/app.git",
            "group/sub/app",
        ),
        ("git@gitlab.com:group/sub/app.git/", "group/sub/app"),
        ("/srv/git/app.git", "app"),
        ("../app", "app"),
        ("file:///srv/git/app.git", "app"),
    ] {
        assert_eq!(repository_from_url(url).as_deref(), Some(name), "{url}");
    }
    assert_eq!(repository_from_url(""), None);
    assert_eq!(repository_from_url("https://github.com/"), None);
}

/// A real repository for the tests below, with git isolated from the
/// machine's configuration.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        let s = Self(tempfile::tempdir().unwrap());
        s.git(&["init", "--quiet", "--initial-branch=main"]);
        s
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(self.0.path())
            .args(["-c", "user.name=Ann", "-c", "user.email=ann@example.com"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn commit(&self, files: &[(&str, &str)], message: &str) -> CommitSha {
        for (path, contents) in files {
            let full = self.0.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        CommitSha::parse(&self.git(&["rev-parse", "HEAD"])).unwrap()
    }

    fn repo(&self) -> Repo {
        Repo::open(self.0.path()).unwrap()
    }
}

#[test]
fn a_real_range_reads_as_a_pull_request() {
    let s = Scratch::new();
    let base = s.commit(
        &[
            (".warrant.yml", "version: 1\n"),
            ("ops/run.sh", "#!/bin/sh\n"),
            ("src/lib.rs", "\n"),
        ],
        "Start",
    );
    s.git(&["switch", "--quiet", "--create", "feature"]);
    s.git(&["mv", "ops/run.sh", "src/run.sh"]);
    let head = s.commit(
        &[(".github/warrant.yml", "version: 1 # on the branch\n")],
        "Move it\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
    );
    s.git(&["switch", "--quiet", "main"]);
    let later = s.commit(&[("main-only.txt", "x\n")], "Later on main");

    let repo = s.repo();
    let (change, policy) = repo.read_change(&later, &head).unwrap();
    assert_eq!(change.forge, Forge::Local);
    assert_eq!(change.base_sha, later);
    assert_eq!(change.head_sha, head);
    assert_eq!(change.commits.len(), 1);
    assert_eq!(change.commits[0].author.email, "ann@example.com");
    assert_eq!(change.commits[0].trailers().len(), 1);
    // From the merge base: main-only.txt is not part of the change.
    assert_eq!(
        paths(&change.files),
        vec![
            (".github/warrant.yml".into(), None),
            ("src/run.sh".into(), Some("ops/run.sh".into())),
        ]
    );
    // The policy is the base's: .github/warrant.yml exists only on the
    // branch, so .warrant.yml is the one found.
    let PolicyAtRev::File {
        path,
        blob_id,
        contents,
    } = policy
    else {
        panic!("{policy:?}");
    };
    assert_eq!(path.as_str(), ".warrant.yml");
    assert_eq!(contents, b"version: 1\n");
    assert_eq!(blob_id, crate::policy::blob_id(&contents));
    assert_eq!(repo.merge_base(&later, &head).unwrap(), Some(base));
    assert!(
        change.repository.starts_with(".tmp"),
        "{}",
        change.repository
    );
}

#[test]
fn the_first_policy_path_wins_and_a_symlink_is_not_followed() {
    let s = Scratch::new();
    let first = s.commit(
        &[(".gitlab/warrant.yml", "a\n"), (".warrant.yml", "b\n")],
        "Two policies",
    );
    let found = s.repo().policy_at(&first).unwrap();
    assert!(
        matches!(&found, PolicyAtRev::File { path, .. } if path.as_str() == ".gitlab/warrant.yml"),
        "{found:?}"
    );
    std::fs::create_dir(s.0.path().join(".github")).unwrap();
    std::os::unix::fs::symlink("../.warrant.yml", s.0.path().join(".github/warrant.yml")).unwrap();
    let linked = s.commit(&[], "Link the policy");
    assert!(matches!(
        s.repo().policy_at(&linked).unwrap(),
        PolicyAtRev::NotAFile {
            what: "a symbolic link",
            ..
        }
    ));
    let none = Scratch::new();
    let empty = none.commit(&[("README", "hi\n")], "No policy");
    assert_eq!(none.repo().policy_at(&empty).unwrap(), PolicyAtRev::Absent);
}

#[test]
fn revisions_resolve_to_commits_or_to_nothing() {
    let s = Scratch::new();
    let one = s.commit(&[("a", "a\n")], "One");
    let repo = s.repo();
    assert_eq!(repo.commit("HEAD").unwrap(), Some(one.clone()));
    assert_eq!(repo.commit("main").unwrap(), Some(one.clone()));
    assert_eq!(repo.commit("no-such-branch").unwrap(), None);
    assert_eq!(repo.commit("--output=x").unwrap(), None);
    assert_eq!(
        repo.default_branch().unwrap(),
        Some(("main".to_owned(), one))
    );
    assert!(Repo::open(&std::env::temp_dir().join("warrant-no-such-dir")).is_err());
}
