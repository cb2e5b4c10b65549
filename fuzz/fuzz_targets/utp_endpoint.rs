//! Any datagrams into a uTP `Endpoint` with a live connection: it never panics, every
//! datagram it sends decodes and fits `max_packet_size`, a drain ends, and it holds no
//! more connections than allowed.
//!
//! Set-up: endpoints A and B connect and exchange a few bytes. Then the input is a script
//! of steps, an opcode and its operands: `0 k` lets 10·k ms pass (timeouts fire); `1 n
//! <n bytes>` delivers a datagram to B from A with B's connection id and version 1 written
//! over bytes 0..4 (so the fuzzer reaches the connection); `2 n <n bytes>` delivers it to
//! B as is; `3 n <n bytes>` to B from a stranger; `4 x` has B write, read, close or change
//! its packet size (by `x`); `5` carries the datagrams A and B queued for each other.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_utp::packet::Packet;
use shoal_utp::{Config, ConnectionHandle, Endpoint, Event};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const MAX_CONNECTIONS: usize = 8;

struct World {
    now: Instant,
    a: Endpoint,
    b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    to_a: Vec<Vec<u8>>,
    to_b: Vec<Vec<u8>>,
    b_conns: Vec<ConnectionHandle>,
}

impl World {
    /// Drains both endpoints, checking what they send.
    fn drain(&mut self) {
        // Room for any packet size `set_max_packet_size` may be given below.
        let mut buf = vec![0u8; 65_536];
        for side in 0..2 {
            let (ep, out) = if side == 0 { (&mut self.a, &mut self.to_b) } else { (&mut self.b, &mut self.to_a) };
            let mut n = 0;
            while let Some(t) = ep.poll_transmit(self.now, &mut buf) {
                n += 1;
                assert!(n < 100_000, "poll_transmit never ends");
                assert!(t.len <= buf.len());
                Packet::decode(&buf[..t.len]).expect("sent a malformed packet");
                if out.len() < 256 {
                    out.push(buf[..t.len].to_vec());
                }
            }
            while let Some(e) = ep.poll_event() {
                match e {
                    Event::Incoming(h, _) => {
                        let _ = ep.accept(h);
                        if side == 1 {
                            self.b_conns.push(h);
                        }
                    }
                    Event::Closed(h, _) => self.b_conns.retain(|&c| c != h || side == 0),
                    _ => {}
                }
            }
            assert!(ep.connection_count() <= MAX_CONNECTIONS);
        }
    }

    fn exchange(&mut self) {
        for d in std::mem::take(&mut self.to_b) {
            self.b.handle_datagram(self.now, self.a_addr, &d);
        }
        for d in std::mem::take(&mut self.to_a) {
            self.a.handle_datagram(self.now, self.b_addr, &d);
        }
        self.drain();
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let cfg = Config { max_connections: MAX_CONNECTIONS, max_half_open: 4, ..Config::default() };
    let mut w = World {
        now,
        a: Endpoint::new(Config { seed: 1, ..cfg.clone() }, now),
        b: Endpoint::new(Config { seed: 2, ..cfg }, now),
        a_addr: "10.0.0.1:1000".parse().unwrap(),
        b_addr: "10.0.0.2:2000".parse().unwrap(),
        to_a: Vec::new(),
        to_b: Vec::new(),
        b_conns: Vec::new(),
    };
    let conn = w.a.connect(now, w.b_addr).unwrap();
    w.drain();
    w.exchange();
    let _ = w.a.write(conn, b"hello over utp");
    w.drain();
    // B's id for the connection: the one on A's packets to it.
    let cid = w.to_b.last().map_or([0, 0], |d| [d[2], d[3]]);
    w.exchange();

    let mut rest = data;
    let mut take = |n: usize| {
        let (head, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        head
    };
    let mut steps = 0;
    loop {
        let Some(&op) = take(1).first() else { break };
        steps += 1;
        if steps > 200 {
            break;
        }
        match op % 6 {
            0 => {
                let k = take(1).first().copied().unwrap_or(1);
                w.now += Duration::from_millis(10 * u64::from(k));
                w.a.handle_timeout(w.now);
                w.b.handle_timeout(w.now);
            }
            1..=3 => {
                let n = usize::from(take(1).first().copied().unwrap_or(0)) * 8;
                let mut d = take(n).to_vec();
                if op % 6 == 1 && d.len() >= 4 {
                    d[0] = (d[0] & 0xf0) | 1;
                    d[2..4].copy_from_slice(&cid);
                }
                let from = if op % 6 == 3 { "10.9.9.9:9".parse().unwrap() } else { w.a_addr };
                w.b.handle_datagram(w.now, from, &d);
            }
            4 => {
                let x = take(1).first().copied().unwrap_or(0);
                if let Some(&h) = w.b_conns.first() {
                    match x % 4 {
                        0 => {
                            let _ = w.b.write(h, &[x; 3000]);
                        }
                        1 => {
                            let _ = w.b.read(h, &mut [0u8; 4096]);
                        }
                        2 => w.b.close(h),
                        _ => {
                            let _ = w.b.set_max_packet_size(h, 256 * usize::from(x));
                        }
                    }
                }
            }
            _ => w.exchange(),
        }
        w.drain();
        // The deadline, if any, is one the endpoint can reach.
        let _ = w.b.poll_timeout();
    }
});
