//! The testkit: a private Sigstore-like instance minting real-format fixtures (issue 4), the TUF
//! repositories that carry its trusted root, and loopback servers for logs and repositories.
//!
//! Everything is deterministic: the same [`Seed`] and base time give byte-identical outputs.
//! Nothing here reads the clock; times are parameters.

mod attest;
mod ca;
mod canonical;
mod ct;
mod error;
mod instance;
mod keys;
mod log;
mod server;
mod tls;
mod tsa;
mod tuf;
mod x509;

pub use attest::{IN_TOTO_PAYLOAD_TYPE, Package, Predicate, Provenance, STATEMENT_V1, pae};
pub use ca::{Identity, OIDC_ISSUER_V1_OID, OIDC_ISSUER_V2_OID, SctMode};
pub use canonical::canonical_json;
pub use error::{KitError, Result};
pub use instance::{
    BUNDLE_V03_MEDIA_TYPE, CertValidity, CheckpointMode, Instance, Knobs, LEAF_VALIDITY_SECS,
    MintedBundle, SignOptions, TRUSTED_ROOT_MEDIA_TYPE, TimestampMode,
};
pub use keys::{EcKey, Seed};
pub use log::{LogEntry, SignedCheckpoint, TransparencyLog};
pub use server::{LogServer, StaticServer};
pub use tls::TlsMaterial;
pub use tuf::{RoleSpec, RootSpec, TufRepo, TufRepoBuilder};
pub use x509::cert_pem;
