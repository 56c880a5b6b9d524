//! Trusted publishers (bundler teams), their ed25519 keys and the last sequence accepted.

use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, optional, stamp};

/// A publisher.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublisherRow {
    /// Its name (as in manifests).
    pub name: String,
    /// The highest sequence number accepted, if any archive was.
    pub last_sequence: Option<u64>,
}

/// A publisher key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublisherKeyRow {
    /// Hex SHA-256 of the raw key.
    pub key_id: String,
    /// The publisher it belongs to.
    pub publisher: String,
    /// The raw 32-byte ed25519 key.
    #[serde(with = "hex::serde")]
    pub public_key: Vec<u8>,
    /// Whether it is trusted now.
    pub enabled: bool,
}

/// Adds a publisher if it does not exist.
pub fn ensure(tx: &Tx<'_>, name: &str, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    tx.execute(
        "INSERT INTO publishers (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![name, stamp(now)],
    )?;
    Ok(())
}

/// Adds a key to a publisher.
pub fn add_key(
    tx: &Tx<'_>,
    publisher: &str,
    key_id: &str,
    public_key: &[u8; 32],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let added = tx.execute(
        "INSERT INTO publisher_keys (key_id, publisher, public_key, added_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![key_id, publisher, &public_key[..], stamp(now)],
    )?;
    if added == 0 {
        return Err(StoreError::Exists(format!("publisher key {key_id}")));
    }
    Ok(())
}

/// Enables or disables a key; false when there is no such key.
pub fn set_key_enabled(tx: &Tx<'_>, key_id: &str, enabled: bool) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE publisher_keys SET enabled = ?2 WHERE key_id = ?1",
        params![key_id, enabled],
    )? > 0)
}

/// Every publisher.
pub fn list(conn: &Connection) -> Result<Vec<PublisherRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, last_sequence FROM publishers ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(PublisherRow {
            name: r.get(0)?,
            last_sequence: r.get::<_, Option<i64>>(1)?.map(|s| s as u64),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One publisher.
pub fn get(conn: &Connection, name: &str) -> Result<Option<PublisherRow>> {
    optional(conn.query_row(
        "SELECT name, last_sequence FROM publishers WHERE name = ?1",
        [name],
        |r| {
            Ok(PublisherRow {
                name: r.get(0)?,
                last_sequence: r.get::<_, Option<i64>>(1)?.map(|s| s as u64),
            })
        },
    ))
}

/// Every key, with its publisher.
pub fn keys(conn: &Connection) -> Result<Vec<PublisherKeyRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, publisher, public_key, enabled FROM publisher_keys ORDER BY publisher, key_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PublisherKeyRow {
            key_id: r.get(0)?,
            publisher: r.get(1)?,
            public_key: r.get(2)?,
            enabled: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records an accepted sequence number (only ever upwards: the caller checked it).
pub fn set_last_sequence(tx: &Tx<'_>, name: &str, sequence: u64) -> Result<()> {
    let sequence = i64::try_from(sequence).map_err(|_| StoreError::Corrupt {
        what: "sequence".into(),
        reason: "beyond 2^63".into(),
    })?;
    tx.execute(
        "UPDATE publishers SET last_sequence = ?2
         WHERE name = ?1 AND (last_sequence IS NULL OR last_sequence < ?2)",
        params![name, sequence],
    )?;
    Ok(())
}

/// Forgets a publisher's last accepted sequence, so its next archive may use any; false if
/// there is no such publisher.
pub fn reset_sequence(tx: &Tx<'_>, name: &str) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE publishers SET last_sequence = NULL WHERE name = ?1",
        [name],
    )? > 0)
}
