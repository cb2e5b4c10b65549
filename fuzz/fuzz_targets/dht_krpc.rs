//! Any bytes as a KRPC message (BEP 5, 32, 42, 43, 44): a typed error or a message whose
//! lists are within the codec's caps and which encodes to canonical bytes that decode to
//! the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_dht::krpc::{Body, Message, MAX_NODES, MAX_VALUES, MAX_VALUE_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode(data) else {
        return;
    };
    if let Body::Response(r) = &msg.body {
        assert!(r.nodes.len() <= MAX_NODES && r.nodes6.len() <= MAX_NODES);
        assert!(r.values.len() <= MAX_VALUES);
        assert!(r.value.as_ref().is_none_or(|v| v.len() <= MAX_VALUE_LEN));
    }
    let bytes = msg.to_bytes();
    let again = Message::decode(&bytes).expect("what we encode decodes");
    assert_eq!(again, msg);
    assert_eq!(again.to_bytes(), bytes);
});
