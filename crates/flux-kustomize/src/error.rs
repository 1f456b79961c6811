//! Build errors: each names the file (or kustomization), the field and the reason.

use std::path::PathBuf;

/// Why a kustomize build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No kustomization file in a directory that must hold one.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
        dir.display()
    )]
    MissingKustomization {
        /// The directory searched.
        dir: PathBuf,
    },
    /// More than one kustomization file in a directory.
    #[error("Found multiple kustomization files under: {}", dir.display())]
    MultipleKustomizations {
        /// The directory searched.
        dir: PathBuf,
    },
    /// The kustomization file does not decode into a Kustomization.
    #[error("{}: invalid Kustomization: {reason}", file.display())]
    InvalidKustomization {
        /// The kustomization file.
        file: PathBuf,
        /// What is wrong (names the field).
        reason: String,
    },
    /// The kustomization file sets nothing.
    #[error("{}: kustomization.yaml is empty", file.display())]
    EmptyKustomization {
        /// The kustomization file.
        file: PathBuf,
    },
    /// A file outside the kustomization root, refused by `LoadRestrictionsRootOnly`.
    #[error("security; file '{}' is not in or below '{}'", file.display(), root.display())]
    LoadRestriction {
        /// The file asked for.
        file: PathBuf,
        /// The kustomization root.
        root: PathBuf,
    },
    /// A file could not be read.
    #[error("evalsymlink failure on '{}' : {}", path.display(), go_io_error(path, cause))]
    ReadFile {
        /// The file asked for.
        path: PathBuf,
        /// The cause (worded into the message, so not repeated as a source).
        cause: std::io::Error,
    },
    /// A file is not valid YAML (or not Kubernetes objects).
    #[error("{}: {reason}", file.display())]
    ParseResource {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A field of a kustomization (or of a file it names) is wrong or cannot be applied.
    #[error("{}: field '{field}': {reason}", file.display())]
    Field {
        /// The kustomization (or patch/config) file.
        file: PathBuf,
        /// The field, e.g. `patches[2].target`.
        field: String,
        /// Why.
        reason: String,
    },
    /// Remote resources (URLs, git) are not fetched by this engine.
    #[error(
        "{}: field '{field}': remote resource '{url}' is not supported (remote bases are disabled)",
        file.display()
    )]
    RemoteResource {
        /// The kustomization file.
        file: PathBuf,
        /// The field.
        field: String,
        /// The URL.
        url: String,
    },
    /// Exec/container plugins and KRM functions are refused.
    #[error(
        "{}: field '{field}': external plugins disabled; unable to load external plugin '{kind}'",
        file.display()
    )]
    ExternalPlugin {
        /// The kustomization file.
        file: PathBuf,
        /// The field (`generators`, `transformers`, `validators`).
        field: String,
        /// The plugin kind.
        kind: String,
    },
    /// Two resources with the same id were accumulated.
    #[error("may not add resource with an already registered id: {id} (while accumulating {})", file.display())]
    DuplicateResource {
        /// The resource id.
        id: String,
        /// The kustomization file being built.
        file: PathBuf,
    },
    /// A kustomization includes itself, directly or not.
    #[error("cycle detected: {} is already being built", dir.display())]
    Cycle {
        /// The directory.
        dir: PathBuf,
    },
    /// An error from a nested kustomization, with where it was reached from.
    #[error("{context}: {cause}")]
    Nested {
        /// How the nested build was reached.
        context: String,
        /// The cause (worded into the message, so not repeated as a source).
        cause: Box<Error>,
    },
}

/// An I/O error worded as Go's `os` package words it.
fn go_io_error(path: &std::path::Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("lstat {}: no such file or directory", path.display())
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("open {}: permission denied", path.display())
        }
        _ => e.to_string(),
    }
}

impl Error {
    pub(crate) fn field(
        file: &std::path::Path,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Field {
            file: file.to_path_buf(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn nested(self, context: impl Into<String>) -> Self {
        Error::Nested {
            context: context.into(),
            cause: Box::new(self),
        }
    }
}
