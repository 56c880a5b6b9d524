//! Integration tests of the testkit: determinism, proofs, servers, TUF, and the sigstore-python
//! cross-check.

// Helpers outside #[test] fns are test code too: a panic is how they report a failure.
#![allow(clippy::unwrap_used)]

mod common;
mod demo;
mod fixtures;
mod modules;
#[path = "../../common/outside.rs"]
mod outside;
mod servers;
mod sigstore_python;
mod tuf;
