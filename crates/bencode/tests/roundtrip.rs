//! Property tests: encoding then decoding gives the same value, and no input panics the decoder.

use proptest::prelude::*;
use shoal_bencode::{decode, decode_prefix, Owned};

fn owned() -> impl Strategy<Value = Owned> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Owned::Int),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Owned::Bytes),
    ];
    leaf.prop_recursive(6, 128, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Owned::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..12),
                inner,
                0..8
            )
            .prop_map(Owned::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(v in owned()) {
        let bytes = v.encode();
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(decoded.to_owned_value(), v);
        // Canonical input re-encodes byte for byte.
        prop_assert_eq!(decoded.to_owned_value().encode(), bytes.clone());
        if let Some(d) = decoded.as_dict() {
            prop_assert_eq!(d.raw(), &bytes[..]);
        }
    }

    #[test]
    fn prefix_leaves_trailing_bytes(v in owned(), tail in proptest::collection::vec(any::<u8>(), 0..20)) {
        let mut bytes = v.encode();
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        let (decoded, used) = decode_prefix(&bytes).unwrap();
        prop_assert_eq!(used, len);
        prop_assert_eq!(decoded.to_owned_value(), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(v) = decode(&bytes) {
            // Whatever decodes must re-decode after canonical encoding.
            prop_assert!(decode(&v.to_owned_value().encode()).is_ok());
        }
    }

    #[test]
    fn mutated_encodings_never_panic(v in owned(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = v.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = decode(&bytes);
        bytes.truncate(i);
        prop_assert!(decode(&bytes).is_err());
    }
}
