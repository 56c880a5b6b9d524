//! The report exports over real HTTPS: an artifact's and an import's report as JSON documents
//! naming their schema, with the stored report, the signed VSA and the facts the pages show;
//! strangers sent to sign in, unknown ids a 404 page.

use airlock_appliance::export::SCHEMA;
use airlock_appliance::report::ArtifactReport;
use serde_json::Value;

use crate::artifacts::stocked;
use crate::pages::BodyText;

#[test]
fn an_artifact_and_an_import_export_as_json_documents_naming_their_schema() {
    let (site, auditor, [_, rogue, _, _]) = stocked(89);
    let app = site.server.app();

    let reply = site.web.get(
        &format!("/artifacts/{rogue}/report.json"),
        Some(&auditor.cookie()),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.header("content-disposition").map(str::to_owned),
        Some(format!(
            "attachment; filename=\"artifact-{rogue}.report.json\""
        ))
    );
    let doc: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(doc["schema"], SCHEMA);
    assert_eq!(doc["kind"], "artifact");
    assert_eq!(doc["appliance_key_id"], app.key_id().as_str());
    assert_eq!(doc["artifact"]["id"], rogue);
    assert_eq!(doc["artifact"]["name"], "rogue.bin");
    assert_eq!(doc["artifact"]["verdict"], "failed");
    assert_eq!(doc["artifact"]["kind"], "file");
    assert!(
        doc["artifact"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("not signed by a trusted signer")
    );
    // The report inside is the stored one, typed; the VSA the one served at …/vsa.
    let stored: ArtifactReport = serde_json::from_str(
        &airlock_appliance::store::artifacts::report(app.store().read(), rogue)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let inside: ArtifactReport = serde_json::from_value(doc["report"].clone()).unwrap();
    assert_eq!(inside, stored);
    let vsa = airlock_appliance::store::artifacts::vsa(app.store().read(), rogue)
        .unwrap()
        .unwrap();
    assert_eq!(doc["vsa"], serde_json::from_slice::<Value>(&vsa).unwrap());
    assert_eq!(doc["vsa"]["payloadType"], "application/vnd.in-toto+json");

    let reply = site
        .web
        .get("/imports/1/report.json", Some(&auditor.cookie()));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"import-1.report.json\"")
    );
    let doc: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        (doc["schema"].as_str(), doc["kind"].as_str()),
        (Some(SCHEMA), Some("import"))
    );
    assert_eq!(doc["import"]["id"], 1);
    assert_eq!(doc["import"]["state"], "done");
    assert_eq!(
        (
            &doc["import"]["passed"],
            &doc["import"]["warned"],
            &doc["import"]["failed"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(1))
    );
    let names: Vec<&str> = doc["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tool.bin", "rogue.bin", "legacy.bin"]);
    assert!(!doc["steps"].as_array().unwrap().is_empty());
    assert!(
        doc["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true)
    );

    // The pages link them.
    let page = site
        .web
        .get(&format!("/artifacts/{rogue}"), Some(&auditor.cookie()));
    assert!(
        page.text()
            .contains(&format!("href=\"/artifacts/{rogue}/report.json\" download"))
    );
    let page = site.web.get("/imports/1", Some(&auditor.cookie()));
    assert!(
        page.text()
            .contains("href=\"/imports/1/report.json\" download")
    );

    // Unknown ids are 404 pages; strangers are sent to sign in.
    for path in [
        "/artifacts/999/report.json",
        "/imports/999/report.json",
        "/imports/x/report.json",
    ] {
        let reply = site.web.get(path, Some(&auditor.cookie()));
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.text().contains("<!DOCTYPE html>"), "{path}");
    }
    let reply = site
        .web
        .get(&format!("/artifacts/{rogue}/report.json"), None);
    assert_eq!(reply.status, 303);
}
