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

/// The signature checks a keyless v0.3 bundle cannot avoid: the leaf certificate's signature by
/// the P-384 Fulcio intermediate, and four P-256 checks (SCT, artifact signature, SET,
/// checkpoint). Their sum is the floor under "parse+verify".
fn signature_floor(c: &mut Criterion) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
    let rng = SystemRandom::new();
    for (name, signing, verifying) in [
        (
            "ecdsa p256 verify",
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &signature::ECDSA_P256_SHA256_ASN1,
        ),
        (
            "ecdsa p384 verify",
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            &signature::ECDSA_P384_SHA384_ASN1,
        ),
    ] {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).expect("key");
        let message = [7u8; 2048];
        let sig = pair.sign(&rng, &message).expect("sign");
        let public = UnparsedPublicKey::new(verifying, pair.public_key().as_ref().to_vec());
        c.bench_function(name, |b| {
            b.iter(|| public.verify(&message, sig.as_ref()).expect("verifies"))
        });
    }
}

criterion_group!(benches, bench, signature_floor);
criterion_main!(benches);
