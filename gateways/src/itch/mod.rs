//! NASDAQ TotalView-ITCH 5.0 files as a market data [`FeedSource`](crate::feed::FeedSource).
//!
//! - [`messages`]: zero-copy views of all 23 ITCH 5.0 message types ([`Message::parse`]),
//!   with explicit validation of enumerated fields ([`Message::validate`]) and a field
//!   visitor ([`FieldVisitor`]).
//! - [`framing`]: the stream split into messages through a `BufRead`, bounded memory, with
//!   either real 2-byte length prefixes or zeroed ones ([`Framer`]).
//! - [`source`]: [`ItchSource`], which turns the messages of the configured instruments
//!   into L3 events through an [`ItchConverter`] (the per-message mapping, also used by the
//!   MoldUDP64 receiver in [`crate::udp`]).
//!
//! # Reading a file
//!
//! ```no_run
//! use tickrail_gateways::feed::{FeedSource, InstrumentMap, MappedInstrument};
//! use tickrail_gateways::itch::{trading_day_midnight_ns, ItchSource};
//! use tickrail_engine::{InstrumentId, Scale};
//!
//! let map = InstrumentMap::new(vec![MappedInstrument {
//!     symbol: "AAPL".into(),
//!     id: InstrumentId::new(1),
//!     price_scale: Scale::new(4),
//!     qty_scale: Scale::new(0),
//! }]);
//! // ITCH timestamps count from midnight New York time of the trading day.
//! let midnight = trading_day_midnight_ns(2019, 12, 30).expect("a date");
//! let mut feed = ItchSource::open("20191230.BX_ITCH_50.gz", 1, map, midnight)?;
//! while let Some(event) = feed.next_event() {
//!     println!("{event}");
//! }
//! println!("{:?}", feed.stats());
//! # Ok::<(), tickrail_gateways::feed::OpenError>(())
//! ```
//!
//! # Framing
//!
//! Each frame is a 2-byte big-endian length and the message. A zero length (the
//! repository's sample file has only zeros) means "the type's fixed size"; a non-zero
//! length must equal it — otherwise the frame is skipped by its length and reported, as is
//! an unknown type byte with a non-zero length. An unknown type with a zero length cannot
//! be framed: the stream ends there (reported, and [`FeedStats::fatal`] says so). A
//! truncated last message is reported and ends the stream. See [`framing`].
//!
//! # Mapping to events
//!
//! | ITCH | event | how |
//! |---|---|---|
//! | `R` stock directory | — | assigns the stock locate: the symbol is looked up in the [`InstrumentMap`] (counted in `ignored`) |
//! | `A`, `F` add order | `OrderAdd` | side, order reference, price, shares; the order enters the order index |
//! | `E` order executed | `OrderExecute` | at the resting order's price, from the order index |
//! | `C` executed with price | `OrderExecute` | at the message's execution price (printable or not) |
//! | `X` order cancel | `OrderModify` | to the remaining shares at the same price — [`L3Book::modify`](tickrail_engine::book::l3::L3Book::modify) keeps time priority when only the quantity falls; `OrderDelete` when nothing remains (also when more is canceled than rests) |
//! | `D` order delete | `OrderDelete` | |
//! | `U` order replace | `OrderReplace` | new reference, price, shares; same side |
//! | `P` trade (non-cross) | `Trade` | aggressor `Unknown` (the side field has been `B` whatever the resting side since 2014), `trade_id` = match number |
//! | `Q` cross trade | `Trade` | aggressor `Unknown`; a cross of zero shares is counted in `ignored` |
//! | `H` trading action | `TradingStatus` | `H` halted, `P` paused → `Halted`; `Q` quotation only → `Auction` (the re-opening cross's quoting period); `T` → `Open` |
//! | `S` `Y` `L` `V` `W` `K` `J` `h` `B` `I` `N` `O` | — | counted in `ignored` (`B`, broken trade, has no event kind yet) |
//!
//! Every event: `sequence` = `cause_sequence` = the adapter's running count from 1;
//! `exchange_ts_ns` = `date_midnight_ns` + the ITCH timestamp; `receive_ts_ns` = the same
//! (a file has no receive time); `instrument`, `price_scale`, `qty_scale` from the map;
//! `source` = the venue id given to [`ItchSource::open`].
//!
//! Values: ITCH prices have 4 decimals; they are converted exactly to the instrument's
//! price scale (a scale below 4 needs the trailing digits to be zero). Shares are whole;
//! quantities are `shares × 10^qty_scale`. A value that does not fit, a zero price, zero
//! shares (add, execute, cancel, replace, trade) or a side that is not `B`/`S` is a counted
//! skip ([`FeedStats::skipped`]) with a report — never rounded.
//!
//! # Instruments and orders
//!
//! - Stock locates come from `R` messages; a file without them (one that starts mid-day)
//!   still works: the first message naming a stock (`A`, `F`, `P`, `Q`, `H`) assigns its
//!   locate. A message whose stock is not its locate's is a counted skip.
//! - **Unmapped stocks are counted**: every message of a type that would yield an event
//!   (`A F E C X D U P Q H`) for a stock not in the map (or a locate never assigned) counts
//!   in [`FeedStats::unknown_instrument`], without a report.
//! - The **order index** (order reference → locate, instrument, price, remaining
//!   shares) holds live orders of mapped instruments only: its size is the number of live
//!   orders, whatever the length of the file. `E`, `C`, `X`, `D`, `U` for a mapped stock
//!   whose order is not in the index (added before the file starts — the sample is a
//!   sample of a day — or its add was skipped) cannot be priced or sided: each is a counted
//!   skip with a report (and counts in [`ItchSource::unknown_orders`]), so the book never
//!   sees an order it does not hold. An order message whose locate is not its order's is a
//!   counted skip.
//! - An execution of more shares than rest is passed on as it is (the L3 book counts the
//!   over-execution) and the order leaves the index.
//!
//! # Order in time
//!
//! Timestamps must not go backwards over the file (all message types, one clock): a
//! message older than the last accepted one counts in [`FeedStats::out_of_order`], is
//! reported and skipped. Tracking numbers are **not** checked: they are Nasdaq-internal
//! matching-engine numbers, not sequence numbers (in the sample they go back 1,784 times
//! within a stock). Plain ITCH files carry no message sequence numbers, so this adapter
//! yields no `FeedGap` (MoldUDP64 packet sequence gaps will, with the UDP receiver).
//!
//! # Memory
//!
//! The reader's buffer (256 KiB through [`open_maybe_gz`](crate::feed::open_maybe_gz)),
//! a 52-byte frame buffer, the stock-locate table (at most 65,536 entries of 10 bytes) and
//! the order index (live orders of mapped instruments). Nothing is allocated per message,
//! except a skip report (the first [`MAX_REPORTS`](crate::feed::MAX_REPORTS)).
//!
//! [`FeedStats::fatal`]: crate::feed::FeedStats::fatal
//! [`FeedStats::skipped`]: crate::feed::FeedStats::skipped
//! [`FeedStats::unknown_instrument`]: crate::feed::FeedStats::unknown_instrument
//! [`FeedStats::out_of_order`]: crate::feed::FeedStats::out_of_order
//! [`InstrumentMap`]: crate::feed::InstrumentMap

pub mod framing;
pub mod messages;
pub mod source;

#[cfg(test)]
mod tests;

pub use framing::{Frame, FrameError, Framer, MAX_FRAME_LEN, PREFIX_LEN};
pub use messages::{
    message_len, message_name, Alpha, DecodeError, FieldError, FieldVisitor, Message, Price4,
    Price8, Stock, MAX_MESSAGE_LEN, MESSAGE_TYPES,
};
pub use source::{ItchConverter, ItchSource, MessageCounts, SkipReason, ALL_INSTRUMENTS};

/// The IANA time zone ITCH timestamps count in: Nasdaq's, US Eastern with its daylight
/// saving time (EST, UTC-5, in winter; EDT, UTC-4, since 2007 from the second Sunday of
/// March to the first Sunday of November). Taken from the tz database bundled into the
/// binary, so the answer depends only on the build, never on the host.
pub const ITCH_TIME_ZONE: &str = "America/New_York";

/// Why [`trading_day_midnight_ns`] has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TradingDayError {
    /// Not a calendar date (or a year outside -9999..=9999).
    #[error("{year:04}-{month:02}-{day:02} is not a date")]
    NotADate {
        /// The year given.
        year: i32,
        /// The month given.
        month: u32,
        /// The day given.
        day: u32,
    },
    /// The bundled tz database has no [`ITCH_TIME_ZONE`] (a build without the database).
    #[error("time zone {} is not in the bundled tz database", ITCH_TIME_ZONE)]
    UnknownZone,
    /// The date's midnight is not representable as i64 ns since the Unix epoch (a date
    /// before 1677-09-21 or after 2262-04-11).
    #[error(
        "midnight of {year:04}-{month:02}-{day:02} in {} is beyond the i64 ns time line",
        ITCH_TIME_ZONE
    )]
    OutOfRange {
        /// The year given.
        year: i32,
        /// The month given.
        month: u32,
        /// The day given.
        day: u32,
    },
}

/// The Unix-epoch time, in ns, of midnight of the trading date `year-month-day` in
/// [`ITCH_TIME_ZONE`] — what the timestamps of that day's ITCH messages count from, and
/// what `tickrail backtest --itch-date` and a live `[live.udp]` feed use. The zone's rules
/// of that date apply: midnight is 05:00 UTC in winter (EST) and 04:00 UTC in summer (EDT).
/// New York changes its clocks at 02:00, so midnight is never skipped or repeated: on the
/// day the clocks go forward it is still EST (2019-03-10 00:00 = 05:00 UTC), on the day
/// they go back still EDT (2019-11-03 00:00 = 04:00 UTC).
pub fn trading_day_midnight_ns(year: i32, month: u32, day: u32) -> Result<i64, TradingDayError> {
    let date =
        civil_date(year, month, day).ok_or(TradingDayError::NotADate { year, month, day })?;
    let zone = jiff::tz::TimeZoneDatabase::bundled()
        .get(ITCH_TIME_ZONE)
        .map_err(|_| TradingDayError::UnknownZone)?;
    let out_of_range = TradingDayError::OutOfRange { year, month, day };
    let at = zone
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map_err(|_| out_of_range.clone())?;
    i64::try_from(at.as_nanosecond()).map_err(|_| out_of_range)
}

/// The Unix-epoch time, in ns, of midnight of the date `year-month-day` at the fixed offset
/// `utc_offset_secs` east of UTC. `None` for an invalid date, a year outside
/// -9999..=9999, an offset beyond ±25:59:59 or a time beyond the i64 ns time line. A fixed
/// offset has no daylight saving time: for an ITCH trading day use
/// [`trading_day_midnight_ns`].
pub fn local_midnight_ns(year: i32, month: u32, day: u32, utc_offset_secs: i32) -> Option<i64> {
    let date = civil_date(year, month, day)?;
    let offset = jiff::tz::Offset::from_seconds(utc_offset_secs).ok()?;
    let at = offset
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()?;
    i64::try_from(at.as_nanosecond()).ok()
}

/// `year-month-day` as a calendar date, if it is one.
fn civil_date(year: i32, month: u32, day: u32) -> Option<jiff::civil::Date> {
    jiff::civil::Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}
