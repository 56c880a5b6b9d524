//! `users`: local accounts.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::admin;
use airlock_appliance::store::{self, Role};
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail, read_secret};

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCommand {
    /// Add a user (the generated password is printed once unless --password-file is given).
    Add(AddArgs),
    /// List users.
    List(ListArgs),
    /// Allow a user to sign in again.
    Enable(NameArgs),
    /// Stop a user signing in (ends their sessions).
    Disable(NameArgs),
    /// Set a user's password from a file (ends their sessions).
    SetPassword(PasswordArgs),
    /// Change a user's role.
    SetRole(RoleArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The user name.
    name: String,
    /// admin, operator or auditor.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Read the password from this file instead of generating one.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
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
    /// The user name.
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct PasswordArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The user name.
    name: String,
    /// The file holding the new password.
    #[arg(long, value_name = "FILE")]
    password_file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RoleArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The user name.
    name: String,
    /// admin, operator or auditor.
    #[arg(long, value_parser = parse_role)]
    role: Role,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("{s:?} is not admin, operator or auditor"))
}

pub(crate) fn run(cmd: UsersCommand) -> ExitCode {
    let result = match cmd {
        UsersCommand::Add(a) => a.data.open("users add").and_then(|app| {
            let password = a.password_file.as_deref().map(read_secret).transpose()?;
            let generated = admin::add_user(&app, "cli", &a.name, a.role, password.as_deref())
                .map_err(|e| fail(&e))?;
            match generated {
                Some(p) => println!(
                    "added {} ({}); password: {p}  (shown once)",
                    a.name,
                    a.role.as_str()
                ),
                None => println!("added {} ({})", a.name, a.role.as_str()),
            }
            Ok(())
        }),
        UsersCommand::List(a) => a.data.open_read().and_then(|app| {
            let users = store::users::list(app.store().read()).map_err(|e| fail(&e))?;
            for u in users {
                println!(
                    "{:<24} {:<9} {}{}",
                    u.name,
                    u.role.as_str(),
                    if u.enabled { "enabled" } else { "disabled" },
                    u.locked_until
                        .map(|t| format!(", next sign-in attempt after {t}"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }),
        UsersCommand::Enable(a) => a.data.open("users enable").and_then(|app| {
            admin::set_user_enabled(&app, "cli", &a.name, true).map_err(|e| fail(&e))
        }),
        UsersCommand::Disable(a) => a.data.open("users disable").and_then(|app| {
            admin::set_user_enabled(&app, "cli", &a.name, false).map_err(|e| fail(&e))
        }),
        UsersCommand::SetPassword(a) => a.data.open("users set-password").and_then(|app| {
            let password = read_secret(&a.password_file)?;
            admin::set_password(&app, "cli", &a.name, &password).map_err(|e| fail(&e))
        }),
        UsersCommand::SetRole(a) => a
            .data
            .open("users set-role")
            .and_then(|app| admin::set_role(&app, "cli", &a.name, a.role).map_err(|e| fail(&e))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
