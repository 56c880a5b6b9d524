//! `airlock-bundler extract`: read a whole archive (signature, then every blob hashed) into
//! a new folder.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_bundler::archive::{ArchiveError, Progress, read_archive};
use clap::Args;

use super::common::ArchiveArgs;
use super::progress::Bar;
use super::{EXIT_REJECTED, EXIT_USAGE};

/// Verify an archive and write its blobs to a new folder (DIR/manifest.dsse.json,
/// DIR/blobs/sha256/<hex>). The folder is removed again if anything fails.
///
/// Exit status: 0 extracted, 1 the archive was rejected, 2 usage or I/O error.
#[derive(Debug, Args)]
pub(crate) struct ExtractArgs {
    #[command(flatten)]
    archive: ArchiveArgs,

    /// The folder to create.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,

    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) fn run(args: ExtractArgs) -> ExitCode {
    let (parts, keys) = match args.archive.open() {
        Ok(v) => v,
        Err(message) => {
            eprintln!("airlock-bundler extract: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let bar = Bar::new(args.quiet);
    bar.bytes("reading", parts.total_size().unwrap_or(0));
    let result = read_archive(&parts, &keys, &args.to, &mut Progress(|n| bar.set(n)));
    bar.finish();
    match result {
        Ok(staged) => {
            let m = staged.manifest();
            eprintln!(
                "extracted {} blob(s), {} bytes, to {}",
                m.blobs.len(),
                m.total_blob_size(),
                staged.dir().display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("airlock-bundler extract: {e}");
            ExitCode::from(match e {
                ArchiveError::Io { .. } | ArchiveError::StagingExists(_) => EXIT_USAGE,
                _ => EXIT_REJECTED,
            })
        }
    }
}
