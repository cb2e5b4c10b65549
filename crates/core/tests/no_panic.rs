//! Hostile input never panics the parsers, and valid magnet links survive a round trip.

use proptest::prelude::*;
use shoal_bencode::Owned;
use shoal_core::{Info, InfoHash, Magnet, Metainfo};

/// Torrent-shaped values with random field types, so parsing goes deep before failing.
fn torrentish() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Owned::Int),
        (-3i64..70_000).prop_map(Owned::Int),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(Owned::Bytes),
        proptest::sample::select(vec!["..", ".", "", "a", ".pad", "p", "a/b", "C:"])
            .prop_map(Owned::from),
    ];
    let keys = proptest::sample::select(vec![
        "info",
        "name",
        "piece length",
        "pieces",
        "length",
        "files",
        "path",
        "attr",
        "announce",
        "announce-list",
        "private",
        "name.utf-8",
        "path.utf-8",
    ]);
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Owned::List),
            proptest::collection::btree_map(
                keys.clone().prop_map(|k| k.as_bytes().to_vec()),
                inner,
                0..8
            )
            .prop_map(Owned::Dict),
        ]
    })
    .prop_map(|v| v.encode())
}

proptest! {
    #[test]
    fn metainfo_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Metainfo::from_bytes(&bytes);
        let _ = Info::from_bytes(&bytes);
    }

    #[test]
    fn metainfo_never_panics_on_torrent_shapes(bytes in torrentish()) {
        let _ = Info::from_bytes(&bytes);
        if let Ok(m) = Metainfo::from_bytes(&bytes) {
            prop_assert_eq!(m.info_hash, InfoHash::from_info_bytes(&m.info_bytes));
            prop_assert_eq!(m.info.pieces.len() as u32, m.info.lengths.num_pieces());
        }
    }

    #[test]
    fn magnet_never_panics(s in "\\PC*", tail in "[a-z.%=&:0-9A-F+\\[\\]]{0,60}") {
        let _ = Magnet::parse(&s);
        let _ = Magnet::parse(&format!("magnet:?{tail}"));
        let _ = Magnet::parse(&format!("magnet:?xt=urn:btih:{}&{tail}", "a".repeat(40)));
    }

    #[test]
    fn magnet_round_trips(
        hash in any::<[u8; 20]>(),
        name in proptest::option::of("\\PC{0,30}"),
        length in proptest::option::of(any::<u64>()),
        trackers in proptest::collection::vec("[ -~]{1,30}", 0..4),
        // Addresses as links carry them: no IPv6 flow info or scope id.
        peers in proptest::collection::vec(
            (any::<std::net::IpAddr>(), any::<u16>()).prop_map(|(ip, port)| std::net::SocketAddr::new(ip, port)),
            0..4,
        ),
    ) {
        let mut dedup_trackers: Vec<String> = Vec::new();
        for t in trackers {
            if !dedup_trackers.contains(&t) {
                dedup_trackers.push(t);
            }
        }
        let mut dedup_peers = Vec::new();
        for p in peers {
            if !dedup_peers.contains(&p) {
                dedup_peers.push(p);
            }
        }
        let m = Magnet { info_hash: InfoHash(hash), name, length, trackers: dedup_trackers, peers: dedup_peers };
        prop_assert_eq!(Magnet::parse(&m.to_uri()), Ok(m));
    }
}

proptest! {
    /// Any well-formed multi-file info parses, with offsets laid end to end, and every piece
    /// maps onto exactly its length of file bytes.
    #[test]
    fn valid_multi_file_layouts_parse(
        lengths in proptest::collection::vec(0i64..100_000, 1..12),
        piece_shift in 14u32..18,
    ) {
        let total: i64 = lengths.iter().sum();
        prop_assume!(total > 0);
        let piece_length = 1i64 << piece_shift;
        let num_pieces = (total as u64).div_ceil(piece_length as u64) as usize;
        let files = lengths.iter().enumerate().map(|(i, &len)| {
            Owned::dict().with("length", len).with("path", Owned::list([format!("f{i}")])).build()
        });
        let info = Owned::dict()
            .with("name", "t")
            .with("piece length", piece_length)
            .with("pieces", vec![7u8; num_pieces * 20])
            .with("files", Owned::list(files))
            .build()
            .encode();
        let info = Info::from_bytes(&info).unwrap();
        let mut offset = 0;
        for (f, &len) in info.files.iter().zip(&lengths) {
            prop_assert_eq!(f.offset, offset);
            prop_assert_eq!(f.length, len as u64);
            offset += len as u64;
        }
        for piece in info.lengths.pieces() {
            let covered: u64 = info.piece_slices(piece).map(|s| s.len).sum();
            prop_assert_eq!(covered, u64::from(info.lengths.piece_len(piece)));
        }
    }
}
