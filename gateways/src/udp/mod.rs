//! Market data over UDP multicast: NASDAQ ITCH 5.0 messages in MoldUDP64 packets.
//!
//! - [`moldudp64`]: the packet codec ([`Packet::parse`] validates a datagram zero-copy,
//!   [`PacketBuilder`] packs messages into a preallocated buffer).
//! - [`publisher`]: [`Publisher`] sends packets to a group; [`publish_file`] replays an
//!   ITCH file (`tickrail feed publish`).
//! - [`receiver`]: [`MoldDecoder`] applies the session and sequence rules below and turns
//!   the messages into events with the file adapter's own mapping
//!   ([`ItchConverter`](crate::itch::ItchConverter)); [`Receiver`] feeds it from a
//!   non-blocking multicast socket (`mio`, options through `socket2`), for a polling feed
//!   thread.
//!
//! # Packet format (MoldUDP64)
//!
//! ```text
//! offset  size  field
//!      0    10  session          ASCII, right-padded with spaces
//!     10     8  sequence number  u64 big-endian: the sequence number of the first message
//!     18     2  message count    u16 big-endian: 0 heartbeat, 0xFFFF end of session
//!     20     …  messages         count × (u16 big-endian length, that many bytes)
//! ```
//!
//! Messages are numbered from the packet's sequence number on, one per message. A
//! heartbeat or end-of-session packet carries no message; its sequence number is the next
//! message's. A packet is rejected whole — counted, and logged once per reason with
//! `tracing::warn!` — when it is shorter than the header ([`PacketError::Short`]), when a
//! length prefix or a message runs past its end ([`PacketError::PrefixPastEnd`],
//! [`PacketError::MessagePastEnd`]) or bytes follow the last message
//! ([`PacketError::Trailing`]), or when its sequence numbers overflow. Each message is an
//! ITCH 5.0 message without the ITCH file framing's own length prefix; one that is not
//! (unknown type byte, length not its type's) is skipped and counted
//! ([`ReceiverStats::bad_messages`]), its sequence number consumed.
//!
//! # Session and sequence rules
//!
//! - **Session**: the configured one, or the first well-formed packet's. A packet of
//!   another session is counted in [`ReceiverStats::wrong_session`] and dropped; it does
//!   not move the expected sequence number.
//! - **Expected sequence**: the configured first sequence number (1 by default), or the
//!   first packet's. After a packet of `count` messages at sequence `s` it is `s + count`.
//! - `s == expected`: every message is decoded.
//! - `s > expected` (messages lost — also when a heartbeat or end-of-session packet says
//!   so): one `FeedGap { expected, received: s }` event goes out first, for every
//!   instrument of the source ([`ALL_INSTRUMENTS`](crate::itch::ALL_INSTRUMENTS)), with the
//!   last message's exchange time; [`ReceiverStats::gaps`] += 1,
//!   [`ReceiverStats::missing`] += `s - expected`; decoding goes on from `s`. There is no
//!   retransmission request: lost messages stay lost, and a late packet that fills the
//!   hole is dropped by the next rule.
//! - `s < expected` (a duplicate, or a late, out-of-order packet): its messages below
//!   `expected` are dropped and counted in [`ReceiverStats::duplicates`] (and the packet in
//!   [`ReceiverStats::duplicate_packets`] when none is left); those from `expected` on are
//!   decoded.
//! - An end-of-session packet sets [`MoldDecoder::is_ended`].
//!
//! # Events
//!
//! Exactly the events [`ItchSource`](crate::itch::ItchSource) yields for the same messages
//! (same mapping, same skips, same `sequence` numbering, the `FeedGap`s taking their
//! numbers in the stream), except `receive_ts_ns`: the time the datagram was read, from the
//! receiver's [`Clock`] (`CLOCK_REALTIME` by default), one reading per datagram.
//!
//! # Multicast on loopback
//!
//! Tests and tools join groups on 127.0.0.1. On Linux this needs no `MULTICAST` flag on
//! `lo` and no route: the receiver joins with `IP_ADD_MEMBERSHIP` on 127.0.0.1 and the
//! sender sets `IP_MULTICAST_IF` to 127.0.0.1 with `IP_MULTICAST_LOOP` on. Without
//! `IP_MULTICAST_IF` a sender follows the routing table (the default route, usually
//! `eth0`), and the loopback member never sees the datagrams.

pub mod craft;
pub mod moldudp64;
pub mod publisher;
pub mod receiver;

#[cfg(test)]
mod tests;

pub use moldudp64::{
    encode, peek_header, Header, Packet, PacketBuilder, PacketError, PacketKind, PushError,
    Session, SessionError, DEFAULT_MAX_PACKET, END_OF_SESSION, HEADER_LEN, MAX_UDP_PAYLOAD,
    SESSION_LEN,
};
pub use publisher::{publish_file, PublishError, PublishStats, Publisher, PublisherConfig};
pub use receiver::{
    multicast_socket, MoldDecoder, Receiver, ReceiverConfig, ReceiverError, ReceiverStats,
    MAX_EVENTS_PER_DATAGRAM,
};
pub use receiver::{Clock, RealtimeClock};
