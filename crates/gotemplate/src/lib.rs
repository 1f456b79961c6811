//! gotemplate (work in progress).
