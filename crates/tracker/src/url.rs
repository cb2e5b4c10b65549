//! What a tracker URL names, and the percent-encoding of raw bytes into a query.
//!
//! Only the few URL forms trackers use are understood (`http://`, `https://`, `udp://`
//! with a host, an optional port and a path); anything else is [`TrackerError::BadUrl`].

use crate::TrackerError;

/// How a tracker is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP announce (BEP 3); default port 80.
    Http,
    /// HTTP over TLS; default port 443.
    Https,
    /// The UDP tracker protocol (BEP 15); the URL must name a port.
    Udp,
}

/// A parsed tracker URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerUrl {
    /// Which protocol reaches the tracker.
    pub scheme: Scheme,
    /// Host name or address literal, without the brackets of an IPv6 literal.
    pub host: String,
    /// The port, filled in from the scheme's default when the URL has none.
    pub port: u16,
    /// Path and query, starting with `/` (just `/` when the URL has none).
    pub path_and_query: String,
}

/// Longest tracker URL accepted.
const MAX_URL: usize = 2048;

impl TrackerUrl {
    /// Splits an announce URL into its parts; anything but a well-formed http, https or
    /// udp URL with a host is [`TrackerError::BadUrl`].
    pub fn parse(url: &str) -> Result<TrackerUrl, TrackerError> {
        let bad = || TrackerError::BadUrl(crate::one_line(url.as_bytes()));
        if url.len() > MAX_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "udp" => Scheme::Udp,
            _ => return Err(bad()),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        // Strip any fragment: it is never sent.
        let path = path.split('#').next().unwrap_or("/").to_string();
        if authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match (port, scheme) {
            (Some(p), _) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad)?,
            (None, Scheme::Http) => 80,
            (None, Scheme::Https) => 443,
            // UDP trackers have no default port.
            (None, Scheme::Udp) => return Err(bad()),
        };
        Ok(TrackerUrl {
            scheme,
            host: host.to_string(),
            port,
            path_and_query: path,
        })
    }

    /// `host:port` as written in an HTTP `Host` header (brackets around IPv6 literals).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
            Scheme::Udp => 0,
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Percent-encodes every byte except the RFC 3986 unreserved characters, as trackers expect
/// for the raw 20-byte `info_hash` and `peer_id`.
pub fn percent_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

/// Appends `params` to `url`'s query, keeping a query the URL already has.
pub(crate) fn with_query(url: &str, params: &str) -> String {
    let base = url.split('#').next().unwrap_or(url);
    let sep = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    format!("{base}{sep}{params}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let u = TrackerUrl::parse("http://tracker.example:6969/announce?passkey=x").unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert_eq!(u.host, "tracker.example");
        assert_eq!(u.port, 6969);
        assert_eq!(u.path_and_query, "/announce?passkey=x");
        let u = TrackerUrl::parse("udp://[::1]:1337").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.port),
            (Scheme::Udp, "::1", 1337)
        );
        assert_eq!(u.path_and_query, "/");
        assert_eq!(TrackerUrl::parse("HTTPS://t/a").unwrap().port, 443);
        assert_eq!(
            TrackerUrl::parse("http://t?x=1").unwrap().path_and_query,
            "/?x=1"
        );
        assert_eq!(
            TrackerUrl::parse("http://[::1]:80/a")
                .unwrap()
                .host_header(),
            "[::1]"
        );
        assert_eq!(
            TrackerUrl::parse("http://h:81/a").unwrap().host_header(),
            "h:81"
        );
    }

    #[test]
    fn refuses_what_is_not_a_tracker() {
        for url in [
            "ftp://x/a",
            "udp://x/announce",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://u@h/",
            "http://h/a b",
            "dht://x",
            "",
        ] {
            assert!(TrackerUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved() {
        assert_eq!(percent_encode(b"aZ0-_.~"), "aZ0-_.~");
        assert_eq!(percent_encode(&[0, 0xff, b' ', b'%']), "%00%FF%20%25");
    }

    #[test]
    fn query_is_appended() {
        assert_eq!(with_query("http://h/a", "x=1"), "http://h/a?x=1");
        assert_eq!(with_query("http://h/a?k=v", "x=1"), "http://h/a?k=v&x=1");
        assert_eq!(with_query("http://h/a?", "x=1"), "http://h/a?x=1");
        assert_eq!(
            with_query("http://h/a?k=v#frag", "x=1"),
            "http://h/a?k=v&x=1"
        );
    }
}
