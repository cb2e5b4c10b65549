//! Local Service Discovery (BEP 14) announces: building and parsing the datagram, with no
//! sockets involved (the runtime is shoal-session's `discovery/lsd.rs`).
//!
//! An announce is an HTTP-like request sent to a multicast group:
//!
//! ```text
//! BT-SEARCH * HTTP/1.1\r\n
//! Host: 239.192.152.143:6771\r\n
//! Port: 6881\r\n
//! Infohash: <40 hex>\r\n          (one or more)
//! cookie: <opaque>\r\n            (optional; lets a sender drop its own announces)
//! \r\n
//! \r\n
//! ```
//!
//! Datagrams come from anyone on the LAN, so parsing is strict about what it uses (the
//! request line, a valid port, well-formed info-hashes) and lenient about the rest (unknown
//! headers, header-name case, a missing final blank line), and never panics. Its cost is
//! bounded by the datagram, which the runtime caps at [`MAX_DATAGRAM`] bytes.

use shoal_core::InfoHash;
use std::fmt::Write as _;

/// Largest datagram we build (the BEP's MTU advice) and the receive buffer size; anything
/// longer is cut by the kernel and then fails to parse.
pub const MAX_DATAGRAM: usize = 1400;
/// Info-hashes in one datagram at most, whatever the sender put in.
pub const MAX_HASHES: usize = 32;

/// The first line of every announce.
const REQUEST_LINE: &str = "BT-SEARCH * HTTP/1.1";

/// One parsed announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    /// The TCP port the sender accepts BitTorrent connections on (never 0).
    pub port: u16,
    /// The torrents announced (at least one, at most [`MAX_HASHES`], no duplicates).
    pub info_hashes: Vec<InfoHash>,
    /// The sender's cookie, if it sent one.
    pub cookie: Option<String>,
}

/// Why a datagram is not a usable announce; only logged (at debug), since LAN noise is normal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The datagram is not UTF-8.
    #[error("LSD datagram is not UTF-8 text")]
    NotText,
    /// The first line is not the BEP 14 request line.
    #[error("LSD datagram does not start with \"BT-SEARCH * HTTP/1.1\"")]
    NotAnnounce,
    /// No `Port` header, or one that is not a port from 1 to 65535.
    #[error("LSD announce has no valid Port header")]
    BadPort,
    /// No `Infohash` header with 40 hex digits.
    #[error("LSD announce has no valid Infohash header")]
    NoInfoHash,
    /// A header line without a colon.
    #[error("LSD announce has a malformed header line")]
    BadHeader,
}

/// Builds one announce for `info_hashes` (at most as many as fit in [`MAX_DATAGRAM`]
/// bytes; callers announce the rest in another datagram). `host` is the group as it goes in
/// the `Host` header: `239.192.152.143:6771` or `[ff15::efc0:988f]:6771`.
pub fn build(host: &str, port: u16, info_hashes: &[InfoHash], cookie: &str) -> String {
    let mut out = String::with_capacity(MAX_DATAGRAM);
    // Writing to a String cannot fail.
    let _ = write!(out, "{REQUEST_LINE}\r\nHost: {host}\r\nPort: {port}\r\n");
    let tail = format!("cookie: {cookie}\r\n\r\n\r\n");
    for hash in info_hashes {
        let line = format!("Infohash: {hash}\r\n");
        if out.len() + line.len() + tail.len() > MAX_DATAGRAM {
            break;
        }
        out.push_str(&line);
    }
    out.push_str(&tail);
    out
}

/// How many info-hashes [`build`] fits in one datagram with this host and cookie (at least 1).
pub fn hashes_per_datagram(host: &str, cookie: &str) -> usize {
    let fixed = build(host, u16::MAX, &[], cookie).len();
    let per_hash = "Infohash: \r\n".len() + 40;
    (MAX_DATAGRAM.saturating_sub(fixed) / per_hash).max(1)
}

/// Parses a received datagram.
pub fn parse(datagram: &[u8]) -> Result<Announce, ParseError> {
    let text = std::str::from_utf8(datagram).map_err(|_| ParseError::NotText)?;
    let mut lines = text.split("\r\n");
    if lines.next() != Some(REQUEST_LINE) {
        return Err(ParseError::NotAnnounce);
    }
    let mut port = None;
    let mut info_hashes: Vec<InfoHash> = Vec::new();
    let mut cookie = None;
    for line in lines {
        if line.is_empty() {
            // The blank line ends the headers; whatever follows is not ours to read.
            break;
        }
        let (name, value) = line.split_once(':').ok_or(ParseError::BadHeader)?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .filter(|&p| p != 0)
                        .ok_or(ParseError::BadPort)?,
                );
            }
            "infohash" => {
                // A bad hash among good ones is skipped: the others may still be ours.
                if let Some(hash) = parse_hash(value) {
                    if !info_hashes.contains(&hash) && info_hashes.len() < MAX_HASHES {
                        info_hashes.push(hash);
                    }
                }
            }
            "cookie" => cookie = Some(value.to_string()),
            _ => {}
        }
    }
    let port = port.ok_or(ParseError::BadPort)?;
    if info_hashes.is_empty() {
        return Err(ParseError::NoInfoHash);
    }
    Ok(Announce {
        port,
        info_hashes,
        cookie,
    })
}

/// Exactly 40 hex digits (either case).
fn parse_hash(value: &str) -> Option<InfoHash> {
    let bytes = value.as_bytes();
    if bytes.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(InfoHash(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOST: &str = "239.192.152.143:6771";

    fn hash(byte: u8) -> InfoHash {
        InfoHash([byte; 20])
    }

    #[test]
    fn round_trip_one_hash() {
        let text = build(HOST, 6881, &[hash(0xab)], "c00k1e");
        assert_eq!(
            text,
            "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n\
             Infohash: abababababababababababababababababababab\r\ncookie: c00k1e\r\n\r\n\r\n"
        );
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.port, 6881);
        assert_eq!(parsed.info_hashes, vec![hash(0xab)]);
        assert_eq!(parsed.cookie.as_deref(), Some("c00k1e"));
    }

    #[test]
    fn many_hashes_stay_under_the_mtu() {
        let hashes: Vec<InfoHash> = (0..100).map(hash).collect();
        let text = build("[ff15::efc0:988f]:6771", 65535, &hashes, "abcdef0123456789");
        assert!(text.len() <= MAX_DATAGRAM, "{} bytes", text.len());
        let parsed = parse(text.as_bytes()).unwrap();
        let fits = hashes_per_datagram("[ff15::efc0:988f]:6771", "abcdef0123456789");
        assert_eq!(parsed.info_hashes.len(), fits.min(MAX_HASHES));
        assert_eq!(parsed.info_hashes[0], hash(0));
    }

    #[test]
    fn lenient_about_case_spacing_and_unknown_headers() {
        let text = "BT-SEARCH * HTTP/1.1\r\nHOST: x\r\nX-Other: 1\r\nport:  51413 \r\n\
                    infohash: ABABABABABABABABABABABABABABABABABABABAB\r\n\r\n";
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.port, 51413);
        assert_eq!(parsed.info_hashes, vec![hash(0xab)]);
        assert_eq!(parsed.cookie, None);
    }

    #[test]
    fn skips_bad_hashes_and_duplicates() {
        let text = "BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: zz\r\n\
                    Infohash: 0101010101010101010101010101010101010101\r\n\
                    Infohash: 0101010101010101010101010101010101010101\r\n\r\n";
        assert_eq!(parse(text.as_bytes()).unwrap().info_hashes, vec![hash(1)]);
    }

    #[test]
    fn refuses_what_is_not_an_announce() {
        let good_hash = "Infohash: 0101010101010101010101010101010101010101\r\n";
        let cases: Vec<(Vec<u8>, ParseError)> = vec![
            (b"\xff\xfe".to_vec(), ParseError::NotText),
            (b"".to_vec(), ParseError::NotAnnounce),
            (
                b"M-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n".to_vec(),
                ParseError::NotAnnounce,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\n{good_hash}\r\n").into_bytes(),
                ParseError::BadPort,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: 0\r\n{good_hash}").into_bytes(),
                ParseError::BadPort,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\n{good_hash}").into_bytes(),
                ParseError::BadPort,
            ),
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: -1\r\n{good_hash}").into_bytes(),
                ParseError::BadPort,
            ),
            (
                b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n".to_vec(),
                ParseError::NoInfoHash,
            ),
            (
                b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nno colon here\r\n".to_vec(),
                ParseError::BadHeader,
            ),
            // Truncated in the middle of the hash.
            (
                b"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 010101".to_vec(),
                ParseError::NoInfoHash,
            ),
            // Headers after the blank line are not read.
            (
                format!("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n{good_hash}").into_bytes(),
                ParseError::NoInfoHash,
            ),
        ];
        for (datagram, want) in cases {
            assert_eq!(
                parse(&datagram),
                Err(want.clone()),
                "{:?}",
                String::from_utf8_lossy(&datagram)
            );
        }
    }

    #[test]
    fn a_flood_of_hashes_is_capped() {
        let mut text = String::from("BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n");
        for i in 0..200u8 {
            text.push_str(&format!("Infohash: {}\r\n", hash(i)));
        }
        assert_eq!(
            parse(text.as_bytes()).unwrap().info_hashes.len(),
            MAX_HASHES
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&data);
        }

        #[test]
        fn every_prefix_of_an_announce_is_handled(cut in 0usize..200, port in 1u16..) {
            let text = build(HOST, port, &[hash(7), hash(9)], "ck");
            let cut = cut.min(text.len());
            if let Ok(parsed) = parse(&text.as_bytes()[..cut]) {
                prop_assert_eq!(parsed.port, port);
                prop_assert!(!parsed.info_hashes.is_empty());
            }
        }

        #[test]
        fn header_soup_never_panics(
            lines in proptest::collection::vec("[ -~]{0,60}", 0..20),
        ) {
            let text = format!("BT-SEARCH * HTTP/1.1\r\n{}\r\n\r\n", lines.join("\r\n"));
            if let Ok(parsed) = parse(text.as_bytes()) {
                prop_assert!(parsed.port != 0);
                prop_assert!(!parsed.info_hashes.is_empty());
                prop_assert!(parsed.info_hashes.len() <= MAX_HASHES);
            }
        }

        #[test]
        fn built_announces_parse_back(
            port in 1u16..,
            bytes in proptest::collection::vec(any::<[u8; 20]>(), 1..40),
            cookie in "[a-zA-Z0-9]{1,32}",
        ) {
            let mut seen = std::collections::HashSet::new();
            let hashes: Vec<InfoHash> =
                bytes.into_iter().map(InfoHash).filter(|h| seen.insert(*h)).collect();
            let text = build(HOST, port, &hashes, &cookie);
            prop_assert!(text.len() <= MAX_DATAGRAM);
            let parsed = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(parsed.port, port);
            prop_assert_eq!(parsed.cookie.as_deref(), Some(cookie.as_str()));
            prop_assert_eq!(&hashes[..parsed.info_hashes.len()], &parsed.info_hashes[..]);
        }
    }
}
