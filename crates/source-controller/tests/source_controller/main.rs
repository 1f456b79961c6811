//! Integration tests of source-controller (one binary): the GitRepository controller on
//! the embedded API server, against real Git servers on loopback (a bare repository
//! over `file://` and over `git http-backend`).

mod fixtures;
mod git_auth;
mod git_content;
mod git_file;
mod git_http;
mod git_refs;
mod git_ssh;
mod git_verify;
