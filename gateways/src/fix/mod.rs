//! FIX 4.4 order entry over QuickFIX (the `quickfix` crate): the [`FixOrderGateway`] that
//! sends tickrail's orders to a venue, and the [`FixVenue`] simulator that answers them from
//! the simulated venue's price-time matching engines.
//!
//! # Files
//!
//! - [`fields`]: FIX field text → fixed point and ids, exactly, with typed [`FieldError`]s.
//! - [`messages`]: building and parsing the messages (table below); no sessions.
//! - [`symbols`]: the symbol ↔ instrument table and the inline `Copy` [`FixId`].
//! - [`state`]: the gateway's in-flight orders and their file.
//! - [`stats`]: reject reasons, their counters, and the QuickFIX log hook that counts what
//!   QuickFIX drops by itself (bad checksum or body length, session-level rejects).
//! - [`gateway`], [`venue`]: the two threads. [`clock`]: the wall-clock seam.
//!
//! # Threads
//!
//! QuickFIX runs its socket and session logic on its own C++ thread and calls our
//! `ApplicationCallback` there. A QuickFIX `Message` or `SessionId` never leaves that call:
//! the callbacks **copy the fields out** into plain `Copy` values ([`FixReport`],
//! [`ClientRequest`]) and push them through a bounded ring (`crossbeam::ArrayQueue`) to one
//! Rust thread, which owns the initiator (or acceptor) and all state, and which **builds and
//! sends every message** (`send_to_target`). A callback never panics on bad input (parsing
//! returns typed errors; a panic would be swallowed by the `quickfix` crate anyway).
//!
//! ```text
//!  engine ──submit(Event)──► [request ring] ──► gateway thread ──send_to_target──► QuickFIX ──► venue
//!  engine ◄─poll_report()─── [report ring] ◄── gateway thread ◄──[callback ring]◄── QuickFIX thread
//! ```
//!
//! # Message mapping
//!
//! | tickrail | FIX 4.4 | tags |
//! |---|---|---|
//! | `order_new` | NewOrderSingle `35=D` | 11 ClOrdID, 55 Symbol, 54 Side (1 buy, 2 sell), 38 OrderQty, 40=2 limit, 44 Price, 59 TimeInForce (0 day, 1 GTC, 3 IOC, 4 FOK; post-only = 59=0 + 18=6), 60 TransactTime |
//! | `order_cancel` | OrderCancelRequest `35=F` | 11, 41 OrigClOrdID, 55, 54, 38 (if known), 60 |
//! | `order_amend` | OrderCancelReplaceRequest `35=G` | 11, 41, 55, 54, 38, 40=2, 44, 59, 60 |
//! | (reconciliation) | OrderStatusRequest `35=H` | 11, 55, 54 |
//! | `exec_report` ack | ExecutionReport `150=0` | 37 OrderID, 11, 39, 55, 54, 38, 44, 151 LeavesQty, 14 CumQty, 6 AvgPx |
//! | partial fill / fill | `150=F` (39=1 / 39=2; 151=0 ⇒ fill) | + 31 LastPx, 32 LastQty, 851 LastLiquidityInd (1 added = maker, 2 removed = taker) |
//! | canceled | `150=4` | 11 = the cancel request, 41 = the order (our report carries the order's id) |
//! | replaced | `150=5` | 11 = the amend (names the order from now on), 41 = the old id |
//! | rejected | `150=8` | 103 OrdRejReason → `reject_code`, 58 Text |
//! | (status answer) | `150=I` | 39 OrdStatus; `39=8` + 103=5 for an order the venue does not know |
//! | cancel_rejected | OrderCancelReject `35=9` | 11 = the request, 41, 39, 434 (1 cancel, 2 replace), 102 CxlRejReason → `reject_code` |
//! | — | BusinessMessageReject `35=j` | venue only: a request without a readable ClOrdID (45, 372, 380, 58) |
//!
//! Prices and quantities are read from the raw field text straight into fixed point at the
//! instrument's scales ([`fields`]), never through `f64`; AvgPx is printed at the price
//! scale plus four places, truncated. Tickrail client order ids are `u64`s, sent as decimal
//! ClOrdIDs; the venue accepts any printable ClOrdID of up to 39 bytes.
//!
//! # Sessions
//!
//! `config/fix/initiator.cfg` and `acceptor.cfg`: FIX 4.4 on 127.0.0.1, a file store
//! (`FileStorePath`) so sequence numbers survive restarts, `ResetOnLogon/Logout/Disconnect=N`
//! so they are never reset, `NonStopSession=Y`, `ReconnectInterval=1`. `UseDataDictionary=N`:
//! the crate does not ship `FIX44.xml`, and we validate every field we use ourselves.
//!
//! # Reconciliation (gateway)
//!
//! Every request sent and not yet terminal is **in flight**, tracked by ClOrdID with the
//! filled quantity seen so far, and saved to the in-flight file beside the FIX store
//! **before** it is sent (so a process restart finds it). On **every logon** (after a
//! disconnect or a restart):
//!
//! 1. cancels in flight are forgotten (the order's own status says whether it is canceled);
//! 2. an OrderStatusRequest goes out for each order and amend in flight;
//! 3. new requests stay in the request ring (the engine sees back-pressure as [`Full`]) until
//!    every order is settled: by its status answer, or by a report the venue resends;
//! 4. each answer settles the order: live → stays in flight (an `Ack` is reported if neither
//!    an ack nor a fill was seen); filled more than seen → the difference is reported as a
//!    fill (counted as a gap: the session-level resend normally delivers the missed reports
//!    first); canceled → `Canceled`; unknown to the venue (`39=8`) → `Rejected` if it was
//!    never acknowledged (it never arrived), `Canceled` if it was (the venue lost it);
//! 5. a status request unanswered for `reconcile_timeout / STATUS_ATTEMPTS` is **asked
//!    again** (counted `reconcile_reasks`), up to [`STATUS_ATTEMPTS`](gateway::STATUS_ATTEMPTS)
//!    requests per order (3: at logon, then after ⅓ and ⅔ of `reconcile_timeout`);
//! 6. when `reconcile_timeout` has passed (counted `reconcile_timeouts`), an order still
//!    unanswered is **settled as unknown** rather than left in limbo (counted
//!    `reconcile_settled_unknown`, one `warn` line per reconciliation naming them):
//!    - an OrderCancelRequest goes out for it in case it is live at the venue, with a
//!      ClOrdID of the gateway's own (the order's with bit 63 flipped,
//!      [`SETTLE_CANCEL_BIT`](gateway::SETTLE_CANCEL_BIT)); its answer (canceled, or cancel
//!      rejected) is not passed on (counted `ignored`);
//!    - the engine gets, through the report ring like every report (so it is sequenced and
//!      journaled), `Canceled` if the order was acknowledged or `Rejected` if it never was,
//!      with reject code [`STATUS_UNKNOWN`](gateway::STATUS_UNKNOWN) (65000), the quantity
//!      filled so far and nothing left;
//!    - an amend settles the order it amends with it (its terms are unknown too); the
//!      order's report stands for both;
//!    - the order is remembered (the last 65,536 settled, in memory): a later report for it
//!      — a fill that happened after all, an ack, a cancel — still reaches the engine,
//!      deduplicated like any other (a fill whose CumQty does not exceed the CumQty seen, a
//!      second ack), and the OMS applies it (fills of closed orders are physical: counted
//!      `LateFill` and applied). A late status answer for it is ignored.
//!
//!    Held orders then go out.
//!
//! **A resumed engine** ([`FixOrderGateway::start_resumed`]). The in-flight file is saved
//! before the engine journals what changed it, so when the engine's process dies the file
//! may be ahead of the run's journal: a fill or ack the gateway took (its CumQty recorded,
//! QuickFIX's incoming sequence number past it, so never resent) that never reached the
//! journal. The resumed run's journal is the truth: before the first logon, each order and
//! amend in flight that the journal knows gets the journal's filled quantity and ack, and
//! each order open in the journal of which nothing is in flight (the gateway had its final
//! report, or it never reached the gateway) is put in flight ([`state::apply_journal`]).
//! Steps 2–6 then report what the journal lacks — a fill gap, an ack, the cancel or the
//! final fill — once; so does a report the venue resends after the logon: an ack, cancel or
//! replace whose CumQty is above the one seen has the difference reported as a fill first
//! (counted as a fill gap; the fills themselves reached the gateway before the crash and
//! are not resent). An order the journal does not know keeps what the file says.
//!
//! Our orders, cancels and amends are never resent: a resend request is answered with a gap
//! fill for them (`on_msg_to_app` returns `DoNotSend` for `PossDupFlag=Y`), so no order is
//! sent twice. Status requests are the exception: they are resent as they are (counted
//! `status_resends`). After a restart of the venue the logon usually finds sequence numbers
//! it has not received (what we sent while its process died): it answers our Logon with
//! its own and a ResendRequest to infinity (`EndSeqNo=0`), queues what we send meanwhile
//! behind the gap, and drops those queued messages once the gap fill has moved past them.
//! The status requests we send on logon race that ResendRequest; had they been gap-filled
//! too, none of them would ever be answered. Reports the venue resends are deduplicated: a
//! fill whose CumQty (14) does not exceed the CumQty already seen for that ClOrdID, a second
//! ack, or any report for a recently finished order is dropped and counted; a report for an
//! id never seen is counted as an unknown-ClOrdID reject. So no fill is counted twice and
//! none is lost.
//!
//! # The venue simulator
//!
//! [`FixVenue`]: the acceptor's callbacks parse D/F/G/H into [`ClientRequest`]s; the venue
//! thread maps each session's ClOrdIDs to internal ids, applies requests to a
//! `MatchingEngine` per symbol and sends the ExecutionReports (with 851 liquidity,
//! OrdStatus, CumQty, LeavesQty, AvgPx) or OrderCancelRejects. Liquidity
//! ([`VenueLiquidity`]): none (clients trade with each other), or the **synthetic market's
//! participant flow**, paced by the wall clock, whose first venue's books the FIX clients
//! trade on. Malformed requests (missing tags, unknown symbol or ClOrdID, impossible
//! quantities) are counted by reason, logged once per reason and answered with a rejected
//! ExecutionReport, an OrderCancelReject or a BusinessMessageReject; messages QuickFIX drops
//! itself (bad checksum) are counted through its log.

/// The engine's clock seam ([`tickrail_engine::runtime::clock`]): FIX timestamps, timeouts.
pub mod fields;
pub mod gateway;
pub mod messages;
pub mod mirror;
pub mod state;
pub mod stats;
pub mod symbols;
mod thread;
pub mod venue;

pub use fields::FieldError;
pub use gateway::{
    FixGatewayConfig, FixOrderGateway, Full, GatewayError, GatewayStats, SETTLE_CANCEL_BIT,
    STATUS_ATTEMPTS, STATUS_UNKNOWN,
};
pub use messages::{ClientRequest, FixError, FixReport};
pub use mirror::{FeedMirror, MirrorStats};
pub use state::{JournalApplied, JournaledOrder};
pub use stats::RejectReason;
pub use symbols::{FixId, FixInstrument, Instruments};
pub use venue::{FixVenue, FixVenueConfig, FixVenueError, FixVenueStats, VenueLiquidity};
