//! A minimal HTTP/1.1 client for tracker requests: one GET per connection
//! (`Connection: close`), every step under a deadline. The response's framing (status line,
//! `Content-Length` or chunked body, size limits) is read by shoal-tracker's sans-IO
//! [`ResponseReader`]; this file only moves the bytes. `https://` runs the same exchange
//! inside TLS ([`super::tracker_tls`]).

use super::tracker_tls;
use crate::dual_stack::Family;
use shoal_tracker::http_response::{Response, ResponseError, ResponseReader};
use shoal_tracker::url::{Scheme, TrackerUrl};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

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
    /// The answer is not a well-formed HTTP/1.x response, or is larger than we read.
    #[error("not an HTTP response: {0}")]
    Response(#[from] ResponseError),
    /// Setting up TLS with an `https://` tracker failed (its name, certificate or handshake).
    #[error("TLS with {host} failed: {reason}")]
    Tls {
        /// The tracker's host name.
        host: String,
        /// What the TLS library said.
        reason: String,
    },
}

/// GETs `target` (path and query) from `url`'s host, all within `limit`; with `family`,
/// only over that address family (BEP 7: one announce per family we listen on).
pub(crate) async fn get(
    url: &TrackerUrl,
    target: &str,
    limit: Duration,
    family: Option<Family>,
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
    .filter(|&addr| family.is_none_or(|f| Family::of(addr) == f))
    .collect();
    if let (Some(family), true) = (family, addrs.is_empty()) {
        return Err(HttpError::Resolve {
            host: url.host.clone(),
            reason: format!("no {} address", family.name()),
        });
    }
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
    let mut reader = ResponseReader::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(timed_out)?
        {
            Ok(n) => n,
            // A TLS server that closes without close_notify: rustls reports the cut, but the
            // body's length was checked by Content-Length or chunking where the server gave
            // them, which is all a tracker reply needs.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return Ok(reader.finish()?);
        }
        if let Some(response) = reader.push(&chunk[..n])? {
            return Ok(response);
        }
    }
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
        get(&url, "/announce?x=1", Duration::from_secs(5), None).await
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

    /// The framing's own cases are tested in shoal-tracker; these check that its verdicts
    /// reach the caller, a close included.
    #[tokio::test]
    async fn broken_responses_are_errors() {
        let cases: [(&'static [u8], ResponseError); 5] = [
            (b"garbage\r\n\r\n", ResponseError::BadStatusLine),
            (b"", ResponseError::Empty),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
                ResponseError::TooLarge,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                ResponseError::ShortBody,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ResponseError::BadChunkSize,
            ),
        ];
        for (reply, want) in cases {
            match fetch(reply).await {
                Err(HttpError::Response(got)) => assert_eq!(got, want),
                other => panic!("{reply:?}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = TrackerUrl::parse(&format!("http://127.0.0.1:{port}/a")).unwrap();
        let r = get(&url, "/a", Duration::from_millis(300), None).await;
        assert!(matches!(r, Err(HttpError::Timeout(_))));
        drop(listener);
    }
}
