//! Writing files so that a reader never sees half of one.
//!
//! Every output goes to a temporary file in the destination's own folder (so the
//! rename stays on one file system), is flushed to disk, and is then renamed over
//! the destination. A crash or an error leaves either the old file or the new one,
//! and the temporary file is removed when the write fails.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically from a closure that streams into a buffered writer.
///
/// The destination appears only if the closure and the flush both succeed.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_path(path);
    let _pending = Pending::register(&tmp);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        #[cfg(test)]
        failing::check(path)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::write(path, source));
    }
    Ok(())
}

/// A disk that fills up on purpose, for tests: the writes of this thread
/// to files of a name given fail as a full disk does, once their bytes are
/// in the temporary file.
#[cfg(test)]
pub(crate) mod failing {
    use std::cell::RefCell;
    use std::path::Path;

    thread_local! {
        static NAME: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Makes this thread's writes to files named `name` fail (None: none fail).
    pub(crate) fn fail_writes_to(name: Option<&str>) {
        NAME.with(|n| *n.borrow_mut() = name.map(str::to_string));
    }

    pub(super) fn check(path: &Path) -> std::io::Result<()> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match NAME.with(|n| n.borrow().clone()) {
            Some(failing) if name.as_deref() == Some(failing.as_str()) => Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device",
            )),
            _ => Ok(()),
        }
    }
}

/// The temporary files being written now, for [`remove_pending_writes`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary file listed in [`PENDING`] while it lives.
struct Pending(PathBuf);

impl Pending {
    fn register(tmp: &Path) -> Pending {
        pending().push(tmp.to_path_buf());
        Pending(tmp.to_path_buf())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut list = pending();
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the temporary files of the writes under way, for a process that
/// is about to exit without finishing them (a second Ctrl-C): the outputs
/// they were to replace stay as they were, and nothing half-written is left.
/// Holds the list's lock until the process exits, so no write starts after.
pub fn remove_pending_writes() -> impl Drop {
    let list = pending();
    for tmp in list.iter() {
        let _ = std::fs::remove_file(tmp);
    }
    list
}

/// The temporary name used while `path` is being written: hidden, beside it,
/// unique to this process.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::read(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Write { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn pending_writes_are_listed_until_they_end_and_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic_with(&path, |w| {
            w.write_all(b"half")?;
            w.flush()?;
            let tmp = temp_path(&path);
            assert!(pending().contains(&tmp) && tmp.exists());
            // What a second Ctrl-C does to this write (the whole list's
            // removal would reach other tests' writes): the rename fails.
            std::fs::remove_file(&tmp)?;
            Ok(())
        })
        .unwrap_err();
        assert!(!path.exists() && !pending().contains(&temp_path(&path)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn write_into_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/out.txt");
        assert!(matches!(
            write_atomic(&path, b"x").unwrap_err(),
            Error::Write { .. }
        ));
    }
}
