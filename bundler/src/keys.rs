//! Publisher keys: ed25519, stored as PKCS#8 PEM, named by their key id.
//!
//! A key pair is two files sharing a name: `NAME.key`, the private key as PKCS#8 PEM
//! (`PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY`: PKCS#5 v2, scrypt + AES-256-CBC), created with
//! mode 0600; and `NAME.pub`, the public key as SubjectPublicKeyInfo PEM (`PUBLIC KEY`).
//!
//! Loading is strict and bounded: a key file over [`MAX_KEY_FILE_SIZE`] bytes, a PEM block of
//! another kind, or a key of another algorithm is an error naming the file. Like ssh, a private
//! key file that group or others may read, write or execute (any of mode bits 0o077) is refused
//! with [`KeyError::Permissions`] rather than used. Encrypted keys whose key-derivation
//! parameters would cost more than [`MAX_SCRYPT_MEMORY`] or [`MAX_PBKDF2_ITERATIONS`] are
//! refused before any passphrase is asked for.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use pkcs8::der::{Decode, pem, zeroize::Zeroizing};
use pkcs8::spki::SubjectPublicKeyInfoRef;
use pkcs8::{
    DecodePublicKey, EncodePrivateKey, EncodePublicKey, EncryptedPrivateKeyInfo, LineEnding,
    ObjectIdentifier, PrivateKeyInfo, SecretDocument,
};
use rand_core::OsRng;
use sha2::{Digest, Sha256};

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
/// The default of [`generate`] is 32 MiB (N = 2^15, r = 8).
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

/// Why a key could not be generated, read or used.
///
/// Every variant about a file names it; `Display` never repeats the `source`, so print the
/// chain to show both.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The output name for a new key pair is unusable.
    #[error("{path}: not a usable key name: {reason}")]
    OutPath {
        /// The name given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file of the new key pair already exists; keys are never overwritten.
    #[error("{path} already exists; refusing to overwrite it")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file could not be created.
    #[error("cannot create {path}")]
    Create {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file could not be written (it was removed again).
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A file could not be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The path is not a regular file (a directory, FIFO, device, ...).
    #[error("{path}: not a regular file")]
    NotRegularFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is larger than any key file.
    #[error("{path}: larger than {limit} bytes, not a key file")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit, [`MAX_KEY_FILE_SIZE`] for key files.
        limit: u64,
    },
    /// A private key file that group or others may access: refused, as ssh does.
    #[error(
        "{path}: permissions {mode:04o} are too open; a private key must not be accessible by \
         group or others (chmod 600 it)"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not PEM text.
    #[error("{path}: not a PEM file")]
    NotPem {
        /// The file.
        path: PathBuf,
        /// The PEM decoder's error, or `None` when the file is not UTF-8.
        source: Option<pkcs8::Error>,
    },
    /// The PEM block is of another kind than expected.
    #[error("{path}: a \"{found}\" PEM block, expected {expected}")]
    UnexpectedPem {
        /// The file.
        path: PathBuf,
        /// The label found.
        found: String,
        /// The label(s) expected.
        expected: &'static str,
    },
    /// The PEM block's contents do not parse as the structure its label names.
    #[error("{path}: malformed {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was being parsed.
        what: &'static str,
        /// The parser's error.
        source: pkcs8::Error,
    },
    /// The key is not an ed25519 key.
    #[error("{path}: not an ed25519 key (algorithm {})", algorithm_name(algorithm))]
    NotEd25519 {
        /// The file.
        path: PathBuf,
        /// The key's algorithm OID.
        algorithm: ObjectIdentifier,
    },
    /// The public key is a small-order point: it would accept forged signatures.
    #[error("{path}: weak ed25519 public key (small-order point)")]
    WeakKey {
        /// The file.
        path: PathBuf,
    },
    /// The private key is encrypted in a way that cannot be decrypted here.
    #[error("{path}: unsupported private key encryption")]
    UnsupportedEncryption {
        /// The file.
        path: PathBuf,
        /// The PKCS#5 error.
        source: pkcs8::Error,
    },
    /// The encrypted key asks for key derivation too costly to attempt.
    #[error("{path}: key derivation parameters too costly ({detail}); refusing to decrypt")]
    EncryptionTooCostly {
        /// The file.
        path: PathBuf,
        /// The parameters.
        detail: String,
    },
    /// The private key is encrypted and no passphrase was given.
    #[error("{path}: the key is encrypted and no passphrase was given")]
    PassphraseRequired {
        /// The key file.
        path: PathBuf,
    },
    /// The passphrase does not decrypt the key.
    #[error("{path}: wrong passphrase")]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// A new key was to be encrypted with an empty passphrase.
    #[error("refusing to encrypt a key with an empty passphrase")]
    EmptyPassphrase,
    /// A passphrase source gave something unusable.
    #[error("passphrase from {origin} {problem}")]
    Passphrase {
        /// Where it came from (a flag and file, an environment variable).
        origin: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A passphrase prompt was requested but there is no terminal to ask on.
    #[error("cannot prompt for a passphrase: stdin is not a terminal")]
    PromptNeedsTerminal,
    /// Reading the passphrase from the terminal failed.
    #[error("cannot read the passphrase from the terminal")]
    Prompt {
        /// The I/O error.
        source: io::Error,
    },
    /// The two passphrases entered for a new key differ.
    #[error("the passphrases entered do not match")]
    PassphraseMismatch,
    /// The same public key was given twice.
    #[error("{path}: key {key_id} was already given by {first}")]
    DuplicateKey {
        /// The key's id.
        key_id: KeyId,
        /// The second file holding it.
        path: PathBuf,
        /// The first file holding it.
        first: PathBuf,
    },
    /// Encoding or encrypting a new key failed.
    #[error("cannot encode the new {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's error.
        source: pkcs8::Error,
    },
}

/// A readable name for the key algorithms people are likely to hand us by mistake.
fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.10045.2.1" => "EC",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.113" => "Ed448",
        _ => return oid.to_string(),
    };
    format!("{oid}, {name}")
}

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
/// scrypt with N = 2^15, r = 8, p = 1, and AES-256-CBC); without, as a plain `PRIVATE KEY`.
/// The key file is created with mode 0600 from the start. Neither file may exist already
/// ([`KeyError::Exists`]); on any failure, nothing this call created is left behind.
pub fn generate(out: &Path, passphrase: Option<&str>) -> Result<GeneratedKey, KeyError> {
    let (key_path, pub_path) = pair_paths(out)?;
    let signing_key = SigningKey::generate(&mut OsRng);
    let key_pem = match passphrase {
        None => signing_key.to_pkcs8_pem(LineEnding::LF),
        Some("") => return Err(KeyError::EmptyPassphrase),
        Some(passphrase) => signing_key.to_pkcs8_encrypted_pem(OsRng, passphrase, LineEnding::LF),
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

/// `NAME.key` and `NAME.pub` for the name prefix `out`.
fn pair_paths(out: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
    let bad = |reason| {
        Err(KeyError::OutPath {
            path: out.to_owned(),
            reason,
        })
    };
    let bytes = out.as_os_str().as_encoded_bytes();
    if bytes.is_empty() {
        return bad("empty");
    }
    if bytes.ends_with(b"/") || out.file_name().is_none() || bytes.ends_with(b"/.") {
        return bad("a directory; give a name inside it, like dir/publisher");
    }
    if bytes.ends_with(b".key") || bytes.ends_with(b".pub") {
        return bad("give the name without .key or .pub; both files are created from it");
    }
    let with = |suffix: &str| {
        let mut path = OsString::from(out.as_os_str());
        path.push(suffix);
        PathBuf::from(path)
    };
    Ok((with(".key"), with(".pub")))
}

/// Creates `path` (which must not exist) and writes `contents`; with `mode`, the file is
/// created with it and then set to exactly it, whatever the umask. On a write failure the
/// file is removed again.
fn write_new(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), KeyError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    if let Some(mode) = mode {
        options.mode(mode);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_owned(),
            }
        } else {
            KeyError::Create {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let written = (|| {
        if let Some(mode) = mode {
            file.set_permissions(Permissions::from_mode(mode))?;
        }
        file.write_all(contents)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        drop(file);
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(path);
        return Err(KeyError::Write {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}

/// Reads a key file: regular, at most [`MAX_KEY_FILE_SIZE`] bytes, UTF-8. For a private key
/// the permissions are checked on the opened file and the bytes are wiped after use.
fn read_key_file(path: &Path, private: bool) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let read_err = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    // O_NONBLOCK: opening a FIFO must not hang; it is rejected below as not a regular file.
    let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)
        .map_err(read_err)?;
    let metadata = file.metadata().map_err(read_err)?;
    if !metadata.is_file() {
        return Err(KeyError::NotRegularFile {
            path: path.to_owned(),
        });
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if private && mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_KEY_FILE_SIZE {
        return Err(KeyError::TooLarge {
            path: path.to_owned(),
            limit: MAX_KEY_FILE_SIZE,
        });
    }
    Ok(bytes)
}

/// The file's text and its PEM label.
fn pem_label<'a>(path: &Path, bytes: &'a [u8]) -> Result<(&'a str, &'a str), KeyError> {
    let not_pem = |source| KeyError::NotPem {
        path: path.to_owned(),
        source,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| not_pem(None))?;
    let label = pem::decode_label(bytes).map_err(|e| not_pem(Some(e.into())))?;
    Ok((text, label))
}

/// Decodes the PEM document in `text` (its label already checked).
fn pem_document(path: &Path, text: &str) -> Result<SecretDocument, KeyError> {
    SecretDocument::from_pem(text)
        .map(|(_, doc)| doc)
        .map_err(|e| match e.kind() {
            pkcs8::der::ErrorKind::Pem(_) => KeyError::NotPem {
                path: path.to_owned(),
                source: Some(e.into()),
            },
            _ => KeyError::Malformed {
                path: path.to_owned(),
                what: "PEM body (not DER)",
                source: e.into(),
            },
        })
}

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
        // Bad padding, or (by chance, with valid padding) a plaintext that is not DER: both
        // are what a wrong passphrase produces.
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)
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
    } else if let Some(pbkdf2) = params.kdf.pbkdf2() {
        if pbkdf2.iteration_count > MAX_PBKDF2_ITERATIONS {
            return too_costly(format!("PBKDF2 {} iterations", pbkdf2.iteration_count));
        }
    }
    Ok(())
}

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
