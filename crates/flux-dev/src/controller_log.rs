//! The `flux dev` log: what the in-process controllers log (tracing events), as JSON
//! lines appended to `DATA_DIR/flux-dev.log`, so the terminal keeps the status tree and
//! `flux logs` (or `tail -f`) can read the controllers' messages.

use std::path::{Path, PathBuf};

/// The log file under a data directory.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("flux-dev.log")
}

/// Why the log could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file could not be opened.
    #[error("opening the log file '{path}': {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another global tracing subscriber is already installed.
    #[error("installing the log subscriber: {message}")]
    Install { message: String },
}

/// Installs the process-wide subscriber writing JSON lines to [`log_path`]; the level
/// filter comes from `FLUX_DEV_LOG` (tracing's env-filter syntax), default `info`.
/// Call once, from the binary, before [`crate::Session::start`].
pub fn init(data_dir: &Path) -> Result<PathBuf, LogError> {
    let path = log_path(data_dir);
    std::fs::create_dir_all(data_dir).map_err(|source| LogError::Open {
        path: path.clone(),
        source,
    })?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| LogError::Open {
            path: path.clone(),
            source,
        })?;
    let filter = std::env::var("FLUX_DEV_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .json()
        .try_init()
        .map_err(|e| LogError::Install {
            message: e.to_string(),
        })?;
    Ok(path)
}
