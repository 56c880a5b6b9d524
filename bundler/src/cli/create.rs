//! `airlock-bundler create`: build a signed archive from a spec, verifying everything first.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_bundler::archive::{MAX_LEVEL, WriteOptions};
use airlock_bundler::collect::{
    CollectOptions, DEFAULT_CONCURRENCY, DEFAULT_MAX_PACKAGE_SIZE, EvidenceKind, ImagePlan,
    PackagePlan, Problem, default_auth_file,
};
use airlock_bundler::create::{CreateError, CreateOptions, create};
use airlock_bundler::keys::{KeyId, load_signing_key};
use airlock_bundler::spec::Spec;
use clap::Args;

use super::common::parse_size;
use super::keygen::PassphraseArgs;
use super::progress::Bar;
use super::{EXIT_REJECTED, EXIT_USAGE};

/// Build a signed NAME.airlock.tar.zst from a spec (bundle.toml).
///
/// Pulls the spec's images from their registries (a tag resolved to a digest once, every
/// blob checked against its digest, referrers as evidence), its npm and PyPI packages and
/// GitHub release assets (each file checked against the digest its registry names, several
/// at a time, its attestations as evidence; one artifact per file), hashes every input once,
/// reads
/// or fetches (HTTPS) the TUF trust data and the logs' checkpoints with consistency proofs,
/// verifies every Sigstore bundle offline against that trust (preflight), then signs the
/// manifest and writes the archive. Nothing is written at the output path unless everything
/// succeeded. A registry's mirrors (`[[registry]] mirrors`) are tried in order for manifests
/// and blobs by digest, each checked like the registry's (a mirror serving wrong bytes is
/// skipped, with a warning); tags are resolved at the registry only. Registry (and mirror)
/// credentials come from REGISTRY_AUTH_FILE, else ~/.docker/config.json, by host; an npm
/// token from NPM_TOKEN (or the variable `[npm] token_env` names), a PyPI token from the
/// variable `[pypi] token_env` names, a GitHub token from GITHUB_TOKEN (or the variable
/// `[github] token_env` names; sent to the API only, never to the CDN its asset downloads
/// redirect to).
///
/// Exit status: 0 written, 1 preflight or verification failed, 2 usage or I/O error.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The spec (TOML): publisher, trust repositories, logs and artifacts.
    #[arg(long, value_name = "bundle.toml")]
    spec: PathBuf,

    /// The publisher's private key (PKCS#8 PEM); repeat to sign with several.
    #[arg(long, value_name = "NAME.key", required_unless_present = "dry_run")]
    key: Vec<PathBuf>,

    /// The archive to write (refused if it exists).
    #[arg(
        short,
        long,
        value_name = "OUT.airlock.tar.zst",
        required_unless_present = "dry_run"
    )]
    output: Option<PathBuf>,

    /// List what would be fetched (images resolved, blobs with sizes, referrers found and
    /// the signers their bundles name, unverified) and the local inputs; write nothing.
    #[arg(long)]
    dry_run: bool,

    /// A content-addressed cache folder for pulled blobs: what it holds is not fetched
    /// again (it is hashed again when packed), and what is fetched is kept there.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,

    /// Pack an image no Sigstore bundle refers to anyway (flagged in the output; the site
    /// will reject it unless its policy allows unsigned artifacts).
    #[arg(long)]
    allow_unsigned: bool,

    /// The largest npm tarball, PyPI file or GitHub release asset downloaded (e.g. 200M;
    /// default 1G).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_package_size: Option<u64>,

    /// Downloads at once from registries, package indexes and URLs (image blobs, package
    /// files and their evidence).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY as u8,
          value_parser = clap::value_parser!(u8).range(1..=64))]
    concurrency: u8,

    /// The GitHub REST API for `github = …` sources (https://; overrides the spec's
    /// `[github] api`; default https://api.github.com).
    #[arg(long, value_name = "URL")]
    github_api: Option<url::Url>,

    /// Split the output into parts of at most SIZE (e.g. 700M, 4.7G): OUT.001, OUT.002, …
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_part_size: Option<u64>,

    /// The site's witness state (from the appliance): adds consistency proofs from the
    /// checkpoints the site last saw.
    #[arg(long, value_name = "FILE")]
    witness_state: Option<PathBuf>,

    /// Write the archive even if some artifacts fail preflight (the site will reject them).
    #[arg(long)]
    allow_failing: bool,

    /// Extra CA certificates (PEM) to trust for HTTPS, besides the system's.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,

    /// Publisher sequence number, below 2^63 (overrides the spec; default: creation time in
    /// Unix seconds).
    #[arg(long, value_name = "N")]
    sequence: Option<u64>,

    /// zstd level (1–19).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=i64::from(MAX_LEVEL)))]
    level: i32,

    /// zstd worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<u32>,

    #[command(flatten)]
    passphrase: PassphraseArgs,

    /// No progress bars, and not each source's details (the tag resolved, every blob, file
    /// and bundle found); the summary line, warnings and failures are still printed.
    #[arg(long, short)]
    quiet: bool,

    /// Print the manifest summary and preflight report as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: CreateArgs) -> ExitCode {
    match execute(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, message)) => {
            eprintln!("airlock-bundler create: {message}");
            ExitCode::from(code)
        }
    }
}

fn execute(args: &CreateArgs) -> Result<(), (u8, String)> {
    let usage = |e: &dyn std::fmt::Display| (EXIT_USAGE, e.to_string());
    let spec = Spec::load(&args.spec).map_err(|e| usage(&e))?;
    if args.dry_run {
        return dry_run(args, &spec);
    }
    let Some(output) = args.output.clone() else {
        return Err((EXIT_USAGE, "--output is required".to_owned()));
    };
    let mut keys = Vec::new();
    for path in &args.key {
        let key = load_signing_key(path, args.passphrase.for_key(path))
            .map_err(|e| (EXIT_USAGE, super::error_line(&e)))?;
        keys.push(key);
    }
    let options = options(args, output)?;
    let bar = Bar::new(args.quiet);
    let key_refs: Vec<_> = keys.iter().collect();
    let result = create(&spec, &key_refs, &options, &bar);
    bar.finish();
    let created = result.map_err(|e| match &e {
        CreateError::Preflight { report, .. } => {
            for a in report.artifacts.iter().filter(|a| !a.passed) {
                eprintln!("  failed {}: {}", a.name, a.problems.join("; "));
            }
            (EXIT_REJECTED, e.to_string())
        }
        CreateError::Check(_) | CreateError::Trust { .. } => (EXIT_REJECTED, e.to_string()),
        CreateError::Collect(c) if rejected(&c.problem) => (EXIT_REJECTED, e.to_string()),
        CreateError::Download(d) if rejected(&d.problem) => (EXIT_REJECTED, e.to_string()),
        CreateError::Package(p) if rejected(&p.problem) => (EXIT_REJECTED, e.to_string()),
        _ => (EXIT_USAGE, e.to_string()),
    })?;

    let m = &created.manifest;
    if args.json {
        let summary = serde_json::json!({
            "files": created.files,
            "archive_id": m.archive_id,
            "created_at": m.created_at,
            "publisher": m.publisher,
            "signed_by": keys.iter().map(|k| KeyId::of(&k.verifying_key()).to_string()).collect::<Vec<_>>(),
            "artifacts": m.artifacts.len(),
            "blobs": m.blobs.len(),
            "bytes": m.total_blob_size(),
            "images": created.images,
            "downloads": created.downloads,
            "packages": created.packages,
            "preflight": created.report,
        });
        println!("{summary:#}");
    } else {
        for f in &created.files {
            println!("{}", f.display());
        }
        let details = !args.quiet;
        for image in created.images.iter().filter(|_| details) {
            print_image(image, false);
        }
        for d in created.downloads.iter().filter(|_| details) {
            eprintln!(
                "download {}: {} is {} ({} bytes fetched){}",
                d.name,
                d.url,
                d.digest,
                d.fetched_bytes,
                d.bundle_url
                    .as_ref()
                    .map_or_else(String::new, |b| format!(", bundle {b}"))
            );
        }
        for package in created.packages.iter().filter(|_| details) {
            print_package(package, false);
        }
        // Packed anyway (`--allow-failing`): each failure said as a refusal would say it.
        let failed = created
            .report
            .artifacts
            .iter()
            .filter(|a| !a.passed)
            .inspect(|a| eprintln!("  failed {}: {}", a.name, a.problems.join("; ")))
            .count();
        eprintln!(
            "archive {} (publisher {} #{}): {} artifact(s), {} blob(s), {} bytes; preflight: {} passed, {} failed",
            m.archive_id,
            m.publisher.name,
            m.publisher.sequence,
            m.artifacts.len(),
            m.blobs.len(),
            m.total_blob_size(),
            created.report.artifacts.len() - failed,
            failed
        );
    }
    Ok(())
}

/// Problems that are the registry's content failing a check (exit 1), not usage or I/O.
fn rejected(problem: &Problem) -> bool {
    if let Problem::AfterMirrors { problem, .. } = problem {
        return rejected(problem);
    }
    matches!(
        problem,
        Problem::DigestMismatch { .. }
            | Problem::SizeMismatch { .. }
            | Problem::TagMoved { .. }
            | Problem::NoSignature { .. }
            | Problem::IntegrityMismatch { .. }
            | Problem::NoProvenance { .. }
            | Problem::ManifestTooLarge { .. }
            | Problem::Index(_)
            | Problem::InsecureRedirect { .. }
            | Problem::Malformed { .. }
    )
}

/// The typed options from the flags (`output` is a placeholder for a dry run).
fn options(args: &CreateArgs, output: PathBuf) -> Result<CreateOptions, (u8, String)> {
    if let Some(api) = &args.github_api
        && api.scheme() != "https"
    {
        return Err((EXIT_USAGE, format!("--github-api {api} must be https://")));
    }
    let extra_ca_pem = match &args.ca_file {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| (EXIT_USAGE, format!("{}: {e}", p.display())))?)
        }
        None => None,
    };
    let defaults = WriteOptions::default();
    Ok(CreateOptions {
        output,
        write: WriteOptions {
            level: args.level,
            threads: args.threads.unwrap_or(defaults.threads),
            max_part_size: args.max_part_size,
        },
        allow_failing: args.allow_failing,
        witness_state: args.witness_state.clone(),
        extra_ca_pem,
        now: chrono::Utc::now(),
        sequence: args.sequence,
        collect: CollectOptions {
            cache: args.cache.clone(),
            auth_file: default_auth_file(),
            allow_unsigned: args.allow_unsigned,
            max_package_size: args.max_package_size.unwrap_or(DEFAULT_MAX_PACKAGE_SIZE),
            github_api: args.github_api.clone(),
            concurrency: usize::from(args.concurrency),
        },
    })
}

/// `--dry-run`: resolve and list, write nothing.
fn dry_run(args: &CreateArgs, spec: &Spec) -> Result<(), (u8, String)> {
    let options = options(args, PathBuf::from("dry-run"))?;
    let found = airlock_bundler::create::dry_run(spec, &options).map_err(|e| match &e {
        CreateError::Collect(c) if rejected(&c.problem) => (EXIT_REJECTED, e.to_string()),
        CreateError::Package(p) if rejected(&p.problem) => (EXIT_REJECTED, e.to_string()),
        _ => (EXIT_USAGE, e.to_string()),
    })?;
    if args.json {
        let value = serde_json::to_value(&found).map_err(|e| (EXIT_USAGE, e.to_string()))?;
        println!("{value:#}");
        return Ok(());
    }
    for image in &found.images {
        print_image(image, true);
    }
    for d in &found.downloads {
        let mut line = format!("download {}: {}", d.name, d.url);
        if let Some(bundle) = &d.bundle_url {
            line.push_str(&format!(", bundle {bundle}"));
        }
        if let Some(pin) = &d.sha256 {
            line.push_str(&format!(", pinned {pin}"));
        }
        println!("{line}");
    }
    for package in &found.packages {
        print_package(package, true);
    }
    for input in &found.files {
        let size = input
            .size
            .map_or_else(|| "cannot be read".to_owned(), |s| format!("{s} bytes"));
        println!(
            "{} {}: {} ({size}, local)",
            input.role,
            input.artifact,
            input.path.display()
        );
    }
    Ok(())
}

/// An image: what its tag resolved to, its blobs, and each referrer with where it goes and
/// who its bundle names as signer (unverified). `planned`: before fetching (`--dry-run`).
fn print_image(image: &ImagePlan, planned: bool) {
    let out = |line: String| {
        if planned {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    out(format!("image {}: {}", image.name, image.source));
    match &image.tag {
        Some(tag) if image.resolved != image.digest => out(format!(
            "  tag {tag} resolved to {}; packing {} ({}, {})",
            image.resolved,
            image.digest,
            image.media_type,
            image.platforms.join(", ")
        )),
        Some(tag) => out(format!(
            "  tag {tag} resolved to {} ({})",
            image.digest, image.media_type
        )),
        None => out(format!("  digest {} ({})", image.digest, image.media_type)),
    }
    let held = image.blobs.iter().filter(|b| b.held).count();
    let verb = if planned { "to fetch" } else { "fetched" };
    out(format!(
        "  {} blob(s), {} bytes {verb} ({held} already in the cache)",
        image.blobs.len() - held,
        image.bytes_to_fetch()
    ));
    if !planned {
        let mut sources: Vec<(&str, usize)> = Vec::new();
        for from in image.blobs.iter().filter_map(|b| b.from.as_deref()) {
            match sources.iter_mut().find(|(s, _)| *s == from) {
                Some((_, n)) => *n += 1,
                None => sources.push((from, 1)),
            }
        }
        if sources.iter().any(|(s, _)| *s != image.registry) {
            for (from, n) in &sources {
                out(format!("    {n} fetched from {from}"));
            }
        }
    }
    for warning in &image.warnings {
        out(format!("  warning: {warning}"));
    }
    if planned {
        for b in &image.blobs {
            let state = if b.held { "held" } else { "fetch" };
            out(format!(
                "    {state} {} {} {}",
                b.digest, b.size, b.media_type
            ));
        }
    }
    out(format!(
        "  {} referrer(s) ({}) in {}/{}",
        image.referrers.len(),
        image.discovery,
        image.registry,
        image.repository
    ));
    for r in &image.referrers {
        let line = match (&r.kind, &r.ignored) {
            (Some(kind), _) => {
                let kind = match kind {
                    EvidenceKind::Bundle => "bundle",
                    EvidenceKind::Attestation => "attestation",
                    EvidenceKind::Sbom => "sbom",
                    EvidenceKind::SignedPayload => "signed-payload",
                };
                let mut line = match &r.tag {
                    Some(tag) => format!("    tag {tag} {kind} {}", r.artifact_type),
                    None => format!("    {} {kind} {}", r.referrer, r.artifact_type),
                };
                if let Some(p) = &r.predicate_type {
                    line.push_str(&format!(" predicate {p}"));
                }
                if let Some(s) = &r.signer {
                    line.push_str(&format!(", names signer {s}"));
                }
                line
            }
            (None, why) => format!(
                "    {} ignored {}: {}",
                r.tag
                    .as_ref()
                    .map_or_else(|| r.referrer.to_string(), |t| format!("tag {t}")),
                r.artifact_type,
                why.as_deref().unwrap_or("")
            ),
        };
        out(line);
    }
    if image.unsigned {
        out("  UNSIGNED: no Sigstore bundle refers to it".to_owned());
    }
}

/// A package: the file its registry names with its digest, and each bundle found with where
/// it goes and who it names as signer (unverified). `planned`: before fetching (`--dry-run`).
fn print_package(package: &PackagePlan, planned: bool) {
    let out = |line: String| {
        if planned {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    out(format!(
        "{} {}: {}",
        package.ecosystem, package.name, package.source
    ));
    let file = &package.file;
    let digest = match (&file.sha256, &file.sha512) {
        (_, Some(sha512)) => format!("sha512:{sha512}"),
        (Some(sha256), None) => sha256.to_string(),
        (None, None) => "no digest".to_owned(),
    };
    let state = match (file.held, planned) {
        (true, _) => "held in the cache",
        (false, true) => "to fetch",
        (false, false) => "fetched",
    };
    let size = file
        .size
        .map_or_else(String::new, |s| format!(", {s} bytes"));
    out(format!(
        "  file {} ({digest}{size}) {state} from {}",
        file.name, file.url
    ));
    match &package.evidence_url {
        Some(url) => out(format!("  {} bundle(s) from {url}", package.evidence.len())),
        None if package.ecosystem == "github" => out(
            "  the release names no digest: attestations are looked up once the asset is hashed"
                .to_owned(),
        ),
        None => out("  the registry names no attestations".to_owned()),
    }
    for e in &package.evidence {
        let kinds: Vec<&str> = e
            .kinds
            .iter()
            .map(|k| match k {
                EvidenceKind::Bundle => "bundle",
                EvidenceKind::SignedPayload => "signed payload",
                EvidenceKind::Attestation => "attestation",
                EvidenceKind::Sbom => "sbom",
            })
            .collect();
        let kind = match &e.ignored {
            Some(_) => "ignored".to_owned(),
            None => kinds.join("+"),
        };
        let mut line = match &e.digest {
            Some(digest) => format!("    {digest} {kind}"),
            None => format!("    {} (entry {}) {kind}", e.url, e.position),
        };
        if let Some(p) = &e.predicate_type {
            line.push_str(&format!(" predicate {p}"));
        }
        if let Some(s) = &e.signer {
            line.push_str(&format!(", names signer {s}"));
        }
        if let Some(why) = &e.ignored {
            line.push_str(&format!(": {why}"));
        }
        out(line);
    }
    if package.unsigned {
        out("  UNSIGNED: no Sigstore bundle signs it".to_owned());
    }
}
