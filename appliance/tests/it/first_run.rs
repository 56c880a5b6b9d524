//! A site's first run at the console: `init` prints the whole checklist; `import` refuses, in
//! plain words and before any import number or publisher sequence is used up, a file that is
//! no archive, a missing one, and an archive the site is not yet set up to judge. And the
//! pages' errors for browsers: an HTML 404 for an unknown page (JSON stays for the API, the
//! registry's own form for `/v2/`), and an HTML 500 when a stored value is broken.

use std::path::Path;
use std::process::{Command, Output};

use airlock_tests::{ArtifactPlan, ISSUER, TRUSTED_IDENTITY, TUF_NAME, World};
use chrono::{Duration, Utc};

use crate::common::{ADMIN, Auth, OPERATOR, appliance};
use crate::pages::{BodyText, WebSite};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// How many imports `status --json` counts, and the publisher's last accepted sequence.
fn imports_and_sequence(data: &Path) -> (i64, serde_json::Value) {
    let out = appliance(data, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conn = rusqlite::Connection::open(data.join("airlock.db")).unwrap();
    let sequence: Option<i64> = conn
        .query_row(
            "SELECT last_sequence FROM publishers WHERE name = 'release-team'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(None);
    (status["imports"].as_i64().unwrap(), sequence.into())
}

#[test]
fn init_prints_the_checklist_and_import_refuses_what_it_cannot_judge_before_numbering_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut world = World::new(
        311,
        &dir.path().join("world"),
        Utc::now() - Duration::hours(1),
    )
    .unwrap();
    let data = dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_airlock-appliance"))
        .args(["init", "--data"])
        .arg(&data)
        .arg("--tuf-root")
        .arg(format!("{TUF_NAME}={}", world.tuf_root_path().display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let d = data.display();
    for step in [
        "  1. trust the publisher's key".to_owned(),
        format!("       airlock-appliance publishers add NAME --key PUBLISHER.pub --data {d}\n"),
        "  2. say who may sign artifacts".to_owned(),
        format!(
            "       airlock-appliance signers add NAME --issuer URL --subject IDENTITY --data {d}\n"
        ),
        format!("       airlock-appliance policy import POLICY.toml --data {d}\n"),
        format!("       airlock-appliance users add NAME --role operator --data {d}\n"),
        format!("       airlock-appliance witness-state --data {d} --output witness-state.json\n"),
        format!("       airlock-appliance serve --data {d}\n"),
        format!("       airlock-appliance import ARCHIVE --data {d}\n"),
    ] {
        assert!(text.contains(&step), "{step:?} in\n{text}");
    }

    let archive = world
        .archive(
            "first",
            1,
            &[ArtifactPlan::signed("tool.bin", b"tool\n")],
            None,
        )
        .unwrap();
    let archive_arg = archive.display().to_string();
    let refused = |args: &[&str], expected: String| {
        let out = appliance(&data, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&out), format!("error: {expected}\n"), "{args:?}");
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert_eq!(
            imports_and_sequence(&data),
            (0, serde_json::Value::Null),
            "{args:?}: nothing numbered"
        );
    };
    // Garbage, an empty file, a missing one (its path said once).
    let garbage = dir.path().join("garbage.airlock.tar.zst");
    std::fs::write(&garbage, b"this is not an archive").unwrap();
    let empty = dir.path().join("empty.airlock.tar.zst");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("missing.airlock.tar.zst");
    // Before any key: the site is not ready, whatever the file.
    refused(
        &["import", &archive_arg],
        "no publisher keys are configured, so no archive can be opened: first trust the \
         publisher's key with `airlock-appliance publishers add NAME --key PUBLISHER.pub`"
            .into(),
    );
    refused(
        &["import", &missing.display().to_string()],
        format!(
            "no such archive: {} (nor a first part {}.001)",
            missing.display(),
            missing.display()
        ),
    );
    let pub_path = world.publisher().pub_path.display().to_string();
    let out = appliance(
        &data,
        &["publishers", "add", "release-team", "--key", &pub_path],
    );
    assert!(out.status.success());
    // A key, but nobody who may sign: the sequence would be used up for nothing.
    refused(
        &["import", &archive_arg],
        "no trusted signers are configured, so no artifact's signature can be verified and \
         the archive's sequence number would be used up: first add who may sign with \
         `airlock-appliance signers add` or `airlock-appliance policy import`"
            .into(),
    );
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
    refused(
        &["import", &garbage.display().to_string()],
        format!(
            "not an Airlock archive: {}: it does not begin as every archive made by \
             `airlock-bundler create` does",
            garbage.display()
        ),
    );
    refused(
        &["import", &empty.display().to_string()],
        format!(
            "not an Airlock archive: {}: the file is empty",
            empty.display()
        ),
    );
    // Several files: all checked before the first is imported.
    refused(
        &["import", &archive_arg, &garbage.display().to_string()],
        format!(
            "not an Airlock archive: {}: it does not begin as every archive made by \
             `airlock-bundler create` does",
            garbage.display()
        ),
    );

    // Set up, the archive imports as import 1 with its sequence 1: nothing was used up.
    let out = appliance(&data, &["import", &archive_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("import 1: 1 artifact(s)\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(imports_and_sequence(&data), (1, 1.into()));
}

#[test]
fn browsers_get_html_error_pages_and_machines_keep_their_json() {
    let mut site = WebSite::new(312);
    let web = &site.web;
    // Unknown pages, with or without a session: an HTML 404 saying which.
    let admin = web.sign_in(ADMIN);
    for cookie in [None, Some(admin.cookie())] {
        for path in [
            "/no/such/page",
            "/imports/1/x",
            "/static/nope.css",
            "/apiary",
        ] {
            let reply = web.get(path, cookie.as_deref());
            assert_eq!(reply.status, 404, "{path}");
            assert_eq!(
                reply.header("content-type"),
                Some("text/html; charset=utf-8"),
                "{path}"
            );
            let html = reply.text();
            assert!(html.contains("<h1>404 Not Found</h1>"), "{path}: {html}");
            assert!(
                html.contains(&format!(
                    "<p class=\"error\" role=\"alert\">no such page: {path}</p>"
                )),
                "{path}: {html}"
            );
            assert!(html.contains("<a href=\"/\">Back to the dashboard</a>"));
        }
    }
    // Markup in a path is shown inert.
    let html = web.get("/%3Cscript%3Ealert(1)%3C/script%3E", None).text();
    assert!(!html.contains("<script"), "{html}");
    // The API answers JSON, the registry in its own form.
    let client = site.server.client();
    let reply = client.get("/api/v1/no/such/page", Auth::None);
    assert_eq!(
        (reply.status, reply.error()),
        (404, "no such page: /api/v1/no/such/page".to_owned())
    );
    let reply = client.get("/api", Auth::None);
    assert_eq!(
        (reply.status, reply.error()),
        (404, "no such page: /api".to_owned())
    );
    let reply = client.get("/v2/nothing/here/x", Auth::None);
    assert!(reply.json()["errors"].is_array(), "{:?}", reply.json());

    // A broken stored value: an HTML 500 that says where to look, without the detail.
    let archive = site.archive("one", &[ArtifactPlan::signed("tool.bin", b"tool\n")]);
    let operator = site.web.sign_in(OPERATOR);
    let import = WebSite::import_id(&site.web.upload(&operator, &archive));
    let id = site.artifacts(import)[0].id;
    site.server
        .app()
        .store()
        .write(|tx| {
            tx.execute(
                "UPDATE artifacts SET report = '{\"rule\": 1}' WHERE id = ?1",
                [id],
            )
            .map_err(airlock_appliance::store::StoreError::from)
        })
        .unwrap();
    let reply = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&admin.cookie()));
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = reply.text();
    assert!(
        html.contains("<h1>500 Internal Server Error</h1>"),
        "{html}"
    );
    assert!(html.contains("internal error (see the appliance log)"));
    assert!(
        !html.contains("invalid type"),
        "the detail stays in the log"
    );
}
