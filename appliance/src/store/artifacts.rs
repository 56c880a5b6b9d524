//! Artifacts of an import, each with its verdict, report and signed VSA; who signed each
//! (`artifact_signers`, 0007); and the list of every artifact across imports, filtered,
//! sorted and paginated ([`list`]).

use airlock_bundler::archive::ArtifactKind;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{Result, StoreError, Tx, optional};
use crate::report::{self, ArtifactReport, SignerIdentity, Verdict};

/// An artifact to record.
#[derive(Debug, Clone)]
pub struct NewArtifact<'a> {
    /// Position in the manifest.
    pub position: usize,
    /// Name.
    pub name: &'a str,
    /// What it is.
    pub kind: ArtifactKind,
    /// Hex digest.
    pub digest: &'a str,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: &'a str,
    /// What the site did with it.
    pub verdict: Verdict,
    /// JSON array of reasons.
    pub reasons: &'a str,
    /// The policy rule that decided.
    pub rule: &'a str,
    /// The report JSON (every check and what it saw).
    pub report: &'a str,
    /// The DSSE-signed VSA.
    pub vsa: &'a [u8],
    /// Where its files are (relative to the data folder).
    pub location: &'a str,
    /// Who verifiably signed it ([`ArtifactReport::signer_identities`] of its report).
    pub signers: &'a [SignerIdentity],
    /// The components its SBOMs list ([`report::sbom_components`] of its report).
    pub components: &'a [crate::policy::SbomComponent],
}

/// An artifact as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ArtifactRow {
    /// Its id.
    pub id: i64,
    /// The import.
    pub import_id: i64,
    /// Position in the manifest.
    pub position: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ArtifactKind,
    /// Hex digest.
    pub digest: String,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// Verdict.
    pub verdict: Verdict,
    /// JSON array of reasons.
    pub reasons: String,
    /// Rule that decided.
    pub rule: String,
    /// Where its files are.
    pub location: Option<String>,
}

const COLUMNS: &str = "id, import_id, position, name, kind, digest, size, media_type, verdict, reasons, rule, location";

/// A row as SQLite gives it: kind and verdict still text.
struct RawRow {
    id: i64,
    import_id: i64,
    position: i64,
    name: String,
    kind: String,
    digest: String,
    size: u64,
    media_type: String,
    verdict: String,
    reasons: String,
    rule: String,
    location: Option<String>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        import_id: r.get(1)?,
        position: r.get(2)?,
        name: r.get(3)?,
        kind: r.get(4)?,
        digest: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        media_type: r.get(7)?,
        verdict: r.get(8)?,
        reasons: r.get(9)?,
        rule: r.get(10)?,
        location: r.get(11)?,
    })
}

/// The row with its kind and verdict read: a name this appliance does not write is an error.
fn finish_row(raw: RawRow) -> Result<ArtifactRow> {
    let corrupt = |column: &str, e: report::UnknownName| StoreError::Corrupt {
        what: format!("artifacts.{column} of artifact {}", raw.id),
        reason: e.to_string(),
    };
    Ok(ArtifactRow {
        kind: report::parse_kind(&raw.kind).map_err(|e| corrupt("kind", e))?,
        verdict: raw.verdict.parse().map_err(|e| corrupt("verdict", e))?,
        id: raw.id,
        import_id: raw.import_id,
        position: raw.position,
        name: raw.name,
        digest: raw.digest,
        size: raw.size,
        media_type: raw.media_type,
        reasons: raw.reasons,
        rule: raw.rule,
        location: raw.location,
    })
}

/// Records an artifact.
pub fn insert(tx: &Tx<'_>, import_id: i64, a: &NewArtifact<'_>) -> Result<i64> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO artifacts (import_id, position, name, kind, digest, size, media_type,
         verdict, reasons, rule, report, vsa, location)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    stmt.execute(params![
        import_id,
        a.position as i64,
        a.name,
        report::kind_str(a.kind),
        a.digest,
        a.size as i64,
        a.media_type,
        a.verdict.as_str(),
        a.reasons,
        a.rule,
        a.report,
        a.vsa,
        a.location
    ])?;
    let id = tx.last_insert_rowid();
    insert_signers(tx, id, a.signers)?;
    super::components::insert(tx, id, a.components)?;
    Ok(id)
}

/// Records who signed artifact `id`, in order.
fn insert_signers(tx: &Tx<'_>, id: i64, signers: &[SignerIdentity]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO artifact_signers (artifact_id, position, kind, identity, issuer)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (position, signer) in signers.iter().enumerate() {
        stmt.execute(params![
            id,
            position as i64,
            signer.kind_str(),
            signer.identity(),
            signer.issuer()
        ])?;
    }
    Ok(())
}

/// Who signed each artifact stored before 0007, from its stored report read typed: run by
/// the migration's transaction, right after 0007's tables exist. A report that does not read
/// is an error naming the artifact (its identities cannot be known, and leaving them out
/// would hide it from a filter by signer).
pub(super) fn backfill_signers(tx: &Tx<'_>) -> Result<()> {
    let mut stmt = tx.prepare("SELECT id, report FROM artifacts ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let json: String = row.get(1)?;
        let report: ArtifactReport =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                what: format!("artifacts.report of artifact {id}"),
                reason: e.to_string(),
            })?;
        insert_signers(tx, id, &report.signer_identities())?;
    }
    Ok(())
}

/// An import's artifacts in manifest order.
pub fn of_import(conn: &Connection, import_id: i64) -> Result<Vec<ArtifactRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM artifacts WHERE import_id = ?1 ORDER BY position"
    ))?;
    let rows = stmt.query_map([import_id], row)?;
    rows.map(|r| finish_row(r?)).collect()
}

/// One artifact.
pub fn get(conn: &Connection, id: i64) -> Result<Option<ArtifactRow>> {
    optional(conn.query_row(
        &format!("SELECT {COLUMNS} FROM artifacts WHERE id = ?1"),
        [id],
        row,
    ))?
    .map(finish_row)
    .transpose()
}

/// The ids of the artifacts at `places` (import, position) that exist.
pub fn ids_at(
    conn: &Connection,
    places: &[(i64, i64)],
) -> Result<std::collections::HashMap<(i64, i64), i64>> {
    // One range of the unique (import, position) index per import named (a page's fifty
    // places are mostly a few imports' runs), spanning the positions asked for there.
    let mut spans: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for &(import, position) in places {
        let span = spans.entry(import).or_insert((position, position));
        *span = (span.0.min(position), span.1.max(position));
    }
    let wanted: std::collections::HashSet<(i64, i64)> = places.iter().copied().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT position, id FROM artifacts WHERE import_id = ?1 AND position BETWEEN ?2 AND ?3",
    )?;
    let mut ids = std::collections::HashMap::with_capacity(places.len());
    for (import, (first, last)) in spans {
        let rows = stmt.query_map([import, first, last], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (position, id) = row?;
            if wanted.contains(&(import, position)) {
                ids.insert((import, position), id);
            }
        }
    }
    Ok(ids)
}

/// An artifact's report JSON.
pub fn report(conn: &Connection, id: i64) -> Result<Option<String>> {
    optional(
        conn.query_row("SELECT report FROM artifacts WHERE id = ?1", [id], |r| {
            r.get(0)
        }),
    )
}

/// An artifact's signed VSA.
pub fn vsa(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    optional(
        conn.query_row("SELECT vsa FROM artifacts WHERE id = ?1", [id], |r| {
            r.get(0)
        }),
    )
}

/// Verdict counts over every artifact: (passed, warned, failed).
pub fn verdict_counts(conn: &Connection) -> Result<(i64, i64, i64)> {
    Ok(conn.query_row(
        "SELECT coalesce(sum(verdict = 'passed'), 0), coalesce(sum(verdict = 'warned'), 0),
                coalesce(sum(verdict = 'failed'), 0) FROM artifacts",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Removes an import's artifacts (when an interrupted import is cleaned up).
pub fn delete_of_import(tx: &Tx<'_>, import_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM artifacts WHERE import_id = ?1",
        params![import_id],
    )?;
    Ok(())
}

/// The filters of the artifacts list; each `None` means any. Text is matched as given (the
/// list-query parser trims it and checks the digest and verdict).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ArtifactFilter {
    /// Only this verdict.
    pub verdict: Option<Verdict>,
    /// Names containing this (ASCII letters in any case).
    pub name: Option<String>,
    /// Digests starting with these lowercase hex digits.
    pub digest: Option<String>,
    /// Signed by an identity (or key id) containing this (ASCII letters in any case).
    pub signer: Option<String>,
    /// Imported from this publisher.
    pub publisher: Option<String>,
    /// Imported on or after (a date or a stored-form time, as `ImportFilter`).
    pub since: Option<String>,
    /// Imported before.
    pub until: Option<String>,
    /// Decided by this policy rule (`default`, `override:<name>`).
    pub rule: Option<String>,
}

/// The order of the artifacts list; ties are newest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArtifactSort {
    /// The most recently imported first.
    #[default]
    Newest,
    /// The earliest imported first.
    Oldest,
    /// By name, A to Z (byte order).
    Name,
    /// The largest first.
    Size,
    /// The worst verdict first: failed, warned, passed.
    Verdict,
}

impl ArtifactSort {
    /// Every order, the default first.
    pub const ALL: [Self; 5] = [
        Self::Newest,
        Self::Oldest,
        Self::Name,
        Self::Size,
        Self::Verdict,
    ];

    /// Their names, in the same order.
    pub const ALL_NAMES: [&'static str; 5] = ["newest", "oldest", "name", "size", "verdict"];

    /// Its name in a query (`sort=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => Self::ALL_NAMES[0],
            Self::Oldest => Self::ALL_NAMES[1],
            Self::Name => Self::ALL_NAMES[2],
            Self::Size => Self::ALL_NAMES[3],
            Self::Verdict => Self::ALL_NAMES[4],
        }
    }

    /// The index read in this order (`None`: id order), named in `INDEXED BY`: without
    /// statistics SQLite prefers walking the table in id order over sorting, and a walk of
    /// the table reads every row's report.
    fn index(self) -> Option<&'static str> {
        match self {
            Self::Newest | Self::Oldest => None,
            Self::Name => Some("artifacts_name"),
            Self::Size => Some("artifacts_size"),
            Self::Verdict => Some("artifacts_verdict"),
        }
    }

    /// The `ORDER BY` it is (each served by an index: `artifacts_newest`, `artifacts_name`,
    /// `artifacts_size`; the verdict's order is sorted from `artifacts_verdict`).
    fn order_by(self) -> &'static str {
        match self {
            Self::Newest => "id DESC",
            Self::Oldest => "id",
            Self::Name => "name, id DESC",
            Self::Size => "size DESC, id DESC",
            Self::Verdict => {
                "CASE verdict WHEN 'failed' THEN 0 WHEN 'warned' THEN 1 ELSE 2 END, id DESC"
            }
        }
    }
}

/// One artifact in the list: its row's facts, its import's publisher and time, and who
/// signed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArtifactListRow {
    /// Its id.
    pub id: i64,
    /// The import.
    pub import_id: i64,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ArtifactKind,
    /// Hex SHA-256.
    pub digest: String,
    /// Size.
    pub size: u64,
    /// Verdict.
    pub verdict: Verdict,
    /// Rule that decided.
    pub rule: String,
    /// The import's publisher (none if the import recorded none).
    pub publisher: Option<String>,
    /// When the import started (stored form, UTC).
    pub imported_at: String,
    /// Who verifiably signed it, in bundle order.
    pub signers: Vec<SignerIdentity>,
}

/// A filter's condition in two forms: as a `WHERE` clause on `artifacts` when the column is
/// indexed (the verdict, the digest, the rule: SQLite walks that index in id order), and as a
/// set of ids read from one narrow index alone (every filter), which are intersected.
struct Condition {
    direct: Option<&'static str>,
    ids: String,
    args: Vec<Value>,
}

/// `%text%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in `text` matched literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn conditions(filter: &ArtifactFilter) -> Vec<Condition> {
    let mut out = Vec::new();
    let text = |s: &str| Value::Text(s.to_owned());
    if let Some(v) = filter.verdict {
        out.push(Condition {
            direct: Some("verdict = ?"),
            ids: "SELECT id FROM artifacts WHERE verdict = ?".into(),
            args: vec![text(v.as_str())],
        });
    }
    if let Some(rule) = &filter.rule {
        out.push(Condition {
            direct: Some("rule = ?"),
            ids: "SELECT id FROM artifacts WHERE rule = ?".into(),
            args: vec![text(rule)],
        });
    }
    if let Some(prefix) = &filter.digest {
        // Lowercase hex sorts below 'g': every digest with the prefix is in [p, p || 'g').
        out.push(Condition {
            direct: Some("digest >= ? AND digest < ?"),
            ids: "SELECT id FROM artifacts WHERE digest >= ? AND digest < ?".into(),
            args: vec![text(prefix), text(&format!("{prefix}g"))],
        });
    }
    if let Some(name) = &filter.name {
        out.push(Condition {
            direct: None,
            ids: "SELECT id FROM artifacts WHERE name LIKE ? ESCAPE '\\'".into(),
            args: vec![text(&contains_pattern(name))],
        });
    }
    if let Some(signer) = &filter.signer {
        out.push(Condition {
            direct: None,
            ids: "SELECT artifact_id AS id FROM artifact_signers WHERE identity LIKE ? ESCAPE '\\'"
                .into(),
            args: vec![text(&contains_pattern(signer))],
        });
    }
    // The import's columns, whichever are given, in one subquery on `imports`.
    let mut of_import = Vec::new();
    let mut import_args = Vec::new();
    for (value, clause) in [
        (&filter.publisher, "publisher = ?"),
        (&filter.since, "started_at >= ?"),
        (&filter.until, "started_at < ?"),
    ] {
        if let Some(v) = value {
            of_import.push(clause);
            import_args.push(text(v));
        }
    }
    if !of_import.is_empty() {
        out.push(Condition {
            direct: None,
            ids: format!(
                "SELECT id FROM artifacts WHERE import_id IN (SELECT id FROM imports WHERE {})",
                of_import.join(" AND ")
            ),
            args: import_args,
        });
    }
    out
}

/// The artifacts matching `filter`: the size of their id set (each filter's set from one
/// narrow index, intersected), or of the whole table's smallest index.
pub fn count(conn: &Connection, filter: &ArtifactFilter) -> Result<i64> {
    let conditions = conditions(filter);
    if conditions.is_empty() {
        return Ok(conn
            .prepare_cached("SELECT count(*) FROM artifacts")?
            .query_row([], |r| r.get(0))?);
    }
    let args: Vec<Value> = conditions.iter().flat_map(|c| c.args.clone()).collect();
    let matched = conditions
        .iter()
        .map(|c| c.ids.as_str())
        .collect::<Vec<_>>()
        .join(" INTERSECT ");
    Ok(conn
        .prepare_cached(&format!("SELECT count(*) FROM ({matched})"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
}

/// A page of the artifacts list in `sort` order and the total matching `filter` (see
/// [`page`] and [`count`]).
pub fn list(
    conn: &Connection,
    filter: &ArtifactFilter,
    sort: ArtifactSort,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ArtifactListRow>, i64)> {
    Ok((
        page(conn, filter, sort, offset, limit)?,
        count(conn, filter)?,
    ))
}

/// A page of the artifacts list in `sort` order.
///
/// Two steps, so that nothing scans the artifacts table itself (each row holds its report
/// and VSA): the page's ids from the narrow indexes (the filters' id sets intersected, or the
/// indexed conditions alone when only those are given), then those rows with their imports
/// and signers.
pub fn page(
    conn: &Connection,
    filter: &ArtifactFilter,
    sort: ArtifactSort,
    offset: i64,
    limit: i64,
) -> Result<Vec<ArtifactListRow>> {
    let conditions = conditions(filter);
    let order = sort.order_by();
    let args: Vec<Value> = conditions.iter().flat_map(|c| c.args.clone()).collect();
    let matched = conditions
        .iter()
        .map(|c| c.ids.as_str())
        .collect::<Vec<_>>()
        .join(" INTERSECT ");
    let direct: Option<Vec<&str>> = conditions.iter().map(|c| c.direct).collect();
    let mut page_sql = match (sort.index(), direct) {
        // In id order: the narrow id index alone, or the indexed conditions' own index (in
        // id order within a value), or the intersected id sets themselves.
        (None, _) if conditions.is_empty() => {
            format!("SELECT id FROM artifacts INDEXED BY artifacts_newest ORDER BY {order}")
        }
        (None, Some(clauses)) => format!(
            "SELECT id FROM artifacts WHERE {} ORDER BY {order}",
            clauses.join(" AND ")
        ),
        (None, None) => format!("SELECT id FROM ({matched}) ORDER BY {order}"),
        // In another order: that order's index, whole (SQLite would otherwise walk the
        // table to avoid a sort), keeping the ids in the sets.
        (Some(index), _) if conditions.is_empty() => {
            format!("SELECT id FROM artifacts INDEXED BY {index} ORDER BY {order}")
        }
        (Some(index), _) => format!(
            "SELECT id FROM artifacts INDEXED BY {index} WHERE id IN ({matched}) ORDER BY {order}"
        ),
    };
    page_sql.push(' ');
    page_sql.push_str(&super::window(limit, offset));
    let ids: Vec<i64> = conn
        .prepare_cached(&page_sql)?
        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids_json = serde_json::to_string(&ids).expect("invariant: integers serialize");

    let mut rows = std::collections::HashMap::with_capacity(ids.len());
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.import_id, a.name, a.kind, a.digest, a.size, a.verdict, a.rule,
                i.publisher, i.started_at
         FROM artifacts a JOIN imports i ON i.id = a.import_id
         WHERE a.id IN (SELECT value FROM json_each(?1))",
    )?;
    let mut raw = stmt.query([&ids_json])?;
    while let Some(r) = raw.next()? {
        let id: i64 = r.get(0)?;
        let corrupt = |column: &str, e: report::UnknownName| StoreError::Corrupt {
            what: format!("artifacts.{column} of artifact {id}"),
            reason: e.to_string(),
        };
        let kind: String = r.get(3)?;
        let verdict: String = r.get(6)?;
        rows.insert(
            id,
            ArtifactListRow {
                id,
                import_id: r.get(1)?,
                name: r.get(2)?,
                kind: report::parse_kind(&kind).map_err(|e| corrupt("kind", e))?,
                digest: r.get(4)?,
                size: r.get::<_, i64>(5)? as u64,
                verdict: verdict.parse().map_err(|e| corrupt("verdict", e))?,
                rule: r.get(7)?,
                publisher: r.get(8)?,
                imported_at: r.get(9)?,
                signers: Vec::new(),
            },
        );
    }
    let mut stmt = conn.prepare_cached(
        "SELECT artifact_id, kind, identity, issuer FROM artifact_signers
         WHERE artifact_id IN (SELECT value FROM json_each(?1)) ORDER BY artifact_id, position",
    )?;
    let mut raw = stmt.query([&ids_json])?;
    while let Some(r) = raw.next()? {
        let id: i64 = r.get(0)?;
        let kind: String = r.get(1)?;
        let issuer: Option<String> = r.get(3)?;
        let with = if issuer.is_some() { "with" } else { "without" };
        let signer = SignerIdentity::from_stored(&kind, r.get(2)?, issuer).ok_or_else(|| {
            StoreError::Corrupt {
                what: format!("artifact_signers of artifact {id}"),
                reason: format!("a signer of kind {kind:?} {with} an issuer"),
            }
        })?;
        if let Some(row) = rows.get_mut(&id) {
            row.signers.push(signer);
        }
    }
    // In the page's order.
    Ok(ids.iter().filter_map(|id| rows.remove(id)).collect())
}

/// The totals of the filters shown lately, each kept until the store's registry generation
/// moves: every insert, update or delete of an artifact and every change of an import's state
/// bumps it (triggers, 0006), and nothing else a total depends on changes after an artifact
/// is stored (its signers are written with it; its import's publisher and time before it).
/// Counting a filter that matches most of 100,000 artifacts walks that many index entries
/// (about 2 ms); paging through a list or reloading it then costs one lookup.
#[derive(Debug, Default)]
pub struct Totals {
    seen: std::sync::Mutex<(i64, std::collections::HashMap<ArtifactFilter, i64>)>,
}

impl Totals {
    /// The most filters kept at once (then all are forgotten).
    const KEPT: usize = 256;

    /// The total of `filter`, counted unless known for the current generation.
    pub fn total(&self, conn: &Connection, filter: &ArtifactFilter) -> Result<i64> {
        let generation = super::registry::generation(conn)?;
        {
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.0 == generation
                && let Some(total) = seen.1.get(filter)
            {
                return Ok(*total);
            }
        }
        let total = count(conn, filter)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.0 != generation || seen.1.len() >= Self::KEPT {
            *seen = (generation, std::collections::HashMap::new());
        }
        seen.1.insert(filter.clone(), total);
        Ok(total)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::store::imports::{self, ManifestFacts, ManifestSummary};
    use crate::store::{ImportSource, Store};

    fn cert(identity: &str) -> SignerIdentity {
        SignerIdentity::Certificate {
            identity: identity.into(),
            issuer: "https://issuer.example".into(),
        }
    }

    /// An artifact to store: name, digest, size, verdict, rule, signers.
    type Planned<'a> = (&'a str, String, u64, Verdict, &'a str, Vec<SignerIdentity>);

    /// Stores an import from `publisher` started at `at` with `artifacts`; returns their ids.
    fn import(
        store: &mut Store,
        publisher: &str,
        at: DateTime<Utc>,
        artifacts: &[Planned<'_>],
    ) -> Vec<i64> {
        store
            .write(|tx| {
                let id = imports::start(tx, ImportSource::Cli, "a.airlock.tar.zst", 1, "op", at)?;
                let summary = ManifestSummary {
                    version: 1,
                    artifacts: artifacts.len() as u64,
                    blobs: 0,
                    blob_bytes: 0,
                    trust: Vec::new(),
                    logs: Vec::new(),
                };
                imports::set_manifest(
                    tx,
                    id,
                    &ManifestFacts {
                        archive_id: "x",
                        publisher,
                        sequence: 1,
                        key_ids: "",
                        created_at: at,
                        site: None,
                        notes: None,
                        summary: &summary,
                    },
                )?;
                let mut ids = Vec::new();
                for (position, (name, digest, size, verdict, rule, signers)) in
                    artifacts.iter().enumerate()
                {
                    ids.push(insert(
                        tx,
                        id,
                        &NewArtifact {
                            position,
                            name,
                            kind: ArtifactKind::File,
                            digest,
                            size: *size,
                            media_type: "application/octet-stream",
                            verdict: *verdict,
                            reasons: "[]",
                            rule,
                            report: "{}",
                            vsa: b"{}",
                            location: "released/x",
                            signers,
                            components: &[],
                        },
                    )?);
                }
                Ok::<_, StoreError>(ids)
            })
            .unwrap()
    }

    fn digest(first: &str) -> String {
        format!("{first}{}", "0".repeat(64 - first.len()))
    }

    /// Three imports: acme on 1 March (tool, lib), acme on 2 March (tool again, failed),
    /// beta on 3 March (a name with wildcard characters, a key signer and a second one).
    fn stocked() -> (Store, Vec<i64>) {
        let mut store = Store::in_memory().unwrap();
        let day = |d| Utc.with_ymd_and_hms(2026, 3, d, 12, 0, 0).unwrap();
        let release = cert("https://git.example/acme/release@refs/heads/main");
        let mut ids = import(
            &mut store,
            "acme",
            day(1),
            &[
                (
                    "tool.tar",
                    digest("ab12"),
                    300,
                    Verdict::Passed,
                    "default",
                    vec![release.clone()],
                ),
                (
                    "lib.so",
                    digest("ab34"),
                    100,
                    Verdict::Warned,
                    "override:libs",
                    vec![release.clone()],
                ),
            ],
        );
        ids.extend(import(
            &mut store,
            "acme",
            day(2),
            &[(
                "tool.tar",
                digest("cd56"),
                200,
                Verdict::Failed,
                "default",
                vec![],
            )],
        ));
        ids.extend(import(
            &mut store,
            "beta",
            day(3),
            &[(
                "50%_off\\deal",
                digest("ef78"),
                50,
                Verdict::Passed,
                "default",
                vec![
                    SignerIdentity::PublicKey {
                        key_id: "feed".repeat(16),
                    },
                    cert("mailto:ops@beta.example"),
                ],
            )],
        ));
        (store, ids)
    }

    /// The ids a filter and order give (first page of 50) and the total.
    fn ids_of(store: &Store, filter: &ArtifactFilter, sort: ArtifactSort) -> (Vec<i64>, i64) {
        let (rows, total) = list(store.read(), filter, sort, 0, 50).unwrap();
        (rows.iter().map(|r| r.id).collect(), total)
    }

    #[test]
    fn every_filter_narrows_the_list_and_they_combine() {
        let (store, ids) = stocked();
        let [tool, lib, tool2, deal] = ids[..] else {
            panic!("four artifacts")
        };
        let newest = ArtifactSort::Newest;
        let all = ArtifactFilter::default();
        assert_eq!(
            ids_of(&store, &all, newest),
            (vec![deal, tool2, lib, tool], 4)
        );
        let cases: Vec<(ArtifactFilter, Vec<i64>)> = vec![
            (
                ArtifactFilter {
                    verdict: Some(Verdict::Failed),
                    ..all.clone()
                },
                vec![tool2],
            ),
            (
                ArtifactFilter {
                    name: Some("TOOL".into()),
                    ..all.clone()
                },
                vec![tool2, tool],
            ),
            // Wildcards in the text are matched as themselves.
            (
                ArtifactFilter {
                    name: Some("%".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    name: Some("0%_off\\d".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    name: Some("_".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    digest: Some("ab".into()),
                    ..all.clone()
                },
                vec![lib, tool],
            ),
            (
                ArtifactFilter {
                    digest: Some(digest("ab12")),
                    ..all.clone()
                },
                vec![tool],
            ),
            (
                ArtifactFilter {
                    digest: Some("abf".into()),
                    ..all.clone()
                },
                vec![],
            ),
            (
                ArtifactFilter {
                    signer: Some("acme/release".into()),
                    ..all.clone()
                },
                vec![lib, tool],
            ),
            (
                ArtifactFilter {
                    signer: Some("OPS@beta".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    signer: Some("feedfeed".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    publisher: Some("acme".into()),
                    ..all.clone()
                },
                vec![tool2, lib, tool],
            ),
            (
                ArtifactFilter {
                    publisher: Some("acm".into()),
                    ..all.clone()
                },
                vec![],
            ),
            (
                ArtifactFilter {
                    since: Some("2026-03-02".into()),
                    ..all.clone()
                },
                vec![deal, tool2],
            ),
            (
                ArtifactFilter {
                    until: Some("2026-03-02".into()),
                    ..all.clone()
                },
                vec![lib, tool],
            ),
            (
                ArtifactFilter {
                    since: Some("2026-03-02T12:00:00.000000Z".into()),
                    until: Some("2026-03-03".into()),
                    ..all.clone()
                },
                vec![tool2],
            ),
            (
                ArtifactFilter {
                    rule: Some("override:libs".into()),
                    ..all.clone()
                },
                vec![lib],
            ),
            (
                ArtifactFilter {
                    name: Some("tool".into()),
                    publisher: Some("acme".into()),
                    verdict: Some(Verdict::Passed),
                    ..all.clone()
                },
                vec![tool],
            ),
            (
                ArtifactFilter {
                    verdict: Some(Verdict::Passed),
                    rule: Some("default".into()),
                    digest: Some("e".into()),
                    ..all.clone()
                },
                vec![deal],
            ),
            (
                ArtifactFilter {
                    signer: Some("acme".into()),
                    until: Some("2026-03-01T12:00:00.000000Z".into()),
                    ..all.clone()
                },
                vec![],
            ),
        ];
        for (filter, expected) in cases {
            let total = expected.len() as i64;
            assert_eq!(
                ids_of(&store, &filter, newest),
                (expected, total),
                "{filter:?}"
            );
        }
    }

    #[test]
    fn orders_pages_and_rows_carry_their_import_and_signers() {
        let (store, ids) = stocked();
        let [tool, lib, tool2, deal] = ids[..] else {
            panic!("four artifacts")
        };
        let all = ArtifactFilter::default();
        for (sort, expected) in [
            (ArtifactSort::Newest, vec![deal, tool2, lib, tool]),
            (ArtifactSort::Oldest, vec![tool, lib, tool2, deal]),
            // By name; the same name newest first.
            (ArtifactSort::Name, vec![deal, lib, tool2, tool]),
            (ArtifactSort::Size, vec![tool, tool2, lib, deal]),
            (ArtifactSort::Verdict, vec![tool2, lib, deal, tool]),
        ] {
            assert_eq!(ids_of(&store, &all, sort).0, expected, "{sort:?}");
            // The same order with a filter that goes through the id sets.
            let acme = ArtifactFilter {
                signer: Some("".into()),
                ..all.clone()
            };
            let expected_signed: Vec<i64> =
                expected.iter().copied().filter(|id| *id != tool2).collect();
            assert_eq!(ids_of(&store, &acme, sort).0, expected_signed, "{sort:?}");
        }
        // Pages: offset and limit, the total of all.
        let (rows, total) = list(store.read(), &all, ArtifactSort::Newest, 1, 2).unwrap();
        assert_eq!(
            (rows.iter().map(|r| r.id).collect::<Vec<_>>(), total),
            (vec![tool2, lib], 4)
        );
        let (rows, total) = list(store.read(), &all, ArtifactSort::Newest, 10, 2).unwrap();
        assert_eq!((rows.len(), total), (0, 4));

        let (rows, _) = list(store.read(), &all, ArtifactSort::Newest, 0, 1).unwrap();
        let row = &rows[0];
        assert_eq!(row.name, "50%_off\\deal");
        assert_eq!(row.publisher.as_deref(), Some("beta"));
        assert_eq!(row.imported_at, "2026-03-03T12:00:00.000000Z");
        assert_eq!(
            (row.size, row.verdict, row.kind),
            (50, Verdict::Passed, ArtifactKind::File)
        );
        assert_eq!(
            row.signers,
            vec![
                SignerIdentity::PublicKey {
                    key_id: "feed".repeat(16)
                },
                cert("mailto:ops@beta.example"),
            ]
        );
        // The JSON the API answers with.
        let json = serde_json::to_value(row).unwrap();
        assert_eq!(json["signers"][0]["kind"], "public-key");
        assert_eq!(json["signers"][1]["issuer"], "https://issuer.example");
        assert_eq!(json["verdict"], "passed");
    }

    #[test]
    fn removing_an_import_s_artifacts_removes_their_signers() {
        let (mut store, ids) = stocked();
        let import_id = get(store.read(), ids[0]).unwrap().unwrap().import_id;
        store.write(|tx| delete_of_import(tx, import_id)).unwrap();
        let signers: i64 = store
            .read()
            .query_row("SELECT count(*) FROM artifact_signers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(signers, 2, "only the third import's two signers remain");
    }

    #[test]
    fn totals_are_kept_until_the_generation_moves() {
        let (mut store, _) = stocked();
        let totals = Totals::default();
        let acme = ArtifactFilter {
            signer: Some("acme/release".into()),
            ..ArtifactFilter::default()
        };
        assert_eq!(totals.total(store.read(), &acme).unwrap(), 2);
        // A change no trigger sees (only a test makes one) is not counted: the total is kept.
        store
            .write(|tx| {
                Ok::<_, StoreError>(
                    tx.execute("DELETE FROM artifact_signers WHERE position = 0", [])?,
                )
            })
            .unwrap();
        assert_eq!(count(store.read(), &acme).unwrap(), 0);
        assert_eq!(totals.total(store.read(), &acme).unwrap(), 2);
        // Any stored artifact moves the generation: counted again.
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 0, 0, 0).unwrap();
        let release = cert("https://git.example/acme/release@refs/heads/main");
        import(
            &mut store,
            "acme",
            at,
            &[(
                "new",
                digest("aa"),
                1,
                Verdict::Passed,
                "default",
                vec![release],
            )],
        );
        assert_eq!(totals.total(store.read(), &acme).unwrap(), 1);
        let all = ArtifactFilter::default();
        assert_eq!(totals.total(store.read(), &all).unwrap(), 5);
    }
}
