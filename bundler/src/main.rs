//! `airlock-bundler`: the staff CLI on the connected side.
//!
//! Exit codes: 0 success, 1 verification failed, 2 usage or I/O error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
