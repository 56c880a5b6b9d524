//! `signers`: who may sign artifacts.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::admin;
use airlock_appliance::policy::SignerSpec;
use airlock_appliance::store;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail, usage};

#[derive(Debug, Subcommand)]
pub(crate) enum SignersCommand {
    /// Trust a keyless identity (--issuer with --subject or --subject-regex) or a PEM key.
    Add(AddArgs),
    /// List trusted signers.
    List(ListArgs),
    /// Trust a signer again.
    Enable(NameArgs),
    /// Stop trusting a signer (the next import judges without it).
    Disable(NameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    data: WriteArg,
    /// A unique name for the signer.
    name: String,
    /// The OIDC issuer (keyless).
    #[arg(long)]
    issuer: Option<String>,
    /// The certificate's subject, exactly (keyless).
    #[arg(long, conflicts_with = "subject_regex")]
    subject: Option<String>,
    /// The certificate's subject as an anchored regular expression (keyless).
    #[arg(long)]
    subject_regex: Option<String>,
    /// A managed public key (PEM) instead of a keyless identity.
    #[arg(long, value_name = "PEM", conflicts_with_all = ["issuer", "subject", "subject_regex"])]
    key: Option<PathBuf>,
    /// Not trusted at or after this time (RFC 3339).
    #[arg(long)]
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataArg,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The signer's name.
    name: String,
}

pub(crate) fn run(cmd: SignersCommand) -> ExitCode {
    let result = match cmd {
        SignersCommand::Add(a) => a.data.open("signers add").and_then(|app| {
            let public_key = a
                .key
                .as_ref()
                .map(|p| {
                    std::fs::read_to_string(p).map_err(|e| usage(&format!("{}: {e}", p.display())))
                })
                .transpose()?;
            let spec = SignerSpec {
                name: a.name.clone(),
                issuer: a.issuer,
                subject: a.subject,
                subject_regex: a.subject_regex,
                public_key,
                enabled: true,
                expires_at: a.expires_at,
            };
            admin::add_signer(&app, "cli", &spec).map_err(|e| fail(&e))?;
            println!("trusted signer {}", a.name);
            Ok(())
        }),
        SignersCommand::List(a) => a.data.open_read().and_then(|app| {
            for s in store::signers::list(app.store().read()).map_err(|e| fail(&e))? {
                let what = match (&s.issuer, &s.subject) {
                    (Some(i), Some(subj)) if s.subject_is_regex => format!("{i} ~ {subj}"),
                    (Some(i), Some(subj)) => format!("{i} = {subj}"),
                    _ => "public key".to_owned(),
                };
                println!(
                    "{:<20} {:<8} {}{}",
                    s.name,
                    if s.enabled { "enabled" } else { "disabled" },
                    what,
                    s.expires_at
                        .map(|e| format!(" (expires {e})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }),
        SignersCommand::Enable(a) => a.data.open("signers enable").and_then(|app| {
            admin::set_signer_enabled(&app, "cli", &a.name, true).map_err(|e| fail(&e))
        }),
        SignersCommand::Disable(a) => a.data.open("signers disable").and_then(|app| {
            admin::set_signer_enabled(&app, "cli", &a.name, false).map_err(|e| fail(&e))
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
