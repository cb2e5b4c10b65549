//! One HTTP/1.1 exchange with a UPnP device: connect, write the whole request the
//! `shoal-portmap` crate built, read the response through shoal-tracker's sans-IO
//! [`ResponseReader`] (its framing and size limits), all by one deadline. Only IPv4
//! literal hosts: a device found on the LAN names itself by address, and no name is
//! resolved on its say-so.

use shoal_portmap::url::HttpUrl;
use shoal_tracker::http_response::{Response, ResponseReader};
use std::net::Ipv4Addr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// Sends `request` to `url`'s host and returns the response, or why not, by `deadline`.
pub(super) async fn exchange(
    url: &HttpUrl,
    request: &str,
    deadline: Instant,
) -> Result<Response, String> {
    let ip: Ipv4Addr = url
        .host
        .parse()
        .map_err(|_| format!("{url}: host is not an IPv4 address"))?;
    let late = |_| format!("{url}: no answer in time");
    let mut stream = timeout_at(deadline, TcpStream::connect((ip, url.port)))
        .await
        .map_err(late)?
        .map_err(|e| format!("{url}: cannot connect: {e}"))?;
    timeout_at(deadline, stream.write_all(request.as_bytes()))
        .await
        .map_err(late)?
        .map_err(|e| format!("{url}: {e}"))?;
    let mut reader = ResponseReader::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = timeout_at(deadline, stream.read(&mut chunk))
            .await
            .map_err(late)?
            .map_err(|e| format!("{url}: {e}"))?;
        let done = if n == 0 {
            Some(reader.finish())
        } else {
            reader.push(&chunk[..n]).transpose()
        };
        if let Some(result) = done {
            return result.map_err(|e| format!("{url}: {e}"));
        }
    }
}
