//! `audit verify` and `audit export`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::{audit, integrity};
use clap::{Args, Subcommand};

use super::{DataArg, EXIT_REJECTED, fail, usage};

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check every row's hash and link; exits 1 naming the first broken row. With --deep, also
    /// re-hash every kept archive and evidence blob; exits 1 naming each that changed.
    Verify(VerifyArgs),
    /// Write the chain as JSON lines (each row with its hashes).
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    data: DataArg,
    /// Also re-hash the kept archives (against the SHA-256 recorded at import) and the
    /// evidence blobs (against their names).
    #[arg(long)]
    deep: bool,
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
            let verified = audit::verify(app.store().read());
            let chain = match verified {
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
                Err(e) => return fail(&e),
            };
            if !args.deep {
                return chain;
            }
            match integrity::verify_files(&app) {
                Ok(checked) if checked.problems.is_empty() && chain == ExitCode::SUCCESS => {
                    println!(
                        "kept files verified: {} archive(s), {} evidence blob(s)",
                        checked.archives, checked.blobs
                    );
                    ExitCode::SUCCESS
                }
                Ok(checked) => {
                    for problem in &checked.problems {
                        eprintln!("kept file changed: {problem}");
                    }
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
