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
    let mut header = template(size);
    header
        .set_path(path)
        .map_err(|e| ArchiveError::BadPath(format!("{path}: {e}")))?;
    header.set_cksum();
    let mut block = [0u8; 512];
    block.copy_from_slice(header.as_bytes());
    Ok(block)
}

/// Every field the writer sets except the path and checksum, for an entry of `size` bytes.
fn template(size: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(size);
    header.set_mode(MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// The ustar `name` field.
const NAME: std::ops::Range<usize> = 0..100;
/// The ustar `typeflag` byte.
const TYPEFLAG: usize = 156;
/// The ustar `prefix` field.
const PREFIX: std::ops::Range<usize> = 345..500;
/// The header fields that must be byte for byte what [`template`] writes, in header order
/// (`size` depends only on the entry's size; `pad` is the unnamed tail of a ustar header).
const FIXED_FIELDS: [(&str, std::ops::Range<usize>); 11] = [
    ("mode", 100..108),
    ("uid", 108..116),
    ("gid", 116..124),
    ("size", 124..136),
    ("mtime", 136..148),
    ("linkname", 157..257),
    ("uname", 265..297),
    ("gname", 297..329),
    ("devmajor", 329..337),
    ("devminor", 337..345),
    ("pad", 500..512),
];

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

/// Parses one header block found at `offset`: checksum, ustar magic, empty prefix, UTF-8 path,
/// typeflag `0`, and every other field exactly as [`header`] writes it for that size.
pub(crate) fn parse_header(block: &[u8; 512], offset: u64) -> Result<EntryHeader, ArchiveError> {
    let bad = |reason: String| ArchiveError::BadHeader { offset, reason };
    let header = tar::Header::from_byte_slice(block);
    let stored = header
        .cksum()
        .map_err(|_| bad("unreadable checksum".into()))?;
    let computed: u32 = block[..148]
        .iter()
        .chain(&block[156..])
        .map(|b| u32::from(*b))
        .sum::<u32>()
        + 8 * u32::from(b' ');
    if stored != computed {
        return Err(bad("checksum mismatch".into()));
    }
    if header.as_ustar().is_none() {
        return Err(bad("not a ustar header".into()));
    }
    if block[PREFIX].iter().any(|b| *b != 0) {
        return Err(bad("the prefix field is not empty".into()));
    }
    let name = &block[NAME];
    let len = name.iter().position(|b| *b == 0).unwrap_or(name.len());
    let path =
        String::from_utf8(name[..len].to_vec()).map_err(|_| bad("path is not UTF-8".into()))?;
    match block[TYPEFLAG] {
        b'0' => {}
        0 => return Err(bad("typeflag is NUL, not '0'".into())),
        kind => {
            return Err(ArchiveError::NotRegularFile {
                path,
                kind: char::from(kind),
            });
        }
    }
    let size = header
        .entry_size()
        .map_err(|_| bad("unreadable size".into()))?;
    if name[len..].iter().any(|b| *b != 0) {
        return Err(bad("the name field has bytes after the path's NUL".into()));
    }
    let expected = template(size);
    let expected = expected.as_bytes();
    for (field, range) in FIXED_FIELDS {
        if block[range.clone()] != expected[range.clone()] {
            return Err(bad(format!(
                "{field} is {}, the writer writes {}",
                shown(&block[range.clone()]),
                shown(&expected[range])
            )));
        }
    }
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

/// A header field for an error message: quoted, trailing NULs left out, other bytes escaped.
fn shown(field: &[u8]) -> String {
    let len = field.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    format!("\"{}\"", field[..len].escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with `path` written verbatim (no sanitising, unlike `tar::Header::set_path`).
    pub(crate) fn raw_header(path: &str, kind: tar::EntryType) -> [u8; 512] {
        let mut h = template(0);
        h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
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

    /// `block` with `edit` applied and the checksum recomputed.
    fn edited(mut block: [u8; 512], edit: impl FnOnce(&mut [u8; 512])) -> [u8; 512] {
        edit(&mut block);
        let mut h = tar::Header::new_old();
        h.as_mut_bytes().copy_from_slice(&block);
        h.set_cksum();
        block.copy_from_slice(h.as_bytes());
        block
    }

    fn reason(block: &[u8; 512]) -> String {
        match parse_header(block, 0) {
            Err(ArchiveError::BadHeader { offset: 0, reason }) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_fixed_field_must_be_the_writers() {
        let good = header(&blob_path(&Sha256Digest::of(b"x")), 1).unwrap();
        for (field, range) in FIXED_FIELDS {
            // A value tar readers accept (octal without the leading zeros, or a name) but
            // not the one the writer writes.
            let block = edited(good, |b| {
                b[range.clone()].fill(0);
                b[range.start] = b'1';
            });
            assert!(
                reason(&block).starts_with(&format!("{field} is \"1\", the writer writes")),
                "{field}: {}",
                reason(&block)
            );
        }
        // Octal with spaces instead of leading zeros, as some tars write it.
        let block = edited(good, |b| b[108..116].copy_from_slice(b"     0 \0"));
        assert_eq!(
            reason(&block),
            r#"uid is "     0 ", the writer writes "0000000""#
        );
        // uid and gid left empty (all NUL), as the old test helpers wrote them.
        let block = edited(good, |b| b[108..124].fill(0));
        assert_eq!(reason(&block), r#"uid is "", the writer writes "0000000""#);
        // The size in base-256 although octal fits.
        let block = edited(good, |b| {
            b[124..136].fill(0);
            b[124] = 0x80;
            b[135] = 1;
        });
        assert!(reason(&block).starts_with("size is "), "{}", reason(&block));
    }

    #[test]
    fn prefix_typeflag_and_name_padding_are_strict() {
        let good = header(MANIFEST_ENTRY, 10).unwrap();
        let split = edited(good, |b| {
            b[345..351].copy_from_slice(b"blobs/");
        });
        assert_eq!(reason(&split), "the prefix field is not empty");
        let nul = edited(good, |b| b[TYPEFLAG] = 0);
        assert_eq!(reason(&nul), "typeflag is NUL, not '0'");
        let hidden = edited(good, |b| b[MANIFEST_ENTRY.len() + 1] = b'x');
        assert_eq!(
            reason(&hidden),
            "the name field has bytes after the path's NUL"
        );
    }
}
