//! [`MoldDecoder`] (session, sequence and gap rules, ITCH to events, no I/O) and
//! [`Receiver`] (a non-blocking multicast socket feeding a decoder).

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::moldudp64::{Packet, PacketError, PacketKind, Session, MAX_UDP_PAYLOAD};
use crate::feed::{FeedStats, InstrumentMap};
use crate::itch::{message_len, ItchConverter, MessageCounts};
use tickrail_engine::config::UdpFeedSpec;
use tickrail_engine::runtime::clock::{monotonic, wall_ns};
use tickrail_engine::Event;

/// How to receive.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// The multicast group and port.
    pub group: SocketAddrV4,
    /// The interface to join the group on: `127.0.0.1` for loopback.
    pub interface: Ipv4Addr,
    /// The expected session; `None`: the first well-formed packet's session is adopted.
    pub session: Option<Session>,
    /// The sequence number of the first message expected; `None`: the first packet's
    /// (a late joiner then sees no gap for what it missed before joining).
    pub first_sequence: Option<u64>,
    /// `SO_RCVBUF` asked for (the kernel caps it at `net.core.rmem_max` and doubles it;
    /// [`Receiver::recv_buffer_bytes`] says what was granted).
    pub recv_buffer_bytes: usize,
    /// `header.source` of every event.
    pub venue_source: u16,
    /// The Unix-epoch ns of the midnight ITCH timestamps count from.
    pub date_midnight_ns: i64,
}

impl ReceiverConfig {
    /// Loopback defaults for `group`: joined on 127.0.0.1, session adopted, first
    /// sequence 1, 8 MiB receive buffer asked for, venue source 1, midnight 0.
    pub fn new(group: SocketAddrV4) -> Self {
        Self {
            group,
            interface: Ipv4Addr::LOCALHOST,
            session: None,
            first_sequence: Some(1),
            recv_buffer_bytes: 8 << 20,
            venue_source: 1,
            date_midnight_ns: 0,
        }
    }
}

impl ReceiverConfig {
    /// The receiver of a `[live.udp]` feed: its group, interface and session; the ITCH
    /// trading day's midnight in New York (as `tickrail backtest` takes it); venue source 1;
    /// first sequence 1. An invalid session name or date is refused.
    pub fn from_spec(spec: &UdpFeedSpec) -> Result<Self, String> {
        let (y, m, d) = spec.itch_date;
        let midnight =
            crate::itch::trading_day_midnight_ns(y, m, d).map_err(|e| format!("itch_date: {e}"))?;
        let session = match &spec.session {
            None => None,
            Some(s) => Some(
                s.parse::<Session>()
                    .map_err(|e| format!("session {s:?}: {e}"))?,
            ),
        };
        let mut rc = Self::new(spec.group);
        rc.interface = spec.interface;
        rc.session = session;
        rc.date_midnight_ns = midnight;
        Ok(rc)
    }
}

/// A receiver's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Datagrams received (all of them, good or bad).
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// New messages decoded (handed to the ITCH converter; duplicates not included).
    pub messages: u64,
    /// Events delivered (`FeedGap`s included).
    pub events: u64,
    /// Sequence gaps (each one `FeedGap` event).
    pub gaps: u64,
    /// Messages the gaps skipped.
    pub missing: u64,
    /// Messages dropped because their sequence number was already passed (duplicates and
    /// late, out-of-order packets, wholly or partly).
    pub duplicates: u64,
    /// Packets of which every message was dropped that way.
    pub duplicate_packets: u64,
    /// Packets shorter than the header.
    pub short: u64,
    /// Packets whose message block does not match the header (a length past the end,
    /// trailing bytes) or whose sequence numbers overflow.
    pub malformed: u64,
    /// Messages, in well-formed packets of the session, that are not ITCH 5.0 messages
    /// (unknown type, wrong length): skipped, their sequence numbers consumed.
    pub bad_messages: u64,
    /// Packets of another session.
    pub wrong_session: u64,
    /// Heartbeats.
    pub heartbeats: u64,
    /// End-of-session packets.
    pub end_of_session: u64,
}

impl ReceiverStats {
    /// Packets rejected whole (short, malformed, wrong session).
    pub fn rejected(&self) -> u64 {
        self.short + self.malformed + self.wrong_session
    }
}

/// A reason logged once (`tracing::warn!` at its first occurrence only).
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
enum Warn {
    Short,
    Malformed,
    WrongSession,
    Duplicate,
    BadMessage,
    Gap,
}

/// The packet rules, without a socket: feed it datagrams with
/// [`on_packet`](Self::on_packet). See the [module docs](super) for the rules.
#[derive(Debug)]
pub struct MoldDecoder {
    converter: ItchConverter,
    session: Option<Session>,
    next: Option<u64>,
    stats: ReceiverStats,
    ended: bool,
    warned: u8,
}

impl MoldDecoder {
    /// A decoder for `session` (`None`: adopt the first packet's) expecting `first_sequence`
    /// first (`None`: the first packet's); events of the instruments of `map`.
    pub fn new(
        session: Option<Session>,
        first_sequence: Option<u64>,
        name: impl Into<String>,
        venue_source: u16,
        map: InstrumentMap,
        date_midnight_ns: i64,
    ) -> Self {
        Self {
            converter: ItchConverter::new(name, venue_source, map, date_midnight_ns),
            session,
            next: first_sequence,
            stats: ReceiverStats::default(),
            ended: false,
            warned: 0,
        }
    }

    /// The counters.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// The ITCH converter's counters (skipped messages with reports — their offset is the
    /// message's sequence number —, unmapped stocks, ignored types; `gaps` = `FeedGap`s).
    pub fn feed_stats(&self) -> &FeedStats {
        self.converter.stats()
    }

    /// Messages converted, per ITCH type.
    pub fn message_counts(&self) -> &MessageCounts {
        self.converter.message_counts()
    }

    /// The session (configured or adopted).
    pub fn session(&self) -> Option<Session> {
        self.session
    }

    /// The sequence number expected next.
    pub fn next_sequence(&self) -> Option<u64> {
        self.next
    }

    /// Whether an end-of-session packet of the session arrived.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Applies one datagram received at `receive_ts_ns`: its events go to `out`, in order
    /// (a `FeedGap` first when messages were lost). Never panics, whatever the bytes.
    pub fn on_packet(&mut self, bytes: &[u8], receive_ts_ns: i64, out: &mut impl FnMut(Event)) {
        self.stats.packets += 1;
        self.stats.bytes += bytes.len() as u64;
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(e) => return self.reject_packet(e),
        };
        let h = *packet.header();
        match self.session {
            None => self.session = Some(h.session),
            Some(s) if s != h.session => {
                self.stats.wrong_session += 1;
                if self.first(Warn::WrongSession) {
                    tracing::warn!(
                        expected = %s, got = %h.session, sequence = h.sequence,
                        "MoldUDP64 packet of another session rejected (counted; logged once)"
                    );
                }
                return;
            }
            Some(_) => {}
        }
        let count = u64::from(h.message_count());
        let Some(end) = h.sequence.checked_add(count) else {
            self.stats.malformed += 1;
            if self.first(Warn::Malformed) {
                tracing::warn!(
                    sequence = h.sequence,
                    count,
                    "MoldUDP64 packet rejected: sequence numbers overflow (counted; logged once)"
                );
            }
            return;
        };
        let expected = *self.next.get_or_insert(h.sequence);
        match h.kind() {
            PacketKind::Heartbeat => self.stats.heartbeats += 1,
            PacketKind::EndOfSession => {
                self.stats.end_of_session += 1;
                self.ended = true;
            }
            PacketKind::Messages => {}
        }
        let expected = if h.sequence > expected {
            self.gap(expected, h.sequence, receive_ts_ns, out);
            h.sequence
        } else {
            expected
        };
        if count == 0 {
            // Heartbeat or end of session: its sequence number is the next message's.
            self.next = Some(expected);
            return;
        }
        if end <= expected {
            self.stats.duplicates += count;
            self.stats.duplicate_packets += 1;
            self.warn_duplicate(h.sequence, count, expected);
            return;
        }
        let seen = expected - h.sequence;
        if seen > 0 {
            self.stats.duplicates += seen;
            self.warn_duplicate(h.sequence, count, expected);
        }
        // Messages first: the range is not advanced past the last message (`end` may be
        // u64::MAX).
        for (msg, sequence) in packet.messages().zip(h.sequence..) {
            if sequence >= expected {
                self.message(sequence, msg, receive_ts_ns, out);
            }
        }
        self.next = Some(end);
    }

    #[inline]
    fn message(
        &mut self,
        sequence: u64,
        msg: &[u8],
        receive_ts_ns: i64,
        out: &mut impl FnMut(Event),
    ) {
        let ty = msg.first().copied().unwrap_or(0);
        if message_len(ty) != Some(msg.len()) {
            self.stats.bad_messages += 1;
            if self.first(Warn::BadMessage) {
                tracing::warn!(
                    sequence,
                    ty,
                    len = msg.len(),
                    "MoldUDP64 message is not an ITCH 5.0 message (unknown type or wrong \
                     length): skipped (counted; logged once)"
                );
            }
            return;
        }
        self.stats.messages += 1;
        if let Some(mut event) = self.converter.convert(sequence, msg) {
            event.header.receive_ts_ns = receive_ts_ns;
            self.stats.events += 1;
            out(event);
        }
    }

    #[cold]
    fn gap(
        &mut self,
        expected: u64,
        received: u64,
        receive_ts_ns: i64,
        out: &mut impl FnMut(Event),
    ) {
        self.stats.gaps += 1;
        self.stats.missing += received - expected;
        if self.first(Warn::Gap) {
            tracing::warn!(
                expected,
                received,
                "MoldUDP64 sequence gap: {} messages lost (FeedGap event; further gaps counted, \
                 not logged)",
                received - expected
            );
        }
        let mut event = self.converter.gap(expected, received);
        event.header.receive_ts_ns = receive_ts_ns;
        self.stats.events += 1;
        out(event);
    }

    #[cold]
    fn reject_packet(&mut self, e: PacketError) {
        let warn = if let PacketError::Short { .. } = e {
            self.stats.short += 1;
            Warn::Short
        } else {
            self.stats.malformed += 1;
            Warn::Malformed
        };
        if self.first(warn) {
            tracing::warn!(reason = %e, "MoldUDP64 packet rejected (counted; logged once)");
        }
    }

    #[cold]
    fn warn_duplicate(&mut self, sequence: u64, count: u64, expected: u64) {
        if self.first(Warn::Duplicate) {
            tracing::warn!(
                sequence,
                count,
                expected,
                "MoldUDP64 packet duplicated or out of order: messages before the expected \
                 sequence number dropped (counted; logged once)"
            );
        }
    }

    /// Whether `w` is seen for the first time (and marks it seen).
    fn first(&mut self, w: Warn) -> bool {
        let bit = 1u8 << (w as u8);
        let first = self.warned & bit == 0;
        self.warned |= bit;
        first
    }
}

/// Why a receiver could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{what} ({group} on {interface}): {source}")]
pub struct ReceiverError {
    /// The call that failed.
    pub what: &'static str,
    /// The group.
    pub group: SocketAddrV4,
    /// The interface.
    pub interface: Ipv4Addr,
    /// The error.
    pub source: io::Error,
}

impl ReceiverError {
    /// The error maker for step `what` of setting up `config`'s socket.
    fn on(config: &ReceiverConfig, what: &'static str) -> impl FnOnce(io::Error) -> Self {
        let (group, interface) = (config.group, config.interface);
        move |source| Self {
            what,
            group,
            interface,
            source,
        }
    }
}

/// The receiver's socket set-up, alone (for a bare-receive floor with the same socket):
/// `SO_REUSEADDR`, `SO_RCVBUF` asked for, bound to the group's address and port (so that it
/// gets that group's datagrams only), `IP_MULTICAST_ALL` off, the group joined on the
/// interface, non-blocking. Returns the socket and the receive buffer the kernel granted.
pub fn multicast_socket(config: &ReceiverConfig) -> Result<(UdpSocket, usize), ReceiverError> {
    let (group, interface) = (config.group, config.interface);
    let err = |what| ReceiverError::on(config, what);
    let socket =
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(err("socket"))?;
    socket
        .set_reuse_address(true)
        .map_err(err("SO_REUSEADDR"))?;
    socket
        .set_recv_buffer_size(config.recv_buffer_bytes)
        .map_err(err("SO_RCVBUF"))?;
    let recv_buffer_bytes = socket.recv_buffer_size().map_err(err("SO_RCVBUF"))?;
    if group.ip().is_multicast() {
        #[cfg(target_os = "linux")]
        socket
            .set_multicast_all_v4(false)
            .map_err(err("IP_MULTICAST_ALL"))?;
        socket
            .bind(&SocketAddr::V4(group).into())
            .map_err(err("bind"))?;
        socket
            .join_multicast_v4(group.ip(), &interface)
            .map_err(err("IP_ADD_MEMBERSHIP"))?;
    } else {
        socket
            .bind(&SocketAddr::V4(group).into())
            .map_err(err("bind"))?;
    }
    socket.set_nonblocking(true).map_err(err("O_NONBLOCK"))?;
    Ok((socket.into(), recv_buffer_bytes))
}

const SOCKET: Token = Token(0);

/// The most events one datagram can give: a `feed_gap`, then per message at most one
/// event, messages of at least 12 bytes (the shortest ITCH message, a system event, whose
/// length prefix makes it 14) in the largest UDP payload.
pub const MAX_EVENTS_PER_DATAGRAM: usize = 1 + MAX_UDP_PAYLOAD / 14;

/// Where a receiver reads packet receive times from: ns since the Unix epoch.
pub trait Clock {
    /// Now, ns since the Unix epoch.
    fn now_ns(&mut self) -> i64;
}

/// `CLOCK_REALTIME` through the engine's clock seam (a vDSO read, no syscall).
#[derive(Debug, Default, Clone, Copy)]
pub struct RealtimeClock;

impl Clock for RealtimeClock {
    #[inline]
    fn now_ns(&mut self) -> i64 {
        wall_ns()
    }
}

/// Any closure returning ns since the epoch (tests, simulated time).
impl<F: FnMut() -> i64> Clock for F {
    #[inline]
    fn now_ns(&mut self) -> i64 {
        self()
    }
}

/// A multicast MoldUDP64/ITCH receiver: a non-blocking socket, a packet buffer and a
/// [`MoldDecoder`], all set up at start-up; polling allocates nothing (but the converter's
/// order index growing with live orders and its first 32 skip reports).
pub struct Receiver<C: Clock = RealtimeClock> {
    socket: mio::net::UdpSocket,
    poll: Poll,
    events: Events,
    buf: Box<[u8]>,
    decoder: MoldDecoder,
    clock: C,
    recv_buffer_bytes: usize,
}

impl<C: Clock> std::fmt::Debug for Receiver<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("socket", &self.socket)
            .field("decoder", &self.decoder)
            .field("recv_buffer_bytes", &self.recv_buffer_bytes)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver stamping packets with `CLOCK_REALTIME`.
    pub fn open(config: &ReceiverConfig, map: InstrumentMap) -> Result<Self, ReceiverError> {
        Self::with_clock(config, map, RealtimeClock)
    }
}

impl<C: Clock> Receiver<C> {
    /// A receiver stamping packets with `clock`: the socket of [`multicast_socket`]
    /// registered with its own `mio::Poll`.
    pub fn with_clock(
        config: &ReceiverConfig,
        map: InstrumentMap,
        clock: C,
    ) -> Result<Self, ReceiverError> {
        let err = |what| ReceiverError::on(config, what);
        let (std_socket, recv_buffer_bytes) = multicast_socket(config)?;
        let mut socket = mio::net::UdpSocket::from_std(std_socket);
        let poll = Poll::new().map_err(err("epoll_create"))?;
        poll.registry()
            .register(&mut socket, SOCKET, Interest::READABLE)
            .map_err(err("epoll_ctl"))?;
        let decoder = MoldDecoder::new(
            config.session,
            config.first_sequence,
            format!("udp://{}", config.group),
            config.venue_source,
            map,
            config.date_midnight_ns,
        );
        Ok(Self {
            socket,
            poll,
            events: Events::with_capacity(4),
            // One byte more than the largest UDP payload: a datagram never fills it.
            buf: vec![0u8; MAX_UDP_PAYLOAD + 1].into_boxed_slice(),
            decoder,
            clock,
            recv_buffer_bytes,
        })
    }

    /// Reads every datagram readable now, without blocking, and hands their events to
    /// `out`; returns the number of datagrams read (0: nothing was there). For a polling
    /// feed thread: no allocation, one `recvfrom` per datagram plus the final `EAGAIN`.
    pub fn poll(&mut self, out: &mut impl FnMut(Event)) -> io::Result<usize> {
        let mut n = 0;
        while self.poll_one(out)? {
            n += 1;
        }
        Ok(n)
    }

    /// Reads at most one datagram, without blocking, and hands its events to `out` (at most
    /// [`MAX_EVENTS_PER_DATAGRAM`]); whether there was one. For a caller that bounds what
    /// it takes per call.
    pub fn poll_one(&mut self, out: &mut impl FnMut(Event)) -> io::Result<bool> {
        loop {
            match self.socket.recv(&mut self.buf) {
                Ok(len) => {
                    let ts = self.clock.now_ns();
                    let bytes = self.buf.get(..len).unwrap_or(&[]);
                    self.decoder.on_packet(bytes, ts, out);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// [`poll`](Self::poll), waiting up to `timeout` (through `epoll`) if nothing is
    /// readable. Returns 0 on timeout.
    pub fn poll_timeout(
        &mut self,
        timeout: Duration,
        out: &mut impl FnMut(Event),
    ) -> io::Result<usize> {
        let n = self.poll(out)?;
        if n > 0 {
            return Ok(n);
        }
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(0),
            Err(e) => return Err(e),
        }
        self.poll(out)
    }

    /// Polls until `done` says so or `timeout` passes without a single datagram; returns
    /// whether `done` was reached (tests and tools).
    pub fn run_until(
        &mut self,
        idle_timeout: Duration,
        out: &mut impl FnMut(Event),
        mut done: impl FnMut(&MoldDecoder) -> bool,
    ) -> io::Result<bool> {
        let mut last = monotonic();
        while !done(&self.decoder) {
            let n = self.poll_timeout(idle_timeout.min(Duration::from_millis(50)), out)?;
            let now = monotonic();
            if n > 0 {
                last = now;
            } else if now.duration_since(last) >= idle_timeout {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The decoder (counters, session, next sequence number).
    pub fn decoder(&self) -> &MoldDecoder {
        &self.decoder
    }

    /// The counters.
    pub fn stats(&self) -> &ReceiverStats {
        self.decoder.stats()
    }

    /// Whether the session ended.
    pub fn is_ended(&self) -> bool {
        self.decoder.is_ended()
    }

    /// `SO_RCVBUF` as granted by the kernel.
    pub fn recv_buffer_bytes(&self) -> usize {
        self.recv_buffer_bytes
    }

    /// The socket's local address (the group and port).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}
