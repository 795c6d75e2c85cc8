//! The backtest report: PnL, Sharpe, Sortino, max drawdown, turnover, fill ratio,
//! per-instrument figures and latencies, as a text summary, a JSON summary and an HTML page
//! with charts (equity, drawdown, position, fills over price).
//!
//! Two sources feed it:
//! - [`Collector`] is a runner [`Sink`] (wrapping another one, e.g. the
//!   journal): it sees every order request and every execution report, so it knows what was
//!   asked, what filled, at what price and after how long (event time).
//! - [`Collector::sample`] takes a point of the equity curve from the order stage's OMS
//!   (realised + unrealised − net fees per instrument, at the OMS's marks), called by the
//!   backtest every `sample_interval` of event time.
//!
//! Definitions (all in the instrument's currency; a portfolio figure is the sum over
//! instruments, which assumes they share a currency):
//! - **Net PnL** = realised + unrealised − fees paid + rebates earned, from the OMS.
//! - **Fees paid** and **rebates earned** are kept apart: a fill whose fee is positive adds
//!   to the first, one whose fee is negative (a maker rebate) to the second; the net fees are
//!   their difference. The OMS computes each fill's fee exactly (per unit of quantity, or in
//!   basis points of notional rounded half away from zero to the raw money unit).
//! - **Sharpe**, **Sortino**: of the PnL changes between consecutive samples,
//!   `mean / stdev` (Sortino: `mean / downside deviation`, the root mean square of the
//!   negative changes), scaled to one day of event time by `sqrt(samples per day)` and to a
//!   year by a further `sqrt(252)`. PnL, not returns: a market-making book has no capital
//!   base. `None` with fewer than two changes or no variation.
//! - **Max drawdown**: the largest fall of net PnL from a running peak (peak starts at 0).
//! - **Turnover**: traded notional, `Σ |price × qty|` over fills.
//! - **Fill ratio**: filled quantity / quantity of all new orders sent.
//! - **Latencies** (event time, so they are the simulated venue's): order request → its
//!   acknowledgement, order request → its first fill.

mod html;
mod metrics;

use std::collections::HashMap;

use tickrail_engine::oms::Oms;
use tickrail_engine::{Event, EventBody, ExecKind, InstrumentSpec, Side};

use crate::Sink;

pub use html::write_html;
pub use metrics::{InstrumentReport, Latency, Report};

/// A point of the equity curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sample {
    /// Event time, ns since the Unix epoch.
    pub ts_ns: i64,
    /// Net PnL of every instrument, in currency.
    pub net: f64,
    /// Per instrument (config order): position in units, net PnL, mark price (if any).
    pub instruments: Vec<(f64, f64, Option<f64>)>,
}

/// One fill of ours.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FillPoint {
    /// Event time of the report.
    pub ts_ns: i64,
    /// Instrument index.
    pub instrument: usize,
    /// Buy or sell.
    pub buy: bool,
    /// Price, in currency.
    pub price: f64,
    /// Quantity, in units.
    pub qty: f64,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    ts_ns: i64,
    acked: bool,
    filled: bool,
}

/// Most fills kept for the charts (later ones still count in the figures).
pub const MAX_FILL_POINTS: usize = 200_000;

/// Collects what the report needs while a backtest runs; see the [module docs](self).
#[derive(Debug)]
pub struct Collector<S> {
    inner: S,
    instruments: Vec<InstrumentSpec>,
    sent: HashMap<u64, Sent>,
    per: Vec<metrics::Counts>,
    fills: Vec<FillPoint>,
    samples: Vec<Sample>,
    ack_ns: Vec<i64>,
    fill_ns: Vec<i64>,
}

impl<S: Sink> Collector<S> {
    /// A collector for `instruments` passing every event on to `inner`.
    pub fn new(inner: S, instruments: &[InstrumentSpec]) -> Self {
        Self {
            inner,
            instruments: instruments.to_vec(),
            sent: HashMap::new(),
            per: vec![metrics::Counts::default(); instruments.len()],
            fills: Vec::new(),
            samples: Vec::new(),
            ack_ns: Vec::new(),
            fill_ns: Vec::new(),
        }
    }

    /// The wrapped sink.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped sink, taken back (to close a journal at the end).
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The wrapped sink, mutably.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Takes a point of the equity curve at event time `ts_ns` from `oms`.
    pub fn sample(&mut self, ts_ns: i64, oms: &Oms) {
        let mut net = 0.0;
        let mut per = Vec::with_capacity(self.instruments.len());
        for spec in &self.instruments {
            let (pu, qu) = units(spec);
            let (pos, pnl, mark) = match oms.position(spec.id) {
                Some(p) => {
                    let n = p.pnl().net() as f64 / (pu * qu);
                    (p.qty as f64 / qu, n, p.mark.map(|m| m as f64 / pu))
                }
                None => (0.0, 0.0, None),
            };
            net += pnl;
            per.push((pos, pnl, mark));
        }
        self.samples.push(Sample {
            ts_ns,
            net,
            instruments: per,
        });
    }

    /// The report, with the final figures from `oms` and the run's wall time.
    pub fn finish(&self, oms: &Oms, wall_s: f64, sample_interval_ns: i64) -> Report {
        metrics::build(self, oms, wall_s, sample_interval_ns)
    }

    fn index(&self, e: &Event) -> Option<usize> {
        usize::try_from(e.header.instrument.get())
            .ok()
            .filter(|&i| i < self.instruments.len())
    }
}

/// (10^price_scale, 10^qty_scale) of `spec` as floats.
fn units(spec: &InstrumentSpec) -> (f64, f64) {
    (
        10f64.powi(i32::from(spec.price_scale.get())),
        10f64.powi(i32::from(spec.qty_scale.get())),
    )
}

impl<S: Sink> Sink for Collector<S> {
    fn input(&mut self, event: &Event) {
        self.inner.input(event);
        let EventBody::ExecReport {
            exec,
            side,
            client_order_id,
            price,
            qty,
            ..
        } = event.body
        else {
            return;
        };
        let Some(i) = self.index(event) else {
            return;
        };
        let now = event.header.receive_ts_ns;
        let sent = self.sent.get_mut(&client_order_id);
        match exec {
            ExecKind::Ack => {
                if let Some(s) = sent.filter(|s| !s.acked) {
                    s.acked = true;
                    self.ack_ns.push(now - s.ts_ns);
                }
            }
            ExecKind::Fill | ExecKind::PartialFill => {
                if let Some(s) = sent.filter(|s| !s.filled) {
                    s.filled = true;
                    self.fill_ns.push(now - s.ts_ns);
                }
                let (pu, qu) = units(&self.instruments[i]);
                let (p, q) = (price.raw() as f64 / pu, qty.raw() as f64 / qu);
                let c = &mut self.per[i];
                c.fills += 1;
                c.filled_qty += q;
                c.notional += (p * q).abs();
                if self.fills.len() < MAX_FILL_POINTS {
                    self.fills.push(FillPoint {
                        ts_ns: now,
                        instrument: i,
                        buy: side == Side::Buy,
                        price: p,
                        qty: q,
                    });
                }
            }
            ExecKind::Rejected => self.per[i].venue_rejects += 1,
            _ => {}
        }
    }

    fn output(&mut self, event: &Event) {
        self.inner.output(event);
        let Some(i) = self.index(event) else {
            return;
        };
        match event.body {
            EventBody::OrderNew {
                client_order_id,
                qty,
                ..
            } => {
                let (_, qu) = units(&self.instruments[i]);
                let c = &mut self.per[i];
                c.orders += 1;
                c.ordered_qty += qty.raw() as f64 / qu;
                self.sent.insert(
                    client_order_id,
                    Sent {
                        ts_ns: event.header.receive_ts_ns,
                        acked: false,
                        filled: false,
                    },
                );
            }
            EventBody::OrderCancel { .. } => self.per[i].cancels += 1,
            EventBody::RiskReject { .. } => self.per[i].risk_rejects += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
