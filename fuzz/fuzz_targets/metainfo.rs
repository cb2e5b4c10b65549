//! Any bytes as a .torrent or an info dictionary: a clear error or a torrent, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shoal_core::Metainfo::from_bytes(data);
    let _ = shoal_core::Info::from_bytes(data);
});
