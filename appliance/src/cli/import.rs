//! `import`: import archives from the command line (from media).

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::pipeline::{self, ImportRequest, Original, Verdict};
use airlock_appliance::store::{ImportSource, ImportState};
use clap::Args;

use super::{EXIT_REJECTED, WriteArg, fail, print_json};

/// Import archives (or the first part of split ones). The original is copied into the data
/// folder and left where it is. Exits 1 if any archive was rejected or any artifact failed.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    #[command(flatten)]
    data: WriteArg,
    /// Archives to import, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print each outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: ImportArgs) -> ExitCode {
    let app = match args.data.open("import") {
        Ok(app) => app,
        Err(code) => return code,
    };
    // Said at once, before any import number or publisher sequence is used up.
    for file in &args.files {
        if let Err(e) = pipeline::preflight(&app, file) {
            return fail(&e);
        }
    }
    let mut all_good = true;
    for file in &args.files {
        let outcome = match pipeline::import_file(
            &app,
            ImportRequest {
                source: ImportSource::Cli,
                path: file.clone(),
                file_name: file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                actor: "cli".into(),
                original: Original::Copy,
            },
        ) {
            Ok(o) => o,
            Err(e) => return fail(&e),
        };
        if args.json {
            print_json(&outcome);
        } else {
            match &outcome.reason {
                Some(reason) => println!("import {}: rejected: {reason}", outcome.import_id),
                None => {
                    println!(
                        "import {}: {} artifact(s)",
                        outcome.import_id,
                        outcome.artifacts.len()
                    );
                    for a in &outcome.artifacts {
                        println!(
                            "  {:<7} {}  → {}",
                            a.verdict.as_str(),
                            a.name.escape_debug(),
                            a.location
                        );
                        for reason in &a.reasons {
                            println!("          {}", reason.escape_debug());
                        }
                    }
                }
            }
        }
        all_good &= outcome.state != ImportState::Rejected
            && outcome
                .artifacts
                .iter()
                .all(|a| a.verdict != Verdict::Failed);
    }
    if all_good {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTED)
    }
}
