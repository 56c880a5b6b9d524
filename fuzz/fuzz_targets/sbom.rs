//! Fuzz the streaming SBOM reader (hostile CycloneDX and SPDX files) against the JSON-value
//! reader used for attestation predicates. Neither may panic on any input. Whatever parses as
//! JSON is written back from its `serde_json::Value` (which keeps the last of duplicate keys,
//! where the streaming reader reads every occurrence) and both readers read that same
//! document: whenever the streaming one accepts it, the other reads the same summary
//! (format, components and their licences, tools, serial, creation time).
#![no_main]

use airlock_appliance::policy::inspect_sbom_value;
use airlock_appliance::sbom::read_sbom;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_sbom(data);
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let read = inspect_sbom_value(&value);
    let written = serde_json::to_vec(&value).expect("invariant: a JSON value serialises");
    if let Ok(streamed) = read_sbom(&written[..]) {
        assert_eq!(read, Ok(streamed), "the two readers disagree");
    }
});
