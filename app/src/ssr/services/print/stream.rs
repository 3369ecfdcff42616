//! A streamed PDF's bytes on their way to the client: the drawing thread writes into a
//! [`ChannelWriter`], which hands them on in chunks through a small queue, so a slow client
//! pauses the drawing instead of letting the file pile up in memory.

use std::io;

use tokio::sync::mpsc::{Receiver, Sender};

/// How many bytes of a streamed PDF go out at a time.
const STREAM_CHUNK: usize = 64 * 1024;
/// How many chunks may wait for a slow client before drawing pauses: with [`STREAM_CHUNK`], a
/// quarter of a megabyte held per download however long the run.
const STREAM_QUEUE: usize = 4;

/// The chunks of a file being made, in order; an `Err` means it broke off part-way.
pub type Chunks = Receiver<Result<Vec<u8>, io::Error>>;

/// An `io::Write` that hands its bytes to a channel in [`STREAM_CHUNK`] pieces, waiting while
/// the channel is full; writing fails once the receiver is gone (the client went away).
pub struct ChannelWriter {
    buffer: Vec<u8>,
    sender: Sender<Result<Vec<u8>, io::Error>>,
}

/// A writer for the drawing thread, and the receiver its chunks arrive at.
pub fn channel() -> (ChannelWriter, Chunks) {
    let (sender, receiver) = tokio::sync::mpsc::channel(STREAM_QUEUE);
    let writer = ChannelWriter {
        buffer: Vec::with_capacity(STREAM_CHUNK),
        sender,
    };
    (writer, receiver)
}

impl ChannelWriter {
    /// Sends what is buffered (the tail, once the run is recorded).
    pub fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(STREAM_CHUNK));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }

    /// Tells the receiver the file broke off, so the answer is cut rather than ended.
    pub fn break_off(&self) {
        // The client may be gone already; then there is nobody to tell.
        let _ = self
            .sender
            .blocking_send(Err(io::Error::other("the PDF broke off")));
    }
}

impl io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= STREAM_CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    /// Keeps the tail: it goes out in [`ChannelWriter::send`] once the run is recorded.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
