//! Edge values a hostile tester tried: sequence numbers at and beyond 2^63, inbox file names
//! with terminal control characters, the last admin demoting or disabling itself (CLI and
//! pages), and an archive made for another site.

use std::path::Path;
use std::process::Command;

use airlock_appliance::admin::{self, AdminError};
use airlock_appliance::inbox::Inbox;
use airlock_appliance::pipeline::{self, ImportError};
use airlock_appliance::store::{self, ImportState, Role};
use airlock_tests::{ArtifactPlan, TUF_NAME};

use crate::common::appliance;
use crate::common::{ADMIN, AUDITOR, Server};
use crate::pages::{BodyText as _, Web};
use crate::site::Site;

const APPLIANCE: &str = env!("CARGO_BIN_EXE_airlock-appliance");

fn last_sequence(site: &Site) -> Option<u64> {
    store::publishers::get(site.app.store().read(), "release-team")
        .unwrap()
        .unwrap()
        .last_sequence
}

#[test]
fn a_sequence_beyond_2_63_is_rejected_and_the_largest_can_be_reset() {
    let mut site = Site::new(501);
    let base = site.archive("base", 1, &[ArtifactPlan::signed("tool.tar.gz", b"tool\n")]);

    // 2^63 does not fit the database: the manifest check refuses it, so the archive is
    // rejected as a whole (it used to end the import interrupted, at the commit).
    for sequence in [1u64 << 63, u64::MAX] {
        let huge = site
            .world
            .repack(&base, &format!("huge-{sequence}"), |m| {
                m.publisher.sequence = sequence;
            })
            .unwrap();
        let outcome = site.import(&huge);
        assert_eq!(outcome.state, ImportState::Rejected, "{outcome:?}");
        assert_eq!(
            outcome.reason.as_deref(),
            Some(
                "archive: manifest field publisher.sequence: must be below 2^63 (sites store it as a signed 64-bit integer)"
            ),
            "{outcome:?}"
        );
        assert_eq!(
            site.import_row(outcome.import_id).state,
            ImportState::Rejected
        );
    }
    assert_eq!(last_sequence(&site), None);

    // 2^63 - 1 is accepted, and after it nothing else would be.
    let largest = site
        .world
        .repack(&base, "largest", |m| m.publisher.sequence = i64::MAX as u64)
        .unwrap();
    assert_eq!(site.import(&largest).state, ImportState::Done);
    assert_eq!(last_sequence(&site), Some(i64::MAX as u64));
    let next = site.archive("next", 2, &[ArtifactPlan::signed("next.tar.gz", b"next\n")]);
    let outcome = site.import(&next);
    assert_eq!(
        outcome.reason.as_deref(),
        Some(
            "publisher: sequence 2 of \"release-team\" is not above the last accepted (9223372036854775807): a replayed or out-of-order archive"
        )
    );

    // An admin resets the publisher's sequence (audited); the next archive is accepted.
    let data = site.data();
    let out = appliance(&data, &["publishers", "reset-sequence", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: publisher nobody not found"
    );
    let out = appliance(&data, &["publishers", "reset-sequence", "release-team"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "publisher release-team: sequence reset"
    );
    assert_eq!(last_sequence(&site), None);
    let again = site.archive(
        "again",
        2,
        &[ArtifactPlan::signed("again.tar.gz", b"again\n")],
    );
    assert_eq!(site.import(&again).state, ImportState::Done);
    assert_eq!(last_sequence(&site), Some(2));
    let reset = store::audit::page(site.app.store().read(), 0, 1000)
        .unwrap()
        .into_iter()
        .find(|r| r.action == "publisher.sequence_reset")
        .unwrap();
    assert_eq!(
        (
            reset.actor.as_str(),
            reset.subject.as_str(),
            reset.detail.as_str()
        ),
        ("cli", "release-team", r#"{"previous":9223372036854775807}"#)
    );
    site.audit_actions();
}

#[test]
fn inbox_names_with_control_characters_are_refused_and_never_logged_raw() {
    let mut site = Site::new(502);
    let archive = site.archive("evil", 1, &[ArtifactPlan::signed("tool.tar.gz", b"tool\n")]);
    let name = "evil\u{1b}[2J\u{7}\nline.airlock.tar.zst";
    let dropped = site.data().join("inbox").join(name);
    std::fs::copy(&archive, &dropped).unwrap();

    let mut watcher = Inbox::default();
    assert!(watcher.scan(&site.app).is_empty());
    let results = watcher.scan(&site.app);
    assert_eq!(results.len(), 1);
    let err = results[0].1.as_ref().unwrap_err();
    assert!(
        matches!(err, ImportError::FileName { name: n } if n == name),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "file name evil\\u{1b}[2J\\u{7}\\nline.airlock.tar.zst has control characters or is longer than 1024 bytes"
    );
    // Left where it is, reported once, and nothing recorded.
    assert!(dropped.is_file());
    assert!(watcher.scan(&site.app).is_empty());
    assert!(watcher.scan(&site.app).is_empty());
    assert_eq!(store::imports::count(site.app.store().read()).unwrap(), 0);

    // The CLI refuses such a name the same way (before recording anything).
    let out = appliance(&site.data(), &["import", dropped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("has control characters"), "{text}");
    assert_eq!(store::imports::count(site.app.store().read()).unwrap(), 0);
}

#[test]
fn the_last_enabled_admin_cannot_be_demoted_or_disabled() {
    let site = Site::new(503);
    let last = |e: Result<(), AdminError>| match e {
        Err(AdminError::LastAdmin(name)) => name,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        last(admin::set_role(&site.app, "admin", "admin", Role::Operator)),
        "admin"
    );
    assert_eq!(
        last(admin::set_user_enabled(&site.app, "admin", "admin", false)),
        "admin"
    );
    let data = site.data();
    for args in [
        &["users", "set-role", "admin", "--role", "auditor"][..],
        &["users", "disable", "admin"],
    ] {
        let out = appliance(&data, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "error: user admin is the last enabled admin: add or enable another admin first"
        );
    }
    let user = store::users::by_name(site.app.store().read(), "admin")
        .unwrap()
        .unwrap();
    assert_eq!((user.role, user.enabled), (Role::Admin, true));

    // With a second admin, the first may step down; the second is then the last.
    admin::add_user(
        &site.app,
        "admin",
        "root2",
        Role::Admin,
        Some("another password"),
    )
    .unwrap();
    admin::set_role(&site.app, "admin", "admin", Role::Operator).unwrap();
    // A disabled admin does not count.
    admin::add_user(
        &site.app,
        "root2",
        "root3",
        Role::Admin,
        Some("a third password"),
    )
    .unwrap();
    admin::set_user_enabled(&site.app, "root2", "root3", false).unwrap();
    assert_eq!(
        last(admin::set_user_enabled(&site.app, "root2", "root2", false)),
        "root2"
    );
    site.audit_actions();
}

#[test]
fn the_pages_keep_the_last_admin_and_say_when_another_process_holds_the_folder() {
    let server = Server::start();
    let web = Web::new(&server.url, server.folder.cert_der());
    let session = web.sign_in(ADMIN);
    let cookie = format!("airlock_session={}", session.token);
    for (path, fields) in [
        (
            "/admin/users/role",
            [("name", ADMIN.0), ("role", "operator")],
        ),
        (
            "/admin/users/enabled",
            [("name", ADMIN.0), ("enabled", "false")],
        ),
    ] {
        let mut all = fields.to_vec();
        all.push(("csrf", &session.csrf));
        let reply = web.post_form(path, Some(&cookie), &all);
        assert_eq!(reply.status, 400, "{path}");
        assert!(
            reply.text().contains(
                "user admin is the last enabled admin: add or enable another admin first"
            ),
            "{path}: {}",
            reply.text()
        );
    }
    let app = server.app();
    let user = store::users::by_name(app.store().read(), ADMIN.0)
        .unwrap()
        .unwrap();
    assert_eq!((user.role, user.enabled), (Role::Admin, true));

    // While another writer holds the data folder, a change from the pages is refused with
    // who holds it (the server was opened without waiting).
    let held = app.writer_lock().unwrap();
    let reply = web.post_form(
        "/admin/users/role",
        Some(&cookie),
        &[
            ("name", AUDITOR.0),
            ("role", "operator"),
            ("csrf", &session.csrf),
        ],
    );
    assert_eq!(reply.status, 409, "{}", reply.text());
    assert!(
        reply.text().contains(&format!(
            "the data folder is busy: held by pid {} (command airlock-appliance) since ",
            std::process::id()
        )),
        "{}",
        reply.text()
    );
    drop(held);
    let reply = web.post_form(
        "/admin/users/role",
        Some(&cookie),
        &[
            ("name", AUDITOR.0),
            ("role", "operator"),
            ("csrf", &session.csrf),
        ],
    );
    assert_eq!(reply.status, 303, "{}", reply.text());
}

#[test]
fn an_archive_for_another_site_or_none_is_rejected_where_the_site_has_a_name() {
    let mut site = Site::new(504);
    // The world's archives are made for "plant-3".
    let first = site.archive("first", 1, &[ArtifactPlan::signed("a.tar.gz", b"a\n")]);
    site.set(pipeline::SITE, "plant-4");
    let outcome = site.import(&first);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("publisher: the archive is meant for site \"plant-3\", not this site (\"plant-4\")")
    );
    let unaddressed = site
        .world
        .repack(&first, "unaddressed", |m| m.site = None)
        .unwrap();
    let outcome = site.import(&unaddressed);
    assert_eq!(
        outcome.reason.as_deref(),
        Some(
            "publisher: the archive names no site; this site (\"plant-4\") accepts only archives made for it"
        )
    );
    site.set(pipeline::SITE, "plant-3");
    assert_eq!(site.import(&first).state, ImportState::Done);

    // `init --site` stores the name; a name breaking the manifest's rule is refused.
    let root = site.world.tuf_root_path();
    let init = |data: &Path, name: &str| {
        Command::new(APPLIANCE)
            .args(["init", "--site", name, "--tuf-root"])
            .arg(format!("{TUF_NAME}={}", root.display()))
            .arg("--data")
            .arg(data)
            .output()
            .unwrap()
    };
    let bad = init(&site.dir.path().join("bad"), " plant-4");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            "the site name must be 1 to 255 bytes without control characters or surrounding spaces"
        ),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let named = site.dir.path().join("named");
    assert!(init(&named, "plant-4").status.success());
    let app = airlock_appliance::appliance::Appliance::open(&named).unwrap();
    assert_eq!(
        store::settings::get(app.store().read(), pipeline::SITE).unwrap(),
        Some("plant-4".to_owned())
    );
}
