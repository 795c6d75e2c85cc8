//! Unit tests of the historical market: one rule per test, on hand-written feeds.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};

use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, ExecKind, InstrumentId, InstrumentSpec, LevelAction,
    Liquidity, Price, Qty, Scale, Side, TimeInForce, TradingState,
};
use tickrail_gateways::feed::{FeedSource, FeedStats};
use tickrail_gateways::venue::reject;

use super::queue::front_share;
use super::*;
use tickrail_engine::runtime::Market;

pub(super) const VENUE: u16 = 1;

/// An in-memory feed.
#[derive(Debug, Default)]
pub(super) struct VecFeed {
    pub(super) events: VecDeque<Event>,
    pub(super) stats: FeedStats,
}

impl FeedSource for VecFeed {
    fn next_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front();
        if e.is_some() {
            self.stats.events += 1;
        }
        e
    }
    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

pub(super) type Sim = HistoricalMarket<VecFeed>;

pub(super) fn spec() -> InstrumentSpec {
    InstrumentSpec {
        id: InstrumentId::new(0),
        symbol: "TEST".into(),
        price_scale: Scale::new(2),
        qty_scale: Scale::new(0),
        tick_size: 1,
        lot_size: 1,
    }
}

pub(super) fn md(t: i64, body: EventBody) -> Event {
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: t,
            receive_ts_ns: t,
            instrument: InstrumentId::new(0),
            price_scale: 2,
            qty_scale: 0,
            source: VENUE,
        },
        body,
    )
}

pub(super) fn add(t: i64, order_id: u64, side: Side, px: i64, q: i64) -> Event {
    md(
        t,
        EventBody::OrderAdd {
            side,
            order_id,
            price: Price::new(px),
            qty: Qty::new(q),
        },
    )
}

fn exec(t: i64, order_id: u64, q: i64, px: i64) -> Event {
    md(
        t,
        EventBody::OrderExecute {
            order_id,
            qty: Qty::new(q),
            price: Price::new(px),
            match_id: 0,
        },
    )
}

fn del(t: i64, order_id: u64) -> Event {
    md(t, EventBody::OrderDelete { order_id })
}

fn modify(t: i64, order_id: u64, px: i64, q: i64) -> Event {
    md(
        t,
        EventBody::OrderModify {
            order_id,
            price: Price::new(px),
            qty: Qty::new(q),
        },
    )
}

fn level(t: i64, side: Side, px: i64, q: i64) -> Event {
    md(
        t,
        EventBody::BookLevel {
            side,
            action: if q == 0 {
                LevelAction::Delete
            } else {
                LevelAction::Upsert
            },
            level: 0,
            price: Price::new(px),
            qty: Qty::new(q),
        },
    )
}

fn trade(t: i64, aggressor: Aggressor, px: i64, q: i64) -> Event {
    md(
        t,
        EventBody::Trade {
            aggressor,
            price: Price::new(px),
            qty: Qty::new(q),
            trade_id: 0,
        },
    )
}

pub(super) fn request(body: EventBody) -> Event {
    let mut e = md(0, body);
    e.header.source = 0;
    e
}

pub(super) fn new_order(id: u64, side: Side, tif: TimeInForce, px: i64, q: i64) -> Event {
    request(EventBody::OrderNew {
        side,
        tif,
        venue: VENUE,
        client_order_id: id,
        price: Price::new(px),
        qty: Qty::new(q),
    })
}

fn buy(id: u64, tif: TimeInForce, px: i64, q: i64) -> Event {
    new_order(id, Side::Buy, tif, px, q)
}

pub(super) fn cancel(id: u64, orig: u64) -> Event {
    request(EventBody::OrderCancel {
        client_order_id: id,
        orig_client_order_id: orig,
    })
}

pub(super) fn amend(id: u64, orig: u64, px: i64, q: i64) -> Event {
    request(EventBody::OrderAmend {
        client_order_id: id,
        orig_client_order_id: orig,
        price: Price::new(px),
        qty: Qty::new(q),
    })
}

pub(super) fn market(events: Vec<Event>, params: BacktestParams) -> Sim {
    let feed = VecFeed {
        events: events.into(),
        stats: FeedStats::default(),
    };
    HistoricalMarket::new(feed, params, &[spec()]).unwrap()
}

pub(super) fn fifo() -> BacktestParams {
    BacktestParams::new(VENUE, QueueModel::Fifo)
}

/// A report, short: `(exec, client id, price, qty, leaves, cum, reject code)`.
type Rep = (ExecKind, u64, i64, i64, i64, i64, u16);

/// Inputs with the watched order's queue position after each.
type Watched = Vec<(Event, Option<f64>)>;

/// Fill reports: `(venue time, qty, leaves)`.
type Fills = Vec<(i64, i64, i64)>;

fn rep(e: &Event) -> Option<Rep> {
    match e.body {
        EventBody::ExecReport {
            exec,
            reject_code,
            client_order_id,
            price,
            qty,
            leaves_qty,
            cum_qty,
            ..
        } => Some((
            exec,
            client_order_id,
            price.raw(),
            qty.raw(),
            leaves_qty.raw(),
            cum_qty.raw(),
            reject_code,
        )),
        _ => None,
    }
}

fn reports(events: &[Event]) -> Vec<Rep> {
    events.iter().filter_map(rep).collect()
}

/// Checks the `leaves`/`cum` arithmetic of every report, per venue order id.
fn check_quantities(events: &[Event]) {
    let mut orders: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    for e in events {
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
        let (q, l, c) = (qty.raw(), leaves_qty.raw(), cum_qty.raw());
        match exec {
            ExecKind::Ack => {
                assert_eq!((l, c), (q, 0), "{e:?}");
                assert!(orders.insert(venue_order_id, (q, 0)).is_none(), "{e:?}");
            }
            ExecKind::PartialFill | ExecKind::Fill => {
                let (total, cum) = orders.get_mut(&venue_order_id).unwrap();
                assert!(q > 0, "{e:?}");
                *cum += q;
                assert_eq!((c, l), (*cum, *total - *cum), "{e:?}");
                assert_eq!(exec == ExecKind::Fill, l == 0, "{e:?}");
            }
            ExecKind::Canceled => {
                let (total, cum) = orders[&venue_order_id];
                assert_eq!((q, l, c), (total, 0, cum), "{e:?}");
            }
            ExecKind::Replaced => {
                let (total, cum) = orders.get_mut(&venue_order_id).unwrap();
                *total = q;
                assert_eq!((l, c), (q - *cum, *cum), "{e:?}");
            }
            ExecKind::Rejected | ExecKind::CancelRejected => assert!(e.header.source == VENUE),
        }
    }
}

/// Runs the market to the end like the Runner does: before each input, `next_due_ns` must be
/// a lower bound of its receive time; receive times never decrease; `react` may answer an
/// input with requests, submitted at its receive time.
fn run(m: &mut Sim, mut react: impl FnMut(&Event) -> Vec<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut last = i64::MIN;
    loop {
        let due = m.next_due_ns();
        let Some(e) = m.next_input() else {
            assert_eq!(due, None);
            break;
        };
        let t = e.header.receive_ts_ns;
        assert!(due.is_some_and(|d| d <= t), "due {due:?} > {t}: {e:?}");
        assert!(t >= last, "receive time went back: {e:?}");
        last = t;
        for r in react(&e) {
            m.submit(t, &r).unwrap();
        }
        out.push(e);
    }
    check_quantities(&out);
    out
}

fn drain(m: &mut Sim) -> Vec<Event> {
    run(m, |_| Vec::new())
}

/// Runs to the end, recording `client id`'s estimated queue position after each input.
fn watch(m: &mut Sim, id: u64) -> Watched {
    let mut out = Vec::new();
    while let Some(e) = {
        m.next_due_ns();
        m.next_input()
    } {
        out.push((e, m.order(id).and_then(|o| o.queue_ahead)));
    }
    out
}

/// The queue position after the market data event with exchange time `t`.
fn ahead_after(w: &[(Event, Option<f64>)], t: i64) -> Option<f64> {
    w.iter()
        .find(|(e, _)| rep(e).is_none() && e.header.exchange_ts_ns == t)
        .and_then(|(_, a)| *a)
}

/// The liquidity flag of each fill report.
fn liquidity_of_fills(events: &[Event]) -> Vec<Liquidity> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::ExecReport {
                exec: ExecKind::PartialFill | ExecKind::Fill,
                liquidity,
                ..
            } => Some(liquidity),
            _ => None,
        })
        .collect()
}

/// The fill reports: `(venue time, qty, leaves)`.
fn fills(events: &[Event]) -> Fills {
    events
        .iter()
        .filter_map(|e| match rep(e)? {
            (ExecKind::PartialFill | ExecKind::Fill, _, _, q, l, _, _) => {
                Some((e.header.exchange_ts_ns, q, l))
            }
            _ => None,
        })
        .collect()
}

/// Asks 30 @ 100, 50 @ 101, 100 @ 102, a bid 10 @ 98, and a late bid so the feed goes on.
fn ladder() -> Vec<Event> {
    vec![
        add(10, 1, Side::Sell, 100, 30),
        add(20, 2, Side::Sell, 101, 50),
        add(30, 3, Side::Sell, 102, 100),
        add(40, 4, Side::Buy, 98, 10),
        add(1_000, 5, Side::Buy, 97, 1),
    ]
}

#[test]
fn a_crossing_order_takes_the_displayed_levels_and_rests_the_rest() {
    let mut m = market(ladder(), fifo());
    m.submit(50, &buy(1, TimeInForce::Day, 101, 100)).unwrap();
    let out = drain(&mut m);
    let r = reports(&out);
    println!("{r:?}");
    assert_eq!(
        r,
        vec![
            (ExecKind::Ack, 1, 101, 100, 100, 0, 0),
            (ExecKind::PartialFill, 1, 100, 30, 70, 30, 0),
            (ExecKind::PartialFill, 1, 101, 50, 20, 80, 0),
        ]
    );
    // The ack comes first, so only the flag tells the OMS these fills pay the taker fee.
    assert_eq!(liquidity_of_fills(&out), [Liquidity::Taker; 2]);
    let o = m.order(1).unwrap();
    assert!(o.live);
    assert_eq!((o.cum_qty.raw(), o.queue_ahead), (80, Some(0.0)));
    // No market impact: the book still shows what we took.
    let book = m.book(InstrumentId::new(0)).unwrap();
    use tickrail_engine::book::BookView;
    assert_eq!(book.best_ask().map(|l| (l.px, l.qty)), Some((100, 30)));
    let s = m.stats();
    assert_eq!(
        (s.taker_qty, s.maker_qty, s.acks, s.partial_fills),
        (80, 0, 1, 2)
    );
    assert_eq!((s.market_data, s.feed_events, s.reports), (5, 5, 3));
    // Reports come at the arrival (zero latencies), between the market data around it.
    let kinds: Vec<i64> = out.iter().map(|e| e.header.receive_ts_ns).collect();
    assert_eq!(kinds, vec![10, 20, 30, 40, 50, 50, 50, 1_000]);
}

#[test]
fn ioc_cancels_the_remainder() {
    let mut m = market(ladder(), fifo());
    m.submit(50, &buy(1, TimeInForce::Ioc, 101, 100)).unwrap();
    let r = reports(&drain(&mut m));
    assert_eq!(
        r,
        vec![
            (ExecKind::Ack, 1, 101, 100, 100, 0, 0),
            (ExecKind::PartialFill, 1, 100, 30, 70, 30, 0),
            (ExecKind::PartialFill, 1, 101, 50, 20, 80, 0),
            (ExecKind::Canceled, 1, 101, 100, 0, 80, 0),
        ]
    );
    assert!(!m.order(1).unwrap().live);
    assert_eq!((m.stats().cancels, m.open_orders()), (1, 0));
}

#[test]
fn fok_fills_completely_or_not_at_all() {
    let mut m = market(ladder(), fifo());
    m.submit(50, &buy(1, TimeInForce::Fok, 101, 100)).unwrap();
    m.submit(50, &buy(2, TimeInForce::Fok, 100, 31)).unwrap();
    m.submit(50, &buy(3, TimeInForce::Fok, 101, 80)).unwrap();
    let r = reports(&drain(&mut m));
    assert_eq!(
        r,
        vec![
            (
                ExecKind::Rejected,
                1,
                101,
                100,
                0,
                0,
                reject::FOK_UNFILLABLE
            ),
            (ExecKind::Rejected, 2, 100, 31, 0, 0, reject::FOK_UNFILLABLE),
            (ExecKind::Ack, 3, 101, 80, 80, 0, 0),
            (ExecKind::PartialFill, 3, 100, 30, 50, 30, 0),
            (ExecKind::Fill, 3, 101, 50, 0, 80, 0),
        ]
    );
    assert_eq!((m.stats().rejects, m.stats().fills), (2, 1));
}

#[test]
fn post_only_that_would_cross_is_rejected() {
    let mut m = market(ladder(), fifo());
    m.submit(50, &buy(1, TimeInForce::PostOnly, 100, 5))
        .unwrap();
    m.submit(50, &buy(2, TimeInForce::PostOnly, 99, 5)).unwrap();
    m.submit(50, &buy(3, TimeInForce::PostOnly, 98, 5)).unwrap();
    let r = reports(&drain(&mut m));
    assert_eq!(
        r,
        vec![
            (ExecKind::Rejected, 1, 100, 5, 0, 0, reject::WOULD_CROSS),
            (ExecKind::Ack, 2, 99, 5, 5, 0, 0),
            (ExecKind::Ack, 3, 98, 5, 5, 0, 0),
        ]
    );
    // Improving the bid: nothing ahead. Joining the bid: the displayed 10 ahead.
    assert_eq!(m.order(2).unwrap().queue_ahead, Some(0.0));
    assert_eq!(m.order(3).unwrap().queue_ahead, Some(10.0));
    assert_eq!(m.open_orders(), 2);
}

#[test]
fn fifo_fills_only_after_the_orders_ahead_have_gone() {
    let feed = vec![
        add(10, 1, Side::Buy, 100, 100), // A, ahead of us
        add(20, 2, Side::Buy, 100, 200), // B, ahead of us
        add(25, 9, Side::Sell, 101, 1_000),
        // We arrive at 30: 300 ahead.
        add(40, 3, Side::Buy, 100, 500), // C, behind us
        del(50, 3),                      // ... deleted: we do not move
        exec(60, 1, 100, 100),           // A executed: 200 ahead
        modify(70, 2, 100, 150),         // B partly canceled, keeps priority: 150 ahead
        add(80, 4, Side::Buy, 100, 80),  // D, behind us
        exec(90, 4, 30, 100),            // D executed out of FIFO order: not us
        exec(100, 2, 150, 100),          // B gone: nothing ahead
        exec(110, 4, 40, 100),           // D again: 40 reach us
        exec(120, 4, 10, 100),           // the last 10 of D: our last 10
        add(130, 5, Side::Buy, 100, 7),
    ];
    let mut m = market(feed, fifo());
    m.submit(30, &buy(1, TimeInForce::Gtc, 100, 50)).unwrap();
    let w = watch(&mut m, 1);
    let ahead: Vec<_> = [40, 50, 60, 70, 80, 90, 100]
        .iter()
        .map(|&t| ahead_after(&w, t))
        .collect();
    println!("queue ahead after each event: {ahead:?}");
    assert_eq!(
        ahead,
        [300.0, 300.0, 200.0, 150.0, 150.0, 150.0, 0.0].map(Some)
    );
    let out: Vec<Event> = w.into_iter().map(|(e, _)| e).collect();
    check_quantities(&out);
    assert_eq!(fills(&out), vec![(110, 40, 10), (120, 10, 0)]);
    assert_eq!(liquidity_of_fills(&out), [Liquidity::Maker; 2]);
    assert_eq!((m.stats().queue_fills, m.stats().maker_qty), (2, 50));
    assert!(!m.order(1).unwrap().live);
}

#[test]
fn fifo_priority_loss_replace_and_shared_executions() {
    let feed = vec![
        add(10, 1, Side::Buy, 100, 100),
        add(20, 2, Side::Buy, 100, 200),
        add(25, 3, Side::Buy, 100, 40),
        // Ours arrive at 30 (300 + 40 ahead of both).
        modify(40, 2, 100, 250), // B raises its quantity: loses priority, now behind us
        md(
            50,
            EventBody::OrderReplace {
                old_order_id: 1,
                new_order_id: 11,
                price: Price::new(100),
                qty: Qty::new(100),
            },
        ), // A replaced: the new order is behind us
        modify(60, 3, 99, 40),   // the 40 moves away: nothing ahead
        exec(70, 11, 30, 100),   // 30 executed behind us: ours share them in time priority
        exec(80, 11, 70, 100),
    ];
    let mut m = market(feed, fifo());
    m.submit(30, &buy(1, TimeInForce::Day, 100, 20)).unwrap();
    m.submit(30, &buy(2, TimeInForce::Day, 100, 20)).unwrap();
    let w = watch(&mut m, 1);
    let ahead: Vec<_> = [40, 50, 60].iter().map(|&t| ahead_after(&w, t)).collect();
    assert_eq!(ahead, [140.0, 40.0, 0.0].map(Some));
    let out: Vec<Event> = w.into_iter().map(|(e, _)| e).collect();
    check_quantities(&out);
    let r: Vec<_> = reports(&out)
        .into_iter()
        .filter(|r| r.0 != ExecKind::Ack)
        .map(|r| (r.0, r.1, r.3))
        .collect();
    assert_eq!(
        r,
        vec![
            (ExecKind::Fill, 1, 20),
            (ExecKind::PartialFill, 2, 10),
            (ExecKind::Fill, 2, 10),
        ]
    );
}

/// An L2 scenario: we join a bid of 100, 200 join behind, 100 cancel, then 60 and 50 trade.
fn l2_feed() -> Vec<Event> {
    vec![
        level(10, Side::Buy, 100, 100),
        level(11, Side::Sell, 101, 500),
        // We arrive at 20: 100 ahead, 0 behind.
        level(30, Side::Buy, 100, 300),      // +200 behind us
        level(40, Side::Buy, 100, 200),      // -100: who canceled?
        trade(50, Aggressor::Sell, 100, 60), // 60 traded at our price
        level(60, Side::Buy, 100, 140),      // the trade, shown by the level
        trade(70, Aggressor::Sell, 100, 50), // 50 more
        level(80, Side::Buy, 100, 90),
    ]
}

fn l2_run(queue: QueueModel) -> (Watched, Fills) {
    let mut m = market(l2_feed(), BacktestParams::new(VENUE, queue));
    m.submit(20, &buy(1, TimeInForce::Day, 100, 10)).unwrap();
    let w = watch(&mut m, 1);
    let out: Vec<Event> = w.iter().map(|(e, _)| *e).collect();
    check_quantities(&out);
    let f = fills(&out);
    (w, f)
}

#[test]
fn probabilistic_power_decides_where_cancels_come_from() {
    // power 0: every unexplained decrease is split half and half.
    let (w0, f0) = l2_run(QueueModel::Probabilistic { power: 0.0 });
    // power 10: cancels come from the larger side (here: behind us).
    let (w10, f10) = l2_run(QueueModel::Probabilistic { power: 10.0 });
    // FIFO on L2 data: risk-averse, cancels never come from ahead.
    let (wf, ff) = l2_run(QueueModel::Fifo);
    let a0 = ahead_after(&w0, 40).unwrap();
    let a10 = ahead_after(&w10, 40).unwrap();
    let af = ahead_after(&wf, 40).unwrap();
    println!("ahead after the 100 cancel: power 0 {a0}, power 10 {a10}, fifo {af}");
    println!("fills (venue time, qty, leaves): power 0 {f0:?}, power 10 {f10:?}, fifo {ff:?}");
    assert_eq!(a0, 50.0);
    // 100 − 100·f(100)/(f(100)+f(200)) with f(x) = x^10.
    assert!(
        (a10 - (100.0 - 100.0 / (1.0 + 1024.0))).abs() < 1e-9,
        "{a10}"
    );
    assert_eq!(af, 100.0);
    // The 60 traded reach us with power 0 (50 ahead), not with power 10 (99.9 ahead): there
    // the second trade does. The risk-averse queue is 100 − 60 = 40 after the first trade.
    assert_eq!(f0, vec![(50, 10, 0)]);
    assert_eq!(f10, vec![(70, 10, 0)]);
    assert_eq!(ff, vec![(70, 10, 0)]);
    // The level update that follows a trade is explained by it: the queue stays put.
    assert!((ahead_after(&w10, 60).unwrap() - (a10 - 60.0)).abs() < 1e-9);

    // With more ahead than behind, a large power moves us faster than power 0.
    assert_eq!(front_share(300.0, 100.0, 0.0), 0.5);
    assert!(front_share(300.0, 100.0, 10.0) > 0.9999);
    assert!(front_share(100.0, 200.0, 10.0) < 0.001);
    assert_eq!(front_share(0.0, 100.0, 0.0), 0.0);
    assert_eq!(front_share(100.0, 0.0, 3.0), 1.0);
    let mut q0 = QueuePosition::new(QueueModel::Probabilistic { power: 0.0 }, Some(300));
    let mut q10 = QueuePosition::new(QueueModel::Probabilistic { power: 10.0 }, Some(300));
    for q in [&mut q0, &mut q10] {
        q.level(400);
        q.level(300);
    }
    assert_eq!(q0.ahead(), Some(250.0));
    assert!(
        (q10.ahead().unwrap() - 200.0).abs() < 0.01,
        "{:?}",
        q10.ahead()
    );
    // A decrease larger than what is behind takes the excess from the front.
    let mut q = QueuePosition::new(QueueModel::Probabilistic { power: 0.0 }, Some(100));
    q.level(110);
    q.level(50);
    assert_eq!(q.ahead(), Some(50.0));
}

#[test]
fn a_trade_through_the_price_fills_whatever_is_left() {
    let feed = vec![
        level(10, Side::Buy, 100, 1_000),
        level(11, Side::Sell, 106, 10),
        trade(30, Aggressor::Buy, 99, 5), // buyers lifting asks below our bid: not us
        trade(40, Aggressor::Sell, 99, 5), // sellers below our bid: we are filled, all 20
        trade(50, Aggressor::Unknown, 107, 1), // unknown aggressor above our ask
    ];
    let mut m = market(feed, fifo());
    m.submit(20, &buy(1, TimeInForce::Day, 100, 20)).unwrap();
    m.submit(20, &new_order(2, Side::Sell, TimeInForce::Day, 106, 3))
        .unwrap();
    let out = drain(&mut m);
    assert_eq!(m.order(1).unwrap().queue_ahead, None);
    let f: Vec<_> = out
        .iter()
        .filter_map(|e| {
            rep(e)
                .filter(|r| r.0 == ExecKind::Fill)
                .map(|r| (e.header.exchange_ts_ns, r.1, r.2, r.3))
        })
        .collect();
    assert_eq!(f, vec![(40, 1, 100, 20), (50, 2, 106, 3)]);
    assert_eq!(m.stats().trade_through_fills, 2);

    // L3: an execution of a resting bid below ours is a trade through it.
    let feed = vec![
        add(10, 1, Side::Buy, 99, 50),
        add(11, 2, Side::Buy, 100, 50),
        exec(30, 1, 5, 99),
    ];
    let mut m = market(feed, fifo());
    m.submit(20, &buy(1, TimeInForce::Day, 100, 20)).unwrap();
    let out = drain(&mut m);
    assert_eq!(fills(&out), vec![(30, 20, 0)]);
}

#[test]
fn with_fill_on_cross_the_opposite_best_reaching_a_resting_order_fills_it() {
    let feed = || {
        vec![
            level(10, Side::Buy, 100, 1_000),
            level(11, Side::Sell, 106, 10),
            level(30, Side::Sell, 101, 5), // best ask 101: not yet at our bid of 100
            level(40, Side::Sell, 100, 7), // best ask 100: at our bid
            level(50, Side::Sell, 100, 0),
            level(51, Side::Sell, 101, 0),
            level(52, Side::Sell, 106, 0),
            level(60, Side::Buy, 106, 2), // best bid 106: at our ask
        ]
    };
    let run = |on: bool| {
        let mut m = market(feed(), fifo()).with_fill_on_cross(on);
        m.submit(20, &buy(1, TimeInForce::Day, 100, 20)).unwrap();
        m.submit(20, &new_order(2, Side::Sell, TimeInForce::Day, 106, 3))
            .unwrap();
        let out = drain(&mut m);
        let f: Vec<_> = out
            .iter()
            .filter_map(|e| {
                rep(e)
                    .filter(|r| r.0 == ExecKind::Fill)
                    .map(|r| (e.header.exchange_ts_ns, r.1, r.2, r.3))
            })
            .collect();
        (f, m.stats().trade_through_fills)
    };
    // Whole orders, at their own prices, when the best reaches them.
    assert_eq!(run(true), (vec![(40, 1, 100, 20), (60, 2, 106, 3)], 2));
    // Off (the default): no trade, no queue, no fill.
    assert_eq!(run(false), (vec![], 0));
}

#[test]
fn latencies_shift_arrival_and_reports_exactly() {
    let params = BacktestParams {
        feed_latency_ns: Some(200),
        entry_latency_ns: 1_000,
        ack_latency_ns: 500,
        ..fifo()
    };
    let feed = vec![
        add(10_000, 1, Side::Sell, 100, 10), // received at 10_200: we send then
        add(11_100, 2, Side::Sell, 99, 5),
        add(11_200, 3, Side::Sell, 98, 7),   // at our arrival: seen
        add(11_201, 4, Side::Sell, 97, 100), // after it: not seen
        add(11_500, 5, Side::Buy, 90, 1),    // received with our reports: market data first
    ];
    let mut m = market(feed, params);
    let mut sent = false;
    let out = run(&mut m, |e| {
        if sent {
            return Vec::new();
        }
        sent = true;
        assert_eq!(e.header.receive_ts_ns, 10_200);
        vec![buy(1, TimeInForce::Ioc, 100, 100)]
    });
    let timeline: Vec<_> = out
        .iter()
        .map(|e| {
            (
                e.kind().name(),
                e.header.exchange_ts_ns,
                e.header.receive_ts_ns,
            )
        })
        .collect();
    println!("{timeline:?}");
    assert_eq!(
        timeline,
        vec![
            ("order_add", 10_000, 10_200),
            ("order_add", 11_100, 11_300),
            ("order_add", 11_200, 11_400),
            ("order_add", 11_201, 11_401),
            ("order_add", 11_500, 11_700),
            ("exec_report", 11_200, 11_700),
            ("exec_report", 11_200, 11_700),
            ("exec_report", 11_200, 11_700),
            ("exec_report", 11_200, 11_700),
            ("exec_report", 11_200, 11_700),
        ]
    );
    let r: Vec<_> = reports(&out).into_iter().map(|r| (r.0, r.2, r.3)).collect();
    assert_eq!(
        r,
        vec![
            (ExecKind::Ack, 100, 100),
            (ExecKind::PartialFill, 98, 7),
            (ExecKind::PartialFill, 99, 5),
            (ExecKind::PartialFill, 100, 10),
            (ExecKind::Canceled, 100, 100),
        ]
    );
    for e in &out {
        assert_eq!(e.header.source, VENUE);
        assert_eq!(e.header.instrument, InstrumentId::new(0));
    }
}

#[test]
fn a_cancel_arriving_after_the_fill_is_rejected() {
    let params = BacktestParams {
        entry_latency_ns: 100,
        ack_latency_ns: 100,
        ..fifo()
    };
    let feed = |cancel_at: i64| {
        let mut f = vec![
            add(10, 1, Side::Buy, 100, 50),
            add(11, 2, Side::Sell, 105, 50),
            add(cancel_at, 3, Side::Sell, 106, 1), // we react to this one with a cancel
            trade(300, Aggressor::Sell, 99, 1),    // trades through our bid
            add(600, 4, Side::Sell, 107, 1),
        ];
        f.sort_by_key(|e| e.header.exchange_ts_ns);
        f
    };
    let run_race = |cancel_at: i64| {
        let mut m = market(feed(cancel_at), params);
        m.submit(20, &buy(1, TimeInForce::Day, 100, 10)).unwrap();
        let out = run(&mut m, |e| {
            if e.header.exchange_ts_ns == cancel_at && rep(e).is_none() {
                vec![cancel(2, 1)]
            } else {
                Vec::new()
            }
        });
        out.iter()
            .filter_map(|e| rep(e).map(|r| (r.0, r.1, r.6, e.header.exchange_ts_ns)))
            .collect::<Vec<_>>()
    };
    // Sent at 250, arrives at 350: the fill at 300 won the race.
    assert_eq!(
        run_race(250),
        vec![
            (ExecKind::Ack, 1, 0, 120),
            (ExecKind::Fill, 1, 0, 300),
            (ExecKind::CancelRejected, 2, reject::ORDER_NOT_LIVE, 350),
        ]
    );
    // Sent at 150, arrives at 250: canceled, and the trade at 300 finds nothing.
    assert_eq!(
        run_race(150),
        vec![(ExecKind::Ack, 1, 0, 120), (ExecKind::Canceled, 1, 0, 250),]
    );

    // Unknown orders and reused ids.
    let mut m = market(ladder(), fifo());
    m.submit(50, &cancel(7, 99)).unwrap();
    m.submit(50, &buy(1, TimeInForce::Day, 99, 5)).unwrap();
    m.submit(50, &cancel(1, 1)).unwrap();
    m.submit(50, &cancel(8, 1)).unwrap();
    m.submit(50, &cancel(9, 1)).unwrap();
    let r: Vec<_> = reports(&drain(&mut m))
        .into_iter()
        .map(|r| (r.0, r.1, r.6))
        .collect();
    assert_eq!(
        r,
        vec![
            (ExecKind::CancelRejected, 7, reject::UNKNOWN_ORDER),
            (ExecKind::Ack, 1, 0),
            (ExecKind::CancelRejected, 1, reject::DUPLICATE_CLIENT_ID),
            (ExecKind::Canceled, 1, 0),
            (ExecKind::CancelRejected, 9, reject::ORDER_NOT_LIVE),
        ]
    );
    assert_eq!(m.stats().cancel_rejects, 3);
}

#[test]
fn amends_keep_or_lose_priority_like_the_venue() {
    let feed = vec![
        add(10, 1, Side::Buy, 100, 100),
        add(11, 2, Side::Sell, 101, 20),
        add(100, 3, Side::Sell, 102, 1),
    ];
    let mut m = market(feed, fifo());
    m.submit(20, &buy(1, TimeInForce::Day, 100, 50)).unwrap();
    // Lower quantity, same price: keeps its place behind the 100.
    m.submit(30, &amend(2, 1, 100, 30)).unwrap();
    let mut out = Vec::new();
    while let Some(e) = {
        m.next_due_ns();
        m.next_input()
    } {
        let t = e.header.receive_ts_ns;
        out.push(e);
        if t == 30 && rep(&e).is_some() {
            assert_eq!(m.order(2).unwrap().queue_ahead, Some(100.0));
            // A new price through the ask: takes 20, rests 10 at the back of 101.
            m.submit(40, &amend(3, 2, 101, 30)).unwrap();
            // The old id no longer names a live order.
            m.submit(40, &cancel(4, 1)).unwrap();
            // Down to the filled quantity: canceled.
            m.submit(50, &amend(5, 3, 101, 20)).unwrap();
        }
    }
    check_quantities(&out);
    let r: Vec<_> = reports(&out)
        .into_iter()
        .map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, r.6))
        .collect();
    assert_eq!(
        r,
        vec![
            (ExecKind::Ack, 1, 100, 50, 50, 0, 0),
            (ExecKind::Replaced, 2, 100, 30, 30, 0, 0),
            (ExecKind::Replaced, 3, 101, 30, 30, 0, 0),
            (ExecKind::PartialFill, 3, 101, 20, 10, 20, 0),
            (
                ExecKind::CancelRejected,
                4,
                101,
                30,
                10,
                20,
                reject::ORDER_NOT_LIVE
            ),
            (ExecKind::Canceled, 3, 101, 30, 0, 20, 0),
        ]
    );
    assert_eq!(m.order(1).unwrap().client_order_id, 3);
    assert_eq!((m.stats().replaces, m.open_orders()), (2, 0));
}

#[test]
fn foreign_events_pass_through_unchanged() {
    let mut other_source = add(10, 1, Side::Buy, 100, 5);
    other_source.header.source = 2;
    let mut other_instrument = add(20, 1, Side::Sell, 90, 5);
    other_instrument.header.instrument = InstrumentId::new(7);
    let gap = md(
        30,
        EventBody::FeedGap {
            expected: 4,
            received: 9,
        },
    );
    let status = md(
        40,
        EventBody::TradingStatus {
            status: TradingState::Halted,
        },
    );
    let feed = vec![other_source, other_instrument, gap, status];
    let mut m = market(feed.clone(), fifo());
    let mut unknown = buy(1, TimeInForce::Day, 100, 5);
    unknown.header.instrument = InstrumentId::new(7);
    m.submit(50, &unknown).unwrap();
    m.submit(50, &buy(1, TimeInForce::Day, 100, 5)).unwrap();
    let out = drain(&mut m);
    assert_eq!(&out[..4], &feed[..]);
    let r: Vec<_> = reports(&out).into_iter().map(|r| (r.0, r.6)).collect();
    assert_eq!(
        r,
        vec![
            (ExecKind::Rejected, reject::UNKNOWN_INSTRUMENT),
            (ExecKind::Rejected, reject::DUPLICATE_CLIENT_ID),
        ]
    );
    assert_eq!(out[4].header.instrument, InstrumentId::new(7));
    assert_eq!(m.stats().foreign_events, 2);
    // The other source's bid did not reach the simulated book.
    use tickrail_engine::book::BookView;
    assert_eq!(m.book(InstrumentId::new(0)).unwrap().best_bid(), None);
}

#[test]
fn receive_times_follow_the_feed_latency_and_never_go_back() {
    let mut late = add(20, 2, Side::Buy, 99, 1);
    late.header.receive_ts_ns = 5; // a capture's receive time before the previous one
    let mut early = add(10, 1, Side::Buy, 100, 1);
    early.header.receive_ts_ns = 12;
    let mut m = market(vec![early, late], fifo());
    let out = drain(&mut m);
    let t: Vec<_> = out
        .iter()
        .map(|e| (e.header.exchange_ts_ns, e.header.receive_ts_ns))
        .collect();
    assert_eq!(t, vec![(10, 12), (20, 12)]);
    assert_eq!(m.stats().receive_clamped, 1);
}

#[test]
fn next_due_is_a_lower_bound_that_sees_possible_fills() {
    // Feed latency 1000, ack 10: a resting order can be filled by the next event long
    // before that event is received.
    let params = BacktestParams {
        feed_latency_ns: Some(1_000),
        ack_latency_ns: 10,
        ..fifo()
    };
    let feed = vec![
        add(100, 1, Side::Buy, 100, 5),
        trade(200, Aggressor::Sell, 99, 1),
    ];
    let mut m = market(feed, params);
    assert_eq!(m.next_due_ns(), Some(1_100));
    m.submit(150, &buy(1, TimeInForce::Day, 100, 3)).unwrap();
    let out = drain(&mut m);
    let t: Vec<_> = out
        .iter()
        .map(|e| (e.kind().name(), e.header.receive_ts_ns))
        .collect();
    assert_eq!(
        t,
        vec![
            ("exec_report", 160),
            ("exec_report", 210),
            ("order_add", 1_100),
            ("trade", 1_200),
        ]
    );
}

#[test]
fn bad_parameters_and_requests_are_errors() {
    let bad = [
        BacktestParams {
            entry_latency_ns: -1,
            ..fifo()
        },
        BacktestParams {
            feed_latency_ns: Some(-5),
            ..fifo()
        },
        BacktestParams::new(VENUE, QueueModel::Probabilistic { power: f64::NAN }),
        BacktestParams::new(VENUE, QueueModel::Probabilistic { power: -1.0 }),
        BacktestParams {
            book: BookSizing {
                max_orders: 0,
                max_levels: 8,
            },
            ..fifo()
        },
    ];
    for p in bad {
        let err = HistoricalMarket::new(VecFeed::default(), p, &[spec()]).err();
        println!("{err:?}");
        assert!(err.is_some());
    }
    let err = HistoricalMarket::new(VecFeed::default(), fifo(), &[spec(), spec()]).err();
    assert!(matches!(
        err,
        Some(BacktestError::DuplicateInstrument { .. })
    ));

    let mut m = market(ladder(), fifo());
    let other_venue = request(EventBody::OrderNew {
        side: Side::Buy,
        tif: TimeInForce::Day,
        venue: 2,
        client_order_id: 1,
        price: Price::new(1),
        qty: Qty::new(1),
    });
    assert!(matches!(
        m.submit(0, &other_venue),
        Err(BacktestError::UnknownVenue { venue: 2, .. })
    ));
    assert!(matches!(
        m.submit(0, &ladder()[0]),
        Err(BacktestError::NotAnOrderRequest { .. })
    ));
    assert_eq!(m.next_input().map(|e| e.header.receive_ts_ns), Some(10));
    let late = m.submit(5, &buy(1, TimeInForce::Day, 99, 1)).unwrap_err();
    assert_eq!(
        late.to_string(),
        "submitted at 5 ns, before the market time 10 ns"
    );
    assert_eq!(m.stats().requests, 0);
}

#[test]
fn on_l3_data_the_probabilistic_model_ignores_order_identity() {
    let feed = vec![
        add(10, 1, Side::Buy, 100, 100), // ahead of us
        add(11, 9, Side::Sell, 101, 100),
        // We arrive at 20: 100 ahead.
        add(30, 2, Side::Buy, 100, 100), // behind us
        del(40, 2),                      // FIFO knows it was behind; power 0 splits it
        exec(50, 1, 60, 100),
        exec(60, 1, 40, 100),
    ];
    let go = |queue| {
        let mut m = market(feed.clone(), BacktestParams::new(VENUE, queue));
        m.submit(20, &buy(1, TimeInForce::Day, 100, 10)).unwrap();
        let w = watch(&mut m, 1);
        let out: Vec<Event> = w.iter().map(|(e, _)| *e).collect();
        check_quantities(&out);
        (ahead_after(&w, 40), fills(&out))
    };
    let (fifo_ahead, fifo_fills) = go(QueueModel::Fifo);
    let (prob_ahead, prob_fills) = go(QueueModel::Probabilistic { power: 0.0 });
    assert_eq!((fifo_ahead, prob_ahead), (Some(100.0), Some(50.0)));
    // FIFO: the 100 ahead all executed, nothing beyond it; power 0: 10 beyond its 50.
    assert_eq!(fifo_fills, vec![]);
    assert_eq!(prob_fills, vec![(50, 10, 0)]);
}

#[test]
fn on_l1_data_a_hidden_level_has_an_unknown_queue_until_it_shows() {
    let quote = |t, bid_px, bid_qty, ask_px, ask_qty| {
        md(
            t,
            EventBody::Quote {
                bid_px: Price::new(bid_px),
                bid_qty: Qty::new(bid_qty),
                ask_px: Price::new(ask_px),
                ask_qty: Qty::new(ask_qty),
            },
        )
    };
    let feed = vec![
        quote(10, 100, 50, 101, 50),
        // We bid 99 at 20, behind the best: how much is ahead is not shown.
        trade(30, Aggressor::Sell, 99, 10), // at our price: no fill while unknown
        quote(40, 99, 30, 100, 20),         // our level is the best now: 30 ahead
        trade(50, Aggressor::Sell, 99, 35), // 5 beyond the queue
    ];
    let mut m = market(feed, fifo());
    m.submit(20, &buy(1, TimeInForce::Day, 99, 5)).unwrap();
    let w = watch(&mut m, 1);
    assert_eq!(ahead_after(&w, 10), None);
    assert_eq!(ahead_after(&w, 30), None);
    assert_eq!(ahead_after(&w, 40), Some(30.0));
    let out: Vec<Event> = w.into_iter().map(|(e, _)| e).collect();
    check_quantities(&out);
    assert_eq!(fills(&out), vec![(50, 5, 0)]);
    assert_eq!(m.stats().queue_fills, 1);
}

/// Every queue model.
fn every_model() -> [QueueModel; 5] {
    [
        QueueModel::Fifo,
        QueueModel::RiskAverse,
        QueueModel::Probabilistic { power: 2.0 },
        QueueModel::LogProbabilistic,
        QueueModel::LogProbabilistic2,
    ]
}

#[test]
fn partial_fills_follow_the_traded_quantity() {
    // A bid of 30 at 100; at 20 we buy 50 @ 100 (order 1), then 20 @ 100 (order 2): 30 ahead
    // of each (each tracks its place among the historical orders). Then trades at 100 of
    // 20, 25, 10 and 40. No level update in between: every model moves the queue the same.
    let feed = vec![
        level(10, Side::Buy, 100, 30),
        level(11, Side::Sell, 101, 500),
        trade(30, Aggressor::Sell, 100, 20),
        trade(40, Aggressor::Sell, 100, 25),
        trade(50, Aggressor::Sell, 100, 10),
        trade(60, Aggressor::Sell, 100, 40),
    ];
    for model in every_model() {
        let mut m = market(feed.clone(), BacktestParams::new(VENUE, model));
        m.submit(20, &buy(1, TimeInForce::Day, 100, 50)).unwrap();
        m.submit(20, &buy(2, TimeInForce::Day, 100, 20)).unwrap();
        let out = drain(&mut m);
        // 20 traded: 10 left ahead, nothing for us.
        // 25 traded: 15 beyond the queue: order 1 fills 15 (leaves 35); order 2 (also 15
        //   beyond) gets what is left of the 25: 10 (leaves 10).
        // 10 traded: order 1 fills 10 (leaves 25); nothing left of it for order 2.
        // 40 traded: order 1 fills its last 25; order 2 its last 10 of the 15 left.
        assert_eq!(
            fills(&out),
            vec![
                (40, 15, 35),
                (40, 10, 10),
                (50, 10, 25),
                (60, 25, 0),
                (60, 10, 0)
            ],
            "{model:?}"
        );
        // Per trade, our fills never exceed what was traded.
        let mut per_trade: BTreeMap<i64, i64> = BTreeMap::new();
        for (t, q, _) in fills(&out) {
            *per_trade.entry(t).or_default() += q;
        }
        for (t, traded) in [(30, 20), (40, 25), (50, 10), (60, 40)] {
            assert!(
                per_trade.get(&t).copied().unwrap_or(0) <= traded,
                "{model:?} at {t}"
            );
        }
        assert_eq!((m.stats().queue_fills, m.stats().maker_qty), (5, 70));
    }
}

#[test]
fn each_resting_fill_records_the_queue_position_at_entry_and_at_the_fill() {
    use super::queue::{QueueFill, QueueFillStats, RestingFill};
    // Order 1 joins a bid of 100 at 100 (100 ahead); 200 join behind, 100 cancel, 60 trade,
    // 50 trade. Order 2 bids 99, a level not shown (0 ahead), and is traded through at 98.
    let feed = vec![
        level(10, Side::Buy, 100, 100),
        level(11, Side::Sell, 101, 500),
        level(30, Side::Buy, 100, 300),
        level(40, Side::Buy, 100, 200),
        trade(50, Aggressor::Sell, 100, 60),
        level(60, Side::Buy, 100, 140),
        trade(70, Aggressor::Sell, 100, 50),
        trade(80, Aggressor::Sell, 98, 7),
    ];
    let record = |at_ns, id, qty, kind, entry, before| QueueFill {
        at_ns,
        client_order_id: id,
        instrument: InstrumentId::new(0),
        side: Side::Buy,
        price: Price::new(if id == 1 { 100 } else { 99 }),
        qty,
        price_scale: 2,
        qty_scale: 0,
        kind,
        entry_ahead: entry,
        fill_ahead: before,
    };
    let through = record(80, 2, 5, RestingFill::Through, Some(0.0), Some(0.0));
    for (model, first) in [
        // power 0: the 100 canceled at 40 are half ahead: 50 ahead when 60 trade at 50.
        (
            QueueModel::Probabilistic { power: 0.0 },
            record(50, 1, 10, RestingFill::Queue, Some(100.0), Some(50.0)),
        ),
        // risk-averse: 100 − 60 = 40 ahead when 50 trade at 70.
        (
            QueueModel::RiskAverse,
            record(70, 1, 10, RestingFill::Queue, Some(100.0), Some(40.0)),
        ),
    ] {
        let mut m = market(feed.clone(), BacktestParams::new(VENUE, model));
        m.submit(20, &buy(1, TimeInForce::Day, 100, 10)).unwrap();
        m.submit(20, &buy(2, TimeInForce::Day, 99, 5)).unwrap();
        drain(&mut m);
        assert_eq!(m.queue_fills(), [first, through], "{model:?}");
        let s = QueueFillStats::of(m.queue_fills());
        assert_eq!((s.queue_fills, s.through_fills), (1, 1));
        assert_eq!((s.entry_median, s.entry_p90), (Some(0.0), Some(100.0)));
    }
    // Taker fills are not resting fills: an order crossing the ask records nothing.
    let mut m = market(feed, BacktestParams::new(VENUE, QueueModel::RiskAverse));
    m.submit(20, &buy(3, TimeInForce::Ioc, 101, 5)).unwrap();
    drain(&mut m);
    assert_eq!((m.stats().fills, m.queue_fills().len()), (1, 0));
}

#[test]
fn a_position_unknown_at_entry_is_recorded_as_unknown() {
    use super::queue::RestingFill;
    let quote = |t, bid_px, bid_qty, ask_px, ask_qty| {
        md(
            t,
            EventBody::Quote {
                bid_px: Price::new(bid_px),
                bid_qty: Qty::new(bid_qty),
                ask_px: Price::new(ask_px),
                ask_qty: Qty::new(ask_qty),
            },
        )
    };
    // L1: we bid 99 behind the best; the level shows 30 at 40; 35 trade at 50.
    let feed = vec![
        quote(10, 100, 50, 101, 50),
        quote(40, 99, 30, 100, 20),
        trade(50, Aggressor::Sell, 99, 35),
    ];
    let mut m = market(feed, fifo());
    m.submit(20, &buy(1, TimeInForce::Day, 99, 5)).unwrap();
    drain(&mut m);
    let f = m.queue_fills();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].kind, f[0].qty, f[0].entry_ahead, f[0].fill_ahead),
        (RestingFill::Queue, 5, None, Some(30.0))
    );
}
