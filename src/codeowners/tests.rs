use super::*;

fn path(p: &str) -> RepoPath {
    RepoPath::parse(p).unwrap()
}

fn github(text: &str) -> Codeowners {
    Codeowners::parse(&path(".github/CODEOWNERS"), Flavour::Github, text).unwrap()
}

fn gitlab(text: &str) -> Codeowners {
    Codeowners::parse(&path("CODEOWNERS"), Flavour::Gitlab, text).unwrap()
}

/// `owners (line N)` per section, as one string per ownership.
fn owners(file: &Codeowners, p: &str) -> Vec<String> {
    file.owners_of(&path(p))
        .iter()
        .map(|o| {
            let names: Vec<String> = o.owners.iter().map(ToString::to_string).collect();
            let section = o.section.name.as_deref().unwrap_or("-");
            format!("{section}: {} (line {})", names.join(" "), o.line)
        })
        .collect()
}

fn error(flavour: Flavour, text: &str) -> CodeownersError {
    Codeowners::parse(&path("CODEOWNERS"), flavour, text).unwrap_err()
}

#[test]
fn the_last_matching_line_of_a_github_file_wins() {
    let file = github(
        "# Owners\n\
         *       @octo-org/everyone\n\
         *.rs    @rustacean\n\
         /src/auth/ @octo-org/security @alice\n",
    );
    assert_eq!(
        owners(&file, "README.md"),
        ["-: @octo-org/everyone (line 2)"]
    );
    assert_eq!(owners(&file, "src/lib.rs"), ["-: @rustacean (line 3)"]);
    assert_eq!(
        owners(&file, "src/auth/login.rs"),
        ["-: @octo-org/security @alice (line 4)"]
    );
}

#[test]
fn a_line_without_owners_unowns_what_it_matches() {
    let file = github("*.rs @rustacean\n/src/generated/\n");
    assert!(owners(&file, "src/generated/api.rs").is_empty());
    assert_eq!(owners(&file, "src/api.rs"), ["-: @rustacean (line 1)"]);
}

#[test]
fn patterns_follow_the_documented_gitignore_rules() {
    let file = github(
        "apps/ @apps\n\
         /build/logs/ @logs\n\
         docs/* @docs\n\
         **/fixtures @fixtures\n\
         /root.txt @root\n\
         config.yml @config\n\
         \\#notes @hash\n",
    );
    // Unanchored directory: at any depth, with everything under it.
    assert_eq!(owners(&file, "apps/a.js").len(), 1);
    assert_eq!(owners(&file, "x/apps/y/z.js").len(), 1);
    // Anchored at the root.
    assert_eq!(owners(&file, "build/logs/a.log").len(), 1);
    assert!(owners(&file, "x/build/logs/a.log").is_empty());
    // A wildcard last segment owns the entries, not what lies deeper.
    assert_eq!(owners(&file, "docs/a.md").len(), 1);
    assert!(owners(&file, "docs/guide/b.md").is_empty());
    assert_eq!(owners(&file, "a/b/fixtures/c.json").len(), 1);
    assert_eq!(owners(&file, "root.txt").len(), 1);
    assert!(owners(&file, "sub/root.txt").is_empty());
    // A name without a slash matches at any depth.
    assert_eq!(owners(&file, "deploy/config.yml").len(), 1);
    assert_eq!(owners(&file, "#notes"), ["-: @hash (line 7)"]);
    // `*` stays within a segment.
    let star = github("/src/*.rs @star\n/lib/**/*.rs @deep\n");
    assert_eq!(owners(&star, "src/a.rs").len(), 1);
    assert!(owners(&star, "src/x/a.rs").is_empty());
    assert_eq!(owners(&star, "lib/x/y/a.rs").len(), 1);
    assert_eq!(owners(&star, "lib/a.rs").len(), 1);
    let all = github("/ @root\n/vendor/** @vendor\n");
    assert_eq!(owners(&all, "vendor/x/y.c"), ["-: @vendor (line 2)"]);
    assert_eq!(owners(&all, "a/b.c"), ["-: @root (line 1)"]);
}

#[test]
fn comments_and_blank_lines_are_skipped_and_inline_comments_end_a_line() {
    let file = github("\n   # a comment\n*.md @writer # the docs team\r\n");
    assert_eq!(owners(&file, "a.md"), ["-: @writer (line 3)"]);
}

#[test]
fn email_owners_are_kept_as_unsupported() {
    let file = github("*.md docs@example.com @writer\n*.txt only@example.com\n");
    let md = file.owners_of(&path("a.md"));
    assert_eq!(
        md[0].owners,
        [
            Owner::Unsupported("docs@example.com".into()),
            Owner::User(Login::parse("writer").unwrap())
        ]
    );
    assert_eq!(
        file.owners_of(&path("a.txt"))[0].owners,
        [Owner::Unsupported("only@example.com".into())]
    );
}

#[test]
fn gitlab_sections_each_apply_their_last_matching_line() {
    let file = gitlab(
        "* @everyone\n\
         [Backend][2] @octo/backend\n\
         src/\n\
         src/ui/ @frontend\n\
         ^[Docs]\n\
         *.md @writer\n\
         [backend]\n\
         /src/db/ @dba\n",
    );
    assert_eq!(
        owners(&file, "src/db/schema.rs"),
        ["-: @everyone (line 1)", "Backend: @dba (line 8)"]
    );
    // Default owners of the section, for a line that names none.
    assert_eq!(
        owners(&file, "src/api.rs"),
        ["-: @everyone (line 1)", "Backend: @octo/backend (line 3)"]
    );
    let md = file.owners_of(&path("src/README.md"));
    assert_eq!(md.len(), 3);
    let docs = md.iter().find(|o| o.section.optional).unwrap();
    assert_eq!(docs.section.name.as_deref(), Some("Docs"));
    let backend = md.iter().find(|o| o.line == 3).unwrap();
    assert_eq!(backend.section.approvals, 2);
    assert!(!backend.section.optional);
}

#[test]
fn a_gitlab_exclusion_unowns_the_path_in_its_section() {
    let file = gitlab("[App]\n* @app\n!*.lock\n");
    assert!(owners(&file, "Cargo.lock").is_empty());
    assert_eq!(owners(&file, "src/a.rs"), ["App: @app (line 2)"]);
}

#[test]
fn gitlab_groups_may_be_nested_and_roles_are_unsupported() {
    let file = gitlab("* @group/sub/team @@maintainer\n");
    assert_eq!(
        file.owners_of(&path("a"))[0].owners,
        [
            Owner::Team(TeamName::parse("group/sub/team").unwrap()),
            Owner::Unsupported("@@maintainer".into())
        ]
    );
    assert_eq!(
        file.teams_owning([&path("a")]),
        [TeamName::parse("group/sub/team").unwrap()]
    );
}

#[test]
fn the_teams_named_are_those_of_every_line_or_only_those_owning_some_paths() {
    let file = github(
        "* @org/all
/src/ @org/dev @alice
/docs/ @org/docs
",
    );
    let team = |t: &str| TeamName::parse(t).unwrap();
    assert_eq!(
        file.teams(),
        [team("org/all"), team("org/dev"), team("org/docs")]
    );
    assert_eq!(file.teams_owning([&path("src/a.rs")]), [team("org/dev")]);
}

#[test]
fn errors_name_the_line_and_column() {
    let e = error(Flavour::Github, "*.rs @ok\n\n  docs/ owner-without-at\n");
    assert_eq!((e.line, e.column), (3, 9), "{e}");
    assert!(
        e.to_string()
            .starts_with("CODEOWNERS:3:9: `owner-without-at`"),
        "{e}"
    );

    let e = error(Flavour::Github, "src/[a.rs @x\n");
    assert_eq!((e.line, e.column), (1, 1), "{e}");
    assert!(e.reason.contains("src/[a.rs"), "{e}");

    let e = error(Flavour::Gitlab, "[Backend @x\n");
    assert_eq!((e.line, e.column), (1, 1));
    assert!(e.reason.contains("unterminated"), "{e}");

    let e = error(Flavour::Gitlab, "[Backend][two] @x\n");
    assert!(e.reason.contains("approval count"), "{e}");
    let e = error(Flavour::Gitlab, "[Backend][0]\n");
    assert!(e.reason.contains("approval count"), "{e}");

    let e = error(Flavour::Github, "[Backend]\n* @x\n");
    assert!(e.reason.contains("GitLab"), "{e}");
    let e = error(Flavour::Github, "!*.lock\n");
    assert!(e.reason.contains("negation"), "{e}");
    let e = error(Flavour::Github, "* @org/a/b\n");
    assert_eq!(e.column, 3);
    let e = error(Flavour::Github, "* @bad!login\n");
    assert!(e.reason.contains("bad!login"), "{e}");
}
