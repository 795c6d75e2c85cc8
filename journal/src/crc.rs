//! CRC32C (Castagnoli) for records: one pass, with the SSE4.2 `crc32` instruction when the
//! CPU has it (checked once, cached by std) and the `crc32c` crate otherwise.
//!
//! Why not just the crate: it costs ~12 ns per call on an 88-byte record here (runtime
//! dispatch and setup per call), the inline loop ~6 ns; see docs/BENCHMARKS.md. Records of
//! 192 bytes or more run three interleaved chains (see `hw::tail`).
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

/// Lane length of the interleaved CRC (a multiple of 8).
const LANE_BYTES: usize = 64;

/// The reflected CRC32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// `shift(x)`: the CRC register after feeding `LANE_BYTES` zero bytes from register `x`,
/// by table: the map is linear, so four byte-indexed tables cover it.
#[inline(always)]
fn shift_lane(x: u32) -> u32 {
    let t = &SHIFT_TABLES;
    t[0][(x & 0xff) as usize]
        ^ t[1][((x >> 8) & 0xff) as usize]
        ^ t[2][((x >> 16) & 0xff) as usize]
        ^ t[3][(x >> 24) as usize]
}

/// Feed `bytes` zero bytes into register `x`, one bit at a time (table construction only).
const fn shift_zeros(mut x: u32, bytes: usize) -> u32 {
    let mut i = 0;
    while i < bytes * 8 {
        x = if x & 1 == 1 { (x >> 1) ^ POLY } else { x >> 1 };
        i += 1;
    }
    x
}

const SHIFT_TABLES: [[u32; 256]; 4] = {
    // The images of the 32 unit vectors, then every byte value by linearity.
    let mut unit = [0u32; 32];
    let mut j = 0;
    while j < 32 {
        unit[j] = shift_zeros(1 << j, LANE_BYTES);
        j += 1;
    }
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut v = 0;
        while v < 256 {
            let mut acc = 0u32;
            let mut bit = 0;
            while bit < 8 {
                if (v >> bit) & 1 == 1 {
                    acc ^= unit[k * 8 + bit];
                }
                bit += 1;
            }
            t[k][v] = acc;
            v += 1;
        }
        k += 1;
    }
    t
};

const _: () = assert!(LANE_BYTES.is_multiple_of(8));

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

    /// Finish a CRC over `bytes` from register `c`: blocks of three 64-byte lanes run as
    /// three independent `crc32` chains (the instruction's 3-cycle latency, not its 1-cycle
    /// throughput, bounds a single chain) and are combined with [`super::shift_lane`]; the
    /// rest runs as one chain. Returns the final (inverted) CRC.
    #[target_feature(enable = "sse4.2")]
    #[inline]
    unsafe fn tail(mut c: u64, mut bytes: &[u8]) -> u32 {
        const LANE: usize = super::LANE_BYTES;
        while bytes.len() >= 3 * LANE {
            let (block, rest) = bytes.split_at(3 * LANE);
            let (mut a, mut b, mut d) = (c, 0u64, 0u64);
            for i in (0..LANE).step_by(8) {
                a = _mm_crc32_u64(a, word(block, i));
                b = _mm_crc32_u64(b, word(block, LANE + i));
                d = _mm_crc32_u64(d, word(block, 2 * LANE + i));
            }
            // R(A‖B‖C) = shift(shift(R(A)) ^ R₀(B)) ^ R₀(C): the crc32 step is linear.
            let ab = super::shift_lane(a as u32) ^ b as u32;
            c = u64::from(super::shift_lane(ab) ^ d as u32);
            bytes = rest;
        }
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

    #[inline(always)]
    fn word(b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
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
        fn record_words_match_bytes(len in any::<u32>(), w in any::<[u64; 3]>(), p in prop::collection::vec(any::<u8>(), 0..1000)) {
            let mut bytes = Vec::new();
            for x in w {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            bytes.extend_from_slice(&p);
            prop_assert_eq!(crc32c_record(len, w, &p), crc32c_u32_then(len, &bytes));
        }

        #[test]
        fn matches_the_crate(seed in any::<u32>(), bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let want = crc32c::crc32c_append(crc32c::crc32c(&seed.to_le_bytes()), &bytes);
            prop_assert_eq!(crc32c_u32_then(seed, &bytes), want);
        }
    }
}
