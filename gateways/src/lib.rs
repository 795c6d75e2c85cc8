//! # tickrail-gateways
//!
//! Everything that touches the outside world: feed decoders and receivers and order entry
//! (docs/DESIGN.md §2):
//!
//! - [`venue`]: the **simulated venue** — a deterministic price-time [`venue::MatchingEngine`]
//!   per instrument (partial fills, IOC/FOK/post-only, cancels and amends, stable
//!   [`venue::reject`] codes) behind [`venue::SimVenue`], which applies order-entry,
//!   acknowledgement and feed latency in event time, emits execution reports of our orders,
//!   accepts other participants' orders ([`venue::SimVenue::submit_participant`], client ids
//!   with [`venue::PARTICIPANT_ID_BIT`] set, reports not delivered) and publishes every book
//!   change as public L3 market data (`OrderAdd`/`OrderExecute`/`OrderDelete`/`OrderModify`
//!   by venue order id, plus `Trade` prints) that reproduces its book exactly.
//! - [`synthetic`]: the **synthetic market** ("synthetic feed") — seeded participant flow on
//!   one or more simulated venues for several instruments: a log random-walk fair value per
//!   instrument with Markov-switching volatility regimes, limit orders around it that keep
//!   the book several levels deep, cancels that keep it bounded and marketable orders that
//!   make prices follow it. [`synthetic::SyntheticMarket::next_event`] hands the engine its
//!   inputs (public market data and our execution reports) in delivery-time order; orders
//!   go in through [`synthetic::SyntheticMarket::submit`] and get real fills against the
//!   participants. Event time only, seeded randomness only: the same seed and the same
//!   orders give the same stream.
//!
//! - [`feed`]: what every market data file adapter shares — the [`feed::FeedSource`] trait,
//!   the [`feed::InstrumentMap`] from venue symbols to the config's instruments, counted
//!   and reported skips ([`feed::FeedStats`]) and streaming `.gz` reads.
//!
//! - File adapters, each a streaming [`feed::FeedSource`] with counted, reported skips:
//!   [`itch`] (NASDAQ TotalView-ITCH 5.0, our own zero-copy decoder, L3), [`dbn`](dbn_feed)
//!   (Databento DBN via the `dbn` crate: mbo, mbp-1, mbp-10, trades, tbbo; `.dbn`,
//!   `.dbn.zst`), [`binance`] (websocket captures: depth diffs with their continuity rules
//!   and the captured REST snapshots, bookTicker, trades; spot and USD-M) and [`csv_feed`]
//!   (documented quote and trade layouts).
//!
//! - [`fix`]: FIX 4.4 order entry over QuickFIX — the [`fix::FixOrderGateway`] (one thread
//!   owning the initiator, reconciliation of in-flight orders on every logon) and the
//!   [`fix::FixVenue`] simulator (an acceptor in front of the matching engines). Needs the
//!   `fix` feature (on by default): QuickFIX C++, which the `quickfix` crate builds with
//!   cmake. Without it the crate needs no C++ toolchain.
//!
//! - [`live`]: the markets of a live run as the engine's `LiveMarket` (the synthetic market;
//!   the UDP feed and FIX session as one `GatewayMarket`) and [`live::run_live`], which
//!   picks the config's market.
//!
//! - [`udp`]: ITCH 5.0 in MoldUDP64 packets over UDP multicast — a publisher that replays
//!   an ITCH file and a non-blocking receiver with sequence gap detection (`FeedGap`
//!   events) and counted rejects.

pub mod binance;
pub mod csv_feed;
pub mod dbn_feed;
pub mod feed;
#[cfg(feature = "fix")]
pub mod fix;
pub mod itch;
pub mod live;
pub mod synthetic;
pub mod udp;
pub mod venue;
