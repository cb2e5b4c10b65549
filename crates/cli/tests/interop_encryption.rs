//! Message Stream Encryption against the reference clients on loopback, in both directions,
//! each client set to accept nothing but RC4: libtorrent (`pe_forced`, `pe_rc4`),
//! Transmission ("encryption required", transmission-cli's `-er`) and aria2
//! (`--bt-require-crypto=true --bt-min-crypto-level=arc4`), against shoal with its
//! defaults (`--encryption prefer`). Every download is compared byte for byte, and shoal's
//! debug log must show the connection encrypted (`encrypted=true`), so a silent plaintext
//! fallback cannot pass. Then `--encryption require` against a plaintext-only libtorrent:
//! refused in both directions, and the refusal is in shoal's debug log.

mod common;

use common::libtorrent::{self, SeedOptions, Source};
use common::payload::{self, Maker, Payload, MIB};
use common::tools::{require, Tool};
use common::{aria2, opentracker, shoal, transmission, wait_until, TestDir, TRANSFER_TIMEOUT};
use std::time::Duration;

/// What shoal's peer task logs (at debug level) for an RC4 connection.
const ENCRYPTED: &str = "encrypted=true";
/// How long a refused pair is watched.
const REFUSAL_WINDOW: Duration = Duration::from_secs(20);

fn single_file(t: &TestDir) -> Payload {
    payload::single_file(t, "src", "single.bin", 3 * MIB + 321, 51)
}

fn assert_encrypted(log: &str, who: &str) {
    assert!(
        log.contains(ENCRYPTED),
        "{who}: no RC4 connection in shoal's debug log (no `{ENCRYPTED}`)"
    );
}

/// `shoal get`'s summary counts encrypted connections ("...; encrypted N").
fn assert_summary_counts_encryption(stderr: &str) {
    let counted = stderr.lines().any(|line| {
        line.rsplit_once("encrypted ")
            .and_then(|(_, n)| n.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    });
    assert!(
        counted,
        "shoal get's summary does not count the encrypted connection"
    );
}

#[test]
fn libtorrent_forcing_rc4_seeds_to_shoal() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("enc-lt-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let options = SeedOptions {
        encryption: Some("forced-rc4"),
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);

    let out = t.subdir("out");
    let got = shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
    assert_encrypted(&got.stderr, "shoal get from libtorrent");
    assert_summary_counts_encryption(&got.stderr);
}

#[test]
fn libtorrent_forcing_rc4_downloads_from_shoal() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("enc-lt-get");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);

    let out = t.subdir("out");
    let source = Source::Torrent(&torrent);
    libtorrent::get_encrypted(&t, source, &out, &[seed.addr()], "forced-rc4")
        .wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    assert_encrypted(&seed.proc.stderr(), "shoal seed to libtorrent");
}

#[test]
fn transmission_requiring_encryption_seeds_to_shoal() {
    if !require(&[Tool::Transmission]) {
        return;
    }
    let t = TestDir::new("enc-tr-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let mut seed = transmission::start_encryption_required(
        &t,
        "transmission-seed",
        &torrent.to_string_lossy(),
        &payload.data_dir,
    );
    seed.wait_seeding();

    let out = t.subdir("out");
    let got = shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
    assert_encrypted(&got.stderr, "shoal get from Transmission");
}

/// Transmission never dials loopback peers, so shoal's seed dials it.
#[test]
fn transmission_requiring_encryption_downloads_from_shoal() {
    if !require(&[Tool::Transmission]) {
        return;
    }
    let t = TestDir::new("enc-tr-get");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let out = t.subdir("out");
    let mut leech = transmission::start_encryption_required(
        &t,
        "transmission-get",
        &torrent.to_string_lossy(),
        &out,
    );
    leech.wait_running();

    let seed = shoal::seed(&t, &torrent, &payload.data_dir, &[leech.addr()]);
    leech.wait_download(&payload.content(), &payload.downloaded(&out));
    assert_encrypted(&seed.proc.stderr(), "shoal seed to Transmission");
}

#[test]
fn aria2_requiring_rc4_seeds_to_shoal() {
    if !require(&[Tool::Aria2]) {
        return;
    }
    let t = TestDir::new("enc-aria2-seed");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let seed = aria2::seed_with(&t, &torrent, &payload.data_dir, aria2::REQUIRE_RC4);

    let out = t.subdir("out");
    let got = shoal::get(&t, &torrent, &out, shoal::peer_args(&[seed.addr()]));
    payload.assert_downloaded(&out);
    assert_encrypted(&got.stderr, "shoal get from aria2");
}

/// aria2 cannot be given a peer: it finds shoal through opentracker.
#[test]
fn aria2_requiring_rc4_downloads_from_shoal() {
    if !require(&[Tool::Aria2, Tool::Opentracker, Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("enc-aria2-get");
    let payload = single_file(&t);
    let port = common::free_port();
    let announce = format!("http://127.0.0.1:{port}/announce");
    let torrent = t.join("payload.torrent");
    shoal::create(&t, &payload.content(), &torrent, &["--tracker", &announce]);
    let hash = libtorrent::info_hash(&t, Source::Torrent(&torrent));
    let _tracker = opentracker::start(&t, port, &[hash]);

    let seed = shoal::seed(&t, &torrent, &payload.data_dir, &[]);
    let out = t.subdir("out");
    aria2::get_with(&t, &torrent, &out, aria2::REQUIRE_RC4).wait_success(TRANSFER_TIMEOUT);
    payload.assert_downloaded(&out);
    assert_encrypted(&seed.proc.stderr(), "shoal seed to aria2");
}

/// A plaintext-only libtorrent dials `shoal seed --encryption require`: shoal refuses it,
/// says why at debug level, and nothing is downloaded.
#[test]
fn shoal_requiring_encryption_refuses_a_plaintext_peer() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("enc-require-refuses");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let require_rc4 = args!["--encryption", "require"];
    let seed = shoal::seed_with(&t, &torrent, &payload.data_dir, &[], require_rc4);

    let out = t.subdir("out");
    let source = Source::Torrent(&torrent);
    let mut leech = libtorrent::get_encrypted(&t, source, &out, &[seed.addr()], "plaintext-only");
    let refusal = "refusing plaintext peer: encryption is required";
    let seen = wait_until(REFUSAL_WINDOW, || seed.proc.stderr().contains(refusal));
    assert!(
        seen,
        "no `{refusal}` in shoal's debug log\n{}",
        seed.proc.log_tails()
    );
    assert!(
        leech.try_exit().is_none(),
        "libtorrent finished a download it was refused"
    );
    assert!(!payload.is_downloaded(&out));
}

/// `shoal get --encryption require` dials a plaintext-only libtorrent, which drops the
/// encrypted handshake: shoal does not retry in plaintext, says so at debug level, and
/// gives up after its `--timeout`.
#[test]
fn shoal_requiring_encryption_does_not_fall_back_to_plaintext() {
    if !require(&[Tool::Libtorrent]) {
        return;
    }
    let t = TestDir::new("enc-require-no-fallback");
    let payload = single_file(&t);
    let torrent = payload::make_torrent(&t, Maker::Shoal, &payload, "payload.torrent");
    let options = SeedOptions {
        encryption: Some("plaintext-only"),
        ..SeedOptions::default()
    };
    let seed = libtorrent::seed(&t, &torrent, &payload.data_dir, options);

    let out = t.subdir("out");
    let mut extra = shoal::peer_args(&[seed.addr()]);
    extra.extend(args!["--encryption", "require", "--timeout", "5"]);
    let got = shoal::spawn_get(&t, &torrent, &out, extra).wait_exit(REFUSAL_WINDOW);
    assert_eq!(got.status.code(), Some(3), "{}", got.describe());
    let refusal = "encryption is required, so no plaintext retry";
    assert!(
        got.stderr.contains(refusal),
        "no `{refusal}` in shoal's debug log"
    );
    assert!(!payload.is_downloaded(&out));
}
