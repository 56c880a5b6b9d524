//! Exceptions over HTTPS: a failed image released from the pages by two admins (the policy
//! says two), pulled from the site registry with its VSA still `FAILED` and recording the
//! exception, revoked and no longer served; a failed file granted by one admin, downloaded,
//! listed on the dashboard, revoked. Every refusal says exactly why, and every step is in the
//! audit trail.

use airlock_appliance::admin::{self, PullTokenSpec};
use airlock_appliance::policy::ExceptionRules;
use airlock_appliance::store::{self, Role};
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::common::{ADMIN, AUDITOR, Auth, Client, OPERATOR, Reply, appliance};
use crate::pages::{BodyText as _, PageSession, WebSite};

/// A date `days` from today, as the form takes it.
fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Sets the policy's `[exceptions]` table, keeping the rest of the policy.
fn exception_rules(site: &WebSite, approvals: u8, max_days: u32) {
    let app = site.server.app();
    let mut doc = admin::export_policy(app).unwrap();
    doc.policy.exceptions = ExceptionRules {
        approvals,
        max_days,
    };
    admin::import_policy(app, "test", &doc).unwrap();
}

/// Posts an exception form as `s`.
fn post(site: &WebSite, s: &PageSession, path: &str, fields: &[(&str, &str)]) -> Reply {
    let mut all = fields.to_vec();
    all.push(("csrf", &s.csrf));
    site.web.post_form(path, Some(&s.cookie()), &all)
}

/// Asserts a `303` back to the artifact's report.
fn back_to(reply: &Reply, artifact: i64) {
    assert_eq!(reply.status, 303, "{}", reply.text());
    assert_eq!(
        reply.header("location"),
        Some(format!("/artifacts/{artifact}").as_str())
    );
}

/// Asserts a refusal with `status` whose page says `message` (as HTML-escaped text).
fn refused(reply: &Reply, status: u16, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let escaped = message.replace('\'', "&#39;");
    assert!(
        reply.text().contains(&escaped),
        "{message:?} not in {}",
        reply.text()
    );
}

/// The statement inside the artifact's served VSA (`GET /api/v1/artifacts/{id}/vsa`).
fn served_statement(client: &Client, token: &str, artifact: i64) -> Value {
    let reply = client.get(
        &format!("/api/v1/artifacts/{artifact}/vsa"),
        Auth::Bearer(token),
    );
    assert_eq!(reply.status, 200);
    let envelope = reply.json();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// The audit rows of `action`, oldest first, with their detail parsed.
fn audited(site: &WebSite, action: &str) -> Vec<(String, String, Value)> {
    let app = site.server.app();
    let store = app.store();
    store::audit::page(store.read(), 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == action)
        .map(|r| {
            (
                r.actor.clone(),
                r.subject.clone(),
                serde_json::from_str(&r.detail).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_failed_image_released_by_two_admins_is_pulled_until_revoked_and_every_step_is_audited() {
    let r = crate::registry::released(431);
    let site = &r.site;
    let app = site.server.app();
    exception_rules(site, 2, 30);
    admin::add_user(app, "test", "bea", Role::Admin, Some("bea-password-0")).unwrap();
    let import_id = store::artifacts::get(app.store().read(), r.image_id)
        .unwrap()
        .unwrap()
        .import_id;
    let unsigned = site
        .artifacts(import_id)
        .into_iter()
        .find(|a| a.name == "unsigned")
        .unwrap();
    let id = unsigned.id;
    let id_text = id.to_string();
    let manifest = format!(
        "/v2/release-team/unsigned/manifests/sha256:{}",
        unsigned.digest
    );
    let (_, pull) = admin::issue_pull_token(
        app,
        "test",
        &PullTokenSpec {
            name: "cluster".into(),
            scope: None,
            expires_at: None,
        },
    )
    .unwrap();
    let client = site.server.client();
    let pulled = || client.get(&manifest, Auth::Bearer(&pull)).status;
    let (api, _) = client.session(AUDITOR);
    assert_eq!(pulled(), 404, "a failed image is not served");

    // The report offers the request form to an admin, saying a second admin approves.
    let alice = site.web.sign_in(ADMIN);
    let page = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&alice.cookie()))
        .text();
    assert!(
        page.contains("action=\"/admin/exceptions/request\""),
        "{page}"
    );
    assert!(page.contains("Request exception (another admin approves)"));
    assert!(
        !page.contains("/admin/artifacts/withdraw"),
        "no withdrawing what failed"
    );

    // Refusals, each saying why; nothing is recorded.
    let ask = |justification: &str, expires: &str, artifact: &str| {
        post(
            site,
            &alice,
            "/admin/exceptions/request",
            &[
                ("artifact", artifact),
                ("justification", justification),
                ("expires", expires),
            ],
        )
    };
    refused(
        &ask("  ", &in_days(5), &id_text),
        400,
        "an exception needs a justification of 1 to 2000 characters",
    );
    refused(
        &ask("vendor fix pending", &in_days(-1), &id_text),
        400,
        "is not in the future",
    );
    refused(
        &ask("vendor fix pending", &in_days(32), &id_text),
        400,
        "is more than the policy's 30 days ahead",
    );
    refused(
        &ask("vendor fix pending", &in_days(5), &r.image_id.to_string()),
        400,
        &format!(
            "artifact {} did not fail its checks: only a quarantined artifact can be released by exception",
            r.image_id
        ),
    );
    assert!(audited(site, "exception.requested").is_empty());

    // Requested: pending, still not served.
    back_to(
        &ask(
            "CVE-2026-1 fix pending; vendor signs next week",
            &in_days(10),
            &id_text,
        ),
        id,
    );
    let exception = store::exceptions::of_artifact(app.store().read(), id).unwrap()[0].clone();
    let ex = exception.id.to_string();
    assert_eq!(pulled(), 404, "a pending exception serves nothing");
    let page = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&alice.cookie()))
        .text();
    assert!(page.contains("id=\"exception-pending\""), "{page}");
    assert!(
        !page.contains("action=\"/admin/exceptions/approve\""),
        "not to its requester"
    );
    refused(
        &ask("again", &in_days(5), &id_text),
        409,
        &format!("artifact {id} already has pending exception {ex}"),
    );

    // The requester may not approve it; another admin does.
    refused(
        &post(site, &alice, "/admin/exceptions/approve", &[("id", &ex)]),
        400,
        &format!(
            "exception {ex} was requested by admin: the policy needs another admin to approve it"
        ),
    );
    let bea = site.web.sign_in(("bea", "bea-password-0"));
    let page = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&bea.cookie()))
        .text();
    assert!(page.contains("action=\"/admin/exceptions/approve\""));
    back_to(
        &post(site, &bea, "/admin/exceptions/approve", &[("id", &ex)]),
        id,
    );

    // Active: pulled by digest, the VSA still FAILED and recording the exception; the verdict
    // unchanged; the banner on the report; the dashboard lists it.
    assert_eq!(pulled(), 200);
    let statement = served_statement(&client, &api, id);
    let predicate = &statement["predicate"];
    assert_eq!(predicate["verificationResult"], "FAILED");
    let recorded = &predicate["airlockException"];
    assert_eq!(recorded["id"], exception.id);
    assert_eq!(recorded["approvers"], serde_json::json!(["admin", "bea"]));
    assert_eq!(recorded["approvalsRequired"], 2);
    assert_eq!(
        recorded["justificationSha256"],
        hex::encode(Sha256::digest(
            b"CVE-2026-1 fix pending; vendor signs next week"
        ))
    );
    // The registry's site-verdict referrer is that VSA too.
    let referrers = client
        .get(
            &format!(
                "/v2/release-team/unsigned/referrers/sha256:{}",
                unsigned.digest
            ),
            Auth::Bearer(&pull),
        )
        .json();
    let verdict = referrers["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["dev.airlock.evidence"] == "site-verdict")
        .unwrap_or_else(|| panic!("no site verdict in {referrers}"));
    let referrer = client
        .get(
            &format!(
                "/v2/release-team/unsigned/manifests/{}",
                verdict["digest"].as_str().unwrap()
            ),
            Auth::Bearer(&pull),
        )
        .json();
    let bundle = client
        .get(
            &format!(
                "/v2/release-team/unsigned/blobs/{}",
                referrer["layers"][0]["digest"].as_str().unwrap()
            ),
            Auth::Bearer(&pull),
        )
        .json();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let referred: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(referred["predicate"]["verificationResult"], "FAILED");
    assert_eq!(
        referred["predicate"]["airlockException"]["id"],
        exception.id
    );
    let original = store::artifacts::vsa(app.store().read(), id)
        .unwrap()
        .unwrap();
    assert_ne!(
        store::exceptions::vsa(app.store().read(), exception.id)
            .unwrap()
            .unwrap(),
        original,
        "the original VSA stays on the artifact's row"
    );
    let row = store::artifacts::get(app.store().read(), id)
        .unwrap()
        .unwrap();
    assert_eq!(row.verdict.as_str(), "failed");
    let page = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&alice.cookie()))
        .text();
    assert!(page.contains("Released by exception"), "{page}");
    assert!(
        page.contains("approved by <span class=\"u\">bea</span>"),
        "{page}"
    );
    let dashboard = site.web.get("/", Some(&alice.cookie())).text();
    assert!(
        dashboard.contains(&format!("href=\"/artifacts/{id}\">unsigned</a>")),
        "{dashboard}"
    );

    // Revoked: no longer served; the served VSA is the original again.
    back_to(
        &post(
            site,
            &alice,
            "/admin/exceptions/revoke",
            &[("id", &ex), ("reason", "vendor withdrew the fix")],
        ),
        id,
    );
    assert_eq!(pulled(), 404);
    assert!(served_statement(&client, &api, id)["predicate"]["airlockException"].is_null());
    let page = site
        .web
        .get(&format!("/artifacts/{id}"), Some(&alice.cookie()))
        .text();
    assert!(!page.contains("Released by exception"));
    assert!(page.contains("<strong>revoked</strong>"), "{page}");
    refused(
        &post(
            site,
            &bea,
            "/admin/exceptions/revoke",
            &[("id", &ex), ("reason", "again")],
        ),
        409,
        &format!("exception {ex} is revoked: only a pending or active exception can be revoked"),
    );

    // The trail: who asked, who approved, who revoked, and what.
    let requested = audited(site, "exception.requested");
    assert_eq!(requested.len(), 1);
    assert_eq!(
        (requested[0].0.as_str(), requested[0].1.as_str()),
        ("admin", ex.as_str())
    );
    assert_eq!(requested[0].2["artifact_id"], id);
    assert_eq!(requested[0].2["approvals"], 2);
    assert_eq!(
        requested[0].2["justification"],
        "CVE-2026-1 fix pending; vendor signs next week"
    );
    let approved = audited(site, "exception.approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(
        (approved[0].0.as_str(), approved[0].1.as_str()),
        ("bea", ex.as_str())
    );
    assert_eq!(approved[0].2["requested_by"], "admin");
    let revoked = audited(site, "exception.revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].0, "admin");
    assert_eq!(revoked[0].2["was"], "active");
    assert_eq!(revoked[0].2["reason"], "vendor withdrew the fix");
    assert!(
        airlock_appliance::audit::verify(app.store().read())
            .unwrap()
            .is_ok(),
        "the chain still verifies"
    );
}

#[test]
fn a_failed_file_granted_by_one_admin_downloads_shows_on_the_dashboard_and_stops_when_revoked() {
    let (site, auditor, [_, rogue, _, _]) = crate::artifacts::stocked(432);
    let app = site.server.app();
    let client = site.server.client();
    let (api, _) = client.session(AUDITOR);
    let file = format!("/api/v1/artifacts/{rogue}/file");
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 404);

    // An auditor sees no form and may not post one.
    let page = site
        .web
        .get(&format!("/artifacts/{rogue}"), Some(&auditor.cookie()))
        .text();
    assert!(!page.contains("/admin/exceptions/request"));
    let admin_session = site.web.sign_in(ADMIN);
    // One approval (the default): granting is one step, active at once.
    let granted = post(
        &site,
        &admin_session,
        "/admin/exceptions/request",
        &[
            ("artifact", &rogue.to_string()),
            (
                "justification",
                "signed by the vendor's new identity; trust it next week",
            ),
            ("expires", &in_days(3)),
        ],
    );
    back_to(&granted, rogue);
    let reply = client.get(&file, Auth::Bearer(&api));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"rogue\n");
    let released = client.get(
        &format!(
            "/api/v1/imports/{}/released.json",
            store::artifacts::get(app.store().read(), rogue)
                .unwrap()
                .unwrap()
                .import_id
        ),
        Auth::Bearer(&api),
    );
    let listed = released.json();
    let entry = listed["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "rogue.bin")
        .unwrap_or_else(|| panic!("rogue.bin not released: {listed}"));
    assert_eq!(entry["verdict"], "failed");
    assert_eq!(entry["exception"]["approved_by"], "admin");
    let json = client
        .get(&format!("/api/v1/artifacts/{rogue}"), Auth::Bearer(&api))
        .json();
    assert_eq!(json["artifact"]["verdict"], "failed");
    assert_eq!(json["exceptions"][0]["state"], "active");
    assert_eq!(json["exceptions"][0]["exception"]["approved_by"], "admin");
    let dashboard = site.web.get("/", Some(&auditor.cookie())).text();
    assert!(
        dashboard.contains("<strong>1</strong> failed artifact(s) released by an active exception, <strong>1</strong> expiring within 7 days"),
        "{dashboard}"
    );
    let requested = audited(&site, "exception.requested");
    let approved = audited(&site, "exception.approved");
    assert_eq!((requested.len(), approved.len()), (1, 1));
    assert_eq!(approved[0].0, "admin");

    let ex = store::exceptions::of_artifact(app.store().read(), rogue).unwrap()[0]
        .id
        .to_string();
    back_to(
        &post(
            &site,
            &admin_session,
            "/admin/exceptions/revoke",
            &[
                ("id", &ex),
                ("reason", "the vendor's key was rotated again"),
            ],
        ),
        rogue,
    );
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 404);
    let dashboard = site.web.get("/", Some(&auditor.cookie())).text();
    assert!(dashboard.contains("No failed artifact is released by an exception."));
    assert_eq!(audited(&site, "exception.revoked").len(), 1);
}

#[test]
fn the_cli_grants_lists_and_revokes_an_exception_naming_its_admin_and_an_expiry_ends_it() {
    let (site, _, [tool, rogue, _, _]) = crate::artifacts::stocked(433);
    let data = site.server.folder.path.clone();
    let app = site.server.app();
    let client = site.server.client();
    let (api, _) = client.session(AUDITOR);
    let file = format!("/api/v1/artifacts/{rogue}/file");
    let rogue_text = rogue.to_string();
    let expires = in_days(3);
    let stderr = |out: &std::process::Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let request = |artifact: &str, who: &str| {
        appliance(
            &data,
            &[
                "exception",
                "request",
                artifact,
                "--as",
                who,
                "--justification",
                "needed for the cut-over tonight",
                "--expires",
                &expires,
            ],
        )
    };

    // `--help` says what it is for; refusals are usage errors naming why.
    let help = appliance(&data, &["exception", "request", "--help"]);
    assert!(
        stdout(&help).contains("The verdict stays `failed`"),
        "{}",
        stdout(&help)
    );
    let out = request(&rogue_text, OPERATOR.0);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("user olga is not an enabled admin"));
    let out = request(&tool.to_string(), ADMIN.0);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("artifact {tool} did not fail its checks")));
    let out = appliance(
        &data,
        &[
            "exception",
            "request",
            &rogue_text,
            "--as",
            "admin",
            "--justification",
            "x",
            "--expires",
            "tomorrow",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected YYYY-MM-DD or an RFC 3339 time"));

    // Granted (one approval): served; listed as active.
    let out = request(&rogue_text, ADMIN.0);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("for artifact {rogue}: active until")));
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 200);
    let listed: Value =
        serde_json::from_slice(&appliance(&data, &["exception", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(listed[0]["exception"]["requested_by"], "admin");
    let id = listed[0]["exception"]["id"].as_i64().unwrap().to_string();

    // An expiry that has passed ends it: no longer served, listed as expired, and a new
    // exception may be asked for.
    app.store()
        .write(|tx| {
            tx.execute(
                "UPDATE exceptions SET expires_at = '2020-01-01T00:00:00.000000Z'",
                [],
            )
            .map_err(store::StoreError::from)
        })
        .unwrap();
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 404);
    let listed: Value =
        serde_json::from_slice(&appliance(&data, &["exception", "list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["state"], "expired");
    let out = appliance(
        &data,
        &[
            "exception",
            "revoke",
            &id,
            "--as",
            "admin",
            "--reason",
            "late",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!(
        "exception {id} is expired: only a pending or active exception can be revoked"
    )));
    let out = request(&rogue_text, ADMIN.0);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 200);

    // Revoked from the CLI: no longer served.
    let listed: Value =
        serde_json::from_slice(&appliance(&data, &["exception", "list", "--json"]).stdout).unwrap();
    let id = listed[0]["exception"]["id"].as_i64().unwrap().to_string();
    let out = appliance(
        &data,
        &[
            "exception",
            "revoke",
            &id,
            "--as",
            "admin",
            "--reason",
            "cut-over done",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(client.get(&file, Auth::Bearer(&api)).status, 404);
    let text = stdout(&appliance(&data, &["exception", "list"]));
    assert!(
        text.contains(&format!("{id} artifact {rogue} revoked")),
        "{text}"
    );
    assert_eq!(
        audited(&site, "exception.revoked")[0].2["reason"],
        "cut-over done"
    );
}
