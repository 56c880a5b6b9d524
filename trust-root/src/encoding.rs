//! Decoding helpers for the protobuf-JSON encodings Sigstore documents use.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Protobuf JSON allows standard or URL-safe base64, padded or not.
const STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an encoded field could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid base64")]
    Base64,
    #[error("invalid integer {0:?}")]
    Integer(String),
    #[error("negative value {0}")]
    Negative(i64),
}

/// Decodes base64 in either alphabet, with or without padding. Line breaks are skipped, as
/// Go's and Python's decoders (which produced and read much of the world's Sigstore JSON) do.
pub(crate) fn base64(text: &str) -> Result<Vec<u8>, DecodeError> {
    let decode = |t: &str| {
        STANDARD
            .decode(t)
            .or_else(|_| URL_SAFE.decode(t))
            .map_err(|_| DecodeError::Base64)
    };
    if text.contains(['\r', '\n']) {
        let joined: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        decode(&joined)
    } else {
        decode(text)
    }
}

/// Encodes bytes as standard padded base64.
pub(crate) fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads a protobuf-JSON int64 (a string, or a plain number) that must not be negative.
pub(crate) fn non_negative(value: &IntOrString) -> Result<u64, DecodeError> {
    let n = match value {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => s
            .parse::<i64>()
            .map_err(|_| DecodeError::Integer(s.clone()))?,
    };
    u64::try_from(n).map_err(|_| DecodeError::Negative(n))
}

/// Protobuf JSON writes 64-bit integers as strings but parsers accept numbers too.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum IntOrString {
    Int(i64),
    String(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_alphabets_and_rejects_junk() {
        assert_eq!(base64("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64("a*b"), Err(DecodeError::Base64));
        assert_eq!(base64("+/\n8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64("+/ 8="), Err(DecodeError::Base64));
    }

    #[test]
    fn integers_must_not_be_negative() {
        assert_eq!(non_negative(&IntOrString::String("12".into())), Ok(12));
        assert_eq!(non_negative(&IntOrString::Int(3)), Ok(3));
        assert_eq!(
            non_negative(&IntOrString::String("-1".into())),
            Err(DecodeError::Negative(-1))
        );
        assert_eq!(
            non_negative(&IntOrString::String("x".into())),
            Err(DecodeError::Integer("x".into()))
        );
    }
}
