//! A transparency log's latest checkpoint and consistency proofs from earlier tree sizes, over
//! Rekor v1's REST API or the C2SP tlog-tiles API.
//!
//! Nothing fetched here is trusted: the checkpoint's signature is left to the caller (who holds
//! the log's key in the trusted root). What can be checked without the key is: the Rekor JSON
//! agrees with its own checkpoint, and for tiles, every proof is computed from tiles and
//! verified against the checkpoint's root and the old root the same tiles give.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use tlog_tiles::Tile;
use url::Url;

use super::error::FetchError;
use super::http::{HttpClient, join, require_https};
use super::tiles::{Hash, TILE_WIDTH, TileSource, TreeTiles, tile_path};

/// The largest JSON answer read from a Rekor v1 log.
const MAX_JSON_SIZE: u64 = 1024 * 1024;
/// The largest checkpoint note accepted (as `airlock_trust_root` does; real ones are a few
/// hundred bytes).
const MAX_NOTE_SIZE: usize = 64 * 1024;
/// The most hashes a consistency proof may have (as `airlock_trust_root` accepts).
const MAX_PROOF_HASHES: usize = 128;

/// Which API a log speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogApi {
    /// Rekor v1: `GET /api/v1/log`, `GET /api/v1/log/proof?firstSize=A&lastSize=B`.
    RekorV1,
    /// C2SP tlog-tiles: `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]` (Rekor v2 and others).
    Tiles,
}

/// A log to fetch from: its API and base URL (`https://rekor.sigstore.dev`, or a tiles prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEndpoint {
    /// The API the log speaks.
    pub kind: LogApi,
    /// The base URL the API paths are appended to.
    pub url: Url,
}

/// A consistency proof between two tree sizes (RFC 6962 §2.1.2 order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The old tree size.
    pub from_size: u64,
    /// The new tree size (the checkpoint's).
    pub to_size: u64,
    /// The proof hashes.
    pub hashes: Vec<[u8; 32]>,
}

/// What a log served: its checkpoint (unverified signature) and proofs to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSnapshot {
    /// The signed note text exactly as served.
    pub checkpoint: String,
    /// The checkpoint's origin line.
    pub origin: String,
    /// The checkpoint's tree size.
    pub size: u64,
    /// The checkpoint's root hash.
    pub root_hash: [u8; 32],
    /// One proof per distinct requested old size that is neither 0 nor `size`, ascending.
    pub consistency: Vec<ConsistencyProof>,
}

/// Fetches `endpoint`'s latest checkpoint and a consistency proof from each of `from_sizes`
/// (sizes the caller trusted before) to it.
///
/// Sizes of 0 or equal to the current size need no proof and are skipped; duplicates are
/// fetched once; a size beyond the current one is [`FetchError::SizeBeyondLog`].
///
/// Rekor v1: the log info's `treeSize` and `rootHash` must equal the checkpoint's, and each
/// proof's `rootHash` must equal the checkpoint root; the proof itself can only be checked by
/// the caller, who holds the old root. Tiles: the tree hash computed from the tiles must equal
/// the checkpoint root, and each proof is verified against it and the old root from the tiles.
/// The checkpoint signature is never checked here.
pub fn fetch_log(
    client: &HttpClient,
    endpoint: &LogEndpoint,
    from_sizes: &[u64],
) -> Result<LogSnapshot, FetchError> {
    require_https(&endpoint.url)?;
    let (checkpoint_url, note) = match endpoint.kind {
        LogApi::RekorV1 => rekor_checkpoint(client, &endpoint.url)?,
        LogApi::Tiles => tiles_checkpoint(client, &endpoint.url)?,
    };
    let body = parse_checkpoint(&checkpoint_url, &note)?;
    let sizes = old_sizes(&endpoint.url, from_sizes, body.size)?;
    let consistency = match endpoint.kind {
        LogApi::RekorV1 => sizes
            .iter()
            .map(|&old| rekor_proof(client, &endpoint.url, old, &body))
            .collect::<Result<Vec<_>, _>>()?,
        LogApi::Tiles => tiles_proofs(client, &endpoint.url, &checkpoint_url, &sizes, &body)?,
    };
    Ok(LogSnapshot {
        checkpoint: note,
        origin: body.origin,
        size: body.size,
        root_hash: body.root_hash,
        consistency,
    })
}

/// The distinct sizes that need a proof, ascending; errors on one beyond `size`.
fn old_sizes(url: &Url, from_sizes: &[u64], size: u64) -> Result<Vec<u64>, FetchError> {
    if let Some(&from_size) = from_sizes.iter().filter(|&&s| s > size).min() {
        return Err(FetchError::SizeBeyondLog {
            url: url.to_string(),
            from_size,
            size,
        });
    }
    let mut sizes: Vec<u64> = from_sizes
        .iter()
        .copied()
        .filter(|&s| s != 0 && s != size)
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

/// The checkpoint body: origin, size and root hash (extension lines ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CheckpointBody {
    origin: String,
    size: u64,
    root_hash: Hash,
}

/// Parses a C2SP signed note's checkpoint body without checking any signature.
fn parse_checkpoint(url: &Url, note: &str) -> Result<CheckpointBody, FetchError> {
    let bad = |reason: &str| FetchError::Malformed {
        url: url.to_string(),
        reason: format!("checkpoint: {reason}"),
    };
    if note.len() > MAX_NOTE_SIZE {
        return Err(bad("larger than 64 KiB"));
    }
    let (body, signatures) = note
        .split_once("\n\n")
        .ok_or_else(|| bad("no blank line between body and signatures"))?;
    if !signatures.starts_with("— ") {
        return Err(bad("no signature line"));
    }
    let mut lines = body.split('\n');
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or_else(|| bad("empty origin line"))?;
    let size = lines
        .next()
        .and_then(parse_decimal)
        .ok_or_else(|| bad("second line is not a tree size"))?;
    let root_hash = lines
        .next()
        .and_then(|l| B64.decode(l).ok())
        .and_then(|h| Hash::try_from(h).ok())
        .ok_or_else(|| bad("third line is not a base64 SHA-256 root hash"))?;
    Ok(CheckpointBody {
        origin: origin.to_owned(),
        size,
        root_hash,
    })
}

/// A decimal u64 without sign or leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

fn parse_json<T: for<'de> Deserialize<'de>>(url: &Url, bytes: &[u8]) -> Result<T, FetchError> {
    serde_json::from_slice(bytes).map_err(|e| FetchError::Malformed {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

fn decode_hash(url: &Url, what: &str, hex_str: &str) -> Result<Hash, FetchError> {
    hex::decode(hex_str)
        .ok()
        .and_then(|h| Hash::try_from(h).ok())
        .ok_or_else(|| FetchError::Malformed {
            url: url.to_string(),
            reason: format!("{what} is not a hex SHA-256 hash"),
        })
}

/// Rekor v1 `GET /api/v1/log` (unknown fields, e.g. `inactiveShards`, are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorLogInfo {
    signed_tree_head: String,
    tree_size: u64,
    root_hash: String,
}

/// Rekor v1 `GET /api/v1/log/proof`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorProof {
    root_hash: String,
    hashes: Vec<String>,
}

fn rekor_checkpoint(client: &HttpClient, base: &Url) -> Result<(Url, String), FetchError> {
    let url = join(base, "api/v1/log")?;
    let info: RekorLogInfo = parse_json(&url, &client.get_existing(&url, MAX_JSON_SIZE)?)?;
    let body = parse_checkpoint(&url, &info.signed_tree_head)?;
    let mismatch = |reason: String| FetchError::LogMismatch {
        url: url.to_string(),
        reason,
    };
    if info.tree_size != body.size {
        return Err(mismatch(format!(
            "treeSize {} differs from the checkpoint's size {}",
            info.tree_size, body.size
        )));
    }
    if decode_hash(&url, "rootHash", &info.root_hash)? != body.root_hash {
        return Err(mismatch(
            "rootHash differs from the checkpoint's root hash".to_owned(),
        ));
    }
    Ok((url, info.signed_tree_head))
}

fn rekor_proof(
    client: &HttpClient,
    base: &Url,
    from_size: u64,
    checkpoint: &CheckpointBody,
) -> Result<ConsistencyProof, FetchError> {
    let mut url = join(base, "api/v1/log/proof")?;
    url.query_pairs_mut()
        .append_pair("firstSize", &from_size.to_string())
        .append_pair("lastSize", &checkpoint.size.to_string());
    let proof: RekorProof = parse_json(&url, &client.get_existing(&url, MAX_JSON_SIZE)?)?;
    if decode_hash(&url, "rootHash", &proof.root_hash)? != checkpoint.root_hash {
        return Err(FetchError::LogMismatch {
            url: url.to_string(),
            reason: "rootHash differs from the checkpoint's root hash".to_owned(),
        });
    }
    if proof.hashes.len() > MAX_PROOF_HASHES {
        return Err(FetchError::Malformed {
            url: url.to_string(),
            reason: format!(
                "{} proof hashes (at most {MAX_PROOF_HASHES})",
                proof.hashes.len()
            ),
        });
    }
    let hashes = proof
        .hashes
        .iter()
        .map(|h| decode_hash(&url, "a proof hash", h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ConsistencyProof {
        from_size,
        to_size: checkpoint.size,
        hashes,
    })
}

fn tiles_checkpoint(client: &HttpClient, base: &Url) -> Result<(Url, String), FetchError> {
    let url = join(base, "checkpoint")?;
    let bytes = client.get_existing(&url, MAX_NOTE_SIZE as u64)?;
    let note = String::from_utf8(bytes).map_err(|_| FetchError::Malformed {
        url: url.to_string(),
        reason: "checkpoint is not UTF-8".to_owned(),
    })?;
    Ok((url, note))
}

/// Hash tiles over HTTPS. A partial tile that is gone (404) is read from the full tile, as
/// C2SP allows logs to delete partial tiles once the full one exists.
struct HttpTiles<'a> {
    client: &'a HttpClient,
    base: &'a Url,
}

impl TileSource for HttpTiles<'_> {
    fn tile(&self, tile: &Tile) -> Result<Vec<u8>, FetchError> {
        let width = u64::from(tile.width());
        let url = join(self.base, &tile_path(tile))?;
        let bytes = match self.client.get_bytes(&url, width * 32)? {
            Some(bytes) => bytes,
            None if width < TILE_WIDTH => {
                let full = Tile::new(
                    tile.height(),
                    tile.level(),
                    tile.level_index(),
                    1 << tile.height(),
                    false,
                );
                let full = join(self.base, &tile_path(&full))?;
                let mut bytes = self.client.get_existing(&full, TILE_WIDTH * 32)?;
                if bytes.len() as u64 == TILE_WIDTH * 32 {
                    bytes.truncate(width as usize * 32);
                }
                bytes
            }
            None => {
                return Err(FetchError::NotFound {
                    url: url.to_string(),
                });
            }
        };
        if bytes.len() as u64 != width * 32 {
            return Err(FetchError::Malformed {
                url: url.to_string(),
                reason: format!("{} bytes, not {width} hashes", bytes.len()),
            });
        }
        Ok(bytes)
    }

    fn name(&self) -> String {
        self.base.to_string()
    }
}

/// The tree hash the tiles give must be the checkpoint's root; each proof is verified against
/// it (and the old tree hash the same tiles give) before it is returned.
fn tiles_proofs(
    client: &HttpClient,
    base: &Url,
    checkpoint_url: &Url,
    sizes: &[u64],
    checkpoint: &CheckpointBody,
) -> Result<Vec<ConsistencyProof>, FetchError> {
    let tree = TreeTiles::new(
        HttpTiles { client, base },
        checkpoint.size,
        checkpoint.root_hash,
        checkpoint_url.to_string(),
    )?;
    // Reading the tree hash authenticates the tiles under it against the checkpoint's root.
    if tree.tree_hash(checkpoint.size)? != checkpoint.root_hash {
        return Err(FetchError::LogMismatch {
            url: checkpoint_url.to_string(),
            reason: "the tree hash of the tiles differs from the checkpoint's root hash".to_owned(),
        });
    }
    sizes
        .iter()
        .map(|&from_size| {
            Ok(ConsistencyProof {
                from_size,
                to_size: checkpoint.size,
                hashes: tree.consistency_proof(from_size)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://log.example").unwrap()
    }

    #[test]
    fn checkpoint_body_is_parsed() {
        let root = B64.encode([7u8; 32]);
        let note = format!("log.example - 42\n13\n{root}\next\n\n— log.example AAAA\n");
        let body = parse_checkpoint(&url(), &note).unwrap();
        assert_eq!(body.origin, "log.example - 42");
        assert_eq!(body.size, 13);
        assert_eq!(body.root_hash, [7u8; 32]);
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        let root = B64.encode([7u8; 32]);
        for note in [
            format!("o\n13\n{root}\n"),
            format!("o\n13\n{root}\n\nno signature\n"),
            format!("\n13\n{root}\n\n— o AAAA\n"),
            format!("o\n013\n{root}\n\n— o AAAA\n"),
            format!("o\n+13\n{root}\n\n— o AAAA\n"),
            format!("o\n13\n{}\n\n— o AAAA\n", B64.encode([7u8; 31])),
            "o\n13\n\n— o AAAA\n".to_owned(),
            format!("o\n13\n{root}\n\n— o {}\n", "A".repeat(MAX_NOTE_SIZE)),
        ] {
            assert!(
                matches!(
                    parse_checkpoint(&url(), &note),
                    Err(FetchError::Malformed { .. })
                ),
                "{note:?}"
            );
        }
    }

    #[test]
    fn old_sizes_skip_zero_and_current_and_dedupe() {
        assert_eq!(
            old_sizes(&url(), &[5, 0, 3, 10, 5], 10).unwrap(),
            vec![3, 5]
        );
        assert!(matches!(
            old_sizes(&url(), &[3, 12, 11], 10),
            Err(FetchError::SizeBeyondLog {
                from_size: 11,
                size: 10,
                ..
            })
        ));
    }
}
