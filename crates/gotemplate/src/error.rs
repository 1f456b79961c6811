//! Errors, formatted as Go's text/template formats them.

use std::fmt;

/// A template error. `Display` matches Go's text (Helm parses it).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Parsing failed: `template: NAME:LINE: MESSAGE`.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        name: String,
        line: usize,
        message: String,
    },
    /// Execution failed at a node:
    /// `template: FILE:LINE:COL: executing "NAME" at <CONTEXT>: MESSAGE`.
    #[error("template: {file}:{line}:{col}: executing {template:?} at <{context}>: {message}")]
    Exec {
        /// The file the failing node was parsed from.
        file: String,
        line: usize,
        /// Byte column, 0-based, as Go reports it.
        col: usize,
        /// The template being executed (a `define` name or the file name).
        template: String,
        /// The failing node as source text (truncated to 20 bytes as Go does).
        context: String,
        message: String,
        /// The template error a function call returned (`include`, `tpl`), if any.
        cause: Option<Box<Error>>,
    },
    /// `execute` named a template that does not exist.
    #[error("template: no template {name:?} associated with template {set:?}")]
    NoTemplate { name: String, set: String },
}

impl Error {
    /// The innermost execution error in a chain of `include`/`tpl` calls.
    pub fn innermost(&self) -> &Error {
        let mut e = self;
        while let Error::Exec {
            cause: Some(inner), ..
        } = e
        {
            e = inner;
        }
        e
    }
}

/// An error returned by a template function.
#[derive(Debug)]
pub enum FuncError {
    /// Reported as `error calling NAME: MESSAGE`.
    Message(String),
    /// A nested template execution failed (reported as `error calling NAME: <error>`).
    Template(Box<Error>),
    /// Argument count problems, reported at the function name without the
    /// `error calling` prefix, as Go does.
    Usage(String),
    /// A bad argument (0-based `index` among the call's arguments, the piped value last),
    /// reported at that argument without prefix, as Go does.
    ArgType {
        index: usize,
        expected: String,
        got: String,
    },
}

impl FuncError {
    /// A plain message error.
    pub fn msg(m: impl fmt::Display) -> Self {
        FuncError::Message(m.to_string())
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuncError::Message(m) | FuncError::Usage(m) => f.write_str(m),
            FuncError::ArgType { expected, got, .. } => {
                write!(f, "wrong type for value; expected {expected}; got {got}")
            }
            FuncError::Template(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FuncError {}

impl From<Error> for FuncError {
    fn from(e: Error) -> Self {
        FuncError::Template(Box::new(e))
    }
}
