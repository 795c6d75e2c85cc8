//! The schema of `tickrail journal export`: the columns, their types, and an event as a row.
//!
//! A wide table: the event header in every row, then the body fields of all kinds as
//! nullable columns, shared across kinds where the meaning matches (`price` is a trade's,
//! a level's, an order's or an execution's price). A column is null in the rows of kinds that
//! do not have the field. Enums are their snake_case names, as `inspect` prints them.
//!
//! Prices and quantities are journaled as raw `i64` in units of `10^-price_scale` and
//! `10^-qty_scale` (the row's header scales). In Parquet, the decoded columns are `f64`
//! (`raw / 10^scale`, correctly rounded, so `round(x * 10^scale)` gives the raw value back
//! whenever `|raw| < 2^53`); `price_raw` and `qty_raw` keep the exact integers. In CSV every
//! decoded value is exact decimal text (`101.25`), never through `f64`.
//!
//! | column | Parquet (Arrow) type | null | kinds | meaning |
//! |---|---|---|---|---|
//! | `sequence` | uint64 | no | all | position in the sequenced stream |
//! | `cause_sequence` | uint64 | no | all | the input that caused it (inputs: itself) |
//! | `exchange_ts_ns` | int64 | no | all | venue time, ns since the Unix epoch (0: none) |
//! | `receive_ts_ns` | int64 | no | all | local receive time, ns since the Unix epoch |
//! | `kind` | utf8 (dictionary pages) | no | all | event kind name: `quote`, `trade`, … |
//! | `instrument` | uint32 | no | all | instrument id (timers, commands: scope, may be 0) |
//! | `source` | uint16 | no | all | gateway or venue |
//! | `price_scale` | uint8 | no | all | decimal places of the row's prices |
//! | `qty_scale` | uint8 | no | all | decimal places of the row's quantities |
//! | `side` | utf8 | yes | book_level, order_add, exec_report, order_new | `buy`, `sell` |
//! | `price` | float64 | yes | trade, book_level, order_add/modify/execute/replace, exec_report, order_new, order_amend | price at `price_scale` |
//! | `price_raw` | int64 | yes | as `price` | the raw fixed-point price |
//! | `qty` | float64 | yes | as `price` | quantity at `qty_scale` |
//! | `qty_raw` | int64 | yes | as `price` | the raw fixed-point quantity |
//! | `bid_px`, `ask_px` | float64 | yes | quote | best bid / ask price |
//! | `bid_qty`, `ask_qty` | float64 | yes | quote | quantity at best bid / ask (0: side empty) |
//! | `order_id` | uint64 | yes | order_add/modify/delete/execute, order_replace (the old id) | the venue's L3 order id |
//! | `new_order_id` | uint64 | yes | order_replace | the replacing order's id |
//! | `client_order_id` | uint64 | yes | exec_report, order_new/cancel/amend, risk_reject | our order id |
//! | `orig_client_order_id` | uint64 | yes | order_cancel, order_amend | the order canceled or amended |
//! | `venue_order_id` | uint64 | yes | exec_report | the venue's id for our order |
//! | `trade_id` | uint64 | yes | trade | the venue's trade id |
//! | `match_id` | uint64 | yes | order_execute | the venue's match id |
//! | `aggressor` | utf8 | yes | trade | `unknown`, `buy`, `sell` |
//! | `action` | utf8 | yes | book_level | `upsert`, `delete` |
//! | `level` | uint16 | yes | book_level | depth index, 0 = best |
//! | `status` | utf8 | yes | trading_status | `pre_open`, `auction`, `open`, `halted`, `closed` |
//! | `exec` | utf8 | yes | exec_report | `ack`, `partial_fill`, `fill`, `canceled`, `replaced`, `rejected`, `cancel_rejected` |
//! | `tif` | utf8 | yes | order_new | `day`, `ioc`, `fok`, `gtc`, `post_only` |
//! | `venue` | uint16 | yes | order_new | the order gateway routed to |
//! | `leaves_qty`, `cum_qty` | float64 | yes | exec_report | open and filled quantity at `qty_scale` |
//! | `liquidity` | utf8 | yes | exec_report | `unknown`, `maker`, `taker` (fills, as the venue reports it) |
//! | `reject_code` | uint16 | yes | exec_report | venue reject reason (0: none) |
//! | `risk_code` | utf8 | yes | risk_reject | `max_order_qty`, `price_band`, … |
//! | `model_id` | uint16 | yes | signal | the model |
//! | `signal` | float64 | yes | signal | the value (journaled at 10^-9) |
//! | `timer_id` | uint32 | yes | timer | the timer |
//! | `deadline_ns` | int64 | yes | timer | when it was due, ns since the Unix epoch |
//! | `command` | utf8 | yes | command | `kill_switch`, `halt`, `cancel_all`, … |
//! | `arg` | int64 | yes | command | command argument (0: unused) |
//! | `expected`, `received` | uint64 | yes | feed_gap | first missing feed sequence, and the one that came |
//!
//! Parquet files are uncompressed (the workspace builds `parquet` without codecs); string
//! columns are dictionary-encoded, and nulls cost a few bits each. The key-value metadata
//! holds the journal path, the filter and the journal's manifest (`tickrail.manifest.KEY`).

use std::sync::Arc;

use anyhow::Result;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use tickrail_engine::{Event, EventBody, Price, Qty, Scale, SIGNAL_SCALE};

/// How a column is stored and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    U64,
    I64,
    U32,
    U16,
    U8,
    Str,
    /// A raw price, decoded at the row's `price_scale`.
    Px,
    /// A raw quantity, decoded at the row's `qty_scale`.
    Qty,
    /// A raw signal value, decoded at [`SIGNAL_SCALE`].
    Sig,
}

impl Ty {
    pub(super) fn data_type(self) -> DataType {
        match self {
            Ty::U64 => DataType::UInt64,
            Ty::I64 => DataType::Int64,
            Ty::U32 => DataType::UInt32,
            Ty::U16 => DataType::UInt16,
            Ty::U8 => DataType::UInt8,
            Ty::Str => DataType::Utf8,
            Ty::Px | Ty::Qty | Ty::Sig => DataType::Float64,
        }
    }

    /// The scale a decoded column is read at in `row`.
    pub(super) fn scale(self, row: &Row) -> Option<Scale> {
        match self {
            Ty::Px => Some(row.price_scale),
            Ty::Qty => Some(row.qty_scale),
            Ty::Sig => Some(SIGNAL_SCALE),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) ty: Ty,
    pub(super) nullable: bool,
}

/// Declares the column enum `C` and the `COLUMNS` table in one order.
macro_rules! columns {
    (@null null) => { true };
    (@null) => { false };
    ($($col:ident = $name:literal: $ty:ident $(, $nullable:ident)?;)+) => {
        #[derive(Debug, Clone, Copy)]
        pub(super) enum C {
            $($col),+
        }

        pub(super) const COLUMNS: [Column; [$(C::$col),+].len()] = [
            $(Column { name: $name, ty: Ty::$ty, nullable: columns!(@null $($nullable)?) }),+
        ];
    };
}

columns! {
    Sequence = "sequence": U64;
    CauseSequence = "cause_sequence": U64;
    ExchangeTsNs = "exchange_ts_ns": I64;
    ReceiveTsNs = "receive_ts_ns": I64;
    Kind = "kind": Str;
    Instrument = "instrument": U32;
    Source = "source": U16;
    PriceScale = "price_scale": U8;
    QtyScale = "qty_scale": U8;
    Side = "side": Str, null;
    Price = "price": Px, null;
    PriceRaw = "price_raw": I64, null;
    Qty = "qty": Qty, null;
    QtyRaw = "qty_raw": I64, null;
    BidPx = "bid_px": Px, null;
    BidQty = "bid_qty": Qty, null;
    AskPx = "ask_px": Px, null;
    AskQty = "ask_qty": Qty, null;
    OrderId = "order_id": U64, null;
    NewOrderId = "new_order_id": U64, null;
    ClientOrderId = "client_order_id": U64, null;
    OrigClientOrderId = "orig_client_order_id": U64, null;
    VenueOrderId = "venue_order_id": U64, null;
    TradeId = "trade_id": U64, null;
    MatchId = "match_id": U64, null;
    Aggressor = "aggressor": Str, null;
    Action = "action": Str, null;
    Level = "level": U16, null;
    Status = "status": Str, null;
    Exec = "exec": Str, null;
    Tif = "tif": Str, null;
    Venue = "venue": U16, null;
    LeavesQty = "leaves_qty": Qty, null;
    CumQty = "cum_qty": Qty, null;
    Liquidity = "liquidity": Str, null;
    RejectCode = "reject_code": U16, null;
    RiskCode = "risk_code": Str, null;
    ModelId = "model_id": U16, null;
    Signal = "signal": Sig, null;
    TimerId = "timer_id": U32, null;
    DeadlineNs = "deadline_ns": I64, null;
    Command = "command": Str, null;
    Arg = "arg": I64, null;
    Expected = "expected": U64, null;
    Received = "received": U64, null;
}

/// The Arrow schema of an export.
pub(super) fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(c.name, c.ty.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// One value: unsigned and signed integers (raw fixed point included) or an enum name.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell {
    Null,
    U(u64),
    I(i64),
    S(&'static str),
}

/// One event as a row of [`COLUMNS`].
pub(super) struct Row {
    pub(super) cells: [Cell; COLUMNS.len()],
    price_scale: Scale,
    qty_scale: Scale,
}

impl Row {
    fn u(&mut self, c: C, v: impl Into<u64>) {
        self.cells[c as usize] = Cell::U(v.into());
    }
    fn i(&mut self, c: C, v: i64) {
        self.cells[c as usize] = Cell::I(v);
    }
    fn s(&mut self, c: C, v: &'static str) {
        self.cells[c as usize] = Cell::S(v);
    }
    fn price(&mut self, p: Price) {
        self.i(C::Price, p.raw());
        self.i(C::PriceRaw, p.raw());
    }
    fn qty(&mut self, q: Qty) {
        self.i(C::Qty, q.raw());
        self.i(C::QtyRaw, q.raw());
    }

    /// The row of a decoded (hence validated) event.
    pub(super) fn from_event(ev: &Event) -> Result<Self> {
        let h = &ev.header;
        let mut r = Row {
            cells: [Cell::Null; COLUMNS.len()],
            price_scale: h.price_scale()?,
            qty_scale: h.qty_scale()?,
        };
        r.u(C::Sequence, h.sequence);
        r.u(C::CauseSequence, h.cause_sequence);
        r.i(C::ExchangeTsNs, h.exchange_ts_ns);
        r.i(C::ReceiveTsNs, h.receive_ts_ns);
        r.s(C::Kind, ev.kind().name());
        r.u(C::Instrument, h.instrument.get());
        r.u(C::Source, h.source);
        r.u(C::PriceScale, h.price_scale);
        r.u(C::QtyScale, h.qty_scale);
        // Exhaustive on purpose: a new event kind does not compile until it is exported.
        match ev.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => {
                r.i(C::BidPx, bid_px.raw());
                r.i(C::BidQty, bid_qty.raw());
                r.i(C::AskPx, ask_px.raw());
                r.i(C::AskQty, ask_qty.raw());
            }
            EventBody::Trade {
                aggressor,
                price,
                qty,
                trade_id,
            } => {
                r.s(C::Aggressor, aggressor.name());
                r.price(price);
                r.qty(qty);
                r.u(C::TradeId, trade_id);
            }
            EventBody::BookLevel {
                side,
                action,
                level,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.s(C::Action, action.name());
                r.u(C::Level, level);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderAdd {
                side,
                order_id,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderModify {
                order_id,
                price,
                qty,
            } => {
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderDelete { order_id } => r.u(C::OrderId, order_id),
            EventBody::OrderExecute {
                order_id,
                qty,
                price,
                match_id,
            } => {
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
                r.u(C::MatchId, match_id);
            }
            EventBody::OrderReplace {
                old_order_id,
                new_order_id,
                price,
                qty,
            } => {
                r.u(C::OrderId, old_order_id);
                r.u(C::NewOrderId, new_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::TradingStatus { status } => r.s(C::Status, status.name()),
            EventBody::ExecReport {
                exec,
                side,
                liquidity,
                reject_code,
                client_order_id,
                venue_order_id,
                price,
                qty,
                leaves_qty,
                cum_qty,
            } => {
                r.s(C::Exec, exec.name());
                r.s(C::Side, side.name());
                r.s(C::Liquidity, liquidity.name());
                r.u(C::RejectCode, reject_code);
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::VenueOrderId, venue_order_id);
                r.price(price);
                r.qty(qty);
                r.i(C::LeavesQty, leaves_qty.raw());
                r.i(C::CumQty, cum_qty.raw());
            }
            EventBody::Timer {
                timer_id,
                deadline_ns,
            } => {
                r.u(C::TimerId, timer_id);
                r.i(C::DeadlineNs, deadline_ns);
            }
            EventBody::Command { command, arg } => {
                r.s(C::Command, command.name());
                r.i(C::Arg, arg);
            }
            EventBody::FeedGap { expected, received } => {
                r.u(C::Expected, expected);
                r.u(C::Received, received);
            }
            EventBody::Signal { model_id, value } => {
                r.u(C::ModelId, model_id);
                r.i(C::Signal, value);
            }
            EventBody::OrderNew {
                side,
                tif,
                venue,
                client_order_id,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.s(C::Tif, tif.name());
                r.u(C::Venue, venue);
                r.u(C::ClientOrderId, client_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => {
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::OrigClientOrderId, orig_client_order_id);
            }
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty,
            } => {
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::OrigClientOrderId, orig_client_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::RiskReject {
                code,
                client_order_id,
            } => {
                r.s(C::RiskCode, code.name());
                r.u(C::ClientOrderId, client_order_id);
            }
        }
        Ok(r)
    }
}
