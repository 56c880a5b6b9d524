//! `registry`: the site registry's pull tokens, anonymous pull, and withdrawing a released
//! artifact so nothing serves it any more.

use std::process::ExitCode;

use airlock_appliance::admin::{self, PullTokenSpec};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use super::{DataArg, WriteArg, fail, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Issue a read-only pull token for machines (printed once; only its hash is kept).
    IssueToken(IssueArgs),
    /// List pull tokens (never the tokens themselves).
    Tokens(ListArgs),
    /// Revoke a pull token: requests carrying it are refused at once.
    RevokeToken(RevokeArgs),
    /// Let machines pull without a token, or stop letting them (off by default).
    Anonymous(AnonymousArgs),
    /// Withdraw a released artifact: the registry and downloads stop serving it (audited).
    Withdraw(WithdrawArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    #[command(flatten)]
    data: WriteArg,
    /// What the token is for (a machine or cluster name).
    #[arg(long)]
    name: String,
    /// Limit the token to repositories under this prefix (`acme/` or `acme/tool`).
    #[arg(long, value_name = "PREFIX")]
    scope: Option<String>,
    /// When the token stops working (RFC 3339, e.g. 2027-06-30T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    expires: Option<DateTime<Utc>>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The token's id (from `registry tokens`).
    id: i64,
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Switch {
    /// Anyone who reaches the appliance may pull released images.
    On,
    /// Only pull tokens may pull (the default).
    Off,
}

#[derive(Debug, Args)]
pub(crate) struct AnonymousArgs {
    #[command(flatten)]
    data: WriteArg,
    /// `on` or `off`.
    switch: Switch,
}

#[derive(Debug, Args)]
pub(crate) struct WithdrawArgs {
    #[command(flatten)]
    data: WriteArg,
    /// The artifact's id (as the pages and API show it).
    artifact: i64,
    /// Why (kept in the audit trail and shown on the artifact's page).
    #[arg(long)]
    reason: String,
}

pub(crate) fn run(cmd: RegistryCommand) -> ExitCode {
    let result = match cmd {
        RegistryCommand::IssueToken(a) => a.data.open("registry issue-token").and_then(|app| {
            let spec = PullTokenSpec {
                name: a.name,
                scope: a.scope,
                expires_at: a.expires,
            };
            let (id, token) = admin::issue_pull_token(&app, "cli", &spec).map_err(|e| fail(&e))?;
            eprintln!("pull token {id} issued; it is shown only now:");
            println!("{token}");
            Ok(())
        }),
        RegistryCommand::Tokens(a) => a.data.open_read().and_then(|app| {
            let tokens = admin::pull_tokens(&app).map_err(|e| fail(&e))?;
            if a.json {
                print_json(&tokens);
            } else if tokens.is_empty() {
                println!("no pull tokens (issue one with `registry issue-token --name NAME`)");
            }
            for t in tokens.iter().filter(|_| !a.json) {
                let state = match (&t.revoked_at, &t.expires_at) {
                    (Some(at), _) => format!("revoked {at}"),
                    (None, Some(at)) => format!("expires {at}"),
                    (None, None) => "no expiry".to_owned(),
                };
                println!(
                    "{} {} scope={} issued by {} {}; {state}",
                    t.id,
                    t.name.escape_debug(),
                    t.scope.as_deref().unwrap_or("*"),
                    t.created_by.escape_debug(),
                    t.created_at
                );
            }
            Ok(())
        }),
        RegistryCommand::RevokeToken(a) => a
            .data
            .open("registry revoke-token")
            .and_then(|app| admin::revoke_pull_token(&app, "cli", a.id).map_err(|e| fail(&e))),
        RegistryCommand::Anonymous(a) => a.data.open("registry anonymous").and_then(|app| {
            admin::set_anonymous_pull(&app, "cli", a.switch == Switch::On).map_err(|e| fail(&e))
        }),
        RegistryCommand::Withdraw(a) => a.data.open("registry withdraw").and_then(|app| {
            admin::withdraw_artifact(&app, "cli", a.artifact, &a.reason).map_err(|e| fail(&e))
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
