//! End to end from a registry: an image pushed with `skopeo` to Debian's `docker-registry`
//! (TLS, htpasswd), signed by the world's trusted pipeline with provenance and an SBOM as OCI
//! 1.1 referrers, packed by `create` from `image = "…:tag"` alone, imported by the site: the
//! image passes with every piece of evidence the registry held. The same with the image signed
//! the legacy cosign way (`sha256-<hex>.sig` and `.att` tags), and signed that way with a
//! managed key (`cosign sign --key`): it passes where the site trusts that key, and fails
//! where it trusts another.

use std::path::{Path, PathBuf};

use airlock_appliance::pipeline::Verdict;
use airlock_bundler::collect::CollectOptions;
use airlock_tests::{
    BUILDER_ID, BUNDLE_V03_MEDIA_TYPE, ISSUER, OciLayout, OciManifest, Predicate, Provenance,
    Registry, RegistryAuth, RegistryOptions, SOURCE_URI, SignOptions, TRUSTED_IDENTITY,
    TlsMaterial, sha256, simple_signing_payload,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::site::Site;

pub(crate) const USER: &str = "release-bot";
pub(crate) const PASSWORD: &str = "correct horse";

/// A site, a registry on loopback holding `release/tool:1.0`, its TLS material, and the image's
/// manifest (with its bytes); `None` when the registry tools are not installed.
pub(crate) fn site_with_image(
    seed: u64,
) -> Option<(Site, Registry, TlsMaterial, OciManifest, Vec<u8>)> {
    let (site, registry, tls, manifest, bytes, _) = site_with_registry(seed)?;
    Some((site, registry, tls, manifest, bytes))
}

/// As [`site_with_image`], with the path of `skopeo` to push more.
#[allow(clippy::type_complexity)]
fn site_with_registry(
    seed: u64,
) -> Option<(Site, Registry, TlsMaterial, OciManifest, Vec<u8>, PathBuf)> {
    let setup = "bash tests/setup-registry.sh";
    let outside = |p: &str| crate::outside::installed_tool(Path::new(p), setup);
    let (Some(binary), Some(htpasswd), Some(skopeo)) = (
        outside("/usr/bin/docker-registry"),
        outside("/usr/bin/htpasswd"),
        outside("/usr/bin/skopeo"),
    ) else {
        return None;
    };
    let site = Site::new(seed);
    let dir = site.dir.path().to_owned();
    let now = chrono::Utc::now().timestamp();
    let tls = TlsMaterial::new(seed + 1, now - 3600, now + 3600).unwrap();
    let registry = Registry::start(&RegistryOptions {
        binary: &binary,
        htpasswd: &htpasswd,
        dir: &dir.join("registry"),
        tls: &tls,
        auth: RegistryAuth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
        now,
    })
    .unwrap();
    registry
        .write_auth_file(&dir.join("auth.json"), USER, PASSWORD)
        .unwrap();

    let (layout, manifest) =
        OciLayout::new(&dir.join("layout"), &[b"a layer", &vec![3u8; 100_000]]).unwrap();
    registry
        .push_layout(&skopeo, &layout.dir, "release/tool:1.0")
        .unwrap();
    let bytes = std::fs::read(
        layout
            .dir
            .join("blobs/sha256")
            .join(manifest.digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    Some((site, registry, tls, manifest, bytes, skopeo))
}

fn provenance() -> Predicate {
    Predicate::SlsaV1(Provenance {
        builder_id: BUILDER_ID.into(),
        build_type: "https://ci.example.internal/build/v1".into(),
        source_uri: SOURCE_URI.into(),
        source_commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
    })
}

fn digest_bytes(manifest: &OciManifest) -> [u8; 32] {
    hex::decode(manifest.digest.trim_start_matches("sha256:"))
        .unwrap()
        .try_into()
        .unwrap()
}

/// Packs `release/tool:1.0` from the registry alone, the artifact table ending with `extra`
/// (more keys, such as the spec's `key = …`): the archive.
fn collect(site: &mut Site, registry: &Registry, tls: &TlsMaterial, extra: &str) -> PathBuf {
    let dir = site.dir.path().to_owned();
    std::fs::write(dir.join("registry-ca.pem"), tls.ca_pem()).unwrap();
    let tables = format!(
        "\n[[artifact]]\nname = \"tool\"\nimage = \"{host}/release/tool:1.0\"\n{extra}\n[[registry]]\nhost = \"{host}\"\nca_file = {ca:?}\n",
        host = registry.host(),
        ca = dir.join("registry-ca.pem").display().to_string(),
    );
    let state = site.witness_state();
    site.world
        .archive_tables(
            "collected",
            1,
            &tables,
            Some(&state),
            CollectOptions {
                auth_file: Some(dir.join("auth.json")),
                cache: Some(dir.join("cache")),
                ..CollectOptions::default()
            },
        )
        .unwrap()
        .unwrap()
}

/// Packs `release/tool:1.0` from the registry alone and imports it: the one artifact's
/// outcome, and its report.
fn collect_and_import(
    site: &mut Site,
    registry: &Registry,
    tls: &TlsMaterial,
    manifest: &OciManifest,
) -> serde_json::Value {
    let archive = collect(site, registry, tls, "");
    import_passing(site, &archive, manifest)
}

/// Imports an archive of `release/tool:1.0` alone, which must pass: its report.
fn import_passing(site: &Site, archive: &Path, manifest: &OciManifest) -> serde_json::Value {
    let outcome = site.import(archive);
    assert_eq!(outcome.artifacts.len(), 1, "{outcome:?}");
    let tool = &outcome.artifacts[0];
    assert_eq!(tool.verdict, Verdict::Passed, "{outcome:?}");
    let rows = site.artifacts(outcome.import_id);
    assert_eq!(
        rows[0].kind,
        airlock_bundler::archive::ArtifactKind::OciImage
    );
    assert!(
        manifest.digest.ends_with(&rows[0].digest),
        "{}",
        rows[0].digest
    );
    site.report(tool.id)
}

#[test]
fn an_image_collected_from_a_registry_with_its_referrers_passes_at_the_site() {
    let Some((mut site, registry, tls, manifest, bytes)) = site_with_image(811) else {
        return;
    };
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let signature = site.world.sigstore.sign_blob(&bytes, &opts).unwrap();
    let provenance = site
        .world
        .sigstore
        .attest(
            "release/tool",
            digest_bytes(&manifest),
            &provenance(),
            &opts,
        )
        .unwrap();
    let sbom = br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"zlib","version":"1.3.1"}]}"#;
    for (artifact_type, content) in [
        (BUNDLE_V03_MEDIA_TYPE, &signature.json[..]),
        (BUNDLE_V03_MEDIA_TYPE, &provenance.json[..]),
        ("application/vnd.cyclonedx+json", &sbom[..]),
    ] {
        registry
            .attach(
                "release/tool",
                &manifest.digest,
                manifest.size,
                artifact_type,
                content,
            )
            .unwrap();
    }
    let report = collect_and_import(&mut site, &registry, &tls, &manifest);
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(report["attestations"].as_array().unwrap().len(), 1);
    assert_eq!(report["sboms"].as_array().unwrap().len(), 1);
    assert!(
        report["provenance"].to_string().contains(BUILDER_ID),
        "{report}"
    );
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}

#[test]
fn an_image_signed_the_legacy_cosign_way_passes_at_the_site() {
    let Some((mut site, registry, tls, manifest, _)) = site_with_image(821) else {
        return;
    };
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let reference = format!("{}/release/tool", registry.host());
    let payload = simple_signing_payload(&reference, &manifest.digest);
    let signature = site.world.sigstore.cosign_sign(&payload, &opts).unwrap();
    let attestation = site
        .world
        .sigstore
        .cosign_attest(&reference, digest_bytes(&manifest), &provenance(), &opts)
        .unwrap();
    registry
        .put_cosign_tag("release/tool", &manifest.digest, "sig", &[signature])
        .unwrap();
    registry
        .put_cosign_tag("release/tool", &manifest.digest, "att", &[attestation])
        .unwrap();
    let report = collect_and_import(&mut site, &registry, &tls, &manifest);
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report}");
    assert_eq!(signatures[0]["ok"], true, "{report}");
    assert_eq!(report["attestations"].as_array().unwrap().len(), 1);
    assert!(
        report["provenance"].to_string().contains(BUILDER_ID),
        "{report}"
    );
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}

/// Signs `manifest` in `repository` the legacy cosign way (`.sig` only).
fn cosign_sign(site: &mut Site, registry: &Registry, repository: &str, manifest: &OciManifest) {
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let reference = format!("{}/{repository}", registry.host());
    let payload = simple_signing_payload(&reference, &manifest.digest);
    let signature = site.world.sigstore.cosign_sign(&payload, &opts).unwrap();
    registry
        .put_cosign_tag(repository, &manifest.digest, "sig", &[signature])
        .unwrap();
}

#[test]
fn a_legacy_signature_moved_to_another_image_fails_at_the_site_naming_both_digests() {
    let Some((mut site, registry, tls, tool, _, skopeo)) = site_with_registry(831) else {
        return;
    };
    let dir = site.dir.path().to_owned();
    let (layout, other) = OciLayout::new(&dir.join("other"), &[b"another layer"]).unwrap();
    registry
        .push_layout(&skopeo, &layout.dir, "release/other:1.0")
        .unwrap();
    cosign_sign(&mut site, &registry, "release/tool", &tool);
    cosign_sign(&mut site, &registry, "release/other", &other);
    std::fs::write(dir.join("registry-ca.pem"), tls.ca_pem()).unwrap();
    let tables = format!(
        "\n[[artifact]]\nname = \"tool\"\nimage = \"{host}/release/tool:1.0\"\n\n[[artifact]]\nname = \"other\"\nimage = \"{host}/release/other:1.0\"\n\n[[registry]]\nhost = \"{host}\"\nca_file = {ca:?}\n",
        host = registry.host(),
        ca = dir.join("registry-ca.pem").display().to_string(),
    );
    let state = site.witness_state();
    let archive = site
        .world
        .archive_tables(
            "both",
            1,
            &tables,
            Some(&state),
            CollectOptions {
                auth_file: Some(dir.join("auth.json")),
                ..CollectOptions::default()
            },
        )
        .unwrap()
        .unwrap();
    // A publisher (or anyone re-signing the manifest) swaps the two images' signatures: each
    // still verifies over its payload, which names the other image.
    let swapped = site
        .world
        .repack(&archive, "swapped", |m| {
            let first = std::mem::take(&mut m.artifacts[0].evidence.signed_payloads);
            let second = std::mem::replace(&mut m.artifacts[1].evidence.signed_payloads, first);
            m.artifacts[0].evidence.signed_payloads = second;
        })
        .unwrap();
    let outcome = site.import(&swapped);
    assert_eq!(outcome.artifacts.len(), 2, "{outcome:?}");
    let judged = &outcome.artifacts[0];
    assert_ne!(judged.verdict, Verdict::Passed, "{outcome:?}");
    let report = site.report(judged.id);
    assert_eq!(
        report["signatures"][0]["error"],
        format!(
            "signed payload names image {}, not the artifact's digest {}",
            other.digest, tool.digest
        ),
        "{report}"
    );
}

/// A policy trusting one managed key (PEM) and nothing else.
fn key_policy(public_pem: &str) -> String {
    format!(
        "enforcement = \"enforce\"\n\n[[signer]]\nname = \"vendor-key\"\npublic_key = \"\"\"\n{}\n\"\"\"\n",
        public_pem.trim_end()
    )
}

/// `release/tool:1.0` signed with `key` the legacy cosign way (`.sig`, no certificate),
/// collected by `create` with the spec naming the key for preflight: the archive.
fn collect_signed_with_key(
    site: &mut Site,
    registry: &Registry,
    tls: &TlsMaterial,
    manifest: &OciManifest,
    key: &airlock_tests::EcKey,
) -> PathBuf {
    let reference = format!("{}/release/tool", registry.host());
    let payload = simple_signing_payload(&reference, &manifest.digest);
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let layer = site
        .world
        .sigstore
        .cosign_sign_with_key(&payload, key, &opts)
        .unwrap();
    assert!(
        !layer
            .annotations
            .contains_key("dev.sigstore.cosign/certificate")
    );
    registry
        .put_cosign_tag("release/tool", &manifest.digest, "sig", &[layer])
        .unwrap();
    let pem = site.dir.path().join("cosign.pub");
    std::fs::write(&pem, key.public_pem().unwrap()).unwrap();
    collect(
        site,
        registry,
        tls,
        &format!("key = {:?}\n", pem.display().to_string()),
    )
}

#[test]
fn an_image_signed_with_a_key_the_legacy_cosign_way_passes_at_a_site_that_trusts_that_key() {
    let Some((mut site, registry, tls, manifest, _)) = site_with_image(841) else {
        return;
    };
    let key = site.world.sigstore.managed_key("cosign");
    let archive = collect_signed_with_key(&mut site, &registry, &tls, &manifest, &key);
    site.policy(&key_policy(&key.public_pem().unwrap()));

    let report = import_passing(&site, &archive, &manifest);
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report}");
    assert_eq!(signatures[0]["ok"], true, "{report}");
    assert_eq!(signatures[0]["signer"], "vendor-key", "{report}");
    let key_id = key.key_id().unwrap();
    assert_eq!(
        signatures[0]["report"]["signer"],
        serde_json::json!({
            "kind": "public-key",
            "key_id": hex::encode(key_id),
            "hint": STANDARD.encode(key_id),
        }),
        "{report}"
    );
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}

#[test]
fn an_image_signed_with_a_key_the_legacy_cosign_way_fails_at_a_site_that_trusts_another_key() {
    let Some((mut site, registry, tls, manifest, _)) = site_with_image(851) else {
        return;
    };
    let key = site.world.sigstore.managed_key("cosign");
    let archive = collect_signed_with_key(&mut site, &registry, &tls, &manifest, &key);
    let other = site.world.sigstore.managed_key("someone else");
    site.policy(&key_policy(&other.public_pem().unwrap()));

    let outcome = site.import(&archive);
    assert_eq!(outcome.artifacts.len(), 1, "{outcome:?}");
    let tool = &outcome.artifacts[0];
    assert_eq!(tool.verdict, Verdict::Failed, "{outcome:?}");
    let report = site.report(tool.id);
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 1, "{report}");
    assert_eq!(signatures[0]["ok"], false, "{report}");
    // The bundle's key hint is unauthenticated, so the site tries the key it trusts: the
    // signature step is where another key's signature fails.
    let error = "signature: signature does not verify against the artifact";
    assert_eq!(signatures[0]["error"], error, "{report}");
    assert_eq!(
        report["problems"],
        serde_json::json!([format!("not signed by a trusted signer: {error}")]),
        "{report}"
    );
    // What the reader is shown beside it: the key the bundle names, and the one trusted.
    let seen = &signatures[0]["seen"];
    assert_eq!(
        seen["key_hint"],
        STANDARD.encode(key.key_id().unwrap()),
        "{report}"
    );
    assert_eq!(
        seen["expected"],
        serde_json::json!([{
            "name": "vendor-key",
            "identity": null,
            "issuer": null,
            "key_id": hex::encode(other.key_id().unwrap()),
        }]),
        "{report}"
    );
}

/// A Docker v2 manifest of one layer pushed to `repository`: its bytes.
fn push_docker_manifest(registry: &Registry, repository: &str, layer: &[u8]) -> Vec<u8> {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = registry.put_blob(repository, config).unwrap();
    let layer_digest = registry.put_blob(repository, layer).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": config_digest,
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "digest": layer_digest,
            "size": layer.len(),
        }],
    }))
    .unwrap()
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A list (Docker's or OCI's) of `children` (bytes, media type, platform).
fn list(media_type: &str, children: &[(&[u8], &str, Option<&str>)]) -> Vec<u8> {
    let manifests: Vec<_> = children
        .iter()
        .map(|(bytes, child_type, platform)| {
            let mut d = serde_json::json!({
                "mediaType": child_type,
                "digest": sha256(bytes),
                "size": bytes.len(),
            });
            if let Some((os, arch)) = platform.and_then(|p| p.split_once('/')) {
                d["platform"] = serde_json::json!({"os": os, "architecture": arch});
            }
            d
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": manifests,
    }))
    .unwrap()
}

/// Pushes a Docker manifest list of two Docker manifests as `release/tool:1.0` (with
/// `nested`, an OCI index naming that list and one of its manifests again), signs it, collects
/// it whole and imports it: the report, which must pass.
fn docker_list_passes(seed: u64, nested: bool) -> Option<serde_json::Value> {
    let (mut site, registry, tls, _, _) = site_with_image(seed)?;
    let amd = push_docker_manifest(&registry, "release/tool", b"amd64 layer");
    let arm = push_docker_manifest(&registry, "release/tool", b"arm64 layer");
    let docker_list = list(
        DOCKER_LIST,
        &[
            (&amd, DOCKER_MANIFEST, Some("linux/amd64")),
            (&arm, DOCKER_MANIFEST, Some("linux/arm64")),
        ],
    );
    let mut pushed = vec![(&amd, DOCKER_MANIFEST), (&arm, DOCKER_MANIFEST)];
    let top = if nested {
        pushed.push((&docker_list, DOCKER_LIST));
        list(
            OCI_INDEX,
            &[
                (&docker_list, DOCKER_LIST, None),
                (&amd, DOCKER_MANIFEST, Some("linux/amd64")),
            ],
        )
    } else {
        docker_list.clone()
    };
    for (bytes, media_type) in pushed {
        registry
            .put_manifest("release/tool", &sha256(bytes), media_type, bytes)
            .unwrap();
    }
    let top_type = if nested { OCI_INDEX } else { DOCKER_LIST };
    let manifest = OciManifest {
        digest: registry
            .put_manifest("release/tool", "1.0", top_type, &top)
            .unwrap(),
        size: top.len(),
    };
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let signature = site.world.sigstore.sign_blob(&top, &opts).unwrap();
    registry
        .attach(
            "release/tool",
            &manifest.digest,
            manifest.size,
            BUNDLE_V03_MEDIA_TYPE,
            &signature.json,
        )
        .unwrap();
    let archive = collect(&mut site, &registry, &tls, "");
    let report = import_passing(&site, &archive, &manifest);

    // The site's registry serves it whole: every manifest with its type, every blob.
    let index = airlock_appliance::registry::Cache::default()
        .index(&site.app)
        .unwrap();
    assert_eq!(index.skipped, [], "nothing skipped");
    let served = &index.repositories["release-team/tool"];
    let object = |digest: &str| {
        served
            .find(&digest.parse().unwrap())
            .map(|(_, object)| object.clone())
    };
    for (bytes, media_type) in [
        (&top, top_type),
        (&docker_list, DOCKER_LIST),
        (&amd, DOCKER_MANIFEST),
        (&arm, DOCKER_MANIFEST),
    ] {
        match object(&sha256(bytes)) {
            Some(airlock_appliance::registry::Object::Manifest { media_type: t, .. }) => {
                assert_eq!(t, media_type);
            }
            other => panic!("{media_type}: {other:?}"),
        }
    }
    for manifest in [&amd, &arm] {
        let doc: serde_json::Value = serde_json::from_slice(manifest).unwrap();
        for blob in [&doc["config"], &doc["layers"][0]] {
            assert!(
                matches!(
                    object(blob["digest"].as_str().unwrap()),
                    Some(airlock_appliance::registry::Object::Blob { .. })
                ),
                "{blob}"
            );
        }
    }
    Some(report)
}

/// Real registries still serve many images as Docker manifest lists: collected whole, the
/// site checks the list whole and the image passes.
#[test]
fn a_docker_manifest_list_collected_whole_passes_at_the_site() {
    let Some(report) = docker_list_passes(861, false) else {
        return;
    };
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}

/// An index may name indexes (and name a manifest twice): what `create` collects whole the
/// site checks whole.
#[test]
fn a_nested_index_collected_whole_passes_at_the_site() {
    let Some(report) = docker_list_passes(871, true) else {
        return;
    };
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
}
