//! Reading the parts of a magnet link that tests need, without shoal's parser.

/// The `x.pe` peer hints (`ADDR:PORT`), percent-decoded.
pub fn peer_hints(magnet: &str) -> Vec<String> {
    query_values(magnet, "x.pe")
}

/// The info-hash of an `xt=urn:btih:` parameter, lowercased (hex form only).
pub fn info_hash(magnet: &str) -> Option<String> {
    query_values(magnet, "xt")
        .into_iter()
        .find_map(|xt| xt.strip_prefix("urn:btih:").map(str::to_ascii_lowercase))
}

fn query_values(magnet: &str, key: &str) -> Vec<String> {
    let query = magnet.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
