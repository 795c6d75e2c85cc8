//! The incremental feature engine.

use super::{FeatureConfig, FeatureConfigError, Features};
use crate::book::{BookView, Level};
use crate::event::{Aggressor, Side};

/// `10^i` as `f64` for every valid scale (`0..=18`, [`crate::Scale::MAX`]); each is exact.
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
const _: () = assert!(POW10.len() == crate::Scale::MAX as usize + 1);

/// One raw unit of `scale` decimal places, or `None` for a scale out of range.
#[inline]
fn unit(scale: u8) -> Option<f64> {
    POW10.get(usize::from(scale)).copied()
}

/// The weight left on the past after `dt_ns` of event time: `2^(-dt / half_life)`, in
/// `[0, 1]`. One half-life leaves exactly `0.5`.
#[inline]
fn decay(dt_ns: i64, half_life_ns: f64) -> f64 {
    debug_assert!(half_life_ns > 0.0 && half_life_ns.is_finite());
    (-(dt_ns.max(0) as f64) / half_life_ns).exp2()
}

/// `num / den` if that is a finite number; `None` for an empty (or non-finite) denominator.
#[inline]
fn ratio(num: f64, den: f64) -> Option<f64> {
    if den > 0.0 && den.is_finite() {
        Some(num / den).filter(|r| r.is_finite())
    } else {
        None
    }
}

/// `x as f64`. An `i128` conversion is a library call (`__floattidf`) on x86-64; when `x`
/// fits an `i64` the `i64` conversion (one instruction) gives the same value: both round
/// the same integer to the nearest `f64`, ties to even.
#[inline]
fn i128_to_f64(x: i128) -> f64 {
    match i64::try_from(x) {
        Ok(v) => v as f64,
        Err(_) => x as f64,
    }
}

/// A level a book may legitimately hold: positive price and quantity.
#[inline]
fn valid(level: Level) -> bool {
    level.px > 0 && level.qty > 0
}

/// Bad input the engine saw and survived. Counters only grow ([`FeatureEngine::reset`] keeps
/// them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureAnomalies {
    /// A timestamp earlier than one already seen. The engine's clock stays where it was
    /// (elapsed time counts as 0).
    pub time_backwards: u64,
    /// A book whose best bid was at or above its best ask (no book features until it
    /// uncrosses).
    pub crossed_book: u64,
    /// A book level with a price or quantity ≤ 0 (at the best level: no book features;
    /// deeper: the N-level imbalance stops there).
    pub invalid_level: u64,
    /// A trade with a price or quantity ≤ 0 (ignored).
    pub invalid_trade: u64,
    /// A price or quantity scale above [`crate::Scale::MAX`] (the update is ignored).
    pub invalid_scale: u64,
}

impl FeatureAnomalies {
    /// All anomalies together.
    pub fn total(&self) -> u64 {
        self.time_backwards
            + self.crossed_book
            + self.invalid_level
            + self.invalid_trade
            + self.invalid_scale
    }
}

/// What the engine remembers between events. Plain values, no heap.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct State {
    /// The engine's clock: the latest timestamp seen (never moves back).
    now_ns: Option<i64>,
    /// The mid the last return was measured to, and when (price units, ns).
    ref_mid: Option<(f64, i64)>,
    /// EWMA of log returns and of squared log returns; `has_returns` once one was measured.
    ret_ewma: f64,
    vol_ewma: f64,
    has_returns: bool,
    /// Decayed (buy − sell) and (buy + sell) aggressor volume, as of `flow_ns`.
    flow_signed: f64,
    flow_total: f64,
    flow_ns: i64,
    /// (Decayed) Σ price·qty and Σ qty, as of `vwap_ns`.
    vwap_pv: f64,
    vwap_qty: f64,
    vwap_ns: i64,
    /// Time of the last valid trade.
    last_trade_ns: Option<i64>,
}

/// Incremental features of one instrument (see the [module docs](super)).
///
/// # Time
///
/// Every call takes the event's time in nanoseconds. Callers pass the **exchange timestamp**
/// ([`crate::EventHeader::exchange_ts_ns`]): it is the market's own clock, so the decay between
/// two events measures market time and is the same live, in replay and in a backtest whatever
/// our network and host latency were; the receive timestamp would leak that jitter into the
/// features. (A feed without exchange times may pass the receive timestamp instead; it must
/// then do so consistently.) The engine keeps the latest time seen as its clock: a timestamp
/// earlier than that is counted in [`FeatureAnomalies::time_backwards`] and treated as "no
/// time elapsed", so elapsed times are never negative.
///
/// # Cost
///
/// Every update is O(1) — O(N) in the configured `imbalance_levels` for the N-level
/// imbalance, N ≤ [`super::MAX_IMBALANCE_LEVELS`] — and never allocates: the state is a few
/// fixed-size values.
///
/// # Event-time averages
///
/// - Returns: on each book update with a defined mid, `r = ln(mid / mid_ref)`, where
///   `mid_ref` is the mid of the last return update `dt > 0` ns ago, and each EWMA moves by
///   `alpha = 1 − 2^(−dt / half_life)`: `ewma += alpha · (x − ewma)` with `x = r` (returns)
///   or `r²` (volatility). Updates at the same time as the reference (`dt = 0`) change
///   nothing and leave the reference in place, so their move is folded into the next update
///   with `dt > 0`: no price move is lost and bursts at one timestamp do not count many
///   times. An unchanged mid after `dt` contributes a zero return.
/// - Trade flow and decayed VWAP: decayed sums, each trade weighted 1 when it happens and
///   `2^(−age / half_life)` later. Sums (not `alpha`-weighted means) so that several trades
///   at one timestamp each count in full.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FeatureEngine {
    cfg: FeatureConfig,
    state: State,
    values: Features,
    anomalies: FeatureAnomalies,
    /// What the book features in `values` were last computed from, with the mid; `None`
    /// when they were cleared or restored. Not state: a cache, rebuilt by the next book
    /// update, so a snapshot leaves it out.
    #[serde(skip)]
    book_inputs: Option<(BookInputs, f64)>,
}

/// Everything the book features are a function of: best levels, the quantity sums of the
/// imbalance levels and the price unit. Equal inputs give bit-identical features, so a
/// book change behind the levels the features read (most updates of a deep L2 feed)
/// skips their arithmetic (divisions, mostly).
#[derive(Debug, Clone, Copy, PartialEq)]
struct BookInputs {
    bid: Level,
    ask: Level,
    depth: Option<[i128; 2]>,
    unit_bits: u64,
}

impl FeatureEngine {
    /// An engine with no history, or the config's first invalid field.
    pub fn new(cfg: FeatureConfig) -> Result<Self, FeatureConfigError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            state: State::default(),
            values: Features::EMPTY,
            anomalies: FeatureAnomalies::default(),
            book_inputs: None,
        })
    }

    /// The current values.
    pub fn values(&self) -> &Features {
        &self.values
    }

    /// The config the engine runs with.
    pub fn config(&self) -> &FeatureConfig {
        &self.cfg
    }

    /// Bad input seen so far.
    pub fn anomalies(&self) -> FeatureAnomalies {
        self.anomalies
    }

    /// Takes the history, values and anomaly counts of `saved` (a snapshot of an engine),
    /// keeping this engine's config.
    pub fn restore_from(&mut self, saved: FeatureEngine) {
        let FeatureEngine {
            cfg: _,
            state,
            values,
            anomalies,
            book_inputs: _,
        } = saved;
        self.state = state;
        self.values = values;
        self.anomalies = anomalies;
        self.book_inputs = None;
    }

    /// Forget all history and values (e.g. at a session start: the session VWAP restarts).
    /// Anomaly counts are kept.
    pub fn reset(&mut self) {
        self.state = State::default();
        self.values = Features::EMPTY;
        self.book_inputs = None;
    }

    /// After each change of `book`, at event time `ts_ns` (see [Time](Self#time)); book
    /// prices are raw ticks of `price_scale`. Updates the book features and the return and
    /// volatility EWMAs.
    pub fn on_book(&mut self, ts_ns: i64, book: &impl BookView, price_scale: u8) {
        let now = self.advance(ts_ns);
        self.refresh_trade_age(now);
        match unit(price_scale) {
            Some(unit) => self.update_book(now, book, unit),
            None => {
                self.anomalies.invalid_scale += 1;
                self.clear_book_values();
            }
        }
    }

    /// After each trade, at event time `ts_ns`: raw price and quantity of the given scales.
    /// A trade with a price or quantity ≤ 0 is counted and ignored. Updates trade-flow
    /// imbalance, VWAP and the time since the last trade.
    pub fn on_trade(
        &mut self,
        ts_ns: i64,
        price_raw: i64,
        qty_raw: i64,
        aggressor: Aggressor,
        price_scale: u8,
        qty_scale: u8,
    ) {
        let now = self.advance(ts_ns);
        let (Some(price_unit), Some(qty_unit)) = (unit(price_scale), unit(qty_scale)) else {
            self.anomalies.invalid_scale += 1;
            self.refresh_trade_age(now);
            return;
        };
        if price_raw <= 0 || qty_raw <= 0 {
            self.anomalies.invalid_trade += 1;
            self.refresh_trade_age(now);
            return;
        }
        let px = price_raw as f64 / price_unit;
        let qty = qty_raw as f64 / qty_unit;
        self.state.last_trade_ns = Some(now);
        self.refresh_trade_age(now);

        let on = self.cfg.enabled;
        if on.trade_flow_imbalance {
            let sign = match aggressor {
                Aggressor::Buy => Some(1.0),
                Aggressor::Sell => Some(-1.0),
                Aggressor::Unknown => None,
            };
            if let Some(sign) = sign {
                let s = &mut self.state;
                let d = decay(
                    now.saturating_sub(s.flow_ns),
                    self.cfg.trade_flow_half_life_ns,
                );
                s.flow_signed = s.flow_signed * d + sign * qty;
                s.flow_total = s.flow_total * d + qty;
                s.flow_ns = now;
                self.values.trade_flow_imbalance =
                    ratio(s.flow_signed, s.flow_total).map(|x| x.clamp(-1.0, 1.0));
            }
        }
        if on.vwap {
            let s = &mut self.state;
            let d = match self.cfg.vwap_half_life_ns {
                Some(half_life) => decay(now.saturating_sub(s.vwap_ns), half_life),
                None => 1.0,
            };
            s.vwap_pv = s.vwap_pv * d + px * qty;
            s.vwap_qty = s.vwap_qty * d + qty;
            s.vwap_ns = now;
            self.values.vwap = ratio(s.vwap_pv, s.vwap_qty);
        }
    }

    /// At an event that is neither a book change nor a trade (e.g. a timer), to advance the
    /// time since the last trade.
    pub fn on_time(&mut self, ts_ns: i64) {
        let now = self.advance(ts_ns);
        self.refresh_trade_age(now);
    }

    /// Move the clock to `ts_ns` unless that is backwards; the clock after.
    fn advance(&mut self, ts_ns: i64) -> i64 {
        let now = match self.state.now_ns {
            Some(now) if ts_ns < now => {
                self.anomalies.time_backwards += 1;
                now
            }
            _ => ts_ns,
        };
        self.state.now_ns = Some(now);
        now
    }

    fn refresh_trade_age(&mut self, now: i64) {
        if self.cfg.enabled.ns_since_last_trade {
            self.values.ns_since_last_trade = self
                .state
                .last_trade_ns
                .map(|t| u64::try_from(now.saturating_sub(t)).unwrap_or(0));
        }
    }

    fn clear_book_values(&mut self) {
        self.book_inputs = None;
        let v = &mut self.values;
        v.mid = None;
        v.spread = None;
        v.microprice = None;
        v.top_imbalance = None;
        v.depth_imbalance = None;
    }

    fn update_book(&mut self, now: i64, book: &impl BookView, unit: f64) {
        let (bid, ask) = match (book.best_bid(), book.best_ask()) {
            (Some(bid), Some(ask)) => (bid, ask),
            // Empty or one-sided: nothing is defined (not an anomaly: books start empty).
            _ => return self.clear_book_values(),
        };
        if !valid(bid) || !valid(ask) {
            self.anomalies.invalid_level += 1;
            return self.clear_book_values();
        }
        if bid.px >= ask.px {
            self.anomalies.crossed_book += 1;
            return self.clear_book_values();
        }
        let on = self.cfg.enabled;
        let depth = if on.depth_imbalance {
            Some(self.depth_sums(book))
        } else {
            None
        };
        let inputs = BookInputs {
            bid,
            ask,
            depth,
            unit_bits: unit.to_bits(),
        };
        let mid = match self.book_inputs {
            Some((last, mid)) if last == inputs => mid,
            _ => {
                let mid = self.compute_book_values(bid, ask, depth, unit);
                self.book_inputs = Some((inputs, mid));
                mid
            }
        };
        if on.ret_ewma || on.vol_ewma {
            self.update_returns(now, mid);
        }
    }

    /// Sets the book features from the best levels (valid, not crossed) and the imbalance
    /// levels' quantity sums; returns the mid.
    fn compute_book_values(
        &mut self,
        bid: Level,
        ask: Level,
        depth: Option<[i128; 2]>,
        unit: f64,
    ) -> f64 {
        let on = self.cfg.enabled;
        // Both prices are positive, so the sum fits an i128 and the difference an i64: the
        // integer arithmetic is exact and each value is rounded once, when converted.
        let mid = i128_to_f64(i128::from(bid.px) + i128::from(ask.px)) / (2.0 * unit);
        let spread = (ask.px - bid.px) as f64 / unit;
        let (bid_qty, ask_qty) = (i128::from(bid.qty), i128::from(ask.qty));
        let top_qty = i128_to_f64(bid_qty + ask_qty);
        // ≤ 64 levels of < 2^63 each: no overflow in i128.
        let depth_imbalance = depth.and_then(|[bids, asks]| {
            ratio(i128_to_f64(bids - asks), i128_to_f64(bids + asks)).map(|x| x.clamp(-1.0, 1.0))
        });
        let v = &mut self.values;
        v.mid = on.mid.then_some(mid);
        v.spread = on.spread.then_some(spread);
        v.microprice = on.microprice.then(|| {
            // (bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty), written as bid plus a
            // fraction of the spread so nothing large is multiplied.
            let (bid_px, ask_px) = (bid.px as f64 / unit, ask.px as f64 / unit);
            (bid_px + spread * (bid.qty as f64 / top_qty)).clamp(bid_px, ask_px)
        });
        v.top_imbalance = on
            .top_imbalance
            .then(|| (i128_to_f64(bid_qty - ask_qty) / top_qty).clamp(-1.0, 1.0));
        v.depth_imbalance = depth_imbalance;
        mid
    }

    /// The quantities of the best `imbalance_levels` levels of each side, `[bids, asks]`;
    /// a side walks until its first missing or invalid level (an invalid one is counted).
    /// The best levels are valid (checked by the caller), so the total is positive.
    fn depth_sums(&mut self, book: &impl BookView) -> [i128; 2] {
        let mut sum = [0i128; 2];
        for (side, total) in [Side::Buy, Side::Sell].into_iter().zip(&mut sum) {
            for i in 0..self.cfg.imbalance_levels {
                match book.depth(side, i) {
                    Some(level) if valid(level) => *total += i128::from(level.qty),
                    Some(_) => {
                        self.anomalies.invalid_level += 1;
                        break;
                    }
                    None => break,
                }
            }
        }
        sum
    }

    fn update_returns(&mut self, now: i64, mid: f64) {
        let s = &mut self.state;
        match s.ref_mid {
            None => s.ref_mid = Some((mid, now)),
            Some((ref_mid, ref_ns)) => {
                let dt = now.saturating_sub(ref_ns);
                if dt <= 0 {
                    // Same time as the reference: folded into the next update (see the
                    // type's docs).
                    return;
                }
                // Both mids are positive and finite; a ratio that over- or underflows (a
                // corrupt feed) is skipped rather than poisoning the averages.
                let r = (mid / ref_mid).ln();
                if r.is_finite() {
                    let a_ret = 1.0 - decay(dt, self.cfg.return_half_life_ns);
                    let a_vol = 1.0 - decay(dt, self.cfg.vol_half_life_ns);
                    s.ret_ewma += a_ret * (r - s.ret_ewma);
                    s.vol_ewma += a_vol * (r * r - s.vol_ewma);
                    s.has_returns = true;
                }
                s.ref_mid = Some((mid, now));
            }
        }
        let on = self.cfg.enabled;
        if s.has_returns {
            self.values.ret_ewma = on.ret_ewma.then_some(s.ret_ewma);
            self.values.vol_ewma = on.vol_ewma.then_some(s.vol_ewma);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::L2Book;
    use crate::event::LevelAction;
    use crate::features::{FeatureKind, FeatureSet};
    use proptest::prelude::*;

    type Book = L2Book<16>;

    fn book(bids: &[(i64, i64)], asks: &[(i64, i64)]) -> Book {
        let mut b = Book::new();
        for &(px, qty) in bids {
            b.apply(Side::Buy, LevelAction::Upsert, px, qty);
        }
        for &(px, qty) in asks {
            b.apply(Side::Sell, LevelAction::Upsert, px, qty);
        }
        b
    }

    fn engine(cfg: FeatureConfig) -> FeatureEngine {
        FeatureEngine::new(cfg).unwrap()
    }

    fn with_levels(n: usize) -> FeatureEngine {
        engine(FeatureConfig {
            imbalance_levels: n,
            ..Default::default()
        })
    }

    /// Bids 100.00 × 300 and 99.50 × 100; asks 100.50 × 100 and 101.00 × 500 (scale 2).
    fn two_level_book() -> Book {
        book(
            &[(10_000, 300), (9_950, 100)],
            &[(10_050, 100), (10_100, 500)],
        )
    }

    #[test]
    fn book_features_on_a_hand_computed_book() {
        let b = two_level_book();
        let mut e = with_levels(2);
        e.on_book(1_000, &b, 2);
        let v = *e.values();
        assert_eq!(v.mid, Some(100.25));
        assert_eq!(v.spread, Some(0.5));
        // (100.00·100 + 100.50·300) / 400 = 40150 / 400
        assert_eq!(v.microprice, Some(100.375));
        assert_eq!(v.top_imbalance, Some(0.5)); // (300 − 100) / 400
        assert_eq!(v.depth_imbalance, Some(-0.2)); // (400 − 600) / 1000
        assert_eq!(v.ret_ewma, None, "one mid is no return yet");
        assert_eq!(v.vol_ewma, None);
        assert_eq!(v.vwap, None);
        assert_eq!(v.trade_flow_imbalance, None);
        assert_eq!(v.ns_since_last_trade, None);
        assert_eq!(e.anomalies().total(), 0);

        // N = 1 is the top imbalance; N beyond the book's depth uses what there is.
        let mut e1 = with_levels(1);
        e1.on_book(0, &b, 2);
        assert_eq!(e1.values().depth_imbalance, Some(0.5));
        let mut e64 = with_levels(64);
        e64.on_book(0, &b, 2);
        assert_eq!(e64.values().depth_imbalance, Some(-0.2));

        // Scale 0: the same raw book in whole units.
        let mut e0 = with_levels(2);
        e0.on_book(0, &b, 0);
        assert_eq!(e0.values().mid, Some(10_025.0));
        assert_eq!(e0.values().spread, Some(50.0));
    }

    #[test]
    fn one_sided_crossed_and_invalid_books_have_no_book_features() {
        let mut e = with_levels(5);
        e.on_book(0, &Book::new(), 2);
        assert_eq!(*e.values(), Features::EMPTY);
        e.on_book(1, &book(&[(100, 1)], &[]), 2);
        assert_eq!(e.values().mid, None);
        e.on_book(2, &book(&[], &[(100, 1)]), 2);
        assert_eq!(e.values().top_imbalance, None);
        assert_eq!(
            e.anomalies().total(),
            0,
            "an empty or one-sided book is no anomaly"
        );

        e.on_book(3, &two_level_book(), 2);
        assert!(e.values().mid.is_some());
        // Crossed, then locked: counted, and every book value goes.
        let crossed = book(&[(101, 1)], &[(100, 1)]);
        e.on_book(4, &crossed, 2);
        assert!(crossed.is_crossed());
        let v = *e.values();
        assert_eq!(
            (
                v.mid,
                v.spread,
                v.microprice,
                v.top_imbalance,
                v.depth_imbalance
            ),
            (None, None, None, None, None)
        );
        e.on_book(5, &book(&[(100, 1)], &[(100, 1)]), 2);
        assert_eq!(e.values().mid, None);
        assert_eq!(e.anomalies().crossed_book, 2);
        // Uncrossed again: back.
        e.on_book(6, &two_level_book(), 2);
        assert_eq!(e.values().mid, Some(100.25));

        // A scale out of range is ignored and counted.
        e.on_book(7, &two_level_book(), 19);
        assert_eq!(e.values().mid, None);
        assert_eq!(e.anomalies().invalid_scale, 1);
    }

    /// A view that serves whatever levels it is given, including the zero and negative
    /// quantities an `L2Book` never holds.
    struct RawView {
        bids: [Option<Level>; 2],
        asks: [Option<Level>; 2],
    }

    impl BookView for RawView {
        fn depth(&self, side: Side, i: usize) -> Option<Level> {
            let levels = match side {
                Side::Buy => &self.bids,
                Side::Sell => &self.asks,
            };
            levels.get(i).copied().flatten()
        }
    }

    #[test]
    fn zero_and_negative_levels_are_counted() {
        let lv = |px, qty| Some(Level { px, qty });
        let mut e = with_levels(2);
        let zero_top = RawView {
            bids: [lv(100, 0), lv(99, 5)],
            asks: [lv(101, 5), None],
        };
        e.on_book(0, &zero_top, 0);
        assert_eq!(e.values().mid, None);
        assert_eq!(e.anomalies().invalid_level, 1);
        // A bad deeper level stops the walk on that side.
        let bad_deep = RawView {
            bids: [lv(100, 1), lv(99, -5)],
            asks: [lv(101, 1), lv(102, 2)],
        };
        e.on_book(1, &bad_deep, 0);
        assert_eq!(e.values().mid, Some(100.5));
        assert_eq!(e.values().depth_imbalance, Some(-0.5)); // (1 − 3) / 4
        assert_eq!(e.anomalies().invalid_level, 2);
    }

    #[test]
    fn trades_give_vwap_flow_and_age() {
        let cfg = FeatureConfig {
            trade_flow_half_life_ns: 1_000.0,
            ..Default::default()
        };
        let mut e = engine(cfg);
        // Session VWAP: (100·2 + 101·2 + 102·4) / 8 = 810 / 8.
        e.on_trade(0, 10_000, 2, Aggressor::Buy, 2, 0);
        assert_eq!(e.values().vwap, Some(100.0));
        assert_eq!(e.values().trade_flow_imbalance, Some(1.0));
        assert_eq!(e.values().ns_since_last_trade, Some(0));
        // One half-life later: buy 2 decayed to 1; sell 2 → (1 − 2) / (1 + 2).
        e.on_trade(1_000, 10_100, 2, Aggressor::Sell, 2, 0);
        assert_eq!(e.values().trade_flow_imbalance, Some(-1.0 / 3.0));
        // Unknown aggressor: in the VWAP, not in the flow.
        e.on_trade(1_000, 10_200, 4, Aggressor::Unknown, 2, 0);
        assert_eq!(e.values().vwap, Some(101.25));
        assert_eq!(e.values().trade_flow_imbalance, Some(-1.0 / 3.0));

        // Time since the last trade follows every event; a step back is counted and
        // treated as no time elapsed.
        e.on_book(1_500, &two_level_book(), 2);
        assert_eq!(e.values().ns_since_last_trade, Some(500));
        e.on_time(3_000);
        assert_eq!(e.values().ns_since_last_trade, Some(2_000));
        e.on_time(100);
        assert_eq!(e.values().ns_since_last_trade, Some(2_000));
        assert_eq!(e.anomalies().time_backwards, 1);

        // Bad trades are counted and change nothing (not even the last trade time).
        let before = *e.values();
        e.on_trade(3_000, 10_000, 0, Aggressor::Buy, 2, 0);
        e.on_trade(3_000, -1, 5, Aggressor::Buy, 2, 0);
        e.on_trade(3_000, 10_000, 5, Aggressor::Buy, 2, 200);
        assert_eq!(*e.values(), before);
        assert_eq!(e.anomalies().invalid_trade, 2);
        assert_eq!(e.anomalies().invalid_scale, 1);

        // Quantity scale: 1.5 units at 100 and 0.5 at 104 → (150 + 52) / 2 = 101.
        let mut q = engine(FeatureConfig::default());
        q.on_trade(0, 100, 15, Aggressor::Buy, 0, 1);
        q.on_trade(0, 104, 5, Aggressor::Buy, 0, 1);
        assert_eq!(q.values().vwap, Some(101.0));
    }

    #[test]
    fn decayed_vwap_halves_the_weight_after_one_half_life() {
        let mut e = engine(FeatureConfig {
            vwap_half_life_ns: Some(1_000.0),
            ..Default::default()
        });
        e.on_trade(0, 100, 1, Aggressor::Buy, 0, 0);
        e.on_trade(1_000, 104, 2, Aggressor::Sell, 0, 0);
        // (100·0.5 + 104·2) / (0.5 + 2)
        assert_eq!(e.values().vwap, Some(258.0 / 2.5));
        // Reset starts a new session.
        e.reset();
        assert_eq!(*e.values(), Features::EMPTY);
        e.on_trade(2_000, 90, 1, Aggressor::Buy, 0, 0);
        assert_eq!(e.values().vwap, Some(90.0));
    }

    #[test]
    fn return_and_vol_ewma_after_one_half_life() {
        let mut e = engine(FeatureConfig {
            return_half_life_ns: 1_000.0,
            vol_half_life_ns: 2_000.0,
            ..Default::default()
        });
        let at = |mid: i64| book(&[(mid - 1, 1)], &[(mid + 1, 1)]);
        e.on_book(0, &at(100), 0);
        assert_eq!(e.values().ret_ewma, None);
        e.on_book(1_000, &at(101), 0);
        let r1 = (101.0f64 / 100.0).ln();
        let a_vol = 1.0 - 0.5f64.sqrt(); // half a vol half-life
        assert_eq!(e.values().ret_ewma, Some(0.5 * r1));
        let vol1 = a_vol * r1 * r1;
        assert!((e.values().vol_ewma.unwrap() - vol1).abs() < 1e-18);

        // Another half-life, mid unchanged: a zero return halves the average.
        e.on_book(2_000, &at(101), 0);
        assert_eq!(e.values().ret_ewma, Some(0.25 * r1));

        // Two moves at one timestamp: the second is folded into the next update.
        e.on_book(3_000, &at(102), 0);
        let r2 = (102.0f64 / 101.0).ln();
        let ret3 = 0.25 * r1 + 0.5 * (r2 - 0.25 * r1);
        assert_eq!(e.values().ret_ewma, Some(ret3));
        e.on_book(3_000, &at(103), 0);
        assert_eq!(e.values().ret_ewma, Some(ret3));
        e.on_book(4_000, &at(103), 0);
        let r3 = (103.0f64 / 102.0).ln();
        assert_eq!(e.values().ret_ewma, Some(ret3 + 0.5 * (r3 - ret3)));

        // A step back in time counts as no time elapsed.
        e.on_book(10, &at(110), 0);
        assert_eq!(e.anomalies().time_backwards, 1);
        assert_eq!(e.values().ret_ewma, Some(ret3 + 0.5 * (r3 - ret3)));
        assert_eq!(e.values().mid, Some(110.0));
        // A crossed book keeps the averages (history) but drops the book values.
        e.on_book(5_000, &book(&[(120, 1)], &[(110, 1)]), 0);
        assert_eq!(e.values().mid, None);
        assert!(e.values().ret_ewma.is_some());
    }

    #[test]
    fn disabled_features_stay_none() {
        let mut e = engine(FeatureConfig {
            enabled: FeatureSet::of(&[FeatureKind::Mid, FeatureKind::Vwap]),
            ..Default::default()
        });
        e.on_book(0, &two_level_book(), 2);
        e.on_trade(1, 10_000, 1, Aggressor::Buy, 2, 0);
        e.on_book(2, &two_level_book(), 2);
        for k in FeatureKind::ALL {
            let on = matches!(k, FeatureKind::Mid | FeatureKind::Vwap);
            assert_eq!(e.values().get(k).is_some(), on, "{k}");
        }
    }

    #[test]
    fn extreme_values_stay_finite() {
        let mut e = with_levels(64);
        let huge = book(&[(1, i64::MAX)], &[(i64::MAX, i64::MAX)]);
        e.on_book(i64::MIN, &huge, 0);
        e.on_book(i64::MAX, &book(&[(1, 1)], &[(2, i64::MAX)]), 18);
        e.on_trade(i64::MAX, i64::MAX, i64::MAX, Aggressor::Buy, 0, 0);
        e.on_trade(i64::MAX, 1, i64::MAX, Aggressor::Sell, 18, 18);
        let v = *e.values();
        for k in FeatureKind::ALL {
            assert!(v.get(k).is_some_and(f64::is_finite), "{k}: {v:?}");
        }
        assert_eq!(v.ns_since_last_trade, Some(0));
    }

    // ---- property tests ----

    #[derive(Debug, Clone)]
    enum Op {
        Book {
            side: Side,
            delete: bool,
            px: i64,
            qty: i64,
            scale: u8,
        },
        Trade {
            px: i64,
            qty: i64,
            aggressor: Aggressor,
            price_scale: u8,
            qty_scale: u8,
        },
        Time,
    }

    fn price() -> impl Strategy<Value = i64> {
        prop_oneof![8 => 1i64..40, 1 => any::<i64>(), 1 => Just(i64::MAX)]
    }

    fn qty() -> impl Strategy<Value = i64> {
        prop_oneof![8 => 0i64..5, 1 => any::<i64>(), 1 => Just(i64::MAX)]
    }

    fn scale() -> impl Strategy<Value = u8> {
        prop_oneof![9 => 0u8..=18, 1 => any::<u8>()]
    }

    fn op() -> impl Strategy<Value = Op> {
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        let aggressor = prop_oneof![
            Just(Aggressor::Buy),
            Just(Aggressor::Sell),
            Just(Aggressor::Unknown)
        ];
        prop_oneof![
            6 => (side, prop::bool::weighted(0.3), price(), qty(), scale()).prop_map(
                |(side, delete, px, qty, scale)| Op::Book { side, delete, px, qty, scale }
            ),
            3 => (price(), qty(), aggressor, scale(), scale()).prop_map(
                |(px, qty, aggressor, price_scale, qty_scale)| Op::Trade {
                    px, qty, aggressor, price_scale, qty_scale
                }
            ),
            1 => Just(Op::Time),
        ]
    }

    /// Time steps: mostly forward, sometimes back, sometimes anywhere.
    fn step() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            8 => (-1_000i64..5_000).prop_map(Some),
            1 => Just(Some(0)),
            1 => Just(None),
        ]
    }

    fn half_life() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(1.0),
            Just(f64::MAX),
            1.0f64..1e12,
        ]
    }

    fn config() -> impl Strategy<Value = FeatureConfig> {
        (
            1usize..=64,
            half_life(),
            half_life(),
            half_life(),
            prop::option::of(half_life()),
        )
            .prop_map(|(n, r, v, f, w)| FeatureConfig {
                enabled: FeatureSet::ALL,
                imbalance_levels: n,
                return_half_life_ns: r,
                vol_half_life_ns: v,
                trade_flow_half_life_ns: f,
                vwap_half_life_ns: w,
            })
    }

    fn check(v: &Features, book: &Book) -> Result<(), TestCaseError> {
        for k in FeatureKind::ALL {
            if let Some(x) = v.get(k) {
                prop_assert!(x.is_finite(), "{}: {:?}", k, v);
            }
        }
        for x in [v.top_imbalance, v.depth_imbalance, v.trade_flow_imbalance]
            .into_iter()
            .flatten()
        {
            prop_assert!((-1.0..=1.0).contains(&x), "{:?}", v);
        }
        if let Some(s) = v.spread {
            prop_assert!(s > 0.0);
        }
        if let Some(vol) = v.vol_ewma {
            prop_assert!(vol >= 0.0);
        }
        if book.is_crossed() {
            prop_assert_eq!(v.mid, None);
        }
        Ok(())
    }

    proptest! {
        /// Random books (crossed, one-sided, zero quantities, extreme prices), trades and
        /// timestamps (backwards, extreme) never panic and never give a non-finite value;
        /// two engines fed the same stream agree exactly.
        #[test]
        fn random_streams_stay_finite_and_deterministic(
            cfg in config(),
            ops in prop::collection::vec((op(), step(), any::<i64>()), 0..300),
        ) {
            let mut a = FeatureEngine::new(cfg.clone()).unwrap();
            let mut b = FeatureEngine::new(cfg).unwrap();
            let mut book = Book::new();
            let mut ts = 0i64;
            for (op, step, anywhere) in ops {
                ts = match step {
                    Some(dt) => ts.saturating_add(dt),
                    None => anywhere,
                };
                if let Op::Book { side, delete, px, qty, .. } = op {
                    let action = if delete { LevelAction::Delete } else { LevelAction::Upsert };
                    let _ = book.apply(side, action, px, qty);
                }
                for e in [&mut a, &mut b] {
                    match op {
                        Op::Book { scale, .. } => e.on_book(ts, &book, scale),
                        Op::Trade { px, qty, aggressor, price_scale, qty_scale } => {
                            e.on_trade(ts, px, qty, aggressor, price_scale, qty_scale);
                        }
                        Op::Time => e.on_time(ts),
                    }
                }
                check(a.values(), &book)?;
                prop_assert_eq!(a.values(), b.values());
                prop_assert_eq!(a.anomalies(), b.anomalies());
            }
        }
    }
}
