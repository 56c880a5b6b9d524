//! A Rekor-v1-like transparency log: an RFC 6962 Merkle tree of canonicalized entry bodies,
//! signed entry timestamps, C2SP signed-note checkpoints and inclusion/consistency proofs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::json;
use tlog_tiles::{Hash, HashReader, Tile};

use crate::canonical::canonical_json;
use crate::error::{KitError, Result};
use crate::keys::EcKey;

/// One logged entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log.
    pub index: u64,
    /// The canonicalized Rekor entry body (what the leaf hash covers).
    pub body: Vec<u8>,
    /// When the log says it integrated the entry (unix seconds).
    pub integrated_time: i64,
}

/// A signed checkpoint: the C2SP signed note text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Tree size it commits to.
    pub size: u64,
    /// Root hash it commits to.
    pub root: [u8; 32],
    /// The whole note: origin, size, base64 root, blank line, signature line(s).
    pub note: String,
}

/// A Merkle tree log with its signing key.
#[derive(Clone, Debug)]
pub struct TransparencyLog {
    key: EcKey,
    host: String,
    tree_id: i64,
    entries: Vec<LogEntry>,
    /// tlog_tiles' stored hashes, indexed by `stored_hash_index`.
    hashes: Vec<Hash>,
}

struct Stored<'a>(&'a [Hash]);

impl HashReader for Stored<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.0.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

fn tlog_err(what: impl Into<String>) -> impl FnOnce(tlog_tiles::Error) -> KitError {
    let what = what.into();
    move |source| KitError::Tlog { what, source }
}

/// Signs checkpoints as Rekor v1 does: ECDSA over the note text, key hint = SHA-256(PKIX)[..4].
struct NoteSigner<'a> {
    name: &'a str,
    key: &'a EcKey,
    id: u32,
}

impl signed_note::Signer for NoteSigner<'_> {
    fn name(&self) -> &str {
        self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, p256::ecdsa::Error> {
        Ok(self.key.sign(msg))
    }
}

/// The 4-byte key hint Rekor v1 puts before checkpoint signatures.
pub(crate) fn key_hint(key: &EcKey) -> Result<u32> {
    let id = key.key_id()?;
    Ok(u32::from_be_bytes([id[0], id[1], id[2], id[3]]))
}

impl TransparencyLog {
    /// An empty log named `host` (the checkpoint origin is `"{host} - {tree_id}"`).
    pub(crate) fn new(key: EcKey, host: &str, tree_id: i64) -> Self {
        TransparencyLog {
            key,
            host: host.to_string(),
            tree_id,
            entries: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// The log's signing key.
    pub fn key(&self) -> &EcKey {
        &self.key
    }

    /// The log id: SHA-256 of the log key's PKIX DER.
    pub fn log_id(&self) -> Result<[u8; 32]> {
        self.key.key_id()
    }

    /// The Rekor tree id.
    pub fn tree_id(&self) -> i64 {
        self.tree_id
    }

    /// The checkpoint origin line.
    pub fn origin(&self) -> String {
        format!("{} - {}", self.host, self.tree_id)
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// All entries.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// Appends a body and returns its index.
    pub fn append(&mut self, body: Vec<u8>, integrated_time: i64) -> Result<u64> {
        let index = self.size();
        let new = tlog_tiles::stored_hashes(index, &body, &Stored(&self.hashes))
            .map_err(tlog_err("appending"))?;
        self.hashes.extend(new);
        self.entries.push(LogEntry {
            index,
            body,
            integrated_time,
        });
        Ok(index)
    }

    /// A copy of this log holding only its first `keep` entries, to build a fork from.
    pub fn fork(&self, keep: u64) -> Result<TransparencyLog> {
        self.check_size(keep)?;
        let mut fork = TransparencyLog::new(self.key.clone(), &self.host, self.tree_id);
        for e in &self.entries[..keep as usize] {
            fork.append(e.body.clone(), e.integrated_time)?;
        }
        Ok(fork)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(KitError::OutOfRange {
                what: "tree size",
                asked: size,
                size: self.size(),
            });
        }
        Ok(())
    }

    /// RFC 6962 leaf hash of entry `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<[u8; 32]> {
        let e = self.entry(index)?;
        Ok(tlog_tiles::record_hash(&e.body).0)
    }

    /// Entry `index`.
    pub fn entry(&self, index: u64) -> Result<&LogEntry> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .ok_or(KitError::OutOfRange {
                what: "index",
                asked: index,
                size: self.size(),
            })
    }

    /// Root hash of the tree of the first `size` entries.
    pub fn root(&self, size: u64) -> Result<[u8; 32]> {
        self.check_size(size)?;
        Ok(tlog_tiles::tree_hash(size, &Stored(&self.hashes))
            .map_err(tlog_err("tree hash"))?
            .0)
    }

    /// Audit path for entry `index` in the tree of size `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>> {
        self.check_size(size)?;
        let p = tlog_tiles::prove_record(size, index, &Stored(&self.hashes))
            .map_err(tlog_err(format!("inclusion proof of {index} in {size}")))?;
        Ok(p.into_iter().map(|h| h.0).collect())
    }

    /// Consistency proof from `old` to `new` (RFC 6962); empty when `old == new` or `old == 0`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>> {
        self.check_size(new)?;
        if old == 0 || old == new {
            return Ok(Vec::new());
        }
        let p = tlog_tiles::prove_tree(new, old, &Stored(&self.hashes))
            .map_err(tlog_err(format!("consistency proof {old} → {new}")))?;
        Ok(p.into_iter().map(|h| h.0).collect())
    }

    /// The checkpoint at `size`, signed by the log key.
    pub fn checkpoint(&self, size: u64) -> Result<SignedCheckpoint> {
        self.checkpoint_signed_by(size, &self.key)
    }

    /// The checkpoint at `size`, signed by some other key (a negative fixture).
    pub fn checkpoint_signed_by(&self, size: u64, key: &EcKey) -> Result<SignedCheckpoint> {
        let root = self.root(size)?;
        let text = format!("{}\n{}\n{}\n", self.origin(), size, B64.encode(root));
        let mut note = signed_note::Note::new(text.as_bytes(), &[])
            .map_err(|e| KitError::Note(e.to_string()))?;
        let signer = NoteSigner {
            name: &self.host,
            key,
            id: key_hint(key)?,
        };
        note.add_sigs(&[&signer])
            .map_err(|e| KitError::Note(e.to_string()))?;
        Ok(SignedCheckpoint {
            size,
            root,
            note: String::from_utf8_lossy(&note.to_bytes()).into_owned(),
        })
    }

    /// The signed entry timestamp (SET) of entry `index`: ECDSA over the canonical JSON of
    /// `{body, integratedTime, logID, logIndex}`.
    pub fn signed_entry_timestamp(&self, index: u64) -> Result<Vec<u8>> {
        self.set_signed_by(index, &self.key)
    }

    pub(crate) fn set_signed_by(&self, index: u64, key: &EcKey) -> Result<Vec<u8>> {
        let e = self.entry(index)?;
        let payload = json!({
            "body": B64.encode(&e.body),
            "integratedTime": e.integrated_time,
            "logID": hex::encode(self.log_id()?),
            "logIndex": e.index,
        });
        Ok(key.sign(&canonical_json(&payload)))
    }

    /// A C2SP tlog-tiles tile (hash tile, or entry bundle when `tile.is_data()`), read from the
    /// tree of the current size.
    pub fn tile(&self, tile: &Tile) -> Result<Vec<u8>> {
        if tile.is_data() {
            let start = tile.level_index() << tile.height();
            let mut out = Vec::new();
            for i in start..start + u64::from(tile.width()) {
                let body = &self.entry(i)?.body;
                let len = u16::try_from(body.len()).map_err(|_| KitError::Invalid {
                    what: "entry",
                    detail: format!("entry {i} is larger than 64 KiB"),
                })?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(body);
            }
            Ok(out)
        } else {
            tile.read_data(&Stored(&self.hashes))
                .map_err(tlog_err(format!("tile {}", tile.path())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    fn log(n: u64) -> TransparencyLog {
        let mut l = TransparencyLog::new(Seed::from(3).p256("log"), "log.test", 42);
        for i in 0..n {
            l.append(format!("entry {i}").into_bytes(), 1000 + i as i64)
                .unwrap();
        }
        l
    }

    #[test]
    fn proofs_check() {
        let l = log(13);
        for size in 1..=13 {
            let root = Hash(l.root(size).unwrap());
            for i in 0..size {
                let p: Vec<Hash> = l
                    .inclusion_proof(i, size)
                    .unwrap()
                    .into_iter()
                    .map(Hash)
                    .collect();
                tlog_tiles::check_record(&p, size, root, i, Hash(l.leaf_hash(i).unwrap())).unwrap();
            }
            for old in 1..=size {
                let p: Vec<Hash> = l
                    .consistency_proof(old, size)
                    .unwrap()
                    .into_iter()
                    .map(Hash)
                    .collect();
                tlog_tiles::check_tree(&p, size, root, old, Hash(l.root(old).unwrap())).unwrap();
            }
        }
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(log(0).root(0).unwrap(), tlog_tiles::EMPTY_HASH.0);
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert!(matches!(
            log(2).root(3),
            Err(KitError::OutOfRange { asked: 3, .. })
        ));
    }

    #[test]
    fn checkpoint_text_shape() {
        let l = log(3);
        let cp = l.checkpoint(3).unwrap();
        let mut lines = cp.note.lines();
        assert_eq!(lines.next(), Some("log.test - 42"));
        assert_eq!(lines.next(), Some("3"));
        assert_eq!(lines.next(), Some(B64.encode(l.root(3).unwrap()).as_str()));
        assert_eq!(lines.next(), Some(""));
        let sig = lines.next().unwrap();
        assert!(sig.starts_with("— log.test "));
        let raw = B64.decode(sig.rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(&raw[..4], &l.log_id().unwrap()[..4]);
    }

    #[test]
    fn entry_bundle_tile() {
        let l = log(3);
        let t = Tile::new(8, 0, 0, 3, true);
        let data = l.tile(&t).unwrap();
        assert_eq!(&data[..2], &7u16.to_be_bytes());
        assert_eq!(&data[2..9], b"entry 0");
    }
}
