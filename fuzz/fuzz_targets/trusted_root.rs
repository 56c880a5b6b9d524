//! Fuzz the trusted-root parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = airlock_trust_root::TrustedRoot::from_json(data);
});
