//! The RC4 stream cipher, as MSE uses it: keyed with a 20-byte hash, first 1024 bytes of
//! keystream thrown away (RC4's first bytes leak key bits), then XORed over the stream.
//!
//! Written here rather than taken from a crate: it is twenty lines, and MSE needs only
//! "apply the keystream in place", not a generic cipher interface.

/// An RC4 keystream, applied in place. Encrypting and decrypting are the same operation; one
/// value serves one direction of one connection, since its position in the keystream moves
/// with every byte.
#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// A cipher keyed with `key` (1 to 256 bytes), at the start of its keystream.
    ///
    /// # Panics
    /// If `key` is empty or longer than 256 bytes (MSE keys are always 20).
    pub fn new(key: &[u8]) -> Rc4 {
        assert!(
            (1..=256).contains(&key.len()),
            "RC4 keys are 1 to 256 bytes"
        );
        let mut s = [0u8; 256];
        for (i, b) in s.iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, j as usize);
        }
        Rc4 { s, i: 0, j: 0 }
    }

    /// MSE's cipher: keyed with `key`, the first 1024 bytes of keystream discarded.
    pub fn mse(key: &[u8; 20]) -> Rc4 {
        let mut rc4 = Rc4::new(key);
        rc4.apply(&mut [0u8; 1024]);
        rc4
    }

    /// XORs the next `data.len()` bytes of keystream into `data`.
    pub fn apply(&mut self, data: &mut [u8]) {
        // Locals instead of fields: the compiler keeps them in registers across the loop.
        let (mut i, mut j) = (self.i, self.j);
        let s = &mut self.s;
        for byte in data {
            i = i.wrapping_add(1);
            let si = s[i as usize];
            j = j.wrapping_add(si);
            let sj = s[j as usize];
            s[i as usize] = sj;
            s[j as usize] = si;
            *byte ^= s[si.wrapping_add(sj) as usize];
        }
        self.i = i;
        self.j = j;
    }
}

impl std::fmt::Debug for Rc4 {
    /// Never prints the state: it is the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rc4(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::Rc4;

    fn encrypt(key: &[u8], text: &[u8]) -> Vec<u8> {
        let mut data = text.to_vec();
        Rc4::new(key).apply(&mut data);
        data
    }

    /// The three classic published vectors (they appear in most descriptions of RC4).
    #[test]
    fn known_vectors() {
        assert_eq!(
            encrypt(b"Key", b"Plaintext"),
            [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]
        );
        assert_eq!(encrypt(b"Wiki", b"pedia"), [0x10, 0x21, 0xBF, 0x04, 0x20]);
        assert_eq!(
            encrypt(b"Secret", b"Attack at dawn"),
            [0x45, 0xA0, 0x1F, 0x64, 0x5F, 0xC3, 0x5B, 0x38, 0x35, 0x52, 0x54, 0x4B, 0x9B, 0xF5]
        );
    }

    #[test]
    fn split_calls_continue_the_keystream() {
        let key = [7u8; 20];
        let mut whole = vec![0u8; 3000];
        Rc4::mse(&key).apply(&mut whole);
        let mut parts = vec![0u8; 3000];
        let mut rc4 = Rc4::mse(&key);
        for chunk in parts.chunks_mut(77) {
            rc4.apply(chunk);
        }
        assert_eq!(whole, parts);
        // Applying twice restores the text.
        Rc4::mse(&key).apply(&mut whole);
        assert!(whole.iter().all(|&b| b == 0));
    }
}
