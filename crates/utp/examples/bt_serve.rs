//! Interoperability check in the other direction: a minimal seeder over uTP that another
//! client downloads from (and hash-checks). A blocking driver around one
//! `std::net::UdpSocket`; the content's byte `i` is `(i * 7 + i / 4093) % 256`.
//!
//! `cargo run --release -p shoal-utp --example bt_serve -- <listen addr> <info-hash hex>
//! <total length> <piece length>`; it prints its port, serves one connection until the
//! peer closes it, and prints the rate. `interop/libtorrent_seed.py serve` drives it;
//! `bt_fetch` can fetch from it. `UTP_MAX_PACKET` raises the largest datagram.

use shoal_utp::{Config, ConnectionHandle, Endpoint, Event};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// The content repeats every 4093 * 256 bytes: one period, computed once.
const PERIOD: u64 = 4093 * 256;

fn pattern() -> Vec<u8> {
    (0..PERIOD)
        .map(|i| ((i * 7 + i / 4093) % 256) as u8)
        .collect()
}

/// Appends `len` bytes of the content from offset `at`.
fn content(table: &[u8], at: u64, out: &mut Vec<u8>, len: usize) {
    let mut off = (at % PERIOD) as usize;
    let mut left = len;
    while left > 0 {
        let n = left.min(table.len() - off);
        out.extend_from_slice(&table[off..off + n]);
        left -= n;
        off = 0;
    }
}

struct Server {
    table: Vec<u8>,
    info_hash: [u8; 20],
    total: u64,
    piece_len: u64,
    inbox: Vec<u8>,
    handshaken: bool,
    served: u64,
}

impl Server {
    fn on_bytes(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.inbox.extend_from_slice(data);
        if !self.handshaken {
            if self.inbox.len() < 68 {
                return;
            }
            assert_eq!(
                self.inbox[28..48],
                self.info_hash,
                "handshake {:?}",
                &self.inbox[..68]
            );
            self.inbox.drain(..68);
            self.handshaken = true;
            out.push(19);
            out.extend_from_slice(b"BitTorrent protocol");
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&self.info_hash);
            out.extend_from_slice(b"-SH0001-utpinterop02");
            let pieces = self.total.div_ceil(self.piece_len) as usize;
            let mut bits = vec![0u8; pieces.div_ceil(8)];
            for p in 0..pieces {
                bits[p / 8] |= 0x80 >> (p % 8);
            }
            out.extend_from_slice(&(1 + bits.len() as u32).to_be_bytes());
            out.push(5);
            out.extend_from_slice(&bits);
            out.extend_from_slice(&[0, 0, 0, 1, 1]); // unchoke
        }
        while self.inbox.len() >= 4 {
            let len = u32::from_be_bytes(self.inbox[..4].try_into().unwrap()) as usize;
            if self.inbox.len() < 4 + len {
                break;
            }
            let msg: Vec<u8> = self.inbox.drain(..4 + len).skip(4).collect();
            if msg.first() == Some(&6) {
                let word = |k: usize| u32::from_be_bytes(msg[k..k + 4].try_into().unwrap());
                let (index, begin, length) = (word(1), word(5), word(9));
                out.extend_from_slice(&(9 + length).to_be_bytes());
                out.push(7);
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(&begin.to_be_bytes());
                let at = u64::from(index) * self.piece_len + u64::from(begin);
                content(&self.table, at, out, length as usize);
                self.served += u64::from(length);
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let socket = UdpSocket::bind(&args[1]).unwrap();
    // Bursts of a whole window arrive at once: the default 208 KiB receive buffer drops
    // them on loopback. A runtime should size its socket the same way.
    let sock = socket2::SockRef::from(&socket);
    sock.set_recv_buffer_size(4 << 20).unwrap();
    sock.set_send_buffer_size(4 << 20).unwrap();
    let mut info_hash = [0u8; 20];
    for (i, b) in info_hash.iter_mut().enumerate() {
        *b = u8::from_str_radix(&args[2][2 * i..2 * i + 2], 16).expect("info-hash hex");
    }
    let mut server = Server {
        table: pattern(),
        info_hash,
        total: args[3].parse().unwrap(),
        piece_len: args[4].parse().unwrap(),
        inbox: Vec::new(),
        handshaken: false,
        served: 0,
    };
    println!("{}", socket.local_addr().unwrap().port());
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
    let mut conn: Option<ConnectionHandle> = None;
    // Bytes to write, from `sent` on (cleared once all are taken, not shifted per write).
    let (mut pending, mut sent) = (Vec::new(), 0);
    let mut buf = vec![0u8; 65_536];
    let mut tx = vec![0u8; ep.config().max_packet_size];
    let mut began = None;
    let mut last_print = Instant::now();
    loop {
        while let Some(e) = ep.poll_event() {
            match e {
                Event::Incoming(h, _) if conn.is_none() => {
                    ep.accept(h).unwrap();
                    conn = Some(h);
                    began = Some(Instant::now());
                }
                Event::Incoming(h, _) => ep.refuse(h),
                Event::Closed(h, reason) if Some(h) == conn => {
                    let took = began.unwrap().elapsed();
                    println!(
                        "served {} bytes over uTP in {took:.2?} ({:.1} MB/s), closed: {reason}",
                        server.served,
                        server.served as f64 / took.as_secs_f64() / 1e6
                    );
                    return;
                }
                _ => {}
            }
        }
        if let Some(h) = conn {
            let mut chunk = [0u8; 65_536];
            while let Ok(n @ 1..) = ep.read(h, &mut chunk) {
                server.on_bytes(&chunk[..n], &mut pending);
            }
            if let Ok(0) = ep.read(h, &mut chunk) {
                ep.close(h);
            }
            while sent < pending.len() {
                match ep.write(h, &pending[sent..]) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            if sent == pending.len() {
                pending.clear();
                sent = 0;
            }
        }
        let now = Instant::now();
        while let Some(t) = ep.poll_transmit(now, &mut tx) {
            socket.send_to(&tx[..t.len], t.dest).unwrap();
        }
        let wait = ep.poll_timeout().map_or(Duration::from_millis(100), |d| {
            d.saturating_duration_since(now)
        });
        socket
            .set_read_timeout(Some(
                wait.clamp(Duration::from_micros(100), Duration::from_millis(100)),
            ))
            .unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            ep.handle_datagram(Instant::now(), from, &buf[..n]);
            socket.set_nonblocking(true).unwrap();
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                ep.handle_datagram(Instant::now(), from, &buf[..n]);
            }
            socket.set_nonblocking(false).unwrap();
        }
        ep.handle_timeout(Instant::now());
        if std::env::var_os("UTP_DEBUG").is_some()
            && last_print.elapsed()
                > Duration::from_millis(std::env::var("UTP_DEBUG").unwrap().parse().unwrap_or(500))
        {
            last_print = Instant::now();
            if let Some(h) = conn {
                eprintln!(
                    "{:?} served {} {:?}",
                    start.elapsed(),
                    server.served,
                    ep.stats(h)
                );
            }
        }
        assert!(start.elapsed() < Duration::from_secs(300), "too slow");
    }
}
