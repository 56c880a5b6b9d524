//! `/upload` (operators): the upload form, and its `multipart/form-data` POST. The CSRF field
//! must come first (browsers send fields in document order) and is checked before a byte of
//! the archive is written; the archive is streamed to `incoming/<random>.partial` (never held
//! in memory), fsynced and imported as the API's upload is, then the browser is sent to the
//! import's page.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use actix_multipart::{Field, Multipart};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use airlock_web::{Chrome, Section, Template, Text, UploadPage, Viewer};
use futures_core::Stream;

use super::{PageError, Signed, Visitor, blocking, check_csrf, html, html_with, see_other};
use crate::http::incoming::{self, DEFAULT_FILE_NAME, MAX_FILE_NAME, Partial, ReceiveError};
use crate::http::{AppState, api};
use crate::pipeline::{self, ImportRequest, Original};
use crate::store::{ImportSource, Role};

/// The longest CSRF field read.
const MAX_TOKEN: usize = 256;

/// Room for the multipart framing and the CSRF field on top of the archive limit.
const FORM_OVERHEAD: u64 = 64 * 1024;

fn page(viewer: Viewer, max_upload: u64, error: Option<String>) -> Result<String, PageError> {
    Ok(UploadPage {
        chrome: Chrome::new("Upload", viewer, Section::Upload),
        max_upload,
        error: error.map(Text::new),
    }
    .render()?)
}

/// `GET /upload`.
pub(super) async fn form(
    signed: Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let limit = api::upload_limit(&state).await?;
    let body = blocking(&state, move |app| {
        page(signed.open(app, Role::Operator)?.viewer(), limit, None)
    })
    .await?;
    Ok(html(body))
}

/// `POST /upload`. A refused upload (empty, too large, malformed) shows the form again with
/// why; a wrong role or CSRF token is the 403 page.
pub(super) async fn upload(
    signed: Signed,
    req: HttpRequest,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let visitor = blocking(&state, move |app| signed.open(app, Role::Operator)).await?;
    let actor = visitor.actor();
    match receive(&visitor, &req, &state, payload).await {
        Ok((partial, file_name)) => {
            // The import runs for as long as it takes, outside the page tasks' limit.
            let app = Arc::clone(&state.app);
            let outcome = web::block(move || {
                // Owned here so the partial file outlives the import even if the request
                // goes away; removed afterwards unless the pipeline moved it.
                let partial = partial;
                pipeline::import_file_waiting(
                    &app,
                    ImportRequest {
                        source: ImportSource::Upload,
                        path: partial.0.clone(),
                        file_name,
                        actor,
                        original: Original::Move,
                    },
                    crate::lock::Wait::Forever,
                )
                .map_err(PageError::internal)
            })
            .await??;
            Ok(see_other(&format!("/imports/{}", outcome.import_id)))
        }
        Err(e @ (PageError::BadRequest(_) | PageError::TooLarge { .. })) => Ok(html_with(
            e_status(&e),
            page(
                visitor.viewer(),
                api::upload_limit(&state).await?,
                Some(e.to_string()),
            )?,
        )),
        Err(e) => Err(e),
    }
}

fn e_status(e: &PageError) -> StatusCode {
    actix_web::ResponseError::status_code(e)
}

/// Reads the form: the CSRF token (checked), then the archive into a partial file.
async fn receive(
    visitor: &Visitor,
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
) -> Result<(Partial, String), PageError> {
    let limit = api::upload_limit(state).await?;
    if let Some(length) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        && length > limit.saturating_add(FORM_OVERHEAD)
    {
        return Err(PageError::TooLarge { limit });
    }
    let mut form = Multipart::new(req.headers(), payload);

    let mut first = next_field(&mut form)
        .await?
        .ok_or_else(|| PageError::Forbidden("the form has no CSRF token".into()))?;
    if first.name() != Some("csrf") {
        return Err(PageError::Forbidden(
            "the CSRF token must come first in the form".into(),
        ));
    }
    let token = read_small(&mut first, MAX_TOKEN).await?;
    // The multipart reader moves on only once the previous field is gone.
    drop(first);
    check_csrf(visitor.session(), &token)?;

    let mut archive = loop {
        let field = next_field(&mut form)
            .await?
            .ok_or_else(|| PageError::BadRequest("choose an archive to upload".into()))?;
        if field.name() == Some("archive") {
            break field;
        }
    };
    let file_name = file_name(&archive)?;

    let incoming = state.app.data().incoming();
    let partial = incoming::receive(&incoming, &mut archive, limit)
        .await
        .map_err(|e| match e {
            ReceiveError::Io(e) => PageError::from(e),
            ReceiveError::Read(e) => PageError::BadRequest(format!("reading the upload: {e}")),
            ReceiveError::TooLarge => PageError::TooLarge { limit },
            ReceiveError::Empty => PageError::BadRequest(
                "the chosen file is empty; choose an archive to upload".into(),
            ),
        })?;
    Ok((partial, file_name))
}

async fn next_field(form: &mut Multipart) -> Result<Option<Field>, PageError> {
    poll_fn(|cx| Pin::new(&mut *form).poll_next(cx))
        .await
        .transpose()
        .map_err(|e| PageError::BadRequest(format!("the upload form: {e}")))
}

/// A small text field, at most `max` bytes.
async fn read_small(field: &mut Field, max: usize) -> Result<String, PageError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut *field).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| PageError::BadRequest(format!("the upload form: {e}")))?;
        if bytes.len() + chunk.len() > max {
            return Err(PageError::Forbidden("the CSRF token is too long".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| PageError::Forbidden("the CSRF token is not text".into()))
}

/// The archive's name as the browser gave it: text without control characters, stored and
/// shown, never used as a path.
fn file_name(field: &Field) -> Result<String, PageError> {
    let name = field
        .content_disposition()
        .and_then(|d| d.get_filename())
        .map(str::trim)
        .unwrap_or_default();
    if name.len() > MAX_FILE_NAME || name.chars().any(char::is_control) {
        return Err(PageError::BadRequest(format!(
            "the file name must be at most {MAX_FILE_NAME} bytes without control characters"
        )));
    }
    Ok(if name.is_empty() {
        DEFAULT_FILE_NAME.to_owned()
    } else {
        name.to_owned()
    })
}
