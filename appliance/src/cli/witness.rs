//! `witness-state`: the signed latest checkpoint per log.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::witness_state;
use clap::Args;

use super::{DataArg, fail, usage};

/// Write the signed witness state (the latest checkpoint of every log) for the connected
/// side's `airlock-bundler create --witness-state FILE`.
#[derive(Debug, Args)]
pub(crate) struct WitnessArgs {
    #[command(flatten)]
    data: DataArg,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: WitnessArgs) -> ExitCode {
    let app = match args.data.open_read() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let signed = match witness_state::signed(&app) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &signed) {
                return usage(&format!("{}: {e}", path.display()));
            }
            eprintln!("wrote {}", path.display());
        }
        None => println!("{}", String::from_utf8_lossy(&signed)),
    }
    ExitCode::SUCCESS
}
