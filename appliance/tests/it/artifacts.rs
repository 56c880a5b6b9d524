//! The artifacts list across imports, over real HTTPS: every filter and order on the page and
//! in the API (one parser for both), the dashboard's verdict tiles leading there, and each
//! refused filter answered with its exact error on either side.

use airlock_appliance::admin;
use airlock_appliance::policy::PolicyDocument;
use airlock_appliance::report::Verdict;
use airlock_tests::{ArtifactPlan, Signing, TRUSTED_IDENTITY, UNTRUSTED_IDENTITY};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::common::{AUDITOR, Auth, OPERATOR, Reply};
use crate::pages::{BodyText, PageSession, WebSite};
use crate::site::BASE_POLICY;

/// The base policy, and an override that only warns for `legacy.bin`.
fn policy() -> String {
    format!("{BASE_POLICY}\n[overrides.\"legacy.bin\"]\nenforcement = \"warn\"\n")
}

/// The site after two imports: tool.bin (passed), rogue.bin (signed by an identity the policy
/// does not trust: failed) and legacy.bin (unsigned, its override warns), then tool.bin again
/// with new content (passed). Returns the site, an auditor's session and the artifacts' ids
/// in import order.
pub(crate) fn stocked(seed: u64) -> (WebSite, PageSession, [i64; 4]) {
    let mut site = WebSite::new(seed);
    let doc = PolicyDocument::from_toml(&policy()).unwrap();
    admin::import_policy(site.server.app(), "test", &doc).unwrap();
    let mut rogue = ArtifactPlan::signed("rogue.bin", b"rogue\n");
    rogue.signing = Signing::As(UNTRUSTED_IDENTITY.into());
    let mut legacy = ArtifactPlan::signed("legacy.bin", b"legacy\n");
    legacy.signing = Signing::Unsigned;
    let operator = site.web.sign_in(OPERATOR);
    let mut ids = Vec::new();
    // Each archive is made after the one before was imported (its proofs start from the
    // site's witnessed sizes then).
    let batches = [
        vec![
            ArtifactPlan::signed("tool.bin", b"tool v1\n"),
            rogue,
            legacy,
        ],
        vec![ArtifactPlan::signed("tool.bin", b"tool v2\n")],
    ];
    for (n, plans) in batches.iter().enumerate() {
        let archive = site.archive(&format!("batch-{n}"), plans);
        let import = WebSite::import_id(&site.web.upload(&operator, &archive));
        let row = airlock_appliance::store::imports::get(site.server.app().store().read(), import)
            .unwrap()
            .unwrap();
        assert_eq!(row.state.as_str(), "done", "{:?}", row.reason);
        ids.extend(site.artifacts(import).iter().map(|a| a.id));
    }
    let verdicts: Vec<Verdict> = ids
        .iter()
        .map(|id| {
            airlock_appliance::store::artifacts::get(site.server.app().store().read(), *id)
                .unwrap()
                .unwrap()
                .verdict
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Passed,
            Verdict::Failed,
            Verdict::Warned,
            Verdict::Passed
        ]
    );
    let auditor = site.web.sign_in(AUDITOR);
    (site, auditor, ids.try_into().unwrap())
}

/// The page at `query`, asserting 200.
fn page(site: &WebSite, s: &PageSession, query: &str) -> String {
    let reply = site
        .web
        .get(&format!("/artifacts{query}"), Some(&s.cookie()));
    assert_eq!(reply.status, 200, "{query}: {}", reply.text());
    reply.text()
}

/// The artifacts' ids a page links, in order (each row's name links its report).
fn linked(html: &str) -> Vec<i64> {
    html.split("<th scope=\"row\" class=\"u\"><a href=\"/artifacts/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// `GET /api/v1/artifacts{query}` with the auditor's token.
fn api(site: &WebSite, token: &str, query: &str) -> Reply {
    site.server
        .client()
        .get(&format!("/api/v1/artifacts{query}"), Auth::Bearer(token))
}

fn api_ids(json: &Value) -> Vec<i64> {
    json["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn the_artifacts_page_and_the_api_find_artifacts_across_imports_by_every_filter() {
    let (site, auditor, [tool, rogue, legacy, tool2]) = stocked(81);
    let (token, _) = site.server.client().session(AUDITOR);
    let digest_of = |id: i64| {
        airlock_appliance::store::artifacts::get(site.server.app().store().read(), id)
            .unwrap()
            .unwrap()
            .digest
    };
    let today = Utc::now().date_naive();
    let tomorrow = (today + Duration::days(1)).format("%Y-%m-%d").to_string();
    let yesterday = (today - Duration::days(1)).format("%Y-%m-%d").to_string();
    let tool_prefix = digest_of(tool)[..10].to_owned();

    let cases: Vec<(String, Vec<i64>)> = vec![
        (String::new(), vec![tool2, legacy, rogue, tool]),
        ("?verdict=failed".into(), vec![rogue]),
        ("?verdict=warned".into(), vec![legacy]),
        ("?verdict=passed".into(), vec![tool2, tool]),
        ("?name=TOOL".into(), vec![tool2, tool]),
        (
            "?name=.bin&verdict=passed&sort=oldest".into(),
            vec![tool, tool2],
        ),
        (format!("?digest={tool_prefix}"), vec![tool]),
        (
            format!("?digest=sha256%3A{}", digest_of(rogue).to_uppercase()),
            vec![rogue],
        ),
        // Only verified signatures count: not rogue's untrusted one, not the unsigned legacy.
        ("?signer=platform%2Frelease".into(), vec![tool2, tool]),
        (
            "?publisher=release-team".into(),
            vec![tool2, legacy, rogue, tool],
        ),
        ("?publisher=release".into(), vec![]),
        (format!("?since={tomorrow}"), vec![]),
        (
            format!("?since={yesterday}&until={tomorrow}&sort=name"),
            vec![legacy, rogue, tool2, tool],
        ),
        (format!("?until={yesterday}"), vec![]),
        ("?rule=override%3Alegacy.bin".into(), vec![legacy]),
        (
            "?rule=default&sort=verdict".into(),
            vec![rogue, tool2, tool],
        ),
        ("?sort=verdict".into(), vec![rogue, legacy, tool2, tool]),
    ];
    for (query, expected) in cases {
        let html = page(&site, &auditor, &query);
        assert_eq!(linked(&html), expected, "page {query}");
        assert!(
            html.contains(&format!("({} in all)", expected.len())),
            "page {query}"
        );
        if expected.is_empty() {
            assert!(
                html.contains("No artifact matches these filters."),
                "{query}"
            );
        }
        let reply = api(&site, &token, &query);
        assert_eq!(reply.status, 200, "api {query}: {}", reply.text());
        let json = reply.json();
        assert_eq!(api_ids(&json), expected, "api {query}");
        assert_eq!(json["total"], expected.len(), "api {query}");
    }

    // A row says who signed, which import, when and by which rule; the API the same, typed.
    let html = page(&site, &auditor, "?verdict=passed&sort=oldest");
    assert!(html.contains(TRUSTED_IDENTITY));
    assert!(html.contains("release-team"));
    let json = api(&site, &token, "?name=tool&sort=oldest").json();
    let first = &json["artifacts"][0];
    assert_eq!(first["signers"][0]["identity"], TRUSTED_IDENTITY);
    assert_eq!(first["signers"][0]["kind"], "certificate");
    assert_eq!(first["publisher"], "release-team");
    assert_eq!(first["rule"], "default");
    assert_eq!(
        (json["sort"].as_str(), json["per_page"].as_i64()),
        (Some("oldest"), Some(50))
    );
    let rogue_row = &api(&site, &token, "?verdict=failed").json()["artifacts"][0];
    assert_eq!(rogue_row["signers"], serde_json::json!([]));
    let html = page(&site, &auditor, "?verdict=failed");
    assert!(html.contains("no verified signature"));
    // Each digest links to every artifact with it.
    assert!(html.contains(&format!("href=\"/artifacts?digest={}\"", digest_of(rogue))));
    assert!(html.contains("<option value=\"failed\" selected>"));
}

#[test]
fn the_dashboard_tiles_open_the_artifacts_with_their_verdict() {
    let (site, auditor, [_, rogue, legacy, _]) = stocked(82);
    let dashboard = site.web.get("/", Some(&auditor.cookie())).text();
    for (verdict, count, ids) in [
        ("passed", 2, None),
        ("warned", 1, Some(vec![legacy])),
        ("failed", 1, Some(vec![rogue])),
    ] {
        let tile = format!("<a href=\"/artifacts?verdict={verdict}\">{count}</a>");
        assert!(dashboard.contains(&tile), "{tile} in {dashboard}");
        let html = page(&site, &auditor, &format!("?verdict={verdict}"));
        if let Some(ids) = ids {
            assert_eq!(linked(&html), ids);
        }
        assert!(html.contains("aria-current=\"page\">Artifacts</a>"));
    }
}

#[test]
fn a_refused_filter_is_a_400_with_its_reason_on_the_page_and_in_the_api() {
    let (site, auditor, _) = stocked(83);
    let (token, _) = site.server.client().session(AUDITOR);
    for (query, error) in [
        (
            "?digest=xyz",
            "digest must be 1 to 64 hexadecimal digits (a SHA-256 or its start)",
        ),
        (
            "?verdict=rejected",
            "verdict must be one of passed, warned, failed",
        ),
        (
            "?since=last+week",
            "since must be a date (YYYY-MM-DD) or an RFC 3339 time",
        ),
        (
            "?until=2026-03-01T00%3A00%3A00",
            "until must be a date (YYYY-MM-DD) or an RFC 3339 time",
        ),
        (
            "?sort=popular",
            "sort must be one of newest, oldest, name, size, verdict",
        ),
        ("?page=0", "page must be 1 to 1000000"),
    ] {
        let reply = site
            .web
            .get(&format!("/artifacts{query}"), Some(&auditor.cookie()));
        assert_eq!(reply.status, 400, "{query}");
        let html = reply.text();
        if query != "?page=0" {
            // Shown above the list, with the form as it was sent.
            assert!(
                html.contains(&format!("<p class=\"error\" role=\"alert\">{error}</p>")),
                "{query}: {html}"
            );
            assert!(html.contains("<form class=\"filters\""), "{query}");
        } else {
            assert!(html.contains(error), "{query}");
        }
        let reply = api(&site, &token, query);
        assert_eq!(
            (reply.status, reply.error()),
            (400, error.to_owned()),
            "api {query}"
        );
    }
    let echoed = site
        .web
        .get("/artifacts?digest=%3Cscript%3E", Some(&auditor.cookie()))
        .text();
    assert!(echoed.contains("value=\"&#60;script&#62;\"") && !echoed.contains("<script"));
    // Without a session: the page sends to sign-in, the API answers 401.
    let stranger = site.web.get("/artifacts", None);
    assert_eq!(
        (stranger.status, stranger.header("location")),
        (303, Some("/signin"))
    );
    let reply = site.server.client().get("/api/v1/artifacts", Auth::None);
    assert_eq!(
        (reply.status, reply.error()),
        (401, "not signed in".to_owned())
    );
}

#[test]
fn an_import_says_its_outcome_in_the_colour_of_its_worst_verdict_and_status_counts_them() {
    let (site, auditor, _) = stocked(85);
    // A third import: garbage, rejected.
    let operator = site.web.sign_in(OPERATOR);
    let reply = site.web.post_multipart(
        "/upload",
        Some(&operator.cookie()),
        &[
            ("csrf", None, operator.csrf.as_bytes()),
            (
                "archive",
                Some("garbage.airlock.tar.zst"),
                b"not an archive",
            ),
        ],
    );
    let rejected = WebSite::import_id(&reply);
    let badge = |import: i64| {
        let html = site
            .web
            .get(&format!("/imports/{import}"), Some(&auditor.cookie()))
            .text();
        let start = html.find("<h1>").unwrap();
        html[start..start + html[start..].find("</h1>").unwrap()].to_owned()
    };
    assert_eq!(
        badge(1),
        "<h1>Import #1 <span class=\"verdict v-failed\">done: 1 passed, 1 warned, 1 failed</span>"
    );
    assert_eq!(
        badge(2),
        "<h1>Import #2 <span class=\"verdict v-passed\">done: 1 passed</span>"
    );
    assert_eq!(
        badge(rejected),
        format!("<h1>Import #{rejected} <span class=\"verdict v-rejected\">rejected</span>")
    );
    let list = site.web.get("/imports", Some(&auditor.cookie())).text();
    for outcome in [
        "<span class=\"verdict v-failed\">done: 1 passed, 1 warned, 1 failed</span>",
        "<span class=\"verdict v-passed\">done: 1 passed</span>",
        "<span class=\"verdict v-rejected\">rejected</span>",
    ] {
        assert!(list.contains(outcome), "{outcome} in {list}");
    }
    // The dashboard's recent imports say the same.
    let dashboard = site.web.get("/", Some(&auditor.cookie())).text();
    assert!(dashboard.contains("v-failed\">done: 1 passed, 1 warned, 1 failed<"));

    // `status` counts the imports per outcome (read-only, beside the running server).
    let out = crate::common::appliance(&site.server.folder.path, &["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\n3 imports: 1 all passed, 1 with failures, 1 rejected\n"),
        "{text}"
    );
    assert!(
        text.contains("\nartifacts: 2 passed, 1 warned, 1 failed\n"),
        "{text}"
    );
    let out = crate::common::appliance(&site.server.folder.path, &["status", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["outcomes"],
        serde_json::json!({"passed": 1, "warned": 0, "failed": 1, "rejected": 1,
            "interrupted": 0, "in_progress": 0})
    );
    assert_eq!(json["imports"], 3);
}
