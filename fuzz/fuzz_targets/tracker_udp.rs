//! Any bytes as UDP tracker packets (BEP 15): `parse_response` never panics and keeps its
//! bounds, and a `UdpSession` driven by a script of datagrams, timeouts and restarts never
//! panics, sends only well-formed requests and keeps its state consistent.
//!
//! Input: one byte of settings, then steps. Each step is an opcode and its operands:
//! `0 s` waits `s` seconds and fires the timeout; `1 n <n bytes>` delivers a datagram whose
//! transaction id is overwritten with the one last sent (so the fuzzer reaches the answers
//! the session waits for); `2 n <n bytes>` delivers the datagram as is; `3` starts a new
//! request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_tracker::udp::{
    parse_response, Patience, Response, UdpConfig, UdpOutcome, UdpRequest, UdpSession, MAX_SCRAPE,
    PROTOCOL_ID,
};
use shoal_tracker::{AnnounceParams, Event, MAX_PEERS};
use std::time::{Duration, Instant};

fn check_response(response: &Response) {
    match response {
        Response::Announce { reply, .. } => assert!(reply.peers.len() <= MAX_PEERS),
        Response::Scrape { stats, .. } => assert!(stats.len() <= MAX_SCRAPE),
        _ => {}
    }
}

/// A request packet as BEP 15 lays it out; returns its transaction id.
fn check_request(packet: &[u8], hashes: usize) -> u32 {
    let action = u32::from_be_bytes(packet[8..12].try_into().unwrap());
    match action {
        0 => {
            assert_eq!(packet.len(), 16);
            assert_eq!(packet[..8], PROTOCOL_ID.to_be_bytes());
        }
        1 => assert_eq!(packet.len(), 98),
        2 => assert_eq!(packet.len(), 16 + 20 * hashes),
        other => panic!("request with action {other}"),
    }
    u32::from_be_bytes(packet[12..16].try_into().unwrap())
}

fn request(settings: u8) -> (UdpRequest, usize) {
    if settings & 4 == 0 {
        let params = AnnounceParams {
            info_hash: [1; 20],
            peer_id: [2; 20],
            port: 6881,
            uploaded: 0,
            downloaded: 0,
            left: 1,
            event: Event::Started,
            numwant: Some(50),
            key: 7,
        };
        (UdpRequest::Announce(params), 0)
    } else {
        let hashes = 1 + usize::from(settings >> 5);
        (UdpRequest::Scrape(vec![[3; 20]; hashes]), hashes)
    }
}

fuzz_target!(|data: &[u8]| {
    for ipv6 in [false, true] {
        if let Ok(response) = parse_response(data, ipv6) {
            check_response(&response);
        }
    }

    let Some((&settings, mut script)) = data.split_first() else {
        return;
    };
    let ipv6 = settings & 1 != 0;
    let patience = if settings & 2 != 0 { Patience::Spec } else { Patience::Brief };
    let config = UdpConfig {
        base_timeout: Duration::from_secs(15),
        max_attempts: u32::from(settings >> 3 & 3),
    };
    let (req, hashes) = request(settings);
    let mut now = Instant::now();
    let mut session = UdpSession::new(config, ipv6, u64::from(settings));
    session.start(now, req.clone(), patience);
    let mut tid = 0;
    loop {
        while let Some(packet) = session.poll_transmit() {
            tid = check_request(&packet, hashes);
        }
        assert_eq!(session.is_busy(), session.poll_timeout().is_some());
        let Some((&op, rest)) = script.split_first() else {
            break;
        };
        let busy = session.is_busy();
        let outcome = match op % 4 {
            0 => {
                let (&secs, rest) = rest.split_first().unwrap_or((&0, &[]));
                script = rest;
                now += Duration::from_secs(u64::from(secs));
                session.handle_timeout(now)
            }
            1 | 2 => {
                let (&len, rest) = rest.split_first().unwrap_or((&0, &[]));
                let (datagram, rest) = rest.split_at(usize::from(len).min(rest.len()));
                script = rest;
                let mut datagram = datagram.to_vec();
                if op % 4 == 1 && datagram.len() >= 8 {
                    datagram[4..8].copy_from_slice(&tid.to_be_bytes());
                }
                session.handle_datagram(now, &datagram)
            }
            _ => {
                script = rest;
                session.start(now, req.clone(), patience);
                None
            }
        };
        if let Some(outcome) = outcome {
            assert!(busy, "an outcome without a request: {outcome:?}");
            assert!(!session.is_busy());
            match outcome {
                UdpOutcome::Announced(reply) => assert!(reply.peers.len() <= MAX_PEERS),
                UdpOutcome::Scraped(stats) => assert!(stats.len() <= MAX_SCRAPE),
                UdpOutcome::Failed(_) => {}
            }
        }
    }
});
