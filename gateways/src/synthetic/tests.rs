//! Scenario tests of the synthetic market: determinism, regimes, depth, price discovery,
//! fills of our orders, several venues, time order, config and submit errors.

use std::collections::BTreeMap;

use tickrail_engine::book::l3::L3Book;
use tickrail_engine::book::BookView;
use tickrail_engine::{
    Event, EventBody, EventHeader, EventKind, ExecKind, InstrumentId, Price, Qty, Scale, Side,
    TimeInForce,
};

use super::*;
use crate::venue::{is_participant_id, VenueConfig};

const SEC: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
const A: InstrumentId = InstrumentId::new(1);
const B: InstrumentId = InstrumentId::new(2);

fn venue_config(venue_id: u16, entry: i64, ack: i64, feed: i64) -> VenueConfig {
    VenueConfig {
        venue_id,
        entry_latency_ns: entry,
        ack_latency_ns: ack,
        feed_latency_ns: feed,
        publish_market_data: true,
    }
}

/// Two instruments (100.00 with 0.01 ticks; 25.000 with 0.005 ticks and 100-unit lots), one
/// venue, one regime of `vol` bps/√s.
fn config(seed: u64, duration_ns: i64, vol: f64) -> SyntheticConfig {
    SyntheticConfig {
        seed,
        start_ns: 1_000 * SEC,
        duration_ns,
        instruments: vec![
            InstrumentConfig::new(A, Scale::new(2), Scale::new(0), 1, 1, 10_000),
            InstrumentConfig {
                events_per_s: 500.0,
                ..InstrumentConfig::new(B, Scale::new(3), Scale::new(0), 5, 100, 25_000)
            },
        ],
        regimes: vec![VolRegime {
            vol_bps_per_sqrt_s: vol,
            mean_duration_s: 30.0,
        }],
        venues: vec![venue_config(1, MS, MS / 2, MS / 5)],
    }
}

fn our_request(id: u64, instrument: InstrumentId, body: EventBody) -> Event {
    Event {
        header: EventHeader {
            sequence: id,
            cause_sequence: id,
            exchange_ts_ns: 0,
            receive_ts_ns: 0,
            instrument,
            price_scale: 2,
            qty_scale: 0,
            source: 0,
        },
        body,
    }
}

fn new_order(venue: u16, id: u64, side: Side, tif: TimeInForce, price: i64, qty: i64) -> EventBody {
    EventBody::OrderNew {
        side,
        tif,
        venue,
        client_order_id: id,
        price: Price::new(price),
        qty: Qty::new(qty),
    }
}

/// Best bid and ask of `instrument` at venue index `v`, raw.
fn touch(m: &SyntheticMarket, v: usize, instrument: InstrumentId) -> (Option<i64>, Option<i64>) {
    let (b, a) = m.venues()[v]
        .engine(instrument)
        .map(|e| e.best_prices())
        .unwrap_or((None, None));
    (b.map(|p| p.raw()), a.map(|p| p.raw()))
}

fn mid(m: &SyntheticMarket, v: usize, instrument: InstrumentId) -> Option<f64> {
    match touch(m, v, instrument) {
        (Some(b), Some(a)) => Some((b + a) as f64 / 2.0),
        _ => None,
    }
}

/// Runs the market to the end, calling `sample` at every multiple of `every_ns` after the
/// start (before the first event at or past that time is returned) and `on_event` for every
/// event. Returns the number of events.
fn run(
    m: &mut SyntheticMarket,
    every_ns: i64,
    mut sample: impl FnMut(&SyntheticMarket, i64),
    mut on_event: impl FnMut(&mut SyntheticMarket, &Event),
) -> u64 {
    let mut next_sample = m.config().start_ns + every_ns;
    let mut n = 0;
    while let Some(e) = m.next_event() {
        while e.header.receive_ts_ns >= next_sample {
            sample(m, next_sample);
            next_sample += every_ns;
        }
        on_event(m, &e);
        n += 1;
    }
    n
}

/// Submits a marketable order of ours on every 997th event (alternating sides and
/// instruments), so the streams include our orders and reports.
fn with_our_orders(m: &mut SyntheticMarket, e: &Event, count: &mut u64) {
    *count += 1;
    if !count.is_multiple_of(997) {
        return;
    }
    let id = *count;
    let instrument = if id.is_multiple_of(2) { A } else { B };
    let (bid, ask) = touch(m, 0, instrument);
    let (Some(bid), Some(ask)) = (bid, ask) else {
        return;
    };
    let lot = if instrument == A { 1 } else { 100 };
    let (side, price) = if (id / 2).is_multiple_of(2) {
        (Side::Buy, ask)
    } else {
        (Side::Sell, bid)
    };
    let body = new_order(1, id, side, TimeInForce::Ioc, price, lot);
    m.submit(e.header.receive_ts_ns, &our_request(id, instrument, body))
        .unwrap();
}

fn stream(seed: u64) -> Vec<Event> {
    let mut m = SyntheticMarket::new(config(seed, 5 * SEC, 20.0)).unwrap();
    let mut out = Vec::new();
    let mut count = 0;
    run(
        &mut m,
        SEC,
        |_, _| {},
        |m, e| {
            out.push(*e);
            with_our_orders(m, e, &mut count);
        },
    );
    out
}

#[test]
fn same_seed_same_stream_and_another_seed_differs() {
    let first = stream(7);
    let second = stream(7);
    assert!(first.len() > 5_000, "{} events", first.len());
    assert!(first == second, "same seed and orders, different streams");
    let ours = first
        .iter()
        .filter(|e| e.kind() == EventKind::ExecReport)
        .count();
    assert!(ours > 5, "{ours} reports of ours");
    let other = stream(8);
    assert!(first != other);
}

#[test]
fn our_orders_do_not_change_the_fair_value_path() {
    let final_fair = |with_orders: bool| {
        let mut m = SyntheticMarket::new(config(3, 5 * SEC, 30.0)).unwrap();
        let mut count = 0;
        run(
            &mut m,
            SEC,
            |_, _| {},
            |m, e| {
                if with_orders {
                    with_our_orders(m, e, &mut count);
                }
            },
        );
        (
            m.fair_value_raw(A),
            m.fair_value_raw(B),
            m.stats().our_requests,
        )
    };
    let (a1, b1, n1) = final_fair(false);
    let (a2, b2, n2) = final_fair(true);
    assert_eq!((n1, n2 > 5), (0, true));
    assert_eq!((a1, b1), (a2, b2));
}

/// Realised volatility of the venue's mid, sampled every second, per regime (only intervals
/// that start and end in the same regime count). Returns (bps per √s, samples) per regime.
#[test]
fn volatile_regime_has_higher_realised_volatility() {
    let mut cfg = config(11, 600 * SEC, 0.0);
    cfg.instruments.truncate(1);
    cfg.regimes = vec![
        VolRegime {
            vol_bps_per_sqrt_s: 2.0,
            mean_duration_s: 40.0,
        },
        VolRegime {
            vol_bps_per_sqrt_s: 40.0,
            mean_duration_s: 40.0,
        },
    ];
    let mut m = SyntheticMarket::new(cfg).unwrap();
    let mut last: Option<(f64, usize)> = None;
    // Per regime: sum of squared log returns, count.
    let mut acc = [(0.0f64, 0u32); 2];
    let mut fair_acc = [(0.0f64, 0u32); 2];
    let mut last_fair: Option<f64> = None;
    run(
        &mut m,
        SEC,
        |m, _| {
            let (Some(mid), regime) = (mid(m, 0, A), m.regime()) else {
                return;
            };
            let fair = m.fair_value_raw(A).unwrap_or(mid);
            if let (Some((prev, prev_regime)), Some(prev_fair)) = (last, last_fair) {
                if prev_regime == regime {
                    let r = (mid / prev).ln();
                    acc[regime].0 += r * r;
                    acc[regime].1 += 1;
                    let f = (fair / prev_fair).ln();
                    fair_acc[regime].0 += f * f;
                    fair_acc[regime].1 += 1;
                }
            }
            last = Some((mid, regime));
            last_fair = Some(fair);
        },
        |_, _| {},
    );
    let rv = |(sum, n): (f64, u32)| (sum / f64::from(n.max(1))).sqrt() * 1e4;
    let (calm, volatile) = (rv(acc[0]), rv(acc[1]));
    println!(
        "realised vol: calm {calm:.2} bps/√s over {} s (fair {:.2}), volatile {volatile:.2} \
         bps/√s over {} s (fair {:.2}); {} switches",
        acc[0].1,
        rv(fair_acc[0]),
        acc[1].1,
        rv(fair_acc[1]),
        m.stats().regime_switches
    );
    assert!(acc[0].1 >= 60 && acc[1].1 >= 60, "{acc:?}");
    assert!(m.stats().regime_switches >= 4);
    assert!(volatile > 5.0 * calm, "calm {calm}, volatile {volatile}");
    assert!((25.0..60.0).contains(&volatile), "volatile {volatile}");
    assert!(calm < 8.0, "calm {calm}");
}

#[test]
fn book_keeps_depth_stays_bounded_and_never_crosses() {
    let mut m = SyntheticMarket::new(config(5, 60 * SEC, 15.0)).unwrap();
    let insts = [A, B];
    let max_resting = m
        .config()
        .instruments
        .iter()
        .map(|c| c.max_resting_orders)
        .max()
        .unwrap_or(0);
    let mut samples = 0u32;
    let mut deep = 0u32;
    let mut books: BTreeMap<(u16, InstrumentId), L3Book> = BTreeMap::new();
    let mut anomalies = Vec::new();
    run(
        &mut m,
        100 * MS,
        |m, _| {
            for inst in insts {
                let e = m.venues()[0].engine(inst).unwrap();
                assert!(!e.is_crossed());
                assert!(
                    e.open_orders() <= max_resting as usize,
                    "{}",
                    e.open_orders()
                );
                samples += 1;
                if e.level_count(Side::Buy) >= 5 && e.level_count(Side::Sell) >= 5 {
                    deep += 1;
                }
            }
        },
        |_, e| {
            let book = books
                .entry((e.header.source, e.header.instrument))
                .or_insert_with(|| L3Book::with_capacity(4096, 512));
            if let Some(a) = book.apply_event(e) {
                anomalies.push((a, *e));
            }
        },
    );
    assert!(
        anomalies.is_empty(),
        "{:?}",
        &anomalies[..anomalies.len().min(5)]
    );
    let share = f64::from(deep) / f64::from(samples);
    println!(
        "≥ 5 levels per side in {:.1}% of {samples} samples",
        share * 100.0
    );
    assert!(share > 0.95, "{share}");
    // Drained: the public books equal the venue's.
    for inst in insts {
        let e = m.venues()[0].engine(inst).unwrap();
        e.check_invariants().unwrap();
        let book = &books[&(1, inst)];
        for side in [Side::Buy, Side::Sell] {
            let venue: Vec<(i64, i64)> = e.depth(side).map(|(p, q)| (p.raw(), q.raw())).collect();
            let public: Vec<(i64, i64)> = (0..)
                .map_while(|i| book.depth(side, i))
                .map(|l| (l.px, l.qty))
                .collect();
            assert_eq!(venue, public);
        }
    }
    let s = m.stats();
    assert!(s.trades > 1_000 && s.participant_cancels > 10_000, "{s:?}");
    assert_eq!(s.events_of(EventKind::ExecReport), 0);
}

#[test]
fn prices_follow_the_fair_value() {
    let mut m = SyntheticMarket::new(config(9, 120 * SEC, 20.0)).unwrap();
    let mut dev_ticks = Vec::new();
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    run(
        &mut m,
        SEC,
        |m, _| {
            if let (Some(mid), Some(fair)) = (mid(m, 0, A), m.fair_value_raw(A)) {
                dev_ticks.push((mid - fair).abs());
                lo = lo.min(fair);
                hi = hi.max(fair);
            }
        },
        |_, _| {},
    );
    let mean = dev_ticks.iter().sum::<f64>() / dev_ticks.len() as f64;
    let max = dev_ticks.iter().copied().fold(0.0, f64::max);
    println!(
        "fair value range {:.0} ticks; |mid - fair| mean {mean:.2}, max {max:.2} ticks",
        hi - lo
    );
    assert!(dev_ticks.len() >= 100);
    assert!(hi - lo > 50.0, "the fair value barely moved: {lo}..{hi}");
    // The fair value moves ~20 ticks per √s here: the mid trails it by a few ticks at most.
    assert!(mean < 4.0 && max < 15.0, "mean {mean}, max {max}");
}

#[test]
fn crossing_order_fills_with_the_configured_latencies() {
    let mut m = SyntheticMarket::new(config(21, 3 * SEC, 10.0)).unwrap();
    let t0 = m.config().start_ns + SEC;
    let mut sent_at = None;
    let mut ours = Vec::new();
    let mut prints = Vec::new();
    while let Some(e) = m.next_event() {
        if sent_at.is_none() && e.header.receive_ts_ns >= t0 {
            let (_, Some(ask)) = touch(&m, 0, A) else {
                panic!("no ask");
            };
            let now = m.now_ns();
            let body = new_order(1, 1, Side::Buy, TimeInForce::Day, ask + 5, 3);
            m.submit(now, &our_request(1, A, body)).unwrap();
            sent_at = Some(now);
        }
        match e.body {
            EventBody::ExecReport { .. } => ours.push(e),
            EventBody::Trade { aggressor, .. }
                if e.header.instrument == A
                    && sent_at.is_some_and(|t| e.header.exchange_ts_ns == t + MS) =>
            {
                prints.push((aggressor, e.header))
            }
            _ => {}
        }
    }
    let sent = sent_at.unwrap();
    let (processed, delivered) = (sent + MS, sent + MS + MS / 2);
    assert!(!ours.is_empty());
    for e in &ours {
        assert_eq!(
            (e.header.exchange_ts_ns, e.header.receive_ts_ns),
            (processed, delivered)
        );
        assert_eq!((e.header.source, e.header.instrument), (1, A));
    }
    let kinds: Vec<ExecKind> = ours
        .iter()
        .filter_map(|e| match e.body {
            EventBody::ExecReport { exec, .. } => Some(exec),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.first(), Some(&ExecKind::Ack));
    assert_eq!(kinds.last(), Some(&ExecKind::Fill));
    let EventBody::ExecReport { cum_qty, .. } = ours[ours.len() - 1].body else {
        panic!()
    };
    assert_eq!(cum_qty.raw(), 3);
    // Our fill printed on the tape at the feed latency.
    assert!(!prints.is_empty());
    for (aggressor, h) in prints {
        assert_eq!(aggressor, tickrail_engine::Aggressor::Buy);
        assert_eq!(h.receive_ts_ns, processed + MS / 5);
    }
}

#[test]
fn resting_orders_get_filled_by_participant_flow() {
    let mut m = SyntheticMarket::new(config(33, 60 * SEC, 10.0)).unwrap();
    let start = m.config().start_ns;
    // Every 2 s from 1 s to 41 s: join the best bid and the best ask with one lot each.
    let mut placed: BTreeMap<u64, i64> = BTreeMap::new();
    let mut filled: BTreeMap<u64, i64> = BTreeMap::new();
    let mut next_place = start + SEC;
    let mut id = 0u64;
    while let Some(e) = m.next_event() {
        if let EventBody::ExecReport {
            exec: ExecKind::Fill,
            client_order_id,
            ..
        } = e.body
        {
            filled.insert(client_order_id, e.header.receive_ts_ns);
        }
        if e.header.receive_ts_ns >= next_place && next_place <= start + 41 * SEC {
            next_place += 2 * SEC;
            let (Some(bid), Some(ask)) = touch(&m, 0, A) else {
                continue;
            };
            for (side, px) in [(Side::Buy, bid), (Side::Sell, ask)] {
                id += 1;
                let body = new_order(1, id, side, TimeInForce::Day, px, 1);
                m.submit(m.now_ns(), &our_request(id, A, body)).unwrap();
                placed.insert(id, m.now_ns());
            }
        }
    }
    let within = |limit: i64| {
        placed
            .iter()
            .filter(|(id, at)| filled.get(id).is_some_and(|t| t - **at <= limit))
            .count()
    };
    println!(
        "{} orders at the touch: {} filled within 1 s, {} within 10 s, {} by the end",
        placed.len(),
        within(SEC),
        within(10 * SEC),
        filled.len()
    );
    assert_eq!(placed.len(), 42);
    assert!(
        within(10 * SEC) * 10 >= placed.len() * 7,
        "{}",
        within(10 * SEC)
    );
}

#[test]
fn venues_agree_on_price_but_books_differ() {
    let mut cfg = config(44, 120 * SEC, 15.0);
    cfg.venues = vec![
        venue_config(1, MS, MS / 2, MS / 5),
        venue_config(2, 3 * MS, MS, MS / 2),
    ];
    let mut m = SyntheticMarket::new(cfg).unwrap();
    let (mut close, mut differ, mut samples) = (0u32, 0u32, 0u32);
    let mut sources = BTreeMap::new();
    run(
        &mut m,
        SEC,
        |m, _| {
            let (Some(a), Some(b)) = (mid(m, 0, A), mid(m, 1, A)) else {
                return;
            };
            samples += 1;
            if (a - b).abs() <= 3.0 {
                close += 1;
            }
            let levels = |v: usize| -> Vec<(Price, Qty)> {
                m.venues()[v]
                    .engine(A)
                    .map(|e| e.depth(Side::Buy).collect())
                    .unwrap_or_default()
            };
            if levels(0) != levels(1) {
                differ += 1;
            }
        },
        |_, e| *sources.entry(e.header.source).or_insert(0u64) += 1,
    );
    println!("mids within 3 ticks in {close} of {samples} samples; books differ in {differ}");
    assert!(samples >= 100);
    assert!(close * 100 >= samples * 95, "{close}/{samples}");
    assert!(differ * 100 >= samples * 95, "{differ}/{samples}");
    assert_eq!(sources.keys().copied().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn receive_times_never_go_backwards_and_the_stream_ends() {
    let mut cfg = config(55, 10 * SEC, 25.0);
    cfg.venues = vec![venue_config(1, 0, 0, 0), venue_config(2, 2 * MS, 1, 7 * MS)];
    cfg.regimes[0].mean_duration_s = 1.0;
    cfg.regimes.push(VolRegime {
        vol_bps_per_sqrt_s: 80.0,
        mean_duration_s: 1.0,
    });
    let mut m = SyntheticMarket::new(cfg).unwrap();
    let mut last = i64::MIN;
    let mut count = 0;
    let mut n = 0u64;
    while let Some(e) = m.next_event() {
        assert!(e.header.receive_ts_ns >= last, "{e} after {last}");
        assert!(e.header.receive_ts_ns >= e.header.exchange_ts_ns);
        last = e.header.receive_ts_ns;
        if let EventBody::ExecReport {
            client_order_id, ..
        } = e.body
        {
            assert!(!is_participant_id(client_order_id));
        }
        n += 1;
        with_our_orders(&mut m, &e, &mut count);
    }
    assert_eq!(m.next_event(), None);
    let s = *m.stats();
    assert_eq!(s.events, n);
    let by_kind: u64 = EventKind::ALL.iter().map(|&k| s.events_of(k)).sum();
    assert_eq!(by_kind, n);
    assert_eq!(s.events_of(EventKind::Trade), s.trades);
    assert!(s.events_of(EventKind::OrderAdd) > 0 && s.events_of(EventKind::OrderDelete) > 0);
    assert!(s.events_of(EventKind::OrderExecute) >= s.trades);
    assert!(s.regime_switches > 3 && s.our_requests > 5, "{s:?}");
    assert!(last <= m.end_ns() + 7 * MS);
    assert!(m.venues().iter().all(|v| v.pending() == 0));
}

#[test]
fn config_errors_name_the_field() {
    let field_of = |cfg: SyntheticConfig| match SyntheticMarket::new(cfg) {
        Err(ConfigError::Invalid { field, .. } | ConfigError::Venue { field, .. }) => field,
        Ok(_) => "ok".to_string(),
    };
    let base = || config(1, SEC, 10.0);
    assert_eq!(field_of(base()), "ok");
    type Mutate = Box<dyn Fn(&mut SyntheticConfig)>;
    let cases: Vec<(Mutate, &str)> = vec![
        (Box::new(|c| c.duration_ns = 0), "duration_ns"),
        (Box::new(|c| c.start_ns = -1), "start_ns"),
        (Box::new(|c| c.instruments.clear()), "instruments"),
        (
            Box::new(|c| c.instruments[1].tick_raw = 0),
            "instruments[1].tick_raw",
        ),
        (
            Box::new(|c| c.instruments[0].lot_raw = -5),
            "instruments[0].lot_raw",
        ),
        (
            Box::new(|c| c.instruments[0].initial_mid_raw = 39),
            "instruments[0].initial_mid_raw",
        ),
        (
            Box::new(|c| c.instruments[0].events_per_s = f64::NAN),
            "instruments[0].events_per_s",
        ),
        (
            Box::new(|c| c.instruments[0].depth_levels = 0),
            "instruments[0].depth_levels",
        ),
        (
            Box::new(|c| c.instruments[0].max_resting_orders = 0),
            "instruments[0].max_resting_orders",
        ),
        (
            Box::new(|c| c.instruments[0].marketable_fraction = 1.0),
            "instruments[0].marketable_fraction",
        ),
        (
            Box::new(|c| c.instruments[0].vol_multiplier = -1.0),
            "instruments[0].vol_multiplier",
        ),
        (
            Box::new(|c| {
                c.instruments[0].order_size = OrderSize::Uniform {
                    min_lots: 3,
                    max_lots: 2,
                }
            }),
            "instruments[0].order_size.max_lots",
        ),
        (
            Box::new(|c| c.instruments[0].order_size = OrderSize::Fixed { lots: 0 }),
            "instruments[0].order_size.lots",
        ),
        (
            Box::new(|c| {
                c.instruments[0].order_size = OrderSize::LogNormal {
                    median_lots: 2.0,
                    sigma: f64::INFINITY,
                    max_lots: 9,
                }
            }),
            "instruments[0].order_size.sigma",
        ),
        (
            Box::new(|c| {
                c.instruments[0].lot_raw = i64::MAX / 2;
                c.instruments[0].order_size = OrderSize::Fixed { lots: 3 };
            }),
            "instruments[0].order_size",
        ),
        (
            Box::new(|c| c.instruments[1].instrument = A),
            "instruments[1].instrument",
        ),
        (Box::new(|c| c.regimes.clear()), "regimes"),
        (
            Box::new(|c| c.regimes[0].mean_duration_s = 0.0),
            "regimes[0].mean_duration_s",
        ),
        (
            Box::new(|c| c.regimes[0].vol_bps_per_sqrt_s = -1.0),
            "regimes[0].vol_bps_per_sqrt_s",
        ),
        (Box::new(|c| c.venues.clear()), "venues"),
        (
            Box::new(|c| c.venues[0].publish_market_data = false),
            "venues[0].publish_market_data",
        ),
        (
            Box::new(|c| c.venues.push(c.venues[0])),
            "venues[1].venue_id",
        ),
        (Box::new(|c| c.venues[0].ack_latency_ns = -1), "venues[0]"),
    ];
    for (mutate, field) in cases {
        let mut cfg = base();
        mutate(&mut cfg);
        assert_eq!(field_of(cfg), field);
    }
    let err = SyntheticMarket::new(SyntheticConfig {
        duration_ns: -3,
        ..base()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "synthetic config: duration_ns: must be positive"
    );
    // The demo config is valid and runs.
    let mut demo = SyntheticMarket::new(SyntheticConfig::demo(1, 100 * MS)).unwrap();
    assert!(demo.next_event().is_some());
}

#[test]
fn submit_refuses_bad_requests() {
    let mut m = SyntheticMarket::new(config(1, SEC, 10.0)).unwrap();
    let timer = EventBody::Timer {
        timer_id: 1,
        deadline_ns: 0,
    };
    let now = m.now_ns();
    assert_eq!(
        m.submit(now, &our_request(1, A, timer)),
        Err(SubmitError::NotAnOrderRequest {
            kind: EventKind::Timer
        })
    );
    let to_venue_9 = new_order(9, 1, Side::Buy, TimeInForce::Day, 100, 1);
    assert_eq!(
        m.submit(now, &our_request(1, A, to_venue_9)),
        Err(SubmitError::UnknownVenue { venue: 9 })
    );
    let cancel = EventBody::OrderCancel {
        client_order_id: 2,
        orig_client_order_id: 1,
    };
    assert_eq!(
        m.submit(now, &our_request(2, A, cancel)),
        Err(SubmitError::UnknownOrder {
            orig_client_order_id: 1
        })
    );
    // Routed once the order exists; amends carry the route to the new id.
    let order = new_order(1, 1, Side::Buy, TimeInForce::Day, 9_000, 1);
    m.submit(now, &our_request(1, A, order)).unwrap();
    let amend = EventBody::OrderAmend {
        client_order_id: 3,
        orig_client_order_id: 1,
        price: Price::new(9_001),
        qty: Qty::new(1),
    };
    m.submit(now, &our_request(3, A, amend)).unwrap();
    let cancel = EventBody::OrderCancel {
        client_order_id: 4,
        orig_client_order_id: 3,
    };
    m.submit(now, &our_request(4, A, cancel)).unwrap();
    let mut execs = Vec::new();
    while let Some(e) = m.next_event() {
        if let EventBody::ExecReport { exec, .. } = e.body {
            execs.push(exec);
        }
    }
    assert_eq!(
        execs,
        [ExecKind::Ack, ExecKind::Replaced, ExecKind::Canceled]
    );
    assert_eq!(
        m.submit(now, &our_request(5, A, order)),
        Err(SubmitError::InThePast {
            now_ns: now,
            market_ns: m.now_ns()
        })
    );
}

/// Informational: how fast the generator runs (events per second of wall time). No timing
/// assertion — this machine is noisy; see `bench/` for measurements that count.
#[test]
#[allow(
    clippy::disallowed_methods,
    reason = "wall-clock throughput report only"
)]
fn generator_throughput() {
    let cfg = SyntheticConfig::demo(2024, 120 * SEC);
    let mut m = SyntheticMarket::new(cfg).unwrap();
    let started = std::time::Instant::now();
    let mut n = 0u64;
    let mut checksum = 0i64;
    while let Some(e) = m.next_event() {
        n += 1;
        checksum = checksum.wrapping_add(e.header.receive_ts_ns);
    }
    let wall = started.elapsed().as_secs_f64();
    let s = m.stats();
    println!(
        "synthetic generator: {n} events in {wall:.3} s wall = {:.0} events/s \
         ({} participant orders, {} cancels, {} trades, {} regime switches; checksum {checksum})",
        n as f64 / wall,
        s.participant_orders(),
        s.participant_cancels,
        s.trades,
        s.regime_switches
    );
    assert!(n > 100_000);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any seed, latencies, venue count and flow mix: receive times never go back, the
        /// public L3 books apply without an anomaly and, once drained, equal the venues'.
        #[test]
        fn any_market_keeps_time_order_and_public_books(
            seed in any::<u64>(),
            latencies in prop::collection::vec((0i64..3 * MS, 0i64..3 * MS, 0i64..3 * MS), 1..3),
            marketable in 0.0f64..0.9,
            depth in 1u32..12,
            max_resting in 1u32..60,
            vol in 0.0f64..200.0,
            sizes in (1u32..5, 0u32..20),
        ) {
            let mut cfg = config(seed, 300 * MS, vol);
            cfg.venues = latencies
                .iter()
                .enumerate()
                .map(|(i, &(entry, ack, feed))| venue_config(i as u16 + 1, entry, ack, feed))
                .collect();
            for inst in &mut cfg.instruments {
                inst.marketable_fraction = marketable;
                inst.depth_levels = depth;
                inst.max_resting_orders = max_resting;
                inst.order_size = OrderSize::Uniform { min_lots: sizes.0, max_lots: sizes.0 + sizes.1 };
            }
            let mut m = SyntheticMarket::new(cfg).unwrap();
            let mut books: BTreeMap<(u16, InstrumentId), L3Book> = BTreeMap::new();
            let mut last = i64::MIN;
            let mut count = 0;
            while let Some(e) = m.next_event() {
                prop_assert!(e.header.receive_ts_ns >= last);
                last = e.header.receive_ts_ns;
                let book = books
                    .entry((e.header.source, e.header.instrument))
                    .or_insert_with(|| L3Book::with_capacity(4096, 512));
                prop_assert_eq!(book.apply_event(&e), None, "{}", e);
                with_our_orders(&mut m, &e, &mut count);
            }
            for (v, venue) in m.venues().iter().enumerate() {
                for inst in [A, B] {
                    let engine = venue.engine(inst).unwrap();
                    prop_assert!(engine.check_invariants().is_ok());
                    prop_assert!(engine.open_orders() <= max_resting as usize + 1);
                    let book = books.get(&(v as u16 + 1, inst));
                    for side in [Side::Buy, Side::Sell] {
                        let venue_levels: Vec<(i64, i64)> =
                            engine.depth(side).map(|(p, q)| (p.raw(), q.raw())).collect();
                        let public: Vec<(i64, i64)> = book
                            .map(|b| {
                                (0..)
                                    .map_while(|i| b.depth(side, i))
                                    .map(|l| (l.px, l.qty))
                                    .collect()
                            })
                            .unwrap_or_default();
                        prop_assert_eq!(venue_levels, public);
                    }
                }
            }
        }
    }
}
