//! The artifact a bundle is checked against: its bytes, or its digests computed once by the
//! caller with every algorithm the bundle's evidence names (SHA-256 always, SHA-384 or SHA-512
//! when a message digest, a logged digest or an in-toto subject uses them).

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::io::{self, Read};

use crate::bundle::{Bundle, Content, Material};
use crate::dsse::Statement;
use crate::keys::HashAlgorithm;

/// The artifact a bundle is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    /// The artifact's bytes: every digest can be taken, and pure Ed25519 checked.
    Bytes(&'a [u8]),
    /// Only the artifact's SHA-256 (the conformance protocol's `sha256:<hex>` form). Evidence
    /// that binds the artifact by another algorithm cannot be checked with it.
    Sha256([u8; 32]),
    /// The digests a caller took in one pass over the artifact
    /// ([`ArtifactDigests::from_reader`] with [`Bundle::artifact_hashes`]).
    Digests(ArtifactDigests),
}

/// An artifact's digests: SHA-256 always, the others when the caller took them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactDigests {
    pub sha256: [u8; 32],
    pub sha384: Option<[u8; 48]>,
    pub sha512: Option<[u8; 64]>,
}

impl ArtifactDigests {
    /// Reads `reader` to its end once, hashing with SHA-256 and each algorithm in `also`.
    pub fn from_reader(mut reader: impl Read, also: &BTreeSet<HashAlgorithm>) -> io::Result<Self> {
        let mut contexts: Vec<_> = std::iter::once(HashAlgorithm::Sha256)
            .chain(also.iter().copied().filter(|a| *a != HashAlgorithm::Sha256))
            .map(|a| (a, a.context()))
            .collect();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            for (_, context) in &mut contexts {
                context.update(&buffer[..n]);
            }
        }
        let mut digests = Self {
            sha256: [0; 32],
            sha384: None,
            sha512: None,
        };
        for (algorithm, context) in contexts {
            digests.set(algorithm, context.finish().as_ref());
        }
        Ok(digests)
    }

    /// Digests of `bytes` with SHA-256 and each algorithm in `also`.
    pub fn of_bytes(bytes: &[u8], also: &BTreeSet<HashAlgorithm>) -> Self {
        let mut digests = Self {
            sha256: [0; 32],
            sha384: None,
            sha512: None,
        };
        digests.set(HashAlgorithm::Sha256, &HashAlgorithm::Sha256.digest(bytes));
        for algorithm in also {
            if *algorithm != HashAlgorithm::Sha256 {
                digests.set(*algorithm, &algorithm.digest(bytes));
            }
        }
        digests
    }

    fn set(&mut self, algorithm: HashAlgorithm, digest: &[u8]) {
        match algorithm {
            HashAlgorithm::Sha256 => {
                if let Ok(d) = digest.try_into() {
                    self.sha256 = d;
                }
            }
            HashAlgorithm::Sha384 => self.sha384 = digest.try_into().ok(),
            HashAlgorithm::Sha512 => self.sha512 = digest.try_into().ok(),
        }
    }

    /// The digest by `algorithm`, if it was taken.
    pub fn get(&self, algorithm: HashAlgorithm) -> Option<&[u8]> {
        match algorithm {
            HashAlgorithm::Sha256 => Some(&self.sha256),
            HashAlgorithm::Sha384 => self.sha384.as_ref().map(|d| &d[..]),
            HashAlgorithm::Sha512 => self.sha512.as_ref().map(|d| &d[..]),
        }
    }
}

/// The artifact as the steps see it: its digests, and its bytes when given (then digests other
/// than SHA-256 are taken once, when a step first asks for them).
#[derive(Debug)]
pub(crate) struct ArtifactView<'a> {
    bytes: Option<&'a [u8]>,
    digests: ArtifactDigests,
    sha384: OnceCell<[u8; 48]>,
    sha512: OnceCell<[u8; 64]>,
}

impl<'a> ArtifactView<'a> {
    pub(crate) fn new(artifact: Artifact<'a>) -> Self {
        let (bytes, digests) = match artifact {
            Artifact::Bytes(bytes) => (
                Some(bytes),
                ArtifactDigests::of_bytes(bytes, &BTreeSet::new()),
            ),
            Artifact::Sha256(sha256) => (
                None,
                ArtifactDigests {
                    sha256,
                    sha384: None,
                    sha512: None,
                },
            ),
            Artifact::Digests(digests) => (None, digests),
        };
        Self {
            bytes,
            digests,
            sha384: OnceCell::new(),
            sha512: OnceCell::new(),
        }
    }

    pub(crate) fn bytes(&self) -> Option<&'a [u8]> {
        self.bytes
    }

    pub(crate) fn sha256(&self) -> &[u8; 32] {
        &self.digests.sha256
    }

    pub(crate) fn digest(&self, algorithm: HashAlgorithm) -> Option<&[u8]> {
        if let Some(digest) = self.digests.get(algorithm) {
            return Some(digest);
        }
        let bytes = self.bytes?;
        match algorithm {
            HashAlgorithm::Sha256 => None,
            HashAlgorithm::Sha384 => {
                let digest = self.sha384.get_or_init(|| {
                    let mut out = [0u8; 48];
                    out.copy_from_slice(&algorithm.digest(bytes));
                    out
                });
                Some(&digest[..])
            }
            HashAlgorithm::Sha512 => {
                let digest = self.sha512.get_or_init(|| {
                    let mut out = [0u8; 64];
                    out.copy_from_slice(&algorithm.digest(bytes));
                    out
                });
                Some(&digest[..])
            }
        }
    }
}

impl Bundle {
    /// The hash algorithms verification will ask of the artifact: SHA-256, plus the message
    /// digest's algorithm, the signer's default when the bundle gives none, the algorithms
    /// hashedrekord entries logged (all of them for a managed-key message signature without a
    /// message digest, whose key only the caller knows), and an in-toto statement's subject
    /// algorithms when no
    /// subject has a SHA-256. A caller holding only a file hashes it once with these and passes
    /// [`Artifact::Digests`].
    pub fn artifact_hashes(&self) -> BTreeSet<HashAlgorithm> {
        let mut set = BTreeSet::from([HashAlgorithm::Sha256]);
        match &self.content {
            Content::MessageSignature { digest, .. } => {
                match (digest, &self.material) {
                    (Some((algorithm, _)), _) => {
                        set.insert(*algorithm);
                    }
                    (None, Material::Certificate { leaf, .. }) => {
                        set.insert(leaf.public_key().kind().default_hash());
                    }
                    // The key comes from the caller's policy, so its default is not known
                    // here: ask for every digest rather than fail for want of one.
                    (None, Material::PublicKey { .. }) => {
                        set.extend([HashAlgorithm::Sha384, HashAlgorithm::Sha512]);
                    }
                }
                for entry in &self.tlog_entries {
                    set.extend(logged_hash(&entry.body));
                }
            }
            Content::Dsse(envelope) => {
                if let Ok(statement) = serde_json::from_slice::<Statement>(&envelope.payload) {
                    let subject_algorithms: BTreeSet<HashAlgorithm> = statement
                        .subject
                        .iter()
                        .flat_map(|s| s.digest.keys())
                        .filter_map(|name| HashAlgorithm::from_name(name))
                        .collect();
                    if !subject_algorithms.contains(&HashAlgorithm::Sha256) {
                        set.extend(subject_algorithms);
                    }
                }
            }
        }
        set
    }
}

/// The algorithm a hashedrekord body logged the artifact's digest with (0.0.1: `sha384`;
/// 0.0.2: `SHA2_384`), if the body is one.
fn logged_hash(body: &[u8]) -> Option<HashAlgorithm> {
    let body: serde_json::Value = serde_json::from_slice(body).ok()?;
    let spec = body.get("spec")?;
    if let Some(name) = spec
        .pointer("/data/hash/algorithm")
        .and_then(|v| v.as_str())
    {
        return HashAlgorithm::from_name(name);
    }
    spec.pointer("/hashedRekordV002/data/algorithm")
        .and_then(|v| v.as_str())
        .and_then(crate::bundle::hash_algorithm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_gives_every_requested_digest_and_only_those() {
        let data = vec![7u8; 600 * 1024];
        let also = BTreeSet::from([HashAlgorithm::Sha512]);
        let digests = ArtifactDigests::from_reader(&data[..], &also).unwrap();
        assert_eq!(digests, ArtifactDigests::of_bytes(&data, &also));
        assert_eq!(
            digests.get(HashAlgorithm::Sha512).unwrap(),
            &HashAlgorithm::Sha512.digest(&data)[..]
        );
        assert_eq!(
            &digests.sha256[..],
            &HashAlgorithm::Sha256.digest(&data)[..]
        );
        assert_eq!(digests.get(HashAlgorithm::Sha384), None);
    }
}
