//! Binance websocket captures: [`BinanceSource`] reads a capture file line by line and
//! yields engine events.
//!
//! # The capture
//!
//! One message per line: the local receive time in nanoseconds, a space, then the raw JSON
//! as the websocket delivered it (the format hftbacktest's collector writes). A message is a
//! combined-stream wrapper `{"stream":"btcusdt@depth@100ms","data":{…}}` or a raw event
//! `{"e":"trade",…}`; both are read the same way (`messages.rs`). What each becomes:
//!
//! | message | event | notes |
//! |---|---|---|
//! | `depthUpdate` | `BookLevel` per `b`/`a` entry | `Upsert`, or `Delete` when the quantity is 0; continuity checked (`depth.rs`) |
//! | REST snapshot `{"lastUpdateId","bids","asks"}` | `BookLevel`s | the collector records one at the start (and after its own resyncs); see below |
//! | `bookTicker` | `Quote` | best bid and ask, price and quantity |
//! | `trade` / `aggTrade` | `Trade` | aggressor from `m` (buyer is maker → `Sell`); id `t` (`aggTrade`: `a`) |
//! | subscription answers (`result`/`id`), error answers (`code`), other event types | — | `ignored` |
//!
//! Which streams are emitted is [`BinanceOptions::streams`]: by default depth and `trade`.
//! Not `bookTicker` with depth: a `Quote` clears the engine's L2 book
//! ([`MarketBook`](tickrail_engine::book::MarketBook)), so the two must not feed one book and
//! [`BinanceSource::open`] refuses both at once. [`Streams::BOOK_TICKER`] is the L1 mode.
//! Messages of streams not selected are `ignored`. USD-M trades whose type `X` is not
//! `MARKET` (insurance fund, ADL) are `ignored` too: they do not come from the book.
//!
//! Prices and quantities are converted exactly to the instrument's scales
//! ([`Price::parse`](tickrail_engine::Price::parse)): `"56000.12000000"` at scale 2 is raw
//! 5600012; `"0.123"` at scale 2 is a counted skip, never rounded. Binance prints 8 decimals;
//! what matters is the significant ones (BTCUSDT quantities: up to 6 in the sample capture,
//! so its instrument needs a quantity scale of at least 6).
//!
//! # The depth book
//!
//! - **Level index.** A diff does not say at which depth a price sits, so `level` is 0 in
//!   every `BookLevel`. [`Event::validate`](tickrail_engine::Event::validate) does not look
//!   at it, and the engine's L2 book keys levels by price and ignores it.
//! - **Order inside a diff.** Deletes first, then upserts (bids before asks in each). A
//!   diff's entries are distinct prices, so the order means nothing to the venue; deletes
//!   first keep the book from crossing halfway through a diff that moves the market.
//! - **Continuity** (`depth.rs`): spot — each diff's `U` must be the previous `u + 1`; USD-M —
//!   each diff's `pu` must be the previous `u` (detected from each instrument's first diff:
//!   `pu` present means USD-M; or forced with [`BinanceOptions::market`]). A break yields a `FeedGap { expected,
//!   received }` for the instrument (counted in `gaps`, reported with its line), then the
//!   diff is applied: the book is then only as good as the updates since — levels that
//!   changed during the gap and are not updated again stay wrong — until a snapshot. A diff
//!   at or before the last applied `u` (duplicate, reordered) is dropped and counted
//!   `out_of_order`. A diff whose values do not convert is skipped whole and yields
//!   `FeedGap { expected: U, received: 0 }` (the book misses it).
//! - **Snapshots.** The captures do hold REST depth snapshots (1000 levels a side), with no
//!   symbol: a snapshot belongs to [`BinanceOptions::snapshot_symbol`], else the map's only
//!   instrument, else the only instrument whose depth stream the capture has shown. Applying
//!   one (unless [`BinanceOptions::apply_snapshots`] is off) emits a `Delete` for every level
//!   the emitted book holds that the snapshot does not, then the snapshot's levels, then
//!   re-applies, with Binance's rules, the kept diffs it does not cover: the REST answer is
//!   written after diffs that are newer than it (spot sample: the diff `U..u` =
//!   `…208..…224` precedes the snapshot `…218`). Diffs after it that it already covers are
//!   dropped (`ignored`, [`BinanceStats::stale_diffs`]). To know what to delete, the source
//!   keeps the set of price levels its events hold, per instrument and side.
//!
//! # Timestamps
//!
//! - `receive_ts_ns`: the line's receive time. A line whose receive time is before the
//!   previous emitting line's is skipped and counted `out_of_order` (the file order is then
//!   suspect; a skipped diff shows as a gap at the next one). Events a snapshot produces,
//!   re-applied diffs included, carry the snapshot line's receive time.
//! - `exchange_ts_ns`: the message's event time `E` (ms → ns). For trades too, not the
//!   trade time `T` (up to tens of ms earlier): `E` is the push time, on the same clock
//!   and in the same order as the diffs' `E`, so the streams interleave with far fewer
//!   inversions. Spot `bookTicker` and spot snapshots have no `E`: they get the latest event
//!   time seen in any message of the instrument (emitted or not), or their receive time
//!   before any ([`BinanceStats::exchange_ts_estimated`]). The engine's Sequencer refuses
//!   exchange time going backwards per source and instrument, and the streams of a
//!   combined capture interleave a few ms out of order (USD-M sample: 293 events, by up to
//!   52 ms), so an event whose time is before the instrument's last emitted one is stamped
//!   with that last time and kept ([`BinanceStats::exchange_ts_clamped`]): dropping a diff
//!   would break the book.
//! - `sequence`: a running count from 1 (the Sequencer re-stamps).
//!
//! # Bad input
//!
//! Never a panic. Counted in [`FeedStats`](crate::feed::FeedStats) and reported with file
//! and line: `skipped` (no space, bad receive time, bad JSON or not UTF-8, missing or
//! mistyped fields, a value that does not fit the scale, a zero trade quantity, a line over
//! [`BinanceOptions::max_line_bytes`], a snapshot with no symbol), `unknown_instrument`
//! (each unknown symbol reported once), `out_of_order` (receive time backwards, duplicate
//! diffs, trade ids or `bookTicker` update ids not increasing). Strings with JSON escapes in
//! the fields read are refused, not copied (Binance never escapes them).
//!
//! # Cost
//!
//! Streaming, bounded memory ([`BinanceSource`]). No allocation per line once warm: string
//! fields borrow from the reused line buffer and level entries go to a reused vector (see
//! `messages.rs` for why that takes a hand-written serde visitor).
//!
//! Speed: a line is read first by `scan.rs`, a single pass over the bytes for the plain JSON
//! Binance sends (strings searched 8 bytes at a time, decimals to fixed point without the
//! general parser); anything unusual or malformed falls back to the serde visitor, which
//! stays the reference (a test compares the two on every line of both captures, and on
//! damaged lines). The perf profile before it: serde_json ~45% of the adapter's time. In
//! `binance_decode_bench` (docs/BENCHMARKS.md) the decoder went from 2.5–2.8 M events/s
//! (run 2) to 7.6 / 10.6 (run 3; spot / USD-M, decompressed in memory).
//!
//! # The sample captures (`gateways/samples/binance/`, see `tests/binance.rs`)
//!
//! | capture | lines | default events | bookTicker mode | snapshot | gaps | skips |
//! |---|---:|---|---:|---|---:|---:|
//! | spot BTCUSDT | 41,249 | 126,110 `book_level`, 9,757 `trade` | 28,040 `quote` | line 8, 1 diff re-applied | 0 | 0 |
//! | USD-M ETHUSDT | 74,655 | 430,788 `book_level`, 14,076 `trade` | 53,992 `quote` | line 41, 2 diffs re-applied | 0 | 0 |
//!
//! The book they build is never crossed, and equals Binance's own `bookTicker` (price and
//! quantity of both sides) at every one of the 564 (spot) and 551 (USD-M) diffs that end at
//! the update id of a `bookTicker`.

mod decode;
mod depth;
mod messages;
mod options;
mod scan;
mod source;

pub use decode::BinanceStats;
pub use options::{BinanceOptions, Market, Streams, TradeStream};
pub use source::BinanceSource;

#[cfg(test)]
mod tests;
