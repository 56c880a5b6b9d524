//! The archive read and the artifact judgements as one pass: the reader stages and verifies
//! blobs on this thread while workers judge each artifact as soon as its evidence is in.
//!
//! ```text
//! reader (this thread)                          workers (one per core)
//!   envelope verified → publisher step
//!   last trust file in → trust, witness steps
//!   an artifact's last evidence blob in ──job──▶  judge + sign its summary
//!   … the artifacts' files …
//!   end of archive verified                     ◀── verdicts
//! ```
//!
//! The outcome is the one the steps taken one after another would give: an archive that fails
//! anywhere is rejected by the archive step whatever was judged before (nothing is kept of it);
//! otherwise the first archive-wide rejection (publisher, trust, witness, a fork seen in an
//! entry) decides; otherwise every artifact has its verdict.
//!
//! The reader never waits for the workers, so the artifacts' files are staged while the
//! evidence is still being judged. Memory stays bounded all the same: evidence bytes are held,
//! until their artifact's job is done, up to [`HOLD_LIMIT`] in all (beyond it a worker reads
//! them back from staging), and a job without bytes is a few words (their number is bounded
//! by the manifest's, itself at most `MAX_ENVELOPE_SIZE`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use airlock_bundler::archive::{
    ArchiveError, ArchiveParts, ArtifactKind, Manifest, PublisherKeys, ReadObserver, Sha256Digest,
    StagedArchive, read_archive,
};
use airlock_bundler::check::Head;
use airlock_bundler::keys::KeyId;
use airlock_trust_root::Verifier;
use chrono::{DateTime, Utc};

use super::evidence::{self, Context, Held, Judged};
use super::spool::{Spool, Spools, Written};
use super::steps::{self, NewCheckpoint, NewTrustState};
use super::{Decided, ImportError, Rejection, Settings, Spooled, Stopped, spool_error};
use crate::appliance::Appliance;
use crate::policy::Policy;
use crate::policy_store::NamedSigner;
use crate::report::{ImportStep, Verdict};
use crate::store::NewStep;

/// Evidence bytes held in memory for artifacts not yet judged, at most. Past it, workers
/// read evidence back from staging (still in the page cache): a little slower, never more
/// memory.
pub(super) const HOLD_LIMIT: usize = 4 << 20;

/// What the pass needs.
pub(super) struct Inputs<'a> {
    pub(super) app: &'a Appliance,
    pub(super) parts: &'a [PathBuf],
    pub(super) keys: &'a PublisherKeys,
    pub(super) staging: &'a Path,
    pub(super) settings: &'a Settings,
    pub(super) now: DateTime<Utc>,
    pub(super) signers: &'a [NamedSigner],
    pub(super) policy: &'a Policy,
    /// Turns a judgement into what is stored (run on the worker).
    pub(super) finish: &'a (dyn Fn(&Manifest, Judged) -> Decided<Vec<u8>> + Sync),
    /// Where large staged blobs are sent to be written back early.
    pub(super) writeback: &'a super::writeback::Writeback,
}

/// Everything the pass decided, ready to commit.
pub(super) struct Outcome {
    pub(super) staged: StagedArchive,
    pub(super) trust_states: Vec<NewTrustState>,
    pub(super) checkpoints: Vec<NewCheckpoint>,
    /// In manifest order.
    pub(super) judged: Vec<Spooled>,
    /// Their reports and signed summaries.
    pub(super) spools: Spools,
}

/// What every judgement needs once trust and the witness are settled.
struct Ready {
    verifiers: Vec<Verifier>,
    heads: BTreeMap<String, Head>,
    history: HashMap<(String, u64), [u8; 32]>,
}

/// One artifact to judge.
struct Job {
    ready: Arc<Ready>,
    manifest: Arc<Manifest>,
    position: usize,
    held: Held,
    /// The held bytes this job accounts for (released when it is done).
    held_bytes: usize,
}

/// Reads the archive into `staging` and judges every artifact, on one worker per spool;
/// `steps` receives the archive, publisher, trust, witness and evidence steps in that order,
/// as far as they got.
pub(super) fn read_and_judge(
    inputs: &Inputs<'_>,
    spools: Vec<Spool>,
    steps: &mut Vec<NewStep>,
) -> Result<Outcome, Stopped> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Mutex::new(queue);
    let stop = AtomicBool::new(false);
    let queued_bytes = AtomicUsize::new(0);
    let mut feed = Feed::new(inputs, jobs, &stop, &queued_bytes);

    let (read, archive_took, verdicts) = std::thread::scope(|scope| {
        let handles: Vec<_> = spools
            .into_iter()
            .map(|spool| {
                let (queue, stop, queued_bytes) = (&queue, &stop, &queued_bytes);
                scope.spawn(move || work(spool, queue, inputs, stop, queued_bytes))
            })
            .collect();
        let started = Instant::now();
        let parts = ArchiveParts::from_paths(inputs.parts.to_vec());
        let read = read_archive(&parts, inputs.keys, inputs.staging, &mut feed);
        let archive_took = started.elapsed();
        if read.is_ok() {
            // Every blob is in and verified: whatever still waits (an archive written in
            // another order) goes now.
            feed.trust_missing.clear();
            feed.settle();
            feed.dispatch_all();
        } else {
            stop.store(true, Ordering::Relaxed);
        }
        // Closing the queue ends the workers once it is drained.
        feed.jobs = None;
        let verdicts: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Rejection::new(ImportStep::Evidence, "a worker stopped").into())
                })
            })
            .collect();
        (read, archive_took, verdicts)
    });

    let staged = match read {
        Ok(staged) => {
            steps.push(step(
                ImportStep::Archive,
                Ok(format!(
                    "signature verified ({} key(s)); {} blobs, {} bytes staged",
                    staged.signers().len(),
                    staged.manifest().blobs.len(),
                    staged.manifest().total_blob_size()
                )),
                archive_took,
            ));
            staged
        }
        // Writing the staging folder (or reading the appliance's own copy) failed: the
        // appliance's failure, not the archive's.
        Err(ArchiveError::Io { path, source }) => {
            return Err(Stopped::Failed(ImportError::Io { path, source }));
        }
        Err(ArchiveError::StagingExists(path)) => {
            return Err(Stopped::Failed(ImportError::Io {
                path,
                source: std::io::ErrorKind::AlreadyExists.into(),
            }));
        }
        Err(e) => {
            let rejection = Rejection::new(ImportStep::Archive, e.to_string());
            steps.push(step(ImportStep::Archive, Err(&rejection), archive_took));
            return Err(rejection.into());
        }
    };
    let Feed {
        steps: settled,
        rejection,
        trust_states,
        checkpoints,
        evidence_started,
        ..
    } = feed;
    steps.extend(settled);
    if let Some(rejection) = rejection {
        return Err(rejection.into());
    }

    let mut judged = Vec::with_capacity(staged.manifest().artifacts.len());
    let mut spools = Vec::with_capacity(verdicts.len());
    let mut first_error = None;
    let mut last = None;
    for verdict in verdicts {
        match verdict {
            Ok((v, done, spool)) => {
                judged.extend(v);
                spools.push(spool);
                last = last.max(done);
            }
            // The appliance's own failure wins over a rejection: the judging is incomplete,
            // and importing again gives the rejection if there is one.
            Err(Stopped::Failed(error)) => return Err(Stopped::Failed(error)),
            Err(Stopped::Rejected(r)) => {
                first_error.get_or_insert(r);
            }
        }
    }
    // From trust settled to the last verdict (the read may have ended later).
    let took = match (evidence_started, last) {
        (Some(start), Some(end)) => end.saturating_duration_since(start),
        _ => Duration::ZERO,
    };
    if let Some(rejection) = first_error {
        steps.push(step(ImportStep::Evidence, Err(&rejection), took));
        return Err(rejection.into());
    }
    judged.sort_by_key(|d| d.position);
    if judged.len() != staged.manifest().artifacts.len() {
        let rejection = Rejection::new(
            ImportStep::Evidence,
            format!(
                "{} of {} artifacts were judged",
                judged.len(),
                staged.manifest().artifacts.len()
            ),
        );
        steps.push(step(ImportStep::Evidence, Err(&rejection), took));
        return Err(rejection.into());
    }
    let count = |v: Verdict| judged.iter().filter(|j| j.verdict == v).count();
    let detail = format!(
        "{} artifact(s): {} passed, {} warned, {} failed",
        judged.len(),
        count(Verdict::Passed),
        count(Verdict::Warned),
        count(Verdict::Failed)
    );
    steps.push(step(ImportStep::Evidence, Ok(detail), took));
    Ok(Outcome {
        staged,
        trust_states,
        checkpoints,
        judged,
        spools: Spools::new(spools),
    })
}

/// A step's record from its outcome.
pub(super) fn step(
    name: ImportStep,
    result: Result<String, &Rejection>,
    took: Duration,
) -> NewStep {
    let (ok, detail) = match result {
        Ok(detail) => (true, detail),
        Err(r) => (false, r.reason.clone()),
    };
    NewStep {
        step: name,
        ok,
        detail,
        duration: took,
    }
}

/// A worker: judges queued artifacts until the queue closes; returns its verdicts, when it
/// reached the last, and its spool of their reports. A failure (a fork) stops the judging;
/// the queue is still drained.
fn work(
    mut spool: Spool,
    queue: &Mutex<Receiver<Job>>,
    inputs: &Inputs<'_>,
    stop: &AtomicBool,
    queued_bytes: &AtomicUsize,
) -> Result<(Vec<Spooled>, Option<Instant>, Written), Stopped> {
    let spool_failed = |source: std::io::Error| {
        stop.store(true, Ordering::Relaxed);
        Stopped::Failed(spool_error(inputs.app)(source))
    };
    let mut out = Vec::new();
    let mut failed = None;
    let mut last = None;
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { break };
        let _release = Release(queued_bytes, job.held_bytes);
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let ctx = Context {
            verifiers: &job.ready.verifiers,
            signers: inputs.signers,
            heads: &job.ready.heads,
            history: &job.ready.history,
            policy: inputs.policy,
            manifest: &job.manifest,
            staging: inputs.staging,
        };
        let judged = catch_unwind(AssertUnwindSafe(|| {
            evidence::judge(&ctx, job.position, &job.held)
                .map(|j| (inputs.finish)(&job.manifest, j))
        }))
        .unwrap_or_else(|_| {
            Err(Rejection::new(
                ImportStep::Evidence,
                format!("judging artifact {} failed unexpectedly", job.position),
            ))
        });
        match judged {
            Ok(decided) => match decided.spool(&mut spool) {
                Ok(spooled) => {
                    out.push(spooled);
                    last = Some(Instant::now());
                }
                Err(e) => {
                    failed.get_or_insert(spool_failed(e));
                }
            },
            Err(rejection) => {
                stop.store(true, Ordering::Relaxed);
                failed.get_or_insert(rejection.into());
            }
        }
    }
    if let Some(stopped) = failed {
        return Err(stopped);
    }
    let written = spool.finish().map_err(spool_failed)?;
    Ok((out, last, written))
}

/// Gives a job's held bytes back to the budget when it is done.
struct Release<'a>(&'a AtomicUsize, usize);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::Relaxed);
    }
}

/// The reader's observer: runs the archive-wide steps as soon as their inputs are verified and
/// hands each artifact to the workers once its evidence is.
struct Feed<'i, 'a> {
    inputs: &'i Inputs<'a>,
    jobs: Option<Sender<Job>>,
    stop: &'i AtomicBool,
    /// Held bytes of jobs handed over and not yet done.
    queued_bytes: &'i AtomicUsize,
    manifest: Option<Arc<Manifest>>,
    /// The publisher, trust and witness steps, in order, as far as they got.
    steps: Vec<NewStep>,
    /// The first archive-wide rejection; nothing more is judged after it.
    rejection: Option<Rejection>,
    /// Trust files not yet staged.
    trust_missing: HashSet<Sha256Digest>,
    ready: Option<Arc<Ready>>,
    trust_states: Vec<NewTrustState>,
    checkpoints: Vec<NewCheckpoint>,
    /// Per artifact: its distinct evidence blobs not yet staged.
    missing: Vec<usize>,
    /// Per evidence blob: the artifacts waiting for it.
    waiting: HashMap<Sha256Digest, Vec<usize>>,
    /// Per evidence blob: artifacts using it not yet handed over (its bytes go at zero).
    users: HashMap<Sha256Digest, usize>,
    /// Evidence bytes held for artifacts not yet handed over, and their total.
    held: HashMap<Sha256Digest, Arc<[u8]>>,
    held_bytes: usize,
    dispatched: Vec<bool>,
    evidence_started: Option<Instant>,
}

impl<'i, 'a> Feed<'i, 'a> {
    fn new(
        inputs: &'i Inputs<'a>,
        jobs: Sender<Job>,
        stop: &'i AtomicBool,
        queued_bytes: &'i AtomicUsize,
    ) -> Self {
        Self {
            inputs,
            jobs: Some(jobs),
            stop,
            queued_bytes,
            manifest: None,
            steps: Vec::new(),
            rejection: None,
            trust_missing: HashSet::new(),
            ready: None,
            trust_states: Vec::new(),
            checkpoints: Vec::new(),
            missing: Vec::new(),
            waiting: HashMap::new(),
            users: HashMap::new(),
            held: HashMap::new(),
            held_bytes: 0,
            dispatched: Vec::new(),
            evidence_started: None,
        }
    }

    /// Runs a step unless an earlier one rejected the archive.
    fn run<T>(
        &mut self,
        name: ImportStep,
        f: impl FnOnce() -> Result<(T, String), Rejection>,
    ) -> Option<T> {
        if self.rejection.is_some() {
            return None;
        }
        let started = Instant::now();
        let result = f();
        let took = started.elapsed();
        match result {
            Ok((value, detail)) => {
                self.steps.push(step(name, Ok(detail), took));
                Some(value)
            }
            Err(rejection) => {
                self.steps.push(step(name, Err(&rejection), took));
                self.rejection = Some(rejection);
                None
            }
        }
    }

    /// Trust and the witness, once every trust file is staged (run at most once).
    fn settle(&mut self) {
        if self.ready.is_some() || self.rejection.is_some() || !self.trust_missing.is_empty() {
            return;
        }
        let Some(manifest) = self.manifest.clone() else {
            return;
        };
        let inputs = self.inputs;
        let Some(trust) = self.run(ImportStep::Trust, || {
            steps::check_trust(inputs.app, &manifest, inputs.staging)
        }) else {
            return;
        };
        let Some(witness) = self.run(ImportStep::Witness, || {
            steps::check_witness(inputs.app, &manifest, &trust.verifiers)
        }) else {
            return;
        };
        self.trust_states = trust.states;
        self.checkpoints = witness.accepted;
        self.ready = Some(Arc::new(Ready {
            verifiers: trust.verifiers,
            heads: witness.heads,
            history: witness.history,
        }));
        self.evidence_started = Some(Instant::now());
        let complete: Vec<usize> = (0..self.missing.len())
            .filter(|&a| self.missing[a] == 0)
            .collect();
        for position in complete {
            self.dispatch(position);
        }
    }

    /// Hands every artifact not yet handed over to the workers (all blobs are in).
    fn dispatch_all(&mut self) {
        for position in 0..self.dispatched.len() {
            self.dispatch(position);
        }
    }

    /// Hands one artifact to the workers, with the evidence bytes held for it.
    fn dispatch(&mut self, position: usize) {
        if self.dispatched[position]
            || self.rejection.is_some()
            || self.stop.load(Ordering::Relaxed)
        {
            return;
        }
        let (Some(ready), Some(manifest), Some(jobs)) = (&self.ready, &self.manifest, &self.jobs)
        else {
            return;
        };
        self.dispatched[position] = true;
        let mut held = Vec::new();
        let mut job_bytes = 0;
        for digest in distinct_evidence(manifest, position) {
            if let Some(bytes) = self.held.get(&digest) {
                held.push((digest, bytes.clone()));
            }
            if let Some(users) = self.users.get_mut(&digest) {
                *users -= 1;
                if *users == 0
                    && let Some(bytes) = self.held.remove(&digest)
                {
                    // From the feed's account to the job's.
                    self.held_bytes -= bytes.len();
                    job_bytes += bytes.len();
                }
            }
        }
        self.queued_bytes.fetch_add(job_bytes, Ordering::Relaxed);
        let job = Job {
            ready: ready.clone(),
            manifest: manifest.clone(),
            position,
            held,
            held_bytes: job_bytes,
        };
        if jobs.send(job).is_err() {
            // The workers are gone (only if they all failed): stop feeding them.
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// An artifact's evidence blobs, each once. For an OCI image these include the layout files
/// its binding to the signed digest is checked on (`oci.rs`): `index.json` and the signed
/// manifest, or every file if what was signed is an index (its manifests are read too).
fn distinct_evidence(manifest: &Manifest, position: usize) -> Vec<Sha256Digest> {
    let artifact = &manifest.artifacts[position];
    let e = &artifact.evidence;
    let mut layout = Vec::new();
    if artifact.kind == ArtifactKind::OciImage {
        let signed_index = artifact.media_type.contains("image.index")
            || artifact.media_type.contains("manifest.list");
        layout.extend(
            artifact
                .files
                .iter()
                .filter(|f| signed_index || f.path.as_str() == "index.json")
                .map(|f| f.digest),
        );
        layout.push(artifact.digest);
    }
    let mut seen = HashSet::new();
    e.blobs()
        .chain(&layout)
        .filter(|d| seen.insert(**d))
        .copied()
        .collect()
}

impl ReadObserver for Feed<'_, '_> {
    fn opened(&mut self, manifest: &Arc<Manifest>, signers: &[KeyId]) {
        self.manifest = Some(manifest.clone());
        let inputs = self.inputs;
        self.run(ImportStep::Publisher, || {
            steps::check_publisher(inputs.app, manifest, signers, inputs.settings, inputs.now)
                .map(|detail| ((), detail))
        });
        self.trust_missing = manifest
            .trust
            .iter()
            .flat_map(|t| t.metadata.iter().chain(&t.targets))
            .map(|f| f.digest)
            .collect();
        let count = manifest.artifacts.len();
        self.missing = vec![0; count];
        self.dispatched = vec![false; count];
        for position in 0..count {
            for digest in distinct_evidence(manifest, position) {
                self.missing[position] += 1;
                self.waiting.entry(digest).or_default().push(position);
                *self.users.entry(digest).or_default() += 1;
            }
        }
        self.settle();
    }

    fn blob(&mut self, digest: &Sha256Digest, path: &Path, bytes: Option<&[u8]>) {
        if self.rejection.is_some() || self.stop.load(Ordering::Relaxed) {
            return;
        }
        if bytes.is_none() {
            // A large blob (small ones come with their bytes): to disk while reading goes on.
            self.inputs.writeback.ask(path);
        }
        if self.trust_missing.remove(digest) && self.trust_missing.is_empty() {
            self.settle();
        }
        let Some(waiting) = self.waiting.remove(digest) else {
            return;
        };
        if let Some(bytes) = bytes
            && self.held_bytes + self.queued_bytes.load(Ordering::Relaxed) + bytes.len()
                <= HOLD_LIMIT
        {
            self.held_bytes += bytes.len();
            self.held.insert(*digest, Arc::from(bytes));
        }
        for position in waiting {
            self.missing[position] -= 1;
            if self.missing[position] == 0 {
                self.dispatch(position);
            }
        }
    }
}
