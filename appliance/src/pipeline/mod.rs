//! The import pipeline: one streaming pass over an archive that runs the checks as their
//! inputs arrive (`feed`), then one transaction that records every verdict, then the release.
//!
//! ```text
//! keep original → read (envelope by trusted publisher keys, blobs hashed into staging)
//!   → publisher (sequence, created_at) → trust (TUF as of created_at, never backwards)
//!   → witness (checkpoints reconciled with the stored ones) → evidence + policy per artifact
//!   → commit (verdicts, VSAs, trust state, checkpoints, sequence, audit) → release
//! ```
//!
//! The steps are recorded, and decide, in that order, although the later ones start while the
//! archive is still being read.
//!
//! **Invariant:** nothing is released without a committed verdict, and a crash at any point
//! leaves the database and folders consistent after [`recover`] (run by writers under the
//! data folder's lock, and before every import). An import holds that lock from its first
//! row to its last, so no other process recovers it while it runs.

mod commit;
mod evidence;
mod feed;
mod oci;
mod release;
mod spool;
mod steps;
mod writeback;

use airlock_bundler::pause::pause_at;
use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_bundler::archive::ArchiveParts;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::appliance::Appliance;
use crate::audit::{self, Event};
use crate::lock::{LockError, Wait, WriterLock};
use crate::report::{ImportStep, SignerIdentity};
use crate::store::{self, AlarmKind, ImportSource, ImportState, NewStep, StoreError};
use crate::vsa;

pub use crate::report::Verdict;
pub use crate::settings::{
    CLOCK_SKEW, DEFAULT_MAX_ARCHIVE_BYTES, DEFAULT_REJECTED_MAX_TOTAL, KEEP_REJECTED_WHOLE,
    MAX_ARCHIVE_BYTES, MAX_TRANSIT_AGE, POLICY, PUBLISHER_THRESHOLD, REJECTED_HEAD_BYTES,
    REJECTED_MAX_TOTAL, SITE, Settings, max_archive_bytes,
};
pub use evidence::MAX_EVIDENCE_BUNDLE;
pub(crate) use release::{Follow, open_regular, sha256_of_files};
pub use release::{recover, recover_locked};

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// Where the archive came from.
    pub source: ImportSource,
    /// The archive (or its first part).
    pub path: PathBuf,
    /// Its name as received (untrusted text, shown, never used as a path).
    pub file_name: String,
    /// Who started it.
    pub actor: String,
    /// Whether the file is the appliance's to move (uploads, inbox) or the caller's to keep.
    pub original: Original,
}

/// What happens to the original archive file. Whatever it is, what `archive/` keeps is the
/// appliance's own file, never a link to one others can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Original {
    /// Move it into `archive/` (an upload: the appliance wrote it into `incoming/`).
    Move,
    /// Copy it into `archive/`, then remove it (the inbox: someone else's file, which must be
    /// a regular file, never followed through a symlink).
    Take,
    /// Copy it into `archive/` (a reflink where possible); the caller's file stays.
    Copy,
}

/// The result of an import that ran to a decision.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    /// The import's id.
    pub import_id: i64,
    /// `done` (verdicts per artifact) or `rejected` (the archive as a whole).
    pub state: ImportState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Each artifact's verdict.
    pub artifacts: Vec<ArtifactVerdict>,
}

/// One artifact's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactVerdict {
    /// Its id in the database.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why it did not simply pass.
    pub reasons: Vec<String>,
    /// Where its files are, relative to the data folder.
    pub location: String,
}

/// Why an import could not run to a decision (the appliance's own failures, not verdicts).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file operation.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The stored policy does not parse.
    #[error("stored policy: {0}")]
    Policy(String),
    /// Another process is writing to the data folder.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The archive's file name is not one to record (control characters, too long); nothing
    /// was recorded.
    #[error(
        "file name {} has control characters or is longer than {MAX_FILE_NAME} bytes",
        name.escape_debug()
    )]
    FileName {
        /// The name as given.
        name: String,
    },
    /// An archive file (or split part) from the inbox or an upload is a symlink or not a
    /// regular file: refused, never followed.
    #[error("{path}: not a regular file (symlinks and special files are refused)")]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// The file named is not there, nor is a split archive's first part of that name;
    /// nothing was recorded.
    #[error("no such archive: {} (nor a first part {})", shown(path), shown(&first_part(path)))]
    NoSuchArchive {
        /// The path as given.
        path: PathBuf,
    },
    /// A file given to the `import` command is not an archive at all (empty, or not
    /// beginning as every archive does); refused before an import is recorded.
    #[error("not an Airlock archive: {}: {why}", shown(path))]
    NotAnArchive {
        /// The file.
        path: PathBuf,
        /// What it is instead, in plain words.
        why: &'static str,
    },
    /// A file given to the `import` command cannot be read; refused before an import is
    /// recorded.
    #[error("cannot read {}: {reason}", shown(path))]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
    /// The `import` command while the site trusts no publisher key: no archive can be
    /// opened; refused before an import is recorded.
    #[error(
        "no publisher keys are configured, so no archive can be opened: first trust the \
         publisher's key with `airlock-appliance publishers add NAME --key PUBLISHER.pub`"
    )]
    NoPublisherKeys,
    /// The `import` command while the site trusts no signer: no artifact's signature can be
    /// verified, and the publisher's sequence number would be used up; refused before an
    /// import is recorded.
    #[error(
        "no trusted signers are configured, so no artifact's signature can be verified and \
         the archive's sequence number would be used up: first add who may sign with \
         `airlock-appliance signers add` or `airlock-appliance policy import`"
    )]
    NoSigners,
    /// The archive is larger than the largest import allowed (the `import.max_archive_bytes`
    /// setting).
    #[error("the archive is {size} bytes, more than the {limit} bytes an import may be")]
    TooLarge {
        /// Its size, all parts together.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl From<crate::settings::SettingsError> for ImportError {
    fn from(e: crate::settings::SettingsError) -> Self {
        match e {
            crate::settings::SettingsError::Store(e) => Self::Store(e),
            crate::settings::SettingsError::Policy(e) => Self::Policy(e),
        }
    }
}

/// The longest archive file name recorded, in bytes (as uploads).
pub const MAX_FILE_NAME: usize = 1024;

impl ImportError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Why the archive as a whole was refused, and the alarm it raises.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) step: ImportStep,
    pub(crate) reason: String,
    pub(crate) alarm: Option<(AlarmKind, String)>,
}

impl Rejection {
    pub(crate) fn new(step: ImportStep, reason: impl Into<String>) -> Self {
        Self {
            step,
            reason: reason.into(),
            alarm: None,
        }
    }

    pub(crate) fn with_alarm(mut self, kind: AlarmKind, subject: impl Into<String>) -> Self {
        self.alarm = Some((kind, subject.into()));
        self
    }
}

/// Why the checks stopped before every verdict: the archive was refused, or the appliance
/// failed (a full disk, a folder it cannot write), which ends the import interrupted, to be
/// imported again, rather than blaming the archive.
enum Stopped {
    Rejected(Rejection),
    Failed(ImportError),
}

impl From<Rejection> for Stopped {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

/// Imports one archive: the whole pipeline, holding the data folder's writer lock (waiting
/// for it as long as the appliance was opened to). One import runs at a time.
pub fn import_file(app: &Appliance, req: ImportRequest) -> Result<ImportOutcome, ImportError> {
    let lock = app.writer_lock()?;
    import_locked(app, req, &lock)
}

/// What the `import` command checks before it imports `path`, so that an operator at the
/// console (often on a first run) hears at once, in plain words, of a site not yet set up to
/// judge an archive or of a file that is no archive, and no import number or publisher
/// sequence is used up: the file exists, the site trusts a publisher key and a signer, and
/// the file begins as an archive does. Uploads and the inbox record every attempt as an
/// import instead.
pub fn preflight(app: &Appliance, path: &Path) -> Result<(), ImportError> {
    let parts = ArchiveParts::locate(path).map_err(|_| ImportError::NoSuchArchive {
        path: path.to_owned(),
    })?;
    ready_to_judge(app, app.now())?;
    looks_like_an_archive(&parts.paths()[0])
}

/// The first bytes of every archive: its zstd frame's magic number (`docs/format.md` §3).
const ARCHIVE_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Refuses a file that cannot be an archive: empty, or not beginning with [`ARCHIVE_MAGIC`].
/// (A file that begins well but is no archive is judged by the import, as any archive is.)
fn looks_like_an_archive(first_part: &Path) -> Result<(), ImportError> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(ARCHIVE_MAGIC.len());
    std::fs::File::open(first_part)
        .and_then(|f| f.take(ARCHIVE_MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|e| ImportError::Unreadable {
            path: first_part.to_owned(),
            reason: e.to_string(),
        })?;
    let why = match head.len() {
        0 => "the file is empty",
        _ if head == ARCHIVE_MAGIC => return Ok(()),
        _ => "it does not begin as every archive made by `airlock-bundler create` does",
    };
    Err(ImportError::NotAnArchive {
        path: first_part.to_owned(),
        why,
    })
}

/// Refuses while the site could not judge any archive: no enabled publisher key (nothing
/// can be opened), or no usable trusted signer (every artifact would fail).
fn ready_to_judge(app: &Appliance, now: chrono::DateTime<chrono::Utc>) -> Result<(), ImportError> {
    let keys = store::publishers::keys(app.store().read())?;
    if !keys.iter().any(|k| k.enabled) {
        return Err(ImportError::NoPublisherKeys);
    }
    if steps::signers(app, now)
        .map_err(ImportError::Policy)?
        .is_empty()
    {
        return Err(ImportError::NoSigners);
    }
    Ok(())
}

/// A path for a message: control characters escaped (a file name is not to move the cursor).
fn shown(path: &Path) -> String {
    path.display()
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The first part of a split archive named `path` (`path.001`).
fn first_part(path: &Path) -> PathBuf {
    airlock_bundler::archive::part_path(path, 1)
}

/// As [`import_file`], waiting for the writer lock as `wait` says.
pub fn import_file_waiting(
    app: &Appliance,
    req: ImportRequest,
    wait: Wait,
) -> Result<ImportOutcome, ImportError> {
    let lock = app.writer_lock_waiting(wait)?;
    import_locked(app, req, &lock)
}

/// The import, under the writer lock: first whatever a crashed writer left is recovered
/// (nobody else is importing while the lock is held), then the archive is imported.
fn import_locked(
    app: &Appliance,
    req: ImportRequest,
    lock: &WriterLock,
) -> Result<ImportOutcome, ImportError> {
    // The name is shown and logged: text without control characters, as uploads require.
    if req.file_name.len() > MAX_FILE_NAME || req.file_name.chars().any(char::is_control) {
        return Err(ImportError::FileName {
            name: req.file_name,
        });
    }
    release::recover_locked(app, lock)?;
    let now = app.now();
    // A file that is not there is the caller's mistake: no import is recorded for it.
    let parts = ArchiveParts::locate(&req.path)
        .map_err(|_| ImportError::NoSuchArchive {
            path: req.path.clone(),
        })?
        .paths()
        .to_vec();
    let mut size = 0u64;
    for part in &parts {
        // Nothing but the operator's own choice (a CLI import) is followed through a symlink.
        let meta = if req.original == Original::Copy {
            std::fs::metadata(part)
        } else {
            std::fs::symlink_metadata(part)
        }
        .map_err(ImportError::io(part))?;
        if !meta.is_file() {
            return Err(ImportError::NotRegular { path: part.clone() });
        }
        size = size.saturating_add(meta.len());
    }
    let limit = crate::settings::max_archive_bytes(app)?;
    if size > limit {
        return Err(ImportError::TooLarge { size, limit });
    }

    let import_id = app.store().write(|tx| {
        let id = store::imports::start(tx, req.source, &req.file_name, size, &req.actor, now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: &req.actor,
                action: "import.started",
                subject: &id.to_string(),
                detail: serde_json::json!({
                    "source": req.source.as_str(),
                    "file_name": req.file_name,
                    "size": size,
                }),
            },
        )?;
        Ok::<_, StoreError>(id)
    })?;
    pause_at("started");

    let result = run(app, import_id, &req, &parts, now);
    if let Err(error) = &result {
        // The appliance itself failed (disk, database): the import ends interrupted, with
        // its partial files removed, as `recover` would leave it after a crash.
        abandon(app, import_id, error, now);
    }
    // Every import ends with a signed head of the audit chain. Not signing (the chain was
    // changed behind the appliance's back) does not undo the import; `audit verify` reports it.
    if let Err(e) = app.store().write(|tx| audit::sign_head_with(tx, app)) {
        eprintln!("airlock-appliance: import {import_id}: {e}");
    }
    result
}

fn run(
    app: &Appliance,
    import_id: i64,
    req: &ImportRequest,
    parts: &[PathBuf],
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    // Keep the original first: whatever happens next, the archive is evidence.
    let mut kept = release::keep_original(app, import_id, parts, req.original)?;
    // Where it is, at once (an import that ends interrupted keeps it too); its digest once
    // it is hashed.
    app.store().write(|tx| {
        store::imports::set_archive_path(tx, import_id, &kept.relative.display().to_string())
    })?;

    let mut steps = Vec::new();
    let quarantine = app.data().quarantine_of(import_id);
    std::fs::create_dir_all(&quarantine).map_err(ImportError::io(&quarantine))?;

    let settings = Settings::load(app)?;
    // One evidence worker per core, each with its spool (an unnamed file) for what it renders.
    let spools = (0..std::thread::available_parallelism().map_or(1, usize::from))
        .map(|index| spool::Spool::create(&app.data().incoming(), index))
        .collect::<Result<Vec<_>, _>>()
        .map_err(spool_error(app))?;
    // The kept archive is hashed beside the checks, which read the same pages.
    let (decided, hashed) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| release::sha256_of_files(&kept.parts));
        let decided = run_checks(
            app,
            import_id,
            &kept.parts,
            &settings,
            spools,
            &mut steps,
            now,
        );
        (decided, hashing.join())
    });
    let (sha256, size) = hashed.unwrap_or_else(|_| {
        Err(ImportError::Io {
            path: kept.parts.first().cloned().unwrap_or_default(),
            source: std::io::Error::other("the hashing thread stopped"),
        })
    })?;
    kept.sha256 = sha256;
    kept.size = size;
    app.store().write(|tx| {
        let record = kept.whole_record(import_id);
        store::imports::set_kept_archive(tx, &record)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: "system",
                action: "import.archive_kept",
                subject: &import_id.to_string(),
                detail: serde_json::json!({
                    "path": record.path,
                    "size": kept.size,
                    "sha256": kept.sha256,
                }),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    pause_at("checked");
    match decided {
        Ok(outcome) => commit::commit_and_release(app, import_id, req, outcome, steps, now),
        Err(Stopped::Rejected(rejection)) => {
            // The reader removes its staging folder on error; anything written after it is ours.
            release::remove_dir(&quarantine)?;
            let kept = keep_rejected(app, import_id, kept, &settings)?;
            reject(app, import_id, req, rejection, &kept, steps, now)
        }
        // The caller ends the import interrupted and removes its files.
        Err(Stopped::Failed(error)) => Err(error),
    }
}

/// Ends an import the appliance could not finish: still `running`, it becomes `interrupted`
/// and its partial files go; once its verdicts are committed (`releasing`), it is left for
/// `recover` to finish. Best effort: the error being reported is the one that matters.
fn abandon(app: &Appliance, import_id: i64, error: &ImportError, now: DateTime<Utc>) {
    let state = store::imports::get(app.store().read(), import_id)
        .ok()
        .flatten()
        .map(|i| i.state);
    if state != Some(ImportState::Running) {
        return;
    }
    let data = app.data();
    let _ = release::remove_dir(&data.quarantine_of(import_id));
    let _ = release::remove_dir(&data.releasing_of(import_id));
    let reason = format!("interrupted: {error}");
    let _ = app.store().write(|tx| {
        store::imports::set_state(tx, import_id, ImportState::Interrupted, Some(&reason), now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: "system",
                action: "import.interrupted",
                subject: &import_id.to_string(),
                detail: serde_json::json!({ "error": error.to_string() }),
            },
        )?;
        Ok::<_, StoreError>(())
    });
}

fn run_checks(
    app: &Appliance,
    import_id: i64,
    parts: &[PathBuf],
    settings: &Settings,
    spools: Vec<spool::Spool>,
    steps: &mut Vec<NewStep>,
    now: DateTime<Utc>,
) -> Result<feed::Outcome, Stopped> {
    // The kept archive and the staged blobs are written back while the archive is read.
    let writeback = writeback::Writeback::start();
    for part in parts {
        writeback.ask(part);
    }
    let keys = steps::publisher_keys(app, settings).inspect_err(|r| {
        // Without keys the archive cannot be opened: its step fails.
        steps.push(feed::step(ImportStep::Archive, Err(r), Duration::ZERO));
    })?;
    let (policy, policy_sha256) = settings.policy.clone();
    let signers = steps::signers(app, now).map_err(|e| Rejection::new(ImportStep::Evidence, e))?;
    let key_id = app.key_id().as_str();
    let finish = |manifest: &airlock_bundler::archive::Manifest, j: evidence::Judged| {
        let artifact = &manifest.artifacts[j.position];
        let digest = artifact.digest.hex();
        let statement = vsa::statement(&vsa::Summary {
            name: &artifact.name,
            digest: &digest,
            verifier_key_id: key_id,
            time_verified: now,
            resource_uri: format!("urn:airlock:import:{import_id}:artifact:{}", j.position),
            policy_sha256: &policy_sha256,
            inputs: j.report.inputs(),
            passed: j.reasons.is_empty(),
            build_level: j.report.build_level(),
        });
        Decided {
            position: j.position,
            verdict: j.verdict,
            vsa: app.sign_dsse(vsa::IN_TOTO_PAYLOAD_TYPE, &statement),
            reasons_json: serde_json::to_string(&j.reasons)
                .expect("invariant: a list of strings serializes"),
            report: serde_json::to_vec(&j.report)
                .expect("invariant: the report serializes (derived, string keys)"),
            digest,
            signers: j.report.signer_identities(),
            rule: j.report.rule,
            reasons: j.reasons,
        }
    };
    feed::read_and_judge(
        &feed::Inputs {
            app,
            parts,
            keys: &keys,
            staging: &app.data().staging_of(import_id),
            settings,
            now,
            signers: &signers,
            policy: &policy,
            finish: &finish,
            writeback: &writeback,
        },
        spools,
        steps,
    )
}

/// What is kept of a rejected archive: the whole archive if the admin chose to keep rejected
/// archives whole and they fit in their room, else its first MiB (the size and SHA-256 of the
/// whole stay recorded).
fn keep_rejected(
    app: &Appliance,
    import_id: i64,
    kept: release::Kept,
    settings: &Settings,
) -> Result<store::KeptArchive, ImportError> {
    let whole = kept.whole_record(import_id);
    if kept.size <= crate::settings::REJECTED_HEAD_BYTES {
        return Ok(whole);
    }
    if settings.keep_rejected_whole {
        let taken = store::imports::rejected_kept_whole_bytes(app.store().read())?;
        if taken.saturating_add(kept.size) <= settings.rejected_max_total {
            return Ok(whole);
        }
    }
    let (path, kept_sha256, kept_bytes) =
        release::keep_head(app, import_id, &kept, crate::settings::REJECTED_HEAD_BYTES)?;
    Ok(store::KeptArchive {
        path: path.display().to_string(),
        kept_bytes,
        kept_sha256,
        ..whole
    })
}

fn reject(
    app: &Appliance,
    import_id: i64,
    req: &ImportRequest,
    rejection: Rejection,
    kept: &store::KeptArchive,
    steps: Vec<NewStep>,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportError> {
    let reason = format!("{}: {}", rejection.step, rejection.reason);
    app.store().write(|tx| {
        store::imports::set_kept_archive(tx, kept)?;
        for step in &steps {
            store::imports::add_step(tx, import_id, step)?;
        }
        if let Some((kind, subject)) = &rejection.alarm {
            store::alarms::raise(tx, *kind, subject, &rejection.reason, Some(import_id), now)?;
            audit::append(
                tx,
                now,
                &Event {
                    actor: "system",
                    action: "alarm.raised",
                    subject,
                    detail: serde_json::json!({"kind": kind.as_str(), "import": import_id, "detail": rejection.reason}),
                },
            )?;
        }
        store::imports::set_state(tx, import_id, ImportState::Rejected, Some(&reason), now)?;
        audit::append(
            tx,
            now,
            &Event {
                actor: &req.actor,
                action: "import.rejected",
                subject: &import_id.to_string(),
                detail: serde_json::json!({
                    "step": rejection.step,
                    "reason": rejection.reason,
                    "archive_sha256": kept.archive_sha256,
                    "kept": {
                        "path": kept.path,
                        "bytes": kept.kept_bytes,
                        "sha256": kept.kept_sha256,
                    },
                }),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok(ImportOutcome {
        import_id,
        state: ImportState::Rejected,
        reason: Some(reason),
        artifacts: Vec::new(),
    })
}

/// One artifact's verdict and what is stored for it, rendered on the evidence workers. The
/// report JSON and the signed VSA are `B`: bytes where they are made, then a span of the
/// worker's spool until the commit.
struct Decided<B> {
    position: usize,
    verdict: Verdict,
    reasons: Vec<String>,
    rule: String,
    /// `reasons` as the JSON stored.
    reasons_json: String,
    digest: String,
    /// Who verifiably signed it (from the report).
    signers: Vec<SignerIdentity>,
    report: B,
    vsa: B,
}

/// A verdict whose report and signed summary wait in a spool.
type Spooled = Decided<spool::Span>;

/// An error of the workers' spools, named by their folder (the files have no names).
fn spool_error(app: &Appliance) -> impl Fn(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: app.data().incoming(),
        source,
    }
}

impl Decided<Vec<u8>> {
    /// Moves the report and the summary to `spool`.
    fn spool(self, spool: &mut spool::Spool) -> std::io::Result<Spooled> {
        Ok(Decided {
            report: spool.put(&self.report)?,
            vsa: spool.put(&self.vsa)?,
            position: self.position,
            verdict: self.verdict,
            reasons: self.reasons,
            rule: self.rule,
            reasons_json: self.reasons_json,
            digest: self.digest,
            signers: self.signers,
        })
    }
}
