//! [`ItchSource`]: an ITCH 5.0 file as a [`FeedSource`] of L3 events (the mapping is in
//! the [module docs](super)).

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, InstrumentId, Price, Qty, Side, TradingState,
};

use super::framing::{Frame, FrameError, Framer};
use super::messages::{
    Alpha, DecodeError, Message, OrderReplace, Price4, Stock, TypeByte, MESSAGE_TYPES,
};
use crate::feed::{open_maybe_gz, FeedSource, FeedStats, InstrumentMap, OpenError};

/// The instrument of a `FeedGap` that concerns every instrument of its source (no
/// configured instrument has this id: the order stage pulls every quote).
pub const ALL_INSTRUMENTS: InstrumentId = InstrumentId::new(u32::MAX);

/// Why a message was skipped (the text of its [`crate::feed::SkipReport`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// Framing: bad length prefix, unknown type, truncated end.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The bytes are not a message (cannot happen after framing; kept for completeness).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The timestamp went backwards.
    #[error(
        "message type {}: timestamp {ts} ns is before the previous message's {last} ns",
        TypeByte(*ty)
    )]
    OutOfOrder {
        /// The message type.
        ty: u8,
        /// Its timestamp.
        ts: u64,
        /// The last timestamp accepted.
        last: u64,
    },
    /// A field the adapter needs holds a value it cannot use.
    #[error("message type {}: {field} {value}", TypeByte(*ty))]
    BadField {
        /// The message type.
        ty: u8,
        /// The field.
        field: &'static str,
        /// What is wrong (e.g. `is zero`, `0x5a is not B or S`).
        value: String,
    },
    /// A price that the instrument's scale cannot hold exactly (or at all).
    #[error(
        "message type {}: price {price} does not fit instrument {instrument}'s price scale \
         {scale} exactly",
        TypeByte(*ty)
    )]
    Price {
        /// The message type.
        ty: u8,
        /// The ITCH price.
        price: Price4,
        /// The instrument.
        instrument: InstrumentId,
        /// Its price scale.
        scale: u8,
    },
    /// A quantity that overflows at the instrument's scale.
    #[error(
        "message type {}: {shares} shares overflow instrument {instrument}'s qty scale {scale}",
        TypeByte(*ty)
    )]
    Qty {
        /// The message type.
        ty: u8,
        /// The shares.
        shares: u64,
        /// The instrument.
        instrument: InstrumentId,
        /// Its quantity scale.
        scale: u8,
    },
    /// An order message for a mapped stock naming an order the adapter never saw added
    /// (added before the file starts, or its add was skipped).
    #[error(
        "message type {}: order {order_ref} (stock locate {locate}) was never added: \
         price and side unknown",
        TypeByte(*ty)
    )]
    UnknownOrder {
        /// The message type.
        ty: u8,
        /// The order reference number.
        order_ref: u64,
        /// The message's stock locate.
        locate: u16,
    },
    /// An order message whose stock locate is not its order's.
    #[error(
        "message type {}: order {order_ref} belongs to stock locate {expected}, message says \
         {got}",
        TypeByte(*ty)
    )]
    LocateMismatch {
        /// The message type.
        ty: u8,
        /// The order reference number.
        order_ref: u64,
        /// The order's locate.
        expected: u16,
        /// The message's locate.
        got: u16,
    },
    /// A message whose stock is not the one its stock locate was assigned to.
    #[error(
        "message type {}: stock {stock} does not match stock locate {locate} ({expected})",
        TypeByte(*ty)
    )]
    StockMismatch {
        /// The message type.
        ty: u8,
        /// The locate.
        locate: u16,
        /// The message's stock.
        stock: Stock,
        /// The locate's stock.
        expected: Stock,
    },
    /// The timestamp cannot be placed on the epoch time line (`date_midnight_ns` too large).
    #[error("timestamp {ts} ns after midnight overflows the epoch time line")]
    Timestamp {
        /// The ITCH timestamp.
        ts: u64,
    },
}

/// Messages read, per type byte (every framed message, whatever became of it; frames the
/// framer skipped are not in it).
#[derive(Clone, PartialEq, Eq)]
pub struct MessageCounts([u64; 256]);

impl MessageCounts {
    /// Messages of type `ty`.
    pub fn get(&self, ty: u8) -> u64 {
        self.0[usize::from(ty)]
    }

    /// `(type, count)` for every type seen, in the spec's order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        MESSAGE_TYPES
            .iter()
            .map(|&t| (t, self.get(t)))
            .filter(|&(_, n)| n > 0)
    }

    /// All messages.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl fmt::Debug for MessageCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageCounts({self})")
    }
}

/// `A=4997 D=1745 …` (spec order, types seen only).
impl fmt::Display for MessageCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (t, n) in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={n}", t as char)?;
        }
        Ok(())
    }
}

/// A mapped instrument, with its conversion factors from ITCH units.
#[derive(Debug, Clone, Copy)]
struct Inst {
    id: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
    /// `10^(price_scale - 4)` when the scale is 4 or more, else 1.
    px_mul: i64,
    /// `10^(4 - price_scale)` when the scale is below 4, else 1.
    px_div: i64,
    /// `10^qty_scale`.
    qty_mul: i64,
}

/// What a stock locate stands for.
#[derive(Debug, Clone, Copy)]
struct Locate {
    /// Index into `instruments`, or [`UNSEEN`] / [`UNMAPPED`].
    slot: u16,
    /// The stock it was assigned to (by `R`, or by the first message naming it).
    stock: Stock,
}

const UNSEEN: u16 = u16::MAX;
const UNMAPPED: u16 = u16::MAX - 1;
/// At most this many instruments of the map are used (slots below the sentinels).
const MAX_INSTRUMENTS: usize = UNMAPPED as usize;

/// A live order of a mapped instrument (its side is the book's business: no event after
/// the add needs it).
#[derive(Debug, Clone, Copy)]
struct Resting {
    locate: u16,
    slot: u16,
    price: Price,
    shares: u32,
}

/// Live orders by order reference number, hashed with FxHash (fast, deterministic).
type OrderIndex = HashMap<u64, Resting, rustc_hash::FxBuildHasher>;

/// Fields shared by `A` and `F`.
#[derive(Debug, Clone, Copy)]
struct AddFields {
    ty: u8,
    locate: u16,
    order_ref: u64,
    side: u8,
    shares: u32,
    stock: Stock,
    price: Price4,
}

/// An ITCH 5.0 file as a [`FeedSource`]: streams it (through a bounded buffer, `.gz`
/// decompressed on the fly) and yields the L3 events of the instruments in its
/// [`InstrumentMap`]. See the [module docs](super) for the mapping.
pub struct ItchSource<R = Box<dyn BufRead + Send>> {
    framer: Framer<R>,
    state: ItchConverter,
}

/// The message-to-event mapping of [`ItchSource`] without the framing: stock locates, the
/// order index, value conversion, counted skips. [`ItchSource`] feeds it the frames of a
/// file; the UDP receiver ([`crate::udp`]) feeds it the messages of MoldUDP64 packets.
/// Everything in the [module docs](super) about mapping, instruments, orders and order in
/// time holds for both.
#[derive(Debug)]
pub struct ItchConverter {
    file: String,
    source: u16,
    midnight_ns: i64,
    map: InstrumentMap,
    instruments: Vec<Inst>,
    locates: Vec<Locate>,
    orders: OrderIndex,
    peak_orders: usize,
    last_ts: u64,
    sequence: u64,
    stats: FeedStats,
    counts: MessageCounts,
    unknown_orders: u64,
    ended: bool,
}

/// Without the reader (a boxed `BufRead` has no `Debug`).
impl<R> fmt::Debug for ItchSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItchSource")
            .field("file", &self.state.file)
            .field("source", &self.state.source)
            .field("instruments", &self.state.instruments.len())
            .field("live_orders", &self.state.orders.len())
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
    }
}

impl ItchSource {
    /// Opens `path` (`.gz`: decompressed on the fly) for streaming.
    ///
    /// `venue_source` goes into every event's `header.source`; `date_midnight_ns` is the
    /// Unix-epoch time, in ns, of the midnight ITCH timestamps count from (midnight US
    /// Eastern of the file's trading date; see [`super::trading_day_midnight_ns`]).
    pub fn open(
        path: impl AsRef<Path>,
        venue_source: u16,
        map: InstrumentMap,
        date_midnight_ns: i64,
    ) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let reader = open_maybe_gz(path)?;
        Ok(Self::from_reader(
            reader,
            path.display().to_string(),
            venue_source,
            map,
            date_midnight_ns,
        ))
    }
}

impl<R: BufRead> ItchSource<R> {
    /// An ITCH stream read from `reader`; `file` names it in skip reports.
    pub fn from_reader(
        reader: R,
        file: impl Into<String>,
        venue_source: u16,
        map: InstrumentMap,
        date_midnight_ns: i64,
    ) -> Self {
        Self {
            framer: Framer::new(reader),
            state: ItchConverter::new(file, venue_source, map, date_midnight_ns),
        }
    }

    /// The file name used in reports.
    pub fn file(&self) -> &str {
        &self.state.file
    }

    /// Messages read, per type.
    pub fn message_counts(&self) -> &MessageCounts {
        &self.state.counts
    }

    /// Order messages of mapped stocks that named an order never added (also counted in
    /// [`FeedStats::skipped`]).
    pub fn unknown_orders(&self) -> u64 {
        self.state.unknown_orders
    }

    /// Live orders of mapped instruments the adapter tracks now.
    pub fn live_orders(&self) -> usize {
        self.state.orders.len()
    }

    /// The most live orders tracked at once.
    pub fn peak_live_orders(&self) -> usize {
        self.state.peak_orders
    }

    /// The order index's allocated capacity (grows with the peak of live orders, never
    /// with the stream's length).
    pub fn order_index_capacity(&self) -> usize {
        self.state.orders.capacity()
    }

    /// Entries of the stock-locate table (at most 65,536).
    pub fn locate_table_len(&self) -> usize {
        self.state.locates.len()
    }

    /// Bytes of the (decompressed) stream framed so far.
    pub fn position(&self) -> u64 {
        self.framer.position()
    }

    fn finish(&mut self) {
        self.state.stats.bytes = self.framer.position();
        self.state.ended = true;
    }
}

impl ItchConverter {
    /// A converter with no locates and no orders yet. `file` names the stream in skip
    /// reports; `venue_source` goes into every event's `header.source`;
    /// `date_midnight_ns` is what ITCH timestamps count from (see [`ItchSource::open`]).
    pub fn new(
        file: impl Into<String>,
        venue_source: u16,
        map: InstrumentMap,
        date_midnight_ns: i64,
    ) -> Self {
        let instruments = map
            .entries()
            .iter()
            .take(MAX_INSTRUMENTS)
            .map(|e| {
                let ps = e.price_scale.get();
                let pow = |n: u8| 10i64.pow(u32::from(n));
                Inst {
                    id: e.id,
                    price_scale: ps,
                    qty_scale: e.qty_scale.get(),
                    px_mul: if ps >= Price4::DECIMALS {
                        pow(ps - Price4::DECIMALS)
                    } else {
                        1
                    },
                    px_div: if ps < Price4::DECIMALS {
                        pow(Price4::DECIMALS - ps)
                    } else {
                        1
                    },
                    qty_mul: e.qty_scale.unit(),
                }
            })
            .collect();
        Self {
            file: file.into(),
            source: venue_source,
            midnight_ns: date_midnight_ns,
            map,
            instruments,
            locates: Vec::new(),
            orders: OrderIndex::default(),
            peak_orders: 0,
            last_ts: 0,
            sequence: 0,
            stats: FeedStats::default(),
            counts: MessageCounts([0; 256]),
            unknown_orders: 0,
            ended: false,
        }
    }

    /// The event of one ITCH message (`bytes`: type byte first, no length prefix), or
    /// `None` when it yields none (ignored type, unmapped stock, counted skip). `offset`
    /// names the message in skip reports (a file offset, or a MoldUDP64 sequence number).
    /// Every event's `receive_ts_ns` is its `exchange_ts_ns`; a live receiver overwrites it.
    #[inline]
    pub fn convert(&mut self, offset: u64, bytes: &[u8]) -> Option<Event> {
        self.on_message(offset, bytes)
    }

    /// A `FeedGap { expected, received }` event for every instrument of the source
    /// (`instrument` = [`ALL_INSTRUMENTS`]: the feed cannot tell whose messages were lost),
    /// stamped with the next sequence and the last accepted message's exchange time;
    /// counted in [`FeedStats::gaps`].
    pub fn gap(&mut self, expected: u64, received: u64) -> Event {
        self.sequence += 1;
        self.stats.events += 1;
        self.stats.gaps += 1;
        let exchange_ts_ns = self
            .midnight_ns
            .saturating_add(i64::try_from(self.last_ts).unwrap_or(i64::MAX));
        Event::new(
            EventHeader {
                sequence: self.sequence,
                cause_sequence: self.sequence,
                exchange_ts_ns,
                receive_ts_ns: exchange_ts_ns,
                instrument: ALL_INSTRUMENTS,
                price_scale: 0,
                qty_scale: 0,
                source: self.source,
            },
            EventBody::FeedGap { expected, received },
        )
    }

    /// Counters and the first skip reports.
    pub fn stats(&self) -> &FeedStats {
        &self.stats
    }

    /// Messages converted, per type.
    pub fn message_counts(&self) -> &MessageCounts {
        &self.counts
    }

    /// Order messages of mapped stocks that named an order never added.
    pub fn unknown_orders(&self) -> u64 {
        self.unknown_orders
    }

    /// Live orders of mapped instruments tracked now.
    pub fn live_orders(&self) -> usize {
        self.orders.len()
    }
}

impl<R: BufRead> FeedSource for ItchSource<R> {
    fn next_event(&mut self) -> Option<Event> {
        if self.state.ended {
            return None;
        }
        loop {
            let event = match self.framer.next_frame() {
                Ok(Some(Frame::Message { offset, bytes })) => self.state.on_message(offset, bytes),
                Ok(Some(Frame::Skipped { offset, error, .. })) => {
                    self.state.stats.records += 1;
                    self.state.skip(offset, error)
                }
                Ok(Some(Frame::Fatal { offset, error })) => {
                    self.state.stats.records += 1;
                    if let FrameError::Unframeable { .. } = error {
                        self.state.stats.fatal =
                            Some(format!("{}: offset {offset}: {error}", self.state.file));
                    }
                    self.state.skip(offset, error)
                }
                Ok(None) => {
                    self.finish();
                    return None;
                }
                Err(e) => {
                    self.state.stats.fatal = Some(format!(
                        "{}: offset {}: read error: {e}",
                        self.state.file,
                        self.framer.position()
                    ));
                    self.finish();
                    return None;
                }
            };
            if let Some(event) = event {
                self.state.stats.bytes = self.framer.position();
                return Some(event);
            }
        }
    }

    fn stats(&self) -> &FeedStats {
        &self.state.stats
    }
}

impl ItchConverter {
    /// Counts and reports a skipped record.
    #[cold]
    fn skip(&mut self, offset: u64, reason: impl Into<SkipReason>) -> Option<Event> {
        self.stats.skipped += 1;
        self.stats.report(&self.file, offset, false, reason.into());
        None
    }

    #[inline]
    fn on_message(&mut self, offset: u64, bytes: &[u8]) -> Option<Event> {
        self.stats.records += 1;
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => return self.skip(offset, e),
        };
        let ty = msg.message_type();
        self.counts.0[usize::from(ty)] += 1;
        let ts = msg.timestamp();
        if ts < self.last_ts {
            self.stats.out_of_order += 1;
            let reason = SkipReason::OutOfOrder {
                ty,
                ts,
                last: self.last_ts,
            };
            self.stats.report(&self.file, offset, false, reason);
            return None;
        }
        self.last_ts = ts;
        match msg {
            Message::StockDirectory(m) => {
                self.directory(m.stock_locate(), m.stock());
                self.ignored()
            }
            Message::AddOrder(m) => self.add(
                offset,
                ts,
                AddFields {
                    ty,
                    locate: m.stock_locate(),
                    order_ref: m.order_ref(),
                    side: m.side(),
                    shares: m.shares(),
                    stock: m.stock(),
                    price: m.price(),
                },
            ),
            Message::AddOrderMpid(m) => self.add(
                offset,
                ts,
                AddFields {
                    ty,
                    locate: m.stock_locate(),
                    order_ref: m.order_ref(),
                    side: m.side(),
                    shares: m.shares(),
                    stock: m.stock(),
                    price: m.price(),
                },
            ),
            Message::OrderExecuted(m) => self.execute(
                offset,
                ts,
                (ty, m.stock_locate(), m.order_ref()),
                m.executed_shares(),
                m.match_number(),
                None,
            ),
            Message::OrderExecutedWithPrice(m) => self.execute(
                offset,
                ts,
                (ty, m.stock_locate(), m.order_ref()),
                m.executed_shares(),
                m.match_number(),
                Some(m.execution_price()),
            ),
            Message::OrderCancel(m) => self.cancel(
                offset,
                ts,
                (ty, m.stock_locate(), m.order_ref()),
                m.cancelled_shares(),
            ),
            Message::OrderDelete(m) => {
                self.delete(offset, ts, (ty, m.stock_locate(), m.order_ref()))
            }
            Message::OrderReplace(m) => self.replace(offset, ts, m),
            Message::Trade(m) => self.trade(
                offset,
                ts,
                (ty, m.stock_locate(), m.stock()),
                u64::from(m.shares()),
                m.price(),
                m.match_number(),
            ),
            Message::CrossTrade(m) => {
                if m.shares() == 0 {
                    // Nasdaq sends a cross print for every cross, also when nothing crossed.
                    return self.ignored();
                }
                self.trade(
                    offset,
                    ts,
                    (ty, m.stock_locate(), m.stock()),
                    m.shares(),
                    m.cross_price(),
                    m.match_number(),
                )
            }
            Message::StockTradingAction(m) => {
                let status = match m.trading_state() {
                    b'H' | b'P' => TradingState::Halted,
                    b'Q' => TradingState::Auction,
                    b'T' => TradingState::Open,
                    v => return self.bad_field(offset, ty, "trading_state", byte_text(v)),
                };
                let slot = match self.resolve(m.stock_locate(), Some(m.stock())) {
                    Ok(Some(slot)) => slot,
                    Ok(None) => return self.unknown_instrument(),
                    Err(reason) => return self.skip(offset, with_type(reason, ty)),
                };
                self.emit(offset, slot, ts, EventBody::TradingStatus { status })
            }
            Message::SystemEvent(_)
            | Message::RegShoRestriction(_)
            | Message::MarketParticipantPosition(_)
            | Message::MwcbDeclineLevel(_)
            | Message::MwcbStatus(_)
            | Message::IpoQuotingPeriod(_)
            | Message::LuldAuctionCollar(_)
            | Message::OperationalHalt(_)
            | Message::BrokenTrade(_)
            | Message::Noii(_)
            | Message::Rpii(_)
            | Message::DirectListingPriceDiscovery(_) => self.ignored(),
        }
    }

    fn ignored(&mut self) -> Option<Event> {
        self.stats.ignored += 1;
        None
    }

    fn unknown_instrument(&mut self) -> Option<Event> {
        self.stats.unknown_instrument += 1;
        None
    }

    #[cold]
    fn bad_field(
        &mut self,
        offset: u64,
        ty: u8,
        field: &'static str,
        value: String,
    ) -> Option<Event> {
        self.skip(offset, SkipReason::BadField { ty, field, value })
    }

    /// The instrument slot of `stock` in the map, or [`UNMAPPED`].
    fn lookup(&self, stock: &Stock) -> u16 {
        let Some(found) = stock.as_str().and_then(|s| self.map.by_symbol(s)) else {
            return UNMAPPED;
        };
        self.map
            .entries()
            .iter()
            .take(MAX_INSTRUMENTS)
            .position(|e| std::ptr::eq(e, found))
            .and_then(|i| u16::try_from(i).ok())
            .unwrap_or(UNMAPPED)
    }

    /// `R`: assigns `locate` to `stock` (re-assigns it if it was seen before).
    fn directory(&mut self, locate: u16, stock: Stock) {
        let slot = self.lookup(&stock);
        let i = usize::from(locate);
        if i >= self.locates.len() {
            self.locates.resize(
                i + 1,
                Locate {
                    slot: UNSEEN,
                    stock: BLANK_STOCK,
                },
            );
        }
        self.locates[i] = Locate { slot, stock };
    }

    /// The instrument slot of `locate`: `Ok(None)` when unmapped or never assigned. A
    /// message that names its stock assigns an unseen locate (files without `R`) and must
    /// name the locate's stock.
    #[inline]
    fn resolve(&mut self, locate: u16, stock: Option<Stock>) -> Result<Option<u16>, SkipReason> {
        let i = usize::from(locate);
        let entry = self.locates.get(i).copied();
        match (entry, stock) {
            (Some(e), _) if e.slot == UNMAPPED => Ok(None),
            (Some(e), Some(s)) if e.slot != UNSEEN => {
                if s == e.stock {
                    Ok(Some(e.slot))
                } else {
                    Err(SkipReason::StockMismatch {
                        ty: 0,
                        locate,
                        stock: s,
                        expected: e.stock,
                    })
                }
            }
            (Some(e), None) if e.slot != UNSEEN => Ok(Some(e.slot)),
            (_, Some(s)) => {
                self.directory(locate, s);
                let slot = self.locates[i].slot;
                Ok((slot != UNMAPPED).then_some(slot))
            }
            (_, None) => Ok(None),
        }
    }

    /// Whether `locate` is assigned to a mapped instrument.
    fn is_mapped(&self, locate: u16) -> bool {
        self.locates
            .get(usize::from(locate))
            .is_some_and(|e| e.slot != UNSEEN && e.slot != UNMAPPED)
    }

    #[inline]
    fn price(&self, ty: u8, slot: u16, p: Price4) -> Result<Price, SkipReason> {
        let inst = &self.instruments[usize::from(slot)];
        let raw = i64::from(p.raw());
        let scaled = if inst.px_div > 1 {
            (raw % inst.px_div == 0).then(|| raw / inst.px_div)
        } else {
            raw.checked_mul(inst.px_mul)
        };
        scaled
            .and_then(|v| Price::new_checked(v).ok())
            .ok_or(SkipReason::Price {
                ty,
                price: p,
                instrument: inst.id,
                scale: inst.price_scale,
            })
    }

    #[inline]
    fn qty(&self, ty: u8, slot: u16, shares: u64) -> Result<Qty, SkipReason> {
        let inst = &self.instruments[usize::from(slot)];
        i64::try_from(shares)
            .ok()
            .and_then(|s| s.checked_mul(inst.qty_mul))
            .map(Qty::new)
            .ok_or(SkipReason::Qty {
                ty,
                shares,
                instrument: inst.id,
                scale: inst.qty_scale,
            })
    }

    /// The event, stamped with the next sequence.
    #[inline]
    fn emit(&mut self, offset: u64, slot: u16, ts: u64, body: EventBody) -> Option<Event> {
        let inst = self.instruments[usize::from(slot)];
        // ts < 2^48, so it fits an i64.
        let Some(exchange_ts_ns) = self.midnight_ns.checked_add(ts as i64) else {
            return self.skip(offset, SkipReason::Timestamp { ts });
        };
        self.sequence += 1;
        self.stats.events += 1;
        Some(Event::new(
            EventHeader {
                sequence: self.sequence,
                cause_sequence: self.sequence,
                exchange_ts_ns,
                receive_ts_ns: exchange_ts_ns,
                instrument: inst.id,
                price_scale: inst.price_scale,
                qty_scale: inst.qty_scale,
                source: self.source,
            },
            body,
        ))
    }

    /// `A`, `F` → `OrderAdd`.
    fn add(&mut self, offset: u64, ts: u64, a: AddFields) -> Option<Event> {
        let slot = match self.resolve(a.locate, Some(a.stock)) {
            Ok(Some(slot)) => slot,
            Ok(None) => return self.unknown_instrument(),
            Err(reason) => return self.skip(offset, with_type(reason, a.ty)),
        };
        let side = match a.side {
            b'B' => Side::Buy,
            b'S' => Side::Sell,
            v => return self.bad_field(offset, a.ty, "side", byte_text(v)),
        };
        if a.shares == 0 {
            return self.bad_field(offset, a.ty, "shares", "is zero".into());
        }
        let converted = self
            .price(a.ty, slot, a.price)
            .and_then(|p| Ok((p, self.qty(a.ty, slot, u64::from(a.shares))?)));
        let (price, qty) = match converted {
            Ok(v) => v,
            Err(reason) => return self.skip(offset, reason),
        };
        self.orders.insert(
            a.order_ref,
            Resting {
                locate: a.locate,
                slot,
                price,
                shares: a.shares,
            },
        );
        self.peak_orders = self.peak_orders.max(self.orders.len());
        self.emit(
            offset,
            slot,
            ts,
            EventBody::OrderAdd {
                side,
                order_id: a.order_ref,
                price,
                qty,
            },
        )
    }

    /// The resting order named by an order message, or why not.
    #[inline]
    fn resting(
        &mut self,
        offset: u64,
        (ty, locate, order_ref): (u8, u16, u64),
    ) -> Result<Resting, Option<Event>> {
        match self.orders.get(&order_ref) {
            Some(r) if r.locate == locate => Ok(*r),
            Some(r) => {
                let reason = SkipReason::LocateMismatch {
                    ty,
                    order_ref,
                    expected: r.locate,
                    got: locate,
                };
                Err(self.skip(offset, reason))
            }
            None if self.is_mapped(locate) => {
                self.unknown_orders += 1;
                Err(self.skip(
                    offset,
                    SkipReason::UnknownOrder {
                        ty,
                        order_ref,
                        locate,
                    },
                ))
            }
            None => Err(self.unknown_instrument()),
        }
    }

    /// `E` (at the resting order's price) and `C` (at its own price) → `OrderExecute`.
    fn execute(
        &mut self,
        offset: u64,
        ts: u64,
        key: (u8, u16, u64),
        shares: u32,
        match_number: u64,
        price: Option<Price4>,
    ) -> Option<Event> {
        let (ty, _, order_ref) = key;
        let r = match self.resting(offset, key) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if shares == 0 {
            return self.bad_field(offset, ty, "executed_shares", "is zero".into());
        }
        if shares >= r.shares {
            self.orders.remove(&order_ref);
        } else if let Some(o) = self.orders.get_mut(&order_ref) {
            o.shares -= shares;
        }
        let price = match price {
            None => Ok(r.price),
            Some(p) => self.price(ty, r.slot, p),
        };
        let (price, qty) =
            match price.and_then(|p| Ok((p, self.qty(ty, r.slot, u64::from(shares))?))) {
                Ok(v) => v,
                Err(reason) => return self.skip(offset, reason),
            };
        self.emit(
            offset,
            r.slot,
            ts,
            EventBody::OrderExecute {
                order_id: order_ref,
                qty,
                price,
                match_id: match_number,
            },
        )
    }

    /// `X` → `OrderModify` to the remaining quantity at the same price (keeps priority), or
    /// `OrderDelete` when nothing remains.
    fn cancel(&mut self, offset: u64, ts: u64, key: (u8, u16, u64), shares: u32) -> Option<Event> {
        let (ty, _, order_ref) = key;
        let r = match self.resting(offset, key) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if shares == 0 {
            return self.bad_field(offset, ty, "cancelled_shares", "is zero".into());
        }
        if shares >= r.shares {
            self.orders.remove(&order_ref);
            return self.emit(
                offset,
                r.slot,
                ts,
                EventBody::OrderDelete {
                    order_id: order_ref,
                },
            );
        }
        let left = r.shares - shares;
        if let Some(o) = self.orders.get_mut(&order_ref) {
            o.shares = left;
        }
        let qty = match self.qty(ty, r.slot, u64::from(left)) {
            Ok(q) => q,
            Err(reason) => return self.skip(offset, reason),
        };
        self.emit(
            offset,
            r.slot,
            ts,
            EventBody::OrderModify {
                order_id: order_ref,
                price: r.price,
                qty,
            },
        )
    }

    /// `D` → `OrderDelete`.
    fn delete(&mut self, offset: u64, ts: u64, key: (u8, u16, u64)) -> Option<Event> {
        let r = match self.resting(offset, key) {
            Ok(r) => r,
            Err(e) => return e,
        };
        self.orders.remove(&key.2);
        self.emit(
            offset,
            r.slot,
            ts,
            EventBody::OrderDelete { order_id: key.2 },
        )
    }

    /// `U` → `OrderReplace` (same side, new id, price and quantity).
    fn replace(&mut self, offset: u64, ts: u64, m: OrderReplace<'_>) -> Option<Event> {
        let ty = m.bytes()[0];
        let old = m.original_order_ref();
        let new = m.new_order_ref();
        let r = match self.resting(offset, (ty, m.stock_locate(), old)) {
            Ok(r) => r,
            Err(e) => return e,
        };
        if m.shares() == 0 {
            return self.bad_field(offset, ty, "shares", "is zero".into());
        }
        self.orders.remove(&old);
        let converted = self
            .price(ty, r.slot, m.price())
            .and_then(|p| Ok((p, self.qty(ty, r.slot, u64::from(m.shares()))?)));
        let (price, qty) = match converted {
            Ok(v) => v,
            Err(reason) => {
                // The old order is gone at the venue: delete it, report the new one.
                self.skip(offset, reason);
                return self.emit(offset, r.slot, ts, EventBody::OrderDelete { order_id: old });
            }
        };
        self.orders.insert(
            new,
            Resting {
                price,
                shares: m.shares(),
                ..r
            },
        );
        self.peak_orders = self.peak_orders.max(self.orders.len());
        self.emit(
            offset,
            r.slot,
            ts,
            EventBody::OrderReplace {
                old_order_id: old,
                new_order_id: new,
                price,
                qty,
            },
        )
    }

    /// `P`, `Q` → `Trade` (aggressor unknown).
    fn trade(
        &mut self,
        offset: u64,
        ts: u64,
        (ty, locate, stock): (u8, u16, Stock),
        shares: u64,
        price: Price4,
        match_number: u64,
    ) -> Option<Event> {
        let slot = match self.resolve(locate, Some(stock)) {
            Ok(Some(slot)) => slot,
            Ok(None) => return self.unknown_instrument(),
            Err(reason) => return self.skip(offset, with_type(reason, ty)),
        };
        if shares == 0 {
            return self.bad_field(offset, ty, "shares", "is zero".into());
        }
        let converted = self
            .price(ty, slot, price)
            .and_then(|p| Ok((p, self.qty(ty, slot, shares)?)));
        let (price, qty) = match converted {
            Ok(v) => v,
            Err(reason) => return self.skip(offset, reason),
        };
        self.emit(
            offset,
            slot,
            ts,
            EventBody::Trade {
                aggressor: Aggressor::Unknown,
                price,
                qty,
                trade_id: match_number,
            },
        )
    }
}

/// Fills in the message type of a [`SkipReason::StockMismatch`] from `ItchConverter::resolve`.
fn with_type(reason: SkipReason, ty: u8) -> SkipReason {
    match reason {
        SkipReason::StockMismatch {
            locate,
            stock,
            expected,
            ..
        } => SkipReason::StockMismatch {
            ty,
            locate,
            stock,
            expected,
        },
        other => other,
    }
}

/// `0x5a ('Z') is not an allowed value`.
fn byte_text(v: u8) -> String {
    format!("{} is not an allowed value", TypeByte(v))
}

/// Eight spaces: the stock of a locate not yet assigned.
const BLANK_STOCK: Stock = Alpha([b' '; 8]);
