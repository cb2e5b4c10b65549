//! Decoding a datagram into a [`Message`]: lenient where peers differ (unknown keys,
//! extra entries, any transaction id length), strict where a wrong value would mislead us
//! (ids of 20 bytes, ports 1..=65535, ragged node strings).

use super::*;
use crate::compact::{decode_nodes, decode_peer};
use shoal_bencode::{Dict, Value};

pub(super) fn message(buf: &[u8]) -> Result<Message, DecodeError> {
    let value = shoal_bencode::decode(buf).map_err(|_| DecodeError::NotKrpc)?;
    let dict = value.as_dict().ok_or(DecodeError::NotKrpc)?;
    let tid = dict
        .get_bytes(b"t")
        .and_then(Tid::new)
        .ok_or(DecodeError::BadTid)?;
    let version = dict
        .get_bytes(b"v")
        .filter(|v| v.len() <= MAX_VERSION_LEN)
        .map(<[u8]>::to_vec);
    let read_only = dict.get_int(b"ro") == Some(1);
    let ip = dict.get_bytes(b"ip").and_then(decode_peer);
    let body = match dict.get_bytes(b"y") {
        Some(b"q") => {
            Body::Query(query(dict).map_err(|reason| DecodeError::BadQuery { tid, reason })?)
        }
        Some(b"r") => Body::Response(response(dict).map_err(DecodeError::BadReply)?),
        Some(b"e") => Body::Error(error(dict).map_err(DecodeError::BadReply)?),
        _ => return Err(DecodeError::BadType),
    };
    Ok(Message {
        tid,
        version,
        read_only,
        ip,
        body,
    })
}

fn id_of(args: &Dict<'_>, key: &[u8]) -> Result<NodeId, &'static str> {
    args.get_bytes(key)
        .and_then(NodeId::from_slice)
        .ok_or("missing or malformed 20-byte id")
}

fn query(dict: &Dict<'_>) -> Result<Query, &'static str> {
    let name = dict.get_bytes(b"q").ok_or("no method name")?;
    let args = dict.get_dict(b"a").ok_or("no arguments")?;
    let id = id_of(args, b"id")?;
    let mut want = Want::default();
    for w in args.get_list(b"want").unwrap_or(&[]).iter().take(4) {
        match w.as_bytes() {
            Some(b"n4") => want.v4 = true,
            Some(b"n6") => want.v6 = true,
            _ => {}
        }
    }
    let method = match name {
        b"ping" => Method::Ping,
        b"find_node" => Method::FindNode {
            target: id_of(args, b"target")?,
        },
        b"get_peers" => Method::GetPeers {
            info_hash: id_of(args, b"info_hash")?,
        },
        b"announce_peer" => {
            let implied_port = args.get_int(b"implied_port").is_some_and(|p| p != 0);
            let port = match args.get_int(b"port") {
                Some(p @ 1..=65535) => p as u16,
                // With implied_port the port is ignored, so a missing or zero one is fine.
                _ if implied_port => 0,
                _ => return Err("missing or invalid port"),
            };
            Method::AnnouncePeer {
                info_hash: id_of(args, b"info_hash")?,
                port,
                implied_port,
                token: token(args)?.ok_or("no token")?,
            }
        }
        b"get" => Method::Get {
            target: id_of(args, b"target")?,
            seq: args.get_int(b"seq"),
        },
        b"put" => Method::Put(put(args)?),
        other => Method::Unknown(other[..other.len().min(MAX_METHOD_LEN)].to_vec()),
    };
    Ok(Query { id, want, method })
}

fn token(args: &Dict<'_>) -> Result<Option<Vec<u8>>, &'static str> {
    match args.get(b"token") {
        None => Ok(None),
        Some(Value::Bytes(t)) if t.len() <= MAX_TOKEN_LEN => Ok(Some(t.to_vec())),
        Some(_) => Err("malformed token"),
    }
}

fn put(args: &Dict<'_>) -> Result<PutArgs, &'static str> {
    let token = token(args)?.ok_or("no token")?;
    let value = canonical_value(args.get(b"v").ok_or("no value")?)?;
    let key = args.get_bytes(b"k");
    let mutable = match key {
        None => None,
        Some(k) => {
            let key: [u8; 32] = k.try_into().map_err(|_| "key is not 32 bytes")?;
            let sig: [u8; 64] = args
                .get_bytes(b"sig")
                .and_then(|s| s.try_into().ok())
                .ok_or("missing or malformed signature")?;
            let seq = args.get_int(b"seq").ok_or("no sequence number")?;
            let salt = args.get_bytes(b"salt").unwrap_or(&[]);
            if salt.len() > MAX_SALT_LEN {
                return Err("salt too long");
            }
            Some(MutableFields {
                key,
                seq,
                sig,
                salt: salt.to_vec(),
                cas: args.get_int(b"cas"),
            })
        }
    };
    Ok(PutArgs {
        token,
        value,
        mutable,
    })
}

/// The bencoding of a BEP 44 value, refused when not canonical (a dictionary with
/// unsorted or repeated keys would hash and verify differently on different nodes) or
/// longer than [`MAX_VALUE_LEN`].
pub(crate) fn canonical_value(v: &Value<'_>) -> Result<Vec<u8>, &'static str> {
    fn dicts_canonical(v: &Value<'_>) -> bool {
        match v {
            Value::Dict(d) => {
                d.raw() == v.to_owned_value().encode().as_slice()
                    && d.iter().all(|(_, v)| dicts_canonical(v))
            }
            Value::List(items) => items.iter().all(dicts_canonical),
            _ => true,
        }
    }
    let bytes = v.to_owned_value().encode();
    if bytes.len() > MAX_VALUE_LEN {
        return Err("value too long");
    }
    if !dicts_canonical(v) {
        return Err("value is not canonical bencoding");
    }
    Ok(bytes)
}

fn response(dict: &Dict<'_>) -> Result<Response, &'static str> {
    let r = dict.get_dict(b"r").ok_or("no r dictionary")?;
    let id = id_of(r, b"id")?;
    let nodes = match r.get_bytes(b"nodes") {
        Some(b) => decode_nodes(b, false, MAX_NODES).ok_or("ragged nodes")?,
        None => Vec::new(),
    };
    let nodes6 = match r.get_bytes(b"nodes6") {
        Some(b) => decode_nodes(b, true, MAX_NODES).ok_or("ragged nodes6")?,
        None => Vec::new(),
    };
    let values = r
        .get_list(b"values")
        .unwrap_or(&[])
        .iter()
        .take(MAX_VALUES)
        .filter_map(|v| decode_peer(v.as_bytes()?))
        .filter(|a| a.port() != 0)
        .collect();
    let value = match r.get(b"v") {
        Some(v) => Some(canonical_value(v)?),
        None => None,
    };
    Ok(Response {
        id,
        nodes,
        nodes6,
        values,
        token: token(r)?,
        value,
        key: r.get_bytes(b"k").and_then(|k| k.try_into().ok()),
        seq: r.get_int(b"seq"),
        sig: r.get_bytes(b"sig").and_then(|s| s.try_into().ok()),
    })
}

fn error(dict: &Dict<'_>) -> Result<ErrorBody, &'static str> {
    let list = dict.get_list(b"e").ok_or("no e list")?;
    let code = list
        .first()
        .and_then(Value::as_int)
        .ok_or("no error code")?;
    let message = list
        .get(1)
        .and_then(Value::as_bytes)
        .map(|m| String::from_utf8_lossy(&m[..m.len().min(MAX_ERROR_MESSAGE_LEN)]).into_owned())
        .unwrap_or_default();
    Ok(ErrorBody { code, message })
}
