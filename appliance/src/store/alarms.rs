//! Persistent alarms: raised by the pipeline, cleared only by an admin.

use rusqlite::{Connection, params};

use super::{Result, Tx, stamp};

/// What an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmKind {
    /// A log showed two histories.
    LogFork,
    /// An archive carried TUF metadata older than what the site accepted.
    Rollback,
}

impl AlarmKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LogFork => "log-fork",
            Self::Rollback => "rollback",
        }
    }
}

/// An alarm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alarm {
    /// Its id.
    pub id: i64,
    /// `log-fork` or `rollback`.
    pub kind: String,
    /// The log origin or repository name.
    pub subject: String,
    /// What was seen.
    pub detail: String,
    /// The import that raised it.
    pub import_id: Option<i64>,
    /// When.
    pub raised_at: String,
    /// When an admin cleared it.
    pub cleared_at: Option<String>,
    /// Who cleared it.
    pub cleared_by: Option<String>,
}

/// Raises an alarm.
pub fn raise(
    tx: &Tx<'_>,
    kind: AlarmKind,
    subject: &str,
    detail: &str,
    import_id: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO alarms (kind, subject, detail, import_id, raised_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind.as_str(), subject, detail, import_id, stamp(now)],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Alarms not yet cleared, newest first.
pub fn open(conn: &Connection) -> Result<Vec<Alarm>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, subject, detail, import_id, raised_at, cleared_at, cleared_by
         FROM alarms WHERE cleared_at IS NULL ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Alarm {
            id: r.get(0)?,
            kind: r.get(1)?,
            subject: r.get(2)?,
            detail: r.get(3)?,
            import_id: r.get(4)?,
            raised_at: r.get(5)?,
            cleared_at: r.get(6)?,
            cleared_by: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Clears an alarm; false if it was not open.
pub fn clear(tx: &Tx<'_>, id: i64, by: &str, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE alarms SET cleared_at = ?2, cleared_by = ?3 WHERE id = ?1 AND cleared_at IS NULL",
        params![id, stamp(now), by],
    )? > 0)
}
