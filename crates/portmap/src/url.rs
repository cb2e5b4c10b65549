//! The `http://` URLs of UPnP: an SSDP reply's `LOCATION`, a description's `URLBase` and
//! `controlURL`. Only plain HTTP with a host, an optional port and a path; a reference
//! without a scheme is resolved against the URL it came from (RFC 3986 §5.2, the common
//! cases: absolute path, or relative to the base's folder).

use std::fmt;

/// Longest URL accepted, in bytes.
pub const MAX_URL: usize = 1024;

/// An `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The host as written (an IPv4 address for any device found on a LAN).
    pub host: String,
    /// The port (80 when absent).
    pub port: u16,
    /// The path and query, starting with `/`.
    pub path: String,
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not `http://` (https, other schemes).
    #[error("not an http:// URL")]
    Scheme,
    /// No host, a bad port, or characters that have no place in a URL.
    #[error("malformed URL")]
    Malformed,
    /// Longer than [`MAX_URL`].
    #[error("URL longer than {MAX_URL} bytes")]
    TooLong,
}

impl HttpUrl {
    /// Parses an absolute `http://` URL.
    pub fn parse(text: &str) -> Result<HttpUrl, UrlError> {
        let text = text.trim();
        if text.len() > MAX_URL {
            return Err(UrlError::TooLong);
        }
        if text.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UrlError::Malformed);
        }
        let rest = strip_prefix_ignore_case(text, "http://").ok_or(UrlError::Scheme)?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        let path = match path.find('#') {
            Some(i) => path[..i].to_string(),
            None => path,
        };
        if authority.contains('@') {
            return Err(UrlError::Malformed);
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.contains(']') || host.ends_with(']') => {
                let port = port.parse::<u16>().map_err(|_| UrlError::Malformed)?;
                (host, port)
            }
            _ => (authority, 80),
        };
        if !valid_host(host) || port == 0 {
            return Err(UrlError::Malformed);
        }
        HttpUrl {
            host: host.to_string(),
            port,
            path,
        }
        .within_limit()
    }

    /// The URL, if written out in full (port included) it fits [`MAX_URL`], so that it
    /// parses back to itself.
    fn within_limit(self) -> Result<HttpUrl, UrlError> {
        // "http://" + host + ":" + at most 5 digits + path.
        if 7 + self.host.len() + 6 + self.path.len() > MAX_URL {
            return Err(UrlError::TooLong);
        }
        Ok(self)
    }

    /// Resolves `reference` (absolute URL, absolute path, or relative path) against this
    /// URL.
    pub fn join(&self, reference: &str) -> Result<HttpUrl, UrlError> {
        let reference = reference.trim();
        if reference.len() > MAX_URL {
            return Err(UrlError::TooLong);
        }
        if reference.contains("://") {
            return HttpUrl::parse(reference);
        }
        if reference.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UrlError::Malformed);
        }
        let path = if reference.starts_with('/') {
            reference.to_string()
        } else {
            let dir = match self.path.split('?').next().and_then(|p| p.rfind('/')) {
                Some(i) => &self.path[..=i],
                None => "/",
            };
            format!("{dir}{reference}")
        };
        HttpUrl {
            host: self.host.clone(),
            port: self.port,
            path,
        }
        .within_limit()
    }

    /// The `Host` header's value.
    pub fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// A name or IPv4 address (letters, digits, `.`, `-`, `_`), or an IPv6 address in
/// brackets: nothing that could make the URL read back differently.
fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins() {
        let base = HttpUrl::parse("http://192.168.77.1:5000/rootDesc.xml").unwrap();
        assert_eq!(
            (base.host.as_str(), base.port, base.path.as_str()),
            ("192.168.77.1", 5000, "/rootDesc.xml")
        );
        assert_eq!(base.host_header(), "192.168.77.1:5000");
        assert_eq!(
            base.join("/ctl/IPConn").unwrap().to_string(),
            "http://192.168.77.1:5000/ctl/IPConn"
        );
        assert_eq!(base.join("ctl/IPConn").unwrap().path, "/ctl/IPConn");
        let deep = HttpUrl::parse("HTTP://10.0.0.1/igd/desc.xml").unwrap();
        assert_eq!(
            (deep.port, deep.join("ctl").unwrap().path.as_str()),
            (80, "/igd/ctl")
        );
        assert_eq!(
            base.join("http://10.0.0.1:80/x").unwrap(),
            HttpUrl {
                host: "10.0.0.1".into(),
                port: 80,
                path: "/x".into()
            }
        );
        assert_eq!(HttpUrl::parse("http://h").unwrap().path, "/");
    }

    #[test]
    fn refuses_what_is_not_plain_http() {
        assert_eq!(HttpUrl::parse("https://h/"), Err(UrlError::Scheme));
        assert_eq!(HttpUrl::parse("ftp://h/"), Err(UrlError::Scheme));
        assert_eq!(HttpUrl::parse("http:///x"), Err(UrlError::Malformed));
        assert_eq!(HttpUrl::parse("http://h:99999/"), Err(UrlError::Malformed));
        assert_eq!(HttpUrl::parse("http://h:0/"), Err(UrlError::Malformed));
        assert_eq!(HttpUrl::parse("http://u@h/"), Err(UrlError::Malformed));
        // Found by the fuzzer: a stray `]` made the host read back differently, and a URL
        // just under the limit went over it once written with its port.
        let long = format!("http://h/{}", "a".repeat(MAX_URL - 12));
        assert_eq!(HttpUrl::parse(&long), Err(UrlError::TooLong));
        assert_eq!(HttpUrl::parse("http://h/\u{e9}"), Err(UrlError::Malformed));
        assert_eq!(HttpUrl::parse("http://37]p/"), Err(UrlError::Malformed));
        assert_eq!(HttpUrl::parse("http://[::1]:8080/").unwrap().host, "[::1]");
        assert_eq!(HttpUrl::parse("http://h/a b"), Err(UrlError::Malformed));
        assert_eq!(
            HttpUrl::parse(&format!("http://h/{}", "a".repeat(2000))),
            Err(UrlError::TooLong)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_fails_cleanly(s in "\\PC{0,80}", r in "\\PC{0,40}") {
            if let Ok(u) = HttpUrl::parse(&s) {
                proptest::prop_assert_eq!(HttpUrl::parse(&u.to_string()), Ok(u.clone()));
                let _ = u.join(&r);
            }
        }
    }
}
