//! `status`: what the appliance holds and whether anything needs attention.

use std::process::ExitCode;

use airlock_appliance::store;
use clap::Args;
use serde::Serialize;

use super::{DataArg, fail, print_json};

/// Show the appliance's state: imports and verdicts, trust repositories, witnessed logs,
/// open alarms, the audit chain's length and its latest signed head. Read-only: takes no
/// lock and never recovers, so it is safe while another process imports.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Status {
    key_id: String,
    imports: i64,
    /// Imports by outcome (a finished one by its worst verdict).
    outcomes: store::OutcomeCounts,
    passed: i64,
    warned: i64,
    failed: i64,
    trust: Vec<Trust>,
    logs: Vec<store::CheckpointRow>,
    alarms: Vec<store::Alarm>,
    audit_rows: i64,
    audit_signed_head: Option<SignedHead>,
}

#[derive(Serialize)]
struct SignedHead {
    seq: i64,
    signed_at: String,
}

#[derive(Serialize)]
struct Trust {
    name: String,
    accepted: bool,
    updated_at: Option<String>,
}

pub(crate) fn run(args: StatusArgs) -> ExitCode {
    let app = match args.data.open_read() {
        Ok(app) => app,
        Err(code) => return code,
    };
    let status = (|| {
        let store = app.store();
        let conn = store.read();
        let (passed, warned, failed) = store::artifacts::verdict_counts(conn)?;
        Ok::<_, store::StoreError>(Status {
            key_id: app.key_id().to_string(),
            imports: store::imports::count(conn)?,
            outcomes: store::imports::outcome_counts(conn)?,
            passed,
            warned,
            failed,
            trust: store::trust::list(conn)?
                .into_iter()
                .map(|t| Trust {
                    name: t.name,
                    accepted: t.state.is_some(),
                    updated_at: t.updated_at,
                })
                .collect(),
            logs: store::witness::heads(conn)?,
            alarms: store::alarms::open(conn)?,
            audit_rows: store::audit::count(conn)?,
            audit_signed_head: store::audit::latest_head(conn)?.map(|h| SignedHead {
                seq: h.seq,
                signed_at: h.signed_at,
            }),
        })
    })();
    let status = match status {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if args.json {
        print_json(&status);
        return ExitCode::SUCCESS;
    }
    println!("appliance key {}", status.key_id);
    println!("{}", imports_line(status.imports, &status.outcomes));
    println!(
        "artifacts: {} passed, {} warned, {} failed",
        status.passed, status.warned, status.failed
    );
    for t in &status.trust {
        match &t.updated_at {
            Some(at) => println!("trust {}: accepted, updated {at}", t.name),
            None => println!("trust {}: pinned, no archive accepted yet", t.name),
        }
    }
    for l in &status.logs {
        println!(
            "log {}: size {} root {} (at {})",
            l.origin, l.size, l.root_hash, l.witnessed_at
        );
    }
    for a in &status.alarms {
        println!(
            "ALARM {} [{}] {}: {}",
            a.id,
            a.kind,
            a.subject,
            a.detail.escape_debug()
        );
    }
    match &status.audit_signed_head {
        Some(h) => println!(
            "audit: {} row(s); head signed at row {} ({}); `audit verify` checks it",
            status.audit_rows, h.seq, h.signed_at
        ),
        None => println!("audit: {} row(s); no signed head yet", status.audit_rows),
    }
    ExitCode::SUCCESS
}

/// `3 imports: 1 all passed, 1 with failures, 1 rejected` (the outcomes that occur), or
/// `no imports`.
fn imports_line(total: i64, o: &store::OutcomeCounts) -> String {
    let parts: Vec<String> = [
        (o.passed, "all passed"),
        (o.warned, "with warnings"),
        (o.failed, "with failures"),
        (o.rejected, "rejected"),
        (o.interrupted, "interrupted"),
        (o.in_progress, "in progress"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    match total {
        0 => "no imports".to_owned(),
        1 => format!("1 import: {}", parts.join(", ")),
        n => format!("{n} imports: {}", parts.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_imports_line_counts_each_outcome_that_occurs() {
        let counts = store::OutcomeCounts {
            passed: 1,
            failed: 1,
            rejected: 1,
            ..Default::default()
        };
        assert_eq!(
            imports_line(3, &counts),
            "3 imports: 1 all passed, 1 with failures, 1 rejected"
        );
        let one = store::OutcomeCounts {
            interrupted: 1,
            ..Default::default()
        };
        assert_eq!(imports_line(1, &one), "1 import: 1 interrupted");
        assert_eq!(imports_line(0, &Default::default()), "no imports");
    }
}
