//! `serve`: HTTPS (TLS 1.3 only) for the pages and the API, and the inbox watcher.

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use airlock_appliance::appliance::Appliance;
use airlock_appliance::http::{self, ServeOptions};
use airlock_appliance::inbox;
use airlock_appliance::lock::Wait;
use airlock_appliance::pipeline;
use clap::Args;

use super::{DataArg, fail, usage};

/// Serve the appliance over HTTPS and import archives dropped into the inbox folder.
///
/// Serving takes the data folder's writer lock only while it writes (an import, a change
/// saved from the admin pages), so CLI commands run beside it: read-only ones (`status`,
/// `audit verify`, `audit export`, `witness-state`, the lists) at any time, changes when the
/// lock is free (`--wait`).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    data: DataArg,
    /// How long a change saved from the admin pages waits for the writer lock while another
    /// process holds it (uploads wait until it is free; the inbox tries again at its next
    /// scan). Recovery at start waits as long, and is otherwise left to the next import.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    wait: u64,
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
    let app = match Appliance::open(&args.data.data) {
        Ok(app) => app.with_writer("serve", Wait::seconds(args.wait)),
        Err(e) => return fail(&e),
    };
    // What a crashed writer left is recovered now if the lock comes free in time; otherwise
    // by the next import (each recovers under the lock before it starts).
    match pipeline::recover(&app) {
        Ok(_) => {}
        Err(pipeline::ImportError::Locked(e)) => {
            eprintln!("recovery left to the next import: {e}");
        }
        Err(e) => return fail(&e),
    }
    let app = Arc::new(app);
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
