//! One uTP connection as a tokio byte stream: reads and writes are calls into the shared
//! endpoint; a call that cannot go on leaves a waker that the socket's task wakes on the
//! endpoint's `Readable`, `Writable` or `Closed` event.

use super::{close_error, ConnWaiters, Inner};
use shoal_utp::{CloseReason, ConnectionHandle, StreamError};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A uTP connection. Dropping it closes the connection gracefully (what was written is
/// still delivered, then a FIN), or resets it if it never connected.
pub(crate) struct UtpStream {
    inner: Arc<Inner>,
    handle: ConnectionHandle,
}

impl UtpStream {
    pub(super) fn new(inner: Arc<Inner>, handle: ConnectionHandle) -> Self {
        Self { inner, handle }
    }

    /// Lets this connection send datagrams of up to [`super::LOOPBACK_PACKET_SIZE`]: only
    /// for a peer known to take them (another shoal on loopback; libtorrent drops
    /// datagrams over 1,500 bytes). The size is found by probing up to it.
    pub(crate) fn raise_packet_size(&self) {
        let size = super::LOOPBACK_PACKET_SIZE;
        let _ = self
            .inner
            .lock()
            .endpoint
            .set_max_packet_size(self.handle, size);
        self.inner.drain.notify_one();
    }

    /// The error for a call on a connection the endpoint no longer knows or accepts.
    fn gone(waiters: Option<&ConnWaiters>) -> io::Error {
        match waiters.and_then(|w| w.closed) {
            Some(reason) => close_error(reason),
            None => io::Error::new(io::ErrorKind::NotConnected, "uTP connection not open"),
        }
    }
}

impl AsyncRead for UtpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut shared = self.inner.lock();
        let shared = &mut *shared;
        match shared.endpoint.read(self.handle, buf.initialize_unfilled()) {
            Ok(n) => {
                buf.advance(n);
                // Reading may have opened the window the peer waits on: let the task send
                // the update.
                self.inner.drain.notify_one();
                Poll::Ready(Ok(()))
            }
            Err(StreamError::WouldBlock) => {
                let waiters = shared.conns.entry(self.handle).or_default();
                waiters.read = Some(cx.waker().clone());
                Poll::Pending
            }
            Err(StreamError::UnknownConnection | StreamError::InvalidState) => {
                super::driver::dispatch_all(shared, &self.inner);
                match shared.conns.get(&self.handle).and_then(|w| w.closed) {
                    // Everything was delivered and the peer closed: the end of the stream.
                    Some(CloseReason::Finished) => Poll::Ready(Ok(())),
                    _ => Poll::Ready(Err(Self::gone(shared.conns.get(&self.handle)))),
                }
            }
        }
    }
}

impl AsyncWrite for UtpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(data)])
    }

    /// Takes as much of the slices, in order, as the send buffer holds: the peer writer's
    /// header-and-block writes go into the buffer in one call.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let mut shared = self.inner.lock();
        let shared = &mut *shared;
        let mut taken = 0;
        for buf in bufs.iter().filter(|b| !b.is_empty()) {
            match shared.endpoint.write(self.handle, buf) {
                Ok(n) => {
                    taken += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Err(StreamError::WouldBlock) => break,
                Err(StreamError::UnknownConnection | StreamError::InvalidState) => {
                    if taken > 0 {
                        break;
                    }
                    super::driver::dispatch_all(shared, &self.inner);
                    return Poll::Ready(Err(Self::gone(shared.conns.get(&self.handle))));
                }
            }
        }
        if taken == 0 {
            let waiters = shared.conns.entry(self.handle).or_default();
            waiters.write = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.inner.drain.notify_one();
        Poll::Ready(Ok(taken))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Written bytes are the endpoint's to send; nothing is held here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Sends a FIN once what was written is sent. Reading may go on.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.lock().endpoint.close(self.handle);
        self.inner.drain.notify_one();
        Poll::Ready(Ok(()))
    }
}

impl Drop for UtpStream {
    fn drop(&mut self) {
        let mut guard = self.inner.lock();
        let shared = &mut *guard;
        let waiters = shared.conns.entry(self.handle).or_default();
        if waiters.closed.is_some() {
            shared.conns.remove(&self.handle);
        } else if waiters.connected.is_some() {
            // Never connected: nothing to deliver, so no FIN either.
            shared.conns.remove(&self.handle);
            shared.endpoint.reset(self.handle);
        } else {
            waiters.dropped = true;
            waiters.read = None;
            waiters.write = None;
            shared.endpoint.close(self.handle);
        }
        drop(guard);
        self.inner.drain.notify_one();
    }
}
