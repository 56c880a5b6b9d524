//! airlock-trust-root integration tests (one binary for the crate).

#[cfg(test)] // lets clippy treat fixture helpers as test code (unwrap allowed)
mod tuf;
