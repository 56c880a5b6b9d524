//! Fuzz the one-pass archive reader, `read_archive_from`, against one trusted publisher key.
//!
//! The first input byte picks the mode:
//!
//! - `0..=31` (one input in eight): the rest is handed to the reader as is.
//! - otherwise the rest is read (with `arbitrary`) as a plan for an archive: blobs for a
//!   manifest, which keys sign it, then edits to the well-formed archive listing those blobs
//!   (insert an entry: the manifest, a listed or unlisted blob, a listed blob with its path
//!   split across the ustar prefix and name, or arbitrary path bytes; remove, swap or duplicate
//!   entries; change an entry's type byte, size field, data, checksum, a fixed header field
//!   (mode, uid, gid, mtime, owner names) or its padding bytes), the number of end-of-archive
//!   blocks, whether the zstd frame carries a content checksum, a cut of the compressed stream
//!   and trailing bytes. The tar is built in memory from raw headers written as the writer
//!   writes them and compressed with zstd level 1 and a content checksum, so most inputs get
//!   past the decompressor, the envelope and the signature check to the blob checks. Input that runs out leaves the rest of the plan at its defaults: an empty
//!   plan is a valid archive.
//!
//! Properties checked on every input:
//!
//! - refused: the staging folder does not exist (the reader's "no partial state" promise);
//! - accepted: every listed blob is staged with its size and digest and nothing else is; the
//!   staged envelope is the one returned; and, for built archives, a trusted key signed and the
//!   manifest is exactly the one signed.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use airlock_bundler::archive::{
    Artifact, ArtifactKind, BLOB_PREFIX, BlobEntry, Evidence, FORMAT_VERSION, FileEntry,
    MANIFEST_ENTRY, MAX_ENVELOPE_SIZE, Manifest, Publisher, PublisherKeys, RelativePath,
    Sha256Digest, StagedArchive, blob_path, read_archive_from, sign_manifest,
};
use airlock_bundler::keys::KeyId;
use chrono::DateTime;
use ed25519_dalek::SigningKey;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Most blobs a plan's manifest lists.
const MAX_BLOBS: u32 = 6;
/// Most edits a plan makes to the well-formed archive.
const MAX_EDITS: u32 = 8;

struct Keys {
    trusted: SigningKey,
    untrusted: SigningKey,
    publisher: PublisherKeys,
    trusted_id: KeyId,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let trusted = SigningKey::from_bytes(&[7; 32]);
        let untrusted = SigningKey::from_bytes(&[8; 32]);
        let publisher =
            PublisherKeys::any_of([trusted.verifying_key()]).expect("one key, threshold one");
        let trusted_id = KeyId::of(&trusted.verifying_key());
        Keys {
            trusted,
            untrusted,
            publisher,
            trusted_id,
        }
    })
}

/// A fresh staging path for this process: `<tmp>/airlock-fuzz-<pid>-<n>`. The reader creates
/// it; it is removed after every input, so nothing accumulates.
fn staging_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("airlock-fuzz-{}-{n}", std::process::id()));
    // Left by an earlier process with the same id that crashed: not this input's doing.
    if path.exists() {
        let _ = std::fs::remove_dir_all(&path);
    }
    path
}

/// Who signs the envelope.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signers {
    Trusted,
    Untrusted,
    Both,
    Nobody,
}

/// One tar entry, header fields chosen verbatim.
#[derive(Clone)]
struct Entry {
    /// The ustar `name` field (at most 100 bytes used).
    name: Vec<u8>,
    /// The ustar `prefix` field (at most 155 bytes used).
    prefix: Vec<u8>,
    /// The type flag byte.
    kind: u8,
    /// The size field; the data's length if `None`.
    size: Option<u64>,
    data: Vec<u8>,
    corrupt_checksum: bool,
    /// A fixed field changed: which (mode, uid, gid, mtime, uname, gname, by the value mod 6)
    /// and the byte its first byte becomes.
    field_edit: Option<(u8, u8)>,
    /// The byte the padding after the data is made of (the writer's is 0).
    padding: u8,
}

impl Entry {
    fn file(path: &str, data: &[u8]) -> Self {
        Self {
            name: path.as_bytes().to_vec(),
            prefix: Vec::new(),
            kind: b'0',
            size: None,
            data: data.to_vec(),
            corrupt_checksum: false,
            field_edit: None,
            padding: 0,
        }
    }

    fn header(&self) -> [u8; 512] {
        let mut h = tar::Header::new_ustar();
        let name = &self.name[..self.name.len().min(100)];
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        if let Some(ustar) = h.as_ustar_mut() {
            let prefix = &self.prefix[..self.prefix.len().min(155)];
            ustar.prefix[..prefix.len()].copy_from_slice(prefix);
        }
        h.set_size(self.size.unwrap_or(self.data.len() as u64));
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::new(self.kind));
        if let Some((field, byte)) = self.field_edit {
            let ustar = h.as_ustar_mut().expect("a ustar header");
            let bytes: &mut [u8] = match field % 6 {
                0 => &mut ustar.mode,
                1 => &mut ustar.uid,
                2 => &mut ustar.gid,
                3 => &mut ustar.mtime,
                4 => &mut ustar.uname,
                _ => &mut ustar.gname,
            };
            bytes[0] = byte;
        }
        h.set_cksum();
        if self.corrupt_checksum {
            h.as_old_mut().cksum[3] ^= 1;
        }
        let mut block = [0u8; 512];
        block.copy_from_slice(h.as_bytes());
        block
    }
}

/// A blob the manifest lists: its bytes, and optionally a different size to list.
struct Listed {
    data: Vec<u8>,
    listed_size: Option<u64>,
}

/// An archive built from fuzz input, and what the reader should find in it if it accepts it.
struct Built {
    bytes: Vec<u8>,
    manifest: Manifest,
    signers: Signers,
}

/// A manifest listing each distinct blob once, each as a one-file artifact.
fn manifest_for(blobs: &[Listed]) -> Manifest {
    let mut entries: Vec<BlobEntry> = Vec::new();
    let mut artifacts = Vec::new();
    for (i, blob) in blobs.iter().enumerate() {
        let digest = Sha256Digest::of(&blob.data);
        if entries.iter().any(|b| b.digest == digest) {
            continue;
        }
        let size = blob.listed_size.unwrap_or(blob.data.len() as u64);
        entries.push(BlobEntry { digest, size });
        artifacts.push(Artifact {
            name: format!("file-{i}"),
            kind: ArtifactKind::File,
            digest,
            size,
            media_type: "application/octet-stream".into(),
            files: vec![FileEntry {
                path: RelativePath::new(&format!("file-{i}.bin")).expect("a plain name"),
                digest,
            }],
            evidence: Evidence::default(),
            other_digests: Default::default(),
        });
    }
    Manifest {
        version: FORMAT_VERSION,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        created_at: DateTime::from_timestamp(1_795_003_200, 0).expect("in range"),
        publisher: Publisher {
            name: "release-team".into(),
            sequence: 7,
        },
        site: Some("plant-3".into()),
        notes: None,
        trust: vec![],
        logs: vec![],
        artifacts,
        blobs: entries,
    }
}

/// True about once in `n`; false once the input has run out (so the default is the plain case).
fn rarely(u: &mut Unstructured, n: u8) -> Result<bool> {
    Ok(!u.ratio(n - 1, n)?)
}

/// A size field: near the natural one, a boundary, or anything.
fn size(u: &mut Unstructured, natural: u64) -> Result<u64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => natural.saturating_add_signed(i64::from(u.arbitrary::<i16>()?)),
        1 => *u.choose(&[
            0,
            1,
            511,
            512,
            513,
            (1 << 33) - 1, // largest octal size field
            1 << 33,       // first base-256 one
            MAX_ENVELOPE_SIZE,
            MAX_ENVELOPE_SIZE + 1,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ])?,
        2 => u64::from(u.arbitrary::<u32>()?),
        _ => u.arbitrary()?,
    })
}

/// A new entry: the manifest, a listed blob, an unlisted blob, a listed blob's path split
/// across the ustar prefix and name, or arbitrary path bytes.
fn new_entry(u: &mut Unstructured, blobs: &[Listed], envelope: &[u8]) -> Result<Entry> {
    let listed = |u: &mut Unstructured| -> Result<Option<&Listed>> {
        Ok(if blobs.is_empty() {
            None
        } else {
            Some(&blobs[u.choose_index(blobs.len())?])
        })
    };
    Ok(match u.int_in_range(0..=4)? {
        0 => Entry::file(MANIFEST_ENTRY, envelope),
        1 => match listed(u)? {
            Some(blob) => Entry::file(&blob_path(&Sha256Digest::of(&blob.data)), &blob.data),
            None => Entry::file(MANIFEST_ENTRY, envelope),
        },
        2 => {
            let data: Vec<u8> = u.arbitrary()?;
            Entry::file(&blob_path(&Sha256Digest::of(&data)), &data)
        }
        3 => match listed(u)? {
            Some(blob) => {
                let digest = Sha256Digest::of(&blob.data);
                let mut entry = Entry::file(&digest.hex(), &blob.data);
                entry.prefix = BLOB_PREFIX.trim_end_matches('/').as_bytes().to_vec();
                entry
            }
            None => Entry::file(MANIFEST_ENTRY, envelope),
        },
        _ => Entry {
            name: u.arbitrary()?,
            prefix: if rarely(u, 4)? {
                u.arbitrary()?
            } else {
                Vec::new()
            },
            kind: b'0',
            size: None,
            data: u.arbitrary()?,
            corrupt_checksum: false,
            field_edit: None,
            padding: 0,
        },
    })
}

/// Changes entry data: replace it, flip a byte, cut it, or append to it.
fn edit_data(u: &mut Unstructured, data: &mut Vec<u8>) -> Result<()> {
    match u.int_in_range(0..=3)? {
        0 => *data = u.arbitrary()?,
        1 => {
            if !data.is_empty() {
                let i = u.choose_index(data.len())?;
                data[i] ^= u.int_in_range(1..=255)?;
            }
        }
        2 => {
            let len = u.int_in_range(0..=data.len())?;
            data.truncate(len);
        }
        _ => data.extend_from_slice(u.arbitrary::<&[u8]>()?),
    }
    Ok(())
}

fn build(u: &mut Unstructured) -> Result<Built> {
    let keys = keys();
    let mut blobs = Vec::new();
    u.arbitrary_loop(Some(0), Some(MAX_BLOBS), |u| {
        blobs.push(Listed {
            data: u.arbitrary()?,
            listed_size: if rarely(u, 16)? {
                Some(size(u, 0)?)
            } else {
                None
            },
        });
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    let signers = *u.choose(&[
        Signers::Trusted,
        Signers::Untrusted,
        Signers::Both,
        Signers::Nobody,
    ])?;
    let manifest = manifest_for(&blobs);
    let signing: Vec<&SigningKey> = match signers {
        Signers::Trusted => vec![&keys.trusted],
        Signers::Untrusted => vec![&keys.untrusted],
        Signers::Both => vec![&keys.untrusted, &keys.trusted],
        Signers::Nobody => vec![],
    };
    let envelope = sign_manifest(&manifest.to_json(), &signing);

    // The well-formed archive for this manifest, then edits to it.
    let mut entries = vec![Entry::file(MANIFEST_ENTRY, &envelope)];
    for blob in &manifest.blobs {
        let data = &blobs
            .iter()
            .find(|b| Sha256Digest::of(&b.data) == blob.digest)
            .expect("listed from these blobs")
            .data;
        entries.push(Entry::file(&blob_path(&blob.digest), data));
    }
    u.arbitrary_loop(Some(0), Some(MAX_EDITS), |u| {
        let at = |u: &mut Unstructured, len: usize| u.int_in_range(0..=len.saturating_sub(1));
        match u.int_in_range(0..=9)? {
            0 => {
                let i = u.int_in_range(0..=entries.len())?;
                let entry = new_entry(u, &blobs, &envelope)?;
                entries.insert(i, entry);
            }
            1 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries.remove(i);
            }
            2 if !entries.is_empty() => {
                let (i, j) = (at(u, entries.len())?, at(u, entries.len())?);
                entries.swap(i, j);
            }
            3 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries.insert(i, entries[i].clone());
            }
            4 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries[i].kind = u.arbitrary()?;
            }
            5 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                let natural = entries[i].data.len() as u64;
                entries[i].size = Some(size(u, natural)?);
            }
            6 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                edit_data(u, &mut entries[i].data)?;
            }
            7 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries[i].corrupt_checksum = true;
            }
            8 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries[i].field_edit = Some((u.arbitrary()?, u.arbitrary()?));
            }
            9 if !entries.is_empty() => {
                let i = at(u, entries.len())?;
                entries[i].padding = u.arbitrary()?;
            }
            _ => {}
        }
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    let end_blocks = if rarely(u, 8)? {
        u.int_in_range(0..=4)?
    } else {
        2
    };

    let mut tar = Vec::new();
    for entry in &entries {
        tar.extend_from_slice(&entry.header());
        tar.extend_from_slice(&entry.data);
        tar.resize(tar.len().div_ceil(512) * 512, entry.padding);
    }
    tar.resize(tar.len() + 512 * end_blocks, 0);
    let checksum = !rarely(u, 32)?;
    let mut compressor = zstd::bulk::Compressor::new(1).expect("level 1 is valid");
    compressor
        .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(checksum))
        .expect("a valid parameter");
    let mut bytes = compressor.compress(&tar).expect("compressing in memory");
    if rarely(u, 16)? {
        let len = u.int_in_range(0..=bytes.len())?;
        bytes.truncate(len);
    }
    if rarely(u, 8)? {
        bytes.extend_from_slice(u.arbitrary::<&[u8]>()?);
    }
    Ok(Built {
        bytes,
        manifest,
        signers,
    })
}

/// What an accepted archive must look like on disk.
fn check_staged(staged: &StagedArchive, staging: &Path) {
    assert_eq!(staged.dir(), staging);
    let envelope = std::fs::read(staging.join(MANIFEST_ENTRY)).expect("staged envelope");
    assert_eq!(staged.envelope_path(), staging.join(MANIFEST_ENTRY));
    assert_eq!(envelope.len() as u64, staged.envelope_len());
    let blobs = staged.manifest().blobs.as_slice();
    for blob in blobs {
        let bytes = std::fs::read(staged.blob_path(&blob.digest)).expect("staged blob");
        assert_eq!(bytes.len() as u64, blob.size, "{}", blob.digest);
        assert_eq!(Sha256Digest::of(&bytes), blob.digest);
    }
    let staged_files = std::fs::read_dir(staging.join(BLOB_PREFIX))
        .expect("blob folder")
        .count();
    assert_eq!(
        staged_files,
        blobs.len(),
        "files staged beyond the listed blobs"
    );
    assert_eq!(
        std::fs::read_dir(staging).expect("staging folder").count(),
        2,
        "only the envelope and blobs/ in the staging folder"
    );
}

/// With `AIRLOCK_FUZZ_VERBOSE` set, each input's outcome is printed (for checking what a corpus
/// reaches: `archive_reader corpus/archive_reader/*`).
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("AIRLOCK_FUZZ_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let built = if mode < 32 {
        None
    } else {
        match build(&mut Unstructured::new(rest)) {
            Ok(built) => Some(built),
            Err(_) => return,
        }
    };
    let bytes = built.as_ref().map_or(rest, |b| b.bytes.as_slice());
    let staging = staging_path();
    let result = read_archive_from(bytes, &keys().publisher, &staging, &mut ());
    if verbose() {
        let mode = if built.is_some() { "built" } else { "raw" };
        match &result {
            Ok(staged) => eprintln!("{mode}: accepted, {} blobs", staged.manifest().blobs.len()),
            Err(e) => eprintln!("{mode}: {e:?}"),
        }
    }
    match result {
        Ok(staged) => {
            check_staged(&staged, &staging);
            assert!(staged.signers().contains(&keys().trusted_id));
            if let Some(built) = &built {
                assert!(
                    matches!(built.signers, Signers::Trusted | Signers::Both),
                    "accepted without the trusted key's signature"
                );
                assert_eq!(staged.manifest(), &built.manifest);
            }
            std::fs::remove_dir_all(&staging).expect("removing the staging folder");
        }
        Err(e) => {
            assert!(!staging.exists(), "staging folder left behind after {e:?}");
        }
    }
});
