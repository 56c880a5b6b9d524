//! The appliance's integration tests: one binary.

#![allow(clippy::unwrap_used)]

mod common;
mod http;
mod pipeline;
mod site;
mod crash;
mod netns;
