//! Loading publisher public keys: one `PUBLIC KEY` PEM (ed25519, not a weak point), or the
//! publisher key list, in which the same key twice is an error naming both files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use pkcs8::DecodePublicKey;
use pkcs8::spki::SubjectPublicKeyInfoRef;

use super::file::{pem_document, pem_label, read_key_file};
use super::{ED25519_OID, KeyError, KeyId, LABEL_PUBLIC};

/// Loads an ed25519 public key from a SubjectPublicKeyInfo PEM file (`PUBLIC KEY`).
///
/// Other PEM blocks, other algorithms and small-order ("weak") points are errors naming
/// `path`.
pub fn load_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let bytes = read_key_file(path, false)?;
    let (text, label) = pem_label(path, &bytes)?;
    if label != LABEL_PUBLIC {
        return Err(KeyError::UnexpectedPem {
            path: path.to_owned(),
            found: label.to_owned(),
            expected: "\"PUBLIC KEY\"",
        });
    }
    let doc = pem_document(path, text)?;
    let malformed = |source| KeyError::Malformed {
        path: path.to_owned(),
        what: "public key",
        source,
    };
    let spki =
        SubjectPublicKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| malformed(e.into()))?;
    if spki.algorithm.oid != ED25519_OID {
        return Err(KeyError::NotEd25519 {
            path: path.to_owned(),
            algorithm: spki.algorithm.oid,
        });
    }
    let key = VerifyingKey::from_public_key_der(doc.as_bytes()).map_err(|e| malformed(e.into()))?;
    if key.is_weak() {
        return Err(KeyError::WeakKey {
            path: path.to_owned(),
        });
    }
    Ok(key)
}

/// Loads several public keys with [`load_public_key`], in order, with their ids. The same key
/// twice (in any two files) is [`KeyError::DuplicateKey`], naming its id and both files.
pub fn load_public_keys<P: AsRef<Path>>(
    paths: impl IntoIterator<Item = P>,
) -> Result<Vec<(KeyId, VerifyingKey)>, KeyError> {
    let mut seen: BTreeMap<KeyId, PathBuf> = BTreeMap::new();
    let mut keys = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let key = load_public_key(path)?;
        let key_id = KeyId::of(&key);
        if let Some(first) = seen.get(&key_id) {
            return Err(KeyError::DuplicateKey {
                key_id,
                path: path.to_owned(),
                first: first.clone(),
            });
        }
        seen.insert(key_id.clone(), path.to_owned());
        keys.push((key_id, key));
    }
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fs;

    use ed25519_dalek::pkcs8::PublicKeyBytes;
    use pkcs8::der::{Encode, pem};
    use pkcs8::{EncodePublicKey, LineEnding, ObjectIdentifier};

    use super::*;
    use crate::keys::generate;
    use crate::keys::tests::write;

    const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

    #[test]
    fn an_rsa_public_key_is_not_ed25519() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rsa.pub");
        let null = pkcs8::der::asn1::AnyRef::from(pkcs8::der::asn1::Null);
        let spki = SubjectPublicKeyInfoRef {
            algorithm: pkcs8::spki::AlgorithmIdentifierRef {
                oid: RSA_OID,
                parameters: Some(null),
            },
            subject_public_key: pkcs8::der::asn1::BitStringRef::from_bytes(&[0x30, 0x00]).unwrap(),
        };
        let pem =
            pem::encode_string("PUBLIC KEY", LineEnding::LF, &spki.to_der().unwrap()).unwrap();
        write(&path, &pem, 0o644);
        let err = load_public_key(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotEd25519 { algorithm, .. } if *algorithm == RSA_OID),
            "{err:?}"
        );
    }

    #[test]
    fn a_small_order_public_key_is_weak() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weak.pub");
        // The identity point: it verifies forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let pem = PublicKeyBytes(identity)
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        write(&path, pem, 0o644);
        let err = load_public_key(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::WeakKey { path: p } if *p == path),
            "{err:?}"
        );
    }

    #[test]
    fn duplicate_public_keys_are_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = generate(&dir.path().join("a"), None).unwrap();
        let b = generate(&dir.path().join("b"), None).unwrap();
        let copy = dir.path().join("a-again.pub");
        fs::copy(&a.pub_path, &copy).unwrap();

        let keys = load_public_keys([&a.pub_path, &b.pub_path]).unwrap();
        let ids: Vec<_> = keys.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids, [a.key_id.clone(), b.key_id.clone()]);

        let err = load_public_keys([&a.pub_path, &b.pub_path, &copy]).unwrap_err();
        assert!(
            matches!(&err, KeyError::DuplicateKey { key_id, path, first }
                if *key_id == a.key_id && *path == copy && *first == a.pub_path),
            "{err:?}"
        );
        assert!(err.to_string().contains(a.key_id.as_str()));
    }
}
