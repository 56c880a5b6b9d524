//! The archive format end to end: writer → reader round trips (files, an OCI layout, split
//! parts, random inputs), and every reader rejection on hand-built hostile archives.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_bundler::archive::{
    ArchiveError, ArchiveParts, Artifact, ArtifactKind, BlobEntry, BlobSource, Evidence,
    FORMAT_VERSION, FileEntry, MANIFEST_ENTRY, MAX_ENVELOPE_SIZE, MAX_SIGNATURES, Manifest,
    ManifestError, OtherDigests, PlannedBlob, Progress, Publisher, PublisherKeys, ReadObserver,
    RelativePath, Sha256Digest, WHOLE_BLOB_SIZE, WriteOptions, blob_path, read_archive,
    read_archive_from, read_manifest, sign_manifest, write_archive,
};
use airlock_bundler::create::{CreateError, CreateOptions, NoProgress, create};
use airlock_bundler::keys::KeyId;
use airlock_bundler::spec::Spec;
use chrono::{TimeZone, Utc};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn keys_of(key: &SigningKey) -> PublisherKeys {
    PublisherKeys::any_of([key.verifying_key()]).unwrap()
}

/// A manifest with one file artifact per distinct blob (duplicates are stored once).
fn manifest_for(blobs: &[Vec<u8>]) -> Manifest {
    let mut entries: Vec<BlobEntry> = Vec::new();
    let mut artifacts = Vec::new();
    for (i, bytes) in blobs.iter().enumerate() {
        let digest = Sha256Digest::of(bytes);
        if entries.iter().any(|b| b.digest == digest) {
            continue;
        }
        entries.push(BlobEntry {
            digest,
            size: bytes.len() as u64,
        });
        artifacts.push(Artifact {
            name: format!("file-{i}"),
            kind: ArtifactKind::File,
            digest,
            size: bytes.len() as u64,
            media_type: "application/octet-stream".into(),
            files: vec![FileEntry {
                path: RelativePath::new(&format!("file-{i}.bin")).unwrap(),
                digest,
            }],
            evidence: Evidence::default(),
            other_digests: Default::default(),
        });
    }
    Manifest {
        version: FORMAT_VERSION,
        archive_id: "0123456789abcdef0123456789abcdef".into(),
        created_at: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
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

fn planned(manifest: &Manifest, blobs: &[Vec<u8>]) -> Vec<PlannedBlob> {
    manifest
        .blobs
        .iter()
        .map(|b| PlannedBlob {
            digest: b.digest,
            size: b.size,
            source: BlobSource::Bytes(
                blobs
                    .iter()
                    .find(|x| Sha256Digest::of(x) == b.digest)
                    .unwrap()
                    .clone(),
            ),
        })
        .collect()
}

fn write(dir: &Path, blobs: &[Vec<u8>], options: &WriteOptions) -> (Manifest, Vec<PathBuf>) {
    let manifest = manifest_for(blobs);
    let envelope = sign_manifest(&manifest.to_json(), &[&key(1)]);
    let out = dir.join("out.airlock.tar.zst");
    let files = write_archive(
        &out,
        &envelope,
        &planned(&manifest, blobs),
        options,
        &mut |_| {},
    )
    .unwrap();
    (manifest, files)
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn files_round_trip_with_dedup_and_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = vec![
        pseudo_random(3 * 1024 * 1024 + 17, 1),
        b"hello".to_vec(),
        Vec::new(),
        b"hello".to_vec(),
    ];
    let (manifest, files) = write(dir.path(), &blobs, &WriteOptions::default());
    assert_eq!(files, vec![dir.path().join("out.airlock.tar.zst")]);
    assert_eq!(manifest.blobs.len(), 3, "duplicates are stored once");

    let parts = ArchiveParts::locate(&files[0]).unwrap();
    let staging = dir.path().join("staging");
    let mut last = 0;
    let staged = read_archive(
        &parts,
        &keys_of(&key(1)),
        &staging,
        &mut Progress(|n| last = n),
    )
    .unwrap();
    assert_eq!(
        last,
        parts.total_size().unwrap(),
        "progress ends at the file size"
    );
    assert_eq!(staged.manifest(), &manifest);
    assert_eq!(staged.signers(), &[KeyId::of(&key(1).verifying_key())]);
    for bytes in &blobs {
        let path = staged.blob_path(&Sha256Digest::of(bytes));
        assert_eq!(&std::fs::read(path).unwrap(), bytes);
    }
    assert_eq!(staged.envelope_path(), staging.join(MANIFEST_ENTRY));
    assert_eq!(
        std::fs::read(staged.envelope_path()).unwrap().len() as u64,
        staged.envelope_len()
    );

    // The listing needs only the first entry.
    let opened = read_manifest(&parts, &keys_of(&key(1))).unwrap();
    assert_eq!(opened.manifest, manifest);
}

/// Writes `blobs` as file artifacts whose `other_digests` `declare` sets, and reads them back.
fn read_with_other_digests(
    blobs: &[Vec<u8>],
    declare: impl Fn(usize, &[u8], &mut OtherDigests),
) -> Result<(), ArchiveError> {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = manifest_for(blobs);
    for (i, artifact) in manifest.artifacts.iter_mut().enumerate() {
        declare(i, &blobs[i], &mut artifact.other_digests);
    }
    manifest.check().unwrap();
    let envelope = sign_manifest(&manifest.to_json(), &[&key(1)]);
    let out = dir.path().join("out.airlock.tar.zst");
    write_archive(
        &out,
        &envelope,
        &planned(&manifest, blobs),
        &WriteOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let parts = ArchiveParts::locate(&out).unwrap();
    read_archive(
        &parts,
        &keys_of(&key(1)),
        &dir.path().join("staging"),
        &mut (),
    )
    .map(|_| ())
}

#[test]
fn declared_sha384_and_sha512_digests_are_checked_against_the_bytes() {
    use airlock_trust_root::HashAlgorithm;
    // One small blob (read whole) and one large (hashed on a lane), each declared truly.
    let blobs = vec![
        b"npm tarball".to_vec(),
        pseudo_random(2 * 1024 * 1024 + 5, 9),
    ];
    read_with_other_digests(&blobs, |_, bytes, other| {
        other.set(HashAlgorithm::Sha512, &HashAlgorithm::Sha512.digest(bytes));
        other.set(HashAlgorithm::Sha384, &HashAlgorithm::Sha384.digest(bytes));
    })
    .unwrap();
    // A false declaration on either is refused, naming the blob and the algorithm.
    for wrong in 0..2 {
        let err = read_with_other_digests(&blobs, |i, bytes, other| {
            let digest = if i == wrong {
                b"something else".as_slice()
            } else {
                bytes
            };
            other.set(HashAlgorithm::Sha512, &HashAlgorithm::Sha512.digest(digest));
        })
        .unwrap_err();
        match err {
            ArchiveError::OtherDigestMismatch {
                blob,
                algorithm,
                expected,
                actual,
            } => {
                assert_eq!(blob, Sha256Digest::of(&blobs[wrong]));
                assert_eq!(algorithm, "sha512");
                assert_eq!(
                    expected,
                    hex::encode(HashAlgorithm::Sha512.digest(b"something else"))
                );
                assert_eq!(
                    actual,
                    hex::encode(HashAlgorithm::Sha512.digest(&blobs[wrong]))
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Records what a reader tells it, checking each blob is on disk when it is told.
#[derive(Default)]
struct Seen {
    events: Vec<String>,
}

impl ReadObserver for Seen {
    fn opened(&mut self, manifest: &Arc<Manifest>, signers: &[KeyId]) {
        self.events
            .push(format!("opened {} {}", manifest.blobs.len(), signers.len()));
    }

    fn blob(&mut self, digest: &Sha256Digest, path: &Path, bytes: Option<&[u8]>) {
        let on_disk = std::fs::read(path).unwrap();
        assert_eq!(Sha256Digest::of(&on_disk), *digest);
        if let Some(bytes) = bytes {
            assert_eq!(bytes, on_disk.as_slice());
        }
        self.events
            .push(format!("blob {} {}", on_disk.len(), bytes.is_some()));
    }
}

/// Reads `raw` into `staging` with a [`Seen`] observer: the outcome and what it heard.
fn read_seen(
    raw: &Raw,
    staging: &Path,
) -> (
    Result<airlock_bundler::archive::StagedArchive, ArchiveError>,
    Vec<String>,
) {
    let mut seen = Seen::default();
    let read = read_archive_from(&raw.bytes()[..], &keys_of(&key(1)), staging, &mut seen);
    (read, seen.events)
}

#[test]
fn the_observer_hears_the_manifest_then_each_verified_blob_in_archive_order() {
    let dir = tempfile::tempdir().unwrap();
    let small = WHOLE_BLOB_SIZE as usize;
    let blobs = vec![
        b"hello".to_vec(),
        pseudo_random(small, 3),
        pseudo_random(small + 1, 4),
        pseudo_random(2 * 1024 * 1024, 5),
        pseudo_random(3 * 1024 * 1024, 6),
    ];
    let (_, files) = write(dir.path(), &blobs, &WriteOptions::default());
    let parts = ArchiveParts::locate(&files[0]).unwrap();
    let mut seen = Seen::default();
    read_archive(&parts, &keys_of(&key(1)), &dir.path().join("s"), &mut seen).unwrap();
    assert_eq!(
        seen.events,
        [
            "opened 5 1".to_owned(),
            "blob 5 true".into(),
            format!("blob {small} true"),
            format!("blob {} false", small + 1),
            format!("blob {} false", 2 * 1024 * 1024),
            format!("blob {} false", 3 * 1024 * 1024),
        ]
    );

    // A blob that does not match its digest is never reported: the read fails there.
    let mut raw = good(&[b"abc", b"after"]);
    raw.entries[1].data = b"abd".to_vec();
    let (read, events) = read_seen(&raw, &dir.path().join("t"));
    let err = read.unwrap_err();
    assert!(matches!(err, ArchiveError::DigestMismatch { .. }), "{err}");
    assert_eq!(events, ["opened 2 1"]);
}

#[test]
fn large_blobs_hashed_side_by_side_are_reported_in_archive_order() {
    // Two hashing lanes: five large blobs use each lane more than once, and a small blob in
    // between must wait for the large ones before it is reported.
    let dir = tempfile::tempdir().unwrap();
    let mib = 1024 * 1024;
    let sizes = [
        2 * mib,
        3 * mib,
        100,
        2 * mib + 1,
        2 * mib + 2,
        2 * mib + 3,
        3 * mib + 4,
    ];
    let blobs: Vec<Vec<u8>> = sizes
        .iter()
        .zip(40..)
        .map(|(&n, seed)| pseudo_random(n, seed))
        .collect();
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let (read, events) = read_seen(&good(&refs), &dir.path().join("s"));
    read.unwrap();
    let mut expected = vec!["opened 7 1".to_owned()];
    expected.extend(
        sizes
            .iter()
            .map(|&n| format!("blob {n} {}", n <= WHOLE_BLOB_SIZE as usize)),
    );
    assert_eq!(events, expected);

    // The fifth large blob (its lane's third) tampered: reported as itself, after the four
    // before it were heard and before anything after it.
    let mut tampered = blobs[5].clone();
    tampered[mib] ^= 1;
    let mut raw = good(&refs);
    raw.entries[6].data = tampered.clone();
    let (read, events) = read_seen(&raw, &dir.path().join("t"));
    let err = read.unwrap_err();
    assert!(
        matches!(err, ArchiveError::DigestMismatch { expected, actual }
            if expected == Sha256Digest::of(&blobs[5]) && actual == Sha256Digest::of(&tampered)),
        "{err:?}"
    );
    assert_eq!(events, expected[..6]);
    assert!(!dir.path().join("t").exists());
}

#[test]
fn output_is_deterministic_and_a_plain_tar_zst() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = vec![pseudo_random(100_000, 2), b"abc".to_vec()];
    let options = WriteOptions {
        threads: 2,
        ..WriteOptions::default()
    };
    let (_, first) = write(dir.path(), &blobs, &options);
    let a = std::fs::read(&first[0]).unwrap();
    std::fs::remove_file(&first[0]).unwrap();
    let (_, second) = write(dir.path(), &blobs, &options);
    assert_eq!(a, std::fs::read(&second[0]).unwrap());

    // Standard tools read it: entry names, modes and times are the fixed ones.
    let tar = zstd::decode_all(&a[..]).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            assert_eq!(e.header().mtime().unwrap(), 0);
            assert_eq!(e.header().uid().unwrap(), 0);
            assert_eq!(e.header().mode().unwrap(), 0o644);
            e.path().unwrap().display().to_string()
        })
        .collect();
    assert_eq!(names[0], MANIFEST_ENTRY);
    assert_eq!(names[1], blob_path(&Sha256Digest::of(&blobs[0])));
    assert_eq!(names.len(), 3);
    // One zstd frame whose Frame_Header_Descriptor has the Content_Checksum_flag set.
    assert_eq!(a[..4], [0x28, 0xB5, 0x2F, 0xFD]);
    assert_ne!(a[4] & 0b100, 0, "content checksum flag");
}

#[test]
fn split_parts_round_trip_from_any_name() {
    let dir = tempfile::tempdir().unwrap();
    let blobs: Vec<Vec<u8>> = (0..5).map(|i| pseudo_random(40_000, 10 + i)).collect();
    let options = WriteOptions {
        max_part_size: Some(30_000),
        ..WriteOptions::default()
    };
    let (manifest, files) = write(dir.path(), &blobs, &options);
    assert!(files.len() >= 6, "{} parts", files.len());
    assert!(files[0].ends_with("out.airlock.tar.zst.001"));
    for f in &files[..files.len() - 1] {
        assert_eq!(std::fs::metadata(f).unwrap().len(), 30_000);
    }
    let base = dir.path().join("out.airlock.tar.zst");
    assert!(!base.exists());
    for name in [&base, &files[0]] {
        let parts = ArchiveParts::locate(name).unwrap();
        assert_eq!(parts.paths(), &files[..]);
        let staging = dir
            .path()
            .join(format!("s{}", name.display().to_string().len()));
        let staged = read_archive(&parts, &keys_of(&key(1)), &staging, &mut ()).unwrap();
        assert_eq!(staged.manifest(), &manifest);
    }
    // A missing middle part is a truncated or corrupt stream, never a success.
    std::fs::remove_file(&files[2]).unwrap();
    let parts =
        ArchiveParts::from_paths(vec![files[0].clone(), files[1].clone(), files[3].clone()]);
    let err =
        read_archive(&parts, &keys_of(&key(1)), &dir.path().join("gap"), &mut ()).unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::Compression(_)
                | ArchiveError::Truncated(_)
                | ArchiveError::DigestMismatch { .. }
        ),
        "{err:?}"
    );
    assert!(!dir.path().join("gap").exists());
}

#[test]
fn writer_refuses_to_replace_and_leaves_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = vec![b"one".to_vec()];
    let (manifest, files) = write(dir.path(), &blobs, &WriteOptions::default());
    let envelope = sign_manifest(&manifest.to_json(), &[&key(1)]);
    let err = write_archive(
        &files[0],
        &envelope,
        &planned(&manifest, &blobs),
        &WriteOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, ArchiveError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists),
        "{err:?}"
    );

    // A file that changed after it was hashed.
    let src = dir.path().join("src.bin");
    std::fs::write(&src, b"two").unwrap();
    let digest = Sha256Digest::of(b"two");
    std::fs::write(&src, b"tw0").unwrap();
    let out = dir.path().join("changed.airlock.tar.zst");
    let err = write_archive(
        &out,
        &envelope,
        &[PlannedBlob {
            digest,
            size: 3,
            source: BlobSource::File(src.clone()),
        }],
        &WriteOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::SourceChanged { path } if path == src));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("changed"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The same with the cheaper check `create` uses: the XXH3-64 taken with the digest.
    let src = dir.path().join("large.bin");
    let original = pseudo_random(3 << 20, 11);
    std::fs::write(&src, &original).unwrap();
    let hashed = |bytes: &[u8]| PlannedBlob {
        digest: Sha256Digest::of(bytes),
        size: bytes.len() as u64,
        source: BlobSource::HashedFile {
            path: src.clone(),
            xxh3: xxhash_rust::xxh3::xxh3_64(bytes),
        },
    };
    let planned = hashed(&original);
    let mut tampered = original.clone();
    tampered[2 << 20] ^= 1;
    std::fs::write(&src, &tampered).unwrap();
    let out = dir.path().join("changed-large.airlock.tar.zst");
    let err = write_archive(
        &out,
        &envelope,
        &[planned],
        &WriteOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(err, ArchiveError::SourceChanged { ref path } if *path == src),
        "{err:?}"
    );
    assert!(!out.exists());
    // Unchanged, it is written and reads back.
    let manifest = manifest_for(&[tampered.clone()]);
    let envelope = sign_manifest(&manifest.to_json(), &[&key(1)]);
    let out = dir.path().join("unchanged.airlock.tar.zst");
    write_archive(
        &out,
        &envelope,
        &[hashed(&tampered)],
        &WriteOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let staged = read_archive(
        &ArchiveParts::locate(&out).unwrap(),
        &keys_of(&key(1)),
        &dir.path().join("s"),
        &mut (),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(staged.blob_path(&Sha256Digest::of(&tampered))).unwrap(),
        tampered
    );
}

#[test]
fn the_writer_refuses_envelopes_readers_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = vec![b"one".to_vec()];
    let manifest = manifest_for(&blobs);
    let out = dir.path().join("limits.airlock.tar.zst");
    let signer = key(1);
    let write = |envelope: &[u8]| {
        write_archive(
            &out,
            envelope,
            &planned(&manifest, &blobs),
            &WriteOptions::default(),
            &mut |_| {},
        )
    };

    let too_many = sign_manifest(&manifest.to_json(), &vec![&signer; MAX_SIGNATURES + 1]);
    assert!(matches!(
        write(&too_many),
        Err(ArchiveError::TooManySignatures {
            count: 65,
            limit: 64
        })
    ));
    let too_large = vec![b' '; MAX_ENVELOPE_SIZE as usize + 1];
    assert!(matches!(
        write(&too_large),
        Err(ArchiveError::EnvelopeTooLarge { size, limit })
            if size == MAX_ENVELOPE_SIZE + 1 && limit == MAX_ENVELOPE_SIZE
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // At the limit, the archive is written and read back.
    let at_limit = sign_manifest(&manifest.to_json(), &vec![&signer; MAX_SIGNATURES]);
    let files = write(&at_limit).unwrap();
    let parts = ArchiveParts::locate(&files[0]).unwrap();
    let staged = read_archive(&parts, &keys_of(&signer), &dir.path().join("s"), &mut ()).unwrap();
    assert_eq!(staged.manifest(), &manifest);
}

#[test]
fn create_refuses_more_keys_than_readers_accept_before_reading_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("bundle.toml");
    std::fs::write(
        &spec_path,
        "[publisher]\nname = \"release-team\"\n\n[[artifact]]\nfile = \"missing.bin\"\n",
    )
    .unwrap();
    let spec = Spec::load(&spec_path).unwrap();
    let signer = key(1);
    let options = CreateOptions {
        output: dir.path().join("out.airlock.tar.zst"),
        write: WriteOptions::default(),
        allow_failing: false,
        witness_state: None,
        extra_ca_pem: None,
        now: Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        sequence: None,
        collect: Default::default(),
    };
    // The missing input would be an Io error; the key count is refused first.
    let err = create(
        &spec,
        &vec![&signer; MAX_SIGNATURES + 1],
        &options,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CreateError::Archive(ArchiveError::TooManySignatures {
                count: 65,
                limit: 64
            })
        ),
        "{err:?}"
    );
    let err = create(&spec, &[&signer], &options, &NoProgress).unwrap_err();
    assert!(matches!(err, CreateError::Io { .. }), "{err:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_blobs_and_part_size_round_trip(
        blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..6),
        part in prop_oneof![Just(None), (200u64..5000).prop_map(Some)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let options = WriteOptions { max_part_size: part, threads: 0, ..WriteOptions::default() };
        let (manifest, files) = write(dir.path(), &blobs, &options);
        let parts = ArchiveParts::locate(&files[0]).unwrap();
        prop_assert_eq!(parts.paths(), &files[..]);
        let staged = read_archive(&parts, &keys_of(&key(1)), &dir.path().join("s"), &mut ()).unwrap();
        prop_assert_eq!(staged.manifest(), &manifest);
        for bytes in &blobs {
            prop_assert_eq!(&std::fs::read(staged.blob_path(&Sha256Digest::of(bytes))).unwrap(), bytes);
        }
    }
}

// ---- hostile archives, built entry by entry ----

/// A change to a tar header, made before its checksum is computed.
type HeaderEdit = fn(&mut tar::Header);

/// One tar entry with a header written verbatim: the writer's fields unless edited.
struct RawEntry {
    path: String,
    kind: tar::EntryType,
    size: Option<u64>,
    data: Vec<u8>,
    /// Applied to the header before its checksum is computed.
    edit: Option<HeaderEdit>,
    /// The byte the padding after the data is made of.
    padding: u8,
}

impl RawEntry {
    fn file(path: &str, data: &[u8]) -> Self {
        Self {
            path: path.into(),
            kind: tar::EntryType::Regular,
            size: None,
            data: data.to_vec(),
            edit: None,
            padding: 0,
        }
    }

    fn blob(data: &[u8]) -> Self {
        Self::file(&blob_path(&Sha256Digest::of(data)), data)
    }
}

#[derive(Default)]
struct Raw {
    entries: Vec<RawEntry>,
    end_blocks: Option<usize>,
    trailing: Vec<u8>,
    window_log: Option<u32>,
    /// Leave out the zstd content checksum the writer always sets.
    no_checksum: bool,
}

impl Raw {
    fn tar(&self) -> Vec<u8> {
        let mut tar = Vec::new();
        for e in &self.entries {
            let mut h = tar::Header::new_ustar();
            h.as_old_mut().name[..e.path.len()].copy_from_slice(e.path.as_bytes());
            h.set_size(e.size.unwrap_or(e.data.len() as u64));
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_entry_type(e.kind);
            if let Some(edit) = e.edit {
                edit(&mut h);
            }
            h.set_cksum();
            tar.extend_from_slice(h.as_bytes());
            tar.extend_from_slice(&e.data);
            tar.resize(tar.len().div_ceil(512) * 512, e.padding);
        }
        tar.resize(tar.len() + 512 * self.end_blocks.unwrap_or(2), 0);
        tar
    }

    fn bytes(&self) -> Vec<u8> {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_checksum(!self.no_checksum).unwrap();
        if let Some(log) = self.window_log {
            encoder.window_log(log).unwrap();
            encoder.long_distance_matching(true).unwrap();
        }
        encoder.write_all(&self.tar()).unwrap();
        let mut out = encoder.finish().unwrap();
        out.extend_from_slice(&self.trailing);
        out
    }
}

/// A signed envelope for a manifest listing `blobs`.
fn envelope_for(blobs: &[&[u8]]) -> Vec<u8> {
    let owned: Vec<Vec<u8>> = blobs.iter().map(|b| b.to_vec()).collect();
    sign_manifest(&manifest_for(&owned).to_json(), &[&key(1)])
}

/// Reads `raw` and returns the error, checking the staging folder was removed.
fn refuse(raw: &Raw) -> ArchiveError {
    refuse_bytes(&raw.bytes())
}

fn refuse_bytes(bytes: &[u8]) -> ArchiveError {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("staging");
    let err = read_archive_from(bytes, &keys_of(&key(1)), &staging, &mut ()).unwrap_err();
    assert!(!staging.exists(), "staging left behind after {err:?}");
    err
}

fn good(blobs: &[&[u8]]) -> Raw {
    let mut entries = vec![RawEntry::file(MANIFEST_ENTRY, &envelope_for(blobs))];
    entries.extend(blobs.iter().map(|b| RawEntry::blob(b)));
    Raw {
        entries,
        ..Raw::default()
    }
}

#[test]
fn the_hand_built_good_archive_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let raw = good(&[b"a", b"bb"]);
    read_archive_from(
        &raw.bytes()[..],
        &keys_of(&key(1)),
        &dir.path().join("s"),
        &mut (),
    )
    .unwrap();
}

#[test]
fn first_entry_must_be_the_envelope() {
    let mut raw = good(&[b"a"]);
    raw.entries.swap(0, 1);
    let found = blob_path(&Sha256Digest::of(b"a"));
    assert!(matches!(refuse(&raw), ArchiveError::FirstEntryNotManifest { found: f } if f == found));
    let empty = Raw::default();
    assert!(matches!(
        refuse(&empty),
        ArchiveError::FirstEntryNotManifest { .. }
    ));
}

#[test]
fn signatures_must_be_by_trusted_keys_and_verify() {
    let mut raw = good(&[b"a"]);
    let by_stranger = sign_manifest(&manifest_for(&[b"a".to_vec()]).to_json(), &[&key(9)]);
    raw.entries[0] = RawEntry::file(MANIFEST_ENTRY, &by_stranger);
    assert!(
        matches!(refuse(&raw), ArchiveError::UnknownSigner { key_ids } if key_ids == [KeyId::of(&key(9).verifying_key()).to_string()])
    );

    let mut envelope: serde_json::Value = serde_json::from_slice(&envelope_for(&[b"a"])).unwrap();
    let other = sign_manifest(&manifest_for(&[b"b".to_vec()]).to_json(), &[&key(1)]);
    let other: serde_json::Value = serde_json::from_slice(&other).unwrap();
    envelope["payload"] = other["payload"].clone();
    raw.entries[0] = RawEntry::file(MANIFEST_ENTRY, &serde_json::to_vec(&envelope).unwrap());
    assert!(
        matches!(refuse(&raw), ArchiveError::BadSignature { key_id } if key_id == KeyId::of(&key(1).verifying_key()))
    );
}

#[test]
fn links_and_devices_are_refused() {
    for kind in [
        tar::EntryType::Symlink,
        tar::EntryType::Link,
        tar::EntryType::Char,
        tar::EntryType::Block,
        tar::EntryType::Directory,
        tar::EntryType::Fifo,
        tar::EntryType::GNULongName,
        tar::EntryType::XHeader,
    ] {
        let mut raw = good(&[b"a"]);
        raw.entries[1].kind = kind;
        raw.entries[1].data.clear();
        raw.entries[1].size = Some(0);
        let path = raw.entries[1].path.clone();
        let want = char::from(kind.as_byte());
        assert!(
            matches!(refuse(&raw), ArchiveError::NotRegularFile { path: p, kind: k } if p == path && k == want),
            "{kind:?}"
        );
    }
}

#[test]
fn only_the_two_path_forms_are_allowed() {
    for path in [
        "blobs/sha256/../../etc/passwd",
        "/etc/passwd",
        "blobs/sha256/CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
        "blobs/sha512/ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        "notes.txt",
    ] {
        let mut raw = good(&[b"a"]);
        raw.entries[1].path = path.into();
        assert!(
            matches!(refuse(&raw), ArchiveError::BadPath(p) if p == path),
            "{path}"
        );
    }
}

#[test]
fn duplicates_unlisted_and_missing_blobs_are_refused() {
    let mut raw = good(&[b"a"]);
    raw.entries.push(RawEntry::blob(b"a"));
    let a = blob_path(&Sha256Digest::of(b"a"));
    assert!(matches!(refuse(&raw), ArchiveError::DuplicateEntry(p) if p == a));

    let mut raw = good(&[b"a"]);
    let envelope = raw.entries[0].data.clone();
    raw.entries.push(RawEntry::file(MANIFEST_ENTRY, &envelope));
    assert!(matches!(refuse(&raw), ArchiveError::DuplicateEntry(p) if p == MANIFEST_ENTRY));

    let mut raw = good(&[b"a"]);
    raw.entries.push(RawEntry::blob(b"extra"));
    assert!(
        matches!(refuse(&raw), ArchiveError::UnlistedBlob(d) if d == Sha256Digest::of(b"extra"))
    );

    let mut raw = good(&[b"a", b"b", b"c"]);
    raw.entries.truncate(2);
    assert!(matches!(
        refuse(&raw),
        ArchiveError::MissingBlobs { count: 2, .. }
    ));
}

#[test]
fn sizes_and_digests_must_match() {
    let mut raw = good(&[b"abc"]);
    raw.entries[1].data = b"abcd".to_vec();
    assert!(matches!(
        refuse(&raw),
        ArchiveError::SizeMismatch {
            listed: 3,
            found: 4,
            ..
        }
    ));

    let mut raw = good(&[b"abc"]);
    raw.entries[1].data = b"abd".to_vec();
    assert!(matches!(
        refuse(&raw),
        ArchiveError::DigestMismatch { expected, actual }
            if expected == Sha256Digest::of(b"abc") && actual == Sha256Digest::of(b"abd")
    ));
    // Blobs over 1 MiB are hashed on a second thread: the same error, at the same blob, and
    // the blob after it is not reached.
    let big = pseudo_random(3 << 20, 9);
    let mut tampered = big.clone();
    tampered[2 << 20] ^= 1;
    let mut raw = good(&[&big, b"after"]);
    raw.entries[1].data = tampered.clone();
    assert!(matches!(
        refuse(&raw),
        ArchiveError::DigestMismatch { expected, actual }
            if expected == Sha256Digest::of(&big) && actual == Sha256Digest::of(&tampered)
    ));
    // Consecutive large blobs: digests are checked in archive order, so with both tampered the
    // first is reported, and a tampered second one is reported as itself.
    let big2 = pseudo_random((3 << 20) + 5, 10);
    let mut tampered2 = big2.clone();
    tampered2[1 << 20] ^= 1;
    let mut raw = good(&[&big, &big2]);
    raw.entries[1].data = tampered.clone();
    raw.entries[2].data = tampered2.clone();
    assert!(matches!(
        refuse(&raw),
        ArchiveError::DigestMismatch { expected, .. } if expected == Sha256Digest::of(&big)
    ));
    let mut raw = good(&[&big, &big2, b"after"]);
    raw.entries[2].data = tampered2.clone();
    assert!(matches!(
        refuse(&raw),
        ArchiveError::DigestMismatch { expected, actual }
            if expected == Sha256Digest::of(&big2) && actual == Sha256Digest::of(&tampered2)
    ));
    // A tampered first blob is reported even when the archive breaks off inside the next.
    let mut raw = good(&[&big, &big2]);
    raw.entries[1].data = tampered.clone();
    let bytes = raw.bytes();
    // Random data does not compress: the cut falls inside the second blob.
    let cut = &bytes[..bytes.len() - (2 << 20)];
    let dir = tempfile::tempdir().unwrap();
    let err =
        read_archive_from(cut, &keys_of(&key(1)), &dir.path().join("s"), &mut ()).unwrap_err();
    assert!(
        matches!(err, ArchiveError::DigestMismatch { expected, .. } if expected == Sha256Digest::of(&big)),
        "{err:?}"
    );
    // And an untampered large blob round-trips.
    let raw = good(&[&big, b"after"]);
    let dir = tempfile::tempdir().unwrap();
    let staged = read_archive_from(
        &raw.bytes()[..],
        &keys_of(&key(1)),
        &dir.path().join("s"),
        &mut (),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(staged.blob_path(&Sha256Digest::of(&big))).unwrap(),
        big
    );
}

#[test]
fn trailing_data_and_oversize_streams_are_refused() {
    let mut raw = good(&[b"a"]);
    raw.trailing = b"hidden message".to_vec();
    assert!(matches!(refuse(&raw), ArchiveError::TrailingData));

    // A second zstd frame (even a valid one) is trailing data too.
    let mut bytes = good(&[b"a"]).bytes();
    bytes.extend(zstd::encode_all(&b"more"[..], 3).unwrap());
    assert!(matches!(refuse_bytes(&bytes), ArchiveError::TrailingData));

    let mut raw = good(&[b"a"]);
    raw.end_blocks = Some(20);
    assert!(matches!(
        refuse(&raw),
        ArchiveError::DecompressedTooLarge { .. }
    ));

    let mut raw = good(&[b"a"]);
    raw.end_blocks = Some(1);
    assert!(matches!(refuse(&raw), ArchiveError::Truncated(_)));
}

#[test]
fn truncation_anywhere_is_refused() {
    let bytes = good(&[&pseudo_random(5000, 3), b"b"]).bytes();
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        let err = refuse_bytes(&bytes[..cut]);
        assert!(
            matches!(
                err,
                ArchiveError::Truncated(_) | ArchiveError::Compression(_)
            ),
            "cut at {cut}: {err:?}"
        );
    }
}

#[test]
fn a_window_beyond_the_limit_is_refused() {
    let mut raw = good(&[b"a"]);
    raw.window_log = Some(airlock_bundler::archive::MAX_WINDOW_LOG + 1);
    assert!(matches!(
        refuse(&raw),
        ArchiveError::WindowTooLarge { limit_log: 23 }
    ));
}

#[test]
fn an_oversized_envelope_is_refused_before_it_is_read() {
    let mut raw = good(&[b"a"]);
    raw.entries[0].size = Some(airlock_bundler::archive::MAX_ENVELOPE_SIZE + 1);
    assert!(matches!(
        refuse(&raw),
        ArchiveError::EnvelopeTooLarge { .. }
    ));
}

#[test]
fn staging_must_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("s");
    std::fs::create_dir(&staging).unwrap();
    let err = read_archive_from(
        &good(&[b"a"]).bytes()[..],
        &keys_of(&key(1)),
        &staging,
        &mut (),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveError::StagingExists(p) if p == staging));
    assert!(staging.exists(), "an existing folder is not ours to remove");
}

/// Offset of the second entry's header in a raw archive: after the envelope and its padding.
fn second_header_offset(raw: &Raw) -> u64 {
    512 + (raw.entries[0].data.len() as u64).div_ceil(512) * 512
}

#[test]
fn header_fields_must_be_exactly_the_writers() {
    let cases: [(HeaderEdit, &str); 7] = [
        (
            |h| h.as_old_mut().uid.fill(0),
            r#"uid is "", the writer writes "0000000""#,
        ),
        (
            |h| h.as_old_mut().gid.fill(0),
            r#"gid is "", the writer writes "0000000""#,
        ),
        (
            |h| h.set_mode(0o755),
            r#"mode is "0000755", the writer writes "0000644""#,
        ),
        (
            |h| h.set_mtime(1_795_003_200),
            r#"mtime is "15277311500", the writer writes "00000000000""#,
        ),
        (
            |h| h.set_username("root").unwrap(),
            r#"uname is "root", the writer writes """#,
        ),
        (
            |h| h.set_groupname("wheel").unwrap(),
            r#"gname is "wheel", the writer writes """#,
        ),
        // NUL is an old spelling of a regular file; the writer writes '0'.
        (
            |h| h.as_old_mut().linkflag[0] = 0,
            "typeflag is NUL, not '0'",
        ),
    ];
    for (edit, want) in cases {
        let mut raw = good(&[b"a"]);
        raw.entries[1].edit = Some(edit);
        let offset = second_header_offset(&raw);
        match refuse(&raw) {
            ArchiveError::BadHeader { offset: o, reason } => {
                assert_eq!((o, reason.as_str()), (offset, want));
            }
            other => panic!("{want}: {other:?}"),
        }
        // The envelope's header too.
        let mut raw = good(&[b"a"]);
        raw.entries[0].edit = Some(edit);
        assert!(
            matches!(refuse(&raw), ArchiveError::BadHeader { offset: 0, reason } if reason == want),
            "{want}"
        );
    }
}

#[test]
fn a_path_split_into_the_ustar_prefix_is_refused() {
    // `blobs/sha256` in prefix and the hex in name: tar readers join them into a valid blob
    // path, but the writer never uses the prefix.
    let mut raw = good(&[b"a"]);
    raw.entries[1].path = Sha256Digest::of(b"a").hex();
    raw.entries[1].edit = Some(|h| {
        h.as_ustar_mut().unwrap().prefix[..12].copy_from_slice(b"blobs/sha256");
    });
    let offset = second_header_offset(&raw);
    assert!(matches!(
        refuse(&raw),
        ArchiveError::BadHeader { offset: o, reason }
            if o == offset && reason == "the prefix field is not empty"
    ));
}

#[test]
fn padding_must_be_zero_bytes() {
    let mut raw = good(&[b"a"]);
    raw.entries[1].padding = 0xff;
    let path = blob_path(&Sha256Digest::of(b"a"));
    let offset = second_header_offset(&raw) + 512 + 1;
    assert!(matches!(
        refuse(&raw),
        ArchiveError::BadPadding { path: p, offset: o } if p == path && o == offset
    ));

    let mut raw = good(&[b"a"]);
    raw.entries[0].padding = 1;
    let envelope_len = raw.entries[0].data.len() as u64;
    assert_ne!(
        envelope_len % 512,
        0,
        "the envelope needs padding for this test"
    );
    assert!(matches!(
        refuse(&raw),
        ArchiveError::BadPadding { path, offset }
            if path == MANIFEST_ENTRY && offset == 512 + envelope_len
    ));
}

#[test]
fn a_frame_without_a_content_checksum_is_refused() {
    let mut raw = good(&[b"a"]);
    raw.no_checksum = true;
    assert!(matches!(refuse(&raw), ArchiveError::NoContentChecksum));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.airlock.tar.zst");
    std::fs::write(&path, raw.bytes()).unwrap();
    let parts = ArchiveParts::locate(&path).unwrap();
    assert!(matches!(
        read_manifest(&parts, &keys_of(&key(1))),
        Err(ArchiveError::NoContentChecksum)
    ));

    // With one, it is verified: the frame's last four bytes are the checksum.
    let mut bytes = good(&[b"a"]).bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(refuse_bytes(&bytes), ArchiveError::Compression(_)));
}

#[test]
fn a_later_manifest_payload_type_is_an_unsupported_version() {
    let mut envelope: serde_json::Value = serde_json::from_slice(&envelope_for(&[b"a"])).unwrap();
    let mut raw = good(&[b"a"]);
    envelope["payloadType"] = "application/vnd.airlock.manifest.v2+json".into();
    raw.entries[0] = RawEntry::file(MANIFEST_ENTRY, &serde_json::to_vec(&envelope).unwrap());
    assert!(matches!(
        refuse(&raw),
        ArchiveError::Manifest(ManifestError::UnsupportedVersion { found: 2 })
    ));
    envelope["payloadType"] = "application/vnd.airlock.bundle.v2+json".into();
    raw.entries[0] = RawEntry::file(MANIFEST_ENTRY, &serde_json::to_vec(&envelope).unwrap());
    assert!(matches!(
        refuse(&raw),
        ArchiveError::WrongPayloadType(t) if t == "application/vnd.airlock.bundle.v2+json"
    ));
}
