//! What an import records about each artifact, as one typed value: the per-artifact report
//! (every check and what it saw) that the pipeline writes, the store keeps as JSON beside the
//! artifact's row, and the pages and the API read back; and the names stored as text in the
//! rows (verdict, artifact kind, import step), read into enums where the store reads them.
//!
//! **Versioning rule.** A report's JSON carries `schema` ([`Schema::CURRENT`]); a report
//! without it is version 1 (what the appliance wrote before the field existed). The spelling
//! never changes under stored rows: a field added later is `#[serde(default)]`, so every
//! stored report still reads; a change older reports cannot be read under (a rename, a new
//! meaning) needs a new schema number and its own reading of the older ones. A report of a
//! schema newer than this code knows is refused, not half read.
//!
//! The verification part is this module's own record of what trust-root's
//! [`airlock_trust_root::Report`] showed (built `From<&Report>`): trust-root's report is made
//! only by its verifier and is never read back.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use airlock_bundler::archive::ArtifactKind;
use airlock_trust_root::{
    CheckpointFacts, DigestFacts, DsseFacts, IgnoredCertificate, InclusionEvidence, LogEntryFacts,
    ObservedTime, Report, SignerFacts, TimeSource,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::policy::{Enforcement, ProvenanceFacts, SbomComponent, SbomSummary};

/// Which version of the report's JSON a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Schema(u32);

impl Schema {
    /// Reports stored before the field existed.
    pub const V1: Self = Self(1);
    /// What this code writes.
    pub const CURRENT: Self = Self(2);

    /// A stored report without `schema`.
    fn unversioned() -> Self {
        Self::V1
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u32::deserialize(d)?;
        if !(Self::V1.0..=Self::CURRENT.0).contains(&n) {
            return Err(serde::de::Error::custom(format!(
                "report schema {n} is not one this appliance reads ({} to {})",
                Self::V1.0,
                Self::CURRENT.0
            )));
        }
        Ok(Self(n))
    }
}

/// Every check made for one artifact and what it saw (stored as JSON, shown on its page and
/// returned by the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactReport {
    /// The version of this JSON.
    #[serde(default = "Schema::unversioned")]
    pub schema: Schema,
    /// The rule that decided (`default` or `override:<name>`).
    pub rule: String,
    /// Its enforcement mode.
    pub enforcement: Enforcement,
    /// Bundles signing the artifact.
    pub signatures: Vec<BundleCheck>,
    /// Attestation bundles (provenance, SBOM attestations).
    pub attestations: Vec<BundleCheck>,
    /// The provenance the SLSA requirements were judged on.
    pub provenance: Option<ProvenanceFacts>,
    /// SBOMs, as files or attestations.
    pub sboms: Vec<SbomCheck>,
    /// Why the checks failed; empty when they all passed.
    pub problems: Vec<String>,
}

impl ArtifactReport {
    /// The digests of the bundles and attestations evaluated.
    pub fn inputs(&self) -> Vec<&str> {
        self.signatures
            .iter()
            .chain(&self.attestations)
            .map(|b| b.digest.as_str())
            .collect()
    }

    /// The SLSA build level verified.
    pub fn build_level(&self) -> u8 {
        self.provenance.as_ref().map_or(0, |p| p.build_level)
    }

    /// Who verifiably signed the artifact: the signer of each signature bundle that verified
    /// for a trusted signer, in bundle order, each once. Attestations are left out (their
    /// signer vouches for a build, not for the artifact), as are bundles that failed (what
    /// they claimed was not proven). The artifacts list records these at import to filter on.
    pub fn signer_identities(&self) -> Vec<SignerIdentity> {
        let mut seen: Vec<SignerIdentity> = Vec::new();
        for check in self.signatures.iter().filter(|b| b.ok) {
            let Some(verified) = &check.report else {
                continue;
            };
            let identity = SignerIdentity::from(&verified.signer);
            if !seen.contains(&identity) {
                seen.push(identity);
            }
        }
        seen
    }
}

/// The components a stored report's SBOMs list, as kept, each distinct one (name, version,
/// purl and licence) once, in SBOM order: what the components index records of an artifact.
/// Only `sboms` is read, so the rest of the report costs nothing here.
pub fn sbom_components(report_json: &str) -> Result<Vec<SbomComponent>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Sboms {
        #[serde(default)]
        sboms: Vec<SbomCheck>,
    }
    let Sboms { sboms } = serde_json::from_str(report_json)?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for component in sboms
        .into_iter()
        .filter_map(|s| s.summary)
        .flat_map(|s| s.components)
    {
        if !seen.contains(&component) {
            seen.insert(component.clone());
            out.push(component);
        }
    }
    Ok(out)
}

/// Who signed, in brief: a certificate's identity and OIDC issuer, or a key's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignerIdentity {
    /// A certificate from a trusted CA.
    Certificate {
        /// The subject alternative name.
        identity: String,
        /// The OIDC issuer.
        issuer: String,
    },
    /// A key the policy names.
    PublicKey {
        /// SHA-256 of the key's SubjectPublicKeyInfo, hex.
        key_id: String,
    },
}

impl SignerIdentity {
    /// As stored (`certificate` or `key`).
    pub fn kind_str(&self) -> &'static str {
        match self {
            Self::Certificate { .. } => "certificate",
            Self::PublicKey { .. } => "key",
        }
    }

    /// The text searched and shown: the identity, or the key id.
    pub fn identity(&self) -> &str {
        match self {
            Self::Certificate { identity, .. } => identity,
            Self::PublicKey { key_id } => key_id,
        }
    }

    /// The issuer, for a certificate.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            Self::Certificate { issuer, .. } => Some(issuer),
            Self::PublicKey { .. } => None,
        }
    }

    /// A stored row read back: `certificate` with its issuer, or `key` without one; any
    /// other combination is `None`.
    pub fn from_stored(kind: &str, identity: String, issuer: Option<String>) -> Option<Self> {
        match (kind, issuer) {
            ("certificate", Some(issuer)) => Some(Self::Certificate { identity, issuer }),
            ("key", None) => Some(Self::PublicKey { key_id: identity }),
            _ => None,
        }
    }
}

impl From<&SignerRecord> for SignerIdentity {
    fn from(s: &SignerRecord) -> Self {
        match s {
            SignerRecord::Certificate {
                identity, issuer, ..
            } => Self::Certificate {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
            SignerRecord::PublicKey { key_id, .. } => Self::PublicKey {
                key_id: key_id.clone(),
            },
        }
    }
}

/// One Sigstore bundle's verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleCheck {
    /// The bundle blob's digest (hex).
    pub digest: String,
    /// Whether it verified for a trusted signer.
    pub ok: bool,
    /// The trusted signer that matched.
    pub signer: Option<String>,
    /// What verification proved.
    pub report: Option<Verification>,
    /// How each log entry is witnessed.
    pub witnessed: Vec<WitnessedEntry>,
    /// Why it failed.
    pub error: Option<String>,
    /// For a bundle that did not verify: what it claims, unverified, beside what the policy
    /// asked for (absent in reports written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<SeenRecord>,
}

/// What a bundle that failed verification says of itself, **unverified**, and the signers the
/// policy would have accepted: so a reader sees who signed and what did not match, not only an
/// error. Nothing here was proven; the verdict never reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// The certificate's subject alternative names (empty for a key).
    pub identities: Vec<String>,
    /// The certificate's OIDC issuer extension.
    pub issuer: Option<String>,
    /// A managed key's hint, for a bundle signed with a key.
    pub key_hint: Option<String>,
    /// The log entries it carries.
    pub log_entries: Vec<SeenLogEntry>,
    /// The signers the policy accepts for this artifact.
    pub expected: Vec<ExpectedSigner>,
    /// Which part of a certificate failed to match, when that was the failure.
    pub mismatch: Option<Mismatch>,
}

/// A log entry a failed bundle names (unverified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenLogEntry {
    /// The log's id (hex).
    pub log_id: String,
    /// The entry's index.
    pub log_index: u64,
    /// Kind and version (`hashedrekord 0.0.1`).
    pub kind: String,
    /// The integrated time it claims.
    pub integrated_time: Option<DateTime<Utc>>,
}

/// A signer the policy accepts, as the policy states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedSigner {
    /// The signer's name in the policy.
    pub name: String,
    /// The identity it requires (exact or `pattern "…"`), for a keyless signer.
    pub identity: Option<String>,
    /// The OIDC issuer it requires, for a keyless signer.
    pub issuer: Option<String>,
    /// The key's id (hex SHA-256 of its SPKI), for a key.
    pub key_id: Option<String>,
}

/// Which part of the signing certificate did not match the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mismatch {
    /// The subject alternative name.
    Identity,
    /// The OIDC issuer.
    Issuer,
}

/// A log entry's checkpoint and how the site's witness vouches for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedEntry {
    /// The log (its checkpoint origin; a promise's log base URL).
    pub origin: String,
    /// The entry's checkpoint size (0 for a promise).
    pub size: u64,
    /// How it is witnessed.
    pub by: WitnessedBy,
}

/// How the site's witness vouches for a log entry's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WitnessedBy {
    /// It is the carried head.
    Head,
    /// A carried consistency proof links it to the head.
    Proof,
    /// The site stored this checkpoint before.
    History,
    /// A v0.1 signed entry timestamp only: no checkpoint to witness.
    Promise,
    /// No witnessed checkpoint covers it.
    Unwitnessed,
}

impl WitnessedBy {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Proof => "proof",
            Self::History => "history",
            Self::Promise => "promise",
            Self::Unwitnessed => "unwitnessed",
        }
    }
}

/// One SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomCheck {
    /// The blob's digest (the SBOM file, or the attestation bundle).
    pub digest: String,
    /// Where it came from.
    pub source: SbomSource,
    /// What it lists.
    pub summary: Option<SbomSummary>,
    /// Why it did not parse.
    pub error: Option<String>,
}

/// Where an SBOM came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomSource {
    /// An SBOM file the archive carries.
    File,
    /// The predicate of a verified SBOM attestation.
    Attestation,
}

impl SbomSource {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Attestation => "attestation",
        }
    }
}

/// What verifying one bundle showed: the appliance's record of trust-root's
/// [`Report`], with its JSON spelling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The bundle's media type version (`0.1` … `0.3`).
    pub bundle_version: String,
    /// The artifact's SHA-256.
    #[serde(with = "hex::serde")]
    pub artifact_sha256: [u8; 32],
    /// The digest that bound the artifact to what was signed (reports before real-world
    /// bundles were verified lack it).
    #[serde(default)]
    pub artifact_digest: Option<DigestRecord>,
    /// Who signed.
    pub signer: SignerRecord,
    /// CA certificates the bundle carried in its chain, which verification ignored.
    #[serde(default)]
    pub ignored_chain_certificates: Vec<IgnoredCertificateRecord>,
    /// The verified log entries.
    pub log_entries: Vec<LogEntryRecord>,
    /// The times the signature verifiably existed at.
    pub observed_times: Vec<ObservedTimeRecord>,
    /// The statement, for DSSE bundles.
    pub dsse: Option<DsseRecord>,
}

/// A digest of the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestRecord {
    /// `sha256`, `sha384` or `sha512`.
    pub algorithm: String,
    /// Hex.
    pub hex: String,
}

/// Who signed, as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignerRecord {
    /// A certificate from a trusted CA.
    Certificate {
        /// The subject alternative name that matched the policy.
        identity: String,
        /// The OIDC issuer from the certificate.
        issuer: String,
        /// The certificate's serial number.
        serial: String,
        /// Its validity.
        not_before: DateTime<Utc>,
        /// Its validity.
        not_after: DateTime<Utc>,
        /// The trusted root's URI for the issuing CA.
        certificate_authority: String,
        /// CT logs (hex log ids) whose SCTs verified.
        sct_log_ids: Vec<String>,
    },
    /// A key the policy names.
    PublicKey {
        /// SHA-256 of the key's SubjectPublicKeyInfo, hex.
        key_id: String,
        /// The bundle's (unauthenticated) hint naming the key.
        hint: String,
    },
}

/// A CA certificate a bundle carried and verification ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredCertificateRecord {
    /// Its subject name (RFC 4514).
    pub subject: String,
    /// Whether it is a self-signed root.
    pub self_signed: bool,
}

/// What one verified log entry showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryRecord {
    /// The log's base URL in the trusted root.
    pub log_base_url: String,
    /// The log's id.
    #[serde(with = "hex::serde")]
    pub log_id: Vec<u8>,
    /// The entry's index.
    pub log_index: u64,
    /// The entry's kind (`hashedrekord`, `dsse`, `intoto`).
    pub kind: String,
    /// Its version.
    pub version: String,
    /// Verified through the signed entry timestamp; absent for Rekor v2.
    pub integrated_time: Option<DateTime<Utc>>,
    /// What proves the entry is in the log (reports before promises were accepted lack it:
    /// every entry then had an inclusion proof).
    #[serde(default)]
    pub proven_by: ProvenBy,
    /// The checkpoint the inclusion proof was verified against (absent for a promise).
    pub checkpoint: Option<CheckpointRecord>,
    /// The index the inclusion proof was made for.
    pub proof_index: Option<u64>,
}

/// What showed that a log entry is in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProvenBy {
    /// An inclusion proof to a checkpoint the log signed.
    #[default]
    InclusionProof,
    /// Only the log's signed promise to include it (a v0.1 signed entry timestamp).
    SignedEntryTimestamp,
}

/// A verified checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// The log's origin line.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root hash.
    #[serde(with = "hex::serde")]
    pub root_hash: [u8; 32],
    /// The signed note itself.
    pub note: String,
}

/// A time at which the signature verifiably existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedTimeRecord {
    /// The time.
    pub time: DateTime<Utc>,
    /// What vouches for it.
    #[serde(flatten)]
    pub source: TimeSourceRecord,
}

/// Where an observed time came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum TimeSourceRecord {
    /// Log entry `index`'s integrated time, vouched for by its signed entry timestamp.
    LogEntry {
        /// The entry's position in the bundle.
        index: usize,
    },
    /// An RFC 3161 timestamp from this authority.
    TimestampAuthority {
        /// The authority's subject in the trusted root.
        authority: String,
    },
}

/// What a verified DSSE envelope said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DsseRecord {
    /// The envelope's payload type.
    pub payload_type: String,
    /// The statement's predicate type.
    pub predicate_type: String,
    /// The statement's subjects.
    pub subjects: Vec<SubjectRecord>,
}

/// One subject of an in-toto statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRecord {
    /// Its name.
    pub name: String,
    /// Its digests by algorithm name.
    pub digest: BTreeMap<String, String>,
}

impl From<&Report> for Verification {
    fn from(r: &Report) -> Self {
        Self {
            bundle_version: r.bundle_version.clone(),
            artifact_sha256: r.artifact_sha256,
            artifact_digest: Some(DigestRecord::from(&r.artifact_digest)),
            signer: SignerRecord::from(&r.signer),
            ignored_chain_certificates: r
                .ignored_chain_certificates
                .iter()
                .map(IgnoredCertificateRecord::from)
                .collect(),
            log_entries: r.log_entries.iter().map(LogEntryRecord::from).collect(),
            observed_times: r
                .observed_times
                .iter()
                .map(ObservedTimeRecord::from)
                .collect(),
            dsse: r.dsse.as_ref().map(DsseRecord::from),
        }
    }
}

impl From<&DigestFacts> for DigestRecord {
    fn from(d: &DigestFacts) -> Self {
        Self {
            algorithm: d.algorithm.to_owned(),
            hex: d.hex.clone(),
        }
    }
}

impl From<&SignerFacts> for SignerRecord {
    fn from(s: &SignerFacts) -> Self {
        match s {
            SignerFacts::Certificate {
                identity,
                issuer,
                serial,
                not_before,
                not_after,
                certificate_authority,
                sct_log_ids,
            } => Self::Certificate {
                identity: identity.clone(),
                issuer: issuer.clone(),
                serial: serial.clone(),
                not_before: *not_before,
                not_after: *not_after,
                certificate_authority: certificate_authority.clone(),
                sct_log_ids: sct_log_ids.clone(),
            },
            SignerFacts::PublicKey { key_id, hint } => Self::PublicKey {
                key_id: key_id.clone(),
                hint: hint.clone(),
            },
        }
    }
}

impl From<&IgnoredCertificate> for IgnoredCertificateRecord {
    fn from(c: &IgnoredCertificate) -> Self {
        Self {
            subject: c.subject.clone(),
            self_signed: c.self_signed,
        }
    }
}

impl From<&LogEntryFacts> for LogEntryRecord {
    fn from(e: &LogEntryFacts) -> Self {
        Self {
            log_base_url: e.log_base_url.clone(),
            log_id: e.log_id.clone(),
            log_index: e.log_index,
            kind: e.kind.clone(),
            version: e.version.clone(),
            integrated_time: e.integrated_time,
            proven_by: e.proven_by.into(),
            checkpoint: e.checkpoint.as_ref().map(CheckpointRecord::from),
            proof_index: e.proof_index,
        }
    }
}

impl From<InclusionEvidence> for ProvenBy {
    fn from(e: InclusionEvidence) -> Self {
        match e {
            InclusionEvidence::InclusionProof => Self::InclusionProof,
            InclusionEvidence::SignedEntryTimestamp => Self::SignedEntryTimestamp,
        }
    }
}

impl From<&CheckpointFacts> for CheckpointRecord {
    fn from(c: &CheckpointFacts) -> Self {
        Self {
            origin: c.origin.clone(),
            size: c.size,
            root_hash: c.root_hash,
            note: c.note.clone(),
        }
    }
}

impl From<&ObservedTime> for ObservedTimeRecord {
    fn from(t: &ObservedTime) -> Self {
        Self {
            time: t.time,
            source: match &t.source {
                TimeSource::LogEntry { index } => TimeSourceRecord::LogEntry { index: *index },
                TimeSource::TimestampAuthority { authority } => {
                    TimeSourceRecord::TimestampAuthority {
                        authority: authority.clone(),
                    }
                }
            },
        }
    }
}

impl From<&DsseFacts> for DsseRecord {
    fn from(d: &DsseFacts) -> Self {
        Self {
            payload_type: d.payload_type.clone(),
            predicate_type: d.predicate_type.clone(),
            subjects: d
                .subjects
                .iter()
                .map(|s| SubjectRecord {
                    name: s.name.clone(),
                    digest: s.digest.clone(),
                })
                .collect(),
        }
    }
}

/// A name stored as text that is not one this appliance writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    /// What kind of name (`verdict`, `artifact kind`, `import step`).
    pub what: &'static str,
    /// The stored text.
    pub value: String,
}

/// What the site did with an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed (or the rule only monitors): released.
    Passed,
    /// Checks failed under a warn rule: released, with the reasons.
    Warned,
    /// Checks failed under an enforce rule: kept in quarantine.
    Failed,
}

impl Verdict {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Warned => "warned",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Verdict {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        [Self::Passed, Self::Warned, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "verdict",
                value: s.to_owned(),
            })
    }
}

/// An artifact kind as stored (the archive format's spelling).
pub fn kind_str(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::File => "file",
        ArtifactKind::OciImage => "oci-image",
    }
}

/// A stored artifact kind.
pub fn parse_kind(s: &str) -> Result<ArtifactKind, UnknownName> {
    [ArtifactKind::File, ArtifactKind::OciImage]
        .into_iter()
        .find(|k| kind_str(*k) == s)
        .ok_or_else(|| UnknownName {
            what: "artifact kind",
            value: s.to_owned(),
        })
}

/// A step of an import, as its record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStep {
    /// The archive read and its envelope verified.
    Archive,
    /// The publisher, sequence and times.
    Publisher,
    /// The carried TUF repositories.
    Trust,
    /// The carried checkpoints against the witnessed logs.
    Witness,
    /// Every artifact's evidence and policy.
    Evidence,
    /// The verdicts committed.
    Commit,
    /// The files released.
    Release,
}

impl ImportStep {
    /// Every step, in the order an import runs them.
    pub const ALL: [Self; 7] = [
        Self::Archive,
        Self::Publisher,
        Self::Trust,
        Self::Witness,
        Self::Evidence,
        Self::Commit,
        Self::Release,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Archive => "archive",
            Self::Publisher => "publisher",
            Self::Trust => "trust",
            Self::Witness => "witness",
            Self::Evidence => "evidence",
            Self::Commit => "commit",
            Self::Release => "release",
        }
    }
}

impl fmt::Display for ImportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImportStep {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "import step",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_name_reads_back_and_an_unknown_one_is_named() {
        for v in [Verdict::Passed, Verdict::Warned, Verdict::Failed] {
            assert_eq!(v.as_str().parse::<Verdict>().unwrap(), v);
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for s in ImportStep::ALL {
            assert_eq!(s.as_str().parse::<ImportStep>().unwrap(), s);
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for k in [ArtifactKind::File, ArtifactKind::OciImage] {
            assert_eq!(parse_kind(kind_str(k)).unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), kind_str(k));
        }
        assert_eq!(
            "Passed".parse::<Verdict>().unwrap_err().to_string(),
            "unknown verdict \"Passed\""
        );
        assert_eq!(
            parse_kind("container").unwrap_err().to_string(),
            "unknown artifact kind \"container\""
        );
        assert_eq!(
            "sign".parse::<ImportStep>().unwrap_err().to_string(),
            "unknown import step \"sign\""
        );
        for (by, name) in [
            (WitnessedBy::Head, "head"),
            (WitnessedBy::Proof, "proof"),
            (WitnessedBy::History, "history"),
            (WitnessedBy::Promise, "promise"),
            (WitnessedBy::Unwitnessed, "unwitnessed"),
        ] {
            assert_eq!(by.as_str(), name);
            assert_eq!(serde_json::to_value(by).unwrap(), name);
        }
        for source in [SbomSource::File, SbomSource::Attestation] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
        }
    }

    #[test]
    fn a_report_without_schema_is_version_1_and_a_newer_one_is_refused() {
        let v1 = r#"{"rule":"default","enforcement":"enforce","signatures":[],
            "attestations":[],"provenance":null,"sboms":[],"problems":[]}"#;
        let report: ArtifactReport = serde_json::from_str(v1).unwrap();
        assert_eq!(report.schema, Schema::V1);
        let current = serde_json::to_value(ArtifactReport {
            schema: Schema::CURRENT,
            ..report
        })
        .unwrap();
        assert_eq!(current["schema"], 2);

        let newer = v1.replacen('{', r#"{"schema":3,"#, 1);
        assert_eq!(
            serde_json::from_str::<ArtifactReport>(&newer)
                .unwrap_err()
                .to_string(),
            "report schema 3 is not one this appliance reads (1 to 2) at line 1 column 11"
        );
    }
}
