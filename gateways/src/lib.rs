//! # tickrail-gateways
//!
//! Everything that touches the outside world: feed decoders and receivers (ITCH/MoldUDP64,
//! DBN, Binance captures, CSV, synthetic) and order entry (FIX via `quickfix`, simulated
//! venue). Nothing is implemented yet: the synthetic feed and simulated venue arrive with
//! issue 3, the file adapters with issue 5, FIX and UDP with issue 6. This crate exists so
//! that the workspace has its final shape and dependency order.
