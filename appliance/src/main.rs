//! `airlock-appliance`: the site's offline verification appliance and its admin CLI.

#![forbid(unsafe_code)]

mod cli;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
