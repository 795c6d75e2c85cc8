//! Databento DBN files as a [`FeedSource`]: [`DbnSource`].
//!
//! Streams a `.dbn` file (or `.dbn.gz`; see *Compression* below) record by record through
//! the `dbn` crate's decoder — a 64 KiB buffer, no record copied — and turns the schemas the
//! engine has a use for into [`Event`]s. DBN versions 1 to 3 are read as they are (no
//! record is rewritten, so byte offsets in reports are exact); version 4 is refused at open.
//!
//! # Instruments
//!
//! A record's `instrument_id` is mapped to the config's instrument through a symbol (see
//! [`InstrumentMap::by_symbol`]): first the `raw_symbol` of an `InstrumentDefMsg` for that
//! id (from the definitions file given to [`DbnSource::open`], or from definition records in
//! the stream), then the file's metadata symbology for the record's date (`ESH1` for a
//! `raw_symbol` request, `ES.c.0` for a continuous one). Records of an id that maps to no
//! configured instrument count in [`FeedStats::unknown_instrument`]; the first record of
//! each such id is reported.
//!
//! # What each schema becomes
//!
//! | schema (record) | events |
//! |---|---|
//! | `mbo` (`MboMsg`) action `A` add | `OrderAdd` (side `B`/`A`; a zero size or side `N` is a counted skip) |
//! | `mbo` action `C` cancel | DBN gives the *canceled* size: the adapter keeps each live order's size and yields `OrderModify` to the remaining size (same price), or `OrderDelete` when nothing remains. A cancel of an order the adapter never saw (a file that starts mid-session) becomes `OrderDelete`, and the engine's book counts it as an unknown order. |
//! | `mbo` action `M` modify | `OrderModify` (new price and size; size 0 → `OrderDelete`). A modify of an unknown order is an add (`OrderAdd`), as Databento's book-building guide says. |
//! | `mbo` action `T` trade | `Trade`: the aggressor is the record's side (`B` buy, `A` sell, `N` unknown). |
//! | `mbo` action `F` fill | nothing (counted in `ignored`): a fill names the *resting* order, and DBN always follows it with the cancel or modify that takes the filled size out of the book. Yielding `OrderExecute` as well would take it out twice. |
//! | `mbo` action `R` clear | `OrderDelete` for every live order of the instrument (in order-id order); nothing when it has none (a snapshot's opening clear). |
//! | `mbo` action `N` none | nothing (`ignored`). |
//! | `mbp-1`, `tbbo` (`Mbp1Msg`) | `Quote` of the record's top level; then, for action `T` (every `tbbo` record), `Trade` (price, size, aggressor side). The quote of a `tbbo` record is the book just before the trade. |
//! | `mbp-10` (`Mbp10Msg`) | `BookLevel` updates: the change from the instrument's previous ten levels to the record's — `Delete` for each price that left the top ten, then `Upsert` for each new price or changed total size, bids then asks (a `Quote` would clear the engine's L2 book, so MBP-10 never yields one); then `Trade` for action `T`. |
//! | `trades` (`TradeMsg`) | `Trade`. |
//! | `definition` (`InstrumentDefMsg`), symbol mappings | nothing (`ignored`); their symbols map later records. |
//! | any other known record type (status, statistics, OHLCV, BBO, imbalance, system, error) | nothing (`ignored`). |
//!
//! An unknown record type is a counted skip. A quote side with `UNDEF_PRICE` or size 0 is
//! an empty side: quantity 0, price repeated from the last one seen on that side (else the
//! other side's, else raw 1: not meaningful, per [`EventBody::Quote`]). Trades carry the
//! record's `sequence` as `trade_id` (DBN has no trade id; several records of one venue
//! packet share it).
//!
//! # Values and timestamps
//!
//! Prices (fixed 1e-9) are converted to the instrument's price scale exactly: a price with
//! digits below the scale, one that overflows, a zero or negative price, or `UNDEF_PRICE`
//! where a price is needed make the record a counted skip (never rounded; nothing of the
//! record is yielded). Sizes are whole units, scaled to the instrument's quantity scale.
//! `exchange_ts = ts_event`, `receive_ts = ts_recv` (`ts_event` when `ts_recv` is
//! undefined). One exception: an MBO snapshot record (`F_SNAPSHOT`) carries the resting
//! order's original entry time as `ts_event`, out of order within the snapshot, so its
//! `exchange_ts` is raised to the latest exchange time already yielded for its instrument —
//! otherwise the Sequencer would refuse half the snapshot as time going backwards.
//! `header.sequence` is the adapter's running count from 1.
//!
//! # Gaps
//!
//! - A record flagged `F_MAYBE_BAD_BOOK` (Databento saw an unrecoverable gap in the venue
//!   channel) yields a `FeedGap { expected: sequence, received: 0 }` for its instrument
//!   before its own events, once per run of flagged records.
//! - With [`DbnOptions::sequence_gaps`], an instrument's `sequence` jumping forward by more
//!   than one yields `FeedGap { expected: last + 1, received: sequence }` (repeats and
//!   decreases are normal: one venue packet becomes several records; snapshot records and
//!   sequence 0 are not checked). **Off by default**: for CME (`GLBX.MDP3`, the sample
//!   data) `sequence` is the *channel's* packet sequence number, shared by every instrument
//!   of the channel, so a file of one symbol — or any schema but full-channel MBO — skips
//!   numbers legitimately (the samples: MBO `1170352, 1170353`, MBP-10 `1170352, 1170356`,
//!   trades `1170380, 1170414`). Turn it on for data where each instrument's sequence is
//!   contiguous.
//!
//! # Errors
//!
//! A record length that cannot be (below the 16-byte header, or not a multiple of 8 bytes —
//! checked before the decoder sees it, as a misaligned record would follow), a decoder
//! error, or an I/O or gzip error ends the stream: [`FeedStats::fatal`] says why and a
//! report gives the byte offset of the record (in the decompressed stream). A file that
//! ends inside a record is reported the same way ("truncated"). Records before either are
//! all yielded; the record at fault counts in `records` and `skipped`. Damage that keeps the
//! framing (an unknown record type, a record too short for its type, a bad price or side,
//! an add of a live order id) is a counted skip and the stream goes on. A file whose
//! prelude or metadata cannot be read fails at open ([`OpenError`]). Nothing panics.
//!
//! # Compression
//!
//! `.gz` is decompressed on the fly (by name), and so is zstd (`.dbn.zst`, recognised by its
//! magic number whatever the name) through the `dbn` crate's zstd reader. Byte offsets in
//! reports are offsets in the decompressed stream.
//!
//! # Memory
//!
//! Bounded by the file's instruments (a few hundred bytes each) and the live orders of the
//! mapped instruments of an MBO stream; nothing grows with the file's length.

mod convert;
mod input;
mod levels;
mod orders;
mod symbols;

use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// The `dbn` crate this adapter is built on (for writing test data and benchmarks).
pub use dbn;
use dbn::decode::{DbnMetadata as _, DecodeRecordRef as _};
use dbn::{rtype, FlagSet, MboMsg, Mbp10Msg, Mbp1Msg, RType, RecordHeader, RecordRef, TradeMsg};
use rustc_hash::FxHashMap;
use tickrail_engine::{Event, EventBody, EventHeader, Price, Qty};

use self::convert::{aggressor, book_side, byte, positive_qty, price, qty, timestamp, Skip};
use self::input::Decoder;
use self::levels::{Change, Levels};
use self::orders::{LiveOrder, Orders};
use self::symbols::{Symbols, Target};
use crate::feed::{FeedSource, FeedStats, InstrumentMap, OpenError};

/// Choices of a [`DbnSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbnOptions {
    /// Check each instrument's `sequence` for forward jumps and yield them as `FeedGap`s
    /// (see the [module docs](self#gaps); off by default).
    pub sequence_gaps: bool,
}

/// A DBN file as a stream of events; see the [module docs](self).
pub struct DbnSource {
    decoder: Decoder,
    tr: Translator,
}

impl fmt::Debug for DbnSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbnSource")
            .field("file", &self.tr.file)
            .field("schema", &self.decoder.metadata().schema)
            .field("stats", &self.tr.stats)
            .finish_non_exhaustive()
    }
}

impl DbnSource {
    /// Opens `path` (`.dbn`, or `.dbn.gz`) for `source`, mapping instruments with `map`
    /// and, when given, the definitions (`InstrumentDefMsg` records) of the DBN file
    /// `definitions`. Default [`DbnOptions`].
    pub fn open(
        path: &Path,
        source: u16,
        map: InstrumentMap,
        definitions: Option<&Path>,
    ) -> Result<Self, OpenError> {
        Self::open_with(path, source, map, definitions, DbnOptions::default())
    }

    /// [`Self::open`] with `options`.
    pub fn open_with(
        path: &Path,
        source: u16,
        map: InstrumentMap,
        definitions: Option<&Path>,
        options: DbnOptions,
    ) -> Result<Self, OpenError> {
        let stream = input::open_file(path)?;
        Self::from_stream(
            stream,
            &path.display().to_string(),
            source,
            map,
            definitions,
            options,
        )
    }

    /// A DBN stream read from `reader` (uncompressed), reported under `name`.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: &str,
        source: u16,
        map: InstrumentMap,
        definitions: Option<&Path>,
        options: DbnOptions,
    ) -> Result<Self, OpenError> {
        Self::from_stream(Box::new(reader), name, source, map, definitions, options)
    }

    fn from_stream(
        stream: input::Stream,
        name: &str,
        source: u16,
        map: InstrumentMap,
        definitions: Option<&Path>,
        options: DbnOptions,
    ) -> Result<Self, OpenError> {
        let (decoder, offset) = input::start(stream, name)?;
        let metadata = decoder.metadata();
        let mut symbols = Symbols::from_metadata(metadata);
        if let Some(path) = definitions {
            symbols.add_definitions(symbols::read_definitions(path)?);
        }
        let tr = Translator {
            file: name.to_owned(),
            source,
            options,
            version: metadata.version,
            map,
            symbols,
            index: FxHashMap::default(),
            insts: Vec::new(),
            last_inst: None,
            orders: Orders::default(),
            pending: VecDeque::with_capacity(64),
            changes: Vec::with_capacity(2 * levels::DEPTH * 2),
            bodies: Vec::with_capacity(2 * levels::DEPTH * 2),
            ids: Vec::new(),
            offset,
            next_sequence: 0,
            done: false,
            stats: FeedStats {
                bytes: offset,
                ..FeedStats::default()
            },
        };
        Ok(Self { decoder, tr })
    }

    /// The file's metadata (dataset, schema, symbology, ...).
    pub fn metadata(&self) -> &dbn::Metadata {
        self.decoder.metadata()
    }

    /// Orders live in the book of the mapped instruments (MBO), as the adapter tracks them.
    pub fn live_orders(&self) -> usize {
        self.tr.orders.len()
    }

    /// Instrument ids known from definitions (file and stream).
    pub fn defined_instruments(&self) -> usize {
        self.tr.symbols.definitions()
    }
}

impl FeedSource for DbnSource {
    fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(mut event) = self.tr.pending.pop_front() {
                self.tr.next_sequence += 1;
                event.header.sequence = self.tr.next_sequence;
                event.header.cause_sequence = self.tr.next_sequence;
                self.tr.stats.events += 1;
                return Some(event);
            }
            if self.tr.done {
                return None;
            }
            match self.decoder.decode_record_ref() {
                Ok(Some(rec)) => self.tr.on_record(rec),
                Ok(None) => {
                    let read = input::bytes_read(&self.decoder);
                    self.tr.finish(read);
                }
                Err(e) => self.tr.fail(&e),
            }
        }
    }

    fn stats(&self) -> &FeedStats {
        &self.tr.stats
    }
}

/// What the adapter keeps per DBN instrument id.
#[derive(Debug, Clone)]
struct InstState {
    /// The engine instrument, when mapped, for index times in `[from, to)`.
    target: Option<Target>,
    from: u64,
    to: u64,
    unknown_reported: bool,
    /// Highest `sequence` seen (0: none).
    last_sequence: u32,
    /// Inside a run of `F_MAYBE_BAD_BOOK` records.
    bad_book: bool,
    /// Latest exchange time yielded.
    last_exchange_ts: i64,
    last_bid: Option<Price>,
    last_ask: Option<Price>,
    /// MBP-10: the levels of the last record.
    levels: Levels,
}

impl InstState {
    const NEW: Self = Self {
        target: None,
        from: 0,
        to: 0,
        unknown_reported: false,
        last_sequence: 0,
        bad_book: false,
        last_exchange_ts: i64::MIN,
        last_bid: None,
        last_ask: None,
        levels: Levels::EMPTY,
    };
}

/// A record's instrument and the header of its events.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    target: Target,
    header: EventHeader,
}

/// Everything but the decoder (so that a decoded record, which borrows the decoder, can be
/// handed to it).
struct Translator {
    file: String,
    source: u16,
    options: DbnOptions,
    version: u8,
    map: InstrumentMap,
    symbols: Symbols,
    index: FxHashMap<u32, usize>,
    insts: Vec<InstState>,
    last_inst: Option<(u32, usize)>,
    orders: Orders,
    pending: VecDeque<Event>,
    changes: Vec<Change>,
    bodies: Vec<EventBody>,
    ids: Vec<u64>,
    /// Byte offset of the next record.
    offset: u64,
    next_sequence: u64,
    done: bool,
    stats: FeedStats,
}

impl Translator {
    fn on_record(&mut self, rec: RecordRef<'_>) {
        let offset = self.offset;
        let hd = rec.header();
        let size = hd.record_size();
        self.offset += size as u64;
        self.stats.records += 1;
        self.stats.bytes = self.offset;
        let short = |rtype| Skip::ShortRecord { rtype, bytes: size };
        let result = match hd.rtype {
            rtype::MBO => match rec.try_get::<MboMsg>() {
                Ok(m) => self.on_mbo(m, offset),
                Err(_) => Err(short(hd.rtype)),
            },
            rtype::MBP_1 => match rec.try_get::<Mbp1Msg>() {
                Ok(m) => self.on_mbp1(m, offset),
                Err(_) => Err(short(hd.rtype)),
            },
            rtype::MBP_10 => match rec.try_get::<Mbp10Msg>() {
                Ok(m) => self.on_mbp10(m, offset),
                Err(_) => Err(short(hd.rtype)),
            },
            rtype::MBP_0 => match rec.try_get::<TradeMsg>() {
                Ok(m) => self.on_trade(m, offset),
                Err(_) => Err(short(hd.rtype)),
            },
            rtype::INSTRUMENT_DEF => {
                if let Some(id) = self.symbols.on_definition(&rec, self.version) {
                    self.remap(id);
                }
                self.stats.ignored += 1;
                Ok(())
            }
            rtype::SYMBOL_MAPPING => {
                if let Some(id) = self.symbols.on_symbol_mapping(rec) {
                    self.remap(id);
                }
                self.stats.ignored += 1;
                Ok(())
            }
            r if RType::try_from(r).is_ok() => {
                self.stats.ignored += 1;
                Ok(())
            }
            r => Err(Skip::UnknownRecordType(r)),
        };
        if let Err(skip) = result {
            self.stats.skipped += 1;
            self.stats.report(&self.file, offset, false, skip);
        }
    }

    /// Forget the mapping of `id` (a definition or mapping of it arrived).
    fn remap(&mut self, id: u32) {
        if let Some(&i) = self.index.get(&id) {
            self.insts[i].to = 0;
        }
    }

    /// The state of DBN instrument `id`.
    #[inline]
    fn inst_index(&mut self, id: u32) -> usize {
        if let Some((last, i)) = self.last_inst {
            if last == id {
                return i;
            }
        }
        let insts = &mut self.insts;
        let i = *self.index.entry(id).or_insert_with(|| {
            insts.push(InstState::NEW);
            insts.len() - 1
        });
        self.last_inst = Some((id, i));
        i
    }

    /// The common part of a market data record: its instrument (`None`: not mapped,
    /// counted), its timestamps and the gaps it reveals (yielded here).
    fn begin(
        &mut self,
        hd: &RecordHeader,
        ts_recv: u64,
        sequence: u32,
        flags: FlagSet,
        offset: u64,
    ) -> Result<Option<Ctx>, Skip> {
        let id = hd.instrument_id;
        let i = self.inst_index(id);
        let index_ts = if ts_recv == dbn::UNDEF_TIMESTAMP {
            hd.ts_event
        } else {
            ts_recv
        };
        let st = &mut self.insts[i];
        if !(st.from <= index_ts && index_ts < st.to) {
            let r = self.symbols.resolve(&self.map, id, index_ts);
            if r.target != st.target {
                // Another engine instrument: its book does not hold our levels.
                st.last_bid = None;
                st.last_ask = None;
                st.levels = Levels::EMPTY;
            }
            (st.target, st.from, st.to) = (r.target, r.from, r.to);
        }
        let Some(target) = st.target else {
            self.stats.unknown_instrument += 1;
            if !st.unknown_reported {
                st.unknown_reported = true;
                let symbol = self.symbols.symbol_of(id, index_ts);
                self.stats.report(
                    &self.file,
                    offset,
                    false,
                    format_args!(
                        "instrument_id {id} (symbol {}) is not in the instrument map",
                        symbol.unwrap_or("unknown")
                    ),
                );
            }
            return Ok(None);
        };
        let ts_event = timestamp("ts_event", hd.ts_event)?;
        let ts_recv = if ts_recv == dbn::UNDEF_TIMESTAMP {
            ts_event
        } else {
            timestamp("ts_recv", ts_recv)?
        };
        let exchange_ts = if flags.is_snapshot() {
            ts_event.max(st.last_exchange_ts)
        } else {
            ts_event
        };
        st.last_exchange_ts = st.last_exchange_ts.max(exchange_ts);
        let header = EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: exchange_ts,
            receive_ts_ns: ts_recv,
            instrument: target.id,
            price_scale: target.price_scale.get(),
            qty_scale: target.qty_scale.get(),
            source: self.source,
        };
        let mut gap = None;
        if flags.is_maybe_bad_book() {
            if !st.bad_book {
                st.bad_book = true;
                gap = Some((u64::from(sequence), 0));
            }
        } else {
            st.bad_book = false;
        }
        if self.options.sequence_gaps && sequence != 0 && !flags.is_snapshot() {
            let last = st.last_sequence;
            if last != 0 && u64::from(sequence) > u64::from(last) + 1 && gap.is_none() {
                gap = Some((u64::from(last) + 1, u64::from(sequence)));
            }
            st.last_sequence = last.max(sequence);
        }
        if let Some((expected, received)) = gap {
            self.stats.gaps += 1;
            if received == 0 {
                self.stats.report(
                    &self.file,
                    offset,
                    false,
                    format_args!(
                        "instrument_id {id}: F_MAYBE_BAD_BOOK (unrecoverable gap in the venue \
                         channel) at sequence {sequence}"
                    ),
                );
            } else {
                self.stats.report(
                    &self.file,
                    offset,
                    false,
                    format_args!(
                        "instrument_id {id}: sequence gap, expected {expected}, received \
                         {received}"
                    ),
                );
            }
            self.pending.push_back(Event::new(
                header,
                EventBody::FeedGap { expected, received },
            ));
        }
        Ok(Some(Ctx { target, header }))
    }

    #[inline]
    fn push(&mut self, cx: &Ctx, body: EventBody) {
        self.pending.push_back(Event::new(cx.header, body));
    }

    fn on_mbo(&mut self, m: &MboMsg, offset: u64) -> Result<(), Skip> {
        let Some(cx) = self.begin(&m.hd, m.ts_recv, m.sequence, m.flags, offset)? else {
            return Ok(());
        };
        let (inst, order_id) = (m.hd.instrument_id, m.order_id);
        let (ps, qs) = (cx.target.price_scale, cx.target.qty_scale);
        let action = byte(m.action);
        match action {
            b'A' => self.mbo_add(&cx, m),
            b'C' => {
                let Some(o) = self.orders.get_mut(inst, order_id) else {
                    // Never seen (the file starts mid-session): the book counts it.
                    self.push(&cx, EventBody::OrderDelete { order_id });
                    return Ok(());
                };
                let remaining = o.size.saturating_sub(m.size);
                if remaining == 0 {
                    self.orders.remove(inst, order_id);
                    self.push(&cx, EventBody::OrderDelete { order_id });
                } else {
                    let q = qty("size", remaining, qs)?;
                    o.size = remaining;
                    let price = o.price;
                    self.push(
                        &cx,
                        EventBody::OrderModify {
                            order_id,
                            price,
                            qty: q,
                        },
                    );
                }
                Ok(())
            }
            b'M' => {
                if !self.orders.contains(inst, order_id) {
                    if m.size == 0 {
                        self.stats.ignored += 1;
                        return Ok(());
                    }
                    return self.mbo_add(&cx, m);
                }
                if m.size == 0 {
                    self.orders.remove(inst, order_id);
                    self.push(&cx, EventBody::OrderDelete { order_id });
                    return Ok(());
                }
                let px = price("price", m.price, ps)?;
                let q = qty("size", m.size, qs)?;
                if let Some(o) = self.orders.get_mut(inst, order_id) {
                    o.price = px;
                    o.size = m.size;
                }
                self.push(
                    &cx,
                    EventBody::OrderModify {
                        order_id,
                        price: px,
                        qty: q,
                    },
                );
                Ok(())
            }
            b'T' => {
                let px = price("price", m.price, ps)?;
                let q = positive_qty("size", m.size, qs)?;
                self.push(
                    &cx,
                    EventBody::Trade {
                        aggressor: aggressor(byte(m.side)),
                        price: px,
                        qty: q,
                        trade_id: u64::from(m.sequence),
                    },
                );
                Ok(())
            }
            b'F' | b'N' => {
                self.stats.ignored += 1;
                Ok(())
            }
            b'R' => {
                let mut ids = std::mem::take(&mut self.ids);
                self.orders.clear_instrument(inst, &mut ids);
                if ids.is_empty() {
                    self.stats.ignored += 1;
                }
                for &order_id in &ids {
                    self.push(&cx, EventBody::OrderDelete { order_id });
                }
                self.ids = ids;
                Ok(())
            }
            other => Err(Skip::BadAction(other)),
        }
    }

    fn mbo_add(&mut self, cx: &Ctx, m: &MboMsg) -> Result<(), Skip> {
        let (inst, order_id) = (m.hd.instrument_id, m.order_id);
        let side = book_side(byte(m.side)).ok_or(Skip::BadSide {
            action: byte(m.action),
            side: byte(m.side),
        })?;
        if self.orders.contains(inst, order_id) {
            return Err(Skip::DuplicateAdd(order_id));
        }
        let px = price("price", m.price, cx.target.price_scale)?;
        let q = positive_qty("size", m.size, cx.target.qty_scale)?;
        self.orders.insert(
            inst,
            order_id,
            LiveOrder {
                price: px,
                size: m.size,
            },
        );
        self.push(
            cx,
            EventBody::OrderAdd {
                side,
                order_id,
                price: px,
                qty: q,
            },
        );
        Ok(())
    }

    /// The trade part of an MBP record with action `T`, converted.
    fn trade_part(
        cx: &Ctx,
        action: u8,
        px: i64,
        size: u32,
        side: u8,
        sequence: u32,
    ) -> Result<Option<EventBody>, Skip> {
        if action != b'T' {
            return Ok(None);
        }
        Ok(Some(EventBody::Trade {
            aggressor: aggressor(side),
            price: price("price", px, cx.target.price_scale)?,
            qty: positive_qty("size", size, cx.target.qty_scale)?,
            trade_id: u64::from(sequence),
        }))
    }

    fn on_mbp1(&mut self, m: &Mbp1Msg, offset: u64) -> Result<(), Skip> {
        let Some(cx) = self.begin(&m.hd, m.ts_recv, m.sequence, m.flags, offset)? else {
            return Ok(());
        };
        let (ps, qs) = (cx.target.price_scale, cx.target.qty_scale);
        let l = &m.levels[0];
        let side = |field, px: i64, sz: u32| -> Result<Option<(Price, Qty)>, Skip> {
            if px == dbn::UNDEF_PRICE || sz == 0 {
                return Ok(None);
            }
            Ok(Some((price(field, px, ps)?, qty(field, sz, qs)?)))
        };
        let bid = side("bid_px", l.bid_px, l.bid_sz)?;
        let ask = side("ask_px", l.ask_px, l.ask_sz)?;
        let trade = Self::trade_part(
            &cx,
            byte(m.action),
            m.price,
            m.size,
            byte(m.side),
            m.sequence,
        )?;
        let i = self.inst_index(m.hd.instrument_id);
        let st = &mut self.insts[i];
        let one = Price::new(1);
        let bid_px = bid
            .map(|b| b.0)
            .or(st.last_bid)
            .or(ask.map(|a| a.0))
            .or(st.last_ask)
            .unwrap_or(one);
        let ask_px = ask
            .map(|a| a.0)
            .or(st.last_ask)
            .or(bid.map(|b| b.0))
            .or(st.last_bid)
            .unwrap_or(one);
        if bid.is_some() {
            st.last_bid = Some(bid_px);
        }
        if ask.is_some() {
            st.last_ask = Some(ask_px);
        }
        self.push(
            &cx,
            EventBody::Quote {
                bid_px,
                bid_qty: bid.map_or(Qty::ZERO, |b| b.1),
                ask_px,
                ask_qty: ask.map_or(Qty::ZERO, |a| a.1),
            },
        );
        if let Some(t) = trade {
            self.push(&cx, t);
        }
        Ok(())
    }

    fn on_mbp10(&mut self, m: &Mbp10Msg, offset: u64) -> Result<(), Skip> {
        let Some(cx) = self.begin(&m.hd, m.ts_recv, m.sequence, m.flags, offset)? else {
            return Ok(());
        };
        let (ps, qs) = (cx.target.price_scale, cx.target.qty_scale);
        let new = Levels::from_pairs(&m.levels);
        let i = self.inst_index(m.hd.instrument_id);
        self.changes.clear();
        self.insts[i].levels.diff(&new, &mut self.changes);
        self.bodies.clear();
        for c in &self.changes {
            let field = if c.side == tickrail_engine::Side::Buy {
                "bid_px"
            } else {
                "ask_px"
            };
            self.bodies.push(EventBody::BookLevel {
                side: c.side,
                action: c.action,
                level: c.level,
                price: price(field, c.px, ps)?,
                qty: qty(field, c.sz, qs)?,
            });
        }
        let trade = Self::trade_part(
            &cx,
            byte(m.action),
            m.price,
            m.size,
            byte(m.side),
            m.sequence,
        )?;
        // Everything converted: commit.
        self.insts[i].levels = new;
        if self.bodies.is_empty() && trade.is_none() {
            self.stats.ignored += 1;
        }
        for k in 0..self.bodies.len() {
            let body = self.bodies[k];
            self.push(&cx, body);
        }
        if let Some(t) = trade {
            self.push(&cx, t);
        }
        Ok(())
    }

    fn on_trade(&mut self, m: &TradeMsg, offset: u64) -> Result<(), Skip> {
        let Some(cx) = self.begin(&m.hd, m.ts_recv, m.sequence, m.flags, offset)? else {
            return Ok(());
        };
        let body = EventBody::Trade {
            aggressor: aggressor(byte(m.side)),
            price: price("price", m.price, cx.target.price_scale)?,
            qty: positive_qty("size", m.size, cx.target.qty_scale)?,
            trade_id: u64::from(m.sequence),
        };
        self.push(&cx, body);
        Ok(())
    }

    /// The decoder failed: the stream ends here.
    fn fail(&mut self, err: &dbn::Error) {
        let offset = self.offset;
        let err = input::describe(err);
        self.stats.records += 1;
        self.stats.skipped += 1;
        self.stats.report(
            &self.file,
            offset,
            false,
            format_args!("stream ends: {err}"),
        );
        self.stats.fatal = Some(format!("{}: offset {offset}: {err}", self.file));
        self.done = true;
    }

    /// The stream ended after `read` bytes: cleanly, or inside a record.
    fn finish(&mut self, read: u64) {
        if read > self.offset {
            let offset = self.offset;
            let tail = read - offset;
            let reason = format!(
                "truncated: the stream ends {tail} bytes into the record at offset {offset}"
            );
            self.stats.records += 1;
            self.stats.skipped += 1;
            self.stats.report(&self.file, offset, false, &reason);
            self.stats.fatal = Some(format!("{}: {reason}", self.file));
        }
        self.stats.bytes = read;
        self.done = true;
    }
}
