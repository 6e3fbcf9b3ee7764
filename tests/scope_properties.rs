//! Property tests of the scope logic: path globs and rule 2, on generated
//! paths and changes.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use warrant::engine::{
    Account, AccountKind, Change, ChangedFile, Conclusion, Context, Evaluation, Forge,
    ViolationKind, decide,
};
use warrant::ids::{CommitSha, Login, RepoPath};
use warrant::policy::{self, LoadedPolicy, PathGlobs};

/// Path segments drawn from a small alphabet so that generated paths
/// collide with the globs often enough to exercise both outcomes.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("src".to_owned()),
        Just("auth".to_owned()),
        Just("infra".to_owned()),
        Just("docs".to_owned()),
        "[a-z]{1,3}",
        "[a-z]{1,2}\\.(rs|md|tf)",
        "[\u{e9}\u{4e2d}\u{0410}]{1,2}",
    ]
}

fn repo_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..8).prop_map(|s| s.join("/"))
}

fn path(s: &str) -> RepoPath {
    RepoPath::parse(s).unwrap()
}

const POLICY: &str = r#"
version: 1
agents:
  bot:
    role: dev
    owner: alice
    match:
      logins: ["helper-bot"]
roles:
  dev:
    scope:
      allow: ["src/**", "docs/*.md"]
      deny: ["src/auth/**"]
"#;

fn decide_paths(files: &[(String, Option<String>)]) -> warrant::engine::Decision {
    let loaded = LoadedPolicy {
        path: path(".github/warrant.yml"),
        blob_id: policy::blob_id(POLICY.as_bytes()),
        policy: policy::load(".github/warrant.yml", POLICY).unwrap(),
    };
    let change = Change {
        forge: Forge::Github,
        repository: "o/r".into(),
        number: 1,
        title: String::new(),
        body: String::new(),
        author: Some(Account {
            login: Login::parse("helper-bot").unwrap(),
            kind: AccountKind::Bot,
            id: None,
        }),
        assignees: vec![],
        base_sha: CommitSha::parse("1111111").unwrap(),
        head_sha: CommitSha::parse("2222222").unwrap(),
        commits: vec![],
        files: files
            .iter()
            .map(|(p, old)| ChangedFile {
                path: path(p),
                previous_path: old.as_deref().map(path),
            })
            .collect(),
        reviews: vec![],
    };
    decide(&Evaluation {
        policy: &loaded,
        change: &change,
        context: &Context::default(),
        at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
    })
}

/// The spec's meaning of the policy above, written out by hand.
fn in_scope(p: &str) -> bool {
    let segs: Vec<&str> = p.split('/').collect();
    let allowed = (segs[0] == "src" && segs.len() > 1)
        || (segs.len() == 2 && segs[0] == "docs" && segs[1].ends_with(".md"));
    let denied = segs.len() > 2 && segs[0] == "src" && segs[1] == "auth";
    allowed && !denied
}

proptest! {
    #[test]
    fn scope_matches_the_glob_semantics(p in repo_path()) {
        let d = decide_paths(&[(p.clone(), None)]);
        let flagged = d.violations.iter().any(|v| v.kind == ViolationKind::OutOfScope);
        prop_assert_eq!(flagged, !in_scope(&p), "path {}", p);
    }

    #[test]
    fn deny_wins_over_any_allow(rest in repo_path()) {
        let p = format!("src/auth/{rest}");
        let d = decide_paths(&[(p.clone(), None)]);
        prop_assert_eq!(d.conclusion, Conclusion::Failure, "path {}", p);
    }

    #[test]
    fn single_star_never_crosses_a_separator(a in segment(), b in segment()) {
        let globs = PathGlobs::new(&["docs/*"]).unwrap();
        let one = format!("docs/{a}");
        let two = format!("docs/{a}/{b}");
        prop_assert!(globs.is_match(&path(&one)));
        prop_assert!(!globs.is_match(&path(&two)));
    }

    #[test]
    fn double_star_matches_any_depth(segs in prop::collection::vec(segment(), 1..40)) {
        let globs = PathGlobs::new(&["src/**"]).unwrap();
        let p = format!("src/{}", segs.join("/"));
        prop_assert!(globs.is_match(&path(&p)));
    }

    #[test]
    fn a_rename_is_judged_on_both_of_its_paths(old in repo_path(), new in repo_path()) {
        let d = decide_paths(&[(new.clone(), Some(old.clone()))]);
        let flagged = d.violations.iter().any(|v| v.kind == ViolationKind::OutOfScope);
        prop_assert_eq!(flagged, !(in_scope(&old) && in_scope(&new)), "{} -> {}", old, new);
    }

    #[test]
    fn adding_files_never_removes_a_violation(
        first in prop::collection::vec(repo_path(), 0..6),
        more in prop::collection::vec(repo_path(), 0..6),
    ) {
        let files = |ps: &[String]| ps.iter().map(|p| (p.clone(), None)).collect::<Vec<_>>();
        let small = decide_paths(&files(&first));
        let all: Vec<String> = first.iter().chain(&more).cloned().collect();
        let big = decide_paths(&files(&all));
        let out = |d: &warrant::engine::Decision| -> Vec<String> {
            d.violations.iter().flat_map(|v| v.paths.iter().map(|p| p.to_string())).collect()
        };
        let big_out = out(&big);
        for p in out(&small) {
            prop_assert!(big_out.contains(&p), "{} vanished", p);
        }
        prop_assert!(big.conclusion >= small.conclusion);
    }

    #[test]
    fn unnormalised_paths_are_refused_never_matched(
        segs in prop::collection::vec(segment(), 1..5),
        at in 0usize..5,
        bad in prop_oneof![Just(".."), Just("."), Just("")],
    ) {
        let mut segs = segs;
        let i = at.min(segs.len());
        segs.insert(i, bad.to_owned());
        let p = segs.join("/");
        prop_assert!(RepoPath::parse(&p).is_err(), "{:?} accepted", p);
        let absolute = format!("/{p}");
        prop_assert!(RepoPath::parse(&absolute).is_err());
    }
}
