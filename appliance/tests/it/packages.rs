//! End to end from package registries: an npm package with SLSA provenance naming its
//! tarball by SHA-512 and a PyPI wheel with a PEP 740 publish attestation, served by the
//! testkit's loopback registry and signed by the world's trusted pipeline, packed by `create`
//! from `npm = …` and `pypi = …` alone and imported by the site: both pass.

use airlock_appliance::pipeline::Verdict;
use airlock_bundler::collect::CollectOptions;
use airlock_tests::{
    BUILDER_ID, DigestAlgorithm, ISSUER, PYPI_PUBLISH_PREDICATE, PackageServer, Predicate,
    Provenance, PypiFile, SOURCE_URI, SignOptions, TRUSTED_IDENTITY,
};

use crate::site::Site;

/// Publishes `@release/tool@1.0.0` (npm, with SLSA provenance) and the wheel of `tool==1.0.0`
/// (PyPI, with a publish attestation) on `server`, signed by the world's trusted pipeline;
/// returns the spec tables that collect both (`tool-npm`, then `tool-wheel`).
pub(crate) fn publish_tool(site: &mut Site, server: &PackageServer) -> String {
    let opts = SignOptions::workload(TRUSTED_IDENTITY, ISSUER);

    let tarball = b"package/package.json: a tool packed for the site".to_vec();
    let provenance = site
        .world
        .sigstore
        .attest_bytes(
            "pkg:npm/@release/tool@1.0.0",
            &tarball,
            &[DigestAlgorithm::Sha512],
            &Predicate::SlsaV1(Provenance {
                builder_id: BUILDER_ID.into(),
                build_type: "https://ci.example.internal/build/v1".into(),
                source_uri: SOURCE_URI.into(),
                source_commit: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
            }),
            &opts,
        )
        .unwrap();
    server
        .publish_npm(
            "@release/tool",
            "1.0.0",
            &tarball,
            Some(&[("https://slsa.dev/provenance/v1", &provenance.json)]),
        )
        .unwrap();

    let wheel_name = "tool-1.0.0-py3-none-any.whl";
    let wheel = b"PK: a wheel for the site".to_vec();
    let publish = site
        .world
        .sigstore
        .attest_bytes(
            wheel_name,
            &wheel,
            &[DigestAlgorithm::Sha256],
            &Predicate::Custom {
                predicate_type: PYPI_PUBLISH_PREDICATE.into(),
                predicate: serde_json::Value::Null,
            },
            &opts,
        )
        .unwrap();
    server
        .publish_pypi(
            "tool",
            "1.0.0",
            &[PypiFile {
                name: wheel_name,
                bytes: &wheel,
                bundles: vec![publish.json],
            }],
        )
        .unwrap();

    format!(
        "\n[npm]\nregistry = \"{url}\"\n\n[pypi]\nindex = \"{url}\"\n\n\
         [[artifact]]\nname = \"tool-npm\"\nnpm = \"@release/tool@1.0.0\"\n\n\
         [[artifact]]\nname = \"tool-wheel\"\npypi = \"tool==1.0.0\"\nfile = \"{wheel_name}\"\n",
        url = server.url(),
    )
}

#[test]
fn npm_and_pypi_packages_collected_from_their_registries_pass_at_the_site() {
    let mut site = Site::new(821);
    let dir = site.dir.path().to_owned();
    let server = PackageServer::start_https(site.world.tls()).unwrap();
    let tables = publish_tool(&mut site, &server);
    let state = site.witness_state();
    let archive = site
        .world
        .archive_tables(
            "packages",
            1,
            &tables,
            Some(&state),
            CollectOptions {
                cache: Some(dir.join("cache")),
                ..CollectOptions::default()
            },
        )
        .unwrap()
        .unwrap();

    let outcome = site.import(&archive);
    assert_eq!(outcome.artifacts.len(), 2, "{outcome:?}");
    for artifact in &outcome.artifacts {
        assert_eq!(artifact.verdict, Verdict::Passed, "{outcome:?}");
        let report = site.report(artifact.id);
        assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
        assert_eq!(report["problems"].as_array().unwrap().len(), 0, "{report}");
    }
    let npm = site.report(outcome.artifacts[0].id);
    assert_eq!(npm["attestations"].as_array().unwrap().len(), 1);
    assert!(npm["provenance"].to_string().contains(BUILDER_ID), "{npm}");
}
