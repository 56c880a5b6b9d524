//! Exceptions (0008): a failed artifact released for a while by admins, with a justification
//! and an expiry. The verdict is never touched; an exception is a row of its own, and its
//! state ([`ExceptionState`]) is derived from its columns and the time it is read at.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, optional, stamp};

/// Where an exception stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionState {
    /// Requested; waiting for a second admin's approval.
    Pending,
    /// Approved and not yet expired: the artifact is served.
    Active,
    /// Its expiry has passed (approved or not).
    Expired,
    /// An admin revoked it.
    Revoked,
}

impl ExceptionState {
    /// The state's name as shown and audited.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// An exception as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExceptionRow {
    /// Its id.
    pub id: i64,
    /// The failed artifact it releases.
    pub artifact_id: i64,
    /// Why, in the requester's words.
    pub justification: String,
    /// When it stops releasing the artifact.
    pub expires_at: DateTime<Utc>,
    /// How many distinct admins the policy required when it was requested.
    pub approvals: u8,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// Who approved it (the requester when one approval is enough).
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// When.
    pub revoked_at: Option<String>,
    /// Why.
    pub revoke_reason: Option<String>,
}

impl ExceptionRow {
    /// Its state at `now`: revoked wins, then expiry, then whether it was approved.
    pub fn state(&self, now: DateTime<Utc>) -> ExceptionState {
        if self.revoked_at.is_some() {
            ExceptionState::Revoked
        } else if self.expires_at <= now {
            ExceptionState::Expired
        } else if self.approved_by.is_none() {
            ExceptionState::Pending
        } else {
            ExceptionState::Active
        }
    }
}

const COLUMNS: &str = "id, artifact_id, justification, expires_at, approvals, requested_by,
    requested_at, approved_by, approved_at, revoked_by, revoked_at, revoke_reason";

/// A row as SQLite gives it: the expiry still text.
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ExceptionRow, String)> {
    let expires_at: String = r.get(3)?;
    Ok((
        ExceptionRow {
            id: r.get(0)?,
            artifact_id: r.get(1)?,
            justification: r.get(2)?,
            expires_at: DateTime::<Utc>::MIN_UTC,
            approvals: r.get(4)?,
            requested_by: r.get(5)?,
            requested_at: r.get(6)?,
            approved_by: r.get(7)?,
            approved_at: r.get(8)?,
            revoked_by: r.get(9)?,
            revoked_at: r.get(10)?,
            revoke_reason: r.get(11)?,
        },
        expires_at,
    ))
}

/// The row with its expiry read (an unreadable one is `Corrupt`, naming the exception).
fn finish((mut row, expires_at): (ExceptionRow, String)) -> Result<ExceptionRow> {
    row.expires_at = DateTime::parse_from_rfc3339(&expires_at)
        .map_err(|e| StoreError::Corrupt {
            what: format!("exceptions.expires_at of exception {}", row.id),
            reason: e.to_string(),
        })?
        .with_timezone(&Utc);
    Ok(row)
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(ExceptionRow, String)>>,
) -> Result<Vec<ExceptionRow>> {
    rows.map(|r| finish(r?)).collect()
}

/// What a new exception is.
#[derive(Debug)]
pub struct NewException<'a> {
    /// The failed artifact.
    pub artifact_id: i64,
    /// Why.
    pub justification: &'a str,
    /// Until when.
    pub expires_at: DateTime<Utc>,
    /// How many distinct admins the policy requires (1 or 2).
    pub approvals: u8,
    /// Who asks.
    pub requested_by: &'a str,
}

/// Records a requested exception; returns its id.
pub fn request(tx: &Tx<'_>, new: &NewException<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx.execute(
        "INSERT INTO exceptions (artifact_id, justification, expires_at, approvals,
                                 requested_by, requested_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            new.artifact_id,
            new.justification,
            stamp(new.expires_at),
            new.approvals,
            new.requested_by,
            stamp(now)
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Approves a pending exception with the VSA issued for it; false when it is not pending
/// (approved or revoked already).
pub fn approve(tx: &Tx<'_>, id: i64, by: &str, vsa: &[u8], now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE exceptions SET approved_by = ?2, approved_at = ?3, vsa = ?4
         WHERE id = ?1 AND approved_by IS NULL AND revoked_at IS NULL",
        params![id, by, stamp(now), vsa],
    )? == 1)
}

/// Revokes an exception; false when it already was.
pub fn revoke(tx: &Tx<'_>, id: i64, by: &str, reason: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE exceptions SET revoked_by = ?2, revoked_at = ?3, revoke_reason = ?4
         WHERE id = ?1 AND revoked_at IS NULL",
        params![id, by, stamp(now), reason],
    )? == 1)
}

/// One exception.
pub fn get(conn: &Connection, id: i64) -> Result<Option<ExceptionRow>> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM exceptions WHERE id = ?1"),
        [id],
        row,
    ))?
    .map(finish)
    .transpose()
}

/// An artifact's exceptions, newest first.
pub fn of_artifact(conn: &Connection, artifact_id: i64) -> Result<Vec<ExceptionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM exceptions WHERE artifact_id = ?1 ORDER BY id DESC"
    ))?;
    collect(stmt.query_map([artifact_id], row)?)
}

/// The exception releasing the artifact at `now` (approved, not revoked, not expired), if any.
pub fn active_of(
    conn: &Connection,
    artifact_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<ExceptionRow>> {
    Ok(of_artifact(conn, artifact_id)?
        .into_iter()
        .find(|e| e.state(now) == ExceptionState::Active))
}

/// Every exception not revoked whose expiry is after `now` (pending and active), the soonest
/// to expire first.
pub fn open(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<ExceptionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM exceptions WHERE revoked_at IS NULL AND expires_at > ?1
         ORDER BY expires_at, id"
    ))?;
    collect(stmt.query_map([stamp(now)], row)?)
}

/// Every exception, newest first.
pub fn all(conn: &Connection) -> Result<Vec<ExceptionRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM exceptions ORDER BY id DESC"
    ))?;
    collect(stmt.query_map([], row)?)
}

/// The VSA issued when the exception became active.
pub fn vsa(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(optional(
        conn.query_row("SELECT vsa FROM exceptions WHERE id = ?1", [id], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        }),
    )?
    .flatten())
}
