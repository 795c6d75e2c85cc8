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
//! Nothing here allocates, locks or logs once running (`replay/tests/gateway_market.rs`
//! counts); the system calls left are the `recv`s of the datagrams (one per datagram and
//! one `EAGAIN` per empty poll) — what a kernel-bypass NIC API would replace.
//!
//! Event time is the wall clock (`CLOCK_REALTIME`): the next due time is the receive time
//! of the oldest queued input, else now, so timers fire on time while the market is quiet.
//!
//! **Client order ids.** The engine numbers its orders from 1 in every run, but a FIX
//! session outlives runs (its store, its in-flight file), so a ClOrdID must never repeat:
//! the market sends `base + client_order_id` as the ClOrdID, with `base` the run's start
//! second × 2^24 (a run may send 2^24 orders; later runs start above), and takes `base` off
//! the reports' ids again before the Sequencer sees them. Reports for an earlier run's
//! orders (settled by the reconciliation after a restart, or fills arriving by resend)
//! keep their full ClOrdID: the OMS counts them as unknown orders and still moves the
//! position by their fills, which happened.
//!
//! The run ends after the feed's end-of-session packet once no execution report has come
//! for `[live.fix] drain_ms` (or earlier on a stop request): fills of orders still working
//! when the feed ends are collected, and the journal closes with them.

use std::collections::VecDeque;
use std::time::Duration;

use tickrail_engine::config::{EngineConfig, FixSessionSpec, UdpFeedSpec};
use tickrail_engine::runtime::clock::{now_ns, wall_ns};
use tickrail_engine::runtime::latency::Latency;
use tickrail_engine::{Event, EventBody, ExecKind};
use tickrail_gateways::feed::InstrumentMap;
use tickrail_gateways::fix::{FixGatewayConfig, FixInstrument, FixOrderGateway, GatewayStats};
use tickrail_gateways::udp::{Receiver, ReceiverConfig, ReceiverStats};

use crate::live::{FeedReport, LiveError, LiveMarket};
use crate::runner::Market;

/// Inputs the market holds between the sockets and the Sequencer. The UDP socket is not
/// read while fewer than [`PACKET_HEADROOM`] slots are free (the kernel's receive buffer
/// holds the rest), so the queue never grows.
pub const QUEUE_CAPACITY: usize = 1 << 16;
/// Free slots needed before another datagram is read: a MoldUDP64 packet of at most
/// 1,472 bytes holds at most 70 ITCH messages (the shortest is 11 bytes plus its 2-byte
/// length), each giving at most two events.
const PACKET_HEADROOM: usize = 160;
/// `header.source` of the feed's events (as the backtest's first data file).
pub const FEED_SOURCE: u16 = 1;
/// `header.source` of the FIX session's execution reports.
pub const FIX_SOURCE: u16 = 100;
/// The FIX gateway's ring capacity (requests in, reports out).
const FIX_RING: usize = 1 << 14;
/// New orders remembered for the round-trip histogram.
const SENT_SLOTS: usize = 1 << 16;
/// Client order ids per run: ClOrdID = base + id, base a multiple of this.
pub const CLIENT_IDS_PER_RUN: u64 = 1 << 24;

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
}

impl GatewayMarket {
    /// Joins the feed's multicast group and starts the FIX gateway thread (which connects
    /// and logs on by itself, reconciling orders in flight from an earlier run first).
    pub fn open(
        cfg: &EngineConfig,
        udp: &UdpFeedSpec,
        fix: &FixSessionSpec,
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
        let gateway = FixOrderGateway::start(FixGatewayConfig {
            settings_path: fix.settings.clone(),
            state_path: fix.state.clone(),
            instruments: cfg.instruments.iter().map(FixInstrument::from).collect(),
            ring_capacity: FIX_RING,
            reconcile_timeout: Duration::from_millis(fix.reconcile_timeout_ms),
            source: FIX_SOURCE,
            wait: fix.wait,
        })
        .map_err(|e| LiveError::Market(format!("FIX gateway ({}): {e}", fix.settings.display())))?;
        Ok(Self {
            feed,
            fix: gateway,
            venue: fix.venue,
            queue: VecDeque::with_capacity(QUEUE_CAPACITY),
            drain_ns: fix.drain_ms.saturating_mul(1_000_000),
            quiet_since: None,
            wrong_venue: 0,
            client_id_base: client_id_base(wall_ns()),
            earlier_run_reports: 0,
            sent_at: vec![(u64::MAX, 0); SENT_SLOTS].into_boxed_slice(),
            round_trip: Latency::new(),
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

    /// Moves what has arrived into the queue: every report, then every datagram that fits.
    fn pump(&mut self) {
        let mut reports = false;
        while self.queue.len() < QUEUE_CAPACITY {
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
        if QUEUE_CAPACITY - self.queue.len() >= PACKET_HEADROOM {
            let queue = &mut self.queue;
            // A socket error other than "nothing to read" is not expected on a bound UDP
            // socket; it is counted by the next read failing the same way, so it is
            // treated as "nothing now".
            let _ = self.feed.poll(&mut |ev| queue.push_back(ev));
        }
        if self.quiet_since.is_none() && self.feed.is_ended() {
            self.quiet_since = Some(now_ns());
        }
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
        self.pump();
        if let Some(ev) = self.queue.front() {
            return Some(ev.header.receive_ts_ns);
        }
        match self.quiet_since {
            Some(t) if now_ns().saturating_sub(t) >= self.drain_ns => None,
            _ => Some(wall_ns()),
        }
    }

    fn submit(&mut self, _now_ns: i64, request: &Event) -> Result<(), SubmitError> {
        if let EventBody::OrderNew { venue, .. } = request.body {
            if venue != self.venue {
                self.wrong_venue += 1;
                return Err(SubmitError::WrongVenue(venue, self.venue));
            }
        }
        let request = self.outgoing(request)?;
        self.fix.submit(&request).map_err(|_| SubmitError::Full)?;
        if let EventBody::OrderNew {
            client_order_id, ..
        } = request.body
        {
            let id = client_order_id - self.client_id_base;
            self.sent_at[sent_slot(id)] = (id, now_ns());
        }
        Ok(())
    }
}

impl LiveMarket for GatewayMarket {
    fn now_ns(&self) -> i64 {
        wall_ns()
    }

    fn finish(&self, report: &mut FeedReport) {
        report.gateways = Some(GatewayReport {
            udp: *self.feed.stats(),
            recv_buffer_bytes: self.feed.recv_buffer_bytes(),
            fix: self.fix.stats(),
            wrong_venue: self.wrong_venue,
            feed_ended: self.feed.is_ended(),
            client_id_base: self.client_id_base,
            earlier_run_reports: self.earlier_run_reports,
            order_round_trip: self.round_trip.clone(),
        });
    }
}

fn sent_slot(id: u64) -> usize {
    (id % SENT_SLOTS as u64) as usize
}

/// The ClOrdID base of a run starting at `wall_ns`: its second × [`CLIENT_IDS_PER_RUN`].
pub fn client_id_base(wall_ns: i64) -> u64 {
    u64::try_from(wall_ns / 1_000_000_000)
        .unwrap_or(0)
        .saturating_mul(CLIENT_IDS_PER_RUN)
}
