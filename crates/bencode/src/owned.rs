//! Owned values for building messages, and the encoder (dictionary keys always sorted).

use std::collections::BTreeMap;
use std::io::Write;

/// A value that owns its bytes. Encoding is canonical: a `BTreeMap` keeps keys sorted as
/// BEP 3 requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    /// An integer, encoded `i<n>e`.
    Int(i64),
    /// A byte string (not necessarily UTF-8), encoded `<len>:<bytes>`.
    Bytes(Vec<u8>),
    /// A list of values, encoded `l...e`.
    List(Vec<Owned>),
    /// A dictionary with byte-string keys, encoded `d...e` in key order.
    Dict(BTreeMap<Vec<u8>, Owned>),
}

impl Owned {
    /// The bencoding of this value, in a new buffer.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Owned::Int(n) => {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "i{n}e");
            }
            Owned::Bytes(b) => encode_bytes(b, out),
            Owned::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Owned::Dict(map) => {
                out.push(b'd');
                for (k, v) in map {
                    encode_bytes(k, out);
                    v.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Starts a dictionary: `Owned::dict().with("a", 1).with("b", "x").build()`.
    pub fn dict() -> DictBuilder {
        DictBuilder::default()
    }

    /// A list from anything convertible: `Owned::list(["a", "b"])`.
    pub fn list<T: Into<Owned>>(items: impl IntoIterator<Item = T>) -> Owned {
        Owned::List(items.into_iter().map(Into::into).collect())
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Owned::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Owned::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The list's items, if this is a list.
    pub fn as_list(&self) -> Option<&[Owned]> {
        match self {
            Owned::List(items) => Some(items),
            _ => None,
        }
    }

    /// The dictionary's entries, if this is a dictionary.
    pub fn as_dict(&self) -> Option<&BTreeMap<Vec<u8>, Owned>> {
        match self {
            Owned::Dict(map) => Some(map),
            _ => None,
        }
    }

    /// The value under `key` when this is a dictionary.
    pub fn get(&self, key: &[u8]) -> Option<&Owned> {
        self.as_dict()?.get(key)
    }
}

fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    let _ = write!(out, "{}:", b.len());
    out.extend_from_slice(b);
}

/// Builds a dictionary one key per line; see [`Owned::dict`].
#[derive(Debug, Clone, Default)]
pub struct DictBuilder {
    map: BTreeMap<Vec<u8>, Owned>,
}

impl DictBuilder {
    /// Sets `key` (replacing an earlier value under the same key).
    pub fn with(mut self, key: impl AsRef<[u8]>, value: impl Into<Owned>) -> DictBuilder {
        self.map.insert(key.as_ref().to_vec(), value.into());
        self
    }

    /// Sets `key` only when `value` is `Some`.
    pub fn with_opt<T: Into<Owned>>(self, key: impl AsRef<[u8]>, value: Option<T>) -> DictBuilder {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// Finishes the dictionary as an [`Owned::Dict`].
    pub fn build(self) -> Owned {
        Owned::Dict(self.map)
    }
}

impl From<DictBuilder> for Owned {
    fn from(b: DictBuilder) -> Owned {
        b.build()
    }
}

impl From<i64> for Owned {
    fn from(n: i64) -> Owned {
        Owned::Int(n)
    }
}

impl From<i32> for Owned {
    fn from(n: i32) -> Owned {
        Owned::Int(n.into())
    }
}

impl From<u32> for Owned {
    fn from(n: u32) -> Owned {
        Owned::Int(n.into())
    }
}

impl From<u16> for Owned {
    fn from(n: u16) -> Owned {
        Owned::Int(n.into())
    }
}

impl From<u8> for Owned {
    fn from(n: u8) -> Owned {
        Owned::Int(n.into())
    }
}

impl From<&str> for Owned {
    fn from(s: &str) -> Owned {
        Owned::Bytes(s.as_bytes().to_vec())
    }
}

impl From<String> for Owned {
    fn from(s: String) -> Owned {
        Owned::Bytes(s.into_bytes())
    }
}

impl From<Vec<u8>> for Owned {
    fn from(b: Vec<u8>) -> Owned {
        Owned::Bytes(b)
    }
}

impl From<&[u8]> for Owned {
    fn from(b: &[u8]) -> Owned {
        Owned::Bytes(b.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Owned {
    fn from(b: &[u8; N]) -> Owned {
        Owned::Bytes(b.to_vec())
    }
}

impl From<Vec<Owned>> for Owned {
    fn from(items: Vec<Owned>) -> Owned {
        Owned::List(items)
    }
}

impl From<BTreeMap<Vec<u8>, Owned>> for Owned {
    fn from(map: BTreeMap<Vec<u8>, Owned>) -> Owned {
        Owned::Dict(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_canonically() {
        let v = Owned::dict()
            .with("zeta", 1)
            .with("alpha", Owned::list(["a", "bc"]))
            .with(b"raw", &[0u8, 255][..])
            .with_opt("missing", None::<i64>)
            .with("neg", -5i64)
            .build();
        assert_eq!(
            v.encode(),
            b"d5:alphal1:a2:bce3:negi-5e3:raw2:\x00\xff4:zetai1ee"
        );
        assert_eq!(v.get(b"zeta").and_then(Owned::as_int), Some(1));
        assert_eq!(Owned::from(i64::MIN).encode(), b"i-9223372036854775808e");
        assert_eq!(Owned::from("").encode(), b"0:");
    }

    #[test]
    fn encode_into_appends() {
        let mut out = b"prefix".to_vec();
        Owned::from(7).encode_into(&mut out);
        assert_eq!(out, b"prefixi7e");
    }
}
