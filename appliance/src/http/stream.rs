//! Response bodies written by blocking code as it goes (the audit exports): a writer on the
//! blocking pool hands chunks to the response through a small bounded channel, so memory
//! stays at a few chunks whatever the size of the body, and a slow client slows the writer
//! instead of growing a buffer.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::web::Bytes;
use tokio::sync::mpsc;

/// The size of a chunk handed to the response.
const CHUNK: usize = 64 * 1024;

/// Chunks in flight between the writer and the response.
const IN_FLIGHT: usize = 4;

/// The writing end: buffers up to [`CHUNK`] bytes, then waits for room in the channel.
/// A write fails with `BrokenPipe` once the client has gone.
pub(super) struct ChunkWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

/// The reading end, a response body.
pub(super) struct Chunks(mpsc::Receiver<io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Runs `write` on the blocking pool and returns what it writes as a body. If `write` fails
/// part way, the body ends in an error, so the client sees a broken transfer rather than a
/// file that looks complete.
pub(super) fn from_blocking<F>(write: F) -> Chunks
where
    F: FnOnce(&mut ChunkWriter) -> Result<(), String> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    actix_web::rt::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let outcome = write(&mut out).and_then(|()| out.flush().map_err(|e| e.to_string()));
        if let Err(reason) = outcome {
            // The client may be gone already; then nobody is left to tell.
            let _ = tx.blocking_send(Err(io::Error::other(reason)));
        }
    });
    Chunks(rx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn collect(mut chunks: Chunks) -> (Vec<u8>, Option<String>, usize) {
        let (mut body, mut count) = (Vec::new(), 0);
        while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut chunks).poll_next(cx)).await
        {
            match item {
                Ok(chunk) => {
                    assert!(
                        chunk.len() < CHUNK + 16,
                        "{} bytes in one chunk",
                        chunk.len()
                    );
                    body.extend_from_slice(&chunk);
                    count += 1;
                }
                Err(e) => return (body, Some(e.to_string()), count),
            }
        }
        (body, None, count)
    }

    use futures_core::Stream as _;

    #[actix_web::test]
    async fn a_body_arrives_whole_in_chunks_and_a_failure_breaks_it() {
        let chunks = from_blocking(|out| {
            for i in 0..100_000u32 {
                writeln!(out, "{i}").map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let (body, error, count) = collect(chunks).await;
        let expected: String = (0..100_000u32).map(|i| format!("{i}\n")).collect();
        assert_eq!(body, expected.as_bytes());
        assert_eq!(error, None);
        // Lines are buffered into chunks of at least CHUNK bytes (the last one excepted).
        assert_eq!(count, expected.len() / CHUNK + 1, "chunks of {CHUNK} bytes");

        let chunks = from_blocking(|out| {
            out.write_all(b"partial").map_err(|e| e.to_string())?;
            Err("the store went away".to_owned())
        });
        let (body, error, _) = collect(chunks).await;
        assert_eq!(body, b"");
        assert_eq!(error.as_deref(), Some("the store went away"));
    }
}
