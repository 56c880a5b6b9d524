//! Integration tests for airlock-trust-root.

mod conformance;
