//! `audit verify` and `audit export`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::audit;
use clap::{Args, Subcommand};

use super::{DataArg, EXIT_REJECTED, fail, usage};

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check every row's hash and link; exits 1 naming the first broken row.
    Verify(VerifyArgs),
    /// Write the chain as JSON lines (each row with its hashes).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    data: DataArg,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    data: DataArg,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::Verify(args) => {
            let app = match args.data.open() {
                Ok(app) => app,
                Err(code) => return code,
            };
            match audit::verify(app.store().read()) {
                Ok(Ok(status)) => {
                    println!(
                        "audit chain verified: {} row(s), head {}",
                        status.rows, status.head
                    );
                    ExitCode::SUCCESS
                }
                Ok(Err(broken)) => {
                    eprintln!("audit chain broken: {broken}");
                    ExitCode::from(EXIT_REJECTED)
                }
                Err(e) => fail(&e),
            }
        }
        AuditCommand::Export(args) => {
            let app = match args.data.open() {
                Ok(app) => app,
                Err(code) => return code,
            };
            let mut out: Box<dyn std::io::Write> = match &args.output {
                Some(path) => match std::fs::File::create(path) {
                    Ok(f) => Box::new(std::io::BufWriter::new(f)),
                    Err(e) => return usage(&format!("{}: {e}", path.display())),
                },
                None => Box::new(std::io::stdout().lock()),
            };
            match audit::export(app.store().read(), &mut out).and_then(|n| {
                out.flush().map_err(audit::ExportError::from)?;
                Ok(n)
            }) {
                Ok(n) => {
                    eprintln!("exported {n} row(s)");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}
