//! Magnet links (BEP 9): parsing and formatting `magnet:?xt=urn:btih:...` URIs.

use crate::InfoHash;
use std::net::SocketAddr;

/// What a magnet link says about a torrent: enough to find peers and fetch its metadata
/// from them (BEP 9), but not the metadata itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// The torrent's v1 info-hash (`xt=urn:btih:`), the one required part.
    pub info_hash: InfoHash,
    /// Display name (`dn`), to show until the metadata arrives.
    pub name: Option<String>,
    /// Total length in bytes (`xl`), when the link states it.
    pub length: Option<u64>,
    /// Tracker announce URLs (`tr`), in the order the link lists them.
    pub trackers: Vec<String>,
    /// Peers to try first (`x.pe`, `ip:port` each).
    pub peers: Vec<SocketAddr>,
}

/// Why a magnet link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MagnetError {
    /// The text does not start with `magnet:?`.
    #[error("not a magnet link: it must start with `magnet:?`")]
    Scheme,
    /// No `xt=urn:btih:` parameter, so there is no torrent to look for.
    #[error("magnet link has no v1 info-hash (`xt=urn:btih:...`)")]
    MissingXt,
    /// The info-hash is neither 40 hex nor 32 base32 characters (the text found is kept).
    #[error("magnet link info-hash `{0}` is neither 40 hex nor 32 base32 characters")]
    BadHash(String),
}

impl Magnet {
    /// Parses a magnet URI. Only `xt=urn:btih:` is required; `dn`, `xl`, `tr` and `x.pe` are
    /// read when present (`tr` and `x.pe` may repeat, also as `tr.1`-style numbered keys).
    /// Unknown parameters, malformed lengths and peer hints that are not `ip:port` are ignored.
    pub fn parse(uri: &str) -> Result<Magnet, MagnetError> {
        let uri = uri.trim();
        let query = uri
            .get(..8)
            .filter(|scheme| scheme.eq_ignore_ascii_case("magnet:?"))
            .and_then(|_| uri.get(8..))
            .ok_or(MagnetError::Scheme)?;
        let mut info_hash = None;
        let mut magnet = Magnet {
            info_hash: InfoHash([0; 20]),
            name: None,
            length: None,
            trackers: Vec::new(),
            peers: Vec::new(),
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key, false);
            let base_key = key
                .rsplit_once('.')
                .filter(|(_, n)| is_number(n))
                .map_or(&*key, |k| k.0);
            match base_key {
                "xt" if info_hash.is_none() => info_hash = btih(&percent_decode(value, false))?,
                "dn" if magnet.name.is_none() => magnet.name = Some(percent_decode(value, true)),
                "xl" => magnet.length = magnet.length.or(value.parse().ok()),
                "tr" => {
                    let url = percent_decode(value, false);
                    if !url.is_empty() && !magnet.trackers.contains(&url) {
                        magnet.trackers.push(url);
                    }
                }
                "x.pe" => {
                    if let Ok(addr) = percent_decode(value, false).parse::<SocketAddr>() {
                        if !magnet.peers.contains(&addr) {
                            magnet.peers.push(addr);
                        }
                    }
                }
                _ => {}
            }
        }
        magnet.info_hash = info_hash.ok_or(MagnetError::MissingXt)?;
        Ok(magnet)
    }

    /// Formats the link with a lower-case hex info-hash; `dn`, `tr` and `x.pe` are
    /// percent-encoded so any name or URL survives a round trip.
    pub fn to_uri(&self) -> String {
        let mut uri = format!("magnet:?xt=urn:btih:{}", self.info_hash.to_hex());
        if let Some(name) = &self.name {
            uri.push_str("&dn=");
            uri.push_str(&percent_encode(name));
        }
        if let Some(length) = self.length {
            uri.push_str(&format!("&xl={length}"));
        }
        for tracker in &self.trackers {
            uri.push_str("&tr=");
            uri.push_str(&percent_encode(tracker));
        }
        for peer in &self.peers {
            uri.push_str("&x.pe=");
            uri.push_str(&percent_encode(&peer.to_string()));
        }
        uri
    }
}

impl std::fmt::Display for Magnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl std::str::FromStr for Magnet {
    type Err = MagnetError;

    fn from_str(s: &str) -> Result<Magnet, MagnetError> {
        Magnet::parse(s)
    }
}

/// The info-hash of an `xt` value: `Some` for `urn:btih:`, `None` for other topics (such as
/// v2 `urn:btmh:`), an error for a malformed btih hash.
fn btih(xt: &str) -> Result<Option<InfoHash>, MagnetError> {
    const PREFIX: &str = "urn:btih:";
    let is_btih = xt
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
    let Some(hash) = xt.get(PREFIX.len()..).filter(|_| is_btih) else {
        return Ok(None);
    };
    InfoHash::from_hex_or_base32(hash)
        .map(Some)
        .ok_or_else(|| MagnetError::BadHash(hash.into()))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Decodes `%XX` escapes (malformed escapes stay as they are); `+` becomes a space when
/// `plus_is_space`, as browsers and many sites encode spaces in `dn` that way. Invalid UTF-8
/// is replaced rather than refused.
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex_pair = bytes.get(i + 1..i + 3).and_then(|h| {
            let hi = (h[0] as char).to_digit(16)?;
            let lo = (h[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        });
        match (b, hex_pair) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes everything except RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a";

    #[test]
    fn parses_every_field() {
        let uri = format!(
            "magnet:?xt=urn:btih:{}&dn=My+Show%20S01%2FE02&xl=1234&tr=udp%3A%2F%2Ft1%3A80\
             &tr=http://t2/announce?a=1&tr.1=udp%3A%2F%2Ft1%3A80&x.pe=1.2.3.4:5&x.pe=%5B::1%5D:6\
             &x.pe=host.example:7&foo=bar",
            HEX.to_uppercase()
        );
        let m = Magnet::parse(&uri).unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.name.as_deref(), Some("My Show S01/E02"));
        assert_eq!(m.length, Some(1234));
        assert_eq!(m.trackers, vec!["udp://t1:80", "http://t2/announce?a=1"]);
        let peers: Vec<SocketAddr> = vec!["1.2.3.4:5".parse().unwrap(), "[::1]:6".parse().unwrap()];
        assert_eq!(m.peers, peers);
    }

    #[test]
    fn base32_hash_and_extra_topics() {
        let m = Magnet::parse(
            "MAGNET:?xt=urn:btmh:1220abcd&xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK",
        )
        .unwrap();
        assert_eq!(m.info_hash.to_hex(), HEX);
        assert_eq!(m.name, None);
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            Magnet::parse("http://example.com/x.torrent"),
            Err(MagnetError::Scheme)
        );
        assert_eq!(Magnet::parse("magnet:"), Err(MagnetError::Scheme));
        assert_eq!(
            Magnet::parse("magnet:?dn=x&tr=udp://t"),
            Err(MagnetError::MissingXt)
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btmh:1220ab"),
            Err(MagnetError::MissingXt)
        );
        assert_eq!(
            Magnet::parse("magnet:?xt=urn:btih:1234"),
            Err(MagnetError::BadHash("1234".into()))
        );
    }

    #[test]
    fn round_trips_awkward_values() {
        let m = Magnet {
            info_hash: InfoHash::from_hex_or_base32(HEX).unwrap(),
            name: Some("a&b=c+d %25 ü/名".into()),
            length: Some(u64::MAX),
            trackers: vec!["udp://t:1/announce".into(), "http://x/a?b=c&d=e".into()],
            peers: vec![
                "[2001:db8::1]:6881".parse().unwrap(),
                "10.0.0.1:1".parse().unwrap(),
            ],
        };
        let uri = m.to_uri();
        assert!(uri.starts_with(&format!("magnet:?xt=urn:btih:{HEX}&dn=a%26b%3Dc%2Bd%20")));
        assert_eq!(Magnet::parse(&uri), Ok(m));
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode("100%+%zz%4", true), "100% %zz%4");
        assert_eq!(percent_decode("%e2%82%ac", false), "€");
    }
}
