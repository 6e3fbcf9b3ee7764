//! Where a change's page is, and how the pages name a change on each forge.
//!
//! The page of a change is `/audit/{forge}/{repository}/changes/{number}`.
//! On GitHub the repository is `owner/name`; on GitLab it is the project's
//! full path, which holds any number of nested groups
//! (`group/sub/project`). So the route captures everything after the
//! forge, and [`parse`] reads it from the right: the number,
//! then the word `changes`, then the repository. Anything else is not a
//! change's page, and is answered like a missing change.

use crate::engine::Forge;
use crate::ids::{ChangeKey, RepoName};

/// Reads the page `/audit/{forge}/{rest}`: the change it names, or `None`
/// when it names none: an unknown forge, no repository, a GitHub repository
/// that is not `owner/name`, a segment that no forge allows, or a number
/// that is not one.
pub(super) fn parse(forge: &str, rest: &str) -> Option<ChangeKey> {
    let forge = match forge {
        "github" => Forge::Github,
        "gitlab" => Forge::Gitlab,
        _ => return None,
    };
    let (rest, number) = rest.rsplit_once('/')?;
    let (repo, word) = rest.rsplit_once('/')?;
    if word != "changes" || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = number.parse().ok()?;
    let segments = repo.split('/').count();
    let shape_fits = match forge {
        Forge::Github => segments == 2,
        _ => segments >= 1,
    };
    if !shape_fits || !repo.split('/').all(is_segment) {
        return None;
    }
    let repo = RepoName::parse(repo).ok()?;
    Some(ChangeKey::new(forge, repo, number))
}

/// A segment of a repository path as GitHub and GitLab allow them: letters,
/// digits, `-`, `_` and `.`, and not `.` or `..`. Checked before a path is
/// looked up, or goes into a URL.
fn is_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// How the pages name a change on its forge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Terms {
    /// `GitHub` or `GitLab`.
    pub name: &'static str,
    /// `pull request` or `merge request`.
    pub change: &'static str,
    /// What goes before the number: `#5` on GitHub, `!5` on GitLab.
    pub sigil: char,
}

/// The words of `forge`.
pub(super) fn terms(forge: Forge) -> Terms {
    match forge {
        Forge::Gitlab => Terms {
            name: "GitLab",
            change: "merge request",
            sigil: '!',
        },
        Forge::Github => Terms {
            name: "GitHub",
            change: "pull request",
            sigil: '#',
        },
        // Local ranges have no pages; should one appear, name nothing.
        Forge::Local => Terms {
            name: "its forge",
            change: "change",
            sigil: '#',
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(forge: &str, rest: &str) -> Option<(Forge, String, u64)> {
        parse(forge, rest).map(|a| (a.forge, a.repo.as_str().to_owned(), a.number))
    }

    fn audit_path(forge: &str, repo: &str, number: u64) -> String {
        let forge = Forge::parse(forge).unwrap();
        ChangeKey::new(forge, RepoName::parse(repo).unwrap(), number).audit_page()
    }

    #[test]
    fn a_gitlab_project_path_has_one_or_more_segments() {
        for repo in [
            "solo",
            "group/project",
            "platform/payments/ledger",
            "a/b/c/d",
        ] {
            let rest = format!("{repo}/changes/7");
            assert_eq!(
                parsed("gitlab", &rest),
                Some((Forge::Gitlab, repo.to_owned(), 7)),
                "{rest}"
            );
            assert_eq!(
                audit_path("gitlab", repo, 7),
                format!("/audit/gitlab/{rest}")
            );
        }
    }

    #[test]
    fn a_github_repository_is_owner_and_name() {
        assert_eq!(
            parsed("github", "acme/app/changes/12"),
            Some((Forge::Github, "acme/app".to_owned(), 12))
        );
        assert_eq!(
            audit_path("github", "acme/app", 12),
            "/audit/github/acme/app/changes/12"
        );
        for rest in ["acme/changes/1", "acme/app/sub/changes/1"] {
            assert_eq!(parsed("github", rest), None, "{rest}");
        }
    }

    #[test]
    fn anything_else_is_not_a_change_page() {
        for (forge, rest) in [
            ("gitbucket", "a/b/changes/1"),
            ("local", "a/b/changes/1"),
            ("gitlab", "changes/7"),
            ("gitlab", "a/b/changes/x"),
            ("gitlab", "a/b/changes/+7"),
            ("gitlab", "a/b/changes/"),
            ("gitlab", "a/b/changes/7/"),
            ("gitlab", "a/b/change/7"),
            ("gitlab", "a//b/changes/7"),
            ("gitlab", "a/../b/changes/7"),
            ("gitlab", "a/b c/changes/7"),
            ("gitlab", "a/b/changes/99999999999999999999999"),
        ] {
            assert_eq!(parsed(forge, rest), None, "{forge} {rest}");
        }
    }

    #[test]
    fn a_project_may_be_named_changes() {
        assert_eq!(
            parsed("gitlab", "group/changes/changes/3"),
            Some((Forge::Gitlab, "group/changes".to_owned(), 3))
        );
    }

    #[test]
    fn each_forge_has_its_own_words() {
        assert_eq!(
            (terms(Forge::Gitlab).sigil, terms(Forge::Gitlab).change),
            ('!', "merge request")
        );
        assert_eq!(
            (terms(Forge::Github).sigil, terms(Forge::Github).change),
            ('#', "pull request")
        );
    }
}
