//! A tiny bencode writer for hand-made (often malformed) torrent files, kept
//! apart from shoal's own codec so the tests do not trust what they test.

/// A bencode value.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    /// Keys are written sorted, as bencode requires.
    Dict(Vec<(String, Value)>),
}

impl Value {
    pub fn str(text: &str) -> Value {
        Value::Bytes(text.as_bytes().to_vec())
    }

    pub fn dict(entries: Vec<(&str, Value)>) -> Value {
        Value::Dict(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Int(n) => out.extend_from_slice(format!("i{n}e").as_bytes()),
            Value::Bytes(bytes) => {
                out.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Value::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.write(out));
                out.push(b'e');
            }
            Value::Dict(entries) => {
                let mut sorted: Vec<&(String, Value)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'd');
                for (key, value) in sorted {
                    Value::str(key).write(out);
                    value.write(out);
                }
                out.push(b'e');
            }
        }
    }
}
