use super::*;
use proptest::prelude::*;

/// Reads `bytes` pushed in one piece, then a close.
fn read_whole(bytes: &[u8]) -> Result<Response, ResponseError> {
    read_in_pieces(bytes, &[])
}

/// Reads `bytes` pushed in pieces cut at `cuts` (offsets, any order), then a close.
fn read_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<Response, ResponseError> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut reader = ResponseReader::new();
    let mut from = 0;
    for to in cuts {
        if let Some(response) = reader.push(&bytes[from..to])? {
            return Ok(response);
        }
        from = to;
    }
    reader.finish()
}

fn ok(status: u16, reason: &str, body: &[u8]) -> Result<Response, ResponseError> {
    Ok(Response {
        status,
        reason: reason.into(),
        body: body.to_vec(),
    })
}

#[test]
fn content_length_chunked_and_read_to_close() {
    assert_eq!(
        read_whole(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA"),
        ok(200, "OK", b"hello")
    );
    assert_eq!(
        read_whole(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n"
        ),
        ok(200, "OK", b"hello")
    );
    assert_eq!(
        read_whole(b"HTTP/1.0 404 Not Found\r\n\r\nbody until close"),
        ok(404, "Not Found", b"body until close")
    );
    assert_eq!(
        read_whole(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"),
        ok(204, "No Content", b"")
    );
}

#[test]
fn a_complete_response_is_returned_without_waiting_for_the_close() {
    let mut reader = ResponseReader::new();
    assert_eq!(reader.push(b"HTTP/1.1 200 OK\r\nContent-Le"), Ok(None));
    assert_eq!(reader.push(b"ngth: 2\r\n\r\nh"), Ok(None));
    assert_eq!(reader.push(b"i"), Ok(Some(ok(200, "OK", b"hi").unwrap())));
    // The reader is spent once it answered.
    assert_eq!(reader.push(b"more"), Err(ResponseError::Empty));
}

#[test]
fn chunked_wins_over_content_length() {
    assert_eq!(
        read_whole(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n2\r\nab\r\n0\r\n"
        ),
        ok(200, "OK", b"ab")
    );
}

#[test]
fn broken_responses_are_typed_errors() {
    let cases: &[(&[u8], ResponseError)] = &[
        (b"", ResponseError::Empty),
        (
            b"HTTP/1.1 200 OK\r\nContent-",
            ResponseError::ClosedInHeaders,
        ),
        (b"garbage\r\n\r\n", ResponseError::BadStatusLine),
        (b"HTTP/2 200 OK\r\n\r\n", ResponseError::BadStatusLine),
        (b"HTTP/1.1 abc OK\r\n\r\n", ResponseError::BadStatusCode),
        (b"HTTP/1.1 70000 OK\r\n\r\n", ResponseError::BadStatusCode),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            ResponseError::BadContentLength,
        ),
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
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            ResponseError::ClosedInChunk,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            ResponseError::TooLarge,
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            read_whole(bytes),
            Err(*want),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn the_limits_hold_to_the_byte() {
    let head = b"HTTP/1.1 200 OK\r\n";
    // Headers of exactly MAX_HEADERS bytes, blank line included, are read; one more is not.
    let padded = |len: usize| {
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(b"X: ");
        bytes.resize(len - 4, b'a');
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes
    };
    assert_eq!(read_whole(&padded(MAX_HEADERS)), ok(200, "OK", b""));
    assert_eq!(
        read_whole(&padded(MAX_HEADERS + 1)),
        Err(ResponseError::HeadersTooLong)
    );

    // A body read to the close may be MAX_RESPONSE bytes, not one more.
    let until_close = |len: usize| {
        let mut bytes = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        bytes.resize(bytes.len() + len, b'b');
        bytes
    };
    assert_eq!(
        read_whole(&until_close(MAX_RESPONSE)).map(|r| r.body.len()),
        Ok(MAX_RESPONSE)
    );
    assert_eq!(
        read_whole(&until_close(MAX_RESPONSE + 1)),
        Err(ResponseError::TooLarge)
    );

    // Content-Length of exactly MAX_RESPONSE is read.
    let mut exact =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {MAX_RESPONSE}\r\n\r\n").into_bytes();
    exact.resize(exact.len() + MAX_RESPONSE, b'c');
    assert_eq!(read_whole(&exact).map(|r| r.body.len()), Ok(MAX_RESPONSE));

    // A chunked body whose framing runs past MAX_RESPONSE is too large, even though its data
    // alone would fit.
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = 64 * 1024;
    for _ in 0..MAX_RESPONSE / chunk {
        chunked.extend_from_slice(format!("{chunk:x}\r\n").as_bytes());
        chunked.resize(chunked.len() + chunk, b'd');
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(read_whole(&chunked), Err(ResponseError::TooLarge));

    // A chunk-size line of MAX_CHUNK_LINE bytes is read; one more byte is not.
    let with_line = |len: usize| {
        let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
        bytes.resize(bytes.len() + len - 2, b'e');
        bytes.extend_from_slice(b"\r\nz\r\n0\r\n");
        bytes
    };
    assert_eq!(read_whole(&with_line(MAX_CHUNK_LINE)), ok(200, "OK", b"z"));
    assert_eq!(
        read_whole(&with_line(MAX_CHUNK_LINE + 1)),
        Err(ResponseError::ChunkLineTooLong)
    );
}

#[test]
fn the_reason_phrase_is_bounded() {
    let long = format!("HTTP/1.1 500 {}\r\n\r\n", "r".repeat(500));
    assert_eq!(read_whole(long.as_bytes()).unwrap().reason.len(), 80);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read_whole(&data);
    }

    /// How the server's bytes were split into reads never changes the outcome.
    #[test]
    fn the_outcome_does_not_depend_on_the_reads(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        chunk_sizes in proptest::collection::vec(1usize..40, 0..8),
        framing in 0u8..3,
        cut_short in any::<bool>(),
        cuts in proptest::collection::vec(0usize..600, 0..12),
    ) {
        let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
        match framing {
            0 => bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()),
            1 => bytes.extend_from_slice(b"\r\n"),
            _ => bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n"),
        }
        if framing == 2 {
            let mut rest = &body[..];
            for size in chunk_sizes.iter().cycle().take(body.len()) {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
                rest = tail;
            }
            if !rest.is_empty() {
                bytes.extend_from_slice(format!("{:x}\r\n", rest.len()).as_bytes());
                bytes.extend_from_slice(rest);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        } else {
            bytes.extend_from_slice(&body);
        }
        if cut_short {
            bytes.truncate(bytes.len() - 1);
        }
        let whole = read_whole(&bytes);
        prop_assert_eq!(&read_in_pieces(&bytes, &cuts), &whole);
        if !cut_short || (framing == 1 && !body.is_empty()) {
            let mut want = body.clone();
            if cut_short {
                want.pop();
            }
            prop_assert_eq!(whole.map(|r| r.body), Ok(want));
        }
    }
}
