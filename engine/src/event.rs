//! The event model: one fixed-size, `Copy`, heap-free [`Event`] for every input and output.
//!
//! An event is an [`EventHeader`] (sequence, cause, both timestamps, instrument, scales,
//! source) and an [`EventBody`]. Inputs — market data, execution reports, timers, operator
//! commands — are stamped by the Sequencer; outputs — signals, order requests, risk rejects —
//! carry the sequence of the input that caused them in [`EventHeader::cause_sequence`].
//!
//! Every type here derives rkyv's `Archive`, so an event is journaled as a fixed-size archive
//! (see [`crate::codec`]) and read back zero-copy as an [`ArchivedEvent`].
//!
//! Numeric codes ([`EventKind::code`], [`RiskCode::code`]) are part of the journal format and
//! of reports: they are stable and never renumbered. The rkyv archive of an enum stores the
//! variant's discriminant (its index unless given explicitly), so variants are only ever
//! appended, never reordered or removed.

use std::fmt;

use rkyv::{Archive, Deserialize, Serialize};

use crate::instrument::InstrumentId;
use crate::value::{FixedDisplay, Price, Qty, Scale, ValueError};

/// Adds `ALL`, `name`, `from_name` and `Display` (the name) to a field-less enum.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: [$ty; [$($ty::$variant),+].len()] = [$($ty::$variant),+];

            /// The stable snake_case name, as used in dumps, configs and reports.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The variant named `name` (see [`Self::name`]).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

/// Derives shared by every event type: rkyv archive plus the plain value traits.
macro_rules! event_type {
    ($item:item) => {
        #[derive(Archive, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
        #[rkyv(derive(Debug), compare(PartialEq))]
        $item
    };
}

event_type! {
    /// Side of an order, a book level or an execution.
    #[derive(Hash, serde::Serialize, serde::Deserialize)]
    pub enum Side {
        /// Bid / buy.
        Buy,
        /// Ask / sell.
        Sell,
    }
}
named_enum!(Side { Buy => "buy", Sell => "sell" });

impl Side {
    /// The other side.
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }
}

event_type! {
    /// The side that took liquidity in a trade, when the venue says.
    #[derive(Hash)]
    pub enum Aggressor {
        /// The venue does not say (auction prints, some feeds).
        Unknown,
        /// A buyer lifted the offer.
        Buy,
        /// A seller hit the bid.
        Sell,
    }
}
named_enum!(Aggressor { Unknown => "unknown", Buy => "buy", Sell => "sell" });

event_type! {
    /// What an L2 book-level update does.
    #[derive(Hash)]
    pub enum LevelAction {
        /// Insert the level, or replace its price and quantity.
        Upsert,
        /// Remove the level.
        Delete,
    }
}
named_enum!(LevelAction { Upsert => "upsert", Delete => "delete" });

event_type! {
    /// An instrument's trading state, as announced by the venue.
    #[derive(Hash)]
    pub enum TradingState {
        /// Before the open: orders may be accepted, nothing matches.
        PreOpen,
        /// An opening, closing or re-opening auction.
        Auction,
        /// Continuous trading.
        Open,
        /// Halted or suspended by the venue.
        Halted,
        /// Closed for the day.
        Closed,
    }
}
named_enum!(TradingState {
    PreOpen => "pre_open",
    Auction => "auction",
    Open => "open",
    Halted => "halted",
    Closed => "closed",
});

event_type! {
    /// What an execution report says happened to one of our orders.
    #[derive(Hash)]
    pub enum ExecKind {
        /// The venue accepted the order.
        Ack,
        /// Part of the order filled; `leaves_qty > 0`.
        PartialFill,
        /// The order filled completely; `leaves_qty == 0`.
        Fill,
        /// The order was canceled (on request, by IOC expiry or by the venue).
        Canceled,
        /// An amend (cancel/replace) took effect.
        Replaced,
        /// The venue rejected the order; see `reject_code`.
        Rejected,
        /// The venue rejected a cancel or amend request; see `reject_code`.
        CancelRejected,
    }
}
named_enum!(ExecKind {
    Ack => "ack",
    PartialFill => "partial_fill",
    Fill => "fill",
    Canceled => "canceled",
    Replaced => "replaced",
    Rejected => "rejected",
    CancelRejected => "cancel_rejected",
});

event_type! {
    /// Whether a fill added or removed liquidity (FIX `LastLiquidityInd`, tag 851), as the
    /// venue reports it. It decides the fee rate ([`crate::oms`]).
    #[derive(Hash, Default)]
    pub enum Liquidity {
        /// Not reported (and every non-fill report). The OMS infers it: a fill before the
        /// ack took liquidity.
        #[default]
        Unknown,
        /// The order rested and was hit: maker.
        Maker,
        /// The order traded on arrival: taker.
        Taker,
    }
}
named_enum!(Liquidity {
    Unknown => "unknown",
    Maker => "maker",
    Taker => "taker",
});

event_type! {
    /// An operator command. Its scope is the header's instrument where that makes sense; the
    /// `arg` of [`EventBody::Command`] is command-specific (0 when unused).
    #[derive(Hash)]
    pub enum OperatorCommand {
        /// Cancel everything and refuse every new order until released.
        KillSwitch,
        /// Release the kill switch.
        ReleaseKillSwitch,
        /// Stop sending new orders (open orders stay).
        Halt,
        /// Resume after [`OperatorCommand::Halt`].
        Resume,
        /// Cancel every open order.
        CancelAll,
        /// Flatten the position.
        Flatten,
        /// Stop the engine after draining.
        Shutdown,
    }
}
named_enum!(OperatorCommand {
    KillSwitch => "kill_switch",
    ReleaseKillSwitch => "release_kill_switch",
    Halt => "halt",
    Resume => "resume",
    CancelAll => "cancel_all",
    Flatten => "flatten",
    Shutdown => "shutdown",
});

event_type! {
    /// How long an order rests.
    #[derive(Hash)]
    pub enum TimeInForce {
        /// Until the end of the trading day.
        Day,
        /// Immediate or cancel: whatever does not fill at once is canceled.
        Ioc,
        /// Fill or kill: fill completely at once or not at all.
        Fok,
        /// Good till canceled.
        Gtc,
        /// Rests only: rejected (or repriced, per venue) if it would take liquidity.
        PostOnly,
    }
}
named_enum!(TimeInForce {
    Day => "day",
    Ioc => "ioc",
    Fok => "fok",
    Gtc => "gtc",
    PostOnly => "post_only",
});

event_type! {
    /// Why pre-trade risk refused an order.
    ///
    /// The numeric codes are stable: they appear in journals, reports and the venue-facing
    /// logs, and are **never renumbered or reused**. New codes are appended.
    #[derive(Hash)]
    #[repr(u16)]
    pub enum RiskCode {
        /// Order quantity above the per-order limit.
        MaxOrderQty = 1,
        /// Order notional above the per-order limit.
        MaxNotional = 2,
        /// Price outside the band around the reference price.
        PriceBand = 3,
        /// The fill would breach the per-instrument position limit.
        MaxPosition = 4,
        /// The fill would breach the gross position limit.
        MaxGrossPosition = 5,
        /// Too many open orders.
        MaxOpenOrders = 6,
        /// Order rate above the throttle.
        Throttle = 7,
        /// The daily loss limit is reached.
        MaxDailyLoss = 8,
        /// Trading is halted (by the venue or the operator).
        Halted = 9,
        /// The kill switch is engaged.
        KillSwitch = 10,
        /// The order could trade against one of our own.
        SelfTrade = 11,
        /// The instrument is not configured.
        UnknownInstrument = 12,
        /// The price is not valid for the instrument (tick size, sign).
        InvalidPrice = 13,
        /// The quantity is not valid for the instrument (lot size, zero).
        InvalidQty = 14,
    }
}
named_enum!(RiskCode {
    MaxOrderQty => "max_order_qty",
    MaxNotional => "max_notional",
    PriceBand => "price_band",
    MaxPosition => "max_position",
    MaxGrossPosition => "max_gross_position",
    MaxOpenOrders => "max_open_orders",
    Throttle => "throttle",
    MaxDailyLoss => "max_daily_loss",
    Halted => "halted",
    KillSwitch => "kill_switch",
    SelfTrade => "self_trade",
    UnknownInstrument => "unknown_instrument",
    InvalidPrice => "invalid_price",
    InvalidQty => "invalid_qty",
});

impl RiskCode {
    /// The stable numeric code.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The risk code numbered `code`, if any.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The kind of an event: one per [`EventBody`] variant, with a stable numeric code.
///
/// Inputs are numbered from 1, outputs from [`EventKind::FIRST_OUTPUT_CODE`]. Codes are part
/// of the journal format (see [`crate::codec::EVENT_KIND_BASE`]) and are never renumbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u16)]
pub enum EventKind {
    /// [`EventBody::Quote`].
    Quote = 1,
    /// [`EventBody::Trade`].
    Trade = 2,
    /// [`EventBody::BookLevel`].
    BookLevel = 3,
    /// [`EventBody::OrderAdd`].
    OrderAdd = 4,
    /// [`EventBody::OrderModify`].
    OrderModify = 5,
    /// [`EventBody::OrderDelete`].
    OrderDelete = 6,
    /// [`EventBody::OrderExecute`].
    OrderExecute = 7,
    /// [`EventBody::OrderReplace`].
    OrderReplace = 8,
    /// [`EventBody::TradingStatus`].
    TradingStatus = 9,
    /// [`EventBody::ExecReport`].
    ExecReport = 10,
    /// [`EventBody::Timer`].
    Timer = 11,
    /// [`EventBody::Command`].
    Command = 12,
    /// [`EventBody::FeedGap`].
    FeedGap = 13,
    /// [`EventBody::Signal`].
    Signal = 32,
    /// [`EventBody::OrderNew`].
    OrderNew = 33,
    /// [`EventBody::OrderCancel`].
    OrderCancel = 34,
    /// [`EventBody::OrderAmend`].
    OrderAmend = 35,
    /// [`EventBody::RiskReject`].
    RiskReject = 36,
}
named_enum!(EventKind {
    Quote => "quote",
    Trade => "trade",
    BookLevel => "book_level",
    OrderAdd => "order_add",
    OrderModify => "order_modify",
    OrderDelete => "order_delete",
    OrderExecute => "order_execute",
    OrderReplace => "order_replace",
    TradingStatus => "trading_status",
    ExecReport => "exec_report",
    Timer => "timer",
    Command => "command",
    FeedGap => "feed_gap",
    Signal => "signal",
    OrderNew => "order_new",
    OrderCancel => "order_cancel",
    OrderAmend => "order_amend",
    RiskReject => "risk_reject",
});

impl EventKind {
    /// Codes from here up are outputs; below are inputs.
    pub const FIRST_OUTPUT_CODE: u16 = 32;

    /// The stable numeric code.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The kind numbered `code`, if any.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether events of this kind enter through the Sequencer (market data, execution
    /// reports, timers, operator commands).
    pub const fn is_input(self) -> bool {
        self.code() < Self::FIRST_OUTPUT_CODE
    }

    /// Whether events of this kind are produced by the business stages.
    pub const fn is_output(self) -> bool {
        !self.is_input()
    }
}

/// The scale of [`EventBody::Signal`] values: a signal of raw `1_000_000_000` is `1.0`.
pub const SIGNAL_SCALE: Scale = Scale::new(9);

event_type! {
    /// What every event carries besides its body.
    pub struct EventHeader {
        /// Position in the sequenced stream; unique and increasing.
        pub sequence: u64,
        /// The sequence of the input that caused this event; for an input, its own sequence.
        pub cause_sequence: u64,
        /// Venue timestamp, nanoseconds since the Unix epoch (0 if the venue gives none).
        pub exchange_ts_ns: i64,
        /// Local receive timestamp, nanoseconds since the Unix epoch. Together with
        /// `exchange_ts_ns` it makes feed latency replayable.
        pub receive_ts_ns: i64,
        /// The instrument the event concerns (for timers and commands, the scope; may be 0).
        pub instrument: InstrumentId,
        /// Decimal places of the body's prices (see [`Scale`]); makes dumps self-describing.
        pub price_scale: u8,
        /// Decimal places of the body's quantities.
        pub qty_scale: u8,
        /// The gateway or venue the event came from (or is bound to).
        pub source: u16,
    }
}

impl EventHeader {
    /// The header of an output caused by the input with header `self`: same instrument,
    /// scales, source and timestamps, `cause_sequence = self.sequence`.
    pub const fn output(&self, sequence: u64) -> Self {
        Self {
            sequence,
            cause_sequence: self.sequence,
            ..*self
        }
    }

    /// [`Self::price_scale`] as a [`Scale`].
    pub const fn price_scale(&self) -> Result<Scale, ValueError> {
        Scale::new_checked(self.price_scale)
    }

    /// [`Self::qty_scale`] as a [`Scale`].
    pub const fn qty_scale(&self) -> Result<Scale, ValueError> {
        Scale::new_checked(self.qty_scale)
    }
}

event_type! {
    /// The payload of an event. Inputs first, then outputs; see [`EventKind`] for the codes.
    ///
    /// Fields are ordered small-first within a variant so that the archived (`repr(C)`)
    /// layout packs them behind the tag. Order ids are the venue's for L3 market data, ours
    /// (`client_order_id`) for order requests.
    pub enum EventBody {
        /// Top of book (L1). An empty side has a zero quantity; its price is then not
        /// meaningful (gateways repeat the last price seen on that side).
        Quote {
            /// Best bid price.
            bid_px: Price,
            /// Quantity at the best bid.
            bid_qty: Qty,
            /// Best ask price.
            ask_px: Price,
            /// Quantity at the best ask.
            ask_qty: Qty,
        },
        /// A public trade print.
        Trade {
            /// Who took liquidity.
            aggressor: Aggressor,
            /// Trade price.
            price: Price,
            /// Traded quantity.
            qty: Qty,
            /// The venue's trade id.
            trade_id: u64,
        },
        /// An L2 price-level update.
        BookLevel {
            /// Book side.
            side: Side,
            /// Insert/replace or delete.
            action: LevelAction,
            /// Depth index, 0 = best.
            level: u16,
            /// Level price.
            price: Price,
            /// Total quantity at the level (zero on delete).
            qty: Qty,
        },
        /// L3: an order was added to the book.
        OrderAdd {
            /// Book side.
            side: Side,
            /// The venue's order id.
            order_id: u64,
            /// Limit price.
            price: Price,
            /// Displayed quantity.
            qty: Qty,
        },
        /// L3: an order's price or quantity changed (keeping its id).
        OrderModify {
            /// The venue's order id.
            order_id: u64,
            /// New price.
            price: Price,
            /// New quantity.
            qty: Qty,
        },
        /// L3: an order left the book.
        OrderDelete {
            /// The venue's order id.
            order_id: u64,
        },
        /// L3: a resting order traded.
        OrderExecute {
            /// The venue's order id.
            order_id: u64,
            /// Executed quantity.
            qty: Qty,
            /// Execution price.
            price: Price,
            /// The venue's match id.
            match_id: u64,
        },
        /// L3: an order was replaced by a new one (new id, same side; ITCH `U`).
        OrderReplace {
            /// The replaced order.
            old_order_id: u64,
            /// The new order.
            new_order_id: u64,
            /// New price.
            price: Price,
            /// New quantity.
            qty: Qty,
        },
        /// The venue changed the instrument's trading state.
        TradingStatus {
            /// The new state.
            status: TradingState,
        },
        /// An execution report for one of our orders.
        ExecReport {
            /// What happened.
            exec: ExecKind,
            /// The order's side.
            side: Side,
            /// Maker or taker, for fills as the venue reports it; `Unknown` otherwise. It sits
            /// in what was the padding byte before `reject_code`, which older journals wrote
            /// as zero (`Unknown`), so they still decode.
            liquidity: Liquidity,
            /// Venue reject reason for `Rejected`/`CancelRejected`, else 0.
            reject_code: u16,
            /// Our order id.
            client_order_id: u64,
            /// The venue's order id (0 before the ack).
            venue_order_id: u64,
            /// Last fill price for fills, else the order's price.
            price: Price,
            /// Last fill quantity for fills, else the order's quantity.
            qty: Qty,
            /// Quantity still open.
            leaves_qty: Qty,
            /// Quantity filled so far.
            cum_qty: Qty,
        },
        /// A timer fired.
        Timer {
            /// Which timer.
            timer_id: u32,
            /// When it was due, nanoseconds since the Unix epoch.
            deadline_ns: i64,
        },
        /// An operator command.
        Command {
            /// The command.
            command: OperatorCommand,
            /// Command-specific argument, 0 when unused.
            arg: i64,
        },
        /// Output: a model's signal.
        Signal {
            /// Which model.
            model_id: u16,
            /// Fixed-point value at [`SIGNAL_SCALE`] (units of 10^-9).
            value: i64,
        },
        /// Output: a new order request.
        OrderNew {
            /// Buy or sell.
            side: Side,
            /// Time in force.
            tif: TimeInForce,
            /// The venue (order gateway) to route to.
            venue: u16,
            /// Our id for the order.
            client_order_id: u64,
            /// Limit price.
            price: Price,
            /// Quantity.
            qty: Qty,
        },
        /// Output: a cancel request.
        OrderCancel {
            /// Our id for the cancel request.
            client_order_id: u64,
            /// The order to cancel.
            orig_client_order_id: u64,
        },
        /// Output: an amend (cancel/replace) request.
        OrderAmend {
            /// Our id for the amended order.
            client_order_id: u64,
            /// The order to amend.
            orig_client_order_id: u64,
            /// New price.
            price: Price,
            /// New quantity.
            qty: Qty,
        },
        /// Output: pre-trade risk refused an order request.
        RiskReject {
            /// Why.
            code: RiskCode,
            /// The refused request.
            client_order_id: u64,
        },
        /// A feed lost messages: its sequence numbers jumped from `expected` to
        /// `received` (a gap in a file or in UDP packets), or a book could not be kept
        /// consistent (`received == 0`: the feed's own continuity rule broke). Books of
        /// `instrument` (or of every instrument of `source` when the feed cannot tell) are
        /// not to be trusted until rebuilt. An input; declared last so the archived tags of
        /// the other variants keep their values.
        FeedGap {
            /// The first sequence number that did not arrive.
            expected: u64,
            /// The sequence number that arrived instead (0 if unknown).
            received: u64,
        },
    }
}

impl EventBody {
    /// The kind of this body.
    pub const fn kind(&self) -> EventKind {
        match self {
            Self::Quote { .. } => EventKind::Quote,
            Self::Trade { .. } => EventKind::Trade,
            Self::BookLevel { .. } => EventKind::BookLevel,
            Self::OrderAdd { .. } => EventKind::OrderAdd,
            Self::OrderModify { .. } => EventKind::OrderModify,
            Self::OrderDelete { .. } => EventKind::OrderDelete,
            Self::OrderExecute { .. } => EventKind::OrderExecute,
            Self::OrderReplace { .. } => EventKind::OrderReplace,
            Self::TradingStatus { .. } => EventKind::TradingStatus,
            Self::ExecReport { .. } => EventKind::ExecReport,
            Self::Timer { .. } => EventKind::Timer,
            Self::Command { .. } => EventKind::Command,
            Self::Signal { .. } => EventKind::Signal,
            Self::OrderNew { .. } => EventKind::OrderNew,
            Self::OrderCancel { .. } => EventKind::OrderCancel,
            Self::OrderAmend { .. } => EventKind::OrderAmend,
            Self::RiskReject { .. } => EventKind::RiskReject,
            Self::FeedGap { .. } => EventKind::FeedGap,
        }
    }
}

impl ArchivedEventBody {
    /// The kind of this archived body.
    pub const fn kind(&self) -> EventKind {
        match self {
            Self::Quote { .. } => EventKind::Quote,
            Self::Trade { .. } => EventKind::Trade,
            Self::BookLevel { .. } => EventKind::BookLevel,
            Self::OrderAdd { .. } => EventKind::OrderAdd,
            Self::OrderModify { .. } => EventKind::OrderModify,
            Self::OrderDelete { .. } => EventKind::OrderDelete,
            Self::OrderExecute { .. } => EventKind::OrderExecute,
            Self::OrderReplace { .. } => EventKind::OrderReplace,
            Self::TradingStatus { .. } => EventKind::TradingStatus,
            Self::ExecReport { .. } => EventKind::ExecReport,
            Self::Timer { .. } => EventKind::Timer,
            Self::Command { .. } => EventKind::Command,
            Self::Signal { .. } => EventKind::Signal,
            Self::OrderNew { .. } => EventKind::OrderNew,
            Self::OrderCancel { .. } => EventKind::OrderCancel,
            Self::OrderAmend { .. } => EventKind::OrderAmend,
            Self::RiskReject { .. } => EventKind::RiskReject,
            Self::FeedGap { .. } => EventKind::FeedGap,
        }
    }
}

event_type! {
    /// One event: header and body. Fixed-size, `Copy`, heap-free.
    pub struct Event {
        /// Sequence, cause, timestamps, instrument, scales, source.
        pub header: EventHeader,
        /// What happened.
        pub body: EventBody,
    }
}

/// Why an event is not well-formed (see [`Event::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// A field holds an invalid value.
    #[error("{kind} event {sequence}: {field}: {source}")]
    Value {
        /// The event's sequence.
        sequence: u64,
        /// The event's kind.
        kind: EventKind,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        source: ValueError,
    },
    /// An input whose cause is not itself.
    #[error("{kind} event {sequence}: an input's cause_sequence must be its own, not {cause}")]
    InputCause {
        /// The event's sequence.
        sequence: u64,
        /// The event's kind.
        kind: EventKind,
        /// Its cause sequence.
        cause: u64,
    },
}

impl Event {
    /// An event.
    pub const fn new(header: EventHeader, body: EventBody) -> Self {
        Self { header, body }
    }

    /// The kind of the body.
    pub const fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// Check the invariants the types cannot enforce once bytes come from outside (a
    /// journal): scales in range, prices positive, quantities non-negative, an input's
    /// cause is itself. Allocation-free.
    pub fn validate(&self) -> Result<(), EventError> {
        let (h, kind) = (&self.header, self.kind());
        let fail = |field, source| EventError::Value {
            sequence: h.sequence,
            kind,
            field,
            source,
        };
        if kind.is_input() && h.cause_sequence != h.sequence {
            return Err(EventError::InputCause {
                sequence: h.sequence,
                kind,
                cause: h.cause_sequence,
            });
        }
        h.price_scale().map_err(|e| fail("price_scale", e))?;
        h.qty_scale().map_err(|e| fail("qty_scale", e))?;
        let px = |field, p: Price| {
            Price::new_checked(p.raw())
                .map(drop)
                .map_err(|e| fail(field, e))
        };
        let qty = |field, q: Qty| {
            Qty::new_checked(q.raw())
                .map(drop)
                .map_err(|e| fail(field, e))
        };
        match self.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => {
                px("bid_px", bid_px)?;
                qty("bid_qty", bid_qty)?;
                px("ask_px", ask_px)?;
                qty("ask_qty", ask_qty)
            }
            EventBody::Trade { price, qty: q, .. }
            | EventBody::BookLevel { price, qty: q, .. }
            | EventBody::OrderAdd { price, qty: q, .. }
            | EventBody::OrderModify { price, qty: q, .. }
            | EventBody::OrderExecute { price, qty: q, .. }
            | EventBody::OrderReplace { price, qty: q, .. }
            | EventBody::OrderNew { price, qty: q, .. }
            | EventBody::OrderAmend { price, qty: q, .. } => {
                px("price", price)?;
                qty("qty", q)
            }
            EventBody::ExecReport {
                price,
                qty: q,
                leaves_qty,
                cum_qty,
                ..
            } => {
                px("price", price)?;
                qty("qty", q)?;
                qty("leaves_qty", leaves_qty)?;
                qty("cum_qty", cum_qty)
            }
            EventBody::OrderDelete { .. }
            | EventBody::TradingStatus { .. }
            | EventBody::Timer { .. }
            | EventBody::Command { .. }
            | EventBody::FeedGap { .. }
            | EventBody::Signal { .. }
            | EventBody::OrderCancel { .. }
            | EventBody::RiskReject { .. } => Ok(()),
        }
    }
}

impl ArchivedEvent {
    /// The kind of the body.
    pub const fn kind(&self) -> EventKind {
        self.body.kind()
    }
}

/// A raw fixed-point value printed at a header scale, which may be out of range in a damaged
/// journal: then the raw value is printed as `raw@scale?` rather than panicking.
struct AtScale(i64, u8);

impl fmt::Display for AtScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Scale::new_checked(self.1) {
            Ok(scale) => FixedDisplay::new(self.0, scale).fmt(f),
            Err(_) => write!(f, "{}@scale{}?", self.0, self.1),
        }
    }
}

/// One line: `seq=12 cause=12 inst=3 src=1 exch=… recv=… quote bid=101.25x300 ask=101.26x100`.
/// Prices and quantities are printed exactly at the header's scales.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        let px = |p: Price| AtScale(p.raw(), h.price_scale);
        let qty = |q: Qty| AtScale(q.raw(), h.qty_scale);
        write!(
            f,
            "seq={} cause={} inst={} src={} exch={} recv={} {}",
            h.sequence,
            h.cause_sequence,
            h.instrument,
            h.source,
            h.exchange_ts_ns,
            h.receive_ts_ns,
            self.kind()
        )?;
        match self.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => write!(
                f,
                " bid={}x{} ask={}x{}",
                px(bid_px),
                qty(bid_qty),
                px(ask_px),
                qty(ask_qty)
            ),
            EventBody::Trade {
                aggressor,
                price,
                qty: q,
                trade_id,
            } => write!(
                f,
                " px={} qty={} aggressor={aggressor} trade_id={trade_id}",
                px(price),
                qty(q)
            ),
            EventBody::BookLevel {
                side,
                action,
                level,
                price,
                qty: q,
            } => write!(
                f,
                " side={side} level={level} action={action} px={} qty={}",
                px(price),
                qty(q)
            ),
            EventBody::OrderAdd {
                side,
                order_id,
                price,
                qty: q,
            } => {
                write!(
                    f,
                    " id={order_id} side={side} px={} qty={}",
                    px(price),
                    qty(q)
                )
            }
            EventBody::OrderModify {
                order_id,
                price,
                qty: q,
            } => {
                write!(f, " id={order_id} px={} qty={}", px(price), qty(q))
            }
            EventBody::OrderDelete { order_id } => write!(f, " id={order_id}"),
            EventBody::OrderExecute {
                order_id,
                qty: q,
                price,
                match_id,
            } => write!(
                f,
                " id={order_id} px={} qty={} match_id={match_id}",
                px(price),
                qty(q)
            ),
            EventBody::OrderReplace {
                old_order_id,
                new_order_id,
                price,
                qty: q,
            } => write!(
                f,
                " old_id={old_order_id} new_id={new_order_id} px={} qty={}",
                px(price),
                qty(q)
            ),
            EventBody::TradingStatus { status } => write!(f, " status={status}"),
            EventBody::ExecReport {
                exec,
                side,
                liquidity,
                reject_code,
                client_order_id,
                venue_order_id,
                price,
                qty: q,
                leaves_qty,
                cum_qty,
            } => write!(
                f,
                " {exec} clid={client_order_id} venue_id={venue_order_id} side={side} px={} \
                 qty={} leaves={} cum={} liquidity={liquidity} reject_code={reject_code}",
                px(price),
                qty(q),
                qty(leaves_qty),
                qty(cum_qty)
            ),
            EventBody::Timer {
                timer_id,
                deadline_ns,
            } => {
                write!(f, " timer_id={timer_id} deadline={deadline_ns}")
            }
            EventBody::Command { command, arg } => write!(f, " {command} arg={arg}"),
            EventBody::FeedGap { expected, received } => {
                write!(f, " expected={expected} received={received}")
            }
            EventBody::Signal { model_id, value } => write!(
                f,
                " model={model_id} value={}",
                FixedDisplay::new(value, SIGNAL_SCALE)
            ),
            EventBody::OrderNew {
                side,
                tif,
                venue,
                client_order_id,
                price,
                qty: q,
            } => write!(
                f,
                " clid={client_order_id} side={side} px={} qty={} tif={tif} venue={venue}",
                px(price),
                qty(q)
            ),
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => {
                write!(
                    f,
                    " clid={client_order_id} orig_clid={orig_client_order_id}"
                )
            }
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty: q,
            } => {
                write!(
                    f,
                    " clid={client_order_id} orig_clid={orig_client_order_id} px={} qty={}",
                    px(price),
                    qty(q)
                )
            }
            EventBody::RiskReject {
                code,
                client_order_id,
            } => {
                write!(f, " clid={client_order_id} code={code}({})", code.code())
            }
        }
    }
}

/// One event of every kind, in [`EventKind::ALL`] order, with distinct field values: for
/// tests here and in other crates (behind the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
pub fn sample_events() -> [Event; EventKind::ALL.len()] {
    let input = |sequence: u64| EventHeader {
        sequence,
        cause_sequence: sequence,
        exchange_ts_ns: 1_700_000_000_000_000_000 + sequence as i64,
        receive_ts_ns: 1_700_000_000_000_050_000 + sequence as i64,
        instrument: InstrumentId::new(3),
        price_scale: 2,
        qty_scale: 0,
        source: 1,
    };
    let output = |sequence: u64| input(sequence - 1).output(sequence);
    let (p, q) = (Price::new(10125), Qty::new(300));
    let bodies_in = [
        EventBody::Quote {
            bid_px: p,
            bid_qty: q,
            ask_px: Price::new(10126),
            ask_qty: Qty::new(100),
        },
        EventBody::Trade {
            aggressor: Aggressor::Sell,
            price: p,
            qty: Qty::new(7),
            trade_id: 99,
        },
        EventBody::BookLevel {
            side: Side::Sell,
            action: LevelAction::Upsert,
            level: 2,
            price: p,
            qty: q,
        },
        EventBody::OrderAdd {
            side: Side::Buy,
            order_id: 1001,
            price: p,
            qty: q,
        },
        EventBody::OrderModify {
            order_id: 1001,
            price: Price::new(10124),
            qty: Qty::new(200),
        },
        EventBody::OrderDelete { order_id: 1001 },
        EventBody::OrderExecute {
            order_id: 1002,
            qty: Qty::new(50),
            price: p,
            match_id: 77,
        },
        EventBody::OrderReplace {
            old_order_id: 1002,
            new_order_id: 1003,
            price: p,
            qty: q,
        },
        EventBody::TradingStatus {
            status: TradingState::Halted,
        },
        EventBody::ExecReport {
            exec: ExecKind::PartialFill,
            side: Side::Buy,
            liquidity: Liquidity::Maker,
            reject_code: 0,
            client_order_id: 5,
            venue_order_id: 900_005,
            price: p,
            qty: Qty::new(100),
            leaves_qty: Qty::new(200),
            cum_qty: Qty::new(100),
        },
        EventBody::Timer {
            timer_id: 4,
            deadline_ns: 1_700_000_000_100_000_000,
        },
        EventBody::Command {
            command: OperatorCommand::CancelAll,
            arg: -1,
        },
        EventBody::FeedGap {
            expected: 1_001,
            received: 1_005,
        },
    ];
    let bodies_out = [
        EventBody::Signal {
            model_id: 2,
            value: -1_500_000_000,
        },
        EventBody::OrderNew {
            side: Side::Sell,
            tif: TimeInForce::PostOnly,
            venue: 1,
            client_order_id: 6,
            price: Price::new(10130),
            qty: Qty::new(10),
        },
        EventBody::OrderCancel {
            client_order_id: 7,
            orig_client_order_id: 6,
        },
        EventBody::OrderAmend {
            client_order_id: 8,
            orig_client_order_id: 6,
            price: Price::new(10129),
            qty: Qty::new(10),
        },
        EventBody::RiskReject {
            code: RiskCode::PriceBand,
            client_order_id: 9,
        },
    ];
    let mut seq = 0;
    let mut next = |body: EventBody| {
        seq += 1;
        let header = if body.kind().is_input() {
            input(seq)
        } else {
            output(seq)
        };
        Event::new(header, body)
    };
    let mut all = [next(bodies_in[0]); EventKind::ALL.len()];
    for (slot, body) in all
        .iter_mut()
        .skip(1)
        .zip(bodies_in.into_iter().skip(1).chain(bodies_out))
    {
        *slot = next(body);
    }
    all
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, size_of};

    use super::*;

    const _: () = assert!(size_of::<Event>() <= 128, "events must stay small");
    const _: () = assert!(
        size_of::<ArchivedEvent>() <= 128,
        "archived events must stay small"
    );

    fn assert_copy<T: Copy>() {}

    #[test]
    fn layout_is_pinned() {
        assert_copy::<Event>();
        assert_copy::<EventHeader>();
        assert_copy::<EventBody>();
        // Changing these changes the journal format or the ring slot size: do it on purpose.
        assert_eq!(
            (size_of::<EventHeader>(), align_of::<EventHeader>()),
            (40, 8)
        );
        assert_eq!((size_of::<EventBody>(), align_of::<EventBody>()), (56, 8));
        assert_eq!((size_of::<Event>(), align_of::<Event>()), (96, 8));
        assert_eq!(
            (
                size_of::<ArchivedEventHeader>(),
                align_of::<ArchivedEventHeader>()
            ),
            (40, 8)
        );
        assert_eq!(
            (
                size_of::<ArchivedEventBody>(),
                align_of::<ArchivedEventBody>()
            ),
            (56, 8)
        );
        assert_eq!(
            (size_of::<ArchivedEvent>(), align_of::<ArchivedEvent>()),
            (96, 8)
        );
        assert_eq!(size_of::<Price>(), 8);
        assert_eq!(size_of::<Qty>(), 8);
        assert_eq!(size_of::<InstrumentId>(), 4);
    }

    #[test]
    fn kinds_have_stable_codes_and_names() {
        let codes: Vec<u16> = EventKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(
            codes,
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 32, 33, 34, 35, 36]
        );
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind.code()), Some(kind));
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
            assert_eq!(kind.is_input(), kind.code() < 32);
            assert_eq!(kind.is_output(), !kind.is_input());
        }
        assert_eq!(EventKind::ExecReport.name(), "exec_report");
        assert_eq!(EventKind::RiskReject.to_string(), "risk_reject");
        assert_eq!(EventKind::from_code(0), None);
        assert_eq!(EventKind::from_code(14), None);
        assert_eq!(EventKind::from_name("Quote"), None);
    }

    #[test]
    fn risk_codes_are_stable() {
        let expected = [
            (RiskCode::MaxOrderQty, 1, "max_order_qty"),
            (RiskCode::MaxNotional, 2, "max_notional"),
            (RiskCode::PriceBand, 3, "price_band"),
            (RiskCode::MaxPosition, 4, "max_position"),
            (RiskCode::MaxGrossPosition, 5, "max_gross_position"),
            (RiskCode::MaxOpenOrders, 6, "max_open_orders"),
            (RiskCode::Throttle, 7, "throttle"),
            (RiskCode::MaxDailyLoss, 8, "max_daily_loss"),
            (RiskCode::Halted, 9, "halted"),
            (RiskCode::KillSwitch, 10, "kill_switch"),
            (RiskCode::SelfTrade, 11, "self_trade"),
            (RiskCode::UnknownInstrument, 12, "unknown_instrument"),
            (RiskCode::InvalidPrice, 13, "invalid_price"),
            (RiskCode::InvalidQty, 14, "invalid_qty"),
        ];
        assert_eq!(RiskCode::ALL.len(), expected.len());
        for (code, number, name) in expected {
            assert_eq!(code.code(), number);
            assert_eq!(code.name(), name);
            assert_eq!(RiskCode::from_code(number), Some(code));
            assert_eq!(RiskCode::from_name(name), Some(code));
        }
        assert_eq!(RiskCode::from_code(0), None);
        assert_eq!(RiskCode::from_code(15), None);
    }

    #[test]
    fn samples_cover_every_kind_and_are_valid() {
        let samples = sample_events();
        for (event, kind) in samples.iter().zip(EventKind::ALL) {
            assert_eq!(event.kind(), kind);
            assert_eq!(event.validate(), Ok(()), "{event}");
        }
    }

    #[test]
    fn displays_one_line() {
        let samples = sample_events();
        assert_eq!(
            samples[0].to_string(),
            "seq=1 cause=1 inst=3 src=1 exch=1700000000000000001 recv=1700000000000050001 \
             quote bid=101.25x300 ask=101.26x100"
        );
        let exec = samples[EventKind::ExecReport as usize - 1].to_string();
        assert!(exec.ends_with(
            "exec_report partial_fill clid=5 venue_id=900005 side=buy px=101.25 qty=100 \
             leaves=200 cum=100 liquidity=maker reject_code=0"
        ));
        let reject = samples.last().map(ToString::to_string).unwrap_or_default();
        assert!(reject.starts_with("seq=18 cause=17 "), "{reject}");
        assert!(
            reject.ends_with("risk_reject clid=9 code=price_band(3)"),
            "{reject}"
        );
        let gap = samples[12].to_string();
        assert!(
            gap.ends_with("feed_gap expected=1001 received=1005"),
            "{gap}"
        );
        let signal = samples[13].to_string();
        assert!(
            signal.ends_with("signal model=2 value=-1.500000000"),
            "{signal}"
        );
        for event in samples {
            let line = event.to_string();
            assert!(
                !line.contains('\n') && line.contains(event.kind().name()),
                "{line}"
            );
        }
        let mut bad = sample_events()[0];
        bad.header.price_scale = 40;
        assert!(bad.to_string().contains("bid=10125@scale40?x300"), "{bad}");
    }

    #[test]
    fn validate_names_the_problem() {
        let mut e = sample_events()[0];
        e.header.cause_sequence = 0;
        assert!(matches!(
            e.validate(),
            Err(EventError::InputCause { cause: 0, .. })
        ));
        let mut e = sample_events()[0];
        e.header.qty_scale = 19;
        let err = e.validate().unwrap_err();
        assert!(err.to_string().contains("qty_scale"), "{err}");
        let out = sample_events()[13];
        assert_ne!(out.header.cause_sequence, out.header.sequence);
        assert_eq!(out.validate(), Ok(()));
    }

    #[test]
    fn header_output_links_the_cause() {
        let input = sample_events()[0].header;
        let out = input.output(42);
        assert_eq!((out.sequence, out.cause_sequence), (42, input.sequence));
        assert_eq!(out.instrument, input.instrument);
        assert_eq!(out.receive_ts_ns, input.receive_ts_ns);
    }

    #[test]
    fn small_enums_round_trip_names() {
        for s in Side::ALL {
            assert_eq!(Side::from_name(s.name()), Some(s));
            assert_eq!(s.opposite().opposite(), s);
        }
        for t in TimeInForce::ALL {
            assert_eq!(TimeInForce::from_name(t.name()), Some(t));
        }
        for c in OperatorCommand::ALL {
            assert_eq!(OperatorCommand::from_name(c.name()), Some(c));
        }
        for x in ExecKind::ALL {
            assert_eq!(ExecKind::from_name(x.name()), Some(x));
        }
        for x in TradingState::ALL {
            assert_eq!(TradingState::from_name(x.name()), Some(x));
        }
    }
}
