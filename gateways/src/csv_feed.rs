//! CSV quotes and trades as a [`FeedSource`]: [`CsvSource`].
//!
//! A file holds one of two layouts, chosen by its header line. Columns are matched by
//! name (any order; surrounding spaces ignored); every column of the layout is required
//! and no other column is allowed — a header that breaks this fails at open, naming the
//! column. The file is read as a stream (`.csv.gz` decompressed on the fly, see
//! [`open_maybe_gz`]) through one reused [`csv::ByteRecord`].
//!
//! # Quotes layout
//!
//! `ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty` — one row per top-of-book
//! change, yielded as [`EventBody::Quote`].
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `ts_recv_ns` | integer ≥ 0 | local receive time, ns since the Unix epoch (`header.receive_ts_ns`) |
//! | `ts_event_ns` | integer ≥ 0 | venue time, ns since the Unix epoch (`header.exchange_ts_ns`; 0 if the venue gives none) |
//! | `symbol` | text | the venue symbol, looked up in the [`InstrumentMap`] |
//! | `bid_px` | decimal | best bid price, at most the instrument's price scale in decimal places, > 0; when `bid_qty` is 0 (an empty side) it may be empty or 0 |
//! | `bid_qty` | decimal ≥ 0 | quantity at the best bid, at most the instrument's quantity scale in decimal places; 0 = no bid |
//! | `ask_px` | decimal | best ask price, as `bid_px` |
//! | `ask_qty` | decimal ≥ 0 | quantity at the best ask, as `bid_qty` |
//!
//! An empty side (quantity 0) with an empty or zero price repeats the last price seen on
//! that side of the instrument with a quantity (else the other side's, else raw 1: not
//! meaningful, per [`EventBody::Quote`]); a positive price given with quantity 0 is kept.
//!
//! # Trades layout
//!
//! `ts_recv_ns,ts_event_ns,symbol,price,qty,side,trade_id` — one row per public trade,
//! yielded as [`EventBody::Trade`].
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `ts_recv_ns` | integer ≥ 0 | local receive time, ns since the Unix epoch |
//! | `ts_event_ns` | integer ≥ 0 | venue time, ns since the Unix epoch |
//! | `symbol` | text | the venue symbol |
//! | `price` | decimal > 0 | trade price, exact at the instrument's price scale |
//! | `qty` | decimal > 0 | traded quantity, exact at the instrument's quantity scale |
//! | `side` | `buy` \| `sell` \| `unknown` | the aggressor: `buy` = a buyer lifted the offer, `sell` = a seller hit the bid (ASCII case ignored) |
//! | `trade_id` | integer ≥ 0, or empty | the venue's trade id (empty = 0, none) |
//!
//! # Values, order and bad rows
//!
//! Prices and quantities are decimal text converted exactly ([`tickrail_engine::value::parse_raw`]:
//! `123.45`, no exponent, no `+`; digits beyond the scale must be zeros). A row that does not
//! parse — wrong number of fields, a bad number, a value that does not fit the scale, an
//! unknown side — is a counted skip ([`FeedStats::skipped`]) reported with its line number.
//! A symbol not in the map counts in [`FeedStats::unknown_instrument`] (the first row of
//! each such symbol is reported). A row whose `ts_recv_ns` is earlier than the last row
//! yielded, or whose `ts_event_ns` is earlier than the last row yielded for its instrument,
//! counts in [`FeedStats::out_of_order`] and is skipped. An I/O error (or a corrupt `.gz`)
//! ends the stream with [`FeedStats::fatal`]. Nothing panics.
//!
//! `header.sequence` is the adapter's running count from 1.

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use tickrail_engine::value::parse_raw;
use tickrail_engine::{Aggressor, Event, EventBody, EventHeader, Price, Qty, ValueError};

use crate::feed::{open_maybe_gz, FeedSource, FeedStats, InstrumentMap, OpenError};

/// The columns of the quotes layout.
pub const QUOTE_COLUMNS: [&str; 7] = [
    "ts_recv_ns",
    "ts_event_ns",
    "symbol",
    "bid_px",
    "bid_qty",
    "ask_px",
    "ask_qty",
];

/// The columns of the trades layout.
pub const TRADE_COLUMNS: [&str; 7] = [
    "ts_recv_ns",
    "ts_event_ns",
    "symbol",
    "price",
    "qty",
    "side",
    "trade_id",
];

/// Which layout a file has (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvLayout {
    /// [`QUOTE_COLUMNS`], rows become `Quote`s.
    Quotes,
    /// [`TRADE_COLUMNS`], rows become `Trade`s.
    Trades,
}

impl CsvLayout {
    /// The layout's columns, in their documented order.
    pub const fn columns(self) -> &'static [&'static str; 7] {
        match self {
            Self::Quotes => &QUOTE_COLUMNS,
            Self::Trades => &TRADE_COLUMNS,
        }
    }

    /// `quotes` or `trades`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Quotes => "quotes",
            Self::Trades => "trades",
        }
    }
}

impl fmt::Display for CsvLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Column indices in the layout's order (the same for both layouts for the first three).
const TS_RECV: usize = 0;
const TS_EVENT: usize = 1;
const SYMBOL: usize = 2;
/// Quotes: `bid_px`, `bid_qty`, `ask_px`, `ask_qty`; trades: `price`, `qty`, `side`,
/// `trade_id`.
const C3: usize = 3;
const C4: usize = 4;
const C5: usize = 5;
const C6: usize = 6;

/// How many distinct symbols are remembered (beyond, they are looked up every row).
const SYMBOL_CACHE: usize = 4096;

/// What a row's field was wrong with.
#[derive(Debug)]
enum Why {
    NotAnInteger,
    Value(ValueError),
    ZeroQty,
    EmptyPriceWithQty,
    Side,
}

/// A bad field of a row: the layout column and why.
#[derive(Debug)]
struct Bad {
    column: usize,
    why: Why,
}

/// A bad field, printable with its text (formatted only when the report is kept).
struct BadField<'a> {
    column: &'static str,
    text: &'a [u8],
    why: &'a Why,
}

impl fmt::Display for BadField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = String::from_utf8_lossy(self.text);
        let column = self.column;
        match self.why {
            Why::NotAnInteger => write!(f, "{column}: {text:?} is not a non-negative integer"),
            Why::Value(e) => write!(f, "{column}: {e}"),
            Why::ZeroQty => write!(f, "{column}: zero quantity"),
            Why::EmptyPriceWithQty => {
                write!(f, "{column}: empty price with a non-zero quantity")
            }
            Why::Side => write!(f, "{column}: {text:?} is not buy, sell or unknown"),
        }
    }
}

/// Per configured instrument.
#[derive(Debug, Clone, Copy, Default)]
struct InstState {
    last_event_ts: Option<i64>,
    last_bid: Option<Price>,
    last_ask: Option<Price>,
}

/// A symbol's lookup: the index of its entry in the map, if any.
type Lookup = Option<usize>;

/// A CSV file of quotes or trades as a stream of events; see the [module docs](self).
pub struct CsvSource {
    reader: csv::Reader<Box<dyn BufRead + Send>>,
    rec: csv::ByteRecord,
    layout: CsvLayout,
    /// Position in the row of each layout column.
    cols: [usize; 7],
    file: String,
    source: u16,
    map: InstrumentMap,
    symbols: HashMap<Box<[u8]>, Lookup>,
    last_symbol: Vec<u8>,
    last_lookup: Option<Lookup>,
    insts: Vec<InstState>,
    last_recv_ts: i64,
    next_sequence: u64,
    done: bool,
    stats: FeedStats,
}

impl fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvSource")
            .field("file", &self.file)
            .field("layout", &self.layout)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl CsvSource {
    /// Opens `path` (`.csv`, or `.csv.gz`) for `source`, mapping symbols with `map`. Fails
    /// if the header is not one of the two layouts (the error names the column).
    pub fn open(path: &Path, source: u16, map: InstrumentMap) -> Result<Self, OpenError> {
        let stream = open_maybe_gz(path)?;
        Self::from_reader(stream, &path.display().to_string(), source, map)
    }

    /// A CSV stream read from `reader`, reported under `name`.
    pub fn from_reader(
        reader: Box<dyn BufRead + Send>,
        name: &str,
        source: u16,
        map: InstrumentMap,
    ) -> Result<Self, OpenError> {
        let fail = |reason: String| OpenError {
            file: name.to_owned(),
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .trim(csv::Trim::Headers)
            .buffer_capacity(1 << 16)
            .from_reader(reader);
        let header = reader
            .byte_headers()
            .map_err(|e| fail(format!("cannot read the header: {e}")))?
            .clone();
        let (layout, cols) = match_header(&header).map_err(fail)?;
        let insts = vec![InstState::default(); map.entries().len()];
        Ok(Self {
            reader,
            rec: csv::ByteRecord::new(),
            layout,
            cols,
            file: name.to_owned(),
            source,
            map,
            symbols: HashMap::new(),
            last_symbol: Vec::new(),
            last_lookup: None,
            insts,
            last_recv_ts: i64::MIN,
            next_sequence: 0,
            done: false,
            stats: FeedStats::default(),
        })
    }

    /// The file's layout.
    pub fn layout(&self) -> CsvLayout {
        self.layout
    }

    /// The 1-based line of the current row.
    fn line(&self) -> u64 {
        self.rec.position().map_or(0, csv::Position::line)
    }

    /// The text of layout column `c` in the current row, without surrounding ASCII spaces
    /// (trimmed here: the `csv` crate's own field trimming rebuilds the record per row).
    #[inline]
    fn field(&self, c: usize) -> &[u8] {
        self.rec.get(self.cols[c]).unwrap_or_default().trim_ascii()
    }

    /// The map entry of the current row's symbol (`None`: not mapped, counted).
    fn instrument(&mut self) -> Option<usize> {
        let symbol = self
            .rec
            .get(self.cols[SYMBOL])
            .unwrap_or_default()
            .trim_ascii();
        if let Some(lookup) = self.last_lookup {
            if symbol == self.last_symbol.as_slice() {
                return self.counted(lookup, false);
            }
        }
        let cached = self.symbols.get(symbol).copied();
        let (lookup, first) = match cached {
            Some(lookup) => (lookup, false),
            None => {
                let lookup = std::str::from_utf8(symbol)
                    .ok()
                    .and_then(|s| self.map.by_symbol(s))
                    .and_then(|m| self.map.entries().iter().position(|e| std::ptr::eq(e, m)));
                if self.symbols.len() < SYMBOL_CACHE {
                    self.symbols.insert(symbol.into(), lookup);
                }
                (lookup, true)
            }
        };
        self.last_symbol.clear();
        self.last_symbol.extend_from_slice(symbol);
        self.last_lookup = Some(lookup);
        self.counted(lookup, first)
    }

    /// `lookup`'s entry; an unknown symbol is counted (and reported when `first` seen).
    fn counted(&mut self, lookup: Lookup, first: bool) -> Option<usize> {
        if lookup.is_none() {
            self.stats.unknown_instrument += 1;
            if first {
                let line = self.line();
                let symbol = String::from_utf8_lossy(self.field(SYMBOL)).into_owned();
                self.stats.report(
                    &self.file,
                    line,
                    true,
                    format_args!("symbol {symbol:?} is not in the instrument map"),
                );
            }
        }
        lookup
    }

    /// A non-negative integer timestamp of layout column `c`.
    fn timestamp(&self, c: usize) -> Result<i64, Bad> {
        digits(self.field(c))
            .and_then(|t| i64::try_from(t).ok())
            .ok_or(Bad {
                column: c,
                why: Why::NotAnInteger,
            })
    }

    fn decimal<T>(
        &self,
        c: usize,
        parse: impl Fn(&str, tickrail_engine::Scale) -> Result<T, ValueError>,
        scale: tickrail_engine::Scale,
    ) -> Result<T, Bad> {
        let bad = |why| Bad { column: c, why };
        let text = std::str::from_utf8(self.field(c)).map_err(|_| {
            bad(Why::Value(ValueError::NotANumber {
                text: String::from_utf8_lossy(self.field(c)).into_owned(),
            }))
        })?;
        parse(text, scale).map_err(|e| bad(Why::Value(e)))
    }

    /// The event of the current row, or `None` when it was skipped (and counted).
    fn row(&mut self) -> Option<Event> {
        match self.parse_row() {
            Ok(event) => event,
            Err(bad) => {
                self.stats.skipped += 1;
                let line = self.line();
                let column = self.layout.columns()[bad.column];
                let text = self
                    .rec
                    .get(self.cols[bad.column])
                    .unwrap_or_default()
                    .trim_ascii();
                self.stats.report(
                    &self.file,
                    line,
                    true,
                    BadField {
                        column,
                        text,
                        why: &bad.why,
                    },
                );
                None
            }
        }
    }

    fn parse_row(&mut self) -> Result<Option<Event>, Bad> {
        let ts_recv = self.timestamp(TS_RECV)?;
        let ts_event = self.timestamp(TS_EVENT)?;
        let Some(entry) = self.instrument() else {
            return Ok(None);
        };
        let m = &self.map.entries()[entry];
        let (ps, qs) = (m.price_scale, m.qty_scale);
        let header = EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: ts_event,
            receive_ts_ns: ts_recv,
            instrument: m.id,
            price_scale: ps.get(),
            qty_scale: qs.get(),
            source: self.source,
        };
        let body = match self.layout {
            CsvLayout::Quotes => {
                let side = |px_col: usize, qty_col: usize| -> Result<(Option<Price>, Qty), Bad> {
                    let q = self.decimal(qty_col, Qty::parse, qs)?;
                    if !q.is_zero() {
                        if self.field(px_col).is_empty() {
                            return Err(Bad {
                                column: px_col,
                                why: Why::EmptyPriceWithQty,
                            });
                        }
                        return Ok((Some(self.decimal(px_col, Price::parse, ps)?), q));
                    }
                    // An empty side: the price may be empty or 0 (not meaningful).
                    if self.field(px_col).is_empty() {
                        return Ok((None, q));
                    }
                    let raw = self.decimal(px_col, parse_raw, ps)?;
                    if raw == 0 {
                        return Ok((None, q));
                    }
                    let px = Price::new_checked(raw).map_err(|e| Bad {
                        column: px_col,
                        why: Why::Value(e),
                    })?;
                    Ok((Some(px), q))
                };
                let (bid, bid_qty) = side(C3, C4)?;
                let (ask, ask_qty) = side(C5, C6)?;
                if !self.in_order(entry, ts_recv, ts_event) {
                    return Ok(None);
                }
                let st = &mut self.insts[entry];
                let one = Price::new(1);
                let bid_px = bid.or(st.last_bid).or(ask).or(st.last_ask).unwrap_or(one);
                let ask_px = ask.or(st.last_ask).or(bid).or(st.last_bid).unwrap_or(one);
                if bid.is_some() && !bid_qty.is_zero() {
                    st.last_bid = bid;
                }
                if ask.is_some() && !ask_qty.is_zero() {
                    st.last_ask = ask;
                }
                EventBody::Quote {
                    bid_px,
                    bid_qty,
                    ask_px,
                    ask_qty,
                }
            }
            CsvLayout::Trades => {
                let price = self.decimal(C3, Price::parse, ps)?;
                let qty = self.decimal(C4, Qty::parse, qs)?;
                if qty.is_zero() {
                    return Err(Bad {
                        column: C4,
                        why: Why::ZeroQty,
                    });
                }
                let side = self.field(C5);
                let aggressor = if side.eq_ignore_ascii_case(b"buy") {
                    Aggressor::Buy
                } else if side.eq_ignore_ascii_case(b"sell") {
                    Aggressor::Sell
                } else if side.eq_ignore_ascii_case(b"unknown") {
                    Aggressor::Unknown
                } else {
                    return Err(Bad {
                        column: C5,
                        why: Why::Side,
                    });
                };
                let trade_id = if self.field(C6).is_empty() {
                    0
                } else {
                    digits(self.field(C6)).ok_or(Bad {
                        column: C6,
                        why: Why::NotAnInteger,
                    })?
                };
                if !self.in_order(entry, ts_recv, ts_event) {
                    return Ok(None);
                }
                EventBody::Trade {
                    aggressor,
                    price,
                    qty,
                    trade_id,
                }
            }
        };
        Ok(Some(Event::new(header, body)))
    }

    /// Whether the row's timestamps keep the order (counting and reporting it if not);
    /// if so, they become the last ones.
    fn in_order(&mut self, entry: usize, ts_recv: i64, ts_event: i64) -> bool {
        let last_event = self.insts[entry].last_event_ts;
        let backwards = if ts_recv < self.last_recv_ts {
            Some(("ts_recv_ns", ts_recv, self.last_recv_ts, "row"))
        } else {
            last_event
                .filter(|&l| ts_event < l)
                .map(|last| ("ts_event_ns", ts_event, last, "row of the instrument"))
        };
        if let Some((column, ts, last, of)) = backwards {
            self.stats.out_of_order += 1;
            let line = self.line();
            self.stats.report(
                &self.file,
                line,
                true,
                format_args!("{column} {ts} is before the last {of} yielded ({last})"),
            );
            return false;
        }
        self.last_recv_ts = ts_recv;
        self.insts[entry].last_event_ts = Some(ts_event);
        true
    }
}

/// A non-negative integer written in plain ASCII digits, if it fits a `u64`.
#[inline]
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |acc, &b| {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// The layout of a header and each layout column's position, or why not (naming the
/// column).
fn match_header(header: &csv::ByteRecord) -> Result<(CsvLayout, [usize; 7]), String> {
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err("no header line (empty file)".to_owned());
    }
    let mut names = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .map_err(|_| format!("header column {} is not UTF-8", i + 1))?;
        names.push(name.strip_prefix('\u{feff}').unwrap_or(name));
    }
    let has = |cols: &[&str]| names.iter().any(|n| cols.contains(n));
    let layout = match (has(&QUOTE_COLUMNS[3..]), has(&TRADE_COLUMNS[3..])) {
        (true, false) => CsvLayout::Quotes,
        (false, true) => CsvLayout::Trades,
        (true, true) => {
            return Err(format!(
                "the header mixes quote columns ({}) and trade columns ({})",
                QUOTE_COLUMNS[3..].join(", "),
                TRADE_COLUMNS[3..].join(", ")
            ))
        }
        (false, false) => {
            return Err(format!(
                "the header is neither the quotes layout ({}) nor the trades layout ({})",
                QUOTE_COLUMNS.join(","),
                TRADE_COLUMNS.join(",")
            ))
        }
    };
    let columns = layout.columns();
    let mut cols = [usize::MAX; 7];
    for (pos, name) in names.iter().enumerate() {
        match columns.iter().position(|c| c == name) {
            Some(k) if cols[k] != usize::MAX => {
                return Err(format!("column {name:?} appears twice in the header"))
            }
            Some(k) => cols[k] = pos,
            None => {
                return Err(format!(
                    "unexpected column {name:?} (header column {}): the {layout} layout has \
                     exactly {}",
                    pos + 1,
                    columns.join(",")
                ))
            }
        }
    }
    if let Some(k) = cols.iter().position(|&c| c == usize::MAX) {
        return Err(format!(
            "missing column {:?}: the {layout} layout needs {}",
            columns[k],
            columns.join(",")
        ));
    }
    Ok((layout, cols))
}

impl FeedSource for CsvSource {
    fn next_event(&mut self) -> Option<Event> {
        while !self.done {
            match self.reader.read_byte_record(&mut self.rec) {
                Ok(true) => {
                    self.stats.records += 1;
                    self.stats.bytes = self.reader.position().byte();
                    if let Some(mut event) = self.row() {
                        self.next_sequence += 1;
                        event.header.sequence = self.next_sequence;
                        event.header.cause_sequence = self.next_sequence;
                        self.stats.events += 1;
                        return Some(event);
                    }
                }
                Ok(false) => {
                    self.stats.bytes = self.reader.position().byte();
                    self.done = true;
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => {
                            self.stats.records += 1;
                            self.stats.skipped += 1;
                            self.stats.report(
                                &self.file,
                                line,
                                true,
                                format_args!("{len} fields, the header has {expected_len}"),
                            );
                        }
                        _ => {
                            self.stats.report(&self.file, line, true, &e);
                            self.stats.fatal = Some(format!("{}: {e}", self.file));
                            self.done = true;
                        }
                    }
                }
            }
        }
        None
    }

    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &str) -> csv::ByteRecord {
        csv::ByteRecord::from(cols.split(',').collect::<Vec<_>>())
    }

    #[test]
    fn headers_pick_the_layout_in_any_order() {
        let (l, cols) = match_header(&header(
            "symbol,ts_event_ns,ts_recv_ns,ask_qty,ask_px,bid_qty,bid_px",
        ))
        .unwrap();
        assert_eq!(l, CsvLayout::Quotes);
        assert_eq!(cols, [2, 1, 0, 6, 5, 4, 3]);
        let (l, _) = match_header(&header(&TRADE_COLUMNS.join(","))).unwrap();
        assert_eq!(l, CsvLayout::Trades);
        let e = match_header(&header("ts_recv_ns,ts_event_ns,symbol,price,qty,side")).unwrap_err();
        assert!(e.starts_with("missing column \"trade_id\""), "{e}");
        let e = match_header(&header("ts_recv_ns,symbol")).unwrap_err();
        assert!(e.contains("neither"), "{e}");
    }

    #[test]
    fn integers_are_plain_digits() {
        assert_eq!(digits(b"0"), Some(0));
        assert_eq!(digits(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b"1.0",
            b" 1",
            b"1e3",
        ] {
            assert_eq!(digits(bad), None, "{bad:?}");
        }
    }
}
