//! A C2SP tlog-tiles log's Merkle tree read from its hash tiles, through `tlog_tiles`: tile
//! coordinates and paths, its `TileHashReader` (which checks the tiles under the tree hash
//! against the checkpoint's root), and its `tree_hash` and `prove_tree` for old tree hashes and
//! RFC 6962 consistency proofs.
//!
//! `TileHashReader` checks other full tiles against their parent tiles only in part (as Go's
//! `x/mod/sumdb/tlog`, which it ports: when several subtrees of the tree hash share a tile, some
//! tiles read for a proof are not compared with their parents). So nothing here rests on it:
//! every proof is verified with `airlock_trust_root::verify_consistency` against the
//! checkpoint's root before it is returned.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{Tile, TileHashReader, TileReader};

use super::error::FetchError;

/// A Merkle tree hash.
pub(crate) type Hash = [u8; 32];

/// Tree levels per tile (C2SP fixes it).
const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// The largest tree read through tiles: `tlog_tiles` numbers stored hashes up to about twice
/// the tree size in a `u64`, and a larger (unsigned, hostile) checkpoint must not overflow it.
pub(crate) const MAX_TREE_SIZE: u64 = 1 << 62;

/// The C2SP URL path of a hash tile, `tile/<L>/<N>[.p/<W>]`. `tlog_tiles` writes Go sumdb's
/// form, which also names the tile height (`tile/8/<L>/…`); C2SP fixes the height and drops it.
pub(crate) fn tile_path(tile: &Tile) -> String {
    let sumdb = tile.path();
    match sumdb.strip_prefix(&format!("tile/{TILE_HEIGHT}/")) {
        Some(rest) => format!("tile/{rest}"),
        None => sumdb,
    }
}

/// Where hash tiles come from.
pub(crate) trait TileSource {
    /// The `tile.width()` hashes of `tile`, concatenated (`32 × width` bytes).
    fn tile(&self, tile: &Tile) -> Result<Vec<u8>, FetchError>;

    /// Names the source in errors (the log URL).
    fn name(&self) -> String;
}

/// The tree of `size` leaves under the checkpoint's root hash, read through tiles (each
/// fetched at most once, authenticated by `tlog_tiles` every time it is used).
pub(crate) struct TreeTiles<S> {
    source: S,
    size: u64,
    root: Hash,
    /// What the root hash came from (the checkpoint URL), named when the tiles disagree.
    checkpoint: String,
    fetched: RefCell<HashMap<Tile, Vec<u8>>>,
    /// The source's error behind a failed read (`tlog_tiles` only carries its own errors).
    failure: RefCell<Option<FetchError>>,
}

impl<S: TileSource> TreeTiles<S> {
    /// The tree a checkpoint (at `checkpoint`) names; its size must be at most
    /// [`MAX_TREE_SIZE`].
    pub(crate) fn new(
        source: S,
        size: u64,
        root: Hash,
        checkpoint: String,
    ) -> Result<Self, FetchError> {
        if size > MAX_TREE_SIZE {
            return Err(FetchError::Malformed {
                url: checkpoint,
                reason: format!("checkpoint: tree size {size} is beyond 2^62"),
            });
        }
        Ok(Self {
            source,
            size,
            root,
            checkpoint,
            fetched: RefCell::new(HashMap::new()),
            failure: RefCell::new(None),
        })
    }

    fn outside(&self, what: String) -> FetchError {
        FetchError::LogMismatch {
            url: self.source.name(),
            reason: format!("{what} is outside the tree of size {}", self.size),
        }
    }

    /// What a `tlog_tiles` failure means: the source's own error, tiles that do not hash to
    /// the checkpoint's root, or tiles that are not what the tree needs.
    fn failed(&self, error: tlog_tiles::Error) -> FetchError {
        if let Some(fetch) = self.failure.borrow_mut().take() {
            return fetch;
        }
        match error {
            tlog_tiles::Error::InconsistentTile => FetchError::LogMismatch {
                url: self.checkpoint.clone(),
                reason: "the tree hash of the tiles differs from the checkpoint's root hash"
                    .to_owned(),
            },
            other => FetchError::LogMismatch {
                url: self.source.name(),
                reason: format!("tiles: {other}"),
            },
        }
    }

    fn reader(&self) -> TileHashReader<'_> {
        TileHashReader::new(self.size, tlog_tiles::Hash(self.root), self)
    }

    /// The tree hash of the first `size` leaves (the whole tree's is the checkpoint's root, or
    /// an error).
    pub(crate) fn tree_hash(&self, size: u64) -> Result<Hash, FetchError> {
        if size > self.size {
            return Err(self.outside(format!("tree size {size}")));
        }
        tlog_tiles::tree_hash(size, &self.reader())
            .map(|h| h.0)
            .map_err(|e| self.failed(e))
    }

    /// RFC 6962 §2.1.2 PROOF(old, D[size]) for `0 < old < size`, verified against the
    /// checkpoint's root and the old tree hash the same tiles give.
    pub(crate) fn consistency_proof(&self, old: u64) -> Result<Vec<Hash>, FetchError> {
        if old == 0 || old >= self.size {
            return Err(self.outside(format!("old size {old}")));
        }
        let proof: Vec<Hash> = tlog_tiles::prove_tree(self.size, old, &self.reader())
            .map(|proof| proof.into_iter().map(|h| h.0).collect())
            .map_err(|e| self.failed(e))?;
        let old_root = self.tree_hash(old)?;
        let hashes: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
        airlock_trust_root::verify_consistency(old, &old_root, self.size, &self.root, &hashes)
            .map_err(|source| FetchError::Proof {
                url: self.source.name(),
                from_size: old,
                to_size: self.size,
                source,
            })?;
        Ok(proof)
    }
}

impl<S: TileSource> TileReader for TreeTiles<S> {
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(tiles.len());
        for tile in tiles {
            if let Some(data) = self.fetched.borrow().get(tile) {
                out.push(data.clone());
                continue;
            }
            match self.source.tile(tile) {
                Ok(data) => {
                    self.fetched.borrow_mut().insert(*tile, data.clone());
                    out.push(data);
                }
                Err(e) => {
                    *self.failure.borrow_mut() = Some(e);
                    return Err(tlog_tiles::Error::InvalidTile);
                }
            }
        }
        Ok(out)
    }

    /// Nothing is kept beyond this fetch, so nothing is saved.
    fn save_tiles(&self, _: &[Tile], _: &[Vec<u8>]) {}
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn leaf(i: u64) -> Hash {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(format!("entry {i}"));
        h.finalize().into()
    }

    fn node_hash(left: &Hash, right: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(left);
        h.update(right);
        h.finalize().into()
    }

    /// The RFC 6962 definition, recursively.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    struct Memory {
        leaves: Vec<Hash>,
        fetched: RefCell<Vec<String>>,
        /// A hash tile (level 0, index 0) served with its first hash changed.
        tampered: bool,
    }

    impl TileSource for Memory {
        fn tile(&self, tile: &Tile) -> Result<Vec<u8>, FetchError> {
            self.fetched.borrow_mut().push(tile_path(tile));
            let span = 1usize << (u32::from(tile.level()) * u32::from(TILE_HEIGHT));
            let mut data = Vec::new();
            for j in 0..u64::from(tile.width()) {
                let start = (tile.level_index() * TILE_WIDTH + j) as usize * span;
                data.extend_from_slice(&mth(&self.leaves[start..start + span]));
            }
            if self.tampered && tile.level() == 0 && tile.level_index() == 0 {
                data[0] ^= 1;
            }
            Ok(data)
        }
        fn name(&self) -> String {
            "memory".into()
        }
    }

    fn tree(size: u64) -> TreeTiles<Memory> {
        let leaves: Vec<Hash> = (0..size).map(leaf).collect();
        let root = mth(&leaves);
        let source = Memory {
            leaves,
            fetched: RefCell::new(Vec::new()),
            tampered: false,
        };
        TreeTiles::new(source, size, root, "checkpoint".into()).unwrap()
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        let path = |l, n, w| tile_path(&Tile::new(TILE_HEIGHT, l, n, w, false));
        assert_eq!(path(0, 0, 256), "tile/0/000");
        assert_eq!(path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(path(1, 5, 17), "tile/1/005.p/17");
        assert_eq!(path(2, 1000, 1), "tile/2/x001/000.p/1");
    }

    #[test]
    fn tree_hashes_match_the_rfc_definition() {
        let leaves: Vec<Hash> = (0..600).map(leaf).collect();
        let r = tree(600);
        for size in [
            0, 1, 2, 3, 7, 8, 255, 256, 257, 300, 511, 512, 513, 599, 600,
        ] {
            assert_eq!(
                r.tree_hash(size).unwrap(),
                mth(&leaves[..size as usize]),
                "{size}"
            );
        }
        // Full tiles at level 0 (two), a partial one (88 hashes) and a partial level-1 tile,
        // each fetched once.
        let fetched = r.source.fetched.borrow().clone();
        for path in ["tile/0/000", "tile/0/002.p/88", "tile/1/000.p/2"] {
            assert_eq!(fetched.iter().filter(|p| *p == path).count(), 1, "{path}");
        }
        assert!(matches!(
            r.tree_hash(601),
            Err(FetchError::LogMismatch { .. })
        ));
    }

    #[test]
    fn consistency_proofs_verify() {
        for size in [2u64, 3, 5, 8, 13, 256, 257, 300, 520] {
            let leaves: Vec<Hash> = (0..size).map(leaf).collect();
            let r = tree(size);
            let root = mth(&leaves);
            for old in (1..size).filter(|o| size < 20 || o % 37 == 1 || *o == size - 1) {
                let proof: Vec<Vec<u8>> = r
                    .consistency_proof(old)
                    .unwrap()
                    .into_iter()
                    .map(|h| h.to_vec())
                    .collect();
                let old_root = mth(&leaves[..old as usize]);
                airlock_trust_root::verify_consistency(old, &old_root, size, &root, &proof)
                    .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
            }
        }
    }

    #[test]
    fn proof_sizes_outside_the_tree_are_errors() {
        let r = tree(10);
        for old in [0, 10, 11] {
            assert!(matches!(
                r.consistency_proof(old),
                Err(FetchError::LogMismatch { .. })
            ));
        }
    }

    /// A full tile its parent tile does not hash to, which `tlog_tiles` does not compare
    /// with its parent here (the tree hash's subtrees share tile 0/002): the proof built from
    /// it does not verify, and is refused.
    #[test]
    fn a_proof_from_a_tile_that_does_not_match_its_parent_is_refused() {
        let mut r = tree(600);
        r.source.tampered = true;
        assert_eq!(r.tree_hash(600).unwrap(), mth(&r.source.leaves));
        let err = r.consistency_proof(100).unwrap_err();
        assert!(
            matches!(
                &err,
                FetchError::Proof {
                    from_size: 100,
                    to_size: 600,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_tree_beyond_2_to_the_62_is_refused() {
        let source = Memory {
            leaves: Vec::new(),
            fetched: RefCell::new(Vec::new()),
            tampered: false,
        };
        let err = TreeTiles::new(source, u64::MAX, [0; 32], "checkpoint".into())
            .err()
            .unwrap();
        assert!(
            matches!(&err, FetchError::Malformed { url, .. } if url == "checkpoint"),
            "{err}"
        );
    }
}
