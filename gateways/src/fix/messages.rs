//! FIX 4.4 messages ↔ tickrail values. Building and parsing only: no sessions, no threads.
//!
//! Outbound from the gateway: [`new_order_single`] (35=D), [`cancel_request`] (F),
//! [`cancel_replace_request`] (G), [`order_status_request`] (H). Inbound to the gateway:
//! [`parse_report`] for ExecutionReport (8) and OrderCancelReject (9), into a plain `Copy`
//! [`FixReport`]. The venue side: [`parse_request`] for D/F/G/H into a `Copy`
//! [`ClientRequest`], and [`execution_report`], [`order_cancel_reject`] and
//! [`business_reject`] to answer. See the mapping table in the [module docs](super).
//!
//! Parsing reads through [`FieldSource`], implemented for [`quickfix::Message`] and for a
//! plain tag map (tests), and copies every field out: nothing returned borrows the message.

use std::collections::BTreeMap;

use quickfix::{FieldMap, Message, QuickFixError};
use tickrail_engine::value::FixedDisplay;
use tickrail_engine::{ExecKind, InstrumentId, Liquidity, Price, Qty, Scale, Side, TimeInForce};

use super::fields::{
    parse_bool, parse_char, parse_order_qty, parse_price, parse_qty, parse_u64, FieldError,
};
use super::symbols::{FixId, FixInstrument, Instruments};

/// FIX tag numbers used here.
pub mod tag {
    #![allow(missing_docs, reason = "the names are the FIX field names")]
    pub const AVG_PX: u32 = 6;
    pub const CL_ORD_ID: u32 = 11;
    pub const CUM_QTY: u32 = 14;
    pub const EXEC_ID: u32 = 17;
    pub const EXEC_INST: u32 = 18;
    pub const LAST_PX: u32 = 31;
    pub const LAST_QTY: u32 = 32;
    pub const MSG_SEQ_NUM: u32 = 34;
    pub const MSG_TYPE: u32 = 35;
    pub const ORDER_ID: u32 = 37;
    pub const ORDER_QTY: u32 = 38;
    pub const ORD_STATUS: u32 = 39;
    pub const ORD_TYPE: u32 = 40;
    pub const ORIG_CL_ORD_ID: u32 = 41;
    pub const POSS_DUP_FLAG: u32 = 43;
    pub const PRICE: u32 = 44;
    pub const REF_SEQ_NUM: u32 = 45;
    pub const SIDE: u32 = 54;
    pub const SYMBOL: u32 = 55;
    pub const TEXT: u32 = 58;
    pub const TIME_IN_FORCE: u32 = 59;
    pub const TRANSACT_TIME: u32 = 60;
    pub const POSS_RESEND: u32 = 97;
    pub const CXL_REJ_REASON: u32 = 102;
    pub const ORD_REJ_REASON: u32 = 103;
    pub const EXEC_TYPE: u32 = 150;
    pub const LEAVES_QTY: u32 = 151;
    pub const REF_MSG_TYPE: u32 = 372;
    pub const BUSINESS_REJECT_REASON: u32 = 380;
    pub const CXL_REJ_RESPONSE_TO: u32 = 434;
    pub const LAST_LIQUIDITY_IND: u32 = 851;
}

/// Read access to a message's fields, as text. Implemented for [`quickfix::Message`] and
/// for `BTreeMap<u32, String>` (tests, raw parsing).
pub trait FieldSource {
    /// A body field.
    fn body(&self, tag: u32) -> Option<String>;
    /// A header field (35 MsgType, 34 MsgSeqNum, 43 PossDupFlag, …).
    fn header(&self, tag: u32) -> Option<String>;
}

impl FieldSource for Message {
    fn body(&self, tag: u32) -> Option<String> {
        self.get_field(i32::try_from(tag).ok()?)
    }

    fn header(&self, tag: u32) -> Option<String> {
        let tag = i32::try_from(tag).ok()?;
        self.with_header(|h| h.get_field(tag))
    }
}

impl FieldSource for BTreeMap<u32, String> {
    fn body(&self, tag: u32) -> Option<String> {
        self.get(&tag).cloned()
    }

    fn header(&self, tag: u32) -> Option<String> {
        self.get(&tag).cloned()
    }
}

/// Why a message could not be mapped. `Copy`, so that it can travel through a ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    /// A field is missing or garbled.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// Symbol (55) is not one of ours.
    #[error("tag 55: unknown symbol")]
    UnknownSymbol,
    /// A message type this side does not handle.
    #[error("unsupported message type {0:?}")]
    UnsupportedMsgType(char),
    /// OrdType (40) other than limit (2).
    #[error("tag 40: only limit orders (40=2) are supported")]
    UnsupportedOrdType,
}

fn required(src: &impl FieldSource, tag: u32) -> Result<String, FieldError> {
    src.body(tag).ok_or(FieldError::Missing { tag })
}

fn side_from(tag: u32, text: &str) -> Result<Side, FieldError> {
    match parse_char(tag, text)? {
        b'1' => Ok(Side::Buy),
        b'2' => Ok(Side::Sell),
        _ => Err(FieldError::BadValue { tag }),
    }
}

/// FIX `Side` (54) of a tickrail side.
pub const fn side_code(side: Side) -> &'static str {
    match side {
        Side::Buy => "1",
        Side::Sell => "2",
    }
}

/// FIX `TimeInForce` (59) and, for post-only, `ExecInst` (18) `6` (participate, don't
/// initiate).
pub const fn tif_codes(tif: TimeInForce) -> (&'static str, Option<&'static str>) {
    match tif {
        TimeInForce::Day => ("0", None),
        TimeInForce::Gtc => ("1", None),
        TimeInForce::Ioc => ("3", None),
        TimeInForce::Fok => ("4", None),
        TimeInForce::PostOnly => ("0", Some("6")),
    }
}

fn tif_from(src: &impl FieldSource) -> Result<TimeInForce, FieldError> {
    let post_only = src
        .body(tag::EXEC_INST)
        .is_some_and(|e| e.split(' ').any(|v| v == "6"));
    let tif = match src.body(tag::TIME_IN_FORCE) {
        None => TimeInForce::Day,
        Some(t) => match parse_char(tag::TIME_IN_FORCE, &t)? {
            b'0' => TimeInForce::Day,
            b'1' => TimeInForce::Gtc,
            b'3' => TimeInForce::Ioc,
            b'4' => TimeInForce::Fok,
            _ => {
                return Err(FieldError::BadValue {
                    tag: tag::TIME_IN_FORCE,
                })
            }
        },
    };
    match (post_only, tif) {
        (false, tif) => Ok(tif),
        (true, TimeInForce::Day | TimeInForce::Gtc) => Ok(TimeInForce::PostOnly),
        (true, _) => Err(FieldError::BadValue {
            tag: tag::EXEC_INST,
        }),
    }
}

fn instrument_from<'a>(
    src: &impl FieldSource,
    instruments: &'a Instruments,
) -> Result<&'a FixInstrument, FixError> {
    let symbol = required(src, tag::SYMBOL)?;
    instruments
        .by_symbol(&symbol)
        .ok_or(FixError::UnknownSymbol)
}

fn msg_type(src: &impl FieldSource) -> Result<String, FieldError> {
    src.header(tag::MSG_TYPE)
        .ok_or(FieldError::Missing { tag: tag::MSG_TYPE })
}

// ---------------------------------------------------------------------------------------
// Gateway → venue

/// What an outbound order message needs besides its ids.
#[derive(Debug, Clone, Copy)]
pub struct OrderTerms<'a> {
    /// FIX symbol.
    pub symbol: &'a str,
    /// Side.
    pub side: Side,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price.
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Price scale of the instrument.
    pub price_scale: Scale,
    /// Quantity scale of the instrument.
    pub qty_scale: Scale,
}

impl<'a> OrderTerms<'a> {
    /// The terms of an order on `inst`, at its symbol and scales.
    pub fn on(
        inst: &'a FixInstrument,
        side: Side,
        tif: TimeInForce,
        price: Price,
        qty: Qty,
    ) -> Self {
        Self {
            symbol: &inst.symbol,
            side,
            tif,
            price,
            qty,
            price_scale: inst.price_scale,
            qty_scale: inst.qty_scale,
        }
    }
}

fn message(msg_type: &str) -> Result<Message, QuickFixError> {
    let mut msg = Message::new();
    msg.with_header_mut(|h| h.set_field(35, msg_type))?;
    Ok(msg)
}

fn set(
    msg: &mut Message,
    tag: u32,
    value: impl quickfix::IntoFixValue,
) -> Result<(), QuickFixError> {
    let tag = i32::try_from(tag).map_err(|_| QuickFixError::invalid_argument("tag"))?;
    msg.set_field(tag, value)
}

fn set_terms(msg: &mut Message, t: &OrderTerms<'_>) -> Result<(), QuickFixError> {
    set(msg, tag::SYMBOL, t.symbol)?;
    set(msg, tag::SIDE, side_code(t.side))?;
    set(
        msg,
        tag::ORDER_QTY,
        FixedDisplay::new(t.qty.raw(), t.qty_scale).to_string(),
    )?;
    set(msg, tag::ORD_TYPE, "2")?;
    set(
        msg,
        tag::PRICE,
        FixedDisplay::new(t.price.raw(), t.price_scale).to_string(),
    )?;
    let (tif, exec_inst) = tif_codes(t.tif);
    set(msg, tag::TIME_IN_FORCE, tif)?;
    if let Some(e) = exec_inst {
        set(msg, tag::EXEC_INST, e)?;
    }
    Ok(())
}

/// NewOrderSingle (35=D): 11, 55, 54, 38, 40=2, 44, 59 (and 18=6 for post-only), 60.
pub fn new_order_single(
    cl_ord_id: u64,
    terms: &OrderTerms<'_>,
    transact_time: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("D")?;
    set(&mut msg, tag::CL_ORD_ID, cl_ord_id)?;
    set_terms(&mut msg, terms)?;
    set(&mut msg, tag::TRANSACT_TIME, transact_time)?;
    Ok(msg)
}

/// OrderCancelRequest (35=F): 11, 41, 55, 54, 38 (when known), 60.
pub fn cancel_request(
    cl_ord_id: u64,
    orig_cl_ord_id: u64,
    symbol: &str,
    side: Side,
    qty: Option<(Qty, Scale)>,
    transact_time: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("F")?;
    set(&mut msg, tag::CL_ORD_ID, cl_ord_id)?;
    set(&mut msg, tag::ORIG_CL_ORD_ID, orig_cl_ord_id)?;
    set(&mut msg, tag::SYMBOL, symbol)?;
    set(&mut msg, tag::SIDE, side_code(side))?;
    if let Some((q, scale)) = qty {
        set(
            &mut msg,
            tag::ORDER_QTY,
            FixedDisplay::new(q.raw(), scale).to_string(),
        )?;
    }
    set(&mut msg, tag::TRANSACT_TIME, transact_time)?;
    Ok(msg)
}

/// OrderCancelReplaceRequest (35=G): 11, 41, 55, 54, 38, 40=2, 44, 59, 60.
pub fn cancel_replace_request(
    cl_ord_id: u64,
    orig_cl_ord_id: u64,
    terms: &OrderTerms<'_>,
    transact_time: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("G")?;
    set(&mut msg, tag::CL_ORD_ID, cl_ord_id)?;
    set(&mut msg, tag::ORIG_CL_ORD_ID, orig_cl_ord_id)?;
    set_terms(&mut msg, terms)?;
    set(&mut msg, tag::TRANSACT_TIME, transact_time)?;
    Ok(msg)
}

/// OrderStatusRequest (35=H): 11, 55, 54.
pub fn order_status_request(
    cl_ord_id: u64,
    symbol: &str,
    side: Side,
) -> Result<Message, QuickFixError> {
    let mut msg = message("H")?;
    set(&mut msg, tag::CL_ORD_ID, cl_ord_id)?;
    set(&mut msg, tag::SYMBOL, symbol)?;
    set(&mut msg, tag::SIDE, side_code(side))?;
    Ok(msg)
}

// ---------------------------------------------------------------------------------------
// Venue → gateway

/// What an inbound report says, from ExecType (150) or the message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// 150=0.
    New,
    /// 150=F (and the FIX 4.2 fills 1/2): a fill; partial or full from 151/39.
    Trade,
    /// 150=4 (and C expired).
    Canceled,
    /// 150=5.
    Replaced,
    /// 150=8.
    Rejected,
    /// 150=I: the answer to an OrderStatusRequest.
    Status,
    /// 150=6, A, E, 3, D, …: pending and informational states, nothing to do.
    Pending,
    /// 35=9 OrderCancelReject.
    CancelReject,
}

/// An ExecutionReport (35=8) or OrderCancelReject (35=9), copied out of the message.
/// Prices and quantities are at the instrument's scales; `None` where the message did not
/// carry them (an OrderCancelReject carries no symbol, prices or quantities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixReport {
    /// What happened.
    pub kind: ReportKind,
    /// OrdStatus (39).
    pub ord_status: u8,
    /// ClOrdID (11).
    pub cl_ord_id: u64,
    /// OrigClOrdID (41), if present.
    pub orig_cl_ord_id: Option<u64>,
    /// OrderID (37) if numeric, else 0.
    pub venue_order_id: u64,
    /// From Symbol (55).
    pub instrument: Option<InstrumentId>,
    /// Side (54).
    pub side: Option<Side>,
    /// Price (44).
    pub price: Option<Price>,
    /// OrderQty (38).
    pub order_qty: Option<Qty>,
    /// LastPx (31), fills.
    pub last_px: Option<Price>,
    /// LastQty (32), fills.
    pub last_qty: Option<Qty>,
    /// LeavesQty (151).
    pub leaves_qty: Option<Qty>,
    /// CumQty (14).
    pub cum_qty: Option<Qty>,
    /// LastLiquidityInd (851): 1 added → maker, 2 removed → taker.
    pub liquidity: Liquidity,
    /// OrdRejReason (103) or CxlRejReason (102); 0 if absent.
    pub reject_code: u16,
    /// PossDupFlag (43) or PossResend (97).
    pub poss_dup: bool,
}

impl FixReport {
    /// The tickrail execution kind of this report, if it maps to one (`New` → `Ack`, a trade
    /// with nothing left → `Fill`, …); `None` for status answers and pending states.
    pub fn exec_kind(&self) -> Option<ExecKind> {
        Some(match self.kind {
            ReportKind::New => ExecKind::Ack,
            ReportKind::Trade => {
                let done = self.leaves_qty.is_some_and(Qty::is_zero) || self.ord_status == b'2';
                if done {
                    ExecKind::Fill
                } else {
                    ExecKind::PartialFill
                }
            }
            ReportKind::Canceled => ExecKind::Canceled,
            ReportKind::Replaced => ExecKind::Replaced,
            ReportKind::Rejected => ExecKind::Rejected,
            ReportKind::CancelReject => ExecKind::CancelRejected,
            ReportKind::Status | ReportKind::Pending => return None,
        })
    }
}

/// Parses an ExecutionReport (35=8) or OrderCancelReject (35=9). Missing or garbled tags
/// are a [`FixError`] naming the tag; the symbol must be one of `instruments`.
pub fn parse_report(
    src: &impl FieldSource,
    instruments: &Instruments,
) -> Result<FixReport, FixError> {
    let mt = msg_type(src)?;
    let poss_dup = [tag::POSS_DUP_FLAG, tag::POSS_RESEND]
        .into_iter()
        .filter_map(|t| src.header(t).map(|v| parse_bool(t, &v)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .any(|b| b);
    let cl_ord_id = parse_u64(tag::CL_ORD_ID, &required(src, tag::CL_ORD_ID)?)?;
    let orig_cl_ord_id = src
        .body(tag::ORIG_CL_ORD_ID)
        .map(|v| parse_u64(tag::ORIG_CL_ORD_ID, &v))
        .transpose()?;
    let venue_order_id = src
        .body(tag::ORDER_ID)
        .and_then(|v| parse_u64(tag::ORDER_ID, &v).ok())
        .unwrap_or(0);
    let ord_status = parse_char(tag::ORD_STATUS, &required(src, tag::ORD_STATUS)?)?;
    let mut report = FixReport {
        kind: ReportKind::CancelReject,
        ord_status,
        cl_ord_id,
        orig_cl_ord_id,
        venue_order_id,
        instrument: None,
        side: None,
        price: None,
        order_qty: None,
        last_px: None,
        last_qty: None,
        leaves_qty: None,
        cum_qty: None,
        liquidity: Liquidity::Unknown,
        reject_code: 0,
        poss_dup,
    };
    let code = |t: u32| -> Result<u16, FieldError> {
        match src.body(t) {
            None => Ok(0),
            Some(v) => {
                u16::try_from(parse_u64(t, &v)?).map_err(|_| FieldError::BadValue { tag: t })
            }
        }
    };
    match mt.as_str() {
        "9" => {
            if orig_cl_ord_id.is_none() {
                return Err(FieldError::Missing {
                    tag: tag::ORIG_CL_ORD_ID,
                }
                .into());
            }
            report.reject_code = code(tag::CXL_REJ_REASON)?;
            Ok(report)
        }
        "8" => {
            report.kind = match parse_char(tag::EXEC_TYPE, &required(src, tag::EXEC_TYPE)?)? {
                b'0' => ReportKind::New,
                b'F' | b'1' | b'2' => ReportKind::Trade,
                b'4' | b'C' => ReportKind::Canceled,
                b'5' => ReportKind::Replaced,
                b'8' => ReportKind::Rejected,
                b'I' => ReportKind::Status,
                _ => ReportKind::Pending,
            };
            let inst = instrument_from(src, instruments)?;
            report.instrument = Some(inst.id);
            report.side = Some(side_from(tag::SIDE, &required(src, tag::SIDE)?)?);
            let (ps, qs) = (inst.price_scale, inst.qty_scale);
            let opt_price = |t: u32| src.body(t).map(|v| parse_price(t, &v, ps)).transpose();
            let opt_qty = |t: u32| src.body(t).map(|v| parse_qty(t, &v, qs)).transpose();
            report.price = opt_price(tag::PRICE)?;
            report.order_qty = opt_qty(tag::ORDER_QTY)?;
            report.leaves_qty = Some(parse_qty(
                tag::LEAVES_QTY,
                &required(src, tag::LEAVES_QTY)?,
                qs,
            )?);
            report.cum_qty = Some(parse_qty(tag::CUM_QTY, &required(src, tag::CUM_QTY)?, qs)?);
            if report.kind == ReportKind::Trade {
                report.last_px = Some(parse_price(
                    tag::LAST_PX,
                    &required(src, tag::LAST_PX)?,
                    ps,
                )?);
                let last = parse_qty(tag::LAST_QTY, &required(src, tag::LAST_QTY)?, qs)?;
                if last.is_zero() {
                    return Err(FieldError::NotPositive { tag: tag::LAST_QTY }.into());
                }
                report.last_qty = Some(last);
            }
            report.liquidity = match src.body(tag::LAST_LIQUIDITY_IND).as_deref() {
                Some("1") => Liquidity::Maker,
                Some("2") => Liquidity::Taker,
                _ => Liquidity::Unknown,
            };
            report.reject_code = code(tag::ORD_REJ_REASON)?;
            Ok(report)
        }
        other => Err(FixError::UnsupportedMsgType(
            other.chars().next().unwrap_or('?'),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Client → venue

/// A client's order request, copied out of a D/F/G/H message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRequest {
    /// NewOrderSingle.
    New {
        /// ClOrdID.
        cl: FixId,
        /// From Symbol.
        instrument: InstrumentId,
        /// Side.
        side: Side,
        /// TimeInForce (+ ExecInst 6).
        tif: TimeInForce,
        /// Limit price.
        price: Price,
        /// Quantity, positive.
        qty: Qty,
    },
    /// OrderCancelRequest.
    Cancel {
        /// ClOrdID of the request.
        cl: FixId,
        /// The order to cancel.
        orig: FixId,
        /// From Symbol.
        instrument: InstrumentId,
        /// Side.
        side: Side,
    },
    /// OrderCancelReplaceRequest.
    Replace {
        /// ClOrdID of the amended order.
        cl: FixId,
        /// The order to amend.
        orig: FixId,
        /// From Symbol.
        instrument: InstrumentId,
        /// Side.
        side: Side,
        /// New price.
        price: Price,
        /// New quantity, positive.
        qty: Qty,
    },
    /// OrderStatusRequest.
    Status {
        /// ClOrdID of the order asked about.
        cl: FixId,
        /// From Symbol.
        instrument: InstrumentId,
        /// Side.
        side: Side,
    },
}

/// A client message the venue cannot act on: what to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRequest {
    /// MsgType (35) of the message, first byte (`?` if absent).
    pub msg_type: u8,
    /// MsgSeqNum (34), for a BusinessMessageReject's RefSeqNum.
    pub seq_num: u64,
    /// ClOrdID, if it could be read: then the answer is an ExecutionReport (rejected),
    /// OrderCancelReject or status report; otherwise a BusinessMessageReject.
    pub cl: Option<FixId>,
    /// OrigClOrdID, if present and readable.
    pub orig: Option<FixId>,
    /// Side, if readable.
    pub side: Option<Side>,
    /// Symbol (55), if present and short enough.
    pub symbol: Option<FixId>,
    /// Why.
    pub error: FixError,
}

fn fix_id(src: &impl FieldSource, t: u32) -> Result<FixId, FieldError> {
    FixId::new(&required(src, t)?).ok_or(FieldError::BadValue { tag: t })
}

/// Parses a NewOrderSingle, OrderCancelRequest, OrderCancelReplaceRequest or
/// OrderStatusRequest. On failure, says as much as could be read for the answer.
#[allow(
    clippy::result_large_err,
    reason = "both outcomes are Copy values that travel through a ring by value; no allocation in the callback"
)]
pub fn parse_request(
    src: &impl FieldSource,
    instruments: &Instruments,
) -> Result<ClientRequest, BadRequest> {
    let mt = src.header(tag::MSG_TYPE).unwrap_or_default();
    let seq_num = src
        .header(tag::MSG_SEQ_NUM)
        .and_then(|v| parse_u64(tag::MSG_SEQ_NUM, &v).ok())
        .unwrap_or(0);
    let cl = fix_id(src, tag::CL_ORD_ID);
    let orig = src.body(tag::ORIG_CL_ORD_ID).and_then(|v| FixId::new(&v));
    let side = src.body(tag::SIDE).map(|v| side_from(tag::SIDE, &v));
    let bad = |error: FixError| BadRequest {
        msg_type: mt.bytes().next().unwrap_or(b'?'),
        seq_num,
        cl: cl.ok(),
        orig,
        side: side.and_then(Result::ok),
        symbol: src.body(tag::SYMBOL).and_then(|v| FixId::new(&v)),
        error,
    };
    let parse = || -> Result<ClientRequest, FixError> {
        let cl = cl?;
        let side = side.ok_or(FieldError::Missing { tag: tag::SIDE })??;
        let inst = instrument_from(src, instruments)?;
        let (ps, qs) = (inst.price_scale, inst.qty_scale);
        let limit = || -> Result<(Price, Qty), FixError> {
            let ord_type = required(src, tag::ORD_TYPE)?;
            if ord_type != "2" {
                return Err(FixError::UnsupportedOrdType);
            }
            let qty = parse_order_qty(tag::ORDER_QTY, &required(src, tag::ORDER_QTY)?, qs)?;
            let price = parse_price(tag::PRICE, &required(src, tag::PRICE)?, ps)?;
            Ok((price, qty))
        };
        match mt.as_str() {
            "D" => {
                let (price, qty) = limit()?;
                Ok(ClientRequest::New {
                    cl,
                    instrument: inst.id,
                    side,
                    tif: tif_from(src)?,
                    price,
                    qty,
                })
            }
            "F" => Ok(ClientRequest::Cancel {
                cl,
                orig: fix_id(src, tag::ORIG_CL_ORD_ID)?,
                instrument: inst.id,
                side,
            }),
            "G" => {
                let orig = fix_id(src, tag::ORIG_CL_ORD_ID)?;
                let (price, qty) = limit()?;
                Ok(ClientRequest::Replace {
                    cl,
                    orig,
                    instrument: inst.id,
                    side,
                    price,
                    qty,
                })
            }
            "H" => Ok(ClientRequest::Status {
                cl,
                instrument: inst.id,
                side,
            }),
            other => Err(FixError::UnsupportedMsgType(
                other.chars().next().unwrap_or('?'),
            )),
        }
    };
    parse().map_err(bad)
}

// ---------------------------------------------------------------------------------------
// Venue → client

/// Everything an ExecutionReport (35=8) built by the venue carries.
#[derive(Debug, Clone, Copy)]
pub struct ExecReportOut<'a> {
    /// OrderID (37); 0 is sent as `NONE`.
    pub order_id: u64,
    /// ClOrdID (11).
    pub cl: FixId,
    /// OrigClOrdID (41).
    pub orig: Option<FixId>,
    /// ExecID (17).
    pub exec_id: u64,
    /// ExecType (150).
    pub exec_type: u8,
    /// OrdStatus (39).
    pub ord_status: u8,
    /// Symbol (55).
    pub symbol: &'a str,
    /// Side (54).
    pub side: Side,
    /// OrderQty (38).
    pub order_qty: Qty,
    /// Price (44).
    pub price: Price,
    /// LastQty (32) and LastPx (31), fills only.
    pub last: Option<(Qty, Price)>,
    /// LeavesQty (151).
    pub leaves_qty: Qty,
    /// CumQty (14).
    pub cum_qty: Qty,
    /// Σ price·qty of the fills, raw (for AvgPx, 6).
    pub notional_raw: i128,
    /// LastLiquidityInd (851), fills only.
    pub liquidity: Liquidity,
    /// OrdRejReason (103).
    pub rej_reason: Option<u16>,
    /// Text (58).
    pub text: Option<&'a str>,
    /// Price scale.
    pub price_scale: Scale,
    /// Quantity scale.
    pub qty_scale: Scale,
}

/// AvgPx text: `notional_raw / cum_raw` at the price scale plus up to four more places,
/// truncated toward zero; `0` with nothing filled.
pub fn avg_px_text(
    notional_raw: i128,
    cum_raw: i64,
    price_scale: Scale,
    qty_scale: Scale,
) -> String {
    if cum_raw <= 0 {
        return "0".to_owned();
    }
    let extra = 4u8.min(18 - price_scale.get());
    // notional is at price_scale + qty_scale; dividing by cum (qty_scale) leaves price_scale.
    let scaled = notional_raw.saturating_mul(10i128.pow(u32::from(extra))) / i128::from(cum_raw);
    let _ = qty_scale;
    match i64::try_from(scaled) {
        Ok(v) => FixedDisplay::new(v, Scale::new(price_scale.get() + extra)).to_string(),
        Err(_) => "0".to_owned(),
    }
}

/// ExecutionReport (35=8) from the venue.
pub fn execution_report(
    r: &ExecReportOut<'_>,
    transact_time: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("8")?;
    if r.order_id == 0 {
        set(&mut msg, tag::ORDER_ID, "NONE")?;
    } else {
        set(&mut msg, tag::ORDER_ID, r.order_id)?;
    }
    set(&mut msg, tag::CL_ORD_ID, r.cl.as_str())?;
    if let Some(o) = r.orig {
        set(&mut msg, tag::ORIG_CL_ORD_ID, o.as_str())?;
    }
    set(&mut msg, tag::EXEC_ID, r.exec_id)?;
    set(
        &mut msg,
        tag::EXEC_TYPE,
        char::from(r.exec_type).to_string(),
    )?;
    set(
        &mut msg,
        tag::ORD_STATUS,
        char::from(r.ord_status).to_string(),
    )?;
    set(&mut msg, tag::SYMBOL, r.symbol)?;
    set(&mut msg, tag::SIDE, side_code(r.side))?;
    let q = |v: Qty| FixedDisplay::new(v.raw(), r.qty_scale).to_string();
    let p = |v: Price| FixedDisplay::new(v.raw(), r.price_scale).to_string();
    set(&mut msg, tag::ORDER_QTY, q(r.order_qty))?;
    set(&mut msg, tag::ORD_TYPE, "2")?;
    set(&mut msg, tag::PRICE, p(r.price))?;
    if let Some((last_qty, last_px)) = r.last {
        set(&mut msg, tag::LAST_QTY, q(last_qty))?;
        set(&mut msg, tag::LAST_PX, p(last_px))?;
        match r.liquidity {
            Liquidity::Maker => set(&mut msg, tag::LAST_LIQUIDITY_IND, "1")?,
            Liquidity::Taker => set(&mut msg, tag::LAST_LIQUIDITY_IND, "2")?,
            Liquidity::Unknown => {}
        }
    }
    set(&mut msg, tag::LEAVES_QTY, q(r.leaves_qty))?;
    set(&mut msg, tag::CUM_QTY, q(r.cum_qty))?;
    set(
        &mut msg,
        tag::AVG_PX,
        avg_px_text(r.notional_raw, r.cum_qty.raw(), r.price_scale, r.qty_scale),
    )?;
    if let Some(code) = r.rej_reason {
        set(&mut msg, tag::ORD_REJ_REASON, code)?;
    }
    if let Some(t) = r.text {
        set(&mut msg, tag::TEXT, t)?;
    }
    set(&mut msg, tag::TRANSACT_TIME, transact_time)?;
    Ok(msg)
}

/// OrderCancelReject (35=9): 37, 11, 41, 39, 434 (1 cancel, 2 replace), 102, 58.
#[allow(clippy::too_many_arguments, reason = "one argument per FIX field")]
pub fn order_cancel_reject(
    order_id: u64,
    cl: FixId,
    orig: FixId,
    ord_status: u8,
    response_to_replace: bool,
    reason: u16,
    text: &str,
    transact_time: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("9")?;
    if order_id == 0 {
        set(&mut msg, tag::ORDER_ID, "NONE")?;
    } else {
        set(&mut msg, tag::ORDER_ID, order_id)?;
    }
    set(&mut msg, tag::CL_ORD_ID, cl.as_str())?;
    set(&mut msg, tag::ORIG_CL_ORD_ID, orig.as_str())?;
    set(
        &mut msg,
        tag::ORD_STATUS,
        char::from(ord_status).to_string(),
    )?;
    set(
        &mut msg,
        tag::CXL_REJ_RESPONSE_TO,
        if response_to_replace { "2" } else { "1" },
    )?;
    set(&mut msg, tag::CXL_REJ_REASON, reason)?;
    set(&mut msg, tag::TEXT, text)?;
    set(&mut msg, tag::TRANSACT_TIME, transact_time)?;
    Ok(msg)
}

/// BusinessMessageReject (35=j): 45 RefSeqNum, 372 RefMsgType, 380 reason (5 conditionally
/// required field missing, 3 unsupported message type, 0 other), 58.
pub fn business_reject(
    ref_seq_num: u64,
    ref_msg_type: u8,
    reason: u16,
    text: &str,
) -> Result<Message, QuickFixError> {
    let mut msg = message("j")?;
    set(&mut msg, tag::REF_SEQ_NUM, ref_seq_num)?;
    set(
        &mut msg,
        tag::REF_MSG_TYPE,
        char::from(ref_msg_type).to_string(),
    )?;
    set(&mut msg, tag::BUSINESS_REJECT_REASON, reason)?;
    set(&mut msg, tag::TEXT, text)?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruments() -> Instruments {
        Instruments::new([FixInstrument {
            id: InstrumentId::new(3),
            symbol: "AAA".into(),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
        }])
    }

    fn fields(pairs: &[(u32, &str)]) -> BTreeMap<u32, String> {
        pairs.iter().map(|&(t, v)| (t, v.to_owned())).collect()
    }

    fn fill() -> BTreeMap<u32, String> {
        fields(&[
            (35, "8"),
            (37, "17"),
            (11, "42"),
            (17, "9"),
            (150, "F"),
            (39, "1"),
            (55, "AAA"),
            (54, "1"),
            (38, "10"),
            (44, "100.25"),
            (31, "100.20"),
            (32, "4"),
            (151, "6"),
            (14, "4"),
            (6, "100.2"),
            (851, "1"),
        ])
    }

    #[test]
    fn parses_a_partial_fill_exactly() {
        let r = parse_report(&fill(), &instruments()).unwrap();
        assert_eq!(r.kind, ReportKind::Trade);
        assert_eq!(r.exec_kind(), Some(ExecKind::PartialFill));
        assert_eq!(r.cl_ord_id, 42);
        assert_eq!(r.venue_order_id, 17);
        assert_eq!(r.instrument, Some(InstrumentId::new(3)));
        assert_eq!(r.last_px, Some(Price::new(10_020)));
        assert_eq!(r.last_qty, Some(Qty::new(4)));
        assert_eq!(
            (r.leaves_qty, r.cum_qty),
            (Some(Qty::new(6)), Some(Qty::new(4)))
        );
        assert_eq!(r.liquidity, Liquidity::Maker);
        assert!(!r.poss_dup);
    }

    #[test]
    fn exec_types_map_to_exec_kinds() {
        let kind = |et: &str, leaves: &str| {
            let mut f = fill();
            f.insert(150, et.into());
            f.insert(151, leaves.into());
            parse_report(&f, &instruments()).unwrap().exec_kind()
        };
        assert_eq!(kind("0", "10"), Some(ExecKind::Ack));
        assert_eq!(kind("F", "0"), Some(ExecKind::Fill));
        assert_eq!(kind("4", "0"), Some(ExecKind::Canceled));
        assert_eq!(kind("5", "6"), Some(ExecKind::Replaced));
        assert_eq!(kind("8", "0"), Some(ExecKind::Rejected));
        assert_eq!(kind("I", "6"), None);
        assert_eq!(kind("6", "6"), None);
        let cxl = fields(&[
            (35, "9"),
            (11, "5"),
            (41, "4"),
            (39, "8"),
            (102, "1"),
            (43, "Y"),
        ]);
        let r = parse_report(&cxl, &instruments()).unwrap();
        assert_eq!(r.exec_kind(), Some(ExecKind::CancelRejected));
        assert_eq!(
            (r.reject_code, r.orig_cl_ord_id, r.poss_dup),
            (1, Some(4), true)
        );
    }

    #[test]
    fn missing_or_garbled_tags_are_named() {
        let err = |remove: u32, set: Option<(u32, &str)>| {
            let mut f = fill();
            f.remove(&remove);
            if let Some((t, v)) = set {
                f.insert(t, v.into());
            }
            parse_report(&f, &instruments()).unwrap_err()
        };
        assert_eq!(
            err(11, None),
            FixError::Field(FieldError::Missing { tag: 11 })
        );
        assert_eq!(
            err(31, None),
            FixError::Field(FieldError::Missing { tag: 31 })
        );
        assert_eq!(
            err(0, Some((32, "0"))),
            FixError::Field(FieldError::NotPositive { tag: 32 })
        );
        assert_eq!(
            err(0, Some((31, "100.201"))),
            FixError::Field(FieldError::TooManyDecimals { tag: 31, scale: 2 })
        );
        assert_eq!(err(0, Some((55, "ZZZ"))), FixError::UnknownSymbol);
        assert_eq!(
            err(0, Some((11, "abc"))),
            FixError::Field(FieldError::NotANumber { tag: 11 })
        );
        assert_eq!(err(0, Some((35, "X"))), FixError::UnsupportedMsgType('X'));
    }

    #[test]
    fn parses_client_requests_and_explains_bad_ones() {
        let d = fields(&[
            (35, "D"),
            (34, "7"),
            (11, "ord-1"),
            (55, "AAA"),
            (54, "2"),
            (38, "5"),
            (40, "2"),
            (44, "99.5"),
            (59, "0"),
            (18, "6"),
        ]);
        let r = parse_request(&d, &instruments()).unwrap();
        assert_eq!(
            r,
            ClientRequest::New {
                cl: FixId::new("ord-1").unwrap(),
                instrument: InstrumentId::new(3),
                side: Side::Sell,
                tif: TimeInForce::PostOnly,
                price: Price::new(9_950),
                qty: Qty::new(5),
            }
        );
        let bad = |t: u32, v: Option<&str>| {
            let mut f = d.clone();
            match v {
                Some(v) => f.insert(t, v.into()),
                None => f.remove(&t),
            };
            parse_request(&f, &instruments()).unwrap_err()
        };
        let b = bad(38, Some("0"));
        assert_eq!(
            b.error,
            FixError::Field(FieldError::NotPositive { tag: 38 })
        );
        assert_eq!(
            (b.msg_type, b.seq_num, b.cl),
            (b'D', 7, FixId::new("ord-1"))
        );
        assert_eq!(
            bad(38, Some("-1")).error,
            FixError::Field(FieldError::NotPositive { tag: 38 })
        );
        assert_eq!(
            bad(38, Some("1.5")).error,
            FixError::Field(FieldError::TooManyDecimals { tag: 38, scale: 0 })
        );
        assert_eq!(bad(40, Some("1")).error, FixError::UnsupportedOrdType);
        let no_id = bad(11, None);
        assert_eq!(
            (no_id.cl, no_id.error),
            (None, FixError::Field(FieldError::Missing { tag: 11 }))
        );
        assert_eq!(
            bad(55, None).error,
            FixError::Field(FieldError::Missing { tag: 55 })
        );
    }

    #[test]
    fn builds_orders_with_exact_text() {
        let terms = OrderTerms {
            symbol: "AAA",
            side: Side::Buy,
            tif: TimeInForce::Ioc,
            price: Price::new(10_005),
            qty: Qty::new(3),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
        };
        let text = new_order_single(12, &terms, "20240101-00:00:00.000")
            .unwrap()
            .to_fix_string()
            .unwrap();
        for f in [
            "35=D",
            "11=12",
            "55=AAA",
            "54=1",
            "38=3",
            "40=2",
            "44=100.05",
            "59=3",
        ] {
            assert!(text.contains(&format!("\x01{f}\x01")), "{f} in {text:?}");
        }
        let h = order_status_request(12, "AAA", Side::Sell)
            .unwrap()
            .to_fix_string()
            .unwrap();
        assert!(h.contains("\x0135=H\x01") && h.contains("\x0154=2\x01"));
        assert_eq!(
            avg_px_text(10_000 + 10_001, 2, Scale::new(2), Scale::new(0)),
            "100.005000"
        );
        assert_eq!(avg_px_text(0, 0, Scale::new(2), Scale::new(0)), "0");
    }
}
