//! Finding peers through trackers alone: `shoal share` announces to a real opentracker (HTTP
//! or UDP) and `shoal get <bare info-hash> --tracker URL` finds it there with no other hint
//! (the harness turns the DHT and LSD off). Broken trackers (silent, or answering garbage)
//! must not stop a download that has another source, and must be reported clearly.
//! HTTPS goes through a TLS forwarder in front of opentracker, with a CA made by the test and
//! handed to shoal through `SSL_CERT_FILE`.

mod common;

use common::payload::{self, Payload, MIB};
use common::shoal::Env;
use common::tools::{require, Tool};
use common::{https, opentracker, shoal, Proc, TestDir, TRANSFER_TIMEOUT};
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

/// How the shoal processes of a test reach its opentracker.
struct Route {
    url: String,
    /// `SSL_CERT_FILE` for an HTTPS route.
    ca: Option<std::path::PathBuf>,
    /// The TLS forwarder of an HTTPS route, kept running.
    _forwarder: Option<Proc>,
}

fn http_route(_: &TestDir, tracker: &opentracker::Tracker) -> Route {
    Route {
        url: tracker.announce_url(),
        ca: None,
        _forwarder: None,
    }
}

fn udp_route(_: &TestDir, tracker: &opentracker::Tracker) -> Route {
    Route {
        url: tracker.udp_url(),
        ca: None,
        _forwarder: None,
    }
}

/// `https://localhost:PORT/announce`, trusted through the test's own CA.
fn https_route(t: &TestDir, tracker: &opentracker::Tracker) -> Route {
    let ca = https::make_ca(t, "trusted");
    let (cert, key) = https::server_cert(t, &ca);
    let forwarder = https::forward(t, &cert, &key, tracker.port);
    Route {
        url: forwarder.announce_url(),
        ca: Some(ca.cert),
        _forwarder: Some(forwarder.proc),
    }
}

/// share → tracker → get by bare info-hash, through the route `pick` makes.
fn found_through_tracker(test: &str, pick: fn(&TestDir, &opentracker::Tracker) -> Route) {
    if !require(&[Tool::Opentracker]) {
        return;
    }
    let t = TestDir::new(test);
    let payload = payload(&t);
    let hash = info_hash_of(&t, &payload);
    let tracker = opentracker::start(&t, common::free_port(), std::slice::from_ref(&hash));
    let route = pick(&t, &tracker);
    let url = route.url.clone();
    let ca_env;
    let env: Env = match &route.ca {
        Some(ca) => {
            ca_env = [("SSL_CERT_FILE", ca.as_os_str())];
            &ca_env
        }
        None => &[],
    };

    let _share = shoal::share_env(&t, &payload.content(), args!["--tracker", &url], env);
    let out = t.subdir("out");
    let got = shoal::get_env(&t, &hash, &out, args!["--tracker", &url, "-v"], env);
    payload.assert_downloaded(&out);
    // The summary names where the peers came from.
    assert!(
        got.stderr.contains("first peer connected after")
            && got.stderr.contains("found by tracker"),
        "get does not say its peer came from the tracker:\n{}",
        got.stderr
    );

    // The tracker now knows the sharer as a seed.
    let scraped = shoal::run_ok_env(
        &t,
        "shoal-info-scrape",
        args![
            "info",
            format!("magnet:?xt=urn:btih:{hash}&tr={url}"),
            "--scrape"
        ],
        Duration::from_secs(30),
        env,
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
    found_through_tracker("tracker-http", http_route);
}

#[test]
fn share_and_get_find_each_other_through_a_udp_tracker() {
    found_through_tracker("tracker-udp", udp_route);
}

#[test]
fn share_and_get_find_each_other_through_an_https_tracker() {
    found_through_tracker("tracker-https", https_route);
}

/// A tracker whose certificate comes from a CA shoal does not trust: one clear line in the
/// summary, and the download goes on through its other source.
#[test]
fn an_untrusted_https_tracker_is_reported_and_the_download_goes_on() {
    if !require(&[Tool::Opentracker]) {
        return;
    }
    let t = TestDir::new("tracker-https-untrusted");
    let payload = payload(&t);
    let hash = info_hash_of(&t, &payload);
    let tracker = opentracker::start(&t, common::free_port(), std::slice::from_ref(&hash));
    let route = https_route(&t, &tracker);
    // shoal trusts only another CA: the tracker's certificate has an unknown issuer.
    let other = https::make_ca(&t, "other");
    let env: Env = &[("SSL_CERT_FILE", other.cert.as_os_str())];
    let share = shoal::share(&t, &payload.content(), Vec::new());
    let out = t.subdir("out");
    let mut args = args!["--tracker", &route.url, "--peer"];
    args.push(share.addr().into());
    let got = shoal::get_env(&t, &hash, &out, args, env);
    payload.assert_downloaded(&out);
    let expected = format!(
        "tracker {} failed: TLS with localhost failed: certificate not trusted",
        route.url
    );
    let line = got.stderr.lines().find(|l| l.contains(&expected));
    assert!(
        line.is_some(),
        "no clear failure line for the untrusted tracker:\n{}",
        got.stderr
    );
    assert!(!got.stderr.contains("panicked"), "{}", got.stderr);
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
