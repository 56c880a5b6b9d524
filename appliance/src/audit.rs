//! The audit chain: every login, import, verdict, release, policy, publisher, user and trust
//! change is a row whose hash covers its content and the previous row's hash, so removing,
//! reordering or editing any row breaks every hash after it.

use std::io::Write;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::{self, AuditRow, GENESIS_HASH, StoreError, Tx};

/// Rows read per page when walking the chain.
const PAGE: i64 = 10_000;

/// One audit event, before it is chained.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Who: a user name, `cli`, `inbox` or `system`.
    pub actor: &'a str,
    /// What: `login`, `import.started`, `verdict`, `release`, `policy.changed`, …
    pub action: &'a str,
    /// What it is about (an import id, a user name, a key id).
    pub subject: &'a str,
    /// Details.
    pub detail: serde_json::Value,
}

/// The hashed content of a row: a fixed-order JSON object, so the hash is reproducible from
/// an export alone.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
    prev_hash: &'a str,
}

fn row_hash(row: &AuditRow) -> String {
    let hashed = Hashed {
        seq: row.seq,
        at: &row.at,
        actor: &row.actor,
        action: &row.action,
        subject: &row.subject,
        detail: &row.detail,
        prev_hash: &row.prev_hash,
    };
    // Serializing strings and integers cannot fail.
    let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// Appends `event` to the chain inside the caller's transaction.
pub fn append(tx: &Tx<'_>, at: DateTime<Utc>, event: &Event<'_>) -> Result<i64, StoreError> {
    let (seq, prev_hash) = store::audit::head(tx)?.unwrap_or((0, GENESIS_HASH.to_owned()));
    let mut row = AuditRow {
        seq: seq + 1,
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor: event.actor.to_owned(),
        action: event.action.to_owned(),
        subject: event.subject.to_owned(),
        detail: event.detail.to_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = row_hash(&row);
    store::audit::insert(tx, &row)?;
    Ok(row.seq)
}

/// Why the chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A row's sequence number is not the one after its predecessor (a row was removed).
    #[error("audit row {found}: expected sequence {expected} (a row is missing)")]
    Gap {
        /// The sequence expected.
        expected: i64,
        /// The one found.
        found: i64,
    },
    /// A row does not name its predecessor's hash.
    #[error("audit row {seq}: previous hash does not match row {}", seq - 1)]
    BrokenLink {
        /// The row.
        seq: i64,
    },
    /// A row's content does not hash to its stored hash (it was edited).
    #[error("audit row {seq}: content does not match its hash")]
    Tampered {
        /// The row.
        seq: i64,
    },
}

/// What a verification of the chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainStatus {
    /// Rows checked.
    pub rows: i64,
    /// The newest row's hash (the chain's head).
    pub head: String,
}

/// Verifies the whole chain, page by page.
pub fn verify(conn: &Connection) -> Result<Result<ChainStatus, ChainError>, StoreError> {
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH.to_owned();
    loop {
        let rows = store::audit::page(conn, expected_seq - 1, PAGE)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != expected_seq {
                return Ok(Err(ChainError::Gap {
                    expected: expected_seq,
                    found: row.seq,
                }));
            }
            if row.prev_hash != prev {
                return Ok(Err(ChainError::BrokenLink { seq: row.seq }));
            }
            if row_hash(&row) != row.hash {
                return Ok(Err(ChainError::Tampered { seq: row.seq }));
            }
            prev = row.hash;
            expected_seq += 1;
        }
    }
    Ok(Ok(ChainStatus {
        rows: expected_seq - 1,
        head: prev,
    }))
}

/// Writes the chain as JSON lines (one row per line, with its hashes).
pub fn export(conn: &Connection, out: &mut dyn Write) -> Result<i64, ExportError> {
    let mut after = 0;
    loop {
        let rows = store::audit::page(conn, after, PAGE)?;
        let Some(last) = rows.last() else {
            return Ok(after);
        };
        after = last.seq;
        for row in &rows {
            serde_json::to_writer(&mut *out, row).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the chain.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn event(subject: &str) -> Event<'_> {
        Event {
            actor: "alice",
            action: "test",
            subject,
            detail: serde_json::json!({"n": subject}),
        }
    }

    fn chain(n: usize) -> Store {
        let mut store = Store::in_memory().unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for i in 0..n {
            store
                .write(|tx| append(tx, at, &event(&i.to_string())))
                .unwrap();
        }
        store
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let store = chain(5);
        let status = verify(store.read()).unwrap().unwrap();
        assert_eq!(status.rows, 5);
        let head = store::audit::head(store.read()).unwrap().unwrap();
        assert_eq!(status.head, head.1);
    }

    #[test]
    fn an_edited_row_is_tampered() {
        let store = chain(4);
        store
            .read()
            .execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2", [])
            .unwrap();
        assert_eq!(
            verify(store.read()).unwrap(),
            Err(ChainError::Tampered { seq: 2 })
        );
    }

    #[test]
    fn a_removed_row_is_a_gap() {
        let store = chain(4);
        store
            .read()
            .execute("DELETE FROM audit WHERE seq = 3", [])
            .unwrap();
        assert_eq!(
            verify(store.read()).unwrap(),
            Err(ChainError::Gap {
                expected: 3,
                found: 4
            })
        );
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_link() {
        let store = chain(3);
        // Edit row 2 and recompute its own hash: row 3 no longer names it.
        let mut row = store::audit::page(store.read(), 1, 1).unwrap().remove(0);
        row.detail = "{}".into();
        row.hash = row_hash(&row);
        store
            .read()
            .execute(
                "UPDATE audit SET detail = ?1, hash = ?2 WHERE seq = 2",
                [&row.detail, &row.hash],
            )
            .unwrap();
        assert_eq!(
            verify(store.read()).unwrap(),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    #[test]
    fn export_writes_one_line_per_row_that_rehashes() {
        let store = chain(3);
        let mut out = Vec::new();
        assert_eq!(export(store.read(), &mut out).unwrap(), 3);
        let lines: Vec<AuditRow> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                AuditRow {
                    seq: v["seq"].as_i64().unwrap(),
                    at: v["at"].as_str().unwrap().into(),
                    actor: v["actor"].as_str().unwrap().into(),
                    action: v["action"].as_str().unwrap().into(),
                    subject: v["subject"].as_str().unwrap().into(),
                    detail: v["detail"].as_str().unwrap().into(),
                    prev_hash: v["prev_hash"].as_str().unwrap().into(),
                    hash: v["hash"].as_str().unwrap().into(),
                }
            })
            .collect();
        assert_eq!(lines.len(), 3);
        for row in &lines {
            assert_eq!(row_hash(row), row.hash);
        }
        assert_eq!(lines[1].prev_hash, lines[0].hash);
    }
}
