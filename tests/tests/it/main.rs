//! Integration tests of the testkit: determinism, proofs, servers, TUF, and the sigstore-python
//! cross-check.

mod common;
mod fixtures;
mod sigstore_python;
