//! The pages: server-rendered HTML for browsers (Askama templates and view models live in
//! `airlock-web`). Handlers are thin: parse, check the role, read the store or call the domain
//! off the async workers, build the view model and render it there too.
//!
//! Sessions are the `airlock_session` cookie. A request without a live session is sent to
//! `/signin`. Every form that changes state carries the session's CSRF token in a hidden
//! `csrf` field, checked (in constant time) before anything else happens; the sign-in form,
//! which comes before any session, double-submits a random token held in a cookie. Roles are
//! checked by every handler: auditors read, operators also upload, admins also administer.
//!
//! ```text
//! GET  /signin  POST /signin  POST /signout           anyone / any session
//! GET  /  /imports  /imports/{id}  /artifacts/{id}    auditor
//! GET  /artifacts                                     auditor
//! GET  /trust  /witness  /audit                       auditor
//! GET  /audit/export.jsonl  /audit/export.csv         auditor
//! GET  /imports/{id}/report.json  /artifacts/{id}/report.json   auditor
//! GET  /upload  POST /upload                          operator
//! GET  /admin/{signers,policy,publishers,users}       admin (and their POST forms)
//! POST /admin/alarms/clear                            admin
//! GET  /static/airlock.css                            anyone
//! ```

mod admin;
mod artifact_list;
mod audit;
mod components;
mod export;
mod read;
mod upload;
mod views;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::cookie::time::Duration as CookieAge;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use airlock_web::{Chrome, ErrorPage, Section, SignInPage, Template, Text, Viewer};
use rand_core::{OsRng, RngCore as _};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::query::QueryError;
use super::{
    ApiError, AppState, clear_session_cookie, monotonic_now, remote, set_session_cookie,
    strict_cookie,
};
use crate::admin::AdminError;
use crate::appliance::Appliance;
use crate::auth::{self, AuthError, Session};
use crate::exception::ExceptionError;
use crate::store::{Role, StoreError};

/// The cookie holding the sign-in form's token (before there is a session).
const SIGNIN_COOKIE: &str = "airlock_signin";

/// The largest urlencoded form accepted (the policy document is the largest).
const MAX_FORM: usize = 256 * 1024;

/// Registers every page route.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(MAX_FORM)
            .error_handler(|e, _| PageError::BadRequest(format!("form: {e}")).into()),
    )
    .route(airlock_web::STYLESHEET_PATH, web::get().to(stylesheet))
    .service(
        web::resource("/signin")
            .route(web::get().to(sign_in_form))
            .route(web::post().to(sign_in)),
    )
    .route("/signout", web::post().to(sign_out))
    .route("/", web::get().to(read::dashboard))
    .route("/imports", web::get().to(read::imports))
    .route("/imports/{id}", web::get().to(read::import))
    .route("/imports/{id}/report.json", web::get().to(export::import))
    .route("/artifacts", web::get().to(artifact_list::list))
    .route("/artifacts/{id}", web::get().to(read::artifact))
    .route(
        "/artifacts/{id}/report.json",
        web::get().to(export::artifact),
    )
    .route("/components", web::get().to(components::list))
    .route("/trust", web::get().to(read::trust))
    .route("/witness", web::get().to(read::witness))
    .route("/audit", web::get().to(audit::log))
    .route(
        airlock_web::JSONL_EXPORT_PATH,
        web::get().to(audit::export_jsonl),
    )
    .route(
        airlock_web::CSV_EXPORT_PATH,
        web::get().to(audit::export_csv),
    )
    .service(
        web::resource("/upload")
            .route(web::get().to(upload::form))
            .route(web::post().to(upload::upload)),
    );
    admin::configure(cfg);
}

/// A `200` of a file to save, named `name`: the builder, for the caller to give its body.
fn attachment(content_type: &str, name: &str) -> actix_web::HttpResponseBuilder {
    use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
    let mut response = HttpResponse::Ok();
    response.content_type(content_type).insert_header((
        header::CONTENT_DISPOSITION,
        ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name.to_owned())],
        },
    ));
    response
}

/// A page request that failed: an HTML error page with its status, or a redirect to the
/// sign-in page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// No live session: see other `/signin` (with a notice, if the session expired).
    #[error("not signed in")]
    SignIn {
        /// Why, when it is worth saying.
        notice: Option<&'static str>,
    },
    /// Malformed request (400).
    #[error("{0}")]
    BadRequest(String),
    /// The role or the CSRF token does not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// The signed-in viewer's role does not allow this (403, shown in the viewer's chrome).
    #[error("{message}")]
    NotAllowed {
        /// Who asked.
        viewer: Box<Viewer>,
        /// What they lack.
        message: String,
    },
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    /// Too large (413).
    #[error("the upload is larger than the {} allowed", airlock_web::bytes(*limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Broken on the appliance (500); the detail is logged, never shown.
    #[error("internal error (see the appliance log)")]
    Internal(String),
}

impl PageError {
    /// An internal failure whose detail goes to the log.
    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) | Self::NotAllowed { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn { notice } => {
                let to =
                    notice.map_or_else(|| "/signin".to_owned(), |n| format!("/signin?notice={n}"));
                return see_other(&to);
            }
            Self::Internal(detail) => {
                eprintln!("airlock-appliance: internal error: {detail}");
            }
            _ => {}
        }
        let status = self.status_code();
        let reason = status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            chrome: match self {
                Self::NotAllowed { viewer, .. } => {
                    Chrome::new(reason, viewer.as_ref().clone(), Section::None)
                }
                _ => Chrome::anonymous(reason),
            },
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message: Text::new(self.to_string()),
        };
        match page.render() {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body),
            Err(_) => HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(self.to_string()),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest(m) => Self::BadRequest(m),
            ApiError::Unauthorized(_) => Self::SignIn { notice: None },
            ApiError::Forbidden(m) => Self::Forbidden(m),
            ApiError::NotFound(m) => Self::NotFound(m),
            ApiError::Conflict(m) => Self::Conflict(m),
            ApiError::TooLarge { limit } => Self::TooLarge { limit },
            ApiError::Internal(m) => Self::Internal(m),
            other @ (ApiError::Throttled { .. } | ApiError::RateLimited { .. }) => {
                Self::Forbidden(other.to_string())
            }
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<AuthError> for PageError {
    fn from(e: AuthError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<AdminError> for PageError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Store(e) => e.into(),
            AdminError::Auth(e) => e.into(),
            AdminError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            AdminError::Invalid(m) => Self::BadRequest(m),
            AdminError::Policy(e) => Self::BadRequest(e.to_string()),
            e @ AdminError::LastAdmin(_) => Self::BadRequest(e.to_string()),
            AdminError::Locked(e) => Self::Conflict(e.to_string()),
        }
    }
}

impl From<ExceptionError> for PageError {
    fn from(e: ExceptionError) -> Self {
        match e {
            ExceptionError::Store(e) => e.into(),
            ExceptionError::Locked(e) => Self::Conflict(e.to_string()),
            ExceptionError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            e @ (ExceptionError::Policy(_) | ExceptionError::Vsa { .. }) => {
                Self::internal(e.to_string())
            }
            e @ (ExceptionError::AlreadyOpen { .. }
            | ExceptionError::NotPending { .. }
            | ExceptionError::NotRevocable { .. }) => Self::Conflict(e.to_string()),
            e => Self::BadRequest(e.to_string()),
        }
    }
}

impl From<QueryError> for PageError {
    fn from(e: QueryError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(format!("blocking task: {e}"))
    }
}

impl From<std::io::Error> for PageError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(format!("I/O: {e}"))
    }
}

impl From<airlock_web::RenderError> for PageError {
    fn from(e: airlock_web::RenderError) -> Self {
        Self::internal(format!("rendering a page: {e}"))
    }
}

/// How many page tasks (SQLite, argon2, rendering) run on the blocking pool at once. The
/// store is one serialised connection, so more threads than this only queue on its lock —
/// and a pool grown to one thread per waiting request spends its time switching between
/// them (measured: bench/web.sh). Imports do not count against it.
const PAGE_TASKS: usize = 4;

/// Admission to the blocking pool for page tasks.
static PAGE_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PAGE_TASKS);

/// Runs `f` on the blocking pool, at most [`PAGE_TASKS`] at a time.
async fn off_the_workers<T, F>(f: F) -> Result<T, PageError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let _admitted = PAGE_WORK
        .acquire()
        .await
        .map_err(|e| PageError::internal(format!("page work: {e}")))?;
    Ok(web::block(f).await?)
}

/// Runs `f` with the appliance on the blocking pool (SQLite, argon2, rendering).
pub(crate) async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, PageError>
where
    T: Send + 'static,
    F: FnOnce(&Appliance) -> Result<T, PageError> + Send + 'static,
{
    let app = Arc::clone(&state.app);
    off_the_workers(move || f(&app)).await?
}

/// A rendered page: `200 OK`, HTML.
pub(crate) fn html(body: String) -> HttpResponse {
    html_with(StatusCode::OK, body)
}

/// A rendered page with another status (a form shown again with its error).
pub(crate) fn html_with(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// `303 See Other` to `to` (after a form, and to the sign-in page).
pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// A page request's session cookie, not yet checked. Extracting it does no I/O (no cookie at
/// all is sent to `/signin` at once); the handler checks it with [`Signed::open`] on the
/// blocking pool, in the same hop as the page's own store reads, so a page costs one trip
/// off the async workers.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    token: String,
}

impl Signed {
    /// Authenticates the session (ending it if it was idle too long) and requires `role`:
    /// no live session is a redirect to `/signin`, too small a role a 403 page.
    pub(crate) fn open(&self, app: &Appliance, role: Role) -> Result<Visitor, PageError> {
        let session = match auth::authenticate(app, &self.token, app.now()) {
            Ok(session) => session,
            Err(AuthError::NotSignedIn) => return Err(PageError::SignIn { notice: None }),
            Err(AuthError::Expired) => {
                return Err(PageError::SignIn {
                    notice: Some("expired"),
                });
            }
            Err(e) => return Err(e.into()),
        };
        Visitor::new(session).require(role)
    }
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(
            super::session_cookie(req)
                .filter(|t| !t.is_empty())
                .map(|token| Self { token })
                .ok_or(PageError::SignIn { notice: None }),
        )
    }
}

/// A signed-in user whose role allows the page: the session and the chrome's viewer.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    session: Session,
    viewer: Viewer,
}

impl Visitor {
    fn new(session: Session) -> Self {
        let user = &session.user;
        let viewer = Viewer {
            name: Text::new(user.name.clone()),
            role: web_role(user.role),
            csrf: session.csrf_token.clone(),
        };
        Self { session, viewer }
    }

    /// Itself if the role is at least `role`, else the 403 page (in the viewer's chrome).
    fn require(self, role: Role) -> Result<Self, PageError> {
        let user = &self.session.user;
        if user.role >= role {
            Ok(self)
        } else {
            Err(PageError::NotAllowed {
                message: format!(
                    "this needs the {} role; {} is {}",
                    role.as_str(),
                    user.name,
                    user.role.as_str()
                ),
                viewer: Box::new(self.viewer),
            })
        }
    }

    /// The viewer, for the page's chrome.
    pub(crate) fn viewer(&self) -> Viewer {
        self.viewer.clone()
    }

    /// The session.
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// The signed-in user's name (the actor of audit rows).
    pub(crate) fn actor(&self) -> String {
        self.session.user.name.clone()
    }
}

/// A form that carries the session's CSRF token. Every field of a page form is optional at
/// the parsing stage (`#[serde(default)]`), so a missing token is a 403, not a parse error.
pub(crate) trait CsrfForm {
    /// The `csrf` field as posted.
    fn csrf(&self) -> &str;
}

/// A state-changing form and the session cookie it came with, checked by [`Posted::open`].
#[derive(Debug)]
pub(crate) struct Posted<T> {
    signed: Signed,
    /// The form.
    pub(crate) form: T,
}

impl<T: CsrfForm> Posted<T> {
    /// Authenticates the session, checks the form's CSRF token against it, then the role.
    pub(crate) fn open(&self, app: &Appliance, role: Role) -> Result<Visitor, PageError> {
        // Any role at all first: the token is checked before the role is.
        let visitor = self.signed.open(app, Role::Auditor)?;
        check_csrf(visitor.session(), self.form.csrf())?;
        visitor.require(role)
    }
}

impl<T: DeserializeOwned + CsrfForm + 'static> FromRequest for Posted<T> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let signed = Signed::from_request(req, payload).into_inner();
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let signed = signed?;
            let form = form
                .await
                .map_err(|e| PageError::BadRequest(format!("form: {e}")))?
                .into_inner();
            Ok(Self { signed, form })
        })
    }
}

/// 403 unless `given` is the session's CSRF token.
pub(crate) fn check_csrf(session: &Session, given: &str) -> Result<(), PageError> {
    if auth::csrf_matches(session, given) {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "missing or wrong CSRF token: reload the page and try again".into(),
        ))
    }
}

/// A form with nothing but the CSRF token (sign-out).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenOnly {
    csrf: String,
}

impl CsrfForm for TokenOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The web crate's role for the store's.
pub(crate) fn web_role(role: Role) -> airlock_web::Role {
    match role {
        Role::Auditor => airlock_web::Role::Auditor,
        Role::Operator => airlock_web::Role::Operator,
        Role::Admin => airlock_web::Role::Admin,
    }
}

/// The HTML 404 page for a path no route matches.
pub(super) fn not_found(path: &str) -> HttpResponse {
    PageError::NotFound(format!("no such page: {}", Text::new(path))).error_response()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        // Not per user and not evidence: browsers may keep it for an hour.
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .body(airlock_web::STYLESHEET)
}

/// `?notice=` on the sign-in page: only these fixed messages are ever shown.
#[derive(Debug, Deserialize)]
struct SignInQuery {
    notice: Option<String>,
}

fn notice_text(notice: Option<&str>) -> Option<&'static str> {
    match notice? {
        "expired" => Some("Your session expired after a period of inactivity. Sign in again."),
        "signed-out" => Some("You are signed out."),
        _ => None,
    }
}

/// A random token for the sign-in form (32 bytes, hex).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cookie that sets the sign-in form's token (for an hour, sent to `/signin` only).
fn set_signin_cookie(token: &str) -> Cookie<'static> {
    strict_cookie(SIGNIN_COOKIE, token, "/signin")
        .max_age(CookieAge::hours(1))
        .finish()
}

/// The cookie that removes it.
fn clear_signin_cookie() -> Cookie<'static> {
    strict_cookie(SIGNIN_COOKIE, "", "/signin")
        .max_age(CookieAge::ZERO)
        .finish()
}

/// The sign-in form's cookie, if any.
fn signin_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(SIGNIN_COOKIE).map(|c| c.value().to_owned())
}

/// The sign-in page with a fresh form token (and the cookie that double-submits it).
fn sign_in_page(
    status: StatusCode,
    name: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    let token = random_token();
    let body = SignInPage {
        chrome: Chrome::anonymous("Sign in"),
        csrf: token.clone(),
        name: Text::new(name),
        error: error.map(Text::new),
        notice,
    }
    .render()?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(set_signin_cookie(&token))
        .body(body))
}

async fn sign_in_form(
    signed: Option<Signed>,
    state: web::Data<AppState>,
    query: web::Query<SignInQuery>,
) -> Result<HttpResponse, PageError> {
    // Already signed in: nothing to do here.
    if let Some(signed) = signed {
        let live = blocking(&state, move |app| {
            Ok(signed.open(app, Role::Auditor).is_ok())
        })
        .await?;
        if live {
            return Ok(see_other("/"));
        }
    }
    sign_in_page(
        StatusCode::OK,
        "",
        None,
        notice_text(query.notice.as_deref()),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    csrf: String,
    name: String,
    password: String,
}

/// `POST /signin`: the form token, then the per-address rate limit, then the credentials
/// (argon2 off the async workers). Success sets the session cookie and goes to `/`; each
/// refusal shows the form again with why and its own status.
async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let SignInForm {
        csrf,
        name,
        password,
    } = form.into_inner();
    let expected = signin_cookie(&req).unwrap_or_default();
    if expected.is_empty() || !auth::secrets_match(&expected, &csrf) {
        return sign_in_page(
            StatusCode::FORBIDDEN,
            &name,
            Some("The sign-in form expired or came from elsewhere; try again.".into()),
            None,
        );
    }
    let from = remote(&req);
    if let Err(e) = state.limiter.check(from, monotonic_now()) {
        return sign_in_wait(&name, &e);
    }
    let who = name.clone();
    let outcome = blocking(&state, move |app| {
        Ok(auth::sign_in_from(
            app,
            Some(from),
            &who,
            &password,
            app.now(),
        ))
    })
    .await?;
    match outcome {
        Ok(session) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/"))
            .cookie(set_session_cookie(&session.token))
            .cookie(clear_signin_cookie())
            .finish()),
        Err(e @ AuthError::BadCredentials) => {
            sign_in_page(StatusCode::UNAUTHORIZED, &name, Some(e.to_string()), None)
        }
        Err(e @ (AuthError::Throttled { .. } | AuthError::RateLimited { .. })) => {
            sign_in_wait(&name, &e)
        }
        Err(e) => Err(e.into()),
    }
}

/// The sign-in page answering 429 with why, and `Retry-After` when the wait is known.
fn sign_in_wait(name: &str, e: &AuthError) -> Result<HttpResponse, PageError> {
    let mut response = sign_in_page(
        StatusCode::TOO_MANY_REQUESTS,
        name,
        Some(e.to_string()),
        None,
    )?;
    if let AuthError::Throttled { retry_after } | AuthError::RateLimited { retry_after } = e {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(auth::retry_seconds(*retry_after)),
        );
    }
    Ok(response)
}

/// `POST /signout`: ends the session and clears the cookie.
async fn sign_out(
    state: web::Data<AppState>,
    posted: Posted<TokenOnly>,
) -> Result<HttpResponse, PageError> {
    blocking(&state, move |app| {
        let visitor = posted.open(app, Role::Auditor)?;
        Ok(auth::sign_out(app, visitor.session(), app.now())?)
    })
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/signin?notice=signed-out"))
        .cookie(clear_session_cookie())
        .finish())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_sign_in_cookie_is_strict_secure_and_scoped() {
        assert_eq!(
            set_signin_cookie("t").to_string(),
            "airlock_signin=t; HttpOnly; SameSite=Strict; Secure; Path=/signin; Max-Age=3600"
        );
        assert_eq!(
            clear_signin_cookie().to_string(),
            "airlock_signin=; HttpOnly; SameSite=Strict; Secure; Path=/signin; Max-Age=0"
        );
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "airlock_session=s; airlock_signin=abc"))
            .to_http_request();
        assert_eq!(signin_cookie(&req).as_deref(), Some("abc"));
        assert_eq!(random_token().len(), 64);
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn only_known_notices_are_shown() {
        assert!(notice_text(Some("expired")).is_some());
        assert!(notice_text(Some("signed-out")).is_some());
        assert_eq!(notice_text(Some("<script>")), None);
        assert_eq!(notice_text(None), None);
    }

    #[test]
    fn page_errors_have_their_status_and_redirects_go_to_sign_in() {
        let r = PageError::SignIn {
            notice: Some("expired"),
        }
        .error_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers().get(header::LOCATION).unwrap(),
            "/signin?notice=expired"
        );
        let r = PageError::Forbidden("no".into()).error_response();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            PageError::from(ApiError::NotFound("x".into()))
                .status_code()
                .as_u16(),
            404
        );
        assert_eq!(
            PageError::internal("disk").to_string(),
            "internal error (see the appliance log)"
        );
    }
}
