//! Finding peers through trackers alone: `shoal share` announces to a real opentracker (HTTP
//! or UDP) and `shoal get <bare info-hash> --tracker URL` finds it there with no other hint
//! (the harness turns the DHT and LSD off). Broken trackers (silent, or answering garbage)
//! must not stop a download that has another source, and must be reported clearly.

mod common;

use common::payload::{self, Payload, MIB};
use common::tools::{require, Tool};
use common::{opentracker, shoal, TestDir, TRANSFER_TIMEOUT};
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

fn payload(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "movie.bin", 3 * MIB + 5, 77)
}

/// The info-hash of `payload` as `shoal share` will make it (trackers and dates are outside
/// the info dictionary, so a plain `create` gives the same hash).
fn info_hash_of(t: &TestDir, payload: &Payload) -> String {
    let torrent = t.join("probe.torrent");
    shoal::create(t, &payload.content(), &torrent, &[]);
    shoal::info_hash_from_json(&shoal::info_json_leaves(t, &torrent))
}

/// share → tracker → get by bare info-hash, through the tracker URL `pick` chooses.
fn found_through_tracker(test: &str, pick: fn(&opentracker::Tracker) -> String) {
    if !require(&[Tool::Opentracker]) {
        return;
    }
    let t = TestDir::new(test);
    let payload = payload(&t);
    let hash = info_hash_of(&t, &payload);
    let tracker = opentracker::start(&t, common::free_port(), std::slice::from_ref(&hash));
    let url = pick(&tracker);

    let _share = shoal::share(&t, &payload.content(), args!["--tracker", &url]);
    let out = t.subdir("out");
    let got = shoal::get(&t, &hash, &out, args!["--tracker", &url, "-v"]);
    payload.assert_downloaded(&out);
    // The summary names where the peers came from.
    assert!(
        got.stderr.contains("first peer connected after")
            && got.stderr.contains("found by tracker"),
        "get does not say its peer came from the tracker:\n{}",
        got.stderr
    );

    // The tracker now knows the sharer as a seed.
    let scraped = shoal::run_ok(
        &t,
        "shoal-info-scrape",
        args![
            "info",
            format!("magnet:?xt=urn:btih:{hash}&tr={url}"),
            "--scrape"
        ],
        Duration::from_secs(30),
    );
    let line = scraped
        .stdout
        .lines()
        .rfind(|l| l.contains(&url))
        .unwrap_or_else(|| panic!("no scrape line for {url}:\n{}", scraped.stdout));
    assert!(
        line.contains("seeders") && !line.contains(" 0 seeders") && !line.contains("failed"),
        "scrape shows no seeder: {line}"
    );
}

#[test]
fn share_and_get_find_each_other_through_an_http_tracker() {
    found_through_tracker("tracker-http", opentracker::Tracker::announce_url);
}

#[test]
fn share_and_get_find_each_other_through_a_udp_tracker() {
    found_through_tracker("tracker-udp", opentracker::Tracker::udp_url);
}

/// A TCP "tracker" that accepts connections and never says anything.
fn silent_http_tracker() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = Instant::now() + TRANSFER_TIMEOUT;
        listener.set_nonblocking(true).expect("nonblocking");
        while Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

/// A TCP "tracker" that answers every request with a line of garbage.
fn garbage_http_tracker() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let until = Instant::now() + TRANSFER_TIMEOUT;
        listener.set_nonblocking(true).expect("nonblocking");
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut request = [0u8; 4096];
                    let _ = stream.read(&mut request);
                    let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n\x00\xff");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    port
}

/// A UDP "tracker" that answers every datagram with garbage.
fn garbage_udp_tracker() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    std::thread::spawn(move || {
        let until = Instant::now() + TRANSFER_TIMEOUT;
        let mut buf = [0u8; 2048];
        while Instant::now() < until {
            if let Ok((_, from)) = socket.recv_from(&mut buf) {
                let _ = socket.send_to(b"\xde\xad\xbe\xef garbage", from);
            }
        }
    });
    port
}

#[test]
fn broken_trackers_do_not_stop_a_download_and_are_reported() {
    let t = TestDir::new("tracker-broken");
    // Large enough that the download outlasts the (immediate) failures of the first two
    // trackers, so the report at exit has their reasons.
    let payload = payload::single_file(&t, "src", "movie.bin", 12 * MIB + 5, 78);
    let hash = info_hash_of(&t, &payload);
    let share = shoal::share(&t, &payload.content(), Vec::new());

    let udp = format!("udp://127.0.0.1:{}/announce", garbage_udp_tracker());
    let garbage = format!("http://127.0.0.1:{}/announce", garbage_http_tracker());
    let silent = format!("http://127.0.0.1:{}/announce", silent_http_tracker());
    let out = t.subdir("out");
    let mut args = args![
        "--tracker",
        &udp,
        "--tracker",
        &garbage,
        "--tracker",
        &silent,
        "--peer"
    ];
    args.push(share.addr().into());
    let got = shoal::get(&t, &hash, &out, args);
    payload.assert_downloaded(&out);

    for (url, what) in [
        (&udp, "failed: "),
        (&garbage, "failed: not an HTTP response"),
    ] {
        assert!(
            got.stderr
                .lines()
                .any(|l| l.contains(&format!("tracker {url} {what}"))),
            "no clear failure line for {url}:\n{}",
            got.stderr
        );
    }
    assert!(
        got.stderr
            .contains(&format!("tracker {silent}: no answer yet")),
        "the silent tracker is not reported:\n{}",
        got.stderr
    );
    assert!(!got.stderr.contains("panicked"), "{}", got.stderr);
}

#[test]
fn a_private_torrent_is_found_through_its_own_tracker() {
    if !require(&[Tool::Opentracker]) {
        return;
    }
    let t = TestDir::new("tracker-private");
    let payload = payload::folder(&t, "src", "album", 79);
    let port = common::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let torrent = t.join("private.torrent");
    shoal::create(
        &t,
        &payload.content(),
        &torrent,
        &["--private", "--tracker", &announce],
    );
    let hash = shoal::info_hash_from_json(&shoal::info_json_leaves(&t, &torrent));
    let _tracker = opentracker::start(&t, port, &[hash]);

    // Neither side is told about the other: the torrent's announce URL is all they have.
    let _seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);
    let out = t.subdir("out");
    shoal::get(&t, &torrent, &out, Vec::new());
    payload.assert_downloaded(&out);
}

#[test]
fn the_tracker_in_a_shared_magnet_link_is_enough() {
    if !require(&[Tool::Opentracker]) {
        return;
    }
    let t = TestDir::new("tracker-magnet");
    let payload = payload(&t);
    let hash = info_hash_of(&t, &payload);
    let tracker = opentracker::start(&t, common::free_port(), std::slice::from_ref(&hash));
    let share = shoal::share(
        &t,
        &payload.content(),
        args!["--tracker", tracker.udp_url()],
    );
    // Keep only the info-hash and the tracker: no x.pe address hints.
    let magnet: Vec<&str> = share
        .magnet
        .split('&')
        .filter(|part| !part.starts_with("x.pe="))
        .collect();
    let magnet = magnet.join("&");
    assert!(
        magnet.contains("&tr=udp%3A%2F%2F127.0.0.1"),
        "the magnet of `share --tracker` has no tr= parameter: {magnet}"
    );
    let out = t.subdir("out");
    shoal::get(&t, &magnet, &out, Vec::new());
    payload.assert_downloaded(&out);
}
