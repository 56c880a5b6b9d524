//! Rows and stored JSON turned into the web crate's view models. Everything that came from an
//! archive, a certificate or a user becomes [`Text`]; nothing here is marked safe.
//!
//! Stored reports are read as JSON values rather than typed: a report written by an older
//! appliance, or with a field missing, still shows what it has.

use airlock_trust_root::{Authority, LogInstance, TimeRange, TrustedRoot};
use airlock_web::{
    AlarmLine, ArtifactFacts, ArtifactLine, AuditLine, AuthorityView, BundleView, CheckpointLine,
    CheckpointView, ComponentRow, ComponentTable, DsseView, ImportFacts, ImportLine, LogEntryView,
    LogHead, LogInstanceView, ManifestSummary, Pager, ProvenanceView, RepositoryView, RoleLine,
    SbomView, SignerView, StepLine, Text, TimeView, TrustFreshness, TrustedRootView, WitnessedView,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::{
    self, Alarm, ArtifactRow, AuditRow, CheckpointRow, ImportRow, StepRow, TrustRow,
};

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

/// A JSON array field's elements (none if absent).
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
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
        step: r.step.clone(),
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
        kind: r.kind.clone(),
        digest: r.digest.clone(),
        size: r.size,
        verdict: r.verdict.clone(),
        reasons: reasons(&r.reasons),
    }
}

pub(super) fn artifact_facts(r: &ArtifactRow) -> ArtifactFacts {
    ArtifactFacts {
        id: r.id,
        import_id: r.import_id,
        name: Text::new(r.name.clone()),
        kind: r.kind.clone(),
        digest: r.digest.clone(),
        size: r.size,
        media_type: Text::new(r.media_type.clone()),
        verdict: r.verdict.clone(),
        location: r.location.clone().map(Text::new),
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

/// Reads a stored report (JSON of `pipeline::ArtifactReport`).
pub(super) fn report(v: &Value) -> Report {
    let mut components = Vec::new();
    let sboms = list(v, "sboms")
        .iter()
        .map(|sbom| {
            let summary = sbom.get("summary").filter(|x| !x.is_null());
            let rows = summary.map_or(&[][..], |x| list(x, "components"));
            components.extend(rows.iter().map(|c| ComponentRow {
                name: Text::new(s(c, "name")),
                version: Text::new(s(c, "version")),
                purl: Text::new(s(c, "purl")),
                license: Text::new(s(c, "license")),
            }));
            SbomView {
                digest: s(sbom, "digest"),
                source: s(sbom, "source"),
                format: summary.map(|x| Text::new(s(x, "format"))),
                // The count the SBOM gave (a report keeps at most 10,000 of them).
                components: summary
                    .and_then(|x| x.get("component_count"))
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(rows.len()),
                error: opt_s(sbom, "error").map(Text::new),
            }
        })
        .collect();
    Report {
        rule: Text::new(s(v, "rule")),
        enforcement: s(v, "enforcement"),
        problems: list(v, "problems")
            .iter()
            .filter_map(Value::as_str)
            .map(Text::new)
            .collect(),
        signatures: list(v, "signatures").iter().map(bundle).collect(),
        attestations: list(v, "attestations").iter().map(bundle).collect(),
        provenance: v
            .get("provenance")
            .filter(|p| !p.is_null())
            .map(|p| ProvenanceView {
                predicate_type: Text::new(s(p, "predicate_type")),
                builder_id: Text::new(s(p, "builder_id")),
                build_type: Text::new(s(p, "build_type")),
                source_uri: opt_s(p, "source_uri").map(Text::new),
                source_digest: opt_s(p, "source_digest").map(Text::new),
                build_level: u8::try_from(u(p, "build_level")).unwrap_or(u8::MAX),
            }),
        sboms,
        components,
    }
}

/// One bundle check (`pipeline::BundleCheck`).
fn bundle(b: &Value) -> BundleView {
    let report = b.get("report").filter(|r| !r.is_null());
    let entries = report.map_or(&[][..], |r| list(r, "log_entries"));
    BundleView {
        digest: s(b, "digest"),
        ok: b.get("ok").and_then(Value::as_bool).unwrap_or(false),
        trusted_signer: opt_s(b, "signer").map(Text::new),
        error: opt_s(b, "error").map(Text::new),
        bundle_version: report.map(|r| Text::new(s(r, "bundle_version"))),
        artifact_binding: report
            .and_then(|r| r.get("artifact_digest"))
            .filter(|d| !d.is_null())
            .map(|d| {
                let algorithm = match s(d, "algorithm").as_str() {
                    "sha384" => "SHA-384",
                    "sha512" => "SHA-512",
                    _ => "SHA-256",
                };
                let through = if report
                    .and_then(|r| r.get("dsse"))
                    .is_some_and(|x| !x.is_null())
                {
                    "named by the signed in-toto statement's subject"
                } else {
                    "covered by the signature"
                };
                Text::new(format!("its {algorithm} {}, {through}", s(d, "hex")))
            }),
        ignored_certificates: report
            .map_or(&[][..], |r| list(r, "ignored_chain_certificates"))
            .iter()
            .map(|c| {
                let what = if c.get("self_signed").and_then(Value::as_bool) == Some(true) {
                    "self-signed root"
                } else {
                    "CA certificate"
                };
                Text::new(format!("{} ({what})", s(c, "subject")))
            })
            .collect(),
        signer: report.and_then(|r| r.get("signer")).map(signer),
        log_entries: entries
            .iter()
            .map(|e| LogEntryView {
                log_base_url: Text::new(s(e, "log_base_url")),
                log_id: s(e, "log_id"),
                log_index: u(e, "log_index"),
                kind: Text::new(format!("{} {}", s(e, "kind"), s(e, "version"))),
                integrated_time: e
                    .get("integrated_time")
                    .filter(|t| !t.is_null())
                    .map(|_| json_time(e, "integrated_time")),
                proof_index: e.get("proof_index").and_then(Value::as_u64),
                promise_only: s(e, "proven_by") == "signed-entry-timestamp",
                checkpoint: e
                    .get("checkpoint")
                    .filter(|c| !c.is_null())
                    .map(|c| CheckpointView {
                        origin: Text::new(s(c, "origin")),
                        size: u(c, "size"),
                        root_hash: s(c, "root_hash"),
                        note: Text::new(s(c, "note")),
                    }),
            })
            .collect(),
        times: report
            .map_or(&[][..], |r| list(r, "observed_times"))
            .iter()
            .map(|t| TimeView {
                time: json_time(t, "time"),
                source: Text::new(match s(t, "source").as_str() {
                    "log-entry" => format!(
                        "signed entry timestamp of log entry {}",
                        u(t, "index").saturating_add(1)
                    ),
                    "timestamp-authority" => {
                        format!("RFC 3161 timestamp from {}", s(t, "authority"))
                    }
                    other => other.to_owned(),
                }),
            })
            .collect(),
        dsse: report
            .and_then(|r| r.get("dsse"))
            .filter(|d| !d.is_null())
            .map(|d| DsseView {
                payload_type: Text::new(s(d, "payload_type")),
                predicate_type: Text::new(s(d, "predicate_type")),
                subjects: list(d, "subjects")
                    .iter()
                    .map(|subject| {
                        let digests = subject
                            .get("digest")
                            .and_then(Value::as_object)
                            .map(|m| {
                                m.iter()
                                    .map(|(alg, hex)| {
                                        format!("{alg}:{}", hex.as_str().unwrap_or_default())
                                    })
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .unwrap_or_default();
                        Text::new(format!("{} {digests}", s(subject, "name")))
                    })
                    .collect(),
            }),
        witnessed: list(b, "witnessed")
            .iter()
            .map(|w| WitnessedView {
                origin: Text::new(s(w, "origin")),
                size: u(w, "size"),
                by: s(w, "by"),
            })
            .collect(),
    }
}

/// Who signed (`SignerFacts`).
fn signer(v: &Value) -> SignerView {
    match s(v, "kind").as_str() {
        "public-key" => SignerView::PublicKey {
            key_id: s(v, "key_id"),
            hint: Text::new(s(v, "hint")),
        },
        _ => SignerView::Certificate {
            identity: Text::new(s(v, "identity")),
            issuer: Text::new(s(v, "issuer")),
            serial: Text::new(s(v, "serial")),
            not_before: json_time(v, "not_before"),
            not_after: json_time(v, "not_after"),
            certificate_authority: Text::new(s(v, "certificate_authority")),
            sct_log_ids: list(v, "sct_log_ids")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
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
                format!("{} after", airlock_web::age(seconds))
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

pub(super) fn audit_line(r: &AuditRow) -> AuditLine {
    AuditLine {
        seq: r.seq,
        at: r.at.clone(),
        actor: Text::new(r.actor.clone()),
        action: Text::new(r.action.clone()),
        subject: Text::new(r.subject.clone()),
        detail: Text::new(r.detail.clone()),
        hash: r.hash.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_report_keeps_every_fact_it_shows() {
        let v = json!({
            "rule": "default",
            "enforcement": "enforce",
            "signatures": [{
                "digest": "ab", "ok": true, "signer": "release-ci", "error": null,
                "report": {
                    "bundle_version": "0.3",
                    "signer": {"kind": "certificate", "identity": "https://x/<id>", "issuer": "https://i",
                        "serial": "0a", "not_before": "2026-11-22T10:00:00Z", "not_after": "2026-11-22T10:10:00Z",
                        "certificate_authority": "fulcio", "sct_log_ids": ["cd"]},
                    "log_entries": [{"log_base_url": "https://rekor", "log_id": "ef", "log_index": 7,
                        "kind": "hashedrekord", "version": "0.0.1", "integrated_time": "2026-11-22T10:01:00Z",
                        "checkpoint": {"origin": "rekor", "size": 8, "root_hash": "01", "note": "rekor\n8\n"},
                        "proof_index": 7}],
                    "observed_times": [{"time": "2026-11-22T10:01:00Z", "source": "log-entry", "index": 0},
                        {"time": "2026-11-22T10:01:01Z", "source": "timestamp-authority", "authority": "tsa"}],
                    "dsse": null
                },
                "witnessed": [{"origin": "rekor", "size": 8, "by": "proof"}]
            }],
            "attestations": [],
            "provenance": {"predicate_type": "p", "builder_id": "b", "build_type": "t",
                "source_uri": null, "source_digest": "gitCommit:00", "build_level": 3},
            "sboms": [{"digest": "12", "source": "file", "error": null,
                "summary": {"format": "CycloneDX 1.5", "components": [
                    {"name": "zlib", "version": "1.3.1", "purl": null, "license": "Zlib"},
                    {"name": "openssl", "version": "3", "purl": "pkg:deb/openssl", "license": null}]}}],
            "problems": []
        });
        let r = report(&v);
        let b = &r.signatures[0];
        assert!(b.ok);
        assert_eq!(b.log_entries[0].log_index, 7);
        assert_eq!(b.log_entries[0].kind.as_str(), "hashedrekord 0.0.1");
        assert_eq!(
            b.log_entries[0].integrated_time.as_deref(),
            Some("2026-11-22 10:01:00 UTC")
        );
        assert_eq!(b.times[1].source.as_str(), "RFC 3161 timestamp from tsa");
        assert!(
            matches!(&b.signer, Some(SignerView::Certificate { identity, .. }) if identity.as_str() == "https://x/<id>")
        );
        assert_eq!(r.provenance.as_ref().unwrap().build_level, 3);
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
        let v = json!({"signatures": [{
            "digest": "ab", "ok": true, "signer": "npm", "error": null,
            "report": {
                "bundle_version": "0.1",
                "artifact_digest": {"algorithm": "sha512", "hex": "56"},
                "ignored_chain_certificates": [
                    {"subject": "CN=sigstore-intermediate,O=sigstore.dev", "self_signed": false},
                    {"subject": "CN=sigstore,O=sigstore.dev", "self_signed": true}],
                "log_entries": [{"log_base_url": "https://rekor", "log_id": "ef", "log_index": 7,
                    "kind": "intoto", "version": "0.0.2", "integrated_time": "2023-01-01T00:00:00Z",
                    "proven_by": "signed-entry-timestamp", "checkpoint": null, "proof_index": null}],
                "observed_times": [],
                "dsse": {"payload_type": "application/vnd.in-toto+json", "predicate_type": "p", "subjects": []}
            },
            "witnessed": [{"origin": "https://rekor", "size": 0, "by": "promise"}]
        }]});
        let r = report(&v);
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
        assert!(b.log_entries[0].promise_only);
        assert!(b.witnessed[0].by_text().starts_with("nothing to witness"));
    }

    #[test]
    fn an_empty_or_odd_report_still_renders() {
        let r = report(&json!({}));
        assert!(r.signatures.is_empty() && r.provenance.is_none());
    }
}
