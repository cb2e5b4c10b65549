//! Encoding a [`Message`]: built as a `shoal_bencode::Owned` dictionary, whose encoder
//! sorts keys, so every message we send is canonical.

use super::*;
use crate::compact::{encode_nodes, peer_bytes};
use shoal_bencode::Owned;

pub(super) fn message(msg: &Message, out: &mut Vec<u8>) {
    let mut d = Owned::dict()
        .with("t", msg.tid.as_bytes())
        .with_opt("v", msg.version.as_deref())
        .with_opt("ip", msg.ip.as_ref().map(peer_bytes));
    if msg.read_only {
        d = d.with("ro", 1);
    }
    d = match &msg.body {
        Body::Query(q) => d
            .with("y", "q")
            .with("q", method_name(&q.method))
            .with("a", query_args(q)),
        Body::Response(r) => d.with("y", "r").with("r", response(r)),
        Body::Error(e) => d.with("y", "e").with(
            "e",
            Owned::List(vec![Owned::Int(e.code), Owned::from(e.message.as_str())]),
        ),
    };
    d.build().encode_into(out);
}

fn method_name(m: &Method) -> &[u8] {
    match m {
        Method::Ping => b"ping",
        Method::FindNode { .. } => b"find_node",
        Method::GetPeers { .. } => b"get_peers",
        Method::AnnouncePeer { .. } => b"announce_peer",
        Method::Get { .. } => b"get",
        Method::Put(_) => b"put",
        Method::Unknown(name) => name,
    }
}

/// A bencoded value we hold as bytes, back as an `Owned` to nest in the message. Our
/// values are canonical and bounded, so this re-encodes to the same bytes.
fn raw_value(bytes: &[u8]) -> Owned {
    match shoal_bencode::decode(bytes) {
        Ok(v) => v.to_owned_value(),
        // Only values that passed `canonical_value` get here; keep the bytes as a string
        // rather than panic if one ever does not.
        Err(_) => Owned::Bytes(bytes.to_vec()),
    }
}

fn query_args(q: &Query) -> Owned {
    let mut a = Owned::dict().with("id", &q.id.0[..]);
    let mut want = Vec::new();
    if q.want.v4 {
        want.push(Owned::from("n4"));
    }
    if q.want.v6 {
        want.push(Owned::from("n6"));
    }
    if !want.is_empty() {
        a = a.with("want", Owned::List(want));
    }
    match &q.method {
        Method::Ping | Method::Unknown(_) => {}
        Method::FindNode { target } => a = a.with("target", &target.0[..]),
        Method::GetPeers { info_hash } => a = a.with("info_hash", &info_hash.0[..]),
        Method::AnnouncePeer {
            info_hash,
            port,
            implied_port,
            token,
        } => {
            a = a
                .with("info_hash", &info_hash.0[..])
                .with("port", *port)
                .with("token", token.as_slice());
            if *implied_port {
                a = a.with("implied_port", 1);
            }
        }
        Method::Get { target, seq } => a = a.with("target", &target.0[..]).with_opt("seq", *seq),
        Method::Put(p) => {
            a = a
                .with("token", p.token.as_slice())
                .with("v", raw_value(&p.value));
            if let Some(m) = &p.mutable {
                a = a
                    .with("k", &m.key[..])
                    .with("seq", m.seq)
                    .with("sig", &m.sig[..])
                    .with_opt("cas", m.cas);
                if !m.salt.is_empty() {
                    a = a.with("salt", m.salt.as_slice());
                }
            }
        }
    }
    a.build()
}

fn response(r: &Response) -> Owned {
    let mut d = Owned::dict().with("id", &r.id.0[..]);
    if !r.nodes.is_empty() {
        d = d.with("nodes", encode_nodes(&r.nodes, false));
    }
    if !r.nodes6.is_empty() {
        d = d.with("nodes6", encode_nodes(&r.nodes6, true));
    }
    if !r.values.is_empty() {
        d = d.with(
            "values",
            Owned::List(
                r.values
                    .iter()
                    .map(|a| Owned::Bytes(peer_bytes(a)))
                    .collect(),
            ),
        );
    }
    d.with_opt("token", r.token.as_deref())
        .with_opt("v", r.value.as_deref().map(raw_value))
        .with_opt("k", r.key.as_ref().map(|k| &k[..]))
        .with_opt("seq", r.seq)
        .with_opt("sig", r.sig.as_ref().map(|s| &s[..]))
        .build()
}
