//! Airlock's archive format, publisher keys and the staff CLI's building blocks.
//!
//! - [`archive`]: the signed, streamed `.airlock.tar.zst` format (manifest types, writer,
//!   one-pass reader).
//! - [`keys`]: publisher keys (ed25519, PKCS#8 PEM) and their ids.
//! - [`oci`]: image manifests and indexes, walked from the signed digest (pull and site alike).
//! - [`check`]: the offline check of an archive's contents, as the site will make it.
//! - [`create`] and [`spec`]: `bundle.toml` in, signed archive out (with preflight).
//! - [`fetch`]: the connected side's HTTPS fetching of TUF repositories and log checkpoints.
//! - [`collect`]: images and their evidence (referrers) pulled straight from registries.
//!
//! `create`, `spec`, `fetch` and `collect` are the connected side's (feature `connected`, on by default);
//! the site's appliance builds without them, so it links no network client.

pub mod archive;
pub mod check;
#[cfg(feature = "connected")]
pub mod collect;
#[cfg(feature = "connected")]
pub mod create;
#[cfg(feature = "connected")]
pub mod fetch;
pub mod keys;
pub mod oci;
pub mod pause;
#[cfg(feature = "connected")]
pub mod progress;
#[cfg(feature = "connected")]
pub mod spec;
