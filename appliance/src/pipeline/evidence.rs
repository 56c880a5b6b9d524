//! Evidence and policy, per artifact: every Sigstore bundle verified completely against the
//! trusted signers the artifact's rule allows, each log entry witnessed, SLSA provenance and
//! SBOMs evaluated, and the verdict the rule's enforcement mode gives. Artifacts are judged
//! in parallel while the archive streams (`feed`); a log fork seen in any entry stops the
//! whole import.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use airlock_bundler::archive::{
    Artifact, ArtifactKind, Manifest, Sha256Digest, blob_path, read_staged_blob,
};
use airlock_bundler::check::{Head, Linked, MAX_SBOM_SIZE, MAX_SIGNED_PAYLOAD, Signed};
use airlock_trust_root::{
    Bundle, ClaimedSigner, InclusionEvidence, Report, SignerPolicy, Verifier, VerifyError,
};

use super::{Rejection, oci};
use crate::policy::{
    self, Attestation, CYCLONEDX_PREDICATE_TYPE, Enforcement, Policy, Rule, SPDX_PREDICATE_TYPE,
    SbomSummary,
};
use crate::policy_store::NamedSigner;
use crate::report::{
    ArtifactReport, BundleCheck, ExpectedSigner, ImportStep, Mismatch, SbomCheck, SbomSource,
    Schema, SeenLogEntry, SeenRecord, Verdict, Verification, WitnessedBy, WitnessedEntry,
};
use crate::store::AlarmKind;

/// The largest Sigstore bundle (signature or attestation) an import reads: its size is checked
/// before it is read, and a larger one fails its check. Real bundles are kilobytes; an
/// attestation's statement is parsed whole (`serde_json::Value` for its predicate), so this
/// bounds what one costs in memory (trust-root's own bound, 16 MiB, is for any caller).
/// SBOMs larger than an attestation can carry travel as SBOM files, which are streamed.
pub const MAX_EVIDENCE_BUNDLE: u64 = 4 << 20;

/// Everything the evidence step looks at.
#[derive(Debug)]
pub(super) struct Context<'a> {
    pub(super) verifiers: &'a [Verifier],
    pub(super) signers: &'a [NamedSigner],
    pub(super) heads: &'a BTreeMap<String, Head>,
    pub(super) history: &'a HashMap<(String, u64), [u8; 32]>,
    pub(super) policy: &'a Policy,
    pub(super) manifest: &'a Manifest,
    /// The staging folder the blobs not held in memory are read from.
    pub(super) staging: &'a Path,
}

/// Evidence blobs the reader handed over with their bytes, by digest (the others are read from
/// the staging folder).
pub(super) type Held = Vec<(Sha256Digest, Arc<[u8]>)>;

impl Context<'_> {
    /// An evidence blob's bytes, from memory if held, refused if larger than `limit`.
    fn read(&self, held: &Held, digest: &Sha256Digest, limit: u64) -> Result<Arc<[u8]>, String> {
        if let Some((_, bytes)) = held.iter().find(|(d, _)| d == digest) {
            if bytes.len() as u64 > limit {
                return Err(format!("{} bytes (at most {limit})", bytes.len()));
            }
            return Ok(bytes.clone());
        }
        read_staged_blob(self.staging, digest, limit).map(Arc::from)
    }

    /// An SBOM file, size-checked before it is opened, then read in one streaming pass
    /// ([`crate::sbom::read_sbom`]): memory does not grow with the file.
    fn read_sbom(&self, held: &Held, digest: &Sha256Digest) -> Result<SbomSummary, String> {
        if let Some((_, bytes)) = held.iter().find(|(d, _)| d == digest) {
            if bytes.len() as u64 > MAX_SBOM_SIZE {
                return Err(format!("{} bytes (at most {MAX_SBOM_SIZE})", bytes.len()));
            }
            return crate::sbom::read_sbom(&bytes[..]);
        }
        read_sbom_file(&self.staging.join(blob_path(digest)))
    }
}

/// An SBOM file: its size checked against [`MAX_SBOM_SIZE`] before anything is read, then
/// read in one streaming pass.
fn read_sbom_file(path: &Path) -> Result<SbomSummary, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size > MAX_SBOM_SIZE {
        return Err(format!("{size} bytes (at most {MAX_SBOM_SIZE})"));
    }
    crate::sbom::read_sbom(file)
}

/// One artifact judged.
#[derive(Debug)]
pub(super) struct Judged {
    pub(super) position: usize,
    pub(super) verdict: Verdict,
    pub(super) reasons: Vec<String>,
    pub(super) report: ArtifactReport,
}

/// Judges the artifact at `position` of the manifest.
pub(super) fn judge(ctx: &Context<'_>, position: usize, held: &Held) -> Result<Judged, Rejection> {
    let artifact = &ctx.manifest.artifacts[position];
    let rule: Rule = ctx.policy.rule_for(&artifact.name);
    let allowed: Vec<&NamedSigner> = ctx
        .signers
        .iter()
        .filter(|s| {
            rule.signers
                .as_ref()
                .is_none_or(|names| names.contains(&s.name))
        })
        .collect();
    let mut problems = Vec::new();

    // An image's layout must point at exactly what was signed.
    if artifact.kind == ArtifactKind::OciImage {
        let read = |digest: &Sha256Digest, limit: u64| {
            ctx.read(held, digest, limit).map(|bytes| bytes.to_vec())
        };
        if let Err(e) = oci::check_layout(artifact, &read) {
            problems.push(format!("oci layout: {e}"));
        }
    }

    let mut signatures = Vec::new();
    for digest in &artifact.evidence.bundles {
        let direct = Signed::Artifact;
        signatures.push(check_bundle(ctx, held, artifact, digest, direct, &allowed)?.0);
    }
    // Cosign's simple signing: the bundle signs a payload, which must name the artifact.
    for signed in &artifact.evidence.signed_payloads {
        let payload = ctx.read(held, &signed.payload, MAX_SIGNED_PAYLOAD);
        let check = match &payload {
            Ok(bytes) => {
                let what = Signed::Payload(bytes);
                check_bundle(ctx, held, artifact, &signed.bundle, what, &allowed)?.0
            }
            Err(e) => BundleCheck {
                digest: signed.bundle.hex(),
                ok: false,
                signer: None,
                report: None,
                witnessed: Vec::new(),
                error: Some(format!(
                    "signed payload {}: {e}",
                    short(&signed.payload.hex())
                )),
                seen: None,
            },
        };
        signatures.push(check);
    }
    // The attestations' verified statements are read by the policy below; the report keeps
    // only its record of what verification showed.
    let (mut attestations, mut attestation_reports) = (Vec::new(), Vec::new());
    for digest in &artifact.evidence.attestations {
        let direct = Signed::Artifact;
        let (check, report) = check_bundle(ctx, held, artifact, digest, direct, &allowed)?;
        attestations.push(check);
        attestation_reports.push(report);
    }

    if artifact.evidence.bundles.is_empty() && artifact.evidence.signed_payloads.is_empty() {
        problems.push("no Sigstore bundle signs it".to_owned());
    } else if !signatures.iter().any(|s| s.ok) {
        let first = signatures
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        problems.push(format!("not signed by a trusted signer: {first}"));
    }
    for check in signatures.iter().chain(&attestations) {
        for entry in &check.witnessed {
            if entry.by == WitnessedBy::Unwitnessed {
                problems.push(format!(
                    "unwitnessed: bundle {} has a log entry at size {} of {} that no witnessed checkpoint covers",
                    short(&check.digest),
                    entry.size,
                    entry.origin
                ));
            }
        }
    }
    for check in &attestations {
        if let Some(error) = &check.error {
            problems.push(format!("attestation {}: {error}", short(&check.digest)));
        }
    }

    // SLSA provenance from the verified attestations.
    let statements: Vec<(&str, &serde_json::Value)> = attestation_reports
        .iter()
        .filter_map(|r| r.as_ref()?.dsse.as_ref())
        .map(|d| (d.predicate_type.as_str(), &d.predicate))
        .collect();
    let slsa = policy::evaluate_slsa(
        &rule.slsa,
        &statements
            .iter()
            .map(|(t, p)| Attestation {
                predicate_type: t,
                predicate: p,
            })
            .collect::<Vec<_>>(),
    );
    problems.extend(slsa.problems);

    // SBOMs: files, and SBOM attestations.
    let mut sboms = Vec::new();
    let mut parsed = Vec::new();
    for digest in &artifact.evidence.sboms {
        let result = ctx.read_sbom(held, digest);
        if let Err(e) = &result {
            problems.push(format!("sbom {}: {e}", short(&digest.hex())));
        }
        parsed.push(counted(&result));
        sboms.push(sbom_check(digest.hex(), SbomSource::File, result));
    }
    for (check, (predicate_type, predicate)) in
        attestations.iter().filter(|a| a.ok).zip(statements.iter())
    {
        if *predicate_type == CYCLONEDX_PREDICATE_TYPE || *predicate_type == SPDX_PREDICATE_TYPE {
            let result = policy::inspect_sbom_value(predicate);
            parsed.push(counted(&result));
            sboms.push(sbom_check(
                check.digest.clone(),
                SbomSource::Attestation,
                result,
            ));
        }
    }
    problems.extend(policy::evaluate_sbom(&rule.sbom, &parsed));

    let verdict = match (problems.is_empty(), rule.enforcement) {
        (true, _) | (false, Enforcement::Monitor) => Verdict::Passed,
        (false, Enforcement::Warn) => Verdict::Warned,
        (false, Enforcement::Enforce) => Verdict::Failed,
    };
    Ok(Judged {
        position,
        verdict,
        reasons: problems.clone(),
        report: ArtifactReport {
            schema: Schema::CURRENT,
            rule: rule.name,
            enforcement: rule.enforcement,
            signatures,
            attestations,
            provenance: slsa.provenance,
            sboms,
            problems,
        },
    })
}

fn sbom_check(digest: String, source: SbomSource, r: Result<SbomSummary, String>) -> SbomCheck {
    let (summary, error) = match r {
        Ok(summary) => (Some(summary), None),
        Err(error) => (None, Some(error)),
    };
    SbomCheck {
        digest,
        source,
        summary,
        error,
    }
}

/// What the policy judges of an SBOM: its format and count, without its components (the
/// report keeps those once).
fn counted(r: &Result<SbomSummary, String>) -> Result<SbomSummary, String> {
    r.as_ref()
        .map(|s| SbomSummary {
            format: s.format.clone(),
            components: Vec::new(),
            component_count: s.component_count,
            tools: Vec::new(),
            serial: None,
            created: None,
        })
        .map_err(Clone::clone)
}

/// Verifies one bundle for the artifact with every trusted root and allowed signer; the
/// first that verifies wins, with trust-root's report of it. The error is a log fork, fatal
/// for the import.
fn check_bundle(
    ctx: &Context<'_>,
    held: &Held,
    artifact: &Artifact,
    digest: &Sha256Digest,
    signed: Signed<'_>,
    allowed: &[&NamedSigner],
) -> Result<(BundleCheck, Option<Report>), Rejection> {
    let digest_hex = digest.hex();
    let failed = |error: String, seen: Option<SeenRecord>| {
        let check = BundleCheck {
            digest: digest_hex.clone(),
            ok: false,
            signer: None,
            report: None,
            witnessed: Vec::new(),
            error: Some(error),
            seen,
        };
        (check, None)
    };
    let bytes = match ctx.read(held, digest, MAX_EVIDENCE_BUNDLE) {
        Ok(b) => b,
        Err(e) => return Ok(failed(format!("bundle: {e}"), None)),
    };
    let bundle = match Bundle::from_json(&bytes) {
        Ok(b) => b,
        Err(e) => return Ok(failed(format!("bundle: {e}"), None)),
    };
    if allowed.is_empty() {
        let seen = seen(&bundle, allowed, None);
        return Ok(failed(
            "no trusted signer is configured for it".into(),
            Some(seen),
        ));
    }
    // The manifest declares the other digests its evidence names it by; the reader checks them.
    // A signed payload is verified against its bytes, then must name the artifact (the
    // connected side's checker holds the same rule).
    let subject = signed.subject(artifact);
    let mut first_error = None;
    for verifier in ctx.verifiers {
        for signer in allowed {
            match verifier.verify(&bundle, subject, &signer.policy) {
                Ok(report) => {
                    if let Err(e) = signed.names(artifact) {
                        return Ok(failed(e.to_string(), None));
                    }
                    let check = BundleCheck {
                        digest: digest_hex.clone(),
                        ok: true,
                        signer: Some(signer.name.clone()),
                        report: Some(Verification::from(&report)),
                        witnessed: witness_entries(ctx, &report)?,
                        error: None,
                        seen: None,
                    };
                    return Ok((check, Some(report)));
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| {
                        let mismatch = match e {
                            VerifyError::IdentityMismatch { .. } => Some(Mismatch::Identity),
                            VerifyError::IssuerMismatch { .. } => Some(Mismatch::Issuer),
                            _ => None,
                        };
                        (format!("{}: {e}", e.step()), mismatch)
                    });
                }
            }
        }
    }
    let (error, mismatch) =
        first_error.unwrap_or_else(|| ("no trusted root to verify against".into(), None));
    Ok(failed(error, Some(seen(&bundle, allowed, mismatch))))
}

/// What a bundle that failed claims (unverified) beside the signers the policy accepts.
fn seen(bundle: &Bundle, allowed: &[&NamedSigner], mismatch: Option<Mismatch>) -> SeenRecord {
    let (identities, issuer, key_hint) = match bundle.claimed_signer() {
        ClaimedSigner::Certificate { identities, issuer } => (identities, issuer, None),
        ClaimedSigner::KeyHint(hint) => (Vec::new(), None, Some(hint)),
    };
    SeenRecord {
        identities,
        issuer,
        key_hint,
        log_entries: bundle
            .claimed_log_entries()
            .into_iter()
            .map(|e| SeenLogEntry {
                log_id: e.log_id,
                log_index: e.log_index,
                kind: e.kind,
                integrated_time: e
                    .integrated_time
                    .and_then(|t| i64::try_from(t).ok())
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            })
            .collect(),
        expected: allowed
            .iter()
            .map(|signer| match &signer.policy {
                SignerPolicy::Keyless(id) => ExpectedSigner {
                    name: signer.name.clone(),
                    identity: Some(id.subject.to_string()),
                    issuer: Some(id.issuer.to_string()),
                    key_id: None,
                },
                SignerPolicy::PublicKey(key) => ExpectedSigner {
                    name: signer.name.clone(),
                    identity: None,
                    issuer: None,
                    key_id: Some(hex::encode(key.key_id())),
                },
            })
            .collect(),
        mismatch,
    }
}

fn witness_entries(ctx: &Context<'_>, report: &Report) -> Result<Vec<WitnessedEntry>, Rejection> {
    let mut out = Vec::new();
    for entry in &report.log_entries {
        let Some(c) = &entry.checkpoint else {
            // A v0.1 promise: the log signed that it will include the entry (verified), but
            // names no tree a witness could check. Accepted, as the spec allows, and shown.
            let by = match entry.proven_by {
                InclusionEvidence::SignedEntryTimestamp => WitnessedBy::Promise,
                InclusionEvidence::InclusionProof => WitnessedBy::Unwitnessed,
            };
            out.push(WitnessedEntry {
                origin: entry.log_base_url.clone(),
                size: 0,
                by,
            });
            continue;
        };
        let fork = || {
            Rejection::new(
                ImportStep::Witness,
                format!(
                    "log {}: an entry's checkpoint at size {} contradicts the witnessed log: fork",
                    c.origin, c.size
                ),
            )
            .with_alarm(AlarmKind::LogFork, c.origin.clone())
        };
        let linked = ctx
            .heads
            .get(&c.origin)
            .map(|h| h.witnesses(c.size, &c.root_hash));
        let by = match linked {
            Some(Linked::Head) => WitnessedBy::Head,
            Some(Linked::Proof) => WitnessedBy::Proof,
            Some(Linked::Fork) => return Err(fork()),
            Some(Linked::NoProof) | None => match ctx.history.get(&(c.origin.clone(), c.size)) {
                Some(root) if *root == c.root_hash => WitnessedBy::History,
                Some(_) => return Err(fork()),
                None => WitnessedBy::Unwitnessed,
            },
        };
        out.push(WitnessedEntry {
            origin: c.origin.clone(),
            size: c.size,
            by,
        });
    }
    Ok(out)
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_sbom_file_over_the_size_cap_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sbom.json");
        // Sparse: its size is what is checked; nothing is read.
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_SBOM_SIZE + 1).unwrap();
        assert_eq!(
            read_sbom_file(&path).unwrap_err(),
            "67108865 bytes (at most 67108864)"
        );
        file.set_len(0).unwrap();
        std::fs::write(&path, br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
        assert_eq!(read_sbom_file(&path).unwrap().format, "SPDX-2.3");
    }
}
