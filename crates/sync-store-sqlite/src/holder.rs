//! Knowing that the process holding a claim is dead, without waiting out its lease.
//!
//! Every open [`SqliteStore`](crate::SqliteStore) is a *holder*: it creates a lock file
//! `{holder}.lock` in the folder `{database}.holders/` beside the database and keeps an
//! exclusive `flock` on it for as long as the store (any clone) is alive. Claims record their
//! holder in the work item. The operating system releases the lock when the process ends, by
//! `kill -9` too, so when another store can take the lock (or the file is gone), the holder is
//! dead and its claims can run again at once: a restarted process resumes in seconds instead of
//! after the lease (300 s by default). A holder that is merely slow keeps its lock, and its
//! leases are honoured as before.
//!
//! Only `flock` on a local file system is relied on; the WAL mode the store needs rules out
//! network file systems already.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The live lock of this store instance; dropping it ends the claims' protection.
#[derive(Debug)]
pub(crate) struct Holder {
    id: String,
    dir: PathBuf,
    /// Held locked for the holder's life; closing it releases the lock.
    _file: File,
}

impl Holder {
    /// Creates and locks this store's holder file beside the database `db`.
    pub(crate) fn take(db: &Path) -> std::io::Result<Self> {
        let mut name = db.as_os_str().to_owned();
        name.push(".holders");
        let dir = PathBuf::from(name);
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&dir)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(dir.join(format!("{id}.lock")))?;
        file.try_lock().map_err(std::io::Error::from)?;
        Ok(Self {
            id,
            dir,
            _file: file,
        })
    }

    /// This holder's id, as claims record it.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the holder `other` is dead: its lock file is gone, or its lock can be taken
    /// (then the file is removed, so the next check is cheap). Anything unexpected (an id
    /// that is not one of ours, an I/O error) counts as alive: the lease still protects it.
    pub(crate) fn is_dead(&self, other: &str) -> bool {
        if other == self.id || other.is_empty() || !other.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let path = self.dir.join(format!("{other}.lock"));
        match File::open(&path) {
            Err(e) if e.kind() == ErrorKind::NotFound => true,
            Err(_) => false,
            Ok(file) => match file.try_lock() {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    true
                }
                Err(_) => false,
            },
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // The lock goes with the file handle right after; removing the file first tells the
        // others at once (a missing file reads as dead).
        let _ = std::fs::remove_file(self.dir.join(format!("{}.lock", self.id)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_is_alive_and_a_dropped_one_dead() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("s.sqlite");
        let a = Holder::take(&db).expect("a");
        let b = Holder::take(&db).expect("b");
        assert!(!a.is_dead(b.id()), "b holds its lock");
        assert!(!a.is_dead(a.id()), "never dead to itself");
        assert!(!a.is_dead("../../etc/passwd"), "not an id of ours");
        let gone = b.id().to_owned();
        drop(b);
        assert!(a.is_dead(&gone));
        assert!(a.is_dead("0123abcd"), "no file: dead");
    }
}
