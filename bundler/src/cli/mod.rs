//! The subcommands, one file each: `Args` parsed by clap, then `run()`.

mod trust;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod verify_bundle;

/// Exit code when the input was checked and rejected.
pub(crate) const EXIT_REJECTED: u8 = 1;
/// Exit code for usage errors and I/O failures.
pub(crate) const EXIT_USAGE: u8 = 2;

/// Builds, inspects and verifies Airlock archives on the connected side.
#[derive(Debug, Parser)]
#[command(name = "airlock-bundler", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    VerifyBundle(verify_bundle::VerifyBundleArgs),
    /// Verify TUF repositories carrying Sigstore trust data.
    Trust(trust::TrustArgs),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::VerifyBundle(args) => verify_bundle::run(args),
        Command::Trust(args) => trust::run(args),
    }
}
