//! `ApiError`: every way a JSON API request fails, as a status and a one-line
//! `{"error": "…"}` body. Internal failures are logged in full and shown as one generic line.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};

use super::query::QueryError;
use crate::auth::{AuthError, retry_seconds};
use crate::store::StoreError;

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// No session, or an expired one, or wrong credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but the role or the CSRF token does not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (404).
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than allowed (413).
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Too many failed sign-ins for one name, known or not (429).
    #[error(
        "too many failed sign-ins for this name; try again in {} s",
        retry_seconds(*retry_after)
    )]
    Throttled {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// Too many sign-in attempts from this address (429).
    #[error(
        "too many sign-in attempts from this address; try again in {} s",
        retry_seconds(*retry_after)
    )]
    RateLimited {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// Something broke on the appliance (500). The detail is logged, never sent.
    #[error("internal error (see the appliance log)")]
    Internal(String),
}

impl ApiError {
    /// An internal failure whose detail goes to the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Throttled { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) = self {
            // The appliance runs as a service: stderr is its log (the journal).
            eprintln!("airlock-appliance: internal error: {detail}");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::RateLimited { retry_after } | Self::Throttled { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_seconds(*retry_after)));
            }
            _ => {}
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials | AuthError::NotSignedIn | AuthError::Expired => {
                Self::Unauthorized(e.to_string())
            }
            AuthError::Throttled { retry_after } => Self::Throttled { retry_after },
            AuthError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            AuthError::Hash { .. } => Self::internal(e),
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => Self::NotFound(e.to_string()),
            StoreError::Exists(_) => Self::Conflict(e.to_string()),
            StoreError::Sqlite(_)
            | StoreError::TooNew { .. }
            | StoreError::NotMigrated { .. }
            | StoreError::Corrupt { .. } => Self::internal(e),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(format!("blocking task: {e}"))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(format!("I/O: {e}"))
    }
}

impl From<actix_web::error::JsonPayloadError> for ApiError {
    fn from(e: actix_web::error::JsonPayloadError) -> Self {
        use actix_web::error::JsonPayloadError as J;
        match e {
            J::OverflowKnownLength { limit, .. } | J::Overflow { limit } => Self::TooLarge {
                limit: limit as u64,
            },
            J::ContentType => Self::BadRequest("expected a JSON body (application/json)".into()),
            J::Deserialize(e) => Self::BadRequest(format!("JSON body: {e}")),
            other => Self::BadRequest(format!("JSON body: {other}")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_one_line_bodies() {
        let cases = [
            (ApiError::BadRequest("bad page".into()), 400),
            (AuthError::BadCredentials.into(), 401),
            (AuthError::Expired.into(), 401),
            (ApiError::Forbidden("role".into()), 403),
            (StoreError::NotFound("import 7".into()).into(), 404),
            (StoreError::Exists("user a".into()).into(), 409),
            (ApiError::TooLarge { limit: 5 }, 413),
            (
                AuthError::Throttled {
                    retry_after: Duration::from_secs(8),
                }
                .into(),
                429,
            ),
            (
                AuthError::RateLimited {
                    retry_after: Duration::from_millis(2500),
                }
                .into(),
                429,
            ),
            (ApiError::internal("disk on fire"), 500),
        ];
        for (err, status) in cases {
            assert_eq!(err.status_code().as_u16(), status, "{err}");
            let response = err.error_response();
            assert_eq!(response.status().as_u16(), status);
            assert!(!err.to_string().contains('\n'));
        }
        assert_eq!(
            ApiError::internal("disk on fire").to_string(),
            "internal error (see the appliance log)"
        );
        let limited: ApiError = AuthError::RateLimited {
            retry_after: Duration::from_millis(2500),
        }
        .into();
        let response = limited.error_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "3");
    }
}
