//! Settings: small named values (policy TOML, the publisher threshold, clock tolerances).

use rusqlite::{Connection, params};

use super::{Result, optional};

/// A setting's value.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    optional(
        conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        }),
    )
}

/// Sets a setting.
pub fn set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
