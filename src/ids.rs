//! Newtypes for the names Warrant reasons about, each normalised once where it
//! enters the program so that comparisons further in are plain equality.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::Forge;

/// Defines a string newtype with `as_str`, `Display`, and serde through
/// `parse`, so an invalid value is refused wherever it is read.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                String::json_schema(generator)
            }
        }
    };
}

string_id!(
    /// A registered agent's id: `[a-z0-9][a-z0-9-]{0,62}`.
    AgentId
);
string_id!(
    /// A role's id, with the same shape as an agent id.
    RoleId
);
string_id!(
    /// A forge account login, kept as written (for display) and compared
    /// case-insensitively, as both GitHub and GitLab treat logins.
    Login
);
string_id!(
    /// A commit id: 7 to 64 hexadecimal digits (SHA-1 or SHA-256), lowercased.
    CommitSha
);
string_id!(
    /// A repository as its forge names it: `owner/name` on GitHub, the
    /// project's full path (`group/sub/project`) on GitLab. Stored and
    /// compared as the forge writes it.
    RepoName
);
string_id!(
    /// A repository path in normal form: `/`-separated, relative, with no
    /// empty, `.` or `..` segment and no backslash. Paths that are not in
    /// normal form are refused rather than matched, so that `src/../infra`
    /// can never slip past a glob on `infra/**`.
    RepoPath
);

/// Why an id or path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(String);

fn is_slug(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Agent and role ids share one shape.
fn parse_slug(kind: &str, s: &str) -> Result<String, InvalidId> {
    if is_slug(s) {
        Ok(s.to_owned())
    } else {
        Err(InvalidId(format!(
            "{kind} id `{s}` must match [a-z0-9][a-z0-9-]{{0,62}}"
        )))
    }
}

impl AgentId {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        parse_slug("agent", s).map(Self)
    }
}

impl RoleId {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        parse_slug("role", s).map(Self)
    }
}

impl Login {
    /// Accepts GitHub and GitLab logins, including bot suffixes such as
    /// `renovate[bot]`. Whitespace, `/` and `@` are refused: a login written
    /// `@alice` is a typo for `alice`, and `org/team` is a team.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = !s.is_empty()
            && s.len() <= 255
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '[' | ']'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId(format!(
                "`{s}` is not an account login (letters, digits, `-`, `_`, `.`, `[bot]`)"
            )))
        }
    }

    /// The login as compared: lowercased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// Whether two logins name the same account.
    pub fn same_as(&self, other: &Login) -> bool {
        self.0.eq_ignore_ascii_case(&other.0) || self.key() == other.key()
    }

    /// Whether this is a GitHub App bot login (`name[bot]`).
    pub fn has_bot_suffix(&self) -> bool {
        self.0.to_ascii_lowercase().ends_with("[bot]")
    }
}

impl CommitSha {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(InvalidId(format!(
                "`{s}` is not a commit id (7 to 64 hexadecimal digits)"
            )))
        }
    }

    /// The first seven digits, as people write a commit in prose.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// Whether two ids name the same commit, allowing one to be abbreviated.
    pub fn matches(&self, other: &CommitSha) -> bool {
        self.0.starts_with(&other.0) || other.0.starts_with(&self.0)
    }
}

impl RepoPath {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let reason = if s.is_empty() {
            Some("is empty")
        } else if s.contains('\\') {
            Some("contains a backslash")
        } else if s.contains('\0') {
            Some("contains a NUL byte")
        } else if s.starts_with('/') {
            Some("is absolute (starts with `/`)")
        } else if s.split('/').any(|seg| seg.is_empty()) {
            Some("has an empty segment (`//` or a trailing `/`)")
        } else if s.split('/').any(|seg| seg == "." || seg == "..") {
            Some("has a `.` or `..` segment")
        } else {
            None
        };
        match reason {
            None => Ok(Self(s.to_owned())),
            Some(why) => Err(InvalidId(format!(
                "path `{}` is not in normal form: it {why}",
                s.escape_debug()
            ))),
        }
    }
}

impl RepoName {
    /// Accepts a `/`-separated path of one or more segments, none of them
    /// empty, `.` or `..`, with no control character: every name either
    /// forge gives a repository. Which other characters a name may hold is
    /// the forge's business; an address built from one encodes each
    /// segment ([`crate::urls::change_page`]).
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let reason = if s.is_empty() {
            Some("is empty")
        } else if s.chars().any(char::is_control) {
            Some("contains a control character")
        } else if s.split('/').any(str::is_empty) {
            Some("has an empty segment")
        } else if s.split('/').any(|seg| seg == "." || seg == "..") {
            Some("has a `.` or `..` segment")
        } else {
            None
        };
        match reason {
            None => Ok(Self(s.to_owned())),
            Some(why) => Err(InvalidId(format!(
                "`{}` is not a repository (`owner/name` or `group/project`): it {why}",
                s.escape_debug()
            ))),
        }
    }
}

impl RepoName {
    /// The owner or top-level group: what comes before the first `/`
    /// (`acme` of `acme/api` and of `acme/web/app`).
    pub fn owner(&self) -> &str {
        self.0
            .split_once('/')
            .map_or(self.0.as_str(), |(owner, _)| owner)
    }
}

impl PartialEq<str> for RepoName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RepoName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// One pull request (GitHub) or merge request (GitLab): its forge, its
/// repository and its number there. What the store keys a change's rows by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChangeKey {
    pub forge: Forge,
    pub repo: RepoName,
    pub number: u64,
}

impl ChangeKey {
    pub fn new(forge: Forge, repo: RepoName, number: u64) -> ChangeKey {
        ChangeKey {
            forge,
            repo,
            number,
        }
    }

    /// The path of the change's audit page.
    pub fn audit_page(&self) -> String {
        crate::urls::change_page(self)
    }

    /// Reads `github:acme/app#12` or `gitlab:group/project!7` (either
    /// sigil on either forge), as [`ChangeKey`]'s `Display` writes it.
    pub fn parse(s: &str) -> Result<ChangeKey, InvalidId> {
        let invalid = || {
            InvalidId(format!(
                "`{}` is not a change: write FORGE:OWNER/NAME#N (github:acme/app#12, \
                 gitlab:group/project!7)",
                s.escape_debug()
            ))
        };
        let (repo, number) = s.rsplit_once(['#', '!']).ok_or_else(invalid)?;
        let number = number.parse().map_err(|_| invalid())?;
        let (forge, repo) = parse_repository(repo).map_err(|_| invalid())?;
        Ok(ChangeKey::new(forge, repo, number))
    }
}

/// Reads `github:acme/app` or `gitlab:group/project`: a forge and a
/// repository on it.
pub fn parse_repository(s: &str) -> Result<(Forge, RepoName), InvalidId> {
    let invalid = || {
        InvalidId(format!(
            "`{}` is not a repository: write FORGE:OWNER/NAME (github:acme/app, \
             gitlab:group/project)",
            s.escape_debug()
        ))
    };
    let (forge, repo) = s.split_once(':').ok_or_else(invalid)?;
    let forge = Forge::parse(forge)
        .filter(|f| *f != Forge::Local)
        .ok_or_else(invalid)?;
    let repo = RepoName::parse(repo).map_err(|_| invalid())?;
    if !repo.as_str().contains('/') {
        return Err(invalid());
    }
    Ok((forge, repo))
}

impl fmt::Display for ChangeKey {
    /// `github:acme/app#12`, `gitlab:group/project!7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (forge, repo, sigil) = (self.forge.as_str(), &self.repo, self.forge.change_sigil());
        write!(f, "{forge}:{repo}{sigil}{}", self.number)
    }
}

impl Forge {
    /// The forge a stored name (`github`, `gitlab`, `local`) names.
    pub fn parse(name: &str) -> Option<Forge> {
        [Forge::Github, Forge::Gitlab, Forge::Local]
            .into_iter()
            .find(|forge| forge.as_str() == name)
    }
}

/// A team, written `org/team` (GitHub) or `group/subgroup/...` (GitLab).
/// Compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        let ok = s.contains('/') && s.split('/').all(|part| Login::parse(part).is_ok());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidId(format!("`{s}` is not a team (`org/team`)")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who may approve, or who owns an agent: a person or a team.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User(Login),
    Team(TeamName),
}

impl Principal {
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if s.contains('/') {
            TeamName::parse(s).map(Principal::Team)
        } else {
            Login::parse(s).map(Principal::User)
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::User(login) => login.fmt(f),
            Principal::Team(team) => team.fmt(f),
        }
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Principal::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_key_reads_back_what_it_writes() {
        for written in ["github:acme/app#12", "gitlab:group/sub/project!7"] {
            let key = ChangeKey::parse(written).unwrap();
            assert_eq!(key.to_string(), written);
        }
        let key = ChangeKey::parse("gitlab:group/project#7").unwrap();
        assert_eq!(
            (key.forge, key.repo.as_str(), key.number),
            (Forge::Gitlab, "group/project", 7)
        );
        for bad in [
            "acme/app#1",
            "github:app#1",
            "github:acme/app",
            "local:a/b#1",
            "github:acme/app#x",
        ] {
            let err = ChangeKey::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("FORGE:OWNER/NAME#N"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn repo_path_refuses_every_unnormalised_form() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a/./b",
            "..",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
        ] {
            assert!(RepoPath::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in [
            "a",
            "src/main.rs",
            ".github/workflows/ci.yml",
            "ünïcode/路径.rs",
            "a..b/c",
        ] {
            assert!(RepoPath::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn repo_names_are_owner_and_name_or_a_project_path() {
        for good in [
            "acme/app",
            "group/sub/project",
            "solo",
            "acme/a b",
            "a..b/c",
        ] {
            assert_eq!(RepoName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "/acme/app", "acme/app/", "a//b", "a/../b", ".", "a/\nb"] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_change_key_names_its_forge_repository_and_number() {
        let key = ChangeKey::new(Forge::Gitlab, RepoName::parse("g/p").unwrap(), 7);
        assert_eq!(key.to_string(), "gitlab:g/p!7");
        assert_eq!(key.audit_page(), "/audit/gitlab/g/p/changes/7");
        assert_eq!(Forge::parse("github"), Some(Forge::Github));
        assert_eq!(Forge::parse("GitHub"), None);
    }

    #[test]
    fn agent_ids_follow_the_spec_shape() {
        assert!(AgentId::parse("claude").is_ok());
        assert!(AgentId::parse("0x-bot").is_ok());
        assert!(AgentId::parse(&"a".repeat(63)).is_ok());
        assert!(AgentId::parse(&"a".repeat(64)).is_err());
        assert!(AgentId::parse("-bot").is_err());
        assert!(AgentId::parse("Claude").is_err());
        assert!(AgentId::parse("my_bot").is_err());
    }

    #[test]
    fn logins_compare_case_insensitively() {
        let a = Login::parse("Copilot").unwrap();
        let b = Login::parse("copilot").unwrap();
        assert!(a.same_as(&b));
        assert!(Login::parse("renovate[bot]").unwrap().has_bot_suffix());
        assert!(Login::parse("@alice").is_err());
        assert!(Login::parse("org/team").is_err());
    }

    #[test]
    fn commit_ids_are_lowercased_and_may_be_abbreviated() {
        let full = CommitSha::parse("ABCDEF0123456789abcdef0123456789abcdef01").unwrap();
        assert_eq!(full.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
        assert!(full.matches(&CommitSha::parse("abcdef0").unwrap()));
        assert!(CommitSha::parse("xyz1234").is_err());
        assert!(CommitSha::parse("abc").is_err());
    }

    #[test]
    fn principals_are_users_or_teams() {
        assert_eq!(
            Principal::parse("octo-org/sre").unwrap(),
            Principal::Team(TeamName::parse("octo-org/sre").unwrap())
        );
        assert!(matches!(
            Principal::parse("bob").unwrap(),
            Principal::User(_)
        ));
        assert!(Principal::parse("org/").is_err());
    }
}
