//! The JSON API (`/api/v1/…`) and `/healthz`. Handlers are thin: parse, call the store or
//! the pipeline off the async workers, answer JSON.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[cfg(test)]
use super::incoming::Partial;
use super::incoming::{self, DEFAULT_FILE_NAME, MAX_FILE_NAME, ReceiveError};
use super::query::{ArtifactsQuery, AuditQuery, ComponentsQuery, ImportsQuery};
use super::{
    ApiError, AppState, Authenticated, blocking, clear_session_cookie, monotonic_now, remote,
    set_session_cookie,
};
use crate::audit;
use crate::auth;
use crate::lock::Wait;
use crate::pipeline::{self, ImportRequest, Original};
use crate::report::ArtifactReport;
use crate::store::{self, ImportSource, Role};

/// The server's own bound on an upload (64 GiB); within it the `import.max_archive_bytes`
/// setting (default 16 GiB) is the limit in force.
pub const MAX_UPLOAD: u64 = 64 * 1024 * 1024 * 1024;

/// The largest JSON request body.
pub(super) const MAX_JSON: usize = 16 * 1024;

/// Rows per page of imports and of the audit log.
const PER_PAGE: i64 = 50;

/// The header an upload names its file in (untrusted text: stored, never a path).
const FILE_NAME_HEADER: &str = "X-Airlock-File-Name";

/// The DSSE envelope media type.
const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// Registers every API route.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).service(
        web::scope("/api/v1")
            .service(
                web::resource("/session")
                    .route(web::post().to(sign_in))
                    .route(web::get().to(current_session))
                    .route(web::delete().to(sign_out)),
            )
            .service(
                web::resource("/imports")
                    .route(web::get().to(list_imports))
                    .route(web::post().to(upload)),
            )
            .route("/imports/{id}", web::get().to(get_import))
            .route("/artifacts", web::get().to(list_artifacts))
            .route("/artifacts/{id}", web::get().to(get_artifact))
            .route("/artifacts/{id}/vsa", web::get().to(get_vsa))
            .route("/components", web::get().to(list_components))
            .route("/appliance-key", web::get().to(appliance_key))
            .route("/witness-state", web::get().to(witness_state))
            .route("/alarms", web::get().to(alarms))
            .route("/audit", web::get().to(audit_log))
            .route("/audit/verify", web::get().to(audit_verify))
            .configure(super::download::configure),
    );
}

async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    blocking(&state, |app| Ok(app.store().schema_version()?)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    })))
}

#[derive(Deserialize)]
struct SignIn {
    name: String,
    password: String,
}

#[derive(Serialize)]
struct SignedIn<'a> {
    token: &'a str,
    csrf_token: &'a str,
    role: Role,
}

async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let from = remote(&req);
    state.limiter.check(from, monotonic_now())?;
    let SignIn { name, password } = body.into_inner();
    let session = blocking(&state, move |app| {
        Ok(auth::sign_in_from(
            app,
            Some(from),
            &name,
            &password,
            app.now(),
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .cookie(set_session_cookie(&session.token))
        .json(SignedIn {
            token: &session.token,
            csrf_token: &session.csrf_token,
            role: session.user.role,
        }))
}

async fn current_session(auth: Authenticated) -> Result<HttpResponse, ApiError> {
    let session = auth.require(Role::Auditor)?;
    Ok(HttpResponse::Ok().json(json!({
        "name": session.user.name,
        "role": session.user.role,
        "csrf_token": session.csrf_token,
    })))
}

async fn sign_out(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let session = auth.require(Role::Auditor)?.clone();
    blocking(&state, move |app| {
        Ok(auth::sign_out(app, &session, app.now())?)
    })
    .await?;
    Ok(HttpResponse::NoContent()
        .cookie(clear_session_cookie())
        .finish())
}

async fn list_imports(
    auth: Authenticated,
    state: web::Data<AppState>,
    query: web::Query<ImportsQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let q = query.into_inner();
    let filter = q.filter()?;
    let page = q.page()?;
    let (imports, total) = blocking(&state, move |app| {
        Ok(store::imports::list(
            app.reader()?.read(),
            &filter,
            (page - 1) * PER_PAGE,
            PER_PAGE,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "page": page,
        "per_page": PER_PAGE,
        "total": total,
        "imports": imports,
    })))
}

/// `GET /api/v1/artifacts`: every artifact across imports, with the artifacts page's filters,
/// order and pages (one parser for both).
async fn list_artifacts(
    auth: Authenticated,
    state: web::Data<AppState>,
    query: web::Query<ArtifactsQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let q = query.into_inner();
    let filter = q.filter()?;
    let sort = q.sort()?;
    let page = q.page()?;
    let totals = state.artifact_totals.clone();
    let (artifacts, total) = blocking(&state, move |app| {
        let store = app.reader()?;
        let conn = store.read();
        let rows = store::artifacts::page(conn, &filter, sort, (page - 1) * PER_PAGE, PER_PAGE)?;
        Ok((rows, totals.total(conn, &filter)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "page": page,
        "per_page": PER_PAGE,
        "total": total,
        "sort": sort.as_str(),
        "artifacts": artifacts,
    })))
}

/// `GET /api/v1/components`: SBOM components across every artifact, with the component
/// page's search and pages (one parser for both); `total` counts the matching components,
/// `artifacts` the artifacts holding them.
async fn list_components(
    auth: Authenticated,
    state: web::Data<AppState>,
    query: web::Query<ComponentsQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let q = query.into_inner();
    let filter = q.filter()?;
    let page = q.page()?;
    let (components, (total, artifacts)) = blocking(&state, move |app| {
        let store = app.reader()?;
        let conn = store.read();
        let rows = store::components::search(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?;
        Ok((rows, store::components::count(conn, &filter)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "page": page,
        "per_page": PER_PAGE,
        "total": total,
        "artifacts": artifacts,
        "components": components,
    })))
}

async fn get_import(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let (import, steps, artifacts) = blocking(&state, move |app| {
        let store = app.reader()?;
        let conn = store.read();
        let import = store::imports::get(conn, id)?
            .ok_or_else(|| ApiError::NotFound(format!("import {id} not found")))?;
        Ok((
            import,
            store::imports::steps(conn, id)?,
            store::artifacts::of_import(conn, id)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "import": import,
        "steps": steps,
        "artifacts": artifacts,
    })))
}

async fn get_artifact(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let (artifact, report, exceptions) = blocking(&state, move |app| {
        let store = app.reader()?;
        let conn = store.read();
        let artifact = store::artifacts::get(conn, id)?
            .ok_or_else(|| ApiError::NotFound(format!("artifact {id} not found")))?;
        let report = store::artifacts::report(conn, id)?.unwrap_or_default();
        let now = app.now();
        let exceptions: Vec<_> = store::exceptions::of_artifact(conn, id)?
            .into_iter()
            .map(|e| json!({"state": e.state(now), "exception": e}))
            .collect();
        Ok((artifact, report, exceptions))
    })
    .await?;
    let report: ArtifactReport = serde_json::from_str(&report)
        .map_err(|e| ApiError::internal(format!("artifact {id}: stored report: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "artifact": artifact,
        "report": report,
        "exceptions": exceptions,
    })))
}

async fn get_vsa(
    auth: Authenticated,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let id = id.into_inner();
    let vsa = blocking(&state, move |app| {
        crate::exception::current_vsa(app.reader()?.read(), id, app.now())?
            .ok_or_else(|| ApiError::NotFound(format!("artifact {id} not found")))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(DSSE_MEDIA_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"artifact-{id}.vsa.dsse.json\""),
        ))
        .body(vsa))
}

async fn appliance_key(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Airlock-Key-Id", state.app.key_id().to_string()))
        .body(state.app.public_key_pem()))
}

async fn witness_state(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let signed = blocking(&state, |app| Ok(crate::witness_state::signed(app)?)).await?;
    Ok(HttpResponse::Ok()
        .content_type(DSSE_MEDIA_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"witness-state.dsse.json\"",
        ))
        .body(signed))
}

async fn alarms(auth: Authenticated, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let alarms = blocking(&state, |app| Ok(store::alarms::open(app.reader()?.read())?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "alarms": alarms })))
}

async fn audit_log(
    auth: Authenticated,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let filter = query.filter()?;
    let page = query.page()?;
    let totals = state.audit_totals.clone();
    let (rows, total) = blocking(&state, move |app| {
        let store = app.reader()?;
        let conn = store.read();
        Ok((
            store::audit::filtered(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE)?,
            totals.total(conn, &filter)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "page": page,
        "per_page": PER_PAGE,
        "total": total,
        "rows": rows,
    })))
}

async fn audit_verify(
    auth: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth.require(Role::Auditor)?;
    let verified = blocking(&state, |app| {
        Ok(audit::verify_heads(
            app.reader()?.read(),
            &app.verifying_key(),
            &[],
        )?)
    })
    .await?;
    // A broken chain is a finding to show, not a failed request.
    Ok(HttpResponse::Ok().json(match verified {
        Ok(status) => json!({
            "ok": true,
            "rows": status.chain.rows,
            "head": status.chain.head,
            "signed_head": status.heads.first(),
        }),
        Err(broken) => json!({"ok": false, "error": broken.to_string()}),
    }))
}

/// `POST /api/v1/imports`: the body is the archive. It is streamed to
/// `incoming/<random>.partial` (never held in memory), fsynced, and imported; the partial
/// file is removed on any failure, including the client going away.
async fn upload(
    auth: Authenticated,
    req: HttpRequest,
    state: web::Data<AppState>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.require(Role::Operator)?.user.name.clone();
    let limit = upload_limit(&state).await?;
    if let Some(length) = content_length(&req)?
        && length > limit
    {
        return Err(ApiError::TooLarge { limit });
    }
    let file_name = upload_file_name(&req)?;

    let incoming = state.app.data().incoming();
    let partial = incoming::receive(&incoming, &mut body, limit)
        .await
        .map_err(|e| match e {
            ReceiveError::Io(e) => ApiError::from(e),
            ReceiveError::Read(e) => ApiError::BadRequest(format!("reading the upload: {e}")),
            ReceiveError::TooLarge => ApiError::TooLarge { limit },
            ReceiveError::Empty => ApiError::BadRequest("the upload is empty".into()),
        })?;

    let outcome = blocking(&state, move |app| {
        // Owned here so that the partial file outlives the import even if the request is
        // dropped meanwhile; removed afterwards if the pipeline did not move it.
        let partial = partial;
        // Queued behind any import running (in this or another process), as before.
        pipeline::import_file_waiting(
            app,
            ImportRequest {
                source: ImportSource::Upload,
                path: partial.0.clone(),
                file_name,
                actor,
                original: Original::Move,
            },
            Wait::Forever,
        )
        .map_err(ApiError::internal)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/imports/{}", outcome.import_id),
        ))
        .json(outcome))
}

/// The largest upload accepted now: the `import.max_archive_bytes` setting, within the
/// server's own bound.
pub(crate) async fn upload_limit(state: &AppState) -> Result<u64, ApiError> {
    let setting = blocking(state, |app| {
        crate::settings::max_archive_bytes(app).map_err(ApiError::internal)
    })
    .await?;
    Ok(state.max_upload.min(setting))
}

/// The declared body length, if any.
fn content_length(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest("Content-Length is not a number".into()))
        })
        .transpose()
}

/// The upload's name as the client gave it: any UTF-8 text without control characters.
fn upload_file_name(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(FILE_NAME_HEADER) else {
        return Ok(DEFAULT_FILE_NAME.to_owned());
    };
    let name = std::str::from_utf8(HeaderValue::as_bytes(value))
        .map_err(|_| ApiError::BadRequest(format!("{FILE_NAME_HEADER} is not UTF-8")))?
        .trim();
    if name.len() > MAX_FILE_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{FILE_NAME_HEADER} must be at most {MAX_FILE_NAME} bytes without control characters"
        )));
    }
    Ok(if name.is_empty() {
        DEFAULT_FILE_NAME.to_owned()
    } else {
        name.to_owned()
    })
}

/// A query value, or `None` when absent or empty.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn list_query_errors_are_bad_requests_saying_why() {
        let q = web::Query::<ImportsQuery>::from_query("verdict=nope&page=0").unwrap();
        // The handler checks the filter before the page.
        let error = ApiError::from(q.filter().unwrap_err());
        assert!(
            matches!(&error, ApiError::BadRequest(m) if m.starts_with("verdict must be one of passed")),
            "{error:?}"
        );
        let error = ApiError::from(q.page().unwrap_err());
        assert!(
            matches!(&error, ApiError::BadRequest(m) if m == "page must be 1 to 1000000"),
            "{error:?}"
        );
    }

    #[test]
    fn the_file_name_is_text_not_a_path_check() {
        let req = TestRequest::default().to_http_request();
        assert_eq!(upload_file_name(&req).unwrap(), DEFAULT_FILE_NAME);
        let req = TestRequest::default()
            .insert_header((FILE_NAME_HEADER, "../../etc/passwd"))
            .to_http_request();
        // Stored as given: it is never used as a path.
        assert_eq!(upload_file_name(&req).unwrap(), "../../etc/passwd");
        let utf8 = HeaderValue::from_bytes("café.airlock.tar.zst".as_bytes()).unwrap();
        let req = TestRequest::default()
            .insert_header((FILE_NAME_HEADER, utf8))
            .to_http_request();
        assert_eq!(upload_file_name(&req).unwrap(), "café.airlock.tar.zst");
        for bad in [&b"a\tb"[..], b"caf\xe9"] {
            let req = TestRequest::default()
                .insert_header((FILE_NAME_HEADER, HeaderValue::from_bytes(bad).unwrap()))
                .to_http_request();
            assert!(matches!(
                upload_file_name(&req),
                Err(ApiError::BadRequest(_))
            ));
        }
    }

    #[test]
    fn a_partial_upload_is_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.partial");
        std::fs::write(&path, b"half").unwrap();
        drop(Partial(path.clone(), None));
        assert!(!path.exists());
        // Already moved away: nothing to do.
        drop(Partial(path, None));
    }
}
