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

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::KeypairBytes;
use ed25519_dalek::{SigningKey, VerifyingKey};
use pkcs8::der::{Decode, pem, zeroize::Zeroizing};
use pkcs8::pkcs5::{pbes2, scrypt};
use pkcs8::spki::SubjectPublicKeyInfoRef;
use pkcs8::{
    DecodePublicKey, EncodePrivateKey, EncodePublicKey, EncryptedPrivateKeyInfo, LineEnding,
    ObjectIdentifier, PrivateKeyInfo, SecretDocument,
};
use rand_core::{OsRng, RngCore};
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
fn generate_with(
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

/// The two files of the key pair named `out`: `(OUT.key, OUT.pub)`. [`KeyError::OutPath`]
/// when `out` is empty, names a directory (`dir/`, `.`, `..`) or already ends in `.key` or
/// `.pub`.
pub fn key_pair_paths(out: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
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

/// Reads a key file: regular, at most [`MAX_KEY_FILE_SIZE`] bytes. For a private key the
/// permissions are checked on the opened file, before reading; the bytes are wiped after use.
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

/// The file's text (trailing whitespace trimmed) and its PEM label.
fn pem_label<'a>(path: &Path, bytes: &'a [u8]) -> Result<(&'a str, &'a str), KeyError> {
    let not_pem = |source| KeyError::NotPem {
        path: path.to_owned(),
        source,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| not_pem(None))?;
    // RFC 7468's strict grammar allows one line break after the end line; editors add more.
    let text = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let label = pem::decode_label(text.as_bytes()).map_err(|e| not_pem(Some(e.into())))?;
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
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use ed25519_dalek::pkcs8::PublicKeyBytes;
    use pkcs8::der::Encode;

    use super::*;

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
    /// Its public key (`openssl pkey -pubout`).
    const OPENSSL_ED25519_PUB: &str = "\
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAze4zboE2e1HZLzysdmjv132x8jSby56pTfuunjpF89Q=
-----END PUBLIC KEY-----
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
    const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

    /// scrypt N = 2^10: the real 2^17 takes seconds in a debug build.
    fn cheap() -> scrypt::Params {
        scrypt::Params::new(10, 8, 1, 32).unwrap()
    }

    /// A passphrase callback that must not be called.
    fn never() -> Result<String, KeyError> {
        panic!("the passphrase was asked for")
    }

    fn given(passphrase: &str) -> impl FnOnce() -> Result<String, KeyError> + use<> {
        let passphrase = passphrase.to_owned();
        move || Ok(passphrase)
    }

    fn write(path: &Path, contents: impl AsRef<[u8]>, mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

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
    fn an_empty_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = generate(&dir.path().join("k"), Some("")).unwrap_err();
        assert!(matches!(err, KeyError::EmptyPassphrase), "{err:?}");
        assert!(!dir.path().join("k.key").exists());
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
    fn garbage_is_not_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage");
        for label in ["PRIVATE KEY", "PUBLIC KEY"] {
            for contents in [
                "hello".to_owned(),
                String::new(),
                format!("-----BEGIN {label}-----\n!!!!\n-----END {label}-----\n"),
                format!("-----BEGIN {label}-----\nAAAA\n-----END OTHER-----\n"),
                format!("-----BEGIN {label}-----\nAAAA\n"),
            ] {
                write(&path, &contents, 0o600);
                let err = if label == "PUBLIC KEY" {
                    load_public_key(&path).unwrap_err()
                } else {
                    load_signing_key(&path, never).unwrap_err()
                };
                assert!(
                    matches!(&err, KeyError::NotPem { path: p, .. } if *p == path),
                    "{contents:?}: {err:?}"
                );
            }
        }
        write(&path, [0xff, 0xfe, 0x00, 0x80], 0o600);
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(
            matches!(&err, KeyError::NotPem { source: None, .. }),
            "{err:?}"
        );
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
    fn oversized_files_are_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let mut contents = OPENSSL_ED25519_PUB.as_bytes().to_vec();
        contents.resize(MAX_KEY_FILE_SIZE as usize + 1, b'\n');
        write(&path, &contents, 0o600);
        let err = load_public_key(&path).unwrap_err();
        assert!(
            matches!(&err, KeyError::TooLarge { limit, .. } if *limit == MAX_KEY_FILE_SIZE),
            "{err:?}"
        );
        let err = load_signing_key(&path, never).unwrap_err();
        assert!(matches!(&err, KeyError::TooLarge { .. }), "{err:?}");
        // Exactly at the limit is read (and then parsed).
        contents.truncate(MAX_KEY_FILE_SIZE as usize);
        write(&path, &contents, 0o600);
        load_public_key(&path).unwrap();
    }

    #[test]
    fn directories_and_fifos_are_not_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_public_key(dir.path()).unwrap_err();
        assert!(matches!(&err, KeyError::NotRegularFile { .. }), "{err:?}");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Would block forever on open without O_NONBLOCK.
        let err = load_signing_key(&fifo, never).unwrap_err();
        assert!(matches!(&err, KeyError::NotRegularFile { .. }), "{err:?}");
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_it() {
        let path = Path::new("/nonexistent/airlock.key");
        let err = load_signing_key(path, never).unwrap_err();
        assert!(
            matches!(&err, KeyError::Read { path: p, .. } if p == path),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "cannot read /nonexistent/airlock.key");
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
