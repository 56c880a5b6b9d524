//! Fuzz the image walk that both sides make over documents a registry or an archive hands
//! them: the input is split at NUL bytes into documents, the first the root, and each
//! document is served by the digest of its bytes, as a registry or a layout would. Whatever
//! the documents say, the walk must end without panicking and read each document once.
#![no_main]

use std::collections::HashMap;

use airlock_bundler::archive::Sha256Digest;
use airlock_bundler::oci::{self, Held, OciError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut documents = data.split(|b| *b == 0);
    let Some(root) = documents.next() else {
        return;
    };
    let served: HashMap<Sha256Digest, &[u8]> = documents
        .map(|d| (Sha256Digest::of(d), d))
        .collect();
    let mut reads: HashMap<Sha256Digest, usize> = HashMap::new();
    let _ = oci::walk(
        Held {
            digest: Sha256Digest::of(root),
            bytes: root.to_vec(),
        },
        None,
        &mut |d: &Sha256Digest| {
            *reads.entry(*d).or_default() += 1;
            match served.get(d) {
                Some(bytes) => Ok((bytes.to_vec(), None)),
                None => Err(OciError::Malformed {
                    what: d.to_string(),
                    reason: "not served".to_owned(),
                }),
            }
        },
    );
    assert!(reads.values().all(|n| *n == 1), "a document read twice");
});
