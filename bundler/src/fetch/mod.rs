//! Fetching over HTTPS on the connected side: TUF repositories and transparency-log
//! checkpoints with consistency proofs.
//!
//! Nothing fetched is trusted. A mirrored TUF repository is checked by tough while it is
//! fetched and verified afterwards, at the caller's reference time, with
//! `airlock_trust_root::LocalRepository::verify`; a log checkpoint's signature is verified by
//! the caller with the log key from the trusted root (`airlock_trust_root::verify_checkpoint`),
//! and Rekor v1 consistency proofs against the old root the caller holds.
//!
//! The public interface is:

mod error;
mod http;
mod log;
mod tiles;
mod tuf;
mod tuf_transport;

pub use error::FetchError;
pub use http::HttpClient;
pub(crate) use http::{classify, join, require_https};
pub use log::{ConsistencyProof, LogApi, LogEndpoint, LogSnapshot, fetch_log};
pub use tuf::{MirroredRepo, TufRemote, mirror_tuf};
