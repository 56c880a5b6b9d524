//! The manifest's JSON form: the types' serde form, except that a log's consistency proofs
//! share one table of hashes (`hashes`, lowercase hex) and each lists its own as positions in
//! it (`path`). Parsing resolves every path (a `LogSnapshot` in memory holds its hashes) and
//! bounds them: each path as it is read, all paths together before anything is built.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::types::{self, Manifest};
use super::{FORMAT_VERSION, MAX_PROOF_HASHES, MAX_PROOF_POSITIONS, ManifestError, invalid};

impl Manifest {
    /// Parses and checks a manifest.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        // The version decides the schema, so read it before anything else.
        let VersionOnly { version } =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        if version != FORMAT_VERSION {
            return Err(ManifestError::UnsupportedVersion { found: version });
        }
        // Every path position becomes a 32-byte hash (from as little as "0,"), so their number
        // is bounded before anything is built. Each takes two bytes at least (a digit, then
        // `,` or `]`): a payload of at most twice the bound cannot pass it, and is not counted.
        if bytes.len() > 2 * MAX_PROOF_POSITIONS && count_positions(bytes)? > MAX_PROOF_POSITIONS {
            return Err(invalid(
                "logs",
                &format!("more than {MAX_PROOF_POSITIONS} positions in all consistency paths"),
            ));
        }
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Serializes the manifest (the exact bytes that get signed).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain types cannot fail: every map key is a string. Compact, not
        // pretty: indentation was a quarter of a large manifest.
        serde_json::to_vec(self)
            .expect("invariant: a manifest serializes (derived and hand-written, string keys)")
    }
}

impl Serialize for types::LogSnapshot {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut table = Vec::new();
        let mut positions = HashMap::new();
        let consistency = self
            .consistency
            .iter()
            .map(|proof| ConsistencyProof {
                from_size: proof.from_size,
                to_size: proof.to_size,
                path: proof
                    .hashes
                    .iter()
                    .map(|hash| {
                        *positions.entry(hash).or_insert_with(|| {
                            table.push(*hash);
                            table.len() - 1
                        })
                    })
                    .collect(),
            })
            .collect();
        LogSnapshotRef {
            origin: &self.origin,
            checkpoint: &self.checkpoint,
            hashes: &table,
            consistency,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for types::LogSnapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        LogSnapshot::deserialize(deserializer)
            .and_then(|wire| Self::try_from(wire).map_err(serde::de::Error::custom))
    }
}

/// A log as the JSON has it: one table of hashes, each proof a path of positions in it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSnapshot {
    origin: String,
    checkpoint: String,
    #[serde(default, with = "hex_hashes")]
    hashes: Vec<[u8; 32]>,
    #[serde(default)]
    consistency: Vec<ConsistencyProof>,
}

/// [`LogSnapshot`] as it is written, borrowing from the log in memory.
#[derive(Serialize)]
struct LogSnapshotRef<'a> {
    origin: &'a str,
    checkpoint: &'a str,
    #[serde(with = "hex_hashes")]
    hashes: &'a [[u8; 32]],
    consistency: Vec<ConsistencyProof>,
}

/// A proof as the JSON has it: its hashes as positions in the log's table.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyProof {
    from_size: u64,
    to_size: u64,
    #[serde(deserialize_with = "bounded_path")]
    path: Vec<usize>,
}

/// Counts the positions of every log's consistency paths, keeping nothing else.
fn count_positions(bytes: &[u8]) -> Result<usize, ManifestError> {
    #[derive(Deserialize)]
    struct Logs {
        #[serde(default)]
        logs: Vec<Log>,
    }
    #[derive(Deserialize)]
    struct Log {
        #[serde(default)]
        consistency: Vec<Proof>,
    }
    #[derive(Deserialize)]
    struct Proof {
        #[serde(default)]
        path: Count,
    }
    #[derive(Default)]
    struct Count(usize);
    impl<'de> Deserialize<'de> for Count {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Counter;
            impl<'de> Visitor<'de> for Counter {
                type Value = Count;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a list of positions")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                    let mut n = 0;
                    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                        n += 1;
                    }
                    Ok(Count(n))
                }
            }
            d.deserialize_seq(Counter)
        }
    }
    let logs: Logs =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Syntax(e.to_string()))?;
    Ok(logs
        .logs
        .iter()
        .flat_map(|log| &log.consistency)
        .map(|proof| proof.path.0)
        .fold(0, usize::saturating_add))
}

/// A path, refused as soon as it runs past [`MAX_PROOF_HASHES`] positions (each "0," of
/// the text would otherwise become 8 bytes of memory).
fn bounded_path<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<usize>, D::Error> {
    struct Path;
    impl<'de> Visitor<'de> for Path {
        type Value = Vec<usize>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "at most {MAX_PROOF_HASHES} positions in the log's hashes"
            )
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<usize>, A::Error> {
            let mut path = Vec::new();
            while let Some(position) = seq.next_element()? {
                if path.len() == MAX_PROOF_HASHES {
                    return Err(serde::de::Error::custom(format!(
                        "a consistency proof's path has more than {MAX_PROOF_HASHES} positions"
                    )));
                }
                path.push(position);
            }
            Ok(path)
        }
    }
    d.deserialize_seq(Path)
}

impl TryFrom<LogSnapshot> for types::LogSnapshot {
    type Error = String;

    /// Resolves every path into its hashes. The table is canonical: each hash once, each
    /// used by some proof, so one set of proofs has one wire form.
    fn try_from(log: LogSnapshot) -> Result<Self, String> {
        let mut distinct = HashSet::with_capacity(log.hashes.len());
        if let Some(i) = log.hashes.iter().position(|h| !distinct.insert(h)) {
            return Err(format!(
                "log {:?}: hashes[{i}] repeats an earlier hash",
                log.origin
            ));
        }
        let mut used = vec![false; log.hashes.len()];
        let mut consistency = Vec::with_capacity(log.consistency.len());
        for (j, proof) in log.consistency.into_iter().enumerate() {
            let hashes = proof
                .path
                .iter()
                .map(|&k| {
                    let hash = log.hashes.get(k).ok_or_else(|| {
                        format!(
                            "log {:?}: consistency[{j}] names hashes[{k}] of {}",
                            log.origin,
                            log.hashes.len()
                        )
                    })?;
                    used[k] = true;
                    Ok(*hash)
                })
                .collect::<Result<_, String>>()?;
            consistency.push(types::ConsistencyProof {
                from_size: proof.from_size,
                to_size: proof.to_size,
                hashes,
            });
        }
        if let Some(i) = used.iter().position(|u| !u) {
            return Err(format!("log {:?}: no proof uses hashes[{i}]", log.origin));
        }
        Ok(Self {
            origin: log.origin,
            checkpoint: log.checkpoint,
            consistency,
        })
    }
}

/// A list of 32-byte hashes as lowercase hex strings (serde `with`).
mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub(super) fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| {
                let bad = || {
                    serde::de::Error::custom(format!("not a 32-byte hash in lowercase hex: {s:?}"))
                };
                // `hex` accepts either case; the writer writes lowercase and readers accept only that.
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(bad());
                }
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
                Ok(out)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::tests::sample;

    #[test]
    fn proof_hashes_must_be_lowercase_hex() {
        let json = String::from_utf8(sample().to_json()).unwrap();
        let lower = "ab".repeat(32);
        assert!(json.contains(&lower));
        let upper = json.replace(&lower, &lower.to_uppercase());
        match Manifest::from_json(upper.as_bytes()) {
            Err(ManifestError::Syntax(message)) => {
                assert!(message.contains("lowercase hex"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The sample as a JSON value, changed by `edit`, parsed again.
    fn parse_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Manifest, ManifestError> {
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_json()).unwrap();
        edit(&mut value);
        Manifest::from_json(&serde_json::to_vec(&value).unwrap())
    }

    fn syntax_error(result: Result<Manifest, ManifestError>) -> String {
        match result {
            Err(ManifestError::Syntax(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proofs_share_one_table_of_hashes() {
        let mut manifest = sample();
        let proofs = &mut manifest.logs[0].consistency;
        proofs[0].hashes = vec![[0xab; 32], [0x01; 32]];
        proofs[1].hashes = vec![[0xab; 32], [0x02; 32], [0xab; 32]];
        let json: serde_json::Value = serde_json::from_slice(&manifest.to_json()).unwrap();
        let log = &json["logs"][0];
        let hex = |b: u8| hex::encode([b; 32]);
        assert_eq!(
            log["hashes"],
            serde_json::json!([hex(0xab), hex(0x01), hex(0x02)])
        );
        assert_eq!(log["consistency"][0]["path"], serde_json::json!([0, 1]));
        assert_eq!(log["consistency"][1]["path"], serde_json::json!([0, 2, 0]));
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
    }

    #[test]
    fn a_proof_path_must_name_hashes_of_the_table() {
        let message = syntax_error(parse_edited(|m| {
            m["logs"][0]["consistency"][1]["path"] = serde_json::json!([0, 2]);
        }));
        assert!(
            message.contains("consistency[1] names hashes[2] of 2"),
            "{message}"
        );

        let message = syntax_error(parse_edited(|m| {
            m["logs"][0]["consistency"][0]["path"] = serde_json::Value::from(vec![0; 129]);
        }));
        assert!(
            message.contains("a consistency proof's path has more than 128 positions"),
            "{message}"
        );
        // Exactly 128 positions are a path.
        let at_limit = parse_edited(|m| {
            m["logs"][0]["consistency"][0]["path"] = serde_json::Value::from(vec![0; 128]);
        });
        assert!(
            !matches!(at_limit, Err(ManifestError::Syntax(_))),
            "{at_limit:?}"
        );
    }

    #[test]
    fn the_table_holds_each_hash_once_and_only_hashes_a_proof_uses() {
        let message = syntax_error(parse_edited(|m| {
            let first = m["logs"][0]["hashes"][0].clone();
            m["logs"][0]["hashes"][1] = first;
        }));
        assert!(
            message.contains("hashes[1] repeats an earlier hash"),
            "{message}"
        );

        let message = syntax_error(parse_edited(|m| {
            let hashes = m["logs"][0]["hashes"].as_array_mut().unwrap();
            hashes.push(serde_json::json!("ef".repeat(32)));
        }));
        assert!(message.contains("no proof uses hashes[2]"), "{message}");
    }

    #[test]
    fn all_paths_together_are_bounded_before_they_are_resolved() {
        // 8,193 proofs of 128 positions each: one position too many, though every path is
        // within its own bound.
        let result = parse_edited(|m| {
            let proof = serde_json::json!({
                "from_size": 3, "to_size": 10, "path": serde_json::Value::from(vec![0; 128])
            });
            let mut proofs = vec![proof; MAX_PROOF_POSITIONS / 128];
            proofs.push(serde_json::json!({"from_size": 7, "to_size": 10, "path": [1]}));
            m["logs"][0]["consistency"] = serde_json::Value::from(proofs);
        });
        let too_many = ManifestError::Invalid {
            field: "logs".into(),
            reason: "more than 1048576 positions in all consistency paths".into(),
        };
        assert_eq!(result.unwrap_err(), too_many);
        // A writer's own check refuses the same.
        let mut manifest = sample();
        manifest.logs[0].consistency[0].hashes = vec![[0xab; 32]; MAX_PROOF_POSITIONS];
        assert_eq!(manifest.check().unwrap_err(), too_many);
    }

    #[test]
    fn the_writer_emits_compact_json() {
        let json = sample().to_json();
        assert!(!json.contains(&b'\n'), "{}", String::from_utf8_lossy(&json));
        assert!(!json.windows(2).any(|w| w == b": " || w == b", "));
    }
}
