//! The subcommands, one file each: `Args` parsed by clap, then `run()`.

mod common;
mod create;
mod extract;
mod inspect;
mod keygen;
mod progress;
mod trust;
mod verify;

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
    Create(create::CreateArgs),
    Inspect(inspect::InspectArgs),
    Verify(verify::VerifyArgs),
    Extract(extract::ExtractArgs),
    VerifyBundle(verify_bundle::VerifyBundleArgs),
    /// Verify TUF repositories carrying Sigstore trust data.
    Trust(trust::TrustArgs),
    Keygen(keygen::KeygenArgs),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Create(args) => create::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Extract(args) => extract::run(args),
        Command::VerifyBundle(args) => verify_bundle::run(args),
        Command::Trust(args) => trust::run(args),
        Command::Keygen(args) => keygen::run(args),
    }
}

/// `err` and its sources on one line, joined by ": " ("cannot read k.key: No such file or
/// directory"): error types do not repeat their source in `Display`.
pub(crate) fn error_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        line.push_str(": ");
        line.push_str(&err.to_string());
        source = err.source();
    }
    line
}
