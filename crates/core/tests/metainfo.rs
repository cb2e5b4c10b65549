//! Parsing `.torrent` files: shapes, the exact info-hash, and refusal of hostile input.

use sha1::{Digest, Sha1};
use shoal_bencode::{DictBuilder, Owned};
use shoal_core::{Info, InfoHash, Metainfo, MetainfoError};
use shoal_testkit::{content, TorrentBuilder};

const PIECE: i64 = 16384;

fn hashes(n: usize) -> Vec<u8> {
    (0..n * 20).map(|i| i as u8).collect()
}

fn file(length: i64, path: &[&str]) -> DictBuilder {
    Owned::dict()
        .with("length", length)
        .with("path", Owned::list(path.iter().copied()))
}

fn multi(files: Vec<DictBuilder>, pieces: usize) -> DictBuilder {
    Owned::dict()
        .with("name", "album")
        .with("piece length", PIECE)
        .with("pieces", hashes(pieces))
        .with("files", Owned::list(files))
}

fn torrent(info: impl Into<Owned>) -> Vec<u8> {
    Owned::dict()
        .with("announce", "http://t/a")
        .with("info", info)
        .build()
        .encode()
}

fn parse_info(info: DictBuilder) -> Result<Info, MetainfoError> {
    Info::from_bytes(&info.build().encode())
}

#[test]
fn single_file_torrent() {
    let data = content(1, PIECE as usize * 2 + 1);
    let built = TorrentBuilder::single_file("movie.mkv", data.clone())
        .piece_length(PIECE as u32)
        .private()
        .announce("http://t/a");
    let bytes = built
        .torrent_dict()
        .with("comment", "hi")
        .with("created by", "test")
        .with("creation date", 1_700_000_000)
        .build()
        .encode();
    let m = Metainfo::from_bytes(&bytes).unwrap();
    let raw_info = built.info_dict().build().encode();
    assert_eq!(&m.info_bytes[..], &raw_info[..]);
    assert_eq!(m.info_hash, InfoHash::from_info_bytes(&raw_info));
    assert_eq!(m.info.name, "movie.mkv");
    assert!(!m.info.multi_file && m.info.private);
    assert_eq!(m.info.files.len(), 1);
    assert_eq!(m.info.files[0].path, vec!["movie.mkv"]);
    assert_eq!(m.info.total_length(), 2 * 16384 + 1);
    assert_eq!(m.info.lengths.num_pieces(), 3);
    let second_piece = &data[PIECE as usize..2 * PIECE as usize];
    assert_eq!(
        m.info.pieces[1],
        <[u8; 20]>::from(Sha1::digest(second_piece))
    );
    assert_eq!(m.trackers, vec![vec!["http://t/a".to_string()]]);
    assert_eq!(m.comment.as_deref(), Some("hi"));
    assert_eq!(m.created_by.as_deref(), Some("test"));
    assert_eq!(m.creation_date, Some(1_700_000_000));
    assert_eq!(Info::from_bytes(&raw_info).unwrap(), m.info);
}

#[test]
fn multi_file_offsets_padding_and_lookup() {
    let files = vec![
        file(10_000, &["cd1", "a.flac"]),
        file(6_384, &[".pad", "6384"]).with("attr", "p"),
        Owned::dict().with("length", 0).with("attr", "p"), // BEP 47: path may be absent
        file(0, &["empty.txt"]),
        file(20_000, &["cd1", "b.flac"]),
    ];
    let info = parse_info(multi(files, 3)).unwrap();
    assert!(info.multi_file);
    let summary: Vec<(String, u64, u64, bool)> = info
        .files
        .iter()
        .map(|f| (f.path.join("/"), f.offset, f.length, f.pad))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("album/cd1/a.flac".into(), 0, 10_000, false),
            ("album/.pad/6384".into(), 10_000, 6_384, true),
            ("album/.pad/0".into(), 16_384, 0, true),
            ("album/empty.txt".into(), 16_384, 0, false),
            ("album/cd1/b.flac".into(), 16_384, 20_000, false),
        ]
    );
    assert_eq!(info.file_for_offset(0), Some(0));
    assert_eq!(info.file_for_offset(16_384), Some(4));
    assert_eq!(info.file_for_offset(36_384), None);
    let piece = info.lengths.validate_piece(0).unwrap();
    let parts: Vec<(usize, u64)> = info.piece_slices(piece).map(|s| (s.file, s.len)).collect();
    assert_eq!(parts, vec![(0, 10_000), (1, 6_384)]);
}

#[test]
fn utf8_variants_win_and_unsafe_characters_are_neutralised() {
    let info = multi(
        vec![file(5, &["x"]).with("path.utf-8", Owned::list(["ü", "a\\b"]))],
        1,
    )
    .with("name.utf-8", "Ålbum");
    let info = parse_info(info).unwrap();
    assert_eq!(info.name, "Ålbum");
    assert_eq!(info.files[0].path, vec!["Ålbum", "ü", "a_b"]);
}

#[test]
fn refuses_paths_that_escape_or_collide() {
    for bad in [&["..", "etc"][..], &["a", "."], &[""], &[]] {
        let err = parse_info(multi(vec![file(5, bad)], 1)).unwrap_err();
        assert!(
            matches!(err, MetainfoError::UnsafePath(_)),
            "{bad:?}: {err:?}"
        );
    }
    let dup = multi(vec![file(5, &["a"]), file(5, &["a."])], 1);
    assert!(matches!(parse_info(dup), Err(MetainfoError::UnsafePath(p)) if p.contains("twice")));
    let file_and_dir = multi(vec![file(5, &["a"]), file(5, &["a", "b"])], 1);
    assert!(matches!(
        parse_info(file_and_dir),
        Err(MetainfoError::UnsafePath(_))
    ));
    let bad_name = Owned::dict()
        .with("name", "..")
        .with("piece length", PIECE)
        .with("length", 1);
    let bad_name = bad_name.with("pieces", hashes(1));
    assert_eq!(
        parse_info(bad_name),
        Err(MetainfoError::UnsafePath("..".into()))
    );
}

#[test]
fn refuses_bad_shapes() {
    // A valid single-file info dictionary whose fields each case then spoils.
    let base = || {
        TorrentBuilder::single_file("n", content(2, PIECE as usize * 2))
            .piece_length(PIECE as u32)
            .info_dict()
    };
    assert!(parse_info(base()).is_ok(), "the unspoilt dictionary parses");
    assert_eq!(
        parse_info(base().with("pieces", hashes(3))),
        Err(MetainfoError::PieceCount {
            pieces: 3,
            expected: 2
        })
    );
    assert_eq!(
        parse_info(base().with("pieces", vec![0u8; 39])),
        Err(MetainfoError::Field("pieces"))
    );
    for pl in [0, -1, 64 * 1024 * 1024 + 1, i64::MAX] {
        let info = base().with("pieces", hashes(2)).with("piece length", pl);
        assert_eq!(
            parse_info(info),
            Err(MetainfoError::Field("piece length")),
            "{pl}"
        );
    }
    let negative = base().with("pieces", hashes(0)).with("length", -5);
    assert_eq!(parse_info(negative), Err(MetainfoError::Field("length")));
    let empty = base().with("pieces", hashes(0)).with("length", 0);
    assert_eq!(parse_info(empty), Err(MetainfoError::Field("length")));
    let overflow = multi(
        vec![
            file(i64::MAX, &["a"]),
            file(i64::MAX, &["b"]),
            file(2, &["c"]),
        ],
        1,
    );
    assert_eq!(parse_info(overflow), Err(MetainfoError::Shape));
    let no_files = multi(vec![], 0);
    assert_eq!(parse_info(no_files), Err(MetainfoError::Field("files")));
    let too_many_pieces = base()
        .with("length", i64::MAX)
        .with("piece length", 1)
        .with("pieces", "");
    assert_eq!(parse_info(too_many_pieces), Err(MetainfoError::Shape));
    assert!(matches!(
        Metainfo::from_bytes(b"d4:infoi1ee"),
        Err(MetainfoError::Field("info"))
    ));
    // The decoder's own error stays inside, typed, with the offset where it stopped.
    assert!(matches!(
        Metainfo::from_bytes(b"d4:info"),
        Err(MetainfoError::Bencode(shoal_bencode::Error::Eof(_)))
    ));
    assert_eq!(
        Info::from_bytes(b"de  "),
        Err(MetainfoError::Bencode(shoal_bencode::Error::Trailing(2)))
    );
}

/// Real torrents may have unsorted keys; the info-hash must cover the bytes as given.
#[test]
fn info_hash_uses_raw_bytes_not_a_reencoding() {
    let raw_info = format!(
        "d4:name1:n6:lengthi5e12:piece lengthi16384e6:pieces20:{}e",
        "x".repeat(20)
    );
    let unsorted = format!("d4:info{raw_info}8:announce3:urle\n");
    let m = Metainfo::from_bytes(unsorted.as_bytes()).unwrap();
    assert_eq!(&m.info_bytes[..], raw_info.as_bytes());
    assert_eq!(m.info_hash, InfoHash::from_info_bytes(raw_info.as_bytes()));
    let reencoded = shoal_bencode::decode(raw_info.as_bytes())
        .unwrap()
        .to_owned_value()
        .encode();
    assert_ne!(m.info_hash, InfoHash::from_info_bytes(&reencoded));
}

#[test]
fn magnet_from_metainfo() {
    let m = Metainfo::from_bytes(&torrent(multi(vec![file(5, &["a"])], 1))).unwrap();
    let magnet = m.magnet();
    assert_eq!(magnet.info_hash, m.info_hash);
    assert_eq!(magnet.name.as_deref(), Some("album"));
    assert_eq!(magnet.length, Some(5));
    assert_eq!(magnet.trackers, vec!["http://t/a"]);
}
