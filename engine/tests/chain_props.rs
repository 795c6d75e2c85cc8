//! The whole chain (signal stage + order stage, built from `config/default.toml`) behind the
//! Sequencer, fed random input streams: no input panics it, every output is a valid event
//! caused by the input being processed, no order breaks a configured per-order limit, and
//! after a kill switch no new order leaves.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing};
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, ExecKind, InstrumentId, LevelAction, Liquidity,
    OperatorCommand, Price, Qty, Side, TradingState,
};

fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    EngineConfig::load(path).unwrap()
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn px() -> impl Strategy<Value = Price> {
    // Around 100.00 at price scale 4, on and off the tick; rarely absurd.
    prop_oneof![
        9 => (990_000i64..1_010_000).prop_map(Price::new),
        1 => (1i64..i64::MAX).prop_map(Price::new),
    ]
}

fn qty() -> impl Strategy<Value = Qty> {
    prop_oneof![
        9 => (0i64..1_000).prop_map(Qty::new),
        1 => (0i64..i64::MAX).prop_map(Qty::new),
    ]
}

fn command() -> impl Strategy<Value = OperatorCommand> {
    prop::sample::select(OperatorCommand::ALL.to_vec())
}

fn body() -> impl Strategy<Value = EventBody> {
    let id = 1u64..40;
    prop_oneof![
        4 => (side(), id.clone(), px(), qty()).prop_map(|(side, order_id, price, qty)| {
            EventBody::OrderAdd { side, order_id, price, qty }
        }),
        2 => id.clone().prop_map(|order_id| EventBody::OrderDelete { order_id }),
        2 => (id.clone(), qty(), px()).prop_map(|(order_id, qty, price)| {
            EventBody::OrderExecute { order_id, qty, price, match_id: 1 }
        }),
        1 => (id.clone(), px(), qty()).prop_map(|(order_id, price, qty)| {
            EventBody::OrderModify { order_id, price, qty }
        }),
        1 => (id.clone(), id.clone(), px(), qty()).prop_map(|(old_order_id, new_order_id, price, qty)| {
            EventBody::OrderReplace { old_order_id, new_order_id, price, qty }
        }),
        1 => (side(), 0u16..12, px(), qty(), any::<bool>()).prop_map(|(side, level, price, qty, del)| {
            let action = if del { LevelAction::Delete } else { LevelAction::Upsert };
            EventBody::BookLevel { side, action, level, price, qty }
        }),
        1 => (px(), qty(), px(), qty()).prop_map(|(bid_px, bid_qty, ask_px, ask_qty)| {
            EventBody::Quote { bid_px, bid_qty, ask_px, ask_qty }
        }),
        2 => (px(), qty()).prop_map(|(price, qty)| EventBody::Trade {
            aggressor: Aggressor::Buy, price, qty, trade_id: 1
        }),
        3 => (prop::sample::select(ExecKind::ALL.to_vec()), side(), 1u64..60, px(), qty(), qty(),
               prop::sample::select(Liquidity::ALL.to_vec()))
            .prop_map(|(exec, side, client_order_id, price, qty, leaves_qty, liquidity)| EventBody::ExecReport {
                exec, side, liquidity, reject_code: 0, client_order_id, venue_order_id: 5,
                price, qty, leaves_qty, cum_qty: Qty::new(0),
            }),
        1 => prop::sample::select(TradingState::ALL.to_vec())
            .prop_map(|status| EventBody::TradingStatus { status }),
        1 => command().prop_map(|command| EventBody::Command { command, arg: 0 }),
    ]
}

fn input() -> impl Strategy<Value = (u32, u16, i64, EventBody)> {
    // Instrument 3 is unknown; source 0 and 3 are not venues; time mostly moves forward.
    (0u32..4, 0u16..4, -1_000i64..100_000, body())
}

/// Runs `inputs` through the Sequencer and the chain, checking every output; returns how
/// many orders and risk rejects came out.
fn run_stream(inputs: Vec<(u32, u16, i64, EventBody)>) -> Result<(u64, u64), TestCaseError> {
    let cfg = config();
    let sizing = BookSizing {
        max_orders: 256,
        max_levels: 64,
    };
    let mut chain = build_chain(&cfg, sizing).unwrap();
    let mut sequencer = Sequencer::new(1, cfg.instruments.len());
    let mut out = Outbox::new(max_outputs_per_event(&cfg), 1);
    let mut ts = 1_000_000_000i64;
    let mut killed = false;
    let (mut orders, mut rejects) = (0, 0);
    for (instrument, source, dt, body) in inputs {
        ts += dt;
        let raw = Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: ts,
                receive_ts_ns: ts + 10_000,
                instrument: InstrumentId::new(instrument),
                price_scale: 4,
                qty_scale: 0,
                source,
            },
            body,
        );
        let Ok(input) = sequencer.stamp(raw) else {
            continue;
        };
        match input.body {
            EventBody::Command {
                command: OperatorCommand::KillSwitch,
                ..
            } => killed = true,
            EventBody::Command {
                command: OperatorCommand::ReleaseKillSwitch,
                ..
            } => killed = false,
            _ => {}
        }
        chain.on_event(&input, &mut out);
        for o in out.events() {
            prop_assert!(o.validate().is_ok(), "invalid output {o:?}");
            prop_assert_eq!(o.header.cause_sequence, input.header.sequence);
            match o.body {
                EventBody::OrderNew { price, qty, .. } => {
                    orders += 1;
                    prop_assert!(!killed, "an order left after the kill switch: {o:?}");
                    let i = o.header.instrument.get() as usize;
                    let limits = cfg.risk.instruments[i];
                    prop_assert!(qty.raw() > 0 && qty.raw() <= limits.max_order_qty);
                    let notional = i128::from(price.raw()) * i128::from(qty.raw());
                    prop_assert!(notional <= limits.max_notional);
                }
                EventBody::RiskReject { .. } => rejects += 1,
                _ => {}
            }
        }
        prop_assert_eq!(out.overflowed(), 0);
        out.clear();
    }
    Ok((orders, rejects))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_never_panic_or_break_a_limit(inputs in prop::collection::vec(input(), 1..400)) {
        run_stream(inputs)?;
    }
}

/// The generator is not toothless: over a fixed set of streams, orders do go out and risk
/// does refuse some.
#[test]
fn random_streams_do_trade() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut orders, mut rejects) = (0, 0);
    for _ in 0..32 {
        let inputs = prop::collection::vec(input(), 300..400)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let (o, r) = run_stream(inputs).unwrap();
        orders += o;
        rejects += r;
    }
    println!("32 random streams: {orders} orders, {rejects} risk rejects");
    assert!(
        orders > 0 && rejects > 0,
        "orders {orders}, rejects {rejects}"
    );
}
