//! [`GatewayMarket`]: the outside world as a [`LiveMarket`] — ITCH 5.0 market data from a
//! MoldUDP64 multicast feed ([`Receiver`]) and order entry over a FIX 4.4 session
//! ([`FixOrderGateway`]). This is what `tickrail run` trades against with
//! `[live] market = "gateways"` (`config/live-sim.toml`).
//!
//! The feed thread owns it. Each time the feed loop asks for the next due time, the market
//! reads every datagram waiting on the socket (non-blocking `recv`, no allocation) and
//! every execution report the FIX gateway thread has queued, in that order, into one
//! bounded queue of inputs stamped with their receive times; the loop hands them to the
//! Sequencer in that order. Order requests go to the gateway thread's ring
//! ([`FixOrderGateway::submit`]); the QuickFIX engine, the persistent store and the
//! in-flight reconciliation live on that thread.
//!
//! Nothing here allocates once running (`gateways/tests/gateway_market.rs` counts). The
//! system calls left are the `recv`s of the datagrams (one per datagram, one `EAGAIN` per
//! poll of an empty socket) — what a kernel-bypass NIC API would replace — and, with
//! `[live.fix] wait = "block"`, the wake-up of a parked gateway thread on `submit` (a
//! `futex` call, under the waiter's lock, only when that thread is parked). The receiver
//! logs the first packet of each bad kind (once per kind, then counts).
//!
//! Event time is the wall clock (`CLOCK_REALTIME`): the next due time is the receive time
//! of the oldest queued input, else now, so timers fire on time while the market is quiet.
//!
//! **Client order ids.** The engine numbers its orders from 1 in every run, but a FIX
//! session outlives runs (its store, its in-flight file), so a ClOrdID must never repeat:
//! the market sends `base + client_order_id` as the ClOrdID, with `base` a second × 2^32:
//! the run's start second, or one more than the last run's if that is not earlier (kept in
//! a file beside the in-flight file, so two runs started in the same second, or a clock
//! stepped back, still differ). It takes `base` off the reports' ids again before the
//! Sequencer sees them. Reports for an earlier run's
//! orders (settled by the reconciliation after a restart, or fills arriving by resend)
//! keep their full ClOrdID: the OMS counts them as unknown orders and still moves the
//! position by their fills, which happened.
//!
//! **The end.** After the feed's end-of-session packet, once no execution report has come
//! for `[live.fix] drain_ms` — or at once on a stop request (SIGINT/SIGTERM) — the market
//! stops the FIX gateway (logout; its thread joined), then hands over every report the
//! gateway took before it stopped, and only then says it is done: a report QuickFIX has
//! accepted (and so will never be resent) always reaches the journal. An `order_new` the
//! session does not take (its ring full, another venue, the session closed) is answered
//! at once with a local `rejected` report ([`GATEWAY_REFUSED`]), so the OMS never keeps it
//! open; so is one still waiting in the gateway's ring when it stops (held by a
//! reconciliation, or the thread behind) — it was never sent — and a cancel or amend left
//! there gets a local `cancel_rejected`.
//!
//! **A resumed run** ([`GatewayMarket::open_with_base`]) keeps its ClOrdID base and hands
//! the FIX gateway what its journal says of its orders ([`journaled_orders`], from the
//! recovered OMS): the gateway's in-flight file is saved before the journal has what changed
//! it, so after the engine's process died it may have seen fills (an ack, a cancel) the
//! journal lacks; set back to the journal's state before the logon, the reconciliation
//! reports them again, once (`gateways/src/fix/mod.rs`, *A resumed engine*).

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use crate::feed::InstrumentMap;
use crate::fix::{FixGatewayConfig, FixInstrument, FixOrderGateway, GatewayStats, JournaledOrder};
use crate::udp::{Receiver, ReceiverConfig, ReceiverStats, MAX_EVENTS_PER_DATAGRAM};
use tickrail_engine::config::{EngineConfig, FixSessionSpec, UdpFeedSpec};
use tickrail_engine::oms::{Oms, OrderState};
use tickrail_engine::runtime::clock::{now_ns, wall_ns};
use tickrail_engine::runtime::latency::Latency;
use tickrail_engine::Price;
use tickrail_engine::{Event, EventBody, ExecKind, Liquidity, Qty};

use tickrail_engine::runtime::{LiveError, LiveMarket, Market};

/// Inputs the market holds between the sockets and the Sequencer. The socket is read one
/// datagram at a time, only while the queue is empty, and only while
/// [`MAX_EVENTS_PER_DATAGRAM`] more events fit (the kernel's receive buffer holds the
/// rest); reports are taken while [`REPORT_RESERVE`] slots are left, so the queue never
/// grows in a run (only the final drain of a stopped gateway may add past it).
pub const QUEUE_CAPACITY: usize = 1 << 16;
/// Slots kept for execution reports and local rejects.
const REPORT_RESERVE: usize = 1 << 12;
const _: () = assert!(MAX_EVENTS_PER_DATAGRAM + REPORT_RESERVE < QUEUE_CAPACITY);
/// `header.source` of the feed's events (as the backtest's first data file).
pub const FEED_SOURCE: u16 = 1;
/// `header.source` of the FIX session's execution reports.
pub const FIX_SOURCE: u16 = 100;
/// The FIX gateway's ring capacity (requests in, reports out).
const FIX_RING: usize = 1 << 14;
/// New orders remembered for the round-trip histogram.
const SENT_SLOTS: usize = 1 << 16;
/// Client order ids per run: ClOrdID = base + id, base = a second since the Unix epoch
/// times this (ClOrdIDs fit in a `u64` until 2106).
pub const CLIENT_IDS_PER_RUN: u64 = 1 << 32;
/// The venue reject code of an order the FIX session did not take (ring full, another
/// venue, the session closed): answered locally so that the OMS does not keep it open.
pub const GATEWAY_REFUSED: u16 = 900;

/// What the gateways counted, for the run's summary.
#[derive(Debug, Clone, Default)]
pub struct GatewayReport {
    /// The UDP receiver's counters.
    pub udp: ReceiverStats,
    /// `SO_RCVBUF` granted by the kernel.
    pub recv_buffer_bytes: usize,
    /// The FIX gateway's counters.
    pub fix: GatewayStats,
    /// Order requests for a venue this session does not trade on (refused, counted as
    /// submit errors too).
    pub wrong_venue: u64,
    /// Whether the feed's session ended (an end-of-session packet came).
    pub feed_ended: bool,
    /// What was added to the engine's client order ids to make the ClOrdIDs.
    pub client_id_base: u64,
    /// Reports for orders of an earlier run (their ClOrdIDs are below the base).
    pub earlier_run_reports: u64,
    /// Order round trip through the outside world: an `order_new` handed to the FIX
    /// gateway by the feed thread → its ack (or reject) taken off the gateway's ring by the
    /// feed thread, on its way to the Sequencer (monotonic clock, one reading each end).
    pub order_round_trip: Latency,
    /// New orders the session did not take, answered with a local reject.
    pub refused: u64,
    /// Requests still waiting in the FIX gateway's ring when it stopped (never sent),
    /// answered locally: new orders rejected (counted in `refused` too), cancels and amends
    /// cancel-rejected.
    pub unsent_at_close: u64,
    /// The error the FIX gateway thread stopped with, if any.
    pub close_error: Option<String>,
}

/// Why a request did not reach the FIX session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The gateway thread's request ring is full.
    #[error("the FIX gateway's request ring is full")]
    Full,
    /// The order names a venue the session does not trade on.
    #[error("order for venue {0}: the FIX session trades venue {1}")]
    WrongVenue(u16, u16),
    /// A client order id at or above [`CLIENT_IDS_PER_RUN`].
    #[error("client order id {0} is beyond the {CLIENT_IDS_PER_RUN} of a run")]
    IdRange(u64),
    /// The FIX session was closed (the run is ending).
    #[error("the FIX session is closed")]
    Closed,
}

/// The UDP feed and the FIX session as one [`LiveMarket`]; see the [module docs](self).
#[derive(Debug)]
pub struct GatewayMarket {
    feed: Receiver,
    fix: FixOrderGateway,
    venue: u16,
    queue: VecDeque<Event>,
    drain_ns: u64,
    /// Monotonic ns of the end of session, or of the last report after it.
    quiet_since: Option<u64>,
    wrong_venue: u64,
    client_id_base: u64,
    earlier_run_reports: u64,
    /// When each recent new order was submitted: (client id, monotonic ns) at
    /// `client id % SENT_SLOTS` (an ack arriving after 65,536 newer orders is not timed).
    sent_at: Box<[(u64, u64)]>,
    round_trip: Latency,
    /// The gateway is stopped: what is queued is all there is.
    closed: bool,
    /// Orders answered locally ([`GATEWAY_REFUSED`]).
    refused: u64,
    /// Requests never sent, found in the gateway's ring once it stopped.
    unsent_at_close: u64,
    close_error: Option<String>,
}

impl GatewayMarket {
    /// Joins the feed's multicast group and starts the FIX gateway thread (which connects
    /// and logs on by itself, reconciling orders in flight from an earlier run first).
    pub fn open(
        cfg: &EngineConfig,
        udp: &UdpFeedSpec,
        fix: &FixSessionSpec,
    ) -> Result<Self, LiveError> {
        Self::open_with_base(cfg, udp, fix, None, Vec::new())
    }

    /// [`GatewayMarket::open`] for a resumed run: with `base`, the ClOrdID base the run
    /// used before its restart (its client ids continue, so base + id is still new), so
    /// that reports for its orders in flight map back to the recovered OMS's orders; and
    /// `journal`, what the run's journal says of those orders ([`journaled_orders`]): the
    /// FIX gateway sets its in-flight orders to it before it logs on
    /// ([`FixOrderGateway::start_resumed`]), so that the fills the gateway took but the
    /// journal lacks are reported again.
    pub fn open_with_base(
        cfg: &EngineConfig,
        udp: &UdpFeedSpec,
        fix: &FixSessionSpec,
        base: Option<u64>,
        journal: Vec<JournaledOrder>,
    ) -> Result<Self, LiveError> {
        let mut rc = ReceiverConfig::from_spec(udp)
            .map_err(|e| LiveError::Market(format!("[live.udp] {e}")))?;
        rc.venue_source = FEED_SOURCE;
        let feed = Receiver::open(&rc, InstrumentMap::from_specs(&cfg.instruments))
            .map_err(|e| LiveError::Market(format!("UDP feed: {e}")))?;
        if let Some(dir) = fix.state.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                LiveError::Market(format!("FIX state directory {}: {e}", dir.display()))
            })?;
        }
        let client_id_base = match base {
            Some(b) => b,
            None => next_client_id_base(&fix.state.with_extension("base"), wall_ns())?,
        };
        let gateway = FixOrderGateway::start_resumed(
            FixGatewayConfig {
                settings_path: fix.settings.clone(),
                state_path: fix.state.clone(),
                instruments: cfg.instruments.iter().map(FixInstrument::from).collect(),
                ring_capacity: FIX_RING,
                reconcile_timeout: Duration::from_millis(fix.reconcile_timeout_ms),
                source: FIX_SOURCE,
                wait: fix.wait,
            },
            journal,
        )
        .map_err(|e| LiveError::Market(format!("FIX gateway ({}): {e}", fix.settings.display())))?;
        Ok(Self {
            feed,
            fix: gateway,
            venue: fix.venue,
            queue: VecDeque::with_capacity(QUEUE_CAPACITY),
            drain_ns: fix.drain_ms.saturating_mul(1_000_000),
            quiet_since: None,
            wrong_venue: 0,
            client_id_base,
            earlier_run_reports: 0,
            sent_at: vec![(u64::MAX, 0); SENT_SLOTS].into_boxed_slice(),
            round_trip: Latency::new(),
            closed: false,
            refused: 0,
            unsent_at_close: 0,
            close_error: None,
        })
    }

    /// The FIX gateway (logon state, counters).
    pub fn fix(&self) -> &FixOrderGateway {
        &self.fix
    }

    /// The UDP receiver's counters.
    pub fn feed_stats(&self) -> &ReceiverStats {
        self.feed.stats()
    }

    fn send(&mut self, request: &Event) -> Result<(), SubmitError> {
        if self.closed {
            return Err(SubmitError::Closed);
        }
        if let EventBody::OrderNew { venue, .. } = request.body {
            if venue != self.venue {
                self.wrong_venue += 1;
                return Err(SubmitError::WrongVenue(venue, self.venue));
            }
        }
        let outgoing = self.outgoing(request)?;
        self.fix.submit(&outgoing).map_err(|_| SubmitError::Full)?;
        if let EventBody::OrderNew {
            client_order_id, ..
        } = request.body
        {
            self.sent_at[sent_slot(client_order_id)] = (client_order_id, now_ns());
        }
        Ok(())
    }

    /// What is added to the engine's client order ids to make this run's ClOrdIDs.
    pub fn client_id_base(&self) -> u64 {
        self.client_id_base
    }

    /// The request with its ids moved to this run's ClOrdIDs.
    fn outgoing(&self, request: &Event) -> Result<Event, SubmitError> {
        let base = self.client_id_base;
        let map = |id: u64| {
            if id < CLIENT_IDS_PER_RUN {
                Ok(base + id)
            } else {
                Err(SubmitError::IdRange(id))
            }
        };
        let mut e = *request;
        match &mut e.body {
            EventBody::OrderNew {
                client_order_id, ..
            } => *client_order_id = map(*client_order_id)?,
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            }
            | EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                ..
            } => {
                *client_order_id = map(*client_order_id)?;
                *orig_client_order_id = map(*orig_client_order_id)?;
            }
            _ => {}
        }
        Ok(e)
    }

    /// A report with this run's ClOrdID turned back into the engine's id; an order's first
    /// answer (ack or reject) times its round trip.
    fn incoming(&mut self, mut report: Event) -> Event {
        if let EventBody::ExecReport {
            client_order_id,
            exec,
            ..
        } = &mut report.body
        {
            match client_order_id.checked_sub(self.client_id_base) {
                Some(id) if id < CLIENT_IDS_PER_RUN => {
                    *client_order_id = id;
                    if matches!(exec, ExecKind::Ack | ExecKind::Rejected) {
                        let slot = &mut self.sent_at[sent_slot(id)];
                        if slot.0 == id {
                            self.round_trip.record(now_ns().saturating_sub(slot.1));
                            slot.0 = u64::MAX;
                        }
                    }
                }
                _ => self.earlier_run_reports += 1,
            }
        }
        report
    }

    /// Moves what has arrived into the queue: the reports, then — if nothing else is
    /// waiting — the datagrams, one at a time while a whole one's events fit.
    fn pump(&mut self) {
        let mut reports = false;
        while self.queue.len() < QUEUE_CAPACITY - REPORT_RESERVE / 2 {
            match self.fix.poll_report() {
                Some(ev) => {
                    let ev = self.incoming(ev);
                    self.queue.push_back(ev);
                    reports = true;
                }
                None => break,
            }
        }
        if reports && self.quiet_since.is_some() {
            self.quiet_since = Some(now_ns());
        }
        if self.queue.is_empty() {
            let queue = &mut self.queue;
            while QUEUE_CAPACITY - REPORT_RESERVE - queue.len() >= MAX_EVENTS_PER_DATAGRAM {
                // A socket error other than "nothing to read" is not expected on a bound
                // UDP socket: treated as "nothing now" (the next poll meets it again).
                match self.feed.poll_one(&mut |ev| queue.push_back(ev)) {
                    Ok(true) => {}
                    Ok(false) | Err(_) => break,
                }
            }
        }
        if self.quiet_since.is_none() && self.feed.is_ended() {
            self.quiet_since = Some(now_ns());
        }
    }

    /// Stops the FIX gateway (logout, thread joined) and queues every report it took, then
    /// an answer for each request it never sent.
    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Err(e) = self.fix.close() {
            self.close_error = Some(e.to_string());
        }
        while let Some(ev) = self.fix.poll_report() {
            let ev = self.incoming(ev);
            self.queue.push_back(ev);
        }
        while let Some(request) = self.fix.take_unsent() {
            self.unsent_at_close += 1;
            self.answer_unsent(&request);
        }
    }

    /// Answers a request the gateway never sent (its ids this run's ClOrdIDs): a new order
    /// is refused ([`refuse`](Self::refuse)), a cancel or amend cancel-rejected (the order
    /// stays as the venue has it), both with [`GATEWAY_REFUSED`].
    fn answer_unsent(&mut self, request: &Event) {
        let back = |id: u64| id.wrapping_sub(self.client_id_base);
        let mut engine = *request;
        match &mut engine.body {
            EventBody::OrderNew {
                client_order_id, ..
            } => {
                *client_order_id = back(*client_order_id);
                self.refuse(&engine);
            }
            EventBody::OrderCancel {
                client_order_id, ..
            }
            | EventBody::OrderAmend {
                client_order_id, ..
            } => {
                self.answer_locally(
                    request,
                    EventBody::ExecReport {
                        exec: ExecKind::CancelRejected,
                        side: tickrail_engine::Side::Buy,
                        liquidity: Liquidity::Unknown,
                        reject_code: GATEWAY_REFUSED,
                        client_order_id: back(*client_order_id),
                        venue_order_id: 0,
                        price: Price::new(1),
                        qty: Qty::ZERO,
                        leaves_qty: Qty::ZERO,
                        cum_qty: Qty::ZERO,
                    },
                );
            }
            _ => {}
        }
    }

    /// Answers an `order_new` the session did not take with a local reject.
    fn refuse(&mut self, request: &Event) {
        let EventBody::OrderNew {
            side,
            client_order_id,
            price,
            qty,
            ..
        } = request.body
        else {
            return;
        };
        self.refused += 1;
        self.answer_locally(
            request,
            EventBody::ExecReport {
                exec: ExecKind::Rejected,
                side,
                liquidity: Liquidity::Unknown,
                reject_code: GATEWAY_REFUSED,
                client_order_id,
                venue_order_id: 0,
                price,
                qty,
                leaves_qty: Qty::ZERO,
                cum_qty: Qty::ZERO,
            },
        );
    }

    /// Queues `body` as an input from the FIX session answering `request`, stamped now: the
    /// gateway's own answer for a request the session did not take.
    fn answer_locally(&mut self, request: &Event, body: EventBody) {
        let now = wall_ns();
        let mut header = request.header;
        header.sequence = 0;
        header.cause_sequence = 0;
        header.exchange_ts_ns = now;
        header.receive_ts_ns = now;
        header.source = FIX_SOURCE;
        self.queue.push_back(Event::new(header, body));
    }
}

impl Market for GatewayMarket {
    type Error = SubmitError;

    fn next_input(&mut self) -> Option<Event> {
        if self.queue.is_empty() {
            self.pump();
        }
        self.queue.pop_front()
    }

    fn next_due_ns(&mut self) -> Option<i64> {
        if !self.closed {
            self.pump();
            if self.queue.is_empty()
                && self
                    .quiet_since
                    .is_some_and(|t| now_ns().saturating_sub(t) >= self.drain_ns)
            {
                self.close();
            }
        }
        match self.queue.front() {
            Some(ev) => Some(ev.header.receive_ts_ns),
            None if self.closed => None,
            None => Some(wall_ns()),
        }
    }

    fn submit(&mut self, _now_ns: i64, request: &Event) -> Result<(), SubmitError> {
        let sent = self.send(request);
        if sent.is_err() {
            self.refuse(request);
        }
        sent
    }
}

impl LiveMarket for GatewayMarket {
    fn now_ns(&self) -> i64 {
        wall_ns()
    }

    /// Stops the FIX gateway and keeps handing over what it took (see the module docs).
    fn request_stop(&mut self) -> bool {
        self.close();
        true
    }

    type Report = GatewayReport;

    fn finish(&self) -> GatewayReport {
        GatewayReport {
            udp: *self.feed.stats(),
            recv_buffer_bytes: self.feed.recv_buffer_bytes(),
            fix: self.fix.stats(),
            wrong_venue: self.wrong_venue,
            feed_ended: self.feed.is_ended(),
            client_id_base: self.client_id_base,
            earlier_run_reports: self.earlier_run_reports,
            order_round_trip: self.round_trip.clone(),
            refused: self.refused,
            unsent_at_close: self.unsent_at_close,
            close_error: self.close_error.clone(),
        }
    }
}

fn sent_slot(id: u64) -> usize {
    (id % SENT_SLOTS as u64) as usize
}

/// What the recovered OMS of a resumed run says of its orders on `venue` (the FIX session's),
/// as the FIX gateway's [`JournaledOrder`]s with this run's ClOrdIDs (`base` + client id):
/// every order the OMS remembers, open or not, under the ClOrdID the venue knows it by (the
/// last applied amend's) with its amend in flight, if any. The orders in `not_sent` (the
/// requests of the crash tail, answered with a journaled reject before anything else) are
/// not open.
pub fn journaled_orders(oms: &Oms, base: u64, venue: u16, not_sent: &[u64]) -> Vec<JournaledOrder> {
    let cl = |id: u64| (id < CLIENT_IDS_PER_RUN).then(|| base + id);
    oms.orders_by_id()
        .filter(|o| o.venue == venue)
        .filter_map(|o| {
            let amend = match o.pending_amend {
                Some((price, qty, id)) => {
                    Some((cl(id)?, Price::new_checked(price).ok()?, Qty::new(qty)))
                }
                None => None,
            };
            // Acknowledged: an ack or a fill in the journal. A cancel may have been sent
            // before the ack; the venue's order id comes with its first report.
            let acked = match o.state {
                OrderState::PendingNew | OrderState::Rejected => false,
                OrderState::New
                | OrderState::PartiallyFilled
                | OrderState::Filled
                | OrderState::PendingReplace => true,
                OrderState::PendingCancel | OrderState::Canceled => {
                    o.venue_order_id != 0 || o.cum_qty > 0
                }
            };
            Some(JournaledOrder {
                cl_ord_id: cl(o.live_client_order_id)?,
                amend,
                instrument: o.instrument,
                side: o.side,
                price: Price::new_checked(o.price).ok()?,
                qty: Qty::new(o.qty),
                cum: Qty::new(o.cum_qty),
                acked,
                open: !o.state.is_terminal() && !not_sent.contains(&o.client_order_id),
                venue_order_id: o.venue_order_id,
            })
        })
        .collect()
}

/// The file in a run directory that holds the run's ClOrdID base (`run --resume` keeps it).
pub const CLIENT_ID_BASE_FILE: &str = "clordid.base";

/// Records `base` as the ClOrdID base of the run in `run_dir`.
pub fn save_run_base(run_dir: &Path, base: u64) -> Result<(), LiveError> {
    let path = run_dir.join(CLIENT_ID_BASE_FILE);
    let err = |e: std::io::Error| LiveError::Market(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(run_dir).map_err(err)?;
    std::fs::write(&path, format!("{base}\n")).map_err(err)
}

/// The ClOrdID base the run in `run_dir` used (`None`: it recorded none).
pub fn run_base(run_dir: &Path) -> Result<Option<u64>, LiveError> {
    let path = run_dir.join(CLIENT_ID_BASE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => t.trim().parse().map(Some).map_err(|_| {
            LiveError::Market(format!(
                "{}: not a ClOrdID base: {:?}",
                path.display(),
                t.trim()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LiveError::Market(format!("{}: {e}", path.display()))),
    }
}

/// The ClOrdID base of a run starting at `wall_ns`: its second, or one more than the second
/// recorded in `path` by the last run if that is not earlier, × [`CLIENT_IDS_PER_RUN`];
/// the second chosen is recorded in `path` (temporary file, then rename).
pub fn next_client_id_base(path: &Path, wall_ns: i64) -> Result<u64, LiveError> {
    let err = |e: std::io::Error| LiveError::Market(format!("{}: {e}", path.display()));
    let last = match std::fs::read_to_string(path) {
        Ok(text) => Some(text.trim().parse::<u64>().map_err(|_| {
            LiveError::Market(format!(
                "{}: not a number of seconds: {:?}",
                path.display(),
                text.trim()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err(e)),
    };
    let now = u64::try_from(wall_ns / 1_000_000_000).unwrap_or(0);
    let second = last.map_or(now, |l| now.max(l + 1));
    let tmp = path.with_extension("base.tmp");
    std::fs::write(&tmp, format!("{second}\n")).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    second
        .checked_mul(CLIENT_IDS_PER_RUN)
        .ok_or_else(|| LiveError::Market(format!("{}: second {second} too large", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_bases_never_repeat_even_within_a_second_or_backwards() {
        let dir = std::env::temp_dir().join(format!("tickrail-base-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in-flight.base");
        let _ = std::fs::remove_file(&path);
        let t = 1_800_000_000_000_000_000i64; // ns
        let a = next_client_id_base(&path, t).unwrap();
        assert_eq!(a, 1_800_000_000 * CLIENT_IDS_PER_RUN);
        let b = next_client_id_base(&path, t + 10).unwrap(); // same second
        let c = next_client_id_base(&path, t - 5_000_000_000).unwrap(); // clock stepped back
        let d = next_client_id_base(&path, t + 60_000_000_000).unwrap(); // a minute later
        assert_eq!(
            [b, c, d].map(|x| x / CLIENT_IDS_PER_RUN),
            [1_800_000_001, 1_800_000_002, 1_800_000_060]
        );
        std::fs::write(&path, "garbage").unwrap();
        assert!(next_client_id_base(&path, t).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
