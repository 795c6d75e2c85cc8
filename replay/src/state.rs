//! The engine's state as plain data: what `tickrail state` shows after rebuilding a run's
//! chain from its journaled inputs, and what tests compare (`==`) between runs and points.
//!
//! [`EngineState::of`] reads a [`TradingChain`] — positions, PnL and fees from the OMS, the
//! top of each instrument's reference-venue book, the OMS's open orders and the risk
//! engine's PnL, halts, throttle and reject counts — into owned values in a fixed order
//! (instruments by id, orders by client order id, rejects by code, anomalies in counter
//! order), so two states of the same inputs are equal. [`EngineState::rebuild`] replays a
//! run directory up to a point ([`crate::verify::replay_chain`]) and reads the chain.
//!
//! Fixed-point values are [`Fixed`]: the raw integer, its scale and the exact decimal text.
//! Prices are at the instrument's price scale, quantities at its quantity scale, money
//! (PnL, fees: raw price × raw quantity) at the sum of the two. The risk engine's totals sum
//! over instruments; they are shown at the first instrument's money scale (as `tickrail run`
//! prints PnL), which is exact when every instrument has the same scales.

use std::fmt;
use std::ops::ControlFlow;
use std::path::Path;

use serde::Serialize;
use tickrail_engine::book::{BookView, Level};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::instrument::InstrumentSpec;
use tickrail_engine::oms::{AnomalyKind, Order, OrderState};
use tickrail_engine::pipeline::TradingChain;
use tickrail_engine::RiskCode;

use crate::verify::{replay_chain, Point, ReplayOptions, ReplaySummary, Replayed, VerifyError};

/// Decimal places of [`RiskState::throttle_tokens`] (the bucket counts billionths).
pub const THROTTLE_TOKEN_SCALE: u8 = 9;

/// A fixed-point value: `raw` in units of `10^-scale`, with its exact decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixed {
    /// The raw integer (value × 10^scale).
    pub raw: i128,
    /// Decimal places.
    pub scale: u8,
    /// The exact value as decimal text (`-12.3400` at scale 4).
    pub decimal: String,
}

impl Fixed {
    /// `raw` at `scale` decimal places.
    pub fn new(raw: i128, scale: u8) -> Self {
        Self {
            raw,
            scale,
            decimal: decimal(raw, scale),
        }
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.decimal)
    }
}

/// `raw` × 10^-`scale` as exact decimal text.
fn decimal(raw: i128, scale: u8) -> String {
    let sign = if raw < 0 { "-" } else { "" };
    let magnitude = raw.unsigned_abs();
    let places = usize::from(scale);
    // Scales up to 38 fit u128; beyond that, print the raw digits shifted by hand.
    match 10u128.checked_pow(u32::from(scale)) {
        _ if scale == 0 => format!("{sign}{magnitude}"),
        Some(unit) => format!("{sign}{}.{:0places$}", magnitude / unit, magnitude % unit),
        None => format!("{sign}0.{magnitude:0places$}"),
    }
}

/// One price level: price at the instrument's price scale, quantity at its quantity scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopLevel {
    /// The level's price.
    pub price: Fixed,
    /// The quantity displayed at it.
    pub qty: Fixed,
}

/// One instrument: the OMS's position and PnL, and the reference venue's top of book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentState {
    /// The dense instrument id (its index in the config).
    pub id: u32,
    /// The symbol.
    pub symbol: String,
    /// Signed position (long positive), quantity scale.
    pub position: Fixed,
    /// Average cost of the open position, price scale, truncated toward zero; `None` when
    /// flat.
    pub avg_price: Option<Fixed>,
    /// The mark (reference-venue mid) unrealised PnL is computed at; `None` before the
    /// first two-sided book.
    pub mark: Option<Fixed>,
    /// Realised PnL before fees, money scale.
    pub realised_pnl: Fixed,
    /// `position × mark − cost`, money scale; `None` before the first mark.
    pub unrealised_pnl: Option<Fixed>,
    /// Fees paid (negative: rebates earned), money scale.
    pub fees: Fixed,
    /// Realised + unrealised − fees, money scale.
    pub net_pnl: Fixed,
    /// Best bid of the reference venue's book.
    pub best_bid: Option<TopLevel>,
    /// Best ask of the reference venue's book.
    pub best_ask: Option<TopLevel>,
}

/// A live (not filled, canceled or rejected) order the OMS holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenOrder {
    /// Our id for the order (its key; amends keep it).
    pub client_order_id: u64,
    /// The instrument's symbol.
    pub instrument: String,
    /// `buy` or `sell`.
    pub side: String,
    /// Limit price, price scale.
    pub price: Fixed,
    /// Order quantity, quantity scale.
    pub qty: Fixed,
    /// Filled so far, quantity scale.
    pub filled: Fixed,
    /// `pending_new`, `new`, `partially_filled`, `pending_cancel` or `pending_replace`.
    pub state: String,
    /// The venue it was sent to.
    pub venue: u16,
}

/// How many of something, by name (risk rejects by code, OMS anomalies by kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedCount {
    /// The stable numeric code (risk codes; the counter index for anomalies).
    pub code: u16,
    /// The stable snake_case name.
    pub name: String,
    /// How many.
    pub count: u64,
}

/// The pre-trade risk engine's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskState {
    /// Realised + unrealised PnL as risk counts it (the daily-loss check), money scale.
    pub daily_pnl: Fixed,
    /// The day's loss: `max(0, −daily_pnl)`.
    pub daily_loss: Fixed,
    /// The limit: trading halts once `daily_pnl < −max_daily_loss`.
    pub max_daily_loss: Fixed,
    /// Realised PnL since the start of the day.
    pub realised_pnl: Fixed,
    /// Unrealised PnL at the reference prices.
    pub unrealised_pnl: Fixed,
    /// Gross exposure (positions plus working orders on the worse side), raw quantity.
    pub gross_exposure: i128,
    /// Orders risk counts as working.
    pub working_orders: u64,
    /// Orders accepted so far.
    pub accepted: u64,
    /// The kill switch is engaged.
    pub kill_switch: bool,
    /// The operator halted trading.
    pub halted: bool,
    /// The daily-loss halt has latched.
    pub loss_halted: bool,
    /// Throttle tokens in the bucket as of its last refill (`1` = one order), at
    /// [`THROTTLE_TOKEN_SCALE`].
    pub throttle_tokens: Fixed,
    /// The bucket's capacity, orders.
    pub throttle_burst: u32,
    /// Its refill rate, orders per second of event time.
    pub throttle_rate_per_s: u32,
    /// Event time of its last refill; `None` before the first order was checked.
    pub throttle_last_refill_ns: Option<i64>,
    /// Orders refused, by risk code (only codes that occurred, by code).
    pub rejects: Vec<NamedCount>,
    /// Reports and prices risk found nonsensical.
    pub anomalies: u64,
}

/// The engine's state after a given input: see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineState {
    /// Sequence of the last input applied (`0`: none yet).
    pub at_sequence: u64,
    /// Its receive time (event time), ns since the Unix epoch; `None` if no input.
    pub at_event_time_ns: Option<i64>,
    /// Inputs applied (with [`EngineState::rebuild`]; `0` from [`EngineState::of`]).
    pub inputs: u64,
    /// The reference venue (the router's first): its books give the marks and the top of
    /// book shown.
    pub reference_venue: Option<u16>,
    /// Per instrument, by id.
    pub instruments: Vec<InstrumentState>,
    /// The OMS's live orders, by client order id.
    pub open_orders: Vec<OpenOrder>,
    /// Pre-trade risk.
    pub risk: RiskState,
    /// OMS anomalies, by kind (only kinds that occurred, in counter order).
    pub oms_anomalies: Vec<NamedCount>,
}

fn money_scale(spec: &InstrumentSpec) -> u8 {
    spec.price_scale.get() + spec.qty_scale.get()
}

fn top(level: Option<Level>, spec: &InstrumentSpec) -> Option<TopLevel> {
    level.map(|l| TopLevel {
        price: Fixed::new(i128::from(l.px), spec.price_scale.get()),
        qty: Fixed::new(i128::from(l.qty), spec.qty_scale.get()),
    })
}

/// The snake_case name of an order state.
pub fn order_state_name(state: OrderState) -> &'static str {
    match state {
        OrderState::PendingNew => "pending_new",
        OrderState::New => "new",
        OrderState::PartiallyFilled => "partially_filled",
        OrderState::PendingCancel => "pending_cancel",
        OrderState::PendingReplace => "pending_replace",
        OrderState::Filled => "filled",
        OrderState::Canceled => "canceled",
        OrderState::Rejected => "rejected",
    }
}

/// The snake_case name of an OMS anomaly kind.
pub fn anomaly_name(kind: AnomalyKind) -> &'static str {
    match kind {
        AnomalyKind::UnknownOrder => "unknown_order",
        AnomalyKind::DuplicateOrderId => "duplicate_order_id",
        AnomalyKind::DuplicateAck => "duplicate_ack",
        AnomalyKind::LateFill => "late_fill",
        AnomalyKind::Overfill => "overfill",
        AnomalyKind::LateReport => "late_report",
        AnomalyKind::UnexpectedReport => "unexpected_report",
        AnomalyKind::InvalidRequest => "invalid_request",
        AnomalyKind::QtyMismatch => "qty_mismatch",
        AnomalyKind::InvalidValue => "invalid_value",
        AnomalyKind::UnknownInstrument => "unknown_instrument",
        AnomalyKind::Capacity => "capacity",
    }
}

impl EngineState {
    /// Reads `chain` (built from `cfg`) as it stands after the input numbered `at_sequence`,
    /// received at `at_event_time_ns`.
    pub fn of(
        chain: &TradingChain,
        cfg: &EngineConfig,
        at_sequence: u64,
        at_event_time_ns: Option<i64>,
    ) -> Self {
        let orders = &chain.downstream;
        let oms = orders.oms();
        let instruments = cfg
            .instruments
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let (ps, qs, ms) = (
                    spec.price_scale.get(),
                    spec.qty_scale.get(),
                    money_scale(spec),
                );
                let p = oms.position(spec.id).copied().unwrap_or_default();
                let pnl = p.pnl();
                // Slot 0 is the reference venue (the router's first).
                let book = orders.book(0, i);
                InstrumentState {
                    id: spec.id.get(),
                    symbol: spec.symbol.clone(),
                    position: Fixed::new(i128::from(p.qty), qs),
                    avg_price: p.avg_cost().map(|a| Fixed::new(a, ps)),
                    mark: p.mark.map(|m| Fixed::new(i128::from(m), ps)),
                    realised_pnl: Fixed::new(pnl.realised, ms),
                    unrealised_pnl: pnl.unrealised.map(|u| Fixed::new(u, ms)),
                    fees: Fixed::new(pnl.fees, ms),
                    net_pnl: Fixed::new(pnl.net(), ms),
                    best_bid: top(book.and_then(BookView::best_bid), spec),
                    best_ask: top(book.and_then(BookView::best_ask), spec),
                }
            })
            .collect();

        let spec_of = |o: &Order| {
            usize::try_from(o.instrument.get())
                .ok()
                .and_then(|i| cfg.instruments.get(i))
        };
        let open_orders = oms
            .open_orders()
            .map(|o| {
                let (symbol, ps, qs) = spec_of(o).map_or_else(
                    || (format!("#{}", o.instrument.get()), 0, 0),
                    |s| (s.symbol.clone(), s.price_scale.get(), s.qty_scale.get()),
                );
                OpenOrder {
                    client_order_id: o.client_order_id,
                    instrument: symbol,
                    side: o.side.name().to_owned(),
                    price: Fixed::new(i128::from(o.price), ps),
                    qty: Fixed::new(i128::from(o.qty), qs),
                    filled: Fixed::new(i128::from(o.cum_qty), qs),
                    state: order_state_name(o.state).to_owned(),
                    venue: o.venue,
                }
            })
            .collect();

        let risk = orders.risk();
        let ms = cfg.instruments.first().map_or(0, money_scale);
        let pnl = risk.pnl();
        let limits = risk.limits();
        let mut rejects: Vec<NamedCount> = RiskCode::ALL
            .into_iter()
            .map(|c| NamedCount {
                code: c.code(),
                name: c.name().to_owned(),
                count: risk.reject_count(c),
            })
            .filter(|n| n.count > 0)
            .collect();
        rejects.sort_by_key(|n| n.code);
        let risk = RiskState {
            daily_pnl: Fixed::new(pnl, ms),
            daily_loss: Fixed::new(pnl.saturating_neg().max(0), ms),
            max_daily_loss: Fixed::new(limits.max_daily_loss, ms),
            realised_pnl: Fixed::new(risk.realised_pnl(), ms),
            unrealised_pnl: Fixed::new(risk.unrealised_pnl(), ms),
            gross_exposure: risk.gross_exposure(),
            working_orders: u64::try_from(risk.working_orders().len()).unwrap_or(u64::MAX),
            accepted: risk.accepted_count(),
            kill_switch: risk.is_kill_switch_engaged(),
            halted: risk.is_halted(),
            loss_halted: risk.is_loss_halted(),
            throttle_tokens: Fixed::new(risk.throttle_tokens_nano(), THROTTLE_TOKEN_SCALE),
            throttle_burst: limits.throttle_burst,
            throttle_rate_per_s: limits.throttle_rate_per_s,
            throttle_last_refill_ns: risk.throttle_last_refill_ns(),
            rejects,
            anomalies: risk.anomaly_count(),
        };

        let oms_anomalies = AnomalyKind::ALL
            .into_iter()
            .map(|k| NamedCount {
                code: u16::try_from(k.index()).unwrap_or(u16::MAX),
                name: anomaly_name(k).to_owned(),
                count: oms.anomalies(k),
            })
            .filter(|n| n.count > 0)
            .collect();

        Self {
            at_sequence,
            at_event_time_ns,
            inputs: 0,
            reference_venue: cfg.router.venues.first().map(|v| v.venue),
            instruments,
            open_orders,
            risk,
            oms_anomalies,
        }
    }

    /// Replays `run_dir`'s inputs through a fresh chain built from `cfg` up to `at` (an
    /// input sequence: that input included; a receive time: every input received at or
    /// before it; `None`: the whole journal) and reads the state there. Also returns what
    /// the replay did.
    pub fn rebuild(
        cfg: &EngineConfig,
        run_dir: &Path,
        at: Option<Point>,
    ) -> Result<(Self, ReplaySummary), VerifyError> {
        let mut last: Option<(u64, i64)> = None;
        let opts = ReplayOptions {
            to: at,
            verify: false,
            ..ReplayOptions::default()
        };
        let (summary, chain) = replay_chain(cfg, run_dir, opts, |ev| {
            if let Replayed::Input(e) = ev {
                last = Some((e.header.sequence, e.header.receive_ts_ns));
            }
            ControlFlow::Continue(())
        })?;
        let mut state = Self::of(
            &chain,
            cfg,
            last.map_or(0, |(s, _)| s),
            last.map(|(_, t)| t),
        );
        state.inputs = summary.inputs;
        Ok((state, summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(0, 0), "0");
        assert_eq!(decimal(-5, 0), "-5");
        assert_eq!(decimal(1_234_500, 4), "123.4500");
        assert_eq!(decimal(-1, 4), "-0.0001");
        assert!(decimal(i128::MIN, 36).starts_with("-170.141"));
        assert_eq!(decimal(7, 39), format!("0.{:039}", 7));
        assert_eq!(format!("[{:>8}]", Fixed::new(15, 1)), "[     1.5]");
    }
}
