//! The data folder's layout. Everything the appliance keeps lives under one folder:
//!
//! ```text
//! DIR/airlock.db            SQLite (WAL)
//! DIR/lock                  the writer lock (flock), naming its holder
//! DIR/appliance.key|.pub    the appliance's ed25519 signing key (signs VSAs, witness state)
//! DIR/tls/cert.pem|key.pem  the HTTPS certificate (self-signed at init unless given)
//! DIR/inbox/                archives dropped here are imported, then moved to archive/
//! DIR/incoming/             uploads being received (removed on any failure)
//! DIR/quarantine/<import>/  an import's staging folder, then its failed artifacts and its
//!                           evidence (every blob of the archive, in `evidence/`)
//! DIR/released/<import>/    artifacts that passed, published by one rename: a file artifact
//!                           as the file `<position>-<name>`, an image as a folder
//! DIR/archive/              every original archive, by import id
//! ```

use std::path::{Path, PathBuf};

/// The folders and files of a data folder.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The layout under `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database.
    pub fn database(&self) -> PathBuf {
        self.root.join("airlock.db")
    }

    /// The appliance key's base path (`.key` and `.pub` beside it).
    pub fn key_base(&self) -> PathBuf {
        self.root.join("appliance")
    }

    /// The writer lock (see [`crate::lock`]).
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// The private signing key.
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("appliance.key")
    }

    /// The TLS certificate chain (PEM).
    pub fn tls_cert(&self) -> PathBuf {
        self.root.join("tls").join("cert.pem")
    }

    /// The TLS private key (PEM).
    pub fn tls_key(&self) -> PathBuf {
        self.root.join("tls").join("key.pem")
    }

    /// Dropped archives.
    pub fn inbox(&self) -> PathBuf {
        self.root.join("inbox")
    }

    /// Uploads in progress.
    pub fn incoming(&self) -> PathBuf {
        self.root.join("incoming")
    }

    /// Quarantine.
    pub fn quarantine(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    /// One import's quarantine folder.
    pub fn quarantine_of(&self, import: i64) -> PathBuf {
        self.quarantine().join(import.to_string())
    }

    /// One import's staging folder (the archive reader's output).
    pub fn staging_of(&self, import: i64) -> PathBuf {
        self.quarantine_of(import).join(".staging")
    }

    /// One import's evidence: every blob of its archive, as staged (`manifest.dsse.json`,
    /// `blobs/sha256/<hex>`).
    pub fn evidence_of(&self, import: i64) -> PathBuf {
        self.quarantine_of(import).join("evidence")
    }

    /// Released artifacts.
    pub fn released(&self) -> PathBuf {
        self.root.join("released")
    }

    /// One import's released folder.
    pub fn released_of(&self, import: i64) -> PathBuf {
        self.released().join(import.to_string())
    }

    /// One import's released folder while it is being filled (renamed when complete).
    pub fn releasing_of(&self, import: i64) -> PathBuf {
        self.released().join(format!(".{import}.partial"))
    }

    /// Kept original archives.
    pub fn archive(&self) -> PathBuf {
        self.root.join("archive")
    }

    /// Where an import's original archive is kept.
    pub fn archive_of(&self, import: i64) -> PathBuf {
        self.archive().join(format!("{import}.airlock.tar.zst"))
    }

    /// Every folder `init` creates.
    pub fn folders(&self) -> [PathBuf; 7] {
        [
            self.inbox(),
            self.incoming(),
            self.quarantine(),
            self.released(),
            self.archive(),
            self.root.join("tls"),
            self.root.clone(),
        ]
    }
}
