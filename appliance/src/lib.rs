//! The offline appliance: import pipeline, policy, log witness, SQLite store, audit chain,
//! signed reports and HTTP.
//!
//! **Invariant:** only this crate knows SQL (in [`store`]) and HTTP (in `http`).

pub mod audit;
pub mod policy;
pub mod store;
pub mod appliance;
pub mod paths;
pub mod pipeline;
pub mod policy_store;
pub mod vsa;
pub mod witness_state;
pub mod init;
pub mod admin;
pub mod auth;
pub mod tls;
pub mod inbox;
pub mod http;
