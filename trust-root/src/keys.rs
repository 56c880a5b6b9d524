//! Public keys in every form a Sigstore trusted root or bundle carries, and signature checks.
//!
//! Keys are parsed once into an [`aws_lc_rs`] key so that repeated verifications (every bundle
//! checked against the same log or CA key) do no parsing.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoRef;

/// The hash a signature was made over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }

    /// Hashes `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.aws(), data).as_ref().to_vec()
    }

    /// A running hash, for data that arrives in pieces.
    pub(crate) fn context(self) -> digest::Context {
        digest::Context::new(self.aws())
    }

    /// The lowercase name in-toto digest sets and Rekor v1 bodies use (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// The algorithm an in-toto digest set or a Rekor v1 body names, if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        })
    }
}

/// The family of a key, which fixes the signature schemes it can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    /// RSA verifying PKCS#1 v1.5 signatures.
    RsaPkcs1,
    /// RSA verifying PSS signatures.
    RsaPss,
}

impl KeyKind {
    /// The hash a key of this kind signs with when nothing else says otherwise.
    pub fn default_hash(self) -> HashAlgorithm {
        match self {
            Self::EcdsaP384 => HashAlgorithm::Sha384,
            Self::EcdsaP521 => HashAlgorithm::Sha512,
            _ => HashAlgorithm::Sha256,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EcdsaP256 => "ECDSA P-256",
            Self::EcdsaP384 => "ECDSA P-384",
            Self::EcdsaP521 => "ECDSA P-521",
            Self::Ed25519 => "Ed25519",
            Self::RsaPkcs1 => "RSA PKCS#1 v1.5",
            Self::RsaPss => "RSA PSS",
        })
    }
}

/// Why a key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("public key is not valid DER SubjectPublicKeyInfo")]
    Malformed,
    #[error("unsupported public key algorithm {0}")]
    UnsupportedAlgorithm(String),
    #[error("{kind} key cannot verify with {hash:?}")]
    UnsupportedHash { kind: KeyKind, hash: HashAlgorithm },
    #[error("public key rejected by the crypto library: {0}")]
    Rejected(String),
    #[error("PEM public key is malformed")]
    Pem,
}

/// A parsed public key, ready to verify signatures.
#[derive(Clone)]
pub struct PublicKey {
    kind: KeyKind,
    /// The SubjectPublicKeyInfo DER this key was read from (or its equivalent for PKCS#1 input).
    spki_der: Vec<u8>,
    /// The key in the form the crypto library takes (SPKI for EC and RSA, raw 32 bytes for Ed25519).
    library_bytes: Vec<u8>,
    /// The key parsed for its default hash; other hashes parse on demand.
    parsed: ParsedPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .field("id", &hex::encode(self.key_id()))
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.library_bytes == other.library_bytes
    }
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo, choosing RSA PKCS#1 v1.5 for RSA keys.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_spki_der_with_rsa(der, KeyKind::RsaPkcs1)
    }

    /// Reads a DER SubjectPublicKeyInfo; an RSA key verifies with `rsa` (PKCS#1 or PSS).
    pub fn from_spki_der_with_rsa(der: &[u8], rsa: KeyKind) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        let oid = spki.algorithm.oid;
        let kind = if oid == rfc5912::ID_EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters_oid()
                .map_err(|_| KeyError::Malformed)?;
            match curve {
                rfc5912::SECP_256_R_1 => KeyKind::EcdsaP256,
                rfc5912::SECP_384_R_1 => KeyKind::EcdsaP384,
                rfc5912::SECP_521_R_1 => KeyKind::EcdsaP521,
                other => return Err(KeyError::UnsupportedAlgorithm(format!("EC curve {other}"))),
            }
        } else if oid == rfc8410::ID_ED_25519 {
            KeyKind::Ed25519
        } else if oid == rfc5912::RSA_ENCRYPTION || oid == rfc5912::ID_RSASSA_PSS {
            rsa
        } else {
            return Err(KeyError::UnsupportedAlgorithm(oid.to_string()));
        };
        let library_bytes = match kind {
            KeyKind::Ed25519 => spki.subject_public_key.raw_bytes().to_vec(),
            _ => der.to_vec(),
        };
        Self::new(kind, der.to_vec(), library_bytes)
    }

    /// Reads a DER PKCS#1 `RSAPublicKey` (the trusted root's `PKCS1_RSA_*` key details).
    pub fn from_pkcs1_der(der: &[u8], kind: KeyKind) -> Result<Self, KeyError> {
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(der::asn1::Null.into()),
            },
            subject_public_key: der::asn1::BitString::from_bytes(der)
                .map_err(|_| KeyError::Malformed)?,
        };
        let spki_der = spki.to_der().map_err(|_| KeyError::Malformed)?;
        Self::new(kind, spki_der.clone(), spki_der)
    }

    /// Reads a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem).ok_or(KeyError::Pem)?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Pem);
        }
        Self::from_spki_der(&der)
    }

    fn new(kind: KeyKind, spki_der: Vec<u8>, library_bytes: Vec<u8>) -> Result<Self, KeyError> {
        let algorithm = algorithm(kind, kind.default_hash())?;
        let parsed = ParsedPublicKey::new(algorithm, &library_bytes)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(Self {
            kind,
            spki_der,
            library_bytes,
            parsed,
        })
    }

    /// What kind of key this is.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: Rekor's log id and Sigstore's key hint.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// Verifies `signature` over `message`, hashed with the key's default hash.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BadSignature> {
        self.parsed
            .verify_sig(message, signature)
            .map_err(|_| BadSignature)
    }

    /// Verifies `signature` over `message` hashed with `hash`.
    pub fn verify_with(
        &self,
        hash: HashAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyWithError> {
        if hash == self.kind.default_hash() {
            return Ok(self.verify(message, signature)?);
        }
        let algorithm = algorithm(self.kind, hash)?;
        signature::UnparsedPublicKey::new(algorithm, &self.library_bytes)
            .verify(message, signature)
            .map_err(|_| VerifyWithError::BadSignature)
    }

    /// Verifies `signature` over a message known only by its `hash`-digest.
    pub fn verify_prehashed(
        &self,
        hash: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyWithError> {
        if self.kind == KeyKind::Ed25519 {
            // Pure Ed25519 signs the message itself; a digest alone cannot be checked.
            return Err(KeyError::UnsupportedHash {
                kind: self.kind,
                hash,
            }
            .into());
        }
        let algorithm = algorithm(self.kind, hash)?;
        let digest = digest::Digest::import_less_safe(digest, hash.aws())
            .map_err(|_| VerifyWithError::BadSignature)?;
        signature::UnparsedPublicKey::new(algorithm, &self.library_bytes)
            .verify_digest(&digest, signature)
            .map_err(|_| VerifyWithError::BadSignature)
    }
}

/// A signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// A signature check with a chosen hash failed, or the key cannot use that hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyWithError {
    #[error("signature does not verify")]
    BadSignature,
    #[error(transparent)]
    Key(#[from] KeyError),
}

impl From<BadSignature> for VerifyWithError {
    fn from(_: BadSignature) -> Self {
        Self::BadSignature
    }
}

fn algorithm(
    kind: KeyKind,
    hash: HashAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, KeyError> {
    use HashAlgorithm::*;
    Ok(match (kind, hash) {
        (KeyKind::EcdsaP256, Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeyKind::EcdsaP256, Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
        (KeyKind::EcdsaP256, Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
        (KeyKind::EcdsaP384, Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
        (KeyKind::EcdsaP384, Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeyKind::EcdsaP384, Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
        (KeyKind::EcdsaP521, Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
        (KeyKind::EcdsaP521, Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeyKind::Ed25519, Sha512 | Sha256) => &signature::ED25519,
        (KeyKind::RsaPkcs1, Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::RsaPkcs1, Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::RsaPkcs1, Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeyKind::RsaPss, Sha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (KeyKind::RsaPss, Sha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (KeyKind::RsaPss, Sha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (kind, hash) => return Err(KeyError::UnsupportedHash { kind, hash }),
    })
}

/// Decodes the first PEM block in `text`: its label and its bytes.
pub(crate) fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    let body_start = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_start.find(&end_marker)?;
    let body: String = body_start[..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    Some((label.to_owned(), der))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwr
kBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==
-----END PUBLIC KEY-----";

    #[test]
    fn reads_pem_p256_key_and_hashes_its_spki() {
        let key = PublicKey::from_pem(P256_PEM).unwrap();
        assert_eq!(key.kind(), KeyKind::EcdsaP256);
        // Rekor's production log id is SHA-256 of exactly this key's DER.
        assert_eq!(
            hex::encode(key.key_id()),
            "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            PublicKey::from_spki_der(b"nope").unwrap_err(),
            KeyError::Malformed
        );
        assert_eq!(PublicKey::from_pem("hello").unwrap_err(), KeyError::Pem);
    }

    #[test]
    fn wrong_signature_is_rejected() {
        let key = PublicKey::from_pem(P256_PEM).unwrap();
        assert_eq!(key.verify(b"msg", &[0x30, 0x00]), Err(BadSignature));
    }
}
