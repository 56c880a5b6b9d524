//! `GET /artifacts/{id}/report.json` and `GET /imports/{id}/report.json`: the reports as JSON
//! documents to save ([`crate::export`], documented in `docs/report-export.md`). For a PDF,
//! the report pages print with their own print layout (no navigation, forms or buttons).

use actix_web::{HttpResponse, web};

use super::read::id;
use super::{PageError, Signed, attachment, blocking};
use crate::export::{self, ExportError};
use crate::http::AppState;
use crate::store::Role;

/// `GET /artifacts/{id}/report.json`.
pub(super) async fn artifact(
    signed: Signed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id(&path, "artifact")?;
    let body = blocking(&state, move |app| {
        signed.open(app, Role::Auditor)?;
        let doc = export::artifact(app, id, app.now()).map_err(page_error)?;
        serde_json::to_vec_pretty(&doc).map_err(PageError::internal)
    })
    .await?;
    Ok(attachment("application/json", &format!("artifact-{id}.report.json")).body(body))
}

/// `GET /imports/{id}/report.json`.
pub(super) async fn import(
    signed: Signed,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = id(&path, "import")?;
    let body = blocking(&state, move |app| {
        signed.open(app, Role::Auditor)?;
        let doc = export::import(app, id, app.now()).map_err(page_error)?;
        serde_json::to_vec_pretty(&doc).map_err(PageError::internal)
    })
    .await?;
    Ok(attachment("application/json", &format!("import-{id}.report.json")).body(body))
}

fn page_error(e: ExportError) -> PageError {
    match e {
        ExportError::NotFound(what) => PageError::NotFound(format!("{what} not found")),
        ExportError::Store(e) => e.into(),
        corrupt @ ExportError::Corrupt { .. } => PageError::internal(corrupt),
    }
}
