//! The SQLite store: the only place SQL lives. WAL mode, foreign keys on, numbered migrations
//! applied in one transaction each. One function per query, typed rows.

pub mod alarms;
pub mod artifacts;
pub mod audit;
pub mod components;
pub mod exceptions;
pub mod imports;
pub mod publishers;
pub mod registry;
pub mod settings;
pub mod signers;
pub mod trust;
pub mod users;
pub mod witness;

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

pub use alarms::{Alarm, AlarmKind};
pub use artifacts::{ArtifactFilter, ArtifactListRow, ArtifactRow, ArtifactSort, NewArtifact};
pub use audit::{AuditFilter, AuditRow, GENESIS_HASH, SignedHeadRow};
pub use components::{ComponentFilter, ComponentHit};
pub use imports::{
    ImportFilter, ImportRow, ImportSource, ImportState, KeptArchive, LogHeadSummary,
    ManifestSummary, NewStep, OutcomeCounts, StepRow,
};
pub use publishers::{PublisherKeyRow, PublisherRow};
pub use signers::{NewSigner, SignerKind, SignerRow};
pub use trust::TrustRow;
pub use users::{Role, SessionRow, UserRow};
pub use witness::CheckpointRow;

/// The migrations, in order; the schema version is how many have been applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_role_expiries.sql"),
    include_str!("migrations/0003_manifest_summary.sql"),
    include_str!("migrations/0004_audit_heads.sql"),
    include_str!("migrations/0005_archive_digest.sql"),
    include_str!("migrations/0006_registry.sql"),
    include_str!("migrations/0007_list_filters.sql"),
    include_str!("migrations/0008_exceptions.sql"),
    include_str!("migrations/0009_components.sql"),
    include_str!("migrations/0010_trust_history.sql"),
];

/// The schema version `0009_components.sql` brings (its place in [`MIGRATIONS`]).
const COMPONENTS_MIGRATION: usize = 9;

/// What a migration needs beyond its SQL, run in its transaction after the SQL: rows only
/// Rust can derive (from stored JSON read typed). `version` is the migration's number.
fn after_migration(version: usize, tx: &Tx<'_>) -> Result<()> {
    match version {
        7 => artifacts::backfill_signers(tx),
        COMPONENTS_MIGRATION => components::backfill(tx),
        _ => Ok(()),
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer appliance.
    #[error("database schema version {found} is newer than this appliance knows ({known})")]
    TooNew {
        /// The database's version.
        found: usize,
        /// This code's.
        known: usize,
    },
    /// A read-only connection met a database not yet migrated to this code's schema.
    #[error(
        "database schema version {found} is older than this appliance's ({known}); open it read-write once to migrate it"
    )]
    NotMigrated {
        /// The database's version.
        found: usize,
        /// This code's.
        known: usize,
    },
    /// A stored value does not parse (the database was edited by hand or is corrupt).
    #[error("database value {what}: {reason}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why.
        reason: String,
    },
    /// A row that must exist does not.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique name is already taken.
    #[error("{0} already exists")]
    Exists(String),
}

/// Shorthand.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection to the appliance database.
#[derive(Debug)]
pub struct Store {
    conn: Reader,
}

/// The store's connection as reads see it: it derefs to a `rusqlite::Connection` for the
/// query functions, and is `PRAGMA query_only` outside [`Store::write`], so SQLite itself
/// refuses any change made through it ("attempt to write a readonly database"). Writes happen
/// only inside a write transaction, by construction rather than by convention.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
}

impl std::ops::Deref for Reader {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::configure(conn)
    }

    /// Opens a connection that only reads (`PRAGMA query_only` throughout) a database
    /// [`Store::open`] has already brought to this code's schema: the pages' readers beside
    /// the connection that writes. A schema other than this code's is refused.
    pub fn open_reader(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(0);
        let known = MIGRATIONS.len();
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        if version < known {
            return Err(StoreError::NotMigrated {
                found: version,
                known,
            });
        }
        Ok(Self {
            conn: Reader { conn },
        })
    }

    /// An in-memory database (for unit tests).
    pub fn in_memory() -> Result<Self> {
        Self::configure(Connection::open_in_memory()?)
    }

    fn configure(conn: Connection) -> Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk when it returns. Under NORMAL a WAL commit survives a
        // crash of the process but can be lost with the power, and the release that follows
        // an import's commit (a rename) could then outlive the verdicts it depends on. The
        // cost is one WAL fsync per write; a large import's commit paid one anyway, in the
        // checkpoint that follows it.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Self {
            conn: Reader { conn },
        };
        store.migrate()?;
        store.conn.pragma_update(None, "query_only", true)?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?
            .try_into()
            .unwrap_or(0);
        if version > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self
                .conn
                .conn
                .transaction_with_behavior(TransactionBehavior::Exclusive)?;
            // Another process opening the same database may have applied it meanwhile.
            let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql)?;
            let tx = Tx(tx);
            after_migration(i + 1, &tx)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.0.commit()?;
        }
        Ok(())
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Runs `f` in one immediate transaction, committed only if it returns `Ok`. The
    /// connection leaves `query_only` for the transaction alone, and is back in it whatever
    /// `f` does (a panic included) before this returns or unwinds.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.conn
            .pragma_update(None, "query_only", false)
            .map_err(StoreError::from)?;
        let conn = &mut self.conn.conn;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let tx = Tx(tx);
            let out = f(&tx)?;
            tx.0.commit().map_err(StoreError::from)?;
            Ok(out)
        }));
        let restored = self.conn.pragma_update(None, "query_only", true);
        match outcome {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(result) => {
                restored.map_err(StoreError::from)?;
                result
            }
        }
    }

    /// The connection for reads (queries that take `&Connection`); see [`Reader`].
    pub fn read(&self) -> &Reader {
        &self.conn
    }
}

/// A write transaction; queries that change state take `&Tx`.
#[derive(Debug)]
pub struct Tx<'a>(Transaction<'a>);

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0
    }
}

/// Reads an optional single row.
fn optional<T>(r: rusqlite::Result<T>) -> Result<Option<T>> {
    Ok(r.optional()?)
}

/// `LIMIT … OFFSET …` written into a statement's text rather than bound. SQLite plans a
/// bound LIMIT by its value, and rebinding it (even to the same value) makes the statement be
/// prepared again on its next run: a cached statement would be re-prepared on every page.
/// The numbers are ours (clamped page arithmetic), never text from a request.
fn window(limit: i64, offset: i64) -> String {
    format!("LIMIT {limit} OFFSET {offset}")
}

/// A time as stored.
fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_cannot_write_and_a_panicking_write_leaves_reads_read_only() {
        let mut store = Store::in_memory().unwrap();
        let insert = "INSERT INTO settings (key, value) VALUES ('k', 'v')";
        let refused = store.read().execute(insert, []).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("attempt to write a readonly database"),
            "{refused}"
        );
        store
            .write(|tx| {
                tx.execute(insert, [])?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(
            settings::get(store.read(), "k").unwrap().as_deref(),
            Some("v")
        );
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(|_| -> Result<(), StoreError> { panic!("in the middle of a write") })
        }));
        assert!(panicked.is_err());
        assert!(store.read().execute("DELETE FROM settings", []).is_err());
        assert_eq!(
            settings::get(store.read(), "k").unwrap().as_deref(),
            Some("v")
        );
    }

    #[test]
    fn commits_are_durable_when_they_return() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("airlock.db")).unwrap();
        let conn = store.read();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        // 2 = FULL: the WAL is synced at every commit, before a release can follow it.
        let synchronous: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 2);
    }

    #[test]
    fn a_database_of_an_earlier_schema_is_migrated_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        {
            // A database as the first release left it: only migration 0001.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO tuf_repositories (name, pinned_root) VALUES ('r', x'00')",
                [],
            )
            .unwrap();
            let manifest = serde_json::json!({
                "version": 1,
                "trust": [{"name": "sigstore"}, {"name": "private"}],
                "logs": [{"origin": "log.example - 1", "checkpoint": "log.example - 1\n42\nAAAA\n\n— sig\n"}],
                "artifacts": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "blobs": [{"size": 10}, {"size": 32}],
            });
            conn.execute(
                "INSERT INTO imports (source, file_name, archive_size, state, manifest, started_at, started_by)
                 VALUES ('cli', 'x.airlock.tar.zst', 1, 'done', ?1, 't', 'admin')",
                [manifest.to_string()],
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let rows = trust::list(store.read()).unwrap();
        assert_eq!(
            (rows[0].name.as_str(), rows[0].role_expiries.as_deref()),
            ("r", None)
        );
        // 0003 keeps a summary of each stored manifest instead of the manifest.
        let id = store
            .read()
            .query_row("SELECT id FROM imports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            imports::summary(store.read(), id).unwrap(),
            Some(ManifestSummary {
                version: 1,
                artifacts: 3,
                blobs: 2,
                blob_bytes: 42,
                trust: vec!["sigstore".into(), "private".into()],
                logs: vec![LogHeadSummary {
                    origin: "log.example - 1".into(),
                    size: 42
                }],
            })
        );
        drop(store);

        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::TooNew { found: 99, known }) if known == MIGRATIONS.len()
        ));
    }

    #[test]
    fn a_reader_reads_what_the_writer_committed_refuses_writes_and_other_schemas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        let mut store = Store::open(&path).unwrap();
        let reader = Store::open_reader(&path).unwrap();
        assert_eq!(audit::count(reader.read()).unwrap(), 0);
        store
            .write(|tx| {
                crate::audit::append(
                    tx,
                    chrono::Utc::now(),
                    &crate::audit::Event {
                        actor: "cli",
                        action: "test",
                        subject: "s",
                        detail: serde_json::json!({}),
                    },
                )
                .map(drop)
            })
            .unwrap();
        assert_eq!(audit::count(reader.read()).unwrap(), 1);
        let refused = reader
            .read()
            .execute("DELETE FROM audit", [])
            .unwrap_err()
            .to_string();
        assert_eq!(refused, "attempt to write a readonly database");
        drop(store);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 3)
            .unwrap();
        assert!(matches!(
            Store::open_reader(&path),
            Err(StoreError::NotMigrated { found: 3, known }) if known == MIGRATIONS.len()
        ));
    }

    /// A stored report's JSON: signatures by `identity` (verified), by an untrusted identity
    /// (failed: nothing proven), by a key (verified), and an attestation by a builder.
    fn report_json(identity: &str) -> String {
        let verification = |signer: serde_json::Value| {
            serde_json::json!({
                "bundle_version": "0.3",
                "artifact_sha256": "00".repeat(32),
                "signer": signer,
                "log_entries": [],
                "observed_times": [],
                "dsse": null,
            })
        };
        let certificate = |identity: &str| {
            serde_json::json!({
                "kind": "certificate", "identity": identity, "issuer": "https://issuer.example",
                "serial": "1", "not_before": "2026-03-01T00:00:00Z",
                "not_after": "2026-03-01T00:10:00Z", "certificate_authority": "ca",
                "sct_log_ids": [],
            })
        };
        let check = |ok: bool, report: Option<serde_json::Value>| {
            serde_json::json!({
                "digest": "11".repeat(32), "ok": ok, "signer": ok.then_some("release"),
                "report": report, "witnessed": [], "error": (!ok).then_some("untrusted"),
            })
        };
        serde_json::json!({
            "schema": 2,
            "rule": "default",
            "enforcement": "enforce",
            "signatures": [
                check(true, Some(verification(certificate(identity)))),
                check(false, None),
                check(true, Some(verification(serde_json::json!({
                    "kind": "public-key", "key_id": "ab".repeat(32), "hint": "k"
                })))),
                check(true, Some(verification(certificate(identity)))),
            ],
            "attestations": [check(true, Some(verification(certificate("https://builder.example"))))],
            "provenance": null,
            "sboms": [],
            "problems": [],
        })
        .to_string()
    }

    /// A database as an appliance before 0007 left it: one import with one artifact whose
    /// report is `report`.
    fn schema_6_with(path: &Path, report: &str) {
        let conn = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute(
            "INSERT INTO imports (id, source, file_name, archive_size, state, publisher,
             started_at, started_by) VALUES (1, 'cli', 'a', 1, 'done', 'acme', 't', 'op')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO artifacts (id, import_id, position, name, kind, digest, size,
             media_type, verdict, reasons, rule, report, vsa)
             VALUES (7, 1, 0, 'tool', 'file', ?1, 1, 'x', 'passed', '[]', 'default', ?2, x'00')",
            rusqlite::params!["cd".repeat(32), report],
        )
        .unwrap();
    }

    #[test]
    fn migration_8_refuses_an_exception_approved_by_its_requester_when_two_admins_are_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        schema_6_with(
            &path,
            &report_json("https://git.example/acme@refs/heads/main"),
        );
        let mut store = Store::open(&path).unwrap();
        let generation = registry::generation(store.read()).unwrap();
        let insert = |store: &mut Store, approvals: i64, approver: &str| {
            store.write(|tx| -> Result<usize> {
                Ok(tx.execute(
                    "INSERT INTO exceptions (artifact_id, justification, expires_at, approvals,
                     requested_by, requested_at, approved_by, approved_at, vsa)
                     VALUES (7, 'why', '2030-01-01T00:00:00.000000Z', ?1, 'alice', 't', ?2,
                             't', x'00')",
                    rusqlite::params![approvals, approver],
                )?)
            })
        };
        assert!(matches!(
            insert(&mut store, 2, "alice"),
            Err(StoreError::Sqlite(_))
        ));
        assert_eq!(insert(&mut store, 2, "bob").unwrap(), 1);
        assert_eq!(insert(&mut store, 1, "alice").unwrap(), 1);
        assert!(
            registry::generation(store.read()).unwrap() > generation,
            "every exception moves the registry generation"
        );
    }

    #[test]
    fn migration_7_records_who_signed_each_stored_artifact_from_its_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        schema_6_with(
            &path,
            &report_json("https://git.example/acme@refs/heads/main"),
        );
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let (rows, total) = artifacts::list(
            store.read(),
            &ArtifactFilter {
                signer: Some("acme@refs".into()),
                ..ArtifactFilter::default()
            },
            ArtifactSort::Newest,
            0,
            10,
        )
        .unwrap();
        assert_eq!(total, 1);
        // The verified signatures' signers, each once, in order; not the failed bundle's,
        // not the attestation's builder.
        assert_eq!(
            rows[0].signers,
            vec![
                crate::report::SignerIdentity::Certificate {
                    identity: "https://git.example/acme@refs/heads/main".into(),
                    issuer: "https://issuer.example".into(),
                },
                crate::report::SignerIdentity::PublicKey {
                    key_id: "ab".repeat(32)
                },
            ]
        );
        let builder = ArtifactFilter {
            signer: Some("builder".into()),
            ..ArtifactFilter::default()
        };
        let (_, total) =
            artifacts::list(store.read(), &builder, ArtifactSort::Newest, 0, 10).unwrap();
        assert_eq!(total, 0);
    }

    #[test]
    fn migration_7_refuses_a_stored_report_it_cannot_read_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        schema_6_with(&path, "{\"rule\": 1}");
        let err = Store::open(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "database value artifacts.report of artifact 7: invalid type: integer `1`, \
             expected a string at line 1 column 10"
        );
        // Rolled back: still version 6, without the new table.
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 6);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'artifact_signers'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn migration_9_indexes_the_components_of_each_stored_report_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.db");
        let component = |name: &str, version: &str| serde_json::json!({ "name": name, "version": version, "purl": null, "license": "Zlib" });
        // A report stored before SBOM tools were read: the same component in the file and the
        // attestation is indexed once; an unreadable SBOM adds nothing.
        let summary = |components: serde_json::Value| serde_json::json!({ "format": "CycloneDX 1.5", "components": components });
        let mut report: serde_json::Value =
            serde_json::from_str(&report_json("https://git.example/acme")).unwrap();
        report["sboms"] = serde_json::json!([
            { "digest": "aa", "source": "file", "error": null,
              "summary": summary(serde_json::json!([component("zlib", "1.3.1"), component("musl", "1.2.4")])) },
            { "digest": "bb", "source": "attestation", "error": null,
              "summary": summary(serde_json::json!([component("zlib", "1.3.1")])) },
            { "digest": "cc", "source": "file", "summary": null, "error": "not JSON: eof" },
        ]);
        schema_6_with(&path, &report.to_string());
        let store = Store::open(&path).unwrap();
        let zlib = ComponentFilter {
            name: Some("ZLIB".into()),
            version: Some("1.3.1".into()),
            ..ComponentFilter::default()
        };
        assert_eq!(components::count(store.read(), &zlib).unwrap(), (1, 1));
        let hits = components::search(store.read(), &zlib, 0, 10).unwrap();
        assert_eq!(
            (
                hits[0].artifact_id,
                hits[0].artifact.as_str(),
                hits[0].licence.as_deref()
            ),
            (7, "tool", Some("Zlib"))
        );
        let all = components::count(store.read(), &ComponentFilter::default()).unwrap();
        assert_eq!(all, (2, 1));
    }
}
