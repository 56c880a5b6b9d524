//! SBOM details and the component search, over real HTTPS: an import whose artifacts carry a
//! minted SBOM, a CycloneDX 1.6 SBOM naming its tools, serial and licences, and an SPDX SBOM;
//! the report page shows each SBOM's facts and its download; `/components` and
//! `GET /api/v1/components` (one parser) find which artifacts contain a component, refuse a
//! bad search with its exact error on either side, and show hostile SBOM text inert.

use airlock_tests::{ArtifactPlan, Package};
use serde_json::{Value, json};

use crate::common::{AUDITOR, Auth, OPERATOR, Reply};
use crate::pages::{BodyText, PageSession, WebSite};

/// A CycloneDX 1.6 SBOM: tools in the object form, a serial, a timestamp, zlib 1.3.1 with two
/// licences, and a component whose every field is markup.
fn cyclonedx() -> Value {
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6",
        "serialNumber": "urn:uuid:0b9a1c2e-53f4-4c47-9d2e-6f0b0d1e2f3a",
        "metadata": {
            "timestamp": "2026-11-30T12:00:00Z",
            "tools": { "components": [ { "group": "@cyclonedx", "name": "cdxgen", "version": "10.2.1" } ] }
        },
        "components": [
            { "name": "zlib", "version": "1.3.1", "purl": "pkg:generic/zlib@1.3.1",
              "licenses": [ { "license": { "id": "Zlib" } }, { "expression": "MIT OR Apache-2.0" } ] },
            { "name": "<script>alert('name')</script>", "version": "<b>1</b>",
              "purl": "pkg:npm/%3Cimg%20src=x%3E@1", "licenses": [ { "license": { "name": "<i>Evil</i> Licence" } } ] }
        ]
    })
}

/// An SPDX 2.3 SBOM written by syft: zlib 1.2.13 with a purl.
fn spdx() -> Value {
    json!({
        "spdxVersion": "SPDX-2.3",
        "documentNamespace": "https://anchore.com/syft/file/other-1f2e",
        "creationInfo": { "created": "2026-11-29T08:00:00Z", "creators": [ "Organization: Anchore", "Tool: syft-1.18.0" ] },
        "packages": [ {
            "name": "zlib", "versionInfo": "1.2.13", "licenseConcluded": "NOASSERTION", "licenseDeclared": "Zlib",
            "externalRefs": [ { "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:apk/alpine/zlib@1.2.13" } ]
        } ]
    })
}

/// The site after one import of `app.tar` (the minted SBOM listing zlib 1.3.1, and the
/// CycloneDX one) and `other.tar` (an SPDX SBOM alone); an auditor's session; their ids.
pub(crate) fn stocked(seed: u64) -> (WebSite, PageSession, i64, i64) {
    let mut site = WebSite::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let cdx = dir.path().join("app.cdx.json");
    std::fs::write(&cdx, cyclonedx().to_string()).unwrap();
    let spdx_path = dir.path().join("other.spdx.json");
    std::fs::write(&spdx_path, spdx().to_string()).unwrap();
    let mut app = ArtifactPlan::complete("app.tar", b"app\n");
    app.extra_sboms.push(cdx);
    let mut other = ArtifactPlan::complete("other.tar", b"other\n");
    other.sbom = None::<Vec<Package>>;
    other.extra_sboms.push(spdx_path);
    let archive = site.archive("sboms", &[app, other]);
    let operator = site.web.sign_in(OPERATOR);
    let import = WebSite::import_id(&site.web.upload(&operator, &archive));
    let ids: Vec<i64> = site.artifacts(import).iter().map(|a| a.id).collect();
    let auditor = site.web.sign_in(AUDITOR);
    (site, auditor, ids[0], ids[1])
}

/// `GET /api/v1/components{query}` with the auditor's token.
fn api(site: &WebSite, token: &str, query: &str) -> Reply {
    site.server
        .client()
        .get(&format!("/api/v1/components{query}"), Auth::Bearer(token))
}

/// The artifacts a component page links, in order.
fn linked(html: &str) -> Vec<i64> {
    html.split("<td class=\"u\"><a href=\"/artifacts/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[test]
fn the_component_page_and_the_api_say_which_artifacts_contain_a_component() {
    let (site, auditor, app, other) = stocked(301);
    let (token, _) = site.server.client().session(AUDITOR);
    let cases: [(&str, Vec<i64>); 6] = [
        // The minted SBOM and the CycloneDX one both list zlib 1.3.1 (once each: their
        // licences differ).
        ("?name=ZLIB&version=1.3.1", vec![app, app]),
        ("?name=zlib", vec![other, app, app]),
        ("?purl=pkg%3Aapk%2F", vec![other]),
        ("?licence=apache", vec![app]),
        ("?name=zlib&version=9", vec![]),
        ("", vec![other, app, app, app]),
    ];
    for (query, expected) in cases {
        let reply = site
            .web
            .get(&format!("/components{query}"), Some(&auditor.cookie()));
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());
        assert_eq!(linked(&reply.text()), expected, "page {query}");
        let reply = api(&site, &token, query);
        assert_eq!(reply.status, 200, "api {query}");
        let json = reply.json();
        let ids: Vec<i64> = json["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["artifact_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "api {query}");
        assert_eq!(json["total"], expected.len(), "api {query}");
    }
    let json = api(&site, &token, "?name=zlib&version=1.3.1").json();
    assert_eq!(json["artifacts"], 1);
    assert_eq!(json["components"][1]["licence"], "Zlib, MIT OR Apache-2.0");
    assert_eq!(json["components"][1]["purl"], "pkg:generic/zlib@1.3.1");
    assert_eq!(json["components"][0]["artifact"], "app.tar");
    // The main navigation leads here.
    let dashboard = site.web.get("/", Some(&auditor.cookie())).text();
    assert!(dashboard.contains("<a href=\"/components\">Components</a>"));
}

#[test]
fn a_refused_component_search_is_a_400_with_its_reason_on_the_page_and_in_the_api() {
    let (site, auditor, _, _) = stocked(302);
    let (token, _) = site.server.client().session(AUDITOR);
    let long = "x".repeat(257);
    for (query, error) in [
        ("?purl=npm%2Flodash".to_owned(), "purl must start with pkg:"),
        (
            format!("?version={long}"),
            "version must be at most 256 characters",
        ),
        (
            "?name=a%0Ab".to_owned(),
            "name must not contain control characters",
        ),
        ("?page=0".to_owned(), "page must be 1 to 1000000"),
    ] {
        let reply = site
            .web
            .get(&format!("/components{query}"), Some(&auditor.cookie()));
        assert_eq!(reply.status, 400, "{query}");
        if query != "?page=0" {
            let html = reply.text();
            assert!(
                html.contains(&format!("<p class=\"error\" role=\"alert\">{error}</p>")),
                "{query}: {html}"
            );
        }
        let reply = api(&site, &token, &query);
        assert_eq!(
            (reply.status, reply.error()),
            (400, error.to_owned()),
            "api {query}"
        );
    }
}

#[test]
fn the_report_page_shows_each_sbom_s_facts_and_its_download_and_sbom_text_stays_inert() {
    let (site, auditor, app, other) = stocked(303);
    let html = site
        .web
        .get(&format!("/artifacts/{app}"), Some(&auditor.cookie()))
        .text();
    assert!(html.contains("CycloneDX 1.6"), "{html}");
    assert!(html.contains("@cyclonedx cdxgen 10.2.1"));
    assert!(html.contains("urn:uuid:0b9a1c2e-53f4-4c47-9d2e-6f0b0d1e2f3a"));
    assert!(html.contains("2026-11-30T12:00:00Z"));
    assert!(html.contains("Zlib, MIT OR Apache-2.0"));
    // Markup from the SBOM is text, on the report and in the search.
    let search = site
        .web
        .get("/components?licence=evil", Some(&auditor.cookie()))
        .text();
    for page in [&html, &search] {
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<i>Evil"));
        assert!(!page.contains("<b>1</b>"));
        assert!(
            page.contains("&#60;script&#62;alert(&#39;name&#39;)&#60;/script&#62;"),
            "{page}"
        );
    }
    // Each SBOM file downloads from its link, byte for byte.
    let href = |html: &str| -> Vec<String> {
        html.split("<a href=\"")
            .skip(1)
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .filter(|h| h.contains("/evidence/") && !h.contains(' '))
            .collect()
    };
    let other_html = site
        .web
        .get(&format!("/artifacts/{other}"), Some(&auditor.cookie()))
        .text();
    assert!(other_html.contains("syft-1.18.0"));
    assert!(other_html.contains("https://anchore.com/syft/file/other-1f2e"));
    let sbom_list = &other_html[other_html.find("class=\"plain sboms\"").unwrap()..];
    let links = href(sbom_list);
    assert!(other_html.contains("Download the SBOM"), "{other_html}");
    let download = site.web.get(&links[0], Some(&auditor.cookie()));
    assert_eq!(download.status, 200, "{}", links[0]);
    assert_eq!(
        serde_json::from_slice::<Value>(&download.body).unwrap(),
        spdx()
    );
}
