use super::*;
use crate::Event;
use std::net::SocketAddr;

fn params() -> AnnounceParams {
    AnnounceParams {
        info_hash: [1; 20],
        peer_id: [2; 20],
        port: 6881,
        uploaded: 3,
        downloaded: 4,
        left: 5,
        event: Event::Started,
        numwant: None,
        key: 6,
    }
}

fn tid_of(packet: &[u8]) -> u32 {
    be32(packet, 12)
}

fn connect_reply(tid: u32, id: u64) -> Vec<u8> {
    let mut p = ACTION_CONNECT.to_be_bytes().to_vec();
    p.extend_from_slice(&tid.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p
}

fn announce_reply(tid: u32, peers: &[u8]) -> Vec<u8> {
    let mut p = ACTION_ANNOUNCE.to_be_bytes().to_vec();
    p.extend_from_slice(&tid.to_be_bytes());
    p.extend_from_slice(&1800u32.to_be_bytes());
    p.extend_from_slice(&3u32.to_be_bytes());
    p.extend_from_slice(&7u32.to_be_bytes());
    p.extend_from_slice(peers);
    p
}

#[test]
fn packets_have_the_bep_15_layout() {
    let c = connect_request(0x0102_0304);
    assert_eq!(c.len(), 16);
    assert_eq!(&c[..8], &[0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80]);
    assert_eq!(&c[8..], &[0, 0, 0, 0, 1, 2, 3, 4]);
    let a = announce_request(9, 8, &params());
    assert_eq!(a.len(), 98);
    assert_eq!(&a[..8], &9u64.to_be_bytes());
    assert_eq!(be32(&a, 8), 1);
    assert_eq!(&a[16..36], &[1; 20]);
    assert_eq!(&a[36..56], &[2; 20]);
    assert_eq!(&a[56..64], &4u64.to_be_bytes()); // downloaded
    assert_eq!(&a[64..72], &5u64.to_be_bytes()); // left
    assert_eq!(&a[72..80], &3u64.to_be_bytes()); // uploaded
    assert_eq!(be32(&a, 80), 2); // started
    assert_eq!(be32(&a, 88), 6); // key
    assert_eq!(&a[92..96], &(-1i32).to_be_bytes());
    assert_eq!(&a[96..], &6881u16.to_be_bytes());
    let s = scrape_request(9, 8, &[[7; 20]; 100]);
    assert_eq!(s.len(), 16 + 20 * MAX_SCRAPE);
}

#[test]
fn replies_decode_for_both_families() {
    let r = parse_response(&announce_reply(5, &[127, 0, 0, 1, 0x1a, 0xe1, 9]), false).unwrap();
    let Response::Announce { tid, reply } = r else {
        panic!("not an announce")
    };
    assert_eq!(tid, 5);
    assert_eq!(reply.interval, Some(Duration::from_secs(1800)));
    assert_eq!((reply.incomplete, reply.complete), (Some(3), Some(7)));
    assert_eq!(
        reply.peers,
        vec!["127.0.0.1:6881".parse::<SocketAddr>().unwrap()]
    );
    let mut v6 = [0u8; 18];
    v6[15] = 1;
    v6[17] = 1;
    let Response::Announce { reply, .. } = parse_response(&announce_reply(5, &v6), true).unwrap()
    else {
        panic!("not an announce")
    };
    assert_eq!(reply.peers, vec!["[::1]:1".parse::<SocketAddr>().unwrap()]);
    let mut err = 3u32.to_be_bytes().to_vec();
    err.extend_from_slice(&[0, 0, 0, 5]);
    err.extend_from_slice(b"not\nwhitelisted");
    assert_eq!(
        parse_response(&err, false).unwrap(),
        Response::Error {
            tid: 5,
            message: "not whitelisted".into()
        }
    );
    assert_eq!(parse_response(&[0; 7], false), Err(TrackerError::Short(7)));
    assert_eq!(
        parse_response(&[0; 12], false),
        Err(TrackerError::Short(12))
    );
    assert_eq!(
        parse_response(&[0, 0, 0, 1, 0, 0, 0, 0, 0], false),
        Err(TrackerError::Short(9))
    );
    assert!(matches!(
        parse_response(&[0, 0, 0, 9, 0, 0, 0, 0], false),
        Err(TrackerError::WrongAction { got: 9, .. })
    ));
}

#[test]
fn announce_connects_then_reuses_the_connection_id() {
    let t0 = Instant::now();
    let mut s = UdpSession::new(UdpConfig::default(), false, 1);
    s.start(t0, UdpRequest::Announce(params()), Patience::Brief);
    let c = s.poll_transmit().unwrap();
    assert_eq!(c.len(), 16);
    // A reply to another transaction is ignored.
    assert_eq!(
        s.handle_datagram(t0, &connect_reply(tid_of(&c) ^ 1, 77)),
        None
    );
    assert_eq!(s.handle_datagram(t0, &connect_reply(tid_of(&c), 77)), None);
    let a = s.poll_transmit().unwrap();
    assert_eq!(&a[..8], &77u64.to_be_bytes());
    let out = s
        .handle_datagram(t0, &announce_reply(tid_of(&a), &[]))
        .unwrap();
    assert!(matches!(out, UdpOutcome::Announced(_)));
    assert!(!s.is_busy());

    // 59 s later the id is still good: straight to the announce.
    let t1 = t0 + Duration::from_secs(59);
    s.start(t1, UdpRequest::Announce(params()), Patience::Brief);
    let a = s.poll_transmit().unwrap();
    assert_eq!(a.len(), 98);
    assert!(s
        .handle_datagram(t1, &announce_reply(tid_of(&a), &[]))
        .is_some());

    // After a minute it has expired: connect again.
    let t2 = t0 + Duration::from_secs(61);
    s.start(t2, UdpRequest::Scrape(vec![[1; 20]]), Patience::Brief);
    assert_eq!(s.poll_transmit().unwrap().len(), 16);
}

/// The "announce times out" example of BEP 15: sends at t = 0 (connect), 2, 17, 47, then a
/// connect at 107 because the id expired, then 227.
#[test]
fn retransmits_follow_the_spec_schedule() {
    let t0 = Instant::now();
    let mut s = UdpSession::new(UdpConfig::default(), false, 2);
    s.start(t0, UdpRequest::Announce(params()), Patience::Spec);
    let c = s.poll_transmit().unwrap();
    let t1 = t0 + Duration::from_secs(1);
    s.handle_datagram(t1, &connect_reply(tid_of(&c), 5));
    let t2 = t0 + Duration::from_secs(2);
    // The test sends the announce "at t = 2": restart the request to line up with the spec.
    s.start(t2, UdpRequest::Announce(params()), Patience::Spec);
    assert_eq!(s.poll_transmit().unwrap().len(), 98);
    let mut sent = Vec::new();
    let mut now = t2;
    for _ in 0..4 {
        now = s.poll_timeout().unwrap();
        assert_eq!(s.handle_timeout(now), None);
        let p = s.poll_transmit().unwrap();
        sent.push(((now - t0).as_secs(), p.len()));
    }
    assert_eq!(sent, vec![(17, 98), (47, 98), (107, 16), (227, 16)]);
    assert_eq!(s.handle_timeout(now + Duration::from_secs(1)), None);
}

#[test]
fn gives_up_after_max_attempts_and_on_errors() {
    let t0 = Instant::now();
    let mut s = UdpSession::new(UdpConfig::default(), false, 3);
    s.start(t0, UdpRequest::Announce(params()), Patience::Brief);
    s.poll_transmit().unwrap();
    let t = s.poll_timeout().unwrap();
    assert_eq!(t - t0, Duration::from_secs(15));
    assert_eq!(s.handle_timeout(t), None);
    s.poll_transmit().unwrap();
    let t = s.poll_timeout().unwrap();
    assert_eq!(
        s.handle_timeout(t),
        Some(UdpOutcome::Failed(TrackerError::Timeout { attempts: 2 }))
    );
    assert!(!s.is_busy());

    s.start(t, UdpRequest::Announce(params()), Patience::Brief);
    let c = s.poll_transmit().unwrap();
    let mut err = 3u32.to_be_bytes().to_vec();
    err.extend_from_slice(&tid_of(&c).to_be_bytes());
    err.extend_from_slice(b"go away");
    assert_eq!(
        s.handle_datagram(t, &err),
        Some(UdpOutcome::Failed(TrackerError::Failure("go away".into())))
    );
    s.start(t, UdpRequest::Announce(params()), Patience::Brief);
    s.poll_transmit().unwrap();
    assert_eq!(
        s.handle_datagram(t, b"HTTP/1.1 400"),
        Some(UdpOutcome::Failed(TrackerError::WrongAction {
            expected: 1,
            got: 0x4854_5450
        }))
    );
}

/// With nobody else to ask, a request keeps to BEP 15 to the end: sends at 15·(2^n − 1) s for
/// n = 0..=8 (reconnecting whenever the id expired), and fails only 15·(2^9 − 1) s = 7665 s
/// after the first send. A tracker that answers every connect but never the announce does
/// not reset n, so it runs out too.
#[test]
fn a_last_resort_request_keeps_the_full_spec_schedule() {
    let t0 = Instant::now();
    let mut s = UdpSession::new(UdpConfig::default(), false, 4);
    s.start(t0, UdpRequest::Announce(params()), Patience::Spec);
    let c = s.poll_transmit().unwrap();
    assert_eq!(s.handle_datagram(t0, &connect_reply(tid_of(&c), 9)), None);
    let mut sends = vec![(0, s.poll_transmit().unwrap().len())];
    loop {
        let deadline = s.poll_timeout().unwrap();
        if let Some(outcome) = s.handle_timeout(deadline) {
            assert_eq!(
                outcome,
                UdpOutcome::Failed(TrackerError::Timeout { attempts: 9 })
            );
            assert_eq!((deadline - t0).as_secs(), 7665);
            break;
        }
        let p = s.poll_transmit().unwrap();
        if p.len() == 16 {
            // The tracker answers the connect at once, and stays silent on the announce.
            assert_eq!(
                s.handle_datagram(deadline, &connect_reply(tid_of(&p), 9)),
                None
            );
            let a = s.poll_transmit().unwrap();
            assert_eq!(a.len(), 98);
        }
        sends.push(((deadline - t0).as_secs(), p.len()));
        assert!(sends.len() <= 9, "more than nine sends: {sends:?}");
    }
    let times: Vec<u64> = sends.iter().map(|&(t, _)| t).collect();
    assert_eq!(times, vec![0, 15, 45, 105, 225, 465, 945, 1905, 3825]);
    // The id (from t = 0) is fresh at 15 and 45, expired from 105 on.
    let kinds: Vec<usize> = sends.iter().map(|&(_, len)| len).collect();
    assert_eq!(kinds, vec![98, 98, 98, 16, 16, 16, 16, 16, 16]);
}

/// Other trackers waiting: the same silence fails after two sends (15 + 30 s).
#[test]
fn a_brief_request_gives_up_after_two_sends() {
    let t0 = Instant::now();
    let mut s = UdpSession::new(UdpConfig::default(), false, 5);
    s.start(t0, UdpRequest::Announce(params()), Patience::Brief);
    s.poll_transmit().unwrap();
    let t = s.poll_timeout().unwrap();
    assert_eq!(s.handle_timeout(t), None);
    s.poll_transmit().unwrap();
    let t = s.poll_timeout().unwrap();
    assert_eq!((t - t0).as_secs(), 45);
    assert_eq!(
        s.handle_timeout(t),
        Some(UdpOutcome::Failed(TrackerError::Timeout { attempts: 2 }))
    );
}
