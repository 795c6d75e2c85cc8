//! End to end on one thread: the synthetic market of `config/default.toml` through the
//! Sequencer and the whole chain (book → features → model → strategy → router → risk → OMS)
//! against the simulated venues.
#![allow(clippy::unwrap_used)]

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use tickrail_engine::{
    archive_event, Event, EventBody, EventHeader, EventKind, ExecKind, InstrumentId,
    OperatorCommand, RiskCode, Side,
};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket};
use tickrail_replay::{Recorder, RunSummary, Runner};

fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    EngineConfig::load(path).unwrap()
}

struct Run {
    cfg: EngineConfig,
    runner: Runner<SyntheticMarket, TradingChain>,
    rec: Recorder,
}

fn run(cfg: EngineConfig, script: &[Event]) -> Run {
    let market = SyntheticMarket::new(SyntheticConfig::from_engine(&cfg)).unwrap();
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(&cfg),
    )
    .with_timers(cfg.timers());
    for e in script {
        runner.schedule(*e);
    }
    let mut rec = Recorder::default();
    runner.run(&mut rec);
    Run { cfg, runner, rec }
}

fn summary(r: &Run) -> &RunSummary {
    r.runner.summary()
}

fn count(events: &[Event], kind: EventKind) -> usize {
    events.iter().filter(|e| e.kind() == kind).count()
}

#[test]
fn the_chain_trades_the_synthetic_market() {
    let r = run(config(), &[]);
    let s = summary(&r);
    let orders = r.runner.chain().downstream.counters();
    let oms = r.runner.chain().downstream.oms();
    let risk = r.runner.chain().downstream.risk();
    println!(
        "{s:?}\n{orders:?}\n{:?}",
        r.runner.chain().upstream.counters()
    );

    // The market ran its 10 s and every input passed the Sequencer.
    assert!(s.inputs > 100_000, "{s:?}");
    assert_eq!(s.input_rejects, [0; 5]);
    assert_eq!((s.submit_errors, s.outbox_overflows), (0, 0), "{s:?}");
    assert_eq!(s.submitted, orders.orders + orders.cancels);

    // It traded: orders went out, fills came back on every instrument.
    let fills: Vec<_> = r
        .rec
        .inputs
        .iter()
        .filter(|e| {
            matches!(
                e.body,
                EventBody::ExecReport {
                    exec: ExecKind::PartialFill | ExecKind::Fill,
                    ..
                }
            )
        })
        .collect();
    println!(
        "{} orders, {} cancels, {} fills",
        orders.orders,
        orders.cancels,
        fills.len()
    );
    assert!(orders.orders > 100 && fills.len() > 50, "{orders:?}");
    for spec in &r.cfg.instruments {
        assert!(
            fills.iter().any(|e| e.header.instrument == spec.id),
            "no fill on {}",
            spec.symbol
        );
    }

    // Positions and PnL: recompute them from the fills alone and compare with the OMS.
    let n = r.cfg.instruments.len();
    let mut position = vec![0i64; n];
    let mut cash = vec![0i128; n];
    for e in &fills {
        let EventBody::ExecReport {
            side, price, qty, ..
        } = e.body
        else {
            unreachable!()
        };
        let i = e.header.instrument.get() as usize;
        let q = match side {
            Side::Buy => qty.raw(),
            Side::Sell => -qty.raw(),
        };
        position[i] += q;
        cash[i] -= i128::from(q) * i128::from(price.raw());
    }
    let mut net_total = 0i128;
    for spec in &r.cfg.instruments {
        let i = spec.id.get() as usize;
        let p = oms.position(spec.id).unwrap();
        let pnl = oms.pnl(spec.id).unwrap();
        assert_eq!(p.qty, position[i], "{}: position", spec.symbol);
        assert_eq!(risk.position(spec.id), Some(i128::from(position[i])));
        let mark = i128::from(p.mark.unwrap());
        // Realised + unrealised = cash + position × mark, exactly.
        assert_eq!(
            pnl.realised + pnl.unrealised.unwrap(),
            cash[i] + i128::from(position[i]) * mark,
            "{}: PnL",
            spec.symbol
        );
        assert!(position[i].abs() <= r.cfg.risk.instruments[i].max_position);
        net_total += pnl.net();
        println!(
            "{}: position {}, realised {}, unrealised {}, fees {}",
            spec.symbol,
            p.qty,
            pnl.realised,
            pnl.unrealised.unwrap(),
            pnl.fees
        );
    }
    assert_eq!(
        risk.pnl(),
        (0..n)
            .map(|i| {
                let id = InstrumentId::new(i as u32);
                let pnl = oms.pnl(id).unwrap();
                pnl.realised + pnl.unrealised.unwrap()
            })
            .sum::<i128>()
    );
    println!("net PnL (raw price × raw qty): {net_total}");

    // Risk refused some orders, each with its code, and nothing broke a limit.
    let rejects = count(&r.rec.outputs, EventKind::RiskReject);
    let mut by_code = Vec::new();
    for code in RiskCode::ALL {
        let c = risk.reject_count(code);
        if c > 0 {
            by_code.push((code.name(), c));
        }
    }
    println!("risk rejects: {rejects} {by_code:?}");
    assert!(rejects > 0);
    assert_eq!(rejects as u64, by_code.iter().map(|(_, c)| c).sum::<u64>());
    assert_eq!(oms.anomaly_total(), 0, "the OMS saw no anomaly");
}

#[test]
fn after_the_kill_switch_nothing_new_leaves_and_everything_is_canceled() {
    let cfg = config();
    let kill_at = tickrail_gateways::synthetic::SYNTHETIC_START_NS + 5_000_000_000;
    let kill = Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: kill_at,
            receive_ts_ns: kill_at,
            instrument: InstrumentId::new(0),
            price_scale: 0,
            qty_scale: 0,
            source: 0,
        },
        EventBody::Command {
            command: OperatorCommand::KillSwitch,
            arg: 0,
        },
    );
    let r = run(cfg, &[kill]);
    let kill_seq = r
        .rec
        .inputs
        .iter()
        .find(|e| e.kind() == EventKind::Command)
        .unwrap()
        .header
        .sequence;
    let before = r
        .rec
        .outputs
        .iter()
        .filter(|e| e.kind() == EventKind::OrderNew && e.header.cause_sequence < kill_seq)
        .count();
    let after = r
        .rec
        .outputs
        .iter()
        .filter(|e| e.kind() == EventKind::OrderNew && e.header.cause_sequence >= kill_seq)
        .count();
    let cancels = r
        .rec
        .outputs
        .iter()
        .filter(|e| e.kind() == EventKind::OrderCancel && e.header.cause_sequence == kill_seq)
        .count();
    println!("orders before the kill switch {before}, after {after}; {cancels} cancels on it");
    assert!(before > 0 && cancels > 0);
    assert_eq!(after, 0);
    // Every order ended (canceled or filled) once the venues answered.
    let oms = r.runner.chain().downstream.oms();
    assert_eq!(oms.open_orders().count(), 0);
}

fn bytes(events: &[Event]) -> Vec<u8> {
    events.iter().flat_map(archive_event).collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = run(config(), &[]);
    let b = run(config(), &[]);
    let (ai, ao) = (bytes(&a.rec.inputs), bytes(&a.rec.outputs));
    assert!(
        ao.len() > 1_000_000,
        "a real stream: {} output bytes",
        ao.len()
    );
    assert!(ai == bytes(&b.rec.inputs), "inputs differ");
    assert!(ao == bytes(&b.rec.outputs), "outputs differ");
    // A different seed is a different market.
    let mut other = config();
    let tickrail_engine::config::FeedSpec::Synthetic(feed) = &mut other.feed;
    feed.seed += 1;
    let c = run(other, &[]);
    assert!(ao != bytes(&c.rec.outputs));
}

/// The XGBoost and ONNX example models run in the chain too: the config's features feed
/// them, their predictions become signals and the strategy trades on them.
#[test]
fn every_model_kind_drives_the_chain() {
    use tickrail_engine::config::{FeedSpec, ModelSpec};
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/models");
    for spec in [
        ModelSpec::Xgboost {
            path: format!("{models}/gbt_reg.json").into(),
        },
        ModelSpec::Onnx {
            path: format!("{models}/mlp.onnx").into(),
        },
    ] {
        let mut cfg = config();
        cfg.model.spec = spec.clone();
        let FeedSpec::Synthetic(feed) = &mut cfg.feed;
        feed.duration_ns = 3_000_000_000;
        let r = run(cfg, &[]);
        let s = summary(&r);
        let signal = r.runner.chain().upstream.counters();
        let orders = r.runner.chain().downstream.counters();
        println!("{spec:?}: {s:?}\n{signal:?}\n{orders:?}");
        assert_eq!((s.submit_errors, s.outbox_overflows), (0, 0), "{s:?}");
        let signals = count(&r.rec.outputs, EventKind::Signal);
        assert!(signals > 100, "{spec:?}: {signals} signals");
        assert!(orders.orders > 10, "{spec:?}: {orders:?}");
        assert!(count(&r.rec.inputs, EventKind::ExecReport) > 10, "{spec:?}");
    }
}

/// Timers are inputs: they enter between market inputs at their deadlines, on the event
/// clock, and a stale reference book at a housekeeping timer pulls the quotes.
#[test]
fn timers_enter_on_the_event_clock_and_pull_stale_quotes() {
    use tickrail_engine::timers::HOUSEKEEPING;
    let mut cfg = config();
    cfg.strategy.timer_interval_ns = 1_000_000;
    cfg.strategy.stale_quote_ns = 2_000_000;
    let r = run(cfg, &[]);
    let inputs = &r.rec.inputs;
    let t0 = inputs
        .iter()
        .find(|e| e.kind() != EventKind::Timer)
        .unwrap()
        .header
        .receive_ts_ns;
    let mut deadlines = Vec::new();
    for (k, e) in inputs.iter().enumerate() {
        let EventBody::Timer {
            timer_id,
            deadline_ns,
        } = e.body
        else {
            continue;
        };
        assert_eq!(timer_id, HOUSEKEEPING);
        // The next market input was due at or after the deadline.
        if let Some(next) = inputs[k + 1..]
            .iter()
            .find(|e| e.kind() != EventKind::Timer)
        {
            assert!(next.header.receive_ts_ns >= deadline_ns, "timer {k} late");
        }
        deadlines.push(deadline_ns);
    }
    // The clock starts at the market's first due time (a lower bound on the first
    // input's receive time); every period fires, in order, up to the last input (the
    // market never pauses for 16 periods here, so nothing is skipped).
    assert!(
        deadlines[0] <= t0 + 1_000_000,
        "first deadline {} vs first input {t0}",
        deadlines[0]
    );
    assert!(deadlines.windows(2).all(|w| w[1] - w[0] == 1_000_000));
    let last = inputs.last().unwrap().header.receive_ts_ns;
    assert!(last - deadlines[deadlines.len() - 1] < 1_000_000);
    assert_eq!(summary(&r).timers, deadlines.len() as u64);
    // Stale pulls: cancels caused by a timer input.
    let timer_seqs: std::collections::HashSet<u64> = inputs
        .iter()
        .filter(|e| e.kind() == EventKind::Timer)
        .map(|e| e.header.sequence)
        .collect();
    let pulls = r
        .rec
        .outputs
        .iter()
        .filter(|e| {
            e.kind() == EventKind::OrderCancel && timer_seqs.contains(&e.header.cause_sequence)
        })
        .count();
    let c = r.runner.chain().downstream.counters();
    println!(
        "{} timers, {} stale pulls, {pulls} cancels caused by timers",
        c.timers, c.stale_pulls
    );
    assert_eq!(c.timers, deadlines.len() as u64);
    assert!(c.stale_pulls > 0 && pulls > 0);
    // And no timer-caused new order: a stale instrument waits for its book.
    assert!(!r
        .rec
        .outputs
        .iter()
        .any(|e| e.kind() == EventKind::OrderNew && timer_seqs.contains(&e.header.cause_sequence)));
}
