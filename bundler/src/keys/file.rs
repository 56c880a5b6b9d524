//! Key files: the two names of a pair, creating a file that must not exist yet, and reading
//! one strictly (a regular file, at most [`MAX_KEY_FILE_SIZE`] bytes, a private key only if
//! group and others have no access) into its PEM label and document.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use pkcs8::SecretDocument;
use pkcs8::der::{pem, zeroize::Zeroizing};

use super::{KeyError, MAX_KEY_FILE_SIZE};

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
pub(super) fn write_new(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), KeyError> {
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
pub(super) fn read_key_file(path: &Path, private: bool) -> Result<Zeroizing<Vec<u8>>, KeyError> {
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
pub(super) fn pem_label<'a>(path: &Path, bytes: &'a [u8]) -> Result<(&'a str, &'a str), KeyError> {
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
pub(super) fn pem_document(path: &Path, text: &str) -> Result<SecretDocument, KeyError> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keys::tests::{OPENSSL_ED25519_PUB, never, write};
    use crate::keys::{load_public_key, load_signing_key};

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
}
