//! The reader: one pass over the compressed stream, memory bounded whatever the archive's
//! size. The envelope is verified against the caller's publisher keys before any blob is
//! written; every blob is hashed while it is written to the staging folder; anything that is
//! not exactly what the signed manifest describes is refused, and the staging folder is
//! removed.

use std::cell::Cell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, mpsc};

use airlock_trust_root::{ArtifactDigests, HashAlgorithm};
use sha2::{Digest, Sha256};

use super::digest::Sha256Digest;
use super::entry::{self, BLOCK, EntryName, MANIFEST_ENTRY, parse_header};
use super::envelope::{self, MAX_ENVELOPE_SIZE, PublisherKeys};
use super::error::ArchiveError;
use super::manifest::Manifest;
use super::parts::ArchiveParts;
use crate::keys::KeyId;

/// log2 of the largest zstd window a reader accepts (8 MiB; what levels 1..=19 produce).
pub const MAX_WINDOW_LOG: u32 = 23;
/// Read buffer for the compressed input.
const CHUNK: usize = 1 << 20;
/// Write size for staged blobs. Copies into the page cache are several times faster from a
/// buffer that stays in the CPU's cache: on the 2-core CI machine `dd bs=1M` writes 2 GiB in
/// 6.0 s, `bs=128K` in 0.75 s, `bs=64K` in 0.64 s (docs/benchmarks.md).
const WRITE_CHUNK: usize = 64 << 10;
/// A zstd frame's magic number as it appears on the wire (0xFD2FB528, little-endian).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// The Content_Checksum_flag bit of a zstd Frame_Header_Descriptor (RFC 8878 §3.1.1.1.1.5).
const CONTENT_CHECKSUM_FLAG: u8 = 1 << 2;

/// A verified archive, its blobs written to a staging folder the caller now owns.
#[derive(Debug)]
pub struct StagedArchive {
    dir: PathBuf,
    manifest: Arc<Manifest>,
    envelope_len: u64,
    signers: Vec<KeyId>,
}

impl StagedArchive {
    /// The staging folder (`blobs/sha256/<hex>` and `manifest.dsse.json` inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where the envelope, exactly as read, is staged (`manifest.dsse.json`); it is not kept
    /// in memory, as a manifest of many artifacts can be tens of megabytes.
    pub fn envelope_path(&self) -> PathBuf {
        self.dir.join(MANIFEST_ENTRY)
    }

    /// The envelope's size in bytes.
    pub fn envelope_len(&self) -> u64 {
        self.envelope_len
    }

    /// The trusted keys whose signatures verified (none for a [`reopen`](Self::reopen)ed one).
    pub fn signers(&self) -> &[KeyId] {
        &self.signers
    }

    /// Where a blob's bytes are.
    pub fn blob_path(&self, digest: &Sha256Digest) -> PathBuf {
        self.dir.join(entry::blob_path(digest))
    }

    /// Reopens a staging folder that [`read_archive`] completed, after a restart: the staged
    /// manifest is parsed again; its signatures, verified when it was read, are not checked
    /// again (the publisher's keys may have changed since, and the folder is the caller's own).
    pub fn reopen(dir: &Path) -> Result<Self, ArchiveError> {
        let path = dir.join(MANIFEST_ENTRY);
        let envelope = fs::read(&path).map_err(ArchiveError::io(&path))?;
        let payload = envelope::payload_of_verified(&envelope)?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest: Arc::new(Manifest::from_json(&payload)?),
            envelope_len: envelope.len() as u64,
            signers: Vec::new(),
        })
    }

    /// A staged blob's bytes, refused if larger than `limit` (errors are one line).
    pub fn read_blob(&self, digest: &Sha256Digest, limit: u64) -> Result<Vec<u8>, String> {
        read_staged_blob(&self.dir, digest, limit)
    }
}

/// A blob staged under `staging` (also while the reader is still going, once an observer has
/// heard of it), refused if larger than `limit` (errors are one line).
pub fn read_staged_blob(
    staging: &Path,
    digest: &Sha256Digest,
    limit: u64,
) -> Result<Vec<u8>, String> {
    let path = staging.join(entry::blob_path(digest));
    let size = fs::metadata(&path).map_err(|e| e.to_string())?.len();
    if size > limit {
        return Err(format!("{size} bytes (at most {limit})"));
    }
    fs::read(&path).map_err(|e| e.to_string())
}

/// An archive's verified manifest, read without extracting anything.
#[derive(Debug)]
pub struct OpenedManifest {
    /// The manifest.
    pub manifest: Manifest,
    /// The trusted keys whose signatures verified.
    pub signers: Vec<KeyId>,
    /// The envelope exactly as read.
    pub envelope: Vec<u8>,
}

/// Reads only the first entry and verifies it: for listing an archive without extracting.
pub fn read_manifest(
    parts: &ArchiveParts,
    keys: &PublisherKeys,
) -> Result<OpenedManifest, ArchiveError> {
    let mut stream = Stream::new(parts.open()?, Rc::default())?;
    read_envelope(&mut stream, keys)
}

/// What a reader tells its caller as it goes, so the caller can act on what is verified
/// while the rest still arrives. Nothing it is told is final: a later blob can still make the
/// whole archive fail. Every method does nothing unless implemented.
pub trait ReadObserver {
    /// The envelope verified: the manifest and the trusted keys that signed it, before any
    /// blob is read.
    fn opened(&mut self, manifest: &Arc<Manifest>, signers: &[KeyId]) {
        let _ = (manifest, signers);
    }

    /// A blob staged at `path`, its digest verified; `bytes` are its contents when it was
    /// small enough to pass through the reader in one piece (at most [`WHOLE_BLOB_SIZE`]).
    fn blob(&mut self, digest: &Sha256Digest, path: &Path, bytes: Option<&[u8]>) {
        let _ = (digest, path, bytes);
    }

    /// Compressed bytes consumed so far.
    fn progress(&mut self, consumed: u64) {
        let _ = consumed;
    }
}

/// Observes nothing.
impl ReadObserver for () {}

/// A [`ReadObserver`] that only follows the compressed bytes consumed.
#[derive(Debug)]
pub struct Progress<F>(pub F);

impl<F: FnMut(u64)> ReadObserver for Progress<F> {
    fn progress(&mut self, consumed: u64) {
        (self.0)(consumed);
    }
}

/// Blobs up to this size are handed to [`ReadObserver::blob`] with their bytes.
pub const WHOLE_BLOB_SIZE: u64 = WRITE_CHUNK as u64;

/// Reads a whole archive into `staging` (which must not exist; it is created), telling
/// `observer` what it verifies on the way.
pub fn read_archive(
    parts: &ArchiveParts,
    keys: &PublisherKeys,
    staging: &Path,
    observer: &mut dyn ReadObserver,
) -> Result<StagedArchive, ArchiveError> {
    read_archive_from(parts.open()?, keys, staging, observer)
}

/// [`read_archive`] over any byte source (one part, a socket, fuzz input).
pub fn read_archive_from(
    input: impl Read,
    keys: &PublisherKeys,
    staging: &Path,
    observer: &mut dyn ReadObserver,
) -> Result<StagedArchive, ArchiveError> {
    let guard = Staging::create(staging)?;
    let consumed = Rc::new(Cell::new(0));
    let mut stream = Stream::new(input, consumed.clone())?;
    let OpenedManifest {
        manifest,
        signers,
        envelope,
    } = read_envelope(&mut stream, keys)?;
    let manifest_path = staging.join(MANIFEST_ENTRY);
    fs::write(&manifest_path, &envelope).map_err(ArchiveError::io(&manifest_path))?;
    // Staged and verified: tens of megabytes for many artifacts, not kept while blobs stream.
    let envelope_len = envelope.len() as u64;
    drop(envelope);

    let manifest = Arc::new(manifest);
    observer.opened(&manifest, &signers);
    stream.limit = expected_stream_size(&manifest, envelope_len);
    let mut expected: HashMap<Sha256Digest, u64> =
        manifest.blobs.iter().map(|b| (b.digest, b.size)).collect();
    let others = OtherDigestChecks::new(&manifest);
    let blob_dir = staging.join(entry::BLOB_PREFIX);
    fs::create_dir_all(&blob_dir).map_err(ArchiveError::io(&blob_dir))?;
    let mut buffer = vec![0u8; WRITE_CHUNK];
    let mut lanes: Option<HashLanes> = None;
    let read = read_blobs(
        &mut stream,
        &blob_dir,
        &mut expected,
        &mut buffer,
        &mut lanes,
        &mut Checked {
            observer,
            others: &others,
        },
        &consumed,
    );
    // A blob still being hashed when the read failed comes first in archive order: its
    // verdict is reported if it is a mismatch, as a one-thread reader would have.
    if let Some(lanes) = &mut lanes {
        lanes
            .settle_all(&mut Checked {
                observer,
                others: &others,
            })
            .and(read)?;
    } else {
        read?;
    }

    if let Some(first) = expected.keys().min() {
        return Err(ArchiveError::MissingBlobs {
            count: expected.len(),
            first: *first,
        });
    }
    stream.finish()?;
    observer.progress(consumed.get());
    Ok(StagedArchive {
        dir: guard.keep(),
        manifest,
        envelope_len,
        signers,
    })
}

/// Reads and stages every blob up to the end-of-archive blocks. Large blobs may still be
/// hashing on `lanes` when it returns.
fn read_blobs<R: Read>(
    stream: &mut Stream<R>,
    blob_dir: &Path,
    expected: &mut HashMap<Sha256Digest, u64>,
    buffer: &mut [u8],
    lanes: &mut Option<HashLanes>,
    observer: &mut Checked<'_>,
    consumed: &Cell<u64>,
) -> Result<(), ArchiveError> {
    let mut seen = HashSet::with_capacity(expected.len());
    loop {
        let offset = stream.pos;
        let mut block = [0u8; BLOCK as usize];
        stream.read_exact(&mut block, "inside a tar header")?;
        if block.iter().all(|b| *b == 0) {
            stream.read_exact(&mut block, "before the end-of-archive blocks")?;
            if block.iter().any(|b| *b != 0) {
                return Err(ArchiveError::BadHeader {
                    offset,
                    reason: "a single zero block inside the archive".into(),
                });
            }
            break;
        }
        let header = parse_header(&block, offset)?;
        let digest = match header.name {
            Ok(EntryName::Blob(digest)) => digest,
            Ok(EntryName::Manifest) => return Err(ArchiveError::DuplicateEntry(header.path)),
            Err(()) => return Err(ArchiveError::BadPath(header.path)),
        };
        if !seen.insert(digest) {
            return Err(ArchiveError::DuplicateEntry(header.path));
        }
        let listed = expected
            .remove(&digest)
            .ok_or(ArchiveError::UnlistedBlob(digest))?;
        if listed != header.size {
            return Err(ArchiveError::SizeMismatch {
                digest,
                listed,
                found: header.size,
            });
        }
        let path = blob_dir.join(digest.hex());
        if header.size > PARALLEL_HASH_FROM {
            // Hashed on a lane while the next blobs are read; the observer hears of it once
            // its digest is checked, still in archive order.
            let lanes = lanes.get_or_insert_with(HashLanes::start);
            let lane = lanes.free_lane(observer)?;
            stage_large_blob(stream, header.size, &path, &lanes.lanes[lane])?;
            lanes.hashing.push_back(Hashing { lane, digest, path });
            stream.skip_padding(&header.path, header.size)?;
        } else {
            if let Some(lanes) = lanes {
                lanes.settle_all(observer)?;
            }
            stage_blob(stream, &digest, header.size, &path, buffer)?;
            stream.skip_padding(&header.path, header.size)?;
            // A blob that fits the buffer was read into it in one piece and is still there.
            let whole = usize::try_from(header.size)
                .ok()
                .filter(|n| *n <= buffer.len())
                .map(|n| &buffer[..n]);
            observer.blob(&digest, &path, whole)?;
        }
        observer.observer.progress(consumed.get());
    }
    Ok(())
}

/// The exact decompressed length of a well-formed archive with this manifest.
fn expected_stream_size(manifest: &Manifest, envelope_len: u64) -> u64 {
    let entries = manifest
        .blobs
        .iter()
        .fold(BLOCK + entry::padded(envelope_len), |sum, b| {
            sum.saturating_add(BLOCK)
                .saturating_add(entry::padded(b.size))
        });
    entries.saturating_add(2 * BLOCK)
}

fn read_envelope<R: Read>(
    stream: &mut Stream<R>,
    keys: &PublisherKeys,
) -> Result<OpenedManifest, ArchiveError> {
    let mut block = [0u8; BLOCK as usize];
    stream.read_exact(&mut block, "inside the first tar header")?;
    if block.iter().all(|b| *b == 0) {
        return Err(ArchiveError::FirstEntryNotManifest {
            found: "(end of archive)".into(),
        });
    }
    let header = parse_header(&block, 0)?;
    if header.name != Ok(EntryName::Manifest) {
        return Err(ArchiveError::FirstEntryNotManifest { found: header.path });
    }
    if header.size > MAX_ENVELOPE_SIZE {
        return Err(ArchiveError::EnvelopeTooLarge {
            size: header.size,
            limit: MAX_ENVELOPE_SIZE,
        });
    }
    let mut envelope = vec![0u8; header.size as usize];
    stream.read_exact(&mut envelope, "inside the manifest envelope")?;
    stream.skip_padding(MANIFEST_ENTRY, header.size)?;
    let opened = envelope::open(&envelope, keys)?;
    let manifest = Manifest::from_json(&opened.payload)?;
    Ok(OpenedManifest {
        manifest,
        signers: opened.signers,
        envelope,
    })
}

/// Writes `size` bytes from the stream to a new file at `path`, hashing them on the way.
fn stage_blob<R: Read>(
    stream: &mut Stream<R>,
    digest: &Sha256Digest,
    size: u64,
    path: &Path,
    buffer: &mut [u8],
) -> Result<(), ArchiveError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(ArchiveError::io(path))?;
    let mut hasher = Sha256::new();
    let mut left = size;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let chunk = &mut buffer[..want];
        stream.read_exact(chunk, "inside a blob")?;
        hasher.update(&*chunk);
        file.write_all(chunk).map_err(ArchiveError::io(path))?;
        left -= want as u64;
    }
    let actual = Sha256Digest::from_bytes(hasher.finalize().into());
    if actual != *digest {
        return Err(ArchiveError::DigestMismatch {
            expected: *digest,
            actual,
        });
    }
    Ok(())
}

/// The digests by other algorithms the manifest declares for artifact blobs, by blob.
struct OtherDigestChecks(HashMap<Sha256Digest, Vec<(HashAlgorithm, String)>>);

impl OtherDigestChecks {
    fn new(manifest: &Manifest) -> Self {
        let mut checks: HashMap<Sha256Digest, Vec<(HashAlgorithm, String)>> = HashMap::new();
        for artifact in &manifest.artifacts {
            for (algorithm, hex) in artifact.other_digests.declared() {
                checks
                    .entry(artifact.digest)
                    .or_default()
                    .push((algorithm, hex.to_owned()));
            }
        }
        Self(checks)
    }

    /// Checks a staged blob whose SHA-256 is verified against the other digests declared for
    /// it. Only artifacts whose evidence needs them have any (an npm tarball's SHA-512), so
    /// re-reading the file, still in the page cache, costs little.
    fn check(
        &self,
        digest: &Sha256Digest,
        path: &Path,
        whole: Option<&[u8]>,
    ) -> Result<(), ArchiveError> {
        let Some(declared) = self.0.get(digest) else {
            return Ok(());
        };
        let algorithms = declared.iter().map(|(a, _)| *a).collect();
        let actual = match whole {
            Some(bytes) => ArtifactDigests::of_bytes(bytes, &algorithms),
            None => File::open(path)
                .and_then(|file| ArtifactDigests::from_reader(file, &algorithms))
                .map_err(ArchiveError::io(path))?,
        };
        for (algorithm, expected) in declared {
            let actual = actual.get(*algorithm).map(hex::encode).unwrap_or_default();
            if actual != *expected {
                return Err(ArchiveError::OtherDigestMismatch {
                    blob: *digest,
                    algorithm: algorithm.name(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// The observer, told of a blob only once every digest declared for it is checked.
struct Checked<'a> {
    observer: &'a mut dyn ReadObserver,
    others: &'a OtherDigestChecks,
}

impl Checked<'_> {
    fn blob(
        &mut self,
        digest: &Sha256Digest,
        path: &Path,
        whole: Option<&[u8]>,
    ) -> Result<(), ArchiveError> {
        self.others.check(digest, path, whole)?;
        self.observer.blob(digest, path, whole);
        Ok(())
    }
}

/// Blobs larger than this are hashed on a lane (a thread of their own) while this thread
/// decompresses and writes them and the blobs after them.
const PARALLEL_HASH_FROM: u64 = 1 << 20;
/// Hashing threads. One SHA-256 stream (1.24 s for 2 GiB here) was the bound of the whole read
/// on two cores; with two, consecutive large blobs hash at the same time.
const HASH_LANES: usize = 2;
/// Chunks in flight between the writing thread and each lane.
const HASH_BUFFERS: usize = 8;

/// The hashing lanes and the large blobs still hashing on them, in archive order. A blob's
/// digest is checked, and the observer told of it, before any later blob is reported, and
/// before its lane takes another blob, so errors are those of a one-thread reader.
struct HashLanes {
    lanes: Vec<Lane>,
    next: usize,
    hashing: VecDeque<Hashing>,
}

struct Hashing {
    lane: usize,
    digest: Sha256Digest,
    path: PathBuf,
}

impl HashLanes {
    fn start() -> Self {
        Self {
            lanes: (0..HASH_LANES).map(|_| Lane::start()).collect(),
            next: 0,
            hashing: VecDeque::new(),
        }
    }

    /// The next lane in turn, once the blobs hashing on it are checked. The blob sent to it
    /// goes to the back of [`Self::hashing`].
    fn free_lane(&mut self, observer: &mut Checked<'_>) -> Result<usize, ArchiveError> {
        let lane = self.next;
        self.next = (self.next + 1) % self.lanes.len();
        while self.hashing.iter().any(|h| h.lane == lane) {
            self.settle_first(observer)?;
        }
        Ok(lane)
    }

    /// Checks every blob still hashing, in archive order.
    fn settle_all(&mut self, observer: &mut Checked<'_>) -> Result<(), ArchiveError> {
        while !self.hashing.is_empty() {
            self.settle_first(observer)?;
        }
        Ok(())
    }

    fn settle_first(&mut self, observer: &mut Checked<'_>) -> Result<(), ArchiveError> {
        let Some(first) = self.hashing.pop_front() else {
            return Ok(());
        };
        let actual = Sha256Digest::from_bytes(self.lanes[first.lane].digest(&first.path)?);
        if actual != first.digest {
            return Err(ArchiveError::DigestMismatch {
                expected: first.digest,
                actual,
            });
        }
        observer.blob(&first.digest, &first.path, None)
    }
}

/// A hashing thread, fed chunks that the writing thread has already written.
struct Lane {
    chunks: Option<mpsc::SyncSender<HashMsg>>,
    buffers: mpsc::Receiver<Vec<u8>>,
    digests: mpsc::Receiver<[u8; 32]>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum HashMsg {
    Chunk(Vec<u8>, usize),
    Finish,
}

impl Lane {
    fn start() -> Self {
        let (chunks, chunks_rx) = mpsc::sync_channel::<HashMsg>(HASH_BUFFERS);
        let (buffers_tx, buffers) = mpsc::sync_channel(HASH_BUFFERS);
        // One digest waits at most: a lane takes a new blob only once the last is checked.
        let (digests_tx, digests) = mpsc::sync_channel(1);
        for _ in 0..HASH_BUFFERS {
            // The channel holds exactly HASH_BUFFERS: these sends cannot block or fail.
            let _ = buffers_tx.send(vec![0u8; WRITE_CHUNK]);
        }
        let thread = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            for msg in chunks_rx {
                match msg {
                    HashMsg::Chunk(buffer, len) => {
                        hasher.update(&buffer[..len]);
                        if buffers_tx.send(buffer).is_err() {
                            return;
                        }
                    }
                    HashMsg::Finish => {
                        let digest = std::mem::take(&mut hasher).finalize().into();
                        if digests_tx.send(digest).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self {
            chunks: Some(chunks),
            buffers,
            digests,
            thread: Some(thread),
        }
    }

    fn stopped(path: &Path) -> ArchiveError {
        ArchiveError::Io {
            path: path.to_owned(),
            source: io::Error::other("the hashing thread stopped"),
        }
    }

    fn buffer(&self, path: &Path) -> Result<Vec<u8>, ArchiveError> {
        self.buffers.recv().map_err(|_| Self::stopped(path))
    }

    fn send(&self, msg: HashMsg, path: &Path) -> Result<(), ArchiveError> {
        self.chunks
            .as_ref()
            .ok_or_else(|| Self::stopped(path))?
            .send(msg)
            .map_err(|_| Self::stopped(path))
    }

    /// The digest of the blob whose last chunk was followed by [`HashMsg::Finish`].
    fn digest(&self, path: &Path) -> Result<[u8; 32], ArchiveError> {
        self.digests.recv().map_err(|_| Self::stopped(path))
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.chunks = None;
        while self.buffers.try_recv().is_ok() {}
        while self.digests.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes `size` bytes from the stream to a new file at `path`, handing each chunk to `lane`
/// to hash once written; the blob's digest is left for [`HashLanes`] to check.
fn stage_large_blob<R: Read>(
    stream: &mut Stream<R>,
    size: u64,
    path: &Path,
    lane: &Lane,
) -> Result<(), ArchiveError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(ArchiveError::io(path))?;
    let mut left = size;
    while left > 0 {
        let mut buffer = lane.buffer(path)?;
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        stream.read_exact(&mut buffer[..want], "inside a blob")?;
        file.write_all(&buffer[..want])
            .map_err(ArchiveError::io(path))?;
        lane.send(HashMsg::Chunk(buffer, want), path)?;
        left -= want as u64;
    }
    lane.send(HashMsg::Finish, path)
}

/// The staging folder, removed on drop unless kept.
struct Staging {
    dir: PathBuf,
    keep: bool,
}

impl Staging {
    fn create(dir: &Path) -> Result<Self, ArchiveError> {
        match fs::create_dir(dir) {
            Ok(()) => Ok(Self {
                dir: dir.to_owned(),
                keep: false,
            }),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(ArchiveError::StagingExists(dir.to_owned()))
            }
            Err(e) => Err(ArchiveError::io(dir)(e)),
        }
    }

    fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.dir)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Counts bytes read from the compressed input.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// The compressed input: the frame header bytes already looked at, then the rest.
type Input<R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, Counting<R>>>;

/// The decompressed stream: one zstd frame, a window limit, a length limit and a position.
struct Stream<R: Read> {
    decoder: zstd::stream::read::Decoder<'static, Input<R>>,
    pos: u64,
    limit: u64,
}

impl<R: Read> Stream<R> {
    fn new(input: R, count: Rc<Cell<u64>>) -> Result<Self, ArchiveError> {
        let mut input = Counting {
            inner: input,
            count,
        };
        // The magic number and the Frame_Header_Descriptor: the decoder verifies a content
        // checksum when there is one but does not require it, so look at the flag here.
        // Anything that is not a zstd frame header is left for the decoder to refuse.
        let mut head = Vec::with_capacity(ZSTD_MAGIC.len() + 1);
        (&mut input)
            .take(ZSTD_MAGIC.len() as u64 + 1)
            .read_to_end(&mut head)
            .map_err(|e| decode_error(&e))?;
        if let Some((&descriptor, magic)) = head.split_last()
            && magic == ZSTD_MAGIC
            && descriptor & CONTENT_CHECKSUM_FLAG == 0
        {
            return Err(ArchiveError::NoContentChecksum);
        }
        let input = BufReader::with_capacity(CHUNK, io::Cursor::new(head).chain(input));
        let mut decoder = zstd::stream::read::Decoder::with_buffer(input)
            .map_err(|e| ArchiveError::Compression(e.to_string()))?
            .single_frame();
        decoder
            .window_log_max(MAX_WINDOW_LOG)
            .map_err(|e| ArchiveError::Compression(e.to_string()))?;
        Ok(Self {
            decoder,
            pos: 0,
            // Until the manifest is known: room for the largest envelope and an end marker.
            limit: BLOCK + MAX_ENVELOPE_SIZE + 2 * BLOCK,
        })
    }

    /// Reads some bytes, failing once the stream runs past `limit`.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ArchiveError> {
        let room = self.limit.saturating_sub(self.pos).saturating_add(1);
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = loop {
            match self.decoder.read(&mut buf[..len]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(decode_error(&e)),
            }
        };
        self.pos += n as u64;
        if self.pos > self.limit {
            return Err(ArchiveError::DecompressedTooLarge { limit: self.limit });
        }
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8], place: &'static str) -> Result<(), ArchiveError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..])? {
                0 => return Err(ArchiveError::Truncated(place)),
                n => filled += n,
            }
        }
        Ok(())
    }

    /// Reads the padding after an entry of `size` bytes at `path`: it must be zero bytes.
    fn skip_padding(&mut self, path: &str, size: u64) -> Result<(), ArchiveError> {
        let pad = (entry::padded(size) - size) as usize;
        let start = self.pos;
        let mut padding = [0u8; BLOCK as usize];
        self.read_exact(&mut padding[..pad], "inside entry padding")?;
        match padding[..pad].iter().position(|b| *b != 0) {
            None => Ok(()),
            Some(i) => Err(ArchiveError::BadPadding {
                path: path.to_owned(),
                offset: start + i as u64,
            }),
        }
    }

    /// After the end-of-archive blocks: nothing more in the frame, nothing after the frame.
    fn finish(mut self) -> Result<(), ArchiveError> {
        let mut probe = [0u8; 1];
        if self.read(&mut probe)? > 0 {
            // Unreachable in practice: `read` already fails past `limit`.
            return Err(ArchiveError::DecompressedTooLarge { limit: self.limit });
        }
        let mut rest = self.decoder.finish();
        if !rest.buffer().is_empty() {
            return Err(ArchiveError::TrailingData);
        }
        let mut more = [0u8; 1];
        match rest.read(&mut more) {
            Ok(0) => Ok(()),
            Ok(_) => Err(ArchiveError::TrailingData),
            Err(e) => Err(ArchiveError::Compression(e.to_string())),
        }
    }
}

/// Maps zstd's errors to ours.
fn decode_error(e: &io::Error) -> ArchiveError {
    let message = e.to_string();
    if message.contains("too much memory") || message.contains("window") {
        ArchiveError::WindowTooLarge {
            limit_log: MAX_WINDOW_LOG,
        }
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        ArchiveError::Truncated("inside the compressed stream")
    } else {
        ArchiveError::Compression(message)
    }
}
