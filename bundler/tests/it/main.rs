//! Integration tests for the `airlock-bundler` binary.

mod verify_bundle;
