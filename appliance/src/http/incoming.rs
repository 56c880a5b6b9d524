//! What the API's upload and the upload page share: the partial file an upload is streamed
//! into under `incoming/`, removed unless the pipeline moved it away, and the limits on it.
//!
//! The receiver holds a `flock` on its partial file until the import is over, so that a
//! writer recovering the data folder (in this or another process) removes only abandoned
//! uploads.

use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore as _};

/// The file name recorded when an upload gives none.
pub(super) const DEFAULT_FILE_NAME: &str = "upload.airlock.tar.zst";

/// The longest file name kept, in bytes (the pipeline's own rule).
pub(super) const MAX_FILE_NAME: usize = crate::pipeline::MAX_FILE_NAME;

/// Bytes buffered between the request body and the partial file: small enough that each write
/// copies from a cache-resident buffer (see the archive reader's `WRITE_CHUNK`).
pub(super) const UPLOAD_BUFFER: usize = 128 << 10;

/// An upload being received: removed when dropped unless the pipeline moved it away. The
/// file it holds (when it created one) keeps the partial file's lock.
#[derive(Debug)]
pub(super) struct Partial(pub(super) PathBuf, pub(super) Option<std::fs::File>);

impl Partial {
    /// A new, randomly named partial file in `incoming` (not created yet).
    pub(super) fn in_folder(incoming: &Path) -> Self {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        Self(
            incoming.join(format!("{}.partial", hex::encode(bytes))),
            None,
        )
    }

    /// Creates the file and locks it; `None` when a recovery removed it between the two (it
    /// locks before removing, so once the lock is ours the file either has its name or not).
    fn create_locked(mut self) -> std::io::Result<Option<(Self, std::fs::File)>> {
        use rustix::fs::{FlockOperation, flock};
        use std::os::unix::fs::MetadataExt as _;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.0)?;
        flock(&file, FlockOperation::LockExclusive)?;
        if file.metadata()?.nlink() == 0 {
            return Ok(None);
        }
        self.1 = Some(file.try_clone()?);
        Ok(Some((self, file)))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!(
                "airlock-appliance: removing the partial upload {}: {e}",
                self.0.display()
            );
        }
    }
}

/// Why an upload body was not received.
#[derive(Debug)]
pub(super) enum ReceiveError {
    /// Writing the partial file.
    Io(std::io::Error),
    /// The body stream failed (the client's side).
    Read(String),
    /// More than the limit arrived.
    TooLarge,
    /// Nothing arrived.
    Empty,
}

impl From<std::io::Error> for ReceiveError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Streams `body` into a new partial file in `incoming`, at most `limit` bytes, then flushes
/// and fsyncs it. On any error the partial file is removed (it is dropped).
pub(super) async fn receive<S, B, E>(
    incoming: &Path,
    body: &mut S,
    limit: u64,
) -> Result<Partial, ReceiveError>
where
    S: futures_core::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use tokio::io::AsyncWriteExt as _;

    tokio::fs::create_dir_all(incoming).await?;
    let (partial, file) = loop {
        if let Some(created) = Partial::in_folder(incoming).create_locked()? {
            break created;
        }
    };
    let file = tokio::fs::File::from_std(file);
    let mut out = tokio::io::BufWriter::with_capacity(UPLOAD_BUFFER, file);
    let mut received: u64 = 0;
    while let Some(chunk) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_next(cx)).await
    {
        let chunk = chunk.map_err(|e| ReceiveError::Read(e.to_string()))?;
        let chunk = chunk.as_ref();
        received = received.saturating_add(chunk.len() as u64);
        if received > limit {
            return Err(ReceiveError::TooLarge);
        }
        out.write_all(chunk).await?;
    }
    if received == 0 {
        return Err(ReceiveError::Empty);
    }
    out.flush().await?;
    out.into_inner().sync_all().await?;
    Ok(partial)
}
