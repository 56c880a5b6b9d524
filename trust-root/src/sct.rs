//! Signed certificate timestamps (RFC 6962) embedded in a leaf certificate.

use chrono::{DateTime, Utc};

use crate::certificate::Certificate;
use crate::keys::HashAlgorithm;
use crate::trusted_root::TrustedRoot;

/// Why the embedded SCTs did not establish that a CT log saw the certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SctError {
    #[error("certificate has no embedded SCTs")]
    Missing,
    #[error("embedded SCT list is malformed")]
    Malformed,
    #[error("no embedded SCT is from a CT log in the trusted root")]
    NoTrustedLog,
    #[error("SCT from CT log {log_id} does not verify")]
    BadSignature { log_id: String },
    #[error("SCT from CT log {log_id} is dated {at}, outside the log key's validity")]
    LogKeyNotValid { log_id: String, at: DateTime<Utc> },
    #[error("SCT version {0} is not supported")]
    Version(u8),
    #[error("{found} embedded SCTs verified; at least {required} are required")]
    TooFew { found: usize, required: usize },
}

/// One parsed SCT.
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp_ms: u64,
    extensions: &'a [u8],
    hash: u8,
    signature: &'a [u8],
}

/// A verified SCT: the CT log that saw the certificate and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSct {
    pub log_id: Vec<u8>,
    pub timestamp: DateTime<Utc>,
}

/// A tiny reader over TLS presentation-language bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SctError> {
        if self.0.len() < n {
            return Err(SctError::Malformed);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, SctError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, SctError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u64(&mut self) -> Result<u64, SctError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn vec16(&mut self) -> Result<&'a [u8], SctError> {
        let n = self.u16()?;
        self.take(n)
    }
}

fn parse_list(list: &[u8]) -> Result<Vec<Sct<'_>>, SctError> {
    let mut outer = Reader(list);
    let mut items = Reader(outer.vec16()?);
    if !outer.0.is_empty() {
        return Err(SctError::Malformed);
    }
    let mut scts = Vec::new();
    while !items.0.is_empty() {
        let mut r = Reader(items.vec16()?);
        let version = r.u8()?;
        if version != 0 {
            return Err(SctError::Version(version));
        }
        let log_id = r.take(32)?;
        let timestamp_ms = r.u64()?;
        let extensions = r.vec16()?;
        let hash = r.u8()?;
        let _signature_algorithm = r.u8()?;
        let signature = r.vec16()?;
        if !r.0.is_empty() {
            return Err(SctError::Malformed);
        }
        scts.push(Sct {
            log_id,
            timestamp_ms,
            extensions,
            hash,
            signature,
        });
    }
    Ok(scts)
}

/// The data a CT log signs for a precertificate entry.
fn signed_data(sct: &Sct<'_>, issuer_key_hash: &[u8; 32], tbs: &[u8]) -> Result<Vec<u8>, SctError> {
    let tbs_len = u32::try_from(tbs.len()).map_err(|_| SctError::Malformed)?;
    if tbs_len >= 1 << 24 {
        return Err(SctError::Malformed);
    }
    let ext_len = u16::try_from(sct.extensions.len()).map_err(|_| SctError::Malformed)?;
    let mut out = Vec::with_capacity(tbs.len() + 64);
    out.push(0); // version v1
    out.push(0); // signature_type certificate_timestamp
    out.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
    out.extend_from_slice(issuer_key_hash);
    out.extend_from_slice(&tbs_len.to_be_bytes()[1..]);
    out.extend_from_slice(tbs);
    out.extend_from_slice(&ext_len.to_be_bytes());
    out.extend_from_slice(sct.extensions);
    Ok(out)
}

/// Verifies the leaf's embedded SCTs against CT logs in `root`; at least `min` must verify.
/// SCTs from logs the root does not know are skipped; a known log's bad SCT is an error.
pub(crate) fn verify_embedded_scts(
    leaf: &Certificate,
    issuer: &Certificate,
    root: &TrustedRoot,
    min: usize,
) -> Result<Vec<VerifiedSct>, SctError> {
    let list = match leaf.sct_list().map_err(|_| SctError::Malformed)? {
        Some(list) => list,
        None if min == 0 => return Ok(Vec::new()),
        None => return Err(SctError::Missing),
    };
    let scts = parse_list(&list)?;
    let tbs = leaf
        .precertificate_tbs_der()
        .map_err(|_| SctError::Malformed)?;
    let issuer_key_hash = issuer.spki_sha256();
    let mut verified = Vec::new();
    for sct in &scts {
        let Some(log) = root.ctlog(sct.log_id) else {
            continue;
        };
        let log_id = hex::encode(sct.log_id);
        let millis = i64::try_from(sct.timestamp_ms).map_err(|_| SctError::Malformed)?;
        let at = DateTime::from_timestamp_millis(millis).ok_or(SctError::Malformed)?;
        if !log.valid_for().contains(at) {
            return Err(SctError::LogKeyNotValid { log_id, at });
        }
        let hash = match sct.hash {
            4 => HashAlgorithm::Sha256,
            5 => HashAlgorithm::Sha384,
            6 => HashAlgorithm::Sha512,
            _ => return Err(SctError::Malformed),
        };
        let data = signed_data(sct, &issuer_key_hash, &tbs)?;
        log.key()
            .verify_with(hash, &data, sct.signature)
            .map_err(|_| SctError::BadSignature {
                log_id: log_id.clone(),
            })?;
        verified.push(VerifiedSct {
            log_id: sct.log_id.to_vec(),
            timestamp: at,
        });
    }
    if verified.len() < min {
        return Err(if verified.is_empty() {
            SctError::NoTrustedLog
        } else {
            SctError::TooFew {
                found: verified.len(),
                required: min,
            }
        });
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_lists_are_malformed() {
        assert!(matches!(parse_list(&[0, 5, 0]), Err(SctError::Malformed)));
        assert!(matches!(parse_list(&[]), Err(SctError::Malformed)));
        // One SCT of version 1.
        assert!(matches!(
            parse_list(&[0, 3, 0, 1, 1]),
            Err(SctError::Version(1))
        ));
    }
}
