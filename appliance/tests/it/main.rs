//! The appliance's integration tests: one binary.

#![allow(clippy::unwrap_used)]

mod artifacts;
mod audit_heads;
mod audit_log;
mod browser;
mod charts;
mod cli;
mod collect;
mod collect_all;
mod common;
mod components;
mod crash;
mod deps;
mod edges;
mod exceptions;
mod exports;
mod first_run;
mod http;
mod kept;
mod lock;
mod netns;
#[path = "../../../tests/common/outside.rs"]
mod outside;
mod packages;
mod pages;
mod pipeline;
mod realworld;
mod registry;
mod registry_clients;
mod report;
mod signin;
mod site;
