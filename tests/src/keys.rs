//! Deterministic key material: every key the kit uses is derived from the seed and a label.

use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};

use crate::error::{KitError, Result, der_err};
use crate::shape::{DigestAlgorithm, KeyAlgorithm};

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

    /// A key on `curve` for `label`. P-256 keys are exactly [`Seed::p256`]'s.
    pub(crate) fn leaf_key(&self, curve: KeyAlgorithm, label: &str) -> LeafKey {
        let mut counter = 0;
        loop {
            // Enough derived bytes for the curve's scalar (66 for P-521, top 7 bits cleared).
            let mut bytes = Vec::with_capacity(96);
            for block in 0..3 {
                bytes.extend_from_slice(&self.derive(&format!("{label}/{block}"), counter));
            }
            let key = match curve {
                KeyAlgorithm::P256 => return LeafKey::P256(self.p256(label)),
                KeyAlgorithm::P384 => p384::ecdsa::SigningKey::from_slice(&bytes[..48])
                    .ok()
                    .map(LeafKey::P384),
                KeyAlgorithm::P521 => {
                    bytes[0] &= 0x01;
                    p521::ecdsa::SigningKey::from_slice(&bytes[..66])
                        .ok()
                        .map(|k| LeafKey::P521(Box::new(k)))
                }
            };
            if let Some(key) = key {
                return key;
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

/// A signing key on any curve a leaf may use (managed keys and the kit's services are P-256).
#[derive(Clone)]
pub(crate) enum LeafKey {
    P256(EcKey),
    P384(p384::ecdsa::SigningKey),
    P521(Box<p521::ecdsa::SigningKey>),
}

impl std::fmt::Debug for LeafKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let curve = match self {
            LeafKey::P256(_) => "P-256",
            LeafKey::P384(_) => "P-384",
            LeafKey::P521(_) => "P-521",
        };
        f.debug_struct("LeafKey")
            .field("curve", &curve)
            .finish_non_exhaustive()
    }
}

fn pkcs8_err(e: impl std::fmt::Display) -> KitError {
    KitError::Invalid {
        what: "public key",
        detail: e.to_string(),
    }
}

/// A deterministic "random" source for P-521 signing, whose RustCrypto key only signs with an
/// RNG: SHA-512 in counter mode over a seed (the key and the message digest).
struct DigestRng {
    seed: [u8; 64],
    counter: u64,
    buf: Vec<u8>,
}

impl p521::elliptic_curve::rand_core::RngCore for DigestRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_be_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_be_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        use sha2::Sha512;
        for byte in dest {
            if self.buf.is_empty() {
                let mut h = Sha512::new();
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.counter += 1;
                self.buf = h.finalize().to_vec();
            }
            *byte = self.buf.pop().unwrap_or(0);
        }
    }
    fn try_fill_bytes(
        &mut self,
        dest: &mut [u8],
    ) -> Result<(), p521::elliptic_curve::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl p521::elliptic_curve::rand_core::CryptoRng for DigestRng {}

impl LeafKey {
    /// The curve.
    pub(crate) fn algorithm(&self) -> KeyAlgorithm {
        match self {
            LeafKey::P256(_) => KeyAlgorithm::P256,
            LeafKey::P384(_) => KeyAlgorithm::P384,
            LeafKey::P521(_) => KeyAlgorithm::P521,
        }
    }

    /// The SubjectPublicKeyInfo (PKIX) DER of the public key.
    pub(crate) fn spki_der(&self) -> Result<Vec<u8>> {
        Ok(match self {
            LeafKey::P256(k) => return k.spki_der(),
            LeafKey::P384(k) => k
                .verifying_key()
                .to_public_key_der()
                .map_err(pkcs8_err)?
                .into_vec(),
            LeafKey::P521(k) => {
                let point = p521::ecdsa::VerifyingKey::from(k.as_ref()).to_encoded_point(false);
                p521::PublicKey::from_sec1_bytes(point.as_bytes())
                    .map_err(pkcs8_err)?
                    .to_public_key_der()
                    .map_err(pkcs8_err)?
                    .into_vec()
            }
        })
    }

    /// The SubjectPublicKeyInfo as an x509-cert structure.
    pub(crate) fn spki(&self) -> Result<spki::SubjectPublicKeyInfoOwned> {
        use der::Decode;
        spki::SubjectPublicKeyInfoOwned::from_der(&self.spki_der()?).map_err(der_err("SPKI"))
    }

    /// ECDSA over `msg` with the curve's own hash (SHA-256/384/512), DER encoded.
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        if let LeafKey::P256(k) = self {
            return Ok(k.sign(msg));
        }
        let hash = match self.algorithm() {
            KeyAlgorithm::P256 => DigestAlgorithm::Sha256,
            KeyAlgorithm::P384 => DigestAlgorithm::Sha384,
            KeyAlgorithm::P521 => DigestAlgorithm::Sha512,
        };
        self.sign_prehash(&hash.digest(msg))
    }

    /// ECDSA over an already computed digest (of any length), DER encoded; deterministic.
    pub(crate) fn sign_prehash(&self, digest: &[u8]) -> Result<Vec<u8>> {
        use p256::ecdsa::signature::hazmat::{PrehashSigner, RandomizedPrehashSigner};
        let sign_err = |source| KitError::Sign {
            what: "prehashed message",
            source,
        };
        match self {
            LeafKey::P256(k) => {
                let sig: p256::ecdsa::Signature =
                    k.signing_key().sign_prehash(digest).map_err(sign_err)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            LeafKey::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign_prehash(digest).map_err(sign_err)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            LeafKey::P521(k) => {
                let mut h = sha2::Sha512::new();
                h.update(k.to_bytes());
                h.update(digest);
                let mut rng = DigestRng {
                    seed: h.finalize().into(),
                    counter: 0,
                    buf: Vec::new(),
                };
                let sig: p521::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut rng, digest)
                    .map_err(sign_err)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }

    /// The public key as PEM.
    pub(crate) fn public_pem(&self) -> Result<String> {
        use base64::Engine;
        if let LeafKey::P256(k) = self {
            return k.public_pem();
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.spki_der()?);
        let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        Ok(out)
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
    fn leaf_keys_of_every_curve_sign_deterministically_and_verify() {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        let s = Seed::from(1);
        assert_eq!(
            s.leaf_key(KeyAlgorithm::P256, "k").spki_der().unwrap(),
            s.p256("k").spki_der().unwrap()
        );
        // P-384 over SHA-256 as well as its own hash; P-521 needs at least 33 bytes of digest.
        for (curve, hash) in [
            (KeyAlgorithm::P384, DigestAlgorithm::Sha256),
            (KeyAlgorithm::P384, DigestAlgorithm::Sha384),
            (KeyAlgorithm::P521, DigestAlgorithm::Sha512),
        ] {
            let digest = hash.digest(b"m");
            let k = s.leaf_key(curve, "k");
            assert_eq!(k.algorithm(), curve);
            let sig = k.sign_prehash(&digest).unwrap();
            assert_eq!(sig, k.sign_prehash(&digest).unwrap());
            let ok = match &k {
                LeafKey::P384(k) => {
                    let sig = p384::ecdsa::Signature::from_der(&sig).unwrap();
                    k.verifying_key().verify_prehash(&digest, &sig).is_ok()
                }
                LeafKey::P521(k) => {
                    let sig = p521::ecdsa::Signature::from_der(&sig).unwrap();
                    p521::ecdsa::VerifyingKey::from(k.as_ref())
                        .verify_prehash(&digest, &sig)
                        .is_ok()
                }
                LeafKey::P256(_) => false,
            };
            assert!(ok, "{curve:?} signature verifies");
        }
    }

    #[test]
    fn signatures_are_deterministic() {
        let k = Seed::from(1).p256("k");
        assert_eq!(k.sign(b"m"), k.sign(b"m"));
    }
}
