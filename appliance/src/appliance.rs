//! The opened appliance: its data folder, database and signing key, shared by the CLI, the
//! import pipeline and the HTTP server.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use airlock_bundler::keys::{self, KeyId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::Serialize;

use crate::lock::{LockError, Wait, WriterLock};
use crate::paths::DataDir;
use crate::store::{Store, StoreError};

/// Why the appliance could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The folder is not an initialised data folder.
    #[error("{0} is not an Airlock data folder (run `airlock-appliance init` first)")]
    NotInitialised(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key.
    #[error("appliance key: {0}")]
    Key(#[from] keys::KeyError),
}

/// An opened appliance.
#[derive(Debug)]
pub struct Appliance {
    data: DataDir,
    store: Mutex<Store>,
    /// Idle read-only connections for the pages ([`Appliance::reader`]).
    readers: Mutex<Vec<Store>>,
    key: SigningKey,
    key_id: KeyId,
    /// Who takes the data folder's writer lock, and how long it waits by default.
    writer: (String, Wait),
    /// Sign-in failures of unknown names and per address.
    sign_in_throttle: crate::throttle::Throttle,
}

impl Appliance {
    /// Opens an initialised data folder.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let data = DataDir::new(dir);
        if !data.database().is_file() || !data.signing_key().is_file() {
            return Err(OpenError::NotInitialised(dir.display().to_string()));
        }
        let store = Store::open(&data.database())?;
        let key_path = data.signing_key();
        let key = keys::load_signing_key(&key_path, || {
            Err(keys::KeyError::PassphraseRequired {
                path: key_path.clone(),
            })
        })?;
        let key_id = KeyId::of(&key.verifying_key());
        Ok(Self {
            data,
            store: Mutex::new(store),
            readers: Mutex::new(Vec::new()),
            key,
            key_id,
            writer: ("airlock-appliance".to_owned(), Wait::No),
            sign_in_throttle: crate::throttle::Throttle::default(),
        })
    }

    /// Names the command that takes the writer lock (written into the lock file) and how
    /// long state changes wait for it by default.
    pub fn with_writer(mut self, command: &str, wait: Wait) -> Self {
        self.writer = (command.to_owned(), wait);
        self
    }

    /// The data folder.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// The database (one connection, serialised).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`Appliance::store`] if no one holds it now (for writes that may as well be skipped).
    pub fn try_store(&self) -> Option<MutexGuard<'_, Store>> {
        match self.store.try_lock() {
            Ok(store) => Some(store),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// A read-only connection of its own, from a small pool: SQLite in WAL mode lets readers
    /// run beside each other and beside the writer, so pages that only read (most of them)
    /// do not queue on [`Appliance::store`]'s one connection. Each query sees what was
    /// committed when it started, as on that connection. Opened on first need; at most
    /// [`READERS_KEPT`] are kept idle.
    pub fn reader(&self) -> Result<PooledReader<'_>, StoreError> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let store = match idle {
            Some(store) => store,
            None => Store::open_reader(&self.data.database())?,
        };
        Ok(PooledReader {
            pool: &self.readers,
            store: Some(store),
        })
    }

    /// The data folder's writer lock, waiting as long as the appliance was opened to.
    /// Everything that changes the appliance's state holds it (one writer per data folder,
    /// across processes); it is not reentrant, not even within one thread.
    pub fn writer_lock(&self) -> Result<WriterLock, LockError> {
        self.writer_lock_waiting(self.writer.1)
    }

    /// The writer lock, waiting as `wait` says.
    pub fn writer_lock_waiting(&self, wait: Wait) -> Result<WriterLock, LockError> {
        WriterLock::acquire(&self.data.lock(), &self.writer.0, wait, || self.now())
    }

    /// The in-memory half of sign-in throttling (unknown names, addresses).
    pub(crate) fn sign_in_throttle(&self) -> &crate::throttle::Throttle {
        &self.sign_in_throttle
    }

    /// The appliance key's id (hex SHA-256 of the raw ed25519 key).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The appliance's public key.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    /// The appliance's signing key.
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The appliance's public key as SPKI PEM.
    pub fn public_key_pem(&self) -> String {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        self.key
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap_or_default()
    }

    /// Signs `payload` as a DSSE envelope of `payload_type` with the appliance key.
    pub fn sign_dsse(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        sign_dsse(&self.key, payload_type, payload)
    }

    /// The clock: read here, at the edge, and passed down as a parameter.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A DSSE envelope as serialised.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    payload: String,
    payload_type: &'a str,
    signatures: [Signature; 1],
}

#[derive(Serialize)]
struct Signature {
    keyid: String,
    sig: String,
}

/// Signs `payload` as a DSSE envelope with one ed25519 signature over the PAE.
pub fn sign_dsse(key: &SigningKey, payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let message = airlock_trust_root::pae(payload_type, payload);
    let envelope = Envelope {
        payload: STANDARD.encode(payload),
        payload_type,
        signatures: [Signature {
            keyid: KeyId::of(&key.verifying_key()).to_string(),
            sig: STANDARD.encode(key.sign(&message).to_bytes()),
        }],
    };
    // Strings always serialize.
    serde_json::to_vec(&envelope)
        .expect("invariant: a DSSE envelope serializes (derived, string keys)")
}

/// Idle readers kept by [`Appliance::reader`] (the page tasks that run at once, and then some).
pub const READERS_KEPT: usize = 4;

/// A read-only connection lent by [`Appliance::reader`], given back when dropped.
#[derive(Debug)]
pub struct PooledReader<'a> {
    pool: &'a Mutex<Vec<Store>>,
    store: Option<Store>,
}

impl PooledReader<'_> {
    /// The connection, for the store's query functions.
    pub fn read(&self) -> &crate::store::Reader {
        self.store
            .as_ref()
            .expect("invariant: taken only when dropped")
            .read()
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        let mut idle = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < READERS_KEPT
            && let Some(store) = self.store.take()
        {
            idle.push(store);
        }
    }
}
