//! Tar entries as this format writes and accepts them: ustar headers with fixed metadata and
//! exactly two entry forms, `manifest.dsse.json` and `blobs/sha256/<hex>`.

use super::digest::Sha256Digest;
use super::error::ArchiveError;

/// A tar block.
pub(crate) const BLOCK: u64 = 512;
/// The first entry's path.
pub const MANIFEST_ENTRY: &str = "manifest.dsse.json";
/// The folder every blob lives in.
pub const BLOB_PREFIX: &str = "blobs/sha256/";
/// File mode written for every entry.
const MODE: u32 = 0o644;

/// `size` rounded up to whole blocks.
pub(crate) fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK).saturating_mul(BLOCK)
}

/// The tar path of a blob.
pub fn blob_path(digest: &Sha256Digest) -> String {
    format!("{BLOB_PREFIX}{}", digest.hex())
}

/// A deterministic ustar header: mtime 0, uid/gid 0, no owner names, mode 0644.
pub(crate) fn header(path: &str, size: u64) -> Result<[u8; 512], ArchiveError> {
    let mut header = tar::Header::new_ustar();
    header
        .set_path(path)
        .map_err(|e| ArchiveError::BadPath(format!("{path}: {e}")))?;
    header.set_size(size);
    header.set_mode(MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut block = [0u8; 512];
    block.copy_from_slice(header.as_bytes());
    Ok(block)
}

/// What an entry is, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryName {
    Manifest,
    Blob(Sha256Digest),
}

/// A parsed header: the entry's path (as text), what it names, and its size.
#[derive(Debug)]
pub(crate) struct EntryHeader {
    pub(crate) path: String,
    pub(crate) name: Result<EntryName, ()>,
    pub(crate) size: u64,
}

/// Parses one header block found at `offset`: checksum, ustar magic, regular type, UTF-8 path.
pub(crate) fn parse_header(block: &[u8; 512], offset: u64) -> Result<EntryHeader, ArchiveError> {
    let bad = |reason: &str| ArchiveError::BadHeader {
        offset,
        reason: reason.to_owned(),
    };
    let header = tar::Header::from_byte_slice(block);
    let stored = header.cksum().map_err(|_| bad("unreadable checksum"))?;
    let computed: u32 = block[..148]
        .iter()
        .chain(&block[156..])
        .map(|b| u32::from(*b))
        .sum::<u32>()
        + 8 * u32::from(b' ');
    if stored != computed {
        return Err(bad("checksum mismatch"));
    }
    if header.as_ustar().is_none() {
        return Err(bad("not a ustar header"));
    }
    let path = String::from_utf8(header.path_bytes().into_owned())
        .map_err(|_| bad("path is not UTF-8"))?;
    let kind = header.entry_type();
    if kind != tar::EntryType::Regular {
        return Err(ArchiveError::NotRegularFile {
            path,
            kind: char::from(kind.as_byte()),
        });
    }
    let size = header.entry_size().map_err(|_| bad("unreadable size"))?;
    let name = if path == MANIFEST_ENTRY {
        Ok(EntryName::Manifest)
    } else {
        path.strip_prefix(BLOB_PREFIX)
            .and_then(|hex| Sha256Digest::from_hex(hex).ok())
            .map(EntryName::Blob)
            .ok_or(())
    };
    Ok(EntryHeader { path, name, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with `path` written verbatim (no sanitising, unlike `tar::Header::set_path`).
    pub(crate) fn raw_header(path: &str, kind: tar::EntryType) -> [u8; 512] {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(0);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        h.set_cksum();
        let mut block = [0u8; 512];
        block.copy_from_slice(h.as_bytes());
        block
    }

    #[test]
    fn headers_round_trip_and_are_deterministic() {
        let d = Sha256Digest::of(b"x");
        let block = header(&blob_path(&d), 1234).unwrap();
        assert_eq!(block, header(&blob_path(&d), 1234).unwrap());
        let parsed = parse_header(&block, 0).unwrap();
        assert_eq!(parsed.name, Ok(EntryName::Blob(d)));
        assert_eq!(parsed.size, 1234);
        let h = tar::Header::from_byte_slice(&block);
        assert_eq!(h.mtime().unwrap(), 0);
        assert_eq!(h.uid().unwrap(), 0);
        assert_eq!(h.mode().unwrap(), 0o644);
    }

    #[test]
    fn checksum_and_type_are_checked() {
        let mut block = header(MANIFEST_ENTRY, 10).unwrap();
        block[0] ^= 1;
        assert!(matches!(
            parse_header(&block, 512),
            Err(ArchiveError::BadHeader { offset: 512, reason }) if reason == "checksum mismatch"
        ));
        let block = raw_header("blobs/sha256/x", tar::EntryType::Symlink);
        assert!(matches!(
            parse_header(&block, 0),
            Err(ArchiveError::NotRegularFile { kind: '2', .. })
        ));
    }

    #[test]
    fn only_two_path_forms_name_entries() {
        for (path, ok) in [
            ("manifest.dsse.json", true),
            (&*blob_path(&Sha256Digest::of(b"")), true),
            ("blobs/sha256/../../etc/passwd", false),
            ("blobs/sha256/ABC", false),
            ("/etc/passwd", false),
            ("./manifest.dsse.json", false),
        ] {
            let parsed = parse_header(&raw_header(path, tar::EntryType::Regular), 0).unwrap();
            assert_eq!(parsed.name.is_ok(), ok, "{path}");
        }
    }
}
