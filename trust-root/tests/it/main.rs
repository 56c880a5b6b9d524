//! airlock-trust-root integration tests (one binary for the crate).

mod tuf;
