//! `publishers`: trusted bundler keys.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::admin;
use airlock_appliance::store;
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail};

#[derive(Debug, Subcommand)]
pub(crate) enum PublishersCommand {
    /// Trust a publisher's key (`airlock-bundler keygen` writes NAME.pub).
    Add(AddArgs),
    /// List publishers, their keys and last sequence numbers.
    List(ListArgs),
    /// Trust a key again.
    Enable(KeyArgs),
    /// Stop trusting a key.
    Disable(KeyArgs),
    /// Require this many trusted publisher signatures on every archive (k of n).
    Threshold(ThresholdArgs),
    /// Forget a publisher's last accepted sequence number, so its next archive may carry any
    /// (after its counter was reset, or once it reached 2^63 - 1). Audited.
    ResetSequence(NameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The publisher's name.
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The publisher's name, as its manifests give it.
    name: String,
    /// The publisher's public key (SPKI PEM).
    #[arg(long, value_name = "PUB")]
    key: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataArg,
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The key id (hex SHA-256 of the raw key).
    key_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct ThresholdArgs {
    #[command(flatten)]
    data: WriteArg,
    /// Signatures required (at least 1).
    threshold: usize,
}

pub(crate) fn run(cmd: PublishersCommand) -> ExitCode {
    let result = match cmd {
        PublishersCommand::Add(a) => a.data.open("publishers add").and_then(|app| {
            let key = airlock_bundler::keys::load_public_key(&a.key).map_err(|e| fail(&e))?;
            let id = admin::add_publisher_key(&app, "cli", &a.name, &key).map_err(|e| fail(&e))?;
            println!("trusted key {id} for publisher {}", a.name);
            Ok(())
        }),
        PublishersCommand::List(a) => a.data.open_read().and_then(|app| {
            let store = app.store();
            let publishers = store::publishers::list(store.read()).map_err(|e| fail(&e))?;
            let keys = store::publishers::keys(store.read()).map_err(|e| fail(&e))?;
            for p in publishers {
                let seq = p
                    .last_sequence
                    .map_or("none yet".to_owned(), |s| s.to_string());
                println!("{} (last sequence: {seq})", p.name);
                for k in keys.iter().filter(|k| k.publisher == p.name) {
                    println!(
                        "  {} {}",
                        k.key_id,
                        if k.enabled { "enabled" } else { "disabled" }
                    );
                }
            }
            Ok(())
        }),
        PublishersCommand::Enable(a) => a.data.open("publishers enable").and_then(|app| {
            admin::set_publisher_key_enabled(&app, "cli", &a.key_id, true).map_err(|e| fail(&e))
        }),
        PublishersCommand::Disable(a) => a.data.open("publishers disable").and_then(|app| {
            admin::set_publisher_key_enabled(&app, "cli", &a.key_id, false).map_err(|e| fail(&e))
        }),
        PublishersCommand::Threshold(a) => a.data.open("publishers threshold").and_then(|app| {
            admin::set_publisher_threshold(&app, "cli", a.threshold).map_err(|e| fail(&e))
        }),
        PublishersCommand::ResetSequence(a) => {
            a.data.open("publishers reset-sequence").and_then(|app| {
                admin::reset_publisher_sequence(&app, "cli", &a.name).map_err(|e| fail(&e))?;
                println!("publisher {}: sequence reset", a.name.escape_debug());
                Ok(())
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
