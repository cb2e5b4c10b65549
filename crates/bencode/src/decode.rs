//! The decoder: a recursive-descent parser over a byte slice with an explicit depth limit.

use crate::{Dict, Error, Value};

/// Deepest nesting of lists and dictionaries the decoder accepts. Real torrents and DHT
/// messages need a handful of levels; the limit keeps hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 256;

/// Decodes exactly one value that fills the whole buffer; trailing bytes are an error.
pub fn decode(buf: &[u8]) -> Result<Value<'_>, Error> {
    let (value, used) = decode_prefix(buf)?;
    if used != buf.len() {
        return Err(Error::Trailing(used));
    }
    Ok(value)
}

/// Decodes one value from the start of the buffer and returns it with the number of bytes it
/// used; whatever follows is left for the caller (ut_metadata sends piece data after the dict).
pub fn decode_prefix(buf: &[u8]) -> Result<(Value<'_>, usize), Error> {
    let mut parser = Parser { buf, pos: 0 };
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8, Error> {
        self.buf.get(self.pos).copied().ok_or(Error::Eof(self.pos))
    }

    /// Parses the value at `pos`; `depth` counts the containers already open around it.
    fn value(&mut self, depth: usize) -> Result<Value<'a>, Error> {
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => self.list(depth).map(Value::List),
            b'd' => self.dict(depth).map(Value::Dict),
            byte => Err(Error::Unexpected {
                offset: self.pos,
                byte,
            }),
        }
    }

    /// `i<digits>e` with an optional minus sign, no leading zeros and no `-0`.
    fn int(&mut self) -> Result<i64, Error> {
        let start = self.pos + 1; // after `i`
        let negative = self.buf.get(start) == Some(&b'-');
        let digits_start = start + usize::from(negative);
        let digits_end = self.skip_digits(digits_start);
        let digits = self.buf.get(digits_start..digits_end).unwrap_or_default();
        match self.buf.get(digits_end) {
            None => return Err(Error::Eof(self.buf.len())),
            Some(b'e') => {}
            Some(&byte) => {
                return Err(Error::Unexpected {
                    offset: digits_end,
                    byte,
                })
            }
        }
        let leading_zero = digits.first() == Some(&b'0') && (digits.len() > 1 || negative);
        if digits.is_empty() || leading_zero {
            return Err(Error::BadInt(start));
        }
        // Only ASCII digits and an optional `-` reach here, so the text is valid UTF-8; parsing
        // the signed text as a whole handles i64::MIN and reports overflow.
        let text = std::str::from_utf8(self.buf.get(start..digits_end).unwrap_or_default())
            .map_err(|_| Error::BadInt(start))?;
        let n = text.parse::<i64>().map_err(|_| Error::BadInt(start))?;
        self.pos = digits_end + 1;
        Ok(n)
    }

    /// `<length>:<bytes>`; the length has no sign and no leading zeros.
    fn bytes(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        let digits_end = self.skip_digits(start);
        let digits = self.buf.get(start..digits_end).unwrap_or_default();
        match self.buf.get(digits_end) {
            None => return Err(Error::Eof(self.buf.len())),
            Some(b':') => {}
            Some(&byte) => {
                return Err(Error::Unexpected {
                    offset: digits_end,
                    byte,
                })
            }
        }
        if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
            return Err(Error::BadLength(start));
        }
        let len = digits.iter().try_fold(0usize, |acc, &d| {
            acc.checked_mul(10)?.checked_add(usize::from(d - b'0'))
        });
        let len = len.ok_or(Error::BadLength(start))?;
        let data_start = digits_end + 1;
        // The claimed length is only compared, never allocated: the bytes must already exist.
        let data_end = data_start.checked_add(len).ok_or(Error::BadLength(start))?;
        let data = self
            .buf
            .get(data_start..data_end)
            .ok_or(Error::Eof(self.buf.len()))?;
        self.pos = data_end;
        Ok(data)
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Value<'a>>, Error> {
        self.enter(depth)?;
        let mut items = Vec::new();
        while self.peek()? != b'e' {
            items.push(self.value(depth + 1)?);
        }
        self.pos += 1;
        Ok(items)
    }

    fn dict(&mut self, depth: usize) -> Result<Dict<'a>, Error> {
        let start = self.pos;
        self.enter(depth)?;
        let mut entries = Vec::new();
        loop {
            match self.peek()? {
                b'e' => break,
                b'0'..=b'9' => {}
                _ => return Err(Error::KeyNotBytes(self.pos)),
            }
            let key = self.bytes()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        self.pos += 1;
        let raw = self.buf.get(start..self.pos).unwrap_or_default();
        Ok(Dict::new(entries, raw))
    }

    /// Steps over the opening `l` or `d` after checking the depth limit.
    fn enter(&mut self, depth: usize) -> Result<(), Error> {
        if depth >= MAX_DEPTH {
            return Err(Error::TooDeep(self.pos));
        }
        self.pos += 1;
        Ok(())
    }

    fn skip_digits(&self, from: usize) -> usize {
        let rest = self.buf.get(from..).unwrap_or_default();
        from + rest.iter().take_while(|b| b.is_ascii_digit()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_scalars() {
        assert_eq!(decode(b"i42e").unwrap().as_int(), Some(42));
        assert_eq!(decode(b"i-7e").unwrap().as_int(), Some(-7));
        assert_eq!(decode(b"i0e").unwrap().as_int(), Some(0));
        assert_eq!(
            decode(b"i-9223372036854775808e").unwrap().as_int(),
            Some(i64::MIN)
        );
        assert_eq!(
            decode(b"i9223372036854775807e").unwrap().as_int(),
            Some(i64::MAX)
        );
        assert_eq!(decode(b"4:spam").unwrap().as_bytes(), Some(&b"spam"[..]));
        assert_eq!(decode(b"0:").unwrap().as_bytes(), Some(&b""[..]));
    }

    #[test]
    fn rejects_bad_integers() {
        for bad in [
            &b"i03e"[..],
            b"i-0e",
            b"ie",
            b"i-e",
            b"i9223372036854775808e",
        ] {
            assert!(
                matches!(decode(bad), Err(Error::BadInt(1))),
                "{:?}",
                decode(bad)
            );
        }
        assert_eq!(
            decode(b"i--1e"),
            Err(Error::Unexpected {
                offset: 2,
                byte: b'-'
            })
        );
        assert_eq!(
            decode(b"i1x"),
            Err(Error::Unexpected {
                offset: 2,
                byte: b'x'
            })
        );
        assert_eq!(decode(b"i12"), Err(Error::Eof(3)));
    }

    #[test]
    fn rejects_bad_lengths_and_truncation() {
        assert_eq!(decode(b"03:abc"), Err(Error::BadLength(0)));
        assert_eq!(
            decode(b"-3:abc"),
            Err(Error::Unexpected {
                offset: 0,
                byte: b'-'
            })
        );
        assert_eq!(decode(b"5:abc"), Err(Error::Eof(5)));
        assert_eq!(
            decode(b"99999999999999999999999:x"),
            Err(Error::BadLength(0))
        );
        assert_eq!(decode(b"18446744073709551615:x"), Err(Error::BadLength(0)));
        assert_eq!(decode(b"4"), Err(Error::Eof(1)));
        assert_eq!(decode(b"l4:spam"), Err(Error::Eof(7)));
        assert_eq!(decode(b"d3:key"), Err(Error::Eof(6)));
        assert_eq!(decode(b""), Err(Error::Eof(0)));
    }

    #[test]
    fn rejects_non_string_keys_and_trailing_data() {
        assert_eq!(decode(b"di1ei2ee"), Err(Error::KeyNotBytes(1)));
        assert_eq!(decode(b"i1ei2e"), Err(Error::Trailing(3)));
        assert_eq!(
            decode(b"x"),
            Err(Error::Unexpected {
                offset: 0,
                byte: b'x'
            })
        );
    }

    #[test]
    fn prefix_reports_bytes_used() {
        let buf = b"d8:msg_typei1e5:piecei0ee\x01\x02\x03";
        let (value, used) = decode_prefix(buf).unwrap();
        assert_eq!(used, buf.len() - 3);
        assert_eq!(
            value.as_dict().unwrap().get(b"piece").unwrap().as_int(),
            Some(0)
        );
    }

    #[test]
    fn depth_limit_is_enforced_without_stack_overflow() {
        let nest = |n: usize| [vec![b'l'; n], vec![b'e'; n]].concat();
        assert!(decode(&nest(MAX_DEPTH)).is_ok());
        assert_eq!(decode(&nest(MAX_DEPTH + 1)), Err(Error::TooDeep(MAX_DEPTH)));
        assert!(matches!(
            decode(&vec![b'l'; 1_000_000]),
            Err(Error::TooDeep(_))
        ));
        assert!(matches!(
            decode(&b"d1:a".repeat(100_000)),
            Err(Error::TooDeep(_))
        ));
    }

    #[test]
    fn dict_keeps_raw_span_order_and_first_duplicate() {
        let buf = b"d4:infod1:bi2e1:ai1e1:ai3ee3:zzz0:e";
        let top = decode(buf).unwrap();
        let top = top.as_dict().unwrap();
        let info = top.get(b"info").unwrap().as_dict().unwrap();
        assert_eq!(info.raw(), b"d1:bi2e1:ai1e1:ai3ee");
        assert_eq!(info.get(b"a").unwrap().as_int(), Some(1));
        let keys: Vec<&[u8]> = info.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![&b"b"[..], b"a", b"a"]);
        assert_eq!(info.len(), 3);
        assert_eq!(top.raw(), &buf[..]);
    }
}
