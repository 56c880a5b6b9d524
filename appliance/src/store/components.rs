//! The components index (`artifact_components`, 0009): every SBOM component each artifact's
//! report keeps, recorded at import, and the search across every artifact ([`search`]):
//! "which artifacts contain zlib 1.3.1?".

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{Result, StoreError, Tx};
use crate::policy::SbomComponent;
use crate::report::{self, Verdict};

/// Records artifact `id`'s components, in order (each distinct one once: see
/// [`report::sbom_components`]).
pub fn insert(tx: &Tx<'_>, id: i64, components: &[SbomComponent]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO artifact_components (artifact_id, position, name, version, purl, licence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, c) in components.iter().enumerate() {
        stmt.execute(params![
            id,
            position as i64,
            c.name,
            c.version,
            c.purl,
            c.license
        ])?;
    }
    Ok(())
}

/// The components of every artifact stored before 0009, from its stored report: run by the
/// migration's transaction, right after 0009's table exists. A report whose SBOMs do not read
/// is an error naming the artifact (leaving its components out would hide it from a search).
pub(super) fn backfill(tx: &Tx<'_>) -> Result<()> {
    let mut stmt = tx.prepare("SELECT id, report FROM artifacts ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let json: String = row.get(1)?;
        let components = report::sbom_components(&json).map_err(|e| StoreError::Corrupt {
            what: format!("artifacts.report of artifact {id}"),
            reason: e.to_string(),
        })?;
        insert(tx, id, &components)?;
    }
    Ok(())
}

/// What a component search asks; each `None` means any. Text is matched as given (the
/// query parser trims it and bounds its length).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentFilter {
    /// Exactly this name (ASCII letters in any case).
    pub name: Option<String>,
    /// Exactly this version.
    pub version: Option<String>,
    /// A package URL starting with this (`pkg:npm/lodash` finds every version).
    pub purl: Option<String>,
    /// A licence text containing this (ASCII letters in any case).
    pub licence: Option<String>,
}

/// One component found, with the artifact whose SBOM lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentHit {
    /// The artifact's id (its report is `/artifacts/{id}`).
    pub artifact_id: i64,
    /// The artifact's name.
    pub artifact: String,
    /// The import it came in.
    pub import_id: i64,
    /// The artifact's verdict.
    pub verdict: Verdict,
    /// The artifact's hex SHA-256.
    pub digest: String,
    /// The component's name (empty when its SBOM gives none).
    pub name: String,
    /// Its version.
    pub version: Option<String>,
    /// Its package URL.
    pub purl: Option<String>,
    /// Its licences.
    pub licence: Option<String>,
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

/// The `WHERE` clause (over `c`, the components table) and its arguments.
fn condition(filter: &ComponentFilter) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    if let Some(name) = &filter.name {
        clauses.push("c.name = ? COLLATE NOCASE");
        args.push(Value::Text(name.clone()));
    }
    if let Some(version) = &filter.version {
        clauses.push("c.version = ?");
        args.push(Value::Text(version.clone()));
    }
    if let Some(purl) = &filter.purl {
        // Every text starting with the prefix sorts in [p, p || U+10FFFF): the index's range.
        clauses.push("c.purl >= ? AND c.purl < ?");
        args.push(Value::Text(purl.clone()));
        args.push(Value::Text(format!("{purl}\u{10FFFF}")));
    }
    if let Some(licence) = &filter.licence {
        clauses.push("c.licence LIKE ? ESCAPE '\\'");
        args.push(Value::Text(contains_pattern(licence)));
    }
    if clauses.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", clauses.join(" AND ")), args)
    }
}

/// How many components match `filter`, and in how many artifacts.
pub fn count(conn: &Connection, filter: &ComponentFilter) -> Result<(i64, i64)> {
    let (clause, args) = condition(filter);
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*), count(DISTINCT c.artifact_id) FROM artifact_components c {clause}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?)
}

/// A page of the components matching `filter`: the newest artifacts first, each one's
/// components in SBOM order.
pub fn search(
    conn: &Connection,
    filter: &ComponentFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ComponentHit>> {
    let (clause, args) = condition(filter);
    let window = super::window(limit, offset);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.artifact_id, a.name, a.import_id, a.verdict, a.digest,
                c.name, c.version, c.purl, c.licence
         FROM artifact_components c JOIN artifacts a ON a.id = c.artifact_id
         {clause}
         ORDER BY c.artifact_id DESC, c.position
         {window}"
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    rows.map(|row| {
        let (artifact_id, artifact, import_id, verdict, digest, name, version, purl, licence) =
            row?;
        let verdict = verdict
            .parse()
            .map_err(|e: report::UnknownName| StoreError::Corrupt {
                what: format!("artifacts.verdict of artifact {artifact_id}"),
                reason: e.to_string(),
            })?;
        Ok(ComponentHit {
            artifact_id,
            artifact,
            import_id,
            verdict,
            digest,
            name,
            version,
            purl,
            licence,
        })
    })
    .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use airlock_bundler::archive::ArtifactKind;
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::store::{ImportSource, NewArtifact, Store, imports};

    fn component(name: &str, version: &str, purl: &str, licence: &str) -> SbomComponent {
        SbomComponent {
            name: name.into(),
            version: Some(version.into()),
            purl: Some(purl.into()),
            license: Some(licence.into()),
        }
    }

    /// A store with one import of two artifacts: `app.tar` (zlib 1.3.1, lodash) and
    /// `img.tar` (zlib 1.2.13 and a component whose text is hostile).
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("airlock.db")).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let planned = [
            (
                "app.tar",
                vec![
                    component("zlib", "1.3.1", "pkg:generic/zlib@1.3.1", "Zlib"),
                    component("lodash", "4.17.21", "pkg:npm/lodash@4.17.21", "MIT"),
                ],
            ),
            (
                "img.tar",
                vec![
                    component("zlib", "1.2.13", "pkg:apk/alpine/zlib@1.2.13", "Zlib"),
                    component(
                        "<script>alert(1)</script>",
                        "1%_\\",
                        "pkg:npm/%25_evil@1",
                        "MIT OR Apache-2.0",
                    ),
                ],
            ),
        ];
        store
            .write(|tx| {
                let id = imports::start(tx, ImportSource::Cli, "a.airlock.tar.zst", 1, "op", at)?;
                for (position, (name, components)) in planned.iter().enumerate() {
                    crate::store::artifacts::insert(
                        tx,
                        id,
                        &NewArtifact {
                            position,
                            name,
                            kind: ArtifactKind::File,
                            digest: &format!("{position:064}"),
                            size: 1,
                            media_type: "application/octet-stream",
                            verdict: Verdict::Passed,
                            reasons: "[]",
                            rule: "default",
                            report: "{}",
                            vsa: b"{}",
                            location: "released/x",
                            signers: &[],
                            components,
                        },
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        (dir, store)
    }

    fn found(store: &Store, filter: ComponentFilter) -> Vec<(String, String)> {
        let hits = search(store.read(), &filter, 0, 50).unwrap();
        let (total, _) = count(store.read(), &filter).unwrap();
        assert_eq!(total as usize, hits.len());
        hits.into_iter()
            .map(|h| {
                (
                    h.artifact,
                    format!("{} {}", h.name, h.version.unwrap_or_default()),
                )
            })
            .collect()
    }

    #[test]
    fn a_search_by_name_and_version_finds_the_artifacts_that_contain_it() {
        let (_dir, store) = store();
        let zlib = |version: Option<&str>| ComponentFilter {
            name: Some("ZLib".into()),
            version: version.map(Into::into),
            ..ComponentFilter::default()
        };
        assert_eq!(
            found(&store, zlib(Some("1.3.1"))),
            [("app.tar".to_owned(), "zlib 1.3.1".to_owned())]
        );
        // Newest artifact first.
        assert_eq!(
            found(&store, zlib(None)),
            [
                ("img.tar".to_owned(), "zlib 1.2.13".to_owned()),
                ("app.tar".to_owned(), "zlib 1.3.1".to_owned())
            ]
        );
        assert_eq!(count(store.read(), &zlib(None)).unwrap(), (2, 2));
        // The name is whole, not a part.
        let part = ComponentFilter {
            name: Some("zli".into()),
            ..ComponentFilter::default()
        };
        assert!(found(&store, part).is_empty());
    }

    #[test]
    fn purls_match_by_prefix_and_licences_by_a_part() {
        let (_dir, store) = store();
        let npm = ComponentFilter {
            purl: Some("pkg:npm/".into()),
            ..ComponentFilter::default()
        };
        assert_eq!(found(&store, npm).len(), 2);
        let mit = ComponentFilter {
            licence: Some("mit".into()),
            ..ComponentFilter::default()
        };
        assert_eq!(found(&store, mit).len(), 2);
        let both = ComponentFilter {
            licence: Some("apache".into()),
            purl: Some("pkg:npm/%25".into()),
            ..ComponentFilter::default()
        };
        assert_eq!(
            found(&store, both),
            [(
                "img.tar".to_owned(),
                "<script>alert(1)</script> 1%_\\".to_owned()
            )]
        );
    }

    #[test]
    fn wildcards_in_a_search_are_matched_literally() {
        let (_dir, store) = store();
        for licence in ["%", "_"] {
            let filter = ComponentFilter {
                licence: Some(licence.into()),
                ..ComponentFilter::default()
            };
            assert!(found(&store, filter).is_empty(), "{licence}");
        }
        let filter = ComponentFilter {
            version: Some("1%_\\".into()),
            ..ComponentFilter::default()
        };
        assert_eq!(found(&store, filter).len(), 1);
    }

    #[test]
    fn removing_an_import_s_artifacts_removes_their_components() {
        let (_dir, mut store) = store();
        store
            .write(|tx| crate::store::artifacts::delete_of_import(tx, 1))
            .unwrap();
        assert_eq!(
            count(store.read(), &ComponentFilter::default()).unwrap(),
            (0, 0)
        );
    }
}
