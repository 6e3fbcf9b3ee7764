//! The SQLite file and its `-wal` and `-shm` companions, readable and
//! writable by their owner only: they hold the signed-in users' sessions
//! and the key that signs cookies, and SQLite would otherwise create them
//! with `0644` less the umask, readable by every local account.
//!
//! The database file is created here with mode `0600` before SQLite opens
//! it (SQLite takes an empty file for a new database). SQLite gives the
//! `-wal` and `-shm` files it creates the mode of the database file; files
//! left with wider modes by an older Warrant or by hand are tightened, and
//! the log says so.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use sqlx::sqlite::SqliteConnectOptions;

/// Owner read and write, nothing for the group or others.
#[cfg(unix)]
const OWNER_ONLY: u32 = 0o600;

/// The database file a URL names, or `None` for an in-memory database.
pub(super) fn database_path(url: &str) -> anyhow::Result<Option<PathBuf>> {
    let in_memory = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=memory"));
    let options = SqliteConnectOptions::from_str(url).context("not an SQLite URL")?;
    let path = options.get_filename();
    let text = path.to_string_lossy();
    // sqlx names `sqlite::memory:` databases `file:sqlx-in-memory-N`.
    let named_in_memory = text.starts_with(":memory:") || text.starts_with("file:sqlx-in-memory-");
    if in_memory || text.is_empty() || named_in_memory {
        return Ok(None);
    }
    Ok(Some(path.to_owned()))
}

/// Creates the database file owner-only if it is missing, and tightens it
/// and its `-wal` and `-shm` files if they exist with wider modes.
pub(super) fn secure(database: &Path) -> anyhow::Result<()> {
    create_owner_only(database)?;
    for file in companions(database) {
        tighten(&file)?;
    }
    Ok(())
}

/// The database file and the two files WAL mode keeps beside it.
fn companions(database: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [database.to_owned(), with("-wal"), with("-shm")]
}

#[cfg(unix)]
fn create_owner_only(database: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(database);
    match created {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => {
            Err(err).with_context(|| format!("cannot create the database {}", database.display()))
        }
    }
}

/// Narrows `file` to [`OWNER_ONLY`] if it exists with a wider mode.
#[cfg(unix)]
fn tighten(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(file) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", file.display())),
    };
    if mode & !OWNER_ONLY == 0 {
        return Ok(());
    }
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(OWNER_ONLY))
        .with_context(|| format!("cannot restrict {} to its owner", file.display()))?;
    tracing::warn!(
        file = %file.display(),
        was = format!("{mode:o}"),
        "the database file was readable beyond its owner: restricted to mode 600"
    );
    Ok(())
}

/// Elsewhere files are left as the platform creates them.
#[cfg(not(unix))]
fn create_owner_only(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_file_unless_in_memory() {
        assert_eq!(
            database_path("sqlite://warrant.db").unwrap(),
            Some(PathBuf::from("warrant.db"))
        );
        assert_eq!(
            database_path("sqlite:///var/lib/w.db?mode=rwc").unwrap(),
            Some(PathBuf::from("/var/lib/w.db"))
        );
        assert_eq!(database_path("sqlite::memory:").unwrap(), None);
        assert_eq!(database_path("sqlite://w.db?mode=memory").unwrap(), None);
    }
}
