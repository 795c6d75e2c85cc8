//! CRC32C (Castagnoli) for records: one pass, with the SSE4.2 `crc32` instruction when the
//! CPU has it (checked once, cached by std) and the `crc32c` crate otherwise.
//!
//! Why not just the crate: it costs ~12 ns per call on an 88-byte record here (runtime
//! dispatch and setup per call), the inline loop ~6 ns; see docs/BENCHMARKS.md.
#![allow(
    unsafe_code,
    reason = "SSE4.2 intrinsics behind a runtime feature check"
)]

/// CRC32C of `seed_u32` (4 little-endian bytes) followed by `bytes`.
#[inline]
pub fn crc32c_u32_then(seed_u32: u32, bytes: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU supports SSE4.2 (checked just above).
            return unsafe { hw::crc32c_u32_then(seed_u32, bytes) };
        }
    }
    crc32c::crc32c_append(crc32c::crc32c(&seed_u32.to_le_bytes()), bytes)
}

/// CRC32C of `length` (4 bytes LE), three u64 words (8 bytes LE each) and `payload`: the
/// record CRC computed from values in registers, so the writer never reads back bytes it has
/// just stored (a narrow-store/wide-load pattern that defeats store forwarding).
#[inline]
pub fn crc32c_record(length: u32, words: [u64; 3], payload: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU supports SSE4.2 (checked just above).
            return unsafe { hw::crc32c_record(length, words, payload) };
        }
    }
    let mut c = crc32c::crc32c(&length.to_le_bytes());
    for w in words {
        c = crc32c::crc32c_append(c, &w.to_le_bytes());
    }
    crc32c::crc32c_append(c, payload)
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

    /// # Safety
    /// The CPU must support SSE4.2.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub unsafe fn crc32c_record(length: u32, words: [u64; 3], payload: &[u8]) -> u32 {
        let mut c = u64::from(_mm_crc32_u32(!0u32, length));
        for w in words {
            c = _mm_crc32_u64(c, w);
        }
        tail(c, payload)
    }

    #[target_feature(enable = "sse4.2")]
    #[inline]
    unsafe fn tail(mut c: u64, bytes: &[u8]) -> u32 {
        let chunks = bytes.chunks_exact(8);
        let rest = chunks.remainder();
        for ch in chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(ch);
            c = _mm_crc32_u64(c, u64::from_le_bytes(w));
        }
        let mut c = c as u32;
        for &b in rest {
            c = _mm_crc32_u8(c, b);
        }
        !c
    }

    /// # Safety
    /// The CPU must support SSE4.2.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    pub unsafe fn crc32c_u32_then(seed_u32: u32, bytes: &[u8]) -> u32 {
        tail(u64::from(_mm_crc32_u32(!0u32, seed_u32)), bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn check_value() {
        // crc32c("123456789") = 0xE3069283; split as a u32 seed "1234" and "56789".
        assert_eq!(
            crc32c_u32_then(u32::from_le_bytes(*b"1234"), b"56789"),
            0xE306_9283
        );
    }

    proptest! {
        #[test]
        fn record_words_match_bytes(len in any::<u32>(), w in any::<[u64; 3]>(), p in prop::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = Vec::new();
            for x in w {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            bytes.extend_from_slice(&p);
            prop_assert_eq!(crc32c_record(len, w, &p), crc32c_u32_then(len, &bytes));
        }

        #[test]
        fn matches_the_crate(seed in any::<u32>(), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let want = crc32c::crc32c_append(crc32c::crc32c(&seed.to_le_bytes()), &bytes);
            prop_assert_eq!(crc32c_u32_then(seed, &bytes), want);
        }
    }
}
