//! The HTTPS server: actix-web over rustls (TLS 1.3 only), security headers on every
//! response, sessions by bearer token or cookie (with a CSRF token for cookie-authenticated
//! state changes), and the JSON API.
//!
//! [`app`] builds the application and [`run`] serves it; the `serve` command and the tests
//! share both (as zero-to-production does), so tests exercise the real stack over real TLS.

mod api;
mod download;
mod error;
mod incoming;
mod pages;
mod query;
mod registry;
pub(super) mod stream;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::cookie::time::Duration as CookieAge;
use actix_web::cookie::{Cookie, CookieBuilder, SameSite};
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, FromRequest, HttpRequest, HttpServer, web};

pub use api::MAX_UPLOAD;
pub use error::ApiError;

use crate::appliance::Appliance;
use crate::auth::{self, RateLimiter, Session};
use crate::store::Role;
use crate::tls::{self, TlsError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "airlock_session";

/// The header a cookie-authenticated state change carries its CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The security headers every response carries.
const SECURITY_HEADERS: [(&str, &str); 6] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000"),
    ("X-Frame-Options", "DENY"),
    // Responses are per user and often evidence; no cache keeps them.
    ("Cache-Control", "no-store"),
];

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The opened appliance.
    pub app: Arc<Appliance>,
    /// Sign-in attempts per remote address.
    pub limiter: RateLimiter,
    /// The largest upload accepted, in bytes.
    pub max_upload: u64,
    /// The site registry's index of released images.
    pub registry: Arc<crate::registry::Cache>,
    /// The artifacts list's totals of lately shown filters.
    pub artifact_totals: Arc<crate::store::artifacts::Totals>,
    /// The audit log's totals of lately shown filters.
    pub audit_totals: Arc<crate::store::audit::Totals>,
    /// The audit log's actions, listed again only when it grew (the filter's suggestions).
    pub audit_actions: Arc<crate::store::audit::Actions>,
    /// The dashboard's imports per day.
    pub daily: Arc<crate::store::imports::Daily>,
    /// The audit chain as last verified for the pages.
    pub chain_watch: Arc<crate::audit::ChainWatch>,
}

impl AppState {
    /// The state for `app` with the default rate limit and [`MAX_UPLOAD`].
    pub fn new(app: Arc<Appliance>) -> Self {
        Self {
            app,
            limiter: RateLimiter::default(),
            max_upload: MAX_UPLOAD,
            registry: Arc::default(),
            artifact_totals: Arc::default(),
            audit_totals: Arc::default(),
            audit_actions: Arc::default(),
            daily: Arc::default(),
            chain_watch: Arc::default(),
        }
    }
}

/// What the server does on SIGINT/SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signals {
    /// Stop gracefully (the service).
    Stop,
    /// Leave signals alone; the caller stops the server through its handle (tests).
    Ignore,
}

/// How [`run`] serves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// Signal handling.
    pub signals: Signals,
    /// The largest upload accepted, in bytes.
    pub max_upload: u64,
}

impl Default for ServeOptions {
    /// One worker per core, stop on signals, [`MAX_UPLOAD`].
    fn default() -> Self {
        Self {
            workers: None,
            signals: Signals::Stop,
            max_upload: MAX_UPLOAD,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The certificate or key.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listener.
    #[error("listening: {0}")]
    Io(#[from] std::io::Error),
}

/// The application: state, extractor configuration, security headers and every route.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let headers = SECURITY_HEADERS
        .into_iter()
        .fold(DefaultHeaders::new(), |h, pair| h.add(pair));
    App::new()
        .app_data(state)
        .app_data(
            web::JsonConfig::default()
                .limit(api::MAX_JSON)
                .error_handler(|e, _| ApiError::from(e).into()),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::NotFound(format!("no such path: {e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::BadRequest(format!("query: {e}")).into()),
        )
        .wrap(headers)
        .configure(registry::configure)
        .configure(api::configure)
        .configure(pages::configure)
        .default_service(web::to(not_found))
}

/// Any path no route matches: a JSON error under `/api/` (machines read it), an HTML page
/// anywhere else (a browser shows it). `/v2/` answers in the registry's own form.
async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError as _;
    let path = req.path();
    if path == "/api" || path.starts_with("/api/") {
        ApiError::NotFound(format!("no such page: {path}")).error_response()
    } else {
        pages::not_found(path)
    }
}

/// Serves the appliance on `listener` (already bound: `serve` binds its configured address,
/// tests bind `127.0.0.1:0`) over TLS 1.3 with the data folder's certificate and key.
///
/// The returned server runs once awaited (or spawned); stop it through its handle.
pub fn run(
    app: Arc<Appliance>,
    listener: TcpListener,
    options: &ServeOptions,
) -> Result<Server, ServeError> {
    let tls = tls::server_config(&app.data().tls_cert(), &app.data().tls_key())?;
    let state = web::Data::new(AppState {
        app,
        limiter: RateLimiter::default(),
        max_upload: options.max_upload,
        registry: Arc::default(),
        artifact_totals: Arc::default(),
        audit_totals: Arc::default(),
        audit_actions: Arc::default(),
        daily: Arc::default(),
        chain_watch: Arc::default(),
    });
    let mut server = HttpServer::new(move || self::app(state.clone()));
    if let Some(n) = options.workers {
        server = server.workers(n);
    }
    if options.signals == Signals::Ignore {
        server = server.disable_signals();
    }
    Ok(server.listen_rustls_0_23(listener, tls)?.run())
}

/// Runs `f` with the appliance on the blocking pool.
async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Appliance) -> Result<T, ApiError> + Send + 'static,
{
    let app = Arc::clone(&state.app);
    web::block(move || f(&app)).await?
}

/// How a request proved its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>` (not ambient: needs no CSRF token).
    Bearer,
    /// The `airlock_session` cookie (ambient: state changes need the CSRF header).
    Cookie,
}

/// A request with a live session. Extracting it checks the token, and for a
/// cookie-authenticated request with a method that changes state, the CSRF header; each
/// handler then states its minimum role with [`Authenticated::require`].
#[derive(Debug, Clone)]
pub struct Authenticated {
    session: Session,
    credential: Credential,
}

impl Authenticated {
    /// The session if its role is at least `role` (roles rank auditor < operator < admin),
    /// else [`ApiError::Forbidden`].
    pub fn require(&self, role: Role) -> Result<&Session, ApiError> {
        if self.session.user.role >= role {
            Ok(&self.session)
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role; {} is {}",
                role.as_str(),
                self.session.user.name,
                self.session.user.role.as_str()
            )))
        }
    }

    /// The session, whatever its role.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// How the request proved it.
    pub fn credential(&self) -> Credential {
        self.credential
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state(&req)?;
            let (token, credential) = credential(&req)?;
            let app = state.app.clone();
            let session = web::block(move || auth::authenticate(&app, &token, app.now())).await??;
            if credential == Credential::Cookie && changes_state(req.method()) {
                let given = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !auth::csrf_matches(&session, given) {
                    return Err(ApiError::Forbidden(format!(
                        "missing or wrong {CSRF_HEADER} header (required with the session cookie)"
                    )));
                }
            }
            Ok(Self {
                session,
                credential,
            })
        })
    }
}

/// The shared state (registered by [`app`]).
fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

/// The session token: the bearer token if there is an `Authorization` header, else the
/// session cookie.
fn credential(req: &HttpRequest) -> Result<(String, Credential), ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        return match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                Ok((token.trim().to_owned(), Credential::Bearer))
            }
            _ => Err(ApiError::Unauthorized(
                "the Authorization header must be `Bearer <token>`".into(),
            )),
        };
    }
    session_cookie(req)
        .map(|token| (token, Credential::Cookie))
        .ok_or_else(|| ApiError::Unauthorized(auth::AuthError::NotSignedIn.to_string()))
}

/// The `airlock_session` cookie's value (the first one the `Cookie` headers carry; pairs that
/// do not parse are skipped).
fn session_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned())
}

/// A cookie as the appliance sets every one: host-only (no `Domain`), `HttpOnly`, `Secure`,
/// `SameSite=Strict`, scoped to `path`.
fn strict_cookie(name: &'static str, value: &str, path: &'static str) -> CookieBuilder<'static> {
    Cookie::build(name, value.to_owned())
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path(path)
}

/// The cookie that sets the session.
fn set_session_cookie(token: &str) -> Cookie<'static> {
    strict_cookie(SESSION_COOKIE, token, "/").finish()
}

/// The cookie that removes it.
fn clear_session_cookie() -> Cookie<'static> {
    strict_cookie(SESSION_COOKIE, "", "/")
        .max_age(CookieAge::ZERO)
        .finish()
}

/// Whether `method` may change state (everything but GET, HEAD, OPTIONS and TRACE).
fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The address a request came from (the rate limit's key).
fn remote(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip())
}

/// The clock for the rate limiter (monotonic; read at the edge).
fn monotonic_now() -> Instant {
    Instant::now()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "a=1; airlock_session=tok; b=2"))
            .to_http_request();
        assert_eq!(session_cookie(&req).as_deref(), Some("tok"));
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "airlock_sessionx=no"))
            .to_http_request();
        assert_eq!(session_cookie(&req), None);
        // A pair that does not parse (another application's, on the same host) hides nothing.
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "junk; =x; airlock_session=\"tok\""))
            .to_http_request();
        assert_eq!(session_cookie(&req).as_deref(), Some("tok"));
    }

    #[test]
    fn a_bearer_token_wins_over_the_cookie() {
        let req = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer abc"))
            .insert_header((header::COOKIE, "airlock_session=tok"))
            .to_http_request();
        let (token, via) = credential(&req).unwrap();
        assert_eq!((token.as_str(), via), ("abc", Credential::Bearer));

        let req = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic abc"))
            .to_http_request();
        assert!(matches!(credential(&req), Err(ApiError::Unauthorized(_))));

        let req = TestRequest::default().to_http_request();
        assert!(matches!(credential(&req), Err(ApiError::Unauthorized(_))));
    }

    #[test]
    fn only_safe_methods_skip_the_csrf_check() {
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(changes_state(&m));
        }
    }

    #[test]
    fn the_cookie_is_host_only_strict_and_secure() {
        assert_eq!(
            set_session_cookie("t").to_string(),
            "airlock_session=t; HttpOnly; SameSite=Strict; Secure; Path=/"
        );
        assert_eq!(
            clear_session_cookie().to_string(),
            "airlock_session=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0"
        );
    }
}
