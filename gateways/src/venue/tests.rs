use proptest::prelude::*;
use tickrail_engine::{ExecKind, Liquidity, Price, Qty, Side, TimeInForce};

use super::*;

use Side::{Buy, Sell};
use TimeInForce::{Day, Fok, Gtc, Ioc, PostOnly};

fn px(raw: i64) -> Price {
    Price::new(raw)
}

fn q(raw: i64) -> Qty {
    Qty::new(raw)
}

/// A compact, exact rendering of an output for assertions.
fn show(body: &EventBody) -> String {
    match *body {
        EventBody::ExecReport {
            exec,
            reject_code,
            client_order_id,
            price,
            qty,
            leaves_qty,
            cum_qty,
            ..
        } => match exec {
            ExecKind::Rejected | ExecKind::CancelRejected => {
                format!("{exec} {client_order_id} code {reject_code}")
            }
            _ => format!(
                "{exec} {client_order_id} {}x{} l{} c{}",
                price.raw(),
                qty.raw(),
                leaves_qty.raw(),
                cum_qty.raw()
            ),
        },
        EventBody::Trade {
            aggressor,
            price,
            qty,
            trade_id,
        } => format!("trade#{trade_id} {aggressor} {}x{}", price.raw(), qty.raw()),
        other => format!("{other:?}"),
    }
}

fn new(
    e: &mut MatchingEngine,
    side: Side,
    tif: TimeInForce,
    id: u64,
    p: i64,
    n: i64,
) -> Vec<String> {
    let mut out = Vec::new();
    e.new_order(side, tif, id, px(p), q(n), &mut |b| out.push(show(&b)));
    out
}

fn cancel(e: &mut MatchingEngine, id: u64, orig: u64) -> Vec<String> {
    let mut out = Vec::new();
    e.cancel(id, orig, &mut |b| out.push(show(&b)));
    out
}

fn amend(e: &mut MatchingEngine, id: u64, orig: u64, p: i64, n: i64) -> Vec<String> {
    let mut out = Vec::new();
    e.amend(id, orig, px(p), q(n), &mut |b| out.push(show(&b)));
    out
}

#[test]
fn full_fill_at_resting_price() {
    let mut e = MatchingEngine::new();
    assert_eq!(new(&mut e, Sell, Day, 1, 100, 10), ["ack 1 100x10 l10 c0"]);
    assert_eq!(
        new(&mut e, Buy, Day, 2, 105, 10),
        [
            "ack 2 105x10 l10 c0",
            "fill 2 100x10 l0 c10",
            "fill 1 100x10 l0 c10",
            "trade#1 buy 100x10"
        ]
    );
    assert_eq!(e.open_orders(), 0);
    assert_eq!((e.best_bid(), e.best_ask()), (None, None));
    assert_eq!(e.order(2).map(|o| o.cum_qty), Some(q(10)));
    e.check_invariants().unwrap();
}

#[test]
fn fills_say_which_side_took_liquidity() {
    let mut e = MatchingEngine::new();
    new(&mut e, Sell, Day, 1, 100, 10);
    let mut out = Vec::new();
    e.new_order(Buy, Day, 2, px(101), q(4), &mut |b| out.push(b));
    let flags: Vec<(u64, ExecKind, Liquidity)> = out
        .iter()
        .filter_map(|b| match *b {
            EventBody::ExecReport {
                exec,
                client_order_id,
                liquidity,
                ..
            } => Some((client_order_id, exec, liquidity)),
            _ => None,
        })
        .collect();
    assert_eq!(
        flags,
        [
            (2, ExecKind::Ack, Liquidity::Unknown),
            (2, ExecKind::Fill, Liquidity::Taker),
            (1, ExecKind::PartialFill, Liquidity::Maker),
        ]
    );
}

#[test]
fn partial_fills_across_levels_then_rest() {
    let mut e = MatchingEngine::new();
    new(&mut e, Sell, Gtc, 1, 101, 3);
    new(&mut e, Sell, Gtc, 2, 100, 4);
    new(&mut e, Sell, Gtc, 3, 103, 5);
    assert_eq!(
        new(&mut e, Buy, Day, 4, 102, 10),
        [
            "ack 4 102x10 l10 c0",
            "partial_fill 4 100x4 l6 c4",
            "fill 2 100x4 l0 c4",
            "trade#1 buy 100x4",
            "partial_fill 4 101x3 l3 c7",
            "fill 1 101x3 l0 c3",
            "trade#2 buy 101x3",
        ]
    );
    assert_eq!(e.best_bid(), Some((px(102), q(3))));
    assert_eq!(e.best_ask(), Some((px(103), q(5))));
    // A seller hits the rest partially.
    assert_eq!(
        new(&mut e, Sell, Day, 5, 90, 2),
        [
            "ack 5 90x2 l2 c0",
            "fill 5 102x2 l0 c2",
            "partial_fill 4 102x2 l1 c9",
            "trade#3 sell 102x2",
        ]
    );
    e.check_invariants().unwrap();
}

#[test]
fn fifo_within_a_level() {
    let mut e = MatchingEngine::new();
    new(&mut e, Buy, Day, 1, 100, 5);
    new(&mut e, Buy, Day, 2, 100, 5);
    new(&mut e, Buy, Day, 3, 100, 5);
    assert_eq!(e.queue(Buy, px(100)), [1, 2, 3]);
    assert_eq!(
        new(&mut e, Sell, Ioc, 4, 100, 7),
        [
            "ack 4 100x7 l7 c0",
            "partial_fill 4 100x5 l2 c5",
            "fill 1 100x5 l0 c5",
            "trade#1 sell 100x5",
            "fill 4 100x2 l0 c7",
            "partial_fill 2 100x2 l3 c2",
            "trade#2 sell 100x2",
        ]
    );
    assert_eq!(e.queue(Buy, px(100)), [2, 3]);
}

#[test]
fn ioc_remainder_is_canceled() {
    let mut e = MatchingEngine::new();
    new(&mut e, Sell, Day, 1, 100, 3);
    assert_eq!(
        new(&mut e, Buy, Ioc, 2, 100, 5),
        [
            "ack 2 100x5 l5 c0",
            "partial_fill 2 100x3 l2 c3",
            "fill 1 100x3 l0 c3",
            "trade#1 buy 100x3",
            "canceled 2 100x5 l0 c3",
        ]
    );
    assert_eq!(
        new(&mut e, Buy, Ioc, 3, 100, 5),
        ["ack 3 100x5 l5 c0", "canceled 3 100x5 l0 c0"]
    );
    assert_eq!(e.open_orders(), 0);
}

#[test]
fn fok_rejects_without_trading_or_fills_completely() {
    let mut e = MatchingEngine::new();
    new(&mut e, Sell, Day, 1, 100, 3);
    new(&mut e, Sell, Day, 2, 101, 3);
    new(&mut e, Sell, Day, 3, 102, 3);
    // 6 available at or below 101: not enough for 7.
    assert_eq!(new(&mut e, Buy, Fok, 4, 101, 7), ["rejected 4 code 6"]);
    assert_eq!(e.best_ask(), Some((px(100), q(3))));
    assert_eq!(e.stats().trades, 0);
    let out = new(&mut e, Buy, Fok, 5, 101, 6);
    assert_eq!(out.len(), 7);
    assert_eq!(out[4], "fill 5 101x3 l0 c6");
    assert_eq!(e.best_ask(), Some((px(102), q(3))));
}

#[test]
fn post_only_rejects_if_it_would_cross() {
    let mut e = MatchingEngine::new();
    new(&mut e, Sell, Day, 1, 100, 3);
    assert_eq!(new(&mut e, Buy, PostOnly, 2, 100, 1), ["rejected 2 code 5"]);
    assert_eq!(new(&mut e, Buy, PostOnly, 3, 99, 1), ["ack 3 99x1 l1 c0"]);
    // Amending it through the ask is refused and leaves it unchanged.
    assert_eq!(amend(&mut e, 4, 3, 101, 1), ["cancel_rejected 4 code 5"]);
    assert!(e.is_live(3));
    assert_eq!(e.best_bid(), Some((px(99), q(1))));
}

#[test]
fn cancel_and_its_rejects() {
    let mut e = MatchingEngine::new();
    new(&mut e, Buy, Day, 1, 100, 5);
    new(&mut e, Sell, Day, 2, 100, 2);
    assert_eq!(cancel(&mut e, 3, 1), ["canceled 1 100x5 l0 c2"]);
    assert_eq!(e.open_orders(), 0);
    assert_eq!(e.best_bid(), None);
    assert_eq!(cancel(&mut e, 4, 1), ["cancel_rejected 4 code 7"]);
    assert_eq!(cancel(&mut e, 5, 99), ["cancel_rejected 5 code 1"]);
    assert_eq!(cancel(&mut e, 5, 1), ["cancel_rejected 5 code 2"]);
    assert_eq!(e.stats().rejects, 3);
}

#[test]
fn new_order_rejects() {
    let mut e = MatchingEngine::new();
    new(&mut e, Buy, Day, 1, 100, 5);
    assert_eq!(new(&mut e, Buy, Day, 1, 100, 5), ["rejected 1 code 2"]);
    assert_eq!(new(&mut e, Buy, Day, 2, 100, 0), ["rejected 2 code 3"]);
    assert_eq!(e.queue(Buy, px(100)), [1]);
    assert_eq!(e.order(1).map(|o| o.qty), Some(q(5)));
    // A refused id is consumed.
    assert_eq!(new(&mut e, Buy, Day, 2, 100, 1), ["rejected 2 code 2"]);
}

#[test]
fn amend_priority_rules() {
    let mut e = MatchingEngine::new();
    new(&mut e, Buy, Day, 1, 100, 5);
    new(&mut e, Buy, Day, 2, 100, 5);
    new(&mut e, Buy, Day, 3, 100, 5);
    // Quantity decrease keeps priority, under the new id.
    assert_eq!(amend(&mut e, 11, 1, 100, 4), ["replaced 11 100x4 l4 c0"]);
    assert_eq!(e.queue(Buy, px(100)), [11, 2, 3]);
    // Quantity increase loses it.
    assert_eq!(amend(&mut e, 12, 2, 100, 6), ["replaced 12 100x6 l6 c0"]);
    assert_eq!(e.queue(Buy, px(100)), [11, 3, 12]);
    // Price change loses it, even back to the same price.
    amend(&mut e, 13, 11, 99, 4);
    amend(&mut e, 14, 13, 100, 4);
    assert_eq!(e.queue(Buy, px(100)), [3, 12, 14]);
    // The old ids are gone.
    assert_eq!(cancel(&mut e, 15, 1), ["cancel_rejected 15 code 7"]);
    assert_eq!(amend(&mut e, 16, 77, 100, 1), ["cancel_rejected 16 code 1"]);
    assert_eq!(amend(&mut e, 17, 3, 100, 0), ["cancel_rejected 17 code 3"]);
    assert_eq!(amend(&mut e, 3, 3, 100, 1), ["cancel_rejected 3 code 2"]);
    e.check_invariants().unwrap();
}

#[test]
fn amend_below_filled_cancels_and_amend_through_the_book_trades() {
    let mut e = MatchingEngine::new();
    new(&mut e, Buy, Day, 1, 100, 10);
    new(&mut e, Sell, Day, 2, 100, 4);
    assert_eq!(amend(&mut e, 3, 1, 100, 4), ["canceled 1 100x10 l0 c4"]);
    assert_eq!(e.open_orders(), 0);

    new(&mut e, Sell, Day, 4, 105, 2);
    new(&mut e, Buy, Gtc, 5, 100, 5);
    assert_eq!(
        amend(&mut e, 6, 5, 106, 5),
        [
            "replaced 6 106x5 l5 c0",
            "partial_fill 6 105x2 l3 c2",
            "fill 4 105x2 l0 c2",
            "trade#2 buy 105x2",
        ]
    );
    assert_eq!(e.best_bid(), Some((px(106), q(3))));
    // Decrease of a partially filled order keeps cum_qty.
    assert_eq!(amend(&mut e, 7, 6, 106, 4), ["replaced 7 106x4 l2 c2"]);
    e.check_invariants().unwrap();
}

#[test]
fn handle_ignores_non_requests() {
    let mut e = MatchingEngine::new();
    let body = EventBody::Timer {
        timer_id: 1,
        deadline_ns: 0,
    };
    assert!(!e.handle(&body, &mut |_| panic!("no output")));
}

// ---- SimVenue: latency in event time ----

const INSTR: InstrumentId = InstrumentId::new(7);

fn venue(entry: i64, ack: i64) -> SimVenue {
    let mut v = SimVenue::new(VenueConfig {
        venue_id: 3,
        entry_latency_ns: entry,
        ack_latency_ns: ack,
        ..Default::default()
    })
    .unwrap();
    v.add_instrument(INSTR, Scale::new(2), Scale::new(0));
    v
}

fn request(sequence: u64, instrument: InstrumentId, body: EventBody) -> Event {
    Event {
        header: EventHeader {
            sequence,
            cause_sequence: sequence,
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

fn order(id: u64, side: Side, tif: TimeInForce, p: i64, n: i64) -> EventBody {
    EventBody::OrderNew {
        side,
        tif,
        venue: 3,
        client_order_id: id,
        price: px(p),
        qty: q(n),
    }
}

#[test]
fn reports_are_due_at_entry_plus_ack_latency() {
    let mut v = venue(100, 50);
    v.submit(1_000, &request(9, INSTR, order(1, Buy, Day, 100, 5)))
        .unwrap();
    let mut got = Vec::new();
    v.advance_to(1_099, &mut |e| got.push(e));
    assert!(got.is_empty());
    assert_eq!(v.next_due_ns(), Some(1_100));
    v.advance_to(1_100, &mut |e| got.push(e));
    assert!(got.is_empty(), "processed but not yet delivered");
    assert_eq!(v.engine(INSTR).unwrap().open_orders(), 1);
    v.advance_to(1_149, &mut |e| got.push(e));
    assert!(got.is_empty());
    v.advance_to(1_150, &mut |e| got.push(e));
    assert_eq!(got.len(), 1);
    let h = got[0].header;
    assert_eq!((h.exchange_ts_ns, h.receive_ts_ns), (1_100, 1_150));
    assert_eq!((h.cause_sequence, h.source, h.instrument), (9, 3, INSTR));
    assert_eq!((h.price_scale, h.qty_scale), (2, 0));
    assert_eq!(show(&got[0].body), "ack 1 100x5 l5 c0");
    assert_eq!(v.pending(), 0);
}

#[test]
fn same_time_requests_are_processed_in_submission_order() {
    let mut v = venue(10, 0);
    v.submit(0, &request(1, INSTR, order(1, Sell, Day, 100, 5)))
        .unwrap();
    v.submit(0, &request(2, INSTR, order(2, Buy, Ioc, 100, 5)))
        .unwrap();
    v.submit(0, &request(3, INSTR, order(3, Buy, Ioc, 100, 5)))
        .unwrap();
    let mut got = Vec::new();
    v.advance_to(10, &mut |e| got.push(show(&e.body)));
    assert_eq!(
        got,
        [
            "ack 1 100x5 l5 c0",
            "ack 2 100x5 l5 c0",
            "fill 2 100x5 l0 c5",
            "fill 1 100x5 l0 c5",
            "trade#1 buy 100x5",
            "ack 3 100x5 l5 c0",
            "canceled 3 100x5 l0 c0",
        ]
    );
}

#[test]
fn a_cancel_in_flight_races_the_fill() {
    // Entry latency 10: the cancel sent at 5 arrives at 15, after the buyer at 12.
    let mut v = venue(10, 1);
    v.submit(0, &request(1, INSTR, order(1, Sell, Day, 100, 5)))
        .unwrap();
    v.submit(
        5,
        &request(
            2,
            INSTR,
            EventBody::OrderCancel {
                client_order_id: 2,
                orig_client_order_id: 1,
            },
        ),
    )
    .unwrap();
    v.submit(2, &request(3, INSTR, order(3, Buy, Day, 100, 5)))
        .unwrap();
    let mut got = Vec::new();
    v.advance_to(100, &mut |e| {
        got.push((e.header.exchange_ts_ns, show(&e.body)))
    });
    assert_eq!(
        got.last(),
        Some(&(15, "cancel_rejected 2 code 7".to_string()))
    );
}

#[test]
fn venue_rejects_unknown_instrument_and_non_requests() {
    let mut v = venue(0, 0);
    let timer = EventBody::Timer {
        timer_id: 1,
        deadline_ns: 0,
    };
    assert_eq!(
        v.submit(0, &request(1, INSTR, timer)),
        Err(VenueError::NotAnOrderRequest {
            kind: EventKind::Timer
        })
    );
    v.submit(
        0,
        &request(2, InstrumentId::new(8), order(1, Buy, Day, 100, 1)),
    )
    .unwrap();
    let mut got = Vec::new();
    v.advance_to(0, &mut |e| got.push(show(&e.body)));
    assert_eq!(got, ["rejected 1 code 8"]);
    assert!(SimVenue::new(VenueConfig {
        venue_id: 0,
        entry_latency_ns: -1,
        ack_latency_ns: 0,
        ..Default::default()
    })
    .is_err());
}

// ---- property test: random streams from two participants ----

/// Participant A uses client ids from 1, participant B from `B_BASE`.
const B_BASE: u64 = 1 << 32;

#[derive(Debug, Clone)]
enum Op {
    New {
        b: bool,
        side: bool,
        tif: u8,
        price: i64,
        qty: i64,
    },
    Cancel {
        b: bool,
        target: u64,
    },
    Amend {
        b: bool,
        target: u64,
        price: i64,
        qty: i64,
    },
    /// Reuse an id already used (duplicate).
    Dup {
        b: bool,
        back: u64,
        price: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let tif = 0u8..5;
    prop_oneof![
        5 => (any::<bool>(), any::<bool>(), tif, 95i64..106, 0i64..12)
            .prop_map(|(b, side, tif, price, qty)| Op::New { b, side, tif, price, qty }),
        2 => (any::<bool>(), 0u64..40).prop_map(|(b, target)| Op::Cancel { b, target }),
        2 => (any::<bool>(), 0u64..40, 95i64..106, 0i64..12)
            .prop_map(|(b, target, price, qty)| Op::Amend { b, target, price, qty }),
        1 => (any::<bool>(), 0u64..5, 95i64..106).prop_map(|(b, back, price)| Op::Dup { b, back, price }),
    ]
}

/// Turns ops into order-request bodies with fresh ids (per participant counters).
fn bodies(ops: &[Op]) -> Vec<EventBody> {
    let mut next = [1u64, B_BASE];
    let mut fresh = |b: bool| {
        let i = usize::from(b);
        let id = next[i];
        next[i] += 1;
        id
    };
    let base = |b: bool| if b { B_BASE } else { 1 };
    ops.iter()
        .map(|op| match *op {
            Op::New {
                b,
                side,
                tif,
                price,
                qty,
            } => EventBody::OrderNew {
                side: if side { Buy } else { Sell },
                tif: TimeInForce::ALL[usize::from(tif) % TimeInForce::ALL.len()],
                venue: 0,
                client_order_id: fresh(b),
                price: px(price),
                qty: q(qty),
            },
            Op::Cancel { b, target } => EventBody::OrderCancel {
                client_order_id: fresh(b),
                orig_client_order_id: base(b) + target,
            },
            Op::Amend {
                b,
                target,
                price,
                qty,
            } => EventBody::OrderAmend {
                client_order_id: fresh(b),
                orig_client_order_id: base(b) + target,
                price: px(price),
                qty: q(qty),
            },
            Op::Dup { b, back, price } => EventBody::OrderNew {
                side: Buy,
                tif: Day,
                venue: 0,
                client_order_id: base(b) + back,
                price: px(price),
                qty: q(1),
            },
        })
        .collect()
}

fn run_venue(requests: &[EventBody], times: &[i64]) -> Vec<Event> {
    let mut v = venue(7, 3);
    let mut out = Vec::new();
    let mut t = 0;
    for (i, (body, dt)) in requests.iter().zip(times.iter().cycle()).enumerate() {
        t += dt;
        v.advance_to(t, &mut |e| out.push(e));
        v.submit(t, &request(i as u64 + 1, INSTR, *body)).unwrap();
    }
    v.advance_to(i64::MAX, &mut |e| out.push(e));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_streams_keep_the_book_sound(ops in prop::collection::vec(op(), 0..150)) {
        let requests = bodies(&ops);
        let mut e = MatchingEngine::new();
        // Current qty of every order, by current client id (from Ack and Replaced).
        let mut qty_of: BTreeMap<u64, i64> = BTreeMap::new();
        let mut cum_of: BTreeMap<u64, i64> = BTreeMap::new();
        let mut all = Vec::new();
        for request in &requests {
            let mut out = Vec::new();
            prop_assert!(e.handle(request, &mut |b| out.push(b)));
            prop_assert!(!e.is_crossed());
            if let Err(why) = e.check_invariants() {
                prop_assert!(false, "{}", why);
            }
            for (i, body) in out.iter().enumerate() {
                match *body {
                    EventBody::ExecReport { exec, client_order_id: id, qty, leaves_qty, cum_qty, .. } => {
                        match exec {
                            ExecKind::Ack | ExecKind::Replaced => {
                                qty_of.insert(id, qty.raw());
                                prop_assert_eq!(leaves_qty.raw() + cum_qty.raw(), qty.raw());
                                if exec == ExecKind::Replaced {
                                    // The order keeps its fills under the new id.
                                    cum_of.insert(id, cum_qty.raw());
                                }
                            }
                            ExecKind::Canceled => {
                                prop_assert_eq!(leaves_qty.raw(), 0);
                                prop_assert_eq!(qty_of.get(&id).copied(), Some(qty.raw()));
                                prop_assert!(!e.is_live(id));
                            }
                            ExecKind::PartialFill | ExecKind::Fill => {
                                let total = qty_of.get(&id).copied().unwrap_or(0);
                                prop_assert!(cum_qty.raw() <= total, "cum over qty: {}", show(body));
                                prop_assert_eq!(cum_qty.raw() + leaves_qty.raw(), total);
                                prop_assert_eq!(exec == ExecKind::Fill, leaves_qty.raw() == 0);
                                let prev = cum_of.insert(id, cum_qty.raw()).unwrap_or(0);
                                prop_assert!(cum_qty.raw() > prev);
                            }
                            _ => {}
                        }
                        // A CancelRejected carries the refused request's id (which a client may
                        // have reused) with the target order's quantities: not comparable.
                        if exec != ExecKind::CancelRejected {
                            prop_assert!(
                                cum_qty.raw() <= qty_of.get(&id).copied().unwrap_or(i64::MAX)
                            );
                        }
                    }
                    EventBody::Trade { price, qty, .. } => {
                        // The two reports before a print are the two sides of that fill.
                        prop_assert!(i >= 2);
                        let side_of = |b: &EventBody| match *b {
                            EventBody::ExecReport { exec: ExecKind::PartialFill | ExecKind::Fill, side, price, qty, .. } => Some((side, price, qty)),
                            _ => None,
                        };
                        let taker = side_of(&out[i - 2]);
                        let maker = side_of(&out[i - 1]);
                        prop_assert!(taker.is_some() && maker.is_some());
                        if let (Some(t), Some(m)) = (taker, maker) {
                            prop_assert_eq!(t.0, m.0.opposite());
                            prop_assert_eq!((t.1, t.2), (price, qty));
                            prop_assert_eq!((m.1, m.2), (price, qty));
                        }
                    }
                    _ => prop_assert!(false, "unexpected output {:?}", body),
                }
            }
            all.extend(out);
        }
        // Buy fills equal sell fills overall, and every print has its two fills.
        let filled = |side: Side| -> i64 {
            all.iter().filter_map(|b| match *b {
                EventBody::ExecReport { exec: ExecKind::PartialFill | ExecKind::Fill, side: s, qty, .. } if s == side => Some(qty.raw()),
                _ => None,
            }).sum()
        };
        let printed: i64 = all.iter().filter_map(|b| match *b {
            EventBody::Trade { qty, .. } => Some(qty.raw()),
            _ => None,
        }).sum();
        prop_assert_eq!(filled(Buy), printed);
        prop_assert_eq!(filled(Sell), printed);
    }

    #[test]
    fn same_stream_same_output(
        ops in prop::collection::vec(op(), 0..100),
        times in prop::collection::vec(0i64..10, 1..8),
    ) {
        let requests = bodies(&ops);
        let first = run_venue(&requests, &times);
        let second = run_venue(&requests, &times);
        prop_assert_eq!(&first, &second);
        // Delivered in receive-time order, each exactly ack latency after processing.
        for pair in first.windows(2) {
            prop_assert!(pair[0].header.receive_ts_ns <= pair[1].header.receive_ts_ns);
        }
        for event in &first {
            prop_assert_eq!(event.header.receive_ts_ns - event.header.exchange_ts_ns, 3);
        }
    }
}

// ---- public market data and participants ----

use rand::{Rng, SeedableRng};
use tickrail_engine::book::l3::L3Book;
use tickrail_engine::book::BookView;

/// A publishing venue.
fn feed_venue(entry: i64, ack: i64, feed: i64) -> SimVenue {
    let mut v = SimVenue::new(VenueConfig {
        venue_id: 3,
        entry_latency_ns: entry,
        ack_latency_ns: ack,
        feed_latency_ns: feed,
        publish_market_data: true,
    })
    .unwrap();
    v.add_instrument(INSTR, Scale::new(2), Scale::new(0));
    v
}

const P: u64 = PARTICIPANT_ID_BIT;

/// Every level of both sides, best first, as (price, total quantity).
fn engine_levels(e: &MatchingEngine) -> [Vec<(i64, i64)>; 2] {
    [Buy, Sell].map(|side| e.depth(side).map(|(p, n)| (p.raw(), n.raw())).collect())
}

fn book_levels(b: &L3Book) -> [Vec<(i64, i64)>; 2] {
    [Buy, Sell].map(|side| {
        (0..)
            .map_while(|i| b.depth(side, i))
            .map(|l| (l.px, l.qty))
            .collect()
    })
}

/// The public book equals the venue's: every level, and the same number of orders.
fn same_book(e: &MatchingEngine, b: &L3Book) -> Result<(), String> {
    let (want, got) = (engine_levels(e), book_levels(b));
    if want != got {
        return Err(format!("venue {want:?}\npublic {got:?}"));
    }
    if e.open_orders() != b.orders() {
        return Err(format!(
            "{} orders at the venue, {} public",
            e.open_orders(),
            b.orders()
        ));
    }
    b.check_invariants()
}

/// Runs `requests` (participant ones flagged) one at a time with zero latencies, feeding the
/// published events into an `L3Book` and comparing it with the venue's book after each.
/// Returns every delivered event.
fn replay_public_book(requests: &[(bool, EventBody)]) -> Result<Vec<Event>, String> {
    let mut v = feed_venue(0, 0, 0);
    let mut book = L3Book::with_capacity(4096, 256);
    let mut all = Vec::new();
    for (i, (participant, body)) in requests.iter().enumerate() {
        let t = i as i64;
        let req = request(i as u64 + 1, INSTR, *body);
        if *participant {
            v.submit_participant(t, &req).map_err(|e| e.to_string())?;
        } else {
            v.submit(t, &req).map_err(|e| e.to_string())?;
        }
        let mut out = Vec::new();
        v.advance_to(t, &mut |e| out.push(e));
        for e in &out {
            if let Some(a) = book.apply_event(e) {
                return Err(format!("step {i}: {a:?} applying {e}"));
            }
            if let EventBody::ExecReport {
                client_order_id, ..
            } = e.body
            {
                if is_participant_id(client_order_id) {
                    return Err(format!("participant report delivered: {e}"));
                }
            }
        }
        let engine = v.engine(INSTR).ok_or("no engine")?;
        engine.check_invariants()?;
        same_book(engine, &book).map_err(|why| format!("step {i} ({body:?}): {why}"))?;
        all.extend(out);
    }
    Ok(all)
}

/// Like [`bodies`], with participant B's ids in the reserved range and B flagged.
fn mixed_requests(ops: &[Op]) -> Vec<(bool, EventBody)> {
    let to_p = |id: u64| {
        if id >= B_BASE {
            P | (id - B_BASE + 1)
        } else {
            id
        }
    };
    bodies(ops)
        .into_iter()
        .map(|body| match body {
            EventBody::OrderNew {
                side,
                tif,
                venue,
                client_order_id,
                price,
                qty,
            } => (
                client_order_id >= B_BASE,
                EventBody::OrderNew {
                    side,
                    tif,
                    venue,
                    client_order_id: to_p(client_order_id),
                    price,
                    qty,
                },
            ),
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => (
                client_order_id >= B_BASE,
                EventBody::OrderCancel {
                    client_order_id: to_p(client_order_id),
                    orig_client_order_id: to_p(orig_client_order_id),
                },
            ),
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty,
            } => (
                client_order_id >= B_BASE,
                EventBody::OrderAmend {
                    client_order_id: to_p(client_order_id),
                    orig_client_order_id: to_p(orig_client_order_id),
                    price,
                    qty,
                },
            ),
            other => (false, other),
        })
        .collect()
}

#[test]
fn amends_publish_what_keeps_the_public_book_equal() {
    let show_md = |e: &Event| match e.body {
        EventBody::OrderAdd {
            side,
            order_id,
            price,
            qty,
        } => Some(format!(
            "add #{order_id} {side} {}x{}",
            price.raw(),
            qty.raw()
        )),
        EventBody::OrderModify {
            order_id,
            price,
            qty,
        } => Some(format!("modify #{order_id} {}x{}", price.raw(), qty.raw())),
        EventBody::OrderDelete { order_id } => Some(format!("delete #{order_id}")),
        EventBody::OrderExecute {
            order_id,
            qty,
            price,
            match_id,
        } => Some(format!(
            "exec #{order_id} {}x{} m{match_id}",
            price.raw(),
            qty.raw()
        )),
        EventBody::Trade { .. } => Some(show(&e.body)),
        _ => None,
    };
    let requests = [
        (false, order(1, Buy, Day, 100, 5)),     // #1 rests
        (true, order(P | 1, Buy, Gtc, 100, 5)),  // #2 rests behind
        (true, order(P | 2, Sell, Gtc, 103, 4)), // #3
        // Lower quantity, same price: keeps priority.
        (
            false,
            EventBody::OrderAmend {
                client_order_id: 2,
                orig_client_order_id: 1,
                price: px(100),
                qty: q(4),
            },
        ),
        // Raise: loses priority, does not cross.
        (
            true,
            EventBody::OrderAmend {
                client_order_id: P | 3,
                orig_client_order_id: P | 1,
                price: px(100),
                qty: q(6),
            },
        ),
        // Through the ask: delete, trade, rest the remainder.
        (
            false,
            EventBody::OrderAmend {
                client_order_id: 3,
                orig_client_order_id: 2,
                price: px(103),
                qty: q(6),
            },
        ),
        // Cancel of a participant order.
        (
            true,
            EventBody::OrderCancel {
                client_order_id: P | 4,
                orig_client_order_id: P | 3,
            },
        ),
        // An amend to at most the filled quantity cancels.
        (
            false,
            EventBody::OrderAmend {
                client_order_id: 4,
                orig_client_order_id: 3,
                price: px(103),
                qty: q(4),
            },
        ),
    ];
    let all = replay_public_book(&requests).unwrap();
    let md: Vec<String> = all.iter().filter_map(show_md).collect();
    assert_eq!(
        md,
        [
            "add #1 buy 100x5",
            "add #2 buy 100x5",
            "add #3 sell 103x4",
            "modify #1 100x4",
            "modify #2 100x6",
            "delete #1",
            "exec #3 103x4 m1",
            "trade#1 buy 103x4",
            "add #1 buy 103x2",
            "delete #2",
            "delete #1",
        ]
    );
    // Our reports arrive; the participants' do not.
    let ours: Vec<String> = all
        .iter()
        .filter(|e| e.kind() == EventKind::ExecReport)
        .map(|e| show(&e.body))
        .collect();
    assert_eq!(
        ours,
        [
            "ack 1 100x5 l5 c0",
            "replaced 2 100x4 l4 c0",
            "replaced 3 103x6 l6 c0",
            "partial_fill 3 103x4 l2 c4",
            "canceled 3 103x6 l0 c4",
        ]
    );
}

#[test]
fn market_data_has_feed_latency_and_headers() {
    let mut v = feed_venue(100, 50, 20);
    v.submit_participant(1_000, &request(5, INSTR, order(P | 1, Sell, Gtc, 101, 3)))
        .unwrap();
    v.submit(1_000, &request(6, INSTR, order(1, Buy, Ioc, 101, 1)))
        .unwrap();
    let mut got = Vec::new();
    v.advance_to(i64::MAX, &mut |e| got.push(e));
    let line = |e: &Event| {
        (
            e.header.exchange_ts_ns,
            e.header.receive_ts_ns,
            e.header.cause_sequence,
            e.kind().name(),
        )
    };
    let lines: Vec<_> = got.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            (1_000, 1_020, 5, "order_add"),
            (1_100, 1_120, 6, "order_execute"),
            (1_100, 1_120, 6, "trade"),
            (1_100, 1_150, 6, "exec_report"),
            (1_100, 1_150, 6, "exec_report"),
        ]
    );
    for e in &got {
        let h = e.header;
        assert_eq!(
            (h.source, h.instrument, h.price_scale, h.qty_scale),
            (3, INSTR, 2, 0)
        );
    }
    let stats = v.stats();
    assert_eq!((stats.requests, stats.participant_requests), (1, 1));
    assert_eq!((stats.reports, stats.market_data), (2, 3));
    assert_eq!(stats.participant_reports_dropped, 2);
}

#[test]
fn reserved_ids_are_refused_both_ways() {
    let mut v = feed_venue(0, 0, 0);
    // Ours in the reserved range, or targeting a participant's order: refused with a report.
    v.submit_participant(0, &request(1, INSTR, order(P | 1, Sell, Gtc, 101, 3)))
        .unwrap();
    v.submit(0, &request(2, INSTR, order(P | 9, Buy, Day, 100, 1)))
        .unwrap();
    let cancel_theirs = EventBody::OrderCancel {
        client_order_id: 7,
        orig_client_order_id: P | 1,
    };
    v.submit(0, &request(3, INSTR, cancel_theirs)).unwrap();
    let mut got = Vec::new();
    v.advance_to(0, &mut |e| got.push(e));
    let reports: Vec<String> = got
        .iter()
        .filter(|e| e.kind() == EventKind::ExecReport)
        .map(|e| show(&e.body))
        .collect();
    assert_eq!(
        reports,
        [
            format!("rejected {} code 9", P | 9),
            "cancel_rejected 7 code 9".to_string()
        ]
    );
    assert!(v.engine(INSTR).unwrap().is_live(P | 1));
    // A participant request outside the range, or not a request, is a call error.
    assert_eq!(
        v.submit_participant(0, &request(4, INSTR, order(5, Buy, Day, 100, 1))),
        Err(VenueError::NotAParticipantId { client_order_id: 5 })
    );
    let cancel_ours = EventBody::OrderCancel {
        client_order_id: P | 2,
        orig_client_order_id: 1,
    };
    assert_eq!(
        v.submit_participant(0, &request(5, INSTR, cancel_ours)),
        Err(VenueError::NotAParticipantId { client_order_id: 1 })
    );
    let timer = EventBody::Timer {
        timer_id: 1,
        deadline_ns: 0,
    };
    assert!(matches!(
        v.submit_participant(0, &request(6, INSTR, timer)),
        Err(VenueError::NotAnOrderRequest { .. })
    ));
    assert!(SimVenue::new(VenueConfig {
        feed_latency_ns: -1,
        ..VenueConfig::default()
    })
    .is_err());
}

#[test]
fn participant_orders_are_forgotten_once_finished() {
    let mut v = feed_venue(0, 0, 0);
    for i in 1..=1_000u64 {
        let side = if i % 2 == 0 { Buy } else { Sell };
        v.submit_participant(0, &request(i, INSTR, order(P | i, side, Gtc, 100, 1)))
            .unwrap();
    }
    v.advance_to(0, &mut |_| {});
    let e = v.engine(INSTR).unwrap();
    assert_eq!(e.open_orders(), 0);
    assert_eq!(e.order(P | 1), None);
    assert_eq!(e.stats().trades, 500);
}

#[test]
fn late_requests_are_processed_at_the_venue_clock() {
    let mut v = feed_venue(0, 5, 0);
    v.submit(100, &request(1, INSTR, order(1, Buy, Day, 100, 1)))
        .unwrap();
    v.advance_to(100, &mut |_| {});
    // Submitted "before" the last processing: processed at 100, not 10.
    v.submit(10, &request(2, INSTR, order(2, Buy, Day, 100, 1)))
        .unwrap();
    let mut got = Vec::new();
    v.advance_to(1_000, &mut |e| got.push(e));
    assert!(got.iter().all(|e| e.header.exchange_ts_ns == 100));
    assert!(got
        .windows(2)
        .all(|w| w[0].header.receive_ts_ns <= w[1].header.receive_ts_ns));
}

/// A long seeded stream: our orders and participants', amends and cancels, prices drifting.
#[test]
fn published_book_matches_over_a_long_seeded_stream() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut requests = Vec::new();
    let (mut ours, mut theirs) = (0u64, 0u64);
    let mut center = 1_000i64;
    for _ in 0..20_000 {
        center = (center + rng.gen_range(-1..=1)).max(50);
        let participant = rng.gen_bool(0.7);
        let (next, base) = if participant {
            (&mut theirs, P)
        } else {
            (&mut ours, 0)
        };
        *next += 1;
        let id = base | *next;
        // Mostly recent orders, so that cancels and amends often find them live.
        let target = base | rng.gen_range((*next).saturating_sub(40).max(1)..=*next);
        let price = px(center + rng.gen_range(-8..=8));
        let body = match rng.gen_range(0..10) {
            0..=5 => EventBody::OrderNew {
                side: if rng.gen_bool(0.5) { Buy } else { Sell },
                tif: TimeInForce::ALL[rng.gen_range(0..TimeInForce::ALL.len())],
                venue: 3,
                client_order_id: id,
                price,
                qty: q(rng.gen_range(1..20)),
            },
            6 | 7 => EventBody::OrderCancel {
                client_order_id: id,
                orig_client_order_id: target,
            },
            _ => EventBody::OrderAmend {
                client_order_id: id,
                orig_client_order_id: target,
                price,
                qty: q(rng.gen_range(1..25)),
            },
        };
        requests.push((participant, body));
    }
    let all = replay_public_book(&requests).unwrap();
    let trades = all.iter().filter(|e| e.kind() == EventKind::Trade).count();
    let modifies = all
        .iter()
        .filter(|e| e.kind() == EventKind::OrderModify)
        .count();
    assert!(
        trades > 1_000 && modifies > 100,
        "{trades} trades, {modifies} modifies"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The key property of the feed: applied to the engine's `L3Book`, the published events
    /// reproduce the venue's book (every level's price and total) after every request, for
    /// any mix of our and participants' orders, cancels, amends and duplicates.
    #[test]
    fn published_l3_reproduces_the_venue_book(ops in prop::collection::vec(op(), 0..200)) {
        let requests = mixed_requests(&ops);
        if let Err(why) = replay_public_book(&requests) {
            prop_assert!(false, "{}", why);
        }
    }
}
