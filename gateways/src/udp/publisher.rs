//! [`Publisher`]: ITCH messages packed into MoldUDP64 packets and sent to a multicast
//! group; [`publish_file`] replays an ITCH file that way.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::moldudp64::{PacketBuilder, PushError, Session, DEFAULT_MAX_PACKET};
use crate::feed::{open_maybe_gz, OpenError};
use crate::itch::{Frame, Framer};
use tickrail_engine::runtime::clock::monotonic;

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// The multicast group and port (any IPv4 address works; a unicast one sends unicast).
    pub group: SocketAddrV4,
    /// The interface to send from (`IP_MULTICAST_IF`, and the bound source address):
    /// `127.0.0.1` for loopback.
    pub interface: Ipv4Addr,
    /// `IP_MULTICAST_TTL` (0: this host only; 1: the local network).
    pub ttl: u32,
    /// `IP_MULTICAST_LOOP`: deliver to receivers on this host (needed on loopback).
    pub loopback: bool,
    /// The session name in every packet.
    pub session: Session,
    /// The sequence number of the first message.
    pub first_sequence: u64,
    /// The largest packet, header included.
    pub max_packet: usize,
    /// At most this many messages per second (`None`: as fast as the socket takes them).
    pub rate: Option<u64>,
    /// A heartbeat is sent after this long without a packet (while paced).
    pub heartbeat_interval: Duration,
}

impl PublisherConfig {
    /// Loopback defaults for `group`: interface 127.0.0.1, TTL 0, loop on, session
    /// `TICKRAIL`, first sequence 1, 1400-byte packets, no rate limit, 1 s heartbeats.
    pub fn new(group: SocketAddrV4) -> Self {
        Self {
            group,
            interface: Ipv4Addr::LOCALHOST,
            ttl: 0,
            loopback: true,
            session: Session(*b"TICKRAIL  "),
            first_sequence: 1,
            max_packet: DEFAULT_MAX_PACKET,
            rate: None,
            heartbeat_interval: Duration::from_secs(1),
        }
    }
}

/// What a publisher sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// ITCH messages sent.
    pub messages: u64,
    /// Packets with messages sent.
    pub packets: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// End-of-session packets sent.
    pub end_of_session: u64,
    /// UDP payload bytes sent (all packets).
    pub bytes: u64,
    /// Frames of the file the framer skipped (bad length prefix, unknown type).
    pub skipped_frames: u64,
    /// Why the file's framing stopped early (truncated end, unframeable type), if it did.
    pub fatal: Option<String>,
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The file cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Reading the file failed.
    #[error("{file}: offset {offset}: read error: {source}")]
    Read {
        /// The file.
        file: String,
        /// Where.
        offset: u64,
        /// The error.
        source: io::Error,
    },
    /// A socket call failed.
    #[error("{what} ({group}): {source}")]
    Socket {
        /// The call.
        what: &'static str,
        /// The group.
        group: SocketAddrV4,
        /// The error.
        source: io::Error,
    },
    /// A message longer than a packet.
    #[error("offset {offset}: {source}")]
    Message {
        /// The file offset of its frame.
        offset: u64,
        /// The error.
        source: PushError,
    },
}

/// Sends ITCH messages as MoldUDP64 packets to one group (blocking sends, one packet
/// buffer allocated once).
#[derive(Debug)]
pub struct Publisher {
    socket: UdpSocket,
    config: PublisherConfig,
    builder: PacketBuilder,
    stats: PublishStats,
    last_send: std::time::Instant,
}

impl Publisher {
    /// A UDP socket bound to `interface:0`, with `IP_MULTICAST_IF`, `IP_MULTICAST_TTL`
    /// and `IP_MULTICAST_LOOP` set, connected to the group.
    pub fn new(config: PublisherConfig) -> Result<Self, PublishError> {
        let group = config.group;
        let err = |what| {
            move |source| PublishError::Socket {
                what,
                group,
                source,
            }
        };
        let socket =
            Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(err("socket"))?;
        if group.ip().is_multicast() {
            socket
                .set_multicast_if_v4(&config.interface)
                .map_err(err("IP_MULTICAST_IF"))?;
            socket
                .set_multicast_ttl_v4(config.ttl)
                .map_err(err("IP_MULTICAST_TTL"))?;
            socket
                .set_multicast_loop_v4(config.loopback)
                .map_err(err("IP_MULTICAST_LOOP"))?;
        }
        let local = SocketAddr::V4(SocketAddrV4::new(config.interface, 0));
        socket.bind(&local.into()).map_err(err("bind"))?;
        socket
            .connect(&SocketAddr::V4(group).into())
            .map_err(err("connect"))?;
        let builder = PacketBuilder::new(config.session, config.first_sequence, config.max_packet);
        Ok(Self {
            socket: socket.into(),
            config,
            builder,
            stats: PublishStats::default(),
            last_send: monotonic(),
        })
    }

    /// What was sent so far.
    pub fn stats(&self) -> &PublishStats {
        &self.stats
    }

    /// The sequence number the next message will get.
    pub fn next_sequence(&self) -> u64 {
        self.builder.next_sequence()
    }

    /// The configuration.
    pub fn config(&self) -> &PublisherConfig {
        &self.config
    }

    /// The socket's local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Adds one ITCH message (type byte first, no length prefix) to the current packet,
    /// sending the packet first if the message does not fit.
    pub fn push(&mut self, msg: &[u8]) -> Result<(), PublishError> {
        match self.builder.push(msg) {
            Ok(()) => Ok(()),
            Err(PushError::Full) => {
                self.flush()?;
                self.builder
                    .push(msg)
                    .map_err(|source| PublishError::Message { offset: 0, source })
            }
            Err(source) => Err(PublishError::Message { offset: 0, source }),
        }
    }

    /// Sends the current packet, if it holds any message.
    pub fn flush(&mut self) -> Result<(), PublishError> {
        let group = self.config.group;
        let Some(packet) = self.builder.finish() else {
            return Ok(());
        };
        let n = packet.len() as u64;
        let count = u64::from(super::moldudp64::peek_header(packet).map_or(0, |h| h.count));
        send(&self.socket, packet, group)?;
        self.stats.packets += 1;
        self.stats.messages += count;
        self.stats.bytes += n;
        self.last_send = monotonic();
        Ok(())
    }

    /// Sends a heartbeat (the current packet first, if any).
    pub fn heartbeat(&mut self) -> Result<(), PublishError> {
        self.flush()?;
        let hb = self.builder.heartbeat();
        send(&self.socket, &hb, self.config.group)?;
        self.stats.heartbeats += 1;
        self.stats.bytes += hb.len() as u64;
        self.last_send = monotonic();
        Ok(())
    }

    /// Sends the current packet, if any, then an end-of-session packet.
    pub fn end_session(&mut self) -> Result<(), PublishError> {
        self.flush()?;
        let eos = self.builder.end_of_session();
        send(&self.socket, &eos, self.config.group)?;
        self.stats.end_of_session += 1;
        self.stats.bytes += eos.len() as u64;
        self.last_send = monotonic();
        Ok(())
    }

    /// Sends `packet` as it is (tests and tools: hand-made, possibly malformed packets;
    /// not counted).
    pub fn send_raw(&mut self, packet: &[u8]) -> Result<(), PublishError> {
        send(&self.socket, packet, self.config.group)
    }

    /// Waits until `due` (monotonic), sending the current packet first and heartbeats
    /// every `heartbeat_interval` without a packet.
    fn wait_until(&mut self, due: std::time::Instant) -> Result<(), PublishError> {
        self.flush()?;
        loop {
            let now = monotonic();
            if now >= due {
                return Ok(());
            }
            let next_heartbeat = self.last_send + self.config.heartbeat_interval;
            if now >= next_heartbeat {
                self.heartbeat()?;
                continue;
            }
            std::thread::sleep(due.min(next_heartbeat) - now);
        }
    }
}

fn send(socket: &UdpSocket, packet: &[u8], group: SocketAddrV4) -> Result<(), PublishError> {
    loop {
        match socket.send(packet) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(PublishError::Socket {
                    what: "send",
                    group,
                    source,
                })
            }
        }
    }
}

/// How far ahead of the pace the sender must be before it sends what it holds and sleeps.
const PACE_SLACK: Duration = Duration::from_micros(200);

/// Replays the ITCH file at `path` (`.gz` decompressed; zero or real length prefixes, see
/// [`Framer`]) as MoldUDP64 packets: every framed message in file order, packed up to
/// `max_packet`, paced to `rate` messages/s if set (the packet in hand is sent before each
/// pause, and heartbeats go out during long pauses), then an end-of-session packet.
/// Frames the framer skips are counted, not sent.
pub fn publish_file(path: &Path, config: PublisherConfig) -> Result<PublishStats, PublishError> {
    let file = path.display().to_string();
    let mut framer = Framer::new(open_maybe_gz(path)?);
    let mut publisher = Publisher::new(config)?;
    let rate = publisher.config.rate.filter(|&r| r > 0);
    let start = monotonic();
    let mut n: u64 = 0;
    loop {
        let position = framer.position();
        let frame = framer.next_frame().map_err(|source| PublishError::Read {
            file: file.clone(),
            offset: position,
            source,
        });
        let (offset, msg) = match frame? {
            Some(Frame::Message { offset, bytes }) => (offset, bytes),
            Some(Frame::Skipped { .. }) => {
                publisher.stats.skipped_frames += 1;
                continue;
            }
            Some(Frame::Fatal { offset, error }) => {
                publisher.stats.fatal = Some(format!("{file}: offset {offset}: {error}"));
                break;
            }
            None => break,
        };
        if let Some(rate) = rate {
            let due = start + pace(n, rate);
            if due > monotonic() + PACE_SLACK {
                publisher.wait_until(due)?;
            }
        }
        push_at(&mut publisher, offset, msg)?;
        n += 1;
    }
    publisher.end_session()?;
    Ok(publisher.stats)
}

fn push_at(p: &mut Publisher, offset: u64, msg: &[u8]) -> Result<(), PublishError> {
    p.push(msg).map_err(|e| match e {
        PublishError::Message { source, .. } => PublishError::Message { offset, source },
        other => other,
    })
}

/// The time message `n` is due at `rate` messages per second, from the start.
fn pace(n: u64, rate: u64) -> Duration {
    let nanos = u128::from(n) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
