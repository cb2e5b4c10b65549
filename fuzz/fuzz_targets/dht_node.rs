//! A script of datagrams (from a few addresses of both families, some replies carrying
//! the transaction id of a request the node has out, from the address it asked) and timeouts fed to a `shoal_dht::Dht`
//! that is running a lookup: every datagram it sends decodes and fits the buffer, a drain
//! ends, and requests, lookups and queues stay within the configuration.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_dht::krpc::Message;
use shoal_dht::{Config, Dht};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const FROM: [&str; 4] = ["10.0.0.2:6881", "10.0.0.3:1", "[fd00::2]:6881", "10.0.0.4:0"];

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut now = start;
    let cfg = Config {
        seed: 1,
        allow_private_addresses: true,
        max_queued_transmits: 32,
        max_queued_events: 32,
        ..Config::default()
    };
    let mut dht = Dht::new(cfg, now);
    let boot: Vec<SocketAddr> = FROM[..3].iter().map(|s| s.parse().unwrap()).collect();
    let _ = dht.add_bootstrap(now, &boot);
    let _ = dht.get_peers(now, [7; 20]);
    let mut buf = vec![0u8; 1500];
    // Requests the node has out: (where to, transaction id), so replies can match one.
    let mut live: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    // Each chunk: a control byte (address, timeout, whether to splice in a live tid), a
    // length byte, then that many bytes of datagram.
    let mut rest = data;
    while rest.len() >= 2 {
        let (control, len) = (rest[0], rest[1] as usize);
        rest = &rest[2..];
        let body = &rest[..len.min(rest.len())];
        rest = &rest[body.len()..];
        if control & 0x80 != 0 {
            now += Duration::from_millis(u64::from(control & 0x7f) * 100);
            dht.handle_timeout(now);
        } else {
            let from: SocketAddr = FROM[usize::from(control & 3)].parse().unwrap();
            // Bit 2: a reply to a live request, from the address asked, with its id.
            let (from, datagram) = match (control & 4 != 0, live.pop()) {
                (true, Some((to, tid))) => (to, [b"d1:t4:".as_slice(), &tid, body].concat()),
                _ => (from, body.to_vec()),
            };
            let _ = dht.handle_datagram(now, from, &datagram);
        }
        let mut sent = 0;
        while let Some(t) = dht.poll_transmit(&mut buf) {
            sent += 1;
            assert!(sent <= 32, "the transmit queue is bounded");
            let msg = Message::decode(&buf[..t.len]).expect("we send valid KRPC");
            if msg.tid.as_bytes().len() == 4 {
                live.push((t.to, msg.tid.as_bytes().to_vec()));
                if live.len() > 64 {
                    live.remove(0);
                }
            }
        }
        while dht.poll_event().is_some() {}
        let s = dht.stats();
        assert!(s.in_flight <= dht.config().max_in_flight);
        assert!(s.lookups <= dht.config().max_lookups);
        assert!(dht.poll_timeout().is_some_and(|t| t >= start));
    }
});
