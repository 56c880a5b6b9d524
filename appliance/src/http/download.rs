//! Downloads for signed-in users: a released file artifact (`HEAD` and `Range` too), each
//! piece of evidence an archive carried for an artifact, its verdict as a Sigstore bundle,
//! and per import a `SHA256SUMS` and a JSON index of what was released, for mirrors.
//!
//! Every file served is read from the data folder by a path the appliance built from stored
//! rows and digests (never from the request), and only for artifacts that were released and
//! not withdrawn; evidence is served whatever the verdict, since auditors need it most for
//! what failed.

use std::fmt::Write as _;

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::Authenticated;
use super::error::ApiError;
use super::{AppState, blocking};
use crate::appliance::Appliance;
use airlock_bundler::archive::ArtifactKind;

use crate::registry::{self, Digest, EvidenceKind};
use crate::store::{self, ArtifactRow, ImportState, Role};

/// The schema version of `released.json`.
pub(super) const RELEASED_INDEX_SCHEMA: u32 = 1;

/// Registers the download routes (inside `/api/v1`).
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/artifacts/{id}/file")
            .route(web::get().to(file))
            .route(web::head().to(file)),
    )
    .route("/artifacts/{id}/evidence/{digest}", web::get().to(evidence))
    .route(
        "/artifacts/{id}/vsa.sigstore.json",
        web::get().to(vsa_bundle),
    )
    .route("/imports/{id}/SHA256SUMS", web::get().to(sha256sums))
    .route("/imports/{id}/released.json", web::get().to(released_index));
}

fn artifact(app: &Appliance, id: i64) -> Result<ArtifactRow, ApiError> {
    store::artifacts::get(app.reader()?.read(), id)?
        .ok_or_else(|| ApiError::NotFound(format!("artifact {id} not found")))
}

/// A file name safe in `Content-Disposition`: the last path component, printable ASCII
/// letters, digits and `._-+` kept, anything else `_`.
fn download_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "artifact".to_owned()
    } else {
        cleaned
    }
}

fn attachment(file: NamedFile, name: &str) -> NamedFile {
    file.set_content_disposition(ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(download_name(name))],
    })
    .use_last_modified(false)
}

fn open(path: &std::path::Path) -> Result<NamedFile, ApiError> {
    NamedFile::open(path).map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))
}

/// `GET|HEAD /api/v1/artifacts/{id}/file`: a released file artifact.
async fn file(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let (row, file) = blocking(&state, move |app| {
        let row = artifact(app, id)?;
        if row.kind != ArtifactKind::File {
            return Err(ApiError::NotFound(format!(
                "artifact {id} is an image: pull it from the registry (/v2/)"
            )));
        }
        if !registry::is_served(app, &row)? {
            return Err(ApiError::NotFound(format!(
                "artifact {id} is not released (failed, withdrawn or still importing)"
            )));
        }
        let path = app
            .data()
            .root()
            .join(row.location.as_deref().unwrap_or_default());
        let file = open(&path)?;
        Ok((row, file))
    })
    .await?;
    let mut response = attachment(file, &row.name)
        .set_content_type(actix_web::mime::APPLICATION_OCTET_STREAM)
        .into_response(&req);
    digest_headers(&mut response, &row.digest);
    Ok(response)
}

/// The artifact's SHA-256 as `X-Airlock-SHA256` (hex) and `Repr-Digest` (RFC 9530).
fn digest_headers(response: &mut HttpResponse, hex_digest: &str) {
    use base64::Engine as _;
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(hex_digest) {
        headers.insert(header::HeaderName::from_static("x-airlock-sha256"), value);
    }
    if let Ok(bytes) = hex::decode(hex_digest) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        if let Ok(value) = header::HeaderValue::from_str(&format!("sha-256=:{b64}:")) {
            headers.insert(header::HeaderName::from_static("repr-digest"), value);
        }
    }
}

/// `GET /api/v1/artifacts/{id}/evidence/{digest}`: a bundle, attestation or SBOM file the
/// archive carried for the artifact.
async fn evidence(
    auth: Authenticated,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let (id, digest_text) = path.into_inner();
    let digest = digest_text
        .parse::<Digest>()
        .ok()
        .or_else(|| Digest::from_hex(&digest_text).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{digest_text:?} is not a SHA-256 digest (sha256:<hex> or <hex>)"
            ))
        })?;
    let (row, kind, file) = blocking(&state, move |app| {
        let row = artifact(app, id)?;
        let report = registry::stored_report(app, id).map_err(ApiError::internal)?;
        let (_, kind, _) = registry::evidence_of(&report)
            .into_iter()
            .find(|(d, _, _)| *d == digest)
            .ok_or_else(|| {
                ApiError::NotFound(format!("artifact {id} carries no evidence {digest}"))
            })?;
        let path = registry::blob_file(&app.data().evidence_of(row.import_id), &digest);
        Ok((row, kind, open(&path)?))
    })
    .await?;
    let suffix = match kind {
        EvidenceKind::Signature => "sigstore.json",
        EvidenceKind::Attestation => "intoto.sigstore.json",
        EvidenceKind::Sbom => "sbom.json",
    };
    let name = format!(
        "{}.{}.{suffix}",
        download_name(&row.name),
        &digest.hex()[..12]
    );
    let mut response = attachment(file, &name)
        .set_content_type(actix_web::mime::APPLICATION_JSON)
        .into_response(&req);
    digest_headers(&mut response, &digest.hex());
    Ok(response)
}

/// `GET /api/v1/artifacts/{id}/vsa.sigstore.json`: the site's signed verdict (the active
/// exception's VSA while one releases the artifact) as a Sigstore bundle v0.3 with the
/// appliance key's hint.
async fn vsa_bundle(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let (name, bundle) = blocking(&state, move |app| {
        let row = artifact(app, id)?;
        let vsa =
            crate::exception::current_vsa(app.reader()?.read(), id, app.now())?.unwrap_or_default();
        let bundle = registry::vsa_bundle(&vsa, &app.key_id().to_string())
            .map_err(|e| ApiError::internal(format!("artifact {id}: stored VSA: {e}")))?;
        Ok((row.name, bundle))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(registry::SIGSTORE_BUNDLE_V03)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}.vsa.sigstore.json\"",
                download_name(&name)
            ),
        ))
        .body(bundle))
}

/// The released artifacts of an import (not withdrawn), with its row.
fn released_of(app: &Appliance, import_id: i64) -> Result<Vec<ArtifactRow>, ApiError> {
    let import = store::imports::get(app.reader()?.read(), import_id)?
        .ok_or_else(|| ApiError::NotFound(format!("import {import_id} not found")))?;
    if import.state != ImportState::Done {
        return Ok(Vec::new());
    }
    let rows = store::artifacts::of_import(app.reader()?.read(), import_id)?;
    let mut out = Vec::new();
    for row in rows {
        if registry::is_served(app, &row)? {
            out.push(row);
        }
    }
    Ok(out)
}

/// One `SHA256SUMS` line (`sha256sum` format; a name with a backslash or line break is
/// escaped and the line starts with `\`).
fn sums_line(out: &mut String, hex_digest: &str, name: &str) {
    if name.contains(['\\', '\n', '\r']) {
        let escaped = name
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        let _ = writeln!(out, "\\{hex_digest}  {escaped}");
    } else {
        let _ = writeln!(out, "{hex_digest}  {name}");
    }
}

/// `GET /api/v1/imports/{id}/SHA256SUMS`: the released file artifacts of an import.
async fn sha256sums(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let rows = blocking(&state, move |app| released_of(app, id)).await?;
    let mut body = String::new();
    for row in rows.iter().filter(|r| r.kind == ArtifactKind::File) {
        sums_line(&mut body, &row.digest, &row.name);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"import-{id}.SHA256SUMS\""),
        ))
        .body(body))
}

/// `GET /api/v1/imports/{id}/released.json`: what an import released, with where to fetch
/// each artifact and its evidence (schema [`RELEASED_INDEX_SCHEMA`], in docs/registry.md).
async fn released_index(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let body = blocking(&state, move |app| {
        let import = store::imports::get(app.reader()?.read(), id)?
            .ok_or_else(|| ApiError::NotFound(format!("import {id} not found")))?;
        let rows = released_of(app, id)?;
        let mut artifacts = Vec::new();
        for row in rows {
            let report = registry::stored_report(app, row.id).map_err(ApiError::internal)?;
            let evidence: Vec<_> = registry::evidence_of(&report)
                .into_iter()
                .map(|(digest, kind, _)| {
                    json!({
                        "kind": kind,
                        "digest": digest.to_string(),
                        "url": format!("/api/v1/artifacts/{}/evidence/{digest}", row.id),
                    })
                })
                .collect();
            let image = (row.kind == ArtifactKind::OciImage)
                .then(|| {
                    registry::repository_name(import.publisher.as_deref().unwrap_or_default(), &row.name)
                })
                .flatten()
                .map(|(repository, tag)| json!({"repository": repository, "name_tag": tag}));
            // A failed artifact is here only by an active exception: say which, until when.
            let exception = store::exceptions::active_of(app.reader()?.read(), row.id, app.now())?
                .map(|e| {
                    json!({
                        "id": e.id,
                        "expires_at": e.expires_at,
                        "requested_by": e.requested_by,
                        "approved_by": e.approved_by,
                    })
                });
            artifacts.push(json!({
                "id": row.id,
                "name": row.name,
                "kind": row.kind,
                "sha256": row.digest,
                "size": row.size,
                "media_type": row.media_type,
                "verdict": row.verdict,
                "download": (row.kind == ArtifactKind::File).then(|| format!("/api/v1/artifacts/{}/file", row.id)),
                "image": image,
                "vsa": format!("/api/v1/artifacts/{}/vsa", row.id),
                "vsa_bundle": format!("/api/v1/artifacts/{}/vsa.sigstore.json", row.id),
                "evidence": evidence,
                "exception": exception,
            }));
        }
        Ok(json!({
            "schema": RELEASED_INDEX_SCHEMA,
            "import": id,
            "publisher": import.publisher,
            "sequence": import.sequence,
            "archive_sha256": import.archive_sha256,
            "finished_at": import.finished_at,
            "artifacts": artifacts,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_are_one_safe_component() {
        assert_eq!(download_name("tool-1.2.tar.gz"), "tool-1.2.tar.gz");
        assert_eq!(download_name("dir/../../etc/passwd"), "passwd");
        assert_eq!(download_name("a \"b\";\r\nc"), "a__b____c");
        assert_eq!(download_name("..."), "artifact");
        assert_eq!(download_name(".hidden"), "hidden");
    }

    #[test]
    fn sums_lines_escape_names_as_sha256sum_does() {
        let mut out = String::new();
        sums_line(&mut out, "ab", "plain name");
        sums_line(&mut out, "cd", "line\nbreak\\x");
        assert_eq!(out, "ab  plain name\n\\cd  line\\nbreak\\\\x\n");
    }
}
