//! New publisher key pairs: an ed25519 key from the OS's random source, written as `NAME.key`
//! (PKCS#8 v1, optionally encrypted with scrypt and AES-256-CBC, mode 0600) and `NAME.pub`.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::KeypairBytes;
use pkcs8::der::zeroize::Zeroizing;
use pkcs8::pkcs5::{pbes2, scrypt};
use pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding, PrivateKeyInfo};
use rand_core::{OsRng, RngCore};

use super::file::{key_pair_paths, write_new};
use super::{KeyError, KeyId, LABEL_ENCRYPTED};

/// The files [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The new key's id.
    pub key_id: KeyId,
    /// `NAME.key`: the private key, mode 0600.
    pub key_path: PathBuf,
    /// `NAME.pub`: the public key.
    pub pub_path: PathBuf,
}

/// Generates an ed25519 key pair from the OS's random source and writes `OUT.key` and
/// `OUT.pub` (`out` is a name prefix: `dir/publisher` gives `dir/publisher.key`).
///
/// With a passphrase the private key is written as an `ENCRYPTED PRIVATE KEY` (PKCS#5 v2:
/// scrypt with N = 2^17, r = 8, p = 1, and AES-256-CBC); without, as a plain `PRIVATE KEY`.
/// The key file is created with mode 0600 from the start. Neither file may exist already
/// ([`KeyError::Exists`]); on any failure, nothing this call created is left behind.
pub fn generate(out: &Path, passphrase: Option<&str>) -> Result<GeneratedKey, KeyError> {
    generate_with(out, passphrase, scrypt_params())
}

/// The scrypt parameters new keys are encrypted with: N = 2^17, r = 8, p = 1 (128 MiB), as
/// OWASP and the scrypt crate recommend; spelled out so a dependency update cannot change them.
fn scrypt_params() -> scrypt::Params {
    scrypt::Params::new(17, 8, 1, 32).expect("constant scrypt parameters are valid")
}

/// [`generate`] with the scrypt parameters as an input (tests use cheap ones).
pub(super) fn generate_with(
    out: &Path,
    passphrase: Option<&str>,
    cost: scrypt::Params,
) -> Result<GeneratedKey, KeyError> {
    let (key_path, pub_path) = key_pair_paths(out)?;
    let signing_key = SigningKey::generate(&mut OsRng);
    let key_pem = match passphrase {
        None => pkcs8_v1(&signing_key).to_pkcs8_pem(LineEnding::LF),
        Some("") => return Err(KeyError::EmptyPassphrase),
        Some(passphrase) => encrypted_pem(&signing_key, passphrase, cost),
    }
    .map_err(|source| KeyError::Encode {
        what: "private key",
        source,
    })?;
    let verifying_key = signing_key.verifying_key();
    let pub_pem = verifying_key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode {
            what: "public key",
            source: e.into(),
        })?;

    write_new(&key_path, key_pem.as_bytes(), Some(0o600))?;
    if let Err(err) = write_new(&pub_path, pub_pem.as_bytes(), None) {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&key_path);
        return Err(err);
    }
    Ok(GeneratedKey {
        key_id: KeyId::of(&verifying_key),
        key_path,
        pub_path,
    })
}

/// `key` for PKCS#8 v1 (RFC 5208): without the optional public key of v2 (RFC 5958), which
/// OpenSSL 3.0 cannot read. Loading accepts both.
fn pkcs8_v1(key: &SigningKey) -> KeypairBytes {
    KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    }
}

/// `key` as an `ENCRYPTED PRIVATE KEY` PEM: PKCS#5 v2, scrypt with `cost` and a random
/// 16-byte salt, AES-256-CBC with a random IV.
fn encrypted_pem(
    key: &SigningKey,
    passphrase: &str,
    cost: scrypt::Params,
) -> Result<Zeroizing<String>, pkcs8::Error> {
    let der = pkcs8_v1(key).to_pkcs8_der()?;
    let info = PrivateKeyInfo::try_from(der.as_bytes())?;
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut iv);
    let params = pbes2::Parameters::scrypt_aes256cbc(cost, &salt, &iv)?;
    Ok(info
        .encrypt_with_params(params, passphrase)?
        .to_pem(LABEL_ENCRYPTED, LineEnding::LF)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use pkcs8::der::{Decode, pem};
    use pkcs8::{EncryptedPrivateKeyInfo, SecretDocument};

    use super::*;
    use crate::keys::tests::{cheap, given, never, write};
    use crate::keys::{load_public_key, load_signing_key};

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn label_of(path: &Path) -> String {
        let bytes = fs::read(path).unwrap();
        pem::decode_label(&bytes).unwrap().to_owned()
    }

    #[test]
    fn unencrypted_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("publisher"), None).unwrap();
        assert_eq!(g.key_path, dir.path().join("publisher.key"));
        assert_eq!(g.pub_path, dir.path().join("publisher.pub"));
        assert_eq!(label_of(&g.key_path), "PRIVATE KEY");
        assert_eq!(label_of(&g.pub_path), "PUBLIC KEY");

        let signing = load_signing_key(&g.key_path, never).unwrap();
        let public = load_public_key(&g.pub_path).unwrap();
        assert_eq!(signing.verifying_key(), public);
        assert_eq!(KeyId::of(&public), g.key_id);

        // PKCS#8 v1: no embedded public key (OpenSSL 3.0 cannot read v2).
        let (_, doc) = SecretDocument::from_pem(&fs::read_to_string(&g.key_path).unwrap()).unwrap();
        let info = PrivateKeyInfo::try_from(doc.as_bytes()).unwrap();
        assert_eq!(info.version(), pkcs8::Version::V1);
    }

    #[test]
    fn encrypted_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate_with(&dir.path().join("k"), Some("correct horse"), cheap()).unwrap();
        assert_eq!(label_of(&g.key_path), "ENCRYPTED PRIVATE KEY");

        let signing = load_signing_key(&g.key_path, given("correct horse")).unwrap();
        assert_eq!(
            signing.verifying_key(),
            load_public_key(&g.pub_path).unwrap()
        );
        assert_eq!(KeyId::of(&signing.verifying_key()), g.key_id);
    }

    #[test]
    fn new_keys_are_encrypted_with_scrypt_2_17_and_aes_256_cbc() {
        let p = scrypt_params();
        assert_eq!((p.log_n(), p.r(), p.p()), (17, 8, 1));

        let key = SigningKey::from_bytes(&[3; 32]);
        let pem = encrypted_pem(&key, "pw", cheap()).unwrap();
        let (label, doc) = SecretDocument::from_pem(&pem).unwrap();
        assert_eq!(label, LABEL_ENCRYPTED);
        let info = EncryptedPrivateKeyInfo::from_der(doc.as_bytes()).unwrap();
        let params = info.encryption_algorithm.pbes2().unwrap();
        let kdf = params.kdf.scrypt().unwrap();
        assert_eq!((kdf.cost_parameter, kdf.block_size), (1 << 10, 8));
        assert_eq!(kdf.salt.len(), 16);
        assert!(matches!(
            params.encryption,
            pbes2::EncryptionScheme::Aes256Cbc { .. }
        ));
    }

    #[test]
    fn an_empty_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(&dir.path().join("k"), Some("")).unwrap_err();
        assert!(matches!(err, KeyError::EmptyPassphrase), "{err:?}");
        assert!(!dir.path().join("k.key").exists());
    }

    #[test]
    fn key_file_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("k"), None).unwrap();
        assert_eq!(mode_of(&g.key_path), 0o600);
    }

    #[test]
    fn refuses_to_overwrite_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        write(&dir.path().join("k.key"), "precious", 0o600);
        let err = generate(&out, None).unwrap_err();
        assert!(
            matches!(&err, KeyError::Exists { path } if *path == dir.path().join("k.key")),
            "{err:?}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("k.key")).unwrap(),
            "precious"
        );
        assert!(!dir.path().join("k.pub").exists());
    }

    #[test]
    fn refuses_to_overwrite_an_existing_pub_and_leaves_no_key_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        write(&dir.path().join("k.pub"), "precious", 0o644);
        let err = generate(&out, None).unwrap_err();
        assert!(
            matches!(&err, KeyError::Exists { path } if *path == dir.path().join("k.pub")),
            "{err:?}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("k.pub")).unwrap(),
            "precious"
        );
        assert!(!dir.path().join("k.key").exists());
    }

    #[test]
    fn a_missing_directory_is_a_create_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(&dir.path().join("absent/k"), None).unwrap_err();
        assert!(
            matches!(&err, KeyError::Create { path, .. } if *path == dir.path().join("absent/k.key")),
            "{err:?}"
        );
    }

    #[test]
    fn unusable_names_are_refused() {
        for name in ["", "dir/", "dir/.", ".", "..", "dir/k.key", "k.pub"] {
            let err = generate(Path::new(name), None).unwrap_err();
            assert!(
                matches!(&err, KeyError::OutPath { path, .. } if path == Path::new(name)),
                "{name:?}: {err:?}"
            );
        }
    }
}
