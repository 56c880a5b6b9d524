//! The site registry and downloads over real HTTPS: images released by a real import are
//! pulled by tag and digest with a pull token (bearer or basic), their blobs by range, their
//! referrers (the site's verdict first) listed and fetched, and the verdict bundle verifies
//! with the appliance's key; everything not released, withdrawn, unauthenticated, revoked,
//! out of scope or malformed answers the spec's error.

use std::path::Path;

use airlock_appliance::admin::{self, PullTokenSpec};
use airlock_appliance::pipeline::{self, ImportOutcome, ImportRequest, Original};
use airlock_appliance::store::ImportSource;
use airlock_tests::{ArtifactPlan, OciLayout, Signing};
use airlock_trust_root::{
    Artifact, Bundle, PublicKey, SignerPolicy, TrustedRoot, Verifier, VerifierOptions,
};
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::common::{Auth, Client, Reply};
use crate::pages::{BodyText as _, WebSite};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn import(site: &WebSite, archive: &Path) -> ImportOutcome {
    pipeline::import_file(
        site.server.app(),
        ImportRequest {
            source: ImportSource::Cli,
            path: archive.to_owned(),
            file_name: archive.file_name().unwrap().to_string_lossy().into_owned(),
            actor: "test".into(),
            original: Original::Copy,
        },
    )
    .unwrap()
}

fn token(site: &WebSite, name: &str, scope: Option<&str>) -> String {
    admin::issue_pull_token(
        site.server.app(),
        "admin",
        &PullTokenSpec {
            name: name.into(),
            scope: scope.map(str::to_owned),
            expires_at: None,
        },
    )
    .unwrap()
    .1
}

fn bearer(token: &str) -> (&'static str, String) {
    ("Authorization", format!("Bearer {token}"))
}

fn get(client: &Client, path: &str, token: &str) -> Reply {
    let (name, value) = bearer(token);
    client.request("GET", path, &[(name, &value)])
}

/// The spec's error code of a registry error body.
fn code(reply: &Reply) -> String {
    reply.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {}", reply.json()))
        .to_owned()
}

/// A site with one import: a tagged image (`acme/tool:1.0` as `release-team/tool`), a second
/// image of the same repository tagged by its name, an unsigned image, and a file.
pub(crate) struct Released {
    pub(crate) site: WebSite,
    pub(crate) image: String,
    pub(crate) second: String,
    pub(crate) layer: Vec<u8>,
    pub(crate) layer_digest: String,
    pub(crate) file_id: i64,
    pub(crate) image_id: i64,
}

pub(crate) fn released(seed: u64) -> Released {
    let mut site = WebSite::new(seed);
    let dir = site.world.dir().to_owned();
    let layer = b"a layer of the released image, long enough for ranges".to_vec();
    let (layout, manifest) = OciLayout::new(&dir.join("tool"), &[&layer]).unwrap();
    layout.point_index_at_tagged(&manifest, "1.0").unwrap();
    let (second_layout, second) = OciLayout::new(&dir.join("tool2"), &[b"second"]).unwrap();
    let (bad_layout, _) = OciLayout::new(&dir.join("bad"), &[b"nobody signed"]).unwrap();
    let plans = [
        ArtifactPlan::image("tool", &layout.dir).unwrap(),
        ArtifactPlan::image("tool:2.0", &second_layout.dir).unwrap(),
        ArtifactPlan {
            signing: Signing::Unsigned,
            ..ArtifactPlan::image("unsigned", &bad_layout.dir).unwrap()
        },
        ArtifactPlan::complete("notes.txt", b"release notes\n"),
    ];
    let archive = site.archive("images", &plans);
    let outcome = import(&site, &archive);
    let verdicts: Vec<_> = outcome.artifacts.iter().map(|a| a.verdict).collect();
    assert_eq!(
        verdicts,
        [
            pipeline::Verdict::Passed,
            pipeline::Verdict::Passed,
            pipeline::Verdict::Failed,
            pipeline::Verdict::Passed
        ],
        "{outcome:?}"
    );
    Released {
        image: manifest.digest,
        second: second.digest,
        layer_digest: sha256(&layer),
        layer,
        file_id: outcome.artifacts[3].id,
        image_id: outcome.artifacts[0].id,
        site,
    }
}

#[test]
fn a_released_image_is_pulled_by_tag_and_digest_with_a_pull_token() {
    let r = released(401);
    let client = r.site.server.client();
    let token = token(&r.site, "cluster-a", None);

    // No credential: the bearer challenge, pointing at the token endpoint.
    let reply = client.request("GET", "/v2/", &[]);
    assert_eq!(reply.status, 401);
    assert_eq!(code(&reply), "UNAUTHORIZED");
    let challenge = reply.header("www-authenticate").unwrap().to_owned();
    assert!(
        challenge.starts_with(&format!(
            "Bearer realm=\"https://{}/v2/token\"",
            r.site.server.addr
        )),
        "{challenge}"
    );
    // The token endpoint takes the token as the basic password and hands it back.
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("machine:{token}"));
    let reply = client.request(
        "GET",
        "/v2/token?service=airlock-appliance&scope=repository:release-team/tool:pull",
        &[("Authorization", &format!("Basic {basic}"))],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["token"], token.as_str());
    assert_eq!(get(&client, "/v2/", &token).status, 200);

    // By tag (from index.json's annotation) and by digest, GET and HEAD.
    let reply = get(&client, "/v2/release-team/tool/manifests/1.0", &token);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.header("docker-content-digest"),
        Some(r.image.as_str())
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(sha256(&reply.body), r.image);
    let manifest: Value = serde_json::from_slice(&reply.body).unwrap();
    let (name, value) = bearer(&token);
    let head = client.request(
        "HEAD",
        &format!("/v2/release-team/tool/manifests/{}", r.image),
        &[(name, &value)],
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    // The tag in the artifact's name, on the second image of the same repository.
    let reply = get(&client, "/v2/release-team/tool/manifests/2.0", &token);
    assert_eq!(
        reply.header("docker-content-digest"),
        Some(r.second.as_str())
    );

    // Blobs: whole, by range, HEAD.
    assert_eq!(manifest["layers"][0]["digest"], r.layer_digest.as_str());
    let blob = format!("/v2/release-team/tool/blobs/{}", r.layer_digest);
    let reply = get(&client, &blob, &token);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, r.layer);
    assert_eq!(
        reply.header("docker-content-digest"),
        Some(r.layer_digest.as_str())
    );
    let reply = client.request("GET", &blob, &[(name, &value), ("Range", "bytes=2-9")]);
    assert_eq!(reply.status, 206);
    assert_eq!(reply.body, &r.layer[2..10]);
    let config = manifest["config"]["digest"].as_str().unwrap();
    let reply = client.request(
        "HEAD",
        &format!("/v2/release-team/tool/blobs/{config}"),
        &[(name, &value)],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-length"),
        Some(manifest["config"]["size"].to_string().as_str())
    );

    // Tags, paginated.
    let reply = get(&client, "/v2/release-team/tool/tags/list", &token);
    assert_eq!(
        reply.json(),
        serde_json::json!({"name": "release-team/tool", "tags": ["1.0", "2.0"]})
    );
    let reply = get(&client, "/v2/release-team/tool/tags/list?n=1", &token);
    assert_eq!(reply.json()["tags"], serde_json::json!(["1.0"]));
    assert_eq!(
        reply.header("link"),
        Some("</v2/release-team/tool/tags/list?n=1&last=1.0>; rel=\"next\"")
    );
    let reply = get(
        &client,
        "/v2/release-team/tool/tags/list?n=1&last=1.0",
        &token,
    );
    assert_eq!(reply.json()["tags"], serde_json::json!(["2.0"]));
    assert_eq!(reply.header("link"), None);
}

#[test]
fn the_site_verdict_is_a_referrer_that_verifies_with_the_appliance_key() {
    let r = released(402);
    let client = r.site.server.client();
    let token = token(&r.site, "cluster-a", None);
    let list = get(
        &client,
        &format!("/v2/release-team/tool/referrers/{}", r.image),
        &token,
    );
    assert_eq!(list.status, 200);
    assert_eq!(
        list.header("content-type"),
        Some("application/vnd.oci.image.index.v1+json")
    );
    let list = list.json();
    let kinds: Vec<&str> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["annotations"]["dev.airlock.evidence"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["site-verdict", "signature", "attestation", "sbom"]);
    assert_eq!(
        list["manifests"][3]["artifactType"],
        "application/vnd.cyclonedx+json"
    );

    // Filtered by artifact type.
    let filtered = get(
        &client,
        &format!(
            "/v2/release-team/tool/referrers/{}?artifactType=application/vnd.cyclonedx%2Bjson",
            r.image
        ),
        &token,
    );
    assert_eq!(filtered.header("oci-filters-applied"), Some("artifactType"));
    assert_eq!(filtered.json()["manifests"].as_array().unwrap().len(), 1);

    // The verdict's manifest, then its bundle.
    let verdict = &list["manifests"][0];
    assert_eq!(
        verdict["artifactType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let digest = verdict["digest"].as_str().unwrap();
    let manifest = get(
        &client,
        &format!("/v2/release-team/tool/manifests/{digest}"),
        &token,
    );
    assert_eq!(manifest.status, 200);
    assert_eq!(sha256(&manifest.body), digest);
    let manifest = manifest.json();
    assert_eq!(manifest["subject"]["digest"], r.image.as_str());
    let config = manifest["config"]["digest"].as_str().unwrap();
    let empty = get(
        &client,
        &format!("/v2/release-team/tool/blobs/{config}"),
        &token,
    );
    assert_eq!(empty.body, b"{}");
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let bundle = get(
        &client,
        &format!("/v2/release-team/tool/blobs/{layer}"),
        &token,
    );
    assert_eq!(bundle.status, 200);
    assert_eq!(sha256(&bundle.body), layer);

    // It verifies with the appliance's public key alone, for the image's digest ...
    let key = PublicKey::from_pem(&r.site.server.app().public_key_pem()).unwrap();
    let parsed = Bundle::from_json(&bundle.body).unwrap();
    let verifier = Verifier::with_options(TrustedRoot::empty(), VerifierOptions::signature_only());
    let mut image_digest = [0u8; 32];
    hex::decode_to_slice(r.image.strip_prefix("sha256:").unwrap(), &mut image_digest).unwrap();
    let report = verifier
        .verify(
            &parsed,
            Artifact::Sha256(image_digest),
            &SignerPolicy::PublicKey(key.clone()),
        )
        .unwrap();
    assert_eq!(
        report.dsse.unwrap().predicate_type,
        "https://slsa.dev/verification_summary/v1"
    );
    // ... and not for another digest, nor with the default (log-requiring) options.
    assert!(
        verifier
            .verify(
                &parsed,
                Artifact::Sha256([7; 32]),
                &SignerPolicy::PublicKey(key.clone())
            )
            .is_err()
    );
    assert!(
        Verifier::new(TrustedRoot::empty())
            .verify(
                &parsed,
                Artifact::Sha256(image_digest),
                &SignerPolicy::PublicKey(key)
            )
            .is_err()
    );

    // The carried signature bundle is served byte for byte as the archive had it.
    let signature = &list["manifests"][1];
    let manifest = get(
        &client,
        &format!(
            "/v2/release-team/tool/manifests/{}",
            signature["digest"].as_str().unwrap()
        ),
        &token,
    )
    .json();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let carried = get(
        &client,
        &format!("/v2/release-team/tool/blobs/{layer}"),
        &token,
    );
    assert_eq!(sha256(&carried.body), layer);
    assert!(Bundle::from_json(&carried.body).is_ok());

    // An unknown subject has no referrers (never 404); a malformed digest is 400.
    let unknown = get(
        &client,
        &format!("/v2/release-team/tool/referrers/sha256:{}", "0".repeat(64)),
        &token,
    );
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.json()["manifests"], serde_json::json!([]));
    let bad = get(
        &client,
        "/v2/release-team/tool/referrers/sha256:xyz",
        &token,
    );
    assert_eq!((bad.status, code(&bad)), (400, "DIGEST_INVALID".to_owned()));
}

#[test]
fn what_did_not_pass_or_may_not_be_read_answers_the_specs_errors() {
    let r = released(403);
    let client = r.site.server.client();
    let app = r.site.server.app();
    let token = token(&r.site, "cluster-a", None);
    let status_code = |reply: Reply| (reply.status, code(&reply));

    // The failed image is not served at all.
    assert_eq!(
        status_code(get(
            &client,
            "/v2/release-team/unsigned/manifests/latest",
            &token
        )),
        (404, "NAME_UNKNOWN".into())
    );
    assert_eq!(
        status_code(get(&client, "/v2/release-team/tool/manifests/9.9", &token)),
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(
        status_code(get(
            &client,
            &format!("/v2/release-team/tool/blobs/sha256:{}", "1".repeat(64)),
            &token
        )),
        (404, "BLOB_UNKNOWN".into())
    );
    // A digest in upper case is malformed.
    assert_eq!(
        status_code(get(
            &client,
            &format!("/v2/release-team/tool/manifests/sha256:{}", "A".repeat(64)),
            &token
        )),
        (400, "DIGEST_INVALID".into())
    );
    for bad in [
        "/v2/release-team/../etc/manifests/1.0",
        "/v2/Release-Team/tool/manifests/1.0",
        "/v2/release-team/tool%2F..%2Fx/manifests/1.0",
    ] {
        assert_eq!(
            status_code(get(&client, bad, &token)),
            (400, "NAME_INVALID".into()),
            "{bad}"
        );
    }
    // Push and delete are refused in the spec's format.
    for (method, path) in [
        ("PUT", "/v2/release-team/tool/manifests/1.0"),
        ("POST", "/v2/release-team/tool/blobs/uploads/"),
        ("DELETE", "/v2/release-team/tool/manifests/1.0"),
    ] {
        let (name, value) = bearer(&token);
        let reply = client.request(method, path, &[(name, &value)]);
        assert_eq!(
            status_code(reply),
            (405, "UNSUPPORTED".into()),
            "{method} {path}"
        );
    }

    // A scoped token reads its prefix only.
    let scoped = self::token(&r.site, "other-team", Some("other-team/"));
    assert_eq!(
        status_code(get(&client, "/v2/release-team/tool/manifests/1.0", &scoped)),
        (403, "DENIED".into())
    );
    // An unknown token, then a revoked one.
    let reply = get(&client, "/v2/release-team/tool/manifests/1.0", "alp_nope");
    assert_eq!(status_code(reply), (401, "UNAUTHORIZED".into()));
    let revoked = self::token(&r.site, "old-cluster", None);
    let id = admin::pull_tokens(app)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "old-cluster")
        .unwrap()
        .id;
    assert_eq!(get(&client, "/v2/", &revoked).status, 200);
    admin::revoke_pull_token(app, "admin", id).unwrap();
    let reply = get(&client, "/v2/", &revoked);
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json()["errors"][0]["message"],
        "pull token old-cluster was revoked"
    );

    // An expired token.
    let (_, expiring) = admin::issue_pull_token(
        app,
        "admin",
        &PullTokenSpec {
            name: "short-lived".into(),
            scope: None,
            expires_at: Some(chrono::Utc::now() + chrono::Duration::milliseconds(300)),
        },
    )
    .unwrap();
    assert_eq!(get(&client, "/v2/", &expiring).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let reply = get(&client, "/v2/", &expiring);
    assert_eq!(
        reply.json()["errors"][0]["message"],
        "pull token short-lived expired"
    );

    // Anonymous pull: off by default, on when an admin says so.
    assert_eq!(
        client
            .request("GET", "/v2/release-team/tool/manifests/1.0", &[])
            .status,
        401
    );
    admin::set_anonymous_pull(app, "admin", true).unwrap();
    assert_eq!(
        client
            .request("GET", "/v2/release-team/tool/manifests/1.0", &[])
            .status,
        200
    );
    admin::set_anonymous_pull(app, "admin", false).unwrap();

    // Withdrawn: gone from the registry and the downloads at once, audited.
    admin::withdraw_artifact(app, "admin", r.image_id, "CVE-2026-0001 in the base layer").unwrap();
    assert_eq!(
        status_code(get(&client, "/v2/release-team/tool/manifests/1.0", &token)),
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(
        status_code(get(
            &client,
            &format!("/v2/release-team/tool/blobs/{}", r.layer_digest),
            &token
        )),
        (404, "BLOB_UNKNOWN".into())
    );
    // The other image of the repository is still served.
    assert_eq!(
        get(&client, "/v2/release-team/tool/manifests/2.0", &token).status,
        200
    );
    let err = admin::withdraw_artifact(app, "admin", r.image_id, "again").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("artifact {} is already withdrawn", r.image_id)
    );
    let (session, _) = client.session(crate::common::AUDITOR);
    let audit = client.get("/api/v1/audit", Auth::Bearer(&session)).json();
    let rows = audit["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"));
    let withdrawn = rows
        .iter()
        .find(|row| row["action"] == "artifact.withdrawn")
        .unwrap_or_else(|| panic!("no withdrawal in {audit}"));
    let detail: Value = serde_json::from_str(withdrawn["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["reason"], "CVE-2026-0001 in the base layer");
    assert_eq!(withdrawn["actor"], "admin");
    let _ = r.file_id;
}

#[test]
fn released_files_and_evidence_download_with_their_digests() {
    let r = released(404);
    let client = r.site.server.client();
    let (session, _) = client.session(crate::common::AUDITOR);
    let auth = Auth::Bearer(&session);
    let path = format!("/api/v1/artifacts/{}/file", r.file_id);

    let reply = client.get(&path, Auth::None);
    assert_eq!(reply.status, 401);
    let reply = client.get(&path, auth);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"release notes\n");
    let hex_digest = hex::encode(Sha256::digest(b"release notes\n"));
    assert_eq!(reply.header("x-airlock-sha256"), Some(hex_digest.as_str()));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"notes.txt\"")
    );
    let ranged = client.request(
        "GET",
        &path,
        &[
            ("Authorization", &format!("Bearer {session}")),
            ("Range", "bytes=8-"),
        ],
    );
    assert_eq!(
        (ranged.status, ranged.body.as_slice()),
        (206, &b"notes\n"[..])
    );
    let head = client.request(
        "HEAD",
        &path,
        &[("Authorization", &format!("Bearer {session}"))],
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("14"));
    assert_eq!(head.header("x-airlock-sha256"), Some(hex_digest.as_str()));

    // Images are pulled from the registry; failed artifacts are not downloadable.
    let image = client.get(&format!("/api/v1/artifacts/{}/file", r.image_id), auth);
    assert_eq!(image.status, 404);
    assert_eq!(
        image.error(),
        format!(
            "artifact {} is an image: pull it from the registry (/v2/)",
            r.image_id
        )
    );

    // SHA256SUMS and the JSON index list what was released.
    let import_id = r.site.artifacts(1)[0].import_id;
    let sums = client.get(&format!("/api/v1/imports/{import_id}/SHA256SUMS"), auth);
    assert_eq!(
        String::from_utf8(sums.body).unwrap(),
        format!("{hex_digest}  notes.txt\n")
    );
    let index = client
        .get(&format!("/api/v1/imports/{import_id}/released.json"), auth)
        .json();
    assert_eq!(index["schema"], 1);
    let names: Vec<&str> = index["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tool", "tool:2.0", "notes.txt"]);
    assert_eq!(
        index["artifacts"][0]["image"]["repository"],
        "release-team/tool"
    );

    // Each piece of evidence downloads with its digest; another digest is refused.
    let notes = &index["artifacts"][2];
    assert_eq!(
        notes["download"],
        format!("/api/v1/artifacts/{}/file", r.file_id)
    );
    let evidence = notes["evidence"].as_array().unwrap();
    let kinds: Vec<&str> = evidence
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signature", "attestation", "sbom"]);
    for e in evidence {
        let reply = client.get(e["url"].as_str().unwrap(), auth);
        assert_eq!(reply.status, 200, "{e}");
        assert_eq!(sha256(&reply.body), e["digest"].as_str().unwrap());
    }
    let other = client.get(
        &format!(
            "/api/v1/artifacts/{}/evidence/sha256:{}",
            r.file_id,
            "2".repeat(64)
        ),
        auth,
    );
    assert_eq!(other.status, 404);
    let bad = client.get(
        &format!(
            "/api/v1/artifacts/{}/evidence/..%2F..%2Fairlock.db",
            r.file_id
        ),
        auth,
    );
    assert_eq!(bad.status, 400);

    // The verdict bundle verifies for the file's digest with the appliance's key.
    let bundle = client.get(
        &format!("/api/v1/artifacts/{}/vsa.sigstore.json", r.file_id),
        auth,
    );
    let key = PublicKey::from_pem(&r.site.server.app().public_key_pem()).unwrap();
    let mut digest = [0u8; 32];
    hex::decode_to_slice(&hex_digest, &mut digest).unwrap();
    Verifier::with_options(TrustedRoot::empty(), VerifierOptions::signature_only())
        .verify(
            &Bundle::from_json(&bundle.body).unwrap(),
            Artifact::Sha256(digest),
            &SignerPolicy::PublicKey(key),
        )
        .unwrap();

    // Withdrawn files stop downloading.
    admin::withdraw_artifact(r.site.server.app(), "admin", r.file_id, "superseded").unwrap();
    assert_eq!(client.get(&path, auth).status, 404);
    let sums = client.get(&format!("/api/v1/imports/{import_id}/SHA256SUMS"), auth);
    assert!(sums.body.is_empty());
}

#[test]
fn the_artifact_and_import_pages_link_every_download_and_show_a_withdrawal() {
    let r = released(405);
    let session = r.site.web.sign_in(crate::common::AUDITOR);
    let cookie = session.cookie();
    let page = r
        .site
        .web
        .get(&format!("/artifacts/{}", r.file_id), Some(&cookie));
    assert_eq!(page.status, 200);
    let html = page.text();
    let file = format!("href=\"/api/v1/artifacts/{}/file\" download", r.file_id);
    assert!(html.contains(&file), "{html}");
    assert!(html.contains(&format!(
        "/api/v1/artifacts/{}/vsa.sigstore.json",
        r.file_id
    )));
    let evidence = format!("/api/v1/artifacts/{}/evidence/sha256:", r.file_id);
    assert_eq!(
        html.matches(&evidence).count(),
        3,
        "signature, attestation and SBOM"
    );

    let image = r
        .site
        .web
        .get(&format!("/artifacts/{}", r.image_id), Some(&cookie))
        .text();
    assert!(
        image.contains(&format!(
            "<code class=\"u\">release-team/tool@{}</code> (tags: <code class=\"u\">1.0</code>)",
            r.image
        )),
        "{image}"
    );
    let import_id = r.site.artifacts(1)[0].import_id;
    let import = r
        .site
        .web
        .get(&format!("/imports/{import_id}"), Some(&cookie))
        .text();
    assert!(import.contains(&format!("/api/v1/imports/{import_id}/SHA256SUMS")));

    admin::withdraw_artifact(r.site.server.app(), "admin", r.file_id, "superseded by 1.1").unwrap();
    let html = r
        .site
        .web
        .get(&format!("/artifacts/{}", r.file_id), Some(&cookie))
        .text();
    assert!(!html.contains(&file));
    assert!(
        html.contains("Withdrawn: <span class=\"u\">by admin at "),
        "{html}"
    );
    assert!(html.contains(": superseded by 1.1</span>"));
}

#[test]
fn an_admin_issues_and_revokes_pull_tokens_and_withdraws_from_the_pages() {
    let r = released(406);
    let web = &r.site.web;
    let admin_session = web.sign_in(crate::common::ADMIN);
    let cookie = admin_session.cookie();
    let csrf = admin_session.csrf.as_str();
    let client = r.site.server.client();

    // Issue: the token is shown once, on the page the form answers with.
    let page = web.post_form(
        "/admin/registry",
        Some(&cookie),
        &[
            ("csrf", csrf),
            ("name", "cluster-b"),
            ("scope", "release-team/"),
            ("expires", "2099-01-01"),
        ],
    );
    assert_eq!(page.status, 200);
    let html = page.text();
    let token = html
        .split("(shown once): <code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_else(|| panic!("no token shown in {html}"))
        .to_owned();
    assert!(token.starts_with("alp_"), "{token}");
    assert_eq!(
        get(&client, "/v2/release-team/tool/manifests/1.0", &token).status,
        200
    );
    // The list shows it, never the token itself again.
    let list = web.get("/admin/registry", Some(&cookie)).text();
    assert!(list.contains("cluster-b") && list.contains("<code>release-team/</code>"));
    assert!(!list.contains(&token));

    // A bad expiry is refused on the tab with why.
    let bad = web.post_form(
        "/admin/registry",
        Some(&cookie),
        &[("csrf", csrf), ("name", "x"), ("expires", "next week")],
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.text()
            .contains("expires: &#34;next week&#34; is not a date (YYYY-MM-DD, UTC)"),
        "{}",
        bad.text()
    );

    // Revoke, anonymous pull on and off.
    let id = admin::pull_tokens(r.site.server.app())
        .unwrap()
        .into_iter()
        .find(|t| t.name == "cluster-b")
        .unwrap()
        .id
        .to_string();
    let revoked = web.post_form(
        "/admin/registry/revoke",
        Some(&cookie),
        &[("csrf", csrf), ("id", &id)],
    );
    assert_eq!(revoked.status, 303);
    assert_eq!(get(&client, "/v2/", &token).status, 401);
    let on = web.post_form(
        "/admin/registry/anonymous",
        Some(&cookie),
        &[("csrf", csrf), ("enabled", "true")],
    );
    assert_eq!(on.status, 303);
    assert_eq!(
        client
            .request("GET", "/v2/release-team/tool/manifests/1.0", &[])
            .status,
        200
    );
    web.post_form(
        "/admin/registry/anonymous",
        Some(&cookie),
        &[("csrf", csrf), ("enabled", "false")],
    );
    assert_eq!(
        client
            .request("GET", "/v2/release-team/tool/manifests/1.0", &[])
            .status,
        401
    );

    // Withdraw from the artifact's page: back to it, showing the withdrawal.
    let image_page = web
        .get(&format!("/artifacts/{}", r.image_id), Some(&cookie))
        .text();
    assert!(image_page.contains("action=\"/admin/artifacts/withdraw\""));
    let id = r.image_id.to_string();
    let done = web.post_form(
        "/admin/artifacts/withdraw",
        Some(&cookie),
        &[
            ("csrf", csrf),
            ("id", &id),
            ("reason", "pulled by the vendor"),
        ],
    );
    assert_eq!(done.status, 303);
    assert_eq!(
        done.header("location"),
        Some(format!("/artifacts/{id}").as_str())
    );
    let registry = web.get("/admin/registry", Some(&cookie)).text();
    assert!(
        registry.contains(": pulled by the vendor</span>"),
        "{registry}"
    );

    // An auditor sees no withdraw form and may not post one.
    let auditor = web.sign_in(crate::common::AUDITOR);
    let page = web
        .get(
            &format!("/artifacts/{}", r.file_id),
            Some(&auditor.cookie()),
        )
        .text();
    assert!(!page.contains("/admin/artifacts/withdraw"));
    let refused = web.post_form(
        "/admin/artifacts/withdraw",
        Some(&auditor.cookie()),
        &[
            ("csrf", &auditor.csrf),
            ("id", &r.file_id.to_string()),
            ("reason", "x"),
        ],
    );
    assert_eq!(refused.status, 403);

    // Every change is in the audit trail.
    let actions = r.site.server.app();
    let store = actions.store();
    let rows = airlock_appliance::store::audit::page(store.read(), 0, 1000).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    for action in [
        "pull_token.issued",
        "pull_token.revoked",
        "setting.changed",
        "artifact.withdrawn",
    ] {
        assert!(names.contains(&action), "{action} not in {names:?}");
    }
}
