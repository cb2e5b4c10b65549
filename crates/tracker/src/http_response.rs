//! The framing of an HTTP/1.1 response as a tracker sends it, without the socket: the
//! session reads bytes from its connection (plain or TLS) and pushes them into a
//! [`ResponseReader`], which says when the response is complete and what it holds.
//!
//! What is read: the status line, the headers (only `Content-Length` and
//! `Transfer-Encoding` matter), and a body delimited by `Content-Length`, by chunked
//! encoding, or by the server closing the connection. Every limit is decided by the bytes
//! alone, never by how they were split into reads:
//! - the headers must end within [`MAX_HEADERS`] bytes;
//! - the body as sent (chunk framing included) must end within [`MAX_RESPONSE`] bytes;
//! - a chunk-size line must end within [`MAX_CHUNK_LINE`] bytes.
//!
//! Bytes past the end of a complete response are ignored (the request asked for
//! `Connection: close`, so nothing of ours follows).

/// Largest body read from a tracker, as sent (chunk framing counts).
pub const MAX_RESPONSE: usize = 1024 * 1024;
/// Largest header block, status line and blank line included.
pub const MAX_HEADERS: usize = 16 * 1024;
/// Longest chunk-size line, extensions included, without its CRLF.
pub const MAX_CHUNK_LINE: usize = 1024;
/// Longest reason phrase kept, in characters.
const MAX_REASON: usize = 80;

/// A complete response: status code, reason phrase and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (200 for a tracker's answer; any other is an HTTP-level failure).
    pub status: u16,
    /// The reason phrase, at most 80 characters, invalid UTF-8 replaced.
    pub reason: String,
    /// The body with any chunk framing removed.
    pub body: Vec<u8>,
}

/// Why the bytes received are not a usable HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The server closed the connection before sending anything.
    #[error("connection closed without a response")]
    Empty,
    /// The server closed the connection before the blank line ending the headers.
    #[error("connection closed inside the headers")]
    ClosedInHeaders,
    /// No blank line within [`MAX_HEADERS`] bytes.
    #[error("headers longer than {MAX_HEADERS} bytes")]
    HeadersTooLong,
    /// The first line is not `HTTP/1.x <code> <reason>`.
    #[error("bad status line")]
    BadStatusLine,
    /// The status code is not a number from 0 to 65535.
    #[error("bad status code")]
    BadStatusCode,
    /// `Content-Length` is not a decimal number.
    #[error("bad Content-Length")]
    BadContentLength,
    /// The server closed the connection before `Content-Length` bytes of body.
    #[error("body shorter than Content-Length")]
    ShortBody,
    /// A chunk-size line longer than [`MAX_CHUNK_LINE`] bytes.
    #[error("chunk-size line longer than {MAX_CHUNK_LINE} bytes")]
    ChunkLineTooLong,
    /// A chunk size that is not a hexadecimal number.
    #[error("bad chunk size")]
    BadChunkSize,
    /// The server closed the connection before the last chunk.
    #[error("connection closed inside a chunk")]
    ClosedInChunk,
    /// The body needs more than [`MAX_RESPONSE`] bytes.
    #[error("response larger than {MAX_RESPONSE} bytes")]
    TooLarge,
}

/// Reads one response from the bytes of a connection, as they arrive.
///
/// Call [`ResponseReader::push`] with every read until it returns the response, and
/// [`ResponseReader::finish`] when the server closes the connection first. After either
/// returned a response or an error the reader is spent; a later call returns an error.
#[derive(Debug, Default)]
pub struct ResponseReader {
    /// Bytes received: the head, then the body as sent.
    raw: Vec<u8>,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    /// Looking for the blank line that ends the headers; `scanned` bytes of `raw` were
    /// searched already (a server may send its headers a byte at a time).
    Head { scanned: usize },
    /// Reading the body; `start` is where it begins in `raw`.
    Body {
        status: u16,
        reason: String,
        start: usize,
        framing: Framing,
    },
    /// A response or an error was returned.
    Spent,
}

impl Default for Phase {
    fn default() -> Phase {
        Phase::Head { scanned: 0 }
    }
}

#[derive(Debug)]
enum Framing {
    /// Exactly this many bytes.
    Length(usize),
    /// Chunked: `next` is where the next chunk-size line begins in `raw`, `body` what the
    /// chunks before it carried.
    Chunked { next: usize, body: Vec<u8> },
    /// Everything until the server closes.
    UntilClose,
}

impl ResponseReader {
    /// A reader expecting the first byte of a response.
    pub fn new() -> ResponseReader {
        ResponseReader::default()
    }

    /// Takes the next bytes read from the connection. `Ok(Some(_))` once the response is
    /// complete (what follows it is ignored), `Ok(None)` while more bytes are needed.
    pub fn push(&mut self, data: &[u8]) -> Result<Option<Response>, ResponseError> {
        self.raw.extend_from_slice(data);
        let result = self.advance(false);
        if !matches!(result, Ok(None)) {
            self.spend();
        }
        result
    }

    /// The server closed the connection: the response, if what came is a complete one.
    pub fn finish(&mut self) -> Result<Response, ResponseError> {
        let result = match self.advance(true) {
            Ok(Some(response)) => Ok(response),
            Ok(None) => Err(self.cut_short()),
            Err(e) => Err(e),
        };
        self.spend();
        result
    }

    fn spend(&mut self) {
        self.phase = Phase::Spent;
        self.raw = Vec::new();
    }

    /// The error for a connection closed where the reader still needed bytes.
    fn cut_short(&self) -> ResponseError {
        match &self.phase {
            Phase::Head { .. } if self.raw.is_empty() => ResponseError::Empty,
            Phase::Head { .. } => ResponseError::ClosedInHeaders,
            Phase::Body {
                framing: Framing::Length(_),
                ..
            } => ResponseError::ShortBody,
            Phase::Body {
                framing: Framing::Chunked { .. },
                ..
            } => ResponseError::ClosedInChunk,
            // `advance` completes these at the close; a spent reader has nothing.
            Phase::Body {
                framing: Framing::UntilClose,
                ..
            }
            | Phase::Spent => ResponseError::Empty,
        }
    }

    /// Moves through what has arrived: `Some` once the response is complete. `closed`: the
    /// server closed the connection after these bytes.
    fn advance(&mut self, closed: bool) -> Result<Option<Response>, ResponseError> {
        if let Phase::Head { scanned } = &mut self.phase {
            match parse_head(&self.raw, scanned)? {
                Some(body) => self.phase = body,
                None => return Ok(None),
            }
        }
        let Phase::Body {
            status,
            reason,
            start,
            framing,
        } = &mut self.phase
        else {
            // Spent: the caller already had its answer.
            return Err(ResponseError::Empty);
        };
        let sent = &self.raw[*start..];
        let body = match framing {
            Framing::Length(n) if sent.len() >= *n => sent[..*n].to_vec(),
            Framing::Length(_) => return Ok(None),
            Framing::UntilClose if sent.len() > MAX_RESPONSE => {
                return Err(ResponseError::TooLarge)
            }
            Framing::UntilClose if closed => sent.to_vec(),
            Framing::UntilClose => return Ok(None),
            Framing::Chunked { next, body } => {
                if !read_chunks(&self.raw, *start, next, body)? {
                    return Ok(None);
                }
                std::mem::take(body)
            }
        };
        Ok(Some(Response {
            status: *status,
            reason: std::mem::take(reason),
            body,
        }))
    }
}

/// The body phase once the headers are all in `raw`, `None` while they are not. `scanned`:
/// how much of `raw` an earlier call searched for the blank line.
fn parse_head(raw: &[u8], scanned: &mut usize) -> Result<Option<Phase>, ResponseError> {
    let window = &raw[..raw.len().min(MAX_HEADERS)];
    // The blank line may straddle the end of the last search.
    let from = scanned.saturating_sub(3);
    let Some(blank) = find(&window[from..], b"\r\n\r\n").map(|i| from + i) else {
        if raw.len() >= MAX_HEADERS {
            return Err(ResponseError::HeadersTooLong);
        }
        *scanned = window.len();
        return Ok(None);
    };
    let start = blank + 4;
    let head = String::from_utf8_lossy(&raw[..blank]);
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().splitn(3, ' ');
    if !parts.next().unwrap_or_default().starts_with("HTTP/1.") {
        return Err(ResponseError::BadStatusLine);
    }
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or(ResponseError::BadStatusCode)?;
    let reason = parts
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_REASON)
        .collect();
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value.parse().map_err(|_| ResponseError::BadContentLength)?;
            if n > MAX_RESPONSE {
                return Err(ResponseError::TooLarge);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    // Chunked encoding wins over a Content-Length (RFC 9112, 6.3).
    let framing = match (chunked, content_length) {
        (true, _) => Framing::Chunked {
            next: start,
            body: Vec::new(),
        },
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::UntilClose,
    };
    Ok(Some(Phase::Body {
        status,
        reason,
        start,
        framing,
    }))
}

/// Decodes the chunks complete in `raw` from `*next` on, appending their data to `body`;
/// true once the last (zero-size) chunk was read. `start` is where the body begins.
fn read_chunks(
    raw: &[u8],
    start: usize,
    next: &mut usize,
    body: &mut Vec<u8>,
) -> Result<bool, ResponseError> {
    let end_of_body = start + MAX_RESPONSE;
    loop {
        let pos = *next;
        // The line with its CRLF must fit both limits; look no further than they allow.
        let line_limit = (pos + MAX_CHUNK_LINE + 2).min(end_of_body);
        let window = &raw[pos..raw.len().min(line_limit)];
        let Some(line_len) = find(window, b"\r\n") else {
            return match raw.len() >= line_limit {
                true if line_limit == end_of_body => Err(ResponseError::TooLarge),
                true => Err(ResponseError::ChunkLineTooLong),
                false => Ok(false),
            };
        };
        let line = String::from_utf8_lossy(&window[..line_len]);
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ResponseError::BadChunkSize)?;
        let data = pos + line_len + 2;
        if size == 0 {
            // Trailers, if any, are not read: the body is complete.
            return Ok(true);
        }
        // The data and the CRLF after it.
        let chunk_end = data
            .checked_add(size)
            .and_then(|n| n.checked_add(2))
            .filter(|&n| n <= end_of_body)
            .ok_or(ResponseError::TooLarge)?;
        if raw.len() < chunk_end {
            return Ok(false);
        }
        body.extend_from_slice(&raw[data..data + size]);
        *next = chunk_end;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests;
