//! Arguments several subcommands share: the archive, the publisher keys that must sign it,
//! and sizes written with units.

use std::path::PathBuf;

use airlock_bundler::archive::{ArchiveParts, PublisherKeys};
use airlock_bundler::keys::load_public_keys;
use clap::Args;

/// An archive and the keys its manifest must be signed by.
#[derive(Debug, Args)]
pub(crate) struct ArchiveArgs {
    /// The archive: NAME.airlock.tar.zst, or its first part (NAME.airlock.tar.zst.001), or the
    /// name whose parts exist.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// A trusted publisher public key (PEM); repeat for several.
    #[arg(long = "pub", value_name = "KEY", required = true)]
    pub(crate) public_keys: Vec<PathBuf>,

    /// How many distinct trusted keys must have signed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) threshold: usize,
}

impl ArchiveArgs {
    /// The archive's files and the key set, or a one-line reason.
    pub(crate) fn open(&self) -> Result<(ArchiveParts, PublisherKeys), String> {
        let keys = load_public_keys(&self.public_keys).map_err(|e| e.to_string())?;
        let keys = PublisherKeys::new(keys.into_iter().map(|(_, k)| k), self.threshold)
            .map_err(|e| e.to_string())?;
        let parts = ArchiveParts::locate(&self.file).map_err(|e| e.to_string())?;
        Ok((parts, keys))
    }
}

/// Parses `700M`, `4.7G`, `1048576`, `64KiB` (K, M, G, T are powers of 1024).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 700M or 4.7G"))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use K, M, G or T)"
            ));
        }
    };
    let bytes = number * scale as f64;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("{text:?} is not a usable size"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("700M"), Ok(700 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("").is_err());
    }
}
