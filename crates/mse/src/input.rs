//! The bytes a handshake has received and not yet consumed.

/// Unconsumed input. Consumed bytes are dropped before new ones are appended, so it holds
/// at most what the current step still needs plus the caller's last input.
#[derive(Default)]
pub(crate) struct Input {
    buf: Vec<u8>,
    pos: usize,
}

impl Input {
    pub(crate) fn extend(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Every unconsumed byte, without consuming it.
    pub(crate) fn peek(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// The next `n` bytes, consumed, or `None` (nothing consumed) if fewer are there.
    pub(crate) fn take(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.len() < n {
            return None;
        }
        let start = self.pos;
        self.pos += n;
        Some(&mut self.buf[start..start + n])
    }

    pub(crate) fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }

    /// Everything left, consumed.
    pub(crate) fn rest(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }
}

/// Where `marker` starts in `haystack`, if it does.
pub(crate) fn find(haystack: &[u8], marker: &[u8]) -> Option<usize> {
    haystack.windows(marker.len()).position(|w| w == marker)
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
