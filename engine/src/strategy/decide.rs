//! The strategy's decision rule: a pure function from the market, the signal and the
//! inventory to the orders it wants.
//!
//! # The rule
//!
//! Per instrument, at each decision (after a book change, a new signal or a fill):
//!
//! 1. **Edge.** The model's latest output becomes a predicted move in basis points of the
//!    mid: `edge_bps = (output − signal_offset) × signal_to_bps` (0 before the first signal).
//! 2. **Fair price.** `fair = microprice × (1 + edge_bps / 10 000) − skew`, where the
//!    inventory skew is `inventory_skew_ticks × tick × position / max_position` (clamped to
//!    ±1 of that): a long position lowers both quotes, so the strategy sells more easily
//!    than it buys, and vice versa.
//! 3. **Quotes** (with `[strategy.quote]`): a bid at `fair − half_spread_ticks × tick`
//!    rounded down to a tick and an ask at `fair + half_spread_ticks × tick` rounded up,
//!    each kept at least one tick off the opposite touch (they are post-only: they must not
//!    cross). A side is not quoted if one more order would take the position beyond
//!    `max_position_lots` (counting the orders already working on that side). With
//!    `price = "touch"` the bid is the best bid and the ask the best ask instead (no fair
//!    price, spread or skew), under the same position rule.
//! 4. **Take** (with `[strategy.take]`): when `edge_bps ≥ threshold_bps` buy, when
//!    `edge_bps ≤ −threshold_bps` sell, with an IOC up to `max_slippage_ticks` through the
//!    touch, sized `order_lots` but never beyond `max_position_lots` (counting working
//!    orders on that side).
//!
//! Everything is in raw ticks and raw quantities of the instrument; the microprice is
//! computed from the raw best levels in `f64`, so the result is the same on every run.

use super::params::{QuotePrice, StrategyParams};
use crate::book::Level;
use crate::event::Side;
use crate::instrument::InstrumentSpec;

/// What the strategy knows about one instrument when it decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inputs {
    /// Best bid and ask of the reference book (two-sided, not crossed).
    pub bid: Level,
    /// Best ask.
    pub ask: Level,
    /// Latest model output, if any.
    pub signal: Option<f64>,
    /// Signed position, raw.
    pub position: i64,
    /// Open quantity of our working buys and sells, raw (excluding the quote being
    /// re-priced is the caller's choice; see [`decide`]).
    pub working_buy: i64,
    /// Open quantity of our working sells, raw.
    pub working_sell: i64,
}

/// A taking order the strategy wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// Buy or sell.
    pub side: Side,
    /// Limit price, raw.
    pub limit_px: i64,
    /// Quantity, raw (whole lots, > 0).
    pub qty: i64,
}

/// The orders the strategy wants for one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// An IOC to send now.
    pub take: Option<Take>,
    /// The bid price it wants resting (raw), or none.
    pub bid_px: Option<i64>,
    /// The ask price it wants resting (raw), or none.
    pub ask_px: Option<i64>,
    /// Size of a quote, raw.
    pub quote_qty: i64,
}

/// The predicted edge in basis points for a model output.
pub fn edge_bps(params: &StrategyParams, signal: Option<f64>) -> f64 {
    match signal {
        Some(s) if s.is_finite() => {
            let e = (s - params.signal.signal_offset) * params.signal.signal_to_bps;
            if e.is_finite() {
                e
            } else {
                0.0
            }
        }
        _ => 0.0,
    }
}

/// The strategy's wish for one instrument; see the [module docs](self). `working_buy` and
/// `working_sell` should not include the quotes being re-priced (the caller replaces them).
pub fn decide(params: &StrategyParams, spec: &InstrumentSpec, x: &Inputs) -> Decision {
    let tick = spec.tick_size;
    let lot = spec.lot_size;
    let order_qty = i64::from(params.order_lots).saturating_mul(lot);
    let max_pos = i64::from(params.max_position_lots).saturating_mul(lot);
    let mut d = Decision {
        quote_qty: order_qty,
        ..Decision::default()
    };
    if x.bid.px >= x.ask.px || x.bid.qty <= 0 || x.ask.qty <= 0 || tick <= 0 || lot <= 0 {
        return d;
    }
    let edge = edge_bps(params, x.signal);
    let long_after_buys = x.position.saturating_add(x.working_buy);
    let short_after_sells = x.position.saturating_sub(x.working_sell);

    if let Some(t) = params.take {
        let side = if edge >= t.threshold_bps {
            Some(Side::Buy)
        } else if edge <= -t.threshold_bps {
            Some(Side::Sell)
        } else {
            None
        };
        let slip = i64::from(t.max_slippage_ticks).saturating_mul(tick);
        d.take = side.and_then(|side| {
            let room = match side {
                Side::Buy => max_pos.saturating_sub(long_after_buys),
                Side::Sell => max_pos.saturating_add(short_after_sells),
            };
            let qty = order_qty.min(room);
            let qty = qty - qty.rem_euclid(lot);
            let limit_px = match side {
                Side::Buy => x.ask.px.saturating_add(slip),
                Side::Sell => x.bid.px.saturating_sub(slip).max(tick),
            };
            (qty > 0).then_some(Take {
                side,
                limit_px,
                qty,
            })
        });
    }

    if params.quote.is_some_and(|q| q.price == QuotePrice::Touch) {
        if long_after_buys.saturating_add(order_qty) <= max_pos {
            d.bid_px = Some(x.bid.px);
        }
        if short_after_sells.saturating_sub(order_qty) >= -max_pos {
            d.ask_px = Some(x.ask.px);
        }
    } else if let Some(q) = params.quote {
        let (bid, ask) = (x.bid.px as f64, x.ask.px as f64);
        let (bq, aq) = (x.bid.qty as f64, x.ask.qty as f64);
        let micro = (bid * aq + ask * bq) / (bq + aq);
        let inventory = (x.position as f64 / max_pos as f64).clamp(-1.0, 1.0);
        let fair =
            micro * (1.0 + edge / 10_000.0) - q.inventory_skew_ticks * tick as f64 * inventory;
        let half = f64::from(q.half_spread_ticks) * tick as f64;
        if fair.is_finite() {
            let bid_px = spec
                .floor_tick((fair - half).floor() as i64)
                .min(x.ask.px.saturating_sub(tick));
            let ask_px = spec
                .ceil_tick((fair + half).ceil() as i64)
                .max(x.bid.px.saturating_add(tick));
            if bid_px > 0 && long_after_buys.saturating_add(order_qty) <= max_pos {
                d.bid_px = Some(bid_px);
            }
            if ask_px > 0 && short_after_sells.saturating_sub(order_qty) >= -max_pos {
                d.ask_px = Some(ask_px);
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::InstrumentId;
    use crate::strategy::{QuoteParams, QuoteRefresh, SignalMap, TakeParams};
    use crate::value::Scale;

    fn spec() -> InstrumentSpec {
        InstrumentSpec {
            id: InstrumentId::new(0),
            symbol: "T".into(),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
            tick_size: 1,
            lot_size: 10,
        }
    }

    fn params() -> StrategyParams {
        StrategyParams {
            signal: SignalMap {
                signal_offset: 0.0,
                signal_to_bps: 1.0,
            },
            quote: Some(QuoteParams {
                half_spread_ticks: 1,
                inventory_skew_ticks: 2.0,
                requote_ticks: 1,
                price: QuotePrice::Fair,
                refresh: QuoteRefresh::OnChange,
            }),
            take: Some(TakeParams {
                threshold_bps: 5.0,
                max_slippage_ticks: 1,
            }),
            order_lots: 2,
            max_position_lots: 3,
            min_interval_ns: 0,
            timer_interval_ns: 0,
            stale_quote_ns: 0,
        }
    }

    fn inputs(signal: Option<f64>, position: i64) -> Inputs {
        Inputs {
            bid: Level {
                px: 10_000,
                qty: 50,
            },
            ask: Level {
                px: 10_004,
                qty: 50,
            },
            signal,
            position,
            working_buy: 0,
            working_sell: 0,
        }
    }

    #[test]
    fn quotes_around_the_microprice_and_skews_with_inventory() {
        let d = decide(&params(), &spec(), &inputs(None, 0));
        assert_eq!(
            (d.bid_px, d.ask_px, d.take),
            (Some(10_001), Some(10_003), None)
        );
        assert_eq!(d.quote_qty, 20);
        // Long 20 of max 30: fair moves down 2 × 2/3 ticks.
        let d = decide(&params(), &spec(), &inputs(None, 20));
        assert_eq!((d.bid_px, d.ask_px), (None, Some(10_002)));
        // Short at the limit: no more asks.
        let d = decide(&params(), &spec(), &inputs(None, -30));
        assert_eq!(d.ask_px, None);
        assert!(d.bid_px.is_some());
    }

    #[test]
    fn quotes_never_cross_the_touch() {
        // A strong positive edge moves fair far up: the bid stops one tick under the ask.
        let mut p = params();
        p.take = None;
        let d = decide(&p, &spec(), &inputs(Some(40.0), 0));
        assert_eq!(d.bid_px, Some(10_003));
        assert!(d.ask_px.is_some_and(|a| a > 10_004));
    }

    #[test]
    fn touch_quotes_sit_at_the_best_bid_and_ask_whatever_the_edge() {
        let mut p = params();
        p.take = None;
        if let Some(q) = p.quote.as_mut() {
            q.price = QuotePrice::Touch;
        }
        for signal in [None, Some(40.0), Some(-40.0)] {
            let d = decide(&p, &spec(), &inputs(signal, 0));
            assert_eq!(
                (d.bid_px, d.ask_px),
                (Some(10_000), Some(10_004)),
                "{signal:?}"
            );
        }
        // Long 20 of max 30 with 20 a quote: one more buy would pass the limit, a sell not.
        let d = decide(&p, &spec(), &inputs(None, 20));
        assert_eq!((d.bid_px, d.ask_px), (None, Some(10_004)));
        let d = decide(&p, &spec(), &inputs(None, -20));
        assert_eq!((d.bid_px, d.ask_px), (Some(10_000), None));
    }

    #[test]
    fn takes_beyond_the_threshold_within_the_position_limit() {
        let d = decide(&params(), &spec(), &inputs(Some(6.0), 0));
        assert_eq!(
            d.take,
            Some(Take {
                side: Side::Buy,
                limit_px: 10_005,
                qty: 20
            })
        );
        // Long 20 of 30: only one lot of room.
        let d = decide(&params(), &spec(), &inputs(Some(6.0), 20));
        assert_eq!(d.take.map(|t| t.qty), Some(10));
        let d = decide(&params(), &spec(), &inputs(Some(-6.0), -30));
        assert_eq!(d.take, None);
        let d = decide(&params(), &spec(), &inputs(Some(-6.0), 0));
        assert_eq!(
            d.take.map(|t| (t.side, t.limit_px)),
            Some((Side::Sell, 9_999))
        );
        let d = decide(&params(), &spec(), &inputs(Some(4.9), 0));
        assert_eq!(d.take, None);
    }

    #[test]
    fn bad_inputs_decide_nothing() {
        let mut x = inputs(Some(f64::NAN), 0);
        assert_eq!(edge_bps(&params(), x.signal), 0.0);
        x.ask.px = x.bid.px;
        assert_eq!(
            decide(&params(), &spec(), &x),
            Decision {
                quote_qty: 20,
                ..Decision::default()
            }
        );
    }
}
