//! The testkit: a private Sigstore-like instance minting real-format fixtures (issue 4), the TUF
//! repositories that carry its trusted root, and loopback servers for logs and repositories.
//!
//! Everything is deterministic: the same [`Seed`] and base time give byte-identical outputs.
//! Nothing here reads the clock; times are parameters.
//!
//! ```
//! use airlock_tests::{Instance, Knobs, LogServer, SctMode, SignOptions, TufRepoBuilder};
//!
//! let base = chrono::DateTime::from_timestamp(1_768_478_400, 0).expect("a valid time");
//! let mut sigstore = Instance::new(7, base)?;
//! let opts = SignOptions::workload("https://ci.example/release.yml@refs/heads/main", "https://token.ci.example");
//! let good = sigstore.sign_blob(b"artifact", &opts)?;
//! let no_sct = sigstore.sign_blob(
//!     b"artifact",
//!     &opts.clone().with_knobs(Knobs { sct: SctMode::Missing, ..Knobs::default() }),
//! )?;
//! assert_ne!(good.json, no_sct.json);
//!
//! let trusted_root = sigstore.trusted_root_json()?;
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let repo = TufRepoBuilder::new(7, base).trusted_root(trusted_root).write(dir.path())?;
//! assert!(repo.metadata_dir.join("timestamp.json").exists());
//!
//! let server = LogServer::start(sigstore.log())?; // http://127.0.0.1:PORT, stops on drop
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! # Ok::<(), airlock_tests::KitError>(())
//! ```

mod attest;
mod ca;
mod canonical;
mod cosign;
mod ct;
mod error;
mod github;
mod instance;
mod keys;
mod log;
mod oci;
mod packages;
mod registry;
mod server;
mod shape;
mod tls;
mod tsa;
mod tuf;
mod world;
mod x509;

pub use attest::{IN_TOTO_PAYLOAD_TYPE, Package, Predicate, Provenance, STATEMENT_V1, pae};
pub use ca::{Identity, OIDC_ISSUER_V1_OID, OIDC_ISSUER_V2_OID, SctMode};
pub use canonical::canonical_json;
pub use cosign::{
    COSIGN_DSSE_MEDIA_TYPE, COSIGN_SIMPLE_SIGNING_MEDIA_TYPE, CosignLayer, EntryFault, LegacyKind,
    simple_signing_payload,
};
pub use error::{KitError, Result};
pub use github::{GithubAsset, GithubPaths, GithubServer, Hit};
pub use instance::{
    BUNDLE_V03_MEDIA_TYPE, CertValidity, CheckpointMode, Instance, Knobs, LEAF_VALIDITY_SECS,
    MintedBundle, SignOptions, TRUSTED_ROOT_MEDIA_TYPE, TimestampMode,
};
pub use keys::{EcKey, Seed};
pub use log::{LogEntry, SignedCheckpoint, TransparencyLog};
pub use oci::{OCI_MANIFEST_MEDIA_TYPE, OciLayout, OciManifest};
pub use packages::{
    NPM_PUBLISH_PREDICATE, NpmPaths, PYPI_PUBLISH_PREDICATE, PackageServer, PypiFile, PypiPaths,
    npm_integrity, pep740_attestation,
};
pub use registry::{Registry, RegistryAuth, RegistryOptions, Scripted, ScriptedServer, sha256};
pub use server::{LogServer, StaticServer};
pub use shape::{
    BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BundleVersion, CertificateMaterial,
    DigestAlgorithm, EntryKind, FOREIGN_OTHERNAME_OID, FULCIO_OTHERNAME_OID, KeyAlgorithm,
    LeafQuirks, ProofShape, SanForm, Shape, UNKNOWN_EXTENSION_OID,
};
pub use tls::TlsMaterial;
pub use tuf::{TufRepo, TufRepoBuilder};
pub use world::{
    ArtifactPlan, BUILDER_ID, ISSUER, SOURCE_URI, Signing, TRUSTED_IDENTITY, TUF_NAME,
    UNTRUSTED_IDENTITY, World,
};
pub use x509::cert_pem;
