//! `alarms`: persistent alarms an admin must look at.

use std::process::ExitCode;

use airlock_appliance::{admin, store};
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail};

#[derive(Debug, Subcommand)]
pub(crate) enum AlarmsCommand {
    /// List open alarms.
    List(ListArgs),
    /// Clear an alarm after investigating it.
    Clear(ClearArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataArg,
}

#[derive(Debug, Args)]
pub(crate) struct ClearArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The alarm's id.
    id: i64,
}

pub(crate) fn run(cmd: AlarmsCommand) -> ExitCode {
    let result = match cmd {
        AlarmsCommand::List(a) => a.data.open_read().and_then(|app| {
            for alarm in store::alarms::open(app.store().read()).map_err(|e| fail(&e))? {
                println!(
                    "{} [{}] {} raised {}: {}",
                    alarm.id,
                    alarm.kind,
                    alarm.subject.escape_debug(),
                    alarm.raised_at,
                    alarm.detail.escape_debug()
                );
            }
            Ok(())
        }),
        AlarmsCommand::Clear(a) => a
            .data
            .open("alarms clear")
            .and_then(|app| admin::clear_alarm(&app, "cli", a.id).map_err(|e| fail(&e))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
