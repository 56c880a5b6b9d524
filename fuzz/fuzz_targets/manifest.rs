//! Fuzz the manifest parser and check a round trip: whatever `Manifest::from_json` accepts,
//! its own serialization (`to_json`, the bytes a publisher signs) parses back to an equal
//! manifest and serializes to the same bytes again.
#![no_main]

use airlock_bundler::archive::Manifest;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// With `AIRLOCK_FUZZ_VERBOSE` set, each input's outcome is printed.
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("AIRLOCK_FUZZ_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let parsed = Manifest::from_json(data);
    if verbose() {
        match &parsed {
            Ok(m) => eprintln!(
                "accepted: {} blobs, created {}",
                m.blobs.len(),
                m.created_at
            ),
            Err(e) => eprintln!("{e}"),
        }
    }
    let Ok(manifest) = parsed else {
        return;
    };
    let json = manifest.to_json();
    let again = match Manifest::from_json(&json) {
        Ok(again) => again,
        Err(e) => panic!(
            "to_json output does not parse back: {e}\n{}",
            String::from_utf8_lossy(&json)
        ),
    };
    assert_eq!(again, manifest, "round trip changed the manifest");
    assert_eq!(again.to_json(), json, "serialization is not stable");
});
