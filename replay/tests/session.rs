//! Session boundaries on the single-thread runner: with `risk.session_start` the daily
//! loss resets at the first event time at or after each boundary (a `SESSION_START` timer
//! input, journaled), not before, and the journal replays identically.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::ops::ControlFlow;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use tickrail_engine::runtime::Market;
use tickrail_engine::timers::{SESSION_START, TIMER_SOURCE};
use tickrail_engine::{
    Event, EventBody, EventHeader, EventKind, ExecKind, InstrumentId, Liquidity, Price, Qty, Side,
};
use tickrail_replay::verify::replay_chain;
use tickrail_replay::{
    replay_run, verify_run, JournalSink, Point, Recorder, ReplayOptions, Replayed, Runner, Sink,
    Verdict,
};

/// 2026-03-08 21:00 UTC: 17:00 in New York on the day daylight saving time began (22:00
/// UTC the day before).
const B1: i64 = 1_773_003_600_000_000_000;
/// 2026-03-09 21:00 UTC: the next session start.
const B2: i64 = 1_773_090_000_000_000_000;
const S: i64 = 1_000_000_000;

/// `config/default.toml` with a session start at 17:00 New York time and a daily loss
/// limit of 50.00.
fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let from = "max_daily_loss = \"10000.00\"\n";
    assert!(text.contains(from));
    let text = text.replacen(
        from,
        "max_daily_loss = \"50.00\"\nsession_start = \"17:00\"\n\
         session_time_zone = \"America/New_York\"\n",
        1,
    );
    EngineConfig::from_toml_str(&text, path).unwrap()
}

/// Scripted inputs; order requests are taken and forgotten.
struct Script(VecDeque<Event>);

impl Market for Script {
    type Error = std::convert::Infallible;
    fn next_input(&mut self) -> Option<Event> {
        self.0.pop_front()
    }
    fn next_due_ns(&mut self) -> Option<i64> {
        self.0.front().map(|e| e.header.receive_ts_ns)
    }
    fn submit(&mut self, _: i64, _: &Event) -> Result<(), Self::Error> {
        Ok(())
    }
}

fn event(at_ns: i64, body: EventBody) -> Event {
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: at_ns,
            receive_ts_ns: at_ns,
            instrument: InstrumentId::new(0),
            price_scale: 4,
            qty_scale: 0,
            source: 1,
        },
        body,
    )
}

fn quote(at_ns: i64) -> Event {
    event(
        at_ns,
        EventBody::Quote {
            bid_px: Price::new(999_900),
            bid_qty: Qty::new(500),
            ask_px: Price::new(1_000_100),
            ask_qty: Qty::new(500),
        },
    )
}

/// A fill of an order the engine does not know (it still moves the position).
fn fill(at_ns: i64, id: u64, side: Side, px: i64) -> Event {
    event(
        at_ns,
        EventBody::ExecReport {
            exec: ExecKind::Fill,
            side,
            liquidity: Liquidity::Taker,
            reject_code: 0,
            client_order_id: id,
            venue_order_id: id,
            price: Price::new(px),
            qty: Qty::new(100),
            leaves_qty: Qty::ZERO,
            cum_qty: Qty::new(100),
        },
    )
}

/// Keeps every event and journals it.
struct Tee {
    rec: Recorder,
    journal: JournalSink,
}

impl Sink for Tee {
    fn input(&mut self, event: &Event) {
        self.rec.input(event);
        self.journal.input(event);
    }
    fn output(&mut self, event: &Event) {
        self.rec.output(event);
        self.journal.output(event);
    }
}

fn session_starts(inputs: &[Event]) -> Vec<(usize, i64)> {
    inputs
        .iter()
        .enumerate()
        .filter_map(|(k, e)| match e.body {
            EventBody::Timer {
                timer_id,
                deadline_ns,
            } if timer_id == SESSION_START => Some((k, deadline_ns)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_daily_loss_resets_at_the_session_start_and_replays_identically() {
    let cfg = config();
    let market = Script(VecDeque::from([
        quote(B1 - 600 * S),
        // Bought 100 at 100.00, sold at 99.00: a loss of 100.00 > 50.00.
        fill(B1 - 540 * S, 900_001, Side::Buy, 1_000_000),
        fill(B1 - 480 * S, 900_002, Side::Sell, 990_000),
        quote(B1 - 60 * S),
        quote(B1 - 1),
        quote(B1),
        quote(B1 + 60 * S),
        quote(B2 + S),
    ]));
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(&cfg),
    )
    .with_timers(cfg.timers());
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Tee {
        rec: Recorder::default(),
        journal: JournalSink::create(&cfg, dir.path(), "test: one thread").unwrap(),
    };
    let risk = |r: &Runner<Script, TradingChain>| {
        let risk = r.chain().downstream.risk();
        (risk.is_loss_halted(), risk.realised_pnl())
    };

    // Up to just before the boundary: the loss halt holds, no session start yet.
    assert!(runner.run_until(B1 - 1, &mut sink));
    assert_eq!(risk(&runner), (true, -1_000_000));
    assert_eq!(session_starts(&sink.rec.inputs), vec![]);
    let halted_from = sink
        .rec
        .inputs
        .iter()
        .find(|e| e.header.receive_ts_ns == B1 - 480 * S)
        .unwrap()
        .header
        .sequence;

    // At the boundary: the session start enters before the quote received at it.
    assert!(runner.run_until(B1, &mut sink));
    assert_eq!(risk(&runner), (false, 0));
    let inputs = &sink.rec.inputs;
    let [(k, deadline)] = session_starts(inputs)[..] else {
        panic!("one session start expected: {inputs:?}");
    };
    assert_eq!(deadline, B1);
    let start = inputs[k];
    assert_eq!(start.header.source, TIMER_SOURCE);
    assert_eq!(start.header.receive_ts_ns, B1);
    assert!(inputs[..k].iter().all(|e| e.header.receive_ts_ns < B1));
    let next_market = inputs[k + 1..]
        .iter()
        .find(|e| e.kind() != EventKind::Timer)
        .unwrap();
    assert_eq!(
        (next_market.kind(), next_market.header.receive_ts_ns),
        (EventKind::Quote, B1)
    );
    // While halted, nothing new went out; the session start itself emits nothing.
    assert!(!sink.rec.outputs.iter().any(|o| {
        o.kind() == EventKind::OrderNew
            && (halted_from..=start.header.sequence).contains(&o.header.cause_sequence)
    }));

    // To the end: one more session start, the next day's (23 hours after the first one's
    // 22:00 UTC the day before, 24 after this one).
    runner.run(&mut sink);
    assert_eq!(runner.summary().input_rejects, [0; 5]);
    let starts: Vec<i64> = session_starts(&sink.rec.inputs)
        .iter()
        .map(|&(_, d)| d)
        .collect();
    assert_eq!(starts, vec![B1, B2]);
    assert_eq!(risk(&runner), (false, 0));
    // Trading resumed after the session start: the strategy quoted again.
    assert!(sink.rec.outputs.iter().any(
        |o| o.kind() == EventKind::OrderNew && o.header.cause_sequence > start.header.sequence
    ));

    // The journal holds them and replays identically; replayed up to the input before
    // the session start the engine is halted, from it on it is not.
    let Tee { rec, journal } = sink;
    journal.close().unwrap();
    assert_eq!(
        verify_run(&cfg, dir.path()).unwrap(),
        Verdict::Identical {
            inputs: rec.inputs.len() as u64,
            outputs: rec.outputs.len() as u64,
        }
    );
    let mut journaled = Vec::new();
    replay_run(&cfg, dir.path(), ReplayOptions::default(), |r| {
        if let Replayed::Input(e) = r {
            journaled.push(*e);
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(journaled, rec.inputs);
    for (to, halted) in [
        (start.header.sequence - 1, true),
        (start.header.sequence, false),
    ] {
        let opts = ReplayOptions {
            to: Some(Point::Sequence(to)),
            ..Default::default()
        };
        let (_, chain) =
            replay_chain(&cfg, dir.path(), opts, |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(chain.downstream.risk().is_loss_halted(), halted, "to {to}");
    }
}

/// Without the keys nothing resets after the start: the loss halt outlasts the day.
#[test]
fn without_a_session_start_the_loss_halt_stays() {
    let mut cfg = config();
    cfg.risk.session = None;
    let market = Script(VecDeque::from([
        quote(B1 - 600 * S),
        fill(B1 - 540 * S, 900_001, Side::Buy, 1_000_000),
        fill(B1 - 480 * S, 900_002, Side::Sell, 990_000),
        quote(B2 + S),
    ]));
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(&cfg),
    )
    .with_timers(cfg.timers());
    let mut rec = Recorder::default();
    runner.run(&mut rec);
    assert_eq!(session_starts(&rec.inputs), vec![]);
    assert!(runner.chain().downstream.risk().is_loss_halted());
}
