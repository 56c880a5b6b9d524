//! airlock-bundler integration tests: the built binary, run as staff would run it.

mod trust;
