//! Loopback HTTP(S) servers for tests: a Rekor-v1 + C2SP tlog-tiles log server and a static
//! file server (for TUF repositories). Each runs on its own thread with its own actix runtime,
//! listens on 127.0.0.1 with an OS-chosen port, and stops when dropped.

use std::path::PathBuf;
use std::sync::{Arc, RwLock, mpsc};
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::json;
use tlog_tiles::Tile;

use crate::error::{KitError, Result};
use crate::log::TransparencyLog;
use crate::tls::TlsMaterial;

/// A running loopback server.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) url: String,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only awaits completion.
        drop(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> KitError + '_ {
    move |source| KitError::Io {
        what: what.to_string(),
        source,
    }
}

/// Starts `factory`'s app on 127.0.0.1:0 (over TLS if `tls` is given).
pub(crate) fn spawn<F, A>(factory: F, tls: Option<&TlsMaterial>) -> Result<Running>
where
    F: Fn() -> App<A> + Send + Clone + 'static,
    A: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
{
    let tls_config = tls.map(TlsMaterial::server_config).transpose()?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("airlock-testkit-server".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(factory).workers(1).disable_signals();
                let bound = match tls_config {
                    Some(cfg) => server.bind_rustls_0_23(("127.0.0.1", 0), cfg),
                    None => server.bind(("127.0.0.1", 0)),
                };
                let server = match bound {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let addr = server.addrs().first().copied();
                let running = server.run();
                let _ = tx.send(Ok((addr, running.handle())));
                let _ = running.await;
            });
        })
        .map_err(io_err("server thread"))?;
    let (addr, handle) = rx
        .recv()
        .map_err(|_| KitError::Io {
            what: "server start".into(),
            source: std::io::Error::other("server thread exited"),
        })?
        .map_err(io_err("127.0.0.1:0"))?;
    let addr = addr.ok_or_else(|| KitError::Io {
        what: "server address".into(),
        source: std::io::Error::other("no bound address"),
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    Ok(Running {
        url: format!("{scheme}://{addr}"),
        handle,
        thread: Some(thread),
    })
}

type SharedLog = Arc<RwLock<TransparencyLog>>;

/// A log server: Rekor v1 (`/api/v1/log`, `/api/v1/log/proof`) and C2SP tlog-tiles
/// (`/checkpoint`, `/tile/<L>/<N>[.p/<W>]`, `/tile/8/<L>/<N>…`, `/tile/entries/<N>[.p/<W>]`).
#[derive(Debug)]
pub struct LogServer {
    running: Running,
    log: SharedLog,
}

impl LogServer {
    /// Serves a snapshot of `log` over HTTP.
    pub fn start(log: &TransparencyLog) -> Result<Self> {
        Self::start_inner(log, None)
    }

    /// Serves a snapshot of `log` over HTTPS with `tls`'s certificate.
    pub fn start_https(log: &TransparencyLog, tls: &TlsMaterial) -> Result<Self> {
        Self::start_inner(log, Some(tls))
    }

    fn start_inner(log: &TransparencyLog, tls: Option<&TlsMaterial>) -> Result<Self> {
        let shared: SharedLog = Arc::new(RwLock::new(log.clone()));
        let data = web::Data::new(shared.clone());
        let running = spawn(
            move || {
                App::new()
                    .app_data(data.clone())
                    .route("/api/v1/log", web::get().to(rekor_log))
                    .route("/api/v1/log/proof", web::get().to(rekor_proof))
                    .route("/checkpoint", web::get().to(checkpoint))
                    .route("/tile/{path:.*}", web::get().to(tile))
            },
            tls,
        )?;
        Ok(LogServer {
            running,
            log: shared,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.running.url
    }

    /// Replaces the served log (e.g. after appending entries, or with a fork).
    pub fn set_log(&self, log: &TransparencyLog) {
        match self.log.write() {
            Ok(mut l) => *l = log.clone(),
            Err(poisoned) => *poisoned.into_inner() = log.clone(),
        }
    }
}

fn read(log: &SharedLog) -> std::sync::RwLockReadGuard<'_, TransparencyLog> {
    log.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found(msg: impl Into<String>) -> HttpResponse {
    HttpResponse::NotFound().json(json!({"code": 404, "message": msg.into()}))
}

fn bad_request(msg: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"code": 400, "message": msg.into()}))
}

async fn rekor_log(log: web::Data<SharedLog>) -> HttpResponse {
    let log = read(&log);
    let size = log.size();
    match (log.root(size), log.checkpoint(size)) {
        (Ok(root), Ok(cp)) => HttpResponse::Ok().json(json!({
            "rootHash": hex::encode(root),
            "treeSize": size,
            "signedTreeHead": cp.note,
            "treeID": log.tree_id().to_string(),
        })),
        _ => HttpResponse::InternalServerError().finish(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofQuery {
    first_size: Option<u64>,
    last_size: u64,
}

async fn rekor_proof(log: web::Data<SharedLog>, q: web::Query<ProofQuery>) -> HttpResponse {
    let log = read(&log);
    let first = q.first_size.unwrap_or(1);
    if first > q.last_size || q.last_size > log.size() {
        return bad_request(format!(
            "firstSize {first} and lastSize {} must satisfy firstSize <= lastSize <= {}",
            q.last_size,
            log.size()
        ));
    }
    match (
        log.consistency_proof(first, q.last_size),
        log.root(q.last_size),
    ) {
        (Ok(p), Ok(root)) => HttpResponse::Ok().json(json!({
            "rootHash": hex::encode(root),
            "hashes": p.iter().map(hex::encode).collect::<Vec<_>>(),
        })),
        _ => bad_request("no proof"),
    }
}

async fn checkpoint(log: web::Data<SharedLog>) -> HttpResponse {
    let log = read(&log);
    match log.checkpoint(log.size()) {
        Ok(cp) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(cp.note),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// Maps a request path below `/tile/` to tlog_tiles' `tile/H/L/N` form (H = 8).
fn parse_tile_path(path: &str) -> Option<Tile> {
    let sumdb = if let Some(rest) = path.strip_prefix("entries/") {
        format!("tile/8/data/{rest}")
    } else if path.starts_with("8/") {
        // Level 8 at height 8 would need 2^64 entries, so a leading "8/" is the height.
        format!("tile/{path}")
    } else {
        format!("tile/8/{path}")
    };
    Tile::from_path(&sumdb).ok()
}

async fn tile(log: web::Data<SharedLog>, path: web::Path<String>) -> HttpResponse {
    let Some(t) = parse_tile_path(&path) else {
        return not_found(format!("bad tile path {path}"));
    };
    let log = read(&log);
    // A tile is served only if the current tree has all of it.
    let level_bits = u32::from(t.height()) * u32::from(t.level());
    let needed = (t.level_index() << t.height()) + u64::from(t.width());
    let needed_entries = needed.checked_shl(level_bits).unwrap_or(u64::MAX);
    if needed_entries > log.size() {
        return not_found(format!("tile {path} is beyond tree size {}", log.size()));
    }
    match log.tile(&t) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(bytes),
        Err(e) => not_found(e.to_string()),
    }
}

/// A static file server (e.g. for a TUF repository directory).
#[derive(Debug)]
pub struct StaticServer {
    running: Running,
}

impl StaticServer {
    /// Serves `dir` over HTTP.
    pub fn start(dir: impl Into<PathBuf>) -> Result<Self> {
        Self::start_inner(dir.into(), None)
    }

    /// Serves `dir` over HTTPS with `tls`'s certificate.
    pub fn start_https(dir: impl Into<PathBuf>, tls: &TlsMaterial) -> Result<Self> {
        Self::start_inner(dir.into(), Some(tls))
    }

    fn start_inner(dir: PathBuf, tls: Option<&TlsMaterial>) -> Result<Self> {
        if !dir.is_dir() {
            return Err(KitError::Io {
                what: dir.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let running = spawn(
            move || App::new().service(actix_files::Files::new("/", dir.clone())),
            tls,
        )?;
        Ok(StaticServer { running })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.running.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths() {
        let t = parse_tile_path("0/x001/234.p/5").unwrap();
        assert_eq!(
            (
                t.height(),
                t.level(),
                t.level_index(),
                t.width(),
                t.is_data()
            ),
            (8, 0, 1234, 5, false)
        );
        let t = parse_tile_path("8/1/000").unwrap();
        assert_eq!((t.level(), t.level_index(), t.width()), (1, 0, 256));
        let t = parse_tile_path("entries/000.p/3").unwrap();
        assert!(t.is_data());
        assert_eq!(t.width(), 3);
        assert!(parse_tile_path("nonsense").is_none());
    }
}
