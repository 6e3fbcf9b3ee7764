//! The credentials file: what GitHub returns when `warrant serve`
//! registers an app through the manifest flow ([`AppCredentials`] as JSON),
//! kept so that the next start runs as that app.
//!
//! The file holds the app's private key and webhook secret, so it is
//! created readable and writable by its owner only (mode `0600`), and never
//! overwritten: a second registration must not silently replace the first
//! app's key.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::checks::AppCredentials;

/// The file's name when `WARRANT_GITHUB_APP_FILE` does not give one.
pub const DEFAULT_FILE_NAME: &str = "warrant-github-app.json";

/// Where the credentials file goes by default: beside the SQLite database
/// (state lives together), or in the working directory for PostgreSQL.
pub fn default_path(database_url: &str) -> PathBuf {
    let sqlite_file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|file| !file.is_empty() && *file != ":memory:");
    match sqlite_file.and_then(|file| Path::new(file).parent()) {
        Some(dir) => dir.join(DEFAULT_FILE_NAME),
        None => PathBuf::from(DEFAULT_FILE_NAME),
    }
}

/// Writes `credentials` to a new file at `path`, mode `0600` from the
/// start (never briefly readable by others). Fails if the file exists.
pub fn save(path: &Path, credentials: &AppCredentials) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(credentials).context("cannot encode the credentials")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let written = file.write_all(&json).and_then(|()| file.sync_all());
    if let Err(err) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(err).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

/// Reads the credentials file, `None` when there is none.
pub fn load(path: &Path) -> anyhow::Result<Option<AppCredentials>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    // The error names the line and column, never the content (a secret).
    let credentials = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "{} is not a Warrant credentials file (line {}, column {})",
            path.display(),
            err.line(),
            err.column()
        )
    })?;
    Ok(Some(credentials))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_sits_beside_an_sqlite_database() {
        assert_eq!(
            default_path("sqlite:///var/lib/warrant/warrant.db?mode=rwc"),
            PathBuf::from("/var/lib/warrant/warrant-github-app.json")
        );
        assert_eq!(
            default_path("sqlite://warrant.db"),
            PathBuf::from("warrant-github-app.json")
        );
        assert_eq!(
            default_path("postgres://u:p@host/db"),
            PathBuf::from("warrant-github-app.json")
        );
    }
}
