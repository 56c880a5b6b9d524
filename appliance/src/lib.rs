//! The offline appliance: import pipeline, policy, log witness, SQLite store, audit chain,
//! signed reports and HTTP.
//!
//! **Invariant:** only this crate knows SQL (in [`store`]) and HTTP (in `http`).

pub mod admin;
pub mod appliance;
pub mod audit;
pub mod auth;
pub mod http;
pub mod inbox;
pub mod init;
pub mod integrity;
pub mod lock;
pub mod paths;
pub mod pipeline;
pub mod policy;
pub mod policy_store;
pub mod registry;
pub mod report;
pub mod sbom;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod tls;
pub mod vsa;
pub mod witness_state;
