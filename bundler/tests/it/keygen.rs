//! `airlock-bundler keygen` as staff and scripts run it: what it prints, what it writes, and
//! what it refuses.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use airlock_bundler::keys::{KeyId, load_public_key, load_signing_key};
use sha2::{Digest, Sha256};

const PASSPHRASE_ENV: &str = "AIRLOCK_KEY_PASSPHRASE";

/// `keygen ARGS` with stdin not a terminal and the passphrase variable unset unless `env`.
fn keygen(args: &[&str], out: &Path, env: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock-bundler"));
    cmd.arg("keygen")
        .arg("--out")
        .arg(out)
        .args(args)
        .stdin(Stdio::null())
        .env_remove(PASSPHRASE_ENV);
    if let Some(value) = env {
        cmd.env(PASSPHRASE_ENV, value);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(out));
}

fn pem_label(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap();
    first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .unwrap()
        .to_owned()
}

/// The key id computed independently: SHA-256 over the last 32 bytes of the SPKI DER (the raw
/// ed25519 public key).
fn id_from_pub_file(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let (label, doc) = pkcs8::Document::from_pem(&text).unwrap();
    assert_eq!(label, "PUBLIC KEY");
    let der = doc.as_bytes();
    assert_eq!(der.len(), 44, "ed25519 SPKI");
    hex::encode(Sha256::digest(&der[der.len() - 32..]))
}

#[test]
fn prints_the_key_id_of_the_new_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("publisher");
    let run = keygen(&[], &out, None);
    assert_exit(&run, 0);

    let stdout = String::from_utf8(run.stdout.clone()).unwrap();
    let id = stdout.strip_suffix('\n').unwrap();
    assert_eq!(id.len(), 64);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let key = dir.path().join("publisher.key");
    let public = dir.path().join("publisher.pub");
    assert_eq!(id, id_from_pub_file(&public));
    assert_eq!(id, KeyId::of(&load_public_key(&public).unwrap()).as_str());

    assert_eq!(pem_label(&key), "PRIVATE KEY");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let signing = load_signing_key(&key, || panic!("not encrypted")).unwrap();
    assert_eq!(KeyId::of(&signing.verifying_key()).as_str(), id);

    assert_eq!(
        stderr(&run),
        format!(
            "private key: {}\npublic key:  {}\nnote: {} is not encrypted (give \
             --passphrase-file, AIRLOCK_KEY_PASSPHRASE or --prompt to encrypt a key)\n",
            key.display(),
            public.display(),
            key.display()
        )
    );
}

#[test]
fn the_environment_passphrase_encrypts_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let run = keygen(&[], &out, Some("from the environment"));
    assert_exit(&run, 0);
    assert_eq!(
        pem_label(&dir.path().join("k.key")),
        "ENCRYPTED PRIVATE KEY"
    );
    assert!(!stderr(&run).contains("not encrypted"), "{}", stderr(&run));
}

#[test]
fn the_passphrase_file_wins_and_only_its_first_line_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("passphrase");
    std::fs::write(&file, "from the file\nsecond line\n").unwrap();
    let out = dir.path().join("k");
    let run = keygen(
        &["--passphrase-file", file.to_str().unwrap()],
        &out,
        Some("from the environment"),
    );
    assert_exit(&run, 0);
    let key = dir.path().join("k.key");
    assert_eq!(pem_label(&key), "ENCRYPTED PRIVATE KEY");
    // One real scrypt (seconds in a debug build): the passphrase is the line, no newline.
    let signing = load_signing_key(&key, || Ok("from the file".to_owned())).unwrap();
    let id = String::from_utf8(run.stdout).unwrap();
    assert_eq!(
        format!("{}\n", KeyId::of(&signing.verifying_key())),
        id,
        "the key id printed is the loaded key's"
    );
}

#[test]
fn an_existing_key_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let key = dir.path().join("k.key");
    std::fs::write(&key, "precious").unwrap();
    let run = keygen(&[], &out, None);
    assert_exit(&run, 2);
    assert!(run.stdout.is_empty());
    assert_eq!(
        stderr(&run),
        format!(
            "error: {} already exists; refusing to overwrite it\n",
            key.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "precious");
    assert!(!dir.path().join("k.pub").exists());
}

#[test]
fn an_existing_public_key_is_not_overwritten_and_no_private_key_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let public = dir.path().join("k.pub");
    std::fs::write(&public, "precious").unwrap();
    let run = keygen(&[], &out, None);
    assert_exit(&run, 2);
    assert_eq!(
        stderr(&run),
        format!(
            "error: {} already exists; refusing to overwrite it\n",
            public.display()
        )
    );
    assert!(!dir.path().join("k.key").exists());
}

#[test]
fn json_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let run = keygen(&["--json"], &out, None);
    assert_exit(&run, 0);
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let object = v.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["key", "key_id", "pub"]);
    let public = dir.path().join("k.pub");
    assert_eq!(v["key"], dir.path().join("k.key").to_str().unwrap());
    assert_eq!(v["pub"], public.to_str().unwrap());
    assert_eq!(v["key_id"], id_from_pub_file(&public));
    assert_eq!(run.stdout.iter().filter(|&&b| b == b'\n').count(), 1);
}

#[test]
fn prompting_without_a_terminal_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let run = keygen(&["--prompt"], &out, None);
    assert_exit(&run, 2);
    assert_eq!(
        stderr(&run),
        "error: cannot prompt for a passphrase: stdin is not a terminal\n"
    );
    assert!(!dir.path().join("k.key").exists());
}

#[test]
fn an_empty_passphrase_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k");
    let run = keygen(&[], &out, Some(""));
    assert_exit(&run, 2);
    assert_eq!(
        stderr(&run),
        "error: passphrase from AIRLOCK_KEY_PASSPHRASE is empty\n"
    );
    assert!(!dir.path().join("k.key").exists());
}

#[test]
fn a_missing_passphrase_file_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent");
    let run = keygen(
        &["--passphrase-file", file.to_str().unwrap()],
        &dir.path().join("k"),
        None,
    );
    assert_exit(&run, 2);
    assert!(
        stderr(&run).starts_with(&format!("error: cannot read {}: ", file.display())),
        "{}",
        stderr(&run)
    );
}

#[test]
fn a_directory_is_not_a_key_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}/", dir.path().display());
    let run = keygen(&[], Path::new(&name), None);
    assert_exit(&run, 2);
    assert_eq!(
        stderr(&run),
        format!(
            "error: {name}: not a usable key name: a directory; give a name inside it, like \
             dir/publisher\n"
        )
    );
}
