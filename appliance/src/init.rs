//! `init`: a new data folder — its folders, the database, the appliance signing key, a
//! self-signed TLS certificate unless one is given, the pinned TUF roots, the strict default
//! policy and the first admin. Nothing is left behind if any step fails.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::audit::{self, Event};
use crate::auth::{self, AuthError};
use crate::paths::DataDir;
use crate::policy::Policy;
use crate::settings::POLICY;
use crate::store::{self, Role, Store, StoreError};
use crate::tls::{self, TlsError};

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The data folder (must not exist, or be empty).
    pub data: PathBuf,
    /// Pinned TUF roots: repository name and the root.json obtained out of band.
    pub tuf_roots: Vec<(String, Vec<u8>)>,
    /// The first admin's name.
    pub admin: String,
    /// Their password; generated when absent.
    pub admin_password: Option<String>,
    /// A certificate chain and key (PEM) to serve; self-signed when absent.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// Names for the self-signed certificate (besides localhost and loopback addresses).
    pub hostnames: Vec<String>,
    /// This site's name: archives must then name it in their manifest's `site`.
    pub site: Option<String>,
    /// The time recorded.
    pub now: DateTime<Utc>,
}

/// What `init` made.
#[derive(Debug)]
pub struct Initialised {
    /// The data folder.
    pub data: DataDir,
    /// The admin's password, when it was generated (shown once, never stored in clear).
    pub generated_password: Option<String>,
    /// The appliance key's id.
    pub key_id: String,
}

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The folder already holds something.
    #[error("{0} exists and is not empty; refusing to initialise over it")]
    NotEmpty(PathBuf),
    /// A file operation.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A pinned root is not a TUF root.
    #[error("TUF root {name}: {reason}")]
    BadRoot {
        /// The repository.
        name: String,
        /// Why.
        reason: String,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signing key.
    #[error("appliance key: {0}")]
    Key(#[from] airlock_bundler::keys::KeyError),
    /// The TLS certificate.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Hashing the password.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A bad name.
    #[error("{0}")]
    Invalid(String),
}

/// Initialises a data folder.
pub fn init(options: &InitOptions) -> Result<Initialised, InitError> {
    let root = &options.data;
    if root.exists() {
        let empty = fs::read_dir(root)
            .map_err(|source| InitError::Io {
                path: root.clone(),
                source,
            })?
            .next()
            .is_none();
        if !empty {
            return Err(InitError::NotEmpty(root.clone()));
        }
    }
    let created_root = !root.exists();
    let result = build(options);
    if result.is_err() {
        // Leave nothing half made: remove what this call created.
        if created_root {
            let _ = fs::remove_dir_all(root);
        } else if let Ok(entries) = fs::read_dir(root) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
            }
        }
    }
    result
}

fn build(options: &InitOptions) -> Result<Initialised, InitError> {
    let data = DataDir::new(&options.data);
    for folder in data.folders() {
        fs::create_dir_all(&folder).map_err(|source| InitError::Io {
            path: folder.clone(),
            source,
        })?;
    }
    restrict(data.root())?;
    if options.admin.is_empty()
        || options.admin.len() > 64
        || options.admin.chars().any(char::is_control)
    {
        return Err(InitError::Invalid(
            "the admin name must be 1 to 64 characters without control characters".into(),
        ));
    }
    if let Some(site) = &options.site
        && (site.is_empty()
            || site.len() > 255
            || site.chars().any(char::is_control)
            || site.trim() != site)
    {
        return Err(InitError::Invalid(
            "the site name must be 1 to 255 bytes without control characters or surrounding spaces"
                .into(),
        ));
    }
    for (name, root) in &options.tuf_roots {
        airlock_trust_root::RepositoryName::new(name).map_err(|e| InitError::BadRoot {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        let value: serde_json::Value =
            serde_json::from_slice(root).map_err(|e| InitError::BadRoot {
                name: name.clone(),
                reason: format!("not JSON: {e}"),
            })?;
        if value["signed"]["_type"] != "root" {
            return Err(InitError::BadRoot {
                name: name.clone(),
                reason: "not a TUF root (signed._type is not \"root\")".into(),
            });
        }
    }

    let generated = airlock_bundler::keys::generate(&data.key_base(), None)?;
    let (cert, key) = match &options.tls {
        Some((cert, key)) => (cert.clone(), key.clone()),
        None => {
            let made = tls::generate_self_signed(&options.hostnames)?;
            (made.cert_pem.into_bytes(), made.key_pem.into_bytes())
        }
    };
    write_private(&data.tls_cert(), &cert)?;
    write_private(&data.tls_key(), &key)?;
    // Refuse a certificate that will not serve now rather than at the first `serve`.
    tls::server_config(&data.tls_cert(), &data.tls_key())?;

    let (password, generated_password) = match &options.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p = auth::generate_password();
            (p.clone(), Some(p))
        }
    };
    let hash = auth::hash_password(&password)?;
    let mut store = Store::open(&data.database())?;
    let now = options.now;
    store.write(|tx| {
        store::settings::set(tx, POLICY, &Policy::strict().to_toml())?;
        if let Some(site) = &options.site {
            store::settings::set(tx, crate::settings::SITE, site)?;
        }
        for (name, root) in &options.tuf_roots {
            store::trust::pin(tx, name, root)?;
            audit::append(
                tx,
                now,
                &Event {
                    actor: "init",
                    action: "trust.pinned",
                    subject: name,
                    detail: serde_json::json!({"root_sha256": crate::audit::sha256_hex(root)}),
                },
            )?;
        }
        store::users::add(tx, &options.admin, Role::Admin, &hash, now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: "init",
                action: "user.added",
                subject: &options.admin,
                detail: serde_json::json!({"role": "admin"}),
            },
        )?;
        audit::append(
            tx,
            now,
            &Event {
                actor: "init",
                action: "appliance.initialised",
                subject: generated.key_id.as_str(),
                detail: serde_json::json!({"policy": "strict", "site": options.site}),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(Initialised {
        data,
        generated_password,
        key_id: generated.key_id.to_string(),
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.to_owned(),
        source,
    };
    fs::write(path, bytes).map_err(io)?;
    set_mode(path, 0o600).map_err(io)
}

fn restrict(dir: &Path) -> Result<(), InitError> {
    set_mode(dir, 0o700).map_err(|source| InitError::Io {
        path: dir.to_owned(),
        source,
    })
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}
