//! Parse + verify of the conformance suite's `happy-path-v0.3` bundle with the trusted root
//! prepared once, and the signature checks that bound it from below.

use std::path::Path;

use airlock_trust_root::{
    Artifact, Bundle, CertificateIdentity, Matcher, SignerPolicy, TrustedRoot, Verifier,
};
use criterion::{Criterion, criterion_group, criterion_main};

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn bench(c: &mut Criterion) {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/testdata");
    if !testdata.is_dir() {
        eprintln!("skipped: ../shared/testdata is absent");
        return;
    }
    let suite = testdata.join("sigstore-conformance/bundle-verify");
    let root = TrustedRoot::from_json(
        &std::fs::read(testdata.join(
            "sigstore-tuf/targets/6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json",
        ))
        .expect("production trusted root"),
    )
    .expect("trusted root parses");
    let verifier = Verifier::new(root);
    let bundle_json =
        std::fs::read(suite.join("happy-path-v0.3/bundle.sigstore.json")).expect("bundle");
    let artifact = std::fs::read(suite.join("a.txt")).expect("artifact");
    let policy = SignerPolicy::Keyless(CertificateIdentity {
        subject: Matcher::exact(IDENTITY).expect("identity"),
        issuer: Matcher::exact(ISSUER).expect("issuer"),
    });

    c.bench_function("happy-path-v0.3 parse+verify", |b| {
        b.iter(|| {
            let bundle = Bundle::from_json(&bundle_json).expect("parses");
            verifier
                .verify(&bundle, Artifact::Bytes(&artifact), &policy)
                .expect("verifies")
        })
    });
    c.bench_function("happy-path-v0.3 parse only", |b| {
        b.iter(|| Bundle::from_json(&bundle_json).expect("parses"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
