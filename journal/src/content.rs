//! A journal's content hash: the CRC32C of every record, in order, folded into 64 bits
//! (`h = (h ^ crc) * 0x100000001b3`, from the FNV-1a offset basis). The CRCs cover each
//! record's header and payload and are checked as records are read, so the hash costs a
//! multiply a record. It identifies content — a changed, truncated or different journal —
//! and is not a cryptographic digest. End-of-segment markers are not records of the content
//! (they depend on the segment size) and are left out.

/// A running content hash; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentHash(u64);

impl Default for ContentHash {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl ContentHash {
    /// Folds one record's CRC.
    #[inline]
    pub fn add(&mut self, crc: u32) {
        self.0 = (self.0 ^ u64::from(crc)).wrapping_mul(0x0100_0000_01b3);
    }

    /// The hash, 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_content_change_the_hash() {
        let of = |crcs: &[u32]| {
            let mut h = ContentHash::default();
            for &c in crcs {
                h.add(c);
            }
            h.hex()
        };
        assert_eq!(of(&[1, 2, 3]), of(&[1, 2, 3]));
        assert_ne!(of(&[1, 2, 3]), of(&[1, 3, 2]));
        assert_ne!(of(&[1, 2, 3]), of(&[1, 2]));
        assert_ne!(of(&[1, 2, 3]), of(&[1, 2, 4]));
        assert_eq!(of(&[]), "cbf29ce484222325");
    }
}
