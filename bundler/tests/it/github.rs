//! `create` with `github = "owner/repo@tag"` against the testkit's loopback GitHub (the REST
//! API's release document, asset URLs redirecting to a CDN on another origin, artifact
//! attestations by digest, paginated), every asset and attestation minted by the kit's
//! private Sigstore; a PyPI pattern matching several files; and package downloads running
//! concurrently.

use airlock_bundler::collect::{
    CollectOptions, FileSelect, GithubRelease, PackageIndexes, PackageRequest, PackageSource,
    RegistryAccess,
};
use airlock_tests::{
    DigestAlgorithm, GithubAsset, GithubServer, Hit, Predicate, PypiFile, SignOptions,
};
use serde_json::json;

use crate::packages::{Fixture, IDENTITY, ISSUER, provenance, run, stderr};

const RELEASE: &str = "org/tool@v1.0.0";
const LINUX: &str = "tool-linux-amd64.tar.gz";
const DARWIN: &str = "tool-darwin-arm64.tar.gz";

/// An SLSA provenance bundle for `bytes` named `name`, signed by the pipeline.
fn slsa(f: &mut Fixture, name: &str, bytes: &[u8]) -> Vec<u8> {
    let opts = SignOptions::workload(IDENTITY, ISSUER);
    f.sigstore
        .attest_bytes(
            name,
            bytes,
            &[DigestAlgorithm::Sha256],
            &provenance(),
            &opts,
        )
        .unwrap()
        .json
}

/// A CycloneDX SBOM attestation for `bytes`, as `actions/attest-sbom` makes one.
fn sbom(f: &mut Fixture, name: &str, bytes: &[u8]) -> Vec<u8> {
    let opts = SignOptions::workload(IDENTITY, ISSUER);
    let predicate = Predicate::Custom {
        predicate_type: "https://cyclonedx.org/bom".into(),
        predicate: json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"type": "library", "name": "zlib", "version": "1.3.1"}
        ]}),
    };
    f.sigstore
        .attest_bytes(name, bytes, &[DigestAlgorithm::Sha256], &predicate, &opts)
        .unwrap()
        .json
}

fn github_table(assets: &str) -> String {
    format!("\n[[artifact]]\ngithub = \"{RELEASE}\"\nassets = [{assets}]\n")
}

fn api_arg(github: &GithubServer) -> [String; 2] {
    ["--github-api".to_owned(), github.api_url().to_owned()]
}

#[test]
fn github_release_assets_are_collected_with_their_attestations_verify_and_the_token_stays_with_the_api()
 {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"the tool for linux, released".to_vec();
    let darwin = b"the tool for darwin, released".to_vec();
    let attestations = vec![slsa(&mut f, LINUX, &linux), sbom(&mut f, LINUX, &linux)];
    let darwin_slsa = slsa(&mut f, DARWIN, &darwin);
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[
                GithubAsset {
                    name: LINUX,
                    bytes: &linux,
                    digest: true,
                    attestations,
                },
                // An older release's asset: no digest listed, attestations found by the
                // digest it hashes to.
                GithubAsset {
                    name: DARWIN,
                    bytes: &darwin,
                    digest: false,
                    attestations: vec![darwin_slsa],
                },
                GithubAsset {
                    name: "checksums.txt",
                    bytes: b"not asked for",
                    digest: true,
                    attestations: vec![],
                },
            ],
        )
        .unwrap();
    // One attestation per page: the client follows the Link header.
    github.set_page_size(1);
    f.publish_log();
    let spec = f.spec("github", &github_table("\"tool-*.tar.gz\""));
    let [flag, api] = api_arg(&github);
    let out = run(f
        .create_command(&spec, "github.airlock.tar.zst", &[&flag, &api, "--json"])
        .env("GITHUB_TOKEN", "ghp_s3cret"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let bearer = Some("Bearer ghp_s3cret".to_owned());
    assert_eq!(
        github.api_hits(&paths.release),
        [Hit {
            authorization: bearer.clone(),
            accept: Some("application/vnd.github+json".into())
        }]
    );
    for name in [LINUX, DARWIN] {
        assert_eq!(
            github.api_hits(&paths.assets[name]),
            [Hit {
                authorization: bearer.clone(),
                accept: Some("application/octet-stream".into())
            }]
        );
        // The CDN the API redirected to never sees the token.
        assert_eq!(
            github.cdn_hits(&paths.downloads[name]),
            [Hit {
                authorization: None,
                accept: Some("application/octet-stream".into())
            }]
        );
    }
    let pages = github.api_hits(&paths.attestations[LINUX]);
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages.iter().all(|h| h.authorization == bearer));

    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = summary["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2);
    let l = &packages[0];
    assert_eq!(l["ecosystem"], "github");
    assert_eq!(l["name"], format!("{RELEASE}/{LINUX}").as_str());
    assert_eq!(l["source"], RELEASE);
    assert_eq!(
        l["metadata_url"],
        format!("{}{}", github.api_url(), paths.release).as_str()
    );
    assert_eq!(
        l["file"]["url"],
        format!("{}{}", github.api_url(), paths.assets[LINUX]).as_str()
    );
    assert_eq!(l["file"]["sha256"], airlock_tests::sha256(&linux).as_str());
    assert_eq!(
        l["evidence_url"],
        format!(
            "{}{}?per_page=100",
            github.api_url(),
            paths.attestations[LINUX]
        )
        .as_str()
    );
    let kinds: Vec<&serde_json::Value> = l["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["kinds"])
        .collect();
    assert_eq!(
        kinds,
        [
            &json!(["bundle", "attestation"]),
            &json!(["attestation"]),
            &json!(["sbom"])
        ]
    );
    let d = &packages[1];
    assert_eq!(d["name"], format!("{RELEASE}/{DARWIN}").as_str());
    assert_eq!(d["file"]["sha256"], airlock_tests::sha256(&darwin).as_str());
    assert_eq!(
        d["evidence_url"],
        format!(
            "{}{}?per_page=100",
            github.api_url(),
            paths.attestations[DARWIN]
        )
        .as_str()
    );

    let manifest = f.inspect("github.airlock.tar.zst");
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 2);
    let a = &artifacts[0];
    assert_eq!(a["name"], format!("{RELEASE}/{LINUX}").as_str());
    assert_eq!(a["files"][0]["path"], LINUX);
    assert_eq!(a["evidence"]["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(a["evidence"]["attestations"].as_array().unwrap().len(), 2);
    assert_eq!(a["evidence"]["sboms"].as_array().unwrap().len(), 1);
    assert_eq!(artifacts[1]["files"][0]["path"], DARWIN);

    let verified = f.verify("github.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(
        text.contains(&format!("passed    {RELEASE}/{LINUX}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("passed    {RELEASE}/{DARWIN}")),
        "{text}"
    );
    assert!(text.contains("CycloneDX 1.5 with 1 components"), "{text}");
}

#[test]
fn dry_run_lists_the_assets_and_the_signers_their_attestations_name_and_downloads_nothing() {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"never downloaded".to_vec();
    let attestations = vec![slsa(&mut f, LINUX, &linux)];
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[GithubAsset {
                name: LINUX,
                bytes: &linux,
                digest: true,
                attestations,
            }],
        )
        .unwrap();
    let spec = f.spec("dry", &github_table(&format!("\"{LINUX}\"")));
    let [flag, api] = api_arg(&github);
    let out = f.create(&spec, "never.airlock.tar.zst", &[&flag, &api, "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let api = github.api_url();
    assert!(
        text.contains(&format!(
            "github {RELEASE}: {RELEASE}\n  file {LINUX} ({}, 16 bytes) to fetch from {api}{}\n  1 bundle(s) from {api}{}?per_page=100\n",
            airlock_tests::sha256(&linux),
            paths.assets[LINUX],
            paths.attestations[LINUX],
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            " bundle+attestation predicate https://slsa.dev/provenance/v1, names signer {IDENTITY} ({ISSUER})\n"
        )),
        "{text}"
    );
    assert!(github.api_hits(&paths.assets[LINUX]).is_empty());
    assert!(github.cdn_hits(&paths.downloads[LINUX]).is_empty());
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

#[test]
fn an_asset_that_does_not_match_its_digest_is_refused_naming_it_and_nothing_is_written() {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"the asset as released".to_vec();
    let attestations = vec![slsa(&mut f, LINUX, &linux)];
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[GithubAsset {
                name: LINUX,
                bytes: &linux,
                digest: true,
                attestations,
            }],
        )
        .unwrap();
    f.publish_log();
    github.put_download(&paths.downloads[LINUX], b"the asset swapped in!".to_vec());
    let spec = f.spec("swapped", &github_table(&format!("\"{LINUX}\"")));
    let [flag, api] = api_arg(&github);
    let out = f.create(&spec, "swapped.airlock.tar.zst", &[&flag, &api]);
    assert_eq!(out.status.code(), Some(1));
    let released = airlock_tests::sha256(&linux);
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: GitHub release {RELEASE}: file {LINUX} {released}: digest mismatch (expected {released}, received {})\n",
            airlock_tests::sha256(b"the asset swapped in!")
        )
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

#[test]
fn an_attestation_for_another_digest_fails_preflight_naming_where_it_came_from() {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"the asset as released".to_vec();
    let other = slsa(&mut f, LINUX, b"some other build");
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[GithubAsset {
                name: LINUX,
                bytes: &linux,
                digest: true,
                attestations: vec![other],
            }],
        )
        .unwrap();
    f.publish_log();
    let spec = f.spec("other", &github_table(&format!("\"{LINUX}\"")));
    let [flag, api] = api_arg(&github);
    let out = f.create(&spec, "other.airlock.tar.zst", &[&flag, &api]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("airlock-bundler create: preflight: 1 of 1 artifact(s) failed: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(&format!("{RELEASE} (github {RELEASE}): bundle sha256:")),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "(from {}{}?per_page=100)",
            github.api_url(),
            paths.attestations[LINUX]
        )),
        "{line}"
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());
}

#[test]
fn an_asset_without_attestations_is_refused_unless_allowed_unsigned() {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"an unattested asset".to_vec();
    let darwin = b"an unattested asset without a digest".to_vec();
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[
                GithubAsset {
                    name: LINUX,
                    bytes: &linux,
                    digest: true,
                    attestations: vec![],
                },
                GithubAsset {
                    name: DARWIN,
                    bytes: &darwin,
                    digest: false,
                    attestations: vec![],
                },
            ],
        )
        .unwrap();
    f.publish_log();
    let [flag, api] = api_arg(&github);
    let looked = |name: &str| {
        format!(
            "{}{}?per_page=100",
            github.api_url(),
            paths.attestations[name]
        )
    };

    // Known by its digest: refused before anything is downloaded.
    let spec = f.spec("unsigned", &github_table(&format!("\"{LINUX}\"")));
    let out = f.create(&spec, "unsigned.airlock.tar.zst", &[&flag, &api]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: GitHub release {RELEASE}: no provenance: no Sigstore bundle signs {LINUX} (looked at {}); --allow-unsigned packs it anyway\n",
            looked(LINUX)
        )
    );
    assert!(github.cdn_hits(&paths.downloads[LINUX]).is_empty());

    // Without a digest: refused once it is hashed, nothing written.
    let spec = f.spec("nodigest", &github_table(&format!("\"{DARWIN}\"")));
    let out = f.create(&spec, "nodigest.airlock.tar.zst", &[&flag, &api]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "airlock-bundler create: GitHub release {RELEASE}: no provenance: no Sigstore bundle signs {DARWIN} (looked at {}); --allow-unsigned packs it anyway\n",
            looked(DARWIN)
        )
    );
    assert!(f.leftovers().is_empty(), "{:?}", f.leftovers());

    // Allowed: packed and flagged.
    let spec = f.spec("allowed", &github_table(&format!("\"{LINUX}\"")));
    let out = f.create(
        &spec,
        "allowed.airlock.tar.zst",
        &[&flag, &api, "--allow-unsigned", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["packages"][0]["unsigned"], true);
    let manifest = f.inspect("allowed.airlock.tar.zst");
    assert_eq!(manifest["artifacts"][0]["name"], RELEASE);
    assert_eq!(manifest["artifacts"][0]["files"][0]["path"], LINUX);
}

#[test]
fn a_pypi_pattern_matching_several_files_packs_each_as_its_own_artifact_with_its_own_evidence() {
    const WHEEL: &str = "airlock_tool-1.0.0-py3-none-any.whl";
    const SDIST: &str = "airlock_tool-1.0.0.tar.gz";
    let mut f = Fixture::new();
    let wheel = b"PK: a wheel".to_vec();
    let sdist = b"an sdist".to_vec();
    let wheel_bundle = slsa(&mut f, WHEEL, &wheel);
    let sdist_bundle = slsa(&mut f, SDIST, &sdist);
    f.server
        .publish_pypi(
            "airlock-tool",
            "1.0.0",
            &[
                PypiFile {
                    name: WHEEL,
                    bytes: &wheel,
                    bundles: vec![wheel_bundle],
                },
                PypiFile {
                    name: SDIST,
                    bytes: &sdist,
                    bundles: vec![sdist_bundle],
                },
            ],
        )
        .unwrap();
    f.publish_log();
    let spec = f.spec(
        "several",
        "\n[[artifact]]\nname = \"tool\"\npypi = \"airlock-tool==1.0.0\"\npattern = \"airlock_tool-1.0.0*\"\n",
    );
    let out = f.create(&spec, "several.airlock.tar.zst", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest = f.inspect("several.airlock.tar.zst");
    let artifacts = manifest["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 2);
    for (a, (file, bytes)) in artifacts.iter().zip([(WHEEL, &wheel), (SDIST, &sdist)]) {
        assert_eq!(a["name"], format!("tool/{file}").as_str());
        assert_eq!(a["files"][0]["path"], file);
        assert_eq!(a["digest"], airlock_tests::sha256(bytes).as_str());
        assert_eq!(a["evidence"]["bundles"].as_array().unwrap().len(), 1);
    }
    assert_ne!(
        artifacts[0]["evidence"]["bundles"],
        artifacts[1]["evidence"]["bundles"]
    );
    let verified = f.verify("several.airlock.tar.zst");
    assert_eq!(verified.status.code(), Some(0));
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(text.contains(&format!("passed    tool/{WHEEL}")), "{text}");
    assert!(text.contains(&format!("passed    tool/{SDIST}")), "{text}");
}

/// Collects four attested assets with `concurrency` downloads at once, the CDN holding each
/// download until two are in flight (`hold`), and returns the most it saw at once.
fn downloads_in_flight(concurrency: usize, hold: bool) -> usize {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let names = ["a.tar.gz", "b.tar.gz", "c.tar.gz", "d.tar.gz"];
    let mut assets = Vec::new();
    for name in names {
        let bytes = format!("asset {name}").into_bytes();
        let bundle = slsa(&mut f, name, &bytes);
        assets.push((name, bytes, bundle));
    }
    let published: Vec<GithubAsset<'_>> = assets
        .iter()
        .map(|(name, bytes, bundle)| GithubAsset {
            name,
            bytes,
            digest: true,
            attestations: vec![bundle.clone()],
        })
        .collect();
    github
        .publish_release("org", "tool", "v1.0.0", &published)
        .unwrap();
    if hold {
        github.hold_downloads(2);
    }
    let request = PackageRequest {
        name: "tool".into(),
        source: PackageSource::Github {
            release: GithubRelease::parse(RELEASE).unwrap(),
            assets: vec![FileSelect::Pattern("*.tar.gz".into())],
        },
        local_bundles: 0,
    };
    let indexes = PackageIndexes {
        github: url::Url::parse(github.api_url()).unwrap(),
        ..Default::default()
    };
    let access = RegistryAccess {
        extra_ca_pem: Some(f.tls.ca_pem().into_bytes()),
        ..Default::default()
    };
    let collected = airlock_bundler::collect::collect_packages(
        &[request],
        &indexes,
        &access,
        &CollectOptions {
            concurrency,
            ..CollectOptions::default()
        },
        &f.path("work"),
        &airlock_bundler::create::NoProgress,
    )
    .unwrap();
    let names_collected: Vec<&str> = collected
        .iter()
        .map(|c| c.plan.file.name.as_str())
        .collect();
    assert_eq!(names_collected, names);
    for (c, (_, bytes, _)) in collected.iter().zip(&assets) {
        assert_eq!(&std::fs::read(&c.file.path).unwrap(), bytes);
        assert_eq!(c.evidence.len(), 1);
    }
    github.max_downloads_in_flight()
}

#[test]
fn package_files_download_concurrently_up_to_the_limit() {
    assert!(downloads_in_flight(4, true) >= 2);
    assert_eq!(downloads_in_flight(1, false), 1);
}

/// A real bundle from a GitHub Actions workflow (public-good Rekor v2, a timestamp authority's
/// token) with its real artifact, served as a release asset and its attestation by the loopback
/// GitHub: collected by digest, and the bundle as collected verifying against the public-good
/// trusted root for that asset and workflow identity.
#[test]
fn a_real_github_actions_bundle_is_collected_as_a_release_attestation_and_verifies() {
    const CASE: &str = "sigstore-realworld/pgi-rekor2-run-30183326061";
    const ROOT: &str = "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json";
    let Some(case) = crate::outside::shared_testdata(CASE) else {
        return;
    };
    let Some(root) = crate::outside::shared_testdata(ROOT) else {
        return;
    };
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("meta.json")).unwrap()).unwrap();
    let (identity, issuer) = (
        meta["identity"].as_str().unwrap(),
        meta["issuer"].as_str().unwrap(),
    );
    let asset = std::fs::read(case.join("artifact")).unwrap();
    let bundle = std::fs::read(case.join("bundle.sigstore.json")).unwrap();
    let f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    github
        .publish_release(
            "tkgsn",
            "sigstore-public-good-instance-test",
            "run-30183326061",
            &[GithubAsset {
                name: "rekor-v2-test-subject.json",
                bytes: &asset,
                digest: true,
                attestations: vec![bundle.clone()],
            }],
        )
        .unwrap();
    let request = PackageRequest {
        name: "subject".into(),
        source: PackageSource::Github {
            release: GithubRelease::parse(
                "tkgsn/sigstore-public-good-instance-test@run-30183326061",
            )
            .unwrap(),
            assets: vec![FileSelect::Exact("rekor-v2-test-subject.json".into())],
        },
        local_bundles: 0,
    };
    let indexes = PackageIndexes {
        github: url::Url::parse(github.api_url()).unwrap(),
        ..Default::default()
    };
    let access = RegistryAccess {
        extra_ca_pem: Some(f.tls.ca_pem().into_bytes()),
        ..Default::default()
    };
    let collected = airlock_bundler::collect::collect_packages(
        &[request],
        &indexes,
        &access,
        &CollectOptions::default(),
        &f.path("work"),
        &airlock_bundler::create::NoProgress,
    )
    .unwrap();
    let [package] = collected.as_slice() else {
        panic!("one asset: {collected:?}");
    };
    assert_eq!(std::fs::read(&package.file.path).unwrap(), asset);
    assert_eq!(package.evidence.len(), 1);
    // Packed as GitHub served it, not re-encoded.
    assert_eq!(
        std::fs::read(&package.evidence[0].file.path).unwrap(),
        bundle.trim_ascii()
    );
    assert_eq!(
        package.plan.evidence[0].signer.as_deref(),
        Some(format!("{identity} ({issuer})").as_str())
    );
    let out = run(crate::packages::bin()
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&package.evidence[0].file.path)
        .arg("--trusted-root")
        .arg(&root)
        .arg("--certificate-identity")
        .arg(identity)
        .arg("--certificate-oidc-issuer")
        .arg(issuer)
        .arg(&package.file.path));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// GitHub may give an attestation only by `bundle_url` (its storage, snappy-compressed): the
/// bundle is fetched from there without the token, decompressed, packed and verifies; bytes
/// that are not snappy are listed as ignored with why, and the asset is then unsigned.
#[test]
fn an_attestation_given_only_by_its_compressed_bundle_url_is_fetched_without_the_token() {
    let mut f = Fixture::new();
    let github = GithubServer::start_https(&f.tls).unwrap();
    let linux = b"the tool for linux, attested in storage".to_vec();
    let paths = github
        .publish_release(
            "org",
            "tool",
            "v1.0.0",
            &[GithubAsset {
                name: LINUX,
                bytes: &linux,
                digest: true,
                attestations: vec![],
            }],
        )
        .unwrap();
    let attestations = &paths.attestations[LINUX];
    github
        .set_attestations_by_url(attestations, &[slsa(&mut f, LINUX, &linux)], false)
        .unwrap();
    f.publish_log();
    let spec = f.spec("stored", &github_table(&format!("\"{LINUX}\"")));
    let [flag, api] = api_arg(&github);
    let out = run(f
        .create_command(&spec, "stored.airlock.tar.zst", &[&flag, &api])
        .env("GITHUB_TOKEN", "ghp_s3cret"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stored = format!("/attestation-bundles{attestations}/0.snappy");
    assert_eq!(
        github.cdn_hits(&stored),
        [Hit {
            authorization: None,
            accept: Some("*/*".into())
        }]
    );

    // Not snappy: ignored, named, and the asset has no signature left.
    github
        .set_attestations_by_url(attestations, &[slsa(&mut f, LINUX, &linux)], true)
        .unwrap();
    let out = f.create(
        &spec,
        "garbage.airlock.tar.zst",
        &[&flag, &api, "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    // The entry is named by where it is, not by the digest of bytes never read.
    let entry = format!(
        "    {}/attestation-bundles{attestations}/0.snappy (entry 0) ignored: its bundle_url is not a snappy block: snappy: corrupt input (invalid header)\n  UNSIGNED: no Sigstore bundle signs it\n",
        github.cdn_url()
    );
    assert!(listed.contains(&entry), "{listed}");
    let out = f.create(&spec, "garbage.airlock.tar.zst", &[&flag, &api]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("no provenance: no Sigstore bundle signs {LINUX}")),
        "{}",
        stderr(&out)
    );
}
