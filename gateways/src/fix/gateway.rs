//! [`FixOrderGateway`]: tickrail order requests out as FIX 4.4, execution reports back in.
//! Threads, rings and reconciliation are described in the [module docs](super).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam::queue::ArrayQueue;
use quickfix::{
    send_to_target, Application, ApplicationCallback, ConnectionHandler, FileMessageStoreFactory,
    FixSocketServerKind, Initiator, LogFactory, Message, MsgFromAdminError, MsgFromAppError,
    MsgToAppError, QuickFixError, SessionId, SessionSettings,
};
use tickrail_engine::runtime::wait::NotifierError;
use tickrail_engine::runtime::WaitKind;
use tickrail_engine::{Event, EventBody, EventHeader, ExecKind, Liquidity, Qty, Side, TimeInForce};

use super::clock;
use super::fields::parse_u64;
use super::idle::{Idle, Wake};
use super::messages::{
    self, parse_report, tag, FieldSource, FixError, FixReport, OrderTerms, ReportKind,
};
use super::state::{RequestKind, StateError, StateLog, Tracked};
use super::stats::{CountingLog, RejectCounters, RejectReason};
use super::symbols::{FixInstrument, Instruments};
use super::thread::{push_or_drop, SessionThread};
use crate::venue::reject;

/// How a [`FixOrderGateway`] is set up.
#[derive(Debug, Clone)]
pub struct FixGatewayConfig {
    /// QuickFIX initiator settings (one FIX 4.4 session; `FileStorePath` for the store).
    pub settings_path: PathBuf,
    /// The in-flight order file (see [`super::state`]); keep it beside the FIX store.
    pub state_path: PathBuf,
    /// The instruments, with their FIX symbols and scales.
    pub instruments: Vec<FixInstrument>,
    /// Capacity of each ring (requests in, reports out, callbacks to the gateway thread).
    pub ring_capacity: usize,
    /// How long to wait for the answers to the OrderStatusRequests sent at logon before
    /// releasing held orders anyway (each expiry is counted).
    pub reconcile_timeout: Duration,
    /// `source` stamped on the execution report events.
    pub source: u16,
    /// How the gateway thread waits when idle (see [`super::idle`]).
    pub wait: WaitKind,
}

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// QuickFIX refused the settings or failed.
    #[error("quickfix: {0}")]
    QuickFix(#[from] QuickFixError),
    /// The state file.
    #[error(transparent)]
    State(#[from] StateError),
    /// The settings define no session.
    #[error("the FIX settings define no session")]
    NoSession,
    /// The gateway thread could not be spawned or died.
    #[error("gateway thread: {0}")]
    Thread(String),
    /// No blocking wait strategy could be set up.
    #[error(transparent)]
    Wait(#[from] NotifierError),
}

/// A full ring: the request was not taken; retry later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the gateway's request ring is full")]
pub struct Full;

/// Counters, readable from any thread (see [`FixOrderGateway::stats`]).
#[derive(Debug, Default)]
pub struct GatewayCounters {
    sent_new: AtomicU64,
    sent_cancel: AtomicU64,
    sent_replace: AtomicU64,
    sent_status: AtomicU64,
    reports: AtomicU64,
    duplicates: AtomicU64,
    ignored: AtomicU64,
    reconciled: AtomicU64,
    reconcile_timeouts: AtomicU64,
    reconcile_fill_gaps: AtomicU64,
    resends_suppressed: AtomicU64,
    send_failures: AtomicU64,
    logons: AtomicU64,
    logouts: AtomicU64,
    logon_seq_in: AtomicU64,
    logged_on: AtomicBool,
    reconciling: AtomicBool,
    in_flight: AtomicU64,
    /// Rejects by reason.
    pub rejects: RejectCounters,
}

/// A snapshot of [`GatewayCounters`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// NewOrderSingle sent.
    pub sent_new: u64,
    /// OrderCancelRequest sent.
    pub sent_cancel: u64,
    /// OrderCancelReplaceRequest sent.
    pub sent_replace: u64,
    /// OrderStatusRequest sent (reconciliation).
    pub sent_status: u64,
    /// Execution report events handed out.
    pub reports: u64,
    /// Duplicate or late reports dropped (a fill whose CumQty does not increase, a repeated
    /// ack, a resent report for a finished order).
    pub duplicates: u64,
    /// Pending/informational reports ignored (150=6, A, E, …).
    pub ignored: u64,
    /// Orders reconciled after a logon: their OrderStatusRequest answered, or the order
    /// settled by a (resent) report while its request was out.
    pub reconciled: u64,
    /// Reconciliations released by the timeout.
    pub reconcile_timeouts: u64,
    /// Status answers showing more filled than the fills seen (the difference is reported).
    pub reconcile_fill_gaps: u64,
    /// Resends of our application messages replaced by a gap fill (never resend an order).
    pub resends_suppressed: u64,
    /// Messages QuickFIX refused to send.
    pub send_failures: u64,
    /// Logons.
    pub logons: u64,
    /// Logouts.
    pub logouts: u64,
    /// MsgSeqNum (34) of the last Logon received: above 1 after a reconnect without reset.
    pub logon_seq_in: u64,
    /// Rejects by reason (non-zero only).
    pub rejects: Vec<(RejectReason, u64)>,
    /// Orders (and amends, cancels) in flight.
    pub in_flight: u64,
}

impl GatewayCounters {
    fn snapshot(&self) -> GatewayStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GatewayStats {
            sent_new: g(&self.sent_new),
            sent_cancel: g(&self.sent_cancel),
            sent_replace: g(&self.sent_replace),
            sent_status: g(&self.sent_status),
            reports: g(&self.reports),
            duplicates: g(&self.duplicates),
            ignored: g(&self.ignored),
            reconciled: g(&self.reconciled),
            reconcile_timeouts: g(&self.reconcile_timeouts),
            reconcile_fill_gaps: g(&self.reconcile_fill_gaps),
            resends_suppressed: g(&self.resends_suppressed),
            send_failures: g(&self.send_failures),
            logons: g(&self.logons),
            logouts: g(&self.logouts),
            logon_seq_in: g(&self.logon_seq_in),
            rejects: self.rejects.snapshot(),
            in_flight: g(&self.in_flight),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// What the callbacks hand the gateway thread: plain copies, never a QuickFIX object.
#[derive(Debug, Clone, Copy)]
enum Inbound {
    Logon,
    Logout,
    Report(FixReport),
}

/// The QuickFIX callbacks: copy fields out, push to the ring, return.
#[derive(Debug)]
struct Callbacks {
    inbound: Arc<ArrayQueue<Inbound>>,
    counters: Arc<GatewayCounters>,
    instruments: Arc<Instruments>,
    running: Arc<AtomicBool>,
    /// (BeginString, SenderCompID, TargetCompID) of the session, set by `on_create`.
    session: Mutex<Option<(String, String, String)>>,
    /// Wakes the gateway thread after a push.
    wake: Wake,
}

impl Callbacks {
    fn push(&self, item: Inbound) {
        // Back-pressure on the QuickFIX thread rather than losing a report, while the
        // gateway thread is alive to drain the ring.
        if push_or_drop(&self.inbound, item, &self.running) {
            self.wake.wake();
        } else {
            self.counters.rejects.record(
                RejectReason::RingFull,
                "gateway",
                &"inbound ring full at shutdown",
            );
        }
    }
}

impl ApplicationCallback for Callbacks {
    fn on_create(&self, session: &SessionId) {
        if let (Some(b), Some(s), Some(t)) = (
            session.get_begin_string(),
            session.get_sender_comp_id(),
            session.get_target_comp_id(),
        ) {
            if let Ok(mut slot) = self.session.lock() {
                *slot = Some((b, s, t));
            }
        }
    }

    fn on_logon(&self, _session: &SessionId) {
        self.counters.logged_on.store(true, Ordering::Release);
        bump(&self.counters.logons);
        self.push(Inbound::Logon);
    }

    fn on_logout(&self, _session: &SessionId) {
        if self.counters.logged_on.swap(false, Ordering::AcqRel) {
            bump(&self.counters.logouts);
        }
        self.push(Inbound::Logout);
    }

    fn on_msg_to_app(&self, msg: &mut Message, _session: &SessionId) -> Result<(), MsgToAppError> {
        // A resend of one of our orders would send it twice: gap-fill it instead; in-flight
        // orders are reconciled by OrderStatusRequest.
        if msg.header(tag::POSS_DUP_FLAG).as_deref() == Some("Y") {
            bump(&self.counters.resends_suppressed);
            return Err(MsgToAppError::DoNotSend);
        }
        Ok(())
    }

    fn on_msg_from_admin(
        &self,
        msg: &Message,
        _session: &SessionId,
    ) -> Result<(), MsgFromAdminError> {
        if msg.header(tag::MSG_TYPE).as_deref() == Some("A") {
            if let Some(seq) = msg
                .header(tag::MSG_SEQ_NUM)
                .and_then(|s| parse_u64(tag::MSG_SEQ_NUM, &s).ok())
            {
                self.counters.logon_seq_in.store(seq, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn on_msg_from_app(&self, msg: &Message, _session: &SessionId) -> Result<(), MsgFromAppError> {
        match parse_report(msg, &self.instruments) {
            Ok(report) => self.push(Inbound::Report(report)),
            Err(FixError::UnsupportedMsgType(_)) => {
                self.counters.rejects.record(
                    RejectReason::UnsupportedMsgType,
                    "gateway",
                    &format_args!("35={:?}", msg.header(tag::MSG_TYPE)),
                );
            }
            Err(e) => self.counters.rejects.record(e.into(), "gateway", &e),
        }
        Ok(())
    }
}

/// The FIX order gateway: one thread owning a QuickFIX initiator. See the module docs.
#[derive(Debug)]
pub struct FixOrderGateway {
    requests: Arc<ArrayQueue<Event>>,
    reports: Arc<ArrayQueue<Event>>,
    counters: Arc<GatewayCounters>,
    thread: SessionThread<GatewayError>,
    wake: Wake,
}

impl FixOrderGateway {
    /// Starts the gateway thread: reads the settings and the in-flight file, creates the
    /// file store and the initiator and starts connecting. Returns once the initiator is
    /// started (or with the error that stopped it).
    pub fn start(config: FixGatewayConfig) -> Result<Self, GatewayError> {
        let cap = config.ring_capacity.max(1);
        let requests = Arc::new(ArrayQueue::new(cap));
        let reports = Arc::new(ArrayQueue::new(cap));
        let counters = Arc::new(GatewayCounters::default());
        let running = Arc::new(AtomicBool::new(true));
        let (idle, wake) = Idle::new(config.wait)?;
        let thread = {
            let (requests, reports, counters, running) = (
                requests.clone(),
                reports.clone(),
                counters.clone(),
                running.clone(),
            );
            SessionThread::spawn(
                "fix-gateway",
                running.clone(),
                GatewayError::Thread,
                move |ready| {
                    run(
                        config,
                        requests,
                        reports,
                        counters,
                        running,
                        ready,
                        (idle, wake),
                    )
                },
            )?
        };
        Ok(Self {
            requests,
            reports,
            counters,
            thread,
            wake,
        })
    }

    /// Hands an order request (`order_new`, `order_cancel`, `order_amend`) to the gateway
    /// thread. [`Full`] if the ring is full (nothing taken). Orders wait in the ring while
    /// the session is down or reconciling.
    pub fn submit(&self, request: &Event) -> Result<(), Full> {
        self.requests.push(*request).map_err(|_| Full)?;
        self.wake.wake();
        Ok(())
    }

    /// The next execution report event, if any (header `sequence` 0: the Sequencer stamps).
    pub fn poll_report(&self) -> Option<Event> {
        self.reports.pop()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> GatewayStats {
        self.counters.snapshot()
    }

    /// Whether the FIX session is logged on.
    pub fn is_logged_on(&self) -> bool {
        self.counters.logged_on.load(Ordering::Acquire)
    }

    /// Whether in-flight orders are being reconciled (new orders held).
    pub fn is_reconciling(&self) -> bool {
        self.counters.reconciling.load(Ordering::Acquire)
    }

    /// Stops the initiator (logout) and joins the thread. (Dropping the gateway does too,
    /// logging an error.)
    pub fn stop(mut self) -> Result<(), GatewayError> {
        self.close()
    }

    /// [`stop`](Self::stop) in place: afterwards nothing is sent, and
    /// [`poll_report`](Self::poll_report) still hands out every report the thread took
    /// before it stopped. A second call does nothing.
    pub fn close(&mut self) -> Result<(), GatewayError> {
        self.thread.stop()
    }
}

fn run(
    config: FixGatewayConfig,
    requests: Arc<ArrayQueue<Event>>,
    reports: Arc<ArrayQueue<Event>>,
    counters: Arc<GatewayCounters>,
    running: Arc<AtomicBool>,
    ready: mpsc::SyncSender<()>,
    (idle, wake): (Idle, Wake),
) -> Result<(), GatewayError> {
    let instruments = Arc::new(Instruments::new(config.instruments.iter().cloned()));
    let (state_log, in_flight) = StateLog::open(&config.state_path)?;
    let settings = SessionSettings::try_from_path(&config.settings_path)?;
    let store = FileMessageStoreFactory::try_new(&settings)?;
    let log = CountingLog {
        rejects: Arc::new(RejectCounters::default()),
        who: "gateway",
    };
    let log_counts = log.rejects.clone();
    let log_factory = LogFactory::try_new(&log)?;
    let callbacks = Callbacks {
        inbound: Arc::new(ArrayQueue::new(config.ring_capacity.max(16))),
        counters: counters.clone(),
        instruments: instruments.clone(),
        running: running.clone(),
        session: Mutex::new(None),
        wake,
    };
    let app = Application::try_new(&callbacks)?;
    let mut initiator = Initiator::try_new(
        &settings,
        &app,
        &store,
        &log_factory,
        // The threaded initiator (a thread per session, which reconnects on its own): the
        // single-threaded one keeps a dead connection after the acceptor logs it out and
        // never reconnects (seen with QuickFIX 1.15 as bundled by quickfix-ffi 0.2.2).
        FixSocketServerKind::MultiThreaded,
    )?;
    let session = callbacks
        .session
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .ok_or(GatewayError::NoSession)?;
    let session_id = SessionId::try_new(&session.0, &session.1, &session.2, "")?;
    let mut worker = Worker {
        config: &config,
        instruments: &instruments,
        counters: &counters,
        reports: &reports,
        running: &running,
        session_id,
        in_flight,
        state: state_log,
        done: BTreeSet::new(),
        done_order: VecDeque::new(),
        pending_status: BTreeSet::new(),
        reconcile_deadline: None,
        logged_on: false,
    };
    worker.publish_in_flight();
    initiator.start()?;
    // The caller may have gone away already; then we simply run until stopped.
    let _ = ready.send(());
    while running.load(Ordering::Acquire) {
        let mut busy = false;
        while let Some(item) = callbacks.inbound.pop() {
            busy = true;
            worker.on_inbound(item)?;
        }
        worker.check_reconcile_timeout();
        if worker.logged_on && worker.pending_status.is_empty() {
            if let Some(request) = requests.pop() {
                busy = true;
                worker.send_request(&request)?;
            }
        }
        if !busy {
            idle.wait(|| {
                !callbacks.inbound.is_empty()
                    || (worker.logged_on
                        && worker.pending_status.is_empty()
                        && !requests.is_empty())
            });
        }
    }
    // Callbacks now drop rather than wait (running is false): stop cannot deadlock.
    let stopped = initiator.stop();
    while let Some(item) = callbacks.inbound.pop() {
        worker.on_inbound(item)?;
    }
    for (reason, n) in log_counts.snapshot() {
        for _ in 0..n {
            counters
                .rejects
                .record(reason, "gateway", &"counted by the QuickFIX log");
        }
    }
    drop(initiator);
    stopped?;
    Ok(())
}

/// The gateway thread's state.
struct Worker<'a> {
    config: &'a FixGatewayConfig,
    instruments: &'a Instruments,
    counters: &'a GatewayCounters,
    reports: &'a ArrayQueue<Event>,
    running: &'a AtomicBool,
    session_id: SessionId,
    in_flight: BTreeMap<u64, Tracked>,
    /// The in-flight file, kept in step with `in_flight` by `save`.
    state: StateLog,
    /// Recently finished requests: late or resent reports for them are duplicates, not
    /// unknown ids. Bounded by `DONE_MEMORY`.
    done: BTreeSet<u64>,
    done_order: VecDeque<u64>,
    pending_status: BTreeSet<u64>,
    reconcile_deadline: Option<Instant>,
    logged_on: bool,
}

const DONE_MEMORY: usize = 65_536;

impl Worker<'_> {
    fn publish_in_flight(&self) {
        self.counters
            .in_flight
            .store(self.in_flight.len() as u64, Ordering::Relaxed);
    }

    fn save(&mut self) -> Result<(), GatewayError> {
        self.publish_in_flight();
        self.state.sync(&self.in_flight)?;
        Ok(())
    }

    fn finish(&mut self, cl: u64) {
        // Settled while its status request was out (a report resent on logon came first):
        // the order needs no answer any more, so it no longer holds new orders back.
        if self.pending_status.remove(&cl) {
            bump(&self.counters.reconciled);
        }
        if self.in_flight.remove(&cl).is_some() && self.done.insert(cl) {
            self.done_order.push_back(cl);
            if self.done_order.len() > DONE_MEMORY {
                if let Some(old) = self.done_order.pop_front() {
                    self.done.remove(&old);
                }
            }
        }
    }

    fn send(&self, msg: Result<Message, QuickFixError>, counter: &AtomicU64) {
        match msg.and_then(|m| send_to_target(m, &self.session_id)) {
            Ok(()) => bump(counter),
            Err(e) => {
                bump(&self.counters.send_failures);
                tracing::warn!("FIX gateway: send failed: {e}");
            }
        }
    }

    fn on_inbound(&mut self, item: Inbound) -> Result<(), GatewayError> {
        match item {
            Inbound::Logon => self.on_logon(),
            Inbound::Logout => {
                self.logged_on = false;
                self.pending_status.clear();
                self.reconcile_deadline = None;
                self.counters.reconciling.store(false, Ordering::Release);
                Ok(())
            }
            Inbound::Report(r) => self.on_report(&r),
        }
    }

    /// On every logon: cancels in flight are forgotten (the order's status tells), every
    /// order or amend in flight gets an OrderStatusRequest, and new requests wait until
    /// each is answered or the timeout passes.
    fn on_logon(&mut self) -> Result<(), GatewayError> {
        self.logged_on = true;
        let cancels: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, t)| t.kind == RequestKind::Cancel)
            .map(|(&cl, _)| cl)
            .collect();
        for cl in cancels {
            self.finish(cl);
        }
        self.save()?;
        self.pending_status = self.in_flight.keys().copied().collect();
        for (&cl, t) in &self.in_flight {
            let Some(inst) = self.instruments.by_id(t.instrument) else {
                continue;
            };
            self.send(
                messages::order_status_request(cl, &inst.symbol, t.side),
                &self.counters.sent_status,
            );
        }
        if !self.pending_status.is_empty() {
            self.counters.reconciling.store(true, Ordering::Release);
            self.reconcile_deadline = Some(clock::monotonic() + self.config.reconcile_timeout);
        }
        Ok(())
    }

    fn check_reconcile_timeout(&mut self) {
        if let Some(deadline) = self.reconcile_deadline {
            if self.pending_status.is_empty() {
                self.reconcile_deadline = None;
                self.counters.reconciling.store(false, Ordering::Release);
            } else if clock::monotonic() >= deadline {
                bump(&self.counters.reconcile_timeouts);
                tracing::warn!(
                    unanswered = self.pending_status.len(),
                    "FIX gateway: order status requests unanswered; releasing held orders"
                );
                self.pending_status.clear();
                self.reconcile_deadline = None;
                self.counters.reconciling.store(false, Ordering::Release);
            }
        }
    }

    fn send_request(&mut self, event: &Event) -> Result<(), GatewayError> {
        let h = &event.header;
        let now = clock::utc_now();
        match event.body {
            EventBody::OrderNew {
                side,
                tif,
                client_order_id,
                price,
                qty,
                ..
            } => {
                let Some(inst) = self.instruments.by_id(h.instrument) else {
                    return self.local_reject(h, client_order_id, side, reject::UNKNOWN_INSTRUMENT);
                };
                if self.in_flight.contains_key(&client_order_id)
                    || self.done.contains(&client_order_id)
                {
                    self.counters.rejects.record(
                        RejectReason::DuplicateClOrdId,
                        "gateway",
                        &format_args!("order {client_order_id} submitted twice"),
                    );
                    return Ok(());
                }
                self.in_flight.insert(
                    client_order_id,
                    Tracked {
                        kind: RequestKind::New,
                        orig: 0,
                        instrument: h.instrument,
                        side,
                        tif,
                        price,
                        qty,
                        acked: false,
                        cum: Qty::ZERO,
                        venue_order_id: 0,
                    },
                );
                self.save()?;
                let terms = OrderTerms::on(inst, side, tif, price, qty);
                self.send(
                    messages::new_order_single(client_order_id, &terms, &now),
                    &self.counters.sent_new,
                );
            }
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => {
                let orig = self.in_flight.get(&orig_client_order_id).copied();
                let instrument = orig.map_or(h.instrument, |o| o.instrument);
                let Some(inst) = self.instruments.by_id(instrument) else {
                    return self.local_reject(
                        h,
                        client_order_id,
                        Side::Buy,
                        reject::UNKNOWN_INSTRUMENT,
                    );
                };
                // An order we do not know still goes to the venue, which answers (35=9).
                let t = orig.unwrap_or(Tracked {
                    kind: RequestKind::New,
                    orig: 0,
                    instrument,
                    side: Side::Buy,
                    tif: TimeInForce::Day,
                    price: tickrail_engine::Price::new(1),
                    qty: Qty::ZERO,
                    acked: false,
                    cum: Qty::ZERO,
                    venue_order_id: 0,
                });
                self.in_flight.insert(
                    client_order_id,
                    Tracked {
                        kind: RequestKind::Cancel,
                        orig: orig_client_order_id,
                        ..t
                    },
                );
                self.save()?;
                let qty = orig.map(|o| (o.qty, inst.qty_scale));
                self.send(
                    messages::cancel_request(
                        client_order_id,
                        orig_client_order_id,
                        &inst.symbol,
                        t.side,
                        qty,
                        &now,
                    ),
                    &self.counters.sent_cancel,
                );
            }
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty,
            } => {
                let orig = self.in_flight.get(&orig_client_order_id).copied();
                let instrument = orig.map_or(h.instrument, |o| o.instrument);
                let Some(inst) = self.instruments.by_id(instrument) else {
                    return self.local_reject(
                        h,
                        client_order_id,
                        Side::Buy,
                        reject::UNKNOWN_INSTRUMENT,
                    );
                };
                let (side, tif, cum, acked) = orig
                    .map_or((Side::Buy, TimeInForce::Day, Qty::ZERO, false), |o| {
                        (o.side, o.tif, o.cum, o.acked)
                    });
                self.in_flight.insert(
                    client_order_id,
                    Tracked {
                        kind: RequestKind::Amend,
                        orig: orig_client_order_id,
                        instrument,
                        side,
                        tif,
                        price,
                        qty,
                        acked,
                        cum,
                        venue_order_id: orig.map_or(0, |o| o.venue_order_id),
                    },
                );
                self.save()?;
                let terms = OrderTerms::on(inst, side, tif, price, qty);
                self.send(
                    messages::cancel_replace_request(
                        client_order_id,
                        orig_client_order_id,
                        &terms,
                        &now,
                    ),
                    &self.counters.sent_replace,
                );
            }
            _ => {
                self.counters.rejects.record(
                    RejectReason::UnsupportedMsgType,
                    "gateway",
                    &format_args!("not an order request: {}", event.kind()),
                );
            }
        }
        Ok(())
    }

    /// A request the gateway cannot send: answered locally with a reject report.
    fn local_reject(
        &mut self,
        h: &EventHeader,
        client_order_id: u64,
        side: Side,
        code: u16,
    ) -> Result<(), GatewayError> {
        self.counters.rejects.record(
            RejectReason::UnknownSymbol,
            "gateway",
            &format_args!("instrument {} has no FIX symbol", h.instrument.get()),
        );
        let body = EventBody::ExecReport {
            exec: ExecKind::Rejected,
            side,
            liquidity: Liquidity::Unknown,
            reject_code: code,
            client_order_id,
            venue_order_id: 0,
            price: tickrail_engine::Price::new(1),
            qty: Qty::ZERO,
            leaves_qty: Qty::ZERO,
            cum_qty: Qty::ZERO,
        };
        self.emit(h.instrument, h.price_scale, h.qty_scale, body);
        Ok(())
    }

    fn emit(
        &self,
        instrument: tickrail_engine::InstrumentId,
        price_scale: u8,
        qty_scale: u8,
        body: EventBody,
    ) {
        let event = Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: 0,
                receive_ts_ns: clock::wall_ns(),
                instrument,
                price_scale,
                qty_scale,
                source: self.config.source,
            },
            body,
        );
        if push_or_drop(self.reports, event, self.running) {
            bump(&self.counters.reports);
        } else {
            self.counters.rejects.record(
                RejectReason::RingFull,
                "gateway",
                &"report ring full at shutdown",
            );
        }
    }

    fn emit_for(&self, t: &Tracked, body: EventBody) {
        let (ps, qs) = self
            .instruments
            .by_id(t.instrument)
            .map_or((0, 0), |i| (i.price_scale.get(), i.qty_scale.get()));
        self.emit(t.instrument, ps, qs, body);
    }

    fn duplicate(&self) -> Result<(), GatewayError> {
        bump(&self.counters.duplicates);
        Ok(())
    }

    fn on_report(&mut self, r: &FixReport) -> Result<(), GatewayError> {
        // Which in-flight entry the report is about: a Canceled names the order in 41 (11 is
        // the cancel request); everything else names its subject in 11.
        let key = match (r.kind, r.orig_cl_ord_id) {
            (ReportKind::Canceled, Some(orig)) if self.in_flight.contains_key(&orig) => orig,
            _ => r.cl_ord_id,
        };
        let Some(t) = self.in_flight.get(&key).copied() else {
            if self.done.contains(&key) || r.orig_cl_ord_id.is_some_and(|o| self.done.contains(&o))
            {
                return self.duplicate();
            }
            self.counters.rejects.record(
                RejectReason::UnknownClOrdId,
                "gateway",
                &format_args!("report for unknown ClOrdID {}", r.cl_ord_id),
            );
            return Ok(());
        };
        if r.kind == ReportKind::Status {
            return self.on_status(key, t, r);
        }
        let Some(exec) = r.exec_kind() else {
            bump(&self.counters.ignored);
            return Ok(());
        };
        let cum = r.cum_qty.unwrap_or(t.cum);
        let mut next = t;
        next.venue_order_id = if r.venue_order_id != 0 {
            r.venue_order_id
        } else {
            t.venue_order_id
        };
        match exec {
            ExecKind::Ack => {
                if t.acked {
                    return self.duplicate();
                }
                next.acked = true;
            }
            ExecKind::PartialFill | ExecKind::Fill => {
                if cum <= t.cum {
                    return self.duplicate();
                }
                next.cum = cum;
                next.acked = true;
            }
            _ => {}
        }
        let (price, qty) = match exec {
            ExecKind::PartialFill | ExecKind::Fill => (
                r.last_px.unwrap_or(t.price),
                r.last_qty.unwrap_or(Qty::new(cum.raw() - t.cum.raw())),
            ),
            ExecKind::CancelRejected => (t.price, t.qty),
            _ => (r.price.unwrap_or(t.price), r.order_qty.unwrap_or(t.qty)),
        };
        let leaves = r.leaves_qty.unwrap_or(Qty::ZERO);
        let client_order_id = key;
        let body = EventBody::ExecReport {
            exec,
            side: r.side.unwrap_or(t.side),
            liquidity: r.liquidity,
            reject_code: r.reject_code,
            client_order_id,
            venue_order_id: next.venue_order_id,
            price,
            qty,
            leaves_qty: leaves,
            cum_qty: if exec == ExecKind::CancelRejected {
                t.cum
            } else {
                cum
            },
        };
        match exec {
            ExecKind::Fill | ExecKind::Canceled | ExecKind::Rejected => {
                self.finish(key);
                if exec == ExecKind::Canceled && key != r.cl_ord_id {
                    self.finish(r.cl_ord_id);
                }
            }
            ExecKind::Replaced => {
                self.finish(t.orig);
                next.kind = RequestKind::New;
                next.orig = 0;
                next.acked = true;
                self.in_flight.insert(key, next);
            }
            ExecKind::CancelRejected => self.finish(key),
            ExecKind::Ack | ExecKind::PartialFill => {
                self.in_flight.insert(key, next);
            }
        }
        self.save()?;
        self.emit_for(&t, body);
        Ok(())
    }

    /// The answer to an OrderStatusRequest sent at logon.
    fn on_status(&mut self, cl: u64, t: Tracked, r: &FixReport) -> Result<(), GatewayError> {
        if self.pending_status.remove(&cl) {
            bump(&self.counters.reconciled);
        }
        let cum = r.cum_qty.unwrap_or(t.cum);
        let report = |exec, price, qty, leaves, cum, code| EventBody::ExecReport {
            exec,
            side: t.side,
            liquidity: Liquidity::Unknown,
            reject_code: code,
            client_order_id: cl,
            venue_order_id: if r.venue_order_id != 0 {
                r.venue_order_id
            } else {
                t.venue_order_id
            },
            price,
            qty,
            leaves_qty: leaves,
            cum_qty: cum,
        };
        // Fills the venue says happened but we never saw (the FIX resend normally delivers
        // them first): report the difference once, at the last price the venue gives.
        if cum > t.cum {
            bump(&self.counters.reconcile_fill_gaps);
            let delta = Qty::new(cum.raw() - t.cum.raw());
            let leaves = r.leaves_qty.unwrap_or(Qty::ZERO);
            let exec = if leaves.is_zero() {
                ExecKind::Fill
            } else {
                ExecKind::PartialFill
            };
            let px = r.last_px.or(r.price).unwrap_or(t.price);
            self.emit_for(&t, report(exec, px, delta, leaves, cum, 0));
            if let Some(e) = self.in_flight.get_mut(&cl) {
                e.cum = cum;
            }
            if exec == ExecKind::Fill {
                self.finish(cl);
                return self.save();
            }
        }
        match r.ord_status {
            // Unknown to the venue: never arrived (rejected) or lost by it (canceled).
            b'8' => {
                let (exec, code) = if t.acked {
                    (ExecKind::Canceled, 0)
                } else {
                    (
                        ExecKind::Rejected,
                        if r.reject_code != 0 {
                            r.reject_code
                        } else {
                            reject::UNKNOWN_ORDER
                        },
                    )
                };
                self.emit_for(&t, report(exec, t.price, t.qty, Qty::ZERO, t.cum, code));
                self.finish(cl);
            }
            b'2' => self.finish(cl),
            b'4' | b'C' | b'3' | b'5' => {
                self.emit_for(
                    &t,
                    report(ExecKind::Canceled, t.price, t.qty, Qty::ZERO, cum, 0),
                );
                self.finish(cl);
            }
            _ => {
                if !t.acked {
                    let leaves = r.leaves_qty.unwrap_or(t.qty);
                    self.emit_for(&t, report(ExecKind::Ack, t.price, t.qty, leaves, cum, 0));
                    if let Some(e) = self.in_flight.get_mut(&cl) {
                        e.acked = true;
                        if r.venue_order_id != 0 {
                            e.venue_order_id = r.venue_order_id;
                        }
                    }
                }
            }
        }
        self.save()
    }
}
