//! What every market data file adapter shares: the [`FeedSource`] trait the backtest reads
//! events from, the [`InstrumentMap`] that turns a venue's symbols into the config's
//! instruments, and [`FeedStats`] — counted, reported skips (file, offset, reason), never a
//! panic and never a silent loss.
//!
//! An adapter streams: it reads its file through a bounded buffer (or a memory map) and
//! yields one [`Event`] at a time, so memory does not grow with the input. `.gz` files are
//! decompressed on the fly ([`open_maybe_gz`]).
//!
//! Events an adapter yields:
//! - `header.sequence`: the adapter's own running count from 1 (the Sequencer re-stamps);
//! - `header.exchange_ts_ns`: the venue's timestamp; `header.receive_ts_ns`: the capture's
//!   receive time when the file has one, else the exchange time (the backtest adds its
//!   configured feed latency);
//! - `header.instrument`, `price_scale`, `qty_scale`: from the [`InstrumentMap`] (prices and
//!   quantities converted exactly to the instrument's scales; a value that does not fit is
//!   a counted skip, never rounded);
//! - `header.source`: the venue id the adapter was opened with;
//! - sequence gaps in the data become [`EventBody::FeedGap`](tickrail_engine::EventBody)
//!   events (and count in [`FeedStats::gaps`]).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use tickrail_engine::{Event, InstrumentId, InstrumentSpec, Scale};

/// A market data stream: historical files today, live receivers later.
pub trait FeedSource {
    /// The next event in file order, or `None` at the end (or after a fatal read error,
    /// which [`FeedStats::fatal`] then holds). Malformed records are skipped and counted,
    /// never returned.
    fn next_event(&mut self) -> Option<Event>;

    /// What was read, skipped and reported so far.
    fn stats(&self) -> &FeedStats;
}

impl<F: FeedSource + ?Sized> FeedSource for Box<F> {
    fn next_event(&mut self) -> Option<Event> {
        (**self).next_event()
    }
    fn stats(&self) -> &FeedStats {
        (**self).stats()
    }
}

/// How many skip reports [`FeedStats`] keeps (later skips are only counted).
pub const MAX_REPORTS: usize = 32;

/// One skipped record (or a gap), with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipReport {
    /// The file.
    pub file: String,
    /// Byte offset of the record in the (decompressed) stream, or the line number for
    /// line-based formats ([`SkipReport::line`] says which).
    pub offset: u64,
    /// `true` when `offset` is a 1-based line number.
    pub line: bool,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for SkipReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line {
            write!(f, "{}: line {}: {}", self.file, self.offset, self.reason)
        } else {
            write!(f, "{}: offset {}: {}", self.file, self.offset, self.reason)
        }
    }
}

/// Counters of a [`FeedSource`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Records (messages, lines) read, good or bad.
    pub records: u64,
    /// Events yielded (gap marks included).
    pub events: u64,
    /// Records understood but not turned into events (message types the engine has no use
    /// for, e.g. ITCH system or NOII messages; subscription acks in a capture).
    pub ignored: u64,
    /// Malformed records skipped (bad framing, bad field, value out of range, truncated).
    pub skipped: u64,
    /// Records for instruments not in the map, skipped.
    pub unknown_instrument: u64,
    /// Records whose timestamp went backwards, skipped.
    pub out_of_order: u64,
    /// Sequence gaps found (each also yielded as a `FeedGap` event).
    pub gaps: u64,
    /// Bytes read from the (decompressed) stream.
    pub bytes: u64,
    /// The first [`MAX_REPORTS`] skips and gaps, with file and offset.
    pub reports: Vec<SkipReport>,
    /// The read error that ended the stream early, if any.
    pub fatal: Option<String>,
}

impl FeedStats {
    /// Records a report (kept if fewer than [`MAX_REPORTS`] so far; the caller counts it).
    pub fn report(&mut self, file: &str, offset: u64, line: bool, reason: impl fmt::Display) {
        if self.reports.len() < MAX_REPORTS {
            self.reports.push(SkipReport {
                file: file.to_owned(),
                offset,
                line,
                reason: reason.to_string(),
            });
        }
    }

    /// Adds `other`'s counters to these (reports appended up to the cap).
    pub fn merge(&mut self, other: &FeedStats) {
        self.records += other.records;
        self.events += other.events;
        self.ignored += other.ignored;
        self.skipped += other.skipped;
        self.unknown_instrument += other.unknown_instrument;
        self.out_of_order += other.out_of_order;
        self.gaps += other.gaps;
        self.bytes += other.bytes;
        for r in &other.reports {
            if self.reports.len() < MAX_REPORTS {
                self.reports.push(r.clone());
            }
        }
        if self.fatal.is_none() {
            self.fatal.clone_from(&other.fatal);
        }
    }
}

/// The instruments of a config, looked up by a venue's symbol.
#[derive(Debug, Clone)]
pub struct InstrumentMap {
    entries: Vec<MappedInstrument>,
}

/// One instrument of an [`InstrumentMap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedInstrument {
    /// The venue's symbol (compared exactly, after trimming ASCII spaces on both sides).
    pub symbol: String,
    /// The engine's id.
    pub id: InstrumentId,
    /// Prices are converted to this scale.
    pub price_scale: Scale,
    /// Quantities are converted to this scale.
    pub qty_scale: Scale,
}

impl InstrumentMap {
    /// The config's instruments, by their `symbol`.
    pub fn from_specs(specs: &[InstrumentSpec]) -> Self {
        Self {
            entries: specs
                .iter()
                .map(|s| MappedInstrument {
                    symbol: s.symbol.trim_matches(' ').to_owned(),
                    id: s.id,
                    price_scale: s.price_scale,
                    qty_scale: s.qty_scale,
                })
                .collect(),
        }
    }

    /// An explicit map.
    pub fn new(entries: Vec<MappedInstrument>) -> Self {
        Self { entries }
    }

    /// The instrument with venue symbol `symbol` (ASCII spaces around it ignored; ITCH pads
    /// symbols to 8 bytes).
    pub fn by_symbol(&self, symbol: &str) -> Option<&MappedInstrument> {
        let symbol = symbol.trim_matches(' ');
        self.entries.iter().find(|e| e.symbol == symbol)
    }

    /// The instrument with engine id `id`.
    pub fn by_id(&self, id: InstrumentId) -> Option<&MappedInstrument> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Every instrument.
    pub fn entries(&self) -> &[MappedInstrument] {
        &self.entries
    }
}

/// Why a data file could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct OpenError {
    /// The file.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// Opens `path` for streaming through a 256 KiB buffer, decompressing gzip on the fly when
/// the name ends in `.gz` (zstd is the DBN adapter's business).
pub fn open_maybe_gz(path: &Path) -> Result<Box<dyn BufRead + Send>, OpenError> {
    let file = File::open(path).map_err(|e| OpenError {
        file: path.display().to_string(),
        reason: format!("cannot open: {e}"),
    })?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    let inner: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            file,
        )))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 18, inner)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_capped_and_printed_with_where() {
        let mut s = FeedStats::default();
        for i in 0..(MAX_REPORTS as u64 + 5) {
            s.report("f.itch", i * 10, false, "bad");
        }
        assert_eq!(s.reports.len(), MAX_REPORTS);
        assert_eq!(s.reports[1].to_string(), "f.itch: offset 10: bad");
        s.report("x.csv", 3, true, "no");
        let mut t = FeedStats::default();
        t.report("x.csv", 3, true, "short line");
        assert_eq!(t.reports[0].to_string(), "x.csv: line 3: short line");
    }

    #[test]
    fn symbols_match_without_padding() {
        let map = InstrumentMap::new(vec![MappedInstrument {
            symbol: "AAPL".into(),
            id: InstrumentId::new(2),
            price_scale: Scale::new(4),
            qty_scale: Scale::new(0),
        }]);
        assert_eq!(
            map.by_symbol("AAPL    ").map(|m| m.id),
            Some(InstrumentId::new(2))
        );
        assert!(map.by_symbol("AAP").is_none());
    }

    #[test]
    fn missing_files_name_themselves() {
        let err = open_maybe_gz(Path::new("/nonexistent/x.gz")).err();
        assert!(err.is_some_and(|e| e.to_string().starts_with("/nonexistent/x.gz: cannot open")));
    }
}

/// Several sources merged into one stream by receive time (ties: the source given first,
/// then file order), so a backtest can read e.g. a spot and a futures capture together.
///
/// [`FeedSource::stats`] of the merge is the sum of the sources' stats, refreshed when a
/// source ends and every [`Merged::REFRESH_EVERY`] events (so exact at the end of the
/// stream, approximate during it); [`Merged::source_stats`] gives each source's own.
pub struct Merged {
    sources: Vec<(Box<dyn FeedSource + Send>, Option<Event>)>,
    stats: FeedStats,
    since_refresh: u64,
}

impl fmt::Debug for Merged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merged")
            .field("sources", &self.sources.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Merged {
    /// How often (in events) the merged stats are refreshed during the stream.
    pub const REFRESH_EVERY: u64 = 1 << 16;

    /// Merges `sources`.
    pub fn new(sources: Vec<Box<dyn FeedSource + Send>>) -> Self {
        let mut m = Self {
            sources: sources
                .into_iter()
                .map(|mut s| {
                    let first = s.next_event();
                    (s, first)
                })
                .collect(),
            stats: FeedStats::default(),
            since_refresh: 0,
        };
        m.refresh();
        m
    }

    /// Each source's own stats, in the order given.
    pub fn source_stats(&self) -> impl Iterator<Item = &FeedStats> {
        self.sources.iter().map(|(s, _)| s.stats())
    }

    /// The receive time of the next event, without taking it.
    pub fn peek_ts(&self) -> Option<i64> {
        self.sources
            .iter()
            .filter_map(|(_, e)| e.map(|e| e.header.receive_ts_ns))
            .min()
    }

    fn refresh(&mut self) {
        let mut total = FeedStats::default();
        for (s, _) in &self.sources {
            total.merge(s.stats());
        }
        self.stats = total;
        self.since_refresh = 0;
    }
}

impl FeedSource for Merged {
    fn next_event(&mut self) -> Option<Event> {
        let mut best: Option<(usize, i64)> = None;
        for (i, (_, e)) in self.sources.iter().enumerate() {
            if let Some(e) = e {
                let ts = e.header.receive_ts_ns;
                if best.is_none_or(|(_, b)| ts < b) {
                    best = Some((i, ts));
                }
            }
        }
        let (i, _) = best?;
        let (source, slot) = &mut self.sources[i];
        let event = slot.take();
        *slot = source.next_event();
        self.since_refresh += 1;
        if slot.is_none() || self.since_refresh >= Self::REFRESH_EVERY {
            self.refresh();
        }
        event
    }

    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

#[cfg(test)]
mod merge_tests {
    use super::*;
    use tickrail_engine::{EventBody, EventHeader, TradingState};

    struct Vecs(std::vec::IntoIter<Event>, FeedStats);

    impl FeedSource for Vecs {
        fn next_event(&mut self) -> Option<Event> {
            let e = self.0.next();
            if e.is_some() {
                self.1.events += 1;
            }
            e
        }
        fn stats(&self) -> &FeedStats {
            &self.1
        }
    }

    fn ev(ts: i64, source: u16) -> Event {
        Event::new(
            EventHeader {
                sequence: 1,
                cause_sequence: 1,
                exchange_ts_ns: ts,
                receive_ts_ns: ts,
                instrument: InstrumentId::new(0),
                price_scale: 2,
                qty_scale: 0,
                source,
            },
            EventBody::TradingStatus {
                status: TradingState::Open,
            },
        )
    }

    #[test]
    fn merges_by_receive_time_with_stable_ties() {
        let a = Vecs(
            vec![ev(1, 1), ev(5, 1), ev(5, 1)].into_iter(),
            FeedStats::default(),
        );
        let b = Vecs(
            vec![ev(2, 2), ev(5, 2), ev(9, 2)].into_iter(),
            FeedStats::default(),
        );
        let mut m = Merged::new(vec![Box::new(a), Box::new(b)]);
        assert_eq!(m.peek_ts(), Some(1));
        let got: Vec<(i64, u16)> = std::iter::from_fn(|| m.next_event())
            .map(|e| (e.header.receive_ts_ns, e.header.source))
            .collect();
        assert_eq!(got, vec![(1, 1), (2, 2), (5, 1), (5, 1), (5, 2), (9, 2)]);
        assert_eq!(m.stats().events, 6);
    }
}

/// Where the market data samples are: `$TICKRAIL_SAMPLE_DATA` if set, else the samples
/// committed with this crate (`gateways/samples`, see its README). For tests, benchmarks
/// and examples.
pub fn sample_data_dir() -> std::path::PathBuf {
    match std::env::var_os("TICKRAIL_SAMPLE_DATA") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"),
    }
}
