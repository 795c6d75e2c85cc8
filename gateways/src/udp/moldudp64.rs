//! The MoldUDP64 packet codec: zero-copy parsing with typed errors, and a packet builder
//! over a preallocated buffer (the format is in the [module docs](super)).

use std::fmt;
use std::str::FromStr;

/// Bytes of the session name.
pub const SESSION_LEN: usize = 10;
/// Bytes of the packet header: session, sequence number (u64 BE), message count (u16 BE).
pub const HEADER_LEN: usize = SESSION_LEN + 8 + 2;
/// Bytes of each message's length prefix (u16 BE).
pub const LENGTH_PREFIX: usize = 2;
/// The message count of an end-of-session packet.
pub const END_OF_SESSION: u16 = 0xFFFF;
/// The default largest packet (header included) the publisher sends: fits a 1500-byte
/// Ethernet MTU with IP and UDP headers and some room for tunnels.
pub const DEFAULT_MAX_PACKET: usize = 1400;
/// The largest UDP payload over IPv4 (what a receive buffer must hold).
pub const MAX_UDP_PAYLOAD: usize = 65_507;

const _: () = assert!(HEADER_LEN == 20);
const _: () = assert!(DEFAULT_MAX_PACKET <= MAX_UDP_PAYLOAD);

/// A MoldUDP64 session name: 10 bytes, printable ASCII, right-padded with spaces.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Session(pub [u8; SESSION_LEN]);

/// Why a text is not a session name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// More than [`SESSION_LEN`] bytes.
    #[error("session name {0:?} is longer than 10 bytes")]
    TooLong(String),
    /// A byte that is not printable ASCII.
    #[error("session name {0:?} is not printable ASCII")]
    NotPrintable(String),
}

impl Session {
    /// The name's bytes.
    pub const fn bytes(&self) -> &[u8; SESSION_LEN] {
        &self.0
    }
}

impl FromStr for Session {
    type Err = SessionError;

    /// `"TEST"` → `"TEST      "`.
    fn from_str(s: &str) -> Result<Self, SessionError> {
        if s.len() > SESSION_LEN {
            return Err(SessionError::TooLong(s.to_owned()));
        }
        if !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(SessionError::NotPrintable(s.to_owned()));
        }
        let mut out = [b' '; SESSION_LEN];
        out[..s.len()].copy_from_slice(s.as_bytes());
        Ok(Self(out))
    }
}

/// The name, non-printable bytes escaped.
impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if (0x20..0x7f).contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Session(\"{self}\")")
    }
}

/// Why bytes are not a MoldUDP64 packet. Offsets count from the packet's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Shorter than the 20-byte header.
    #[error("short packet: {len} bytes, the header alone is 20")]
    Short {
        /// The packet's length.
        len: usize,
    },
    /// A message's length prefix is cut by the end of the packet.
    #[error(
        "message {index} of {count}: length prefix at offset {offset} is cut by the packet's \
         end ({len} bytes)"
    )]
    PrefixPastEnd {
        /// The message's index in the packet (from 0).
        index: u16,
        /// The packet's message count.
        count: u16,
        /// The prefix's offset.
        offset: usize,
        /// The packet's length.
        len: usize,
    },
    /// A message runs past the end of the packet.
    #[error(
        "message {index} of {count}: {msg_len} bytes at offset {offset} run past the packet's \
         end ({len} bytes)"
    )]
    MessagePastEnd {
        /// The message's index in the packet (from 0).
        index: u16,
        /// The packet's message count.
        count: u16,
        /// The message's offset (after its prefix).
        offset: usize,
        /// The message's length prefix.
        msg_len: u16,
        /// The packet's length.
        len: usize,
    },
    /// Bytes after the last message (or after the header of a heartbeat or end-of-session
    /// packet).
    #[error("{extra} bytes after the last of {count} messages, from offset {offset}")]
    Trailing {
        /// The message count.
        count: u16,
        /// Where the extra bytes start.
        offset: usize,
        /// How many.
        extra: usize,
    },
}

/// What a packet is, by its message count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// `count` ≥ 1 messages.
    Messages,
    /// No message: the sequence number is the next one the sender will use.
    Heartbeat,
    /// The session is over: the sequence number is one past the last message.
    EndOfSession,
}

/// A packet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The session.
    pub session: Session,
    /// The sequence number of the first message (of the next message for a heartbeat or an
    /// end-of-session packet).
    pub sequence: u64,
    /// The message count ([`END_OF_SESSION`] for an end-of-session packet).
    pub count: u16,
}

impl Header {
    /// What kind of packet the count says.
    pub const fn kind(&self) -> PacketKind {
        match self.count {
            0 => PacketKind::Heartbeat,
            END_OF_SESSION => PacketKind::EndOfSession,
            _ => PacketKind::Messages,
        }
    }

    /// Messages carried (0 for heartbeats and end of session).
    pub const fn message_count(&self) -> u16 {
        match self.kind() {
            PacketKind::Messages => self.count,
            _ => 0,
        }
    }

    /// Writes the header into `out[..HEADER_LEN]` (`out` must be at least that long).
    pub fn write(&self, out: &mut [u8; HEADER_LEN]) {
        out[..SESSION_LEN].copy_from_slice(&self.session.0);
        out[SESSION_LEN..SESSION_LEN + 8].copy_from_slice(&self.sequence.to_be_bytes());
        out[SESSION_LEN + 8..].copy_from_slice(&self.count.to_be_bytes());
    }
}

/// A validated packet: its header and its message block, every length checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    header: Header,
    /// The message block (after the header).
    block: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses and validates `bytes` as one packet: the header, then every message's length
    /// prefix against the end of the packet; no byte may follow the last message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, PacketError> {
        let Some((head, block)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(PacketError::Short { len: bytes.len() });
        };
        let header = parse_header(head);
        let count = header.message_count();
        let mut at = 0usize;
        for index in 0..count {
            let Some(&[p0, p1]) = block.get(at..at + LENGTH_PREFIX) else {
                return Err(PacketError::PrefixPastEnd {
                    index,
                    count,
                    offset: HEADER_LEN + at,
                    len: bytes.len(),
                });
            };
            let msg_len = u16::from_be_bytes([p0, p1]);
            let start = at + LENGTH_PREFIX;
            let end = start + usize::from(msg_len);
            if end > block.len() {
                return Err(PacketError::MessagePastEnd {
                    index,
                    count,
                    offset: HEADER_LEN + start,
                    msg_len,
                    len: bytes.len(),
                });
            }
            at = end;
        }
        if at != block.len() {
            return Err(PacketError::Trailing {
                count,
                offset: HEADER_LEN + at,
                extra: block.len() - at,
            });
        }
        Ok(Self { header, block })
    }

    /// The header.
    pub const fn header(&self) -> &Header {
        &self.header
    }

    /// The messages, in order (each without its length prefix).
    pub fn messages(&self) -> Messages<'a> {
        Messages {
            rest: self.block,
            left: self.header.message_count(),
        }
    }
}

/// The header of a packet at least [`HEADER_LEN`] long.
fn parse_header(head: &[u8; HEADER_LEN]) -> Header {
    let (session, rest) = head.split_at(SESSION_LEN);
    let (seq, count) = rest.split_at(8);
    let mut s = [0u8; SESSION_LEN];
    s.copy_from_slice(session);
    let mut q = [0u8; 8];
    q.copy_from_slice(seq);
    Header {
        session: Session(s),
        sequence: u64::from_be_bytes(q),
        count: u16::from_be_bytes([count[0], count[1]]),
    }
}

/// Only the header of `bytes` (no validation of the message block), or why not.
pub fn peek_header(bytes: &[u8]) -> Result<Header, PacketError> {
    match bytes.first_chunk::<HEADER_LEN>() {
        Some(head) => Ok(parse_header(head)),
        None => Err(PacketError::Short { len: bytes.len() }),
    }
}

/// The messages of a validated [`Packet`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        // Validated by `Packet::parse`; `get` keeps a broken invariant from panicking.
        let (prefix, rest) = self.rest.split_first_chunk::<LENGTH_PREFIX>()?;
        let len = usize::from(u16::from_be_bytes(*prefix));
        let msg = rest.get(..len)?;
        self.rest = rest.get(len..)?;
        self.left -= 1;
        Some(msg)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}

/// Why a message cannot be added to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The message would not fit in an empty packet of the builder's size.
    #[error("a {len}-byte message does not fit a packet of at most {max_packet} bytes")]
    TooLong {
        /// The message's length.
        len: usize,
        /// The builder's packet size.
        max_packet: usize,
    },
    /// The packet is full (send it and start the next).
    #[error("packet full")]
    Full,
}

/// Builds packets of at most `max_packet` bytes (header included) in a buffer allocated
/// once.
#[derive(Debug, Clone)]
pub struct PacketBuilder {
    buf: Vec<u8>,
    max_packet: usize,
    session: Session,
    /// The sequence number of the packet being built's first message.
    sequence: u64,
    count: u16,
    /// `buf` holds a finished packet: the next push starts over.
    finished: bool,
}

impl PacketBuilder {
    /// A builder for `session` whose first message will have sequence `first_sequence`;
    /// `max_packet` is clamped to `HEADER_LEN + 3 ..= MAX_UDP_PAYLOAD`.
    pub fn new(session: Session, first_sequence: u64, max_packet: usize) -> Self {
        let max_packet = max_packet.clamp(HEADER_LEN + LENGTH_PREFIX + 1, MAX_UDP_PAYLOAD);
        let mut buf = Vec::with_capacity(max_packet);
        buf.resize(HEADER_LEN, 0);
        Self {
            buf,
            max_packet,
            session,
            sequence: first_sequence,
            count: 0,
            finished: false,
        }
    }

    /// The session.
    pub fn session(&self) -> Session {
        self.session
    }

    /// The largest packet, header included.
    pub fn max_packet(&self) -> usize {
        self.max_packet
    }

    /// Messages in the packet being built.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The sequence number of the next message pushed.
    pub fn next_sequence(&self) -> u64 {
        self.sequence + u64::from(self.count)
    }

    /// Adds `msg` to the packet being built: [`PushError::Full`] when it does not fit
    /// (finish the packet and push again).
    pub fn push(&mut self, msg: &[u8]) -> Result<(), PushError> {
        if self.finished {
            self.buf.truncate(HEADER_LEN);
            self.finished = false;
        }
        let too_long = PushError::TooLong {
            len: msg.len(),
            max_packet: self.max_packet,
        };
        let Ok(len) = u16::try_from(msg.len()) else {
            return Err(too_long);
        };
        let need = LENGTH_PREFIX + msg.len();
        if HEADER_LEN + need > self.max_packet {
            return Err(too_long);
        }
        if self.buf.len() + need > self.max_packet || self.count >= END_OF_SESSION - 1 {
            return Err(PushError::Full);
        }
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(msg);
        self.count += 1;
        Ok(())
    }

    /// The finished packet (header written now) if it holds any message; the builder then
    /// starts the next packet at the following sequence number.
    pub fn finish(&mut self) -> Option<&[u8]> {
        if self.count == 0 {
            return None;
        }
        let header = Header {
            session: self.session,
            sequence: self.sequence,
            count: self.count,
        };
        self.sequence += u64::from(self.count);
        self.count = 0;
        self.finished = true;
        let head = self.buf.first_chunk_mut::<HEADER_LEN>()?;
        header.write(head);
        Some(&self.buf)
    }

    /// A heartbeat (`count` 0) carrying the next sequence number; the packet being built,
    /// if any, is not touched.
    pub fn heartbeat(&self) -> [u8; HEADER_LEN] {
        self.control(0)
    }

    /// An end-of-session packet (`count` 0xFFFF) carrying the next sequence number.
    pub fn end_of_session(&self) -> [u8; HEADER_LEN] {
        self.control(END_OF_SESSION)
    }

    fn control(&self, count: u16) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        Header {
            session: self.session,
            sequence: self.next_sequence(),
            count,
        }
        .write(&mut out);
        out
    }
}

/// Encodes one packet of `messages` into a new vector (for tests and tools; the publisher
/// uses a [`PacketBuilder`]). `count` is the number of messages, or pass an explicit
/// header count through [`Header::write`] for malformed packets.
pub fn encode(session: Session, sequence: u64, messages: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_LEN];
    let count = u16::try_from(messages.len()).unwrap_or(END_OF_SESSION - 1);
    if let Some(head) = out.first_chunk_mut::<HEADER_LEN>() {
        Header {
            session,
            sequence,
            count,
        }
        .write(head);
    }
    for m in messages.iter().take(usize::from(count)) {
        let len = u16::try_from(m.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&m[..usize::from(len)]);
    }
    out
}
