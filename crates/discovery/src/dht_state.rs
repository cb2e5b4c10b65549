//! The DHT state file: the nodes of the routing table worth asking first next run, so a
//! restart does not depend on the public bootstrap routers. Reading and writing the file
//! is the session's (`discovery/dht.rs`); this is its format.
//!
//! ```text
//! # shoal DHT nodes: ip:port per line
//! 203.0.113.7:6881
//! [2001:db8::20]:51413
//! ```
//!
//! One `ip:port` per line, IPv4 or IPv6 (`[ip]:port`). Reading is lenient: any other line
//! (a comment, port 0, a duplicate) is skipped, since a damaged
//! file costs only a slower bootstrap. A file over [`MAX_FILE_LEN`] bytes is not ours and
//! yields nothing; at most [`MAX_NODES`] nodes are taken.

use std::fmt::{self, Write as _};
use std::net::SocketAddr;

/// Nodes kept in the file, and read from it, at most.
pub const MAX_NODES: usize = 200;
/// A state file larger than this is not ours (or is corrupt) and is ignored.
pub const MAX_FILE_LEN: usize = 64 * 1024;
/// The first line of the file, for whoever opens it.
const HEADER: &str = "# shoal DHT nodes: ip:port per line\n";

/// The file's text for `nodes`, each displayed as `ip:port` (the routing table hands them
/// as text, a parsed file as addresses). Only the first [`MAX_NODES`] are written.
pub fn format<T: fmt::Display>(nodes: &[T]) -> String {
    let mut text = String::from(HEADER);
    for node in nodes.iter().take(MAX_NODES) {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{node}");
    }
    text
}

/// The nodes in a state file's bytes, in file order, without duplicates or port 0.
pub fn parse(file: &[u8]) -> Vec<SocketAddr> {
    if file.len() > MAX_FILE_LEN {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(file);
    let mut out = Vec::new();
    for line in text.lines() {
        if out.len() == MAX_NODES {
            break;
        }
        if let Ok(addr) = line.trim().parse::<SocketAddr>() {
            if addr.port() != 0 && !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_are_parsed_strictly() {
        let text = "# comment\n1.2.3.4:6881\n\n  5.6.7.8:1  \nnot an addr\n[::1]:6881\n\
                    1.2.3.4:6881\n9.9.9.9:0\n300.1.1.1:5\n::1:6881\n";
        assert_eq!(
            parse(text.as_bytes()),
            vec![
                "1.2.3.4:6881".parse::<SocketAddr>().unwrap(),
                "5.6.7.8:1".parse().unwrap(),
                "[::1]:6881".parse().unwrap(),
            ]
        );
    }

    #[test]
    fn round_trip_and_caps() {
        let nodes: Vec<String> = (0..300)
            .map(|i| format!("10.0.{}.{}:6881", i / 256, i % 256))
            .collect();
        let text = format(&nodes);
        assert!(text.starts_with('#'));
        assert_eq!(text.lines().count(), 1 + MAX_NODES);
        let back = parse(text.as_bytes());
        assert_eq!(back.len(), MAX_NODES);
        assert_eq!(back[0], "10.0.0.0:6881".parse::<SocketAddr>().unwrap());
        assert!(parse(&vec![b'x'; MAX_FILE_LEN + 1]).is_empty());
        // A file of exactly the limit is read.
        let mut full = b"1.2.3.4:5\n".to_vec();
        full.resize(MAX_FILE_LEN, b'\n');
        assert_eq!(parse(&full).len(), 1);
    }

    #[test]
    fn a_damaged_file_keeps_its_good_lines() {
        let mut file = b"1.2.3.4:5\n\xff\xfe garbage\r\n6.7.8.9:10\r\n".to_vec();
        file.extend_from_slice(&[0; 16]);
        assert_eq!(
            parse(&file),
            vec![
                "1.2.3.4:5".parse::<SocketAddr>().unwrap(),
                "6.7.8.9:10".parse().unwrap()
            ]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let nodes = parse(&data);
            prop_assert!(nodes.len() <= MAX_NODES);
        }

        #[test]
        fn what_is_parsed_formats_and_parses_back(
            addrs in proptest::collection::vec(any::<([u8; 4], u16)>(), 0..300),
        ) {
            let nodes: Vec<String> = addrs
                .iter()
                .map(|(ip, port)| std::net::SocketAddrV4::new((*ip).into(), *port).to_string())
                .collect();
            let parsed = parse(format(&nodes).as_bytes());
            prop_assert!(parsed.iter().all(|a| a.port() != 0));
            prop_assert_eq!(parse(format(&parsed).as_bytes()), parsed);
        }
    }
}
