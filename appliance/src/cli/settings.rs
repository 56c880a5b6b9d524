//! `settings`: the storage quotas (largest archive, what is kept of rejected archives).

use std::process::ExitCode;

use airlock_appliance::admin::{self, QuotaChange};
use clap::{Args, Subcommand, ValueEnum};

use super::{DataArg, WriteArg, fail, print_json};

#[derive(Debug, Subcommand)]
pub(crate) enum SettingsCommand {
    /// Show the storage quotas in force.
    Show(ShowArgs),
    /// Change the storage quotas.
    Quotas(QuotasArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    data: DataArg,
}

/// What is kept of a rejected archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeepRejected {
    /// The whole archive, while rejected archives kept whole fit in their room.
    Whole,
    /// Its first MiB, its size and its SHA-256.
    Head,
}

/// The quota flags `init` and `settings quotas` share.
#[derive(Debug, Clone, Args)]
pub(crate) struct QuotaFlags {
    /// The largest archive imported by upload, inbox or CLI, all parts together (bytes, or
    /// with a KiB/MiB/GiB/TiB suffix). Default 16GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_archive_size: Option<u64>,
    /// What is kept of a rejected archive. Default: head.
    #[arg(long, value_name = "WHAT")]
    keep_rejected: Option<KeepRejected>,
    /// The most rejected archives kept whole may take together (past it, only heads are
    /// kept). Default 4GiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    rejected_max_total: Option<u64>,
}

impl QuotaFlags {
    /// The change these flags ask for.
    pub(crate) fn change(&self) -> QuotaChange {
        QuotaChange {
            max_archive_bytes: self.max_archive_size,
            keep_rejected_whole: self.keep_rejected.map(|k| k == KeepRejected::Whole),
            rejected_max_total_bytes: self.rejected_max_total,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct QuotasArgs {
    #[command(flatten)]
    data: WriteArg,
    #[command(flatten)]
    quotas: QuotaFlags,
}

/// `123`, `64KiB`, `512MiB`, `16GiB`, `1TiB`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = [("KiB", 10), ("MiB", 20), ("GiB", 30), ("TiB", 40)]
        .iter()
        .find_map(|(suffix, shift)| text.strip_suffix(suffix).map(|d| (d, *shift)))
        .unwrap_or((text, 0));
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: expected bytes, or a number with KiB, MiB, GiB or TiB"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?}: too large"))
}

pub(crate) fn run(cmd: SettingsCommand) -> ExitCode {
    match cmd {
        SettingsCommand::Show(args) => {
            let app = match args.data.open_read() {
                Ok(app) => app,
                Err(code) => return code,
            };
            match admin::quotas(&app) {
                Ok(q) => {
                    print_json(&q);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        SettingsCommand::Quotas(args) => {
            let app = match args.data.open("settings quotas") {
                Ok(app) => app,
                Err(code) => return code,
            };
            match admin::set_quotas(&app, "cli", &args.quotas.change()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("16GiB"), Ok(16 << 30));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(
            parse_size("2GB"),
            Err("\"2GB\": expected bytes, or a number with KiB, MiB, GiB or TiB".to_owned())
        );
        assert_eq!(
            parse_size("99999999999TiB"),
            Err("\"99999999999TiB\": too large".to_owned())
        );
    }
}
