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
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::wait::{Idle, NotifierError, Wake};
use tickrail_engine::runtime::WaitKind;
use tickrail_engine::{Event, EventBody, EventHeader, ExecKind, Liquidity, Qty, Side, TimeInForce};

use super::fields::parse_u64;
use super::messages::{
    self, parse_report, tag, FieldSource, FixError, FixReport, OrderTerms, ReportKind,
};
use super::state::{apply_journal, JournaledOrder, RequestKind, StateError, StateLog, Tracked};
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
    /// How long reconciliation after a logon may take: an OrderStatusRequest unanswered for
    /// `reconcile_timeout / STATUS_ATTEMPTS` is re-sent, and once `reconcile_timeout` has
    /// passed the orders still unanswered are settled as unknown and held orders go out
    /// (see the module docs; each expiry is counted).
    pub reconcile_timeout: Duration,
    /// `source` stamped on the execution report events.
    pub source: u16,
    /// How the gateway thread waits when idle: an [`Idle`] of this kind (`block` parks
    /// until a request or a QuickFIX callback wakes it).
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

/// OrderStatusRequests sent per in-flight order and logon before its status counts as
/// unknown: one at logon, then one every `reconcile_timeout / STATUS_ATTEMPTS` while
/// unanswered.
pub const STATUS_ATTEMPTS: u32 = 3;

/// The reject code of the `Rejected` report for an order whose status stayed unknown through
/// reconciliation (the `Canceled` report of an acknowledged one carries it too). Outside the
/// simulated venue's codes (`venue::reject`) and FIX OrdRejReason (103) values.
pub const STATUS_UNKNOWN: u16 = 65_000;

/// The ClOrdID of the gateway's own OrderCancelRequest for an order settled as unknown is
/// the order's ClOrdID with this bit flipped: a namespace of its own (tickrail's ClOrdIDs are
/// Unix seconds × 2^32 + a client id, so two of them differ by 2^63 only 68 years apart).
pub const SETTLE_CANCEL_BIT: u64 = 1 << 63;

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
    reconcile_reasks: AtomicU64,
    reconcile_settled_unknown: AtomicU64,
    journal_corrected: AtomicU64,
    journal_added: AtomicU64,
    resends_suppressed: AtomicU64,
    status_resends: AtomicU64,
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
    /// OrderCancelRequest sent (the engine's, and the gateway's own for orders settled as
    /// unknown).
    pub sent_cancel: u64,
    /// OrderCancelReplaceRequest sent.
    pub sent_replace: u64,
    /// OrderStatusRequest sent (reconciliation), re-asks included.
    pub sent_status: u64,
    /// Execution report events handed out.
    pub reports: u64,
    /// Duplicate or late reports dropped (a fill whose CumQty does not increase, a repeated
    /// ack, a resent report for a finished order).
    pub duplicates: u64,
    /// Reports ignored: pending/informational ones (150=6, A, E, …), late status answers for
    /// orders settled as unknown, and the answers to the gateway's own cancels of them.
    pub ignored: u64,
    /// Orders reconciled after a logon: their OrderStatusRequest answered, or the order
    /// settled by a (resent) report while its request was out.
    pub reconciled: u64,
    /// Reconciliations that reached `reconcile_timeout` with status requests still
    /// unanswered (those orders were settled as unknown, see `reconcile_settled_unknown`).
    pub reconcile_timeouts: u64,
    /// Status answers showing more filled than the fills seen (the difference is reported).
    pub reconcile_fill_gaps: u64,
    /// OrderStatusRequests sent again because the first went unanswered for
    /// `reconcile_timeout / STATUS_ATTEMPTS` (also counted in `sent_status`).
    pub reconcile_reasks: u64,
    /// In-flight orders and amends whose status was still unknown after the last status
    /// request: reported `Canceled` (acked) or `Rejected` (never acked) with reject code
    /// [`STATUS_UNKNOWN`], and canceled at the venue (see the module docs).
    pub reconcile_settled_unknown: u64,
    /// At the start of a resumed run ([`FixOrderGateway::start_resumed`]): orders and amends
    /// in flight whose seen state (filled quantity, ack) was set back to the journal's.
    pub journal_corrected: u64,
    /// At the start of a resumed run: orders open in the journal but not in flight, put in
    /// flight to be reconciled.
    pub journal_added: u64,
    /// Resends of our orders, cancels and amends replaced by a gap fill (never send an order
    /// twice).
    pub resends_suppressed: u64,
    /// OrderStatusRequests resent as they are (PossDupFlag=Y) for a resend request: a status
    /// request is a question, asking it twice is harmless, and a gap fill in its place would
    /// leave it unanswered.
    pub status_resends: u64,
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
            reconcile_reasks: g(&self.reconcile_reasks),
            reconcile_settled_unknown: g(&self.reconcile_settled_unknown),
            journal_corrected: g(&self.journal_corrected),
            journal_added: g(&self.journal_added),
            resends_suppressed: g(&self.resends_suppressed),
            status_resends: g(&self.status_resends),
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
        // orders are reconciled by OrderStatusRequest. A status request itself is resent: the
        // venue's resend request after a logon usually covers the ones just sent (the venue
        // queues them behind its gap and drops them once the gap fill skips past them).
        if msg.header(tag::POSS_DUP_FLAG).as_deref() == Some("Y") {
            if msg.header(tag::MSG_TYPE).as_deref() == Some("H") {
                bump(&self.counters.status_resends);
                return Ok(());
            }
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
    /// The thread was stopped ([`close`](Self::close)).
    closed: bool,
}

impl FixOrderGateway {
    /// Starts the gateway thread: reads the settings and the in-flight file, creates the
    /// file store and the initiator and starts connecting. Returns once the initiator is
    /// started (or with the error that stopped it).
    pub fn start(config: FixGatewayConfig) -> Result<Self, GatewayError> {
        Self::start_resumed(config, Vec::new())
    }

    /// [`start`](Self::start) for a resumed run of the engine: `journal` is what the run's
    /// journal says of its orders (its recovered OMS). Before the first logon, the
    /// in-flight orders read from the file are set to it ([`apply_journal`]): the seen
    /// filled quantity and ack of each order the journal knows are the journal's, and the
    /// orders open in the journal are in flight. So every fill (and ack, cancel) the
    /// gateway took but the journal lacks — the engine's process died in between — is
    /// reported again by the logon's status answers, once. Orders the journal does not
    /// know keep what the file says.
    pub fn start_resumed(
        config: FixGatewayConfig,
        journal: Vec<JournaledOrder>,
    ) -> Result<Self, GatewayError> {
        let cap = config.ring_capacity.max(1);
        let requests = Arc::new(ArrayQueue::new(cap));
        let reports = Arc::new(ArrayQueue::new(cap));
        let counters = Arc::new(GatewayCounters::default());
        let running = Arc::new(AtomicBool::new(true));
        let (idle, wake) = Idle::with_wake(config.wait)?;
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
                        (config, journal),
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
            closed: false,
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
        self.closed = true;
        self.thread.stop()
    }

    /// After [`close`](Self::close): the next request the thread never took — never sent —
    /// in submission order (`None` before `close`). Its caller answers it (an order it does
    /// not answer stays open for the engine, though the venue never saw it).
    pub fn take_unsent(&self) -> Option<Event> {
        if self.closed {
            self.requests.pop()
        } else {
            None
        }
    }
}

fn run(
    (config, journal): (FixGatewayConfig, Vec<JournaledOrder>),
    requests: Arc<ArrayQueue<Event>>,
    reports: Arc<ArrayQueue<Event>>,
    counters: Arc<GatewayCounters>,
    running: Arc<AtomicBool>,
    ready: mpsc::SyncSender<()>,
    (mut idle, wake): (Idle, Wake),
) -> Result<(), GatewayError> {
    let instruments = Arc::new(Instruments::new(config.instruments.iter().cloned()));
    let (state_log, mut in_flight) = StateLog::open(&config.state_path)?;
    let applied = apply_journal(&mut in_flight, &journal);
    drop(journal);
    counters
        .journal_corrected
        .store(applied.corrected as u64, Ordering::Relaxed);
    counters
        .journal_added
        .store(applied.added as u64, Ordering::Relaxed);
    if applied != Default::default() {
        // The engine's process died with reports taken here and not journaled (or requests
        // journaled and not sent): worth a line.
        tracing::warn!(
            corrected = applied.corrected,
            added = applied.added,
            "FIX gateway: in-flight orders set to the resumed run's journal (what was seen \
             beyond it, and its open orders not in flight, are asked at logon)"
        );
    }
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
        status_attempts: 0,
        next_status_at: None,
        settled: BTreeMap::new(),
        settled_order: VecDeque::new(),
        logged_on: false,
    };
    // What the journal changed goes to the file before anything is sent.
    worker.save()?;
    initiator.start()?;
    // The caller may have gone away already; then we simply run until stopped.
    let _ = ready.send(());
    while running.load(Ordering::Acquire) {
        let mut busy = false;
        while let Some(item) = callbacks.inbound.pop() {
            busy = true;
            worker.on_inbound(item)?;
        }
        worker.check_reconcile()?;
        if worker.logged_on && worker.pending_status.is_empty() {
            if let Some(request) = requests.pop() {
                busy = true;
                worker.send_request(&request)?;
            }
        }
        if !busy {
            idle.idle_unless(|| {
                !callbacks.inbound.is_empty()
                    || (worker.logged_on
                        && worker.pending_status.is_empty()
                        && !requests.is_empty())
            });
        }
    }
    if !requests.is_empty() {
        // Answered by the caller (`take_unsent`); why they were held is worth a line.
        tracing::warn!(
            unsent = requests.len(),
            logged_on = worker.logged_on,
            status_unanswered = worker.pending_status.len(),
            in_flight = worker.in_flight.len(),
            "FIX gateway: stopped with requests never sent"
        );
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
    /// The orders whose status request is unanswered (new orders are held meanwhile).
    pending_status: BTreeSet<u64>,
    /// Status requests sent to each of them since the logon.
    status_attempts: u32,
    /// When to re-ask (or, after the last attempt, settle them as unknown).
    next_status_at: Option<Instant>,
    /// Recently settled as unknown (with what was known of them): their later reports still
    /// reach the engine. Bounded by `DONE_MEMORY`, oldest forgotten first.
    settled: BTreeMap<u64, Tracked>,
    settled_order: VecDeque<u64>,
    logged_on: bool,
}

const DONE_MEMORY: usize = 65_536;

/// How an order's report is settled by `Worker::on_report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// In flight.
    InFlight,
    /// Settled as unknown by the reconciliation.
    Settled,
}

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
                self.end_reconcile();
                Ok(())
            }
            Inbound::Report(r) => self.on_report(&r),
        }
    }

    /// On every logon: cancels in flight are forgotten (the order's status tells), every
    /// order or amend in flight gets an OrderStatusRequest, and new requests wait until
    /// each is answered, or settled as unknown once `reconcile_timeout` has passed.
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
        self.status_attempts = 0;
        if self.pending_status.is_empty() {
            self.end_reconcile();
        } else {
            self.counters.reconciling.store(true, Ordering::Release);
            self.ask_status();
        }
        Ok(())
    }

    /// Sends an OrderStatusRequest for every order whose status is still unknown, and sets
    /// when to ask again.
    fn ask_status(&mut self) {
        let reask = self.status_attempts > 0;
        self.status_attempts += 1;
        for &cl in &self.pending_status {
            let Some(t) = self.in_flight.get(&cl) else {
                continue;
            };
            let Some(inst) = self.instruments.by_id(t.instrument) else {
                continue;
            };
            self.send(
                messages::order_status_request(cl, &inst.symbol, t.side),
                &self.counters.sent_status,
            );
            if reask {
                bump(&self.counters.reconcile_reasks);
            }
        }
        self.next_status_at = Some(clock::monotonic() + self.status_interval());
    }

    /// How long a round of status requests may stay unanswered.
    fn status_interval(&self) -> Duration {
        self.config.reconcile_timeout / STATUS_ATTEMPTS
    }

    /// Reconciliation is over: new requests go out again.
    fn end_reconcile(&mut self) {
        self.pending_status.clear();
        self.status_attempts = 0;
        self.next_status_at = None;
        self.counters.reconciling.store(false, Ordering::Release);
    }

    /// The reconciliation timer: a round of status requests unanswered is re-sent, and after
    /// the last one (`reconcile_timeout` after the logon) the orders still unanswered are
    /// settled as unknown.
    fn check_reconcile(&mut self) -> Result<(), GatewayError> {
        let Some(at) = self.next_status_at else {
            return Ok(());
        };
        if self.pending_status.is_empty() {
            self.end_reconcile();
            return Ok(());
        }
        if clock::monotonic() < at {
            return Ok(());
        }
        if self.status_attempts < STATUS_ATTEMPTS {
            tracing::info!(
                unanswered = self.pending_status.len(),
                attempt = self.status_attempts + 1,
                "FIX gateway: order status requests unanswered; asking again"
            );
            self.ask_status();
            return Ok(());
        }
        bump(&self.counters.reconcile_timeouts);
        self.settle_unknown()?;
        self.end_reconcile();
        Ok(())
    }

    /// Settles every order whose status requests all went unanswered (see the module docs):
    /// an OrderCancelRequest in case it is live at the venue, and a `Canceled` (acknowledged)
    /// or `Rejected` (never acknowledged) report with reject code [`STATUS_UNKNOWN`]. An amend
    /// settles the order it amends with it (its terms are unknown too); the order's report
    /// stands for both. The settled orders are remembered: their later reports still reach
    /// the engine.
    fn settle_unknown(&mut self) -> Result<(), GatewayError> {
        let mut ids = std::mem::take(&mut self.pending_status);
        let amended: Vec<u64> = ids
            .iter()
            .filter_map(|cl| self.in_flight.get(cl))
            .filter(|t| t.kind == RequestKind::Amend && self.in_flight.contains_key(&t.orig))
            .map(|t| t.orig)
            .collect();
        ids.extend(amended);
        let now = clock::utc_now();
        let mut reports = Vec::new();
        for &cl in &ids {
            let Some(t) = self.in_flight.get(&cl).copied() else {
                continue;
            };
            if let Some(inst) = self.instruments.by_id(t.instrument) {
                self.send(
                    messages::cancel_request(
                        cl ^ SETTLE_CANCEL_BIT,
                        cl,
                        &inst.symbol,
                        t.side,
                        Some((t.qty, inst.qty_scale)),
                        &now,
                    ),
                    &self.counters.sent_cancel,
                );
            }
            self.finish(cl);
            self.remember_settled(cl, t);
            bump(&self.counters.reconcile_settled_unknown);
            if t.kind == RequestKind::Amend && ids.contains(&t.orig) {
                continue;
            }
            let exec = if t.acked {
                ExecKind::Canceled
            } else {
                ExecKind::Rejected
            };
            let body = EventBody::ExecReport {
                exec,
                side: t.side,
                liquidity: Liquidity::Unknown,
                reject_code: STATUS_UNKNOWN,
                client_order_id: cl,
                venue_order_id: t.venue_order_id,
                price: t.price,
                qty: t.qty,
                leaves_qty: Qty::ZERO,
                cum_qty: t.cum,
            };
            reports.push((t, body));
        }
        self.save()?;
        if !ids.is_empty() {
            let shown: Vec<u64> = ids.iter().copied().take(16).collect();
            tracing::warn!(
                settled = ids.len(),
                attempts = self.status_attempts,
                "FIX gateway: order status still unknown after every status request; reported \
                 canceled (acknowledged) or rejected (never acknowledged) with reject code \
                 {STATUS_UNKNOWN}, and canceled at the venue: ClOrdIDs {shown:?}{}",
                if ids.len() > shown.len() { " …" } else { "" }
            );
        }
        for (t, body) in reports {
            self.emit_for(&t, body);
        }
        Ok(())
    }

    fn remember_settled(&mut self, cl: u64, t: Tracked) {
        if self.settled.insert(cl, t).is_none() {
            self.settled_order.push_back(cl);
            if self.settled_order.len() > DONE_MEMORY {
                if let Some(old) = self.settled_order.pop_front() {
                    self.settled.remove(&old);
                }
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
        // The answer (canceled, or cancel rejected) to the gateway's own cancel of an order
        // settled as unknown: the engine has had that order's final report already.
        if let Some(orig) = r.orig_cl_ord_id {
            if r.cl_ord_id == orig ^ SETTLE_CANCEL_BIT
                && matches!(r.kind, ReportKind::Canceled | ReportKind::CancelReject)
                && !self.in_flight.contains_key(&r.cl_ord_id)
            {
                bump(&self.counters.ignored);
                return Ok(());
            }
        }
        // Which entry the report is about: a Canceled names the order in 41 (11 is the cancel
        // request); everything else names its subject in 11.
        let key = match (r.kind, r.orig_cl_ord_id) {
            (ReportKind::Canceled, Some(orig))
                if self.in_flight.contains_key(&orig)
                    || (self.settled.contains_key(&orig)
                        && !self.in_flight.contains_key(&r.cl_ord_id)) =>
            {
                orig
            }
            _ => r.cl_ord_id,
        };
        let (t, subject) = if let Some(t) = self.in_flight.get(&key) {
            (*t, Subject::InFlight)
        } else if let Some(t) = self.settled.get(&key) {
            // Settled as unknown, and the venue speaks of it after all (it was live there):
            // what it says reaches the engine, deduplicated like any report.
            (*t, Subject::Settled)
        } else {
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
            if subject == Subject::Settled {
                // A late answer to a status request: its fills come as reports of their own.
                bump(&self.counters.ignored);
                return Ok(());
            }
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
        // The venue had filled more before this report than the fills seen: fills it will
        // not send again, because the gateway took them before a resumed run's journal did
        // and its seen state was set back to the journal's (`apply_journal`) — an ack, cancel
        // or replace with a CumQty above the one seen, or a fill whose CumQty exceeds it by
        // more than its LastQty. Reported first as one fill, as a status answer's gap is.
        // (Otherwise a session delivers every fill, in order.) An amend's entry has the
        // filled quantity of its order when it was sent: the order's own counts too.
        let seen = match exec {
            ExecKind::Replaced => self
                .in_flight
                .get(&t.orig)
                .map_or(t.cum, |o| o.cum.max(t.cum)),
            _ => t.cum,
        };
        let before = match exec {
            ExecKind::PartialFill | ExecKind::Fill => r
                .last_qty
                .map_or(seen, |last| Qty::new(cum.raw() - last.raw())),
            ExecKind::Ack | ExecKind::Canceled | ExecKind::Replaced => cum,
            ExecKind::Rejected | ExecKind::CancelRejected => seen,
        };
        let gap = before > seen && cum > seen;
        if gap {
            let filled = before >= r.order_qty.unwrap_or(t.qty);
            self.report_gap(key, &Tracked { cum: seen, ..t }, before, filled, r);
            next.cum = before;
            next.acked = true;
        }
        match exec {
            ExecKind::Ack => {
                if gap {
                    // The fill reported stands for the ack.
                    return self.keep(key, next, subject);
                }
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
        if subject == Subject::Settled {
            // Final reports end the memory (their resends are duplicates, `done`).
            match exec {
                ExecKind::Fill
                | ExecKind::Canceled
                | ExecKind::Rejected
                | ExecKind::CancelRejected => {
                    self.settled.remove(&key);
                }
                ExecKind::Ack | ExecKind::PartialFill | ExecKind::Replaced => {
                    self.settled.insert(key, next);
                }
            }
            self.emit_for(&t, body);
            return Ok(());
        }
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
                // The order's fills seen since the amend was sent are the amend's now.
                next.cum = next.cum.max(seen);
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

    /// Reports the fills a report of the venue shows beyond those seen (its CumQty `cum`
    /// above `t.cum`) as one fill of the difference, at the last price the venue gives;
    /// `filled`: the order is filled (a `Fill`, else a `PartialFill`). Counted as a fill gap.
    fn report_gap(&self, cl: u64, t: &Tracked, cum: Qty, filled: bool, r: &FixReport) {
        bump(&self.counters.reconcile_fill_gaps);
        let (exec, leaves) = if filled {
            (ExecKind::Fill, Qty::ZERO)
        } else {
            (ExecKind::PartialFill, r.leaves_qty.unwrap_or(Qty::ZERO))
        };
        let body = EventBody::ExecReport {
            exec,
            side: t.side,
            liquidity: Liquidity::Unknown,
            reject_code: 0,
            client_order_id: cl,
            venue_order_id: if r.venue_order_id != 0 {
                r.venue_order_id
            } else {
                t.venue_order_id
            },
            price: r.last_px.or(r.price).unwrap_or(t.price),
            qty: Qty::new(cum.raw() - t.cum.raw()),
            leaves_qty: leaves,
            cum_qty: cum,
        };
        self.emit_for(t, body);
    }

    /// Keeps `next` as what is known of `cl`, in flight or settled as unknown.
    fn keep(&mut self, cl: u64, next: Tracked, subject: Subject) -> Result<(), GatewayError> {
        match subject {
            Subject::InFlight => {
                self.in_flight.insert(cl, next);
                self.save()
            }
            Subject::Settled => {
                self.settled.insert(cl, next);
                Ok(())
            }
        }
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
        // them first): report the difference once. Filled: that is the order's last report;
        // else its status (canceled, live) follows.
        if cum > t.cum {
            let filled = r.ord_status == b'2' || cum >= t.qty;
            self.report_gap(cl, &t, cum, filled, r);
            if let Some(e) = self.in_flight.get_mut(&cl) {
                e.cum = cum;
                // A fill says the venue took the order: no separate ack after it.
                e.acked = true;
            }
            if filled {
                self.finish(cl);
                return self.save();
            }
        }
        let acked = self.in_flight.get(&cl).map_or(t.acked, |e| e.acked);
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
                if !acked {
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

#[cfg(test)]
mod tests {
    //! The gateway against a scripted venue on a raw socket (a few lines of FIX), so that a
    //! test decides which status requests go unanswered.

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;

    use tickrail_engine::{InstrumentId, Price, Scale};

    use super::*;
    use crate::fix::state;

    /// QuickFIX keeps a process-wide session registry: one gateway at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    const INST: InstrumentId = InstrumentId::new(0);

    fn instruments() -> Vec<FixInstrument> {
        vec![FixInstrument {
            id: INST,
            symbol: "AAA".into(),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
        }]
    }

    fn order(side: Side, acked: bool, cum: i64, venue_order_id: u64) -> Tracked {
        Tracked {
            kind: RequestKind::New,
            orig: 0,
            instrument: INST,
            side,
            tif: TimeInForce::Day,
            price: Price::new(10_000),
            qty: Qty::new(10),
            acked,
            cum: Qty::new(cum),
            venue_order_id,
        }
    }

    /// Order 11 (acknowledged, 2 filled) and order 12 (never acknowledged) in flight, as a
    /// gateway that stopped would have left them.
    fn in_flight_file(path: &Path) {
        let mut m = BTreeMap::new();
        m.insert(11, order(Side::Buy, true, 2, 77));
        m.insert(12, order(Side::Sell, false, 0, 0));
        state::save(path, &m).unwrap();
    }

    fn frame(fields: &[(u32, String)]) -> Vec<u8> {
        let body: String = fields.iter().map(|(t, v)| format!("{t}={v}\x01")).collect();
        let msg = format!("8=FIX.4.4\x019={}\x01{body}", body.len());
        let sum = msg.bytes().fold(0u32, |a, b| a + u32::from(b)) % 256;
        format!("{msg}10={sum:03}\x01").into_bytes()
    }

    /// One message as (tag, value) pairs.
    #[derive(Debug)]
    struct Msg(Vec<(u32, String)>);

    impl Msg {
        fn get(&self, tag: u32) -> Option<&str> {
            self.0
                .iter()
                .find(|(t, _)| *t == tag)
                .map(|(_, v)| v.as_str())
        }
        fn is(&self, msg_type: &str) -> bool {
            self.get(tag::MSG_TYPE) == Some(msg_type)
        }
    }

    /// The venue's side of one FIX session, scripted by the test.
    struct ScriptedVenue {
        stream: TcpStream,
        buf: Vec<u8>,
        seq: u64,
    }

    impl ScriptedVenue {
        /// Accepts the gateway's connection and answers its Logon.
        fn accept(listener: &TcpListener) -> Self {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let mut v = Self {
                stream,
                buf: Vec::new(),
                seq: 1,
            };
            let logon = v.expect(Duration::from_secs(10), |m| m.is("A"));
            assert_eq!(logon.get(tag::MSG_SEQ_NUM), Some("1"), "{logon:?}");
            v.send("A", &[(98, "0"), (108, "30")]);
            v
        }

        fn send(&mut self, msg_type: &str, fields: &[(u32, &str)]) {
            let mut all = vec![
                (tag::MSG_TYPE, msg_type.to_owned()),
                (49, "SCRIPTVENUE".to_owned()),
                (56, "GWTEST".to_owned()),
                (tag::MSG_SEQ_NUM, self.seq.to_string()),
                (52, clock::utc_now()),
            ];
            all.extend(fields.iter().map(|(t, v)| (*t, (*v).to_owned())));
            self.seq += 1;
            self.stream.write_all(&frame(&all)).unwrap();
        }

        /// The next whole message, if one comes within `timeout`.
        fn next(&mut self, timeout: Duration) -> Option<Msg> {
            let start = clock::monotonic();
            loop {
                if let Some(m) = self.take() {
                    return Some(m);
                }
                if start.elapsed() >= timeout {
                    return None;
                }
                let mut chunk = [0u8; 4096];
                match self.stream.read(&mut chunk) {
                    Ok(0) => return None,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
        }

        fn take(&mut self) -> Option<Msg> {
            let text = std::str::from_utf8(&self.buf).ok()?;
            let rest = text.strip_prefix("8=FIX.4.4\x019=")?;
            let (len, _) = rest.split_once('\x01')?;
            let head = "8=FIX.4.4\x019=".len() + len.len() + 1;
            let total = head + len.parse::<usize>().unwrap() + "10=000\x01".len();
            if self.buf.len() < total {
                return None;
            }
            let msg: Vec<u8> = self.buf.drain(..total).collect();
            let fields = String::from_utf8(msg)
                .unwrap()
                .split('\x01')
                .filter_map(|f| f.split_once('='))
                .map(|(t, v)| (t.parse().unwrap(), v.to_owned()))
                .collect();
            Some(Msg(fields))
        }

        /// The next message that `want` accepts (others are skipped: heartbeats, …).
        fn expect(&mut self, timeout: Duration, want: impl Fn(&Msg) -> bool) -> Msg {
            let start = clock::monotonic();
            loop {
                let left = timeout.saturating_sub(start.elapsed());
                match self.next(left) {
                    Some(m) if want(&m) => return m,
                    Some(_) => {}
                    None => panic!("nothing expected came within {timeout:?}"),
                }
            }
        }

        /// The status requests of one round: one per order in flight (11 and 12).
        fn status_round(&mut self, timeout: Duration) -> BTreeMap<u64, Msg> {
            self.status_round_of(2, timeout)
        }

        /// A round of `n` status requests.
        fn status_round_of(&mut self, n: usize, timeout: Duration) -> BTreeMap<u64, Msg> {
            let mut round = BTreeMap::new();
            while round.len() < n {
                let m = self.expect(timeout, |m| m.is("H"));
                let cl = m.get(tag::CL_ORD_ID).unwrap().parse().unwrap();
                assert!(round.insert(cl, m).is_none(), "asked twice in a round");
            }
            round
        }

        /// An answer to a status request (150=I): OrdStatus, CumQty, LeavesQty.
        fn status(&mut self, cl: u64, side: &str, [status, cum, leaves]: [&str; 3]) {
            let cl = cl.to_string();
            let mut f = vec![
                (37, "77"),
                (17, "x"),
                (tag::CL_ORD_ID, cl.as_str()),
                (tag::EXEC_TYPE, "I"),
                (tag::ORD_STATUS, status),
                (tag::SYMBOL, "AAA"),
                (tag::SIDE, side),
                (tag::LEAVES_QTY, leaves),
                (tag::CUM_QTY, cum),
                (6, "0"),
            ];
            if status == "8" {
                f.push((tag::ORD_REJ_REASON, "5"));
            }
            self.send("8", &f);
        }
    }

    struct Setup {
        dir: PathBuf,
        listener: TcpListener,
        gateway: FixOrderGateway,
    }

    fn setup(name: &str, reconcile_timeout: Duration) -> Setup {
        setup_resumed(name, reconcile_timeout, Vec::new())
    }

    /// [`setup`] with the gateway started for a resumed engine whose journal says `journal`.
    fn setup_resumed(
        name: &str,
        reconcile_timeout: Duration,
        journal: Vec<JournaledOrder>,
    ) -> Setup {
        let dir = std::env::temp_dir().join(format!(
            "tickrail-fix-gw-{name}-{}-{}",
            std::process::id(),
            clock::wall_ns()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let settings = dir.join("initiator.cfg");
        std::fs::write(
            &settings,
            format!(
                "[DEFAULT]\nConnectionType=initiator\nFileStorePath={}\nReconnectInterval=1\n\
                 PersistMessages=Y\nResetOnLogon=N\nResetOnLogout=N\nResetOnDisconnect=N\n\
                 NonStopSession=Y\nHeartBtInt=30\nUseDataDictionary=N\nCheckLatency=N\n\
                 [SESSION]\nBeginString=FIX.4.4\nSenderCompID=GWTEST\n\
                 TargetCompID=SCRIPTVENUE\nSocketConnectHost=127.0.0.1\n\
                 SocketConnectPort={port}\n",
                dir.join("store").display()
            ),
        )
        .unwrap();
        let state_path = dir.join("store").join("in-flight.state");
        in_flight_file(&state_path);
        let gateway = FixOrderGateway::start_resumed(
            FixGatewayConfig {
                settings_path: settings,
                state_path,
                instruments: instruments(),
                ring_capacity: 64,
                reconcile_timeout,
                source: 7,
                wait: WaitKind::Block,
            },
            journal,
        )
        .unwrap();
        Setup {
            dir,
            listener,
            gateway,
        }
    }

    /// (exec, client order id, qty, cum, reject code) of each report handed out.
    fn reports(g: &FixOrderGateway) -> Vec<(ExecKind, u64, i64, i64, u16)> {
        let mut out = Vec::new();
        while let Some(e) = g.poll_report() {
            if let EventBody::ExecReport {
                exec,
                client_order_id,
                qty,
                cum_qty,
                reject_code,
                ..
            } = e.body
            {
                out.push((exec, client_order_id, qty.raw(), cum_qty.raw(), reject_code));
            }
        }
        out
    }

    /// A day buy of 1 at 100.00 on venue 1 with `client_order_id`.
    fn buy_one(client_order_id: u64) -> Event {
        Event::new(
            EventHeader {
                sequence: 1,
                cause_sequence: 1,
                exchange_ts_ns: 0,
                receive_ts_ns: 0,
                instrument: INST,
                price_scale: 2,
                qty_scale: 0,
                source: 0,
            },
            EventBody::OrderNew {
                side: Side::Buy,
                tif: TimeInForce::Day,
                venue: 1,
                client_order_id,
                price: Price::new(10_000),
                qty: Qty::new(1),
            },
        )
    }

    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let start = clock::monotonic();
        while !cond() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn unanswered_status_requests_are_asked_again() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let s = setup("reask", Duration::from_secs(3));
        let mut v = ScriptedVenue::accept(&s.listener);
        // The first round is lost; the second is answered: 11 live, 12 unknown.
        let first = v.status_round(Duration::from_secs(5));
        assert_eq!(first.keys().copied().collect::<Vec<_>>(), [11, 12]);
        assert!(
            v.next(Duration::from_millis(200)).is_none(),
            "nothing else before the re-ask (new orders held)"
        );
        v.status_round(Duration::from_secs(5));
        v.status(11, "1", ["1", "2", "8"]);
        v.status(12, "2", ["8", "0", "0"]);
        wait_until("reconciled", || !s.gateway.is_reconciling());
        wait_until("the reject", || s.gateway.stats().reports == 1);
        assert_eq!(
            reports(&s.gateway),
            [(ExecKind::Rejected, 12, 10, 0, 5)],
            "12 never arrived; 11 is live and acknowledged already"
        );
        let st = s.gateway.stats();
        assert_eq!(
            (
                st.sent_status,
                st.reconcile_reasks,
                st.reconciled,
                st.reconcile_timeouts,
                st.reconcile_settled_unknown,
                st.in_flight
            ),
            (4, 2, 2, 0, 0, 1),
            "{st:?}"
        );
        drop(v); // disconnected: the logout need not wait for an answer
        s.gateway.stop().unwrap();
        let _ = std::fs::remove_dir_all(&s.dir);
    }

    /// The engine's process died after the gateway took reports the journal never got: the
    /// resumed run's journal says 11 was neither acknowledged nor filled (the file: acked, 2
    /// filled) and 13 is open with 1 filled (the gateway had its last fill and forgot it).
    /// The status answers report what the journal lacks, once.
    #[test]
    fn a_resumed_engine_gets_again_what_its_journal_lacks() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let journaled = |cl_ord_id, cum, acked, open| JournaledOrder {
            cl_ord_id,
            amend: None,
            instrument: INST,
            side: Side::Buy,
            price: Price::new(10_000),
            qty: Qty::new(10),
            cum: Qty::new(cum),
            acked,
            open,
            venue_order_id: 0,
        };
        let journal = vec![
            journaled(11, 0, false, true),
            journaled(13, 1, true, true),
            journaled(14, 10, true, false), // finished in the journal: not asked
        ];
        let s = setup_resumed("journal", Duration::from_secs(30), journal);
        let st = s.gateway.stats();
        assert_eq!((st.journal_corrected, st.journal_added), (1, 1), "{st:?}");
        assert_eq!(st.in_flight, 3, "{st:?}");
        let saved = state::load(&s.dir.join("store").join("in-flight.state")).unwrap();
        assert_eq!(
            saved.get(&11).map(|t| (t.cum, t.acked)),
            Some((Qty::ZERO, false)),
            "the file holds the journal's state before the logon"
        );
        let mut v = ScriptedVenue::accept(&s.listener);
        let round = v.status_round_of(3, Duration::from_secs(5));
        assert_eq!(round.keys().copied().collect::<Vec<_>>(), [11, 12, 13]);
        v.status(12, "2", ["8", "0", "0"]); // unknown: never arrived
        v.status(13, "1", ["2", "10", "0"]); // filled
        wait_until("two answers", || s.gateway.stats().reconciled == 2);
        let st = s.gateway.stats();
        assert_eq!(st.in_flight, 1, "11 still in flight: {st:?}");
        // What the venue sends again after the logon (the gateway had not stored it): a fill
        // of 11 (1, CumQty 3: the 2 before it the gateway took, the journal lacks), 2 more
        // filled and 11 canceled (CumQty 5: those 2 fills the gateway took too); then its
        // status.
        v.send(
            "8",
            &[
                (37, "77"),
                (17, "f3"),
                (tag::CL_ORD_ID, "11"),
                (tag::EXEC_TYPE, "F"),
                (tag::ORD_STATUS, "1"),
                (tag::SYMBOL, "AAA"),
                (tag::SIDE, "1"),
                (tag::ORDER_QTY, "10"),
                (tag::PRICE, "100.00"),
                (tag::LEAVES_QTY, "7"),
                (tag::CUM_QTY, "3"),
                (6, "100"),
                (tag::LAST_PX, "100.00"),
                (tag::LAST_QTY, "1"),
            ],
        );
        v.send(
            "8",
            &[
                (37, "77"),
                (17, "c1"),
                (tag::CL_ORD_ID, "21"),
                (tag::ORIG_CL_ORD_ID, "11"),
                (tag::EXEC_TYPE, "4"),
                (tag::ORD_STATUS, "4"),
                (tag::SYMBOL, "AAA"),
                (tag::SIDE, "1"),
                (tag::ORDER_QTY, "10"),
                (tag::PRICE, "100.00"),
                (tag::LEAVES_QTY, "0"),
                (tag::CUM_QTY, "5"),
                (6, "100"),
            ],
        );
        v.status(11, "1", ["4", "5", "0"]);
        wait_until("reconciled", || !s.gateway.is_reconciling());
        wait_until("the answers", || {
            let st = s.gateway.stats();
            st.reports + st.duplicates == 7
        });
        assert_eq!(
            reports(&s.gateway),
            [
                (ExecKind::Rejected, 12, 10, 0, 5),
                (ExecKind::Fill, 13, 9, 10, 0),
                // The fills the journal lacks before each report; the status is a duplicate.
                (ExecKind::PartialFill, 11, 2, 2, 0),
                (ExecKind::PartialFill, 11, 1, 3, 0),
                (ExecKind::PartialFill, 11, 2, 5, 0),
                (ExecKind::Canceled, 11, 10, 5, 0),
            ]
        );
        let st = s.gateway.stats();
        assert_eq!(
            (
                st.reconciled,
                st.reconcile_fill_gaps,
                st.duplicates,
                st.in_flight
            ),
            (3, 3, 1, 0),
            "{st:?}"
        );
        drop(v); // disconnected: the logout need not wait for an answer
        s.gateway.stop().unwrap();
        let _ = std::fs::remove_dir_all(&s.dir);
    }

    #[test]
    fn requests_never_sent_are_handed_back_once_closed() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        // Nobody answers the logon: the request waits in the ring.
        let mut s = setup("unsent", Duration::from_secs(30));
        let new = buy_one(13);
        s.gateway.submit(&new).unwrap();
        assert!(s.gateway.take_unsent().is_none(), "not before close");
        s.gateway.close().unwrap();
        assert_eq!(s.gateway.take_unsent().map(|e| e.body), Some(new.body));
        assert!(s.gateway.take_unsent().is_none());
        assert_eq!(s.gateway.stats().sent_new, 0);
        let _ = std::fs::remove_dir_all(&s.dir);
    }

    #[test]
    fn status_requests_covered_by_a_resend_request_are_resent_not_gap_filled() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let s = setup("resend", Duration::from_secs(30));
        let mut v = ScriptedVenue::accept(&s.listener);
        let first = v.status_round(Duration::from_secs(5));
        let seqs: Vec<&str> = first
            .values()
            .map(|m| m.get(tag::MSG_SEQ_NUM).unwrap())
            .collect();
        assert_eq!(seqs, ["2", "3"]);
        // As a venue that lost its last messages asks after the logon: everything from 2.
        v.send("2", &[(7, "2"), (16, "0")]);
        let again = v.status_round(Duration::from_secs(5));
        for (cl, m) in &again {
            assert_eq!(m.get(tag::POSS_DUP_FLAG), Some("Y"), "{cl}: {m:?}");
            assert_eq!(m.get(tag::MSG_SEQ_NUM), first[cl].get(tag::MSG_SEQ_NUM));
        }
        v.status(11, "1", ["1", "2", "8"]);
        v.status(12, "2", ["8", "0", "0"]);
        wait_until("reconciled", || !s.gateway.is_reconciling());
        let st = s.gateway.stats();
        assert_eq!(
            (
                st.status_resends,
                st.resends_suppressed,
                st.reconcile_reasks
            ),
            (2, 0, 0),
            "{st:?}"
        );
        drop(v); // disconnected: the logout need not wait for an answer
        s.gateway.stop().unwrap();
        let _ = std::fs::remove_dir_all(&s.dir);
    }

    #[test]
    fn orders_whose_status_stays_unknown_are_settled_and_their_late_reports_still_arrive() {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let s = setup("settle", Duration::from_millis(900));
        let mut v = ScriptedVenue::accept(&s.listener);
        for _ in 0..STATUS_ATTEMPTS {
            v.status_round(Duration::from_secs(5));
        }
        // Then a cancel of the gateway's own for each, in case it is live.
        let mut cancels = BTreeMap::new();
        for _ in 0..2 {
            let m = v.expect(Duration::from_secs(5), |m| m.is("F"));
            let orig: u64 = m.get(tag::ORIG_CL_ORD_ID).unwrap().parse().unwrap();
            let cl: u64 = m.get(tag::CL_ORD_ID).unwrap().parse().unwrap();
            cancels.insert(orig, cl);
        }
        assert_eq!(
            cancels,
            BTreeMap::from([(11, 11 ^ SETTLE_CANCEL_BIT), (12, 12 ^ SETTLE_CANCEL_BIT)])
        );
        wait_until("settled", || s.gateway.stats().reports == 2);
        assert!(!s.gateway.is_reconciling());
        assert_eq!(
            reports(&s.gateway),
            [
                (ExecKind::Canceled, 11, 10, 2, STATUS_UNKNOWN),
                (ExecKind::Rejected, 12, 10, 0, STATUS_UNKNOWN)
            ]
        );
        let st = s.gateway.stats();
        assert_eq!(
            (
                st.sent_status,
                st.reconcile_reasks,
                st.reconcile_timeouts,
                st.reconcile_settled_unknown,
                st.sent_cancel,
                st.in_flight
            ),
            (6, 4, 1, 2, 2, 0),
            "{st:?}"
        );
        // Order 11 was live after all: it filled before our cancel reached it. The fill
        // reaches the engine (once), the cancel's answers do not.
        let fill = |v: &mut ScriptedVenue| {
            v.send(
                "8",
                &[
                    (37, "77"),
                    (17, "f1"),
                    (tag::CL_ORD_ID, "11"),
                    (tag::EXEC_TYPE, "F"),
                    (tag::ORD_STATUS, "1"),
                    (tag::SYMBOL, "AAA"),
                    (tag::SIDE, "1"),
                    (tag::ORDER_QTY, "10"),
                    (tag::PRICE, "100.00"),
                    (tag::LEAVES_QTY, "5"),
                    (tag::CUM_QTY, "5"),
                    (6, "100"),
                    (tag::LAST_PX, "100.00"),
                    (tag::LAST_QTY, "3"),
                ],
            );
        };
        fill(&mut v);
        fill(&mut v); // the same again: a duplicate
        let c11 = (11 ^ SETTLE_CANCEL_BIT).to_string();
        let c12 = (12 ^ SETTLE_CANCEL_BIT).to_string();
        v.send(
            "8",
            &[
                (37, "77"),
                (17, "c1"),
                (tag::CL_ORD_ID, c11.as_str()),
                (tag::ORIG_CL_ORD_ID, "11"),
                (tag::EXEC_TYPE, "4"),
                (tag::ORD_STATUS, "4"),
                (tag::SYMBOL, "AAA"),
                (tag::SIDE, "1"),
                (tag::LEAVES_QTY, "0"),
                (tag::CUM_QTY, "5"),
                (6, "100"),
            ],
        );
        v.send(
            "9",
            &[
                (37, "NONE"),
                (tag::CL_ORD_ID, c12.as_str()),
                (tag::ORIG_CL_ORD_ID, "12"),
                (tag::ORD_STATUS, "8"),
                (tag::CXL_REJ_RESPONSE_TO, "1"),
                (tag::CXL_REJ_REASON, "1"),
            ],
        );
        wait_until("the late reports", || {
            let st = s.gateway.stats();
            st.duplicates + st.ignored >= 3
        });
        assert_eq!(reports(&s.gateway), [(ExecKind::PartialFill, 11, 3, 5, 0)]);
        let st = s.gateway.stats();
        assert_eq!((st.duplicates, st.ignored), (1, 2), "{st:?}");
        assert!(st.rejects.is_empty(), "{st:?}");
        // Held orders go out again.
        let new = buy_one(13);
        s.gateway.submit(&new).unwrap();
        let d = v.expect(Duration::from_secs(5), |m| m.is("D"));
        assert_eq!(d.get(tag::CL_ORD_ID), Some("13"));
        drop(v); // disconnected: the logout need not wait for an answer
        s.gateway.stop().unwrap();
        let _ = std::fs::remove_dir_all(&s.dir);
    }
}
