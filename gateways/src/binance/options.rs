//! What a [`BinanceSource`](super::BinanceSource) emits: [`BinanceOptions`], [`Streams`],
//! [`Market`], [`TradeStream`].

/// Which Binance streams become events.
///
/// Depth diffs and `bookTicker` must not feed the same book: the engine's
/// [`MarketBook`](tickrail_engine::book::MarketBook) clears its L2 book on every `Quote`, so
/// [`BinanceSource::open`](super::BinanceSource::open) refuses `depth` together with
/// `book_ticker` (open a second source, with another source id, for the other one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    /// `depthUpdate` diffs (and the REST depth snapshots in the capture) → `BookLevel`.
    pub depth: bool,
    /// `bookTicker` → `Quote` (best bid and ask, price and quantity).
    pub book_ticker: bool,
    /// Which trade stream → `Trade`.
    pub trades: TradeStream,
}

impl Streams {
    /// The default: the depth book and the `trade` stream (no `bookTicker`, whose quotes
    /// would clear the depth book).
    pub const DEPTH_AND_TRADES: Self = Self {
        depth: true,
        book_ticker: false,
        trades: TradeStream::Trade,
    };

    /// L1 backtests: `bookTicker` quotes only.
    pub const BOOK_TICKER: Self = Self {
        depth: false,
        book_ticker: true,
        trades: TradeStream::Off,
    };

    /// L1 backtests with prints: `bookTicker` quotes and the `trade` stream.
    pub const BOOK_TICKER_AND_TRADES: Self = Self {
        depth: false,
        book_ticker: true,
        trades: TradeStream::Trade,
    };
}

impl Default for Streams {
    fn default() -> Self {
        Self::DEPTH_AND_TRADES
    }
}

/// Which trade stream becomes `Trade` events. One at most: a capture holding both `trade`
/// and `aggTrade` would otherwise count every print twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradeStream {
    /// No trades.
    Off,
    /// `trade` (one event per match; `trade_id` = `t`).
    #[default]
    Trade,
    /// `aggTrade` (one event per aggregate; `trade_id` = the aggregate id `a`).
    AggTrade,
}

/// The market a capture comes from, which decides the depth continuity rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Market {
    /// Detected per instrument from its first depth message: a `depthUpdate` with `pu`
    /// means USD-M, one without means spot; a snapshot before any diff means USD-M if it
    /// has an event time `E` (USD-M snapshots do, spot ones do not). Afterwards a USD-M
    /// diff without `pu` is a counted skip.
    #[default]
    Auto,
    /// Spot: each diff's `U` must be the previous diff's `u + 1`.
    Spot,
    /// USD-M futures: each diff's `pu` must be the previous diff's `u` (a diff without `pu`
    /// is a counted skip).
    UsdM,
}

/// How a [`BinanceSource`](super::BinanceSource) reads a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinanceOptions {
    /// Which streams become events.
    pub streams: Streams,
    /// Spot or USD-M (or detect).
    pub market: Market,
    /// Apply the REST depth snapshots found in the capture (`{"lastUpdateId":…,"bids":…,
    /// "asks":…}` lines): the book is reset to the snapshot and the diffs received before it
    /// that it does not cover are applied again. When `false` they are `ignored` and the
    /// book holds only the levels the diffs touched.
    pub apply_snapshots: bool,
    /// The symbol a snapshot belongs to (a snapshot names none). `None`: the map's only
    /// instrument, else the only instrument whose depth stream the capture has shown so far;
    /// otherwise the snapshot is a counted skip.
    pub snapshot_symbol: Option<String>,
    /// How many of the latest applied diffs are kept (as text) to re-apply after a snapshot
    /// that arrives after them (the REST answer comes later than the stream). Bounded memory:
    /// this many lines.
    pub replay_lines: usize,
    /// Longest line accepted, bytes; a longer one is a counted skip (bounded memory).
    pub max_line_bytes: usize,
}

impl Default for BinanceOptions {
    fn default() -> Self {
        Self {
            streams: Streams::default(),
            market: Market::Auto,
            apply_snapshots: true,
            snapshot_symbol: None,
            replay_lines: 128,
            max_line_bytes: 16 << 20,
        }
    }
}

impl BinanceOptions {
    /// The defaults with `streams`.
    pub fn with_streams(streams: Streams) -> Self {
        Self {
            streams,
            ..Self::default()
        }
    }
}
