//! `exception`: release a failed, quarantined artifact for a while with a written
//! justification and an expiry (approved by a second admin when the policy says so), list
//! exceptions, and revoke one. The verdict stays `failed`; every step is audited.

use std::process::ExitCode;

use airlock_appliance::exception::{self, ExceptionRequest};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::{DataArg, WriteArg, fail, print_json, usage};

#[derive(Debug, Subcommand)]
pub(crate) enum ExceptionCommand {
    /// Ask to release a failed artifact until an expiry, saying why. With the policy's
    /// `[exceptions] approvals = 1` (the default) the request is granted at once; with 2 it
    /// waits for another admin's `exception approve`. The verdict stays `failed`; a new VSA
    /// (still FAILED, recording the exception) is signed when it becomes active.
    Request(RequestArgs),
    /// Approve a pending exception as a second admin (not the one who requested it).
    Approve(ApproveArgs),
    /// Revoke a pending or active exception: the artifact is no longer served.
    Revoke(RevokeArgs),
    /// List every exception with its state (pending, active, expired, revoked).
    List(ListArgs),
}

/// Who acts: an enabled admin account, named as the audit trail will show it.
#[derive(Debug, Args)]
pub(crate) struct AdminArg {
    /// The admin account acting (must be an enabled admin; recorded in the audit trail and
    /// on the exception). Whoever runs this command can write the data folder, so the name
    /// is taken as given: the two-admin rule is enforced as such by the pages' sign-ins.
    #[arg(long = "as", value_name = "ADMIN")]
    admin: String,
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    #[command(flatten)]
    data: WriteArg,
    #[command(flatten)]
    admin: AdminArg,
    /// The failed artifact's id (as the pages and API show it).
    artifact: i64,
    /// Why it may be used anyway (1 to 2000 characters; audited and shown on its report).
    #[arg(long)]
    justification: String,
    /// When the exception ends: a date (YYYY-MM-DD, at 00:00 UTC) or an RFC 3339 time; in
    /// the future and within the policy's `[exceptions] max_days` (default 90).
    #[arg(long, value_name = "DATE|TIME")]
    expires: String,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    #[command(flatten)]
    data: WriteArg,
    #[command(flatten)]
    admin: AdminArg,
    /// The exception's id (from `exception list`).
    id: i64,
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    data: WriteArg,
    #[command(flatten)]
    admin: AdminArg,
    /// The exception's id (from `exception list`).
    id: i64,
    /// Why (1 to 1000 characters; audited and shown on the artifact's report).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// `YYYY-MM-DD` (00:00 UTC that day) or an RFC 3339 time.
pub(crate) fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn run(cmd: ExceptionCommand) -> ExitCode {
    let result = match cmd {
        ExceptionCommand::Request(a) => {
            let Some(expires_at) = parse_expiry(&a.expires) else {
                return usage(&format!(
                    "--expires {:?}: expected YYYY-MM-DD or an RFC 3339 time",
                    a.expires
                ));
            };
            a.data.open("exception request").and_then(|app| {
                let row = exception::request(
                    &app,
                    &a.admin.admin,
                    &ExceptionRequest {
                        artifact_id: a.artifact,
                        justification: &a.justification,
                        expires_at,
                    },
                )
                .map_err(|e| fail(&e))?;
                println!(
                    "exception {} for artifact {}: {} until {}",
                    row.id,
                    row.artifact_id,
                    row.state(app.now()).as_str(),
                    row.expires_at.to_rfc3339()
                );
                Ok(())
            })
        }
        ExceptionCommand::Approve(a) => a.data.open("exception approve").and_then(|app| {
            let row = exception::approve(&app, &a.admin.admin, a.id).map_err(|e| fail(&e))?;
            println!(
                "exception {} for artifact {}: active until {}",
                row.id,
                row.artifact_id,
                row.expires_at.to_rfc3339()
            );
            Ok(())
        }),
        ExceptionCommand::Revoke(a) => a.data.open("exception revoke").and_then(|app| {
            exception::revoke(&app, &a.admin.admin, a.id, &a.reason)
                .map(|_| ())
                .map_err(|e| fail(&e))
        }),
        ExceptionCommand::List(a) => a.data.open_read().and_then(|app| {
            let rows = exception::list(&app).map_err(|e| fail(&e))?;
            let now = app.now();
            if a.json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|e| serde_json::json!({"state": e.state(now), "exception": e}))
                    .collect();
                print_json(&rows);
                return Ok(());
            }
            if rows.is_empty() {
                println!("no exceptions");
            }
            for e in &rows {
                println!(
                    "{} artifact {} {} until {}; requested by {}{}: {}",
                    e.id,
                    e.artifact_id,
                    e.state(now).as_str(),
                    e.expires_at.to_rfc3339(),
                    e.requested_by.escape_debug(),
                    e.approved_by
                        .as_deref()
                        .map(|b| format!(", approved by {}", b.escape_debug()))
                        .unwrap_or_default(),
                    e.justification.escape_debug()
                );
            }
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_is_a_date_at_midnight_utc_or_an_rfc_3339_time() {
        assert_eq!(
            parse_expiry("2027-01-31").unwrap().to_rfc3339(),
            "2027-01-31T00:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("2027-01-31T12:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2027-01-31T10:00:00+00:00"
        );
        assert!(parse_expiry("31/01/2027").is_none());
    }
}
