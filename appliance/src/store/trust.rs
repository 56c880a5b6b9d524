//! Pinned TUF roots and each repository's accepted state.

use rusqlite::{Connection, params};

use super::{Result, Tx, stamp};

/// A TUF repository the site trusts.
#[derive(Debug, Clone)]
pub struct TrustRow {
    /// Its name.
    pub name: String,
    /// The root pinned at `init`.
    pub pinned_root: Vec<u8>,
    /// The accepted `TrustState` (JSON), once an archive updated it.
    pub state: Option<String>,
    /// The trusted_root.json accepted with that state.
    pub trusted_root: Option<Vec<u8>>,
    /// Each accepted role's signed expiry: JSON `{"role": "<RFC 3339>"}`.
    pub role_expiries: Option<String>,
    /// When it last changed.
    pub updated_at: Option<String>,
}

/// Pins a repository's root (at `init`, or by an admin).
pub fn pin(tx: &Tx<'_>, name: &str, root: &[u8]) -> Result<()> {
    tx.execute(
        "INSERT INTO tuf_repositories (name, pinned_root) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET pinned_root = excluded.pinned_root",
        params![name, root],
    )?;
    Ok(())
}

/// Every repository.
pub fn list(conn: &Connection) -> Result<Vec<TrustRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, pinned_root, state, trusted_root, updated_at, role_expiries
         FROM tuf_repositories ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TrustRow {
            name: r.get(0)?,
            pinned_root: r.get(1)?,
            state: r.get(2)?,
            trusted_root: r.get(3)?,
            updated_at: r.get(4)?,
            role_expiries: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Saves a newly accepted state.
pub fn save_state(
    tx: &Tx<'_>,
    name: &str,
    state_json: &str,
    trusted_root: &[u8],
    role_expiries: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE tuf_repositories SET state = ?2, trusted_root = ?3, updated_at = ?4,
         role_expiries = ?5 WHERE name = ?1",
        params![name, state_json, trusted_root, stamp(now), role_expiries],
    )?;
    Ok(())
}

/// One import's accepted trust for a repository: what the freshness chart plots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustHistoryRow {
    /// The repository.
    pub name: String,
    /// The import that accepted it.
    pub import_id: i64,
    /// The archive time it was verified as of.
    pub reference_time: String,
    /// The role that expired first.
    pub first_role: String,
    /// When.
    pub first_expiry: String,
}

/// Records the trust an import accepted for a repository (in the import's commit).
pub fn record_history(
    tx: &Tx<'_>,
    row: &TrustHistoryRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO trust_history
             (name, import_id, reference_time, first_role, first_expiry, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            row.name,
            row.import_id,
            row.reference_time,
            row.first_role,
            row.first_expiry,
            stamp(now)
        ],
    )?;
    Ok(())
}

/// The newest `limit` records of every repository, oldest first.
pub fn history(conn: &Connection, limit: i64) -> Result<Vec<TrustHistoryRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT name, import_id, reference_time, first_role, first_expiry FROM (
             SELECT * FROM trust_history ORDER BY id DESC {}
         ) ORDER BY id",
        super::window(limit, 0)
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(TrustHistoryRow {
            name: r.get(0)?,
            import_id: r.get(1)?,
            reference_time: r.get(2)?,
            first_role: r.get(3)?,
            first_expiry: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
