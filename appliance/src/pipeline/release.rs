//! Files: keeping the original archive (the appliance's own copy, hashed), releasing passed
//! artifacts atomically as copies of the evidence, quarantining failed ones, and recovering
//! from a crash at any point.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use airlock_bundler::archive::{ArtifactKind, Manifest, StagedArchive, blob_path};
use chrono::Utc;
use sha2::{Digest as _, Sha256};

use super::{ImportError, Original};
use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::lock::WriterLock;
use crate::paths::DataDir;
use crate::report::Verdict;
use crate::store::{self, ImportState, StoreError};

/// The original archive, kept under `archive/`.
#[derive(Debug)]
pub(super) struct Kept {
    /// Its path relative to the data folder (the first part, for split archives).
    pub(super) relative: PathBuf,
    /// Its files, in order.
    pub(super) parts: Vec<PathBuf>,
    /// The hex SHA-256 of the archive (all parts in order), once hashed (beside the checks).
    pub(super) sha256: String,
    /// Its size in bytes, once hashed.
    pub(super) size: u64,
}

impl Kept {
    /// What the import row records of it when it is kept whole.
    pub(super) fn whole_record(&self, import_id: i64) -> store::KeptArchive {
        store::KeptArchive {
            id: import_id,
            path: self.relative.display().to_string(),
            archive_sha256: self.sha256.clone(),
            kept_bytes: self.size,
            kept_sha256: self.sha256.clone(),
        }
    }
}

/// Keeps the archive's files under `archive/` with the import's id, as the appliance's own
/// files: the appliance's own upload is renamed; anything else is copied (a reflink where the
/// filesystem shares extents, else a plain copy) under a temporary name and renamed, so a
/// crash never leaves a partial original and nobody who can write the source can change the
/// kept evidence. Files from the inbox must be regular files (never followed through a
/// symlink) and are removed once copied. The caller hashes the kept files.
pub(super) fn keep_original(
    app: &Appliance,
    import_id: i64,
    parts: &[PathBuf],
    original: Original,
) -> Result<Kept, ImportError> {
    let data = app.data();
    let base = data.archive_of(import_id);
    let mut kept = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let dest = if parts.len() == 1 {
            base.clone()
        } else {
            airlock_bundler::archive::part_path(&base, i + 1)
        };
        let moved = original == Original::Move && fs::rename(part, &dest).is_ok();
        if !moved {
            let tmp = dest.with_extension("partial");
            let follow = if original == Original::Copy {
                Follow::Yes
            } else {
                Follow::No
            };
            copy_file(part, &tmp, follow)?;
            fs::rename(&tmp, &dest).map_err(ImportError::io(&dest))?;
            if original != Original::Copy {
                fs::remove_file(part).map_err(ImportError::io(part))?;
            }
        }
        kept.push(dest);
    }
    let relative = kept
        .first()
        .and_then(|p| p.strip_prefix(data.root()).ok())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok(Kept {
        relative,
        parts: kept,
        sha256: String::new(),
        size: 0,
    })
}

/// Replaces a kept archive by its first `head` bytes (`archive/<import>.airlock.tar.zst.head`):
/// enough to investigate a rejected archive without keeping all of it. Returns where it is,
/// relative to the data folder, and the SHA-256 and size of what is kept.
pub(super) fn keep_head(
    app: &Appliance,
    import_id: i64,
    kept: &Kept,
    head: u64,
) -> Result<(PathBuf, String, u64), ImportError> {
    use std::io::{Read as _, Write as _};
    let dest = head_path(&app.data().archive_of(import_id));
    let tmp = dest.with_extension("partial");
    let mut out = fs::File::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(ImportError::io(&tmp))?;
    let mut left = head;
    for part in &kept.parts {
        if left == 0 {
            break;
        }
        let file = fs::File::open(part).map_err(ImportError::io(part))?;
        let copied = io::copy(&mut file.take(left), &mut out).map_err(ImportError::io(&tmp))?;
        left -= copied;
    }
    out.flush().map_err(ImportError::io(&tmp))?;
    out.sync_all().map_err(ImportError::io(&tmp))?;
    drop(out);
    fs::rename(&tmp, &dest).map_err(ImportError::io(&dest))?;
    for part in &kept.parts {
        fs::remove_file(part).map_err(ImportError::io(part))?;
    }
    let (sha256, size) = sha256_of_files(std::slice::from_ref(&dest))?;
    let relative = dest
        .strip_prefix(app.data().root())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((relative, sha256, size))
}

/// Where the first MiB of a rejected archive is kept.
fn head_path(base: &Path) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// Whether a copy may follow a symlink at its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// The operator named the file (a CLI import).
    Yes,
    /// Anyone could have put it there (the inbox), or it is the appliance's own.
    No,
}

/// Copies the regular file `from` to a new file `to` (mode 0600; an existing `to` is an
/// error): a reflink (`FICLONE`) where the filesystem has them, else `std::io::copy`
/// (`copy_file_range` on Linux). With [`Follow::No`] a symlink at `from` is refused, not
/// followed; anything but a regular file is refused either way.
pub(crate) fn copy_file(from: &Path, to: &Path, follow: Follow) -> Result<(), ImportError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut source = open_regular(from, follow)?;
    let mut dest = fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(ImportError::io(to))?;
    if rustix::fs::ioctl_ficlone(&dest, &source).is_err() {
        io::copy(&mut source, &mut dest).map_err(ImportError::io(to))?;
    }
    Ok(())
}

/// Opens `path` for reading if it is a regular file; with [`Follow::No`], never through a
/// symlink (`O_NOFOLLOW`).
pub(crate) fn open_regular(path: &Path, follow: Follow) -> Result<fs::File, ImportError> {
    use rustix::fs::{Mode, OFlags};
    let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    if follow == Follow::No {
        flags |= OFlags::NOFOLLOW;
    }
    let not_regular = || ImportError::NotRegular {
        path: path.to_owned(),
    };
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) => return Err(not_regular()),
        Err(e) => return Err(ImportError::io(path)(e.into())),
    };
    let file = fs::File::from(fd);
    let meta = file.metadata().map_err(ImportError::io(path))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// The hex SHA-256 and total size of `files`, read in order.
pub(crate) fn sha256_of_files(files: &[PathBuf]) -> Result<(String, u64), ImportError> {
    use std::io::Read as _;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    for path in files {
        let mut file = fs::File::open(path).map_err(ImportError::io(path))?;
        loop {
            let n = file.read(&mut buf).map_err(ImportError::io(path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// Where one artifact's files go.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub(super) position: usize,
    /// Released (passed or warned) or quarantined (failed).
    pub(super) released: bool,
    /// Its name in the import's folder, `<position>-<name made safe>`: the file itself for a
    /// file artifact, a folder holding the layout for an OCI image.
    pub(super) dir: String,
    /// Relative to the data folder, once the release completes.
    pub(super) relative: PathBuf,
}

/// Where every artifact of an import goes.
#[derive(Debug)]
pub(super) struct Layout {
    pub(super) places: Vec<Place>,
}

/// An entry name (file or folder) from an untrusted artifact name: its position, then the name with anything
/// but `[A-Za-z0-9._+-]` replaced, at most 100 bytes. Unique because of the position.
fn folder_name(position: usize, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    format!("{position:04}-{safe}")
}

/// Plans where each judged artifact goes.
pub(super) fn plan(
    data: &DataDir,
    import_id: i64,
    manifest: &Manifest,
    verdicts: &[(usize, Verdict)],
) -> Layout {
    let places = verdicts
        .iter()
        .map(|&(position, verdict)| {
            let released = verdict != Verdict::Failed;
            let dir = folder_name(position, &manifest.artifacts[position].name);
            let root = if released {
                data.released_of(import_id)
            } else {
                data.quarantine_of(import_id)
            };
            let relative = root
                .join(&dir)
                .strip_prefix(data.root())
                .map(Path::to_path_buf)
                .unwrap_or_default();
            Place {
                position,
                released,
                dir,
                relative,
            }
        })
        .collect();
    Layout { places }
}

/// Puts every artifact's files in place from the staging folder: failed ones into
/// `quarantine/<import>/`, released ones into a partial folder renamed to `released/<import>/`
/// in one step. Then the staging folder goes. Safe to run again after a crash.
pub(super) fn execute(
    data: &DataDir,
    import_id: i64,
    staging: &Path,
    manifest: &Manifest,
    layout: &Layout,
) -> Result<(), ImportError> {
    if !data.released_of(import_id).exists() {
        prepare(data, import_id, staging, manifest, layout)?;
    }
    publish(data, import_id, staging, layout)
}

/// The slow half of [`execute`], which may run before the verdicts are committed (nothing it
/// writes is released): every artifact's files copied into the partial folder or quarantine.
pub(super) fn prepare(
    data: &DataDir,
    import_id: i64,
    staging: &Path,
    manifest: &Manifest,
    layout: &Layout,
) -> Result<(), ImportError> {
    let quarantine = data.quarantine_of(import_id);
    let partial = data.releasing_of(import_id);
    remove_dir(&partial)?;
    for root in [&partial, &quarantine] {
        fs::create_dir_all(root).map_err(ImportError::io(root))?;
    }
    for place in &layout.places {
        let root = if place.released {
            &partial
        } else {
            &quarantine
        };
        let artifact = &manifest.artifacts[place.position];
        match artifact.kind {
            // The manifest check saw to exactly one file.
            ArtifactKind::File => {
                for file in &artifact.files {
                    copy_into_place(
                        &staging.join(blob_path(&file.digest)),
                        &root.join(&place.dir),
                    )?;
                }
            }
            ArtifactKind::OciImage => {
                let base = root.join(&place.dir);
                for file in &artifact.files {
                    let to = base.join(file.path.as_str());
                    if let Some(parent) = to.parent() {
                        fs::create_dir_all(parent).map_err(ImportError::io(parent))?;
                    }
                    copy_into_place(&staging.join(blob_path(&file.digest)), &to)?;
                }
            }
        }
    }
    // An empty partial folder is not published (nothing was released).
    let _ = fs::remove_dir(&partial);
    Ok(())
}

/// The quick half of [`execute`], only once the verdicts are committed: the partial folder
/// becomes `released/<import>/` in one rename, and the staging folder the import's evidence.
pub(super) fn publish(
    data: &DataDir,
    import_id: i64,
    staging: &Path,
    layout: &Layout,
) -> Result<(), ImportError> {
    let partial = data.releasing_of(import_id);
    let released = data.released_of(import_id);
    if !released.exists() && layout.places.iter().any(|p| p.released) {
        fs::rename(&partial, &released).map_err(ImportError::io(&released))?;
    }
    // The staged blobs (the signed manifest, every bundle, SBOM and trust file, and the
    // artifacts' bytes, of which released files are copies) stay as the import's evidence.
    // One rename, however many blobs.
    let evidence = data.evidence_of(import_id);
    if staging.exists() {
        remove_dir(&evidence)?;
        fs::rename(staging, &evidence).map_err(ImportError::io(&evidence))?;
    }
    Ok(())
}

/// Puts a copy of `from` (a staged blob) at `to`: the appliance's own file, never a link to
/// the evidence, so writing to a released file cannot change the evidence. Written under a
/// temporary name and renamed over whatever an interrupted run left.
fn copy_into_place(from: &Path, to: &Path) -> Result<(), ImportError> {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = to.with_file_name(format!(".{name}.partial"));
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ImportError::io(&tmp)(e)),
    }
    copy_file(from, &tmp, Follow::No)?;
    fs::rename(&tmp, to).map_err(ImportError::io(to))
}

/// Removes a folder if it exists.
pub(super) fn remove_dir(dir: &Path) -> Result<(), ImportError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ImportError::Io {
            path: dir.to_owned(),
            source: e,
        }),
    }
}

/// Brings the data folder back to a consistent state after a crash, under the writer lock
/// (waiting as long as the appliance was opened to). See [`recover_locked`].
pub fn recover(app: &Appliance) -> Result<Vec<i64>, ImportError> {
    let lock = app.writer_lock()?;
    recover_locked(app, &lock)
}

/// Brings the data folder back to a consistent state after a crash: imports that were
/// running are marked interrupted and their partial files removed; imports whose verdicts
/// were committed finish their release. Abandoned uploads are removed (one still being
/// received holds a lock on its file and stays). Returns the ids of the imports it touched.
///
/// Only ever under the writer lock: every import holds it from start to finish, so while
/// it is held, an import left `running` or `releasing` is one whose writer is gone.
pub fn recover_locked(app: &Appliance, _lock: &WriterLock) -> Result<Vec<i64>, ImportError> {
    let data = app.data();
    let now = Utc::now();
    let mut touched = Vec::new();
    let (running, releasing) = {
        let store = app.store();
        (
            store::imports::in_state(store.read(), ImportState::Running)?,
            store::imports::in_state(store.read(), ImportState::Releasing)?,
        )
    };
    for import in running {
        remove_dir(&data.quarantine_of(import.id))?;
        remove_dir(&data.releasing_of(import.id))?;
        remove_dir(&data.released_of(import.id))?;
        app.store().write(|tx| {
            store::artifacts::delete_of_import(tx, import.id)?;
            store::imports::set_state(
                tx,
                import.id,
                ImportState::Interrupted,
                Some("interrupted: the appliance stopped before a verdict was committed; partial files removed"),
                now,
            )?;
            audit::append(
                tx,
                now,
                &Event {
                    actor: "system",
                    action: "import.interrupted",
                    subject: &import.id.to_string(),
                    detail: serde_json::json!({"file_name": import.file_name}),
                },
            )?;
            Ok::<_, StoreError>(())
        })?;
        touched.push(import.id);
    }
    for import in releasing {
        let artifacts = store::artifacts::of_import(app.store().read(), import.id)?;
        let staging = data.staging_of(import.id);
        // The staged manifest, verified when the archive was read; without the staging folder
        // every file is already in place (it is removed last). A staging folder whose manifest
        // cannot be read (removed by hand, a failing disk) ends the import interrupted rather
        // than stopping every later start of the appliance.
        let mut unreadable = None;
        let manifest = if staging.exists() {
            match StagedArchive::reopen(&staging) {
                Ok(staged) => Some(staged.manifest().clone()),
                Err(e) => {
                    unreadable = Some(format!(
                        "interrupted during release and the staged manifest is unreadable: {e}"
                    ));
                    None
                }
            }
        } else {
            None
        };
        let finished = match manifest {
            Some(manifest) => {
                let places = artifacts
                    .iter()
                    .map(|a| {
                        let position = usize::try_from(a.position).unwrap_or(usize::MAX);
                        let name = manifest
                            .artifacts
                            .get(position)
                            .map_or("", |m| m.name.as_str());
                        Place {
                            position,
                            released: a.verdict != Verdict::Failed,
                            dir: folder_name(position, name),
                            relative: PathBuf::new(),
                        }
                    })
                    .filter(|p| p.position < manifest.artifacts.len())
                    .collect();
                execute(data, import.id, &staging, &manifest, &Layout { places })?;
                true
            }
            // Without staging every file is in place, unless some were to be released and
            // `released/<import>` is missing.
            None => {
                unreadable.is_none()
                    && (data.released_of(import.id).exists()
                        || artifacts.iter().all(|a| a.verdict == Verdict::Failed))
            }
        };
        app.store().write(|tx| {
            let (state, reason, action) = if finished {
                (ImportState::Done, None, "release.resumed")
            } else {
                (
                    ImportState::Interrupted,
                    Some(
                        unreadable
                            .as_deref()
                            .unwrap_or("interrupted during release and the staged files are gone"),
                    ),
                    "import.interrupted",
                )
            };
            store::imports::set_state(tx, import.id, state, reason, now)?;
            audit::append(
                tx,
                now,
                &Event {
                    actor: "system",
                    action,
                    subject: &import.id.to_string(),
                    detail: serde_json::json!({}),
                },
            )?;
            Ok::<_, StoreError>(())
        })?;
        touched.push(import.id);
    }
    if let Ok(entries) = fs::read_dir(data.incoming()) {
        for entry in entries.flatten() {
            remove_abandoned(&entry.path());
        }
    }
    Ok(touched)
}

/// Removes an upload's partial file unless its receiver (in this or another process) still
/// holds the lock it takes on the file; see `http::incoming`.
fn remove_abandoned(path: &Path) {
    use rustix::fs::{FlockOperation, flock};
    let Ok(file) = fs::File::open(path) else {
        return;
    };
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() {
        // Removed while locked: a receiver that locks it next sees it has no name any more.
        let _ = fs::remove_file(path);
    }
}
