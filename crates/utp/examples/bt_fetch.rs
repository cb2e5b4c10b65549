//! Interoperability check against another BitTorrent client over uTP: a blocking driver
//! around one `std::net::UdpSocket` (the shape the runtime's tokio driver will have), a
//! minimal peer-wire client that downloads every piece of a torrent whose content follows
//! a known pattern, checks every byte, and prints the rate.
//!
//! `cargo run --release -p shoal-utp --example bt_fetch -- <peer addr> <info-hash hex>
//! <total length> <piece length>`; the content's byte `i` must be `(i * 7 + i / 4093) % 256`
//! (`interop/libtorrent_seed.py fetch` seeds such a torrent from libtorrent; `bt_serve`
//! serves one). `UTP_MAX_PACKET` raises the largest datagram (for a shoal peer on
//! loopback).

use shoal_utp::{Config, ConnectionHandle, Datagram, Endpoint, Event};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const BLOCK: u32 = 16 << 10;
const PIPELINE: usize = 64;

/// The content repeats every 4093 * 256 bytes: one period, computed once.
const PERIOD: u64 = 4093 * 256;

fn pattern() -> Vec<u8> {
    (0..PERIOD)
        .map(|i| ((i * 7 + i / 4093) % 256) as u8)
        .collect()
}

/// Checks `data` against the content from offset `at`.
fn check(table: &[u8], at: u64, data: &[u8]) {
    let mut off = (at % PERIOD) as usize;
    let mut rest = data;
    while !rest.is_empty() {
        let n = rest.len().min(table.len() - off);
        assert!(
            rest[..n] == table[off..off + n],
            "wrong bytes near offset {at}"
        );
        rest = &rest[n..];
        off = 0;
    }
}

/// The peer-wire side: handshake, interested, requests, checking pieces.
struct Client {
    table: Vec<u8>,
    info_hash: [u8; 20],
    total: u64,
    piece_len: u64,
    inbox: Vec<u8>,
    handshaken: bool,
    unchoked: bool,
    next_request: u64,
    outstanding: usize,
    received: u64,
}

impl Client {
    fn block_len(&self, offset: u64) -> u32 {
        (self.total - offset).min(u64::from(BLOCK)) as u32
    }

    /// Bytes to send after what arrived.
    fn on_bytes(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.inbox.extend_from_slice(data);
        if !self.handshaken {
            if self.inbox.len() < 68 {
                return;
            }
            assert_eq!(&self.inbox[1..20], b"BitTorrent protocol");
            assert_eq!(self.inbox[28..48], self.info_hash);
            self.inbox.drain(..68);
            self.handshaken = true;
            out.extend_from_slice(&[0, 0, 0, 1, 2]); // interested
        }
        loop {
            if self.inbox.len() < 4 {
                break;
            }
            let len = u32::from_be_bytes(self.inbox[..4].try_into().unwrap()) as usize;
            if self.inbox.len() < 4 + len {
                break;
            }
            let msg: Vec<u8> = self.inbox.drain(..4 + len).skip(4).collect();
            match msg.first() {
                Some(1) => self.unchoked = true,
                Some(0) => self.unchoked = false,
                Some(7) => {
                    let index = u64::from(u32::from_be_bytes(msg[1..5].try_into().unwrap()));
                    let begin = u64::from(u32::from_be_bytes(msg[5..9].try_into().unwrap()));
                    check(&self.table, index * self.piece_len + begin, &msg[9..]);
                    self.received += (msg.len() - 9) as u64;
                    self.outstanding -= 1;
                }
                _ => {}
            }
        }
        while self.unchoked && self.outstanding < PIPELINE && self.next_request < self.total {
            let at = self.next_request;
            let len = self.block_len(at);
            out.extend_from_slice(&[0, 0, 0, 13, 6]);
            out.extend_from_slice(&((at / self.piece_len) as u32).to_be_bytes());
            out.extend_from_slice(&((at % self.piece_len) as u32).to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            self.next_request += u64::from(len);
            self.outstanding += 1;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let peer: SocketAddr = args[1].parse().expect("peer address");
    let mut info_hash = [0u8; 20];
    for (i, b) in info_hash.iter_mut().enumerate() {
        *b = u8::from_str_radix(&args[2][2 * i..2 * i + 2], 16).expect("info-hash hex");
    }
    let total: u64 = args[3].parse().unwrap();
    let piece_len: u64 = args[4].parse().unwrap();

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Bursts of a whole window arrive at once: the default 208 KiB receive buffer drops
    // them on loopback. A runtime should size its socket the same way.
    let sock = socket2::SockRef::from(&socket);
    sock.set_recv_buffer_size(4 << 20).unwrap();
    sock.set_send_buffer_size(4 << 20).unwrap();
    let start = Instant::now();
    let mut cfg = Config {
        seed: u64::from(std::process::id()),
        ..Config::default()
    };
    // A shoal peer on loopback takes larger datagrams than libtorrent (1,500 at most).
    if let Some(size) = std::env::var("UTP_MAX_PACKET")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        cfg.max_packet_size = size;
    }
    let mut ep = Endpoint::new(cfg, start);
    let conn = ep.connect(start, peer).unwrap();
    let mut handshake = vec![19];
    handshake.extend_from_slice(b"BitTorrent protocol");
    handshake.extend_from_slice(&[0; 8]);
    handshake.extend_from_slice(&info_hash);
    handshake.extend_from_slice(b"-SH0001-utpinterop01");
    let mut pending = handshake;
    let mut client = Client {
        table: pattern(),
        info_hash,
        total,
        piece_len,
        inbox: Vec::new(),
        handshaken: false,
        unchoked: false,
        next_request: 0,
        outstanding: 0,
        received: 0,
    };
    let mut buf = vec![0u8; 65_536];
    let mut tx = vec![0u8; ep.config().max_packet_size];
    let mut connected_at = None;
    let (mut datagrams_in, mut datagrams_out) = (0u64, 0u64);
    loop {
        // Drain: events in (the application reads and writes), then datagrams out.
        while let Some(e) = ep.poll_event() {
            match e {
                Event::Connected(_) => connected_at = Some(Instant::now()),
                Event::Closed(_, reason) => panic!("closed: {reason}"),
                _ => {}
            }
        }
        read_all(&mut ep, conn, &mut client, &mut pending);
        if !pending.is_empty() {
            let n = ep.write(conn, &pending).unwrap_or(0);
            pending.drain(..n);
        }
        let now = Instant::now();
        while let Some(t) = ep.poll_transmit(now, &mut tx) {
            socket.send_to(&tx[..t.len], t.dest).unwrap();
            datagrams_out += 1;
        }
        if client.received == total {
            break;
        }
        // Wait for a datagram or the deadline.
        let now = Instant::now();
        let wait = ep.poll_timeout().map_or(Duration::from_millis(100), |d| {
            d.saturating_duration_since(now)
        });
        socket
            .set_read_timeout(Some(wait.max(Duration::from_micros(100))))
            .unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            datagrams_in += 1;
            if ep.handle_datagram(Instant::now(), from, &buf[..n]) != Datagram::Utp {
                eprintln!("not uTP from {from}");
            }
            // The rest of the batch, without waiting: one ACK answers it.
            socket.set_nonblocking(true).unwrap();
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                datagrams_in += 1;
                ep.handle_datagram(Instant::now(), from, &buf[..n]);
            }
            socket.set_nonblocking(false).unwrap();
        }
        ep.handle_timeout(Instant::now());
        assert!(start.elapsed() < Duration::from_secs(300), "too slow");
    }
    let took = connected_at.unwrap().elapsed();
    let stats = ep.stats(conn).unwrap();
    println!(
        "fetched {total} bytes over uTP from {peer} in {took:.2?}: {:.1} MB/s; {datagrams_in} datagrams in, {datagrams_out} out; {stats:?}",
        total as f64 / took.as_secs_f64() / 1e6
    );
    // Close: FIN out, wait (briefly) for the peer's, so it sees a clean end.
    ep.close(conn);
    let deadline = Instant::now() + Duration::from_secs(2);
    'closing: while Instant::now() < deadline {
        let now = Instant::now();
        while let Some(t) = ep.poll_transmit(now, &mut tx) {
            socket.send_to(&tx[..t.len], t.dest).unwrap();
        }
        while let Some(e) = ep.poll_event() {
            if let Event::Closed(..) = e {
                break 'closing;
            }
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            ep.handle_datagram(Instant::now(), from, &buf[..n]);
        }
        ep.handle_timeout(Instant::now());
    }
}

fn read_all(ep: &mut Endpoint, conn: ConnectionHandle, client: &mut Client, pending: &mut Vec<u8>) {
    let mut chunk = [0u8; 65_536];
    while let Ok(n @ 1..) = ep.read(conn, &mut chunk) {
        client.on_bytes(&chunk[..n], pending);
    }
}
