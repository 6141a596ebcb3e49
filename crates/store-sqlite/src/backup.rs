//! `keyward backup`: a consistent copy of a SQLite database, taken while a node serves.
//!
//! `VACUUM INTO` reads the database in one read transaction, so the copy is the state of one
//! moment (in WAL mode a reader neither waits for nor blocks the node's writer), and includes
//! what the log holds but the file does not yet. The copy is written under a temporary name
//! next to the target, checked, and only then linked under the final name, so a crash never
//! leaves a half-written file where a backup is expected; an existing file is never replaced.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

/// Why no backup was written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; a backup never replaces a file: choose a new name")]
    Exists(PathBuf),
    #[error("the directory {0} does not exist")]
    NoDirectory(PathBuf),
    #[error("cannot write in {dir}: {source}")]
    Unwritable {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no SQLite database at {0}")]
    NoDatabase(PathBuf),
    #[error("not a SQLite database URL: {0}")]
    Url(String),
    #[error("copying the database: {0}")]
    Copy(#[from] rusqlite::Error),
    #[error("the copy failed its integrity check ({0}); nothing was kept")]
    Corrupt(String),
    #[error("finishing the backup: {0}")]
    Io(#[from] std::io::Error),
}

/// What was copied, for the operator.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub source: PathBuf,
    pub file: PathBuf,
    pub bytes: u64,
}

/// Copies the database of `url` (`sqlite://PATH`) to the new file `target`.
pub fn backup(url: &str, target: &Path) -> Result<BackupReport, BackupError> {
    let source = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|_| BackupError::Url(url.to_owned()))?
        .get_filename()
        .to_path_buf();
    if !source.is_file() {
        return Err(BackupError::NoDatabase(source));
    }
    if target.symlink_metadata().is_ok() {
        return Err(BackupError::Exists(target.to_path_buf()));
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(BackupError::NoDirectory(dir));
    }
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::Exists(target.to_path_buf()))?;
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(format!(".partial-{}", std::process::id()));
    let partial = dir.join(partial_name);
    // Made empty first (`VACUUM INTO` accepts an empty file): an unwritable directory is told
    // plainly, and the copy, which holds every account, is readable by this user only.
    create_private(&partial).map_err(|source| BackupError::Unwritable {
        dir: dir.clone(),
        source,
    })?;
    let result = copy_and_check(&source, &partial).and_then(|()| publish(&partial, target, &dir));
    let _ = std::fs::remove_file(&partial);
    result?;
    Ok(BackupReport {
        bytes: std::fs::metadata(target)?.len(),
        source,
        file: target.to_path_buf(),
    })
}

fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

fn copy_and_check(source: &Path, partial: &Path) -> Result<(), BackupError> {
    // Read-write without create: a reader of a WAL database may need to create its `-shm`
    // file, and a mistyped path must not become a new empty database.
    let connection = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    let into = partial
        .to_str()
        .ok_or_else(|| BackupError::Url(partial.display().to_string()))?;
    connection.execute("VACUUM INTO ?1", [into])?;
    drop(connection);

    let copy = Connection::open_with_flags(partial, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let problems: Vec<String> = copy
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<Result<_, _>>()?;
    if problems != ["ok"] {
        return Err(BackupError::Corrupt(problems.join("; ")));
    }
    drop(copy);
    std::fs::File::open(partial)?.sync_all()?;
    Ok(())
}

/// Gives the checked copy its final name. A hard link, unlike a rename, fails when the name was
/// taken meanwhile, so nothing is ever replaced.
fn publish(partial: &Path, target: &Path, dir: &Path) -> Result<(), BackupError> {
    std::fs::hard_link(partial, target).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(target.to_path_buf()),
        _ => BackupError::Io(e),
    })?;
    // The new name is durable once the directory is.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name checked free at the start may be taken by the time the copy is done (another
    /// backup, an operator): the finished copy then does not replace it.
    #[test]
    fn a_name_taken_while_copying_is_not_replaced() {
        let dir =
            std::env::temp_dir().join(format!("keyward-backup-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (partial, target) = (dir.join(".copy.partial"), dir.join("copy.db"));
        std::fs::write(&partial, "the copy").expect("partial");
        std::fs::write(&target, "someone else's").expect("target");

        let result = publish(&partial, &target, &dir);

        assert!(matches!(result, Err(BackupError::Exists(_))), "{result:?}");
        assert_eq!(
            std::fs::read_to_string(&target).expect("target"),
            "someone else's"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
