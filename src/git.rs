//! Reading a local git range for `warrant check`: the commits, changed paths
//! and base policy of a range, as a [`Change`].
//!
//! Warrant runs the `git` binary rather than linking a git library: every CI
//! image has it, it reads whatever the user's git reads (SHA-256
//! repositories, worktrees, partial clones), and it adds no dependency.
//! Every command runs with `LC_ALL=C`, no pager, no replace objects, and
//! NUL-separated output (`-z`), so that no path or message can be misread.
//!
//! The range has the semantics of a pull request from `head` into `base`:
//! its commits are those reachable from `head` and not from `base`
//! (`base..head`), its files are the diff from their merge base to `head`
//! (`base...head`), and its policy is read from `base` itself.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, anyhow, bail, ensure};

use crate::codeowners::LOCAL_CODEOWNERS_PATHS;
use crate::engine::{Change, ChangedFile, Commit, Forge, Person};
use crate::ids::{CommitSha, RepoPath};
use crate::policy::LOCAL_POLICY_PATHS;

/// Variables through which a parent git process (a hook, say) points git at
/// another repository; removed so that `--repo` alone says which repository
/// is read.
const REPOSITORY_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
];

/// The fields of one commit in `git log` output, in the order of
/// [`LOG_FORMAT`].
const LOG_FIELDS: usize = 6;
/// Full sha, author name and email, committer name and email, raw message,
/// separated by NUL; `-z` ends each commit with a NUL too. `%an`/`%ae` are
/// the identities as recorded, without `.mailmap`, as a forge shows them.
const LOG_FORMAT: &str = "--format=%H%x00%an%x00%ae%x00%cn%x00%ce%x00%B";

/// A local repository, read through the `git` binary.
#[derive(Clone, Debug)]
pub(crate) struct Repo {
    dir: PathBuf,
}

/// The policy (or CODEOWNERS) file found at a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PolicyAtRev {
    /// None of the candidate paths exists there.
    Absent,
    /// A regular file, with its git blob id.
    File {
        path: RepoPath,
        blob_id: String,
        contents: Vec<u8>,
    },
    /// Something else under that name: a symbolic link, a directory or a
    /// submodule. Warrant does not follow it; the caller fails closed.
    NotAFile {
        path: RepoPath,
        object_id: String,
        what: &'static str,
    },
}

impl Repo {
    /// A repository at (or containing) `dir`; fails unless git recognises it.
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        let repo = Self {
            dir: dir.to_path_buf(),
        };
        repo.run(["rev-parse", "--git-dir"])
            .with_context(|| format!("`{}` is not a git repository", dir.display()))?;
        Ok(repo)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The commit a revision names, or `None` when git knows no such commit.
    pub(crate) fn commit(&self, rev: &str) -> anyhow::Result<Option<CommitSha>> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.run_allowing_failure([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ])?;
        out.map(|out| parse_sha(&out)).transpose()
    }

    /// The branch that changes are merged into by default, as a display name
    /// and a commit: the target of `origin/HEAD` when set, else `main`,
    /// `origin/main`, `master` or `origin/master`, the first that exists.
    pub(crate) fn default_branch(&self) -> anyhow::Result<Option<(String, CommitSha)>> {
        let origin_head = self
            .run_allowing_failure(["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"])?
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
            .filter(|target| !target.is_empty());
        let candidates = origin_head.into_iter().chain(
            [
                "refs/heads/main",
                "refs/remotes/origin/main",
                "refs/heads/master",
                "refs/remotes/origin/master",
            ]
            .map(String::from),
        );
        for refname in candidates {
            if let Some(sha) = self.commit(&refname)? {
                let short = refname
                    .strip_prefix("refs/heads/")
                    .or_else(|| refname.strip_prefix("refs/remotes/"))
                    .unwrap_or(&refname)
                    .to_owned();
                return Ok(Some((short, sha)));
            }
        }
        Ok(None)
    }

    /// The best common ancestor of two commits, or `None` when their
    /// histories are unrelated (or cut off by a shallow clone).
    pub(crate) fn merge_base(
        &self,
        a: &CommitSha,
        b: &CommitSha,
    ) -> anyhow::Result<Option<CommitSha>> {
        let out = self.run_allowing_failure(["merge-base", a.as_str(), b.as_str()])?;
        out.map(|out| parse_sha(&out)).transpose()
    }

    /// The commits of `base..head`, oldest first.
    pub(crate) fn commits(
        &self,
        base: &CommitSha,
        head: &CommitSha,
    ) -> anyhow::Result<Vec<Commit>> {
        let range = format!("{base}..{head}");
        let out = self
            .run([
                "-c",
                "log.showSignature=false",
                "log",
                "-z",
                "--reverse",
                "--encoding=UTF-8",
                LOG_FORMAT,
                &range,
                "--",
            ])
            .with_context(|| format!("listing the commits of {range}"))?;
        parse_log(&out).with_context(|| format!("reading the commits of {range}"))
    }

    /// The files changed from the merge base of `base` and `head` to `head`,
    /// a rename reported with both its paths.
    pub(crate) fn changed_files(
        &self,
        base: &CommitSha,
        head: &CommitSha,
    ) -> anyhow::Result<Vec<ChangedFile>> {
        let range = format!("{base}...{head}");
        let out = self
            .run([
                "diff",
                "--name-status",
                "-z",
                "-M",
                "--no-relative",
                "--no-ext-diff",
                "--no-textconv",
                // A submodule's new commit is a change like any other,
                // whatever `diff.ignoreSubmodules` or `.gitmodules` say.
                "--ignore-submodules=none",
                &range,
                "--",
            ])
            .with_context(|| format!("listing the files changed in {range}"))?;
        parse_name_status(&out).with_context(|| format!("reading the files changed in {range}"))
    }

    /// The policy file at `rev`: the first of [`LOCAL_POLICY_PATHS`] there.
    pub(crate) fn policy_at(&self, rev: &CommitSha) -> anyhow::Result<PolicyAtRev> {
        self.first_file_at(rev, LOCAL_POLICY_PATHS)
            .with_context(|| format!("looking for the policy file at {rev}"))
    }

    /// The CODEOWNERS file at `rev`: the first of
    /// [`LOCAL_CODEOWNERS_PATHS`] there.
    pub(crate) fn codeowners_at(&self, rev: &CommitSha) -> anyhow::Result<PolicyAtRev> {
        self.first_file_at(rev, LOCAL_CODEOWNERS_PATHS)
            .with_context(|| format!("looking for the CODEOWNERS file at {rev}"))
    }

    /// The first of `candidates` at `rev`, read if it is a regular file.
    fn first_file_at(&self, rev: &CommitSha, candidates: &[&str]) -> anyhow::Result<PolicyAtRev> {
        let mut args = vec!["ls-tree", "-z", "--full-tree", rev.as_str(), "--"];
        args.extend(candidates);
        let out = self.run(args)?;
        let entries = parse_ls_tree(&out)?;
        let Some(entry) = candidates
            .iter()
            .find_map(|p| entries.iter().find(|e| e.path.as_str() == *p))
        else {
            return Ok(PolicyAtRev::Absent);
        };
        let what = match (entry.mode.as_str(), entry.kind.as_str()) {
            ("100644" | "100755", "blob") => None,
            ("120000", _) => Some("a symbolic link"),
            (_, "tree") => Some("a directory"),
            (_, "commit") => Some("a submodule"),
            _ => Some("not a regular file"),
        };
        if let Some(what) = what {
            return Ok(PolicyAtRev::NotAFile {
                path: entry.path.clone(),
                object_id: entry.object_id.clone(),
                what,
            });
        }
        let contents = self
            .run(["cat-file", "blob", &entry.object_id])
            .with_context(|| format!("reading {} at {rev}", entry.path))?;
        Ok(PolicyAtRev::File {
            path: entry.path.clone(),
            blob_id: entry.object_id.clone(),
            contents,
        })
    }

    /// How to name the repository in a decision: the path of the `origin`
    /// remote on its forge (`owner/name`), else the work tree's directory
    /// name.
    pub(crate) fn repository_name(&self) -> anyhow::Result<String> {
        let url = self
            .run_allowing_failure(["config", "--get", "remote.origin.url"])?
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned());
        if let Some(name) = url.as_deref().and_then(repository_from_url) {
            return Ok(name);
        }
        // A bare repository has no work tree: then the directory given.
        let top = self
            .run(["rev-parse", "--show-toplevel"])
            .ok()
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out).trim()))
            .filter(|top| top.file_name().is_some())
            .or_else(|| self.dir.canonicalize().ok());
        Ok(top
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".to_owned()))
    }

    /// The change that merging `head` into `base` would make, as Warrant
    /// decides it, and the policy that judges it (read from `base`).
    pub(crate) fn read_change(
        &self,
        base: &CommitSha,
        head: &CommitSha,
    ) -> anyhow::Result<(Change, PolicyAtRev)> {
        let mut change = Change {
            forge: Forge::Local,
            repository: self.repository_name()?,
            number: 0,
            title: String::new(),
            body: String::new(),
            author: None,
            assignees: Vec::new(),
            base_sha: base.clone(),
            head_sha: head.clone(),
            commits: self.commits(base, head)?,
            files: self.changed_files(base, head)?,
            reviews: Vec::new(),
        };
        change.link_noreply_accounts();
        Ok((change, self.policy_at(base)?))
    }

    /// Whether the clone is shallow, so that history may be cut off.
    pub(crate) fn is_shallow(&self) -> bool {
        self.run(["rev-parse", "--is-shallow-repository"])
            .is_ok_and(|out| out.trim_ascii() == b"true")
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(["--no-pager", "--no-replace-objects"])
            .args(args)
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0");
        for var in REPOSITORY_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs git and returns its standard output; any failure is an error
    /// that quotes git's standard error.
    fn run<I, S>(&self, args: I) -> anyhow::Result<Vec<u8>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        let output = spawn(&mut cmd)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(failure(&cmd, &output))
        }
    }

    /// Runs git; exit code 1 (git's "not found" for `rev-parse --verify`,
    /// `symbolic-ref --quiet`, `merge-base`, `config --get`) gives `None`,
    /// other failures are errors.
    fn run_allowing_failure<I, S>(&self, args: I) -> anyhow::Result<Option<Vec<u8>>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.command(args);
        let output = spawn(&mut cmd)?;
        match output.status.code() {
            Some(0) => Ok(Some(output.stdout)),
            Some(1) => Ok(None),
            _ => Err(failure(&cmd, &output)),
        }
    }
}

fn spawn(cmd: &mut Command) -> anyhow::Result<std::process::Output> {
    cmd.output()
        .context("could not run `git`: Warrant needs git installed and on the PATH")
}

/// An error naming the git command (without `-C` and the fixed options)
/// and quoting what git said.
fn failure(cmd: &Command, output: &std::process::Output) -> anyhow::Error {
    let args: Vec<_> = cmd
        .get_args()
        .skip(4)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let status = match output.status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow!(
        "`git {}` failed ({status}): {}",
        args.join(" "),
        stderr.trim()
    )
}

/// One line of `git ls-tree -z`.
#[derive(Debug, PartialEq, Eq)]
struct TreeEntry {
    mode: String,
    kind: String,
    object_id: String,
    path: RepoPath,
}

fn parse_sha(out: &[u8]) -> anyhow::Result<CommitSha> {
    let text = std::str::from_utf8(out.trim_ascii())
        .context("git printed a commit id that is not text")?;
    Ok(CommitSha::parse(text)?)
}

/// Splits NUL-terminated output into its fields.
fn nul_fields(out: &[u8]) -> Vec<&[u8]> {
    let mut fields: Vec<&[u8]> = out.split(|b| *b == 0).collect();
    if fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
    }
    fields
}

/// A path as git printed it: it must be UTF-8 and a [`RepoPath`]; a path
/// Warrant cannot represent is an error, never skipped, so that no change
/// escapes judgement by its name.
fn repo_path(raw: &[u8]) -> anyhow::Result<RepoPath> {
    let text = std::str::from_utf8(raw).map_err(|_| {
        anyhow!(
            "path `{}` is not UTF-8, which Warrant cannot match against a policy",
            String::from_utf8_lossy(raw).escape_debug()
        )
    })?;
    Ok(RepoPath::parse(text)?)
}

/// Parses `git log -z` output in [`LOG_FORMAT`].
fn parse_log(out: &[u8]) -> anyhow::Result<Vec<Commit>> {
    let fields = nul_fields(out);
    ensure!(
        fields.len() % LOG_FIELDS == 0,
        "unexpected `git log` output: {} fields is not a whole number of commits",
        fields.len()
    );
    fields
        .chunks_exact(LOG_FIELDS)
        .map(|c| {
            let text = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
            let sha = parse_sha(c[0]).with_context(|| {
                format!(
                    "unexpected `git log` output: `{}` is not a commit id",
                    String::from_utf8_lossy(c[0]).escape_debug()
                )
            })?;
            let mut message = text(c[5]);
            message.truncate(message.trim_end_matches('\n').len());
            Ok(Commit {
                sha,
                author: Person {
                    name: text(c[1]),
                    email: text(c[2]),
                    account: None,
                },
                committer: Person {
                    name: text(c[3]),
                    email: text(c[4]),
                    account: None,
                },
                message,
            })
        })
        .collect()
}

/// Parses `git diff --name-status -z` output: a status, then one path, or
/// two (old, new) for a rename or copy.
fn parse_name_status(out: &[u8]) -> anyhow::Result<Vec<ChangedFile>> {
    let mut fields = nul_fields(out).into_iter();
    let mut files = Vec::new();
    while let Some(status) = fields.next() {
        let mut path = || -> anyhow::Result<RepoPath> {
            let raw = fields.next().ok_or_else(|| {
                anyhow!(
                    "unexpected `git diff` output: status `{}` without a path",
                    String::from_utf8_lossy(status)
                )
            })?;
            repo_path(raw)
        };
        let file = match status.first() {
            // A rename touches both paths.
            Some(b'R') => {
                let old = path()?;
                ChangedFile {
                    path: path()?,
                    previous_path: Some(old),
                }
            }
            // A copy leaves its source untouched.
            Some(b'C') => {
                let _source = path()?;
                ChangedFile {
                    path: path()?,
                    previous_path: None,
                }
            }
            Some(b'A' | b'D' | b'M' | b'T' | b'U' | b'X' | b'B') => ChangedFile {
                path: path()?,
                previous_path: None,
            },
            _ => bail!(
                "unexpected `git diff` output: unknown status `{}`",
                String::from_utf8_lossy(status).escape_debug()
            ),
        };
        files.push(file);
    }
    Ok(files)
}

/// Parses `git ls-tree -z` output: `<mode> SP <type> SP <object> TAB <path>`.
fn parse_ls_tree(out: &[u8]) -> anyhow::Result<Vec<TreeEntry>> {
    nul_fields(out)
        .into_iter()
        .map(|line| {
            let tab = line
                .iter()
                .position(|b| *b == b'\t')
                .ok_or_else(|| anyhow!("unexpected `git ls-tree` output: no tab"))?;
            let meta = String::from_utf8_lossy(&line[..tab]);
            let mut parts = meta.split(' ');
            let (Some(mode), Some(kind), Some(object_id), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                bail!("unexpected `git ls-tree` output: `{meta}`");
            };
            Ok(TreeEntry {
                mode: mode.to_owned(),
                kind: kind.to_owned(),
                object_id: object_id.to_owned(),
                path: repo_path(&line[tab + 1..])?,
            })
        })
        .collect()
}

/// The repository's path on its forge from a remote URL: `owner/name` from
/// `https://github.com/owner/name.git` or `git@github.com:owner/name.git`,
/// `group/sub/name` on GitLab. For a remote on the local disk, its last
/// segment. Credentials in the URL are never part of the result.
fn repository_from_url(url: &str) -> Option<String> {
    let (path, on_a_host) = if let Some((scheme, rest)) = url.split_once("://") {
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        (path, scheme != "file")
    } else {
        match url.split_once(':') {
            // scp-like `[user@]host:path`; git treats it so only when no
            // `/` comes before the colon. A single letter is a drive.
            Some((host, path)) if !host.contains('/') && host.len() > 1 => (path, true),
            _ => (url, false),
        }
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let name = if on_a_host {
        path
    } else {
        path.rsplit('/').next().unwrap_or(path)
    };
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests;
