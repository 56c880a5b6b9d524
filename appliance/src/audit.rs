//! The audit chain: every login, import, verdict, release, policy, publisher, user and trust
//! change is a row whose hash covers its content and the previous row's hash, so removing,
//! reordering or editing any row breaks every hash after it.
//!
//! Someone who can write the database can still rewrite the chain and recompute every hash,
//! or cut rows off its end. So the appliance signs the chain's head (the newest row's
//! position and hash, a DSSE envelope by its key) at every import and on demand; the signed
//! heads are stored and exported, and [`verify_heads`] checks the chain still holds each
//! signed row with its signed hash. A head exported earlier (kept off the appliance) catches
//! a rewrite that also removed the stored heads.

use std::io::Write;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use airlock_bundler::keys::KeyId;

use crate::store::{self, AuditRow, GENESIS_HASH, SignedHeadRow, StoreError, Tx};

/// Hex SHA-256 (of what an audit row records a digest of).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The DSSE payload type of a signed audit head.
pub const HEAD_PAYLOAD_TYPE: &str = "application/vnd.airlock.audit-head.v1+json";

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
    hex::encode(row_digest(row))
}

/// The SHA-256 of a row's hashed content, serialized straight into the hasher.
fn row_digest(row: &AuditRow) -> [u8; 32] {
    let hashed = Hashed {
        seq: row.seq,
        at: &row.at,
        actor: &row.actor,
        action: &row.action,
        subject: &row.subject,
        detail: &row.detail,
        prev_hash: &row.prev_hash,
    };
    let mut hasher = Sha256::new();
    // Serializing strings and integers into a hasher cannot fail.
    serde_json::to_writer(&mut hasher, &hashed)
        .expect("invariant: an audit row serializes (derived, string keys)");
    hasher.finalize().into()
}

/// Whether a row's stored hash is the hash of its content.
fn hash_holds(row: &AuditRow) -> bool {
    let mut computed = [0u8; 64];
    hex::encode_to_slice(row_digest(row), &mut computed)
        .expect("invariant: 32 bytes are 64 hex digits");
    computed == row.hash.as_bytes()
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
    /// The chain is shorter than a signed head says it was: rows were removed from its end.
    #[error(
        "the chain has {rows} row(s) but the head signed at {signed_at} covers {seq}: rows were removed"
    )]
    Truncated {
        /// Rows in the chain.
        rows: i64,
        /// Rows the signed head covers.
        seq: i64,
        /// When the head was signed.
        signed_at: String,
    },
    /// The row a signed head names has another hash: the chain was rewritten.
    #[error(
        "audit row {seq}: hash {found} is not the one signed at {signed_at} ({signed}): the chain was rewritten"
    )]
    Rewritten {
        /// The row.
        seq: i64,
        /// Its hash now.
        found: String,
        /// The hash signed.
        signed: String,
        /// When the head was signed.
        signed_at: String,
    },
    /// A signed head that does not verify with the appliance key, or is not a signed head.
    #[error("signed head: {0}")]
    BadHead(String),
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
    walk(conn, 1, GENESIS_HASH.to_owned())
}

/// Verifies the chain from row `expected_seq` on, the row before it having hash `prev`.
fn walk(
    conn: &Connection,
    mut expected_seq: i64,
    mut prev: String,
) -> Result<Result<ChainStatus, ChainError>, StoreError> {
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
            if !hash_holds(&row) {
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

/// Writes the chain as JSON lines (one row per line, with its hashes), then one line
/// `{"signed_head": {…}}` per signed head, oldest first, each with its DSSE envelope.
pub fn export(conn: &Connection, out: &mut dyn Write) -> Result<i64, ExportError> {
    let mut after = 0;
    loop {
        let rows = store::audit::page(conn, after, PAGE)?;
        let Some(last) = rows.last() else {
            for head in store::audit::heads(conn)? {
                let envelope: serde_json::Value =
                    serde_json::from_str(&head.envelope).map_err(|e| StoreError::Corrupt {
                        what: format!("signed head of row {}", head.seq),
                        reason: e.to_string(),
                    })?;
                let line = serde_json::json!({"signed_head": {
                    "seq": head.seq,
                    "hash": head.hash,
                    "signed_at": head.signed_at,
                    "envelope": envelope,
                }});
                serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
                out.write_all(b"\n")?;
            }
            return Ok(after);
        };
        after = last.seq;
        for row in &rows {
            serde_json::to_writer(&mut *out, row).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
    }
}

/// Checks the rows `rows` alone (a page of the log, filtered or not): each hashes to its
/// stored hash, and names the hash of the row before it (the genesis hash for row 1), which
/// must exist. The first problem, in the order given, is the answer; the whole chain is
/// [`verify`]'s.
pub fn verify_rows(
    conn: &Connection,
    rows: &[AuditRow],
) -> Result<Result<(), ChainError>, StoreError> {
    Ok(check_rows(rows, &predecessors(conn, rows)?))
}

/// The hashes of the rows before `rows` (what [`check_rows`] links them to) that `rows` do
/// not hold themselves, by sequence number: the one read [`verify_rows`] needs, so the rest
/// can run without the store. A page of the whole log needs one (the row before its oldest).
pub fn predecessors(
    conn: &Connection,
    rows: &[AuditRow],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let held: std::collections::HashSet<i64> = rows.iter().map(|r| r.seq).collect();
    let before: Vec<i64> = rows
        .iter()
        .map(|r| r.seq - 1)
        .filter(|s| *s > 0 && !held.contains(s))
        .collect();
    store::audit::hashes_at(conn, &before)
}

/// [`verify_rows`] given the hashes of the rows before them ([`predecessors`]).
pub fn check_rows(
    rows: &[AuditRow],
    before: &std::collections::HashMap<i64, String>,
) -> Result<(), ChainError> {
    let held: std::collections::HashMap<i64, &str> =
        rows.iter().map(|r| (r.seq, r.hash.as_str())).collect();
    for row in rows {
        if !hash_holds(row) {
            return Err(ChainError::Tampered { seq: row.seq });
        }
        let expected = match row.seq - 1 {
            0 => GENESIS_HASH,
            prev => match held
                .get(&prev)
                .copied()
                .or(before.get(&prev).map(String::as_str))
            {
                Some(hash) => hash,
                None => {
                    return Err(ChainError::Gap {
                        expected: prev,
                        found: row.seq,
                    });
                }
            },
        };
        if row.prev_hash != expected {
            return Err(ChainError::BrokenLink { seq: row.seq });
        }
    }
    Ok(())
}

/// The columns of [`export_csv`], in order.
pub const CSV_HEADER: &str = "seq,at,actor,action,subject,detail,prev_hash,hash";

/// Writes the rows matching `filter`, oldest first, as CSV (RFC 4180: a header line, fields
/// with a comma, quote or line break quoted, quotes doubled, CRLF line ends). A field that a
/// spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return) is written after a `'`, as OWASP advises for CSV meant to be opened in one: the
/// hashes make the JSONL export, not this, the record to verify. Returns the rows written.
pub fn export_csv(
    conn: &Connection,
    filter: &store::AuditFilter,
    out: &mut dyn Write,
) -> Result<i64, ExportError> {
    out.write_all(CSV_HEADER.as_bytes())?;
    out.write_all(b"\r\n")?;
    let (mut after, mut written) = (0, 0);
    loop {
        let rows = store::audit::filtered_after(conn, filter, after, PAGE)?;
        let Some(last) = rows.last() else {
            return Ok(written);
        };
        after = last.seq;
        for row in &rows {
            let seq = row.seq.to_string();
            let fields = [
                seq.as_str(),
                &row.at,
                &row.actor,
                &row.action,
                &row.subject,
                &row.detail,
                &row.prev_hash,
                &row.hash,
            ];
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(csv_field(field).as_bytes())?;
            }
            out.write_all(b"\r\n")?;
            written += 1;
        }
    }
}

/// One CSV field: neutralised if a spreadsheet would read a formula, quoted if needed.
fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = value.contains([',', '"', '\n', '\r']);
    if !formula && !quote {
        return std::borrow::Cow::Borrowed(value);
    }
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if quote {
        std::borrow::Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Owned(value)
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

/// What a signed head says: the chain had `seq` rows, the last with `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadStatement {
    /// The newest row's position (the chain's length).
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The signing key's id (hex SHA-256 of the raw ed25519 key).
    pub key_id: String,
}

/// Why the head was not signed.
#[derive(Debug, thiserror::Error)]
pub enum HeadError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chain does not verify from the last signed head on: signing now would vouch for it.
    #[error("not signing the audit head: {0}")]
    Chain(ChainError),
}

/// Signs the chain's head with `key` inside the caller's transaction and stores it. The
/// rows since the latest signed head are verified first (and that head still matches), so a
/// head is never signed over a chain that was changed behind the appliance's back.
pub fn sign_head(
    tx: &Tx<'_>,
    key: &SigningKey,
    at: DateTime<Utc>,
) -> Result<SignedHeadRow, HeadError> {
    let verified = match store::audit::latest_head(tx)? {
        Some(last) => {
            let statement =
                open_head(&last.envelope, &key.verifying_key()).map_err(HeadError::Chain)?;
            let rows = store::audit::count(tx)?;
            check_statement(tx, &statement, rows)?.map_err(HeadError::Chain)?;
            walk(tx, statement.seq + 1, statement.hash)?
        }
        None => verify(tx)?,
    }
    .map_err(HeadError::Chain)?;
    let statement = HeadStatement {
        seq: verified.rows,
        hash: verified.head,
        signed_at: at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        key_id: KeyId::of(&key.verifying_key()).to_string(),
    };
    // Serializing integers and strings cannot fail.
    let payload = serde_json::to_vec(&statement)
        .expect("invariant: the signed head serializes (derived, string keys)");
    let envelope = crate::appliance::sign_dsse(key, HEAD_PAYLOAD_TYPE, &payload);
    let row = SignedHeadRow {
        seq: statement.seq,
        hash: statement.hash,
        signed_at: statement.signed_at,
        envelope: String::from_utf8_lossy(&envelope).into_owned(),
    };
    store::audit::insert_head(tx, &row)?;
    Ok(row)
}

/// [`sign_head`] with the appliance's key and clock.
pub fn sign_head_with(
    tx: &Tx<'_>,
    app: &crate::appliance::Appliance,
) -> Result<SignedHeadRow, HeadError> {
    sign_head(tx, app.signing_key(), app.now())
}

/// A signed head's statement, once its envelope verifies with `key`.
pub fn open_head(envelope: &str, key: &VerifyingKey) -> Result<HeadStatement, ChainError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope {
        payload: String,
        payload_type: String,
        signatures: Vec<Sig>,
    }
    #[derive(Deserialize)]
    struct Sig {
        keyid: String,
        sig: String,
    }
    let bad = |reason: &str| ChainError::BadHead(reason.to_owned());
    let envelope: Envelope = serde_json::from_str(envelope)
        .map_err(|e| ChainError::BadHead(format!("not a DSSE envelope: {e}")))?;
    if envelope.payload_type != HEAD_PAYLOAD_TYPE {
        return Err(ChainError::BadHead(format!(
            "payload type {:?} is not {HEAD_PAYLOAD_TYPE}",
            envelope.payload_type
        )));
    }
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|_| bad("the payload is not base64"))?;
    let message = airlock_trust_root::pae(&envelope.payload_type, &payload);
    let key_id = KeyId::of(key).to_string();
    let signed = envelope.signatures.iter().any(|s| {
        s.keyid == key_id
            && STANDARD
                .decode(&s.sig)
                .ok()
                .and_then(|sig| Signature::from_slice(&sig).ok())
                .is_some_and(|sig| key.verify_strict(&message, &sig).is_ok())
    });
    if !signed {
        return Err(ChainError::BadHead(format!(
            "not signed by the appliance key {key_id}"
        )));
    }
    let statement: HeadStatement = serde_json::from_slice(&payload)
        .map_err(|e| ChainError::BadHead(format!("the statement does not parse: {e}")))?;
    if statement.key_id != key_id {
        return Err(bad("the statement names another key"));
    }
    Ok(statement)
}

/// Whether a chain of `rows` rows still holds the row `statement` signed, with its hash.
fn check_statement(
    conn: &Connection,
    statement: &HeadStatement,
    rows: i64,
) -> Result<Result<(), ChainError>, StoreError> {
    if statement.seq > rows {
        return Ok(Err(ChainError::Truncated {
            rows,
            seq: statement.seq,
            signed_at: statement.signed_at.clone(),
        }));
    }
    let found = if statement.seq == 0 {
        Some(GENESIS_HASH.to_owned())
    } else {
        store::audit::hash_at(conn, statement.seq)?
    };
    match found {
        Some(found) if found == statement.hash => Ok(Ok(())),
        found => Ok(Err(ChainError::Rewritten {
            seq: statement.seq,
            found: found.unwrap_or_else(|| "(no row)".to_owned()),
            signed: statement.hash.clone(),
            signed_at: statement.signed_at.clone(),
        })),
    }
}

/// How long a verification of the whole chain stands for [`ChainWatch`].
pub const FULL_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The chain's status for the pages, without walking the whole log on every view: the last
/// verified status is kept, and a later view walks only the rows appended since, after
/// checking that the row it ended on still has the hash it had. The whole chain is walked
/// again when that row changed or vanished, after a break, and at least every
/// [`FULL_CHECK_EVERY`] (an edit further back is found then, and at once on any page showing
/// the edited row; `audit verify` always walks it all).
#[derive(Debug, Default)]
pub struct ChainWatch {
    verified: std::sync::Mutex<Option<(ChainStatus, std::time::Instant)>>,
    /// The latest signed head's envelope as last opened, and what it says: its signature is
    /// checked again only when the stored envelope differs.
    head: std::sync::Mutex<Option<(String, HeadStatement)>>,
}

impl ChainWatch {
    /// `chain` (a status [`ChainWatch::status`] gave) checked against the latest stored signed
    /// head, as [`check_heads`] does, the head's signature verified once per envelope.
    pub fn check_latest_head(
        &self,
        conn: &Connection,
        key: &VerifyingKey,
        chain: ChainStatus,
    ) -> Result<Result<ChainStatus, ChainError>, StoreError> {
        let Some(latest) = store::audit::latest_head(conn)? else {
            return Ok(Ok(chain));
        };
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        let statement = match head.as_ref() {
            Some((envelope, statement)) if *envelope == latest.envelope => statement.clone(),
            _ => match open_head(&latest.envelope, key) {
                Ok(statement) => {
                    *head = Some((latest.envelope, statement.clone()));
                    statement
                }
                Err(e) => {
                    *head = None;
                    return Ok(Err(e));
                }
            },
        };
        drop(head);
        Ok(check_statement(conn, &statement, chain.rows)?.map(|()| chain))
    }

    /// The chain's status now, through `conn`, as of the last full walk no older than
    /// `full_every`.
    pub fn status(
        &self,
        conn: &Connection,
        full_every: std::time::Duration,
    ) -> Result<Result<ChainStatus, ChainError>, StoreError> {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let kept = match verified.take() {
            Some((status, at)) if at.elapsed() < full_every => {
                let still = status.rows == 0
                    || store::audit::hashes_at(conn, &[status.rows])?.get(&status.rows)
                        == Some(&status.head);
                still.then_some((status, at))
            }
            _ => None,
        };
        let (outcome, at) = match kept {
            Some((status, at)) => (walk(conn, status.rows + 1, status.head)?, at),
            None => (verify(conn)?, std::time::Instant::now()),
        };
        if let Ok(status) = &outcome {
            *verified = Some((status.clone(), at));
        }
        Ok(outcome)
    }
}

/// What [`verify_heads`] checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeadsStatus {
    /// The chain itself.
    pub chain: ChainStatus,
    /// The heads checked against it (the latest stored one, then the given ones).
    pub heads: Vec<HeadStatement>,
}

/// Verifies the chain, then checks it against the latest stored signed head and against each
/// of `given` (envelopes kept elsewhere, e.g. from an earlier export): each must verify with
/// `key`, and the chain must still hold its row with its hash.
pub fn verify_heads(
    conn: &Connection,
    key: &VerifyingKey,
    given: &[String],
) -> Result<Result<HeadsStatus, ChainError>, StoreError> {
    match verify(conn)? {
        Ok(chain) => check_heads(conn, key, chain, given),
        Err(e) => Ok(Err(e)),
    }
}

/// Checks the latest stored signed head and each of `given` against `chain`, a verified
/// status of the chain (see [`verify_heads`]).
pub fn check_heads(
    conn: &Connection,
    key: &VerifyingKey,
    chain: ChainStatus,
    given: &[String],
) -> Result<Result<HeadsStatus, ChainError>, StoreError> {
    let stored = store::audit::latest_head(conn)?.map(|h| h.envelope);
    let mut heads = Vec::new();
    for envelope in stored.iter().chain(given) {
        let statement = match open_head(envelope, key) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = check_statement(conn, &statement, chain.rows)? {
            return Ok(Err(e));
        }
        heads.push(statement);
    }
    Ok(Ok(HeadsStatus { chain, heads }))
}

/// The signed head a file holds: a DSSE envelope as `audit sign-head` writes it, or an
/// `audit export` (its last `signed_head` line). Returns the envelope's JSON.
pub fn head_in_file(text: &str) -> Result<String, ChainError> {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && value.get("payloadType").is_some()
    {
        return Ok(value.to_string());
    }
    text.lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|mut value| {
            value
                .get_mut("signed_head")?
                .get_mut("envelope")
                .map(std::mem::take)
        })
        .map(|envelope| envelope.to_string())
        .ok_or_else(|| {
            ChainError::BadHead(
                "the file holds neither a signed head nor an export with one".into(),
            )
        })
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
        let mut store = chain(4);
        tamper(
            &mut store,
            "UPDATE audit SET actor = 'mallory' WHERE seq = 2",
            [],
        );
        assert_eq!(
            verify(store.read()).unwrap(),
            Err(ChainError::Tampered { seq: 2 })
        );
    }

    #[test]
    fn a_removed_row_is_a_gap() {
        let mut store = chain(4);
        tamper(&mut store, "DELETE FROM audit WHERE seq = 3", []);
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
        let mut store = chain(3);
        // Edit row 2 and recompute its own hash: row 3 no longer names it.
        let mut row = store::audit::page(store.read(), 1, 1).unwrap().remove(0);
        row.detail = "{}".into();
        row.hash = row_hash(&row);
        tamper(
            &mut store,
            "UPDATE audit SET detail = ?1, hash = ?2 WHERE seq = 2",
            [&row.detail, &row.hash],
        );
        assert_eq!(
            verify(store.read()).unwrap(),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    /// Changes the database as someone who can write its file would.
    fn tamper(store: &mut Store, sql: &str, params: impl rusqlite::Params) {
        store
            .write(|tx| {
                tx.execute(sql, params)?;
                Ok::<_, crate::store::StoreError>(())
            })
            .unwrap();
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_100, 0).unwrap()
    }

    /// Rewrites row `seq`'s detail and recomputes its hash and every later row's, as someone
    /// who can write the database would: the chain alone still verifies.
    fn rewrite(store: &mut Store, seq: i64, detail: &str) {
        let rows = store::audit::page(store.read(), seq - 1, 1000).unwrap();
        let mut prev = rows[0].prev_hash.clone();
        for mut row in rows {
            if row.seq == seq {
                row.detail = detail.to_owned();
            }
            row.prev_hash = prev;
            row.hash = row_hash(&row);
            tamper(
                store,
                "UPDATE audit SET detail = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
                rusqlite::params![row.seq, row.detail, row.prev_hash, row.hash],
            );
            prev = row.hash;
        }
        assert!(verify(store.read()).unwrap().is_ok());
    }

    #[test]
    fn a_signed_head_verifies_until_the_chain_is_rewritten() {
        let mut store = chain(4);
        let key = key(1);
        let head = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        assert_eq!(head.seq, 4);
        let status = verify_heads(store.read(), &key.verifying_key(), &[])
            .unwrap()
            .unwrap();
        assert_eq!(status.heads.len(), 1);
        assert_eq!(status.heads[0].hash, head.hash);

        // More rows after the head are fine, and the next head covers them.
        store.write(|tx| append(tx, at(), &event("5"))).unwrap();
        let next = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        assert_eq!(next.seq, 5);

        rewrite(&mut store, 2, r#"{"verdict":"passed"}"#);
        let found = store::audit::hash_at(store.read(), 5).unwrap().unwrap();
        assert_eq!(
            verify_heads(store.read(), &key.verifying_key(), &[]).unwrap(),
            Err(ChainError::Rewritten {
                seq: 5,
                found,
                signed: next.hash.clone(),
                signed_at: "2027-01-15T08:01:40.000000Z".into(),
            })
        );
        // The earlier head, kept elsewhere, catches it too; and no new head is signed.
        assert!(matches!(
            verify_heads(
                store.read(),
                &key.verifying_key(),
                std::slice::from_ref(&head.envelope)
            )
            .unwrap(),
            Err(ChainError::Rewritten { seq: 5, .. })
        ));
        assert!(matches!(
            store.write(|tx| sign_head(tx, &key, at())),
            Err(HeadError::Chain(ChainError::Rewritten { seq: 5, .. }))
        ));
    }

    #[test]
    fn a_chain_cut_short_of_its_signed_head_is_truncated() {
        let mut store = chain(3);
        let key = key(2);
        let head = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        tamper(&mut store, "DELETE FROM audit WHERE seq = 3", []);
        assert!(
            verify(store.read()).unwrap().is_ok(),
            "the chain alone verifies"
        );
        let truncated = ChainError::Truncated {
            rows: 2,
            seq: 3,
            signed_at: "2027-01-15T08:01:40.000000Z".into(),
        };
        assert_eq!(
            verify_heads(store.read(), &key.verifying_key(), &[]).unwrap(),
            Err(truncated.clone())
        );
        assert_eq!(
            truncated.to_string(),
            "the chain has 2 row(s) but the head signed at 2027-01-15T08:01:40.000000Z covers 3: rows were removed"
        );
        // The stored heads removed as well: a head kept elsewhere still catches it.
        tamper(&mut store, "DELETE FROM audit_heads", []);
        assert!(
            verify_heads(store.read(), &key.verifying_key(), &[])
                .unwrap()
                .is_ok()
        );
        assert!(matches!(
            verify_heads(store.read(), &key.verifying_key(), &[head.envelope]).unwrap(),
            Err(ChainError::Truncated {
                rows: 2,
                seq: 3,
                ..
            })
        ));
    }

    #[test]
    fn a_head_signed_by_another_key_or_edited_is_refused() {
        let mut store = chain(2);
        let head = store.write(|tx| sign_head(tx, &key(3), at())).unwrap();
        let other = key(4).verifying_key();
        assert_eq!(
            open_head(&head.envelope, &other),
            Err(ChainError::BadHead(format!(
                "not signed by the appliance key {}",
                KeyId::of(&other)
            )))
        );
        let mut envelope: serde_json::Value = serde_json::from_str(&head.envelope).unwrap();
        let statement = serde_json::json!({"seq": 1, "hash": "00", "signed_at": "x", "key_id": KeyId::of(&key(3).verifying_key()).to_string()});
        envelope["payload"] = STANDARD.encode(statement.to_string()).into();
        assert!(matches!(
            open_head(&envelope.to_string(), &key(3).verifying_key()),
            Err(ChainError::BadHead(reason)) if reason.starts_with("not signed by")
        ));
    }

    #[test]
    fn a_head_is_found_in_its_own_file_or_in_an_export() {
        let mut store = chain(2);
        let key = key(5);
        let first = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        store.write(|tx| append(tx, at(), &event("3"))).unwrap();
        let second = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        let parsed = |text: &str| {
            let envelope = head_in_file(text).unwrap();
            open_head(&envelope, &key.verifying_key()).unwrap().seq
        };
        assert_eq!(parsed(&first.envelope), 2);
        let mut out = Vec::new();
        export(store.read(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 5, "three rows, two heads");
        assert_eq!(parsed(&text), second.seq, "the export's latest head");
        assert_eq!(
            head_in_file("{\"seq\": 1}\n"),
            Err(ChainError::BadHead(
                "the file holds neither a signed head nor an export with one".into()
            ))
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

    /// A log of many hands: imports, a verdict, a login, on three days.
    fn mixed() -> Store {
        let mut store = Store::in_memory().unwrap();
        let day = |d: i64| DateTime::from_timestamp(1_772_323_200 + d * 86_400, 0).unwrap();
        for (d, actor, action, subject) in [
            (0, "olga", "import.started", "1"),
            (0, "system", "verdict", "1/0"),
            (0, "system", "import.done", "1"),
            (1, "aude", "login", "aude"),
            (1, "admin", "importer.odd", "x"),
            (2, "olga", "import.started", "2"),
            (2, "system", "import.rejected", "2"),
        ] {
            let event = Event {
                actor,
                action,
                subject,
                detail: serde_json::json!({"a": "=1+1", "note": "x,\"y\"\nz"}),
            };
            store.write(|tx| append(tx, day(d), &event)).unwrap();
        }
        store
    }

    fn seqs(store: &Store, filter: &store::AuditFilter) -> (Vec<i64>, i64) {
        let rows = store::audit::filtered(store.read(), filter, 0, 50).unwrap();
        (
            rows.iter().map(|r| r.seq).collect(),
            store::audit::Totals::default()
                .total(store.read(), filter)
                .unwrap(),
        )
    }

    #[test]
    fn the_log_filters_by_action_family_actor_subject_and_time() {
        let store = mixed();
        let all = store::AuditFilter::default();
        assert_eq!(seqs(&store, &all), (vec![7, 6, 5, 4, 3, 2, 1], 7));
        for (filter, expected) in [
            // A family: `import` is every `import.…`, not `importer.…`.
            (
                store::AuditFilter {
                    action: Some("import".into()),
                    ..all.clone()
                },
                vec![7, 6, 3, 1],
            ),
            (
                store::AuditFilter {
                    action: Some("import.started".into()),
                    ..all.clone()
                },
                vec![6, 1],
            ),
            (
                store::AuditFilter {
                    action: Some("verdict".into()),
                    ..all.clone()
                },
                vec![2],
            ),
            (
                store::AuditFilter {
                    actor: Some("olga".into()),
                    ..all.clone()
                },
                vec![6, 1],
            ),
            (
                store::AuditFilter {
                    subject: Some("2".into()),
                    ..all.clone()
                },
                vec![7, 6],
            ),
            (
                store::AuditFilter {
                    since: Some("2026-03-02".into()),
                    until: Some("2026-03-03".into()),
                    ..all.clone()
                },
                vec![5, 4],
            ),
            (
                store::AuditFilter {
                    action: Some("import".into()),
                    actor: Some("system".into()),
                    since: Some("2026-03-02".into()),
                    ..all.clone()
                },
                vec![7],
            ),
        ] {
            let total = expected.len() as i64;
            assert_eq!(seqs(&store, &filter), (expected, total), "{filter:?}");
        }
        assert_eq!(
            store::audit::actions(store.read()).unwrap(),
            [
                "import.done",
                "import.rejected",
                "import.started",
                "importer.odd",
                "login",
                "verdict"
            ]
        );
    }

    #[test]
    fn the_rows_of_a_page_are_checked_alone() {
        let mut store = mixed();
        let filter = store::AuditFilter {
            actor: Some("olga".into()),
            ..store::AuditFilter::default()
        };
        let rows = store::audit::filtered(store.read(), &filter, 0, 50).unwrap();
        assert_eq!(verify_rows(store.read(), &rows).unwrap(), Ok(()));
        assert_eq!(verify_rows(store.read(), &[]).unwrap(), Ok(()));
        // Row 5 removed: row 6 names a row that is not there.
        tamper(&mut store, "DELETE FROM audit WHERE seq = 5", []);
        assert_eq!(
            verify_rows(store.read(), &rows).unwrap(),
            Err(ChainError::Gap {
                expected: 5,
                found: 6
            })
        );
        // Row 1 edited: its content no longer hashes to its hash.
        tamper(
            &mut store,
            "UPDATE audit SET actor = 'mallory' WHERE seq = 1",
            [],
        );
        let rows = store::audit::filtered(store.read(), &Default::default(), 5, 50).unwrap();
        assert_eq!(
            verify_rows(store.read(), &rows).unwrap(),
            Err(ChainError::Tampered { seq: 1 })
        );
    }

    #[test]
    fn the_csv_export_quotes_and_neutralises_fields_and_keeps_the_filter() {
        let store = mixed();
        let mut out = Vec::new();
        let filter = store::AuditFilter {
            action: Some("verdict".into()),
            ..store::AuditFilter::default()
        };
        assert_eq!(export_csv(store.read(), &filter, &mut out).unwrap(), 1);
        let text = String::from_utf8(out).unwrap();
        let row = store::audit::filtered(store.read(), &filter, 0, 1)
            .unwrap()
            .remove(0);
        assert_eq!(
            text,
            format!(
                "{CSV_HEADER}\r\n2,{},system,verdict,1/0,\"{{\"\"a\"\":\"\"=1+1\"\",\"\"note\"\":\
                 \"\"x,\\\"\"y\\\"\"\\nz\"\"}}\",{},{}\r\n",
                row.at, row.prev_hash, row.hash
            )
        );
        for (field, shown) in [
            ("plain", "plain"),
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@x", "'@x"),
            ("\tx", "'\tx"),
            ("a,b", "\"a,b\""),
            ("=a,b", "\"'=a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
        ] {
            assert_eq!(csv_field(field), shown, "{field:?}");
        }
        let mut all = Vec::new();
        assert_eq!(
            export_csv(store.read(), &Default::default(), &mut all).unwrap(),
            7
        );
        assert_eq!(String::from_utf8(all).unwrap().matches("\r\n").count(), 8);
    }

    #[test]
    fn the_watch_walks_only_new_rows_until_the_row_it_ended_on_changes_or_time_is_up() {
        let mut store = mixed();
        let watch = ChainWatch::default();
        let long = std::time::Duration::from_secs(3600);
        let first = watch.status(store.read(), long).unwrap().unwrap();
        assert_eq!(first, verify(store.read()).unwrap().unwrap());
        assert_eq!(first.rows, 7);
        // Rows appended since: walked on from row 7, and the head follows.
        let event = Event {
            actor: "olga",
            action: "import.started",
            subject: "3",
            detail: serde_json::json!({}),
        };
        store.write(|tx| append(tx, Utc::now(), &event)).unwrap();
        let second = watch.status(store.read(), long).unwrap().unwrap();
        assert_eq!(second, verify(store.read()).unwrap().unwrap());
        assert_eq!(second.rows, 8);

        // An edit further back stands until the next full walk (the page showing that row
        // finds it at once, see `verify_rows`)…
        tamper(
            &mut store,
            "UPDATE audit SET actor = 'mallory' WHERE seq = 2",
            [],
        );
        assert_eq!(
            watch.status(store.read(), long).unwrap(),
            Ok(second.clone())
        );
        // …which a zero age forces.
        let broken = Err(ChainError::Tampered { seq: 2 });
        assert_eq!(
            watch
                .status(store.read(), std::time::Duration::ZERO)
                .unwrap(),
            broken
        );
        // A break is not remembered as verified: every later view walks it all again.
        assert_eq!(watch.status(store.read(), long).unwrap(), broken);

        // The row the watch ended on, rewritten with a fresh hash: the whole chain is walked.
        let mut store = mixed();
        let watch = ChainWatch::default();
        watch.status(store.read(), long).unwrap().unwrap();
        tamper(
            &mut store,
            "UPDATE audit SET hash = ?1, prev_hash = ?1 WHERE seq = 7",
            ["00".repeat(32)],
        );
        assert_eq!(
            watch.status(store.read(), long).unwrap(),
            Err(ChainError::BrokenLink { seq: 7 })
        );
    }

    #[test]
    fn totals_count_on_from_where_they_stopped_and_afresh_when_the_log_shrank() {
        let mut store = mixed();
        let totals = store::audit::Totals::default();
        let olga = store::AuditFilter {
            actor: Some("olga".into()),
            ..store::AuditFilter::default()
        };
        let all = store::AuditFilter::default();
        assert_eq!(totals.total(store.read(), &olga).unwrap(), 2);
        assert_eq!(totals.total(store.read(), &all).unwrap(), 7);
        for actor in ["olga", "aude", "olga"] {
            let event = Event {
                actor,
                action: "login",
                subject: actor,
                detail: serde_json::json!({}),
            };
            store.write(|tx| append(tx, Utc::now(), &event)).unwrap();
        }
        assert_eq!(totals.total(store.read(), &olga).unwrap(), 4);
        assert_eq!(totals.total(store.read(), &all).unwrap(), 10);
        // Kept totals cover rows up to the newest they saw; rows removed behind them would
        // not be noticed, but a log shorter than that is counted again.
        tamper(&mut store, "DELETE FROM audit WHERE seq >= 9", []);
        assert_eq!(totals.total(store.read(), &olga).unwrap(), 3);
        assert_eq!(totals.total(store.read(), &all).unwrap(), 8);
    }

    #[test]
    fn the_watch_checks_the_latest_signed_head_once_per_envelope_and_catches_a_swapped_one() {
        let mut store = chain(3);
        let key = key(5);
        let watch = ChainWatch::default();
        let long = std::time::Duration::from_secs(3600);
        let checked = |store: &Store| {
            let chain = watch.status(store.read(), long).unwrap().unwrap();
            watch
                .check_latest_head(store.read(), &key.verifying_key(), chain)
                .unwrap()
        };
        // No head yet: the chain alone.
        assert_eq!(checked(&store).unwrap().rows, 3);
        let head = store.write(|tx| sign_head(tx, &key, at())).unwrap();
        assert_eq!(checked(&store).unwrap().rows, 3);
        // The same envelope again: opened once, still checked against the chain.
        assert_eq!(checked(&store).unwrap().head, head.hash);
        // An envelope swapped for one the key did not sign is opened and refused.
        let mut envelope: serde_json::Value = serde_json::from_str(&head.envelope).unwrap();
        let forged = serde_json::json!({"seq": 3, "hash": head.hash, "signed_at": "x", "key_id": KeyId::of(&key.verifying_key()).to_string()});
        envelope["payload"] = STANDARD.encode(forged.to_string()).into();
        tamper(
            &mut store,
            "UPDATE audit_heads SET envelope = ?1",
            [envelope.to_string()],
        );
        assert!(matches!(
            checked(&store),
            Err(ChainError::BadHead(reason)) if reason.starts_with("not signed by")
        ));
    }
}
