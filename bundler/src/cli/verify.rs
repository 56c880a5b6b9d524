//! `airlock-bundler verify`: the full offline check the site will make, on the connected side.

use std::collections::BTreeMap;
use std::process::ExitCode;

use airlock_bundler::archive::{ArchiveError, Progress, read_archive};
use airlock_bundler::check::{CheckInput, SignerRule, check};
use clap::Args;

use super::common::ArchiveArgs;
use super::progress::Bar;
use super::{EXIT_REJECTED, EXIT_USAGE};

/// Verify an archive completely, offline, as the site will: publisher signature, every blob,
/// TUF trust as of the archive's creation time, log checkpoints and consistency proofs,
/// every Sigstore bundle (any signer identity, reported), witnessing, SBOMs.
///
/// Exit status: 0 every artifact passed, 1 something failed, 2 usage or I/O error.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    archive: ArchiveArgs,

    /// The pinned root for a carried TUF repository, as NAME=ROOT.json; repeat per repository.
    #[arg(long = "tuf-root", value_name = "NAME=ROOT.json")]
    tuf_roots: Vec<String>,

    /// Judge TUF expiry at this time (RFC 3339) instead of the archive's creation time.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,

    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: VerifyArgs) -> ExitCode {
    match execute(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_REJECTED),
        Err((code, message)) => {
            eprintln!("airlock-bundler verify: {message}");
            ExitCode::from(code)
        }
    }
}

fn execute(args: &VerifyArgs) -> Result<bool, (u8, String)> {
    let usage = |m: String| (EXIT_USAGE, m);
    let mut pinned = BTreeMap::new();
    for pair in &args.tuf_roots {
        let (name, path) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("--tuf-root {pair:?}: expected NAME=ROOT.json")))?;
        let bytes = std::fs::read(path).map_err(|e| usage(format!("{path}: {e}")))?;
        pinned.insert(name.to_owned(), bytes);
    }
    let at = match &args.at {
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| usage(format!("--at {text:?}: {e}")))?
                .to_utc(),
        ),
        None => None,
    };
    let (parts, keys) = args.archive.open().map_err(usage)?;
    let scratch = tempfile::tempdir().map_err(|e| usage(format!("temporary folder: {e}")))?;
    let bar = Bar::new(args.quiet);
    bar.bytes("reading", parts.total_size().unwrap_or(0));
    let staging = scratch.path().join("staging");
    let staged = read_archive(&parts, &keys, &staging, &mut Progress(|n| bar.set(n)));
    bar.finish();
    let staged = staged.map_err(|e| match e {
        ArchiveError::Io { .. } => (EXIT_USAGE, e.to_string()),
        _ => (EXIT_REJECTED, e.to_string()),
    })?;
    let manifest = staged.manifest();
    let read_blob = |digest: &_, limit| staged.read_blob(digest, limit);
    let rules = BTreeMap::new();
    let any = SignerRule::any_identity();
    let report = check(
        &CheckInput {
            manifest,
            pinned_roots: &pinned,
            trust_at: at.unwrap_or(manifest.created_at),
            rules: &rules,
            default_rule: &any,
        },
        &read_blob,
        &scratch.path().join("trust"),
    )
    .map_err(|e| (EXIT_REJECTED, e.to_string()))?;

    if args.json {
        let out = serde_json::json!({
            "archive_id": manifest.archive_id,
            "signed_by": staged.signers().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "passed": report.all_passed(),
            "report": report,
        });
        println!("{out:#}");
    } else {
        for t in &report.trust {
            println!(
                "trust     {}: root v{}, trusted_root sha256 {}",
                t.name, t.root_version, t.trusted_root_sha256
            );
        }
        for l in &report.logs {
            println!(
                "log       {} at size {} ({} proofs verified here, {} for the site)",
                l.origin, l.size, l.proofs_verified, l.proofs_for_site
            );
        }
        for a in &report.artifacts {
            let verdict = if a.passed { "passed" } else { "FAILED" };
            println!("{verdict:<9} {} {}", a.name, a.digest);
            for e in &a.evidence {
                let mark = if e.ok { "ok" } else { "bad" };
                println!("          {mark:<3} {} {}: {}", e.kind, e.digest, e.detail);
            }
        }
    }
    Ok(report.all_passed())
}
