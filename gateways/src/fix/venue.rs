//! [`FixVenue`]: a FIX 4.4 acceptor in front of the simulated venue's price-time matching
//! engines. Threads, liquidity and the message mapping are described in the
//! [module docs](super).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

use crossbeam::queue::ArrayQueue;
use quickfix::{
    send_to_target, Acceptor, Application, ApplicationCallback, ConnectionHandler,
    FileMessageStoreFactory, FixSocketServerKind, LogFactory, Message, MsgFromAppError,
    QuickFixError, SessionId, SessionSettings,
};
use tickrail_engine::{
    Event, EventBody, EventHeader, ExecKind, InstrumentId, Liquidity, Price, Qty, Side,
};

use super::fields::FieldError;
use super::messages::{self, parse_request, BadRequest, ClientRequest, ExecReportOut, FixError};
use super::mirror::{FeedMirror, MirrorStats};
use super::stats::{CountingLog, RejectCounters, RejectReason};
use super::symbols::{FixId, FixInstrument, Instruments};
use super::thread::{push_or_drop, SessionThread};
use crate::feed::{InstrumentMap, MappedInstrument};
use crate::synthetic::{ConfigError, SyntheticConfig, SyntheticMarket};
use crate::udp::{ReceiverConfig, ReceiverError, ReceiverStats};
use crate::venue::{reject, MatchingEngine, OrderView, PARTICIPANT_ID_BIT};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::wait::{Idle, NotifierError, Wake};
use tickrail_engine::runtime::WaitKind;

/// Where the liquidity on the venue's books comes from.
#[derive(Debug, Clone)]
pub enum VenueLiquidity {
    /// Empty books: FIX clients trade only with each other (tests).
    None,
    /// The synthetic market's participant flow, paced by the wall clock (event time =
    /// `start_ns` + time since the venue started). Its first venue is the one simulated.
    Synthetic(SyntheticConfig),
    /// The orders of a market data feed (ITCH 5.0 in MoldUDP64 over multicast, e.g. a file
    /// sent by `tickrail feed publish`), mirrored onto the books; see [`super::mirror`].
    Feed(ReceiverConfig),
}

/// How a [`FixVenue`] is set up.
#[derive(Debug, Clone)]
pub struct FixVenueConfig {
    /// QuickFIX acceptor settings (one or more FIX 4.4 sessions).
    pub settings_path: PathBuf,
    /// The instruments listed, with their FIX symbols and scales.
    pub instruments: Vec<FixInstrument>,
    /// Liquidity on the books.
    pub liquidity: VenueLiquidity,
    /// Capacity of the callback → venue thread ring.
    pub ring_capacity: usize,
    /// How the venue thread waits when idle (an [`Idle`] of this kind; with `block` the feed or
    /// the synthetic market is polled when a FIX message wakes it, else about every
    /// 200 µs — the park timeout, plus the kernel's timer slack).
    pub wait: WaitKind,
}

/// Why the venue could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum FixVenueError {
    /// QuickFIX refused the settings or failed.
    #[error("quickfix: {0}")]
    QuickFix(#[from] QuickFixError),
    /// The synthetic market config.
    #[error(transparent)]
    Synthetic(#[from] ConfigError),
    /// The market data feed could not be joined.
    #[error(transparent)]
    Feed(#[from] ReceiverError),
    /// No blocking wait strategy could be set up.
    #[error(transparent)]
    Wait(#[from] NotifierError),
    /// The venue thread could not be spawned or died.
    #[error("venue thread: {0}")]
    Thread(String),
}

/// Counters, readable from any thread.
#[derive(Debug, Default)]
struct VenueCounters {
    new_orders: AtomicU64,
    cancels: AtomicU64,
    replaces: AtomicU64,
    status_requests: AtomicU64,
    exec_reports: AtomicU64,
    cancel_rejects: AtomicU64,
    business_rejects: AtomicU64,
    fills: AtomicU64,
    send_failures: AtomicU64,
    logons: AtomicU64,
    rejects: RejectCounters,
    /// The feed mirror's and its receiver's counters (`VenueLiquidity::Feed`), refreshed
    /// by the venue thread after each batch of packets.
    feed: Mutex<Option<(MirrorStats, ReceiverStats)>>,
}

/// A snapshot of the venue's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixVenueStats {
    /// NewOrderSingle received and parsed.
    pub new_orders: u64,
    /// OrderCancelRequest received and parsed.
    pub cancels: u64,
    /// OrderCancelReplaceRequest received and parsed.
    pub replaces: u64,
    /// OrderStatusRequest received and parsed.
    pub status_requests: u64,
    /// ExecutionReports sent.
    pub exec_reports: u64,
    /// OrderCancelRejects sent.
    pub cancel_rejects: u64,
    /// BusinessMessageRejects sent.
    pub business_rejects: u64,
    /// Fills (of FIX clients' orders) reported.
    pub fills: u64,
    /// Messages QuickFIX refused to send.
    pub send_failures: u64,
    /// Client logons.
    pub logons: u64,
    /// Rejected client messages by reason (non-zero only).
    pub rejects: Vec<(RejectReason, u64)>,
    /// With `VenueLiquidity::Feed`: what the mirror did, and the feed's receiver counters.
    pub feed: Option<(MirrorStats, ReceiverStats)>,
}

impl VenueCounters {
    fn snapshot(&self) -> FixVenueStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FixVenueStats {
            new_orders: g(&self.new_orders),
            cancels: g(&self.cancels),
            replaces: g(&self.replaces),
            status_requests: g(&self.status_requests),
            exec_reports: g(&self.exec_reports),
            cancel_rejects: g(&self.cancel_rejects),
            business_rejects: g(&self.business_rejects),
            fills: g(&self.fills),
            send_failures: g(&self.send_failures),
            logons: g(&self.logons),
            rejects: self.rejects.snapshot(),
            feed: self.feed.lock().ok().and_then(|f| *f),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// A client message copied out of a callback.
#[derive(Debug, Clone, Copy)]
struct ClientMsg {
    session: usize,
    request: Result<ClientRequest, BadRequest>,
}

#[derive(Debug)]
struct Callbacks {
    inbound: Arc<ArrayQueue<ClientMsg>>,
    instruments: Arc<Instruments>,
    counters: Arc<VenueCounters>,
    running: Arc<AtomicBool>,
    /// (repr, BeginString, SenderCompID, TargetCompID) per session, from `on_create`.
    sessions: Mutex<Vec<(String, String, String, String)>>,
    /// Wakes the venue thread after a push.
    wake: Wake,
}

impl ApplicationCallback for Callbacks {
    fn on_create(&self, session: &SessionId) {
        if let (Some(b), Some(s), Some(t)) = (
            session.get_begin_string(),
            session.get_sender_comp_id(),
            session.get_target_comp_id(),
        ) {
            if let Ok(mut v) = self.sessions.lock() {
                v.push((session.to_repr(), b, s, t));
            }
        }
    }

    fn on_logon(&self, _session: &SessionId) {
        bump(&self.counters.logons);
    }

    fn on_msg_from_app(&self, msg: &Message, session: &SessionId) -> Result<(), MsgFromAppError> {
        let repr = session.to_repr();
        let index = self
            .sessions
            .lock()
            .ok()
            .and_then(|v| v.iter().position(|s| s.0 == repr));
        let Some(session) = index else {
            return Ok(());
        };
        let item = ClientMsg {
            session,
            request: parse_request(msg, &self.instruments),
        };
        if push_or_drop(&self.inbound, item, &self.running) {
            self.wake.wake();
        } else {
            self.counters.rejects.record(
                RejectReason::RingFull,
                "venue",
                &"request ring full at shutdown",
            );
        }
        Ok(())
    }
}

/// A FIX venue simulator: one thread owns the QuickFIX acceptor and the matching engines.
#[derive(Debug)]
pub struct FixVenue {
    counters: Arc<VenueCounters>,
    thread: SessionThread<FixVenueError>,
}

impl FixVenue {
    /// Starts the venue thread and the acceptor; returns once it accepts connections.
    pub fn start(config: FixVenueConfig) -> Result<Self, FixVenueError> {
        let counters = Arc::new(VenueCounters::default());
        let running = Arc::new(AtomicBool::new(true));
        let thread = {
            let counters = counters.clone();
            SessionThread::spawn(
                "fix-venue",
                running.clone(),
                FixVenueError::Thread,
                move |ready| run(config, counters, running, ready),
            )?
        };
        Ok(Self { counters, thread })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> FixVenueStats {
        self.counters.snapshot()
    }

    /// Stops the acceptor (logging clients out) and joins the thread. (Dropping the venue
    /// does too, logging an error.)
    pub fn stop(mut self) -> Result<(), FixVenueError> {
        self.thread.stop()
    }
}

fn run(
    config: FixVenueConfig,
    counters: Arc<VenueCounters>,
    running: Arc<AtomicBool>,
    ready: mpsc::SyncSender<()>,
) -> Result<(), FixVenueError> {
    let instruments = Arc::new(Instruments::new(config.instruments.iter().cloned()));
    let (mut idle, wake) = Idle::with_wake(config.wait)?;
    let books = match &config.liquidity {
        VenueLiquidity::None => Books::Direct {
            engines: direct_engines(&instruments),
            feed: None,
        },
        VenueLiquidity::Feed(rc) => {
            let map = InstrumentMap::new(
                instruments
                    .iter()
                    .map(|i| MappedInstrument {
                        symbol: i.symbol.clone(),
                        id: i.id,
                        price_scale: i.price_scale,
                        qty_scale: i.qty_scale,
                    })
                    .collect(),
            );
            Books::Direct {
                engines: direct_engines(&instruments),
                feed: Some(Box::new(FeedMirror::open(rc, map)?)),
            }
        }
        VenueLiquidity::Synthetic(cfg) => {
            let market = Box::new(SyntheticMarket::new(cfg.clone())?);
            let venue_id = cfg.venues.first().map_or(0, |v| v.venue_id);
            Books::Synthetic {
                market,
                venue_id,
                start_ns: cfg.start_ns,
                started: clock::monotonic(),
            }
        }
    };
    let settings = SessionSettings::try_from_path(&config.settings_path)?;
    let store = FileMessageStoreFactory::try_new(&settings)?;
    let log = CountingLog {
        rejects: Arc::new(RejectCounters::default()),
        who: "venue",
    };
    let log_counts = log.rejects.clone();
    let log_factory = LogFactory::try_new(&log)?;
    let callbacks = Callbacks {
        inbound: Arc::new(ArrayQueue::new(config.ring_capacity.max(16))),
        instruments: instruments.clone(),
        counters: counters.clone(),
        running: running.clone(),
        sessions: Mutex::new(Vec::new()),
        wake,
    };
    let app = Application::try_new(&callbacks)?;
    let mut acceptor = Acceptor::try_new(
        &settings,
        &app,
        &store,
        &log_factory,
        // The threaded acceptor: stopping the single-threaded one races its own socket
        // thread and crashed in FIX::SocketServer::close() (SIGSEGV in about 1 run of 15 of
        // `tickrail venue --duration 1`, seen under gdb); the threaded one: 0 in 30.
        FixSocketServerKind::MultiThreaded,
    )?;
    let sessions = callbacks
        .sessions
        .lock()
        .map(|v| v.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|(_, b, s, t)| SessionId::try_new(&b, &s, &t, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let mut venue = VenueState {
        instruments: &instruments,
        counters: &counters,
        sessions,
        books,
        meta: BTreeMap::new(),
        by_fix: BTreeMap::new(),
        notional: BTreeMap::new(),
        cancel_of: BTreeMap::new(),
        replaced: BTreeMap::new(),
        finished: BTreeMap::new(),
        next_internal: 1,
        next_exec_id: 1,
        outs: Vec::with_capacity(64),
    };
    acceptor.start()?;
    let _ = ready.send(());
    // The QuickFIX log counts (bad checksum, session rejects) are merged as they come.
    let mut merged: BTreeMap<RejectReason, u64> = BTreeMap::new();
    while running.load(Ordering::Acquire) {
        let mut busy = false;
        while let Some(msg) = callbacks.inbound.pop() {
            busy = true;
            venue.on_client(msg);
        }
        busy |= venue.advance();
        for (reason, n) in log_counts.snapshot() {
            let seen = merged.entry(reason).or_insert(0);
            for _ in *seen..n {
                counters
                    .rejects
                    .record(reason, "venue", &"counted by the QuickFIX log");
            }
            *seen = n;
        }
        if !busy {
            idle.idle_unless(|| !callbacks.inbound.is_empty());
        }
    }
    acceptor.stop()?;
    Ok(())
}

/// One matching engine per instrument, feed orders forgotten once finished.
fn direct_engines(instruments: &Instruments) -> BTreeMap<InstrumentId, MatchingEngine> {
    instruments
        .iter()
        .map(|i| {
            let mut engine = MatchingEngine::new();
            engine.set_transient_ids(PARTICIPANT_ID_BIT);
            (i.id, engine)
        })
        .collect()
}

/// The venue's books: plain engines (empty, or fed by a market data feed), or the
/// synthetic market's venue.
#[derive(Debug)]
enum Books {
    Direct {
        engines: BTreeMap<InstrumentId, MatchingEngine>,
        feed: Option<Box<FeedMirror>>,
    },
    Synthetic {
        market: Box<SyntheticMarket>,
        venue_id: u16,
        start_ns: i64,
        started: Instant,
    },
}

/// What the venue knows about one of its FIX clients' requests (internal id).
#[derive(Debug, Clone, Copy)]
struct Meta {
    session: usize,
    cl: FixId,
    orig: Option<FixId>,
    /// Internal id of the targeted order, for cancels and amends.
    orig_internal: u64,
    replace: bool,
}

struct VenueState<'a> {
    instruments: &'a Instruments,
    counters: &'a VenueCounters,
    sessions: Vec<SessionId>,
    books: Books,
    meta: BTreeMap<u64, Meta>,
    by_fix: BTreeMap<(usize, FixId), u64>,
    /// Σ price·qty of each order's fills, by current internal id.
    notional: BTreeMap<u64, i128>,
    /// Internal order id → internal id of the cancel request working on it.
    cancel_of: BTreeMap<u64, u64>,
    /// Internal order id → the amend that replaced it.
    replaced: BTreeMap<u64, u64>,
    /// Internal order id → its final OrdStatus (2 filled, 4 canceled, 8 rejected).
    finished: BTreeMap<u64, u8>,
    next_internal: u64,
    next_exec_id: u64,
    outs: Vec<(InstrumentId, EventBody)>,
}

/// FIX OrdRejReason (103) for a venue reject code.
const fn ord_rej_reason(code: u16) -> u16 {
    match code {
        reject::UNKNOWN_ORDER => 5,
        reject::DUPLICATE_CLIENT_ID => 6,
        reject::INVALID_QTY => 13,
        reject::UNKNOWN_INSTRUMENT => 1,
        _ => 99,
    }
}

/// FIX CxlRejReason (102) for a venue reject code.
const fn cxl_rej_reason(code: u16) -> u16 {
    match code {
        reject::UNKNOWN_ORDER => 1,
        reject::ORDER_NOT_LIVE => 0,
        reject::DUPLICATE_CLIENT_ID => 6,
        _ => 99,
    }
}

fn reject_text(code: u16) -> &'static str {
    match code {
        reject::UNKNOWN_ORDER => "unknown order",
        reject::DUPLICATE_CLIENT_ID => "duplicate ClOrdID",
        reject::INVALID_QTY => "invalid quantity",
        reject::INVALID_PRICE => "invalid price",
        reject::WOULD_CROSS => "post-only order would cross",
        reject::FOK_UNFILLABLE => "fill-or-kill order cannot fill",
        reject::ORDER_NOT_LIVE => "order not live",
        reject::UNKNOWN_INSTRUMENT => "unknown instrument",
        _ => "rejected",
    }
}

impl VenueState<'_> {
    fn now_ns(&self) -> i64 {
        match &self.books {
            Books::Direct { .. } => clock::wall_ns(),
            Books::Synthetic {
                start_ns, started, ..
            } => start_ns
                .saturating_add(i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    fn send(&self, session: usize, msg: Result<Message, QuickFixError>, counter: &AtomicU64) {
        let Some(id) = self.sessions.get(session) else {
            return;
        };
        match msg.and_then(|m| send_to_target(m, id)) {
            Ok(()) => bump(counter),
            Err(e) => {
                bump(&self.counters.send_failures);
                tracing::debug!("FIX venue: send failed: {e}");
            }
        }
    }

    fn exec_id(&mut self) -> u64 {
        self.next_exec_id += 1;
        self.next_exec_id - 1
    }

    /// The matching engine of `instrument`, whichever books the venue runs.
    fn engine(&self, instrument: InstrumentId) -> Option<&MatchingEngine> {
        match &self.books {
            Books::Direct { engines, .. } => engines.get(&instrument),
            Books::Synthetic {
                market, venue_id, ..
            } => market.venue(*venue_id)?.engine(instrument),
        }
    }

    fn order_view(&self, instrument: InstrumentId, internal: u64) -> Option<OrderView> {
        self.engine(instrument)?.order(internal)
    }

    /// Pulls the synthetic market forward to now, or plays what the feed sent onto the
    /// books; our reports go out as FIX.
    fn advance(&mut self) -> bool {
        let now = self.now_ns();
        if let Books::Direct {
            engines,
            feed: Some(feed),
        } = &mut self.books
        {
            let outs = &mut self.outs;
            let any = feed.poll(engines, &mut |i, b| outs.push((i, b)));
            if any {
                if let Ok(mut f) = self.counters.feed.lock() {
                    *f = Some((feed.stats(), feed.feed_stats()));
                }
            }
            self.flush();
            return any;
        }
        let Books::Synthetic { market, .. } = &mut self.books else {
            return false;
        };
        let mut any = false;
        while market.next_due_ns().is_some_and(|due| due <= now) {
            let Some(event) = market.next_event() else {
                break;
            };
            if let EventBody::ExecReport { .. } = event.body {
                self.outs.push((event.header.instrument, event.body));
                any = true;
            }
        }
        self.flush();
        any
    }

    fn submit(&mut self, instrument: InstrumentId, body: EventBody) {
        let now = self.now_ns();
        match &mut self.books {
            Books::Direct { engines, .. } => {
                if let Some(engine) = engines.get_mut(&instrument) {
                    let outs = &mut self.outs;
                    engine.handle(&body, &mut |b| outs.push((instrument, b)));
                }
            }
            Books::Synthetic {
                market, venue_id, ..
            } => {
                let body = match body {
                    EventBody::OrderNew {
                        side,
                        tif,
                        client_order_id,
                        price,
                        qty,
                        ..
                    } => EventBody::OrderNew {
                        side,
                        tif,
                        venue: *venue_id,
                        client_order_id,
                        price,
                        qty,
                    },
                    other => other,
                };
                let (ps, qs) = self
                    .instruments
                    .by_id(instrument)
                    .map_or((0, 0), |i| (i.price_scale.get(), i.qty_scale.get()));
                let event = Event::new(
                    EventHeader {
                        sequence: 0,
                        cause_sequence: 0,
                        exchange_ts_ns: now,
                        receive_ts_ns: now,
                        instrument,
                        price_scale: ps,
                        qty_scale: qs,
                        source: *venue_id,
                    },
                    body,
                );
                let at = now.max(market.now_ns());
                if let Err(e) = market.submit(at, &event) {
                    tracing::warn!("FIX venue: synthetic market refused a request: {e}");
                }
            }
        }
        self.flush();
    }

    fn new_internal(&mut self, meta: Meta) -> u64 {
        let id = self.next_internal;
        self.next_internal += 1;
        self.meta.insert(id, meta);
        id
    }

    fn on_client(&mut self, msg: ClientMsg) {
        let s = msg.session;
        let request = match msg.request {
            Ok(r) => r,
            Err(bad) => return self.on_bad(s, &bad),
        };
        match request {
            ClientRequest::New {
                cl,
                instrument,
                side,
                tif,
                price,
                qty,
            } => self.on_new(s, cl, instrument, side, tif, price, qty),
            ClientRequest::Cancel {
                cl,
                orig,
                instrument,
                ..
            } => self.on_cancel(s, cl, orig, instrument),
            ClientRequest::Replace {
                cl,
                orig,
                instrument,
                price,
                qty,
                ..
            } => self.on_replace(s, cl, orig, instrument, price, qty),
            ClientRequest::Status {
                cl,
                instrument,
                side,
            } => self.on_status(s, cl, instrument, side),
        }
    }

    /// A NewOrderSingle: refused for a ClOrdID the session used before, else sent to the
    /// instrument's engine.
    #[allow(clippy::too_many_arguments, reason = "the fields of a NewOrderSingle")]
    fn on_new(
        &mut self,
        s: usize,
        cl: FixId,
        instrument: InstrumentId,
        side: Side,
        tif: tickrail_engine::TimeInForce,
        price: Price,
        qty: Qty,
    ) {
        bump(&self.counters.new_orders);
        if self.by_fix.contains_key(&(s, cl)) {
            self.counters.rejects.record(
                RejectReason::DuplicateClOrdId,
                "venue",
                &format_args!("ClOrdID {cl} reused"),
            );
            return self.reject_new(s, cl, instrument, side, price, qty, 6, "duplicate ClOrdID");
        }
        let id = self.new_internal(Meta {
            session: s,
            cl,
            orig: None,
            orig_internal: 0,
            replace: false,
        });
        self.by_fix.insert((s, cl), id);
        let body = EventBody::OrderNew {
            side,
            tif,
            venue: 0,
            client_order_id: id,
            price,
            qty,
        };
        self.submit(instrument, body);
    }

    /// An OrderCancelRequest: sent to the engine as a cancel of the order `orig` names.
    fn on_cancel(&mut self, s: usize, cl: FixId, orig: FixId, instrument: InstrumentId) {
        bump(&self.counters.cancels);
        let Some(orig_internal) = self.cancel_replace_target(s, cl, orig, instrument, false) else {
            return;
        };
        let id = self.new_internal(Meta {
            session: s,
            cl,
            orig: Some(orig),
            orig_internal,
            replace: false,
        });
        self.cancel_of.insert(orig_internal, id);
        let body = EventBody::OrderCancel {
            client_order_id: id,
            orig_client_order_id: orig_internal,
        };
        self.submit(instrument, body);
    }

    /// An OrderCancelReplaceRequest: sent to the engine as an amend of the order `orig`
    /// names; `cl` names the amended order from then on.
    fn on_replace(
        &mut self,
        s: usize,
        cl: FixId,
        orig: FixId,
        instrument: InstrumentId,
        price: Price,
        qty: Qty,
    ) {
        bump(&self.counters.replaces);
        let Some(orig_internal) = self.cancel_replace_target(s, cl, orig, instrument, true) else {
            return;
        };
        let id = self.new_internal(Meta {
            session: s,
            cl,
            orig: Some(orig),
            orig_internal,
            replace: true,
        });
        self.by_fix.insert((s, cl), id);
        let body = EventBody::OrderAmend {
            client_order_id: id,
            orig_client_order_id: orig_internal,
            price,
            qty,
        };
        self.submit(instrument, body);
    }

    /// The internal id of the order a cancel or replace `cl` names by `orig`; `None` after
    /// answering an OrderCancelReject (an unknown `orig`, or `cl` used before).
    fn cancel_replace_target(
        &mut self,
        s: usize,
        cl: FixId,
        orig: FixId,
        instrument: InstrumentId,
        replace: bool,
    ) -> Option<u64> {
        let target = self.by_fix.get(&(s, orig)).copied();
        if let Some(orig_internal) = target.filter(|_| !self.by_fix.contains_key(&(s, cl))) {
            return Some(orig_internal);
        }
        let (reason, code) = if target.is_none() {
            (RejectReason::UnknownClOrdId, 1)
        } else {
            (RejectReason::DuplicateClOrdId, 6)
        };
        self.counters.rejects.record(
            reason,
            "venue",
            &format_args!("cancel/replace {cl} of order {orig}"),
        );
        let status = target
            .and_then(|t| self.order_view(instrument, t))
            .map_or(b'8', |_| self.ord_status(target.unwrap_or(0), 0));
        bump(&self.counters.cancel_rejects);
        let now = clock::utc_now();
        self.send(
            s,
            messages::order_cancel_reject(
                0,
                cl,
                orig,
                status,
                replace,
                code,
                if code == 1 {
                    "unknown order"
                } else {
                    "duplicate ClOrdID"
                },
                &now,
            ),
            &AtomicU64::new(0),
        );
        None
    }

    /// An OrderStatusRequest: an ExecutionReport (ExecType I) of the order `cl` names, or of
    /// an unknown order (OrdStatus rejected).
    fn on_status(&mut self, s: usize, cl: FixId, instrument: InstrumentId, side: Side) {
        bump(&self.counters.status_requests);
        let internal = self.by_fix.get(&(s, cl)).copied();
        let view = internal.and_then(|i| self.order_view(instrument, i));
        let symbol = self
            .instruments
            .by_id(instrument)
            .map_or("", |i| i.symbol.as_str())
            .to_owned();
        let exec_id = self.exec_id();
        let inst = self.instruments.by_id(instrument);
        let (ps, qs) = inst.map_or((Default::default(), Default::default()), |i| {
            (i.price_scale, i.qty_scale)
        });
        let now = clock::utc_now();
        let out = match (internal, view) {
            (Some(i), Some(v)) => ExecReportOut {
                order_id: v.venue_order_id,
                cl,
                orig: None,
                exec_id,
                exec_type: b'I',
                ord_status: self.ord_status(i, v.cum_qty.raw()),
                symbol: &symbol,
                side: v.side,
                order_qty: v.qty,
                price: v.price,
                last: None,
                leaves_qty: if self.is_live(instrument, i) {
                    v.leaves_qty()
                } else {
                    Qty::ZERO
                },
                cum_qty: v.cum_qty,
                notional_raw: self.notional.get(&i).copied().unwrap_or(0),
                liquidity: Liquidity::Unknown,
                rej_reason: None,
                text: None,
                price_scale: ps,
                qty_scale: qs,
            },
            _ => {
                self.counters.rejects.record(
                    RejectReason::UnknownClOrdId,
                    "venue",
                    &format_args!("status of unknown order {cl}"),
                );
                ExecReportOut {
                    order_id: 0,
                    cl,
                    orig: None,
                    exec_id,
                    exec_type: b'I',
                    ord_status: b'8',
                    symbol: &symbol,
                    side,
                    order_qty: Qty::ZERO,
                    price: Price::new(1),
                    last: None,
                    leaves_qty: Qty::ZERO,
                    cum_qty: Qty::ZERO,
                    notional_raw: 0,
                    liquidity: Liquidity::Unknown,
                    rej_reason: Some(5),
                    text: Some("unknown order"),
                    price_scale: ps,
                    qty_scale: qs,
                }
            }
        };
        self.send(
            s,
            messages::execution_report(&out, &now),
            &self.counters.exec_reports,
        );
    }

    fn is_live(&self, instrument: InstrumentId, internal: u64) -> bool {
        self.engine(instrument).is_some_and(|e| e.is_live(internal))
    }

    #[allow(clippy::too_many_arguments, reason = "the fields of a reject report")]
    fn reject_new(
        &mut self,
        s: usize,
        cl: FixId,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: Qty,
        reason: u16,
        text: &str,
    ) {
        let Some(inst) = self.instruments.by_id(instrument) else {
            return;
        };
        let symbol = inst.symbol.clone();
        let (ps, qs) = (inst.price_scale, inst.qty_scale);
        let exec_id = self.exec_id();
        let out = ExecReportOut {
            order_id: 0,
            cl,
            orig: None,
            exec_id,
            exec_type: b'8',
            ord_status: b'8',
            symbol: &symbol,
            side,
            order_qty: qty,
            price,
            last: None,
            leaves_qty: Qty::ZERO,
            cum_qty: Qty::ZERO,
            notional_raw: 0,
            liquidity: Liquidity::Unknown,
            rej_reason: Some(reason),
            text: Some(text),
            price_scale: ps,
            qty_scale: qs,
        };
        let now = clock::utc_now();
        self.send(
            s,
            messages::execution_report(&out, &now),
            &self.counters.exec_reports,
        );
    }

    /// A malformed client message: counted, answered with a reject of the right kind.
    fn on_bad(&mut self, s: usize, bad: &BadRequest) {
        let reason = RejectReason::from(bad.error);
        self.counters.rejects.record(reason, "venue", &bad.error);
        let text = bad.error.to_string();
        let now = clock::utc_now();
        match (bad.msg_type, bad.cl) {
            (b'D' | b'H', Some(cl)) => {
                let symbol = bad.symbol.map(|s| s.to_string()).unwrap_or_default();
                let rej = match bad.error {
                    FixError::UnknownSymbol => 1,
                    FixError::Field(
                        FieldError::NotPositive { tag: 38 }
                        | FieldError::TooManyDecimals { tag: 38, .. }
                        | FieldError::Overflow { tag: 38, .. }
                        | FieldError::NotANumber { tag: 38 },
                    ) => 13,
                    _ => 99,
                };
                let exec_id = self.exec_id();
                let out = ExecReportOut {
                    order_id: 0,
                    cl,
                    orig: None,
                    exec_id,
                    exec_type: if bad.msg_type == b'H' { b'I' } else { b'8' },
                    ord_status: b'8',
                    symbol: &symbol,
                    side: bad.side.unwrap_or(Side::Buy),
                    order_qty: Qty::ZERO,
                    price: Price::new(1),
                    last: None,
                    leaves_qty: Qty::ZERO,
                    cum_qty: Qty::ZERO,
                    notional_raw: 0,
                    liquidity: Liquidity::Unknown,
                    rej_reason: Some(rej),
                    text: Some(&text),
                    price_scale: Default::default(),
                    qty_scale: Default::default(),
                };
                self.send(
                    s,
                    messages::execution_report(&out, &now),
                    &self.counters.exec_reports,
                );
            }
            (b'F' | b'G', Some(cl)) => {
                let orig = bad.orig.unwrap_or(cl);
                self.send(
                    s,
                    messages::order_cancel_reject(
                        0,
                        cl,
                        orig,
                        b'8',
                        bad.msg_type == b'G',
                        99,
                        &text,
                        &now,
                    ),
                    &self.counters.cancel_rejects,
                );
            }
            (t, _) => {
                let code = match bad.error {
                    FixError::Field(FieldError::Missing { .. }) => 5,
                    FixError::UnsupportedMsgType(_) => 3,
                    _ => 0,
                };
                self.send(
                    s,
                    messages::business_reject(bad.seq_num, t, code, &text),
                    &self.counters.business_rejects,
                );
            }
        }
    }

    /// Sends what the engines emitted for FIX clients' orders.
    fn flush(&mut self) {
        let outs = std::mem::take(&mut self.outs);
        for &(instrument, body) in &outs {
            self.on_engine_report(instrument, &body);
        }
        self.outs = outs;
        self.outs.clear();
    }

    fn on_engine_report(&mut self, instrument: InstrumentId, body: &EventBody) {
        let EventBody::ExecReport {
            exec,
            side,
            liquidity,
            reject_code,
            client_order_id,
            venue_order_id,
            price,
            qty,
            leaves_qty,
            cum_qty,
        } = *body
        else {
            return;
        };
        let Some(meta) = self.meta.get(&client_order_id).copied() else {
            return; // a participant's order
        };
        let Some(inst) = self.instruments.by_id(instrument) else {
            return;
        };
        let symbol = inst.symbol.clone();
        let (ps, qs) = (inst.price_scale, inst.qty_scale);
        let now = clock::utc_now();
        let mut cl = meta.cl;
        let mut orig = meta.orig;
        let (exec_type, mut last) = match exec {
            ExecKind::Ack => (b'0', None),
            ExecKind::PartialFill | ExecKind::Fill => {
                let n = self.notional.entry(client_order_id).or_insert(0);
                *n += i128::from(price.raw()) * i128::from(qty.raw());
                bump(&self.counters.fills);
                (b'F', Some((qty, price)))
            }
            ExecKind::Canceled => {
                if let Some(cancel) = self.cancel_of.remove(&client_order_id) {
                    if let Some(c) = self.meta.get(&cancel) {
                        cl = c.cl;
                        orig = Some(meta.cl);
                    }
                }
                (b'4', None)
            }
            ExecKind::Replaced => {
                let carried = self.notional.remove(&meta.orig_internal).unwrap_or(0);
                self.notional.insert(client_order_id, carried);
                self.replaced.insert(meta.orig_internal, client_order_id);
                (b'5', None)
            }
            ExecKind::Rejected => (b'8', None),
            ExecKind::CancelRejected => {
                let view = self.order_view(instrument, meta.orig_internal);
                let status = view.map_or(b'8', |v| {
                    self.ord_status(meta.orig_internal, v.cum_qty.raw())
                });
                bump(&self.counters.cancel_rejects);
                self.cancel_of.remove(&meta.orig_internal);
                let msg = messages::order_cancel_reject(
                    venue_order_id,
                    meta.cl,
                    meta.orig.unwrap_or(meta.cl),
                    status,
                    meta.replace,
                    cxl_rej_reason(reject_code),
                    reject_text(reject_code),
                    &now,
                );
                return self.send(meta.session, msg, &AtomicU64::new(0));
            }
        };
        match exec {
            ExecKind::Fill => {
                self.finished.insert(client_order_id, b'2');
            }
            ExecKind::Canceled => {
                self.finished.insert(client_order_id, b'4');
            }
            ExecKind::Rejected => {
                self.finished.insert(client_order_id, b'8');
            }
            _ => {}
        }
        let ord_status = match exec {
            ExecKind::Fill => b'2',
            ExecKind::Canceled => b'4',
            ExecKind::Rejected => b'8',
            _ if cum_qty.is_zero() => b'0',
            _ => b'1',
        };
        let order_qty = match exec {
            ExecKind::PartialFill | ExecKind::Fill => Qty::new(leaves_qty.raw() + cum_qty.raw()),
            ExecKind::Canceled => Qty::new(qty.raw().max(cum_qty.raw())),
            _ => qty,
        };
        if exec != ExecKind::PartialFill && exec != ExecKind::Fill {
            last = None;
        }
        let exec_id = self.exec_id();
        let out = ExecReportOut {
            order_id: venue_order_id,
            cl,
            orig: if exec == ExecKind::Canceled || exec == ExecKind::Replaced {
                orig
            } else {
                None
            },
            exec_id,
            exec_type,
            ord_status,
            symbol: &symbol,
            side,
            order_qty,
            price,
            last,
            leaves_qty,
            cum_qty,
            notional_raw: self.notional.get(&client_order_id).copied().unwrap_or(0),
            liquidity,
            rej_reason: (exec == ExecKind::Rejected).then(|| ord_rej_reason(reject_code)),
            text: (exec == ExecKind::Rejected).then(|| reject_text(reject_code)),
            price_scale: ps,
            qty_scale: qs,
        };
        self.send(
            meta.session,
            messages::execution_report(&out, &now),
            &self.counters.exec_reports,
        );
    }
}

impl VenueState<'_> {
    /// OrdStatus (39) of an order the venue knows, with `cum_raw` filled.
    fn ord_status(&self, internal: u64, cum_raw: i64) -> u8 {
        if self.replaced.contains_key(&internal) {
            b'5'
        } else if let Some(&s) = self.finished.get(&internal) {
            s
        } else if cum_raw == 0 {
            b'0'
        } else {
            b'1'
        }
    }
}
