//! The historical market simulator driving the real chain through the Runner: the public L3
//! stream of the synthetic market's reference venue (recorded once, without our orders) is
//! replayed as historical data, and the chain of `config/default.toml` (cut to that one
//! venue) trades against it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};

use tickrail_engine::alloc_count::{thread_allocations, CountingAllocator};
use tickrail_engine::book::BookView;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::oms::AnomalyKind;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, TradingChain};
use tickrail_engine::runtime::Market;
use tickrail_engine::{
    archive_event, Event, EventBody, EventHeader, EventKind, ExecKind, Price, Qty, Side,
    TimeInForce,
};
use tickrail_gateways::feed::{FeedSource, FeedStats};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket};
use tickrail_gateways::venue::reject;
use tickrail_replay::backtest::{BacktestParams, BookSizing, HistoricalMarket, QueueModel};
use tickrail_replay::{Recorder, Runner};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Recorded events, handed out in order.
#[derive(Debug)]
struct VecFeed {
    events: VecDeque<Event>,
    stats: FeedStats,
}

impl FeedSource for VecFeed {
    fn next_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        self.stats.records += 1;
        self.stats.events += 1;
        Some(e)
    }
    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

/// `config/default.toml` with its first venue only and 4 s of market.
fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.find("[[venues]]").unwrap();
    let second = first + 1 + text[first + 1..].find("[[venues]]").unwrap();
    let end = second + text[second..].find("\n# ---").unwrap();
    let text = format!("{}{}", &text[..second], &text[end + 1..]);
    let text = text.replace(
        "duration_ns = 10_000_000_000",
        "duration_ns = 4_000_000_000",
    );
    let cfg = EngineConfig::from_toml_str(&text, path).unwrap();
    assert_eq!(cfg.venues.len(), 1);
    cfg
}

/// The synthetic market's public data, as a file adapter would give it: exchange times,
/// receive time = exchange time (no capture time), a running sequence.
fn historical_data(cfg: &EngineConfig) -> Vec<Event> {
    let mut m = SyntheticMarket::new(SyntheticConfig::from_engine(cfg)).unwrap();
    let mut events = Vec::new();
    while let Some(mut e) = m.next_event() {
        let seq = events.len() as u64 + 1;
        e.header.sequence = seq;
        e.header.cause_sequence = seq;
        e.header.receive_ts_ns = e.header.exchange_ts_ns;
        events.push(e);
    }
    events
}

struct Run {
    runner: Runner<HistoricalMarket<VecFeed>, TradingChain>,
    rec: Recorder,
}

fn run(cfg: &EngineConfig, data: &[Event], queue: QueueModel) -> Run {
    let v = &cfg.venues[0];
    let params = BacktestParams {
        venue: v.id,
        feed_latency_ns: Some(v.feed_latency_ns),
        entry_latency_ns: v.entry_latency_ns,
        ack_latency_ns: v.ack_latency_ns,
        queue,
        book: BookSizing::default(),
    };
    let feed = VecFeed {
        events: data.iter().copied().collect(),
        stats: FeedStats::default(),
    };
    let market = HistoricalMarket::new(feed, params, &cfg.instruments).unwrap();
    let chain = build_chain(cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(cfg),
    )
    .with_timers(cfg.timers());
    let mut rec = Recorder::default();
    runner.run(&mut rec);
    Run { runner, rec }
}

fn is_fill(e: &Event) -> bool {
    matches!(
        e.body,
        EventBody::ExecReport {
            exec: ExecKind::PartialFill | ExecKind::Fill,
            ..
        }
    )
}

/// Every check of one run; returns the number of fills.
fn check(cfg: &EngineConfig, data: &[Event], r: &Run) -> usize {
    let s = r.runner.summary();
    let market = r.runner.market();
    let stats = market.stats();
    let orders = r.runner.chain().downstream.counters();
    let oms = r.runner.chain().downstream.oms();
    let risk = r.runner.chain().downstream.risk();
    println!("{s:?}\n{stats:?}\n{orders:?}");

    // Everything entered; nothing was refused or lost.
    assert_eq!(s.input_rejects, [0; 5], "{s:?}");
    assert_eq!((s.submit_errors, s.outbox_overflows), (0, 0), "{s:?}");
    assert_eq!(s.submitted, stats.requests);
    assert_eq!(
        market.open_orders() as u64 + stats.fills + stats.cancels,
        stats.acks
    );

    // The historical data passed through unchanged but for the feed latency.
    let latency = cfg.venues[0].feed_latency_ns;
    let md: Vec<&Event> = r
        .rec
        .inputs
        .iter()
        .filter(|e| !matches!(e.kind(), EventKind::ExecReport | EventKind::Timer))
        .collect();
    assert_eq!(md.len(), data.len());
    for (got, want) in md.iter().zip(data) {
        assert_eq!(got.body, want.body);
        assert_eq!(got.header.exchange_ts_ns, want.header.exchange_ts_ns);
        assert_eq!(
            got.header.receive_ts_ns,
            want.header.exchange_ts_ns + latency
        );
    }

    // Orders went out and fills came back.
    let sent = r
        .rec
        .outputs
        .iter()
        .filter(|e| e.kind() == EventKind::OrderNew)
        .count() as u64;
    let fills: Vec<&Event> = r.rec.inputs.iter().filter(|e| is_fill(e)).collect();
    println!(
        "{sent} orders, {} cancels, {} fills ({} queue, {} trade-through), taker {} maker {}",
        orders.cancels,
        fills.len(),
        stats.queue_fills,
        stats.trade_through_fills,
        stats.taker_qty,
        stats.maker_qty
    );
    let mut by = BTreeMap::new();
    for e in &r.rec.outputs {
        if let EventBody::OrderNew { side, tif, .. } = e.body {
            *by.entry((side.name(), tif.name())).or_insert(0) += 1;
        }
    }
    let mut fb = BTreeMap::new();
    for e in &fills {
        if let EventBody::ExecReport { side, qty, .. } = e.body {
            *fb.entry(side.name()).or_insert(0) += qty.raw();
        }
    }
    println!("orders by side/tif {by:?}; filled by side {fb:?}");
    assert!(sent > 50, "{orders:?}");
    assert_eq!(stats.orders, sent);
    assert!(fills.len() > 10, "{stats:?}");
    assert!(stats.maker_qty > 0, "{stats:?}");
    assert_eq!(
        stats.fills + stats.partial_fills,
        fills.len() as u64,
        "{stats:?}"
    );

    // Every report's leaves/cum add up, per venue order.
    let mut book: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    for e in &r.rec.inputs {
        let EventBody::ExecReport {
            exec,
            venue_order_id,
            qty,
            leaves_qty,
            cum_qty,
            ..
        } = e.body
        else {
            continue;
        };
        match exec {
            ExecKind::Ack => {
                book.insert(venue_order_id, (qty.raw(), 0));
            }
            ExecKind::PartialFill | ExecKind::Fill => {
                let (total, cum) = book.get_mut(&venue_order_id).unwrap();
                *cum += qty.raw();
                assert_eq!((cum_qty.raw(), leaves_qty.raw()), (*cum, *total - *cum));
            }
            ExecKind::Canceled => assert_eq!(leaves_qty.raw(), 0),
            _ => {}
        }
    }

    // Positions in the OMS (and risk) are exactly the fills.
    let mut position = vec![0i64; cfg.instruments.len()];
    for e in &fills {
        let EventBody::ExecReport { side, qty, .. } = e.body else {
            unreachable!()
        };
        let q = match side {
            Side::Buy => qty.raw(),
            Side::Sell => -qty.raw(),
        };
        position[e.header.instrument.get() as usize] += q;
    }
    for spec in &cfg.instruments {
        let i = spec.id.get() as usize;
        let p = oms.position(spec.id).unwrap();
        println!(
            "{}: position {}, realised {}, fees {}",
            spec.symbol, p.qty, p.realised, p.fees
        );
        assert_eq!(p.qty, position[i], "{}", spec.symbol);
        assert_eq!(risk.position(spec.id), Some(i128::from(position[i])));
    }
    for kind in AnomalyKind::ALL {
        if oms.anomalies(kind) > 0 {
            println!("OMS anomaly {kind:?}: {}", oms.anomalies(kind));
        }
    }
    for code in tickrail_engine::RiskCode::ALL {
        if risk.reject_count(code) > 0 {
            println!("risk reject {}: {}", code.name(), risk.reject_count(code));
        }
    }
    // The only OMS anomalies: cancel requests that lost the race against a fill (the venue
    // answers `CancelRejected`, which the OMS counts as a late report on a filled order).
    let mut done = std::collections::BTreeSet::new();
    let mut lost_races = 0;
    for e in &r.rec.inputs {
        if let EventBody::ExecReport {
            exec,
            venue_order_id,
            reject_code,
            ..
        } = e.body
        {
            match exec {
                ExecKind::Fill | ExecKind::Canceled => {
                    done.insert(venue_order_id);
                }
                ExecKind::CancelRejected => {
                    assert_eq!(reject_code, reject::ORDER_NOT_LIVE, "{e:?}");
                    assert!(done.contains(&venue_order_id), "{e:?}");
                    lost_races += 1;
                }
                _ => {}
            }
        }
    }
    assert_eq!(stats.cancel_rejects, lost_races);
    assert_eq!(oms.anomalies(AnomalyKind::LateReport), lost_races);
    assert_eq!(oms.anomaly_total(), lost_races, "no other OMS anomaly");
    fills.len()
}

fn bytes(events: &[Event]) -> Vec<u8> {
    events.iter().flat_map(archive_event).collect()
}

#[test]
fn the_chain_trades_historical_l3_data_deterministically() {
    let cfg = config();
    let data = historical_data(&cfg);
    println!("{} historical events", data.len());
    let a = run(&cfg, &data, QueueModel::Fifo);
    check(&cfg, &data, &a);
    let b = run(&cfg, &data, QueueModel::Fifo);
    assert_eq!(a.runner.summary(), b.runner.summary());
    assert_eq!(bytes(&a.rec.inputs), bytes(&b.rec.inputs));
    assert_eq!(bytes(&a.rec.outputs), bytes(&b.rec.outputs));
    println!(
        "two runs: {} inputs, {} outputs, identical bytes",
        a.rec.inputs.len(),
        a.rec.outputs.len()
    );
}

#[test]
fn the_probabilistic_queue_runs_the_same_chain() {
    let cfg = config();
    let data = historical_data(&cfg);
    let r = run(&cfg, &data, QueueModel::Probabilistic { power: 2.0 });
    check(&cfg, &data, &r);
}

#[test]
fn steady_state_allocates_nothing_per_event() {
    let cfg = config();
    let data = historical_data(&cfg);
    let v = &cfg.venues[0];
    let params = BacktestParams {
        venue: v.id,
        feed_latency_ns: Some(v.feed_latency_ns),
        entry_latency_ns: v.entry_latency_ns,
        ack_latency_ns: v.ack_latency_ns,
        queue: QueueModel::Fifo,
        book: BookSizing::default(),
    };
    let feed = VecFeed {
        events: data.iter().copied().collect(),
        stats: FeedStats::default(),
    };
    let mut m = HistoricalMarket::new(feed, params, &cfg.instruments).unwrap();
    let next = |m: &mut HistoricalMarket<VecFeed>| {
        m.next_due_ns();
        m.next_input()
    };
    // Warm-up: a fifth of the data, then orders of ours resting at each touch (they fill
    // or wait in the queue while the rest runs) and one far from it.
    for _ in 0..data.len() / 5 {
        next(&mut m).unwrap();
    }
    let mut id = 0;
    for spec in &cfg.instruments {
        let book = m.book(spec.id).unwrap();
        let (bid, ask) = (book.best_bid().unwrap(), book.best_ask().unwrap());
        for (side, px) in [
            (Side::Buy, bid.px),
            (Side::Sell, ask.px),
            (Side::Buy, bid.px / 2),
        ] {
            id += 1;
            let request = Event::new(
                EventHeader {
                    sequence: id,
                    cause_sequence: id,
                    exchange_ts_ns: m.now_ns(),
                    receive_ts_ns: m.now_ns(),
                    instrument: spec.id,
                    price_scale: spec.price_scale.get(),
                    qty_scale: spec.qty_scale.get(),
                    source: 0,
                },
                EventBody::OrderNew {
                    side,
                    tif: TimeInForce::Gtc,
                    venue: v.id,
                    client_order_id: id,
                    price: Price::new(px),
                    qty: Qty::new(300),
                },
            );
            m.submit(m.now_ns(), &request).unwrap();
        }
    }
    for _ in 0..1_000 {
        next(&mut m).unwrap();
    }
    let before = thread_allocations();
    let mut inputs = 0u64;
    while next(&mut m).is_some() {
        inputs += 1;
    }
    let allocations = thread_allocations() - before;
    let s = m.stats();
    println!(
        "{inputs} inputs after warm-up, {allocations} allocations; {} fills, {} open",
        s.fills + s.partial_fills,
        m.open_orders()
    );
    assert!(s.fills + s.partial_fills > 0, "{s:?}");
    assert_eq!(allocations, 0);
}

mod random_l2 {
    //! Every queue model against random level data with random orders of ours.

    use super::*;
    use proptest::prelude::*;
    use tickrail_engine::{Aggressor, InstrumentId, InstrumentSpec, LevelAction, Scale};

    const VENUE: u16 = 1;

    fn spec() -> InstrumentSpec {
        InstrumentSpec {
            id: InstrumentId::new(0),
            symbol: "TEST".into(),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
            tick_size: 1,
            lot_size: 1,
        }
    }

    fn event(t: i64, source: u16, body: EventBody) -> Event {
        Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: t,
                receive_ts_ns: t,
                instrument: InstrumentId::new(0),
                price_scale: 2,
                qty_scale: 0,
                source,
            },
            body,
        )
    }

    /// A feed step: a bid level (price 98..=100) now shows a quantity, or a trade at a bid
    /// price (aggressor: 0 sell, 1 buy, 2 unknown).
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Level(i64, i64),
        Trade(i64, i64, u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (98i64..=100, 0i64..300).prop_map(|(p, q)| Step::Level(p, q)),
            (97i64..=100, 1i64..80, 0u8..3).prop_map(|(p, q, a)| Step::Trade(p, q, a)),
        ]
    }

    /// Feed events 10 ns apart from t = 10 (asks at 101 and 102 first: our bids never
    /// cross, so every fill of ours is a resting fill).
    fn feed(steps: &[Step]) -> Vec<Event> {
        let mut out = Vec::new();
        let mut t = 0;
        let mut next = || {
            t += 10;
            t
        };
        for px in [101, 102] {
            out.push(event(
                next(),
                VENUE,
                EventBody::BookLevel {
                    side: Side::Sell,
                    action: LevelAction::Upsert,
                    level: 0,
                    price: Price::new(px),
                    qty: Qty::new(500),
                },
            ));
        }
        for &s in steps {
            let body = match s {
                Step::Level(px, q) => EventBody::BookLevel {
                    side: Side::Buy,
                    action: if q == 0 {
                        LevelAction::Delete
                    } else {
                        LevelAction::Upsert
                    },
                    level: 0,
                    price: Price::new(px),
                    qty: Qty::new(q),
                },
                Step::Trade(px, q, a) => EventBody::Trade {
                    aggressor: [Aggressor::Sell, Aggressor::Buy, Aggressor::Unknown]
                        [usize::from(a)],
                    price: Price::new(px),
                    qty: Qty::new(q),
                    trade_id: 0,
                },
            };
            out.push(event(next(), VENUE, body));
        }
        out
    }

    fn models() -> [QueueModel; 6] {
        [
            QueueModel::Fifo,
            QueueModel::RiskAverse,
            QueueModel::Probabilistic { power: 0.0 },
            QueueModel::Probabilistic { power: 3.0 },
            QueueModel::LogProbabilistic,
            QueueModel::LogProbabilistic2,
        ]
    }

    /// The displayed bid at `px` in the venue's book (0 when absent).
    fn displayed(m: &HistoricalMarket<VecFeed>, px: i64) -> i64 {
        let book = m.book(InstrumentId::new(0)).unwrap();
        (0..)
            .map_while(|i| book.depth(Side::Buy, i))
            .find(|l| l.px == px)
            .map_or(0, |l| l.qty)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Under every model: no fill before the order arrives, a queue fill never exceeds
        /// the trade that gave it (our orders at one price share it), the queue ahead of a
        /// resting order is never negative nor above what its level displays, and an
        /// order never fills beyond its quantity.
        #[test]
        fn every_model_keeps_the_queue_invariants(
            steps in prop::collection::vec(step(), 1..50),
            orders in prop::collection::vec((0usize..50, 98i64..=100, 1i64..60), 1..6),
            entry_latency_ns in 0i64..40,
        ) {
            let data = feed(&steps);
            for model in models() {
                let mut params = BacktestParams::new(VENUE, model);
                params.entry_latency_ns = entry_latency_ns;
                let mut m = HistoricalMarket::new(
                    VecFeed { events: data.iter().copied().collect(), stats: FeedStats::default() },
                    params,
                    &[spec()],
                )
                .unwrap();
                // Orders are submitted on the receive of the feed event they name.
                let mut arrival: BTreeMap<u64, (i64, i64, i64)> = BTreeMap::new();
                let mut fills: Vec<(i64, u64, i64)> = Vec::new();
                let mut seen = 0usize;
                loop {
                    m.next_due_ns();
                    let Some(e) = m.next_input() else { break };
                    let now = e.header.receive_ts_ns;
                    if let EventBody::ExecReport {
                        exec: ExecKind::PartialFill | ExecKind::Fill,
                        client_order_id,
                        qty,
                        ..
                    } = e.body
                    {
                        fills.push((e.header.exchange_ts_ns, client_order_id, qty.raw()));
                    } else if !matches!(e.body, EventBody::ExecReport { .. }) {
                        for (k, &(at, px, q)) in orders.iter().enumerate() {
                            if at != seen {
                                continue;
                            }
                            let id = k as u64 + 1;
                            let request = event(now, 0, EventBody::OrderNew {
                                side: Side::Buy,
                                tif: TimeInForce::Gtc,
                                venue: VENUE,
                                client_order_id: id,
                                price: Price::new(px),
                                qty: Qty::new(q),
                            });
                            m.submit(now, &request).unwrap();
                            arrival.insert(id, (now + entry_latency_ns, px, q));
                        }
                        seen += 1;
                    }
                    for (&id, &(_, px, _)) in &arrival {
                        if let Some(a) = m.order(id).and_then(|o| o.queue_ahead) {
                            let shown = displayed(&m, px) as f64;
                            prop_assert!(a >= 0.0, "{model:?}: order {id} ahead {a}");
                            prop_assert!(a <= shown, "{model:?}: order {id} ahead {a} > {shown}");
                        }
                    }
                }
                let mut filled: BTreeMap<u64, i64> = BTreeMap::new();
                let mut at_price: BTreeMap<(i64, i64), i64> = BTreeMap::new();
                for &(t, id, q) in &fills {
                    let (arrives, px, qty) = arrival[&id];
                    prop_assert!(t >= arrives, "{model:?}: order {id} filled at {t} < {arrives}");
                    *filled.entry(id).or_default() += q;
                    prop_assert!(filled[&id] <= qty, "{model:?}: order {id} overfilled");
                    *at_price.entry((t, px)).or_default() += q;
                }
                // The feed event at `t`: a trade at an order's own price gives queue fills of
                // at most its quantity (a trade below it fills through, whatever is left).
                for (&(t, px), &q) in &at_price {
                    let k = usize::try_from(t / 10 - 3).unwrap();
                    match steps[k] {
                        Step::Trade(tp, tq, a) if tp == px => {
                            prop_assert!(a != 1, "{model:?}: a buyer's trade filled a bid");
                            prop_assert!(q <= tq, "{model:?}: {q} filled at {t} of {tq} traded");
                        }
                        Step::Trade(tp, _, a) => prop_assert!(tp < px && a != 1),
                        Step::Level(..) => prop_assert!(false, "{model:?}: a fill at {t} on a level update"),
                    }
                }
            }
        }
    }
}
