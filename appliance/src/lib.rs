//! The offline appliance: import pipeline, policy, log witness, SQLite store, audit chain,
//! signed reports and HTTP.
//!
//! **Invariant:** only this crate knows SQL (in [`store`]) and HTTP (in `http`).
//!
//! The public surface, by who uses it:
//! - the `airlock-appliance` binary and operators' scripts: [`appliance::Appliance`] (an
//!   opened data folder), [`init`], [`pipeline`] (imports and recovery), [`admin`] (every
//!   audited change), [`exception`] (releasing a failed artifact by exception), [`inbox`],
//!   [`http`] (`serve`), [`audit`] (verify and export the chain),
//!   [`integrity`], [`witness_state`], [`registry`] (pull tokens), [`lock`];
//! - readers of what the site stored: [`store`] (typed rows; reads through
//!   [`store::Reader`], which SQLite keeps read-only), [`report`] (the versioned artifact
//!   report), [`policy`], [`sbom`], [`vsa`], [`auth`] (roles and sessions).
//!
//! Settings keys, the policy store, the data folder's layout, sign-in throttling and TLS set-up
//! are internal; the settings keys a caller may set are re-exported by [`pipeline`].

pub mod admin;
pub mod appliance;
pub mod audit;
pub mod auth;
pub mod exception;
pub mod export;
pub mod http;
pub mod inbox;
pub mod init;
pub mod integrity;
pub mod lock;
mod paths;
pub mod pipeline;
pub mod policy;
mod policy_store;
pub mod registry;
pub mod report;
pub mod sbom;
mod settings;
pub mod store;
mod throttle;
mod tls;
pub mod vsa;
pub mod witness_state;

pub use paths::DataDir;
