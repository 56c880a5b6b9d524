//! The writer: the envelope first, then every blob, into one multithreaded zstd frame,
//! optionally cut into parts. Each file is checked as it is copied (against its SHA-256, or a
//! cheaper XXH3-64 its caller took with it), so a file that changed after it was hashed fails
//! the write instead of producing an archive the site rejects.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::Xxh3Default;

use super::digest::Sha256Digest;
use super::entry::{self, BLOCK, MANIFEST_ENTRY};
use super::envelope;
use super::error::ArchiveError;
use super::parts::PartSink;

/// Copy buffer and output buffer size: small enough to stay in the CPU's cache, which makes
/// the copy into the page cache several times faster than with 1 MiB (see the reader's
/// `WRITE_CHUNK`).
const CHUNK: usize = 128 << 10;
/// The input each zstd worker compresses at a time. zstd's default at levels 1–19 is 4 × the
/// window (8 MiB at level 3), and each worker holds several such buffers: 2 workers took
/// `create` to 115 MiB; at 2 MiB it stays under 100 MiB at the same speed (docs/benchmarks.md).
const JOB_SIZE: u32 = 2 << 20;
/// Highest zstd level accepted; above it zstd's window exceeds what readers allow.
pub const MAX_LEVEL: i32 = 19;

/// Where a blob's bytes come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// A file on disk, read while writing; the copy must hash to the blob's SHA-256.
    File(PathBuf),
    /// A file the caller has just read to take its SHA-256, with the XXH3-64 of the same bytes:
    /// the copy is checked against that instead, which costs a tenth as much as hashing
    /// again. Either way a file that changed in between fails the write; a change made to
    /// collide on purpose would only give an archive every reader refuses (`DigestMismatch`).
    HashedFile {
        /// The file.
        path: PathBuf,
        /// The XXH3-64 of the bytes hashed.
        xxh3: u64,
    },
    /// Bytes in memory (small things: bundles, TUF metadata).
    Bytes(Vec<u8>),
}

/// A blob to write, with the digest and size it was hashed to.
#[derive(Debug, Clone)]
pub struct PlannedBlob {
    /// Its digest.
    pub digest: Sha256Digest,
    /// Its size.
    pub size: u64,
    /// Where its bytes are.
    pub source: BlobSource,
}

/// How to compress and cut the output.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// zstd level, 1..=19.
    pub level: i32,
    /// zstd worker threads (0: compress on the calling thread).
    pub threads: u32,
    /// Cut the output into parts of at most this many bytes (`OUT.001`, `OUT.002`, …).
    pub max_part_size: Option<u64>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            level: 3,
            threads: std::thread::available_parallelism()
                .map_or(1, |n| u32::try_from(n.get()).unwrap_or(1)),
            max_part_size: None,
        }
    }
}

/// Writes an archive to `out` (or its parts) and returns the files written. `envelope` is the
/// signed manifest; `blobs` must be exactly the manifest's blobs, in its order. `progress`
/// receives the number of uncompressed blob bytes written so far. Nothing is left at `out`
/// on failure. An envelope readers would refuse for its size or its number of signatures
/// (`EnvelopeTooLarge`, `TooManySignatures`) fails before any file is created.
pub fn write_archive(
    out: &Path,
    envelope: &[u8],
    blobs: &[PlannedBlob],
    options: &WriteOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<PathBuf>, ArchiveError> {
    if !(1..=MAX_LEVEL).contains(&options.level) {
        return Err(ArchiveError::Parts(format!(
            "zstd level {} is outside 1..={MAX_LEVEL}",
            options.level
        )));
    }
    envelope::check_limits(envelope)?;
    let sink = PartSink::new(out, options.max_part_size)?;
    let out_err = || ArchiveError::io(out);
    let mut encoder =
        zstd::stream::write::Encoder::new(BufWriter::with_capacity(CHUNK, sink), options.level)
            .map_err(out_err())?;
    if options.threads > 0 {
        encoder.multithread(options.threads).map_err(out_err())?;
        encoder
            .set_parameter(zstd::stream::raw::CParameter::JobSize(JOB_SIZE))
            .map_err(out_err())?;
    }
    encoder.include_checksum(true).map_err(out_err())?;

    write_entry_header(&mut encoder, MANIFEST_ENTRY, envelope.len() as u64, out)?;
    encoder.write_all(envelope).map_err(out_err())?;
    write_padding(&mut encoder, envelope.len() as u64, out)?;

    let mut buffer = vec![0u8; CHUNK];
    let mut done = 0u64;
    for blob in blobs {
        write_entry_header(
            &mut encoder,
            &entry::blob_path(&blob.digest),
            blob.size,
            out,
        )?;
        match &blob.source {
            BlobSource::Bytes(bytes) => {
                if bytes.len() as u64 != blob.size || Sha256Digest::of(bytes) != blob.digest {
                    return Err(ArchiveError::DigestMismatch {
                        expected: blob.digest,
                        actual: Sha256Digest::of(bytes),
                    });
                }
                encoder.write_all(bytes).map_err(out_err())?;
            }
            BlobSource::File(path) => {
                copy_file(path, blob, Check::Sha256, &mut encoder, &mut buffer, out)?;
            }
            BlobSource::HashedFile { path, xxh3 } => {
                copy_file(
                    path,
                    blob,
                    Check::Xxh3(*xxh3),
                    &mut encoder,
                    &mut buffer,
                    out,
                )?;
            }
        }
        write_padding(&mut encoder, blob.size, out)?;
        done += blob.size;
        progress(done);
    }
    encoder
        .write_all(&[0u8; 2 * BLOCK as usize])
        .map_err(out_err())?;
    let buffered = encoder.finish().map_err(out_err())?;
    let sink = buffered
        .into_inner()
        .map_err(|e| ArchiveError::io(out)(e.into_error()))?;
    sink.finish()
}

fn write_entry_header(
    w: &mut impl Write,
    path: &str,
    size: u64,
    out: &Path,
) -> Result<(), ArchiveError> {
    w.write_all(&entry::header(path, size)?)
        .map_err(ArchiveError::io(out))
}

fn write_padding(w: &mut impl Write, size: u64, out: &Path) -> Result<(), ArchiveError> {
    let pad = (entry::padded(size) - size) as usize;
    w.write_all(&[0u8; BLOCK as usize][..pad])
        .map_err(ArchiveError::io(out))
}

/// What a copied file must still hash to.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// The blob's digest.
    Sha256,
    /// This XXH3-64.
    Xxh3(u64),
}

/// The running hash of a [`Check`].
enum Running {
    Sha256(Sha256),
    Xxh3(Box<Xxh3Default>, u64),
}

impl Running {
    fn start(check: Check) -> Self {
        match check {
            Check::Sha256 => Self::Sha256(Sha256::new()),
            Check::Xxh3(expected) => Self::Xxh3(Box::new(Xxh3Default::new()), expected),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(sha) => sha.update(bytes),
            Self::Xxh3(xxh3, _) => xxh3.update(bytes),
        }
    }

    /// Whether the bytes were those hashed before.
    fn matches(self, digest: &Sha256Digest) -> bool {
        match self {
            Self::Sha256(sha) => Sha256Digest::from_bytes(sha.finalize().into()) == *digest,
            Self::Xxh3(xxh3, expected) => xxh3.digest() == expected,
        }
    }
}

/// Copies exactly `blob.size` bytes of `path`, checking they are the bytes that were hashed.
fn copy_file(
    path: &Path,
    blob: &PlannedBlob,
    check: Check,
    w: &mut impl Write,
    buffer: &mut [u8],
    out: &Path,
) -> Result<(), ArchiveError> {
    let mut file = File::open(path).map_err(ArchiveError::io(path))?;
    let mut hash = Running::start(check);
    let mut left = blob.size;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file
            .read(&mut buffer[..want])
            .map_err(ArchiveError::io(path))?;
        if n == 0 {
            return Err(ArchiveError::SourceChanged {
                path: path.to_owned(),
            });
        }
        hash.update(&buffer[..n]);
        w.write_all(&buffer[..n]).map_err(ArchiveError::io(out))?;
        left -= n as u64;
    }
    let grew = file
        .read(&mut buffer[..1])
        .map_err(ArchiveError::io(path))?
        > 0;
    if grew || !hash.matches(&blob.digest) {
        return Err(ArchiveError::SourceChanged {
            path: path.to_owned(),
        });
    }
    Ok(())
}
