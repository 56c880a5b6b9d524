//! A test Certificate Transparency log: RFC 6962 SCTs over precertificate TBS data.

use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::keys::EcKey;

/// OID of the embedded SCT list extension (RFC 6962 §3.3).
pub(crate) const SCT_LIST_OID: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// A CT log that only signs SCTs.
#[derive(Clone, Debug)]
pub(crate) struct CtLog {
    pub(crate) key: EcKey,
}

impl CtLog {
    /// Makes an RFC 6962 v1 SCT for a precertificate entry.
    ///
    /// `tbs_der` is the final certificate's TBS without the SCT extension;
    /// `issuer_spki_der` is the issuing CA's SubjectPublicKeyInfo.
    pub(crate) fn sct(
        &self,
        timestamp_ms: u64,
        issuer_spki_der: &[u8],
        tbs_der: &[u8],
    ) -> Result<Vec<u8>> {
        let issuer_key_hash = Sha256::digest(issuer_spki_der);
        let mut signed = Vec::with_capacity(tbs_der.len() + 64);
        signed.push(0); // sct_version v1
        signed.push(0); // signature_type certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        push_u24_len(&mut signed, tbs_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let sig = self.key.sign(&signed);

        let mut sct = Vec::with_capacity(128);
        sct.push(0);
        sct.extend_from_slice(&self.key.key_id()?);
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.push(4); // hash sha256
        sct.push(3); // signature ecdsa
        push_u16_len(&mut sct, &sig);
        Ok(sct)
    }
}

/// A TLS `opaque<0..2^16-1>` list holding serialized SCTs.
pub(crate) fn sct_list(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut inner = Vec::new();
    for sct in scts {
        push_u16_len(&mut inner, sct);
    }
    let mut out = Vec::with_capacity(inner.len() + 2);
    push_u16_len(&mut out, &inner);
    out
}

fn push_u16_len(out: &mut Vec<u8>, data: &[u8]) {
    // Invariant: SCTs and signatures are a few hundred bytes, far below 2^16.
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
}

fn push_u24_len(out: &mut Vec<u8>, data: &[u8]) {
    let len = data.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Seed;

    #[test]
    fn sct_layout() {
        let log = CtLog {
            key: Seed::from(1).p256("ct"),
        };
        let sct = log.sct(1_700_000_000_000, b"issuer", b"tbs").unwrap();
        assert_eq!(sct[0], 0);
        assert_eq!(&sct[1..33], &log.key.key_id().unwrap());
        assert_eq!(&sct[33..41], &1_700_000_000_000u64.to_be_bytes());
        assert_eq!(&sct[41..45], &[0, 0, 4, 3]);
        let sig_len = u16::from_be_bytes([sct[45], sct[46]]) as usize;
        assert_eq!(sct.len(), 47 + sig_len);
        let list = sct_list(std::slice::from_ref(&sct));
        assert_eq!(list.len(), sct.len() + 4);
    }
}
