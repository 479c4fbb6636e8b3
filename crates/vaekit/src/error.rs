//! The library's one error type.
//!
//! Every message names the file or setting at fault and says what to change, so
//! the binary can print it as it is. [`Error::is_input_error`] separates problems
//! with what the user gave (bad files, bad settings: exit code 2) from failures
//! while doing the work (exit code 1).

use std::path::{Path, PathBuf};

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in vaekit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}; check the path and its permissions", path.display())]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}; check that the folder exists and is writable, and that the disk has room", path.display())]
    Write {
        /// The path that failed.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is not what its format requires (bad magic, truncation, ragged rows).
    #[error("{}: {message}", path.display())]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The data can be read but cannot be used (NaN, mismatched counts, mixed sizes).
    #[error("{0}")]
    Data(String),
    /// A setting is out of its valid range or contradicts another.
    #[error("invalid setting {name}: {message}")]
    Setting {
        /// The setting's name as the user writes it (`--latent`, `batch_size`).
        name: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A run directory is missing, incomplete, corrupt or does not match the request.
    #[error("run directory {}: {message}", path.display())]
    Run {
        /// The run directory.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// Training could not go on (for example, the loss kept being non-finite).
    #[error("training stopped: {0}")]
    Training(String),
    /// The user stopped training (Ctrl-C); the run keeps its last finished
    /// epoch.
    #[error("interrupted: the run keeps its last finished epoch ({epochs} finished)")]
    Interrupted {
        /// Epochs finished and saved before the stop.
        epochs: usize,
    },
}

impl Error {
    /// `true` when the error comes from what the user gave (a file, a setting, a
    /// run directory) rather than from a failure while doing the work.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            Error::Write { .. } | Error::Training(_) | Error::Interrupted { .. }
        )
    }

    pub(crate) fn read(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Read {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Write {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn setting(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Setting {
            name: name.into(),
            message: message.into(),
        }
    }

    pub(crate) fn run(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Run {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
}
