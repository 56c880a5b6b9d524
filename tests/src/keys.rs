//! Deterministic key material: every key the kit uses is derived from the seed and a label.

use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

use crate::error::{KitError, Result, der_err};

/// A seed from which every key, serial number and signature of an [`crate::Instance`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// Derives 32 bytes for `label`: SHA-256("airlock-testkit" ‖ seed ‖ label ‖ counter).
    pub(crate) fn derive(&self, label: &str, counter: u32) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"airlock-testkit\0");
        h.update(self.0);
        h.update(label.as_bytes());
        h.update([0]);
        h.update(counter.to_be_bytes());
        h.finalize().into()
    }

    /// A P-256 ECDSA key for `label`.
    pub(crate) fn p256(&self, label: &str) -> EcKey {
        let mut counter = 0;
        loop {
            let bytes = self.derive(label, counter);
            // A 32-byte string is a valid scalar unless it is zero or ≥ n (probability ~2^-32).
            if let Ok(key) = SigningKey::from_bytes(&bytes.into()) {
                return EcKey { key };
            }
            counter += 1;
        }
    }

    /// An ed25519 key for `label`.
    pub(crate) fn ed25519(&self, label: &str) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.derive(label, 0))
    }
}

impl From<u64> for Seed {
    fn from(n: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        Seed(bytes)
    }
}

/// A P-256 ECDSA signing key (RFC 6979 deterministic signatures).
#[derive(Clone, Debug)]
pub struct EcKey {
    key: SigningKey,
}

impl EcKey {
    /// The underlying RustCrypto key.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// The SubjectPublicKeyInfo (PKIX) DER of the public key.
    pub fn spki_der(&self) -> Result<Vec<u8>> {
        Ok(self
            .key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| KitError::Invalid {
                what: "public key",
                detail: e.to_string(),
            })?
            .into_vec())
    }

    /// The SubjectPublicKeyInfo as an x509-cert structure.
    pub(crate) fn spki(&self) -> Result<spki::SubjectPublicKeyInfoOwned> {
        use der::Decode;
        spki::SubjectPublicKeyInfoOwned::from_der(&self.spki_der()?).map_err(der_err("SPKI"))
    }

    /// SHA-256 of the PKIX DER: Sigstore's log id / key id.
    pub fn key_id(&self) -> Result<[u8; 32]> {
        Ok(Sha256::digest(self.spki_der()?).into())
    }

    /// ECDSA-SHA256 over `msg`, DER encoded.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.key.sign(msg);
        sig.as_bytes().to_vec()
    }

    /// ECDSA over an already computed SHA-256 digest, DER encoded.
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> Result<Vec<u8>> {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let sig: p256::ecdsa::Signature =
            self.key
                .sign_prehash(digest)
                .map_err(|source| KitError::Sign {
                    what: "prehashed message",
                    source,
                })?;
        Ok(sig.to_der().as_bytes().to_vec())
    }

    /// The public key as PEM.
    pub fn public_pem(&self) -> Result<String> {
        self.key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .map_err(|e| KitError::Invalid {
                what: "public key",
                detail: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_key_different_label_different_key() {
        let s = Seed::from(7);
        assert_eq!(
            s.p256("a").spki_der().unwrap(),
            s.p256("a").spki_der().unwrap()
        );
        assert_ne!(
            s.p256("a").spki_der().unwrap(),
            s.p256("b").spki_der().unwrap()
        );
        assert_ne!(
            Seed::from(8).p256("a").spki_der().unwrap(),
            s.p256("a").spki_der().unwrap()
        );
    }

    #[test]
    fn signatures_are_deterministic() {
        let k = Seed::from(1).p256("k");
        assert_eq!(k.sign(b"m"), k.sign(b"m"));
    }
}
