//! The runtime over real UDP sockets on loopback: bytes arrive whole in both directions,
//! the end of a stream is seen, and a dial to nobody fails in bounded time.

use super::UtpSocket;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCAL: &str = "127.0.0.1:0";

fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[tokio::test]
async fn streams_carry_bytes_both_ways_and_end() {
    let (a, _a_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 1).await.unwrap();
    let (b, mut b_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 2).await.unwrap();
    let dial = a.connect(b.local_addr(), Duration::from_secs(5));
    let accept = async { b_incoming.recv().await.unwrap() };
    let (dialed, (accepted, from)) = tokio::join!(dial, accept);
    let mut dialed = dialed.unwrap();
    let mut accepted = accepted;
    assert_eq!(from, a.local_addr());

    let up = payload(3 << 20, 7);
    let down = payload(1 << 20, 9);
    let (up2, down2) = (up.clone(), down.clone());
    let send_up = tokio::spawn(async move {
        dialed.write_all(&up2).await.unwrap();
        dialed.shutdown().await.unwrap();
        let mut got = Vec::new();
        dialed.read_to_end(&mut got).await.unwrap();
        got
    });
    let mut got_up = Vec::new();
    accepted.read_to_end(&mut got_up).await.unwrap();
    accepted.write_all(&down2).await.unwrap();
    accepted.shutdown().await.unwrap();
    let got_down = tokio::time::timeout(Duration::from_secs(30), send_up)
        .await
        .expect("the dialer finishes")
        .unwrap();
    assert_eq!(got_up.len(), up.len());
    assert!(got_up == up, "upload arrived whole");
    assert_eq!(got_down.len(), down.len());
    assert!(got_down == down, "download arrived whole");
}

#[tokio::test]
async fn datagrams_raised_for_a_loopback_peer_carry_bytes_whole() {
    let (a, _a_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 4).await.unwrap();
    let (b, mut b_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 5).await.unwrap();
    let mut dialed = a
        .connect(b.local_addr(), Duration::from_secs(5))
        .await
        .unwrap();
    let (mut accepted, _) = b_incoming.recv().await.unwrap();
    dialed.raise_packet_size();
    accepted.raise_packet_size();
    let up = payload(8 << 20, 3);
    let up2 = up.clone();
    let sender = tokio::spawn(async move {
        dialed.write_all(&up2).await.unwrap();
        dialed.shutdown().await.unwrap();
        dialed
    });
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), accepted.read_to_end(&mut got))
        .await
        .expect("the transfer ends")
        .unwrap();
    assert_eq!(got.len(), up.len());
    assert!(got == up, "arrived whole");
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn dialing_nobody_fails_in_bounded_time() {
    let (a, _incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 3).await.unwrap();
    // A bound socket that never answers.
    let silent = std::net::UdpSocket::bind(LOCAL).unwrap();
    let dialed = a
        .connect(silent.local_addr().unwrap(), Duration::from_millis(500))
        .await;
    assert!(dialed.is_err());
}

/// Loopback throughput, for development: `cargo test --release -p shoal-session --lib
/// utp::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput() {
    let (a, _a_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 1).await.unwrap();
    let (b, mut b_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 2).await.unwrap();
    let mut dialed = a
        .connect(b.local_addr(), Duration::from_secs(5))
        .await
        .unwrap();
    let (mut accepted, _) = b_incoming.recv().await.unwrap();
    let total = 256usize << 20;
    let chunk = vec![5u8; 1 << 16];
    let started = std::time::Instant::now();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        while sent < total {
            dialed.write_all(&chunk).await.unwrap();
            sent += chunk.len();
        }
        dialed.shutdown().await.unwrap();
        dialed
    });
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0;
    loop {
        let n = accepted.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(got, total);
    println!(
        "{} MiB in {secs:.2} s: {:.0} MB/s",
        total >> 20,
        total as f64 / secs / 1e6
    );
    drop(writer.await.unwrap());
}

/// The DHT shares the socket: datagrams that are not uTP reach the taker, its replies leave
/// from the same port, and uTP connections on the socket go on as before.
#[tokio::test]
async fn datagrams_of_another_protocol_share_the_socket() {
    let (a, mut a_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 6).await.unwrap();
    let mut others = a.other_datagrams();
    let plain = tokio::net::UdpSocket::bind(LOCAL).await.unwrap();
    let query = b"d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe";
    plain.send_to(query, a.local_addr()).await.unwrap();
    let (from, data) = tokio::time::timeout(Duration::from_secs(5), others.recv())
        .await
        .expect("the datagram is handed over")
        .unwrap();
    assert_eq!(from, plain.local_addr().unwrap());
    assert_eq!(&data[..], &query[..]);
    a.send_other(from, b"d1:y1:re").await.unwrap();
    let mut buf = [0u8; 64];
    let (len, reply_from) = plain.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..len], b"d1:y1:re");
    assert_eq!(
        reply_from,
        a.local_addr(),
        "the reply leaves from the uTP port"
    );

    let (b, _b_incoming) = UtpSocket::bind(LOCAL.parse().unwrap(), 7).await.unwrap();
    let dial = b.connect(a.local_addr(), Duration::from_secs(5));
    let accept = async { a_incoming.recv().await.unwrap() };
    let (dialed, (_accepted, _)) = tokio::join!(dial, accept);
    dialed.expect("uTP still connects");
    assert!(
        others.try_recv().is_err(),
        "uTP packets are not handed over"
    );
}
