//! `audit verify --deep`: every kept archive re-hashed against the SHA-256 recorded when it
//! was kept, and every evidence blob against its name (its SHA-256), so a file changed under
//! the appliance is found and named.

use std::fmt;
use std::path::{Path, PathBuf};

use airlock_bundler::archive::ArchiveParts;

use crate::appliance::Appliance;
use crate::pipeline::{Follow, open_regular, sha256_of_files};
use crate::store::{self, StoreError};

/// A kept file that is not what was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// Its bytes changed.
    Changed {
        /// The file, relative to the data folder.
        path: PathBuf,
        /// The recorded SHA-256 (hex).
        recorded: String,
        /// The SHA-256 read now.
        found: String,
    },
    /// It is gone, unreadable, or no longer a regular file.
    Unreadable {
        /// The file, relative to the data folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed {
                path,
                recorded,
                found,
            } => write!(
                f,
                "{}: SHA-256 {found}, recorded {recorded} (the file changed)",
                path.display()
            ),
            Self::Unreadable { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

/// What the deep check looked at, and what it found.
#[derive(Debug, Clone, Default)]
pub struct FilesChecked {
    /// Kept archives re-hashed.
    pub archives: usize,
    /// Evidence blobs re-hashed.
    pub blobs: usize,
    /// Files that are not what was recorded.
    pub problems: Vec<FileProblem>,
}

/// Re-hashes every kept archive and evidence blob.
pub fn verify_files(app: &Appliance) -> Result<FilesChecked, StoreError> {
    let data = app.data();
    let kept = store::imports::kept_archives(app.store().read())?;
    let mut out = FilesChecked::default();
    let relative = |p: &Path| p.strip_prefix(data.root()).unwrap_or(p).to_path_buf();
    for archive in kept {
        out.archives += 1;
        let first = data.root().join(&archive.path);
        let parts = match ArchiveParts::locate(&first) {
            Ok(parts) => parts.paths().to_vec(),
            Err(e) => {
                out.problems.push(FileProblem::Unreadable {
                    path: archive.path.clone().into(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if let Some(problem) = check(&parts, &archive.kept_sha256, &relative) {
            out.problems.push(problem);
        }
    }
    let Ok(imports) = std::fs::read_dir(data.quarantine()) else {
        return Ok(out);
    };
    let mut blobs = Vec::new();
    for import in imports.flatten() {
        let dir = import.path().join("evidence/blobs/sha256");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            blobs.extend(entries.flatten().map(|e| e.path()));
        }
    }
    blobs.sort();
    for blob in blobs {
        out.blobs += 1;
        let name = blob
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(problem) = check(std::slice::from_ref(&blob), &name, &relative) {
            out.problems.push(problem);
        }
    }
    Ok(out)
}

/// Whether `files`, read in order, hash to `recorded`.
fn check(
    files: &[PathBuf],
    recorded: &str,
    relative: &impl Fn(&Path) -> PathBuf,
) -> Option<FileProblem> {
    let path = relative(files.first()?);
    for file in files {
        if let Err(e) = open_regular(file, Follow::No) {
            return Some(FileProblem::Unreadable {
                path: relative(file),
                reason: e.to_string(),
            });
        }
    }
    match sha256_of_files(files) {
        Ok((found, _)) if found == recorded => None,
        Ok((found, _)) => Some(FileProblem::Changed {
            path,
            recorded: recorded.to_owned(),
            found,
        }),
        Err(e) => Some(FileProblem::Unreadable {
            path,
            reason: e.to_string(),
        }),
    }
}
