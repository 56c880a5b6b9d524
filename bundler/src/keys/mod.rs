//! Publisher keys: ed25519, stored as PKCS#8 PEM, named by their key id.
//!
//! A key pair is two files sharing a name: `NAME.key`, the private key as PKCS#8 v1 PEM
//! (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY`: PKCS#5 v2, scrypt + AES-256-CBC), created with
//! mode 0600; and `NAME.pub`, the public key as SubjectPublicKeyInfo PEM (`PUBLIC KEY`).
//! OpenSSL reads both unencrypted; it refuses to decrypt the encrypted form because OpenSSL 3
//! caps scrypt at 32 MiB, below the 128 MiB used here.
//!
//! Loading is strict and bounded: a key file over [`MAX_KEY_FILE_SIZE`] bytes, a PEM block of
//! another kind, or a key of another algorithm is an error naming the file. Like ssh, a private
//! key file that group or others may read, write or execute (any of mode bits 0o077) is refused
//! with [`KeyError::Permissions`] rather than used. Encrypted keys whose key-derivation
//! parameters would cost more than [`MAX_SCRYPT_MEMORY`] or [`MAX_PBKDF2_ITERATIONS`] are
//! refused before any passphrase is asked for.
//!
//! `file`: reading key files (bounded, permissions, PEM) and creating them (never over an
//! existing one). `generate`: new key pairs, encrypted or not. `private`: loading a signing
//! key, decrypting it only after bounding its key derivation's cost. `public`: loading public
//! keys and the publisher key list. `error`: [`KeyError`].

mod error;
mod file;
mod generate;
mod private;
mod public;

use std::fmt;

use ed25519_dalek::VerifyingKey;
use pkcs8::ObjectIdentifier;
use sha2::{Digest, Sha256};

pub use error::KeyError;
pub use file::key_pair_paths;
pub use generate::{GeneratedKey, generate};
pub use private::load_signing_key;
pub use public::{load_public_key, load_public_keys};

/// A publisher key's id: lowercase hex SHA-256 of the 32-byte ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        Self(hex::encode(Sha256::digest(key.as_bytes())))
    }

    /// The id as 64 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key files (private or public) larger than this are not key files.
pub const MAX_KEY_FILE_SIZE: u64 = 64 * 1024;

/// The most memory an encrypted key's scrypt parameters may ask for (128 · r · N bytes).
/// [`generate`] uses 128 MiB (N = 2^17, r = 8).
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;

/// The most PBKDF2 iterations an encrypted key may ask for (OpenSSL writes 2048 by default).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// The PEM label of an unencrypted PKCS#8 private key.
const LABEL_PRIVATE: &str = "PRIVATE KEY";
/// The PEM label of a PKCS#5-encrypted PKCS#8 private key.
const LABEL_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";
/// The PEM label of a SubjectPublicKeyInfo.
const LABEL_PUBLIC: &str = "PUBLIC KEY";

/// id-Ed25519 (RFC 8410).
const ED25519_OID: ObjectIdentifier = ed25519_dalek::pkcs8::ALGORITHM_OID;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Fixtures the submodules' tests share, and the tests of what is defined here.

    use std::fs::{self, Permissions};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use ed25519_dalek::SigningKey;
    use pkcs8::pkcs5::scrypt;

    use super::*;

    /// Its public key (`openssl pkey -pubout`).
    pub(super) const OPENSSL_ED25519_PUB: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAze4zboE2e1HZLzysdmjv132x8jSby56pTfuunjpF89Q=
-----END PUBLIC KEY-----
";

    /// scrypt N = 2^10: the real 2^17 takes seconds in a debug build.
    pub(super) fn cheap() -> scrypt::Params {
        scrypt::Params::new(10, 8, 1, 32).unwrap()
    }

    /// A passphrase callback that must not be called.
    pub(super) fn never() -> Result<String, KeyError> {
        panic!("the passphrase was asked for")
    }

    pub(super) fn given(passphrase: &str) -> impl FnOnce() -> Result<String, KeyError> + use<> {
        let passphrase = passphrase.to_owned();
        move || Ok(passphrase)
    }

    pub(super) fn write(path: &Path, contents: impl AsRef<[u8]>, mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn key_id_is_the_hex_sha256_of_the_public_key_bytes() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let id = KeyId::of(&key);
        assert_eq!(id.as_str(), hex::encode(Sha256::digest(key.as_bytes())));
        assert_eq!(id.to_string(), id.as_str());
        assert_eq!(id.as_str().len(), 64);

        // The .pub file yields the same id, and it is over the raw 32 bytes at the end of the
        // SPKI, not over the DER.
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("k"), None).unwrap();
        let (_, doc) =
            pkcs8::Document::from_pem(&fs::read_to_string(&g.pub_path).unwrap()).unwrap();
        let raw = &doc.as_bytes()[doc.as_bytes().len() - 32..];
        assert_eq!(g.key_id.as_str(), hex::encode(Sha256::digest(raw)));
        assert_eq!(KeyId::of(&load_public_key(&g.pub_path).unwrap()), g.key_id);
    }
}
