//! `audit verify`, `audit export` and `audit sign-head`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::{audit, integrity};
use clap::{Args, Subcommand};

use super::{DataArg, EXIT_REJECTED, WriteArg, fail, usage};

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check every row's hash and link, then the chain against the latest signed head and
    /// any --head given; exits 1 naming the first problem. With --deep, also re-hash every
    /// kept archive and evidence blob; exits 1 naming each that changed. Read-only: takes no
    /// lock.
    Verify(VerifyArgs),
    /// Write the chain as JSON lines (each row with its hashes), then the signed heads.
    /// Read-only: takes no lock.
    Export(ExportArgs),
    /// Sign the chain's head now with the appliance key and print (or write) the signed head;
    /// keep it off the appliance to catch a later rewrite with `audit verify --head FILE`.
    SignHead(SignHeadArgs),
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    data: DataArg,
    /// A signed head kept elsewhere: the file `audit sign-head` writes, or an earlier
    /// `audit export` (its last signed head). The chain must still hold that row with that
    /// hash. Repeatable.
    #[arg(long = "head", value_name = "FILE")]
    heads: Vec<PathBuf>,
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

#[derive(Debug, Args)]
pub(crate) struct SignHeadArgs {
    #[command(flatten)]
    data: WriteArg,
    /// Write the signed head (a DSSE envelope) here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::Verify(args) => verify(&args),
        AuditCommand::Export(args) => {
            let app = match args.data.open_read() {
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
        AuditCommand::SignHead(args) => sign_head(&args),
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    let mut given = Vec::new();
    for path in &args.heads {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage(&format!("{}: {e}", path.display())),
        };
        match audit::head_in_file(&text) {
            Ok(envelope) => given.push(envelope),
            Err(e) => return usage(&format!("{}: {e}", path.display())),
        }
    }
    let app = match args.data.open_read() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let verified = audit::verify_heads(app.store().read(), &app.verifying_key(), &given);
    let chain = match verified {
        Ok(Ok(status)) => {
            println!(
                "audit chain verified: {} row(s), head {}",
                status.chain.rows, status.chain.head
            );
            for head in &status.heads {
                println!(
                    "signed head verified: row {} signed at {}",
                    head.seq, head.signed_at
                );
            }
            if status.heads.is_empty() {
                println!("no signed head to check the chain against");
            }
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

fn sign_head(args: &SignHeadArgs) -> ExitCode {
    let app = match args.data.open("audit sign-head") {
        Ok(app) => app,
        Err(code) => return code,
    };
    let head = {
        let _writer = match app.writer_lock() {
            Ok(lock) => lock,
            Err(e) => return fail(&e),
        };
        match app.store().write(|tx| audit::sign_head_with(tx, &app)) {
            Ok(head) => head,
            // The chain changed since the last signed head: a finding, as `verify` reports it.
            Err(e @ audit::HeadError::Chain(_)) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_REJECTED);
            }
            Err(e) => return fail(&e),
        }
    };
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &head.envelope) {
                return usage(&format!("{}: {e}", path.display()));
            }
            eprintln!("wrote {}", path.display());
        }
        None => println!("{}", head.envelope),
    }
    eprintln!("signed audit head: row {} hash {}", head.seq, head.hash);
    ExitCode::SUCCESS
}
