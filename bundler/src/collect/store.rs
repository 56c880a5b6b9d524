//! `BlobStore`: the content-addressed folder pulled blobs go to (`create --cache DIR`, or a
//! work folder beside the output): `blobs/sha256/<hex>`, each written under a temporary
//! name in `tmp/` while it is hashed, and renamed into place only once its digest and size
//! are the ones asked for.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use xxhash_rust::xxh3::Xxh3Default;

use super::error::Problem;
use crate::archive::Sha256Digest;

/// The digest a package's registry names for its file (the store's key for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// PyPI's `digests.sha256`.
    Sha256(Sha256Digest),
    /// npm's `dist.integrity` (`sha512-…`).
    Sha512([u8; 64]),
    /// Nothing named in advance (a GitHub release asset without a `digest`): the file is
    /// named by what it hashes to, and its evidence must sign that.
    Unknown,
}

/// A blob held in a store, as hashed when it was written (its SHA-256 is its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Its size.
    pub size: u64,
    /// The XXH3-64 of its bytes, which the archive writer checks its copy against.
    pub xxh3: u64,
}

/// A content-addressed blob folder.
#[derive(Debug, Clone)]
pub(crate) struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating) the store at `root`.
    pub(crate) fn open(root: &Path) -> Result<Self, Problem> {
        for sub in ["blobs/sha256", "tmp"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir).map_err(Problem::io(&dir))?;
        }
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// The store at `root` as it is, to read only (nothing is created).
    pub(crate) fn existing(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// Where `digest`'s blob is (or would be).
    pub(crate) fn path(&self, digest: &Sha256Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    /// Whether the store holds a file for `digest` of `size` bytes. Its bytes are hashed
    /// again before the archive uses them (a changed cache file is refused then).
    pub(crate) fn holds(&self, digest: &Sha256Digest, size: u64) -> bool {
        std::fs::metadata(self.path(digest)).is_ok_and(|m| m.is_file() && m.len() == size)
    }

    /// Reads a held blob of at most `limit` bytes, checking its digest.
    pub(crate) fn read(&self, digest: &Sha256Digest, limit: u64) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(self.path(digest))
            .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
            .ok()?;
        (bytes.len() as u64 <= limit && Sha256Digest::of(&bytes) == *digest).then_some(bytes)
    }

    /// Stores bytes already checked to hash to `digest`.
    pub(crate) fn put(&self, digest: &Sha256Digest, bytes: &[u8]) -> Result<Written, Problem> {
        let mut partial = self.partial()?;
        partial.write(bytes)?;
        partial.finish(self, digest, bytes.len() as u64, "blob")
    }

    /// The blob a package file's registry digest names, if the store holds it: by its
    /// SHA-256 (PyPI), or by the SHA-256 recorded beside a SHA-512 (npm) — which is only
    /// believed once the held file's SHA-512 is computed again and matches.
    pub(crate) fn holding(
        &self,
        expected: &Expected,
        size: Option<u64>,
    ) -> Option<(Sha256Digest, u64)> {
        let digest = match expected {
            Expected::Sha256(d) => *d,
            Expected::Sha512(sha512) => {
                let alias = self.root.join("sha512").join(hex::encode(sha512));
                let text = std::fs::read_to_string(alias).ok()?;
                let digest: Sha256Digest = text.trim().parse().ok()?;
                let mut hasher = sha2::Sha512::new();
                let mut file = File::open(self.path(&digest)).ok()?;
                std::io::copy(&mut file, &mut hasher).ok()?;
                let actual: [u8; 64] = hasher.finalize().into();
                if actual != *sha512 {
                    return None;
                }
                digest
            }
            Expected::Unknown => return None,
        };
        let held = std::fs::metadata(self.path(&digest)).ok()?;
        (held.is_file() && size.is_none_or(|s| s == held.len())).then_some((digest, held.len()))
    }

    /// Records that the blob `digest` has the SHA-512 `sha512` (npm names files by it).
    pub(crate) fn alias_sha512(
        &self,
        sha512: &[u8; 64],
        digest: &Sha256Digest,
    ) -> Result<(), Problem> {
        let dir = self.root.join("sha512");
        std::fs::create_dir_all(&dir).map_err(Problem::io(&dir))?;
        let path = dir.join(hex::encode(sha512));
        std::fs::write(&path, digest.to_string()).map_err(Problem::io(&path))
    }

    /// A new temporary file to stream a blob into.
    pub(crate) fn partial(&self) -> Result<Partial, Problem> {
        let tmp = self.root.join("tmp");
        let file = tempfile::Builder::new()
            .suffix(".partial")
            .tempfile_in(&tmp)
            .map_err(Problem::io(&tmp))?;
        Ok(Partial {
            path: file.path().to_owned(),
            file: Some(BufWriter::with_capacity(1 << 20, file)),
            sha: Sha256::new(),
            xxh3: Xxh3Default::new(),
            size: 0,
        })
    }
}

/// A blob being written: hashed as it is written; removed unless `finish` renames it.
pub(crate) struct Partial {
    path: PathBuf,
    file: Option<BufWriter<tempfile::NamedTempFile>>,
    sha: Sha256,
    xxh3: Xxh3Default,
    size: u64,
}

impl std::fmt::Debug for Partial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partial")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Partial {
    /// Appends `bytes`.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        self.sha.update(bytes);
        self.xxh3.update(bytes);
        self.size += bytes.len() as u64;
        match &mut self.file {
            Some(file) => file.write_all(bytes).map_err(Problem::io(&self.path)),
            None => Ok(()),
        }
    }

    /// Bytes written so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Names the file by the digest it hashed to (which must be `pin`, if given) and renames
    /// it there in `store`.
    pub(crate) fn finish_found(
        self,
        store: &BlobStore,
        pin: Option<&Sha256Digest>,
        what: &str,
    ) -> Result<(Sha256Digest, Written), Problem> {
        let found = Sha256Digest::from_bytes(self.sha.clone().finalize().into());
        let expected = pin.copied().unwrap_or(found);
        let size = self.size;
        let written = self.finish(store, &expected, size, what)?;
        Ok((expected, written))
    }

    /// Renames the file to its name in `store` by the SHA-256 it hashed to (for a file
    /// checked otherwise, e.g. against the SHA-512 its registry names).
    pub(crate) fn finish_as_hashed(
        mut self,
        store: &BlobStore,
    ) -> Result<(Sha256Digest, Written), Problem> {
        let digest = Sha256Digest::from_bytes(std::mem::take(&mut self.sha).finalize().into());
        let written = self.persist(store, &digest)?;
        Ok((digest, written))
    }

    /// Checks size and digest, then renames the file to its name in `store`.
    pub(crate) fn finish(
        mut self,
        store: &BlobStore,
        digest: &Sha256Digest,
        size: u64,
        what: &str,
    ) -> Result<Written, Problem> {
        let what = format!("{what} {digest}");
        if self.size != size {
            return Err(Problem::SizeMismatch {
                what,
                expected: size,
                actual: self.size,
            });
        }
        let actual = Sha256Digest::from_bytes(std::mem::take(&mut self.sha).finalize().into());
        if actual != *digest {
            return Err(Problem::DigestMismatch {
                what,
                expected: *digest,
                actual,
            });
        }
        self.persist(store, digest)
    }

    fn persist(mut self, store: &BlobStore, digest: &Sha256Digest) -> Result<Written, Problem> {
        let Some(file) = self.file.take() else {
            unreachable!("a partial blob is finished once")
        };
        let file = file.into_inner().map_err(|e| Problem::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        let target = store.path(digest);
        file.persist(&target).map_err(|e| Problem::Io {
            path: target.clone(),
            source: e.error,
        })?;
        Ok(Written {
            size: self.size,
            xxh3: self.xxh3.digest(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_lands_under_its_name_only_when_it_hashes_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let digest = Sha256Digest::of(b"layer");
        let written = store.put(&digest, b"layer").unwrap();
        assert_eq!(written.size, 5);
        assert!(store.holds(&digest, 5));
        assert_eq!(store.read(&digest, 5).unwrap(), b"layer");
        assert_eq!(store.read(&digest, 4), None);

        let other = Sha256Digest::of(b"other");
        let mut partial = store.partial().unwrap();
        partial.write(b"layex").unwrap();
        let err = partial.finish(&store, &other, 5, "blob").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "blob {other}: digest mismatch (expected {other}, received {})",
                Sha256Digest::of(b"layex")
            )
        );
        assert!(!store.holds(&other, 5));
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
    }
}
