//! `verify-bundle`: verify one Sigstore bundle offline, speaking the sigstore-conformance CLI
//! protocol.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_trust_root::{
    Artifact, ArtifactDigests, Bundle, CertificateIdentity, MAX_BUNDLE_SIZE, Matcher, PublicKey,
    SignerPolicy, TrustedRoot, Verifier, VerifierOptions,
};
use clap::Args;

use super::{EXIT_REJECTED, EXIT_USAGE};

/// Artifacts up to this size are read whole, so keys that sign the message itself (Ed25519,
/// P-384) can be checked; larger ones are hashed as they stream.
const READ_WHOLE_LIMIT: u64 = 256 * 1024 * 1024;

/// Verify a Sigstore bundle offline: certificate chain, SCTs, identity, signature, log entry,
/// inclusion proof, checkpoint, SET and timestamps, all against a trusted root on disk.
///
/// Exit status: 0 verified, 1 rejected (one line on stderr says why), 2 usage or I/O error.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("signer").required(true).args(["certificate_identity", "certificate_identity_regexp", "key"]))]
pub(crate) struct VerifyBundleArgs {
    /// The Sigstore bundle (JSON).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,

    /// Required certificate identity (subject alternative name), matched exactly.
    #[arg(long, value_name = "IDENTITY", requires = "issuer")]
    certificate_identity: Option<String>,

    /// Required certificate identity as a regular expression anchored at both ends.
    #[arg(
        long,
        value_name = "REGEX",
        conflicts_with = "certificate_identity",
        requires = "issuer"
    )]
    certificate_identity_regexp: Option<String>,

    /// Required OIDC issuer, matched exactly.
    #[arg(long, value_name = "URL", group = "issuer")]
    certificate_oidc_issuer: Option<String>,

    /// Required OIDC issuer as a regular expression anchored at both ends.
    #[arg(
        long,
        value_name = "REGEX",
        group = "issuer",
        conflicts_with = "certificate_oidc_issuer"
    )]
    certificate_oidc_issuer_regexp: Option<String>,

    /// A PEM public key: verify a managed-key bundle against it instead of an identity.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp"])]
    key: Option<PathBuf>,

    /// With --key: accept a bundle that carries no transparency-log entry or timestamp (a
    /// site's own signature, such as an Airlock appliance's verdict); entries it does carry
    /// are still verified. --trusted-root is then optional.
    #[arg(long, requires = "key")]
    no_tlog: bool,

    /// The Sigstore trusted root (trusted_root.json). Airlock never fetches trust, so this is
    /// required (except with --no-tlog).
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,

    /// Accepted for the conformance protocol and ignored: the trusted root decides the instance.
    #[arg(long, hide = true)]
    staging: bool,

    /// Print the verification report as JSON on success.
    #[arg(long)]
    json: bool,

    /// The artifact, or `sha256:<64 hex digits>` to give only its digest.
    #[arg(value_name = "FILE_OR_DIGEST")]
    artifact: String,
}

/// Why the command could not run (usage or I/O), as opposed to a rejected bundle.
#[derive(Debug, thiserror::Error)]
enum UsageError {
    #[error("--trusted-root is required: Airlock verifies offline and never fetches trust")]
    NoTrustedRoot,
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{0}")]
    Invalid(String),
    /// The given key does not parse, so it cannot have signed the bundle: a rejection, not a
    /// usage error.
    #[error("key {path}: {reason}")]
    BadKey { path: PathBuf, reason: String },
}

impl UsageError {
    fn exit_code(&self) -> u8 {
        match self {
            Self::BadKey { .. } => EXIT_REJECTED,
            _ => EXIT_USAGE,
        }
    }
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, UsageError> {
    let read_err = |source| UsageError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(read_err)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(UsageError::TooLarge {
            path: path.to_owned(),
            limit,
        });
    }
    Ok(bytes)
}

/// The artifact as given on the command line: a digest, or a file read once the bundle says
/// which digests it needs.
enum ArtifactInput {
    File(File),
    Digest([u8; 32]),
}

fn artifact_input(arg: &str) -> Result<ArtifactInput, UsageError> {
    let path = Path::new(arg);
    if !path.exists()
        && let Some(hex_digest) = arg.strip_prefix("sha256:")
    {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut digest).map_err(|_| {
            UsageError::Invalid(format!("{arg:?} is not sha256: followed by 64 hex digits"))
        })?;
        return Ok(ArtifactInput::Digest(digest));
    }
    File::open(path)
        .map(ArtifactInput::File)
        .map_err(|source| UsageError::Read {
            path: path.to_owned(),
            source,
        })
}

/// The artifact's bytes when small enough, else the digests `bundle` needs, taken in one pass
/// (or only the SHA-256 the command line gave).
enum ArtifactRead {
    Bytes(Vec<u8>),
    Digests(ArtifactDigests),
    Sha256([u8; 32]),
}

fn read_artifact(mut file: File, bundle: &Bundle) -> io::Result<ArtifactRead> {
    let size = file.metadata()?.len();
    if size <= READ_WHOLE_LIMIT {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.read_to_end(&mut bytes)?;
        return Ok(ArtifactRead::Bytes(bytes));
    }
    ArtifactDigests::from_reader(file, &bundle.artifact_hashes()).map(ArtifactRead::Digests)
}

fn policy(args: &VerifyBundleArgs) -> Result<SignerPolicy, UsageError> {
    let invalid = |e: &dyn std::fmt::Display| UsageError::Invalid(e.to_string());
    if let Some(key_path) = &args.key {
        let pem = read_bounded(key_path, 64 * 1024)?;
        let bad_key = |reason: String| UsageError::BadKey {
            path: key_path.clone(),
            reason,
        };
        let pem = String::from_utf8(pem).map_err(|_| bad_key("not a PEM public key".into()))?;
        return PublicKey::from_pem(&pem)
            .map(SignerPolicy::PublicKey)
            .map_err(|e| bad_key(e.to_string()));
    }
    let subject = match (
        &args.certificate_identity,
        &args.certificate_identity_regexp,
    ) {
        (Some(exact), _) => Matcher::exact(exact.clone()),
        (None, Some(re)) => Matcher::pattern(re),
        (None, None) => {
            return Err(UsageError::Invalid(
                "an identity or --key is required".into(),
            ));
        }
    }
    .map_err(|e| invalid(&e))?;
    let issuer = match (
        &args.certificate_oidc_issuer,
        &args.certificate_oidc_issuer_regexp,
    ) {
        (Some(exact), _) => Matcher::exact(exact.clone()),
        (None, Some(re)) => Matcher::pattern(re),
        (None, None) => {
            return Err(UsageError::Invalid(
                "--certificate-oidc-issuer is required with an identity".into(),
            ));
        }
    }
    .map_err(|e| invalid(&e))?;
    Ok(SignerPolicy::Keyless(CertificateIdentity {
        subject,
        issuer,
    }))
}

pub(crate) fn run(args: VerifyBundleArgs) -> ExitCode {
    let prepared = (|| -> Result<_, UsageError> {
        let root_json = match &args.trusted_root {
            Some(path) => Some(read_bounded(path, 16 * 1024 * 1024)?),
            None if args.no_tlog => None,
            None => return Err(UsageError::NoTrustedRoot),
        };
        let bundle_json = read_bounded(&args.bundle, MAX_BUNDLE_SIZE as u64)?;
        let artifact = artifact_input(&args.artifact)?;
        Ok((root_json, bundle_json, artifact))
    })();
    let (root_json, bundle_json, artifact) = match prepared {
        Ok(p) => p,
        Err(e) => return fail(e.exit_code(), &e),
    };
    let policy = match policy(&args) {
        Ok(p) => p,
        Err(e) => return fail(e.exit_code(), &e),
    };
    // From here on every failure is the evidence's fault: reject with exit 1.
    let root = match root_json.as_deref().map(TrustedRoot::from_json) {
        None => TrustedRoot::empty(),
        Some(Ok(r)) => r,
        Some(Err(e)) => return fail(EXIT_REJECTED, &format!("trusted root: {e}")),
    };
    let options = if args.no_tlog {
        VerifierOptions::signature_only()
    } else {
        VerifierOptions::default()
    };
    let bundle = match Bundle::from_json(&bundle_json) {
        Ok(b) => b,
        Err(e) => return fail(EXIT_REJECTED, &format!("bundle: {e}")),
    };
    let read = match artifact {
        ArtifactInput::Digest(digest) => ArtifactRead::Sha256(digest),
        ArtifactInput::File(file) => match read_artifact(file, &bundle) {
            Ok(read) => read,
            Err(source) => {
                let e = UsageError::Read {
                    path: PathBuf::from(&args.artifact),
                    source,
                };
                return fail(e.exit_code(), &e);
            }
        },
    };
    let artifact = match &read {
        ArtifactRead::Bytes(bytes) => Artifact::Bytes(bytes),
        ArtifactRead::Digests(digests) => Artifact::Digests(*digests),
        ArtifactRead::Sha256(digest) => Artifact::Sha256(*digest),
    };
    match Verifier::with_options(root, options).verify(&bundle, artifact, &policy) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => return fail(EXIT_USAGE, &e),
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(EXIT_REJECTED, &format!("{} step: {e}", e.step())),
    }
}

fn fail(code: u8, message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("airlock-bundler verify-bundle: {message}");
    ExitCode::from(code)
}
