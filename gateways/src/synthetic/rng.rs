//! The one seam for randomness in the synthetic market: every draw comes from a ChaCha8
//! generator seeded from [`super::SyntheticConfig::seed`], one independent stream per purpose,
//! so that one purpose's draws never shift another's.
//!
//! Streams: the regime process, one per instrument's fair value, and per participant flow one
//! for its clock (arrival times) and one for its decisions. Arrival times and fair values thus
//! depend on the seed only — not on our orders, which change the books and so the decisions.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// The generator behind every stream.
pub(crate) type StreamRng = ChaCha8Rng;

/// What a stream is for; its number is part of the determinism contract (changing it changes
/// every market generated from a given seed).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The volatility regime switches.
    Regime,
    /// Instrument `i`'s fair value (index in the config).
    FairValue(usize),
    /// Flow `i`'s arrival times.
    FlowClock(usize),
    /// Flow `i`'s decisions.
    FlowDecisions(usize),
}

impl Stream {
    fn number(self) -> u64 {
        let (kind, index) = match self {
            Self::Regime => (1u64, 0usize),
            Self::FairValue(i) => (2, i),
            Self::FlowClock(i) => (3, i),
            Self::FlowDecisions(i) => (4, i),
        };
        (kind << 48) | (index as u64 & ((1 << 48) - 1))
    }
}

/// The generator for `stream` under `seed`.
pub(crate) fn stream(seed: u64, stream: Stream) -> StreamRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream.number());
    rng
}

/// A standard normal draw.
pub(crate) fn normal(rng: &mut StreamRng) -> f64 {
    StandardNormal.sample(rng)
}

/// The gap to the next arrival of a Poisson process of `rate_per_s` arrivals per second, in
/// whole nanoseconds (at least 1, at most ~292 years).
pub(crate) fn exp_gap_ns(rng: &mut StreamRng, rate_per_s: f64) -> i64 {
    let gap_s: f64 = Exp1.sample(rng);
    let ns = (gap_s / rate_per_s * 1e9).round();
    if ns.is_finite() {
        (ns as i64).max(1)
    } else {
        i64::MAX / 4
    }
}

/// A uniform draw in `[0, 1)`.
pub(crate) fn unit(rng: &mut StreamRng) -> f64 {
    rng.gen::<f64>()
}

/// A uniform draw in `0..n` (`n > 0`; 0 if `n == 0`).
pub(crate) fn below(rng: &mut StreamRng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        rng.gen_range(0..n)
    }
}

/// A uniform draw in `lo..=hi` (`lo` if `hi < lo`).
pub(crate) fn between(rng: &mut StreamRng, lo: u32, hi: u32) -> u32 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let draw = |s: Stream| {
            let mut r = stream(7, s);
            (0..4).map(|_| r.gen::<u64>()).collect::<Vec<_>>()
        };
        assert_eq!(draw(Stream::FlowClock(3)), draw(Stream::FlowClock(3)));
        assert_ne!(draw(Stream::FlowClock(3)), draw(Stream::FlowClock(4)));
        assert_ne!(draw(Stream::FlowClock(3)), draw(Stream::FlowDecisions(3)));
        assert_ne!(draw(Stream::Regime), draw(Stream::FairValue(0)));
        let mut a = stream(7, Stream::Regime);
        let mut b = stream(8, Stream::Regime);
        assert_ne!(a.gen::<u64>(), b.gen::<u64>());
    }

    #[test]
    fn exponential_gaps_have_the_right_mean() {
        let mut r = stream(1, Stream::FlowClock(0));
        let n = 20_000;
        let total: i64 = (0..n).map(|_| exp_gap_ns(&mut r, 1_000.0)).sum();
        let mean_ns = total as f64 / f64::from(n);
        assert!((mean_ns - 1e6).abs() < 3e4, "mean gap {mean_ns} ns");
        assert!(exp_gap_ns(&mut r, 1e300) >= 1);
    }
}
