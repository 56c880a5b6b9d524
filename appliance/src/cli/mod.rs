//! The subcommands, one file each: `Args` parsed by clap, then `run()`. Exit 0 ok, 1 when
//! something was checked and rejected, 2 for usage and I/O errors.

mod alarms;
mod audit;
mod exception;
mod import;
mod init;
mod policy;
mod publishers;
mod registry;
mod serve;
mod settings;
mod signers;
mod status;
mod users;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::admin::AdminError;
use airlock_appliance::appliance::Appliance;
use airlock_appliance::exception::ExceptionError;
use airlock_appliance::lock::{LockError, Wait};
use airlock_appliance::pipeline::ImportError;
use clap::{Args, Parser, Subcommand};

/// Exit code when the input was checked and rejected.
pub(crate) const EXIT_REJECTED: u8 = 1;
/// Exit code for usage errors and I/O failures.
pub(crate) const EXIT_USAGE: u8 = 2;

/// The offline Airlock appliance: imports signed archives from media, verifies everything
/// with no network (publisher, TUF trust, log witness, Sigstore bundles, SLSA, SBOMs), keeps
/// the evidence, signs a verification summary per artifact and serves it over HTTPS.
///
/// One process writes to a data folder at a time: commands that change state (and `serve`,
/// while it imports or saves a change) hold a lock on DIR/lock and name themselves in it;
/// another writer fails at once naming the holder, or waits with `--wait SECONDS`. Read-only
/// commands (`status`, `audit verify`, `audit export`, `witness-state`, the lists) take no
/// lock and change nothing, so they run beside a server that is importing.
#[derive(Debug, Parser)]
#[command(name = "airlock-appliance", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Init(init::InitArgs),
    Serve(serve::ServeArgs),
    Import(import::ImportArgs),
    Status(status::StatusArgs),
    /// Verify or export the hash-chained audit log, or sign its head.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Export the signed witness state for `airlock-bundler create --witness-state`.
    WitnessState(witness::WitnessArgs),
    /// Manage local accounts.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Manage trusted publishers (bundler keys) and the signature threshold.
    #[command(subcommand)]
    Publishers(publishers::PublishersCommand),
    /// Manage trusted signers.
    #[command(subcommand)]
    Signers(signers::SignersCommand),
    /// Import or export the policy (TOML, with the trusted signers).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// List or clear alarms (log forks, TUF rollback attempts).
    #[command(subcommand)]
    Alarms(alarms::AlarmsCommand),
    /// Show or change the storage quotas.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// The site registry: pull tokens, anonymous pull, withdrawing a released artifact.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Release a failed artifact for a while by exception (justified, expiring, audited, with
    /// a second admin's approval when the policy says so), list exceptions, revoke one.
    #[command(subcommand)]
    Exception(exception::ExceptionCommand),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Status(args) => status::run(args),
        Command::Audit(cmd) => audit::run(cmd),
        Command::WitnessState(args) => witness::run(args),
        Command::Users(cmd) => users::run(cmd),
        Command::Publishers(cmd) => publishers::run(cmd),
        Command::Signers(cmd) => signers::run(cmd),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Alarms(cmd) => alarms::run(cmd),
        Command::Settings(cmd) => settings::run(cmd),
        Command::Registry(cmd) => registry::run(cmd),
        Command::Exception(cmd) => exception::run(cmd),
    }
}

/// The data folder argument every subcommand but `init` takes.
#[derive(Debug, Args)]
pub(crate) struct DataArg {
    /// The appliance's data folder (made by `init`).
    #[arg(long, value_name = "DIR", env = "AIRLOCK_DATA")]
    pub(crate) data: PathBuf,
}

impl DataArg {
    /// Opens the appliance to read: no lock is taken and nothing is recovered (an import
    /// another process is running looks unfinished; only a writer may judge it crashed).
    pub(crate) fn open_read(&self) -> Result<Appliance, ExitCode> {
        Appliance::open(&self.data).map_err(|e| fail(&e))
    }
}

/// The data folder argument of commands that change state, with how long to wait for the
/// writer lock.
#[derive(Debug, Args)]
pub(crate) struct WriteArg {
    #[command(flatten)]
    pub(crate) data: DataArg,
    /// Wait up to SECONDS for the data folder's writer lock while another process (`serve`
    /// importing or saving a change, another CLI command) holds it. Default 0: fail at once,
    /// naming the holder (pid, command, since).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) wait: u64,
}

impl WriteArg {
    /// Opens the appliance as `command`, a writer: under the writer lock, finishes or cleans
    /// up any import a crashed writer left, then lets the lock go (each change takes it
    /// again for as long as it runs).
    pub(crate) fn open(&self, command: &str) -> Result<Appliance, ExitCode> {
        let app = Appliance::open(&self.data.data)
            .map_err(|e| fail(&e))?
            .with_writer(command, Wait::seconds(self.wait));
        airlock_appliance::pipeline::recover(&app).map_err(|e| fail(&e))?;
        Ok(app)
    }
}

/// `err` and its sources on one line.
pub(crate) fn error_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        line.push_str(": ");
        line.push_str(&err.to_string());
        source = err.source();
    }
    line
}

/// Prints the error and returns the usage/I-O exit code. A busy data folder says how to wait.
pub(crate) fn fail(err: &(dyn std::error::Error + 'static)) -> ExitCode {
    let busy = matches!(err.downcast_ref(), Some(LockError::Busy { .. }))
        || matches!(
            err.downcast_ref(),
            Some(ImportError::Locked(LockError::Busy { .. }))
        )
        || matches!(
            err.downcast_ref(),
            Some(AdminError::Locked(LockError::Busy { .. }))
        )
        || matches!(
            err.downcast_ref(),
            Some(ExceptionError::Locked(LockError::Busy { .. }))
        );
    if busy {
        eprintln!(
            "error: {} (pass --wait SECONDS to wait for it)",
            error_line(err)
        );
    } else {
        eprintln!("error: {}", error_line(err));
    }
    ExitCode::from(EXIT_USAGE)
}

/// Prints a message and returns the usage exit code.
pub(crate) fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_USAGE)
}

/// Reads a secret from a file (first line, trailing newline removed).
pub(crate) fn read_secret(path: &std::path::Path) -> Result<String, ExitCode> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(&format!("{}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    if line.is_empty() {
        return Err(usage(&format!("{}: empty password", path.display())));
    }
    Ok(line)
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
