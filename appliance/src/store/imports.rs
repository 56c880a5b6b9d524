//! Imports and their pipeline steps.

use rusqlite::{Connection, params, params_from_iter, types::Value};
use serde::{Deserialize, Serialize};

use super::{Result, StoreError, Tx, optional, stamp};
use crate::report::{ImportStep, UnknownName};

/// Where an archive came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportSource {
    /// `POST /api/v1/imports` or the upload page.
    Upload,
    /// A file dropped in `inbox/`.
    Inbox,
    /// `airlock-appliance import`.
    Cli,
}

impl ImportSource {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Inbox => "inbox",
            Self::Cli => "cli",
        }
    }
}

/// An import's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportState {
    /// Being read and verified.
    Running,
    /// Verdicts committed; artifacts being moved to `released/` (passed, warned) and
    /// `quarantine/` (failed).
    Releasing,
    /// Finished: every artifact has a verdict.
    Done,
    /// The archive as a whole was refused (publisher, trust, witness, format).
    Rejected,
    /// The appliance stopped during the import; its partial files were removed.
    Interrupted,
}

impl ImportState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Releasing => "releasing",
            Self::Done => "done",
            Self::Rejected => "rejected",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "running" => Self::Running,
            "releasing" => Self::Releasing,
            "done" => Self::Done,
            "rejected" => Self::Rejected,
            "interrupted" => Self::Interrupted,
            other => {
                return Err(StoreError::Corrupt {
                    what: "imports.state".into(),
                    reason: format!("unknown state {other:?}"),
                });
            }
        })
    }
}

/// An import as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportRow {
    /// Its id (also its folder name under `quarantine/` and `released/`).
    pub id: i64,
    /// Where it came from.
    pub source: String,
    /// The archive's file name as received.
    pub file_name: String,
    /// Where the original archive is kept.
    pub archive_path: Option<String>,
    /// Its size in bytes.
    pub archive_size: u64,
    /// Lifecycle state.
    pub state: ImportState,
    /// Why it was rejected or interrupted.
    pub reason: Option<String>,
    /// The manifest's archive id.
    pub archive_id: Option<String>,
    /// The manifest's publisher.
    pub publisher: Option<String>,
    /// The manifest's sequence number.
    pub sequence: Option<u64>,
    /// Key ids whose signatures verified, comma separated.
    pub key_ids: Option<String>,
    /// The manifest's `created_at`.
    pub created_at: Option<String>,
    /// The manifest's intended site.
    pub site: Option<String>,
    /// The manifest's notes.
    pub notes: Option<String>,
    /// Artifacts that passed.
    pub passed: i64,
    /// Artifacts released with warnings.
    pub warned: i64,
    /// Artifacts that failed.
    pub failed: i64,
    /// When the import started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// Who started it.
    pub started_by: String,
    /// The hex SHA-256 of the archive as received (0005; none before it was kept).
    pub archive_sha256: Option<String>,
    /// How many bytes of it are kept.
    pub kept_bytes: Option<u64>,
    /// The hex SHA-256 of the kept bytes.
    pub kept_sha256: Option<String>,
}

const COLUMNS: &str =
    "id, source, file_name, archive_path, archive_size, state, reason, archive_id,
     publisher, sequence, key_ids, created_at, site, notes, passed, warned, failed, started_at,
     finished_at, started_by, archive_sha256, kept_bytes, kept_sha256";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ImportRow, String)> {
    let state: String = r.get(5)?;
    Ok((
        ImportRow {
            id: r.get(0)?,
            source: r.get(1)?,
            file_name: r.get(2)?,
            archive_path: r.get(3)?,
            archive_size: r.get::<_, i64>(4)? as u64,
            state: ImportState::Running,
            reason: r.get(6)?,
            archive_id: r.get(7)?,
            publisher: r.get(8)?,
            sequence: r.get::<_, Option<i64>>(9)?.map(|s| s as u64),
            key_ids: r.get(10)?,
            created_at: r.get(11)?,
            site: r.get(12)?,
            notes: r.get(13)?,
            passed: r.get(14)?,
            warned: r.get(15)?,
            failed: r.get(16)?,
            started_at: r.get(17)?,
            finished_at: r.get(18)?,
            started_by: r.get(19)?,
            archive_sha256: r.get(20)?,
            kept_bytes: r.get::<_, Option<i64>>(21)?.map(|n| n as u64),
            kept_sha256: r.get(22)?,
        },
        state,
    ))
}

fn finish_row((mut row, state): (ImportRow, String)) -> Result<ImportRow> {
    row.state = ImportState::parse(&state)?;
    Ok(row)
}

/// Starts an import.
pub fn start(
    tx: &Tx<'_>,
    source: ImportSource,
    file_name: &str,
    archive_size: u64,
    started_by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO imports (source, file_name, archive_size, state, started_at, started_by)
         VALUES (?1, ?2, ?3, 'running', ?4, ?5)",
        params![
            source.as_str(),
            file_name,
            archive_size as i64,
            stamp(now),
            started_by
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Where the original archive is kept.
pub fn set_archive_path(tx: &Tx<'_>, id: i64, path: &str) -> Result<()> {
    tx.execute(
        "UPDATE imports SET archive_path = ?2 WHERE id = ?1",
        params![id, path],
    )?;
    Ok(())
}

/// What is kept of an import's archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptArchive {
    /// The import.
    pub id: i64,
    /// Where it is kept, relative to the data folder (the first part of a split archive).
    pub path: String,
    /// The hex SHA-256 of the archive as received (all parts in order).
    pub archive_sha256: String,
    /// How many bytes are kept (the whole archive, or its first MiB).
    pub kept_bytes: u64,
    /// The hex SHA-256 of the kept bytes.
    pub kept_sha256: String,
}

/// Records what is kept of the archive and where.
pub fn set_kept_archive(tx: &Tx<'_>, kept: &KeptArchive) -> Result<()> {
    tx.execute(
        "UPDATE imports SET archive_path = ?2, archive_sha256 = ?3, kept_bytes = ?4,
         kept_sha256 = ?5 WHERE id = ?1",
        params![
            kept.id,
            kept.path,
            kept.archive_sha256,
            kept.kept_bytes as i64,
            kept.kept_sha256
        ],
    )?;
    Ok(())
}

/// Every kept archive whose digest was recorded, oldest first.
pub fn kept_archives(conn: &Connection) -> Result<Vec<KeptArchive>> {
    let mut stmt = conn.prepare(
        "SELECT id, archive_path, archive_sha256, kept_bytes, kept_sha256 FROM imports
         WHERE archive_path IS NOT NULL AND kept_sha256 IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(KeptArchive {
            id: r.get(0)?,
            path: r.get(1)?,
            archive_sha256: r.get(2)?,
            kept_bytes: r.get::<_, i64>(3)? as u64,
            kept_sha256: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The bytes kept of rejected archives kept whole.
pub fn rejected_kept_whole_bytes(conn: &Connection) -> Result<u64> {
    let total: i64 = conn.query_row(
        "SELECT coalesce(sum(kept_bytes), 0) FROM imports
         WHERE state = 'rejected' AND kept_sha256 = archive_sha256",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// What the verified manifest says.
#[derive(Debug)]
pub struct ManifestFacts<'a> {
    /// Archive id.
    pub archive_id: &'a str,
    /// Publisher name.
    pub publisher: &'a str,
    /// Sequence.
    pub sequence: u64,
    /// Verified key ids.
    pub key_ids: &'a str,
    /// `created_at`.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Intended site.
    pub site: Option<&'a str>,
    /// Notes.
    pub notes: Option<&'a str>,
    /// What the manifest lists, in brief.
    pub summary: &'a ManifestSummary,
}

/// What an import's manifest lists, in brief: kept with the import so its page need not read
/// the signed manifest (tens of megabytes for many artifacts), which stays in the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSummary {
    /// The manifest's format version.
    pub version: u32,
    /// Artifacts listed.
    pub artifacts: u64,
    /// Blobs listed.
    pub blobs: u64,
    /// Their total size.
    pub blob_bytes: u64,
    /// The TUF repositories carried, by name.
    pub trust: Vec<String>,
    /// The log checkpoints carried.
    pub logs: Vec<LogHeadSummary>,
}

/// One carried log checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHeadSummary {
    /// The log's origin.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
}

/// Records the verified manifest's facts.
pub fn set_manifest(tx: &Tx<'_>, id: i64, m: &ManifestFacts<'_>) -> Result<()> {
    tx.execute(
        "UPDATE imports SET archive_id = ?2, publisher = ?3, sequence = ?4, key_ids = ?5,
         created_at = ?6, site = ?7, notes = ?8, summary = ?9 WHERE id = ?1",
        params![
            id,
            m.archive_id,
            m.publisher,
            m.sequence as i64,
            m.key_ids,
            stamp(m.created_at),
            m.site,
            m.notes,
            serde_json::to_string(m.summary).map_err(|e| StoreError::Corrupt {
                what: "manifest summary".into(),
                reason: e.to_string(),
            })?
        ],
    )?;
    Ok(())
}

/// Moves an import to a new state (with a reason for rejected or interrupted ones).
pub fn set_state(
    tx: &Tx<'_>,
    id: i64,
    state: ImportState,
    reason: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let finished = matches!(
        state,
        ImportState::Done | ImportState::Rejected | ImportState::Interrupted
    )
    .then(|| stamp(now));
    tx.execute(
        "UPDATE imports SET state = ?2, reason = coalesce(?3, reason),
         finished_at = coalesce(?4, finished_at) WHERE id = ?1",
        params![id, state.as_str(), reason, finished],
    )?;
    Ok(())
}

/// Stores the verdict counts.
pub fn set_counts(tx: &Tx<'_>, id: i64, passed: i64, warned: i64, failed: i64) -> Result<()> {
    tx.execute(
        "UPDATE imports SET passed = ?2, warned = ?3, failed = ?4 WHERE id = ?1",
        params![id, passed, warned, failed],
    )?;
    Ok(())
}

/// One import.
pub fn get(conn: &Connection, id: i64) -> Result<Option<ImportRow>> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM imports WHERE id = ?1"),
        [id],
        row,
    ))?
    .map(finish_row)
    .transpose()
}

/// The summary of an import's manifest (none before its manifest was verified).
pub fn summary(conn: &Connection, id: i64) -> Result<Option<ManifestSummary>> {
    let json = optional(
        conn.query_row("SELECT summary FROM imports WHERE id = ?1", [id], |r| {
            r.get::<_, Option<String>>(0)
        }),
    )?
    .flatten();
    json.map(|j| {
        serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
            what: format!("import {id} manifest summary"),
            reason: e.to_string(),
        })
    })
    .transpose()
}

/// Imports in a state (for recovery).
pub fn in_state(conn: &Connection, state: ImportState) -> Result<Vec<ImportRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM imports WHERE state = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([state.as_str()], row)?;
    rows.map(|r| finish_row(r?)).collect()
}

/// Filters for the imports list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportFilter {
    /// Only imports with at least one artifact of this verdict (`passed`, `warned`, `failed`),
    /// or in this state (`rejected`, `interrupted`, `running`).
    pub verdict: Option<String>,
    /// Only this publisher.
    pub publisher: Option<String>,
    /// Started on or after (RFC 3339 or a date).
    pub since: Option<String>,
    /// Started before.
    pub until: Option<String>,
}

/// A page of imports, newest first, and the total matching.
pub fn list(
    conn: &Connection,
    filter: &ImportFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ImportRow>, i64)> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(v) = &filter.verdict {
        match v.as_str() {
            "passed" | "warned" | "failed" => clauses.push(format!("{v} > 0")),
            state => {
                clauses.push("state = ?".to_owned());
                args.push(Value::Text(state.to_owned()));
            }
        }
    }
    if let Some(p) = &filter.publisher {
        clauses.push("publisher = ?".to_owned());
        args.push(Value::Text(p.clone()));
    }
    if let Some(s) = &filter.since {
        clauses.push("started_at >= ?".to_owned());
        args.push(Value::Text(s.clone()));
    }
    if let Some(u) = &filter.until {
        clauses.push("started_at < ?".to_owned());
        args.push(Value::Text(u.clone()));
    }
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM imports {filter_sql}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM imports {filter_sql} ORDER BY id DESC {}",
        super::window(limit, offset)
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), row)?;
    let rows = rows.map(|r| finish_row(r?)).collect::<Result<_>>()?;
    Ok((rows, total))
}

/// A step to record.
#[derive(Debug, Clone)]
pub struct NewStep {
    /// Which step.
    pub step: ImportStep,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it found, one line.
    pub detail: String,
    /// How long it took.
    pub duration: std::time::Duration,
}

/// A recorded step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepRow {
    /// Which step.
    pub step: ImportStep,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it found.
    pub detail: String,
    /// Microseconds.
    pub duration_us: i64,
}

/// Records a step (appended after those already recorded).
pub fn add_step(tx: &Tx<'_>, id: i64, step: &NewStep) -> Result<()> {
    tx.execute(
        "INSERT INTO import_steps (import_id, position, step, ok, detail, duration_us)
         VALUES (?1, (SELECT count(*) FROM import_steps WHERE import_id = ?1), ?2, ?3, ?4, ?5)",
        params![
            id,
            step.step.as_str(),
            step.ok,
            step.detail,
            i64::try_from(step.duration.as_micros()).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

/// An import's steps in order.
pub fn steps(conn: &Connection, id: i64) -> Result<Vec<StepRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT step, ok, detail, duration_us FROM import_steps WHERE import_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    rows.map(|r| {
        let (step, ok, detail, duration_us) = r?;
        let step = step.parse().map_err(|e: UnknownName| StoreError::Corrupt {
            what: format!("import_steps.step of import {id}"),
            reason: e.to_string(),
        })?;
        Ok(StepRow {
            step,
            ok,
            detail,
            duration_us,
        })
    })
    .collect()
}

/// How many imports ended (or stand) each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    /// Done, every artifact passed.
    pub passed: i64,
    /// Done, some released with warnings, none failed.
    pub warned: i64,
    /// Done, at least one artifact failed (kept in quarantine).
    pub failed: i64,
    /// Refused as a whole.
    pub rejected: i64,
    /// Stopped by the appliance; nothing of them kept.
    pub interrupted: i64,
    /// Still running or releasing.
    pub in_progress: i64,
}

/// How many imports ended each way (a finished import by its worst verdict).
pub fn outcome_counts(conn: &Connection) -> Result<OutcomeCounts> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(state = 'done' AND failed = 0 AND warned = 0), 0),
                coalesce(sum(state = 'done' AND failed = 0 AND warned > 0), 0),
                coalesce(sum(state = 'done' AND failed > 0), 0),
                coalesce(sum(state = 'rejected'), 0),
                coalesce(sum(state = 'interrupted'), 0),
                coalesce(sum(state IN ('running', 'releasing')), 0)
         FROM imports",
        [],
        |r| {
            Ok(OutcomeCounts {
                passed: r.get(0)?,
                warned: r.get(1)?,
                failed: r.get(2)?,
                rejected: r.get(3)?,
                interrupted: r.get(4)?,
                in_progress: r.get(5)?,
            })
        },
    )?)
}

/// One UTC day's imports and the verdicts of their artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// `YYYY-MM-DD` (UTC), the day the imports started.
    pub day: String,
    /// Imports started that day, whatever became of them.
    pub imports: i64,
    /// Their artifacts that passed.
    pub passed: i64,
    /// … that passed with warnings.
    pub warned: i64,
    /// … that failed.
    pub failed: i64,
}

/// The days from `since` (a `YYYY-MM-DD` UTC day) on that saw an import, in order: one walk
/// of the `imports_daily` index over those days' imports (the counts are kept on each import;
/// 10,000 imports take about 6 ms, so [`Daily`] keeps the answer).
pub fn daily(conn: &Connection, since: &str) -> Result<Vec<DayCounts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT substr(started_at, 1, 10) AS day, count(*), sum(passed), sum(warned), sum(failed)
         FROM imports INDEXED BY imports_daily
         WHERE started_at >= ?1 GROUP BY day ORDER BY day",
    )?;
    let rows = stmt.query_map([since], |r| {
        Ok(DayCounts {
            day: r.get(0)?,
            imports: r.get(1)?,
            passed: r.get(2)?,
            warned: r.get(3)?,
            failed: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The last [`daily`] answer, kept until the registry generation moves (every change of an
/// import's state or of an artifact bumps it, 0006) or the first day asked for changes.
#[derive(Debug, Default)]
pub struct Daily {
    kept: std::sync::Mutex<Option<(i64, String, Vec<DayCounts>)>>,
}

impl Daily {
    /// [`daily`] from `since`, counted unless known for the current generation.
    pub fn since(&self, conn: &Connection, since: &str) -> Result<Vec<DayCounts>> {
        let generation = super::registry::generation(conn)?;
        {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((g, s, days)) = kept.as_ref()
                && *g == generation
                && s == since
            {
                return Ok(days.clone());
            }
        }
        let days = daily(conn, since)?;
        *self.kept.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((generation, since.to_owned(), days.clone()));
        Ok(days)
    }
}

/// The highest import id (for counting in benchmarks and status).
pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM imports", [], |r| r.get(0))?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::store::{ImportSource, Store};

    #[test]
    fn days_count_imports_and_verdicts_and_are_kept_until_the_generation_moves() {
        let mut store = Store::in_memory().unwrap();
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
        let ids: Vec<i64> = [(1, 9), (1, 23), (3, 0), (4, 12)]
            .iter()
            .map(|(d, h)| {
                store
                    .write(|tx| start(tx, ImportSource::Cli, "a", 1, "olga", at(*d, *h)))
                    .unwrap()
            })
            .collect();
        store
            .write(|tx| {
                set_counts(tx, ids[0], 2, 1, 0)?;
                set_counts(tx, ids[1], 1, 0, 3)?;
                set_counts(tx, ids[2], 4, 0, 0)?;
                set_state(tx, ids[0], ImportState::Done, None, at(1, 10))
            })
            .unwrap();
        let day = |day: &str, imports, passed, warned, failed| DayCounts {
            day: day.into(),
            imports,
            passed,
            warned,
            failed,
        };
        let kept = Daily::default();
        assert_eq!(
            kept.since(store.read(), "2026-03-01").unwrap(),
            [
                day("2026-03-01", 2, 3, 1, 3),
                day("2026-03-03", 1, 4, 0, 0),
                day("2026-03-04", 1, 0, 0, 0)
            ]
        );
        assert_eq!(kept.since(store.read(), "2026-03-03").unwrap().len(), 2);
        // Counts written without a state change are not seen until the generation moves.
        store.write(|tx| set_counts(tx, ids[3], 9, 0, 0)).unwrap();
        assert_eq!(kept.since(store.read(), "2026-03-03").unwrap()[1].passed, 0);
        store
            .write(|tx| set_state(tx, ids[3], ImportState::Done, None, at(4, 13)))
            .unwrap();
        assert_eq!(kept.since(store.read(), "2026-03-03").unwrap()[1].passed, 9);
    }
}
