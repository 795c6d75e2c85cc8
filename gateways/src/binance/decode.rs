//! [`Decoder`]: one capture line in, events out — framing, classification, exact value
//! conversion, timestamps, depth continuity and snapshots (see the [module docs](super)).

use std::collections::HashSet;

use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, LevelAction, Price, Qty, Scale, Side, ValueError,
};

use super::depth::{DepthSync, DiffIds, Rule, Verdict};
use super::messages::{Field, LevelSpan, Message};
use super::options::{BinanceOptions, Market, TradeStream};
use super::scan::fixed;
use crate::feed::{FeedStats, MappedInstrument};

/// Counters specific to Binance captures (the shared ones are in [`FeedStats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BinanceStats {
    /// Depth diffs applied (their levels emitted), re-applied ones included.
    pub depth_diffs: u64,
    /// Of [`Self::depth_diffs`], those checked under the USD-M rule (`pu`); the rest under
    /// the spot rule.
    pub usdm_diffs: u64,
    /// `BookLevel` events from diffs.
    pub diff_levels: u64,
    /// REST depth snapshots applied.
    pub snapshots: u64,
    /// `BookLevel` upserts from snapshots.
    pub snapshot_levels: u64,
    /// `BookLevel` deletes a snapshot caused (levels known before it that it does not hold).
    pub snapshot_deletes: u64,
    /// Diffs received before a snapshot line but not covered by it, applied again after it.
    pub replayed_diffs: u64,
    /// Diffs dropped because a snapshot already covered them (counted `ignored`).
    pub stale_diffs: u64,
    /// Diffs dropped as duplicates or reordered (counted `out_of_order`).
    pub duplicate_diffs: u64,
    /// `Quote` events.
    pub quotes: u64,
    /// `Trade` events.
    pub trades: u64,
    /// USD-M trades whose type `X` is not `MARKET` (insurance fund, ADL), not emitted
    /// (counted `ignored`).
    pub non_market_trades: u64,
    /// Times a trade id was more than one above the previous one (prints missing from the
    /// capture; no `FeedGap`: books do not depend on trades).
    pub trade_id_jumps: u64,
    /// Events whose message has no event time (spot `bookTicker`, spot snapshots): stamped
    /// with the latest exchange time seen for the instrument (or the receive time before
    /// any).
    pub exchange_ts_estimated: u64,
    /// Events whose event time was before the instrument's last emitted exchange time (the
    /// streams of a combined capture interleave a few ms apart): stamped with that last
    /// time instead.
    pub exchange_ts_clamped: u64,
    /// The largest such correction, ns.
    pub max_clamp_ns: i64,
}

/// Prices (raw `i64`) of the known levels, hashed with FxHash: fast and deterministic (no
/// random state, unlike std's default).
type PriceSet = HashSet<i64, rustc_hash::FxBuildHasher>;

/// Per-instrument state.
#[derive(Debug, Default)]
struct InstrumentState {
    sync: DepthSync,
    /// The rule of the instrument's depth stream, once seen.
    usdm: Option<bool>,
    /// Exchange time of the last event emitted (never goes backwards).
    last_emitted_ns: Option<i64>,
    /// The latest event time seen in any message of the instrument, emitted or not.
    latest_seen_ns: Option<i64>,
    last_trade_id: Option<u64>,
    last_ticker_id: Option<u64>,
    /// Price levels the emitted book events hold (for snapshots: what to delete).
    bids: PriceSet,
    asks: PriceSet,
}

impl InstrumentState {
    fn levels(&mut self, side: Side) -> &mut PriceSet {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }
}

/// The message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Depth,
    Trade,
    AggTrade,
    BookTicker,
    Snapshot,
    /// Subscription answers, error answers, event types not used.
    Ignored,
    /// Valid JSON, but not a message this adapter knows.
    Unrecognised,
}

fn classify(msg: &Message<'_>) -> Kind {
    match msg.event {
        Some("depthUpdate") => Kind::Depth,
        Some("trade") => Kind::Trade,
        Some("aggTrade") => Kind::AggTrade,
        Some("bookTicker") => Kind::BookTicker,
        Some(_) => Kind::Ignored,
        None if msg.snapshot_id.is_some() || msg.bids.is_some() || msg.asks.is_some() => {
            Kind::Snapshot
        }
        // Spot `bookTicker` has no `e`.
        None if msg.symbol.is_some()
            && (msg.bid_qty.is_some() || msg.ask_qty.is_some() || msg.last_id.is_some()) =>
        {
            Kind::BookTicker
        }
        None if msg.ack || msg.error => Kind::Ignored,
        None => Kind::Unrecognised,
    }
}

/// Which instruments' depth streams the capture has shown (for snapshots, which name none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepthSeen {
    None,
    One(usize),
    Many,
}

/// Re-application of diffs after a snapshot: who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Live,
    Replay,
}

/// The latest applied diffs, as text, oldest first (bounded).
#[derive(Debug, Default)]
struct ReplayRing {
    slots: Vec<(u64, String)>,
    next: usize,
    cap: usize,
}

impl ReplayRing {
    fn push(&mut self, line_no: u64, json: &str) {
        if self.cap == 0 {
            return;
        }
        if self.slots.len() < self.cap {
            self.slots.push((line_no, json.to_owned()));
        } else if let Some(slot) = self.slots.get_mut(self.next) {
            slot.0 = line_no;
            slot.1.clear();
            slot.1.push_str(json);
        }
        self.next = (self.next + 1) % self.cap;
    }

    /// Slot indices, oldest first.
    fn order(&self) -> impl Iterator<Item = usize> {
        let (n, split) = (self.slots.len(), self.next);
        let split = if n < self.cap { 0 } else { split };
        (split..n).chain(0..split)
    }
}

/// One line: its number (1-based), receive time and JSON text.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    no: u64,
    recv: i64,
    json: &'a str,
}

/// A message's exchange time, before it is committed.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    ns: i64,
    estimated: bool,
    clamp_ns: i64,
}

/// Turns capture lines into events; owns every piece of state but the reader.
#[derive(Debug)]
pub(crate) struct Decoder {
    file: String,
    source: u16,
    instruments: Vec<MappedInstrument>,
    opts: BinanceOptions,
    state: Vec<InstrumentState>,
    levels: Vec<LevelSpan>,
    pending: Vec<Event>,
    /// Scratch: a diff's upserts, while its deletes go to `pending` first.
    upserts: Vec<Event>,
    next: usize,
    sequence: u64,
    last_recv: Option<i64>,
    depth_seen: DepthSeen,
    unknown_symbols: Vec<String>,
    ring: ReplayRing,
    snapshot_prices: PriceSet,
    deletes: Vec<Event>,
    pub(crate) stats: FeedStats,
    pub(crate) binance: BinanceStats,
}

/// At most this many unknown symbols are remembered (each is reported once).
const MAX_UNKNOWN_SYMBOLS: usize = 64;

/// `ms` milliseconds as nanoseconds, if that fits an `i64`.
fn ms_to_ns(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1_000_000)
}

/// The receive time: ASCII digits, nanoseconds.
fn parse_ns(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether a quantity's text is a zero (`0`, `0.00000000`); malformed text is refused by the
/// parser whichever way this answers.
fn zero_text(q: &str) -> bool {
    !q.is_empty() && q.bytes().all(|b| b == b'0' || b == b'.')
}

/// [`Price::parse`], by the fast parser when it answers.
#[inline]
fn parse_price(text: &str, scale: Scale) -> Result<Price, ValueError> {
    match fixed(text, scale.get()).map(Price::new_checked) {
        Some(Ok(p)) => Ok(p),
        _ => Price::parse(text, scale),
    }
}

/// [`Qty::parse`], by the fast parser when it answers.
#[inline]
fn parse_qty(text: &str, scale: Scale) -> Result<Qty, ValueError> {
    match fixed(text, scale.get()).map(Qty::new_checked) {
        Some(Ok(q)) => Ok(q),
        _ => Qty::parse(text, scale),
    }
}

/// At most 40 characters of `text`, for reports.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl Decoder {
    pub(crate) fn new(
        file: String,
        source: u16,
        instruments: Vec<MappedInstrument>,
        opts: BinanceOptions,
    ) -> Self {
        let state = instruments
            .iter()
            .map(|_| InstrumentState::default())
            .collect();
        let ring = ReplayRing {
            cap: if opts.apply_snapshots && opts.streams.depth {
                opts.replay_lines
            } else {
                0
            },
            ..ReplayRing::default()
        };
        Self {
            file,
            source,
            instruments,
            opts,
            state,
            levels: Vec::with_capacity(1024),
            pending: Vec::with_capacity(1024),
            upserts: Vec::with_capacity(1024),
            next: 0,
            sequence: 0,
            last_recv: None,
            depth_seen: DepthSeen::None,
            unknown_symbols: Vec::new(),
            ring,
            snapshot_prices: PriceSet::default(),
            deletes: Vec::new(),
            stats: FeedStats::default(),
            binance: BinanceStats::default(),
        }
    }

    pub(crate) fn options(&self) -> &BinanceOptions {
        &self.opts
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The next decoded event, numbered.
    pub(crate) fn pop(&mut self) -> Option<Event> {
        let mut event = *self.pending.get(self.next)?;
        self.next += 1;
        if self.next == self.pending.len() {
            self.pending.clear();
            self.next = 0;
        }
        self.sequence += 1;
        event.header.sequence = self.sequence;
        event.header.cause_sequence = self.sequence;
        self.stats.events += 1;
        Some(event)
    }

    /// Counts and reports a malformed record.
    pub(crate) fn skip(&mut self, line_no: u64, reason: impl std::fmt::Display) {
        self.stats.skipped += 1;
        self.stats.report(&self.file, line_no, true, reason);
    }

    /// Decodes line `line_no` (1-based), its end of line included or not.
    pub(crate) fn line(&mut self, line_no: u64, raw: &[u8]) {
        self.stats.records += 1;
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            self.stats.ignored += 1;
            return;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            return self.skip(line_no, "not UTF-8");
        };
        let Some((ts, json)) = text.split_once(' ') else {
            return self.skip(line_no, "no space between receive time and message");
        };
        let Some(recv) = parse_ns(ts) else {
            return self.skip(line_no, format_args!("bad receive time {:?}", clip(ts)));
        };
        let mut levels = std::mem::take(&mut self.levels);
        match Message::parse(json, &mut levels) {
            Ok(msg) => {
                let line = Line {
                    no: line_no,
                    recv,
                    json,
                };
                self.message(line, &msg, &levels);
            }
            Err(e) => self.skip(line_no, format_args!("bad JSON: {e}")),
        }
        self.levels = levels;
    }

    fn message(&mut self, line: Line<'_>, msg: &Message<'_>, levels: &[LevelSpan]) {
        let line_no = line.no;
        let kind = classify(msg);
        let streams = self.opts.streams;
        let selected = match kind {
            Kind::Depth => streams.depth,
            Kind::BookTicker => streams.book_ticker,
            Kind::Trade => streams.trades == TradeStream::Trade,
            Kind::AggTrade => streams.trades == TradeStream::AggTrade,
            Kind::Snapshot => streams.depth && self.opts.apply_snapshots,
            Kind::Ignored => false,
            Kind::Unrecognised => {
                return self.skip(line_no, "not a Binance market data message");
            }
        };
        if kind == Kind::Snapshot {
            if selected {
                self.snapshot(line, msg, levels);
            } else {
                self.stats.ignored += 1;
            }
            return;
        }
        if kind == Kind::Ignored {
            self.stats.ignored += 1;
            return;
        }
        let Some(symbol) = msg.symbol else {
            return self.skip(line_no, "message without symbol `s`");
        };
        let idx = self.lookup(symbol);
        if let (Some(i), Some(ms)) = (idx, msg.event_time) {
            if let (Some(ns), Some(st)) = (ms_to_ns(ms), self.state.get_mut(i)) {
                st.latest_seen_ns = Some(st.latest_seen_ns.map_or(ns, |t| t.max(ns)));
            }
        }
        if !selected {
            self.stats.ignored += 1;
            return;
        }
        let Some(idx) = idx else {
            return self.unknown(line_no, symbol);
        };
        match kind {
            Kind::Depth => {
                self.depth_seen = match self.depth_seen {
                    DepthSeen::None => DepthSeen::One(idx),
                    DepthSeen::One(i) if i == idx => DepthSeen::One(i),
                    _ => DepthSeen::Many,
                };
                self.depth(idx, line, msg, levels, Origin::Live);
            }
            Kind::Trade | Kind::AggTrade => self.trade(idx, line, msg, kind),
            _ => self.book_ticker(idx, line, msg),
        }
    }

    /// The index of `symbol` in the map.
    fn lookup(&self, symbol: &str) -> Option<usize> {
        let symbol = symbol.trim_matches(' ');
        self.instruments.iter().position(|m| m.symbol == symbol)
    }

    fn unknown(&mut self, line_no: u64, symbol: &str) {
        self.stats.unknown_instrument += 1;
        if !self.unknown_symbols.iter().any(|s| s == symbol)
            && self.unknown_symbols.len() < MAX_UNKNOWN_SYMBOLS
        {
            self.unknown_symbols.push(symbol.to_owned());
            self.stats.report(
                &self.file,
                line_no,
                true,
                format_args!("unknown symbol {:?} (reported once)", clip(symbol)),
            );
        }
    }

    /// Whether line `line_no`, received at `recv`, may emit: receive time never goes back.
    fn receive_in_order(&mut self, line_no: u64, recv: i64) -> bool {
        match self.last_recv {
            Some(last) if recv < last => {
                self.stats.out_of_order += 1;
                self.stats.report(
                    &self.file,
                    line_no,
                    true,
                    format_args!("receive time {recv} before the previous line's {last}"),
                );
                false
            }
            _ => {
                self.last_recv = Some(recv);
                true
            }
        }
    }

    /// The exchange time of a message of instrument `idx` with event time `ms` (if any).
    fn stamp(&self, idx: usize, ms: Option<u64>, recv: i64) -> Result<Stamp, String> {
        let st = self.state.get(idx).ok_or("instrument index out of range")?;
        let (raw, estimated) = match ms {
            Some(ms) => (
                ms_to_ns(ms).ok_or_else(|| format!("event time {ms} ms out of range"))?,
                false,
            ),
            None => (
                match (st.latest_seen_ns, st.last_emitted_ns) {
                    (None, None) => recv,
                    (a, b) => a.max(b).unwrap_or(recv),
                },
                true,
            ),
        };
        Ok(match st.last_emitted_ns {
            Some(last) if raw < last => Stamp {
                ns: last,
                estimated,
                clamp_ns: last - raw,
            },
            _ => Stamp {
                ns: raw,
                estimated,
                clamp_ns: 0,
            },
        })
    }

    /// Records that events stamped `stamp` were emitted for instrument `idx`.
    fn commit(&mut self, idx: usize, stamp: Stamp) {
        if let Some(st) = self.state.get_mut(idx) {
            st.last_emitted_ns = Some(stamp.ns);
        }
        if stamp.estimated {
            self.binance.exchange_ts_estimated += 1;
        }
        if stamp.clamp_ns > 0 {
            self.binance.exchange_ts_clamped += 1;
            self.binance.max_clamp_ns = self.binance.max_clamp_ns.max(stamp.clamp_ns);
        }
    }

    fn header(&self, idx: usize, exchange_ns: i64, recv: i64) -> EventHeader {
        let (instrument, price_scale, qty_scale) = self
            .instruments
            .get(idx)
            .map(|m| (m.id, m.price_scale.get(), m.qty_scale.get()))
            .unwrap_or_default();
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: exchange_ns,
            receive_ts_ns: recv,
            instrument,
            price_scale,
            qty_scale,
            source: self.source,
        }
    }

    /// The depth rule for instrument `idx`: forced by the options, else the one its first
    /// diff or snapshot showed, else `usdm_hint` (the message has `pu`, or for a snapshot
    /// `E`).
    fn rule(&self, idx: usize, usdm_hint: bool) -> Rule {
        match self.opts.market {
            Market::Spot => Rule::Spot,
            Market::UsdM => Rule::UsdM,
            Market::Auto => {
                let usdm = self
                    .state
                    .get(idx)
                    .and_then(|s| s.usdm)
                    .unwrap_or(usdm_hint);
                if usdm {
                    Rule::UsdM
                } else {
                    Rule::Spot
                }
            }
        }
    }

    /// Converts the level arrays of a diff or a snapshot into `BookLevel` events on
    /// `pending`. A diff's deletes (quantity zero) come first, then its upserts, bids before
    /// asks in each: as a diff's levels are distinct prices, the order inside it means
    /// nothing to the venue, and deletes first keep the book from crossing halfway through
    /// a diff that moves the market (every intermediate book is then a subset of the final
    /// one's price levels). A snapshot gives upserts only (zero quantities dropped).
    fn push_levels(
        &mut self,
        header: EventHeader,
        idx: usize,
        json: &str,
        sides: [(Side, &[LevelSpan]); 2],
        snapshot: bool,
    ) -> Result<(), String> {
        let (px_scale, qty_scale) = self
            .instruments
            .get(idx)
            .map(|m| (m.price_scale, m.qty_scale))
            .ok_or("instrument index out of range")?;
        let start = self.pending.len();
        if self.push_levels_fast(header, json, sides, snapshot, (px_scale, qty_scale)) {
            return Ok(());
        }
        // Some value is not of the common form: again, with the exact parser and its
        // errors, in the order that decides which error is reported.
        self.pending.truncate(start);
        let passes: &[bool] = if snapshot { &[false] } else { &[true, false] };
        for &deletes in passes {
            for (side, spans) in sides {
                for l in spans {
                    let (Some(px), Some(q)) = (l.px.get(json), l.qty.get(json)) else {
                        return Err("level outside the line".into());
                    };
                    if zero_text(q) != deletes {
                        continue;
                    }
                    let price = Price::parse(px, px_scale)
                        .map_err(|e| format!("{side} level price: {e}"))?;
                    let qty =
                        Qty::parse(q, qty_scale).map_err(|e| format!("{side} level qty: {e}"))?;
                    let action = match (qty.is_zero(), snapshot) {
                        (true, true) => continue,
                        (true, false) => LevelAction::Delete,
                        (false, _) => LevelAction::Upsert,
                    };
                    self.pending.push(Event::new(
                        header,
                        EventBody::BookLevel {
                            side,
                            action,
                            level: 0,
                            price,
                            qty,
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// [`Self::push_levels`] when every value converts by the fast parser, in one pass
    /// (deletes straight to `pending`, upserts after them): the same events in the same
    /// order. `false` (with `pending` partly filled) as soon as a value does not convert.
    fn push_levels_fast(
        &mut self,
        header: EventHeader,
        json: &str,
        sides: [(Side, &[LevelSpan]); 2],
        snapshot: bool,
        (px_scale, qty_scale): (Scale, Scale),
    ) -> bool {
        let (ps, qs) = (px_scale.get(), qty_scale.get());
        self.upserts.clear();
        for (side, spans) in sides {
            for l in spans {
                let (Some(px), Some(q)) = (l.px.get(json), l.qty.get(json)) else {
                    return false;
                };
                let (Some(px), Some(q)) = (fixed(px, ps), fixed(q, qs)) else {
                    return false;
                };
                let (Ok(price), Ok(qty)) = (Price::new_checked(px), Qty::new_checked(q)) else {
                    return false;
                };
                let (action, out) = match (qty.is_zero(), snapshot) {
                    (true, true) => continue,
                    (true, false) => (LevelAction::Delete, &mut self.pending),
                    (false, true) => (LevelAction::Upsert, &mut self.pending),
                    (false, false) => (LevelAction::Upsert, &mut self.upserts),
                };
                out.push(Event::new(
                    header,
                    EventBody::BookLevel {
                        side,
                        action,
                        level: 0,
                        price,
                        qty,
                    },
                ));
            }
        }
        self.pending.extend_from_slice(&self.upserts);
        true
    }

    /// Records the levels of `pending[start..]` in the known-level sets of `idx`.
    fn track_levels(&mut self, idx: usize, start: usize) {
        if !self.opts.apply_snapshots {
            return;
        }
        let (Some(st), Some(events)) = (self.state.get_mut(idx), self.pending.get(start..)) else {
            return;
        };
        for e in events {
            if let EventBody::BookLevel {
                side,
                action,
                price,
                ..
            } = e.body
            {
                match action {
                    LevelAction::Upsert => st.levels(side).insert(price.raw()),
                    LevelAction::Delete => st.levels(side).remove(&price.raw()),
                };
            }
        }
    }

    /// Emits and reports a `FeedGap { expected, received }` for instrument `idx`.
    fn gap(
        &mut self,
        idx: usize,
        line_no: u64,
        header: EventHeader,
        (expected, received): (u64, u64),
        why: &str,
    ) {
        self.pending.push(Event::new(
            header,
            EventBody::FeedGap { expected, received },
        ));
        self.stats.gaps += 1;
        let symbol = self.instruments.get(idx).map_or("?", |m| m.symbol.as_str());
        self.stats.report(
            &self.file,
            line_no,
            true,
            format_args!("{symbol} depth gap ({why}): expected {expected}, received {received}"),
        );
    }

    fn depth(
        &mut self,
        idx: usize,
        line: Line<'_>,
        msg: &Message<'_>,
        levels: &[LevelSpan],
        origin: Origin,
    ) {
        let Line { no, recv, json } = line;
        let (Some(first), Some(last), Some(ms)) = (msg.first_id, msg.last_id, msg.event_time)
        else {
            return self.skip(no, "depthUpdate without `U`, `u` or `E`");
        };
        let (Some(Field::Levels(bids)), Some(Field::Levels(asks))) = (&msg.b, &msg.a) else {
            return self.skip(no, "depthUpdate without `b` and `a` level arrays");
        };
        let (Some(bids), Some(asks)) = (levels.get(bids.clone()), levels.get(asks.clone())) else {
            return self.skip(no, "depthUpdate levels out of range");
        };
        if first > last {
            return self.skip(no, format_args!("depthUpdate with U {first} > u {last}"));
        }
        let rule = self.rule(idx, msg.prev_last_id.is_some());
        if rule == Rule::UsdM && msg.prev_last_id.is_none() {
            return self.skip(no, "USD-M depthUpdate without `pu`");
        }
        if origin == Origin::Live && !self.receive_in_order(no, recv) {
            return;
        }
        let ids = DiffIds {
            first,
            last,
            prev: msg.prev_last_id,
        };
        let Some(st) = self.state.get_mut(idx) else {
            return;
        };
        st.usdm = Some(rule == Rule::UsdM);
        let verdict = st.sync.check(rule, ids);
        match verdict {
            Verdict::Stale => {
                self.stats.ignored += 1;
                self.binance.stale_diffs += 1;
                return;
            }
            Verdict::Duplicate => {
                self.stats.out_of_order += 1;
                self.binance.duplicate_diffs += 1;
                return self.stats.report(
                    &self.file,
                    no,
                    true,
                    format_args!("depthUpdate u {last} not after the last applied one: dropped"),
                );
            }
            Verdict::Gap { .. } | Verdict::Apply => {}
        }
        let stamp = match self.stamp(idx, Some(ms), recv) {
            Ok(s) => s,
            Err(e) => return self.skip(no, e),
        };
        let header = self.header(idx, stamp.ns, recv);
        if let Verdict::Gap { expected, received } = verdict {
            let why = match rule {
                Rule::UsdM => "pu",
                Rule::Spot => "U",
            };
            self.gap(idx, no, header, (expected, received), why);
        }
        let start = self.pending.len();
        let converted = self.push_levels(
            header,
            idx,
            json,
            [(Side::Buy, bids), (Side::Sell, asks)],
            false,
        );
        match converted {
            Ok(()) => {
                self.track_levels(idx, start);
                self.binance.depth_diffs += 1;
                self.binance.usdm_diffs += u64::from(rule == Rule::UsdM);
                self.binance.diff_levels += (self.pending.len() - start) as u64;
            }
            Err(reason) => {
                // The diff cannot be applied: the book misses it from here on.
                self.pending.truncate(start);
                self.skip(no, reason);
                self.gap(idx, no, header, (first, 0), "diff skipped");
            }
        }
        self.commit(idx, stamp);
        if let Some(st) = self.state.get_mut(idx) {
            st.sync.applied(ids);
        }
        match origin {
            Origin::Live => self.ring.push(no, json),
            Origin::Replay => self.binance.replayed_diffs += 1,
        }
    }

    fn trade(&mut self, idx: usize, line: Line<'_>, msg: &Message<'_>, kind: Kind) {
        let Line { no, recv, .. } = line;
        let id = match (kind, &msg.a) {
            (Kind::AggTrade, Some(Field::Num(a))) => Some(*a),
            (Kind::AggTrade, _) => None,
            _ => msg.trade_id,
        };
        let (Some(id), Some(ms), Some(px), Some(q), Some(buyer_is_maker)) =
            (id, msg.event_time, msg.price, msg.qty, msg.buyer_is_maker)
        else {
            return self.skip(no, "trade without id, `E`, `p`, `q` or `m`");
        };
        if msg.trade_type.is_some_and(|x| x != "MARKET") {
            self.stats.ignored += 1;
            self.binance.non_market_trades += 1;
            return;
        }
        let Some(m) = self.instruments.get(idx) else {
            return;
        };
        let price = match parse_price(px, m.price_scale) {
            Ok(p) => p,
            Err(e) => return self.skip(no, format_args!("trade price: {e}")),
        };
        let qty = match parse_qty(q, m.qty_scale) {
            Ok(q) if !q.is_zero() => q,
            Ok(_) => return self.skip(no, "trade with zero quantity"),
            Err(e) => return self.skip(no, format_args!("trade qty: {e}")),
        };
        if !self.receive_in_order(no, recv) {
            return;
        }
        let last_id = self.state.get(idx).and_then(|s| s.last_trade_id);
        if let Some(last) = last_id {
            if id <= last {
                self.stats.out_of_order += 1;
                return self.stats.report(
                    &self.file,
                    no,
                    true,
                    format_args!("trade id {id} not after the previous one {last}: dropped"),
                );
            }
            self.binance.trade_id_jumps += u64::from(id > last.saturating_add(1));
        }
        let stamp = match self.stamp(idx, Some(ms), recv) {
            Ok(s) => s,
            Err(e) => return self.skip(no, e),
        };
        let header = self.header(idx, stamp.ns, recv);
        // `m`: the buyer was the maker, so the seller took liquidity.
        let aggressor = if buyer_is_maker {
            Aggressor::Sell
        } else {
            Aggressor::Buy
        };
        self.pending.push(Event::new(
            header,
            EventBody::Trade {
                aggressor,
                price,
                qty,
                trade_id: id,
            },
        ));
        self.binance.trades += 1;
        self.commit(idx, stamp);
        if let Some(st) = self.state.get_mut(idx) {
            st.last_trade_id = Some(id);
        }
    }

    fn book_ticker(&mut self, idx: usize, line: Line<'_>, msg: &Message<'_>) {
        let Line { no, recv, .. } = line;
        let (Some(Field::Str(bid)), Some(bid_qty), Some(Field::Str(ask)), Some(ask_qty), Some(u)) =
            (&msg.b, msg.bid_qty, &msg.a, msg.ask_qty, msg.last_id)
        else {
            return self.skip(no, "bookTicker without `b`, `B`, `a`, `A` or `u`");
        };
        let Some(m) = self.instruments.get(idx) else {
            return;
        };
        let (ps, qs) = (m.price_scale, m.qty_scale);
        let values = parse_price(bid, ps)
            .map_err(|e| ("bid price", e))
            .and_then(|bp| Ok((bp, parse_qty(bid_qty, qs).map_err(|e| ("bid qty", e))?)))
            .and_then(|(bp, bq)| Ok((bp, bq, parse_price(ask, ps).map_err(|e| ("ask price", e))?)))
            .and_then(|(bp, bq, ap)| {
                Ok((
                    bp,
                    bq,
                    ap,
                    parse_qty(ask_qty, qs).map_err(|e| ("ask qty", e))?,
                ))
            });
        let (bid_px, bid_qty, ask_px, ask_qty) = match values {
            Ok(v) => v,
            Err((what, e)) => return self.skip(no, format_args!("bookTicker {what}: {e}")),
        };
        if !self.receive_in_order(no, recv) {
            return;
        }
        if let Some(last) = self.state.get(idx).and_then(|s| s.last_ticker_id) {
            if u <= last {
                self.stats.out_of_order += 1;
                return self.stats.report(
                    &self.file,
                    no,
                    true,
                    format_args!("bookTicker u {u} not after the previous one {last}: dropped"),
                );
            }
        }
        let stamp = match self.stamp(idx, msg.event_time, recv) {
            Ok(s) => s,
            Err(e) => return self.skip(no, e),
        };
        let header = self.header(idx, stamp.ns, recv);
        self.pending.push(Event::new(
            header,
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            },
        ));
        self.binance.quotes += 1;
        self.commit(idx, stamp);
        if let Some(st) = self.state.get_mut(idx) {
            st.last_ticker_id = Some(u);
        }
    }

    /// The instrument a snapshot belongs to.
    fn snapshot_instrument(&self) -> Option<usize> {
        if let Some(symbol) = &self.opts.snapshot_symbol {
            return self.lookup(symbol);
        }
        if self.instruments.len() == 1 {
            return Some(0);
        }
        match self.depth_seen {
            DepthSeen::One(i) => Some(i),
            DepthSeen::None | DepthSeen::Many => None,
        }
    }

    fn snapshot(&mut self, line: Line<'_>, msg: &Message<'_>, levels: &[LevelSpan]) {
        let Line {
            no: line_no,
            recv,
            json,
        } = line;
        let (Some(id), Some(Field::Levels(bids)), Some(Field::Levels(asks))) =
            (msg.snapshot_id, &msg.bids, &msg.asks)
        else {
            return self.skip(
                line_no,
                "depth snapshot without `lastUpdateId`, `bids` or `asks`",
            );
        };
        let (Some(bids), Some(asks)) = (levels.get(bids.clone()), levels.get(asks.clone())) else {
            return self.skip(line_no, "snapshot levels out of range");
        };
        if let Some(symbol) = self.opts.snapshot_symbol.clone() {
            if self.lookup(&symbol).is_none() {
                return self.unknown(line_no, &symbol);
            }
        }
        let Some(idx) = self.snapshot_instrument() else {
            return self.skip(
                line_no,
                "depth snapshot names no symbol and the capture's depth symbol is not known \
                 (set BinanceOptions::snapshot_symbol)",
            );
        };
        if !self.receive_in_order(line_no, recv) {
            return;
        }
        let rule = self.rule(idx, msg.event_time.is_some());
        let stamp = match self.stamp(idx, msg.event_time, recv) {
            Ok(s) => s,
            Err(e) => return self.skip(line_no, e),
        };
        let header = self.header(idx, stamp.ns, recv);
        let start = self.pending.len();
        let converted = self.push_levels(
            header,
            idx,
            json,
            [(Side::Buy, bids), (Side::Sell, asks)],
            true,
        );
        if let Err(reason) = converted {
            // The book stays as the diffs made it; nothing to flag.
            self.pending.truncate(start);
            return self.skip(line_no, format_args!("depth snapshot: {reason}"));
        }
        let upserts = self.pending.len() - start;
        // Deletes first, for every known level the snapshot does not hold (then the book
        // is a subset of the snapshot at every step, so never crossed by this).
        self.deletes.clear();
        for side in [Side::Buy, Side::Sell] {
            self.snapshot_prices.clear();
            for e in self.pending.get(start..).unwrap_or_default() {
                if let EventBody::BookLevel { side: s, price, .. } = e.body {
                    if s == side {
                        self.snapshot_prices.insert(price.raw());
                    }
                }
            }
            let Some(st) = self.state.get_mut(idx) else {
                return;
            };
            let known = st.levels(side);
            let first_delete = self.deletes.len();
            for &px in known.iter() {
                if !self.snapshot_prices.contains(&px) {
                    if let Ok(price) = Price::new_checked(px) {
                        self.deletes.push(Event::new(
                            header,
                            EventBody::BookLevel {
                                side,
                                action: LevelAction::Delete,
                                level: 0,
                                price,
                                qty: Qty::ZERO,
                            },
                        ));
                    }
                }
            }
            known.clear();
            known.extend(self.snapshot_prices.iter().copied());
            // Deterministic order: worst level first (hash-set order is not meaningful).
            if let Some(dels) = self.deletes.get_mut(first_delete..) {
                dels.sort_unstable_by_key(|e| match e.body {
                    EventBody::BookLevel { price, .. } if side == Side::Buy => price.raw(),
                    EventBody::BookLevel { price, .. } => -price.raw(),
                    _ => 0,
                });
            }
        }
        let deletes = self.deletes.len();
        self.pending.extend_from_slice(&self.deletes);
        if let Some(tail) = self.pending.get_mut(start..) {
            tail.rotate_right(deletes);
        }
        self.binance.snapshots += 1;
        self.binance.snapshot_levels += upserts as u64;
        self.binance.snapshot_deletes += deletes as u64;
        self.commit(idx, stamp);
        if let Some(st) = self.state.get_mut(idx) {
            st.usdm = Some(rule == Rule::UsdM);
            st.sync.snapshot(id);
        }
        self.replay(idx, rule, recv);
    }

    /// Applies again the kept diffs of instrument `idx` the snapshot just applied does not
    /// cover, stamped with the snapshot's receive time.
    fn replay(&mut self, idx: usize, rule: Rule, recv: i64) {
        let ring = std::mem::take(&mut self.ring);
        let mut levels = Vec::new();
        for slot in ring.order() {
            let Some((line_no, json)) = ring.slots.get(slot) else {
                continue;
            };
            let Ok(msg) = Message::parse(json, &mut levels) else {
                continue;
            };
            let (Some(symbol), Some(u)) = (msg.symbol, msg.last_id) else {
                continue;
            };
            let covered = self
                .state
                .get(idx)
                .is_none_or(|s| s.sync.covered_by_snapshot(rule, u));
            if self.lookup(symbol) == Some(idx) && !covered {
                let line = Line {
                    no: *line_no,
                    recv,
                    json,
                };
                self.depth(idx, line, &msg, &levels, Origin::Replay);
            }
        }
        self.ring = ring;
    }
}
