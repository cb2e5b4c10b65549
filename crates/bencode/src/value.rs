//! Borrowed values produced by the decoder, with typed accessors.

use crate::Owned;

/// A decoded value borrowing from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// An integer (`i<n>e`).
    Int(i64),
    /// A byte string (`<len>:<bytes>`), a slice of the input; not necessarily UTF-8.
    Bytes(&'a [u8]),
    /// A list (`l...e`).
    List(Vec<Value<'a>>),
    /// A dictionary (`d...e`), which also remembers its exact input bytes.
    Dict(Dict<'a>),
}

/// A decoded dictionary: its entries in input order (keys may be unsorted or repeated) and
/// the exact input bytes it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dict<'a> {
    entries: Vec<(&'a [u8], Value<'a>)>,
    raw: &'a [u8],
}

impl<'a> Dict<'a> {
    pub(crate) fn new(entries: Vec<(&'a [u8], Value<'a>)>, raw: &'a [u8]) -> Dict<'a> {
        Dict { entries, raw }
    }

    /// The value of the first entry with this key.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Entries in input order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &Value<'a>)> + '_ {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// The exact input bytes of this dictionary, from its `d` to its `e`.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Number of entries, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary has no entries (`de`).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Shorthand for `get(key)` then [`Value::as_int`].
    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key)?.as_int()
    }

    /// Shorthand for `get(key)` then [`Value::as_bytes`].
    pub fn get_bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get(key)?.as_bytes()
    }

    /// Shorthand for `get(key)` then [`Value::as_str`].
    pub fn get_str(&self, key: &[u8]) -> Option<&'a str> {
        self.get(key)?.as_str()
    }

    /// Shorthand for `get(key)` then [`Value::as_list`].
    pub fn get_list(&self, key: &[u8]) -> Option<&[Value<'a>]> {
        self.get(key)?.as_list()
    }

    /// Shorthand for `get(key)` then [`Value::as_dict`].
    pub fn get_dict(&self, key: &[u8]) -> Option<&Dict<'a>> {
        self.get(key)?.as_dict()
    }
}

impl<'a> Value<'a> {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The byte string when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.as_bytes()?).ok()
    }

    /// The list's items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Copies the value out of the input buffer. Of repeated dictionary keys the first wins,
    /// matching [`Dict::get`]; the result re-encodes with sorted keys.
    pub fn to_owned_value(&self) -> Owned {
        match self {
            Value::Int(n) => Owned::Int(*n),
            Value::Bytes(b) => Owned::Bytes(b.to_vec()),
            Value::List(items) => Owned::List(items.iter().map(Value::to_owned_value).collect()),
            Value::Dict(d) => {
                let mut map = std::collections::BTreeMap::new();
                for (k, v) in d.iter() {
                    map.entry(k.to_vec()).or_insert_with(|| v.to_owned_value());
                }
                Owned::Dict(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::decode;

    #[test]
    fn accessors_match_only_their_type() {
        let v = decode(b"l4:spami3ed1:k1:vee").unwrap();
        let items = v.as_list().unwrap();
        assert_eq!(items[0].as_str(), Some("spam"));
        assert_eq!(items[0].as_int(), None);
        assert_eq!(items[1].as_int(), Some(3));
        assert_eq!(items[1].as_bytes(), None);
        assert_eq!(items[2].as_dict().unwrap().get_str(b"k"), Some("v"));
        assert!(v.as_dict().is_none());
        assert_eq!(decode(b"2:\xff\xfe").unwrap().as_str(), None);
    }

    #[test]
    fn to_owned_keeps_first_duplicate_and_sorts() {
        let v = decode(b"d1:bi2e1:ai1e1:ai3ee").unwrap();
        assert_eq!(v.to_owned_value().encode(), b"d1:ai1e1:bi2ee");
    }
}
