//! # tickrail-gateways
//!
//! Everything that touches the outside world: feed decoders and receivers and order entry
//! (DESIGN.md §2). What exists today:
//!
//! - [`venue`]: the **simulated venue** — a deterministic price-time [`venue::MatchingEngine`]
//!   per instrument (partial fills, IOC/FOK/post-only, cancels and amends, stable
//!   [`venue::reject`] codes) behind [`venue::SimVenue`], which applies order-entry and
//!   acknowledgement latency in event time and emits execution reports and trade prints as
//!   [`tickrail_engine::Event`]s.
//!
//! Still to come: the synthetic feed (issue 3), the file adapters — ITCH/MoldUDP64, DBN,
//! Binance captures, CSV — (issue 5), and FIX order entry and UDP receivers (issue 6).

pub mod venue;
