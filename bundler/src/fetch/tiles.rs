//! A C2SP tlog-tiles log's Merkle tree read from its hash tiles: tile paths, complete-subtree
//! hashes, tree hashes and RFC 6962 consistency proofs.
//!
//! `tlog_tiles` has these, but it is not a dependency of this crate; the arithmetic here is
//! small, and every proof it builds is checked with `airlock_trust_root::verify_consistency`
//! (which is `tlog_tiles`) against the checkpoint's root before it is returned.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::error::FetchError;

/// A Merkle tree hash.
pub(crate) type Hash = [u8; 32];

/// Tree levels per tile.
const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile.
pub(crate) const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

/// The URL path of hash tile `index` at tile level `level` holding `width` hashes:
/// `tile/<L>/<N>[.p/<W>]`, with N in 3-digit groups, all but the last prefixed `x`.
pub(crate) fn tile_path(level: u32, index: u64, width: u64) -> String {
    let mut n = format!("{:03}", index % 1000);
    let mut rest = index / 1000;
    while rest > 0 {
        n = format!("x{:03}/{n}", rest % 1000);
        rest /= 1000;
    }
    if width == TILE_WIDTH {
        format!("tile/{level}/{n}")
    } else {
        format!("tile/{level}/{n}.p/{width}")
    }
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub(crate) fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Where hash tiles come from.
pub(crate) trait TileSource {
    /// The `width` hashes of tile `index` at tile level `level` (tree height `8 × level`).
    fn tile(&mut self, level: u32, index: u64, width: u64) -> Result<Vec<Hash>, FetchError>;

    /// Names the source in errors (the log URL).
    fn name(&self) -> String;
}

/// The tree of `size` leaves, read through tiles (each fetched at most once).
pub(crate) struct TreeReader<S> {
    source: S,
    size: u64,
    tiles: HashMap<(u32, u64), Vec<Hash>>,
}

impl<S: TileSource> TreeReader<S> {
    pub(crate) fn new(source: S, size: u64) -> Self {
        Self {
            source,
            size,
            tiles: HashMap::new(),
        }
    }

    fn outside(&self, what: String) -> FetchError {
        FetchError::LogMismatch {
            url: self.source.name(),
            reason: format!("{what} is outside the tree of size {}", self.size),
        }
    }

    /// The hash of the complete subtree of height `height` at `index` (leaves
    /// `index·2^height .. (index+1)·2^height`), which must lie inside the tree.
    fn node(&mut self, height: u32, index: u64) -> Result<Hash, FetchError> {
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64.checked_shl(height)?));
        if height >= 64 || end.is_none_or(|end| end > self.size) {
            return Err(self.outside(format!("subtree {height}/{index}")));
        }
        let level = height / TILE_HEIGHT;
        let sub = height % TILE_HEIGHT;
        // The subtree's 2^sub nodes at the tile level's base height, all in one tile.
        let first = index << sub;
        let count = 1usize << sub;
        let tile_index = first / TILE_WIDTH;
        let offset = usize::try_from(first % TILE_WIDTH).unwrap_or(0);
        let nodes_at_base = self.size >> (level * TILE_HEIGHT);
        let width = (nodes_at_base - tile_index * TILE_WIDTH).min(TILE_WIDTH);
        let tile = match self.tiles.entry((level, tile_index)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(self.source.tile(level, tile_index, width)?)
            }
        };
        let Some(hashes) = tile.get(offset..offset + count) else {
            return Err(FetchError::LogMismatch {
                url: self.source.name(),
                reason: format!("tile {level}/{tile_index} is short"),
            });
        };
        let mut layer = hashes.to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
        }
        layer
            .first()
            .copied()
            .ok_or_else(|| self.outside(format!("subtree {height}/{index}")))
    }

    /// RFC 6962 MTH of leaves `lo..hi`, where `lo` is a multiple of the largest power of two
    /// below `hi - lo` (true of every range the RFC's recursions visit); SHA-256("") if empty.
    pub(crate) fn range_hash(&mut self, lo: u64, hi: u64) -> Result<Hash, FetchError> {
        if lo >= hi {
            return Ok(Sha256::digest([]).into());
        }
        // Maximal aligned complete subtrees, left to right, then folded from the right.
        let mut parts = Vec::new();
        let mut at = lo;
        while at < hi {
            let align = if at == 0 { 63 } else { at.trailing_zeros() };
            let fit = 63 - (hi - at).leading_zeros();
            let height = align.min(fit);
            parts.push(self.node(height, at >> height)?);
            at += 1 << height;
        }
        let mut acc = parts
            .pop()
            .ok_or_else(|| self.outside(format!("range {lo}..{hi}")))?;
        while let Some(left) = parts.pop() {
            acc = node_hash(&left, &acc);
        }
        Ok(acc)
    }

    /// The tree hash of the first `size` leaves.
    pub(crate) fn tree_hash(&mut self, size: u64) -> Result<Hash, FetchError> {
        if size > self.size {
            return Err(self.outside(format!("tree size {size}")));
        }
        self.range_hash(0, size)
    }

    /// RFC 6962 §2.1.2 PROOF(old, D[size]) for `0 < old < size`.
    pub(crate) fn consistency_proof(&mut self, old: u64) -> Result<Vec<Hash>, FetchError> {
        if old == 0 || old >= self.size {
            return Err(self.outside(format!("old size {old}")));
        }
        let mut out = Vec::new();
        self.subproof(old, 0, self.size, true, &mut out)?;
        Ok(out)
    }

    /// SUBPROOF(m, D[lo:hi], complete).
    fn subproof(
        &mut self,
        m: u64,
        lo: u64,
        hi: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), FetchError> {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.range_hash(lo, hi)?);
            }
            return Ok(());
        }
        // Largest power of two smaller than n (n ≥ 2 here, as 0 < m < n).
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> Hash {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(format!("entry {i}"));
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
        fetched: Vec<String>,
    }

    impl TileSource for Memory {
        fn tile(&mut self, level: u32, index: u64, width: u64) -> Result<Vec<Hash>, FetchError> {
            self.fetched.push(tile_path(level, index, width));
            let span = 1usize << (level * TILE_HEIGHT);
            Ok((0..width)
                .map(|j| {
                    let start = (index * TILE_WIDTH + j) as usize * span;
                    mth(&self.leaves[start..start + span])
                })
                .collect())
        }
        fn name(&self) -> String {
            "memory".into()
        }
    }

    fn reader(size: u64) -> TreeReader<Memory> {
        TreeReader::new(
            Memory {
                leaves: (0..size).map(leaf).collect(),
                fetched: Vec::new(),
            },
            size,
        )
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        assert_eq!(tile_path(0, 0, 256), "tile/0/000");
        assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(1, 5, 17), "tile/1/005.p/17");
        assert_eq!(tile_path(2, 1000, 1), "tile/2/x001/000.p/1");
    }

    #[test]
    fn tree_hashes_match_the_rfc_definition() {
        let leaves: Vec<Hash> = (0..600).map(leaf).collect();
        let mut r = reader(600);
        for size in [
            0, 1, 2, 3, 7, 8, 255, 256, 257, 300, 511, 512, 513, 599, 600,
        ] {
            assert_eq!(
                r.tree_hash(size).unwrap(),
                mth(&leaves[..size as usize]),
                "{size}"
            );
        }
        // Full tiles at level 0 (two), a partial one (88 hashes) and a partial level-1 tile.
        assert!(r.source.fetched.contains(&"tile/0/000".to_owned()));
        assert!(r.source.fetched.contains(&"tile/0/002.p/88".to_owned()));
        assert!(r.source.fetched.contains(&"tile/1/000.p/2".to_owned()));
        assert!(matches!(
            r.tree_hash(601),
            Err(FetchError::LogMismatch { .. })
        ));
    }

    #[test]
    fn consistency_proofs_verify() {
        for size in [2u64, 3, 5, 8, 13, 256, 257, 300, 520] {
            let leaves: Vec<Hash> = (0..size).map(leaf).collect();
            let mut r = reader(size);
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
        let mut r = reader(10);
        for old in [0, 10, 11] {
            assert!(matches!(
                r.consistency_proof(old),
                Err(FetchError::LogMismatch { .. })
            ));
        }
    }
}
