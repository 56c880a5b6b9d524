//! The offline appliance: import pipeline, policy, log witness, SQLite store, audit chain,
//! signed reports and HTTP.
//!
//! **Invariant:** only this crate knows SQL (in [`store`]) and HTTP (in `http`).

pub mod audit;
pub mod policy;
pub mod store;
pub mod appliance;
pub mod paths;
