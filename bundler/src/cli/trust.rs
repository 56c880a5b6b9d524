//! `airlock-bundler trust verify`: check a local TUF repository (metadata + targets folders)
//! from a pinned root at a reference time, optionally against and into a state file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_trust_root::{
    LocalRepository, RepositoryName, TRUSTED_ROOT_TARGET, TrustStates, TufError, VerifiedRepository,
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};

use super::{EXIT_REJECTED, EXIT_USAGE};

/// Work with TUF repositories carrying Sigstore trust data.
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(Debug, Subcommand)]
enum TrustCommand {
    /// Verify a TUF repository from local folders and print versions, expiries and the
    /// SHA-256 of trusted_root.json.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Folder with the TUF metadata (N.root.json, timestamp.json, N.snapshot.json, ...).
    #[arg(long, value_name = "DIR")]
    metadata: PathBuf,
    /// Folder with the targets (<sha256>.<name>).
    #[arg(long, value_name = "DIR")]
    targets: PathBuf,
    /// The pinned root, obtained out of band (Sigstore public-good: v12 or later).
    #[arg(long, value_name = "ROOT.json")]
    root: PathBuf,
    /// Judge expiry at this time (RFC 3339); defaults to now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// State file: checked if present (no rollback, no equivocation, time not backwards) and
    /// replaced atomically on success.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The repository's name in the state file.
    #[arg(long, value_name = "NAME", default_value = "sigstore-public-good")]
    repository: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The typed configuration `VerifyArgs` become before any work starts.
#[derive(Debug)]
struct VerifyConfig {
    repository: LocalRepository,
    root: PathBuf,
    at: DateTime<Utc>,
    state: Option<PathBuf>,
    json: bool,
}

/// Why the command stopped.
enum Failure {
    /// Usage or I/O: exit 2.
    Usage(String),
    /// Verification rejected the repository: exit 1.
    Rejected(TufError),
}

pub(crate) fn run(args: TrustArgs) -> ExitCode {
    match args.command {
        TrustCommand::Verify(args) => {
            let result = VerifyConfig::from_args(args).and_then(|config| config.run());
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(Failure::Usage(line)) => {
                    eprintln!("error: {line}");
                    ExitCode::from(EXIT_USAGE)
                }
                Err(Failure::Rejected(err)) => {
                    eprintln!("error: {err}");
                    ExitCode::from(EXIT_REJECTED)
                }
            }
        }
    }
}

impl VerifyConfig {
    fn from_args(args: VerifyArgs) -> Result<Self, Failure> {
        let name =
            RepositoryName::new(&args.repository).map_err(|e| Failure::Usage(e.to_string()))?;
        let at = match args.at {
            // The CLI is an edge: it may read the clock; the library never does.
            None => Utc::now(),
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map_err(|e| Failure::Usage(format!("--at {s:?}: not an RFC 3339 time: {e}")))?
                .with_timezone(&Utc),
        };
        Ok(Self {
            repository: LocalRepository::new(name, args.metadata, args.targets),
            root: args.root,
            at,
            state: args.state,
            json: args.json,
        })
    }

    fn run(self) -> Result<(), Failure> {
        let root = std::fs::read(&self.root)
            .map_err(|e| Failure::Usage(format!("{}: {e}", self.root.display())))?;
        let mut states = match &self.state {
            Some(path) => read_states(path)?,
            None => TrustStates::default(),
        };
        let previous = states.get(self.repository.name()).cloned();
        let verified = self
            .repository
            .verify(&root, self.at, previous.as_ref())
            .map_err(|e| match e {
                TufError::Folder { .. } => Failure::Usage(e.to_string()),
                other => Failure::Rejected(other),
            })?;
        if let Some(path) = &self.state {
            states
                .advance(verified.state().clone())
                .map_err(Failure::Rejected)?;
            write_states_atomically(path, &states)?;
        }
        let out = if self.json {
            render_json(&verified, self.at)
        } else {
            render_text(&verified, self.at)
        };
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(out.as_bytes())
            .map_err(|e| Failure::Usage(format!("stdout: {e}")))
    }
}

fn read_states(path: &Path) -> Result<TrustStates, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Failure::Usage(format!("{}: not a trust state file: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustStates::default()),
        Err(e) => Err(Failure::Usage(format!("{}: {e}", path.display()))),
    }
}

/// Writes to a temporary file beside `path`, syncs it, then renames it over `path`.
fn write_states_atomically(path: &Path, states: &TrustStates) -> Result<(), Failure> {
    let io_err = |p: &Path, e: std::io::Error| Failure::Usage(format!("{}: {e}", p.display()));
    let mut bytes = serde_json::to_vec_pretty(states)
        .map_err(|e| Failure::Usage(format!("serialising trust state: {e}")))?;
    bytes.push(b'\n');
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Failure::Usage(format!("{}: not a file path", path.display())))?;
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let written = file.write_all(&bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn render_text(v: &VerifiedRepository, at: DateTime<Utc>) -> String {
    let mut out = format!(
        "repository {}\nreference time {}\n",
        v.state().repository(),
        time(&at)
    );
    for r in v.roles() {
        out.push_str(&format!(
            "{:<10} version {:<5} expires {}\n",
            r.role.to_string(),
            r.version,
            time(&r.expires)
        ));
    }
    out.push_str(&format!(
        "{TRUSTED_ROOT_TARGET} sha256 {}\n",
        v.trusted_root().sha256()
    ));
    for t in v.signing_configs() {
        out.push_str(&format!("{} sha256 {}\n", t.name(), t.sha256()));
    }
    out
}

fn render_json(v: &VerifiedRepository, at: DateTime<Utc>) -> String {
    let roles: Vec<serde_json::Value> = v
        .roles()
        .iter()
        .map(|r| {
            serde_json::json!({
                "role": r.role.name(),
                "delegated": matches!(r.role, airlock_trust_root::Role::Delegated(_)),
                "version": r.version,
                "expires": time(&r.expires),
                "sha256": r.sha256,
            })
        })
        .collect();
    let configs: Vec<serde_json::Value> = v
        .signing_configs()
        .iter()
        .map(|t| serde_json::json!({ "name": t.name(), "sha256": t.sha256() }))
        .collect();
    let doc = serde_json::json!({
        "repository": v.state().repository().as_str(),
        "reference_time": time(&at),
        "roles": roles,
        "trusted_root_sha256": v.trusted_root().sha256(),
        "signing_configs": configs,
    });
    format!("{doc:#}\n")
}
