//! Addresses Warrant builds: one percent-encoding for every path segment
//! and query value it puts in a URL (the forges' APIs, the audit pages),
//! and the one address of a change's audit page, which the check's details
//! link, the pages and the exports all use.

use crate::engine::Forge;
use crate::ids::{ChangeKey, RepoName};

/// Percent-encodes `value` for a URL path segment or query value: every
/// byte but the unreserved ones (`A-Z a-z 0-9 - _ . ~`), so a GitLab
/// project's path (`group/sub/project`) or a file path becomes one segment
/// (`group%2Fsub%2Fproject`), and every name a forge allows stays as it is.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The path of a change's audit page:
/// `/audit/{forge}/{repository}/changes/{number}`, each segment of the
/// repository (`owner/name`, or a GitLab project's full path) encoded on
/// its own.
pub fn change_page(change: &ChangeKey) -> String {
    let repo = change.repo.as_str().split('/').map(encode);
    let repo = repo.collect::<Vec<_>>().join("/");
    let (forge, number) = (encode(change.forge.as_str()), change.number);
    format!("/audit/{forge}/{repo}/changes/{number}")
}

/// A change on its forge: a pull request under `github_url`
/// (`https://github.com`, or a GitHub Enterprise Server's), a merge request
/// under `gitlab_url`.
pub fn forge_change(change: &ChangeKey, github_url: &str, gitlab_url: &str) -> String {
    let (repo, number) = (&change.repo, change.number);
    match change.forge {
        Forge::Gitlab => format!("{}/{repo}/-/merge_requests/{number}", trim(gitlab_url)),
        Forge::Github | Forge::Local => format!("{}/{repo}/pull/{number}", trim(github_url)),
    }
}

/// A repository on its forge.
pub fn forge_repository(
    forge: Forge,
    repo: &RepoName,
    github_url: &str,
    gitlab_url: &str,
) -> String {
    match forge {
        Forge::Gitlab => format!("{}/{repo}", trim(gitlab_url)),
        Forge::Github | Forge::Local => format!("{}/{repo}", trim(github_url)),
    }
}

/// The audit pages' list of a repository's changes.
pub fn repository_changes(forge: Forge, repo: &RepoName) -> String {
    let (forge, repo) = (encode(forge.as_str()), encode(repo.as_str()));
    format!("/audit/changes?forge={forge}&repo={repo}")
}

fn trim(url: &str) -> &str {
    url.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Forge;
    use crate::ids::RepoName;

    fn change_page(forge: &str, repo: &str, number: u64) -> String {
        let forge = Forge::parse(forge).unwrap();
        super::change_page(&ChangeKey::new(
            forge,
            RepoName::parse(repo).unwrap(),
            number,
        ))
    }

    #[test]
    fn segments_are_encoded_and_names_kept() {
        assert_eq!(encode("group/sub/project"), "group%2Fsub%2Fproject");
        assert_eq!(encode(".gitlab/warrant.yml"), ".gitlab%2Fwarrant.yml");
        assert_eq!(encode("a b+c"), "a%20b%2Bc");
        assert_eq!(encode("Octo-Org_x.y~z"), "Octo-Org_x.y~z");
    }

    #[test]
    fn a_change_page_encodes_each_segment_of_its_repository() {
        assert_eq!(
            change_page("gitlab", "group/sub/project", 7),
            "/audit/gitlab/group/sub/project/changes/7"
        );
        assert_eq!(
            change_page("github", "acme/a b", 12),
            "/audit/github/acme/a%20b/changes/12"
        );
    }
}
