//! The site registry's rows: released images (and failed ones an active exception releases),
//! pull tokens, withdrawals, and the generation number the migrations' triggers bump whenever
//! what the registry serves may have changed.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{Result, Tx, optional, stamp};

/// A released image as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedImage {
    /// The artifact's id.
    pub artifact_id: i64,
    /// The import it came with.
    pub import_id: i64,
    /// The publisher that packed it.
    pub publisher: String,
    /// The artifact's name in the archive.
    pub name: String,
    /// The signed manifest's (or index's) hex SHA-256.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Its released folder, relative to the data folder.
    pub location: String,
    /// When the import finished.
    pub finished_at: String,
    /// For a failed image served by an active exception, when that exception expires.
    pub exception_expires_at: Option<String>,
}

/// The registry's generation: it changes whenever an artifact, an import's state or a
/// withdrawal changes.
pub fn generation(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT generation FROM registry_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?)
}

/// Every image of a finished import, not withdrawn, that its verdict released or (a failed
/// one) an exception active at `now` releases, oldest first.
pub fn released_images(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<ReleasedImage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.import_id, i.publisher, a.name, a.digest, a.media_type, a.location,
                i.finished_at, x.expires_at
         FROM artifacts a JOIN imports i ON i.id = a.import_id
         LEFT JOIN (SELECT artifact_id, max(expires_at) AS expires_at FROM exceptions
                    WHERE approved_by IS NOT NULL AND revoked_at IS NULL AND expires_at > ?1
                    GROUP BY artifact_id) x ON x.artifact_id = a.id
         WHERE a.kind = 'oci-image'
           AND (a.verdict IN ('passed', 'warned')
                OR (a.verdict = 'failed' AND x.expires_at IS NOT NULL))
           AND i.state = 'done' AND a.location IS NOT NULL AND i.publisher IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.artifact_id = a.id)
         ORDER BY a.id",
    )?;
    let rows = stmt.query_map([stamp(now)], |r| {
        Ok(ReleasedImage {
            artifact_id: r.get(0)?,
            import_id: r.get(1)?,
            publisher: r.get(2)?,
            name: r.get(3)?,
            digest: r.get(4)?,
            media_type: r.get(5)?,
            location: r.get(6)?,
            finished_at: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            exception_expires_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A pull token, as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PullTokenRow {
    /// Its id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The repository prefix it is limited to, if any.
    pub scope: Option<String>,
    /// Who issued it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// By whom.
    pub revoked_by: Option<String>,
}

const TOKEN_COLUMNS: &str =
    "id, name, scope, created_by, created_at, expires_at, revoked_at, revoked_by";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PullTokenRow> {
    Ok(PullTokenRow {
        id: r.get(0)?,
        name: r.get(1)?,
        scope: r.get(2)?,
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        revoked_at: r.get(6)?,
        revoked_by: r.get(7)?,
    })
}

/// What a new pull token is.
#[derive(Debug)]
pub struct NewPullToken<'a> {
    /// What it is for.
    pub name: &'a str,
    /// Hex SHA-256 of the token.
    pub token_sha256: &'a str,
    /// The repository prefix it is limited to.
    pub scope: Option<&'a str>,
    /// Who issues it.
    pub created_by: &'a str,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Records a pull token; returns its id.
pub fn add_token(tx: &Tx<'_>, token: &NewPullToken<'_>, now: DateTime<Utc>) -> Result<i64> {
    tx.execute(
        "INSERT INTO pull_tokens (name, token_sha256, scope, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            token.name,
            token.token_sha256,
            token.scope,
            token.created_by,
            stamp(now),
            token.expires_at.map(stamp)
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Revokes a token; false when there is no such token or it was already revoked.
pub fn revoke_token(tx: &Tx<'_>, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE pull_tokens SET revoked_at = ?2, revoked_by = ?3
         WHERE id = ?1 AND revoked_at IS NULL",
        params![id, stamp(now), by],
    )? == 1)
}

/// Every pull token, newest first.
pub fn tokens(conn: &Connection) -> Result<Vec<PullTokenRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM pull_tokens ORDER BY id DESC"
    ))?;
    let rows = stmt.query_map([], token_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The token with this hash, whatever its state.
pub fn token_by_hash(conn: &Connection, token_sha256: &str) -> Result<Option<PullTokenRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM pull_tokens WHERE token_sha256 = ?1"
    ))?;
    optional(stmt.query_row([token_sha256], token_row))
}

/// A withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WithdrawalRow {
    /// The artifact.
    pub artifact_id: i64,
    /// Who withdrew it.
    pub withdrawn_by: String,
    /// When.
    pub withdrawn_at: String,
    /// Why.
    pub reason: String,
}

/// Withdraws an artifact; false if it already was.
pub fn withdraw(
    tx: &Tx<'_>,
    artifact_id: i64,
    by: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(tx.execute(
        "INSERT INTO withdrawals (artifact_id, withdrawn_by, withdrawn_at, reason)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![artifact_id, by, stamp(now), reason],
    )? == 1)
}

/// The artifact's withdrawal, if it was withdrawn.
pub fn withdrawal(conn: &Connection, artifact_id: i64) -> Result<Option<WithdrawalRow>> {
    optional(conn.query_row(
        "SELECT artifact_id, withdrawn_by, withdrawn_at, reason FROM withdrawals
         WHERE artifact_id = ?1",
        [artifact_id],
        |r| {
            Ok(WithdrawalRow {
                artifact_id: r.get(0)?,
                withdrawn_by: r.get(1)?,
                withdrawn_at: r.get(2)?,
                reason: r.get(3)?,
            })
        },
    ))
}

/// Every withdrawal, newest first.
pub fn withdrawals(conn: &Connection) -> Result<Vec<WithdrawalRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT artifact_id, withdrawn_by, withdrawn_at, reason FROM withdrawals
         ORDER BY withdrawn_at DESC, artifact_id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(WithdrawalRow {
            artifact_id: r.get(0)?,
            withdrawn_by: r.get(1)?,
            withdrawn_at: r.get(2)?,
            reason: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
