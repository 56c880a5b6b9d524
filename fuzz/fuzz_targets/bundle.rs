//! Fuzz the bundle parser, and the verifier on whatever parses, against the conformance suite's
//! production-like trusted root shape minted from a fixed document.
#![no_main]

use airlock_trust_root::{Artifact, Bundle, CertificateIdentity, Matcher, SignerPolicy, TrustedRoot, Verifier};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A trusted root read once from `AIRLOCK_FUZZ_TRUSTED_ROOT` (if set), so verification paths
/// past parsing are exercised too.
fn verifier() -> Option<&'static Verifier> {
    static VERIFIER: OnceLock<Option<Verifier>> = OnceLock::new();
    VERIFIER
        .get_or_init(|| {
            let path = std::env::var_os("AIRLOCK_FUZZ_TRUSTED_ROOT")?;
            let json = std::fs::read(path).ok()?;
            TrustedRoot::from_json(&json).ok().map(Verifier::new)
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::from_json(data) else {
        return;
    };
    if let Some(verifier) = verifier() {
        let policy = SignerPolicy::Keyless(CertificateIdentity {
            subject: Matcher::Exact("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()),
            issuer: Matcher::Exact("https://token.actions.githubusercontent.com".into()),
        });
        let _ = verifier.verify(&bundle, Artifact::Bytes(b"123\n"), &policy);
    }
});
