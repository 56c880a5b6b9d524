//! `airlock-bundler inspect`: verify the manifest's signature and list the contents, reading
//! only the first entry.

use std::process::ExitCode;

use airlock_bundler::archive::read_manifest;
use clap::Args;

use super::common::ArchiveArgs;
use super::{EXIT_REJECTED, EXIT_USAGE};

/// Verify an archive's signature and list what it carries, without extracting anything.
///
/// Exit status: 0 listed, 1 the signature or manifest was rejected, 2 usage or I/O error.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[command(flatten)]
    archive: ArchiveArgs,

    /// Print the verified manifest as JSON (with the signing key ids).
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: InspectArgs) -> ExitCode {
    let (parts, keys) = match args.archive.open() {
        Ok(v) => v,
        Err(message) => {
            eprintln!("airlock-bundler inspect: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let opened = match read_manifest(&parts, &keys) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("airlock-bundler inspect: {e}");
            let code = match e {
                airlock_bundler::archive::ArchiveError::Io { .. } => EXIT_USAGE,
                _ => EXIT_REJECTED,
            };
            return ExitCode::from(code);
        }
    };
    let m = &opened.manifest;
    if args.json {
        let out = serde_json::json!({
            "signed_by": opened.signers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "manifest": m,
        });
        println!("{out:#}");
        return ExitCode::SUCCESS;
    }
    println!("archive     {}", m.archive_id);
    println!("created     {}", m.created_at.to_rfc3339());
    println!(
        "publisher   {} (sequence {})",
        m.publisher.name, m.publisher.sequence
    );
    if let Some(site) = &m.site {
        println!("site        {site}");
    }
    for signer in &opened.signers {
        println!("signed by   {signer}");
    }
    if let Some(notes) = &m.notes {
        println!("notes       {notes}");
    }
    for t in &m.trust {
        println!(
            "trust       {} ({} metadata files, {} targets)",
            t.name,
            t.metadata.len(),
            t.targets.len()
        );
    }
    for l in &m.logs {
        let size = l.checkpoint.lines().nth(1).unwrap_or("?");
        println!(
            "log         {} at size {size} ({} consistency proofs)",
            l.origin,
            l.consistency.len()
        );
    }
    for a in &m.artifacts {
        let kind = match a.kind {
            airlock_bundler::archive::ArtifactKind::File => "file",
            airlock_bundler::archive::ArtifactKind::OciImage => "oci-image",
        };
        println!(
            "artifact    {} [{kind}] {} {} bytes; {} bundle(s), {} attestation(s), {} SBOM(s)",
            a.name,
            a.digest,
            a.size,
            a.evidence.bundles.len() + a.evidence.signed_payloads.len(),
            a.evidence.attestations.len(),
            a.evidence.sboms.len()
        );
    }
    println!(
        "blobs       {} ({} bytes)",
        m.blobs.len(),
        m.total_blob_size()
    );
    ExitCode::SUCCESS
}
