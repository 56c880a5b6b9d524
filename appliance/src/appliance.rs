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
    key: SigningKey,
    key_id: KeyId,
    /// Imports run one at a time (each is already parallel inside).
    import_lock: Mutex<()>,
    /// Sign-in failures of unknown names and per address.
    sign_in_throttle: crate::auth::Throttle,
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
            key,
            key_id,
            import_lock: Mutex::new(()),
            sign_in_throttle: crate::auth::Throttle::default(),
        })
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

    /// Held for the length of one import.
    pub(crate) fn import_lock(&self) -> MutexGuard<'_, ()> {
        self.import_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The in-memory half of sign-in throttling (unknown names, addresses).
    pub(crate) fn sign_in_throttle(&self) -> &crate::auth::Throttle {
        &self.sign_in_throttle
    }

    /// The appliance key's id (hex SHA-256 of the raw ed25519 key).
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
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
    serde_json::to_vec(&envelope).unwrap_or_default()
}
