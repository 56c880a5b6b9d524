//! Loading a publisher's signing key: a plain or an encrypted PKCS#8 ed25519 key, whose
//! passphrase is asked for only once the key derivation it needs is known to be affordable.

use std::path::Path;

use ed25519_dalek::SigningKey;
use pkcs8::der::{Decode, zeroize::Zeroizing};
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo, SecretDocument};

use super::file::{pem_document, pem_label, read_key_file};
use super::{
    ED25519_OID, KeyError, LABEL_ENCRYPTED, LABEL_PRIVATE, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY,
};

/// Loads an ed25519 private key from a PKCS#8 PEM file.
///
/// An `ENCRYPTED PRIVATE KEY` asks `passphrase` for its passphrase (only then; a plain
/// `PRIVATE KEY` never calls it). Errors, each naming `path`: [`KeyError::Permissions`] when
/// group or others may access the file (checked before anything is read),
/// [`KeyError::WrongPassphrase`], [`KeyError::UnexpectedPem`] for other PEM blocks (a public
/// key, an OpenSSH or PKCS#1 key), [`KeyError::NotEd25519`] for other algorithms,
/// [`KeyError::Malformed`] when the contents do not parse or the embedded public key does not
/// match the private key. A passphrase closure's error is returned as it is.
pub fn load_signing_key(
    path: &Path,
    passphrase: impl FnOnce() -> Result<String, KeyError>,
) -> Result<SigningKey, KeyError> {
    let bytes = read_key_file(path, true)?;
    let (text, label) = pem_label(path, &bytes)?;
    let doc = match label {
        LABEL_PRIVATE => pem_document(path, text)?,
        LABEL_ENCRYPTED => decrypt(path, &pem_document(path, text)?, passphrase)?,
        other => {
            return Err(KeyError::UnexpectedPem {
                path: path.to_owned(),
                found: other.to_owned(),
                expected: "\"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\"",
            });
        }
    };
    let malformed = |source| KeyError::Malformed {
        path: path.to_owned(),
        what: "PKCS#8 private key",
        source,
    };
    let info = PrivateKeyInfo::try_from(doc.as_bytes()).map_err(malformed)?;
    if info.algorithm.oid != ED25519_OID {
        return Err(KeyError::NotEd25519 {
            path: path.to_owned(),
            algorithm: info.algorithm.oid,
        });
    }
    SigningKey::try_from(info).map_err(malformed)
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` document after checking what its key derivation costs.
fn decrypt(
    path: &Path,
    doc: &SecretDocument,
    passphrase: impl FnOnce() -> Result<String, KeyError>,
) -> Result<SecretDocument, KeyError> {
    let info = EncryptedPrivateKeyInfo::from_der(doc.as_bytes()).map_err(|e| {
        let source = pkcs8::Error::from(e);
        match e.kind() {
            // An encryption scheme or KDF pkcs5 does not know.
            pkcs8::der::ErrorKind::OidUnknown { .. } => KeyError::UnsupportedEncryption {
                path: path.to_owned(),
                source,
            },
            _ => KeyError::Malformed {
                path: path.to_owned(),
                what: "encrypted PKCS#8 private key",
                source,
            },
        }
    })?;
    check_kdf_cost(path, &info)?;
    let passphrase = Zeroizing::new(passphrase()?);
    info.decrypt(passphrase.as_bytes()).map_err(|e| match e {
        // Bad padding (pkcs5 0.7 reports it as `EncryptFailed`), or, by chance with valid
        // padding, a plaintext that is not DER: what a wrong passphrase produces.
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        )
        | pkcs8::Error::Asn1(_) => KeyError::WrongPassphrase {
            path: path.to_owned(),
        },
        source => KeyError::UnsupportedEncryption {
            path: path.to_owned(),
            source,
        },
    })
}

/// Refuses key derivation parameters that would take too much memory or time.
fn check_kdf_cost(path: &Path, info: &EncryptedPrivateKeyInfo<'_>) -> Result<(), KeyError> {
    let Some(params) = info.encryption_algorithm.pbes2() else {
        return Err(KeyError::UnsupportedEncryption {
            path: path.to_owned(),
            source: pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport),
        });
    };
    let too_costly = |detail| {
        Err(KeyError::EncryptionTooCostly {
            path: path.to_owned(),
            detail,
        })
    };
    if let Some(scrypt) = params.kdf.scrypt() {
        let n = scrypt.cost_parameter;
        let r = u64::from(scrypt.block_size);
        let p = u64::from(scrypt.parallelization);
        let memory = n.checked_mul(r).and_then(|nr| nr.checked_mul(128));
        let detail = || format!("scrypt N={n}, r={r}, p={p}");
        match memory {
            Some(memory) if memory <= MAX_SCRYPT_MEMORY && p <= 16 => {}
            _ => return too_costly(detail()),
        }
    } else if let Some(pbkdf2) = params.kdf.pbkdf2()
        && pbkdf2.iteration_count > MAX_PBKDF2_ITERATIONS
    {
        return too_costly(format!("PBKDF2 {} iterations", pbkdf2.iteration_count));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs::{self, Permissions};
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use ed25519_dalek::pkcs8::{KeypairBytes, PublicKeyBytes};
    use pkcs8::der::{Encode, pem};
    use pkcs8::pkcs5::pbes2;
    use pkcs8::{EncodePrivateKey, LineEnding, ObjectIdentifier};

    use super::*;
    use crate::keys::generate::generate_with;
    use crate::keys::tests::{OPENSSL_ED25519_PUB, cheap, given, never, write};
    use crate::keys::{generate, load_public_key};

    /// OpenSSL 3.0 interop: `openssl genpkey -algorithm ed25519 -aes-256-cbc -pass
    /// pass:interop` (PBES2 with PBKDF2-HMAC-SHA256, 2048 iterations), a throwaway key.
    const OPENSSL_ENCRYPTED_ED25519: &str = "\
-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiXhzmtp609lQICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEOVJWLN+wb1E3qvRodlBJyYEQPfV
6UUtdv5PXsjO+V0f7rdKB97LuLBeS/Xb/WB7xpeA+mXPVNQ1WBJK9/5VvYkVQpkH
2kuhPhI5AsSf1otSyBI=
-----END ENCRYPTED PRIVATE KEY-----
";
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, a throwaway key.
    const OPENSSL_P256_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXYZ29LOKfi1Q3/aA
iQRfT/IGj9hwdf7vi6QSO/RI4RqhRANCAARmfzv0oy8Au4+MAGojRI//yj1x6M9s
iGQzDf+3Es4wYGb1G207v7l3/Xfr7fHMt0bDsw/+R0I/43y3KhL1pklM
-----END PRIVATE KEY-----
";
    /// Its public key.
    const OPENSSL_P256_PUB: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEZn879KMvALuPjABqI0SP/8o9cejP
bIhkMw3/txLOMGBm9RttO7+5d/136+3xzLdGw7MP/kdCP+N8tyoS9aZJTA==
-----END PUBLIC KEY-----
";
    const EC_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

    #[test]
    fn a_pkcs8_v2_key_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.key");
        let key = SigningKey::from_bytes(&[5; 32]);
        // ed25519-dalek writes v2, with the public key.
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(pem.contains("BEGIN PRIVATE KEY"));
        write(&path, pem.as_bytes(), 0o600);
        assert_eq!(load_signing_key(&path, never).unwrap(), key);
    }

    #[test]
    fn wrong_passphrase_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate_with(&dir.path().join("k"), Some("right"), cheap()).unwrap();
        let err = load_signing_key(&g.key_path, given("wrong")).unwrap_err();
        assert!(
            matches!(&err, KeyError::WrongPassphrase { path } if *path == g.key_path),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("{}: wrong passphrase", g.key_path.display())
        );
    }

    #[test]
    fn the_callbacks_error_is_returned_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate_with(&dir.path().join("k"), Some("pw"), cheap()).unwrap();
        let err = load_signing_key(&g.key_path, || {
            Err(KeyError::PassphraseRequired {
                path: PathBuf::from("asked"),
            })
        })
        .unwrap_err();
        assert!(
            matches!(&err, KeyError::PassphraseRequired { path } if path == Path::new("asked")),
            "{err:?}"
        );
    }

    #[test]
    fn openssl_encrypted_ed25519_key_loads() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("ossl.key");
        let public = dir.path().join("ossl.pub");
        write(&key, OPENSSL_ENCRYPTED_ED25519, 0o600);
        write(&public, OPENSSL_ED25519_PUB, 0o644);
        let signing = load_signing_key(&key, given("interop")).unwrap();
        assert_eq!(signing.verifying_key(), load_public_key(&public).unwrap());
        let err = load_signing_key(&key, given("nope")).unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase { .. }), "{err:?}");
    }

    #[test]
    fn a_key_group_or_others_may_access_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("k"), None).unwrap();
        for mode in [0o640, 0o604, 0o620, 0o601] {
            fs::set_permissions(&g.key_path, Permissions::from_mode(mode)).unwrap();
            let err = load_signing_key(&g.key_path, never).unwrap_err();
            assert!(
                matches!(&err, KeyError::Permissions { path, mode: m } if *path == g.key_path && *m == mode),
                "{mode:o}: {err:?}"
            );
        }
        fs::set_permissions(&g.key_path, Permissions::from_mode(0o400)).unwrap();
        load_signing_key(&g.key_path, never).unwrap();
    }

    #[test]
    fn pem_that_is_not_pkcs8_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        // Valid PEM, valid DER (a SEQUENCE holding an INTEGER), not a PrivateKeyInfo.
        let pem = pem::encode_string(
            "PRIVATE KEY",
            LineEnding::LF,
            &[0x30, 0x03, 0x02, 0x01, 0x00],
        )
        .unwrap();
        write(&path, &pem, 0o600);
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(
            matches!(
                &err,
                KeyError::Malformed {
                    what: "PKCS#8 private key",
                    ..
                }
            ),
            "{err:?}"
        );
        // Not DER at all.
        let pem = pem::encode_string("PRIVATE KEY", LineEnding::LF, b"not der").unwrap();
        write(&path, &pem, 0o600);
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(matches!(&err, KeyError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn a_private_key_whose_public_key_does_not_match_is_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let pem = KeypairBytes {
            secret_key: [1; 32],
            public_key: Some(PublicKeyBytes(other.to_bytes())),
        }
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
        write(&path, pem.as_bytes(), 0o600);
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(matches!(&err, KeyError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn a_p256_key_is_not_ed25519() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("p256.key");
        let public = dir.path().join("p256.pub");
        write(&key, OPENSSL_P256_KEY, 0o600);
        write(&public, OPENSSL_P256_PUB, 0o644);
        let err = load_signing_key(&key, never).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotEd25519 { path, algorithm } if *path == key && *algorithm == EC_OID),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .ends_with("not an ed25519 key (algorithm 1.2.840.10045.2.1, EC)")
        );
        let err = load_public_key(&public).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotEd25519 { algorithm, .. } if *algorithm == EC_OID),
            "{err:?}"
        );
    }

    #[test]
    fn the_wrong_kind_of_pem_block_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let g = generate(&dir.path().join("k"), None).unwrap();
        fs::set_permissions(&g.pub_path, Permissions::from_mode(0o600)).unwrap();
        let err = load_signing_key(&g.pub_path, never).unwrap_err();
        assert!(
            matches!(&err, KeyError::UnexpectedPem { found, .. } if found == "PUBLIC KEY"),
            "{err:?}"
        );
        let err = load_public_key(&g.key_path).unwrap_err();
        assert!(
            matches!(&err, KeyError::UnexpectedPem { found, .. } if found == "PRIVATE KEY"),
            "{err:?}"
        );
        let path = dir.path().join("openssh");
        write(
            &path,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            0o600,
        );
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(
            matches!(&err, KeyError::UnexpectedPem { found, .. } if found == "OPENSSH PRIVATE KEY"),
            "{err:?}"
        );
    }

    /// An `ENCRYPTED PRIVATE KEY` with the given KDF; the ciphertext is never reached.
    fn encrypted_with(kdf: pbes2::Kdf<'_>) -> String {
        let iv = [0u8; 16];
        let info = EncryptedPrivateKeyInfo {
            encryption_algorithm: pbes2::Parameters {
                kdf,
                encryption: pbes2::EncryptionScheme::Aes256Cbc { iv: &iv },
            }
            .into(),
            encrypted_data: &[0; 48],
        };
        pem::encode_string(LABEL_ENCRYPTED, LineEnding::LF, &info.to_der().unwrap()).unwrap()
    }

    #[test]
    fn costly_key_derivation_is_refused_before_asking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let salt = [0u8; 16];
        let scrypt = |n: u64, r: u16, p: u16| {
            pbes2::Kdf::Scrypt(pbes2::ScryptParams {
                salt: &salt,
                cost_parameter: n,
                block_size: r,
                parallelization: p,
                key_length: None,
            })
        };
        for kdf in [
            scrypt(1 << 30, 8, 1),
            scrypt(1 << 18, 16, 1),
            scrypt(1 << 63, 1 << 15, 1),
            scrypt(1 << 10, 8, 1000),
            pbes2::Kdf::Pbkdf2(
                pbes2::Pbkdf2Params::hmac_with_sha256(MAX_PBKDF2_ITERATIONS + 1, &salt).unwrap(),
            ),
        ] {
            let shown = format!("{kdf:?}");
            write(&path, encrypted_with(kdf), 0o600);
            let err = load_signing_key(&path, never).unwrap_err();
            assert!(
                matches!(&err, KeyError::EncryptionTooCostly { .. }),
                "{shown}: {err:?}"
            );
        }
        // Within bounds it gets as far as asking.
        write(&path, encrypted_with(scrypt(1 << 17, 8, 1)), 0o600);
        let err = load_signing_key(&path, || {
            Err(KeyError::PassphraseRequired { path: path.clone() })
        })
        .unwrap_err();
        assert!(
            matches!(&err, KeyError::PassphraseRequired { .. }),
            "{err:?}"
        );
    }
}
