//! Hostile and truncated tracker replies: typed errors or bounded results, never a panic.

use proptest::prelude::*;
use shoal_tracker::http::{parse_announce, parse_scrape};
use shoal_tracker::udp::{parse_response, Patience, Response, UdpConfig, UdpRequest, UdpSession};
use shoal_tracker::{AnnounceParams, Event, MAX_PEERS};
use std::time::Instant;

fn params() -> AnnounceParams {
    AnnounceParams {
        info_hash: [1; 20],
        peer_id: [2; 20],
        port: 1,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::Started,
        numwant: None,
        key: 0,
    }
}

/// A plausible announce reply with `peers` compact bytes, for truncation.
fn reply_with(peers: &[u8]) -> Vec<u8> {
    let mut body = format!("d8:intervali60e5:peers{}:", peers.len()).into_bytes();
    body.extend_from_slice(peers);
    body.extend_from_slice(b"e");
    body
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_announce(&bytes);
        let _ = parse_scrape(&bytes, &[0; 20]);
        for v6 in [false, true] {
            if let Ok(Response::Announce { reply, .. }) = parse_response(&bytes, v6) {
                prop_assert!(reply.peers.len() <= MAX_PEERS);
            }
        }
        let now = Instant::now();
        let mut s = UdpSession::new(UdpConfig::default(), false, 9);
        s.start(now, UdpRequest::Announce(params()), Patience::Brief);
        let _ = s.handle_datagram(now, &bytes);
    }

    #[test]
    fn truncated_replies_are_errors(peers in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<prop::sample::Index>()) {
        let body = reply_with(&peers);
        let whole = parse_announce(&body).expect("whole reply parses");
        prop_assert!(whole.peers.len() <= peers.len() / 6);
        let cut = cut.index(body.len());
        prop_assert!(parse_announce(&body[..cut]).is_err());
    }

    #[test]
    fn big_peer_lists_are_capped(n in 0usize..5000) {
        let peers: Vec<u8> = (0..n as u32)
            .flat_map(|i| {
                let mut e = (i | 0x0a00_0000).to_be_bytes().to_vec();
                e.extend_from_slice(&[0x1a, 0xe1]);
                e
            })
            .collect();
        let reply = parse_announce(&reply_with(&peers)).unwrap();
        prop_assert_eq!(reply.peers.len(), n.min(MAX_PEERS));
        let mut udp = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0];
        udp.extend_from_slice(&peers);
        let Ok(Response::Announce { reply, .. }) = parse_response(&udp, false) else {
            panic!("valid announce packet refused");
        };
        prop_assert_eq!(reply.peers.len(), n.min(MAX_PEERS));
    }
}
