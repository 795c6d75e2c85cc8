//! [`OrderStage`]: strategy → router → pre-trade risk → OMS, producing order requests.
//! What it does with each input is documented on the type.

use crate::book::MarketBook;
use crate::event::{
    Event, EventBody, ExecKind, OperatorCommand, RiskCode, Side, TimeInForce, TradingState,
    SIGNAL_SCALE,
};
use crate::instrument::InstrumentSpec;
use crate::oms::Oms;
use crate::risk::{ExecUpdate, RiskEngine};
use crate::router::Router;
use crate::stage::{Outbox, Stage};
use crate::strategy::{decide, Inputs, QuoteRefresh, StrategyParams};
use crate::value::{Price, Qty};

use super::signal::BookSizing;

/// Counters of an [`OrderStage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderCounters {
    /// Decisions taken.
    pub decisions: u64,
    /// `OrderNew` requests emitted (passed risk).
    pub orders: u64,
    /// `OrderCancel` requests emitted.
    pub cancels: u64,
    /// Requests refused by risk (`RiskReject` emitted).
    pub risk_rejects: u64,
    /// Execution reports seen.
    pub exec_reports: u64,
    /// Fills (partial or full) seen.
    pub fills: u64,
    /// Events naming an instrument outside the config.
    pub unknown_instrument: u64,
    /// Market data or reports from a venue outside the config.
    pub unknown_venue: u64,
    /// Housekeeping timer events seen.
    pub timers: u64,
    /// Times an instrument's quotes were pulled because its reference book went stale.
    pub stale_pulls: u64,
    /// Feed gaps seen (`FeedGap` inputs).
    pub feed_gaps: u64,
}

/// A quote we have resting (or on its way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Quote {
    client_order_id: u64,
    price: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct InstrumentState {
    signal: Option<f64>,
    last_decision_ns: Option<i64>,
    /// Resting quotes: `[bid, ask]`.
    quotes: [Option<Quote>; 2],
    /// `false` while the reference venue says the instrument is not open.
    closed: bool,
    /// Receive time of the last change to the reference venue's book.
    last_book_ns: Option<i64>,
    /// Quotes pulled at a housekeeping timer: nothing new until the book changes again.
    stale: bool,
}

/// Strategy → router → pre-trade risk → OMS, producing order requests.
///
/// The stage sees every input and the [`super::SignalStage`]'s signals:
///
/// - **Book events** update its own book of each (venue, instrument) — the router needs
///   every venue's displayed size. The reference venue's mid is the mark for risk (price
///   band, unrealised PnL) and the OMS. Then the strategy decides for that instrument.
/// - **Signals** with the configured `model_id` set the instrument's latest model output;
///   the strategy decides.
/// - **Execution reports** go to the OMS and to risk; a quote that is no longer working is
///   forgotten; after a fill the strategy decides again (the inventory changed).
/// - **Commands**: `kill_switch` engages risk's kill switch and cancels every working order;
///   `cancel_all` cancels them without halting; `halt`/`resume`/`release_kill_switch` go to
///   risk; `flatten` cancels every working order and sends IOCs that close each position at
///   the touch (they pass risk like any order). `shutdown` is the runtime's business.
/// - **Trading status**: the strategy sends new orders for an instrument only while its
///   reference venue says it is open (or said nothing).
/// - **Housekeeping timers** ([`crate::timers::HOUSEKEEPING`]): with `stale_quote_ns > 0`,
///   an instrument whose reference book has not changed for `stale_quote_ns` at the timer's
///   deadline has its quotes cancelled and sends nothing new until its reference book
///   changes again (a silent feed must not leave quotes resting on an old price).
/// - **Session starts** ([`crate::timers::SESSION_START`], `risk.session_start`): a new
///   trading day, [`RiskEngine::reset_daily`] — the daily loss starts again from the open
///   positions' unrealised PnL and the loss halt is lifted (the kill switch and the operator
///   halt are not). Other timer ids are ignored.
/// - **Feed gaps** (`FeedGap`): the feed lost messages, so the books may be wrong. The
///   instrument's quotes (every instrument's, if the gap names one outside the config) are
///   pulled as for a stale book, until its reference book changes again.
///
/// # Deciding and sending
///
/// At most one decision per instrument per `min_interval_ns` of event time (the input's
/// receive timestamp). A decision ([`decide`](fn@crate::strategy::decide)) yields an
/// optional IOC and the wanted bid and ask prices. The IOC is split by the [`Router`] and
/// each child passes [`RiskEngine::check`] on its own. A wanted quote that differs from the
/// working one by at least `requote_ticks` replaces it: cancel, then a new post-only order
/// (cancel-and-new, not amend, so the new price passes every risk check). While risk is
/// halted (kill switch, operator halt, daily loss) the strategy sends nothing new — rejects
/// would only repeat.
///
/// Every order request that passes risk is emitted (`OrderNew`/`OrderCancel`) and recorded
/// in the OMS; a refused one is emitted as `RiskReject { code, client_order_id }`. Our client
/// order ids count up from 1 in emission order, so they are a pure function of the input.
#[derive(Debug)]
pub struct OrderStage {
    instruments: Vec<InstrumentSpec>,
    strategy: StrategyParams,
    /// Parameters only: routing reads the books passed to it and keeps nothing.
    router: Router,
    // The state (what changes with inputs) is the snapshot's (`super::snapshot`).
    pub(super) risk: RiskEngine,
    pub(super) oms: Oms,
    model_id: u16,
    /// `books[slot * n + i]`: venue slot `slot`'s book of instrument `i`.
    pub(super) books: Vec<MarketBook>,
    pub(super) state: Vec<InstrumentState>,
    pub(super) next_client_order_id: u64,
    /// Scratch, cleared before each use (not state).
    cancel_scratch: Vec<u64>,
    pub(super) counters: OrderCounters,
}

impl OrderStage {
    /// A stage trading `instruments` with `strategy` on the model's `model_id` signals,
    /// routing with `router` (its first venue is the reference venue), checking with
    /// `risk` and keeping orders in `oms` (which gets the router's per-venue fees; the
    /// chain's builder then sets each venue's exact schedules, [`super::build_chain`]).
    pub fn new(
        instruments: Vec<InstrumentSpec>,
        strategy: StrategyParams,
        model_id: u16,
        router: Router,
        risk: RiskEngine,
        mut oms: Oms,
        sizing: BookSizing,
    ) -> Self {
        let n = instruments.len();
        // The OMS charges each fill the fees of the venue it happened on.
        for route in &router.params().venues {
            for (spec, fees) in instruments.iter().zip(route.fees.iter()) {
                oms.set_venue_fees(route.venue, spec.id, *fees);
            }
        }
        let venues = router.params().venues.len();
        let cap = usize::try_from(risk.limits().max_open_orders).unwrap_or(usize::MAX);
        Self {
            books: (0..n * venues)
                .map(|_| MarketBook::new(sizing.max_orders, sizing.max_levels))
                .collect(),
            state: vec![InstrumentState::default(); n],
            instruments,
            strategy,
            router,
            risk,
            oms,
            model_id,
            next_client_order_id: 1,
            cancel_scratch: Vec::with_capacity(cap),
            counters: OrderCounters::default(),
        }
    }

    /// The counters.
    pub fn counters(&self) -> OrderCounters {
        self.counters
    }

    /// The risk engine (positions, PnL, reject counts by code).
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// The OMS (orders, positions, PnL, fees, anomalies).
    pub fn oms(&self) -> &Oms {
        &self.oms
    }

    /// Venue slot `slot`'s book of instrument index `i`.
    pub fn book(&self, slot: usize, i: usize) -> Option<&MarketBook> {
        self.books.get(slot * self.instruments.len() + i)
    }

    fn instrument_index(&mut self, event: &Event) -> Option<usize> {
        let i = usize::try_from(event.header.instrument.get())
            .ok()
            .filter(|&i| i < self.instruments.len());
        if i.is_none() {
            self.counters.unknown_instrument += 1;
        }
        i
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_client_order_id;
        self.next_client_order_id += 1;
        id
    }

    fn on_book(&mut self, i: usize, event: &Event, out: &mut Outbox) {
        let Some(slot) = self.router.slot_of(event.header.source) else {
            self.counters.unknown_venue += 1;
            return;
        };
        let n = self.instruments.len();
        if !self.books[slot * n + i].apply(event) || slot != 0 {
            return;
        }
        self.state[i].last_book_ns = Some(event.header.receive_ts_ns);
        self.state[i].stale = false;
        if let Some((bid, ask)) = self.books[i].two_sided() {
            let mid = bid.px + (ask.px - bid.px) / 2;
            let id = self.instruments[i].id;
            self.risk.on_reference_price(id, mid);
            self.oms.on_mark(id, mid);
        }
        self.evaluate(i, event, out, false);
    }

    fn on_exec(&mut self, i: usize, event: &Event, out: &mut Outbox) {
        let EventBody::ExecReport {
            exec,
            side,
            client_order_id,
            price,
            qty,
            leaves_qty,
            ..
        } = event.body
        else {
            return;
        };
        self.counters.exec_reports += 1;
        if self.router.slot_of(event.header.source).is_none() {
            self.counters.unknown_venue += 1;
        }
        self.oms.on_exec_report(event);
        self.risk.on_exec(
            event.header.instrument,
            &ExecUpdate {
                exec,
                side,
                client_order_id,
                price_raw: price.raw(),
                qty_raw: qty.raw(),
                leaves_qty_raw: leaves_qty.raw(),
            },
        );
        let fill = matches!(exec, ExecKind::PartialFill | ExecKind::Fill);
        if fill {
            self.counters.fills += 1;
        }
        // Forget a quote that no longer works.
        let live = self
            .oms
            .order(client_order_id)
            .is_some_and(|o| !o.state.is_terminal());
        for q in self.state[i].quotes.iter_mut() {
            if q.is_some_and(|q| q.client_order_id == client_order_id) && !live {
                *q = None;
            }
        }
        if fill {
            self.evaluate(i, event, out, false);
        }
    }

    /// A housekeeping timer: re-prices every quote (with quotes refreshed every timer),
    /// then pulls the quotes of instruments whose reference book is stale.
    fn on_housekeeping(&mut self, deadline_ns: i64, event: &Event, out: &mut Outbox) {
        self.counters.timers += 1;
        if self.quotes_every_timer() {
            for i in 0..self.state.len() {
                self.evaluate(i, event, out, true);
            }
        }
        let stale_after = self.strategy.stale_quote_ns;
        if stale_after <= 0 {
            return;
        }
        for i in 0..self.state.len() {
            let st = self.state[i];
            let Some(last) = st.last_book_ns else {
                continue;
            };
            if st.stale || deadline_ns.saturating_sub(last) < stale_after {
                continue;
            }
            self.counters.stale_pulls += 1;
            self.pull_quotes(i, event, out);
        }
    }

    /// Marks instrument `i` stale and cancels its quotes.
    fn pull_quotes(&mut self, i: usize, event: &Event, out: &mut Outbox) {
        self.state[i].stale = true;
        for k in 0..2 {
            if let Some(q) = self.state[i].quotes[k].take() {
                self.send_cancel(q.client_order_id, event, out);
            }
        }
    }

    /// A feed gap: the books of the instrument (or of all, if it names none we know) may
    /// be wrong.
    fn on_feed_gap(&mut self, event: &Event, out: &mut Outbox) {
        self.counters.feed_gaps += 1;
        let named = usize::try_from(event.header.instrument.get())
            .ok()
            .filter(|&i| i < self.instruments.len());
        match named {
            Some(i) => self.pull_quotes(i, event, out),
            None => {
                for i in 0..self.instruments.len() {
                    self.pull_quotes(i, event, out);
                }
            }
        }
    }

    fn on_command(&mut self, command: OperatorCommand, event: &Event, out: &mut Outbox) {
        let ids = self.risk.on_command(command);
        self.cancel_scratch.clear();
        self.cancel_scratch.extend_from_slice(ids);
        if command == OperatorCommand::Flatten {
            self.cancel_scratch
                .extend(self.risk.cancel_all().iter().copied());
        }
        for k in 0..self.cancel_scratch.len() {
            let id = self.cancel_scratch[k];
            self.send_cancel(id, event, out);
        }
        if !self.cancel_scratch.is_empty() {
            for s in self.state.iter_mut() {
                s.quotes = [None, None];
            }
        }
        if command == OperatorCommand::Flatten {
            for i in 0..self.instruments.len() {
                let id = self.instruments[i].id;
                let position = self.oms.position(id).map_or(0, |p| p.qty);
                let Some((bid, ask)) = self.books[i].two_sided() else {
                    continue;
                };
                let (side, limit) = if position > 0 {
                    (Side::Sell, bid.px)
                } else {
                    (Side::Buy, ask.px)
                };
                if position != 0 {
                    self.send_take(i, side, limit, position.saturating_abs(), event, out);
                }
            }
        }
    }

    /// Cancels our order `orig` (its instrument is the OMS's record of it).
    fn send_cancel(&mut self, orig: u64, cause: &Event, out: &mut Outbox) {
        let Some(order) = self.oms.order(orig).copied() else {
            return;
        };
        let Some(spec) = usize::try_from(order.instrument.get())
            .ok()
            .and_then(|i| self.instruments.get(i))
        else {
            return;
        };
        let (instrument, ps, qs) = (spec.id, spec.price_scale.get(), spec.qty_scale.get());
        let id = self.next_id();
        let body = EventBody::OrderCancel {
            client_order_id: id,
            orig_client_order_id: order.client_order_id,
        };
        if let Some(seq) = out.push_as(cause, instrument, ps, qs, body) {
            self.counters.cancels += 1;
            if let Some(e) = out.events().iter().rev().find(|e| e.header.sequence == seq) {
                let e = *e;
                self.oms.on_cancel_request(&e);
            }
        }
    }

    /// A new order through risk: emitted and recorded if it passes, a `RiskReject` if not.
    /// Returns the client order id if it passed.
    #[allow(clippy::too_many_arguments)]
    fn send_new(
        &mut self,
        i: usize,
        side: Side,
        tif: TimeInForce,
        venue: u16,
        price: i64,
        qty: i64,
        cause: &Event,
        out: &mut Outbox,
    ) -> Option<u64> {
        let spec = &self.instruments[i];
        let (instrument, ps, qs) = (spec.id, spec.price_scale.get(), spec.qty_scale.get());
        let id = self.next_id();
        let now = cause.header.receive_ts_ns;
        match self.risk.check(now, instrument, side, price, qty, id) {
            Ok(()) => {
                let body = EventBody::OrderNew {
                    side,
                    tif,
                    venue,
                    client_order_id: id,
                    price: Price::new(price),
                    qty: Qty::new(qty),
                };
                let seq = out.push_as(cause, instrument, ps, qs, body)?;
                self.counters.orders += 1;
                if let Some(e) = out.events().iter().rev().find(|e| e.header.sequence == seq) {
                    let e = *e;
                    self.oms.on_order_new(&e);
                }
                Some(id)
            }
            Err(code) => {
                self.reject(code, id, instrument, ps, qs, cause, out);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn reject(
        &mut self,
        code: RiskCode,
        client_order_id: u64,
        instrument: crate::InstrumentId,
        ps: u8,
        qs: u8,
        cause: &Event,
        out: &mut Outbox,
    ) {
        self.counters.risk_rejects += 1;
        out.push_as(
            cause,
            instrument,
            ps,
            qs,
            EventBody::RiskReject {
                code,
                client_order_id,
            },
        );
    }

    /// Routes a taking IOC and sends its children.
    fn send_take(
        &mut self,
        i: usize,
        side: Side,
        limit_px: i64,
        qty: i64,
        cause: &Event,
        out: &mut Outbox,
    ) {
        let n = self.instruments.len();
        let spec = &self.instruments[i];
        let books = &self.books;
        let routes = self.router.route_take(
            spec.id,
            side,
            limit_px,
            qty,
            spec.lot_size,
            |slot: usize| books.get(slot * n + i),
        );
        for child in routes.as_slice() {
            self.send_new(
                i,
                side,
                TimeInForce::Ioc,
                child.venue,
                limit_px,
                child.qty,
                cause,
                out,
            );
        }
    }

    fn risk_halted(&self) -> bool {
        self.risk.is_kill_switch_engaged() || self.risk.is_halted() || self.risk.is_loss_halted()
    }

    /// Whether quotes are re-priced only at the housekeeping timer.
    fn quotes_every_timer(&self) -> bool {
        self.strategy
            .quote
            .is_some_and(|q| q.refresh == QuoteRefresh::EveryTimer)
    }

    /// The strategy's decision for instrument `i`, turned into requests: at a book change,
    /// a signal or a fill (`at_timer` false; not at all with quotes refreshed every timer),
    /// or at the housekeeping timer with quotes refreshed every timer (`at_timer` true:
    /// every working quote is cancelled and sent again).
    fn evaluate(&mut self, i: usize, cause: &Event, out: &mut Outbox, at_timer: bool) {
        if self.quotes_every_timer() != at_timer {
            return;
        }
        let now = cause.header.receive_ts_ns;
        let st = self.state[i];
        if st.closed || st.stale || self.risk_halted() {
            return;
        }
        if st
            .last_decision_ns
            .is_some_and(|t| now.saturating_sub(t) < self.strategy.min_interval_ns)
        {
            return;
        }
        let Some((bid, ask)) = self.books[i].two_sided() else {
            return;
        };
        let spec = &self.instruments[i];
        let id = spec.id;
        let tick = spec.tick_size;
        let position = self.oms.position(id).map_or(0, |p| p.qty);
        // Working quantity per side, without the quotes the decision may replace.
        let mut working = [
            self.risk.working_qty(id, Side::Buy).unwrap_or(0),
            self.risk.working_qty(id, Side::Sell).unwrap_or(0),
        ];
        for (k, q) in st.quotes.iter().enumerate() {
            if let Some(q) = q {
                let leaves = self
                    .oms
                    .order(q.client_order_id)
                    .map_or(0, |o| o.leaves_qty());
                working[k] = working[k].saturating_sub(i128::from(leaves));
            }
        }
        let clamp = |w: i128| i64::try_from(w.max(0)).unwrap_or(i64::MAX);
        let inputs = Inputs {
            bid,
            ask,
            signal: st.signal,
            position,
            working_buy: clamp(working[0]),
            working_sell: clamp(working[1]),
        };
        let d = decide(&self.strategy, spec, &inputs);
        let requote = self.strategy.quote.map_or(i64::MAX, |q| {
            i64::from(q.requote_ticks).saturating_mul(tick)
        });
        self.counters.decisions += 1;
        self.state[i].last_decision_ns = Some(now);

        if let Some(t) = d.take {
            self.send_take(i, t.side, t.limit_px, t.qty, cause, out);
        }
        for (k, side, want) in [(0, Side::Buy, d.bid_px), (1, Side::Sell, d.ask_px)] {
            let have = self.state[i].quotes[k];
            let keep = match (have, want) {
                (Some(h), Some(w)) => !at_timer && (h.price - w).abs() < requote,
                (None, None) => true,
                _ => false,
            };
            if keep {
                continue;
            }
            if let Some(h) = have {
                self.send_cancel(h.client_order_id, cause, out);
                self.state[i].quotes[k] = None;
            }
            if let Some(price) = want {
                let Some(venue) = self.router.route_passive(id).map(|c| c.venue) else {
                    continue;
                };
                if let Some(client_order_id) = self.send_new(
                    i,
                    side,
                    TimeInForce::PostOnly,
                    venue,
                    price,
                    d.quote_qty,
                    cause,
                    out,
                ) {
                    self.state[i].quotes[k] = Some(Quote {
                        client_order_id,
                        price,
                    });
                }
            }
        }
    }
}

impl Stage for OrderStage {
    fn on_event(&mut self, event: &Event, out: &mut Outbox) {
        match event.body {
            EventBody::Quote { .. }
            | EventBody::BookLevel { .. }
            | EventBody::OrderAdd { .. }
            | EventBody::OrderModify { .. }
            | EventBody::OrderDelete { .. }
            | EventBody::OrderExecute { .. }
            | EventBody::OrderReplace { .. } => {
                if let Some(i) = self.instrument_index(event) {
                    self.on_book(i, event, out);
                }
            }
            EventBody::Signal { model_id, value } if model_id == self.model_id => {
                if let Some(i) = self.instrument_index(event) {
                    self.state[i].signal = Some(value as f64 / SIGNAL_SCALE.unit() as f64);
                    self.evaluate(i, event, out, false);
                }
            }
            EventBody::ExecReport { .. } => {
                if let Some(i) = self.instrument_index(event) {
                    self.on_exec(i, event, out);
                } else {
                    // Still a report: the OMS counts it (and applies a fill if it can).
                    self.oms.on_exec_report(event);
                }
            }
            EventBody::TradingStatus { status }
                if self.router.slot_of(event.header.source) == Some(0) =>
            {
                if let Some(i) = self.instrument_index(event) {
                    self.state[i].closed = status != TradingState::Open;
                }
            }
            EventBody::Command { command, .. } => self.on_command(command, event, out),
            EventBody::Timer {
                timer_id,
                deadline_ns,
            } if timer_id == crate::timers::HOUSEKEEPING => {
                self.on_housekeeping(deadline_ns, event, out);
            }
            EventBody::Timer { timer_id, .. } if timer_id == crate::timers::SESSION_START => {
                self.risk.reset_daily();
            }
            EventBody::FeedGap { .. } => self.on_feed_gap(event, out),
            _ => {}
        }
    }
}
