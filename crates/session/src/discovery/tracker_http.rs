//! A minimal HTTP/1.1 client for tracker requests: one GET per connection
//! (`Connection: close`), the body read by Content-Length, chunked encoding or until the
//! server closes, never more than [`MAX_RESPONSE`] bytes, and every step under a deadline.
//! `https://` runs the same exchange inside TLS ([`super::tracker_tls`]).

use super::tracker_tls;
use shoal_tracker::url::{Scheme, TrackerUrl};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Largest response (headers and body) read from a tracker.
pub(crate) const MAX_RESPONSE: usize = 1024 * 1024;
/// Largest header block.
const MAX_HEADERS: usize = 16 * 1024;

/// Why an HTTP request failed; one line each.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The tracker's host name did not resolve to an address.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name from the URL.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// No TCP connection could be made to any of the tracker's addresses.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address last tried.
        addr: String,
        /// What the operating system said.
        reason: String,
    },
    /// The whole exchange did not finish within its deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Reading or writing the connection failed midway.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The answer is not a well-formed HTTP/1.x response (what was wrong).
    #[error("not an HTTP response: {0}")]
    Malformed(&'static str),
    /// The response is longer than we are willing to read.
    #[error("response larger than {} bytes", MAX_RESPONSE)]
    TooLarge,
    /// Setting up TLS with an `https://` tracker failed (its name, certificate or handshake).
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// The tracker's host name.
        host: String,
        /// What the TLS library said.
        reason: String,
    },
}

/// An HTTP response: status code, reason phrase and body.
pub(crate) struct Response {
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
}

/// GETs `target` (path and query) from `url`'s host, all within `limit`.
pub(crate) async fn get(
    url: &TrackerUrl,
    target: &str,
    limit: Duration,
) -> Result<Response, HttpError> {
    let deadline = Instant::now() + limit;
    let timed_out = |_| HttpError::Timeout(limit);
    let addrs: Vec<_> = timeout_at(
        deadline,
        tokio::net::lookup_host((url.host.as_str(), url.port)),
    )
    .await
    .map_err(timed_out)?
    .map_err(|e| HttpError::Resolve {
        host: url.host.clone(),
        reason: e.to_string(),
    })?
    .collect();
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs.iter().take(4) {
        match timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(timed_out)?
        {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => {
                last_error = Some(HttpError::Connect {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    }
    let Some(stream) = stream else {
        return Err(last_error.unwrap_or_else(|| HttpError::Resolve {
            host: url.host.clone(),
            reason: "no address".into(),
        }));
    };
    match url.scheme {
        Scheme::Https => {
            let tls = timeout_at(deadline, tracker_tls::connect(&url.host, stream))
                .await
                .map_err(timed_out)??;
            exchange(tls, url, target, deadline, limit).await
        }
        _ => exchange(stream, url, target, deadline, limit).await,
    }
}

/// Sends the GET over `stream` (plain or TLS) and reads the response by `deadline`.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    url: &TrackerUrl,
    target: &str,
    deadline: Instant,
    limit: Duration,
) -> Result<Response, HttpError> {
    let timed_out = |_| HttpError::Timeout(limit);
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: shoal/{}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
    );
    timeout_at(deadline, stream.write_all(request.as_bytes()))
        .await
        .map_err(timed_out)??;
    let raw = read_response(&mut stream, deadline)
        .await
        .map_err(|e| match e {
            ReadError::Timeout => HttpError::Timeout(limit),
            ReadError::Http(e) => e,
        })?;
    Ok(raw)
}

enum ReadError {
    Timeout,
    Http(HttpError),
}

impl From<HttpError> for ReadError {
    fn from(e: HttpError) -> ReadError {
        ReadError::Http(e)
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> ReadError {
        ReadError::Http(HttpError::Io(e))
    }
}

/// Reads more into `buf`; false at end of stream.
async fn fill<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<bool, ReadError> {
    if buf.len() >= MAX_RESPONSE {
        return Err(HttpError::TooLarge.into());
    }
    let mut chunk = [0u8; 8192];
    let want = chunk.len().min(MAX_RESPONSE - buf.len());
    let n = match timeout_at(deadline, stream.read(&mut chunk[..want]))
        .await
        .map_err(|_| ReadError::Timeout)?
    {
        Ok(n) => n,
        // A TLS server that closes without close_notify: rustls reports the cut, but the
        // body's length was checked by Content-Length or chunking where the server gave them,
        // which is all a tracker reply needs.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
        Err(e) => return Err(e.into()),
    };
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    deadline: Instant,
) -> Result<Response, ReadError> {
    let mut buf = Vec::new();
    let header_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEADERS {
            return Err(HttpError::Malformed("headers too long").into());
        }
        if !fill(stream, &mut buf, deadline).await? {
            return Err(HttpError::Malformed(if buf.is_empty() {
                "connection closed without a response"
            } else {
                "connection closed inside the headers"
            })
            .into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("bad status line").into());
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Malformed("bad status code"))?;
    let reason: String = parts.next().unwrap_or_default().chars().take(80).collect();
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .parse()
                .map_err(|_| HttpError::Malformed("bad Content-Length"))?;
            if n > MAX_RESPONSE {
                return Err(HttpError::TooLarge.into());
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    let mut body = buf.split_off(header_end);
    let body = if chunked {
        read_chunked(stream, body, deadline).await?
    } else if let Some(n) = content_length {
        while body.len() < n {
            if !fill(stream, &mut body, deadline).await? {
                return Err(HttpError::Malformed("body shorter than Content-Length").into());
            }
        }
        body.truncate(n);
        body
    } else {
        while fill(stream, &mut body, deadline).await? {}
        body
    };
    Ok(Response {
        status,
        reason,
        body,
    })
}

/// Decodes a chunked body; `raw` holds what was already read past the headers.
async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut raw: Vec<u8>,
    deadline: Instant,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut pos = 0;
    loop {
        let line_end = loop {
            if let Some(i) = find(&raw[pos..], b"\r\n") {
                break pos + i;
            }
            if raw.len() - pos > 1024 {
                return Err(HttpError::Malformed("bad chunk header").into());
            }
            if !fill(stream, &mut raw, deadline).await? {
                return Err(HttpError::Malformed("connection closed inside a chunk").into());
            }
        };
        let size_text = String::from_utf8_lossy(&raw[pos..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        if size > MAX_RESPONSE || body.len() + size > MAX_RESPONSE {
            return Err(HttpError::TooLarge.into());
        }
        pos = line_end + 2;
        if size == 0 {
            return Ok(body);
        }
        while raw.len() < pos + size + 2 {
            if !fill(stream, &mut raw, deadline).await? {
                return Err(HttpError::Malformed("connection closed inside a chunk").into());
            }
        }
        body.extend_from_slice(&raw[pos..pos + size]);
        pos += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Serves `reply` once on a loopback port and returns the URL.
    async fn serve_once(reply: &'static [u8]) -> TrackerUrl {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 2048];
            let _ = s.read(&mut req).await;
            let _ = s.write_all(reply).await;
        });
        TrackerUrl::parse(&format!("http://127.0.0.1:{port}/announce")).unwrap()
    }

    async fn fetch(reply: &'static [u8]) -> Result<Response, HttpError> {
        let url = serve_once(reply).await;
        get(&url, "/announce?x=1", Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn content_length_chunked_and_read_to_close() {
        let r = fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
            .await
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        let r = fetch(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(r.body, b"hello");
        let r = fetch(b"HTTP/1.0 404 Not Found\r\n\r\nbody until close")
            .await
            .unwrap();
        assert_eq!((r.status, r.reason.as_str()), (404, "Not Found"));
        assert_eq!(r.body, b"body until close");
    }

    #[tokio::test]
    async fn broken_responses_are_errors() {
        assert!(matches!(
            fetch(b"garbage\r\n\r\n").await,
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(fetch(b"").await, Err(HttpError::Malformed(_))));
        assert!(matches!(
            fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n").await,
            Err(HttpError::TooLarge)
        ));
        assert!(matches!(
            fetch(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").await,
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            fetch(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").await,
            Err(HttpError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = TrackerUrl::parse(&format!("http://127.0.0.1:{port}/a")).unwrap();
        let r = get(&url, "/a", Duration::from_millis(300)).await;
        assert!(matches!(r, Err(HttpError::Timeout(_))));
        drop(listener);
    }
}
