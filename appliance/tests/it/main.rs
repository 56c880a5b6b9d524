//! The appliance's integration tests: one binary.

#![allow(clippy::unwrap_used)]

mod browser;
mod cli;
mod common;
mod crash;
mod deps;
mod http;
mod netns;
mod pages;
mod pipeline;
mod realworld;
mod site;
