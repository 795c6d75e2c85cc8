//! One capture line's JSON, read with serde straight into [`Message`]: every string field
//! borrows from the line (no allocation), and the price levels of depth diffs and snapshots
//! go into a reused scratch vector as byte spans of the line ([`LevelSpan`]).
//!
//! Why a hand-written visitor and not `#[derive(Deserialize)]` structs: Binance reuses field
//! names with different types — `b` is a level array in `depthUpdate` and a price string in
//! `bookTicker`, `a` is the ask array, the best ask price or (`aggTrade`) the aggregate id —
//! and a derived struct can only take one type per name without buffering; and derived
//! structs cannot hand the level arrays a reused vector (a `Vec` per line would allocate).
//! The visitor below is the derive's work done by hand: keys are matched to fields, values
//! are read with serde's own `&str`/`u64`/`bool` impls (a string with escapes, which Binance
//! never sends in these fields, is refused rather than copied), anything else is skipped
//! unread ([`IgnoredAny`]).
//!
//! A combined-stream wrapper `{"stream":…,"data":{…}}` and a raw event `{"e":…}` fill the
//! same [`Message`]: `data` is read into it recursively (one level).

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Byte range of a string value in the JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: usize,
    end: usize,
}

impl Span {
    /// The bytes `start..end` of the JSON text.
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// The first byte.
    pub(crate) fn start(self) -> usize {
        self.start
    }

    /// One past the last byte.
    pub(crate) fn end(self) -> usize {
        self.end
    }

    /// The text in `json` (`None` only if `json` is not the text the span was taken from).
    pub(crate) fn get(self, json: &str) -> Option<&str> {
        json.get(self.start..self.end)
    }
}

/// One `[price, qty]` entry of a level array, as spans of the JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LevelSpan {
    pub(crate) px: Span,
    pub(crate) qty: Span,
}

/// A field whose type depends on the message (`a`, `b`, `bids`, `asks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    /// A string (`bookTicker` prices).
    Str(&'a str),
    /// An unsigned integer (`aggTrade`'s `a`).
    Num(u64),
    /// A level array: its entries in the scratch vector.
    Levels(Range<usize>),
}

/// Everything this adapter reads from one message; absent fields are `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Message<'a> {
    /// `stream` (combined-stream wrapper).
    pub(crate) stream: Option<&'a str>,
    /// `e`: event type.
    pub(crate) event: Option<&'a str>,
    /// `E`: event time, ms.
    pub(crate) event_time: Option<u64>,
    /// `T`: transaction / trade time, ms.
    pub(crate) trade_time: Option<u64>,
    /// `s`: symbol.
    pub(crate) symbol: Option<&'a str>,
    /// `U`: first update id of a diff.
    pub(crate) first_id: Option<u64>,
    /// `u`: last update id of a diff (or of a `bookTicker`).
    pub(crate) last_id: Option<u64>,
    /// `pu`: the previous diff's `u` (USD-M).
    pub(crate) prev_last_id: Option<u64>,
    /// `lastUpdateId`: a REST depth snapshot's update id.
    pub(crate) snapshot_id: Option<u64>,
    /// `b`: bid levels (diff) or best bid price (`bookTicker`).
    pub(crate) b: Option<Field<'a>>,
    /// `a`: ask levels (diff), best ask price (`bookTicker`) or aggregate id (`aggTrade`).
    pub(crate) a: Option<Field<'a>>,
    /// `B`: best bid quantity.
    pub(crate) bid_qty: Option<&'a str>,
    /// `A`: best ask quantity.
    pub(crate) ask_qty: Option<&'a str>,
    /// `bids` (snapshot).
    pub(crate) bids: Option<Field<'a>>,
    /// `asks` (snapshot).
    pub(crate) asks: Option<Field<'a>>,
    /// `t`: trade id.
    pub(crate) trade_id: Option<u64>,
    /// `p`: trade price.
    pub(crate) price: Option<&'a str>,
    /// `q`: trade quantity.
    pub(crate) qty: Option<&'a str>,
    /// `m`: the buyer is the maker.
    pub(crate) buyer_is_maker: Option<bool>,
    /// `X`: USD-M trade type (`MARKET`, `INSURANCE_FUND`, `ADL`, …).
    pub(crate) trade_type: Option<&'a str>,
    /// `result` or `id` present: a subscription answer.
    pub(crate) ack: bool,
    /// `code` present: an error answer.
    pub(crate) error: bool,
}

impl<'a> Message<'a> {
    /// Parses `json` (one whole JSON object, nothing after it but whitespace), clearing
    /// `levels` and filling it with the level entries.
    ///
    /// The single-pass scanner ([`scan`](super::scan::scan)) reads the common lines; any
    /// line it does not take is read by the serde visitor below, which is the reference
    /// (same result either way).
    pub(crate) fn parse(json: &'a str, levels: &mut Vec<LevelSpan>) -> serde_json::Result<Self> {
        levels.clear();
        if let Some(msg) = super::scan::scan(json, levels) {
            return Ok(msg);
        }
        Self::parse_serde(json, levels)
    }

    /// [`Self::parse`] by the serde visitor alone.
    pub(crate) fn parse_serde(
        json: &'a str,
        levels: &mut Vec<LevelSpan>,
    ) -> serde_json::Result<Self> {
        levels.clear();
        let mut msg = Message::default();
        let mut de = serde_json::Deserializer::from_str(json);
        MessageSeed {
            msg: &mut msg,
            levels,
            base: json.as_ptr().addr(),
            len: json.len(),
            nested: false,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(msg)
    }
}

/// The field names this adapter reads.
enum Key {
    Stream,
    Data,
    Event,
    EventTime,
    TradeTime,
    Symbol,
    FirstId,
    LastId,
    PrevLastId,
    SnapshotId,
    B,
    A,
    BidQty,
    AskQty,
    Bids,
    Asks,
    TradeId,
    Price,
    Qty,
    BuyerIsMaker,
    TradeType,
    Ack,
    Error,
    Other,
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "stream" => Key::Stream,
            "data" => Key::Data,
            "e" => Key::Event,
            "E" => Key::EventTime,
            "T" => Key::TradeTime,
            "s" => Key::Symbol,
            "U" => Key::FirstId,
            "u" => Key::LastId,
            "pu" => Key::PrevLastId,
            "lastUpdateId" => Key::SnapshotId,
            "b" => Key::B,
            "a" => Key::A,
            "B" => Key::BidQty,
            "A" => Key::AskQty,
            "bids" => Key::Bids,
            "asks" => Key::Asks,
            "t" => Key::TradeId,
            "p" => Key::Price,
            "q" => Key::Qty,
            "m" => Key::BuyerIsMaker,
            "X" => Key::TradeType,
            "result" | "id" => Key::Ack,
            "code" => Key::Error,
            _ => Key::Other,
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

/// Reads one JSON object into `msg` (the wrapper, then its `data`).
struct MessageSeed<'m, 'de> {
    msg: &'m mut Message<'de>,
    levels: &'m mut Vec<LevelSpan>,
    base: usize,
    len: usize,
    /// Inside `data`: a second `data` is refused.
    nested: bool,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Binance message object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let Self {
            msg,
            levels,
            base,
            len,
            nested,
        } = self;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Stream => msg.stream = Some(map.next_value()?),
                Key::Data if nested => {
                    return Err(de::Error::custom("`data` inside `data`"));
                }
                Key::Data => map.next_value_seed(MessageSeed {
                    msg: &mut *msg,
                    levels: &mut *levels,
                    base,
                    len,
                    nested: true,
                })?,
                Key::Event => msg.event = Some(map.next_value()?),
                Key::EventTime => msg.event_time = Some(map.next_value()?),
                Key::TradeTime => msg.trade_time = Some(map.next_value()?),
                Key::Symbol => msg.symbol = Some(map.next_value()?),
                Key::FirstId => msg.first_id = Some(map.next_value()?),
                Key::LastId => msg.last_id = Some(map.next_value()?),
                Key::PrevLastId => msg.prev_last_id = Some(map.next_value()?),
                Key::SnapshotId => msg.snapshot_id = Some(map.next_value()?),
                Key::B => msg.b = Some(map.next_value_seed(FieldSeed::new(levels, base, len))?),
                Key::A => msg.a = Some(map.next_value_seed(FieldSeed::new(levels, base, len))?),
                Key::BidQty => msg.bid_qty = Some(map.next_value()?),
                Key::AskQty => msg.ask_qty = Some(map.next_value()?),
                Key::Bids => {
                    msg.bids = Some(map.next_value_seed(FieldSeed::new(levels, base, len))?)
                }
                Key::Asks => {
                    msg.asks = Some(map.next_value_seed(FieldSeed::new(levels, base, len))?)
                }
                Key::TradeId => msg.trade_id = Some(map.next_value()?),
                Key::Price => msg.price = Some(map.next_value()?),
                Key::Qty => msg.qty = Some(map.next_value()?),
                Key::BuyerIsMaker => msg.buyer_is_maker = Some(map.next_value()?),
                Key::TradeType => msg.trade_type = Some(map.next_value()?),
                Key::Ack => {
                    map.next_value::<IgnoredAny>()?;
                    msg.ack = true;
                }
                Key::Error => {
                    map.next_value::<IgnoredAny>()?;
                    msg.error = true;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a [`Field`]: a borrowed string, an unsigned integer or a level array.
struct FieldSeed<'m> {
    levels: &'m mut Vec<LevelSpan>,
    base: usize,
    len: usize,
}

impl<'m> FieldSeed<'m> {
    fn new(levels: &'m mut Vec<LevelSpan>, base: usize, len: usize) -> Self {
        Self { levels, base, len }
    }
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Field<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal string, an id or an array of [price, qty] pairs")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(s))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Field<'de>, E> {
        Ok(Field::Num(n))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Field<'de>, S::Error> {
        let start = self.levels.len();
        while let Some(level) = seq.next_element_seed(PairSeed {
            base: self.base,
            len: self.len,
        })? {
            self.levels.push(level);
        }
        Ok(Field::Levels(start..self.levels.len()))
    }
}

/// Reads one `["price", "qty"]` pair.
struct PairSeed {
    base: usize,
    len: usize,
}

impl PairSeed {
    fn span<E: de::Error>(&self, s: &str) -> Result<Span, E> {
        let start = s.as_ptr().addr().wrapping_sub(self.base);
        match start.checked_add(s.len()) {
            Some(end) if end <= self.len => Ok(Span { start, end }),
            _ => Err(E::custom("string not borrowed from the line")),
        }
    }
}

impl<'de> DeserializeSeed<'de> for PairSeed {
    type Value = LevelSpan;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<LevelSpan, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for PairSeed {
    type Value = LevelSpan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [price, qty] pair of strings")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<LevelSpan, S::Error> {
        let px: &'de str = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let qty: &'de str = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(LevelSpan {
            px: self.span(px)?,
            qty: self.span(qty)?,
        })
    }
}
