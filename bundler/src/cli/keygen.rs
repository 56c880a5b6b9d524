//! `airlock-bundler keygen`: create a publisher key pair; and [`PassphraseArgs`], the one way
//! every subcommand that writes or reads a private key gets its passphrase.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airlock_bundler::keys::{self, GeneratedKey, KeyError};
use clap::Args;
use pkcs8::der::zeroize::Zeroizing;

use super::{EXIT_USAGE, error_line};

/// The environment variable a private key's passphrase may come from.
pub(crate) const PASSPHRASE_ENV: &str = "AIRLOCK_KEY_PASSPHRASE";

/// Passphrase files larger than this are refused (only the first line is used).
const MAX_PASSPHRASE_FILE_SIZE: u64 = 64 * 1024;

/// Where a private key's passphrase comes from, first match wins: `--passphrase-file`, then
/// the environment variable `AIRLOCK_KEY_PASSPHRASE`, then `--prompt`. Flatten it into any
/// subcommand that creates or loads a private key.
#[derive(Debug, Args)]
pub(crate) struct PassphraseArgs {
    /// Read the key's passphrase from the first line of FILE (its line break is not part of
    /// it). Takes precedence over AIRLOCK_KEY_PASSPHRASE.
    #[arg(long, value_name = "FILE", conflicts_with = "prompt")]
    passphrase_file: Option<PathBuf>,

    /// Ask for the key's passphrase on the terminal (twice for a new key). Needs stdin to be a
    /// terminal; AIRLOCK_KEY_PASSPHRASE, when set, is used instead.
    #[arg(long)]
    prompt: bool,
}

/// Whether a prompted passphrase is for a new key (asked twice) or an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    Once,
    Twice,
}

impl PassphraseArgs {
    /// The passphrase for an existing key, or `None` when no source was given. `purpose` says
    /// what it is for in the prompt ("key publisher.key").
    pub(crate) fn resolve(&self, purpose: &str) -> Result<Option<Zeroizing<String>>, KeyError> {
        self.resolve_with(std::env::var_os(PASSPHRASE_ENV), || {
            prompt(purpose, Asking::Once)
        })
    }

    /// The passphrase for a new key, or `None` when no source was given; a prompt asks twice
    /// and the two must match.
    pub(crate) fn resolve_new(&self, purpose: &str) -> Result<Option<Zeroizing<String>>, KeyError> {
        self.resolve_with(std::env::var_os(PASSPHRASE_ENV), || {
            prompt(purpose, Asking::Twice)
        })
    }

    /// A passphrase callback for [`keys::load_signing_key`]: resolved only if the key turns
    /// out to be encrypted; no source is [`KeyError::PassphraseRequired`] for `path`.
    pub(crate) fn for_key<'a>(
        &'a self,
        path: &'a Path,
    ) -> impl FnOnce() -> Result<String, KeyError> + 'a {
        move || required(self.resolve(&format!("key {}", path.display()))?, path)
    }

    /// [`Self::resolve`] with the environment variable's value and the prompt as inputs.
    fn resolve_with(
        &self,
        env: Option<OsString>,
        ask: impl FnOnce() -> Result<Zeroizing<String>, KeyError>,
    ) -> Result<Option<Zeroizing<String>>, KeyError> {
        if let Some(path) = &self.passphrase_file {
            let origin = || format!("--passphrase-file {}", path.display());
            let line = read_first_line(path)?;
            let passphrase =
                String::from_utf8(line.to_vec()).map_err(|_| KeyError::Passphrase {
                    origin: origin(),
                    problem: "is not UTF-8",
                })?;
            return non_empty(Zeroizing::new(passphrase), origin).map(Some);
        }
        if let Some(value) = env {
            let origin = || PASSPHRASE_ENV.to_owned();
            let passphrase = value.into_string().map_err(|_| KeyError::Passphrase {
                origin: origin(),
                problem: "is not UTF-8",
            })?;
            return non_empty(Zeroizing::new(passphrase), origin).map(Some);
        }
        if self.prompt {
            return non_empty(ask()?, || "the terminal".to_owned()).map(Some);
        }
        Ok(None)
    }
}

/// The resolved passphrase for the key at `path`, which is encrypted, so one is needed.
fn required(passphrase: Option<Zeroizing<String>>, path: &Path) -> Result<String, KeyError> {
    match passphrase {
        // load_signing_key wraps the String in Zeroizing again at once.
        Some(mut passphrase) => Ok(std::mem::take(&mut *passphrase)),
        None => Err(KeyError::PassphraseRequired {
            path: path.to_owned(),
        }),
    }
}

fn non_empty(
    passphrase: Zeroizing<String>,
    origin: impl FnOnce() -> String,
) -> Result<Zeroizing<String>, KeyError> {
    if passphrase.is_empty() {
        return Err(KeyError::Passphrase {
            origin: origin(),
            problem: "is empty",
        });
    }
    Ok(passphrase)
}

/// The first line of `path`, without its line break (`\n` or `\r\n`).
fn read_first_line(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let read_err = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Zeroizing::new(Vec::new());
    File::open(path)
        .map_err(read_err)?
        .take(MAX_PASSPHRASE_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_PASSPHRASE_FILE_SIZE {
        return Err(KeyError::TooLarge {
            path: path.to_owned(),
            limit: MAX_PASSPHRASE_FILE_SIZE,
        });
    }
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes[..end].strip_suffix(b"\r").unwrap_or(&bytes[..end]);
    Ok(Zeroizing::new(line.to_vec()))
}

/// Asks on the terminal; refuses when stdin is not one (a script should not hang on a prompt).
fn prompt(purpose: &str, asking: Asking) -> Result<Zeroizing<String>, KeyError> {
    if !io::stdin().is_terminal() {
        return Err(KeyError::PromptNeedsTerminal);
    }
    let read = |text: String| {
        rpassword::prompt_password(text)
            .map(Zeroizing::new)
            .map_err(|source| KeyError::Prompt { source })
    };
    let first = read(format!("Passphrase for {purpose}: "))?;
    if asking == Asking::Twice {
        let again = read(format!("Repeat the passphrase for {purpose}: "))?;
        if *first != *again {
            return Err(KeyError::PassphraseMismatch);
        }
    }
    Ok(first)
}

/// Create a publisher key pair (ed25519): NAME.key and NAME.pub.
///
/// NAME.key is the private key, PKCS#8 PEM, created with mode 0600; with a passphrase it is
/// encrypted (PKCS#5 v2: scrypt N=2^17, r=8, p=1 and AES-256-CBC). NAME.pub is the public key
/// (SubjectPublicKeyInfo PEM) to hand to the appliance. Existing files are never overwritten.
///
/// The passphrase comes from --passphrase-file, else the environment variable
/// AIRLOCK_KEY_PASSPHRASE, else --prompt; with none of them the key is not encrypted.
///
/// Prints the key id (hex SHA-256 of the 32-byte public key) on stdout and the two paths on
/// stderr. Exit status: 0 created, 2 usage or I/O error (nothing is left behind).
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Name of the key pair: NAME.key and NAME.pub are created (e.g. keys/publisher).
    #[arg(long, value_name = "NAME")]
    out: PathBuf,

    #[command(flatten)]
    passphrase: PassphraseArgs,

    /// Print {"key_id": ..., "key": ..., "pub": ...} on stdout instead of the key id.
    #[arg(long)]
    json: bool,
}

/// The typed configuration `KeygenArgs` become before any work starts.
#[derive(Debug)]
struct KeygenConfig {
    out: PathBuf,
    passphrase: Option<Zeroizing<String>>,
    json: bool,
}

pub(crate) fn run(args: KeygenArgs) -> ExitCode {
    match KeygenConfig::from_args(args).and_then(KeygenConfig::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_line(&err));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

impl KeygenConfig {
    fn from_args(args: KeygenArgs) -> Result<Self, KeyError> {
        let (key_path, pub_path) = keys::key_pair_paths(&args.out)?;
        if args.json && args.out.to_str().is_none() {
            return Err(KeyError::OutPath {
                path: args.out,
                reason: "not UTF-8, so it cannot be printed as JSON",
            });
        }
        // Checked again, race-free, when the files are created; here so nobody types a
        // passphrase twice for nothing.
        for path in [&key_path, &pub_path] {
            if path.symlink_metadata().is_ok() {
                return Err(KeyError::Exists {
                    path: path.to_owned(),
                });
            }
        }
        let passphrase = args
            .passphrase
            .resolve_new(&format!("the new key {}", key_path.display()))?;
        Ok(Self {
            out: args.out,
            passphrase,
            json: args.json,
        })
    }

    fn run(self) -> Result<(), KeyError> {
        let generated = keys::generate(&self.out, self.passphrase.as_deref().map(String::as_str))?;
        let GeneratedKey {
            key_id,
            key_path,
            pub_path,
        } = &generated;
        let stdout_line = if self.json {
            serde_json::json!({
                "key_id": key_id.as_str(),
                "key": key_path.to_string_lossy(),
                "pub": pub_path.to_string_lossy(),
            })
            .to_string()
        } else {
            eprintln!("private key: {}", key_path.display());
            eprintln!("public key:  {}", pub_path.display());
            key_id.to_string()
        };
        if self.passphrase.is_none() {
            eprintln!(
                "note: {} is not encrypted (give --passphrase-file, {PASSPHRASE_ENV} or --prompt \
                 to encrypt a key)",
                key_path.display()
            );
        }
        writeln!(io::stdout().lock(), "{stdout_line}").map_err(|source| KeyError::Write {
            path: PathBuf::from("stdout"),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn args(file: Option<&Path>, prompt: bool) -> PassphraseArgs {
        PassphraseArgs {
            passphrase_file: file.map(Path::to_owned),
            prompt,
        }
    }

    fn no_prompt() -> Result<Zeroizing<String>, KeyError> {
        panic!("prompted")
    }

    fn prompted() -> Result<Zeroizing<String>, KeyError> {
        Ok(Zeroizing::new("typed".to_owned()))
    }

    fn resolved(r: Result<Option<Zeroizing<String>>, KeyError>) -> Option<String> {
        r.unwrap().map(|p| p.to_string())
    }

    #[test]
    fn the_file_comes_first_and_only_its_first_line_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        for (contents, expected) in [
            ("secret\n", "secret"),
            ("secret", "secret"),
            ("secret\r\nsecond line\n", "secret"),
            (" spaced out \n", " spaced out "),
        ] {
            fs::write(&file, contents).unwrap();
            let got = args(Some(&file), false).resolve_with(Some("env".into()), no_prompt);
            assert_eq!(resolved(got).as_deref(), Some(expected), "{contents:?}");
        }
    }

    #[test]
    fn then_the_environment_then_the_prompt() {
        let got = args(None, true).resolve_with(Some("from env".into()), no_prompt);
        assert_eq!(resolved(got).as_deref(), Some("from env"));
        let got = args(None, true).resolve_with(None, prompted);
        assert_eq!(resolved(got).as_deref(), Some("typed"));
        let got = args(None, false).resolve_with(None, no_prompt);
        assert_eq!(resolved(got), None);
    }

    #[test]
    fn empty_passphrases_are_refused_naming_their_origin() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        fs::write(&file, "\nsecond line\n").unwrap();
        let err = args(Some(&file), false)
            .resolve_with(None, no_prompt)
            .unwrap_err();
        assert!(
            matches!(&err, KeyError::Passphrase { origin, problem: "is empty" }
                if *origin == format!("--passphrase-file {}", file.display())),
            "{err:?}"
        );
        let err = args(None, false)
            .resolve_with(Some("".into()), no_prompt)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "passphrase from AIRLOCK_KEY_PASSPHRASE is empty"
        );
    }

    #[test]
    fn a_missing_or_huge_passphrase_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("absent");
        let err = args(Some(&file), false)
            .resolve_with(None, no_prompt)
            .unwrap_err();
        assert!(
            matches!(&err, KeyError::Read { path, .. } if *path == file),
            "{err:?}"
        );
        fs::write(&file, vec![b'a'; MAX_PASSPHRASE_FILE_SIZE as usize + 1]).unwrap();
        let err = args(Some(&file), false)
            .resolve_with(None, no_prompt)
            .unwrap_err();
        assert!(
            matches!(&err, KeyError::TooLarge { path, .. } if *path == file),
            "{err:?}"
        );
    }

    #[test]
    fn an_encrypted_key_without_a_source_requires_one() {
        let err = required(None, Path::new("k.key")).unwrap_err();
        assert!(
            matches!(&err, KeyError::PassphraseRequired { path } if path == Path::new("k.key")),
            "{err:?}"
        );
        let got = required(Some(Zeroizing::new("pw".to_owned())), Path::new("k.key"));
        assert_eq!(got.unwrap(), "pw");
    }
}
