#![allow(clippy::unwrap_used)]

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing};
use tickrail_engine::{EventBody, ExecKind};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket};

use super::*;
use crate::{Recorder, Runner};

const STEP_NS: i64 = 100_000_000;

/// The report of a default-config run, its record, the OMS's net PnL and, per instrument,
/// the OMS's (fees paid, rebates, net fees), all in currency.
fn run() -> (Report, Recorder, f64, Vec<(f64, f64, f64)>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let cfg = EngineConfig::load(path).unwrap();
    let market = SyntheticMarket::new(SyntheticConfig::from_engine(&cfg)).unwrap();
    let chain = build_chain(&cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(&cfg),
    )
    .with_timers(cfg.timers());
    let mut sink = Collector::new(Recorder::default(), &cfg.instruments);
    let mut t = runner.next_due_ns().unwrap();
    loop {
        t += STEP_NS;
        let more = runner.run_until(t, &mut sink);
        let at = if more { t } else { runner.now_ns() };
        sink.sample(at, runner.chain().downstream.oms());
        if !more {
            break;
        }
    }
    let oms = runner.chain().downstream.oms();
    let net: f64 = cfg
        .instruments
        .iter()
        .map(|s| {
            let (pu, qu) = units(s);
            oms.position(s.id)
                .map_or(0.0, |p| p.pnl().net() as f64 / (pu * qu))
        })
        .sum();
    let fees = cfg
        .instruments
        .iter()
        .map(|s| {
            let (pu, qu) = units(s);
            let p = oms.position(s.id).unwrap();
            let money = |v: i128| v as f64 / (pu * qu);
            (money(p.fees_paid()), money(p.rebates), money(p.fees))
        })
        .collect();
    let report = sink.finish(oms, 1.0, STEP_NS);
    let rec = std::mem::take(sink.inner_mut());
    (report, rec, net, fees)
}

#[test]
fn the_report_agrees_with_the_stream_and_the_oms() {
    let (r, rec, net, oms) = run();
    println!("{r}");
    let fills = rec
        .inputs
        .iter()
        .filter(|e| {
            matches!(
                e.body,
                EventBody::ExecReport {
                    exec: ExecKind::Fill | ExecKind::PartialFill,
                    ..
                }
            )
        })
        .count() as u64;
    let orders = rec
        .outputs
        .iter()
        .filter(|e| matches!(e.body, EventBody::OrderNew { .. }))
        .count() as u64;
    assert!(
        fills > 100 && orders > 100,
        "{fills} fills, {orders} orders"
    );
    assert_eq!(r.fills, fills);
    assert_eq!(r.orders, orders);
    assert!((r.net_pnl - net).abs() < 1e-6, "{} vs {net}", r.net_pnl);
    // The last sample is the final state.
    assert!((r.samples.last().unwrap().net - net).abs() < 1e-6);
    // ~10 s of event time at 100 ms.
    assert!((95..=105).contains(&r.samples.len()), "{}", r.samples.len());
    // Drawdown recomputed independently.
    let (mut peak, mut dd) = (0f64, 0f64);
    for s in &r.samples {
        peak = peak.max(s.net);
        dd = dd.max(peak - s.net);
    }
    assert_eq!(r.max_drawdown, dd);
    assert!(r.sharpe_daily.is_some() && r.sortino_daily.is_some());
    assert!(r.fill_ratio.is_some_and(|f| f > 0.0 && f <= 1.0));
    assert!(r.ack_latency.count > 0 && r.ack_latency.p50_ns > 0);
    // Turnover: Σ |price × qty| over the fills kept.
    let turnover: f64 = r.fill_points.iter().map(|f| (f.price * f.qty).abs()).sum();
    assert!((turnover - r.turnover).abs() < 1e-6 * turnover.max(1.0));
    // Fees paid and rebates earned, apart, as the OMS has them; net fees their difference.
    for (i, (paid, rebates, fees)) in r.instruments.iter().zip(&oms) {
        assert!(i.fees_paid >= 0.0 && i.rebates >= 0.0, "{i:?}");
        assert!((i.fees_paid - paid).abs() < 1e-9, "{i:?}");
        assert!((i.rebates - rebates).abs() < 1e-9, "{i:?}");
        assert!((i.fees - fees).abs() < 1e-9, "{i:?}");
        assert!((i.fees_paid - i.rebates - i.fees).abs() < 1e-9, "{i:?}");
    }
    let sum = |f: fn(&InstrumentReport) -> f64| r.instruments.iter().map(f).sum::<f64>();
    assert!((r.fees_paid - sum(|i| i.fees_paid)).abs() < 1e-9);
    assert!((r.rebates - sum(|i| i.rebates)).abs() < 1e-9);
    assert!((r.fees - (r.fees_paid - r.rebates)).abs() < 1e-9);
    let summary = r.to_string();
    assert!(
        summary.contains(&format!(
            "fees        paid {:.4}, rebates earned {:.4}, net {:.4}",
            r.fees_paid, r.rebates, r.fees
        )),
        "{summary}"
    );
    assert!(!summary.contains("InstrumentReport") && !summary.contains("Some("));
    // JSON and HTML.
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"fees_paid\"") && json.contains("\"rebates\""));
    assert!(json.contains("\"sharpe_daily\""));
    let html = html::render_html(&r, "test <run>").unwrap();
    assert!(html.contains("<title>test &lt;run&gt;</title>"));
    assert!(html.contains("<th>fees paid</th><th>rebates</th><th>net fees</th>"));
    let with_fills = (0..r.instruments.len())
        .filter(|&i| r.fill_points.iter().any(|f| f.instrument == i))
        .count();
    assert!(with_fills > 0);
    assert_eq!(html.matches("<svg").count(), 3 + with_fills);
    // An instrument without fills gets no empty fills chart; a replay has no queue table.
    let mut bare = r.clone();
    bare.fill_points.retain(|f| f.instrument != 0);
    let html = html::render_html(&bare, "t").unwrap();
    assert_eq!(html.matches("<svg").count(), 2 + with_fills);
    let first = format!("{}: fills over the mark price", r.instruments[0].symbol);
    assert!(!html.contains(&first));
    assert!(!html.contains("queue positions"));
    assert!(!serde_json::to_string(&bare).unwrap().contains("\"queue\""));
}

#[test]
fn ratios_follow_their_definitions() {
    // Changes +2, -1, +2, -1: mean 0.5, sd sqrt(3), downside sqrt(2/4).
    let changes = [2.0, -1.0, 2.0, -1.0];
    let (mean, sd, down) = metrics::moments(&changes).unwrap();
    assert!((mean - 0.5).abs() < 1e-12);
    assert!((sd - 3f64.sqrt()).abs() < 1e-12);
    assert!((down - 0.5f64.sqrt()).abs() < 1e-12);
}
