//! A small multiplicative hasher for the adapter's integer-keyed maps (instrument ids, order
//! ids): SipHash's DoS resistance buys nothing for a file read once, and it costs on the
//! per-record path.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style: rotate, xor, multiply; the finish rotates so that the bucket index (low
/// bits) depends on every input bit.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.add(u64::from(v));
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.add(v);
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_aligned_keys() {
        // Order ids that are multiples of a power of two still land in different buckets.
        let mut low_bits = std::collections::HashSet::new();
        for i in 0..1024u64 {
            let mut h = FastHasher::default();
            h.write_u64(i << 20);
            low_bits.insert(h.finish() & 1023);
        }
        assert!(low_bits.len() > 600, "{}", low_bits.len());
        let mut m: FastMap<(u32, u64), u8> = FastMap::default();
        m.insert((1, 2), 3);
        assert_eq!(m.get(&(1, 2)), Some(&3));
    }
}
