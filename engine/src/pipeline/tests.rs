//! The two stages fused, driven by hand-made inputs.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::event::{
    Event, EventBody, EventHeader, EventKind, ExecKind, Liquidity, OperatorCommand, RiskCode, Side,
    TimeInForce,
};
use crate::features::{FeatureConfig, FeatureKind};
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::model::{LinearModel, Link};
use crate::oms::{Fees, Oms};
use crate::risk::{InstrumentLimits, RiskEngine, RiskLimits};
use crate::router::{RouteRule, Router, RouterParams, VenueRoute};
use crate::stage::{Outbox, Stage};
use crate::strategy::{
    QuoteParams, QuotePrice, QuoteRefresh, SignalMap, StrategyParams, TakeParams,
};
use crate::value::{Price, Qty, Scale};

const I0: InstrumentId = InstrumentId::new(0);

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        id: I0,
        symbol: "T".into(),
        price_scale: Scale::new(2),
        qty_scale: Scale::new(0),
        tick_size: 1,
        lot_size: 1,
    }
}

fn limits(throttle_burst: u32) -> RiskLimits {
    RiskLimits {
        instrument: InstrumentLimits {
            max_order_qty: 100,
            max_notional: 10_000_000,
            price_band_bps: 500,
            max_position: 50,
        },
        max_gross_position: 100,
        max_open_orders: 20,
        throttle_rate_per_s: 1,
        throttle_burst,
        max_daily_loss: 1_000_000,
    }
}

fn chain(take: bool, throttle_burst: u32) -> TradingChain {
    chain_with(take, throttle_burst, |_| {})
}

/// [`chain`] with its strategy changed by `tweak`.
fn chain_with(
    take: bool,
    throttle_burst: u32,
    tweak: impl FnOnce(&mut StrategyParams),
) -> TradingChain {
    let instruments = vec![spec()];
    // Edge in bps = 10 × top-of-book imbalance.
    let model = LinearModel::new(vec![10.0], 0.0, Link::Identity).unwrap();
    let signal = SignalStage::new(
        instruments.clone(),
        1,
        FeatureConfig::default(),
        Box::new(model),
        7,
        vec![FeatureKind::TopImbalance],
        BookSizing {
            max_orders: 64,
            max_levels: 16,
        },
    )
    .unwrap();
    let mut strategy = StrategyParams {
        signal: SignalMap {
            signal_offset: 0.0,
            signal_to_bps: 1.0,
        },
        quote: Some(QuoteParams {
            half_spread_ticks: 1,
            inventory_skew_ticks: 0.0,
            requote_ticks: 1,
            price: QuotePrice::Fair,
            refresh: QuoteRefresh::OnChange,
        }),
        take: take.then_some(TakeParams {
            threshold_bps: 5.0,
            max_slippage_ticks: 0,
        }),
        order_lots: 5,
        max_position_lots: 20,
        min_interval_ns: 0,
        timer_interval_ns: 1_000_000,
        stale_quote_ns: 50_000,
    };
    tweak(&mut strategy);
    let fees = |maker, taker| {
        vec![Fees {
            maker_per_qty: maker,
            taker_per_qty: taker,
        }]
    };
    let router = Router::new(
        RouterParams {
            rule: RouteRule::BestPriceThenFee,
            split_by_displayed: true,
            venues: vec![
                VenueRoute {
                    venue: 1,
                    fees: fees(-2, 3),
                },
                VenueRoute {
                    venue: 2,
                    fees: fees(-3, 2),
                },
            ],
        },
        1,
    )
    .unwrap();
    let risk = RiskEngine::new(limits(throttle_burst), 1).unwrap();
    let orders = OrderStage::new(
        instruments,
        strategy,
        7,
        router,
        risk,
        Oms::new(64, 1),
        BookSizing {
            max_orders: 64,
            max_levels: 16,
        },
    );
    TradingChain::new(signal, orders, 4)
}

struct Driver {
    chain: TradingChain,
    out: Outbox,
    seq: u64,
    ts: i64,
}

impl Driver {
    fn new(chain: TradingChain) -> Self {
        Self {
            chain,
            out: Outbox::new(64, 1),
            seq: 0,
            ts: 1_000,
        }
    }

    fn send(&mut self, source: u16, body: EventBody) -> Vec<Event> {
        self.seq += 1;
        self.ts += 1_000;
        let e = Event::new(
            EventHeader {
                sequence: self.seq,
                cause_sequence: self.seq,
                exchange_ts_ns: self.ts,
                receive_ts_ns: self.ts + 10,
                instrument: I0,
                price_scale: 2,
                qty_scale: 0,
                source,
            },
            body,
        );
        self.chain.on_event(&e, &mut self.out);
        let got = self.out.events().to_vec();
        self.out.clear();
        got
    }

    fn add(&mut self, venue: u16, id: u64, side: Side, px: i64, qty: i64) -> Vec<Event> {
        self.send(
            venue,
            EventBody::OrderAdd {
                side,
                order_id: id,
                price: Price::new(px),
                qty: Qty::new(qty),
            },
        )
    }

    fn report(
        &mut self,
        exec: ExecKind,
        id: u64,
        side: Side,
        px: i64,
        qty: i64,
        leaves: i64,
    ) -> Vec<Event> {
        self.send(
            2,
            EventBody::ExecReport {
                exec,
                side,
                liquidity: Liquidity::Unknown,
                reject_code: 0,
                client_order_id: id,
                venue_order_id: 100 + id,
                price: Price::new(px),
                qty: Qty::new(qty),
                leaves_qty: Qty::new(leaves),
                cum_qty: Qty::new(0),
            },
        )
    }

    fn orders(&self) -> &OrderStage {
        &self.chain.downstream
    }
}

fn news(events: &[Event]) -> Vec<(Side, TimeInForce, u16, u64, i64, i64)> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::OrderNew {
                side,
                tif,
                venue,
                client_order_id,
                price,
                qty,
            } => Some((side, tif, venue, client_order_id, price.raw(), qty.raw())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_two_sided_book_brings_a_signal_and_quotes_on_the_rebate_venue() {
    let mut d = Driver::new(chain(false, 100));
    assert!(d.add(1, 1, Side::Buy, 10_000, 10).is_empty());
    let out = d.add(1, 2, Side::Sell, 10_004, 10);
    // Balanced top: imbalance 0 → signal 0, quotes one tick inside fair 10002.
    assert_eq!(
        out[0].body,
        EventBody::Signal {
            model_id: 7,
            value: 0
        }
    );
    assert_eq!(
        news(&out),
        vec![
            (Side::Buy, TimeInForce::PostOnly, 2, 1, 10_001, 5),
            (Side::Sell, TimeInForce::PostOnly, 2, 2, 10_003, 5),
        ]
    );
    // Every output names its input.
    assert!(out.iter().all(|e| e.header.cause_sequence == 2));
    assert_eq!(d.orders().oms().open_orders().count(), 2);
    // Venue 2's book alone does not move the quotes (it is not the reference venue).
    let out = d.add(2, 3, Side::Sell, 10_002, 1);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_strong_signal_takes_across_venues_by_displayed_size() {
    let mut d = Driver::new(chain(true, 100));
    d.add(2, 10, Side::Sell, 10_004, 3);
    d.add(1, 1, Side::Sell, 10_004, 4);
    // A big bid makes the imbalance (100 − 4) / 104 ≈ 0.92 → edge 9.2 bps ≥ 5: buy 5.
    let out = d.add(1, 2, Side::Buy, 10_000, 100);
    let takes: Vec<_> = news(&out)
        .into_iter()
        .filter(|o| o.1 == TimeInForce::Ioc)
        .collect();
    // The book event itself brought quotes (ids 1 and 2, no signal yet); the signal it
    // caused brings the take. Both venues show 10004; venue 2 has the lower taker fee: 3
    // there, 2 on venue 1.
    assert_eq!(
        takes,
        vec![
            (Side::Buy, TimeInForce::Ioc, 2, 3, 10_004, 3),
            (Side::Buy, TimeInForce::Ioc, 1, 4, 10_004, 2),
        ]
    );
}

#[test]
fn fills_move_the_position_and_the_quote_is_replaced() {
    let mut d = Driver::new(chain(false, 100));
    d.add(1, 1, Side::Buy, 10_000, 10);
    d.add(1, 2, Side::Sell, 10_004, 10);
    d.report(ExecKind::Ack, 1, Side::Buy, 10_001, 5, 5);
    let out = d.report(ExecKind::Fill, 1, Side::Buy, 10_001, 5, 0);
    assert_eq!(d.orders().oms().position(I0).unwrap().qty, 5);
    assert_eq!(d.orders().risk().position(I0), Some(5));
    // The filled bid is gone; a new bid goes out at the same price (no skew configured).
    assert_eq!(
        news(&out),
        vec![(Side::Buy, TimeInForce::PostOnly, 2, 3, 10_001, 5)]
    );
    // Maker fee on venue 2 is a rebate of 3 per unit.
    assert_eq!(d.orders().oms().position(I0).unwrap().fees, -15);
}

#[test]
fn the_kill_switch_cancels_everything_and_nothing_new_leaves() {
    let mut d = Driver::new(chain(true, 100));
    d.add(1, 1, Side::Buy, 10_000, 10);
    d.add(1, 2, Side::Sell, 10_004, 10);
    let out = d.send(
        0,
        EventBody::Command {
            command: OperatorCommand::KillSwitch,
            arg: 0,
        },
    );
    let cancels: Vec<_> = out
        .iter()
        .filter_map(|e| match e.body {
            EventBody::OrderCancel {
                orig_client_order_id,
                ..
            } => Some(orig_client_order_id),
            _ => None,
        })
        .collect();
    assert_eq!(cancels, vec![1, 2]);
    for k in 0..20 {
        let out = d.add(1, 10 + k, Side::Buy, 10_000 + k as i64 % 3, 50);
        assert!(
            news(&out).is_empty(),
            "an order left after the kill switch: {out:?}"
        );
    }
}

fn cancels(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::OrderCancel {
                orig_client_order_id,
                ..
            } => Some(orig_client_order_id),
            _ => None,
        })
        .collect()
}

#[test]
fn a_housekeeping_timer_pulls_the_quotes_of_a_stale_book_until_it_changes() {
    use crate::timers::{HOUSEKEEPING, TIMER_SOURCE};
    let timer = |deadline_ns| EventBody::Timer {
        timer_id: HOUSEKEEPING,
        deadline_ns,
    };
    let mut d = Driver::new(chain(false, 100));
    d.add(1, 1, Side::Buy, 10_000, 10);
    let out = d.add(1, 2, Side::Sell, 10_004, 10);
    assert_eq!(news(&out).len(), 2);
    let book_ns = out[0].header.receive_ts_ns;
    // Not stale yet: nothing.
    assert!(d.send(TIMER_SOURCE, timer(book_ns + 49_999)).is_empty());
    // Another timer id is not housekeeping: ignored.
    let other = EventBody::Timer {
        timer_id: 99,
        deadline_ns: book_ns + 1_000_000,
    };
    assert!(d.send(TIMER_SOURCE, other).is_empty());
    // Stale: both quotes are cancelled, with the timer as their cause.
    let out = d.send(TIMER_SOURCE, timer(book_ns + 50_000));
    assert_eq!(cancels(&out), vec![1, 2]);
    assert!(out.iter().all(|e| e.header.cause_sequence == d.seq));
    assert!(d.send(TIMER_SOURCE, timer(book_ns + 90_000)).is_empty());
    assert_eq!(d.orders().counters().timers, 3, "housekeeping timers only");
    assert_eq!(d.orders().counters().stale_pulls, 1);
    // A book change on another venue does not refresh the reference book.
    assert!(news(&d.add(2, 3, Side::Sell, 10_003, 1)).is_empty());
    // The reference book changes: quoting resumes.
    let out = d.add(1, 4, Side::Buy, 10_001, 10);
    assert_eq!(news(&out).len(), 2, "{out:?}");
}

#[test]
fn touch_quotes_refreshed_every_timer_cancel_and_repost_only_at_the_timer() {
    use crate::timers::{HOUSEKEEPING, TIMER_SOURCE};
    let timer = |deadline_ns| EventBody::Timer {
        timer_id: HOUSEKEEPING,
        deadline_ns,
    };
    let mut d = Driver::new(chain_with(false, 100, |s| {
        s.stale_quote_ns = 0;
        if let Some(q) = s.quote.as_mut() {
            q.price = QuotePrice::Touch;
            q.refresh = QuoteRefresh::EveryTimer;
        }
    }));
    d.add(1, 1, Side::Buy, 10_000, 10);
    // A two-sided book alone sends nothing: quotes wait for the timer.
    let out = d.add(1, 2, Side::Sell, 10_004, 10);
    assert!(news(&out).is_empty(), "{out:?}");
    let at = out[0].header.receive_ts_ns;
    // The timer: a post-only buy at the best bid and sell at the best ask.
    let out = d.send(TIMER_SOURCE, timer(at + 1_000_000));
    assert_eq!(
        news(&out),
        vec![
            (Side::Buy, TimeInForce::PostOnly, 2, 1, 10_000, 5),
            (Side::Sell, TimeInForce::PostOnly, 2, 2, 10_004, 5),
        ]
    );
    assert!(cancels(&out).is_empty());
    // The book moves: nothing until the next timer...
    assert!(news(&d.add(1, 3, Side::Buy, 10_001, 10)).is_empty());
    // ...which cancels both quotes and posts at the new touch; the unmoved ask is sent
    // again too (it loses its place, as in hftbacktest's example).
    let out = d.send(TIMER_SOURCE, timer(at + 2_000_000));
    assert_eq!(cancels(&out), vec![1, 2]);
    assert_eq!(
        news(&out)
            .iter()
            .map(|&(side, _, _, _, px, _)| (side, px))
            .collect::<Vec<_>>(),
        vec![(Side::Buy, 10_001), (Side::Sell, 10_004)]
    );
}

#[test]
fn a_session_start_resets_the_daily_loss() {
    use crate::timers::{SESSION_START, TIMER_SOURCE};
    let mut d = Driver::new(chain(false, 100));
    d.add(1, 1, Side::Buy, 10_000, 10);
    assert_eq!(news(&d.add(1, 2, Side::Sell, 10_004, 10)).len(), 2);
    // Fills (of orders risk does not know: they still happened) buy 1000 at 100.00 and
    // sell them at 80.00: a loss of 20000.00 against a daily limit of 10000.00.
    d.report(ExecKind::Fill, 900, Side::Buy, 10_000, 1_000, 0);
    d.report(ExecKind::Fill, 901, Side::Sell, 8_000, 1_000, 0);
    assert!(d.orders().risk().is_loss_halted());
    assert_eq!(d.orders().risk().realised_pnl(), -2_000_000);
    assert!(
        news(&d.add(1, 3, Side::Buy, 10_001, 10)).is_empty(),
        "halted"
    );
    // Neither another timer nor a housekeeping timer ends the day.
    for timer_id in [99, crate::timers::HOUSEKEEPING] {
        let deadline_ns = d.ts;
        d.send(
            TIMER_SOURCE,
            EventBody::Timer {
                timer_id,
                deadline_ns,
            },
        );
        assert!(d.orders().risk().is_loss_halted());
    }
    // The session start does: the day's realised PnL is zero again (flat: nothing
    // unrealised) and the loss halt is lifted. It emits nothing itself.
    let deadline_ns = d.ts;
    let out = d.send(
        TIMER_SOURCE,
        EventBody::Timer {
            timer_id: SESSION_START,
            deadline_ns,
        },
    );
    assert!(out.is_empty(), "{out:?}");
    let risk = d.orders().risk();
    assert!(!risk.is_loss_halted());
    assert_eq!((risk.realised_pnl(), risk.pnl()), (0, 0));
    assert_eq!(risk.position(I0), Some(0));
    // Quoting resumes at the next book change.
    assert!(!news(&d.add(1, 4, Side::Buy, 10_002, 10)).is_empty());
}

#[test]
fn a_feed_gap_pulls_the_quotes_until_the_reference_book_changes() {
    let mut d = Driver::new(chain(false, 100));
    d.add(1, 1, Side::Buy, 10_000, 10);
    assert_eq!(news(&d.add(1, 2, Side::Sell, 10_004, 10)).len(), 2);
    let gap = EventBody::FeedGap {
        expected: 7,
        received: 9,
    };
    assert_eq!(cancels(&d.send(1, gap)), vec![1, 2]);
    assert_eq!(d.orders().counters().feed_gaps, 1);
    // A fill does not bring quotes back while the book is in doubt.
    assert!(news(&d.report(ExecKind::Fill, 1, Side::Buy, 10_001, 5, 0)).is_empty());
    let out = d.add(1, 3, Side::Buy, 10_001, 10);
    assert_eq!(news(&out).len(), 2, "{out:?}");
}

#[test]
fn risk_refusals_are_emitted_with_their_code() {
    // A burst of 2 orders: the two quotes pass, the next requote is throttled.
    let mut d = Driver::new(chain(false, 2));
    d.add(1, 1, Side::Buy, 10_000, 10);
    d.add(1, 2, Side::Sell, 10_004, 10);
    let out = d.add(1, 3, Side::Buy, 10_002, 10);
    let rejects: Vec<_> = out
        .iter()
        .filter_map(|e| match e.body {
            EventBody::RiskReject { code, .. } => Some(code),
            _ => None,
        })
        .collect();
    assert!(rejects.contains(&RiskCode::Throttle), "{out:?}");
    assert_eq!(
        d.orders().risk().reject_count(RiskCode::Throttle),
        rejects.len() as u64
    );
    assert!(out.iter().any(|e| e.kind() == EventKind::OrderCancel));
}

#[test]
fn unknown_instruments_and_venues_are_counted() {
    let mut d = Driver::new(chain(false, 100));
    d.add(9, 1, Side::Buy, 10_000, 10);
    assert_eq!(d.orders().counters().unknown_venue, 1);
    let mut e = Event::new(
        EventHeader {
            sequence: 99,
            cause_sequence: 99,
            exchange_ts_ns: 1,
            receive_ts_ns: 1,
            instrument: InstrumentId::new(5),
            price_scale: 2,
            qty_scale: 0,
            source: 1,
        },
        EventBody::OrderDelete { order_id: 1 },
    );
    let mut out = Outbox::new(8, 1);
    d.chain.on_event(&e, &mut out);
    e.body = EventBody::Signal {
        model_id: 7,
        value: 1,
    };
    d.chain.on_event(&e, &mut out);
    assert!(out.events().is_empty());
    assert_eq!(d.chain.upstream.counters().unknown_instrument, 1);
    assert_eq!(d.orders().counters().unknown_instrument, 2);
}

#[test]
fn the_oms_charges_each_venues_fee_schedule() {
    use crate::oms::{FeeRate, FeeSchedule};
    let load = |f: &str| {
        crate::config::EngineConfig::load(format!("{}/../config/{f}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    // Binance: 10 bps both sides on the venue; ETHUSDT's [[fees]] entry 2 / 5 bps.
    let cfg = load("backtest-binance.toml");
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    let oms = chain.downstream.oms();
    assert_eq!(
        oms.fee_schedule(1, InstrumentId::new(0)),
        Some(FeeSchedule {
            maker: FeeRate::Bps(100_000),
            taker: FeeRate::Bps(100_000)
        })
    );
    assert_eq!(
        oms.fee_schedule(1, InstrumentId::new(1)),
        Some(FeeSchedule {
            maker: FeeRate::Bps(20_000),
            taker: FeeRate::Bps(50_000)
        })
    );
    // Per-unit configs: the OMS's schedules are the router's table.
    let cfg = load("default.toml");
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    for v in &cfg.venues {
        for (i, spec) in cfg.instruments.iter().enumerate() {
            assert_eq!(
                chain.downstream.oms().fee_schedule(v.id, spec.id),
                Some(v.fee_schedule[i])
            );
            assert_eq!(FeeSchedule::from(v.fees[i]), v.fee_schedule[i]);
        }
    }
}
