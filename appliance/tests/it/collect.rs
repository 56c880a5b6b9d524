//! End to end from a registry: an image pushed with `skopeo` to Debian's `docker-registry`
//! (TLS, htpasswd), signed by the world's trusted pipeline with provenance and an SBOM as OCI
//! 1.1 referrers, packed by `create` from `image = "…:tag"` alone, imported by the site: the
//! image passes with every piece of evidence the registry held.

use std::path::Path;

use airlock_appliance::pipeline::Verdict;
use airlock_bundler::collect::CollectOptions;
use airlock_tests::{
    BUILDER_ID, BUNDLE_V03_MEDIA_TYPE, ISSUER, OciLayout, Predicate, Provenance, Registry,
    RegistryAuth, RegistryOptions, SOURCE_URI, SignOptions, TRUSTED_IDENTITY, TlsMaterial,
};

use crate::site::Site;

const USER: &str = "release-bot";
const PASSWORD: &str = "correct horse";

#[test]
fn an_image_collected_from_a_registry_with_its_referrers_passes_at_the_site() {
    let setup = "bash tests/setup-registry.sh";
    let outside = |p: &str| crate::outside::installed_tool(Path::new(p), setup);
    let (Some(binary), Some(htpasswd), Some(skopeo)) = (
        outside("/usr/bin/docker-registry"),
        outside("/usr/bin/htpasswd"),
        outside("/usr/bin/skopeo"),
    ) else {
        return;
    };
    let mut site = Site::new(811);
    let dir = site.dir.path().to_owned();
    let now = chrono::Utc::now().timestamp();
    let tls = TlsMaterial::new(812, now - 3600, now + 3600).unwrap();
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
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);
    let signature = site.world.sigstore.sign_blob(&bytes, &opts).unwrap();
    let provenance = site
        .world
        .sigstore
        .attest(
            "release/tool",
            hex::decode(manifest.digest.trim_start_matches("sha256:"))
                .unwrap()
                .try_into()
                .unwrap(),
            &Predicate::SlsaV1(Provenance {
                builder_id: BUILDER_ID.into(),
                build_type: "https://ci.example.internal/build/v1".into(),
                source_uri: SOURCE_URI.into(),
                source_commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
            }),
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
    std::fs::write(dir.join("registry-ca.pem"), tls.ca_pem()).unwrap();
    let tables = format!(
        "\n[[artifact]]\nname = \"tool\"\nimage = \"{host}/release/tool:1.0\"\n\n[[registry]]\nhost = \"{host}\"\nca_file = {ca:?}\n",
        host = registry.host(),
        ca = dir.join("registry-ca.pem").display().to_string(),
    );
    let state = site.witness_state();
    let archive = site
        .world
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
        .unwrap();

    let outcome = site.import(&archive);
    assert_eq!(outcome.artifacts.len(), 1, "{outcome:?}");
    let tool = &outcome.artifacts[0];
    assert_eq!(tool.verdict, Verdict::Passed, "{outcome:?}");
    let report = site.report(tool.id);
    assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(report["attestations"].as_array().unwrap().len(), 1);
    assert_eq!(report["sboms"].as_array().unwrap().len(), 1);
    assert!(
        report["provenance"].to_string().contains(BUILDER_ID),
        "{report}"
    );
    assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
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
}
