//! Real-world bundle shapes: the forms real Sigstore deployments produce besides the kit's
//! default (v0.3, one certificate, SET + proof + checkpoint, dsse 0.0.1, P-256 over SHA-256).
//!
//! A [`Shape`] says *how* a bundle is laid out; [`crate::Knobs`] say what is *broken* in it.
//! [`Shape::default`] is exactly what the kit minted before shapes existed. Some shapes are
//! malformed on purpose (an out-of-order chain, a v0.3 bundle with a chain, a proof without a
//! checkpoint, an unknown critical extension), so verifiers can be tested on them.

use const_oid::ObjectIdentifier;

/// The bundle format version, i.e. its `mediaType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BundleVersion {
    /// `application/vnd.dev.sigstore.bundle+json;version=0.1`.
    V0_1,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.2`.
    V0_2,
    /// `application/vnd.dev.sigstore.bundle.v0.3+json` (the kit's default).
    #[default]
    V0_3,
}

/// Media type of v0.1 bundles.
pub const BUNDLE_V01_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
/// Media type of v0.2 bundles.
pub const BUNDLE_V02_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle+json;version=0.2";
/// Media type of v0.3 bundles (what the kit mints unless a shape asks for another).
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

impl BundleVersion {
    /// The bundle's `mediaType` for this version.
    pub fn media_type(self) -> &'static str {
        match self {
            BundleVersion::V0_1 => BUNDLE_V01_MEDIA_TYPE,
            BundleVersion::V0_2 => BUNDLE_V02_MEDIA_TYPE,
            BundleVersion::V0_3 => BUNDLE_V03_MEDIA_TYPE,
        }
    }
}

/// How `verificationMaterial` names a keyless signer (managed-key bundles ignore this).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CertificateMaterial {
    /// `certificate`: the leaf alone (v0.3 style; the default).
    #[default]
    Certificate,
    /// `x509CertificateChain` holding only the leaf.
    ChainLeaf,
    /// `x509CertificateChain`: leaf, intermediate.
    ChainToIntermediate,
    /// `x509CertificateChain`: leaf, intermediate, root (root last), as old clients sent it.
    ChainToRoot,
    /// `x509CertificateChain`: leaf, root, intermediate (out of order).
    ChainOutOfOrder,
}

/// What proves the log entry was logged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProofShape {
    /// Signed entry timestamp, inclusion proof and checkpoint (the default).
    #[default]
    Full,
    /// Only the signed entry timestamp ("inclusion promise"), no inclusion proof, as v0.1
    /// bundles may be.
    PromiseOnly,
    /// Signed entry timestamp and an inclusion proof without its `checkpoint`.
    ProofWithoutCheckpoint,
}

/// The log entry kind an attestation (a DSSE envelope) is recorded as. Message signatures are
/// always `hashedrekord 0.0.1`; asking for another kind with [`crate::Instance::sign_blob`] is
/// an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryKind {
    /// `dsse 0.0.1` (Rekor v1; the default).
    #[default]
    Dsse001,
    /// `intoto 0.0.2` as Rekor v1 stores it: the envelope without its `payload`, `sig` as
    /// base64 of the base64 signature and `publicKey` as base64 of the PEM certificate.
    Intoto002,
    /// `dsse 0.0.2` as Rekor v2 logs it (`spec.dsseV002`: payload hash, signature and the
    /// verifier's DER certificate). Combine with [`crate::Knobs::omit_promise`] and a timestamp
    /// for a faithful Rekor v2 bundle.
    Dsse002,
}

/// The leaf (or managed) signing key's curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 (the default).
    #[default]
    P256,
    /// ECDSA P-384.
    P384,
    /// ECDSA P-521.
    P521,
}

impl KeyAlgorithm {
    /// The trusted-root / Rekor v2 `keyDetails` name for this key with its natural hash.
    pub fn key_details(self) -> &'static str {
        match self {
            KeyAlgorithm::P256 => "PKIX_ECDSA_P256_SHA_256",
            KeyAlgorithm::P384 => "PKIX_ECDSA_P384_SHA_384",
            KeyAlgorithm::P521 => "PKIX_ECDSA_P521_SHA_512",
        }
    }
}

/// A digest algorithm, for message digests, hashedrekord entries and in-toto subjects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// SHA-256 (the default).
    #[default]
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The name in bundles' `messageDigest.algorithm` (`SHA2_256`, …).
    pub fn bundle_name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA2_256",
            DigestAlgorithm::Sha384 => "SHA2_384",
            DigestAlgorithm::Sha512 => "SHA2_512",
        }
    }

    /// The name in Rekor v1 entries and in-toto digest sets (`sha256`, …).
    pub fn rekor_name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
}

/// Fulcio's `otherName` SAN type for username identities (a UTF8String).
pub const FULCIO_OTHERNAME_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// An `otherName` SAN type no Sigstore deployment defines (a private-enterprise arc).
pub const FOREIGN_OTHERNAME_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
/// The OID of the unknown extension [`LeafQuirks::unknown_critical_extension`] adds.
pub const UNKNOWN_EXTENSION_OID: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.2");

/// How the leaf certificate's SAN carries the identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SanForm {
    /// A URI or rfc822Name SAN, as [`crate::Identity`] says (the default).
    #[default]
    Standard,
    /// Only an `otherName` SAN of this type holding the identity as a UTF8String.
    OtherName(ObjectIdentifier),
}

/// Oddities in the leaf certificate. The default has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeafQuirks {
    /// How the SAN carries the identity.
    pub san: SanForm,
    /// Add an extension [`UNKNOWN_EXTENSION_OID`] marked critical (its value a DER NULL).
    pub unknown_critical_extension: bool,
    /// The TBS `signature` AlgorithmIdentifier says ecdsa-with-SHA384 while the outer
    /// `signatureAlgorithm` says ecdsa-with-SHA256; the CA's signature (ECDSA P-256 with
    /// SHA-256 over that TBS) is otherwise correct.
    pub inner_signature_algorithm_mismatch: bool,
}

/// How a minted bundle is laid out. The default is the kit's historical output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The bundle version (media type).
    pub version: BundleVersion,
    /// How the signer's certificate is carried.
    pub material: CertificateMaterial,
    /// What proves the log entry.
    pub proof: ProofShape,
    /// The entry kind of attestations.
    pub entry: EntryKind,
    /// The keyless leaf key's curve.
    pub key: KeyAlgorithm,
    /// For message signatures: the digest the signature is made over, named in the bundle's
    /// `messageDigest` and the hashedrekord entry's `data.hash`.
    pub message_digest: DigestAlgorithm,
    /// Oddities in the leaf certificate.
    pub leaf: LeafQuirks,
}
