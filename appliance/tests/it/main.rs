//! The appliance's integration tests: one binary.

#![allow(clippy::unwrap_used)]

mod browser;
mod cli;
mod common;
mod crash;
mod http;
mod kept;
mod netns;
mod pages;
mod pipeline;
mod signin;
mod site;
