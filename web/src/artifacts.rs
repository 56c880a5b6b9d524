//! `/artifacts/{id}`: the artifact report — every check and what it saw, the SBOM component
//! table with a server-side search, the policy rule that decided, and the signed VSA.

use askama::Template;

use crate::layout::{self, Chrome, Pager};
use crate::text::Text;

/// What the artifact is.
#[derive(Debug, Clone)]
pub struct ArtifactFacts {
    /// Its id.
    pub id: i64,
    /// The import it came in.
    pub import_id: i64,
    /// Its name.
    pub name: Text,
    /// `file` or `oci-image`.
    pub kind: String,
    /// Hex SHA-256.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: Text,
    /// `passed`, `warned` or `failed`.
    pub verdict: String,
    /// Where its files are (relative to the data folder).
    pub location: Option<Text>,
}

impl ArtifactFacts {
    /// The size for people.
    pub fn size_text(&self) -> String {
        layout::bytes(self.size)
    }

    /// Where the signed VSA is downloaded.
    pub fn vsa_href(&self) -> String {
        format!("/api/v1/artifacts/{}/vsa", self.id)
    }

    /// Where the signed VSA is downloaded as a Sigstore bundle.
    pub fn vsa_bundle_href(&self) -> String {
        format!("/api/v1/artifacts/{}/vsa.sigstore.json", self.id)
    }
}

/// What a signed-in user can fetch of an artifact.
#[derive(Debug, Clone, Default)]
pub struct Downloads {
    /// The released file's download link (`None` for an image, or what is not released).
    pub file: Option<String>,
    /// A released image: the repository it is pulled from (`/v2/<repository>`) and its tags.
    pub image: Option<(Text, Vec<Text>)>,
    /// Why it is no longer served: who withdrew it, when, and why.
    pub withdrawn: Option<Text>,
    /// Each piece of evidence the archive carried: what it is, its digest, its link.
    pub evidence: Vec<EvidenceLink>,
}

/// One downloadable piece of evidence.
#[derive(Debug, Clone)]
pub struct EvidenceLink {
    /// `signature`, `attestation` or `sbom`.
    pub kind: &'static str,
    /// Its digest (hex).
    pub digest: String,
    /// Where it is downloaded.
    pub href: String,
}

/// Who signed, as verified.
#[derive(Debug, Clone)]
pub enum SignerView {
    /// A Fulcio-style certificate.
    Certificate {
        /// The SAN that matched the trusted signer.
        identity: Text,
        /// The OIDC issuer in the certificate.
        issuer: Text,
        /// Serial number (hex).
        serial: Text,
        /// Validity start.
        not_before: String,
        /// Validity end.
        not_after: String,
        /// The trusted root's CA that issued it.
        certificate_authority: Text,
        /// CT logs (hex ids) whose SCTs verified.
        sct_log_ids: Vec<String>,
    },
    /// A managed public key.
    PublicKey {
        /// SHA-256 of the key's SPKI (hex).
        key_id: String,
        /// The bundle's unauthenticated key hint.
        hint: Text,
    },
}

/// A verified checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointView {
    /// The log's origin line.
    pub origin: Text,
    /// Tree size.
    pub size: u64,
    /// Root hash (hex).
    pub root_hash: String,
    /// The signed note.
    pub note: Text,
}

/// One transparency log entry.
#[derive(Debug, Clone)]
pub struct LogEntryView {
    /// The log's base URL.
    pub log_base_url: Text,
    /// Log id (hex).
    pub log_id: String,
    /// Entry index.
    pub log_index: u64,
    /// Entry kind and version (`hashedrekord 0.0.1`).
    pub kind: Text,
    /// Integrated time, verified through the SET.
    pub integrated_time: Option<String>,
    /// The index the inclusion proof was verified at.
    pub proof_index: Option<u64>,
    /// The checkpoint the inclusion proof was verified against.
    pub checkpoint: Option<CheckpointView>,
    /// Whether only the log's signed promise (a v0.1 bundle's SET) shows the entry is in the
    /// log: no inclusion proof, no checkpoint to witness.
    pub promise_only: bool,
}

/// A verified time the signature existed at.
#[derive(Debug, Clone)]
pub struct TimeView {
    /// The time.
    pub time: String,
    /// Where it comes from (`log entry 0`, `timestamp authority …`).
    pub source: Text,
}

/// The in-toto statement of a DSSE bundle.
#[derive(Debug, Clone)]
pub struct DsseView {
    /// Payload type.
    pub payload_type: Text,
    /// Predicate type.
    pub predicate_type: Text,
    /// Subjects as `name sha256:…`.
    pub subjects: Vec<Text>,
}

/// How the site's witness vouches for an entry's checkpoint.
#[derive(Debug, Clone)]
pub struct WitnessedView {
    /// The log.
    pub origin: Text,
    /// Checkpoint size.
    pub size: u64,
    /// `head`, `proof`, `history`, `promise` or `unwitnessed`.
    pub by: String,
}

impl WitnessedView {
    /// `by` for people.
    pub fn by_text(&self) -> &'static str {
        match self.by.as_str() {
            "head" => "the carried head the witness accepted",
            "proof" => "a consistency proof to the witnessed head",
            "history" => "a checkpoint the witness stored before",
            "promise" => {
                "nothing to witness: the log only promised to include the entry (v0.1 bundle, signed entry timestamp verified)"
            }
            _ => "not witnessed",
        }
    }
}

/// One Sigstore bundle's verification.
#[derive(Debug, Clone)]
pub struct BundleView {
    /// The bundle blob's digest (hex).
    pub digest: String,
    /// Whether it verified for a trusted signer.
    pub ok: bool,
    /// The trusted signer (policy name) that matched.
    pub trusted_signer: Option<Text>,
    /// Why it failed.
    pub error: Option<Text>,
    /// The bundle's media type version.
    pub bundle_version: Option<Text>,
    /// How the artifact was bound to what was signed, in words (`its SHA-512, named by the
    /// in-toto statement's subject`).
    pub artifact_binding: Option<Text>,
    /// CA certificates the bundle carried and verification ignored, in words.
    pub ignored_certificates: Vec<Text>,
    /// Who signed.
    pub signer: Option<SignerView>,
    /// Its log entries.
    pub log_entries: Vec<LogEntryView>,
    /// Verified times.
    pub times: Vec<TimeView>,
    /// The statement, for DSSE bundles.
    pub dsse: Option<DsseView>,
    /// How each entry is witnessed.
    pub witnessed: Vec<WitnessedView>,
    /// For a bundle that failed: what it claims (unverified) beside what was expected.
    pub seen: Option<SeenView>,
}

/// What a failed bundle claims, **unverified**, beside the signers the policy accepts, the
/// part that did not match marked.
#[derive(Debug, Clone)]
pub struct SeenView {
    /// The certificate's identities (SANs), comma-separated; empty for a key.
    pub identities: Text,
    /// The certificate's OIDC issuer.
    pub issuer: Option<Text>,
    /// A key's hint, for a bundle signed with a key.
    pub key_hint: Option<Text>,
    /// The log entries it names.
    pub log_entries: Vec<SeenLogView>,
    /// The signers the policy accepts.
    pub expected: Vec<ExpectedView>,
    /// The identity did not match.
    pub identity_mismatch: bool,
    /// The OIDC issuer did not match.
    pub issuer_mismatch: bool,
}

/// A log entry a failed bundle names (unverified).
#[derive(Debug, Clone)]
pub struct SeenLogView {
    /// Log id (hex).
    pub log_id: String,
    /// Entry index.
    pub log_index: u64,
    /// Kind and version.
    pub kind: Text,
    /// The integrated time it claims.
    pub integrated_time: Option<String>,
}

/// A signer the policy accepts.
#[derive(Debug, Clone)]
pub struct ExpectedView {
    /// Its name in the policy.
    pub name: Text,
    /// The identity it requires (keyless).
    pub identity: Option<Text>,
    /// The issuer it requires (keyless).
    pub issuer: Option<Text>,
    /// The key's id (a key).
    pub key_id: Option<String>,
}

/// The SLSA provenance judged.
#[derive(Debug, Clone)]
pub struct ProvenanceView {
    /// Predicate type.
    pub predicate_type: Text,
    /// Builder id.
    pub builder_id: Text,
    /// Build type.
    pub build_type: Text,
    /// Source repository.
    pub source_uri: Option<Text>,
    /// Source digest (`gitCommit:…`).
    pub source_digest: Option<Text>,
    /// The level the site grants the builder.
    pub build_level: u8,
}

/// One SBOM.
#[derive(Debug, Clone)]
pub struct SbomView {
    /// Its blob (file or attestation bundle), hex.
    pub digest: String,
    /// `file` or `attestation`.
    pub source: String,
    /// `CycloneDX 1.5`, `SPDX-2.3`.
    pub format: Option<Text>,
    /// Components listed.
    pub components: usize,
    /// The tools that wrote it, as it names them.
    pub tools: Vec<Text>,
    /// CycloneDX serial number or SPDX document namespace.
    pub serial: Option<Text>,
    /// When it says it was made, as written.
    pub created: Option<Text>,
    /// Why it did not parse.
    pub error: Option<Text>,
    /// Where its blob (the SBOM file, or the attestation bundle) is downloaded.
    pub href: String,
}

impl SbomView {
    /// The tools, comma separated, each clipped.
    pub fn tools_text(&self) -> String {
        self.tools
            .iter()
            .map(|t| t.clip(120).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One SBOM component.
#[derive(Debug, Clone)]
pub struct ComponentRow {
    /// Name.
    pub name: Text,
    /// Version.
    pub version: Text,
    /// Package URL.
    pub purl: Text,
    /// License.
    pub license: Text,
}

/// The component table: a page of the rows matching the search.
#[derive(Debug, Clone)]
pub struct ComponentTable {
    /// The search as typed.
    pub q: Text,
    /// Components in every SBOM.
    pub total: usize,
    /// This page's matching rows.
    pub rows: Vec<ComponentRow>,
    /// Pagination over the matches.
    pub pager: Pager,
}

/// The artifact report.
#[derive(Debug, Template)]
#[template(path = "artifacts/report.html")]
pub struct ReportPage {
    /// The frame.
    pub chrome: Chrome,
    /// The artifact.
    pub artifact: ArtifactFacts,
    /// The policy rule that decided (`default`, `override:…`).
    pub rule: Text,
    /// Its enforcement mode.
    pub enforcement: String,
    /// Why the checks failed; empty when they passed.
    pub problems: Vec<Text>,
    /// Bundles signing the artifact.
    pub signatures: Vec<BundleView>,
    /// Attestation bundles.
    pub attestations: Vec<BundleView>,
    /// The SLSA provenance judged.
    pub provenance: Option<ProvenanceView>,
    /// The SBOMs.
    pub sboms: Vec<SbomView>,
    /// Their components.
    pub components: ComponentTable,
    /// What can be downloaded or pulled.
    pub downloads: Downloads,
    /// Its exceptions, and what an admin may do about them.
    pub exceptions: ExceptionsView,
}

/// One exception of an artifact, as its report shows it.
#[derive(Debug, Clone)]
pub struct ExceptionLine {
    /// Its id.
    pub id: i64,
    /// `pending`, `active`, `expired` or `revoked`.
    pub state: &'static str,
    /// Why it was asked for.
    pub justification: Text,
    /// When it ends (RFC 3339, UTC).
    pub expires_at: String,
    /// Who asked.
    pub requested_by: Text,
    /// When.
    pub requested_at: String,
    /// Who approved it (the requester when the policy needs one admin).
    pub approved_by: Option<Text>,
    /// Who revoked it, when and why.
    pub revoked: Option<Text>,
}

/// The exceptions part of an artifact's report: an active one as a banner, a pending one
/// waiting for approval, the form asking for one, and every one there was.
#[derive(Debug, Clone, Default)]
pub struct ExceptionsView {
    /// Whether the artifact failed: only a failed artifact can be released by exception.
    pub failed: bool,
    /// The exception releasing it now.
    pub active: Option<ExceptionLine>,
    /// The exception waiting for a second admin.
    pub pending: Option<ExceptionLine>,
    /// Whether the viewer may approve the pending one (an admin other than its requester).
    pub may_approve: bool,
    /// How many distinct admins the policy needs (1 or 2).
    pub approvals: u8,
    /// The longest an exception may last, in days.
    pub max_days: u32,
    /// Every exception, newest first.
    pub history: Vec<ExceptionLine>,
}

impl ExceptionsView {
    /// Whether a new exception may be asked for (failed, nothing pending or active).
    pub fn may_request(&self) -> bool {
        self.failed && self.active.is_none() && self.pending.is_none()
    }
}
