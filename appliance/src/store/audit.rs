//! The audit table: rows appended in sequence, each hash covering the previous one; and the
//! log filtered by action, actor, subject and time ([`AuditFilter`], 0007).

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{Result, Tx, optional};

/// The previous hash of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who (a user name, `cli`, `inbox`, `system`).
    pub actor: String,
    /// What kind of action (`login`, `import.started`, `verdict`, …).
    pub action: String,
    /// What it was about.
    pub subject: String,
    /// Details, JSON.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The newest row's sequence number and hash.
pub fn head(conn: &Connection) -> Result<Option<(i64, String)>> {
    // Cached: an import appends a row per artifact, each after reading the head.
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?;
    optional(stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
}

/// Appends a row (the caller computed its hash over the head it read in this transaction).
pub fn insert(tx: &Tx<'_>, row: &AuditRow) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        row.seq,
        row.at,
        row.actor,
        row.action,
        row.subject,
        row.detail,
        row.prev_hash,
        row.hash
    ])?;
    Ok(())
}

/// Rows with `seq` after `after`, oldest first, at most `limit`.
pub fn page(conn: &Connection, after: i64, limit: i64) -> Result<Vec<AuditRow>> {
    filtered_after(conn, &AuditFilter::default(), after, limit)
}

/// The filters of the audit log; each `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuditFilter {
    /// This action, or its dotted family (`import` is also `import.started`, `import.done`…).
    pub action: Option<String>,
    /// Done by this actor.
    pub actor: Option<String>,
    /// About this subject.
    pub subject: Option<String>,
    /// At or after (a date or a stored-form time).
    pub since: Option<String>,
    /// Before.
    pub until: Option<String>,
}

impl AuditFilter {
    /// The `WHERE` clause (empty for none) and its arguments; each condition reads its own
    /// index (`audit_action`, `audit_actor`, `audit_subject`, `audit_at`, 0007).
    fn clause(&self) -> (String, Vec<Value>) {
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        if let Some(action) = &self.action {
            // The family `a.*` is the range [`a.`, `a/`): '/' follows '.' in every collation
            // SQLite uses here (BINARY), so the index serves it.
            clauses.push("(action = ? OR (action >= ? AND action < ?))");
            args.extend([
                Value::Text(action.clone()),
                Value::Text(format!("{action}.")),
                Value::Text(format!("{action}/")),
            ]);
        }
        for (value, clause) in [
            (&self.actor, "actor = ?"),
            (&self.subject, "subject = ?"),
            (&self.since, "at >= ?"),
            (&self.until, "at < ?"),
        ] {
            if let Some(v) = value {
                clauses.push(clause);
                args.push(Value::Text(v.clone()));
            }
        }
        let sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        (sql, args)
    }

    /// [`AuditFilter::clause`] narrowed to the rows after `after`.
    fn clause_after(&self, after: i64) -> (String, Vec<Value>) {
        let (clause, mut args) = self.clause();
        args.push(Value::Integer(after));
        let clause = if clause.is_empty() {
            "WHERE seq > ?".to_owned()
        } else {
            format!("{clause} AND seq > ?")
        };
        (clause, args)
    }
}

/// A row as the `SELECT seq, at, actor, action, subject, detail, prev_hash, hash` of every
/// query here reads it.
fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

/// Rows matching `filter`, newest first, a page of them.
pub fn filtered(
    conn: &Connection,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let (clause, args) = filter.clause();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
         FROM audit {clause} ORDER BY seq DESC {}",
        super::window(limit, offset)
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), audit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows matching `filter` with `seq` after `after`, oldest first, at most `limit` (to walk
/// them all a page at a time).
pub fn filtered_after(
    conn: &Connection,
    filter: &AuditFilter,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let (clause, args) = filter.clause_after(after);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash
         FROM audit {clause} ORDER BY seq {}",
        super::window(limit, 0)
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), audit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The hashes of the rows `seqs` that exist, by sequence number.
pub fn hashes_at(
    conn: &Connection,
    seqs: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    // One cached point lookup each: cheaper than a JSON list for the page's few.
    let mut stmt = conn.prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?;
    let mut hashes = std::collections::HashMap::with_capacity(seqs.len());
    for &seq in seqs {
        if let Some(hash) = optional(stmt.query_row([seq], |r| r.get(0)))? {
            hashes.insert(seq, hash);
        }
    }
    Ok(hashes)
}

/// The totals of the filters shown lately. The log only grows, so a total once counted is
/// brought up to date by counting the rows after the newest it covered: a filter matching
/// 100,000 rows is counted once (about 25 ms), then each view costs a lookup of the rows
/// appended since. A log that shrank (only a tampered one can) is counted afresh.
#[derive(Debug, Default)]
pub struct Totals {
    seen: std::sync::Mutex<std::collections::HashMap<AuditFilter, (i64, i64)>>,
}

impl Totals {
    /// The most filters kept at once (then all are forgotten).
    const KEPT: usize = 256;

    /// How many rows match `filter` now.
    pub fn total(&self, conn: &Connection, filter: &AuditFilter) -> Result<i64> {
        let newest: i64 = conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit")?
            .query_row([], |r| r.get(0))?;
        let kept = {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.get(filter).copied()
        };
        let total = match kept {
            Some((total, upto)) if upto == newest => total,
            Some((total, upto)) if upto < newest => total + count_after(conn, filter, upto)?,
            _ => count_after(conn, filter, 0)?,
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::KEPT {
            seen.clear();
        }
        seen.insert(filter.clone(), (total, newest));
        Ok(total)
    }
}

/// How many rows after `after` match `filter`.
fn count_after(conn: &Connection, filter: &AuditFilter, after: i64) -> Result<i64> {
    let (clause, args) = filter.clause_after(after);
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM audit {clause}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// The actions recorded, as [`actions`] lists them, counted again only when the log grew
/// (a new action comes only with a new row).
#[derive(Debug, Default)]
pub struct Actions {
    seen: std::sync::Mutex<Option<(i64, Vec<String>)>>,
}

impl Actions {
    /// Every action recorded now.
    pub fn all(&self, conn: &Connection) -> Result<Vec<String>> {
        let newest: i64 = conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit")?
            .query_row([], |r| r.get(0))?;
        if let Some((upto, actions)) = &*self.seen.lock().unwrap_or_else(|p| p.into_inner())
            && *upto == newest
        {
            return Ok(actions.clone());
        }
        let actions = actions(conn)?;
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some((newest, actions.clone()));
        Ok(actions)
    }
}

/// Every action recorded, each once, in order (for the filter's suggestions): a skip scan of
/// the action index, one seek per distinct action rather than a walk of every row.
pub fn actions(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE seen(action) AS (
             SELECT min(action) FROM audit
             UNION ALL
             SELECT (SELECT min(action) FROM audit WHERE action > seen.action)
             FROM seen WHERE seen.action IS NOT NULL
         )
         SELECT action FROM seen WHERE action IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Rows newest first, for pages.
pub fn newest(conn: &Connection, offset: i64, limit: i64) -> Result<Vec<AuditRow>> {
    filtered(conn, &AuditFilter::default(), offset, limit)
}

/// How many rows there are.
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?)
}

/// A signed head of the chain as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignedHeadRow {
    /// The row signed (the chain's length then).
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The DSSE envelope (JSON) signed by the appliance key.
    pub envelope: String,
}

/// Stores a signed head.
pub fn insert_head(tx: &Tx<'_>, head: &SignedHeadRow) -> Result<()> {
    tx.execute(
        "INSERT INTO audit_heads (seq, hash, signed_at, envelope) VALUES (?1, ?2, ?3, ?4)",
        params![head.seq, head.hash, head.signed_at, head.envelope],
    )?;
    Ok(())
}

fn head_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SignedHeadRow> {
    Ok(SignedHeadRow {
        seq: r.get(0)?,
        hash: r.get(1)?,
        signed_at: r.get(2)?,
        envelope: r.get(3)?,
    })
}

/// The signed head covering the most rows (the latest signed).
pub fn latest_head(conn: &Connection) -> Result<Option<SignedHeadRow>> {
    optional(
        conn.prepare_cached(
            "SELECT seq, hash, signed_at, envelope FROM audit_heads ORDER BY seq DESC, id DESC LIMIT 1",
        )?
        .query_row([], head_row),
    )
}

/// Every signed head, oldest first.
pub fn heads(conn: &Connection) -> Result<Vec<SignedHeadRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, hash, signed_at, envelope FROM audit_heads ORDER BY id")?;
    let rows = stmt.query_map([], head_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One row's hash, if the row exists.
pub fn hash_at(conn: &Connection, seq: i64) -> Result<Option<String>> {
    optional(
        conn.prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?
            .query_row([seq], |r| r.get(0)),
    )
}
