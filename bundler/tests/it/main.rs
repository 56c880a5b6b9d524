//! airlock-bundler integration tests: the built binary, run as staff would run it.

#[cfg(test)]
mod archive;
#[cfg(test)]
mod collect;
#[cfg(test)]
mod create;
#[cfg(test)]
mod fetch;
#[cfg(test)]
mod github;
#[cfg(test)]
mod keygen;
#[cfg(test)]
#[path = "../../../tests/common/outside.rs"]
mod outside;
#[cfg(test)]
mod packages;
#[cfg(test)]
mod realworld;
#[cfg(test)]
mod realworld_rules;
#[cfg(test)]
mod recording;
#[cfg(test)] // lets clippy treat fixture helpers as test code (unwrap allowed)
mod testkit_bundles;
#[cfg(test)]
mod trust;
#[cfg(test)]
mod verify_bundle;
