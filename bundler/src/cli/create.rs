//! `airlock-bundler create`: build a signed archive from a spec, verifying everything first.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_bundler::archive::{MAX_LEVEL, WriteOptions};
use airlock_bundler::create::{CreateError, CreateOptions, create};
use airlock_bundler::keys::{KeyId, load_signing_key};
use airlock_bundler::spec::Spec;
use clap::Args;

use super::common::parse_size;
use super::keygen::PassphraseArgs;
use super::progress::Bar;
use super::{EXIT_REJECTED, EXIT_USAGE};

/// Build a signed NAME.airlock.tar.zst from a spec (bundle.toml).
///
/// Hashes every input once, reads or fetches (HTTPS) the TUF trust data and the logs'
/// checkpoints with consistency proofs, verifies every Sigstore bundle offline against that
/// trust (preflight), then signs the manifest and writes the archive. Nothing is written at
/// the output path unless everything succeeded.
///
/// Exit status: 0 written, 1 preflight or verification failed, 2 usage or I/O error.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The spec (TOML): publisher, trust repositories, logs and artifacts.
    #[arg(long, value_name = "bundle.toml")]
    spec: PathBuf,

    /// The publisher's private key (PKCS#8 PEM); repeat to sign with several.
    #[arg(long, value_name = "NAME.key", required = true)]
    key: Vec<PathBuf>,

    /// The archive to write (refused if it exists).
    #[arg(short, long, value_name = "OUT.airlock.tar.zst")]
    output: PathBuf,

    /// Split the output into parts of at most SIZE (e.g. 700M, 4.7G): OUT.001, OUT.002, …
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_part_size: Option<u64>,

    /// The site's witness state (from the appliance): adds consistency proofs from the
    /// checkpoints the site last saw.
    #[arg(long, value_name = "FILE")]
    witness_state: Option<PathBuf>,

    /// Write the archive even if some artifacts fail preflight (the site will reject them).
    #[arg(long)]
    allow_failing: bool,

    /// Extra CA certificates (PEM) to trust for HTTPS, besides the system's.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,

    /// Publisher sequence number, below 2^63 (overrides the spec; default: creation time in
    /// Unix seconds).
    #[arg(long, value_name = "N")]
    sequence: Option<u64>,

    /// zstd level (1–19).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=i64::from(MAX_LEVEL)))]
    level: i32,

    /// zstd worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<u32>,

    #[command(flatten)]
    passphrase: PassphraseArgs,

    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,

    /// Print the manifest summary and preflight report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: CreateArgs) -> ExitCode {
    match execute(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("airlock-bundler create: {message}");
            ExitCode::from(code)
        }
    }
}

fn execute(args: &CreateArgs) -> Result<(), (u8, String)> {
    let usage = |e: &dyn std::fmt::Display| (EXIT_USAGE, e.to_string());
    let spec = Spec::load(&args.spec).map_err(|e| usage(&e))?;
    let mut keys = Vec::new();
    for path in &args.key {
        let key = load_signing_key(path, args.passphrase.for_key(path))
            .map_err(|e| (EXIT_USAGE, super::error_line(&e)))?;
        keys.push(key);
    }
    let extra_ca_pem = match &args.ca_file {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| (EXIT_USAGE, format!("{}: {e}", p.display())))?)
        }
        None => None,
    };
    let defaults = WriteOptions::default();
    let options = CreateOptions {
        output: args.output.clone(),
        write: WriteOptions {
            level: args.level,
            threads: args.threads.unwrap_or(defaults.threads),
            max_part_size: args.max_part_size,
        },
        allow_failing: args.allow_failing,
        witness_state: args.witness_state.clone(),
        extra_ca_pem,
        now: chrono::Utc::now(),
        sequence: args.sequence,
    };
    let bar = Bar::new(args.quiet);
    let key_refs: Vec<_> = keys.iter().collect();
    let result = create(&spec, &key_refs, &options, &bar);
    bar.finish();
    let created = result.map_err(|e| match &e {
        CreateError::Preflight { report, .. } => {
            for a in report.artifacts.iter().filter(|a| !a.passed) {
                eprintln!("  failed {}: {}", a.name, a.problems.join("; "));
            }
            (EXIT_REJECTED, e.to_string())
        }
        CreateError::Check(_) | CreateError::Trust { .. } => (EXIT_REJECTED, e.to_string()),
        _ => (EXIT_USAGE, e.to_string()),
    })?;

    let m = &created.manifest;
    if args.json {
        let summary = serde_json::json!({
            "files": created.files,
            "archive_id": m.archive_id,
            "created_at": m.created_at,
            "publisher": m.publisher,
            "signed_by": keys.iter().map(|k| KeyId::of(&k.verifying_key()).to_string()).collect::<Vec<_>>(),
            "artifacts": m.artifacts.len(),
            "blobs": m.blobs.len(),
            "bytes": m.total_blob_size(),
            "preflight": created.report,
        });
        println!("{summary:#}");
    } else {
        for f in &created.files {
            println!("{}", f.display());
        }
        let failed = created
            .report
            .artifacts
            .iter()
            .filter(|a| !a.passed)
            .count();
        eprintln!(
            "archive {} (publisher {} #{}): {} artifact(s), {} blob(s), {} bytes; preflight: {} passed, {} failed",
            m.archive_id,
            m.publisher.name,
            m.publisher.sequence,
            m.artifacts.len(),
            m.blobs.len(),
            m.total_blob_size(),
            created.report.artifacts.len() - failed,
            failed
        );
    }
    Ok(())
}
