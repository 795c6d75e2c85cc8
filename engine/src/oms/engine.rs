//! [`Oms`]: the order table, the id index, positions and anomaly counters.

use super::position::{FeeRate, FeeSchedule, Pnl, Position};
use super::state::{transition, AnomalyKind, OrderEvent, OrderState, Transition};
use crate::event::{Event, EventBody, ExecKind, Liquidity, Side};
use crate::instrument::InstrumentId;

/// Id-index entries per order slot: the order's own id plus cancel and amend request ids.
pub const IDS_PER_ORDER: usize = 4;

/// One order's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    /// The id the order was submitted with (its key).
    pub client_order_id: u64,
    /// The id of the latest applied amend (equal to `client_order_id` until one applies).
    pub live_client_order_id: u64,
    /// The venue's id, from the first report that carries one (0 before).
    pub venue_order_id: u64,
    /// The instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price (raw); an applied amend changes it.
    pub price: i64,
    /// Order quantity (raw); an applied amend changes it. Never below `cum_qty`.
    pub qty: i64,
    /// Filled quantity (raw), `0 ..= qty`.
    pub cum_qty: i64,
    /// Where the order is.
    pub state: OrderState,
    /// The amend in flight (price, qty, new id) while `PendingReplace`.
    pub pending_amend: Option<(i64, i64, u64)>,
    /// Submission counter: orders are numbered in the order they were submitted.
    pub submit_no: u64,
    /// The venue the order was sent to (`OrderNew::venue`).
    pub venue: u16,
}

impl Order {
    /// Quantity still working: `qty − cum_qty` for a live order, 0 for a terminal one.
    pub const fn leaves_qty(&self) -> i64 {
        if self.state.is_terminal() {
            0
        } else {
            self.qty - self.cum_qty
        }
    }
}

/// What one execution report did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Signed quantity applied to the position (buy positive), 0 if none.
    pub fill_qty: i64,
    /// The last anomaly counted for this report, if any.
    pub anomaly: Option<AnomalyKind>,
}

/// The order-management system. See the [module docs](super).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Oms {
    orders: Vec<Order>,
    max_orders: usize,
    /// `(client_order_id, slot)`, sorted by id; capacity `IDS_PER_ORDER × max_orders`.
    index: Vec<(u64, u32)>,
    index_cap: usize,
    positions: Vec<Position>,
    /// Fee schedules by instrument. Config, not state: not in a snapshot (a restore keeps the
    /// fresh OMS's tables).
    #[serde(skip)]
    fees: Vec<FeeSchedule>,
    /// Per-venue fee tables `(venue, schedules by instrument)`, overriding `fees` (config).
    #[serde(skip)]
    venue_fees: Vec<(u16, Vec<FeeSchedule>)>,
    anomalies: [u64; AnomalyKind::COUNT],
    submitted: u64,
}

/// An empty `Vec` with room for `capacity` elements, every page of it touched once.
///
/// A large allocation comes from the kernel as untouched pages: without this, the hot path
/// would take a page fault each time the order table or the id index grows into a new
/// page. Start-up pays for them instead.
fn prefaulted<T>(capacity: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(capacity);
    let step = (4096 / std::mem::size_of::<T>().max(1)).max(1);
    let spare = v.spare_capacity_mut();
    for slot in spare.iter_mut().step_by(step) {
        *slot = std::mem::MaybeUninit::zeroed();
    }
    // The writes must happen although nothing reads them back.
    std::hint::black_box(spare);
    v
}

impl Oms {
    /// An OMS for up to `max_orders` remembered orders and instruments `0 .. n_instruments`.
    /// Everything is allocated here; nothing allocates afterwards.
    pub fn new(max_orders: usize, n_instruments: usize) -> Self {
        Self {
            orders: prefaulted(max_orders),
            max_orders,
            index: prefaulted(max_orders.saturating_mul(IDS_PER_ORDER)),
            index_cap: max_orders.saturating_mul(IDS_PER_ORDER),
            positions: vec![Position::default(); n_instruments],
            fees: vec![FeeSchedule::default(); n_instruments],
            venue_fees: Vec::new(),
            anomalies: [0; AnomalyKind::COUNT],
            submitted: 0,
        }
    }

    /// Sets an instrument's fees (a per-unit [`Fees`](super::Fees) pair or a
    /// [`FeeSchedule`]); an unknown instrument is an anomaly.
    pub fn set_fees(&mut self, instrument: InstrumentId, fees: impl Into<FeeSchedule>) {
        match self.inst(instrument) {
            Some(i) => self.fees[i] = fees.into(),
            None => self.count(AnomalyKind::UnknownInstrument),
        }
    }

    /// Sets an instrument's fees on one venue (orders sent there, and fills of unknown
    /// orders reported by it, pay these); an unknown instrument is an anomaly. Call at
    /// start-up: the first call per venue allocates its table.
    pub fn set_venue_fees(
        &mut self,
        venue: u16,
        instrument: InstrumentId,
        fees: impl Into<FeeSchedule>,
    ) {
        let Some(i) = self.inst(instrument) else {
            return self.count(AnomalyKind::UnknownInstrument);
        };
        let n = self.positions.len();
        let table = match self.venue_fees.iter().position(|(v, _)| *v == venue) {
            Some(t) => t,
            None => {
                self.venue_fees.push((venue, self.fees.clone()));
                self.venue_fees.len() - 1
            }
        };
        debug_assert_eq!(self.venue_fees[table].1.len(), n);
        self.venue_fees[table].1[i] = fees.into();
    }

    /// The fee schedule an order on `venue` pays for `instrument` (the venue's table, else the
    /// instrument's default); `None` for an unknown instrument.
    pub fn fee_schedule(&self, venue: u16, instrument: InstrumentId) -> Option<FeeSchedule> {
        self.inst(instrument).map(|i| self.fees_for(venue, i))
    }

    /// The fees an order on `venue` pays for instrument index `i`.
    fn fees_for(&self, venue: u16, i: usize) -> FeeSchedule {
        self.venue_fees
            .iter()
            .find(|(v, _)| *v == venue)
            .and_then(|(_, t)| t.get(i).copied())
            .unwrap_or(self.fees[i])
    }

    /// A new mark price for unrealised PnL. Non-positive prices and unknown instruments are
    /// anomalies.
    pub fn on_mark(&mut self, instrument: InstrumentId, price_raw: i64) {
        match self.inst(instrument) {
            None => self.count(AnomalyKind::UnknownInstrument),
            Some(_) if price_raw <= 0 => self.count(AnomalyKind::InvalidValue),
            Some(i) => self.positions[i].mark = Some(price_raw),
        }
    }

    /// Routes an event to the handler for its kind; other kinds are ignored.
    pub fn on_event(&mut self, event: &Event) -> ExecOutcome {
        match event.body {
            EventBody::OrderNew { .. } => self.on_order_new(event),
            EventBody::OrderCancel { .. } => self.on_cancel_request(event),
            EventBody::OrderAmend { .. } => self.on_amend_request(event),
            EventBody::ExecReport { .. } => return self.on_exec_report(event),
            _ => {}
        }
        ExecOutcome::default()
    }

    /// Our `OrderNew` output: records the order as `PendingNew`. Other bodies are ignored.
    pub fn on_order_new(&mut self, event: &Event) {
        let EventBody::OrderNew {
            side,
            client_order_id,
            price,
            qty,
            venue,
            ..
        } = event.body
        else {
            return;
        };
        if self.inst(event.header.instrument).is_none() {
            return self.count(AnomalyKind::UnknownInstrument);
        }
        if qty.raw() <= 0 {
            return self.count(AnomalyKind::InvalidValue);
        }
        if let Some(slot) = self.find(client_order_id) {
            if let Transition::Anomaly(kind) =
                transition(self.orders[slot].state, OrderEvent::Submit)
            {
                self.count(kind);
            }
            return;
        }
        let Some(slot) = self.free_slot() else {
            return self.count(AnomalyKind::Capacity);
        };
        let order = Order {
            client_order_id,
            live_client_order_id: client_order_id,
            venue_order_id: 0,
            instrument: event.header.instrument,
            side,
            price: price.raw(),
            qty: qty.raw(),
            cum_qty: 0,
            state: OrderState::PendingNew,
            pending_amend: None,
            submit_no: self.submitted,
            venue,
        };
        self.submitted += 1;
        if slot == self.orders.len() {
            self.orders.push(order);
        } else {
            self.orders[slot] = order;
        }
        if !self.add_id(client_order_id, slot) {
            // `free_slot` cleared the evicted order's ids, so this is unreachable with
            // `IDS_PER_ORDER >= 1`; counted rather than asserted.
            self.count(AnomalyKind::Capacity);
        }
    }

    /// Our `OrderCancel` output. The cancel's own id becomes an alias of the order (reports
    /// may carry either).
    pub fn on_cancel_request(&mut self, event: &Event) {
        let EventBody::OrderCancel {
            client_order_id,
            orig_client_order_id,
        } = event.body
        else {
            return;
        };
        let Some(slot) = self.find(orig_client_order_id) else {
            return self.count(AnomalyKind::UnknownOrder);
        };
        if self.step(slot, OrderEvent::CancelRequest).is_ok() {
            self.alias(client_order_id, slot);
        }
    }

    /// Our `OrderAmend` output: an amend in place (see the module docs). The new id becomes
    /// an alias of the order.
    pub fn on_amend_request(&mut self, event: &Event) {
        let EventBody::OrderAmend {
            client_order_id,
            orig_client_order_id,
            price,
            qty,
        } = event.body
        else {
            return;
        };
        let Some(slot) = self.find(orig_client_order_id) else {
            return self.count(AnomalyKind::UnknownOrder);
        };
        if qty.raw() <= 0 {
            return self.count(AnomalyKind::InvalidValue);
        }
        if self.step(slot, OrderEvent::ReplaceRequest).is_ok() {
            self.orders[slot].pending_amend = Some((price.raw(), qty.raw(), client_order_id));
            self.alias(client_order_id, slot);
        }
    }

    /// An execution report (input). Other bodies are ignored.
    pub fn on_exec_report(&mut self, event: &Event) -> ExecOutcome {
        let EventBody::ExecReport {
            exec,
            side,
            liquidity,
            client_order_id,
            venue_order_id,
            price,
            qty,
            ..
        } = event.body
        else {
            return ExecOutcome::default();
        };
        let mut out = ExecOutcome::default();
        let is_fill = matches!(exec, ExecKind::PartialFill | ExecKind::Fill);
        if is_fill && (qty.raw() <= 0 || price.raw() <= 0) {
            self.note(&mut out, AnomalyKind::InvalidValue);
            return out;
        }
        let Some(slot) = self.find(client_order_id) else {
            self.note(&mut out, AnomalyKind::UnknownOrder);
            // It happened at the venue: an unknown order's fill still moves the position.
            if is_fill {
                match self.inst(event.header.instrument) {
                    Some(i) => {
                        let fees = self.fees_for(event.header.source, i);
                        let rate = match liquidity {
                            Liquidity::Maker => fees.maker,
                            Liquidity::Taker | Liquidity::Unknown => fees.taker,
                        };
                        out.fill_qty =
                            self.fill_position(&mut out, i, side, qty.raw(), price.raw(), rate);
                    }
                    None => self.note(&mut out, AnomalyKind::UnknownInstrument),
                }
            }
            return out;
        };
        if self.orders[slot].venue_order_id == 0 {
            self.orders[slot].venue_order_id = venue_order_id;
        }
        if !is_fill {
            let event = match exec {
                ExecKind::Ack => OrderEvent::Ack,
                ExecKind::Canceled => OrderEvent::Canceled,
                ExecKind::Replaced => OrderEvent::Replaced,
                ExecKind::Rejected => OrderEvent::Rejected,
                _ => OrderEvent::CancelRejected,
            };
            out.anomaly = self.step(slot, event).err();
            return out;
        }
        // A fill: apply what is physically meaningful, at most the unfilled quantity.
        let order = self.orders[slot];
        let room = order.qty - order.cum_qty;
        let applied = qty.raw().min(room);
        if qty.raw() > room {
            self.note(&mut out, AnomalyKind::Overfill);
        }
        let Some(i) = self.inst(order.instrument) else {
            self.note(&mut out, AnomalyKind::UnknownInstrument);
            return out;
        };
        if applied > 0 {
            let fees = self.fees_for(order.venue, i);
            let rate = match liquidity {
                Liquidity::Maker => fees.maker,
                Liquidity::Taker => fees.taker,
                // Not reported: a fill before the ack traded on arrival.
                Liquidity::Unknown
                    if order.state == OrderState::PendingNew || order.state.is_terminal() =>
                {
                    fees.taker
                }
                Liquidity::Unknown => fees.maker,
            };
            out.fill_qty = self.fill_position(&mut out, i, order.side, applied, price.raw(), rate);
            if out.fill_qty != 0 {
                self.orders[slot].cum_qty += applied;
            }
        }
        let o = self.orders[slot];
        let complete = o.cum_qty == o.qty;
        let event = if exec == ExecKind::Fill || complete {
            OrderEvent::Fill
        } else {
            OrderEvent::PartialFill
        };
        if !o.state.is_terminal() && (exec == ExecKind::Fill) != complete {
            self.note(&mut out, AnomalyKind::QtyMismatch);
        }
        if let Err(kind) = self.step(slot, event) {
            out.anomaly = Some(kind);
        }
        out
    }

    /// The order with this id (its own id or a cancel/amend alias).
    pub fn order(&self, client_order_id: u64) -> Option<&Order> {
        self.find(client_order_id).map(|s| &self.orders[s])
    }

    /// Live (non-terminal) orders in client-order-id order.
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> + '_ {
        self.orders_by_id().filter(|o| !o.state.is_terminal())
    }

    /// Every remembered order in client-order-id order.
    pub fn orders_by_id(&self) -> impl Iterator<Item = &Order> + '_ {
        self.index.iter().filter_map(|&(id, slot)| {
            let o = &self.orders[slot as usize];
            (o.client_order_id == id).then_some(o)
        })
    }

    /// An instrument's position, if the instrument is known.
    pub fn position(&self, instrument: InstrumentId) -> Option<&Position> {
        self.inst(instrument).map(|i| &self.positions[i])
    }

    /// An instrument's PnL at its last mark, if the instrument is known.
    pub fn pnl(&self, instrument: InstrumentId) -> Option<Pnl> {
        self.position(instrument).map(Position::pnl)
    }

    /// How many anomalies of this kind were counted.
    pub fn anomalies(&self, kind: AnomalyKind) -> u64 {
        self.anomalies[kind.index()]
    }

    /// All anomalies counted.
    pub fn anomaly_total(&self) -> u64 {
        self.anomalies.iter().fold(0, |a, &n| a.saturating_add(n))
    }

    fn inst(&self, instrument: InstrumentId) -> Option<usize> {
        usize::try_from(instrument.get())
            .ok()
            .filter(|&i| i < self.positions.len())
    }

    fn count(&mut self, kind: AnomalyKind) {
        let n = &mut self.anomalies[kind.index()];
        *n = n.saturating_add(1);
    }

    fn note(&mut self, out: &mut ExecOutcome, kind: AnomalyKind) {
        self.count(kind);
        out.anomaly = Some(kind);
    }

    /// Moves the position; returns the signed quantity applied (0 if it would overflow).
    fn fill_position(
        &mut self,
        out: &mut ExecOutcome,
        i: usize,
        side: Side,
        qty: i64,
        price: i64,
        rate: FeeRate,
    ) -> i64 {
        let signed = match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        if self.positions[i].apply_fill(signed, price, rate) {
            signed
        } else {
            self.note(out, AnomalyKind::InvalidValue);
            0
        }
    }

    /// Applies `event` to the order in `slot` through the table; an illegal event is counted
    /// and returned.
    fn step(&mut self, slot: usize, event: OrderEvent) -> Result<(), AnomalyKind> {
        let order = &mut self.orders[slot];
        match transition(order.state, event) {
            Transition::Anomaly(kind) => {
                self.count(kind);
                return Err(kind);
            }
            Transition::Stay => {}
            Transition::To(state) => order.state = state,
            Transition::Working => {
                if event == OrderEvent::Replaced {
                    if let Some((price, qty, id)) = order.pending_amend {
                        order.price = price;
                        order.qty = qty.max(order.cum_qty);
                        order.live_client_order_id = id;
                    }
                }
                order.state = if order.cum_qty == 0 {
                    OrderState::New
                } else if order.cum_qty < order.qty {
                    OrderState::PartiallyFilled
                } else {
                    OrderState::Filled
                };
            }
        }
        if order.state != OrderState::PendingReplace {
            order.pending_amend = None;
        }
        Ok(())
    }

    fn find(&self, id: u64) -> Option<usize> {
        self.index
            .binary_search_by_key(&id, |&(k, _)| k)
            .ok()
            .map(|p| self.index[p].1 as usize)
    }

    /// Registers `id` for `slot`; `false` if the index is full.
    fn add_id(&mut self, id: u64, slot: usize) -> bool {
        match self.index.binary_search_by_key(&id, |&(k, _)| k) {
            Ok(_) => true,
            Err(_) if self.index.len() >= self.index_cap => false,
            Err(p) => {
                // Slots are below `max_orders`, which fits `u32` when it was allocated.
                self.index.insert(p, (id, slot as u32));
                true
            }
        }
    }

    /// A request id aliasing an order; an id already in use or a full index is counted.
    fn alias(&mut self, id: u64, slot: usize) {
        match self.find(id) {
            Some(s) if s == slot => {}
            Some(_) => self.count(AnomalyKind::DuplicateOrderId),
            None => {
                if !self.add_id(id, slot) {
                    self.count(AnomalyKind::Capacity);
                }
            }
        }
    }

    /// A slot for a new order: a never-used one, else the terminal order submitted first
    /// (evicted: its ids are forgotten). `None` if every order is live.
    fn free_slot(&mut self) -> Option<usize> {
        if self.orders.len() < self.max_orders && self.orders.len() <= u32::MAX as usize {
            return Some(self.orders.len());
        }
        let slot = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.state.is_terminal())
            .min_by_key(|(_, o)| o.submit_no)
            .map(|(s, _)| s)?;
        self.index.retain(|&(_, s)| s as usize != slot);
        Some(slot)
    }
}

/// Engine snapshots.
impl Oms {
    /// The instrument count (`0 .. n_instruments`).
    pub fn n_instruments(&self) -> usize {
        self.positions.len()
    }

    /// Takes the state of `saved` (a snapshot of an OMS for as many instruments) — orders,
    /// id index, positions, PnL, anomaly counts —, keeping this OMS's sizing and fee tables
    /// and its preallocated vectors. `Err((snapshot, this))` instrument counts if they differ
    /// (nothing changed).
    pub fn restore_from(&mut self, saved: Oms) -> Result<(), (usize, usize)> {
        if saved.positions.len() != self.positions.len() {
            return Err((saved.positions.len(), self.positions.len()));
        }
        // Everything from the snapshot (a field added later is state unless placed below)...
        let mut fresh = std::mem::replace(self, saved);
        // ...but the sizing and fees from this OMS's config,
        self.max_orders = fresh.max_orders;
        self.index_cap = fresh.index_cap;
        std::mem::swap(&mut self.fees, &mut fresh.fees);
        std::mem::swap(&mut self.venue_fees, &mut fresh.venue_fees);
        // and the tables in this OMS's preallocated vectors.
        fresh.orders.clear();
        fresh.orders.extend_from_slice(&self.orders);
        std::mem::swap(&mut self.orders, &mut fresh.orders);
        fresh.index.clear();
        fresh.index.extend_from_slice(&self.index);
        std::mem::swap(&mut self.index, &mut fresh.index);
        Ok(())
    }
}
