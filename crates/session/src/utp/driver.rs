//! The task that owns the UDP socket: datagrams in, the endpoint's timer, and the drain
//! (datagrams out, events to the streams and the listener), following the endpoint's
//! contract (`shoal_utp` crate docs).

use super::{ConnWaiters, Inner, Shared, UtpStream};
use crate::dual_stack;
use bytes::Bytes;
use shoal_utp::{Datagram, Event};
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Instant;
use tokio::net::UdpSocket;
use tracing::{debug, trace};

/// Datagrams taken from the socket without waiting, after the first, before one drain:
/// one drain (one ACK) answers the batch.
const RECV_BATCH: usize = 64;
/// Datagrams collected under the lock per round of the drain, then sent without it.
const SEND_BATCH: usize = 64;
/// Large enough for any datagram.
const RECV_BUFFER: usize = 65_536;

/// Runs until aborted (the socket's owner dropped it).
pub(super) async fn run(socket: Arc<UdpSocket>, inner: Arc<Inner>) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut recv_buf = vec![0u8; RECV_BUFFER];
    // Room for the largest datagram any connection may send (see `raise_packet_size`).
    let slot = (inner.lock().endpoint.config().max_packet_size).max(super::LOOPBACK_PACKET_SIZE);
    let mut out = Outbox::new(slot);
    loop {
        let deadline = inner.lock().endpoint.poll_timeout();
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = socket.recv_from(&mut recv_buf) => match received {
                Ok((len, from)) => {
                    let mut shared = inner.lock();
                    let now = Instant::now();
                    take(&inner, &mut shared, now, from, &recv_buf[..len]);
                    for _ in 1..RECV_BATCH {
                        match socket.try_recv_from(&mut recv_buf) {
                            Ok((len, from)) => take(&inner, &mut shared, now, from, &recv_buf[..len]),
                            Err(_) => break,
                        }
                    }
                }
                // An ICMP error reported on the socket, or a closed file: nothing to do
                // but go on (a dead peer times out in the endpoint).
                Err(e) => trace!("uTP socket receive: {e}"),
            },
            () = inner.drain.notified() => {}
            () = timer => inner.lock().endpoint.handle_timeout(Instant::now()),
        }
        drain(&socket, local, &inner, &mut out).await;
    }
}

fn take(inner: &Inner, shared: &mut Shared, now: Instant, from: SocketAddr, data: &[u8]) {
    // One spelling per peer: an IPv4 peer of a dual-stack socket arrives IPv4-mapped.
    let from = dual_stack::canonical(from);
    match shared.endpoint.handle_datagram(now, from, data) {
        Datagram::Utp => {}
        Datagram::NotUtp => give_other(inner, from, data),
        Datagram::Malformed(e) => debug!(%from, "malformed uTP datagram: {e}"),
    }
}

/// Hands a datagram of another protocol (the DHT's) to its taker, if any and if its queue
/// has room.
fn give_other(inner: &Inner, from: SocketAddr, data: &[u8]) {
    let other = inner.other.lock().unwrap_or_else(PoisonError::into_inner);
    let given = other
        .as_ref()
        .is_some_and(|tx| tx.try_send((from, Bytes::copy_from_slice(data))).is_ok());
    if !given {
        trace!(%from, "not a uTP datagram, dropped");
    }
}

/// Datagrams waiting to be sent, each in a slot of the largest packet's size.
struct Outbox {
    slot: usize,
    data: Vec<u8>,
    sends: Vec<(SocketAddr, usize)>,
}

impl Outbox {
    fn new(slot: usize) -> Self {
        Self {
            slot,
            data: vec![0; slot * SEND_BATCH],
            sends: Vec::with_capacity(SEND_BATCH),
        }
    }
}

/// Sends every datagram the endpoint has and hands out its events, until both are done.
async fn drain(socket: &UdpSocket, local: SocketAddr, inner: &Arc<Inner>, out: &mut Outbox) {
    loop {
        out.sends.clear();
        let events = {
            let mut shared = inner.lock();
            let now = Instant::now();
            while out.sends.len() < SEND_BATCH {
                let at = out.sends.len() * out.slot;
                let buf = &mut out.data[at..at + out.slot];
                match shared.endpoint.poll_transmit(now, buf) {
                    Some(t) => out.sends.push((t.dest, t.len)),
                    None => break,
                }
            }
            dispatch_all(&mut shared, inner)
        };
        for (i, &(dest, len)) in out.sends.iter().enumerate() {
            let at = i * out.slot;
            let to = dual_stack::for_socket(dest, local);
            if let Err(e) = socket.send_to(&out.data[at..at + len], to).await {
                trace!(%dest, "uTP send: {e}");
            }
        }
        // Events may have fed the endpoint (an accept) and a full batch may have more
        // behind it: go round until a round has neither.
        if out.sends.len() < SEND_BATCH && events == 0 {
            return;
        }
    }
}

/// Hands out every pending event; returns how many there were. Called by the task in
/// its drain, and by a stream that finds its connection gone before the task has handed
/// out the `Closed` that says why.
pub(super) fn dispatch_all(shared: &mut Shared, inner: &Arc<Inner>) -> usize {
    let mut events = 0;
    while let Some(event) = shared.endpoint.poll_event() {
        dispatch(shared, inner, event);
        events += 1;
    }
    events
}

fn dispatch(shared: &mut Shared, inner: &Arc<Inner>, event: Event) {
    match event {
        Event::Connected(h) => {
            if let Some(w) = shared.conns.get_mut(&h) {
                if let Some(tx) = w.connected.take() {
                    let _ = tx.send(Ok(()));
                }
                if let Some(waker) = w.write.take() {
                    waker.wake();
                }
            }
        }
        Event::Incoming(h, from) => {
            // A slot in the listener's queue first, so that the stream is never dropped
            // here, under the lock its `Drop` takes.
            let permit = shared.incoming.try_reserve().ok();
            match permit {
                Some(permit) if shared.endpoint.accept(h).is_ok() => {
                    shared.conns.insert(h, ConnWaiters::default());
                    permit.send((UtpStream::new(inner.clone(), h), from));
                }
                _ => {
                    debug!(%from, "uTP connection refused: the accept queue is full or the listener gone");
                    shared.endpoint.refuse(h);
                }
            }
        }
        Event::Readable(h) => {
            if let Some(waker) = shared.conns.get_mut(&h).and_then(|w| w.read.take()) {
                waker.wake();
            }
        }
        Event::Writable(h) => {
            if let Some(waker) = shared.conns.get_mut(&h).and_then(|w| w.write.take()) {
                waker.wake();
            }
        }
        Event::Closed(h, reason) => {
            let Some(w) = shared.conns.get_mut(&h) else {
                return;
            };
            trace!(handle = h.index(), "uTP connection closed: {reason}");
            w.closed = Some(reason);
            if let Some(tx) = w.connected.take() {
                let _ = tx.send(Err(reason));
            }
            w.wake_all();
            if w.dropped {
                shared.conns.remove(&h);
            }
        }
    }
}
