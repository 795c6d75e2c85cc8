//! The historical market with latency models: per-type latencies, in-order and overtaking
//! arrivals, response latencies that keep reports in order, and a property test of the
//! timing rules under random models (no report before its request's arrival, arrival at
//! submission plus the drawn latency, causality of `next_due_ns`).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;

use proptest::prelude::*;
use tickrail_engine::config::{LatencyKind, LatencyModelSpec, LatencySpec, ProfileSeries};
use tickrail_engine::runtime::Market;
use tickrail_engine::{Aggressor, Event, EventBody, ExecKind, Price, Qty, Side, TimeInForce};
use tickrail_gateways::venue::reject;

use super::latency_model::{Latencies, LatencyModel};
use super::{BacktestParams, HistoricalMarket, QueueModel};

use super::tests::{self, add, amend, cancel, fifo, md, new_order, spec, Sim, VecFeed, VENUE};

fn trade(t: i64, px: i64, q: i64) -> Event {
    md(
        t,
        EventBody::Trade {
            aggressor: Aggressor::Unknown,
            price: Price::new(px),
            qty: Qty::new(q),
            trade_id: 0,
        },
    )
}

fn buy(id: u64, px: i64, q: i64) -> Event {
    new_order(id, Side::Buy, TimeInForce::Day, px, q)
}

fn market(events: Vec<Event>, latency: Latencies) -> Sim {
    tests::market(events, fifo()).with_latency(latency).unwrap()
}

/// Drives `m` like the Runner: `next_due_ns` before each input, which must be a lower bound
/// of its receive time; receive times never decrease; `react(input index, input)` answers
/// with requests submitted at the input's receive time. Returns the inputs and the
/// `(input index, submission time, request)` triples.
fn run(
    m: &mut Sim,
    mut react: impl FnMut(usize, &Event) -> Vec<Event>,
) -> (Vec<Event>, Vec<(usize, i64, Event)>) {
    let (mut out, mut sent) = (Vec::new(), Vec::new());
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
        for r in react(out.len(), &e) {
            m.submit(t, &r).unwrap();
            sent.push((out.len(), t, r));
        }
        out.push(e);
    }
    (out, sent)
}

/// `(exec, client id, venue time, receive time, reject code)` of each report.
fn reports(events: &[Event]) -> Vec<(ExecKind, u64, i64, i64, u16)> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::ExecReport {
                exec,
                client_order_id,
                reject_code,
                ..
            } => Some((
                exec,
                client_order_id,
                e.header.exchange_ts_ns,
                e.header.receive_ts_ns,
                reject_code,
            )),
            _ => None,
        })
        .collect()
}

fn latencies(new: i64, cancel: i64, replace: i64, response: i64, in_order: bool) -> Latencies {
    Latencies {
        new: LatencyModel::Constant(new),
        cancel: LatencyModel::Constant(cancel),
        replace: LatencyModel::Constant(replace),
        response: LatencyModel::Constant(response),
        in_order,
    }
}

/// A resting sell at 100 (received at 1_000) and market data until 100_000.
fn book() -> Vec<Event> {
    vec![
        add(1_000, 1, Side::Sell, 100, 10),
        add(50_000, 2, Side::Sell, 101, 10),
        add(100_000, 3, Side::Sell, 102, 10),
    ]
}

#[test]
fn each_request_type_has_its_own_latency_in_order() {
    // New 10_000 ns, cancel 2_000 ns, replace 5_000 ns, response 700 ns. At 1_000 we send a
    // new order and, right after, a cancel of it: the cancel would arrive at 3_000 but
    // waits for the new (arriving at 11_000), so it cancels the acknowledged order.
    let mut m = market(book(), latencies(10_000, 2_000, 5_000, 700, true));
    let (out, _) = run(&mut m, |i, _| match i {
        0 => vec![buy(7, 90, 1), cancel(8, 7)],
        _ => Vec::new(),
    });
    assert_eq!(
        reports(&out),
        vec![
            (ExecKind::Ack, 7, 11_000, 11_700, 0),
            (ExecKind::Canceled, 7, 11_000, 11_700, 0),
        ]
    );

    // An amend: 5_000 ns.
    let mut m = market(book(), latencies(10_000, 2_000, 5_000, 700, true));
    let (out, _) = run(&mut m, |i, _| match i {
        0 => vec![buy(7, 90, 1)],
        1 => vec![amend(9, 7, 91, 1)], // the ack, received at 11_700
        _ => Vec::new(),
    });
    assert_eq!(
        reports(&out),
        vec![
            (ExecKind::Ack, 7, 11_000, 11_700, 0),
            (ExecKind::Replaced, 9, 16_700, 17_400, 0),
        ]
    );
}

#[test]
fn with_overtaking_a_faster_cancel_arrives_before_its_order() {
    // The same requests without `in_order`: the cancel arrives at 3_000, before the order
    // exists (UNKNOWN_ORDER); the order is acknowledged at 11_000 and keeps resting.
    let mut m = market(book(), latencies(10_000, 2_000, 5_000, 700, false));
    let (out, _) = run(&mut m, |i, _| match i {
        0 => vec![buy(7, 90, 1), cancel(8, 7)],
        _ => Vec::new(),
    });
    assert_eq!(
        reports(&out),
        vec![
            (
                ExecKind::CancelRejected,
                8,
                3_000,
                3_700,
                reject::UNKNOWN_ORDER
            ),
            (ExecKind::Ack, 7, 11_000, 11_700, 0),
        ]
    );
    assert_eq!(m.open_orders(), 1);
}

#[test]
fn response_latency_from_a_profile_keeps_reports_in_order() {
    // Response latency by time of day: 5_000 ns at t = 0, 0 ns at t = 10_000 (linear).
    // The order arrives at 2_000 (latency 4_000: received at 6_000); the trade through its
    // price at 8_000 fills it (latency 1_000: received at 9_000).
    let lat = Latencies {
        response: LatencyModel::profile(vec![(0, 5_000), (10_000, 0)]),
        ..latencies(1_000, 1_000, 1_000, 0, true)
    };
    let feed = vec![
        add(1_000, 1, Side::Sell, 100, 10),
        trade(8_000, 80, 5),
        add(20_000, 2, Side::Sell, 101, 10),
    ];
    let mut m = market(feed, lat);
    let (out, _) = run(&mut m, |i, _| match i {
        0 => vec![buy(7, 90, 1)],
        _ => Vec::new(),
    });
    assert_eq!(
        reports(&out),
        vec![
            (ExecKind::Ack, 7, 2_000, 6_000, 0),
            (ExecKind::Fill, 7, 8_000, 9_000, 0),
        ]
    );

    // A profile falling faster than time passes: the fill's own time plus its latency
    // (1_500 + 2_500) is before the ack's receive time (1_000 + 5_000): it is raised to it.
    let lat = Latencies {
        response: LatencyModel::profile(vec![(0, 10_000), (2_000, 0)]),
        ..latencies(0, 0, 0, 0, true)
    };
    let feed = vec![
        add(1_000, 1, Side::Sell, 100, 10),
        trade(1_500, 80, 5),
        add(50_000, 2, Side::Sell, 101, 1),
    ];
    let mut m = market(feed, lat);
    let (out, _) = run(&mut m, |i, _| match i {
        0 => vec![buy(7, 90, 1)],
        _ => Vec::new(),
    });
    assert_eq!(
        reports(&out),
        vec![
            (ExecKind::Ack, 7, 1_000, 6_000, 0),
            (ExecKind::Fill, 7, 1_500, 6_000, 0),
        ]
    );
}

#[test]
fn a_negative_model_is_refused() {
    let feed = VecFeed::default();
    let e = HistoricalMarket::new(
        feed,
        BacktestParams::new(VENUE, QueueModel::Fifo),
        &[spec()],
    )
    .unwrap()
    .with_latency(latencies(1, -5, 1, 1, true))
    .unwrap_err();
    assert_eq!(
        e,
        super::BacktestError::NegativeLatency {
            field: "latency.cancel",
            value_ns: -5
        }
    );
}

/// One model of the property test: constant, lognormal (seeded) or a profile.
fn model_spec() -> impl Strategy<Value = LatencyModelSpec> {
    prop_oneof![
        // Constants often: the horizon is then exact, where causality is tightest.
        3 => (0_i64..20_000).prop_map(|ns| LatencyModelSpec::Constant { ns }),
        1 => (1_i64..20_000, 0.0_f64..1.5, 0_i64..3_000, any::<u64>()).prop_map(
            |(median_ns, sigma, floor_ns, seed)| LatencyModelSpec::LogNormal {
                median_ns,
                sigma,
                floor_ns,
                cap_ns: Some(floor_ns + 60_000),
                seed,
            }
        ),
        1 => prop::collection::vec((0_i64..200_000, 0_i64..30_000), 1..6).prop_map(|mut pts| {
            pts.sort_unstable();
            pts.dedup_by_key(|p| p.0);
            LatencyModelSpec::Profile(ProfileSeries {
                file: "p.csv".into(),
                content_hash: 0,
                series: LatencyKind::New,
                points: pts,
            })
        }),
    ]
}

fn latency_spec() -> impl Strategy<Value = LatencySpec> {
    (
        model_spec(),
        model_spec(),
        model_spec(),
        model_spec(),
        any::<bool>(),
    )
        .prop_map(|(new, cancel, replace, response, in_order)| LatencySpec {
            new: Some(new),
            cancel: Some(cancel),
            replace: Some(replace),
            response: Some(response),
            in_order,
        })
}

/// Random book and trades: `(gap ns, is a trade, side is buy, price offset, qty)`.
fn feed_strategy() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (
            1_i64..5_000,
            any::<bool>(),
            any::<bool>(),
            0_i64..6,
            1_i64..20,
        ),
        5..60,
    )
    .prop_map(|steps| {
        let mut t = 0;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (gap, is_trade, is_buy, off, q))| {
                t += gap;
                if is_trade {
                    trade(t, 97 + off, q)
                } else {
                    let (side, px) = if is_buy {
                        (Side::Buy, 95 + off)
                    } else {
                        (Side::Sell, 100 + off)
                    };
                    add(t, i as u64 + 1, side, px, q)
                }
            })
            .collect()
    })
}

/// Requests per input: `(input index, action, price offset)`; action 0 new, 1 cancel of the
/// last new, 2 amend of the last id.
fn requests_strategy() -> impl Strategy<Value = Vec<(usize, u8, i64)>> {
    prop::collection::vec((0_usize..80, 0_u8..3, 0_i64..8), 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_report_before_its_request_arrives(
        spec in latency_spec(),
        feed in feed_strategy(),
        plan in requests_strategy(),
    ) {
        let latency = Latencies::from_spec(&spec, 0, 0);
        // The same models, drawn in the same order by the test: the expected arrivals.
        let mut expect = latency.clone();
        let mut m = market(feed.clone(), latency.clone());
        let mut by_input: BTreeMap<usize, Vec<(u8, i64)>> = BTreeMap::new();
        for &(i, action, off) in &plan {
            by_input.entry(i).or_default().push((action, off));
        }
        let mut next_id = 100_u64;
        let mut last_new: Option<u64> = None;
        let mut last_id: Option<u64> = None;
        let (out, sent) = run(&mut m, |i, _| {
            let mut reqs = Vec::new();
            for &(action, off) in by_input.get(&i).map_or(&[][..], Vec::as_slice) {
                next_id += 1;
                let id = next_id;
                match (action, last_new, last_id) {
                    (1, Some(orig), _) => reqs.push(cancel(id, orig)),
                    (2, _, Some(orig)) => {
                        reqs.push(amend(id, orig, 95 + off, 5));
                        last_id = Some(id);
                    }
                    _ => {
                        reqs.push(buy(id, 95 + off, 5));
                        last_new = Some(id);
                        last_id = Some(id);
                    }
                }
            }
            reqs
        });
        // Expected arrival of each request's own id.
        let mut arrival: BTreeMap<u64, i64> = BTreeMap::new();
        let mut last_arrival = i64::MIN;
        for (_, t, r) in &sent {
            let lat = expect.entry_ns(*t, &r.body);
            prop_assert!(lat >= 0);
            let mut at = t + lat;
            if spec.in_order {
                at = at.max(last_arrival);
                last_arrival = at;
            }
            prop_assert!(at >= *t, "arrival {} before submission {}", at, t);
            arrival.insert(own_id(r), at);
        }
        let min_response = latency.response.min_ns();
        // The first id of the order each id names (an amend's id names its order).
        let mut order_of: BTreeMap<u64, u64> = BTreeMap::new();
        for (_, _, r) in &sent {
            match r.body {
                EventBody::OrderNew { client_order_id, .. } => {
                    order_of.insert(client_order_id, client_order_id);
                }
                EventBody::OrderAmend { client_order_id, orig_client_order_id, .. } => {
                    let first = order_of
                        .get(&orig_client_order_id)
                        .copied()
                        .unwrap_or(orig_client_order_id);
                    order_of.insert(client_order_id, first);
                }
                _ => {}
            }
        }
        let reps = reports(&out);
        let mut last_receive = i64::MIN;
        let mut last_venue = i64::MIN;
        for &(exec, id, venue_ns, receive_ns, _) in &reps {
            prop_assert!(
                receive_ns >= venue_ns + min_response,
                "{:?} {}: received {} < {} + {}", exec, id, receive_ns, venue_ns, min_response
            );
            prop_assert!(receive_ns >= last_receive, "reports out of order");
            last_receive = receive_ns;
            // The venue processes in venue-time order: no request is handled after a later
            // feed event (causality of the horizon), so report times never go back.
            prop_assert!(venue_ns >= last_venue, "{:?} of {} at {} after {}", exec, id, venue_ns, last_venue);
            last_venue = venue_ns;
            // Answers to a request under its own id: exactly at its arrival.
            if matches!(exec, ExecKind::Ack | ExecKind::Rejected | ExecKind::Replaced | ExecKind::CancelRejected) {
                prop_assert_eq!(Some(&venue_ns), arrival.get(&id), "{:?} of {}", exec, id);
            }
            // Fills and cancels of an order (under its current id): never before the order
            // arrived.
            let of_order = matches!(exec, ExecKind::Fill | ExecKind::PartialFill | ExecKind::Canceled);
            if let Some(at) = order_of.get(&id).and_then(|first| arrival.get(first)).filter(|_| of_order) {
                prop_assert!(venue_ns >= *at, "{:?} of {} at {} before its order arrived at {}", exec, id, venue_ns, at);
            }
        }
        // Every new order was answered (acknowledged or rejected) under its id.
        for (_, _, r) in &sent {
            if let EventBody::OrderNew { client_order_id, .. } = r.body {
                prop_assert!(
                    reps.iter().any(|&(e, id, ..)| id == client_order_id && matches!(e, ExecKind::Ack | ExecKind::Rejected)),
                    "order {} unanswered", client_order_id
                );
            }
        }
        // Deterministic: the same requests after the same inputs give the same inputs again,
        // byte for byte (a distribution draws the same values).
        let mut again = market(feed, Latencies::from_spec(&spec, 0, 0));
        let mut out2: Vec<Event> = Vec::new();
        loop {
            again.next_due_ns();
            let Some(e) = again.next_input() else { break };
            let t = e.header.receive_ts_ns;
            for (_, _, r) in sent.iter().filter(|(i, ..)| *i == out2.len()) {
                again.submit(t, r).unwrap();
            }
            out2.push(e);
        }
        prop_assert_eq!(out, out2);
    }
}

/// The id a request is answered under (`CancelRejected`, `Replaced`, `Ack`, `Rejected`).
fn own_id(r: &Event) -> u64 {
    match r.body {
        EventBody::OrderNew {
            client_order_id, ..
        }
        | EventBody::OrderCancel {
            client_order_id, ..
        }
        | EventBody::OrderAmend {
            client_order_id, ..
        } => client_order_id,
        _ => 0,
    }
}
