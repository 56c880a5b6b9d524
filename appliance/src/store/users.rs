//! Local accounts and their sessions (tokens stored as SHA-256 hashes).

use rusqlite::{Connection, params};

use super::{Result, StoreError, Tx, optional, stamp};

/// What a user may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only.
    Auditor,
    /// Imports archives.
    Operator,
    /// Manages users, publishers, signers and policy.
    Admin,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Auditor => "auditor",
        }
    }

    /// Parses a stored or typed role.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "auditor" => Some(Self::Auditor),
            _ => None,
        }
    }
}

/// A user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The argon2id PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// Whether they may sign in.
    pub enabled: bool,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// When the next sign-in attempt may be made (after too many failures; column name from
    /// 0001, when it was a lock).
    pub locked_until: Option<String>,
}

fn user(r: &rusqlite::Row<'_>) -> rusqlite::Result<(UserRow, String)> {
    let role: String = r.get(2)?;
    Ok((
        UserRow {
            id: r.get(0)?,
            name: r.get(1)?,
            role: Role::Auditor,
            password_hash: r.get(3)?,
            enabled: r.get(4)?,
            failed_logins: r.get(5)?,
            locked_until: r.get(6)?,
        },
        role,
    ))
}

fn finish((mut u, role): (UserRow, String)) -> Result<UserRow> {
    u.role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
        what: "users.role".into(),
        reason: role,
    })?;
    Ok(u)
}

const COLUMNS: &str = "id, name, role, password_hash, enabled, failed_logins, locked_until";

/// Adds a user.
pub fn add(
    tx: &Tx<'_>,
    name: &str,
    role: Role,
    password_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let added = tx.execute(
        "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        params![name, role.as_str(), password_hash, stamp(now)],
    )?;
    if added == 0 {
        return Err(StoreError::Exists(format!("user {name}")));
    }
    Ok(tx.last_insert_rowid())
}

/// A user by name.
pub fn by_name(conn: &Connection, name: &str) -> Result<Option<UserRow>> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM users WHERE name = ?1"),
        [name],
        user,
    ))?
    .map(finish)
    .transpose()
}

/// Every user.
pub fn list(conn: &Connection) -> Result<Vec<UserRow>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))?;
    let rows = stmt.query_map([], user)?;
    rows.map(|r| finish(r?)).collect()
}

/// Sets a password hash; false if there is no such user.
pub fn set_password(tx: &Tx<'_>, name: &str, hash: &str) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL WHERE name = ?1",
        params![name, hash],
    )? > 0)
}

/// Changes a role; false if there is no such user.
pub fn set_role(tx: &Tx<'_>, name: &str, role: Role) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET role = ?2 WHERE name = ?1",
        params![name, role.as_str()],
    )? > 0)
}

/// Enables or disables; false if there is no such user.
pub fn set_enabled(tx: &Tx<'_>, name: &str, enabled: bool) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET enabled = ?2 WHERE name = ?1",
        params![name, enabled],
    )? > 0)
}

/// How many enabled admins there are.
pub fn enabled_admins(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND enabled",
        [],
        |r| r.get(0),
    )?)
}

/// Records a failed sign-in and when the next attempt may be made (`None`: at once).
pub fn record_failure(tx: &Tx<'_>, id: i64, locked_until: Option<&str>) -> Result<()> {
    tx.execute(
        "UPDATE users SET failed_logins = failed_logins + 1, locked_until = ?2 WHERE id = ?1",
        params![id, locked_until],
    )?;
    Ok(())
}

/// Clears failures after a good sign-in.
pub fn record_success(tx: &Tx<'_>, id: i64) -> Result<()> {
    tx.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
        params![id],
    )?;
    Ok(())
}

/// A session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// Its CSRF token.
    pub csrf_token: String,
    /// Last request.
    pub last_seen: String,
}

/// Stores a new session.
pub fn add_session(
    tx: &Tx<'_>,
    token_sha256: &str,
    user_id: i64,
    csrf_token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![token_sha256, user_id, csrf_token, stamp(now)],
    )?;
    Ok(())
}

/// A session and its user, by token hash.
pub fn session(conn: &Connection, token_sha256: &str) -> Result<Option<SessionRow>> {
    // Cached: every signed-in request looks its session up.
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.name, u.role, u.password_hash, u.enabled, u.failed_logins, u.locked_until,
                s.csrf_token, s.last_seen
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1",
    )?;
    optional(stmt.query_row([token_sha256], |r| {
        Ok((user(r)?, r.get::<_, String>(7)?, r.get::<_, String>(8)?))
    }))?
    .map(|(u, csrf_token, last_seen)| {
        Ok(SessionRow {
            user: finish(u)?,
            csrf_token,
            last_seen,
        })
    })
    .transpose()
}

/// Marks a session used.
pub fn touch_session(
    tx: &Tx<'_>,
    token_sha256: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE sessions SET last_seen = ?2 WHERE token_sha256 = ?1",
        params![token_sha256, stamp(now)],
    )?;
    Ok(())
}

/// Ends a session.
pub fn delete_session(tx: &Tx<'_>, token_sha256: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        [token_sha256],
    )?;
    Ok(())
}

/// Ends every session of a user (disabled, password changed).
pub fn delete_sessions_of(tx: &Tx<'_>, user_id: i64) -> Result<()> {
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    Ok(())
}
