//! Path globs for scopes, elevations and sensitive areas.
//!
//! Globs use `/` separators, `*` and `?` within one segment, `**` across
//! segments, `[...]` classes and `{a,b}` alternatives, and match the whole
//! path, case-sensitively (as git does). They are compiled once, into one
//! automaton per list, when the policy loads.

use globset::{Candidate, Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::ids::RepoPath;

/// A compiled list of path globs, keeping the patterns for display.
#[derive(Clone, Debug)]
pub struct PathGlobs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl PathGlobs {
    /// Compiles each pattern; the error names the pattern and why it fails.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, String> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(compile(p.as_ref())?);
        }
        Ok(Self {
            patterns: patterns.iter().map(|p| p.as_ref().to_owned()).collect(),
            set: builder.build().map_err(|e| e.to_string())?,
        })
    }

    pub fn empty() -> Self {
        Self::new::<&str>(&[]).expect("an empty glob set compiles")
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn is_match(&self, path: &RepoPath) -> bool {
        self.set.is_match(path.as_str())
    }

    /// Like [`Self::is_match`], for a path prepared once and matched against
    /// many lists (preparing it is a good part of a match's cost).
    pub fn is_match_candidate(&self, path: &PathCandidate) -> bool {
        self.set.is_match_candidate(&path.0)
    }

    /// The first pattern (in the order written) that matches the path.
    pub fn first_match(&self, path: &RepoPath) -> Option<&str> {
        self.set
            .matches(path.as_str())
            .into_iter()
            .min()
            .map(|i| self.patterns[i].as_str())
    }
}

/// A path prepared for matching against several glob lists.
pub struct PathCandidate<'a>(Candidate<'a>);

impl<'a> PathCandidate<'a> {
    pub fn new(path: &'a RepoPath) -> Self {
        Self(Candidate::new(path.as_str()))
    }
}

/// Several glob lists compiled into one automaton, so that one match per
/// path tells which lists match it. The sensitive areas use it: thirty
/// areas cost one match per changed path instead of thirty.
#[derive(Clone, Debug)]
pub struct GlobIndex {
    set: GlobSet,
    /// For each glob in `set`, the list it came from.
    list_of: Vec<usize>,
}

impl GlobIndex {
    /// Indexes already-compiled lists; their patterns compiled once, so
    /// they compile again.
    pub fn new<'g>(lists: impl IntoIterator<Item = &'g PathGlobs>) -> Self {
        let mut builder = GlobSetBuilder::new();
        let mut list_of = Vec::new();
        for (i, list) in lists.into_iter().enumerate() {
            for p in list.patterns() {
                builder.add(compile(p).expect("a compiled pattern compiles again"));
                list_of.push(i);
            }
        }
        Self {
            set: builder.build().expect("compiled patterns build a set"),
            list_of,
        }
    }

    /// The indexes of the lists that match `path`, ascending, each once.
    /// `scratch` is reused between calls to spare an allocation per path.
    pub fn lists_matching(&self, path: &PathCandidate, scratch: &mut Vec<usize>) -> Vec<usize> {
        self.set.matches_candidate_into(&path.0, scratch);
        let mut lists: Vec<usize> = scratch.iter().map(|g| self.list_of[*g]).collect();
        lists.sort_unstable();
        lists.dedup();
        lists
    }
}

/// Compiles one glob with Warrant's semantics; used by validation to report
/// the exact pattern that does not compile.
pub fn compile(pattern: &str) -> Result<Glob, String> {
    if pattern.is_empty() {
        return Err("a path glob cannot be empty".into());
    }
    if pattern.starts_with('/') {
        return Err(format!(
            "path glob `{pattern}` starts with `/`: paths are relative to the repository root"
        ));
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map_err(|e| format!("path glob `{pattern}` does not compile: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> RepoPath {
        RepoPath::parse(s).unwrap()
    }

    #[test]
    fn star_stays_within_one_segment_and_double_star_crosses() {
        let g = PathGlobs::new(&["src/*.rs", "docs/**", "**/package.json"]).unwrap();
        assert!(g.is_match(&path("src/main.rs")));
        assert!(!g.is_match(&path("src/auth/login.rs")));
        assert!(g.is_match(&path("docs/a/b/c.md")));
        assert!(g.is_match(&path("package.json")));
        assert!(g.is_match(&path("web/app/package.json")));
        assert!(!g.is_match(&path("package.json5")));
    }

    #[test]
    fn globs_match_the_full_path_case_sensitively() {
        let g = PathGlobs::new(&["infra/**"]).unwrap();
        assert!(!g.is_match(&path("x/infra/main.tf")));
        assert!(!g.is_match(&path("Infra/main.tf")));
        let alt = PathGlobs::new(&["{a,b}/[xy]?.txt"]).unwrap();
        assert!(alt.is_match(&path("b/y1.txt")));
        assert!(!alt.is_match(&path("c/y1.txt")));
    }

    #[test]
    fn first_match_reports_the_earliest_pattern_written() {
        let g = PathGlobs::new(&["src/**", "**/*.rs"]).unwrap();
        assert_eq!(g.first_match(&path("src/lib.rs")), Some("src/**"));
        assert_eq!(g.first_match(&path("x/lib.rs")), Some("**/*.rs"));
        assert_eq!(g.first_match(&path("x/lib.py")), None);
    }

    #[test]
    fn an_index_reports_every_list_that_matches_once() {
        let a = PathGlobs::new(&["infra/**", "**/*.tf"]).unwrap();
        let b = PathGlobs::new(&[".github/**"]).unwrap();
        let c = PathGlobs::new(&["**/*.tf"]).unwrap();
        let index = GlobIndex::new([&a, &b, &c]);
        let mut scratch = Vec::new();
        let tf = path("infra/main.tf");
        assert_eq!(
            index.lists_matching(&PathCandidate::new(&tf), &mut scratch),
            [0, 2]
        );
        let wf = path(".github/workflows/ci.yml");
        assert_eq!(
            index.lists_matching(&PathCandidate::new(&wf), &mut scratch),
            [1]
        );
        let other = path("src/lib.rs");
        assert!(
            index
                .lists_matching(&PathCandidate::new(&other), &mut scratch)
                .is_empty()
        );
    }

    #[test]
    fn bad_globs_are_refused_with_the_pattern_named() {
        let err = PathGlobs::new(&["src/[abc"]).unwrap_err();
        assert!(err.contains("src/[abc"), "{err}");
        assert!(compile("/abs/**").is_err());
        assert!(compile("").is_err());
    }
}
