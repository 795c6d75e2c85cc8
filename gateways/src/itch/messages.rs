//! Zero-copy views of every NASDAQ TotalView-ITCH 5.0 message.
//!
//! A view ([`AddOrder`], [`OrderExecuted`], …) is a reference to the message's bytes — the
//! type byte first, no length prefix — checked once for its length; its accessors read the
//! big-endian fields at their fixed offsets when called. Nothing is copied or allocated:
//! [`Message::parse`] is a length check and a tag match.
//!
//! Layouts follow the *Nasdaq TotalView-ITCH 5.0* specification (cross-checked against the
//! `itchy` crate in the tests). Every message starts with the same 11 bytes:
//!
//! | offset | size | field |
//! |---:|---:|---|
//! | 0 | 1 | message type |
//! | 1 | 2 | stock locate (0 for market-wide messages) |
//! | 3 | 2 | tracking number (Nasdaq internal; not a sequence number) |
//! | 5 | 6 | timestamp, nanoseconds since midnight (Eastern) |
//!
//! Integers are unsigned big-endian; `Price(4)` fields are [`Price4`] (4 decimal places),
//! `Price(8)` fields [`Price8`] (8 decimal places, MWCB levels); alpha fields are ASCII,
//! left-justified and padded with spaces on the right ([`Alpha`]; stocks are 8 bytes).
//!
//! Accessors never fail: a view holds exactly its message's bytes. Whether the enumerated
//! fields hold values the spec lists (a side is `B` or `S`, …) and alpha fields are
//! printable ASCII is a separate, explicit check: [`Message::validate`].
//!
//! | type | message | length |
//! |---|---|---:|
//! | `S` | [`SystemEvent`] | 12 |
//! | `R` | [`StockDirectory`] | 39 |
//! | `H` | [`StockTradingAction`] | 25 |
//! | `Y` | [`RegShoRestriction`] | 20 |
//! | `L` | [`MarketParticipantPosition`] | 26 |
//! | `V` | [`MwcbDeclineLevel`] | 35 |
//! | `W` | [`MwcbStatus`] | 12 |
//! | `K` | [`IpoQuotingPeriod`] | 28 |
//! | `J` | [`LuldAuctionCollar`] | 35 |
//! | `h` | [`OperationalHalt`] | 21 |
//! | `A` | [`AddOrder`] | 36 |
//! | `F` | [`AddOrderMpid`] | 40 |
//! | `E` | [`OrderExecuted`] | 31 |
//! | `C` | [`OrderExecutedWithPrice`] | 36 |
//! | `X` | [`OrderCancel`] | 23 |
//! | `D` | [`OrderDelete`] | 19 |
//! | `U` | [`OrderReplace`] | 35 |
//! | `P` | [`Trade`] | 44 |
//! | `Q` | [`CrossTrade`] | 40 |
//! | `B` | [`BrokenTrade`] | 19 |
//! | `I` | [`Noii`] | 50 |
//! | `N` | [`Rpii`] | 20 |
//! | `O` | [`DirectListingPriceDiscovery`] | 48 |
//!
//! (`O`, the Direct Listing with Capital Raise message, was added to ITCH 5.0 in 2020;
//! `itchy` 0.3.4 does not know it, nor `h`.)

use std::fmt;

/// The common header: type, stock locate, tracking number, timestamp.
pub const HEADER_LEN: usize = 11;

/// The longest ITCH 5.0 message ([`Noii`], 50 bytes).
pub const MAX_MESSAGE_LEN: usize = 50;

/// Why bytes are not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("empty message")]
    Empty,
    /// The type byte is not an ITCH 5.0 message type.
    #[error("unknown message type {}", TypeByte(*ty))]
    UnknownType {
        /// The type byte.
        ty: u8,
    },
    /// The bytes are not as long as the type's fixed size.
    #[error("message type {} is {expected} bytes, got {got}", TypeByte(*ty))]
    Length {
        /// The type byte.
        ty: u8,
        /// The type's size.
        expected: usize,
        /// The bytes given.
        got: usize,
    },
}

/// A field whose value the spec does not list (see [`Message::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("message type {}: field {field} has a value the spec does not list ({})", TypeByte(*ty), ByteText(value))]
pub struct FieldError {
    /// The message type.
    pub ty: u8,
    /// The field's name.
    pub field: &'static str,
    /// The field's bytes (alpha fields: up to the first 8 bytes).
    pub value: [u8; 8],
}

/// Prints a type byte as `'A'` (or `0x5a` when not printable).
#[derive(Debug, Clone, Copy)]
pub struct TypeByte(pub u8);

impl fmt::Display for TypeByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "'{}'", self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

/// Prints bytes as text when printable ASCII, else as hex.
struct ByteText<'b>(&'b [u8]);

impl fmt::Display for ByteText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = match self.0.iter().rposition(|&b| b != 0) {
            Some(last) => &self.0[..=last],
            None => &self.0[..1.min(self.0.len())],
        };
        if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
            write!(f, "{:?}", String::from_utf8_lossy(bytes))
        } else {
            f.write_str("0x")?;
            bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
}

/// A `Price(4)` field: an unsigned integer price with 4 implied decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price4(pub u32);

impl Price4 {
    /// Decimal places.
    pub const DECIMALS: u8 = 4;

    /// The raw integer (units of 10^-4).
    pub const fn raw(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Price4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

/// A `Price(8)` field: an unsigned integer price with 8 implied decimal places (the MWCB
/// decline levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price8(pub u64);

impl Price8 {
    /// Decimal places.
    pub const DECIMALS: u8 = 8;

    /// The raw integer (units of 10^-8).
    pub const fn raw(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Price8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:08}", self.0 / 100_000_000, self.0 % 100_000_000)
    }
}

/// An alpha field of `N` bytes, copied out of the message (8 bytes at most: a register).
/// Stocks are `Alpha<8>`, MPIDs and halt reasons `Alpha<4>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alpha<const N: usize>(pub [u8; N]);

/// A stock symbol field (8 bytes, space-padded).
pub type Stock = Alpha<8>;

impl<const N: usize> Alpha<N> {
    /// The bytes as sent, padding included.
    pub const fn bytes(&self) -> &[u8; N] {
        &self.0
    }

    /// The bytes without the trailing space padding.
    pub fn trimmed(&self) -> &[u8] {
        let end = self.0.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        &self.0[..end]
    }

    /// The text without trailing padding, if it is printable ASCII (as the spec requires).
    pub fn as_str(&self) -> Option<&str> {
        let t = self.trimmed();
        if t.iter().all(|b| (0x20..0x7f).contains(b)) {
            std::str::from_utf8(t).ok()
        } else {
            None
        }
    }

    /// Whether every byte is printable ASCII (spaces included).
    #[inline(always)]
    pub fn is_printable(&self) -> bool {
        if N > 8 {
            return self.0.iter().all(|b| (0x20..0x7f).contains(b));
        }
        // All bytes at once in a register (padded with spaces, which are printable). A
        // byte is printable iff it is neither below 0x20 nor above 0x7e; the two tests are
        // the exact "has a byte less than / more than" word tests (Bit Twiddling Hacks):
        // a borrow or carry out of one byte can only flag the bytes above one that is
        // already out of range.
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut word = [b' '; 8];
        word[..N].copy_from_slice(&self.0);
        let x = u64::from_le_bytes(word);
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        // Adding 1 (= 0x7f - 0x7e) sets a byte's high bit iff it is above 0x7e.
        let above = (x.wrapping_add(ONES) | x) & HIGH;
        below | above == 0
    }
}

impl<const N: usize> fmt::Debug for Alpha<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alpha({})", ByteText(&self.0))
    }
}

impl<const N: usize> fmt::Display for Alpha<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => ByteText(&self.0).fmt(f),
        }
    }
}

/// Receives the fields of a message in wire order ([`Message::visit`]): the header's three
/// (`stock_locate`, `tracking_number`, `timestamp`) and then the body's. The type byte is
/// not visited ([`Message::message_type`]).
pub trait FieldVisitor {
    /// A one-byte alpha field (a code such as a side or a state).
    fn char(&mut self, name: &'static str, value: u8);
    /// A 2-byte integer.
    fn u16(&mut self, name: &'static str, value: u16);
    /// A 4-byte integer.
    fn u32(&mut self, name: &'static str, value: u32);
    /// An 8-byte integer (and the 6-byte timestamp).
    fn u64(&mut self, name: &'static str, value: u64);
    /// A `Price(4)`.
    fn price4(&mut self, name: &'static str, value: Price4);
    /// A `Price(8)`.
    fn price8(&mut self, name: &'static str, value: Price8);
    /// A multi-byte alpha field (stock, MPID, reason, issue sub-type), padding included.
    fn alpha(&mut self, name: &'static str, value: &[u8]);
}

#[inline(always)]
fn be_u16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}

#[inline(always)]
fn be_u32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

#[inline(always)]
fn be_u48(b: &[u8], o: usize) -> u64 {
    u64::from_be_bytes([0, 0, b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5]])
}

#[inline(always)]
fn be_u64(b: &[u8], o: usize) -> u64 {
    u64::from_be_bytes([
        b[o],
        b[o + 1],
        b[o + 2],
        b[o + 3],
        b[o + 4],
        b[o + 5],
        b[o + 6],
        b[o + 7],
    ])
}

/// How a field type is read, visited and checked.
trait Field: Copy {
    fn read(b: &[u8], o: usize) -> Self;
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V);
    /// Well-formed regardless of the field (alpha: printable ASCII).
    fn well_formed(self) -> bool {
        true
    }
    /// Up to 8 bytes of the value, for a [`FieldError`].
    fn error_bytes(self) -> [u8; 8];
}

impl Field for u8 {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        b[o]
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.char(name, self);
    }
    fn error_bytes(self) -> [u8; 8] {
        [self, 0, 0, 0, 0, 0, 0, 0]
    }
}

impl Field for u32 {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        be_u32(b, o)
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.u32(name, self);
    }
    fn error_bytes(self) -> [u8; 8] {
        (u64::from(self)).to_be_bytes()
    }
}

impl Field for u64 {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        be_u64(b, o)
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.u64(name, self);
    }
    fn error_bytes(self) -> [u8; 8] {
        self.to_be_bytes()
    }
}

impl Field for Price4 {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        Price4(be_u32(b, o))
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.price4(name, self);
    }
    fn error_bytes(self) -> [u8; 8] {
        (u64::from(self.0)).to_be_bytes()
    }
}

impl Field for Price8 {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        Price8(be_u64(b, o))
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.price8(name, self);
    }
    fn error_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl<const N: usize> Field for Alpha<N> {
    #[inline(always)]
    fn read(b: &[u8], o: usize) -> Self {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[o..o + N]);
        Alpha(a)
    }
    #[inline(always)]
    fn visit<V: FieldVisitor + ?Sized>(self, name: &'static str, v: &mut V) {
        v.alpha(name, &self.0);
    }
    #[inline(always)]
    fn well_formed(self) -> bool {
        self.is_printable()
    }
    fn error_bytes(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        let n = N.min(8);
        out[..n].copy_from_slice(&self.0[..n]);
        out
    }
}

/// The values an enumerated field may hold.
trait Allowed<T> {
    fn allows(&self, v: T) -> bool;
}

impl<const K: usize> Allowed<u8> for [u8; K] {
    #[inline(always)]
    fn allows(&self, v: u8) -> bool {
        self.contains(&v)
    }
}

impl<const K: usize> Allowed<Alpha<2>> for [[u8; 2]; K] {
    #[inline(always)]
    fn allows(&self, v: Alpha<2>) -> bool {
        self.contains(&v.0)
    }
}

/// Issue Sub-Type codes of the Stock Directory message (ITCH 5.0, Appendix).
const ISSUE_SUBTYPES: [[u8; 2]; 58] = [
    *b"A ", *b"AI", *b"B ", *b"C ", *b"CB", *b"CF", *b"CL", *b"CM", *b"CO", *b"CT", *b"CU", *b"CW",
    *b"D ", *b"E ", *b"EG", *b"EI", *b"EM", *b"EN", *b"EU", *b"F ", *b"FI", *b"FL", *b"G ", *b"I ",
    *b"IR", *b"IW", *b"IX", *b"J ", *b"L ", *b"LL", *b"M ", *b"MF", *b"ML", *b"MT", *b"N ", *b"O ",
    *b"P ", *b"PP", *b"PU", *b"Q ", *b"R ", *b"RC", *b"RF", *b"RT", *b"RU", *b"S ", *b"SC", *b"SI",
    *b"T ", *b"TC", *b"TU", *b"U ", *b"V ", *b"W ", *b"WC", *b"X ", *b"Y ", *b"Z ",
];

macro_rules! itch_messages {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $tag:literal, $len:literal, $name:literal {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $fty:ty = $off:literal $(in $set:expr)?
            ),* $(,)?
        }
    )+) => {
        $(
            $(#[doc = $doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct $variant<'a>(&'a [u8; $len]);

            impl<'a> $variant<'a> {
                /// The message type byte.
                pub const TYPE: u8 = $tag;
                /// The message's fixed size in bytes (type byte included, no length prefix).
                pub const LEN: usize = $len;

                /// A view of `bytes`, which must be exactly one message of this type.
                pub fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
                    match <&[u8; $len]>::try_from(bytes) {
                        Ok(b) if b[0] == $tag => Ok(Self(b)),
                        Ok(b) => Err(DecodeError::UnknownType { ty: b[0] }),
                        Err(_) => Err(DecodeError::Length {
                            ty: $tag,
                            expected: $len,
                            got: bytes.len(),
                        }),
                    }
                }

                /// The message's bytes.
                pub const fn bytes(&self) -> &'a [u8; $len] {
                    self.0
                }

                /// Stock locate (0 for market-wide messages).
                #[inline(always)]
                pub fn stock_locate(&self) -> u16 {
                    be_u16(self.0, 1)
                }

                /// Nasdaq internal tracking number.
                #[inline(always)]
                pub fn tracking_number(&self) -> u16 {
                    be_u16(self.0, 3)
                }

                /// Nanoseconds since midnight.
                #[inline(always)]
                pub fn timestamp(&self) -> u64 {
                    be_u48(self.0, 5)
                }

                $(
                    $(#[doc = $fdoc])*
                    #[inline(always)]
                    pub fn $field(&self) -> $fty {
                        <$fty as Field>::read(self.0, $off)
                    }
                )*

                /// Visits the header and every body field, in wire order.
                #[inline]
                pub fn visit<V: FieldVisitor + ?Sized>(&self, v: &mut V) {
                    v.u16("stock_locate", self.stock_locate());
                    v.u16("tracking_number", self.tracking_number());
                    v.u64("timestamp", self.timestamp());
                    $( Field::visit(self.$field(), stringify!($field), v); )*
                }

                /// Checks every enumerated field against the values the spec lists and
                /// every alpha field for printable ASCII.
                #[inline]
                pub fn validate(&self) -> Result<(), FieldError> {
                    $(
                        let value = self.$field();
                        let ok = Field::well_formed(value) $( && Allowed::allows($set, value) )?;
                        if !ok {
                            return Err(FieldError {
                                ty: $tag,
                                field: stringify!($field),
                                value: Field::error_bytes(value),
                            });
                        }
                    )*
                    Ok(())
                }
            }
        )+

        /// One ITCH 5.0 message of any type, as a view of its bytes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Message<'a> {
            $(
                $(#[doc = $doc])*
                $variant($variant<'a>),
            )+
        }

        impl<'a> Message<'a> {
            /// The message in `bytes` (type byte first, no length prefix; exactly the
            /// type's size).
            #[inline(always)]
            pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
                match bytes.first() {
                    None => Err(DecodeError::Empty),
                    $( Some(&$tag) => $variant::new(bytes).map(Message::$variant), )+
                    Some(&ty) => Err(DecodeError::UnknownType { ty }),
                }
            }

            /// The message's bytes.
            pub fn bytes(&self) -> &'a [u8] {
                match self {
                    $( Message::$variant(m) => m.bytes(), )+
                }
            }

            /// Visits the header and every body field, in wire order.
            #[inline]
            pub fn visit<V: FieldVisitor + ?Sized>(&self, v: &mut V) {
                match self {
                    $( Message::$variant(m) => m.visit(v), )+
                }
            }

            /// Checks every enumerated field against the values the spec lists and every
            /// alpha field for printable ASCII.
            #[inline]
            pub fn validate(&self) -> Result<(), FieldError> {
                match self {
                    $( Message::$variant(m) => m.validate(), )+
                }
            }
        }

        /// The size of messages of type `ty` (type byte included, no length prefix), or
        /// `None` if `ty` is not an ITCH 5.0 message type.
        #[inline]
        pub const fn message_len(ty: u8) -> Option<usize> {
            match ty {
                $( $tag => Some($len), )+
                _ => None,
            }
        }

        /// The spec's name of message type `ty`.
        pub const fn message_name(ty: u8) -> Option<&'static str> {
            match ty {
                $( $tag => Some($name), )+
                _ => None,
            }
        }

        /// Every ITCH 5.0 message type, in the spec's order.
        pub const MESSAGE_TYPES: [u8; [$($tag),+].len()] = [$($tag),+];
    };
}

itch_messages! {
    /// `S` System Event: start/end of messages, system hours and market hours.
    SystemEvent = b'S', 12, "System Event" {
        /// `O` start of messages, `S` start of system hours, `Q` start of market hours,
        /// `M` end of market hours, `E` end of system hours, `C` end of messages.
        event_code: u8 = 11 in b"OSQMEC",
    }
    /// `R` Stock Directory: one per stock at the start of the day; assigns the stock
    /// locate.
    StockDirectory = b'R', 39, "Stock Directory" {
        /// The stock symbol.
        stock: Stock = 11,
        /// Listing market (`Q` `G` `S` Nasdaq tiers, `N` NYSE, `A` NYSE American, `P` NYSE
        /// Arca, `Z` BATS, `V` IEX, space: not available).
        market_category: u8 = 19 in b"QGSNAPZV ",
        /// Financial status indicator (`N` normal, …, space: not available).
        financial_status: u8 = 20 in b"DEQSGHJKCN ",
        /// Round lot size in shares.
        round_lot_size: u32 = 21,
        /// `Y`: only round lots accepted.
        round_lots_only: u8 = 25 in b"YN",
        /// Issue classification.
        issue_classification: u8 = 26 in b"ABCFILNOPQRSTUVW",
        /// Issue sub-type (2 characters).
        issue_subtype: Alpha<2> = 27 in &ISSUE_SUBTYPES,
        /// `P` live/production, `T` test.
        authenticity: u8 = 29 in b"PT",
        /// Reg SHO short sale threshold: `Y`, `N`, space: not available.
        short_sale_threshold_indicator: u8 = 30 in b"YN ",
        /// IPO flag: `Y`, `N`, space: not available.
        ipo_flag: u8 = 31 in b"YN ",
        /// LULD reference price tier: `1`, `2`, space: not available.
        luld_reference_price_tier: u8 = 32 in b"12 ",
        /// ETP flag: `Y`, `N`, space (and `M`, seen in real data).
        etp_flag: u8 = 33 in b"YNM ",
        /// ETP leverage factor.
        etp_leverage_factor: u32 = 34,
        /// `Y`: an inverse ETP.
        inverse_indicator: u8 = 38 in b"YN",
    }
    /// `H` Stock Trading Action: a stock's trading state changed.
    StockTradingAction = b'H', 25, "Stock Trading Action" {
        /// The stock.
        stock: Stock = 11,
        /// `H` halted, `P` paused, `Q` quotation only, `T` trading.
        trading_state: u8 = 19 in b"HPQT",
        /// Reserved.
        reserved: u8 = 20,
        /// The halt reason code.
        reason: Alpha<4> = 21,
    }
    /// `Y` Reg SHO Short Sale Price Test Restricted Indicator.
    RegShoRestriction = b'Y', 20, "Reg SHO Restriction" {
        /// The stock.
        stock: Stock = 11,
        /// `0` no test, `1` in effect (intraday drop), `2` remains in effect.
        reg_sho_action: u8 = 19 in b"012",
    }
    /// `L` Market Participant Position.
    MarketParticipantPosition = b'L', 26, "Market Participant Position" {
        /// The market participant.
        mpid: Alpha<4> = 11,
        /// The stock.
        stock: Stock = 15,
        /// `Y`: primary market maker.
        primary_market_maker: u8 = 23 in b"YN",
        /// `N` normal, `P` passive, `S` syndicate, `R` pre-syndicate, `L` penalty.
        market_maker_mode: u8 = 24 in b"NPSRL",
        /// `A` active, `E` excused, `W` withdrawn, `S` suspended, `D` deleted.
        market_participant_state: u8 = 25 in b"AEWSD",
    }
    /// `V` MWCB Decline Level: the market-wide circuit breaker levels of the day.
    MwcbDeclineLevel = b'V', 35, "MWCB Decline Level" {
        /// Level 1 (8 decimals).
        level1: Price8 = 11,
        /// Level 2 (8 decimals).
        level2: Price8 = 19,
        /// Level 3 (8 decimals).
        level3: Price8 = 27,
    }
    /// `W` MWCB Status: a market-wide circuit breaker level was breached.
    MwcbStatus = b'W', 12, "MWCB Status" {
        /// `1`, `2` or `3`.
        breached_level: u8 = 11 in b"123",
    }
    /// `K` IPO Quoting Period Update.
    IpoQuotingPeriod = b'K', 28, "IPO Quoting Period Update" {
        /// The stock.
        stock: Stock = 11,
        /// Quotation release time, seconds since midnight.
        ipo_quotation_release_time: u32 = 19,
        /// `A` anticipated, `C` canceled or postponed.
        ipo_quotation_release_qualifier: u8 = 23 in b"AC",
        /// IPO price.
        ipo_price: Price4 = 24,
    }
    /// `J` LULD Auction Collar.
    LuldAuctionCollar = b'J', 35, "LULD Auction Collar" {
        /// The stock.
        stock: Stock = 11,
        /// Auction collar reference price.
        auction_collar_reference_price: Price4 = 19,
        /// Upper auction collar price.
        upper_auction_collar_price: Price4 = 23,
        /// Lower auction collar price.
        lower_auction_collar_price: Price4 = 27,
        /// Auction collar extension count.
        auction_collar_extension: u32 = 31,
    }
    /// `h` Operational Halt: a stock halted or resumed on one Nasdaq market.
    OperationalHalt = b'h', 21, "Operational Halt" {
        /// The stock.
        stock: Stock = 11,
        /// `Q` Nasdaq, `B` BX, `X` PSX.
        market_code: u8 = 19 in b"QBX",
        /// `H` halted, `T` resumed.
        operational_halt_action: u8 = 20 in b"HT",
    }
    /// `A` Add Order (no MPID attribution).
    AddOrder = b'A', 36, "Add Order" {
        /// The order reference number, unique for the day.
        order_ref: u64 = 11,
        /// `B` buy, `S` sell.
        side: u8 = 19 in b"BS",
        /// Displayed shares.
        shares: u32 = 20,
        /// The stock.
        stock: Stock = 24,
        /// Limit price.
        price: Price4 = 32,
    }
    /// `F` Add Order with MPID attribution.
    AddOrderMpid = b'F', 40, "Add Order with MPID" {
        /// The order reference number, unique for the day.
        order_ref: u64 = 11,
        /// `B` buy, `S` sell.
        side: u8 = 19 in b"BS",
        /// Displayed shares.
        shares: u32 = 20,
        /// The stock.
        stock: Stock = 24,
        /// Limit price.
        price: Price4 = 32,
        /// The market participant.
        attribution: Alpha<4> = 36,
    }
    /// `E` Order Executed: a resting order traded at its own price.
    OrderExecuted = b'E', 31, "Order Executed" {
        /// The resting order.
        order_ref: u64 = 11,
        /// Shares executed.
        executed_shares: u32 = 19,
        /// The match number (also in `B` Broken Trade).
        match_number: u64 = 23,
    }
    /// `C` Order Executed With Price: a resting order traded at another price (crosses,
    /// price improvement).
    OrderExecutedWithPrice = b'C', 36, "Order Executed With Price" {
        /// The resting order.
        order_ref: u64 = 11,
        /// Shares executed.
        executed_shares: u32 = 19,
        /// The match number.
        match_number: u64 = 23,
        /// `Y` printable, `N` not (not to be counted in volume).
        printable: u8 = 31 in b"YN",
        /// The execution price.
        execution_price: Price4 = 32,
    }
    /// `X` Order Cancel: part of a resting order was canceled.
    OrderCancel = b'X', 23, "Order Cancel" {
        /// The order.
        order_ref: u64 = 11,
        /// Shares removed.
        cancelled_shares: u32 = 19,
    }
    /// `D` Order Delete: the whole order left the book.
    OrderDelete = b'D', 19, "Order Delete" {
        /// The order.
        order_ref: u64 = 11,
    }
    /// `U` Order Replace: an order replaced by a new one (new reference, same side, back
    /// of the queue).
    OrderReplace = b'U', 35, "Order Replace" {
        /// The replaced order.
        original_order_ref: u64 = 11,
        /// The new order.
        new_order_ref: u64 = 19,
        /// The new displayed shares.
        shares: u32 = 27,
        /// The new price.
        price: Price4 = 31,
    }
    /// `P` Trade (non-cross): an execution against a non-displayed order.
    Trade = b'P', 44, "Trade" {
        /// The non-displayed order (0 since 2014: always zero).
        order_ref: u64 = 11,
        /// The side of the non-displayed order (always `B` since 2014).
        side: u8 = 19 in b"BS",
        /// Shares.
        shares: u32 = 20,
        /// The stock.
        stock: Stock = 24,
        /// Price.
        price: Price4 = 32,
        /// The match number.
        match_number: u64 = 36,
    }
    /// `Q` Cross Trade: the bulk print of an opening, closing, halt or IPO cross.
    CrossTrade = b'Q', 40, "Cross Trade" {
        /// Shares matched in the cross (8 bytes).
        shares: u64 = 11,
        /// The stock.
        stock: Stock = 19,
        /// The cross price.
        cross_price: Price4 = 27,
        /// The match number.
        match_number: u64 = 31,
        /// `O` opening, `C` closing, `H` halt/IPO, `I` intraday (and `A` extended close).
        cross_type: u8 = 39 in b"OCHIA",
    }
    /// `B` Broken Trade: an execution was broken.
    BrokenTrade = b'B', 19, "Broken Trade" {
        /// The match number of the broken execution.
        match_number: u64 = 11,
    }
    /// `I` Net Order Imbalance Indicator (NOII).
    Noii = b'I', 50, "Net Order Imbalance Indicator" {
        /// Shares paired at the current reference price.
        paired_shares: u64 = 11,
        /// Shares not paired.
        imbalance_shares: u64 = 19,
        /// `B` buy, `S` sell, `N` none, `O` insufficient orders, `P` paused.
        imbalance_direction: u8 = 27 in b"BSNOP",
        /// The stock.
        stock: Stock = 28,
        /// Far price.
        far_price: Price4 = 36,
        /// Near price.
        near_price: Price4 = 40,
        /// Current reference price.
        current_reference_price: Price4 = 44,
        /// `O` opening, `C` closing, `H` halt/IPO (and `A` extended close).
        cross_type: u8 = 48 in b"OCHA",
        /// Price variation indicator (`L`, `1`-`9`, `A`-`C`, space).
        price_variation_indicator: u8 = 49 in b"L123456789ABC ",
    }
    /// `N` Retail Price Improvement Indicator (RPII).
    Rpii = b'N', 20, "Retail Price Improvement Indicator" {
        /// The stock.
        stock: Stock = 11,
        /// `B` buy side, `S` sell side, `A` both, `N` none.
        interest_flag: u8 = 19 in b"BSAN",
    }
    /// `O` Direct Listing with Capital Raise Price Discovery (added to ITCH 5.0 in 2020).
    DirectListingPriceDiscovery = b'O', 48, "Direct Listing with Capital Raise Price Discovery" {
        /// The stock.
        stock: Stock = 11,
        /// `N` not eligible, `Y` eligible.
        open_eligibility_status: u8 = 19 in b"NY",
        /// Minimum allowable price.
        minimum_allowable_price: Price4 = 20,
        /// Maximum allowable price.
        maximum_allowable_price: Price4 = 24,
        /// Near execution price.
        near_execution_price: Price4 = 28,
        /// Near execution time, nanoseconds since midnight.
        near_execution_time: u64 = 32,
        /// Lower price range collar.
        lower_price_range_collar: Price4 = 40,
        /// Upper price range collar.
        upper_price_range_collar: Price4 = 44,
    }
}

impl<'a> Message<'a> {
    /// The type byte.
    #[inline]
    pub fn message_type(&self) -> u8 {
        self.bytes()[0]
    }

    /// Stock locate (0 for market-wide messages).
    #[inline]
    pub fn stock_locate(&self) -> u16 {
        be_u16(self.bytes(), 1)
    }

    /// Nasdaq internal tracking number.
    #[inline]
    pub fn tracking_number(&self) -> u16 {
        be_u16(self.bytes(), 3)
    }

    /// Nanoseconds since midnight.
    #[inline]
    pub fn timestamp(&self) -> u64 {
        be_u48(self.bytes(), 5)
    }

    /// The spec's name of this message's type.
    pub fn name(&self) -> &'static str {
        message_name(self.message_type()).unwrap_or("?")
    }
}

/// One line: `A Add Order stock_locate=2 tracking_number=0 timestamp=… order_ref=… side=B …`.
impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Line<'f, 'g> {
            f: &'f mut fmt::Formatter<'g>,
            res: fmt::Result,
        }
        impl Line<'_, '_> {
            fn put(&mut self, name: &str, v: impl fmt::Display) {
                if self.res.is_ok() {
                    self.res = write!(self.f, " {name}={v}");
                }
            }
        }
        impl FieldVisitor for Line<'_, '_> {
            fn char(&mut self, name: &'static str, value: u8) {
                self.put(name, ByteText(&[value]));
            }
            fn u16(&mut self, name: &'static str, value: u16) {
                self.put(name, value);
            }
            fn u32(&mut self, name: &'static str, value: u32) {
                self.put(name, value);
            }
            fn u64(&mut self, name: &'static str, value: u64) {
                self.put(name, value);
            }
            fn price4(&mut self, name: &'static str, value: Price4) {
                self.put(name, value);
            }
            fn price8(&mut self, name: &'static str, value: Price8) {
                self.put(name, value);
            }
            fn alpha(&mut self, name: &'static str, value: &[u8]) {
                self.put(name, ByteText(value));
            }
        }
        write!(f, "{} {}", TypeByte(self.message_type()), self.name())?;
        let mut line = Line { f, res: Ok(()) };
        self.visit(&mut line);
        line.res
    }
}
