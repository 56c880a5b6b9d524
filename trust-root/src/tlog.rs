//! Transparency-log evidence: RFC 6962 Merkle inclusion and consistency proofs, checkpoints in
//! the C2SP signed-note format, and Rekor's signed entry timestamps (SETs).

use signed_note::{Note, NoteError, VerificationError, Verifier, Verifiers};
use tlog_tiles::{Checkpoint as TileCheckpoint, Hash};

use crate::keys::PublicKey;
use crate::trusted_root::LogInstance;

/// The largest checkpoint note accepted (real ones are a few hundred bytes).
const MAX_NOTE_SIZE: usize = 64 * 1024;

/// Why a Merkle proof failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a proof hash is {0} bytes, not 32")]
    HashLength(usize),
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("sizes {old} and {new} cannot be proven consistent")]
    BadSizes { old: u64, new: u64 },
}

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint is not a well-formed signed note")]
    MalformedNote,
    #[error("checkpoint body is not origin, size and root hash")]
    MalformedBody,
    #[error("checkpoint has no signature by log {name} (key hint {hint:08x})")]
    NoLogSignature { name: String, hint: u32 },
    #[error("checkpoint signature by log {name} does not verify")]
    BadSignature { name: String },
    #[error("checkpoint origin {origin:?} does not belong to log {name}")]
    Origin { origin: String, name: String },
    #[error("checkpoint size {checkpoint} differs from the proof's tree size {proof}")]
    Size { checkpoint: u64, proof: u64 },
    #[error("checkpoint root hash differs from the proof's root hash")]
    RootHash,
}

/// A checkpoint whose signature by a trusted log was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root_hash: [u8; 32],
    /// The whole signed note, as received.
    pub note: String,
}

/// RFC 6962 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    tlog_tiles::record_hash(entry).0
}

fn to_hash(bytes: &[u8]) -> Result<Hash, ProofError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| ProofError::HashLength(bytes.len()))
}

/// Verifies an RFC 6962 inclusion proof (audit path, leaf sibling first) of the leaf with
/// hash `leaf` at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: [u8; 32],
    index: u64,
    size: u64,
    path: &[Vec<u8>],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Deeper than any tree of this size: reject before the library does any work.
    if path.len() > 64 {
        return Err(ProofError::RootMismatch);
    }
    let proof = path
        .iter()
        .map(|h| to_hash(h))
        .collect::<Result<Vec<_>, _>>()?;
    tlog_tiles::check_record(&proof, size, to_hash(root)?, index, Hash(leaf))
        .map_err(|_| ProofError::RootMismatch)
}

/// Verifies an RFC 6962 consistency proof that the tree `old_size`/`old_root` is a prefix of
/// `new_size`/`new_root`.
pub fn verify_consistency<H: AsRef<[u8]>>(
    old_size: u64,
    old_root: &[u8],
    new_size: u64,
    new_root: &[u8],
    proof: &[H],
) -> Result<(), ProofError> {
    if old_size > new_size || old_size == 0 {
        return Err(ProofError::BadSizes {
            old: old_size,
            new: new_size,
        });
    }
    if proof.len() > 128 {
        return Err(ProofError::RootMismatch);
    }
    let proof = proof
        .iter()
        .map(|h| to_hash(h.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    tlog_tiles::check_tree(
        &proof,
        new_size,
        to_hash(new_root)?,
        old_size,
        to_hash(old_root)?,
    )
    .map_err(|_| ProofError::RootMismatch)
}

/// Sigstore's checkpoint key hint: the first four bytes of the log id.
fn key_hint(log: &LogInstance) -> u32 {
    let id = log.log_id();
    let mut hint = [0u8; 4];
    let n = id.len().min(4);
    hint[..n].copy_from_slice(&id[..n]);
    u32::from_be_bytes(hint)
}

/// A note verifier for one trusted log key.
struct LogNoteVerifier<'a> {
    name: &'a str,
    hint: u32,
    key: &'a PublicKey,
}

impl Verifier for LogNoteVerifier<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn key_id(&self) -> u32 {
        self.hint
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.key.verify(msg, sig).is_ok()
    }
}

impl Verifiers for LogNoteVerifier<'_> {
    fn verifier(&self, name: &str, id: u32) -> Result<&dyn Verifier, VerificationError> {
        if name == self.name && id == self.hint {
            Ok(self)
        } else {
            Err(VerificationError::UnknownKey {
                name: name.to_owned(),
                id,
            })
        }
    }
}

/// Verifies a checkpoint note signed by `log`. Signatures by other keys (witness cosignatures)
/// are tolerated; one valid signature by the log is required and an invalid one is fatal.
pub fn verify_checkpoint(
    note: &str,
    log: &LogInstance,
) -> Result<SignedCheckpoint, CheckpointError> {
    if note.len() > MAX_NOTE_SIZE {
        return Err(CheckpointError::MalformedNote);
    }
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::MalformedNote)?;
    let name = log.origin_name();
    let verifier = LogNoteVerifier {
        name,
        hint: key_hint(log),
        key: log.key(),
    };
    match parsed.verify(&verifier) {
        Ok(_) => {}
        Err(NoteError::UnverifiedNote) => {
            return Err(CheckpointError::NoLogSignature {
                name: name.to_owned(),
                hint: verifier.hint,
            });
        }
        Err(NoteError::InvalidSignature { .. }) => {
            return Err(CheckpointError::BadSignature {
                name: name.to_owned(),
            });
        }
        Err(_) => return Err(CheckpointError::MalformedNote),
    }
    let mut text = std::io::Cursor::new(parsed.text());
    let checkpoint = TileCheckpoint::from_reader(&mut text, false)
        .map_err(|_| CheckpointError::MalformedBody)?;
    let origin = checkpoint.origin();
    // Rekor v1 names its shards "<host> - <tree id>"; Rekor v2 and tlog-tiles logs use the host.
    let origin_ok = origin == name
        || origin
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(" - "));
    if !origin_ok {
        return Err(CheckpointError::Origin {
            origin: origin.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(SignedCheckpoint {
        origin: origin.to_owned(),
        size: checkpoint.size(),
        root_hash: checkpoint.hash().0,
        note: note.to_owned(),
    })
}

/// The canonical JSON a Rekor v1 signed entry timestamp signs.
pub(crate) fn set_payload(
    body: &[u8],
    integrated_time: u64,
    log_id: &[u8],
    log_index: u64,
) -> Vec<u8> {
    format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        crate::encoding::to_base64(body),
        integrated_time,
        hex::encode(log_id),
        log_index
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn node(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    }

    #[test]
    fn inclusion_in_a_three_leaf_tree() {
        let leaves: Vec<[u8; 32]> = [b"a", b"b", b"c"].iter().map(|d| leaf_hash(*d)).collect();
        let ab = node(&leaves[0], &leaves[1]);
        let root = node(&ab, &leaves[2]);
        verify_inclusion(leaves[2], 2, 3, &[ab.to_vec()], &root).unwrap();
        verify_inclusion(
            leaves[0],
            0,
            3,
            &[leaves[1].to_vec(), leaves[2].to_vec()],
            &root,
        )
        .unwrap();
        assert_eq!(
            verify_inclusion(
                leaves[1],
                0,
                3,
                &[leaves[1].to_vec(), leaves[2].to_vec()],
                &root
            ),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(leaves[2], 3, 3, &[], &root),
            Err(ProofError::IndexOutOfRange { index: 3, size: 3 })
        );
        assert_eq!(
            verify_inclusion(leaves[2], 2, 3, &[vec![0; 31]], &root),
            Err(ProofError::HashLength(31))
        );
    }

    #[test]
    fn consistency_from_two_to_three_leaves() {
        let leaves: Vec<[u8; 32]> = [b"a", b"b", b"c"].iter().map(|d| leaf_hash(*d)).collect();
        let ab = node(&leaves[0], &leaves[1]);
        let root3 = node(&ab, &leaves[2]);
        verify_consistency(2, &ab, 3, &root3, &[leaves[2].to_vec()]).unwrap();
        assert_eq!(
            verify_consistency(2, &leaves[0], 3, &root3, &[leaves[2].to_vec()]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency::<[u8; 32]>(4, &ab, 3, &root3, &[]),
            Err(ProofError::BadSizes { old: 4, new: 3 })
        );
    }

    #[test]
    fn set_payload_is_canonical_json() {
        assert_eq!(
            set_payload(b"hi", 7, &[0xab], 3),
            br#"{"body":"aGk=","integratedTime":7,"logID":"ab","logIndex":3}"#.to_vec()
        );
    }
}
