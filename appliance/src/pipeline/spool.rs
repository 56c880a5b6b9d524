//! Where each artifact's rendered report and signed summary wait for the commit: an unnamed
//! file per worker, not memory. Every verdict commits in one transaction after the whole archive
//! is verified, so until then they are all kept somewhere; in memory they were 3–4 KB an
//! artifact, and peak RSS grew with the archive (95 MiB at 10,000 artifacts). The files have no
//! name (`O_TMPFILE`), so nothing is left behind whatever ends the import.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Where one value was written: its offset and length in its worker's spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    spool: usize,
    offset: u64,
    len: usize,
}

/// One worker's spool while it writes.
pub(super) struct Spool {
    index: usize,
    out: BufWriter<File>,
    written: u64,
}

impl Spool {
    /// An unnamed file in `dir`, the `index`-th of the import's spools.
    pub(super) fn create(dir: &Path, index: usize) -> io::Result<Self> {
        Ok(Self {
            index,
            out: BufWriter::with_capacity(64 << 10, tempfile::tempfile_in(dir)?),
            written: 0,
        })
    }

    /// Appends `bytes`.
    pub(super) fn put(&mut self, bytes: &[u8]) -> io::Result<Span> {
        self.out.write_all(bytes)?;
        let span = Span {
            spool: self.index,
            offset: self.written,
            len: bytes.len(),
        };
        self.written += bytes.len() as u64;
        Ok(span)
    }

    /// Everything written, ready to be read back.
    pub(super) fn finish(self) -> io::Result<Written> {
        Ok(Written {
            index: self.index,
            file: self
                .out
                .into_inner()
                .map_err(io::IntoInnerError::into_error)?,
        })
    }
}

/// A finished spool.
pub(super) struct Written {
    index: usize,
    file: File,
}

/// Every worker's finished spool, to read spans back from.
pub(super) struct Spools(Vec<Written>);

impl Spools {
    pub(super) fn new(written: Vec<Written>) -> Self {
        Self(written)
    }

    /// Reads `span` into `buf` (replacing what it held).
    pub(super) fn read(&self, span: Span, buf: &mut Vec<u8>) -> io::Result<()> {
        let spool = self
            .0
            .iter()
            .find(|w| w.index == span.spool)
            .ok_or_else(|| io::Error::other(format!("no spool {}", span.spool)))?;
        buf.clear();
        buf.resize(span.len, 0);
        spool.file.read_exact_at(buf, span.offset)
    }

    /// Reads `span` as text.
    pub(super) fn read_text<'b>(&self, span: Span, buf: &'b mut Vec<u8>) -> io::Result<&'b str> {
        self.read(span, buf)?;
        std::str::from_utf8(buf).map_err(io::Error::other)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_back_what_each_spool_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = Spool::create(dir.path(), 0).unwrap();
        let mut second = Spool::create(dir.path(), 1).unwrap();
        let a = first.put(b"report one").unwrap();
        let b = second.put("résumé".as_bytes()).unwrap();
        let empty = first.put(b"").unwrap();
        let big = vec![7u8; 200 << 10];
        let c = first.put(&big).unwrap();
        // Given in any order, as the workers end.
        let spools = Spools::new(vec![second.finish().unwrap(), first.finish().unwrap()]);

        let mut buf = Vec::new();
        assert_eq!(spools.read_text(a, &mut buf).unwrap(), "report one");
        assert_eq!(spools.read_text(b, &mut buf).unwrap(), "résumé");
        assert_eq!(spools.read_text(empty, &mut buf).unwrap(), "");
        spools.read(c, &mut buf).unwrap();
        assert_eq!(buf, big);
        // The spools have no name: the folder holds nothing.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_span_of_another_import_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::create(dir.path(), 3).unwrap();
        let span = spool.put(b"x").unwrap();
        let spools = Spools::new(vec![]);
        let mut buf = Vec::new();
        assert_eq!(
            spools.read(span, &mut buf).unwrap_err().to_string(),
            "no spool 3"
        );
        let spools = Spools::new(vec![spool.finish().unwrap()]);
        let beyond = Span {
            spool: 3,
            offset: 1,
            len: 1,
        };
        assert_eq!(
            spools.read(beyond, &mut buf).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
