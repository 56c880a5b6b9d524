//! `serve`: HTTPS (TLS 1.3 only) for the pages and the API, and the inbox watcher.

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use airlock_appliance::http::{self, ServeOptions};
use airlock_appliance::inbox;
use clap::Args;

use super::{DataArg, fail, usage};

/// Serve the appliance over HTTPS and import archives dropped into the inbox folder.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Seconds between inbox scans (an archive is imported once it is unchanged for one scan).
    #[arg(long, default_value_t = 2)]
    inbox_interval: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    let app = match args.data.open() {
        Ok(app) => Arc::new(app),
        Err(code) => return code,
    };
    let listener = match TcpListener::bind(args.listen) {
        Ok(l) => l,
        Err(e) => return usage(&format!("listening on {}: {e}", args.listen)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = inbox::watch(
        app.clone(),
        Duration::from_secs(args.inbox_interval.max(1)),
        stop.clone(),
    );
    let options = ServeOptions {
        workers: args.workers,
        ..ServeOptions::default()
    };
    eprintln!(
        "serving https://{} (data {})",
        args.listen,
        args.data.data.display()
    );
    let served = actix_web::rt::System::new().block_on(async move {
        let server = http::run(app, listener, &options).map_err(|e| fail(&e))?;
        server.await.map_err(|e| fail(&e))
    });
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
