//! Trusted signers: keyless identities and managed public keys.

use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, stamp};

/// Keyless or key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignerKind {
    /// A certificate identity (issuer + subject).
    Keyless,
    /// A PEM public key.
    Key,
}

/// A signer to add.
#[derive(Debug, Clone)]
pub struct NewSigner<'a> {
    /// Unique name.
    pub name: &'a str,
    /// Keyless or key.
    pub kind: SignerKind,
    /// OIDC issuer (keyless).
    pub issuer: Option<&'a str>,
    /// Subject, exact or an anchored regex (keyless).
    pub subject: Option<&'a str>,
    /// Whether `subject` is a regex.
    pub subject_is_regex: bool,
    /// PEM (key).
    pub public_key: Option<&'a str>,
    /// Trusted now.
    pub enabled: bool,
    /// Not trusted after.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A signer as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignerRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `keyless` or `key`.
    pub kind: SignerKind,
    /// OIDC issuer.
    pub issuer: Option<String>,
    /// Subject or pattern.
    pub subject: Option<String>,
    /// Whether `subject` is a regex.
    pub subject_is_regex: bool,
    /// PEM.
    pub public_key: Option<String>,
    /// Trusted now.
    pub enabled: bool,
    /// Expiry.
    pub expires_at: Option<String>,
}

/// Adds a signer.
pub fn add(tx: &Tx<'_>, s: &NewSigner<'_>, now: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    let kind = match s.kind {
        SignerKind::Keyless => "keyless",
        SignerKind::Key => "key",
    };
    let added = tx.execute(
        "INSERT INTO signers (name, kind, issuer, subject, subject_is_regex, public_key, enabled,
         expires_at, added_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        params![
            s.name,
            kind,
            s.issuer,
            s.subject,
            s.subject_is_regex,
            s.public_key,
            s.enabled,
            s.expires_at.map(stamp),
            stamp(now)
        ],
    )?;
    if added == 0 {
        return Err(StoreError::Exists(format!("signer {}", s.name)));
    }
    Ok(tx.last_insert_rowid())
}

/// Every signer.
pub fn list(conn: &Connection) -> Result<Vec<SignerRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, kind, issuer, subject, subject_is_regex, public_key, enabled, expires_at
         FROM signers ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(2)?;
        Ok(SignerRow {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: if kind == "key" {
                SignerKind::Key
            } else {
                SignerKind::Keyless
            },
            issuer: r.get(3)?,
            subject: r.get(4)?,
            subject_is_regex: r.get(5)?,
            public_key: r.get(6)?,
            enabled: r.get(7)?,
            expires_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Enables or disables a signer by name; false if there is none.
pub fn set_enabled(tx: &Tx<'_>, name: &str, enabled: bool) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE signers SET enabled = ?2 WHERE name = ?1",
        params![name, enabled],
    )? > 0)
}

/// Sets or clears a signer's expiry; false if there is none.
pub fn set_expiry(
    tx: &Tx<'_>,
    name: &str,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE signers SET expires_at = ?2 WHERE name = ?1",
        params![name, expires_at.map(stamp)],
    )? > 0)
}

/// Removes every signer (before a policy import replaces them).
pub fn delete_all(tx: &Tx<'_>) -> Result<()> {
    tx.execute("DELETE FROM signers", [])?;
    Ok(())
}
