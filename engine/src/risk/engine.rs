//! The pre-trade risk engine; see the module docs of [`crate::risk`] for units and check order.

use super::limits::{InstrumentLimits, RiskLimits, RiskLimitsError};
use crate::event::{ExecKind, OperatorCommand, RiskCode, Side};
use crate::instrument::InstrumentId;

/// Nanoseconds per second; also the bucket's units per token (tokens are kept in
/// token·ns/s so that refill is an exact integer product).
const NS_PER_S: i128 = 1_000_000_000;
/// Basis points per unit.
const BPS_PER_UNIT: i128 = 10_000;
/// One more than the largest [`RiskCode::code`], for the reject counters.
const RISK_CODE_SLOTS: usize = 15;

/// An order accepted by [`RiskEngine::check`] and not yet filled, canceled or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkingOrder {
    /// Our id for the order.
    pub client_order_id: u64,
    /// The instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price, raw.
    pub price_raw: i64,
    /// Quantity still open, raw.
    pub leaves_raw: i64,
}

/// An execution report, as far as risk cares (the fields of `EventBody::ExecReport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecUpdate {
    /// What happened.
    pub exec: ExecKind,
    /// The order's side (used only for fills of orders risk does not know).
    pub side: Side,
    /// Our order id.
    pub client_order_id: u64,
    /// Last fill price for fills, the order's (new) price otherwise; raw.
    pub price_raw: i64,
    /// Last fill quantity for fills, the order's quantity otherwise; raw.
    pub qty_raw: i64,
    /// Quantity still open after the report; raw. Used for `Replaced`.
    pub leaves_qty_raw: i64,
}

/// Per-instrument state. Quantities and money are `i128` so that no sequence of `i64`
/// inputs overflows them in practice; all arithmetic saturates regardless.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct InstrumentState {
    /// Signed position, raw quantity.
    position: i128,
    /// Sum of `leaves` of working buys.
    working_buy: i128,
    /// Sum of `leaves` of working sells.
    working_sell: i128,
    /// Signed cost of the open position (same sign as `position`), raw price × raw qty.
    cost: i128,
    /// Reference price (mark), raw.
    mark: Option<i64>,
    /// Unrealised PnL at the mark, as last computed.
    unrealised: i128,
    /// `max(|position + working_buy|, |position − working_sell|)`, as last computed.
    exposure: i128,
}

impl InstrumentState {
    fn exposure_with(&self, working_buy: i128, working_sell: i128) -> i128 {
        let long = self.position.saturating_add(working_buy).saturating_abs();
        let short = self.position.saturating_sub(working_sell).saturating_abs();
        long.max(short)
    }
}

/// Pre-trade risk: limits, positions, working orders, PnL, throttle, halts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RiskEngine {
    limits: RiskLimits,
    instrument_limits: Vec<InstrumentLimits>,
    instruments: Vec<InstrumentState>,
    /// Working orders in acceptance order; bounded by `max_open_orders`.
    working: Vec<WorkingOrder>,
    /// The cancel list handed out by the kill switch; preallocated.
    cancel_list: Vec<u64>,
    gross: i128,
    realised: i128,
    unrealised: i128,
    /// Throttle tokens, in units of `1 / NS_PER_S` token.
    tokens: i128,
    last_refill_ns: Option<i64>,
    kill_switch: bool,
    halted: bool,
    loss_halted: bool,
    accepted: u64,
    rejects: [u64; RISK_CODE_SLOTS],
    anomalies: u64,
}

impl RiskEngine {
    /// An engine for instruments `0..n_instruments`, all under `limits.instrument`, flat,
    /// with a full throttle bucket. Allocates everything it will ever need.
    pub fn new(limits: RiskLimits, n_instruments: usize) -> Result<Self, RiskLimitsError> {
        limits.validate()?;
        let open = usize::try_from(limits.max_open_orders).unwrap_or(usize::MAX);
        Ok(Self {
            limits,
            instrument_limits: vec![limits.instrument; n_instruments],
            instruments: vec![InstrumentState::default(); n_instruments],
            working: Vec::with_capacity(open),
            cancel_list: Vec::with_capacity(open),
            gross: 0,
            realised: 0,
            unrealised: 0,
            tokens: i128::from(limits.throttle_burst) * NS_PER_S,
            last_refill_ns: None,
            kill_switch: false,
            halted: false,
            loss_halted: false,
            accepted: 0,
            rejects: [0; RISK_CODE_SLOTS],
            anomalies: 0,
        })
    }

    /// Replaces one instrument's limits. Working orders are not re-checked.
    pub fn set_instrument_limits(
        &mut self,
        instrument: InstrumentId,
        limits: InstrumentLimits,
    ) -> Result<(), RiskLimitsError> {
        limits.validate()?;
        let slot = usize::try_from(instrument.get())
            .ok()
            .and_then(|i| self.instrument_limits.get_mut(i))
            .ok_or(RiskLimitsError::UnknownInstrument {
                instrument: instrument.get(),
            })?;
        *slot = limits;
        Ok(())
    }

    fn index(&self, instrument: InstrumentId) -> Option<usize> {
        usize::try_from(instrument.get())
            .ok()
            .filter(|&i| i < self.instruments.len())
    }

    /// Pre-trade check of a new order. On `Ok` the order is recorded as working: it counts
    /// toward open orders and exposure and has spent a throttle token. On `Err` nothing but
    /// the throttle's refill and the reject counter changes. See the module docs for the
    /// order of the checks. Client order ids should be unique; a repeated id is tracked as a
    /// separate order and execution reports apply to the oldest working order with that id.
    pub fn check(
        &mut self,
        ts_ns: i64,
        instrument: InstrumentId,
        side: Side,
        price_raw: i64,
        qty_raw: i64,
        client_order_id: u64,
    ) -> Result<(), RiskCode> {
        match self.evaluate(ts_ns, instrument, side, price_raw, qty_raw) {
            Ok((idx, working_buy, working_sell, exposure)) => {
                self.tokens = self.tokens.saturating_sub(NS_PER_S);
                let state = &mut self.instruments[idx];
                self.gross = self
                    .gross
                    .saturating_sub(state.exposure)
                    .saturating_add(exposure);
                state.working_buy = working_buy;
                state.working_sell = working_sell;
                state.exposure = exposure;
                self.working.push(WorkingOrder {
                    client_order_id,
                    instrument,
                    side,
                    price_raw,
                    leaves_raw: qty_raw,
                });
                self.accepted = self.accepted.saturating_add(1);
                Ok(())
            }
            Err(code) => {
                if let Some(n) = self.rejects.get_mut(usize::from(code.code())) {
                    *n = n.saturating_add(1);
                }
                Err(code)
            }
        }
    }

    /// Runs the checks; on success returns the instrument index and its working buy, working
    /// sell and exposure with the order counted.
    fn evaluate(
        &mut self,
        ts_ns: i64,
        instrument: InstrumentId,
        side: Side,
        price_raw: i64,
        qty_raw: i64,
    ) -> Result<(usize, i128, i128, i128), RiskCode> {
        let idx = self.index(instrument).ok_or(RiskCode::UnknownInstrument)?;
        self.refill(ts_ns);
        if self.kill_switch {
            return Err(RiskCode::KillSwitch);
        }
        if self.halted {
            return Err(RiskCode::Halted);
        }
        if self.loss_halted {
            return Err(RiskCode::MaxDailyLoss);
        }
        if qty_raw <= 0 {
            return Err(RiskCode::InvalidQty);
        }
        if price_raw <= 0 {
            return Err(RiskCode::InvalidPrice);
        }
        let limits = self.instrument_limits[idx];
        let state = self.instruments[idx];
        let (px, qty) = (i128::from(price_raw), i128::from(qty_raw));
        if qty_raw > limits.max_order_qty {
            return Err(RiskCode::MaxOrderQty);
        }
        if px * qty > limits.max_notional {
            return Err(RiskCode::MaxNotional);
        }
        let reference = i128::from(state.mark.ok_or(RiskCode::PriceBand)?);
        if (px - reference).abs() * BPS_PER_UNIT > reference * i128::from(limits.price_band_bps) {
            return Err(RiskCode::PriceBand);
        }
        let crosses_own = self.working.iter().any(|w| {
            w.instrument == instrument
                && w.side != side
                && match side {
                    Side::Buy => w.price_raw <= price_raw,
                    Side::Sell => w.price_raw >= price_raw,
                }
        });
        if crosses_own {
            return Err(RiskCode::SelfTrade);
        }
        let (working_buy, working_sell, side_exposure) = match side {
            Side::Buy => {
                let wb = state.working_buy.saturating_add(qty);
                (
                    wb,
                    state.working_sell,
                    state.position.saturating_add(wb).saturating_abs(),
                )
            }
            Side::Sell => {
                let ws = state.working_sell.saturating_add(qty);
                (
                    state.working_buy,
                    ws,
                    state.position.saturating_sub(ws).saturating_abs(),
                )
            }
        };
        if side_exposure > i128::from(limits.max_position) {
            return Err(RiskCode::MaxPosition);
        }
        let exposure = state.exposure_with(working_buy, working_sell);
        let gross = self
            .gross
            .saturating_sub(state.exposure)
            .saturating_add(exposure);
        if gross > i128::from(self.limits.max_gross_position) {
            return Err(RiskCode::MaxGrossPosition);
        }
        if self.working.len() >= self.max_open_orders() {
            return Err(RiskCode::MaxOpenOrders);
        }
        if self.tokens < NS_PER_S {
            return Err(RiskCode::Throttle);
        }
        Ok((idx, working_buy, working_sell, exposure))
    }

    fn max_open_orders(&self) -> usize {
        usize::try_from(self.limits.max_open_orders).unwrap_or(usize::MAX)
    }

    /// Refills the token bucket up to `ts_ns`. Time that goes backwards refills nothing and
    /// does not move the bucket's clock back.
    fn refill(&mut self, ts_ns: i64) {
        match self.last_refill_ns {
            None => self.last_refill_ns = Some(ts_ns),
            Some(last) if ts_ns > last => {
                let elapsed = i128::from(ts_ns) - i128::from(last);
                let cap = i128::from(self.limits.throttle_burst) * NS_PER_S;
                let added = elapsed.saturating_mul(i128::from(self.limits.throttle_rate_per_s));
                self.tokens = self.tokens.saturating_add(added).min(cap);
                self.last_refill_ns = Some(ts_ns);
            }
            Some(_) => {}
        }
    }

    /// A new reference price (mark) from a quote or trade: the centre of the price band and
    /// the mark for unrealised PnL. A non-positive price or unknown instrument is an anomaly.
    pub fn on_reference_price(&mut self, instrument: InstrumentId, price_raw: i64) {
        let Some(idx) = self.index(instrument).filter(|_| price_raw > 0) else {
            self.anomalies = self.anomalies.saturating_add(1);
            return;
        };
        self.instruments[idx].mark = Some(price_raw);
        self.revalue(idx);
    }

    /// Applies an execution report: fills move the position and realised PnL (average cost)
    /// and shrink the order's working quantity; `Fill`, `Canceled` and `Rejected` end the
    /// order; `Replaced` takes the report's price and `leaves_qty` (an amend must be checked
    /// before it is sent; risk trusts the venue here). Reports for unknown orders or
    /// instruments and nonsensical values are counted anomalies; a fill for an unknown order
    /// still moves the position, because it happened.
    pub fn on_exec(&mut self, instrument: InstrumentId, report: &ExecUpdate) {
        let Some(idx) = self.index(instrument) else {
            self.anomalies = self.anomalies.saturating_add(1);
            return;
        };
        let slot = self.working.iter().position(|w| {
            w.client_order_id == report.client_order_id && w.instrument == instrument
        });
        let mut anomaly = false;
        match report.exec {
            ExecKind::Ack | ExecKind::CancelRejected => anomaly = slot.is_none(),
            ExecKind::PartialFill | ExecKind::Fill => {
                if report.price_raw <= 0 || report.qty_raw <= 0 {
                    anomaly = true;
                } else {
                    let mut side = report.side;
                    match slot {
                        Some(k) => {
                            let order = &mut self.working[k];
                            side = order.side;
                            anomaly = report.qty_raw > order.leaves_raw;
                            let done = report.qty_raw.min(order.leaves_raw);
                            order.leaves_raw -= done;
                            let finished = report.exec == ExecKind::Fill || order.leaves_raw == 0;
                            self.adjust_working(idx, side, -i128::from(done));
                            if finished {
                                self.remove_working(idx, k);
                            }
                        }
                        None => anomaly = true,
                    }
                    self.apply_fill(idx, side, report.price_raw, report.qty_raw);
                }
            }
            ExecKind::Canceled | ExecKind::Rejected => match slot {
                Some(k) => self.remove_working(idx, k),
                None => anomaly = true,
            },
            ExecKind::Replaced => match slot {
                Some(k) if report.price_raw > 0 && report.leaves_qty_raw >= 0 => {
                    let order = &mut self.working[k];
                    let side = order.side;
                    let delta = i128::from(report.leaves_qty_raw) - i128::from(order.leaves_raw);
                    order.price_raw = report.price_raw;
                    order.leaves_raw = report.leaves_qty_raw;
                    self.adjust_working(idx, side, delta);
                    if report.leaves_qty_raw == 0 {
                        self.remove_working(idx, k);
                    }
                }
                _ => anomaly = true,
            },
        }
        if anomaly {
            self.anomalies = self.anomalies.saturating_add(1);
        }
        self.revalue(idx);
    }

    fn adjust_working(&mut self, idx: usize, side: Side, delta: i128) {
        let state = &mut self.instruments[idx];
        let slot = match side {
            Side::Buy => &mut state.working_buy,
            Side::Sell => &mut state.working_sell,
        };
        *slot = slot.saturating_add(delta).max(0);
    }

    /// Drops working order `k` (of instrument `idx`), releasing its leaves.
    fn remove_working(&mut self, idx: usize, k: usize) {
        let order = self.working.remove(k);
        self.adjust_working(idx, order.side, -i128::from(order.leaves_raw));
    }

    /// Average-cost position keeping: adding to a position adds to its cost; reducing it
    /// realises `closed × price − the closed share of the cost` (signed by the position).
    fn apply_fill(&mut self, idx: usize, side: Side, price_raw: i64, qty_raw: i64) {
        let state = &mut self.instruments[idx];
        let px = i128::from(price_raw);
        let delta = match side {
            Side::Buy => i128::from(qty_raw),
            Side::Sell => -i128::from(qty_raw),
        };
        let pos = state.position;
        if pos == 0 || (pos > 0) == (delta > 0) {
            state.position = pos.saturating_add(delta);
            state.cost = state.cost.saturating_add(delta.saturating_mul(px));
            return;
        }
        let closed = delta.abs().min(pos.saturating_abs());
        let closed_cost = state.cost.saturating_mul(closed) / pos.saturating_abs();
        let realised = (pos.signum() * closed)
            .saturating_mul(px)
            .saturating_sub(closed_cost);
        self.realised = self.realised.saturating_add(realised);
        state.cost = state.cost.saturating_sub(closed_cost);
        state.position = pos + delta.signum() * closed;
        let rest = delta.abs() - closed;
        if rest > 0 {
            state.position = delta.signum() * rest;
            state.cost = (delta.signum() * rest).saturating_mul(px);
        }
    }

    /// Recomputes instrument `idx`'s exposure and unrealised PnL, the totals, and the
    /// daily-loss latch.
    fn revalue(&mut self, idx: usize) {
        let state = &mut self.instruments[idx];
        let exposure = state.exposure_with(state.working_buy, state.working_sell);
        self.gross = self
            .gross
            .saturating_sub(state.exposure)
            .saturating_add(exposure);
        state.exposure = exposure;
        let unrealised = match state.mark {
            Some(mark) => state
                .position
                .saturating_mul(i128::from(mark))
                .saturating_sub(state.cost),
            None => 0,
        };
        self.unrealised = self
            .unrealised
            .saturating_sub(state.unrealised)
            .saturating_add(unrealised);
        state.unrealised = unrealised;
        self.latch_loss();
    }

    fn latch_loss(&mut self) {
        if self.pnl() < -self.limits.max_daily_loss {
            self.loss_halted = true;
        }
    }

    /// Engages the kill switch: every new order is refused with [`RiskCode::KillSwitch`]
    /// until [`RiskEngine::release_kill_switch`]. Returns the ids of every working order, in
    /// acceptance order, for the caller to cancel; they stay working here until their
    /// `Canceled` (or fill) reports arrive. Does not allocate.
    pub fn kill_switch(&mut self) -> &[u64] {
        self.kill_switch = true;
        self.cancel_all()
    }

    /// The ids of every working order, in acceptance order, without halting.
    pub fn cancel_all(&mut self) -> &[u64] {
        self.cancel_list.clear();
        self.cancel_list
            .extend(self.working.iter().map(|w| w.client_order_id));
        &self.cancel_list
    }

    /// Releases the kill switch. The operator halt and the loss halt are separate.
    pub fn release_kill_switch(&mut self) {
        self.kill_switch = false;
    }

    /// Operator halt: new orders are refused with [`RiskCode::Halted`]; working orders stay.
    pub fn halt(&mut self) {
        self.halted = true;
    }

    /// Lifts the operator halt.
    pub fn resume(&mut self) {
        self.halted = false;
    }

    /// Applies an operator command. Returns the ids to cancel (empty unless the command is
    /// `KillSwitch` or `CancelAll`). `Flatten` and `Shutdown` are not risk's business.
    pub fn on_command(&mut self, command: OperatorCommand) -> &[u64] {
        match command {
            OperatorCommand::KillSwitch => return self.kill_switch(),
            OperatorCommand::CancelAll => return self.cancel_all(),
            OperatorCommand::ReleaseKillSwitch => self.release_kill_switch(),
            OperatorCommand::Halt => self.halt(),
            OperatorCommand::Resume => self.resume(),
            OperatorCommand::Flatten | OperatorCommand::Shutdown => {}
        }
        self.cancel_list.clear();
        &self.cancel_list
    }

    /// Starts a new trading day: realised PnL back to zero and the loss halt lifted (it
    /// latches again at once if the unrealised loss alone breaches the limit).
    pub fn reset_daily(&mut self) {
        self.realised = 0;
        self.loss_halted = false;
        self.latch_loss();
    }

    /// Realised plus unrealised PnL, raw price × raw quantity.
    pub fn pnl(&self) -> i128 {
        self.realised.saturating_add(self.unrealised)
    }

    /// Realised PnL since the last [`RiskEngine::reset_daily`].
    pub fn realised_pnl(&self) -> i128 {
        self.realised
    }

    /// Unrealised PnL at the reference prices.
    pub fn unrealised_pnl(&self) -> i128 {
        self.unrealised
    }

    /// Signed position of `instrument`, if known.
    pub fn position(&self, instrument: InstrumentId) -> Option<i128> {
        self.index(instrument).map(|i| self.instruments[i].position)
    }

    /// Working quantity on `side` of `instrument`, if known.
    pub fn working_qty(&self, instrument: InstrumentId, side: Side) -> Option<i128> {
        self.index(instrument).map(|i| match side {
            Side::Buy => self.instruments[i].working_buy,
            Side::Sell => self.instruments[i].working_sell,
        })
    }

    /// Gross exposure: the sum over instruments of
    /// `max(|pos + working buys|, |pos − working sells|)`.
    pub fn gross_exposure(&self) -> i128 {
        self.gross
    }

    /// Working orders, in acceptance order.
    pub fn working_orders(&self) -> &[WorkingOrder] {
        &self.working
    }

    /// Whether the kill switch is engaged.
    pub fn is_kill_switch_engaged(&self) -> bool {
        self.kill_switch
    }

    /// Whether the operator halted trading.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// Whether the daily-loss halt has latched.
    pub fn is_loss_halted(&self) -> bool {
        self.loss_halted
    }

    /// Orders accepted so far.
    pub fn accepted_count(&self) -> u64 {
        self.accepted
    }

    /// Orders rejected so far with `code`.
    pub fn reject_count(&self, code: RiskCode) -> u64 {
        self.rejects
            .get(usize::from(code.code()))
            .copied()
            .unwrap_or(0)
    }

    /// Reports and prices that made no sense (unknown order or instrument, overfill,
    /// non-positive values).
    pub fn anomaly_count(&self) -> u64 {
        self.anomalies
    }

    /// The limits in force (per-instrument overrides aside).
    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// Throttle tokens in the bucket as of its last refill, in billionths of a token
    /// (`1_000_000_000` = one order may go out).
    pub fn throttle_tokens_nano(&self) -> i128 {
        self.tokens
    }

    /// Event time of the throttle bucket's last refill (`None` before the first check).
    pub fn throttle_last_refill_ns(&self) -> Option<i64> {
        self.last_refill_ns
    }
}

/// Engine snapshots.
impl RiskEngine {
    /// The instrument count (`0 .. n_instruments`).
    pub fn n_instruments(&self) -> usize {
        self.instruments.len()
    }

    /// Takes the state of `saved` (a snapshot of an engine for as many instruments) —
    /// positions, working orders, PnL, throttle, halts, counters —, keeping this engine's
    /// limits and its preallocated tables. `Err((snapshot, this))` instrument counts if they
    /// differ (nothing changed).
    pub fn restore_from(&mut self, saved: RiskEngine) -> Result<(), (usize, usize)> {
        if saved.instruments.len() != self.instruments.len() {
            return Err((saved.instruments.len(), self.instruments.len()));
        }
        // Everything from the snapshot (a field added later is state unless placed below)...
        let mut fresh = std::mem::replace(self, saved);
        // ...but the limits from this engine's config,
        self.limits = fresh.limits;
        std::mem::swap(&mut self.instrument_limits, &mut fresh.instrument_limits);
        // and the tables in this engine's preallocated vectors.
        fresh.working.clear();
        fresh.working.extend_from_slice(&self.working);
        std::mem::swap(&mut self.working, &mut fresh.working);
        fresh.cancel_list.clear();
        fresh.cancel_list.extend_from_slice(&self.cancel_list);
        std::mem::swap(&mut self.cancel_list, &mut fresh.cancel_list);
        Ok(())
    }
}

const _: () = assert!(RiskCode::InvalidQty.code() as usize + 1 == RISK_CODE_SLOTS);
