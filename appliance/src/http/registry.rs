//! The pull side of the OCI Distribution API (v1.1) under `/v2/`: manifests and blobs by
//! digest and by tag (`GET`, `HEAD`, `Range` on blobs), `tags/list` with pagination, the
//! referrers API, and a token endpoint for clients that follow the bearer challenge. What is
//! served, and how repositories are named, is [`crate::registry`]'s business; this module
//! speaks the protocol: the spec's error bodies, `Docker-Content-Digest`, and credentials.
//!
//! Machines authenticate with a pull token, as `Authorization: Bearer <token>` or as the
//! password of `Basic` credentials (what podman, containerd and skopeo send); the bearer
//! challenge points at `/v2/token`, which hands the same token back. Without a token only
//! anonymous pull (an admin setting, off by default) lets a request through. Push and delete
//! answer 405 `UNSUPPORTED`.

use std::sync::Arc;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::appliance::Appliance;
use crate::registry::{
    self, BlobSource, Digest, Image, Index, OCI_INDEX, Object, PullDenied, Puller, RegistryError,
    Repository,
};

/// The most tags one `tags/list` page returns, whatever `n` asks for.
pub(super) const MAX_TAGS_PAGE: usize = 1000;

/// Routes `/v2` and everything under it.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2", web::to(dispatch))
        .service(web::scope("/v2").default_service(web::to(dispatch)));
}

/// A registry error: a status, the spec's error code, and a message.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    challenge: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }

    fn response(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder.insert_header(API_VERSION);
        if let Some(challenge) = self.challenge {
            builder.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            builder.insert_header((header::ALLOW, "GET, HEAD"));
        }
        builder.json(json!({
            "errors": [{"code": self.code, "message": self.message, "detail": {}}]
        }))
    }
}

impl From<RegistryError> for Refusal {
    fn from(e: RegistryError) -> Self {
        eprintln!("airlock-appliance: registry: internal error: {e}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "internal error (see the appliance log)",
        )
    }
}

const API_VERSION: (&str, &str) = ("Docker-Distribution-API-Version", "registry/2.0");

/// What a `/v2/…` path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Base,
    Token,
    Manifest { name: &'a str, reference: &'a str },
    Blob { name: &'a str, digest: &'a str },
    Upload,
    Tags { name: &'a str },
    Referrers { name: &'a str, digest: &'a str },
    Unknown,
}

fn route(path: &str) -> Route<'_> {
    let Some(rest) = path.strip_prefix("/v2") else {
        return Route::Unknown;
    };
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Route::Base;
    }
    if rest == "token" {
        return Route::Token;
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Route::Tags { name };
    }
    if let Some((name, _)) = rest.split_once("/blobs/uploads") {
        let _ = name;
        return Route::Upload;
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        return Route::Manifest { name, reference };
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        return Route::Blob { name, digest };
    }
    if let Some((name, digest)) = rest.rsplit_once("/referrers/") {
        return Route::Referrers { name, digest };
    }
    Route::Unknown
}

#[derive(Debug, Deserialize)]
struct TagsQuery {
    n: Option<String>,
    last: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReferrersQuery {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
}

async fn dispatch(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let path = req.path().to_owned();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    if !read || route(&path) == Route::Upload {
        return Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "this registry serves what the site released: pull only",
        )
        .response();
    }
    let token = presented_token(&req);
    let app = Arc::clone(&state.app);
    let cache = Arc::clone(&state.registry);
    let query = req.query_string().to_owned();
    let host = req.connection_info().host().to_owned();
    let bearer = match &token {
        Token::Given(t) => Some(t.clone()),
        _ => None,
    };
    let answer = web::block(move || -> Result<Answer, Refusal> {
        let route = route(&path);
        let now = app.now();
        let puller = match token {
            Token::Malformed => {
                return Err(challenge(
                    &host,
                    None,
                    "the Authorization header is not Bearer or Basic",
                ));
            }
            Token::Given(t) => registry::authorize(&app, Some(&t), now)?,
            Token::None => registry::authorize(&app, None, now)?,
        };
        let scope_name = match &route {
            Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::Tags { name }
            | Route::Referrers { name, .. } => Some(*name),
            _ => None,
        };
        let puller = puller.map_err(|denied| deny(&host, scope_name, &denied))?;
        match route {
            Route::Base => Ok(Answer::Json(StatusCode::OK, json!({}))),
            Route::Token => Ok(token_answer(&puller, bearer)),
            Route::Manifest { name, reference } => {
                let (index, repo) = repository(&app, &cache, &puller, name)?;
                manifest(&app, &index, repo, reference)
            }
            Route::Blob { name, digest } => {
                let (index, repo) = repository(&app, &cache, &puller, name)?;
                blob(&app, &index, repo, digest)
            }
            Route::Tags { name } => {
                let (index, repo) = repository(&app, &cache, &puller, name)?;
                tags(&index, repo, name, &query)
            }
            Route::Referrers { name, digest } => {
                let digest = digest
                    .parse::<Digest>()
                    .ok()
                    .ok_or_else(|| bad_digest(digest))?;
                let query: ReferrersQuery = web::Query::from_query(&query)
                    .map(web::Query::into_inner)
                    .map_err(|e| {
                        Refusal::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", e.to_string())
                    })?;
                let list = match repository(&app, &cache, &puller, name) {
                    Ok((index, repo)) => index.repositories[&repo]
                        .image(&digest)
                        .map(|i| i.referrers.clone())
                        .unwrap_or_default(),
                    // The referrers API never answers 404: an unknown subject has none.
                    Err(r) if r.status == StatusCode::NOT_FOUND => Vec::new(),
                    Err(r) => return Err(r),
                };
                let filtered = query.artifact_type.is_some();
                let manifests: Vec<_> = list
                    .into_iter()
                    .filter(|d| {
                        query
                            .artifact_type
                            .as_ref()
                            .is_none_or(|t| d.artifact_type.as_ref() == Some(t))
                    })
                    .collect();
                Ok(Answer::Referrers {
                    body: serde_json::to_vec(&json!({
                        "schemaVersion": 2,
                        "mediaType": OCI_INDEX,
                        "manifests": manifests,
                    }))
                    .unwrap_or_default(),
                    filtered,
                })
            }
            Route::Upload | Route::Unknown => Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                format!("no such registry path: {path}"),
            )),
        }
    })
    .await;
    match answer {
        Ok(Ok(answer)) => answer.respond(&req),
        Ok(Err(refusal)) => refusal.response(),
        Err(e) => Refusal::from(RegistryError::Io {
            path: "(blocking pool)".into(),
            source: std::io::Error::other(e.to_string()),
        })
        .response(),
    }
}

/// The credential a request presents.
enum Token {
    None,
    Given(String),
    Malformed,
}

fn presented_token(req: &HttpRequest) -> Token {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Token::None;
    };
    let value = value.to_str().unwrap_or_default();
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            Token::Given(token.trim().to_owned())
        }
        Some((scheme, encoded)) if scheme.eq_ignore_ascii_case("basic") => {
            registry::basic_password(encoded).map_or(Token::Malformed, Token::Given)
        }
        _ => Token::Malformed,
    }
}

/// The 401 that sends a client to the token endpoint.
fn challenge(host: &str, name: Option<&str>, message: &str) -> Refusal {
    let scope = name
        .map(|n| format!(",scope=\"repository:{n}:pull\""))
        .unwrap_or_default();
    Refusal {
        challenge: Some(format!(
            "Bearer realm=\"https://{host}/v2/token\",service=\"airlock-appliance\"{scope}"
        )),
        ..Refusal::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
}

fn deny(host: &str, name: Option<&str>, denied: &PullDenied) -> Refusal {
    challenge(host, name, &denied.to_string())
}

fn bad_digest(text: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        format!("{text:?} is not sha256:<64 lower-case hex digits>"),
    )
}

/// `GET /v2/token`: the presented pull token, handed back as the bearer token (empty for an
/// anonymous puller).
fn token_answer(puller: &Puller, presented: Option<String>) -> Answer {
    let token = match puller {
        Puller::Token { .. } => presented.unwrap_or_default(),
        Puller::Anonymous => String::new(),
    };
    Answer::Json(
        StatusCode::OK,
        json!({"token": token, "access_token": token, "expires_in": 3600}),
    )
}

/// The index and the repository `name`, if this puller may read it.
fn repository(
    app: &Appliance,
    cache: &registry::Cache,
    puller: &Puller,
    name: &str,
) -> Result<(Arc<Index>, String), Refusal> {
    if !registry::valid_repository(name) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("{name:?} is not a valid repository name"),
        ));
    }
    if !puller.may_read(name) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "DENIED",
            format!("this pull token does not cover {name}"),
        ));
    }
    let index = cache.index(app)?;
    if !index.repositories.contains_key(name) {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            format!("no released image is served as {name}"),
        ));
    }
    Ok((index, name.to_owned()))
}

/// What a request is answered with (built on the blocking pool, sent on the worker).
enum Answer {
    Json(StatusCode, serde_json::Value),
    Manifest {
        media_type: String,
        digest: Digest,
        bytes: Vec<u8>,
    },
    Bytes {
        digest: Digest,
        bytes: Vec<u8>,
    },
    File {
        digest: Digest,
        file: Box<actix_files::NamedFile>,
    },
    Tags {
        body: serde_json::Value,
        next: Option<String>,
    },
    Referrers {
        body: Vec<u8>,
        filtered: bool,
    },
}

impl Answer {
    fn respond(self, req: &HttpRequest) -> HttpResponse {
        match self {
            Self::Json(status, body) => HttpResponse::build(status)
                .insert_header(API_VERSION)
                .json(body),
            Self::Manifest {
                media_type,
                digest,
                bytes,
            } => HttpResponse::Ok()
                .insert_header(API_VERSION)
                .insert_header(("Docker-Content-Digest", digest.to_string()))
                .insert_header((header::ETAG, format!("\"{digest}\"")))
                .content_type(media_type)
                .body(bytes),
            Self::Bytes { digest, bytes } => HttpResponse::Ok()
                .insert_header(API_VERSION)
                .insert_header(("Docker-Content-Digest", digest.to_string()))
                .content_type("application/octet-stream")
                .body(bytes),
            Self::File { digest, file } => {
                let mut response = file
                    .set_content_type(actix_web::mime::APPLICATION_OCTET_STREAM)
                    .disable_content_disposition()
                    .use_last_modified(false)
                    .into_response(req);
                let headers = response.headers_mut();
                if let Ok(value) = header::HeaderValue::from_str(&digest.to_string()) {
                    headers.insert(
                        header::HeaderName::from_static("docker-content-digest"),
                        value,
                    );
                }
                headers.insert(
                    header::HeaderName::from_static("docker-distribution-api-version"),
                    header::HeaderValue::from_static("registry/2.0"),
                );
                response
            }
            Self::Tags { body, next } => {
                let mut builder = HttpResponse::Ok();
                builder.insert_header(API_VERSION);
                if let Some(next) = next {
                    builder.insert_header((header::LINK, next));
                }
                builder.json(body)
            }
            Self::Referrers { body, filtered } => {
                let mut builder = HttpResponse::Ok();
                builder.insert_header(API_VERSION);
                if filtered {
                    builder.insert_header(("OCI-Filters-Applied", "artifactType"));
                }
                builder.content_type(OCI_INDEX).body(body)
            }
        }
    }
}

/// Reads a small file and checks it still has its digest.
fn read_checked(path: &std::path::Path, digest: &Digest) -> Result<Vec<u8>, Refusal> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(registry::MAX_MANIFEST + 1).read_to_end(&mut bytes))
        .map_err(|source| RegistryError::Io {
            path: path.to_owned(),
            source,
        })?;
    if Digest::of(&bytes) != *digest {
        return Err(RegistryError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(format!("no longer has the digest {digest}")),
        }
        .into());
    }
    Ok(bytes)
}

fn manifest(
    app: &Appliance,
    index: &Index,
    repo: String,
    reference: &str,
) -> Result<Answer, Refusal> {
    let repository = &index.repositories[&repo];
    let unknown = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!("{repo} has no released manifest {reference}"),
        )
    };
    let digest = if reference.starts_with("sha256:") || reference.contains(':') {
        reference
            .parse::<Digest>()
            .ok()
            .ok_or_else(|| bad_digest(reference))?
    } else {
        let at = repository.tags.get(reference).ok_or_else(unknown)?;
        repository.images[*at].digest
    };
    let (image, object) = repository.find(&digest).ok_or_else(unknown)?;
    match object {
        Object::Manifest { media_type, path } => Ok(Answer::Manifest {
            media_type: media_type.clone(),
            digest,
            bytes: read_checked(path, &digest)?,
        }),
        Object::Referrer(i) => {
            let referrer = derived(app, image, *i)?;
            Ok(Answer::Manifest {
                media_type: registry::OCI_MANIFEST.into(),
                digest,
                bytes: referrer.manifest,
            })
        }
        _ => Err(unknown()),
    }
}

/// The `i`th referrer of `image`, derived again (the same bytes as when indexed).
fn derived(app: &Appliance, image: &Image, i: usize) -> Result<registry::Referrer, Refusal> {
    let mut all = registry::referrers(app, image)?;
    if i >= all.len() || all[i].descriptor != image.referrers[i] {
        return Err(RegistryError::Io {
            path: "(derived referrer)".into(),
            source: std::io::Error::other("a derived referrer changed since it was indexed"),
        }
        .into());
    }
    Ok(all.swap_remove(i))
}

fn blob(app: &Appliance, index: &Index, repo: String, digest: &str) -> Result<Answer, Refusal> {
    let repository: &Repository = &index.repositories[&repo];
    let digest_text = digest;
    let digest = digest
        .parse::<Digest>()
        .ok()
        .ok_or_else(|| bad_digest(digest_text))?;
    let unknown = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("{repo} has no released blob {digest}"),
        )
    };
    let (image, object) = repository.find(&digest).ok_or_else(unknown)?;
    let open = |path: &std::path::Path| {
        actix_files::NamedFile::open(path).map_err(|source| {
            Refusal::from(RegistryError::Io {
                path: path.to_owned(),
                source,
            })
        })
    };
    match object {
        Object::Blob { path } | Object::Manifest { path, .. } => Ok(Answer::File {
            digest,
            file: Box::new(open(path)?),
        }),
        Object::Empty => Ok(Answer::Bytes {
            digest,
            bytes: registry::EMPTY_BLOB.to_vec(),
        }),
        Object::ReferrerBlob(i) => match derived(app, image, *i)?.source {
            BlobSource::Made(bytes) => Ok(Answer::Bytes { digest, bytes }),
            BlobSource::Evidence(path) => Ok(Answer::File {
                digest,
                file: Box::new(open(&path)?),
            }),
        },
        Object::Referrer(i) => Ok(Answer::Bytes {
            digest,
            bytes: derived(app, image, *i)?.manifest,
        }),
    }
}

fn tags(index: &Index, repo: String, name: &str, query: &str) -> Result<Answer, Refusal> {
    let repository = &index.repositories[&repo];
    let query: TagsQuery = web::Query::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                e.to_string(),
            )
        })?;
    let n = match query.n.as_deref() {
        None => MAX_TAGS_PAGE,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "PAGINATION_NUMBER_INVALID",
                    format!("n={n:?} is not a number"),
                )
            })?
            .min(MAX_TAGS_PAGE),
    };
    let after = query.last.unwrap_or_default();
    let mut all = repository
        .tags
        .keys()
        .filter(|t| after.is_empty() || t.as_str() > after.as_str());
    let page: Vec<&String> = all.by_ref().take(n).collect();
    let next = match (page.last(), all.next()) {
        (Some(last), Some(_)) => Some(format!(
            "</v2/{name}/tags/list?n={n}&last={last}>; rel=\"next\""
        )),
        _ => None,
    };
    Ok(Answer::Tags {
        body: json!({"name": name, "tags": page}),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_what_they_ask_for() {
        let d = "sha256:00";
        assert_eq!(route("/v2/"), Route::Base);
        assert_eq!(route("/v2"), Route::Base);
        assert_eq!(route("/v2/token"), Route::Token);
        assert_eq!(
            route("/v2/acme/app/manifests/1.0"),
            Route::Manifest {
                name: "acme/app",
                reference: "1.0"
            }
        );
        assert_eq!(
            route(&format!("/v2/acme/blobs/blobs/{d}")),
            Route::Blob {
                name: "acme/blobs",
                digest: d
            }
        );
        assert_eq!(route("/v2/acme/app/blobs/uploads/"), Route::Upload);
        assert_eq!(
            route("/v2/acme/app/tags/list"),
            Route::Tags { name: "acme/app" }
        );
        assert_eq!(
            route(&format!("/v2/acme/app/referrers/{d}")),
            Route::Referrers {
                name: "acme/app",
                digest: d
            }
        );
        assert_eq!(route("/v2/acme/app"), Route::Unknown);
    }
}
