//! Any bytes as what an HTTP tracker sends back, split into reads at points the first byte
//! chooses: the framing never panics, a response stays within its limits, and the outcome
//! is the same as when everything arrives in one read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_tracker::http_response::{Response, ResponseError, ResponseReader, MAX_RESPONSE};

/// Pushes `bytes` in pieces of the given sizes (cycled), then closes.
fn read(bytes: &[u8], piece_sizes: &[usize]) -> Result<Response, ResponseError> {
    let mut reader = ResponseReader::new();
    let mut rest = bytes;
    for &size in piece_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        if let Some(response) = reader.push(piece)? {
            return Ok(response);
        }
        rest = tail;
    }
    reader.finish()
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else {
        return;
    };
    let whole = read(bytes, &[usize::MAX]);
    if let Ok(response) = &whole {
        assert!(response.body.len() <= MAX_RESPONSE);
        assert!(response.reason.chars().count() <= 80);
    }
    // Piece sizes from 1 byte up, chosen by the seed's bits.
    let sizes = [
        1 + usize::from(seed & 0x3),
        1 + usize::from(seed >> 2 & 0x7) * 3,
        1 + usize::from(seed >> 5) * 17,
    ];
    assert_eq!(read(bytes, &sizes), whole);
    assert_eq!(read(bytes, &[1]), whole);
});
