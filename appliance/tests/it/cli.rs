//! The admin CLI as an operator uses it: `init`, `publishers`, `signers`, `policy`, `import`,
//! `status`, `witness-state`, `audit verify` and `audit export`, with their exit codes.

use std::process::{Command, Output};

use airlock_tests::{
    ArtifactPlan, ISSUER, Signing, TRUSTED_IDENTITY, TUF_NAME, UNTRUSTED_IDENTITY, World,
};
use chrono::{Duration, Utc};

use crate::common::appliance;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_operator_sets_up_a_site_imports_and_checks_the_audit_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new(
        301,
        &dir.path().join("world"),
        Utc::now() - Duration::hours(1),
    )
    .unwrap();
    let data = dir.path().join("data");
    let root = world.tuf_root_path();
    let password = dir.path().join("admin.pw");
    std::fs::write(&password, "a long admin password\n").unwrap();

    // init: with a password file nothing secret is printed; without --tuf-root it is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["init", "--data"])
        .arg(&data)
        .arg("--tuf-root")
        .arg(format!("{TUF_NAME}={}", root.display()))
        .arg("--admin-password-file")
        .arg(&password)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("appliance key id: "));
    assert!(!stdout(&out).contains("a long admin password"));
    let again = Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["init", "--data"])
        .arg(&data)
        .arg("--tuf-root")
        .arg(format!("{TUF_NAME}={}", root.display()))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists and is not empty"),
        "{}",
        stderr(&again)
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["init", "--data"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));

    // A subcommand on a folder that is not initialised says so.
    let none = appliance(&dir.path().join("nothing"), &["status"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("is not an Airlock data folder"));

    // Trust the publisher and the release identity.
    let pub_path = world.publisher().pub_path.display().to_string();
    let out = appliance(
        &data,
        &["publishers", "add", "release-team", "--key", &pub_path],
    );
    assert!(out.status.success());
    assert!(stdout(&out).contains(&format!("trusted key {}", world.publisher().key_id)));
    let out = appliance(
        &data,
        &[
            "signers",
            "add",
            "release-ci",
            "--issuer",
            ISSUER,
            "--subject",
            TRUSTED_IDENTITY,
        ],
    );
    assert!(out.status.success());
    let bad = appliance(
        &data,
        &[
            "signers",
            "add",
            "broken",
            "--issuer",
            ISSUER,
            "--subject-regex",
            "(",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("subject_regex"), "{}", stderr(&bad));

    // Policy export → import round trip keeps the signer.
    let exported = appliance(&data, &["policy", "export"]);
    assert!(exported.status.success());
    let text = stdout(&exported);
    assert!(
        text.contains("name = \"release-ci\"") && text.contains("enforcement = \"enforce\""),
        "{text}"
    );
    let policy_file = dir.path().join("policy.toml");
    std::fs::write(&policy_file, &text).unwrap();
    let imported = appliance(
        &data,
        &["policy", "import", &policy_file.display().to_string()],
    );
    assert!(imported.status.success());
    assert!(stdout(&imported).contains("policy replaced (1 signer(s))"));

    // Import: one good artifact and one signed by a stranger → exit 1, both verdicts printed.
    let archive = world
        .archive(
            "mixed",
            1,
            &[
                ArtifactPlan::signed("good.bin", b"good\n"),
                ArtifactPlan {
                    signing: Signing::As(UNTRUSTED_IDENTITY.to_owned()),
                    ..ArtifactPlan::signed("stranger.bin", b"stranger\n")
                },
            ],
            None,
        )
        .unwrap();
    let out = appliance(&data, &["import", &archive.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("passed  good.bin"), "{text}");
    assert!(text.contains("failed  stranger.bin"), "{text}");
    assert!(
        archive.exists(),
        "the CLI leaves the operator's file where it was"
    );

    // Replaying the same file is rejected as a whole.
    let replay = appliance(&data, &["import", &archive.display().to_string()]);
    assert_eq!(replay.status.code(), Some(1));
    assert!(
        stdout(&replay).contains("rejected: publisher: sequence 1"),
        "{}",
        stdout(&replay)
    );

    // status --json
    let status = appliance(&data, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["imports"], 2);
    assert_eq!(status["passed"], 1);
    assert_eq!(status["failed"], 1);
    assert_eq!(status["logs"].as_array().unwrap().len(), 1);

    // witness-state: a DSSE envelope the bundler reads sizes from.
    let ws = dir.path().join("witness.json");
    let out = appliance(&data, &["witness-state", "-o", &ws.display().to_string()]);
    assert!(out.status.success());
    let envelope: serde_json::Value = serde_json::from_slice(&std::fs::read(&ws).unwrap()).unwrap();
    assert_eq!(
        envelope["payloadType"],
        "application/vnd.airlock.witness-state.v1+json"
    );

    // audit verify, export; then an edited row is caught.
    let out = appliance(&data, &["audit", "verify"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("audit chain verified: "));
    let export = dir.path().join("audit.jsonl");
    let out = appliance(
        &data,
        &["audit", "export", "-o", &export.display().to_string()],
    );
    assert!(out.status.success());
    let lines = std::fs::read_to_string(&export).unwrap();
    let (heads, rows): (Vec<serde_json::Value>, Vec<serde_json::Value>) = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .partition(|v| v.get("signed_head").is_some());
    // Each import signed the head it left: after the rows, one line per signed head.
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(
        heads[1]["signed_head"]["envelope"]["payloadType"],
        "application/vnd.airlock.audit-head.v1+json"
    );
    assert!(rows.iter().any(|r| r["action"] == "publisher.key_added"));
    assert!(rows.iter().any(|r| r["action"] == "import.rejected"));
    assert_eq!(
        rows.len(),
        rows.last().unwrap()["seq"].as_u64().unwrap() as usize
    );
    {
        let conn = rusqlite::Connection::open(data.join("airlock.db")).unwrap();
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", [])
            .unwrap();
    }
    let out = appliance(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "audit chain broken: audit row 3: content does not match its hash"
    );
}
