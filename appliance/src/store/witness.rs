//! Witnessed checkpoints: every one accepted, per log.

use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, optional, stamp};

/// A checkpoint the witness accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointRow {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// The signed note.
    pub note: String,
    /// The import that brought it (none for checkpoints seeded by hand).
    pub import_id: Option<i64>,
    /// When it was accepted.
    pub witnessed_at: String,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckpointRow> {
    Ok(CheckpointRow {
        origin: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        root_hash: r.get(2)?,
        note: r.get(3)?,
        import_id: r.get(4)?,
        witnessed_at: r.get(5)?,
    })
}

/// The head (largest accepted checkpoint) of a log.
pub fn head(conn: &Connection, origin: &str) -> Result<Option<CheckpointRow>> {
    optional(conn.query_row(
        "SELECT origin, size, root_hash, note, import_id, witnessed_at FROM checkpoints
         WHERE origin = ?1 ORDER BY size DESC LIMIT 1",
        [origin],
        row,
    ))
}

/// Every log's head.
pub fn heads(conn: &Connection) -> Result<Vec<CheckpointRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.origin, c.size, c.root_hash, c.note, c.import_id, c.witnessed_at
         FROM checkpoints c
         JOIN (SELECT origin, max(size) AS size FROM checkpoints GROUP BY origin) h
           ON h.origin = c.origin AND h.size = c.size
         ORDER BY c.origin",
    )?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A log's history, newest first.
pub fn history(conn: &Connection, origin: &str, limit: i64) -> Result<Vec<CheckpointRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT origin, size, root_hash, note, import_id, witnessed_at FROM checkpoints
         WHERE origin = ?1 ORDER BY size DESC {}",
        super::window(limit, 0)
    ))?;
    let rows = stmt.query_map([origin], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records an accepted checkpoint (a repeat of one already stored is a no-op).
pub fn insert(
    tx: &Tx<'_>,
    origin: &str,
    size: u64,
    root_hash: &str,
    note: &str,
    import_id: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let size = i64::try_from(size).map_err(|_| StoreError::Corrupt {
        what: "checkpoint size".into(),
        reason: "beyond 2^63".into(),
    })?;
    tx.execute(
        "INSERT INTO checkpoints (origin, size, root_hash, note, import_id, witnessed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (origin, size) DO NOTHING",
        params![origin, size, root_hash, note, import_id, stamp(now)],
    )?;
    Ok(())
}
