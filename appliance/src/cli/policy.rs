//! `policy import` and `policy export`.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::admin;
use airlock_appliance::policy::PolicyDocument;
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail, usage};

/// Largest policy file read.
const MAX_POLICY_SIZE: u64 = 4 << 20;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Replace the policy and every trusted signer with a TOML document.
    Import(ImportArgs),
    /// Write the policy in force, with its signers, as TOML.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The policy document (TOML).
    file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    data: DataArg,
    /// Write here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(cmd: PolicyCommand) -> ExitCode {
    let result = match cmd {
        PolicyCommand::Import(a) => a.data.open("policy import").and_then(|app| {
            let size = std::fs::metadata(&a.file)
                .map_err(|e| usage(&format!("{}: {e}", a.file.display())))?
                .len();
            if size > MAX_POLICY_SIZE {
                return Err(usage(&format!(
                    "{}: larger than {MAX_POLICY_SIZE} bytes",
                    a.file.display()
                )));
            }
            let text = std::fs::read_to_string(&a.file)
                .map_err(|e| usage(&format!("{}: {e}", a.file.display())))?;
            let doc = PolicyDocument::from_toml(&text)
                .map_err(|e| usage(&format!("{}: {e}", a.file.display())))?;
            admin::import_policy(&app, "cli", &doc).map_err(|e| fail(&e))?;
            println!("policy replaced ({} signer(s))", doc.signers.len());
            Ok(())
        }),
        PolicyCommand::Export(a) => a.data.open_read().and_then(|app| {
            let text = admin::export_policy(&app).map_err(|e| fail(&e))?.to_toml();
            match &a.output {
                Some(path) => std::fs::write(path, text)
                    .map_err(|e| usage(&format!("{}: {e}", path.display()))),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
