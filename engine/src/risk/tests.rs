//! Unit tests per limit and property tests of the risk invariants.

use proptest::prelude::*;

use super::*;
use crate::event::{ExecKind, OperatorCommand, RiskCode, Side};
use crate::instrument::InstrumentId;

const I0: InstrumentId = InstrumentId::new(0);
const I1: InstrumentId = InstrumentId::new(1);
const I2: InstrumentId = InstrumentId::new(2);
const UNKNOWN: InstrumentId = InstrumentId::new(3);

fn limits() -> RiskLimits {
    RiskLimits {
        instrument: InstrumentLimits {
            max_order_qty: 100,
            max_notional: 100_000,
            price_band_bps: 500,
            max_position: 200,
        },
        max_gross_position: 1_000,
        max_open_orders: 100,
        throttle_rate_per_s: 1_000,
        throttle_burst: 1_000,
        max_daily_loss: 10_000,
    }
}

/// Three instruments; 0 and 1 marked at 1000, 2 without a reference price.
fn engine_with(limits: RiskLimits) -> RiskEngine {
    let mut engine = RiskEngine::new(limits, 3).unwrap();
    engine.on_reference_price(I0, 1_000);
    engine.on_reference_price(I1, 1_000);
    engine
}

fn engine() -> RiskEngine {
    engine_with(limits())
}

fn exec(exec: ExecKind, side: Side, id: u64, px: i64, qty: i64, leaves: i64) -> ExecUpdate {
    ExecUpdate {
        exec,
        side,
        client_order_id: id,
        price_raw: px,
        qty_raw: qty,
        leaves_qty_raw: leaves,
    }
}

fn fill(e: &mut RiskEngine, inst: InstrumentId, side: Side, id: u64, px: i64, qty: i64) {
    e.on_exec(inst, &exec(ExecKind::Fill, side, id, px, qty, 0));
}

#[test]
fn validate_names_the_field() {
    let mut l = limits();
    l.instrument.max_notional = 0;
    let err = l.validate().unwrap_err();
    assert!(err.to_string().contains("max_notional"), "{err}");
    let mut l = limits();
    l.max_open_orders = MAX_OPEN_ORDERS_CAP + 1;
    assert!(l
        .validate()
        .unwrap_err()
        .to_string()
        .contains("max_open_orders"));
    let mut l = limits();
    l.max_daily_loss = -1;
    assert!(RiskEngine::new(l, 1)
        .unwrap_err()
        .to_string()
        .contains("max_daily_loss"));
    let mut l = limits();
    l.throttle_burst = 0;
    assert!(l
        .validate()
        .unwrap_err()
        .to_string()
        .contains("throttle_burst"));
    let mut e = engine();
    assert_eq!(
        e.set_instrument_limits(UNKNOWN, limits().instrument),
        Err(RiskLimitsError::UnknownInstrument { instrument: 3 })
    );
}

#[test]
fn invalid_inputs_are_rejected_with_their_codes() {
    let mut e = engine();
    assert_eq!(
        e.check(0, UNKNOWN, Side::Buy, 1_000, 1, 1),
        Err(RiskCode::UnknownInstrument)
    );
    let huge = InstrumentId::new(u32::MAX);
    assert_eq!(
        e.check(0, huge, Side::Buy, 1_000, 1, 1),
        Err(RiskCode::UnknownInstrument)
    );
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 0, 1),
        Err(RiskCode::InvalidQty)
    );
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, i64::MIN, 1),
        Err(RiskCode::InvalidQty)
    );
    assert_eq!(
        e.check(0, I0, Side::Buy, 0, 1, 1),
        Err(RiskCode::InvalidPrice)
    );
    assert_eq!(
        e.check(0, I0, Side::Buy, i64::MIN, 1, 1),
        Err(RiskCode::InvalidPrice)
    );
    assert_eq!(
        e.check(0, I0, Side::Buy, i64::MAX, i64::MAX, 1),
        Err(RiskCode::MaxOrderQty)
    );
    assert_eq!(e.reject_count(RiskCode::InvalidQty), 2);
    assert_eq!(e.accepted_count(), 0);
    assert!(e.working_orders().is_empty());
    // Nonsense reports and prices are anomalies, not panics.
    e.on_reference_price(UNKNOWN, 1);
    e.on_reference_price(I0, -5);
    e.on_exec(UNKNOWN, &exec(ExecKind::Fill, Side::Buy, 1, 1, 1, 0));
    e.on_exec(I0, &exec(ExecKind::Fill, Side::Buy, 1, 0, 1, 0));
    e.on_exec(I0, &exec(ExecKind::Canceled, Side::Buy, 99, 1, 1, 0));
    assert_eq!(e.anomaly_count(), 5);
    assert_eq!(e.position(I0), Some(0));
}

#[test]
fn max_order_qty_accepts_at_the_limit() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 1), Ok(()));
    assert_eq!(
        e.check(0, I1, Side::Buy, 1_000, 101, 2),
        Err(RiskCode::MaxOrderQty)
    );
}

#[test]
fn max_notional_accepts_at_the_limit() {
    let mut e = engine();
    let mut l = limits().instrument;
    l.max_notional = 50_000;
    e.set_instrument_limits(I0, l).unwrap();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 50, 1), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Sell, 1_001, 50, 2),
        Err(RiskCode::MaxNotional)
    );
    // The other instrument keeps the default limit.
    assert_eq!(e.check(0, I1, Side::Sell, 1_001, 99, 3), Ok(()));
}

#[test]
fn price_band_accepts_at_the_edges() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 950, 1, 1), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Buy, 949, 1, 2),
        Err(RiskCode::PriceBand)
    );
    assert_eq!(e.check(0, I1, Side::Sell, 1_050, 1, 3), Ok(()));
    assert_eq!(
        e.check(0, I1, Side::Sell, 1_051, 1, 4),
        Err(RiskCode::PriceBand)
    );
    // No reference price yet: refused.
    assert_eq!(
        e.check(0, I2, Side::Buy, 1_000, 1, 5),
        Err(RiskCode::PriceBand)
    );
    e.on_reference_price(I2, 2_000);
    assert_eq!(e.check(0, I2, Side::Buy, 2_000, 1, 6), Ok(()));
}

#[test]
fn max_position_counts_working_orders_and_fills() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 1), Ok(()));
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 2), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 1, 3),
        Err(RiskCode::MaxPosition)
    );
    fill(&mut e, I0, Side::Buy, 1, 1_000, 100);
    fill(&mut e, I0, Side::Buy, 2, 1_000, 100);
    assert_eq!(e.position(I0), Some(200));
    assert_eq!(e.working_qty(I0, Side::Buy), Some(0));
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 1, 4),
        Err(RiskCode::MaxPosition)
    );
    // Selling reduces: from +200 we may sell 400 in total (to -200).
    for id in 10..14 {
        assert_eq!(e.check(0, I0, Side::Sell, 1_000, 100, id), Ok(()));
    }
    assert_eq!(
        e.check(0, I0, Side::Sell, 1_000, 1, 14),
        Err(RiskCode::MaxPosition)
    );
}

#[test]
fn max_gross_position_sums_instruments() {
    let mut l = limits();
    l.max_gross_position = 300;
    let mut e = engine_with(l);
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 1), Ok(()));
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 2), Ok(()));
    assert_eq!(e.check(0, I1, Side::Buy, 1_000, 100, 3), Ok(()));
    assert_eq!(e.gross_exposure(), 300);
    // A sell on I1 does not raise I1's worse side (100 long).
    assert_eq!(e.check(0, I1, Side::Sell, 1_010, 1, 4), Ok(()));
    assert_eq!(
        e.check(0, I1, Side::Buy, 1_000, 1, 5),
        Err(RiskCode::MaxGrossPosition)
    );
    e.on_exec(I0, &exec(ExecKind::Canceled, Side::Buy, 2, 1_000, 100, 0));
    assert_eq!(e.gross_exposure(), 200);
    assert_eq!(e.check(0, I1, Side::Buy, 1_000, 1, 6), Ok(()));
}

#[test]
fn max_open_orders_accepts_at_the_limit() {
    let mut l = limits();
    l.max_open_orders = 5;
    let mut e = engine_with(l);
    for id in 0..5 {
        assert_eq!(e.check(0, I0, Side::Buy, 1_000, 1, id), Ok(()));
    }
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 1, 5),
        Err(RiskCode::MaxOpenOrders)
    );
    e.on_exec(I0, &exec(ExecKind::Rejected, Side::Buy, 3, 1_000, 1, 0));
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 1, 6), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 1, 7),
        Err(RiskCode::MaxOpenOrders)
    );
}

#[test]
fn throttle_refills_with_event_time() {
    let mut l = limits();
    l.throttle_rate_per_s = 10;
    l.throttle_burst = 3;
    let mut e = engine_with(l);
    let t0 = 1_700_000_000_000_000_000;
    for id in 0..3 {
        assert_eq!(e.check(t0, I0, Side::Buy, 1_000, 1, id), Ok(()));
    }
    assert_eq!(
        e.check(t0, I0, Side::Buy, 1_000, 1, 3),
        Err(RiskCode::Throttle)
    );
    // One token takes 100 ms.
    assert_eq!(
        e.check(t0 + 99_999_999, I0, Side::Buy, 1_000, 1, 4),
        Err(RiskCode::Throttle)
    );
    assert_eq!(
        e.check(t0 + 100_000_000, I0, Side::Buy, 1_000, 1, 5),
        Ok(())
    );
    assert_eq!(
        e.check(t0 + 100_000_000, I0, Side::Buy, 1_000, 1, 6),
        Err(RiskCode::Throttle)
    );
    // Time going backwards refills nothing.
    assert_eq!(
        e.check(t0, I0, Side::Buy, 1_000, 1, 7),
        Err(RiskCode::Throttle)
    );
    // A long pause refills only up to the burst.
    let later = t0 + 3_600_000_000_000;
    for id in 8..11 {
        assert_eq!(e.check(later, I0, Side::Buy, 1_000, 1, id), Ok(()));
    }
    assert_eq!(
        e.check(later, I0, Side::Buy, 1_000, 1, 11),
        Err(RiskCode::Throttle)
    );
    // A rejected order spends no token.
    let later = later + 100_000_000;
    assert_eq!(
        e.check(later, I0, Side::Buy, 1_000, 101, 12),
        Err(RiskCode::MaxOrderQty)
    );
    assert_eq!(e.check(later, I0, Side::Buy, 1_000, 1, 13), Ok(()));
}

#[test]
fn self_trade_is_refused() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 10, 1), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Sell, 1_000, 10, 2),
        Err(RiskCode::SelfTrade)
    );
    assert_eq!(
        e.check(0, I0, Side::Sell, 999, 10, 3),
        Err(RiskCode::SelfTrade)
    );
    assert_eq!(e.check(0, I0, Side::Sell, 1_001, 10, 4), Ok(()));
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_001, 10, 5),
        Err(RiskCode::SelfTrade)
    );
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 10, 6), Ok(()));
    // Another instrument is not affected.
    assert_eq!(e.check(0, I1, Side::Sell, 990, 10, 7), Ok(()));
    // Once the resting buy is gone, the sell may go.
    fill(&mut e, I0, Side::Buy, 1, 1_000, 10);
    e.on_exec(I0, &exec(ExecKind::Canceled, Side::Buy, 6, 1_000, 10, 0));
    assert_eq!(e.check(0, I0, Side::Sell, 1_000, 10, 8), Ok(()));
}

#[test]
fn kill_switch_blocks_everything_and_lists_working_orders() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 10, 7), Ok(()));
    assert_eq!(e.check(0, I1, Side::Sell, 1_000, 10, 3), Ok(()));
    assert_eq!(e.check(0, I0, Side::Buy, 990, 10, 5), Ok(()));
    fill(&mut e, I0, Side::Buy, 5, 990, 10);
    assert_eq!(e.kill_switch(), &[7, 3]);
    assert!(e.is_kill_switch_engaged());
    assert_eq!(
        e.check(1, I0, Side::Buy, 1_000, 1, 8),
        Err(RiskCode::KillSwitch)
    );
    // Precedence: the kill switch comes before input validation.
    assert_eq!(
        e.check(1, I0, Side::Buy, -1, -1, 9),
        Err(RiskCode::KillSwitch)
    );
    e.on_exec(I0, &exec(ExecKind::Canceled, Side::Buy, 7, 1_000, 10, 0));
    e.on_exec(I1, &exec(ExecKind::Canceled, Side::Sell, 3, 1_000, 10, 0));
    assert!(e.working_orders().is_empty());
    assert_eq!(
        e.check(2, I0, Side::Buy, 1_000, 1, 10),
        Err(RiskCode::KillSwitch)
    );
    assert!(e.on_command(OperatorCommand::KillSwitch).is_empty());
    assert!(e.on_command(OperatorCommand::ReleaseKillSwitch).is_empty());
    assert_eq!(e.check(3, I0, Side::Buy, 1_000, 1, 11), Ok(()));
    assert_eq!(e.on_command(OperatorCommand::CancelAll), &[11]);
    assert!(!e.is_kill_switch_engaged());
}

#[test]
fn operator_halt_and_resume() {
    let mut e = engine();
    e.on_command(OperatorCommand::Halt);
    assert_eq!(
        e.check(0, I0, Side::Buy, 1_000, 1, 1),
        Err(RiskCode::Halted)
    );
    e.on_command(OperatorCommand::Resume);
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 1, 2), Ok(()));
}

#[test]
fn average_cost_realised_pnl() {
    let mut e = engine();
    fill(&mut e, I0, Side::Buy, 1, 1_000, 100);
    fill(&mut e, I0, Side::Buy, 2, 1_010, 100);
    fill(&mut e, I0, Side::Sell, 3, 1_020, 150);
    assert_eq!(e.anomaly_count(), 3); // fills of orders risk never saw
    assert_eq!(e.position(I0), Some(50));
    assert_eq!(e.realised_pnl(), 150 * 15);
    // Flip through zero: sell 100 more at 1_000 closes 50 (avg 1_005) and opens -50.
    fill(&mut e, I0, Side::Sell, 4, 1_000, 100);
    assert_eq!(e.position(I0), Some(-50));
    assert_eq!(e.realised_pnl(), 150 * 15 - 50 * 5);
    e.on_reference_price(I0, 990);
    assert_eq!(e.unrealised_pnl(), 50 * 10);
    assert_eq!(e.pnl(), 150 * 15 - 50 * 5 + 50 * 10);
}

#[test]
fn daily_loss_halts_automatically() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 1), Ok(()));
    fill(&mut e, I0, Side::Buy, 1, 1_000, 100);
    e.on_reference_price(I0, 900);
    assert_eq!(e.pnl(), -10_000);
    assert!(!e.is_loss_halted());
    assert_eq!(e.check(0, I1, Side::Buy, 1_000, 1, 2), Ok(()));
    e.on_reference_price(I0, 899);
    assert!(e.is_loss_halted());
    assert_eq!(
        e.check(0, I1, Side::Buy, 1_000, 1, 3),
        Err(RiskCode::MaxDailyLoss)
    );
    // The halt latches even if the price recovers.
    e.on_reference_price(I0, 1_000);
    assert_eq!(
        e.check(0, I1, Side::Buy, 1_000, 1, 4),
        Err(RiskCode::MaxDailyLoss)
    );
    e.reset_daily();
    assert_eq!(e.check(0, I1, Side::Buy, 1_000, 1, 5), Ok(()));
    // A realised loss halts too: sell at 800 realises -20_000.
    fill(&mut e, I0, Side::Sell, 6, 800, 100);
    assert!(e.is_loss_halted());
    assert_eq!(
        e.check(0, I1, Side::Sell, 1_010, 1, 7),
        Err(RiskCode::MaxDailyLoss)
    );
}

#[test]
fn partial_fills_and_replaces_track_working_quantity() {
    let mut e = engine();
    assert_eq!(e.check(0, I0, Side::Buy, 1_000, 100, 1), Ok(()));
    e.on_exec(I0, &exec(ExecKind::Ack, Side::Buy, 1, 1_000, 100, 100));
    e.on_exec(
        I0,
        &exec(ExecKind::PartialFill, Side::Buy, 1, 1_000, 30, 70),
    );
    assert_eq!(e.working_qty(I0, Side::Buy), Some(70));
    assert_eq!(e.position(I0), Some(30));
    e.on_exec(I0, &exec(ExecKind::Replaced, Side::Buy, 1, 990, 50, 20));
    assert_eq!(e.working_qty(I0, Side::Buy), Some(20));
    assert_eq!(e.working_orders()[0].price_raw, 990);
    e.on_exec(I0, &exec(ExecKind::Fill, Side::Buy, 1, 990, 20, 0));
    assert!(e.working_orders().is_empty());
    assert_eq!(e.working_qty(I0, Side::Buy), Some(0));
    assert_eq!(e.position(I0), Some(50));
    assert_eq!(e.anomaly_count(), 0);
}

// ---------------------------------------------------------------------------------------
// Property tests.

#[derive(Debug, Clone)]
enum Action {
    Order {
        inst: u32,
        buy: bool,
        px: i64,
        qty: i64,
        dt_ns: i64,
    },
    Fill {
        pick: usize,
        percent: i64,
    },
    Cancel {
        pick: usize,
    },
    Reject {
        pick: usize,
    },
    Mark {
        inst: u32,
        px: i64,
    },
    Junk {
        id: u64,
        px: i64,
    },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0u32..4, any::<bool>(), 960i64..1_040, -5i64..130, 0i64..120_000_000).prop_map(
            |(inst, buy, px, qty, dt_ns)| Action::Order { inst, buy, px, qty, dt_ns }
        ),
        3 => (any::<usize>(), 1i64..=100).prop_map(|(pick, percent)| Action::Fill { pick, percent }),
        1 => any::<usize>().prop_map(|pick| Action::Cancel { pick }),
        1 => any::<usize>().prop_map(|pick| Action::Reject { pick }),
        2 => (0u32..3, 900i64..1_100).prop_map(|(inst, px)| Action::Mark { inst, px }),
        1 => (any::<u64>(), -10i64..=0).prop_map(|(id, px)| Action::Junk { id, px }),
    ]
}

fn prop_limits() -> RiskLimits {
    RiskLimits {
        instrument: InstrumentLimits {
            max_order_qty: 100,
            max_notional: 90_000,
            price_band_bps: 300,
            max_position: 150,
        },
        max_gross_position: 200,
        max_open_orders: 4,
        throttle_rate_per_s: 5,
        throttle_burst: 3,
        max_daily_loss: 1_000_000_000,
    }
}

/// The test's own book of working orders: (id, instrument, side, price, leaves).
#[derive(Debug, Default)]
struct Model {
    working: Vec<(u64, u32, Side, i64, i64)>,
    position: [i128; 3],
    marks: [Option<i64>; 3],
    accepted_ts: Vec<i64>,
}

impl Model {
    fn exposure(&self, inst: u32) -> i128 {
        let side_sum = |side| {
            self.working
                .iter()
                .filter(|w| w.1 == inst && w.2 == side)
                .map(|w| i128::from(w.4))
                .sum::<i128>()
        };
        let pos = self.position[inst as usize];
        (pos + side_sum(Side::Buy))
            .abs()
            .max((pos - side_sum(Side::Sell)).abs())
    }
}

/// Feeds `actions` to engine and model; calls `on_accept` after each accepted order.
fn run(
    engine: &mut RiskEngine,
    model: &mut Model,
    actions: &[Action],
    ts: &mut i64,
    next_id: &mut u64,
    mut on_accept: impl FnMut(&Model, &Action, i64),
) {
    for a in actions {
        match *a {
            Action::Order {
                inst,
                buy,
                px,
                qty,
                dt_ns,
            } => {
                *ts += dt_ns;
                *next_id += 1;
                let side = if buy { Side::Buy } else { Side::Sell };
                let crosses = model
                    .working
                    .iter()
                    .any(|w| w.1 == inst && w.2 != side && if buy { w.3 <= px } else { w.3 >= px });
                if engine
                    .check(*ts, InstrumentId::new(inst), side, px, qty, *next_id)
                    .is_ok()
                {
                    assert!(!crosses, "accepted a self-trade");
                    model.working.push((*next_id, inst, side, px, qty));
                    model.accepted_ts.push(*ts);
                    on_accept(model, a, *ts);
                }
            }
            Action::Fill { pick, percent } if !model.working.is_empty() => {
                let k = pick % model.working.len();
                let (id, inst, side, px, leaves) = model.working[k];
                let q = (leaves * percent / 100).max(1);
                let kind = if q == leaves {
                    ExecKind::Fill
                } else {
                    ExecKind::PartialFill
                };
                engine.on_exec(
                    InstrumentId::new(inst),
                    &exec(kind, side, id, px, q, leaves - q),
                );
                model.working[k].4 -= q;
                if model.working[k].4 == 0 {
                    model.working.remove(k);
                }
                model.position[inst as usize] += if side == Side::Buy {
                    i128::from(q)
                } else {
                    -i128::from(q)
                };
            }
            Action::Cancel { pick } | Action::Reject { pick } if !model.working.is_empty() => {
                let k = pick % model.working.len();
                let (id, inst, side, px, leaves) = model.working.remove(k);
                let kind = if matches!(a, Action::Cancel { .. }) {
                    ExecKind::Canceled
                } else {
                    ExecKind::Rejected
                };
                engine.on_exec(
                    InstrumentId::new(inst),
                    &exec(kind, side, id, px, leaves, 0),
                );
            }
            Action::Mark { inst, px } => {
                engine.on_reference_price(InstrumentId::new(inst), px);
                model.marks[inst as usize] = Some(px);
            }
            Action::Junk { id, px } => {
                // Unknown order ids and non-positive prices change nothing but the counter.
                let junk = exec(ExecKind::Fill, Side::Buy, id | 1 << 63, px, 5, 0);
                engine.on_exec(I0, &junk);
                engine.on_exec(UNKNOWN, &junk);
                engine.on_exec(
                    I1,
                    &exec(ExecKind::Canceled, Side::Buy, id | 1 << 63, 1, 1, 0),
                );
            }
            _ => {}
        }
        assert_eq!(engine.working_orders().len(), model.working.len());
        for inst in 0..3u32 {
            assert_eq!(
                engine.position(InstrumentId::new(inst)),
                Some(model.position[inst as usize])
            );
        }
    }
}

/// Reference prices for instruments 0 and 1 (2 stays unmarked: every order on it is refused).
fn marks() -> [Action; 2] {
    [
        Action::Mark { inst: 0, px: 1_000 },
        Action::Mark { inst: 1, px: 1_000 },
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_accepted_order_breaks_a_limit(actions in prop::collection::vec(action(), 1..200)) {
        let l = prop_limits();
        let mut engine = RiskEngine::new(l, 3).unwrap();
        let mut model = Model::default();
        let (mut ts, mut next_id) = (1_000_000_000i64, 0u64);
        run(&mut engine, &mut model, &marks(), &mut ts, &mut next_id, |_, _, _| {});
        run(&mut engine, &mut model, &actions, &mut ts, &mut next_id, |m, a, now| {
            let Action::Order { inst, px, qty, .. } = *a else { unreachable!() };
            let il = l.instrument;
            assert!(inst < 3);
            assert!(qty > 0 && qty <= il.max_order_qty);
            assert!(px > 0 && i128::from(px) * i128::from(qty) <= il.max_notional);
            let mark = i128::from(m.marks[inst as usize].expect("accepted without a reference"));
            assert!((i128::from(px) - mark).abs() * 10_000 <= mark * i128::from(il.price_band_bps));
            let mut gross = 0;
            for i in 0..3 {
                let e = m.exposure(i);
                assert!(e <= i128::from(il.max_position), "instrument {i} exposure {e}");
                gross += e;
            }
            assert!(gross <= i128::from(l.max_gross_position), "gross {gross}");
            assert!(m.working.len() <= l.max_open_orders as usize);
            // Token bucket: over any window [t0, now], accepted <= burst + rate × window.
            for &t0 in &m.accepted_ts {
                let n = m.accepted_ts.iter().filter(|&&t| t >= t0 && t <= now).count();
                let allowed = i128::from(l.throttle_burst) * 1_000_000_000
                    + i128::from(l.throttle_rate_per_s) * i128::from(now - t0);
                assert!(n as i128 * 1_000_000_000 <= allowed, "throttle broken: {n} in window");
            }
        });
    }

    #[test]
    fn after_kill_switch_no_order_is_accepted(
        before in prop::collection::vec(action(), 0..100),
        after in prop::collection::vec(action(), 1..100),
    ) {
        let mut engine = RiskEngine::new(prop_limits(), 3).unwrap();
        let mut model = Model::default();
        let (mut ts, mut next_id) = (0i64, 0u64);
        run(&mut engine, &mut model, &marks(), &mut ts, &mut next_id, |_, _, _| {});
        run(&mut engine, &mut model, &before, &mut ts, &mut next_id, |_, _, _| {});
        let ids: Vec<u64> = model.working.iter().map(|w| w.0).collect();
        prop_assert_eq!(engine.on_command(OperatorCommand::KillSwitch), ids.as_slice());
        let accepted = engine.accepted_count();
        run(&mut engine, &mut model, &after, &mut ts, &mut next_id, |_, a, _| {
            panic!("accepted {a:?} after the kill switch");
        });
        prop_assert_eq!(engine.accepted_count(), accepted);
        prop_assert!(engine.is_kill_switch_engaged());
    }
}
