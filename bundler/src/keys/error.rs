//! [`KeyError`]: why a key could not be generated, read or used, naming the file.

use std::io;
use std::path::PathBuf;

use pkcs8::ObjectIdentifier;

use super::KeyId;

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
        /// The limit, [`super::MAX_KEY_FILE_SIZE`] for key files.
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
