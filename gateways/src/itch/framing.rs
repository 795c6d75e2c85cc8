//! Splitting an ITCH byte stream into messages, streaming through a [`BufRead`].
//!
//! A standard ITCH 5.0 file is a sequence of frames: a 2-byte big-endian length, then that
//! many bytes of message (type byte first). Some files — the repository's sample among
//! them — carry zeroed length prefixes; their messages are framed by the type's fixed size
//! ([`message_len`]). [`Framer`] accepts both, frame by frame:
//!
//! - prefix 0: the frame is the type's fixed size;
//! - prefix equal to the type's size: the frame is that long;
//! - any other non-zero prefix: a [`FrameError::LengthMismatch`] — the frame is skipped by
//!   its length prefix (resynchronising on the next frame) and reported;
//! - an unknown type byte with a non-zero prefix: [`FrameError::UnknownType`], skipped by
//!   the prefix likewise;
//! - an unknown type byte with a zero prefix: nothing says where the next frame starts, so
//!   framing stops there ([`Frame::Fatal`], [`FrameError::Unframeable`]);
//! - a frame cut short by the end of the stream: [`Frame::Fatal`],
//!   [`FrameError::Truncated`].
//!
//! Messages are handed out zero-copy, as a slice of the reader's own buffer; a frame that
//! straddles two buffer fills is copied into a small fixed array inside the framer. Memory
//! is the reader's buffer plus [`MAX_FRAME_LEN`] bytes, whatever the stream's size.

use std::io::{self, BufRead};

use super::messages::{message_len, TypeByte, MAX_MESSAGE_LEN};

/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 2;

/// The longest frame: the prefix and the longest message.
pub const MAX_FRAME_LEN: usize = PREFIX_LEN + MAX_MESSAGE_LEN;

/// Why a frame was skipped or framing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A non-zero length prefix that is not the type's size; the frame was skipped by the
    /// prefix.
    #[error(
        "length prefix {prefix} does not match message type {}'s size {expected}: \
         {skipped} bytes skipped",
        TypeByte(*ty),
        skipped = PREFIX_LEN + *prefix as usize
    )]
    LengthMismatch {
        /// The type byte.
        ty: u8,
        /// The length prefix.
        prefix: u16,
        /// The type's size.
        expected: usize,
    },
    /// A type byte that is not an ITCH 5.0 message type, with a non-zero length prefix;
    /// the frame was skipped by the prefix.
    #[error(
        "unknown message type {} (length prefix {prefix}): {skipped} bytes skipped",
        TypeByte(*ty),
        skipped = PREFIX_LEN + *prefix as usize
    )]
    UnknownType {
        /// The type byte.
        ty: u8,
        /// The length prefix.
        prefix: u16,
    },
    /// A type byte that is not an ITCH 5.0 message type with a zero length prefix: the
    /// frame's end cannot be known, framing stops.
    #[error(
        "unknown message type {} with a zero length prefix: cannot find the next message, \
         the rest of the stream is abandoned",
        TypeByte(*ty)
    )]
    Unframeable {
        /// The type byte.
        ty: u8,
    },
    /// The stream ended inside a frame.
    #[error("truncated message at the end of the stream: {have} of {need} bytes")]
    Truncated {
        /// Bytes there were.
        have: u64,
        /// Bytes the frame needs (prefix included; for a frame skipped by its prefix, the
        /// prefix's length plus two).
        need: u64,
    },
}

/// What [`Framer::next_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A message of a known type and of its type's size: the bytes from the type byte on,
    /// without the length prefix. `offset` is the frame's (its prefix's) position in the
    /// stream.
    Message {
        /// Stream offset of the frame.
        offset: u64,
        /// The message.
        bytes: &'a [u8],
    },
    /// A frame skipped by its length prefix; framing continues after it.
    Skipped {
        /// Stream offset of the frame.
        offset: u64,
        /// Bytes skipped (prefix included).
        len: u64,
        /// Why.
        error: FrameError,
    },
    /// Framing cannot continue (truncated end, unframeable type): the stream ends here and
    /// further calls return `None`.
    Fatal {
        /// Stream offset of the frame.
        offset: u64,
        /// Why.
        error: FrameError,
    },
}

/// What the head of a frame (prefix and type byte) says to do.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// A message frame of this many bytes, prefix included.
    Message(usize),
    /// Skip this many bytes, prefix included.
    Skip(usize, FrameError),
    /// Stop.
    Stop(FrameError),
}

#[inline(always)]
fn plan(p0: u8, p1: u8, ty: u8) -> Plan {
    let prefix = u16::from_be_bytes([p0, p1]);
    match message_len(ty) {
        Some(size) if prefix == 0 || usize::from(prefix) == size => {
            Plan::Message(PREFIX_LEN + size)
        }
        Some(expected) => Plan::Skip(
            PREFIX_LEN + usize::from(prefix),
            FrameError::LengthMismatch {
                ty,
                prefix,
                expected,
            },
        ),
        None if prefix != 0 => Plan::Skip(
            PREFIX_LEN + usize::from(prefix),
            FrameError::UnknownType { ty, prefix },
        ),
        None => Plan::Stop(FrameError::Unframeable { ty }),
    }
}

/// Message sizes (type byte included, no prefix) by type byte; 0 for an unknown type.
static MESSAGE_SIZE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut ty = 0;
    while ty < 256 {
        if let Some(size) = message_len(ty as u8) {
            assert!(size > 0 && size <= u8::MAX as usize);
            table[ty] = size as u8;
        }
        ty += 1;
    }
    table
};

/// The length (prefix included) of the frame at the start of `buf` if it is a message of a
/// known type whose prefix is zero or its size, whole in `buf`; else 0.
#[inline(always)]
fn whole_message(buf: &[u8]) -> usize {
    let (prefix, ty) = match buf {
        [p0, p1, ty, ..] => (u16::from_be_bytes([*p0, *p1]), *ty),
        _ => return 0,
    };
    let size = u16::from(MESSAGE_SIZE[usize::from(ty)]);
    let n = PREFIX_LEN + usize::from(size);
    if (size != 0) & ((prefix == 0) | (prefix == size)) & (n <= buf.len()) {
        n
    } else {
        0
    }
}

/// `fill_buf`, retried on `Interrupted`.
fn fill<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    r.fill_buf()
}

/// Frames ITCH messages out of a [`BufRead`] (see the module docs).
#[derive(Debug)]
pub struct Framer<R> {
    reader: R,
    /// Bytes of the last frame handed out, still in the reader's buffer, to consume on the
    /// next call.
    pending: usize,
    /// Stream offset of the reader's position (before `pending`).
    offset: u64,
    /// A frame that straddled two buffer fills.
    split: [u8; MAX_FRAME_LEN],
    done: bool,
}

impl<R: BufRead> Framer<R> {
    /// A framer reading from `reader`'s start (offset 0).
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            pending: 0,
            offset: 0,
            split: [0; MAX_FRAME_LEN],
            done: false,
        }
    }

    /// Stream offset after the last frame handed out (= bytes framed so far).
    pub fn position(&self) -> u64 {
        self.offset + self.pending as u64
    }

    /// Whether the stream has ended (end of input or [`Frame::Fatal`]).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader back (positioned after the last frame handed out).
    pub fn into_inner(mut self) -> R {
        self.reader.consume(self.pending);
        self.reader
    }

    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.reader.consume(n);
        self.offset += n as u64;
    }

    /// The next frame, `None` at the end of the stream (or after a [`Frame::Fatal`]), or
    /// the reader's error (the stream should then be abandoned).
    #[inline(always)]
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let pending = self.pending;
        if pending > 0 {
            self.pending = 0;
            self.advance(pending);
        }
        // Fast path: a well-framed message whole in the reader's buffer — one table
        // look-up, one branch. Everything else (end of the buffer or of the stream, a
        // skipped or fatal frame, an interrupted read) takes `next_frame_slow`.
        if self.done {
            return Ok(None);
        }
        let n = match self.reader.fill_buf() {
            Ok(buf) => whole_message(buf),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        if n != 0 {
            self.pending = n;
            let offset = self.offset;
            // The same buffer again (nothing consumed since): `n` fits in it.
            let buf = self.reader.fill_buf()?;
            return Ok(Some(Frame::Message {
                offset,
                bytes: &buf[PREFIX_LEN..n],
            }));
        }
        self.next_frame_slow()
    }

    /// [`next_frame`](Self::next_frame) for everything but a well-framed message whole in
    /// the reader's buffer.
    #[cold]
    #[inline(never)]
    fn next_frame_slow(&mut self) -> io::Result<Option<Frame<'_>>> {
        let start = self.offset;
        let (avail, plan) = match self.reader.fill_buf() {
            Ok(buf) if buf.len() > PREFIX_LEN => (buf.len(), Some(plan(buf[0], buf[1], buf[2]))),
            Ok(buf) => (buf.len(), None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => (0, None),
            Err(e) => return Err(e),
        };
        match plan {
            Some(Plan::Message(n)) if n <= avail => {
                self.pending = n;
                let buf = self.reader.fill_buf()?;
                Ok(Some(Frame::Message {
                    offset: start,
                    bytes: &buf[PREFIX_LEN..n],
                }))
            }
            Some(Plan::Skip(n, error)) if n <= avail => {
                self.advance(n);
                Ok(Some(Frame::Skipped {
                    offset: start,
                    len: n as u64,
                    error,
                }))
            }
            Some(Plan::Stop(error)) => {
                self.done = true;
                Ok(Some(Frame::Fatal {
                    offset: start,
                    error,
                }))
            }
            _ => self.slow_frame(start),
        }
    }

    /// Copies up to `want` bytes of the stream into `split[have..want]`, consuming them;
    /// returns how many are there (less than `want` only at the end of the stream).
    fn gather(&mut self, mut have: usize, want: usize) -> io::Result<usize> {
        while have < want {
            let buf = fill(&mut self.reader)?;
            if buf.is_empty() {
                break;
            }
            let take = (want - have).min(buf.len());
            self.split[have..have + take].copy_from_slice(&buf[..take]);
            have += take;
            self.advance(take);
        }
        Ok(have)
    }

    /// A frame that is not whole in the reader's buffer: gathered into `split`.
    #[cold]
    fn slow_frame(&mut self, start: u64) -> io::Result<Option<Frame<'_>>> {
        let head = PREFIX_LEN + 1;
        let have = self.gather(0, head)?;
        if have == 0 {
            self.done = true;
            return Ok(None);
        }
        if have < head {
            self.done = true;
            return Ok(Some(Frame::Fatal {
                offset: start,
                error: FrameError::Truncated {
                    have: have as u64,
                    need: head as u64,
                },
            }));
        }
        match plan(self.split[0], self.split[1], self.split[2]) {
            Plan::Message(n) => {
                let have = self.gather(have, n)?;
                if have < n {
                    self.done = true;
                    return Ok(Some(Frame::Fatal {
                        offset: start,
                        error: FrameError::Truncated {
                            have: have as u64,
                            need: n as u64,
                        },
                    }));
                }
                Ok(Some(Frame::Message {
                    offset: start,
                    bytes: &self.split[PREFIX_LEN..n],
                }))
            }
            Plan::Skip(n, error) => {
                let mut skipped = have;
                while skipped < n {
                    let avail = fill(&mut self.reader)?.len();
                    if avail == 0 {
                        self.done = true;
                        return Ok(Some(Frame::Fatal {
                            offset: start,
                            error: FrameError::Truncated {
                                have: skipped as u64,
                                need: n as u64,
                            },
                        }));
                    }
                    let take = (n - skipped).min(avail);
                    self.advance(take);
                    skipped += take;
                }
                Ok(Some(Frame::Skipped {
                    offset: start,
                    len: n as u64,
                    error,
                }))
            }
            Plan::Stop(error) => {
                self.done = true;
                Ok(Some(Frame::Fatal {
                    offset: start,
                    error,
                }))
            }
        }
    }
}
