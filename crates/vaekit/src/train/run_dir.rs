//! The run directory while a run writes it: checked before anything is
//! made, locked against a second writer, and cleared when a new run fails
//! before its first checkpoint.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::run::files;

/// An exclusive lock on a run directory, held while a process trains into
/// it: a second `train --out` or `--resume` on the same folder refuses at
/// once, naming the holder's process id.
///
/// The lock is the operating system's (`flock` on Linux) on the hidden file
/// [`files::LOCK`], so it ends with the process however the process ends;
/// the file itself stays (removing it would let two processes lock two
/// different files of one name).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Locks the existing directory `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::Run`] when another process holds the lock; [`Error::Write`]
    /// when the lock file cannot be made (a read-only folder).
    pub fn take(dir: &Path) -> Result<RunLock> {
        let path = dir.join(files::LOCK);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::write(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let who = match holder.trim().parse::<u32>() {
                    Ok(pid) => format!("another vaekit process (pid {pid})"),
                    Err(_) => "another vaekit process".to_string(),
                };
                return Err(Error::run(
                    dir,
                    format!(
                        "is being written by {who}; wait for it to finish (or stop it), or choose another --out"
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(Error::write(&path, e)),
        }
        // The holder's id, for the message of whoever comes second.
        let pid = std::process::id().to_string();
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()));
        written.map_err(|e| Error::write(&path, e))?;
        Ok(RunLock { _file: file })
    }
}

/// Makes (or takes, when empty) the folder of a new run and locks it.
/// Returns the lock and whether the folder was made here.
///
/// The folder is checked again once locked, as another process may have
/// started a run in it between the first check and the lock.
pub(crate) fn open_new_run_dir(out: &Path, resumable: bool) -> Result<(RunLock, bool)> {
    check_new_run_dir(out, resumable)?;
    let created = !out.exists();
    std::fs::create_dir_all(out).map_err(|e| Error::write(out, e))?;
    let lock = RunLock::take(out)?;
    check_contents(out, resumable)?;
    Ok((lock, created))
}

/// Removes what a run that failed before its first checkpoint wrote: the
/// folder when it made it, else the run's files in it (it was empty).
pub(crate) fn remove_partial_run(dir: &Path, created: bool) {
    if created {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        for name in [
            files::LOCK,
            files::CONFIG,
            files::SCALER,
            files::METRICS,
            files::LOSS_PLOT,
            files::VOCAB,
        ] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
}

/// Refuses an `--out` that is a file, holds a run, or is not empty
/// (`resumable`: the run's kind can be continued with --resume, which the
/// message then offers).
///
/// A folder that holds a run another process is training refuses with that
/// process's id.
pub(crate) fn check_new_run_dir(out: &Path, resumable: bool) -> Result<()> {
    // Only the answer "busy" matters here: a folder this process cannot
    // write is refused below for what it holds.
    if out.join(files::CONFIG).is_file()
        && let Err(busy @ Error::Run { .. }) = RunLock::take(out)
    {
        return Err(busy);
    }
    check_contents(out, resumable)
}

fn check_contents(out: &Path, resumable: bool) -> Result<()> {
    if out.is_file() {
        return Err(Error::run(
            out,
            "is a file; --out needs a directory for the run",
        ));
    }
    if out.is_dir() {
        let mut entries = std::fs::read_dir(out).map_err(|e| Error::read(out, e))?;
        if out.join(files::CONFIG).exists() {
            let resume = if resumable {
                "pass --resume to continue it, or "
            } else {
                ""
            };
            return Err(Error::run(
                out,
                format!(
                    "already holds a run; {resume}choose another --out (vaekit never overwrites a run)"
                ),
            ));
        }
        if entries.any(|e| e.is_ok_and(|e| e.file_name() != files::LOCK)) {
            return Err(Error::run(
                out,
                "exists and is not empty; choose a new or empty folder for --out",
            ));
        }
    }
    Ok(())
}
