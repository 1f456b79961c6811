//! Integration tests of flux-dev: the bundled examples/ tree copied into a temporary Git
//! repository, reconciled by the embedded API server and the in-process controllers.

mod fixtures;
mod live;
mod once;
