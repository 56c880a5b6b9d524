//! The audit log's page, API and exports over real HTTPS: filters by action (and its dotted
//! family), actor, subject and time on the page and in the API, subjects linked to what they
//! name, each page's rows checked on their own, the JSONL export byte for byte what
//! `audit export` writes, the CSV export of the filtered rows, and each refusal exact.

use airlock_appliance::store::{self, AuditFilter, AuditRow};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::artifacts::stocked;
use crate::common::{AUDITOR, Auth};
use crate::pages::{BodyText, PageSession, WebSite};

/// Every row of the log, newest first, as stored.
fn rows(site: &WebSite, filter: &AuditFilter) -> Vec<AuditRow> {
    store::audit::filtered(site.server.app().store().read(), filter, 0, 10_000).unwrap()
}

/// The sequence numbers of the rows a page shows, in order.
fn shown(html: &str) -> Vec<i64> {
    html.split("<th scope=\"row\" class=\"num\">")
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].parse().unwrap())
        .collect()
}

fn page(site: &WebSite, s: &PageSession, query: &str) -> String {
    let reply = site.web.get(&format!("/audit{query}"), Some(&s.cookie()));
    assert_eq!(reply.status, 200, "{query}: {}", reply.text());
    reply.text()
}

#[test]
fn the_audit_page_and_the_api_filter_the_log_and_link_its_subjects() {
    let (site, auditor, [tool, rogue, _, _]) = stocked(86);
    let (token, _) = site.server.client().session(AUDITOR);
    let all = rows(&site, &AuditFilter::default());
    let seqs = |keep: &dyn Fn(&AuditRow) -> bool| -> Vec<i64> {
        all.iter().filter(|r| keep(r)).map(|r| r.seq).collect()
    };
    let tomorrow = (Utc::now().date_naive() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let cases: Vec<(String, Vec<i64>)> = vec![
        ("?action=verdict".into(), seqs(&|r| r.action == "verdict")),
        // A family: every `import.…` row, and not `importer…` or `release`.
        (
            "?action=import".into(),
            seqs(&|r| r.action.starts_with("import.")),
        ),
        (
            "?action=import.started&actor=olga".into(),
            seqs(&|r| r.action == "import.started" && r.actor == "olga"),
        ),
        ("?subject=1%2F1".into(), seqs(&|r| r.subject == "1/1")),
        ("?actor=aude".into(), seqs(&|r| r.actor == "aude")),
        (format!("?since={tomorrow}"), Vec::new()),
        (
            format!("?until={tomorrow}&action=release"),
            seqs(&|r| r.action == "release"),
        ),
        // Empty values mean "any", as forms send them.
        (
            "?action=&actor=&subject=&since=&until=".into(),
            seqs(&|_| true),
        ),
    ];
    for (query, expected) in &cases {
        assert!(
            !expected.is_empty() || query.contains("since"),
            "{query}: the case selects nothing"
        );
        let html = page(&site, &auditor, query);
        assert_eq!(&shown(&html), expected, "page {query}");
        let reply = site
            .server
            .client()
            .get(&format!("/api/v1/audit{query}"), Auth::Bearer(&token));
        assert_eq!(reply.status, 200, "{query}");
        let json: Value = reply.json();
        let api: Vec<i64> = json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(&api, expected, "api {query}");
        assert_eq!(json["total"], expected.len(), "api {query}");
    }
    assert_eq!(cases[0].1.len(), 4, "one verdict per artifact");

    // The verdict rows link the artifacts' reports, import rows their imports; the page's
    // rows are re-hashed on their own.
    let html = page(&site, &auditor, "?action=verdict");
    assert!(
        html.contains(&format!("<a href=\"/artifacts/{tool}\">1/0</a>")),
        "{html}"
    );
    assert!(html.contains(&format!("<a href=\"/artifacts/{rogue}\">1/1</a>")));
    assert!(html.contains("<dt>verdict</dt><dd>failed</dd>"));
    assert!(html.contains("<dt>artifact</dt><dd>rogue.bin</dd>"));
    assert!(html.contains("on this page: each re-hashed and linked to the row before it."));
    assert!(html.contains("href=\"/audit/export.csv?action=verdict\""));
    let html = page(&site, &auditor, "?action=import.done");
    assert!(html.contains("<a href=\"/imports/2\">2</a>"), "{html}");
    // The auditor sees no link to the admin pages.
    let html = page(&site, &auditor, "?action=user.added");
    assert!(!html.contains("href=\"/admin/users\""), "{html}");

    // Refusals, each exact, on the page (400, the form kept) and in the API.
    for (query, error) in [
        (
            "?since=yesterday",
            "since must be a date (YYYY-MM-DD) or an RFC 3339 time",
        ),
        (
            "?until=2026-13-01",
            "until must be a date (YYYY-MM-DD) or an RFC 3339 time",
        ),
        ("?page=0", "page must be 1 to 1000000"),
    ] {
        let reply = site
            .web
            .get(&format!("/audit{query}"), Some(&auditor.cookie()));
        assert_eq!(reply.status, 400, "{query}");
        assert!(reply.text().contains(error), "{query}: {}", reply.text());
        let reply = site
            .server
            .client()
            .get(&format!("/api/v1/audit{query}"), Auth::Bearer(&token));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["error"], error, "{query}");
    }
    let long = format!("?actor={}", "a".repeat(257));
    let reply = site
        .web
        .get(&format!("/audit{long}"), Some(&auditor.cookie()));
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .text()
            .contains("actor must be at most 256 characters")
    );
}

#[test]
fn the_exports_give_the_chain_as_audit_export_writes_it_and_the_filtered_rows_as_csv() {
    let (site, auditor, _) = stocked(87);

    let reply = site.web.get("/audit/export.jsonl", Some(&auditor.cookie()));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/jsonl"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"airlock-audit.jsonl\"")
    );
    let mut expected = Vec::new();
    airlock_appliance::audit::export(site.server.app().store().read(), &mut expected).unwrap();
    assert_eq!(reply.body, expected, "the page's export is the CLI's");
    let rows_out = reply
        .text()
        .lines()
        .filter(|l| l.contains("\"prev_hash\""))
        .count();
    assert_eq!(rows_out, rows(&site, &AuditFilter::default()).len());

    let reply = site
        .web
        .get("/audit/export.csv?action=verdict", Some(&auditor.cookie()));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"airlock-audit.csv\"")
    );
    let text = reply.text();
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "seq,at,actor,action,subject,detail,prev_hash,hash"
    );
    let mut verdicts = rows(
        &site,
        &AuditFilter {
            action: Some("verdict".into()),
            ..AuditFilter::default()
        },
    );
    verdicts.reverse();
    assert_eq!(lines.len(), 1 + verdicts.len());
    for (line, row) in lines[1..].iter().zip(&verdicts) {
        assert!(
            line.starts_with(&format!(
                "{},{},system,verdict,{},\"{{",
                row.seq, row.at, row.subject
            )),
            "{line}"
        );
        assert!(
            line.ends_with(&format!(",{},{}", row.prev_hash, row.hash)),
            "{line}"
        );
    }
    let reply = site
        .web
        .get("/audit/export.csv?since=nope", Some(&auditor.cookie()));
    assert_eq!(reply.status, 400);

    // Strangers are sent to sign in; nothing is exported.
    for path in ["/audit/export.jsonl", "/audit/export.csv"] {
        let reply = site.web.get(path, None);
        assert_eq!(reply.status, 303, "{path}");
        assert!(
            reply.body.is_empty() || !reply.text().contains("prev_hash"),
            "{path}"
        );
    }
}
