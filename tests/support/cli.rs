//! What the CLI tests share: running the real `warrant` binary, and real git
//! repositories built in temporary directories, isolated from the
//! machine's git configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code().expect("warrant exited by a signal"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }

    /// The standard output as JSON (for `--format json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Asserts the exit code, showing everything the binary printed if not.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code:\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A `warrant` command in `dir`, with git isolated from the machine's
/// configuration.
pub fn warrant(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warrant"));
    cmd.current_dir(dir);
    isolate_git(&mut cmd, dir);
    cmd
}

/// Runs `warrant ARGS` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    Run::from_output(warrant(dir).args(args).output().expect("warrant runs"))
}

/// Runs `warrant ARGS` in `dir` with `stdin` as its standard input.
pub fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Run {
    use std::io::Write as _;
    let mut child = warrant(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("warrant runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    Run::from_output(child.wait_with_output().unwrap())
}

/// The repository's root, where `fixtures/` lives.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Keeps the user's and the system's git configuration (signing, hooks,
/// default branch, templates) out of a test, so it behaves the same on
/// every machine.
fn isolate_git(cmd: &mut Command, home: &Path) {
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE");
}

/// Who makes a commit: author and committer.
#[derive(Clone, Copy, Debug)]
pub struct Who {
    pub name: &'static str,
    pub email: &'static str,
}

pub const ALICE: Who = Who {
    name: "Alice Doe",
    email: "alice@example.com",
};
pub const BOB: Who = Who {
    name: "Bob Roe",
    email: "bob@example.com",
};

/// The trailer Claude Code writes on the commits it makes for a human.
pub const CLAUDE_TRAILER: &str = "Co-Authored-By: Claude <noreply@anthropic.com>";

/// A real git repository in a temporary directory, on branch `main`.
pub struct Repo {
    dir: TempDir,
}

impl Repo {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("warrant-test-")
            .tempdir()
            .unwrap();
        let repo = Self { dir };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git in the repository and returns its trimmed standard output;
    /// panics with git's error if it fails.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_as(ALICE, args)
    }

    /// Runs git with `who` as author and committer.
    pub fn git_as(&self, who: Who, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        isolate_git(&mut cmd, self.path());
        let output = cmd
            .current_dir(self.path())
            .args(["-c", &format!("user.name={}", who.name)])
            .args(["-c", &format!("user.email={}", who.email)])
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
            .args(args)
            .env("GIT_AUTHOR_NAME", who.name)
            .env("GIT_AUTHOR_EMAIL", who.email)
            .env("GIT_COMMITTER_NAME", who.name)
            .env("GIT_COMMITTER_EMAIL", who.email)
            .env("GIT_AUTHOR_DATE", "2026-12-01T10:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-12-01T10:00:00Z")
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Writes a file (creating its directories).
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
        self
    }

    /// Commits everything in the work tree as `who` with `message`, and
    /// returns the new commit's id.
    pub fn commit(&self, who: Who, message: &str) -> String {
        self.git_as(who, &["add", "--all"]);
        self.git_as(who, &["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Commits as a human with Claude Code's co-author trailer: the form
    /// Claude Code's commits take.
    pub fn commit_by_claude(&self, subject: &str) -> String {
        self.commit(ALICE, &format!("{subject}\n\n{CLAUDE_TRAILER}"))
    }

    /// Starts a branch at the current commit and switches to it.
    pub fn branch(&self, name: &str) -> &Self {
        self.git(&["switch", "--quiet", "--create", name]);
        self
    }

    pub fn switch(&self, name: &str) -> &Self {
        self.git(&["switch", "--quiet", name]);
        self
    }

    /// Runs `warrant ARGS` in the repository.
    pub fn warrant(&self, args: &[&str]) -> Run {
        run(self.path(), args)
    }
}

/// The policy the `check` tests share: one registered agent (Claude Code,
/// by its trailer) allowed in `src/`, `tests/` and `infra/` but not in
/// `src/auth/`; `infra/` is sensitive; changes to the policy by a human
/// need an admin.
pub const POLICY: &str = r#"version: 1
agents:
  claude:
    role: feature-dev
    owner: alice
    match:
      trailers: ["Co-authored-by: Claude*<noreply@anthropic.com>"]
roles:
  feature-dev:
    scope:
      allow: ["src/**", "tests/**", "infra/**"]
      deny: ["src/auth/**"]
sensitive:
  - name: infrastructure
    paths: ["infra/**"]
    approvers: ["octo-org/sre"]
policy_file:
  approvers: ["octo-org/admins"]
"#;

/// A repository whose `main` holds [`POLICY`] and some code, with a
/// `feature` branch checked out at the same commit.
pub fn repo_with_policy() -> Repo {
    let repo = Repo::new();
    repo.write(".github/warrant.yml", POLICY)
        .write("src/lib.rs", "pub fn hello() {}\n")
        .write("ops/deploy.sh", "#!/bin/sh\n");
    repo.commit(ALICE, "Initial commit");
    repo.branch("feature");
    repo
}
