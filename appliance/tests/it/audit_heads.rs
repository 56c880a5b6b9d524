//! The audit chain rewritten by someone who can write the database: a verdict flipped and
//! every later hash recomputed, or the last rows deleted. The chain alone still verifies;
//! `audit verify` catches both against the head the appliance signed at the import, and an
//! auditor's earlier export catches them even when the stored heads were deleted too.

use std::process::Output;

use airlock_appliance::store;
use airlock_tests::ArtifactPlan;
use sha2::{Digest as _, Sha256};

use crate::common::appliance;
use crate::site::Site;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Rewrites row `seq`'s detail with `edit` and recomputes the hashes from it to the end, as
/// the chain's own rule computes them (SHA-256 of the fixed-order JSON of the row).
fn rewrite_from(db: &rusqlite::Connection, seq: i64, edit: impl Fn(&str) -> String) {
    let rows: Vec<(i64, String, String, String, String, String)> = db
        .prepare("SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([seq], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev: String = db
        .query_row("SELECT prev_hash FROM audit WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    for (n, at, actor, action, subject, detail) in rows {
        let detail = if n == seq { edit(&detail) } else { detail };
        let hashed = serde_json::json!({
            "seq": n, "at": at, "actor": actor, "action": action, "subject": subject,
            "detail": detail, "prev_hash": prev,
        });
        // serde_json keeps the insertion order only with `preserve_order`; write it by hand.
        let text = format!(
            "{{\"seq\":{},\"at\":{},\"actor\":{},\"action\":{},\"subject\":{},\"detail\":{},\"prev_hash\":{}}}",
            hashed["seq"],
            hashed["at"],
            hashed["actor"],
            hashed["action"],
            hashed["subject"],
            hashed["detail"],
            hashed["prev_hash"]
        );
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        db.execute(
            "UPDATE audit SET detail = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
            rusqlite::params![n, detail, prev, hash],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn a_flipped_verdict_with_recomputed_hashes_or_a_deleted_last_row_fails_against_the_signed_head() {
    let mut site = Site::new(601);
    let mut loose = ArtifactPlan::signed("loose.tar.gz", b"unsigned\n");
    loose.signing = airlock_tests::Signing::Unsigned;
    let archive = site.archive(
        "mixed",
        1,
        &[ArtifactPlan::signed("tool.tar.gz", b"tool\n"), loose],
    );
    site.import(&archive);
    let data = site.data();
    let out = appliance(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows = store::audit::count(site.app.store().read()).unwrap();
    assert!(
        text.contains(&format!("signed head verified: row {rows} signed at ")),
        "{text}"
    );
    // An auditor keeps an export, and a head signed on demand.
    let export = site.dir.path().join("audit-before.jsonl");
    assert!(
        appliance(&data, &["audit", "export", "-o", export.to_str().unwrap()])
            .status
            .success()
    );
    let head_file = site.dir.path().join("head.json");
    let out = appliance(
        &data,
        &["audit", "sign-head", "-o", head_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let db = rusqlite::Connection::open(data.join("airlock.db")).unwrap();

    // The last row deleted: the chain alone verifies, but it is shorter than the signed head.
    let last: (String, String, String, String, String, String, String) = db
        .query_row(
            "SELECT at, actor, action, subject, detail, prev_hash, hash FROM audit WHERE seq = ?1",
            [rows],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .unwrap();
    db.execute("DELETE FROM audit WHERE seq = ?1", [rows])
        .unwrap();
    let out = appliance(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let truncated = stderr(&out);
    assert!(
        truncated.starts_with(&format!(
            "audit chain broken: the chain has {} row(s) but the head signed at ",
            rows - 1
        )) && truncated.ends_with(&format!(" covers {rows}: rows were removed")),
        "{truncated}"
    );
    // Put back, it verifies again, against the kept head too.
    db.execute(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![rows, last.0, last.1, last.2, last.3, last.4, last.5, last.6],
    )
    .unwrap();
    let out = appliance(
        &data,
        &["audit", "verify", "--head", head_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // The failed verdict becomes a pass; every hash from it on is recomputed.
    let verdict: i64 = db
        .query_row(
            "SELECT seq FROM audit WHERE action = 'verdict' AND detail LIKE '%\"failed\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    rewrite_from(&db, verdict, |d| d.replace("\"failed\"", "\"passed\""));
    let out = appliance(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let broken = stderr(&out);
    assert!(
        broken.starts_with(&format!("audit chain broken: audit row {rows}: hash "))
            && broken.ends_with(": the chain was rewritten"),
        "{broken}"
    );
    // Nor does the appliance sign a new head over the rewritten chain.
    let out = appliance(&data, &["audit", "sign-head"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!(
            "error: not signing the audit head: audit row {rows}: hash "
        )),
        "{}",
        stderr(&out)
    );
    // The stored heads deleted as well: the chain and the database agree, but the export
    // and the head file the auditor kept do not.
    db.execute("DELETE FROM audit_heads", []).unwrap();
    let out = appliance(&data, &["audit", "verify"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no signed head to check the chain against")
    );
    for kept in [&export, &head_file] {
        let out = appliance(
            &data,
            &["audit", "verify", "--head", kept.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1), "{}", kept.display());
        assert!(
            stderr(&out).ends_with(": the chain was rewritten"),
            "{}",
            stderr(&out)
        );
    }
    // A head file that is no head is a usage error.
    let out = appliance(
        &data,
        &["audit", "verify", "--head", archive.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
}
