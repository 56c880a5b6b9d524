//! Rows and stored JSON turned into the web crate's view models. Everything that came from an
//! archive, a certificate or a user becomes [`Text`]; nothing here is marked safe.
//!
//! Stored reports are read typed, as [`ArtifactReport`] (which reads every report an earlier
//! appliance stored, see [`crate::report`]); the stored TUF state and pinned roots are read
//! as JSON values, field by field.

use airlock_trust_root::{Authority, LogInstance, TimeRange, TrustedRoot};
use airlock_web::{
    AlarmLine, ArtifactFacts, ArtifactLine, AuthorityView, BundleView, CheckpointLine,
    CheckpointView, ComponentRow, ComponentTable, DayBar, DsseView, ExceptionLine, ExpectedView,
    ImportFacts, ImportLine, LogEntryView, LogHead, LogInstanceView, ManifestSummary, MarginChart,
    MarginPoint, Pager, ProvenanceView, RepositoryView, RoleLine, SbomView, SeenLogView, SeenView,
    SignerView, StepLine, Text, TimeView, TrustFreshness, TrustedRootView, VerdictChart,
    WitnessedView,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::report::{
    self, ArtifactReport, BundleCheck, Mismatch, ProvenBy, SeenRecord, SignerRecord,
    TimeSourceRecord,
};
use crate::store::{self, Alarm, ArtifactRow, CheckpointRow, ImportRow, StepRow, TrustRow};

/// SBOM components per page of the report's table.
pub(super) const COMPONENTS_PER_PAGE: u64 = 100;

/// A JSON string field, or empty.
fn s(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A JSON string field, if present and not null.
fn opt_s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A JSON unsigned field, or 0.
fn u(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or_default()
}

/// An RFC 3339 time for people (`2026-11-22 10:11:12 UTC`).
fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A JSON time field for people.
fn json_time(v: &Value, key: &str) -> String {
    let raw = s(v, key);
    DateTime::parse_from_rfc3339(&raw).map_or_else(
        |_| Text::new(raw.clone()).to_string(),
        |t| when(t.with_timezone(&Utc)),
    )
}

/// A stored time, parsed.
fn parse_time(stamp: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(super) fn import_line(r: &ImportRow) -> ImportLine {
    ImportLine {
        id: r.id,
        file_name: Text::new(r.file_name.clone()),
        publisher: r.publisher.clone().map(Text::new),
        sequence: r.sequence,
        state: r.state.as_str().to_owned(),
        reason: r.reason.clone().map(Text::new),
        passed: r.passed,
        warned: r.warned,
        failed: r.failed,
        started_at: r.started_at.clone(),
    }
}

pub(super) fn import_facts(r: &ImportRow) -> ImportFacts {
    ImportFacts {
        id: r.id,
        file_name: Text::new(r.file_name.clone()),
        source: r.source.clone(),
        state: r.state.as_str().to_owned(),
        reason: r.reason.clone().map(Text::new),
        archive_size: r.archive_size,
        archive_sha256: r.archive_sha256.clone(),
        kept: match (&r.kept_sha256, r.kept_bytes) {
            (Some(kept), Some(bytes)) if Some(kept) != r.archive_sha256.as_ref() => {
                Some((bytes, kept.clone()))
            }
            _ => None,
        },
        archive_id: r.archive_id.clone().map(Text::new),
        publisher: r.publisher.clone().map(Text::new),
        sequence: r.sequence,
        key_ids: r
            .key_ids
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: r.created_at.clone(),
        site: r.site.clone().map(Text::new),
        notes: r.notes.clone().map(Text::new),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        started_by: Text::new(r.started_by.clone()),
        passed: r.passed,
        warned: r.warned,
        failed: r.failed,
    }
}

/// The stored manifest JSON in brief (`None` if it does not parse).
pub(super) fn manifest_summary(m: &store::ManifestSummary) -> ManifestSummary {
    ManifestSummary {
        version: m.version.to_string(),
        artifacts: m.artifacts as usize,
        blobs: m.blobs as usize,
        blob_bytes: m.blob_bytes,
        trust: m.trust.iter().map(|t| Text::new(t.as_str())).collect(),
        logs: m
            .logs
            .iter()
            .map(|l| (Text::new(l.origin.as_str()), l.size))
            .collect(),
    }
}

pub(super) fn step_line(r: &StepRow) -> StepLine {
    StepLine {
        step: r.step.as_str().to_owned(),
        ok: r.ok,
        detail: Text::new(r.detail.clone()),
        duration_us: r.duration_us,
    }
}

/// The reasons JSON array of an artifact.
fn reasons(json: &str) -> Vec<Text> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .into_iter()
        .map(Text::new)
        .collect()
}

pub(super) fn artifact_line(r: &ArtifactRow) -> ArtifactLine {
    ArtifactLine {
        id: r.id,
        position: r.position,
        name: Text::new(r.name.clone()),
        kind: report::kind_str(r.kind).to_owned(),
        digest: r.digest.clone(),
        size: r.size,
        verdict: r.verdict.as_str().to_owned(),
        reasons: reasons(&r.reasons),
    }
}

pub(super) fn artifact_facts(r: &ArtifactRow) -> ArtifactFacts {
    ArtifactFacts {
        id: r.id,
        import_id: r.import_id,
        name: Text::new(r.name.clone()),
        kind: report::kind_str(r.kind).to_owned(),
        digest: r.digest.clone(),
        size: r.size,
        media_type: Text::new(r.media_type.clone()),
        verdict: r.verdict.as_str().to_owned(),
        location: r.location.clone().map(Text::new),
    }
}

/// An exception as the artifact's report lists it, in its state at `now`.
pub(super) fn exception_line(
    e: &crate::store::exceptions::ExceptionRow,
    now: DateTime<Utc>,
) -> ExceptionLine {
    ExceptionLine {
        id: e.id,
        state: e.state(now).as_str(),
        justification: Text::new(e.justification.clone()),
        expires_at: e
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        requested_by: Text::new(e.requested_by.clone()),
        requested_at: e.requested_at.clone(),
        approved_by: e.approved_by.clone().map(Text::new),
        revoked: e.revoked_by.as_ref().map(|by| {
            Text::new(format!(
                "by {by} at {}: {}",
                e.revoked_at.as_deref().unwrap_or_default(),
                e.revoke_reason.as_deref().unwrap_or_default()
            ))
        }),
    }
}

/// A stored artifact report, as the report page shows it.
#[derive(Debug)]
pub(super) struct Report {
    pub(super) rule: Text,
    pub(super) enforcement: String,
    pub(super) problems: Vec<Text>,
    pub(super) signatures: Vec<BundleView>,
    pub(super) attestations: Vec<BundleView>,
    pub(super) provenance: Option<ProvenanceView>,
    pub(super) sboms: Vec<SbomView>,
    pub(super) components: Vec<ComponentRow>,
}

/// Artifact `artifact_id`'s stored report, read (`serde_json::from_str::<ArtifactReport>`),
/// as its page shows it.
pub(super) fn report(artifact_id: i64, r: ArtifactReport) -> Report {
    let mut components = Vec::new();
    let sboms = r
        .sboms
        .into_iter()
        .map(|sbom| {
            let href = format!("/api/v1/artifacts/{artifact_id}/evidence/{}", sbom.digest);
            let mut view = SbomView {
                href,
                digest: sbom.digest,
                source: sbom.source.as_str().to_owned(),
                format: None,
                components: 0,
                tools: Vec::new(),
                serial: None,
                created: None,
                error: sbom.error.map(Text::new),
            };
            if let Some(summary) = sbom.summary {
                // The count the SBOM gave (a report keeps at most 10,000 of them).
                view.components = summary.component_count;
                components.extend(summary.components.into_iter().map(|c| ComponentRow {
                    name: Text::new(c.name),
                    version: Text::new(c.version.unwrap_or_default()),
                    purl: Text::new(c.purl.unwrap_or_default()),
                    license: Text::new(c.license.unwrap_or_default()),
                }));
                view.format = Some(Text::new(summary.format));
                view.tools = summary.tools.into_iter().map(Text::new).collect();
                view.serial = summary.serial.map(Text::new);
                view.created = summary.created.map(Text::new);
            }
            view
        })
        .collect();
    Report {
        rule: Text::new(r.rule),
        enforcement: r.enforcement.as_str().to_owned(),
        problems: r.problems.into_iter().map(Text::new).collect(),
        signatures: r.signatures.iter().map(bundle).collect(),
        attestations: r.attestations.iter().map(bundle).collect(),
        provenance: r.provenance.map(|p| ProvenanceView {
            predicate_type: Text::new(p.predicate_type),
            builder_id: Text::new(p.builder_id),
            build_type: Text::new(p.build_type),
            source_uri: p.source_uri.map(Text::new),
            source_digest: p.source_digest.map(Text::new),
            build_level: p.build_level,
        }),
        sboms,
        components,
    }
}

/// One bundle check.
fn bundle(b: &BundleCheck) -> BundleView {
    let report = b.report.as_ref();
    BundleView {
        digest: b.digest.clone(),
        ok: b.ok,
        trusted_signer: b.signer.clone().map(Text::new),
        error: b.error.clone().map(Text::new),
        bundle_version: report.map(|r| Text::new(r.bundle_version.clone())),
        artifact_binding: report.and_then(|r| {
            let d = r.artifact_digest.as_ref()?;
            let algorithm = match d.algorithm.as_str() {
                "sha384" => "SHA-384",
                "sha512" => "SHA-512",
                _ => "SHA-256",
            };
            let through = if r.dsse.is_some() {
                "named by the signed in-toto statement's subject"
            } else {
                "covered by the signature"
            };
            Some(Text::new(format!("its {algorithm} {}, {through}", d.hex)))
        }),
        ignored_certificates: report
            .map_or(&[][..], |r| r.ignored_chain_certificates.as_slice())
            .iter()
            .map(|c| {
                let what = if c.self_signed {
                    "self-signed root"
                } else {
                    "CA certificate"
                };
                Text::new(format!("{} ({what})", c.subject))
            })
            .collect(),
        signer: report.map(|r| signer(&r.signer)),
        log_entries: report
            .map_or(&[][..], |r| r.log_entries.as_slice())
            .iter()
            .map(|e| LogEntryView {
                log_base_url: Text::new(e.log_base_url.clone()),
                log_id: hex::encode(&e.log_id),
                log_index: e.log_index,
                kind: Text::new(format!("{} {}", e.kind, e.version)),
                integrated_time: e.integrated_time.map(when),
                proof_index: e.proof_index,
                promise_only: e.proven_by == ProvenBy::SignedEntryTimestamp,
                checkpoint: e.checkpoint.as_ref().map(|c| CheckpointView {
                    origin: Text::new(c.origin.clone()),
                    size: c.size,
                    root_hash: hex::encode(c.root_hash),
                    note: Text::new(c.note.clone()),
                }),
            })
            .collect(),
        times: report
            .map_or(&[][..], |r| r.observed_times.as_slice())
            .iter()
            .map(|t| TimeView {
                time: when(t.time),
                source: Text::new(match &t.source {
                    TimeSourceRecord::LogEntry { index } => format!(
                        "signed entry timestamp of log entry {}",
                        index.saturating_add(1)
                    ),
                    TimeSourceRecord::TimestampAuthority { authority } => {
                        format!("RFC 3161 timestamp from {authority}")
                    }
                }),
            })
            .collect(),
        dsse: report.and_then(|r| r.dsse.as_ref()).map(|d| DsseView {
            payload_type: Text::new(d.payload_type.clone()),
            predicate_type: Text::new(d.predicate_type.clone()),
            subjects: d
                .subjects
                .iter()
                .map(|subject| {
                    let digests = subject
                        .digest
                        .iter()
                        .map(|(alg, hex)| format!("{alg}:{hex}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    Text::new(format!("{} {digests}", subject.name))
                })
                .collect(),
        }),
        witnessed: b
            .witnessed
            .iter()
            .map(|w| WitnessedView {
                origin: Text::new(w.origin.clone()),
                size: w.size,
                by: w.by.as_str().to_owned(),
            })
            .collect(),
        seen: b.seen.as_ref().map(seen),
    }
}

/// What a failed bundle claims beside what was expected.
fn seen(s: &SeenRecord) -> SeenView {
    SeenView {
        identities: Text::new(s.identities.join(", ")),
        issuer: s.issuer.clone().map(Text::new),
        key_hint: s.key_hint.clone().map(Text::new),
        log_entries: s
            .log_entries
            .iter()
            .map(|e| SeenLogView {
                log_id: e.log_id.clone(),
                log_index: e.log_index,
                kind: Text::new(e.kind.clone()),
                integrated_time: e.integrated_time.map(when),
            })
            .collect(),
        expected: s
            .expected
            .iter()
            .map(|e| ExpectedView {
                name: Text::new(e.name.clone()),
                identity: e.identity.clone().map(Text::new),
                issuer: e.issuer.clone().map(Text::new),
                key_id: e.key_id.clone(),
            })
            .collect(),
        identity_mismatch: s.mismatch == Some(Mismatch::Identity),
        issuer_mismatch: s.mismatch == Some(Mismatch::Issuer),
    }
}

/// Who signed.
fn signer(s: &SignerRecord) -> SignerView {
    match s {
        SignerRecord::PublicKey { key_id, hint } => SignerView::PublicKey {
            key_id: key_id.clone(),
            hint: Text::new(hint.clone()),
        },
        SignerRecord::Certificate {
            identity,
            issuer,
            serial,
            not_before,
            not_after,
            certificate_authority,
            sct_log_ids,
        } => SignerView::Certificate {
            identity: Text::new(identity.clone()),
            issuer: Text::new(issuer.clone()),
            serial: Text::new(serial.clone()),
            not_before: when(*not_before),
            not_after: when(*not_after),
            certificate_authority: Text::new(certificate_authority.clone()),
            sct_log_ids: sct_log_ids.clone(),
        },
    }
}

/// The page `page` of the components matching `q` (case-insensitive, in any column).
pub(super) fn component_table(
    all: Vec<ComponentRow>,
    q: &str,
    page: u64,
    artifact_id: i64,
) -> ComponentTable {
    let total = all.len();
    let needle = q.trim().to_lowercase();
    let matches = |c: &ComponentRow| {
        needle.is_empty()
            || [&c.name, &c.version, &c.purl, &c.license]
                .iter()
                .any(|t| t.as_str().to_lowercase().contains(&needle))
    };
    let matching: Vec<ComponentRow> = all.into_iter().filter(matches).collect();
    let pager = Pager::new(
        &format!("/artifacts/{artifact_id}"),
        &[("q", q.trim())],
        page,
        COMPONENTS_PER_PAGE,
        matching.len() as u64,
    );
    let skip = usize::try_from((pager.page.min(pager.pages) - 1) * COMPONENTS_PER_PAGE)
        .unwrap_or(usize::MAX);
    ComponentTable {
        q: Text::new(q.trim()),
        total,
        rows: matching
            .into_iter()
            .skip(skip)
            .take(COMPONENTS_PER_PAGE as usize)
            .collect(),
        pager,
    }
}

/// What a repository's stored state says: (role records, reference time, trusted root
/// SHA-256), or why it does not parse.
struct StateFacts {
    roles: Vec<RoleLine>,
    reference_time: Option<DateTime<Utc>>,
    trusted_root_sha256: Option<String>,
}

fn state_facts(json: &str, expiries: Option<&str>) -> Result<StateFacts, String> {
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("the stored trust state: {e}"))?;
    let expiries: Value = expiries
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or(Value::Null);
    let record = |name: &str, r: &Value| RoleLine {
        role: Text::new(name),
        version: u(r, "version"),
        sha256: s(r, "sha256"),
        expires: expiries
            .get(name)
            .and_then(Value::as_str)
            .and_then(parse_time)
            .map(when),
    };
    let mut roles: Vec<RoleLine> = ["root", "timestamp", "snapshot", "targets"]
        .iter()
        .filter_map(|name| v.get(*name).map(|r| record(name, r)))
        .collect();
    if let Some(delegated) = v.get("delegated").and_then(Value::as_object) {
        roles.extend(delegated.iter().map(|(name, r)| record(name, r)));
    }
    Ok(StateFacts {
        roles,
        reference_time: opt_s(&v, "reference_time").and_then(|t| parse_time(&t)),
        trusted_root_sha256: opt_s(&v, "trusted_root_sha256"),
    })
}

/// The role that expires first, from the stored expiries.
fn first_expiry(expiries: Option<&str>) -> Option<(String, DateTime<Utc>)> {
    let v: Value = serde_json::from_str(expiries?).ok()?;
    v.as_object()?
        .iter()
        .filter_map(|(role, t)| Some((role.clone(), parse_time(t.as_str()?)?)))
        .min_by_key(|(_, t)| *t)
}

/// The version of a role among the records.
fn version_of(roles: &[RoleLine], role: &str) -> Option<u64> {
    roles
        .iter()
        .find(|r| r.role.as_str() == role)
        .map(|r| r.version)
}

/// The verdict chart's `n` days from `first` (UTC), days without imports counting zero.
pub(super) fn verdict_chart(
    first: chrono::NaiveDate,
    n: u64,
    days: &[store::imports::DayCounts],
) -> VerdictChart {
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    let by_day: std::collections::HashMap<&str, &store::imports::DayCounts> =
        days.iter().map(|d| (d.day.as_str(), d)).collect();
    VerdictChart {
        days: first
            .iter_days()
            .take(usize::try_from(n).unwrap_or(0))
            .map(|date| {
                let day = date.format("%Y-%m-%d").to_string();
                let counts = by_day.get(day.as_str());
                DayBar {
                    imports: counts.map_or(0, |c| count(c.imports)),
                    passed: counts.map_or(0, |c| count(c.passed)),
                    warned: counts.map_or(0, |c| count(c.warned)),
                    failed: counts.map_or(0, |c| count(c.failed)),
                    day,
                }
            })
            .collect(),
    }
}

/// The freshness chart's points: each recorded import's margin (records whose times do not
/// parse are left out).
pub(super) fn margin_chart(rows: &[store::trust::TrustHistoryRow]) -> MarginChart {
    MarginChart {
        points: rows
            .iter()
            .filter_map(|r| {
                let at = parse_time(&r.reference_time)?;
                let expiry = parse_time(&r.first_expiry)?;
                Some(MarginPoint {
                    import_id: r.import_id,
                    repository: r.name.clone(),
                    at: when(at),
                    role: r.first_role.clone(),
                    margin: (expiry - at).num_seconds(),
                })
            })
            .collect(),
    }
}

/// A repository's freshness for the dashboard.
pub(super) fn freshness(row: &TrustRow, now: DateTime<Utc>) -> TrustFreshness {
    let facts = row
        .state
        .as_deref()
        .and_then(|j| state_facts(j, row.role_expiries.as_deref()).ok());
    let roles = facts.as_ref().map_or(&[][..], |f| f.roles.as_slice());
    let reference = facts.as_ref().and_then(|f| f.reference_time);
    let first = first_expiry(row.role_expiries.as_deref());
    TrustFreshness {
        next_expiry: first
            .as_ref()
            .map(|(role, at)| format!("{role} {}", when(*at))),
        margin: first.as_ref().zip(reference).map(|((_, at), reference)| {
            let seconds = (*at - reference).num_seconds();
            if seconds >= 0 {
                format!("{} left", airlock_web::age(seconds))
            } else {
                format!("expired {} before", airlock_web::age(-seconds))
            }
        }),
        name: Text::new(row.name.clone()),
        root_version: version_of(roles, "root"),
        timestamp_version: version_of(roles, "timestamp"),
        snapshot_version: version_of(roles, "snapshot"),
        targets_version: version_of(roles, "targets"),
        reference_time: reference.map(when),
        age: reference.map(|t| airlock_web::age((now - t).num_seconds())),
        updated_at: row.updated_at.clone(),
    }
}

/// A repository with its accepted trusted root, for the trust page.
pub(super) fn repository(row: &TrustRow, now: DateTime<Utc>) -> RepositoryView {
    let mut errors = Vec::new();
    let pinned: Option<Value> = serde_json::from_slice(&row.pinned_root).ok();
    let pinned_signed = pinned.as_ref().and_then(|p| p.get("signed"));
    let facts = match row
        .state
        .as_deref()
        .map(|j| state_facts(j, row.role_expiries.as_deref()))
    {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => None,
    };
    let trusted_root = match row.trusted_root.as_deref().map(TrustedRoot::from_json) {
        Some(Ok(root)) => Some(trusted_root_view(&root)),
        Some(Err(e)) => {
            errors.push(format!("the stored trusted root: {e}"));
            None
        }
        None => None,
    };
    let reference = facts.as_ref().and_then(|f| f.reference_time);
    RepositoryView {
        name: Text::new(row.name.clone()),
        pinned_root_version: pinned_signed.and_then(|p| p.get("version")?.as_u64()),
        pinned_root_expires: pinned_signed.map(|p| json_time(p, "expires")),
        reference_time: reference.map(when),
        age: reference.map(|t| airlock_web::age((now - t).num_seconds())),
        updated_at: row.updated_at.clone(),
        trusted_root_sha256: facts.as_ref().and_then(|f| f.trusted_root_sha256.clone()),
        roles: facts.map(|f| f.roles).unwrap_or_default(),
        trusted_root,
        error: (!errors.is_empty()).then(|| Text::new(errors.join("; "))),
    }
}

fn window(range: TimeRange) -> (String, Option<String>) {
    (when(range.start), range.end.map(when))
}

fn authority(a: &Authority) -> AuthorityView {
    let (valid_from, valid_until) = window(a.valid_for());
    AuthorityView {
        subject: Text::new(a.subject()),
        uri: Text::new(a.uri()),
        valid_from,
        valid_until,
    }
}

fn log_instance(l: &LogInstance) -> LogInstanceView {
    let (valid_from, valid_until) = window(l.valid_for());
    LogInstanceView {
        base_url: Text::new(l.base_url()),
        log_id: hex::encode(l.log_id()),
        valid_from,
        valid_until,
    }
}

fn trusted_root_view(root: &TrustedRoot) -> TrustedRootView {
    TrustedRootView {
        certificate_authorities: root
            .certificate_authorities()
            .iter()
            .map(authority)
            .collect(),
        timestamp_authorities: root.timestamp_authorities().iter().map(authority).collect(),
        tlogs: root.tlogs().iter().map(log_instance).collect(),
        ctlogs: root.ctlogs().iter().map(log_instance).collect(),
    }
}

pub(super) fn log_head(c: &CheckpointRow) -> LogHead {
    LogHead {
        origin: Text::new(c.origin.clone()),
        size: c.size,
        root_hash: c.root_hash.clone(),
        witnessed_at: c.witnessed_at.clone(),
        import_id: c.import_id,
    }
}

pub(super) fn checkpoint_line(c: &CheckpointRow) -> CheckpointLine {
    CheckpointLine {
        size: c.size,
        root_hash: c.root_hash.clone(),
        witnessed_at: c.witnessed_at.clone(),
        import_id: c.import_id,
    }
}

pub(super) fn alarm_line(a: &Alarm) -> AlarmLine {
    AlarmLine {
        id: a.id,
        kind: a.kind.clone(),
        subject: Text::new(a.subject.clone()),
        detail: Text::new(a.detail.clone()),
        import_id: a.import_id,
        raised_at: a.raised_at.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::{Enforcement, ProvenanceFacts, SbomComponent, SbomSummary};
    use crate::report::{
        CheckpointRecord, DigestRecord, DsseRecord, IgnoredCertificateRecord, LogEntryRecord,
        ObservedTimeRecord, SbomCheck, SbomSource, Schema, SubjectRecord, Verification,
        WitnessedBy, WitnessedEntry,
    };

    fn at(t: &str) -> DateTime<Utc> {
        parse_time(t).unwrap()
    }

    /// A report as the pipeline builds it, through its types, stored and read back as the
    /// page reads it: a field renamed on one side fails here.
    fn stored(report: &ArtifactReport) -> ArtifactReport {
        serde_json::from_str(&serde_json::to_string(report).unwrap()).unwrap()
    }

    fn component(
        name: &str,
        version: &str,
        purl: Option<&str>,
        license: Option<&str>,
    ) -> SbomComponent {
        SbomComponent {
            name: name.into(),
            version: Some(version.into()),
            purl: purl.map(str::to_owned),
            license: license.map(str::to_owned),
        }
    }

    fn empty(rule: &str) -> ArtifactReport {
        ArtifactReport {
            schema: Schema::CURRENT,
            rule: rule.into(),
            enforcement: Enforcement::Enforce,
            signatures: Vec::new(),
            attestations: Vec::new(),
            provenance: None,
            sboms: Vec::new(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_report_keeps_every_fact_it_shows() {
        let entry = LogEntryRecord {
            log_base_url: "https://rekor".into(),
            log_id: vec![0xef],
            log_index: 7,
            kind: "hashedrekord".into(),
            version: "0.0.1".into(),
            integrated_time: Some(at("2026-11-22T10:01:00Z")),
            proven_by: ProvenBy::InclusionProof,
            checkpoint: Some(CheckpointRecord {
                origin: "rekor".into(),
                size: 8,
                root_hash: [1; 32],
                note: "rekor\n8\n".into(),
            }),
            proof_index: Some(7),
        };
        let verification = Verification {
            bundle_version: "0.3".into(),
            artifact_sha256: [0xab; 32],
            artifact_digest: Some(DigestRecord {
                algorithm: "sha256".into(),
                hex: "ab".repeat(32),
            }),
            signer: SignerRecord::Certificate {
                identity: "https://x/<id>".into(),
                issuer: "https://i".into(),
                serial: "0a".into(),
                not_before: at("2026-11-22T10:00:00Z"),
                not_after: at("2026-11-22T10:10:00Z"),
                certificate_authority: "fulcio".into(),
                sct_log_ids: vec!["cd".into()],
            },
            ignored_chain_certificates: Vec::new(),
            log_entries: vec![entry],
            observed_times: vec![
                ObservedTimeRecord {
                    time: at("2026-11-22T10:01:00Z"),
                    source: TimeSourceRecord::LogEntry { index: 0 },
                },
                ObservedTimeRecord {
                    time: at("2026-11-22T10:01:01Z"),
                    source: TimeSourceRecord::TimestampAuthority {
                        authority: "tsa".into(),
                    },
                },
            ],
            dsse: None,
        };
        let minted = ArtifactReport {
            signatures: vec![BundleCheck {
                digest: "ab".into(),
                ok: true,
                signer: Some("release-ci".into()),
                report: Some(verification),
                witnessed: vec![WitnessedEntry {
                    origin: "rekor".into(),
                    size: 8,
                    by: WitnessedBy::Proof,
                }],
                error: None,
                seen: None,
            }],
            provenance: Some(ProvenanceFacts {
                predicate_type: "p".into(),
                builder_id: "b".into(),
                build_type: "t".into(),
                source_uri: None,
                source_digest: Some("gitCommit:00".into()),
                build_level: 3,
            }),
            sboms: vec![SbomCheck {
                digest: "12".into(),
                source: SbomSource::File,
                summary: Some(SbomSummary::of(
                    "CycloneDX 1.5".into(),
                    vec![
                        component("zlib", "1.3.1", None, Some("Zlib")),
                        component("openssl", "3", Some("pkg:deb/openssl"), None),
                    ],
                )),
                error: None,
            }],
            problems: vec!["SBOM has 2 components, at least 3 required".into()],
            ..empty("default")
        };
        let r = report(1, stored(&minted));
        assert_eq!(r.rule.as_str(), "default");
        assert_eq!(r.enforcement, "enforce");
        assert_eq!(
            r.problems[0].as_str(),
            "SBOM has 2 components, at least 3 required"
        );
        let b = &r.signatures[0];
        assert!(b.ok);
        assert_eq!(b.trusted_signer.as_ref().unwrap().as_str(), "release-ci");
        assert_eq!(b.bundle_version.as_ref().unwrap().as_str(), "0.3");
        assert_eq!(
            b.artifact_binding.as_ref().unwrap().as_str(),
            format!("its SHA-256 {}, covered by the signature", "ab".repeat(32))
        );
        assert_eq!(b.log_entries[0].log_id, "ef");
        assert_eq!(b.log_entries[0].log_index, 7);
        assert_eq!(b.log_entries[0].kind.as_str(), "hashedrekord 0.0.1");
        assert_eq!(
            b.log_entries[0].integrated_time.as_deref(),
            Some("2026-11-22 10:01:00 UTC")
        );
        assert!(!b.log_entries[0].promise_only);
        let checkpoint = b.log_entries[0].checkpoint.as_ref().unwrap();
        assert_eq!((checkpoint.origin.as_str(), checkpoint.size), ("rekor", 8));
        assert_eq!(checkpoint.root_hash, "01".repeat(32));
        assert_eq!(
            b.times[0].source.as_str(),
            "signed entry timestamp of log entry 1"
        );
        assert_eq!(b.times[1].time, "2026-11-22 10:01:01 UTC");
        assert_eq!(b.times[1].source.as_str(), "RFC 3161 timestamp from tsa");
        assert!(
            matches!(&b.signer, Some(SignerView::Certificate { identity, not_after, sct_log_ids, .. })
                if identity.as_str() == "https://x/<id>"
                    && not_after == "2026-11-22 10:10:00 UTC"
                    && sct_log_ids == &["cd"])
        );
        assert_eq!(
            (
                b.witnessed[0].origin.as_str(),
                b.witnessed[0].size,
                b.witnessed[0].by.as_str()
            ),
            ("rekor", 8, "proof")
        );
        assert_eq!(r.provenance.as_ref().unwrap().build_level, 3);
        assert_eq!(r.sboms[0].source, "file");
        assert_eq!(
            r.sboms[0].format.as_ref().unwrap().as_str(),
            "CycloneDX 1.5"
        );
        assert_eq!(r.sboms[0].components, 2);

        let table = component_table(r.components.clone(), " SSL ", 1, 5);
        assert_eq!((table.total, table.rows.len()), (2, 1));
        assert_eq!(table.rows[0].name.as_str(), "openssl");
        assert_eq!(table.pager.href(2), "/artifacts/5?q=SSL&page=2");
        let past_the_end = component_table(r.components, "", 9, 5);
        assert_eq!(
            past_the_end.rows.len(),
            2,
            "a page past the end shows the last one"
        );
    }

    #[test]
    fn a_real_world_bundle_shows_its_binding_ignored_root_and_promise() {
        let minted = ArtifactReport {
            signatures: vec![BundleCheck {
                digest: "ab".into(),
                ok: true,
                signer: Some("npm".into()),
                report: Some(Verification {
                    bundle_version: "0.1".into(),
                    artifact_sha256: [0x56; 32],
                    artifact_digest: Some(DigestRecord {
                        algorithm: "sha512".into(),
                        hex: "56".into(),
                    }),
                    signer: SignerRecord::PublicKey {
                        key_id: "9f".into(),
                        hint: "<hint>".into(),
                    },
                    ignored_chain_certificates: vec![
                        IgnoredCertificateRecord {
                            subject: "CN=sigstore-intermediate,O=sigstore.dev".into(),
                            self_signed: false,
                        },
                        IgnoredCertificateRecord {
                            subject: "CN=sigstore,O=sigstore.dev".into(),
                            self_signed: true,
                        },
                    ],
                    log_entries: vec![LogEntryRecord {
                        log_base_url: "https://rekor".into(),
                        log_id: vec![0xef],
                        log_index: 7,
                        kind: "intoto".into(),
                        version: "0.0.2".into(),
                        integrated_time: Some(at("2023-01-01T00:00:00Z")),
                        proven_by: ProvenBy::SignedEntryTimestamp,
                        checkpoint: None,
                        proof_index: None,
                    }],
                    observed_times: Vec::new(),
                    dsse: Some(DsseRecord {
                        payload_type: "application/vnd.in-toto+json".into(),
                        predicate_type: "p".into(),
                        subjects: vec![SubjectRecord {
                            name: "pkg.tgz".into(),
                            digest: BTreeMap::from([
                                ("sha256".to_owned(), "12".to_owned()),
                                ("sha512".to_owned(), "56".to_owned()),
                            ]),
                        }],
                    }),
                }),
                witnessed: vec![WitnessedEntry {
                    origin: "https://rekor".into(),
                    size: 0,
                    by: WitnessedBy::Promise,
                }],
                error: None,
                seen: None,
            }],
            ..empty("default")
        };
        let r = report(1, stored(&minted));
        let b = &r.signatures[0];
        assert_eq!(
            b.artifact_binding.as_ref().unwrap().as_str(),
            "its SHA-512 56, named by the signed in-toto statement's subject"
        );
        let ignored: Vec<&str> = b.ignored_certificates.iter().map(Text::as_str).collect();
        assert_eq!(
            ignored,
            [
                "CN=sigstore-intermediate,O=sigstore.dev (CA certificate)",
                "CN=sigstore,O=sigstore.dev (self-signed root)"
            ]
        );
        assert!(
            matches!(&b.signer, Some(SignerView::PublicKey { key_id, hint }) if key_id == "9f" && hint.as_str() == "<hint>")
        );
        assert!(b.log_entries[0].promise_only);
        assert!(b.log_entries[0].checkpoint.is_none());
        assert!(b.witnessed[0].by_text().starts_with("nothing to witness"));
        let dsse = b.dsse.as_ref().unwrap();
        assert_eq!(dsse.subjects[0].as_str(), "pkg.tgz sha256:12 sha512:56");
    }

    #[test]
    fn a_failed_bundle_and_an_unreadable_sbom_show_why() {
        let minted = ArtifactReport {
            signatures: vec![BundleCheck {
                digest: "ab".into(),
                ok: false,
                signer: None,
                report: None,
                witnessed: Vec::new(),
                error: Some("identity: no trusted signer matched".into()),
                seen: Some(SeenRecord {
                    identities: vec!["https://fork.example/ci".into(), "b@x".into()],
                    issuer: Some("https://issuer.example".into()),
                    key_hint: None,
                    log_entries: vec![report::SeenLogEntry {
                        log_id: "cd".repeat(32),
                        log_index: 42,
                        kind: "hashedrekord 0.0.1".into(),
                        integrated_time: DateTime::from_timestamp(1_772_323_200, 0),
                    }],
                    expected: vec![report::ExpectedSigner {
                        name: "release".into(),
                        identity: Some("\"https://ci.example/release\"".into()),
                        issuer: Some("\"https://issuer.example\"".into()),
                        key_id: None,
                    }],
                    mismatch: Some(Mismatch::Identity),
                }),
            }],
            sboms: vec![SbomCheck {
                digest: "12".into(),
                source: SbomSource::Attestation,
                summary: None,
                error: Some("not JSON".into()),
            }],
            ..empty("override:legacy.tar.gz")
        };
        let r = report(1, stored(&minted));
        let b = &r.signatures[0];
        assert!(!b.ok && b.signer.is_none() && b.log_entries.is_empty());
        assert_eq!(
            b.error.as_ref().unwrap().as_str(),
            "identity: no trusted signer matched"
        );
        let seen = b.seen.as_ref().unwrap();
        assert_eq!(seen.identities.as_str(), "https://fork.example/ci, b@x");
        assert!(seen.identity_mismatch && !seen.issuer_mismatch);
        assert_eq!(
            seen.log_entries[0].integrated_time.as_deref(),
            Some("2026-03-01 00:00:00 UTC")
        );
        assert_eq!(
            seen.expected[0].identity.as_ref().unwrap().as_str(),
            "\"https://ci.example/release\""
        );
        assert_eq!(r.sboms[0].source, "attestation");
        assert_eq!(
            (
                r.sboms[0].components,
                r.sboms[0].error.as_ref().unwrap().as_str()
            ),
            (0, "not JSON")
        );
        assert!(r.provenance.is_none() && r.components.is_empty());
    }

    #[test]
    fn the_charts_fill_days_without_imports_and_measure_margins_from_the_archive_time() {
        let first = chrono::NaiveDate::from_ymd_opt(2026, 2, 27).unwrap();
        let counts = |day: &str, passed| store::imports::DayCounts {
            day: day.into(),
            imports: 1,
            passed,
            warned: 0,
            failed: 1,
        };
        let chart = verdict_chart(
            first,
            4,
            &[counts("2026-02-28", 3), counts("2026-03-02", 5)],
        );
        let days: Vec<(&str, u64, u64)> = chart
            .days
            .iter()
            .map(|d| (d.day.as_str(), d.passed, d.failed))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-02-27", 0, 0),
                ("2026-02-28", 3, 1),
                ("2026-03-01", 0, 0),
                ("2026-03-02", 5, 1)
            ]
        );
        let row = |import_id, expiry: &str| store::trust::TrustHistoryRow {
            name: "sigstore".into(),
            import_id,
            reference_time: "2026-03-01T00:00:00Z".into(),
            first_role: "timestamp".into(),
            first_expiry: expiry.into(),
        };
        let chart = margin_chart(&[
            row(1, "2026-03-08T00:00:00Z"),
            row(2, "not a time"),
            row(3, "2026-02-28T22:00:00Z"),
        ]);
        let margins: Vec<(i64, i64)> = chart
            .points
            .iter()
            .map(|p| (p.import_id, p.margin))
            .collect();
        assert_eq!(margins, [(1, 7 * 86_400), (3, -7_200)]);
        assert_eq!(chart.points[0].at, "2026-03-01 00:00:00 UTC");
    }
}
