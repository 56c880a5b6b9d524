//! Integration tests for airlock-trust-root (one binary for the crate).

#[cfg(test)] // lets clippy treat fixture helpers as test code (unwrap allowed)
mod conformance;
#[cfg(test)]
#[path = "../../../tests/common/outside.rs"]
mod outside;
#[cfg(test)]
mod steps;
#[cfg(test)]
mod tuf;
