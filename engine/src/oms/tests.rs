//! Every legal path through the table, every anomaly kind, exact PnL, and a proptest.

use proptest::prelude::*;

use super::*;
use crate::event::{Event, EventBody, EventHeader, ExecKind, Liquidity, Side, TimeInForce};
use crate::instrument::InstrumentId;
use crate::value::{Price, Qty};

const I0: InstrumentId = InstrumentId::new(0);
const I1: InstrumentId = InstrumentId::new(1);
const UNKNOWN_INST: InstrumentId = InstrumentId::new(9);

fn ev(instrument: InstrumentId, body: EventBody) -> Event {
    let header = EventHeader {
        sequence: 1,
        cause_sequence: 1,
        exchange_ts_ns: 0,
        receive_ts_ns: 0,
        instrument,
        price_scale: 2,
        qty_scale: 0,
        source: 0,
    };
    Event::new(header, body)
}

fn new_order(inst: InstrumentId, id: u64, side: Side, price: i64, qty: i64) -> Event {
    ev(
        inst,
        EventBody::OrderNew {
            side,
            tif: TimeInForce::Day,
            venue: 0,
            client_order_id: id,
            price: Price::new(price),
            qty: Qty::new(qty),
        },
    )
}

fn cancel(id: u64, orig: u64) -> Event {
    ev(
        I0,
        EventBody::OrderCancel {
            client_order_id: id,
            orig_client_order_id: orig,
        },
    )
}

fn amend(id: u64, orig: u64, price: i64, qty: i64) -> Event {
    ev(
        I0,
        EventBody::OrderAmend {
            client_order_id: id,
            orig_client_order_id: orig,
            price: Price::new(price),
            qty: Qty::new(qty),
        },
    )
}

fn report(inst: InstrumentId, exec: ExecKind, id: u64, side: Side, price: i64, qty: i64) -> Event {
    ev(
        inst,
        EventBody::ExecReport {
            exec,
            side,
            liquidity: Liquidity::Unknown,
            reject_code: 0,
            client_order_id: id,
            venue_order_id: 77,
            price: Price::new(price),
            qty: Qty::new(qty),
            leaves_qty: Qty::new(0),
            cum_qty: Qty::new(0),
        },
    )
}

fn rep(exec: ExecKind, id: u64, qty: i64) -> Event {
    report(I0, exec, id, Side::Buy, 100, qty)
}

fn oms() -> Oms {
    Oms::new(16, 2)
}

/// An OMS with buy order 1 (10 @ 100) submitted and acked.
fn acked() -> Oms {
    let mut o = oms();
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 1, 10));
    o
}

fn state(o: &Oms, id: u64) -> OrderState {
    o.order(id).unwrap().state
}

fn pos(o: &Oms, inst: InstrumentId) -> i64 {
    o.position(inst).unwrap().qty
}

// ---- legal paths ----

#[test]
fn submit_ack_partial_fill() {
    let mut o = oms();
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    assert_eq!(state(&o, 1), OrderState::PendingNew);
    assert_eq!(o.open_orders().count(), 1);
    o.on_exec_report(&rep(ExecKind::Ack, 1, 10));
    assert_eq!(state(&o, 1), OrderState::New);
    assert_eq!(o.order(1).unwrap().venue_order_id, 77);
    let out = o.on_exec_report(&rep(ExecKind::PartialFill, 1, 4));
    assert_eq!(
        out,
        ExecOutcome {
            fill_qty: 4,
            anomaly: None
        }
    );
    assert_eq!(state(&o, 1), OrderState::PartiallyFilled);
    assert_eq!(o.order(1).unwrap().leaves_qty(), 6);
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 2));
    assert_eq!(state(&o, 1), OrderState::PartiallyFilled);
    o.on_exec_report(&rep(ExecKind::Fill, 1, 4));
    assert_eq!(state(&o, 1), OrderState::Filled);
    assert_eq!(o.order(1).unwrap().cum_qty, 10);
    assert_eq!(pos(&o, I0), 10);
    assert_eq!(o.open_orders().count(), 0);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn fills_before_the_ack() {
    let mut o = oms();
    o.on_order_new(&new_order(I0, 1, Side::Sell, 100, 10));
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 3));
    assert_eq!(state(&o, 1), OrderState::PartiallyFilled);
    assert_eq!(
        pos(&o, I0),
        -3,
        "the order's side, not the report's, is used"
    );
    o.on_order_new(&new_order(I0, 2, Side::Buy, 100, 5));
    o.on_exec_report(&rep(ExecKind::Fill, 2, 5));
    assert_eq!(state(&o, 2), OrderState::Filled);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn submit_reject() {
    let mut o = oms();
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Rejected, 1, 10));
    assert_eq!(state(&o, 1), OrderState::Rejected);
    assert_eq!(o.open_orders().count(), 0);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn ack_cancel_request_canceled() {
    let mut o = acked();
    o.on_cancel_request(&cancel(2, 1));
    assert_eq!(state(&o, 1), OrderState::PendingCancel);
    assert_eq!(
        o.order(2).unwrap().client_order_id,
        1,
        "the cancel id is an alias"
    );
    o.on_exec_report(&rep(ExecKind::Canceled, 2, 10));
    assert_eq!(state(&o, 1), OrderState::Canceled);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn unsolicited_cancel_and_cancel_before_ack() {
    let mut o = acked();
    o.on_exec_report(&rep(ExecKind::Canceled, 1, 10));
    assert_eq!(state(&o, 1), OrderState::Canceled);
    o.on_order_new(&new_order(I0, 5, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Canceled, 5, 10));
    assert_eq!(
        state(&o, 5),
        OrderState::Canceled,
        "IOC expiry without an ack"
    );
    o.on_order_new(&new_order(I0, 6, Side::Buy, 100, 10));
    o.on_cancel_request(&cancel(7, 6));
    assert_eq!(state(&o, 6), OrderState::PendingCancel);
    o.on_exec_report(&rep(ExecKind::Ack, 6, 10));
    assert_eq!(
        state(&o, 6),
        OrderState::PendingCancel,
        "a late first ack is legal"
    );
    o.on_exec_report(&rep(ExecKind::Canceled, 6, 10));
    assert_eq!(state(&o, 6), OrderState::Canceled);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn fill_races_cancel_request() {
    let mut o = acked();
    o.on_cancel_request(&cancel(2, 1));
    let out = o.on_exec_report(&rep(ExecKind::PartialFill, 1, 4));
    assert_eq!(out.fill_qty, 4);
    assert_eq!(state(&o, 1), OrderState::PendingCancel);
    o.on_exec_report(&rep(ExecKind::Canceled, 1, 6));
    assert_eq!(state(&o, 1), OrderState::Canceled);
    assert_eq!(pos(&o, I0), 4);
    // Or the fill completes the order before the cancel lands.
    o.on_order_new(&new_order(I0, 3, Side::Buy, 100, 5));
    o.on_exec_report(&rep(ExecKind::Ack, 3, 5));
    o.on_cancel_request(&cancel(4, 3));
    o.on_exec_report(&rep(ExecKind::Fill, 3, 5));
    assert_eq!(state(&o, 3), OrderState::Filled);
    assert_eq!(pos(&o, I0), 9);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn cancel_rejected_returns_to_working() {
    let mut o = acked();
    o.on_cancel_request(&cancel(2, 1));
    o.on_exec_report(&rep(ExecKind::CancelRejected, 1, 10));
    assert_eq!(state(&o, 1), OrderState::New);
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 3));
    o.on_cancel_request(&cancel(3, 1));
    o.on_exec_report(&rep(ExecKind::CancelRejected, 3, 7));
    assert_eq!(state(&o, 1), OrderState::PartiallyFilled);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn replace_in_place() {
    let mut o = acked();
    o.on_amend_request(&amend(2, 1, 101, 20));
    assert_eq!(state(&o, 1), OrderState::PendingReplace);
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 3));
    assert_eq!(state(&o, 1), OrderState::PendingReplace);
    o.on_exec_report(&rep(ExecKind::Replaced, 2, 20));
    let ord = *o.order(1).unwrap();
    assert_eq!(ord.state, OrderState::PartiallyFilled);
    assert_eq!((ord.price, ord.qty, ord.cum_qty), (101, 20, 3));
    assert_eq!(ord.live_client_order_id, 2);
    assert_eq!(ord.pending_amend, None);
    assert_eq!(o.order(2), Some(&ord));
    o.on_exec_report(&rep(ExecKind::Fill, 2, 17));
    assert_eq!(state(&o, 1), OrderState::Filled);
    assert_eq!(pos(&o, I0), 20);
    assert_eq!(o.anomaly_total(), 0);
}

#[test]
fn replace_rejected_and_replace_overtaken_by_fills() {
    let mut o = acked();
    o.on_amend_request(&amend(2, 1, 101, 20));
    o.on_exec_report(&rep(ExecKind::CancelRejected, 1, 10));
    let ord = *o.order(1).unwrap();
    assert_eq!((ord.state, ord.price, ord.qty), (OrderState::New, 100, 10));
    // Amend down to 4 while 6 fill: the order ends filled at 6.
    o.on_amend_request(&amend(3, 1, 100, 4));
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 6));
    o.on_exec_report(&rep(ExecKind::Replaced, 3, 4));
    let ord = *o.order(1).unwrap();
    assert_eq!(
        (ord.state, ord.qty, ord.cum_qty),
        (OrderState::Filled, 6, 6)
    );
    // Amend then venue cancel.
    o.on_order_new(&new_order(I0, 10, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 10, 10));
    o.on_amend_request(&amend(11, 10, 99, 10));
    o.on_exec_report(&rep(ExecKind::Canceled, 10, 10));
    assert_eq!(state(&o, 10), OrderState::Canceled);
    assert_eq!(o.anomaly_total(), 0);
}

// ---- anomalies ----

#[test]
fn every_anomaly_kind_is_counted() {
    use AnomalyKind as A;
    let mut o = Oms::new(2, 1);
    let mut expect = [0u64; AnomalyKind::COUNT];
    let check = |o: &Oms, kinds: &[AnomalyKind], expect: &mut [u64; AnomalyKind::COUNT]| {
        for kind in kinds {
            expect[kind.index()] += 1;
        }
        for k in AnomalyKind::ALL {
            assert_eq!(o.anomalies(k), expect[k.index()], "after {kinds:?}, {k:?}");
        }
    };

    let out = o.on_exec_report(&rep(ExecKind::Ack, 99, 1));
    assert_eq!(out.anomaly, Some(A::UnknownOrder));
    check(&o, &[A::UnknownOrder], &mut expect);

    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    check(&o, &[A::DuplicateOrderId], &mut expect);

    o.on_exec_report(&rep(ExecKind::Ack, 1, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 1, 10));
    check(&o, &[A::DuplicateAck], &mut expect);

    o.on_exec_report(&rep(ExecKind::Replaced, 1, 10));
    check(&o, &[A::UnexpectedReport], &mut expect);

    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 10));
    check(&o, &[A::QtyMismatch], &mut expect);
    assert_eq!(state(&o, 1), OrderState::Filled);

    o.on_cancel_request(&cancel(5, 1));
    check(&o, &[A::InvalidRequest], &mut expect);

    o.on_exec_report(&rep(ExecKind::Canceled, 1, 0));
    check(&o, &[A::LateReport], &mut expect);

    o.on_order_new(&new_order(I0, 2, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::PartialFill, 2, 12));
    assert_eq!(o.order(2).unwrap().cum_qty, 10);
    check(&o, &[A::Overfill, A::QtyMismatch], &mut expect);

    o.on_order_new(&new_order(I0, 3, Side::Buy, 100, 10)); // evicts order 1
    o.on_exec_report(&rep(ExecKind::Canceled, 3, 10));
    o.on_exec_report(&rep(ExecKind::Fill, 3, 4));
    check(&o, &[A::LateFill], &mut expect);
    assert_eq!(o.order(3).unwrap().state, OrderState::Canceled);

    o.on_exec_report(&rep(ExecKind::Fill, 3, 0));
    check(&o, &[A::InvalidValue], &mut expect);

    o.on_mark(UNKNOWN_INST, 100);
    check(&o, &[A::UnknownInstrument], &mut expect);

    // Both slots are terminal (2 Filled, 3 Canceled): order 4 evicts 2, order 5 evicts 3;
    // order 6 finds every order live.
    o.on_order_new(&new_order(I0, 4, Side::Buy, 100, 1));
    o.on_order_new(&new_order(I0, 5, Side::Buy, 100, 1));
    assert!(o.order(1).is_none() && o.order(2).is_none() && o.order(3).is_none());
    o.on_order_new(&new_order(I0, 6, Side::Buy, 100, 1));
    check(&o, &[A::Capacity], &mut expect);

    assert_eq!(o.anomaly_total(), expect.iter().sum::<u64>());
    assert!(
        expect.iter().all(|&n| n > 0),
        "every kind exercised: {expect:?}"
    );
    // Positions: order 1 filled 10, order 2 filled 10, order 3 late-filled 4.
    assert_eq!(pos(&o, I0), 24);
}

#[test]
fn more_anomalies_and_their_rules() {
    use AnomalyKind as A;
    let mut o = acked();
    // A fill for an unknown order still moves the header instrument's position.
    let out = o.on_exec_report(&report(I1, ExecKind::Fill, 42, Side::Sell, 50, 3));
    assert_eq!(
        out,
        ExecOutcome {
            fill_qty: -3,
            anomaly: Some(A::UnknownOrder)
        }
    );
    assert_eq!(pos(&o, I1), -3);
    // ...unless the instrument is unknown too.
    o.on_exec_report(&report(UNKNOWN_INST, ExecKind::Fill, 42, Side::Sell, 50, 3));
    assert_eq!(o.anomalies(A::UnknownInstrument), 1);
    // A Fill that leaves quantity open still ends the order.
    o.on_exec_report(&rep(ExecKind::Fill, 1, 4));
    assert_eq!(state(&o, 1), OrderState::Filled);
    assert_eq!(o.anomalies(A::QtyMismatch), 1);
    // A late fill on it applies up to the remaining 6; the rest is overfill.
    let out = o.on_exec_report(&rep(ExecKind::Fill, 1, 8));
    assert_eq!(out.fill_qty, 6);
    assert_eq!(o.order(1).unwrap().cum_qty, 10);
    assert_eq!((o.anomalies(A::LateFill), o.anomalies(A::Overfill)), (1, 1));
    // A duplicate fill after Filled applies nothing.
    let out = o.on_exec_report(&rep(ExecKind::Fill, 1, 8));
    assert_eq!(out.fill_qty, 0);
    assert_eq!(pos(&o, I0), 10);
    // Requests: unknown, a second while one is pending, an amend before the ack, bad qty.
    o.on_cancel_request(&cancel(60, 59));
    o.on_amend_request(&amend(61, 59, 100, 1));
    assert_eq!(o.anomalies(A::UnknownOrder), 4);
    o.on_order_new(&new_order(I0, 20, Side::Buy, 100, 10));
    o.on_amend_request(&amend(21, 20, 100, 5));
    assert_eq!(state(&o, 20), OrderState::PendingNew);
    assert!(
        o.order(21).is_none(),
        "a refused request's id is not registered"
    );
    o.on_exec_report(&rep(ExecKind::Ack, 20, 10));
    o.on_cancel_request(&cancel(22, 20));
    o.on_cancel_request(&cancel(23, 20));
    o.on_amend_request(&amend(24, 20, 100, 5));
    assert_eq!(o.anomalies(A::InvalidRequest), 3);
    o.on_amend_request(&amend(25, 20, 100, 0));
    o.on_order_new(&new_order(I0, 26, Side::Buy, 100, 0));
    o.on_mark(I0, 0);
    assert_eq!(o.anomalies(A::InvalidValue), 3);
    o.on_order_new(&new_order(UNKNOWN_INST, 27, Side::Buy, 100, 1));
    assert_eq!(o.anomalies(A::UnknownInstrument), 2);
    // Rejected after the ack and CancelRejected with nothing pending are unexpected.
    o.on_exec_report(&rep(ExecKind::Rejected, 20, 10));
    assert_eq!(state(&o, 20), OrderState::PendingCancel);
    assert_eq!(o.anomalies(A::UnexpectedReport), 1);
    o.on_exec_report(&rep(ExecKind::CancelRejected, 20, 10));
    assert_eq!(state(&o, 20), OrderState::New);
    o.on_exec_report(&rep(ExecKind::CancelRejected, 20, 10));
    assert_eq!(o.anomalies(A::UnexpectedReport), 2);
    // Reusing an id as a request id is a duplicate id.
    o.on_cancel_request(&cancel(1, 20));
    assert_eq!(o.anomalies(A::DuplicateOrderId), 1);
}

#[test]
fn table_never_leaves_a_terminal_state_and_is_total() {
    for s in OrderState::ALL {
        for e in OrderEvent::ALL {
            let t = transition(s, e);
            if s.is_terminal() {
                assert!(matches!(t, Transition::Anomaly(_)), "{s:?} {e:?} -> {t:?}");
            }
            if e == OrderEvent::Submit {
                assert_eq!(t, Transition::Anomaly(AnomalyKind::DuplicateOrderId));
            }
        }
    }
}

// ---- money ----

#[test]
fn average_cost_realised_unrealised_flip_and_fees() {
    let mut o = oms();
    o.set_fees(
        I0,
        Fees {
            maker_per_qty: 1,
            taker_per_qty: 3,
        },
    );
    // Buy 10 @ 100 before the ack (taker), buy 10 @ 110 after (maker).
    o.on_order_new(&new_order(I0, 1, Side::Buy, 110, 20));
    o.on_exec_report(&report(I0, ExecKind::PartialFill, 1, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 1, 20));
    o.on_exec_report(&report(I0, ExecKind::Fill, 1, Side::Buy, 110, 10));
    let p = *o.position(I0).unwrap();
    assert_eq!((p.qty, p.cost, p.avg_cost()), (20, 2_100, Some(105)));
    assert_eq!(p.fees, 10 * 3 + 10);
    assert_eq!(o.pnl(I0).unwrap().unrealised, None);
    o.on_mark(I0, 108);
    let pnl = o.pnl(I0).unwrap();
    assert_eq!(pnl.unrealised, Some(20 * 108 - 2_100));
    assert_eq!(pnl.net(), 60 - 40);

    // Sell 30 @ 120 (maker): closes 20 (+300), opens short 10 @ 120.
    o.on_order_new(&new_order(I0, 2, Side::Sell, 120, 30));
    o.on_exec_report(&rep(ExecKind::Ack, 2, 30));
    o.on_exec_report(&report(I0, ExecKind::Fill, 2, Side::Sell, 120, 30));
    let p = *o.position(I0).unwrap();
    assert_eq!((p.qty, p.cost, p.avg_cost()), (-10, -1_200, Some(120)));
    assert_eq!(p.realised, 20 * (120 - 105));
    assert_eq!(p.fees, 40 + 30);
    let pnl = o.pnl(I0).unwrap();
    assert_eq!(pnl.unrealised, Some(-10 * 108 + 1_200));
    assert_eq!(pnl.net(), 300 + 120 - 70);

    // Buy back 3 @ 125 (loss 15), then 7 @ 100 (gain 140): flat, cost exactly 0.
    o.on_order_new(&new_order(I0, 3, Side::Buy, 125, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 3, 10));
    o.on_exec_report(&report(I0, ExecKind::PartialFill, 3, Side::Buy, 125, 3));
    o.on_exec_report(&report(I0, ExecKind::Fill, 3, Side::Buy, 100, 7));
    let p = *o.position(I0).unwrap();
    assert_eq!((p.qty, p.cost, p.avg_cost()), (0, 0, None));
    assert_eq!(p.realised, 300 - 15 + 140);
    assert_eq!(p.fees, 80);
    assert_eq!(o.pnl(I0).unwrap().unrealised, Some(0));
    assert_eq!(o.pnl(I0).unwrap().net(), 425 - 80);
}

#[test]
fn partial_close_with_a_fractional_average_keeps_the_round_trip_exact() {
    let mut p = Position::default();
    assert!(p.apply_fill(1, 100, FeeRate::ZERO));
    assert!(p.apply_fill(2, 101, FeeRate::ZERO)); // avg 302/3
    assert!(p.apply_fill(-1, 110, FeeRate::ZERO)); // removes 302/3 -> 100 (truncated)
    assert_eq!((p.qty, p.cost, p.realised), (2, 202, 10));
    assert!(p.apply_fill(-2, 90, FeeRate::ZERO));
    assert_eq!((p.qty, p.cost), (0, 0));
    // Exact cash flow: -100 - 202 + 110 + 180 = -12.
    assert_eq!(p.realised, -12);
    // A fill that would overflow the position changes nothing.
    assert!(p.apply_fill(i64::MAX, 1, FeeRate::ZERO));
    let full = p;
    assert!(!p.apply_fill(1, 1, FeeRate::ZERO));
    assert_eq!(p, full);
}

#[test]
fn open_orders_are_in_id_order_and_deterministic() {
    let mut o = oms();
    for id in [30, 10, 20] {
        o.on_order_new(&new_order(I0, id, Side::Buy, 100, 1));
    }
    o.on_cancel_request(&cancel(5, 30));
    let ids: Vec<u64> = o.open_orders().map(|x| x.client_order_id).collect();
    assert_eq!(ids, [10, 20, 30]);
    o.on_exec_report(&rep(ExecKind::Fill, 20, 1));
    let ids: Vec<u64> = o.open_orders().map(|x| x.client_order_id).collect();
    assert_eq!(ids, [10, 30]);
}

// ---- property ----

#[derive(Clone, Debug)]
enum Op {
    New(u64, bool, i64),
    Cancel(u64, u64),
    Amend(u64, u64, i64),
    Report(u8, u64, bool, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..12u64, any::<bool>(), 0..20i64).prop_map(|(id, b, q)| Op::New(id, b, q)),
        (0..20u64, 0..12u64).prop_map(|(id, orig)| Op::Cancel(id, orig)),
        (0..20u64, 0..12u64, 0..20i64).prop_map(|(id, orig, q)| Op::Amend(id, orig, q)),
        (0..7u8, 0..20u64, any::<bool>(), 0..25i64)
            .prop_map(|(k, id, b, q)| Op::Report(k, id, b, q)),
    ]
}

const KINDS: [ExecKind; 7] = [
    ExecKind::Ack,
    ExecKind::PartialFill,
    ExecKind::Fill,
    ExecKind::Canceled,
    ExecKind::Replaced,
    ExecKind::Rejected,
    ExecKind::CancelRejected,
];

fn side(buy: bool) -> Side {
    if buy {
        Side::Buy
    } else {
        Side::Sell
    }
}

proptest! {
    #[test]
    fn random_streams_keep_the_invariants(ops in proptest::collection::vec(op(), 0..200)) {
        let mut o = Oms::new(64, 2);
        let mut unknown_fills = 0i64;
        let mut applied = 0i64;
        for op in ops {
            let before: Vec<Order> = o.orders_by_id().copied().collect();
            match op {
                Op::New(id, b, q) => o.on_order_new(&new_order(I0, id, side(b), 100, q)),
                Op::Cancel(id, orig) => o.on_cancel_request(&cancel(id, orig)),
                Op::Amend(id, orig, q) => o.on_amend_request(&amend(id, orig, 100, q)),
                Op::Report(k, id, b, q) => {
                    let known = o.order(id).is_some();
                    let out = o.on_exec_report(&report(I0, KINDS[k as usize], id, side(b), 100, q));
                    applied += out.fill_qty;
                    if !known {
                        unknown_fills += out.fill_qty;
                    }
                }
            }
            // Terminal states never change; cum_qty never exceeds qty.
            for old in before.iter().filter(|x| x.state.is_terminal()) {
                let now = o.order(old.client_order_id).unwrap();
                prop_assert_eq!(now.state, old.state);
                prop_assert_eq!(now.qty, old.qty);
            }
            let mut from_orders = 0i64;
            for x in o.orders_by_id() {
                prop_assert!(0 <= x.cum_qty && x.cum_qty <= x.qty, "{:?}", x);
                from_orders += match x.side { Side::Buy => x.cum_qty, Side::Sell => -x.cum_qty };
            }
            // The position is the signed sum of the fills applied.
            prop_assert_eq!(pos(&o, I0), applied);
            prop_assert_eq!(pos(&o, I0), from_orders + unknown_fills);
            let p = o.position(I0).unwrap();
            prop_assert_eq!(p.qty == 0, p.cost == 0);
        }
    }
}

#[test]
fn fees_follow_the_venue_the_order_went_to() {
    let mut o = oms();
    o.set_fees(
        I0,
        Fees {
            maker_per_qty: 1,
            taker_per_qty: 3,
        },
    );
    o.set_venue_fees(
        2,
        I0,
        Fees {
            maker_per_qty: -2,
            taker_per_qty: 5,
        },
    );
    // Order 1 on venue 0 (default fees), order 2 on venue 2; both fill before the ack.
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    let mut second = new_order(I0, 2, Side::Buy, 100, 10);
    if let EventBody::OrderNew { venue, .. } = &mut second.body {
        *venue = 2;
    }
    o.on_order_new(&second);
    assert_eq!(o.order(2).map(|x| x.venue), Some(2));
    o.on_exec_report(&report(I0, ExecKind::Fill, 1, Side::Buy, 100, 10));
    o.on_exec_report(&report(I0, ExecKind::Fill, 2, Side::Buy, 100, 10));
    assert_eq!(o.position(I0).unwrap().fees, 10 * 3 + 10 * 5);
    // An unknown order's fill pays the taker rate of the venue that reported it.
    let mut unknown = report(I0, ExecKind::Fill, 99, Side::Sell, 100, 4);
    unknown.header.source = 2;
    o.on_exec_report(&unknown);
    assert_eq!(o.position(I0).unwrap().fees, 80 + 4 * 5);
    // A fee table for an unknown instrument is an anomaly, not a panic.
    o.set_venue_fees(2, InstrumentId::new(9), Fees::default());
    assert_eq!(o.anomalies(AnomalyKind::UnknownInstrument), 1);
}

#[test]
fn reported_liquidity_decides_the_fee_rate() {
    let with = |mut e: Event, liquidity: Liquidity| {
        if let EventBody::ExecReport { liquidity: l, .. } = &mut e.body {
            *l = liquidity;
        }
        e
    };
    let mut o = oms();
    o.set_fees(
        I0,
        Fees {
            maker_per_qty: 1,
            taker_per_qty: 3,
        },
    );
    // Acked first, then a fill the venue says took liquidity (it crossed on arrival, the
    // venue acked before reporting the match): taker, where inference would say maker.
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 1, 10));
    o.on_exec_report(&with(rep(ExecKind::PartialFill, 1, 4), Liquidity::Taker));
    assert_eq!(o.position(I0).unwrap().fees, 4 * 3);
    // The rest rested and was hit: maker, as reported.
    o.on_exec_report(&with(rep(ExecKind::Fill, 1, 6), Liquidity::Maker));
    assert_eq!(o.position(I0).unwrap().fees, 4 * 3 + 6);
    // A fill before the ack that the venue says was passive pays maker.
    o.on_order_new(&new_order(I0, 2, Side::Buy, 100, 5));
    o.on_exec_report(&with(rep(ExecKind::Fill, 2, 5), Liquidity::Maker));
    assert_eq!(o.position(I0).unwrap().fees, 18 + 5);
    // Unknown: inferred (before the ack → taker).
    o.on_order_new(&new_order(I0, 3, Side::Sell, 100, 2));
    o.on_exec_report(&rep(ExecKind::Fill, 3, 2));
    assert_eq!(o.position(I0).unwrap().fees, 23 + 2 * 3);
    // An unknown order's fill reported as maker pays maker.
    o.on_exec_report(&with(rep(ExecKind::Fill, 99, 1), Liquidity::Maker));
    assert_eq!(o.position(I0).unwrap().fees, 29 + 1);
    assert_eq!(o.anomalies(AnomalyKind::UnknownOrder), 1);
}

// ---- fees on notional, fees and rebates ----

/// BTCUSDT at Binance's scales: price_scale 2, qty_scale 8, so money is in 10^-10 USDT.
const USDT: i128 = 10_000_000_000;

#[test]
fn bps_taker_fee_and_maker_rebate_at_real_scales() {
    let mut o = oms();
    // Taker 10 bps (Binance spot VIP 0), maker a rebate of 0.5 bps.
    o.set_fees(
        I0,
        FeeSchedule {
            maker: FeeRate::Bps(-5_000),
            taker: FeeRate::Bps(100_000),
        },
    );
    // Buy 0.001 BTC at 56000.00 before the ack (taker): notional 56 USDT, fee 0.056 USDT.
    o.on_order_new(&new_order(I0, 1, Side::Buy, 5_600_000, 200_000));
    o.on_exec_report(&report(
        I0,
        ExecKind::PartialFill,
        1,
        Side::Buy,
        5_600_000,
        100_000,
    ));
    let p = *o.position(I0).unwrap();
    assert_eq!(p.fees, 56 * USDT / 1_000);
    assert_eq!(p.fees, 560_000_000);
    assert_eq!((p.fees_paid(), p.rebates), (560_000_000, 0));
    // The other 0.001 BTC after the ack at 56000.01 (maker): notional 56.00001 USDT, rebate
    // 0.5 bps of it = 0.0028000005 USDT = 28_000_005 raw, exactly.
    o.on_exec_report(&rep(ExecKind::Ack, 1, 200_000));
    o.on_exec_report(&report(
        I0,
        ExecKind::Fill,
        1,
        Side::Buy,
        5_600_001,
        100_000,
    ));
    let p = *o.position(I0).unwrap();
    assert_eq!(p.rebates, 28_000_005);
    assert_eq!(p.fees_paid(), 560_000_000);
    assert_eq!(p.fees, 560_000_000 - 28_000_005);
    let pnl = o.pnl(I0).unwrap();
    assert_eq!(
        (pnl.fees, pnl.fees_paid, pnl.rebates),
        (531_999_995, 560_000_000, 28_000_005)
    );
    // Net PnL counts the net fees: flat at the average cost, it is −fees.
    o.on_mark(I0, 5_600_000);
    assert_eq!(pnl.realised, 0);
    assert_eq!(o.pnl(I0).unwrap().net(), -100_000 - 531_999_995);
}

#[test]
fn per_unit_fees_are_unchanged_and_rebates_kept_apart() {
    let mut o = oms();
    o.set_fees(
        I0,
        Fees {
            maker_per_qty: -2,
            taker_per_qty: 3,
        },
    );
    assert_eq!(
        o.fee_schedule(0, I0),
        Some(FeeSchedule {
            maker: FeeRate::PerQty(-2),
            taker: FeeRate::PerQty(3),
        })
    );
    // 10 taken (30 paid), then 7 rested (14 earned).
    o.on_order_new(&new_order(I0, 1, Side::Buy, 100, 17));
    o.on_exec_report(&rep(ExecKind::PartialFill, 1, 10));
    o.on_exec_report(&rep(ExecKind::Ack, 1, 17));
    o.on_exec_report(&rep(ExecKind::Fill, 1, 7));
    let p = *o.position(I0).unwrap();
    assert_eq!((p.fees, p.fees_paid(), p.rebates), (30 - 14, 30, 14));
}

#[test]
fn venue_schedule_overrides_the_instrument_default() {
    let mut o = oms();
    o.set_fees(
        I0,
        Fees {
            maker_per_qty: 1,
            taker_per_qty: 3,
        },
    );
    o.set_venue_fees(
        2,
        I0,
        FeeSchedule {
            maker: FeeRate::PerQty(1),
            taker: FeeRate::Bps(50_000),
        },
    );
    assert_eq!(
        o.fee_schedule(0, I0).map(|s| s.taker),
        Some(FeeRate::PerQty(3))
    );
    assert_eq!(
        o.fee_schedule(2, I0).map(|s| s.taker),
        Some(FeeRate::Bps(50_000))
    );
    // Instrument 1 on venue 2 keeps the instrument default (none set: zero).
    assert_eq!(o.fee_schedule(2, I1), Some(FeeSchedule::default()));
    // A taker fill of 10 @ 100 on venue 2: 5 bps of 1_000 = 0.5 → 1 (half away from zero).
    let mut order = new_order(I0, 1, Side::Buy, 100, 10);
    if let EventBody::OrderNew { venue, .. } = &mut order.body {
        *venue = 2;
    }
    o.on_order_new(&order);
    o.on_exec_report(&rep(ExecKind::Fill, 1, 10));
    assert_eq!(o.position(I0).unwrap().fees, 1);
}

#[test]
fn bps_rounding_is_half_away_from_zero_to_the_raw_unit() {
    // 1 bp (10_000 in ten-thousandths) of notional n is n / 10_000.
    let one_bp = FeeRate::Bps(10_000);
    let minus_one_bp = FeeRate::Bps(-10_000);
    for (qty, fee) in [
        (4_999, 0),
        (5_000, 1),
        (5_001, 1),
        (15_000, 2),
        (25_000, 3),
        (20_000, 2),
    ] {
        assert_eq!(one_bp.fee(1, qty), fee, "qty {qty}");
        assert_eq!(minus_one_bp.fee(1, qty), -fee, "qty {qty}");
        // The sign of the quantity does not matter: its size is charged.
        assert_eq!(one_bp.fee(1, -qty), fee, "qty -{qty}");
    }
    // 0.0001 bp (the finest rate) is 10^-8 of notional: of 4 × 10^7 it is 0.4 → 0, of
    // 5 × 10^7 0.5 → 1, of 10^8 exactly 1.
    assert_eq!(FeeRate::Bps(1).fee(40_000, 1_000), 0);
    assert_eq!(FeeRate::Bps(1).fee(50_000, 1_000), 1);
    assert_eq!(FeeRate::Bps(-1).fee(50_000, 1_000), -1);
    assert_eq!(FeeRate::Bps(1).fee(100_000, 1_000), 1);
    // Per unit: exact, never rounded.
    assert_eq!(FeeRate::PerQty(-7).fee(123, 3), -21);
    // The largest values do not overflow: 100% of i64::MAX × i64::MAX.
    let max = i128::from(i64::MAX) * i128::from(i64::MAX);
    assert_eq!(FeeRate::Bps(100_000_000).fee(i64::MAX, i64::MAX), max);
    assert_eq!(FeeRate::Bps(-100_000_000).fee(i64::MAX, i64::MIN + 1), -max);
}

fn fee_rate() -> impl Strategy<Value = FeeRate> {
    prop_oneof![
        (-1_000_000i64..=1_000_000).prop_map(FeeRate::PerQty),
        (-100_000_000i64..=100_000_000).prop_map(FeeRate::Bps),
    ]
}

proptest! {
    #[test]
    fn a_fill_fee_follows_its_rate(
        rate in fee_rate(),
        price in 1i64..=1i64 << 40,
        qty in 1i64..=1i64 << 40,
    ) {
        let fee = rate.fee(price, qty);
        let (r, exact_times_d, d) = match rate {
            FeeRate::PerQty(r) => (r, i128::from(r) * i128::from(qty), 1i128),
            FeeRate::Bps(r) => (
                r,
                i128::from(price) * i128::from(qty) * i128::from(r),
                100_000_000i128,
            ),
        };
        // The sign follows the rate's (a fee may round to zero).
        prop_assert!(fee == 0 || fee.signum() == i128::from(r.signum()), "{fee} for {rate:?}");
        // Within half a raw unit of rate × notional (exact per unit).
        prop_assert!((fee * d - exact_times_d).abs() * 2 <= d, "{fee} for {rate:?}");
        if let FeeRate::PerQty(_) = rate {
            prop_assert_eq!(fee * d, exact_times_d);
        }
    }

    #[test]
    fn fees_and_rebates_never_go_negative(
        fills in proptest::collection::vec(
            (fee_rate(), any::<bool>(), 1i64..=1i64 << 30, 1i64..=1i64 << 30),
            0..50,
        ),
    ) {
        let mut p = Position::default();
        let (mut paid, mut earned) = (0i128, 0i128);
        for (rate, buy, price, qty) in fills {
            let signed = if buy { qty } else { -qty };
            let fee = rate.fee(price, qty);
            prop_assert!(p.apply_fill(signed, price, rate));
            if fee > 0 { paid += fee } else { earned -= fee }
            prop_assert!(p.fees_paid() >= 0 && p.rebates >= 0);
            prop_assert_eq!((p.fees_paid(), p.rebates), (paid, earned));
            prop_assert_eq!(p.fees, p.fees_paid() - p.rebates);
            let pnl = p.pnl();
            prop_assert_eq!(pnl.fees, pnl.fees_paid - pnl.rebates);
        }
    }
}
