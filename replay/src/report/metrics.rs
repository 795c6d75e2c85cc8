//! The figures of a [`Report`], computed from a [`Collector`]; definitions in the
//! [parent module](super).

use std::fmt;

use tickrail_engine::oms::Oms;

use super::{units, Collector, FillPoint, Sample};
use crate::backtest::queue::QueueFillStats;
use crate::Sink;

/// Per-instrument counts the collector keeps.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counts {
    pub orders: u64,
    pub cancels: u64,
    pub risk_rejects: u64,
    pub venue_rejects: u64,
    pub fills: u64,
    pub ordered_qty: f64,
    pub filled_qty: f64,
    pub notional: f64,
}

/// Latency percentiles, ns of event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ns: i64,
    /// 99th percentile.
    pub p99_ns: i64,
    /// Largest.
    pub max_ns: i64,
}

impl Latency {
    fn of(values: &[i64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut v = values.to_vec();
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Self {
            count: v.len() as u64,
            p50_ns: at(0.5),
            p99_ns: at(0.99),
            max_ns: v[v.len() - 1],
        }
    }
}

/// One instrument's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstrumentReport {
    /// Symbol.
    pub symbol: String,
    /// New orders sent.
    pub orders: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Requests refused by pre-trade risk.
    pub risk_rejects: u64,
    /// Orders the venue rejected.
    pub venue_rejects: u64,
    /// Fills (partial or full).
    pub fills: u64,
    /// Filled quantity / ordered quantity (`None` with no orders).
    pub fill_ratio: Option<f64>,
    /// Traded notional, currency.
    pub turnover: f64,
    /// Final position, units.
    pub position: f64,
    /// Realised PnL, currency.
    pub realised: f64,
    /// Unrealised PnL at the last mark, currency.
    pub unrealised: f64,
    /// Fees paid: the fills with a positive fee, currency (`>= 0`).
    pub fees_paid: f64,
    /// Rebates earned: the fills with a negative fee, currency (`>= 0`).
    pub rebates: f64,
    /// Net fees, `fees_paid − rebates` (negative: rebates exceeded fees), currency.
    pub fees: f64,
    /// realised + unrealised − fees (net of rebates).
    pub net: f64,
}

/// A backtest's figures; see the [module docs](super) for the definitions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Net PnL of all instruments, currency.
    pub net_pnl: f64,
    /// Daily-scaled Sharpe of the sampled PnL changes.
    pub sharpe_daily: Option<f64>,
    /// Annualised (× √252) Sharpe.
    pub sharpe_annual: Option<f64>,
    /// Daily-scaled Sortino.
    pub sortino_daily: Option<f64>,
    /// Annualised Sortino.
    pub sortino_annual: Option<f64>,
    /// Largest fall of net PnL from a running peak, currency (≥ 0).
    pub max_drawdown: f64,
    /// Traded notional, currency.
    pub turnover: f64,
    /// Fees paid over all instruments, currency (`>= 0`).
    pub fees_paid: f64,
    /// Rebates earned over all instruments, currency (`>= 0`).
    pub rebates: f64,
    /// Net fees, `fees_paid − rebates`, currency.
    pub fees: f64,
    /// Filled / ordered quantity over all instruments.
    pub fill_ratio: Option<f64>,
    /// New orders sent.
    pub orders: u64,
    /// Fills.
    pub fills: u64,
    /// Order → acknowledgement, event time.
    pub ack_latency: Latency,
    /// Order → first fill, event time.
    pub fill_latency: Latency,
    /// Per instrument, config order.
    pub instruments: Vec<InstrumentReport>,
    /// Event time covered by the samples, ns.
    pub event_span_ns: i64,
    /// Wall time of the run, s.
    pub wall_s: f64,
    /// Interval between equity samples, ns.
    pub sample_interval_ns: i64,
    /// The equity curve.
    pub samples: Vec<Sample>,
    /// Our fills (up to [`super::MAX_FILL_POINTS`]).
    pub fill_points: Vec<FillPoint>,
    /// A backtest's resting fills: from the queue or traded through, and their queue
    /// positions (`None` where there is no simulated venue: a replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueFillStats>,
}

/// Mean and standard deviation of the changes, and the downside deviation.
pub(super) fn moments(changes: &[f64]) -> Option<(f64, f64, f64)> {
    if changes.len() < 2 {
        return None;
    }
    let n = changes.len() as f64;
    let mean = changes.iter().sum::<f64>() / n;
    let var = changes.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let down = (changes.iter().map(|c| c.min(0.0).powi(2)).sum::<f64>() / n).sqrt();
    Some((mean, var.sqrt(), down))
}

pub(super) fn build<S: Sink>(
    c: &Collector<S>,
    oms: &Oms,
    wall_s: f64,
    sample_interval_ns: i64,
) -> Report {
    let changes: Vec<f64> = c.samples.windows(2).map(|w| w[1].net - w[0].net).collect();
    let per_day = if sample_interval_ns > 0 {
        86_400e9 / sample_interval_ns as f64
    } else {
        0.0
    };
    let ratio =
        |num: f64, den: f64| (den > 0.0 && per_day > 0.0).then(|| num / den * per_day.sqrt());
    let (sharpe, sortino) = match moments(&changes) {
        Some((mean, sd, down)) => (ratio(mean, sd), ratio(mean, down)),
        None => (None, None),
    };
    let mut peak = 0f64;
    let mut max_dd = 0f64;
    for s in &c.samples {
        peak = peak.max(s.net);
        max_dd = max_dd.max(peak - s.net);
    }
    let mut instruments = Vec::with_capacity(c.instruments.len());
    let (mut ordered, mut filled) = (0.0, 0.0);
    for (spec, k) in c.instruments.iter().zip(&c.per) {
        let (pu, qu) = units(spec);
        let money = pu * qu;
        let (position, realised, unrealised, fees_paid, rebates, fees) = oms
            .position(spec.id)
            .map_or((0.0, 0.0, 0.0, 0.0, 0.0, 0.0), |p| {
                let pnl = p.pnl();
                (
                    p.qty as f64 / qu,
                    pnl.realised as f64 / money,
                    pnl.unrealised.unwrap_or(0) as f64 / money,
                    pnl.fees_paid as f64 / money,
                    pnl.rebates as f64 / money,
                    pnl.fees as f64 / money,
                )
            });
        ordered += k.ordered_qty;
        filled += k.filled_qty;
        instruments.push(InstrumentReport {
            symbol: spec.symbol.clone(),
            orders: k.orders,
            cancels: k.cancels,
            risk_rejects: k.risk_rejects,
            venue_rejects: k.venue_rejects,
            fills: k.fills,
            fill_ratio: (k.ordered_qty > 0.0).then(|| k.filled_qty / k.ordered_qty),
            turnover: k.notional,
            position,
            realised,
            unrealised,
            fees_paid,
            rebates,
            fees,
            net: realised + unrealised - fees,
        });
    }
    let span = match (c.samples.first(), c.samples.last()) {
        (Some(a), Some(b)) => b.ts_ns - a.ts_ns,
        _ => 0,
    };
    Report {
        net_pnl: instruments.iter().map(|i| i.net).sum(),
        sharpe_daily: sharpe,
        sharpe_annual: sharpe.map(|s| s * 252f64.sqrt()),
        sortino_daily: sortino,
        sortino_annual: sortino.map(|s| s * 252f64.sqrt()),
        max_drawdown: max_dd,
        turnover: instruments.iter().map(|i| i.turnover).sum(),
        fees_paid: instruments.iter().map(|i| i.fees_paid).sum(),
        rebates: instruments.iter().map(|i| i.rebates).sum(),
        fees: instruments.iter().map(|i| i.fees).sum(),
        fill_ratio: (ordered > 0.0).then(|| filled / ordered),
        orders: instruments.iter().map(|i| i.orders).sum(),
        fills: instruments.iter().map(|i| i.fills).sum(),
        ack_latency: Latency::of(&c.ack_ns),
        fill_latency: Latency::of(&c.fill_ns),
        instruments,
        event_span_ns: span,
        wall_s,
        sample_interval_ns,
        samples: c.samples.clone(),
        fill_points: c.fills.clone(),
        queue: None,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
}

fn us(ns: i64) -> String {
    format!("{:.1}µs", ns as f64 / 1e3)
}

/// The text summary.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "PnL         net {:.4} over {:.2}s of event time ({:.2}s wall)",
            self.net_pnl,
            self.event_span_ns as f64 / 1e9,
            self.wall_s
        )?;
        writeln!(
            f,
            "risk        Sharpe {} daily / {} annual, Sortino {} daily / {} annual, max drawdown {:.4}",
            opt(self.sharpe_daily),
            opt(self.sharpe_annual),
            opt(self.sortino_daily),
            opt(self.sortino_annual),
            self.max_drawdown
        )?;
        writeln!(
            f,
            "trading     {} orders, {} fills, fill ratio {}, turnover {:.2}",
            self.orders,
            self.fills,
            self.fill_ratio
                .map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0)),
            self.turnover
        )?;
        writeln!(
            f,
            "fees        paid {:.4}, rebates earned {:.4}, net {:.4}",
            self.fees_paid, self.rebates, self.fees
        )?;
        writeln!(
            f,
            "latency     order→ack p50 {} p99 {} max {} ({}); order→first fill p50 {} p99 {} ({}) [event time]",
            us(self.ack_latency.p50_ns),
            us(self.ack_latency.p99_ns),
            us(self.ack_latency.max_ns),
            self.ack_latency.count,
            us(self.fill_latency.p50_ns),
            us(self.fill_latency.p99_ns),
            self.fill_latency.count
        )?;
        writeln!(
            f,
            "{:<10} {:>7} {:>7} {:>7} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
            "instrument",
            "orders",
            "fills",
            "rejects",
            "fill %",
            "position",
            "realised",
            "unrealised",
            "fees paid",
            "rebates",
            "net"
        )?;
        for i in &self.instruments {
            writeln!(
                f,
                "{:<10} {:>7} {:>7} {:>7} {:>8} {:>12.4} {:>12.4} {:>12.4} {:>12.4} {:>12.4} {:>12.4}",
                i.symbol,
                i.orders,
                i.fills,
                i.risk_rejects + i.venue_rejects,
                i.fill_ratio
                    .map_or_else(|| "–".to_owned(), |r| format!("{:.1}", r * 100.0)),
                i.position,
                i.realised,
                i.unrealised,
                i.fees_paid,
                i.rebates,
                i.net
            )?;
        }
        Ok(())
    }
}
