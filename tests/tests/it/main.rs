//! Integration tests of the testkit: determinism, proofs, servers, TUF, and the sigstore-python
//! cross-check.

mod common;
mod sigstore_python;
