//! `init`: make a new data folder.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_appliance::init::{InitOptions, init};
use clap::Args;

use super::{fail, read_secret, usage};

/// Create a data folder: database, appliance signing key, TLS certificate, pinned TUF roots
/// and the first admin (whose generated password is printed once).
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The data folder to create (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// A TUF repository to trust, by its pinned initial root (obtained out of band; check its
    /// SHA-256 against a second channel). Repeatable.
    #[arg(long = "tuf-root", value_name = "NAME=ROOT.json", required = true)]
    tuf_roots: Vec<String>,
    /// The first admin's user name.
    #[arg(long, default_value = "admin")]
    admin: String,
    /// Read the admin password from this file instead of generating one.
    #[arg(long, value_name = "FILE")]
    admin_password_file: Option<PathBuf>,
    /// Serve this certificate chain (PEM) instead of a self-signed one.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Extra host names for the self-signed certificate (localhost and loopback are always in).
    #[arg(long = "hostname", value_name = "NAME")]
    hostnames: Vec<String>,
    /// This site's name. Archives must then be made for it (`site` in bundle.toml): one naming
    /// another site, or none, is rejected at the publisher step.
    #[arg(long, value_name = "NAME")]
    site: Option<String>,
    #[command(flatten)]
    quotas: super::settings::QuotaFlags,
}

pub(crate) fn run(args: InitArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) | Err(code) => code,
    }
}

fn run_inner(args: InitArgs) -> Result<ExitCode, ExitCode> {
    let mut tuf_roots = Vec::new();
    for spec in &args.tuf_roots {
        let Some((name, path)) = spec.split_once('=') else {
            return Err(usage(&format!(
                "--tuf-root {spec}: expected NAME=ROOT.json"
            )));
        };
        let bytes = std::fs::read(path).map_err(|e| usage(&format!("{path}: {e}")))?;
        tuf_roots.push((name.to_owned(), bytes));
    }
    let admin_password = args
        .admin_password_file
        .as_deref()
        .map(read_secret)
        .transpose()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some((
            std::fs::read(c).map_err(|e| usage(&format!("{}: {e}", c.display())))?,
            std::fs::read(k).map_err(|e| usage(&format!("{}: {e}", k.display())))?,
        )),
        _ => None,
    };
    let done = init(&InitOptions {
        data: args.data.clone(),
        tuf_roots,
        admin: args.admin.clone(),
        admin_password,
        tls,
        hostnames: args.hostnames,
        site: args.site,
        now: chrono::Utc::now(),
    })
    .map_err(|e| fail(&e))?;
    let quotas = args.quotas.change();
    if quotas != airlock_appliance::admin::QuotaChange::default() {
        let app = airlock_appliance::appliance::Appliance::open(done.data.root())
            .map_err(|e| fail(&e))?;
        airlock_appliance::admin::set_quotas(&app, "init", &quotas).map_err(|e| fail(&e))?;
    }
    println!("initialised {}", done.data.root().display());
    println!("appliance key id: {}", done.key_id);
    match done.generated_password {
        Some(p) => println!(
            "admin: {} / password: {p}  (shown once; change it after signing in)",
            args.admin
        ),
        None => println!(
            "admin: {} (password from {})",
            args.admin,
            args.admin_password_file
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
    }
    print!("{}", first_run_checklist(&args.data.display().to_string()));
    Ok(ExitCode::SUCCESS)
}

/// What a new site does next, in order, each step with its command (`data` the folder).
fn first_run_checklist(data: &str) -> String {
    format!(
        "\
next, in this order (`--help` on each command says more):
  1. trust the publisher's key (made with `airlock-bundler keygen` on the connected side);
     until then no archive can be opened:
       airlock-appliance publishers add NAME --key PUBLISHER.pub --data {data}
  2. say who may sign artifacts (a CI identity and its issuer, or a key), or import a whole
     policy; until then no signature verifies, and an import would use up the archive's
     sequence number for nothing:
       airlock-appliance signers add NAME --issuer URL --subject IDENTITY --data {data}
       airlock-appliance policy import POLICY.toml --data {data}
  3. add the people who use it (operators upload archives, auditors read):
       airlock-appliance users add NAME --role operator --data {data}
  4. give the connected side this site's witness state, so its archives carry proofs from
     the log sizes this site has seen (`airlock-bundler create --witness-state FILE`):
       airlock-appliance witness-state --data {data} --output witness-state.json
  5. serve the pages and the API (HTTPS, TLS 1.3):
       airlock-appliance serve --data {data}
  6. import: upload an archive in the pages, drop it in {data}/inbox/, or
       airlock-appliance import ARCHIVE --data {data}
"
    )
}
