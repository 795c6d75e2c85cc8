//! Reject reasons and their counters, shared between the QuickFIX callback thread and the
//! gateway or venue thread (atomics only), and the QuickFIX log hook that counts messages
//! QuickFIX itself drops (bad checksum or body length, session-level rejects).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use quickfix::{LogCallback, SessionId};

use super::fields::FieldError;
use super::messages::FixError;

/// Why a FIX message was refused or dropped. Each is counted on every occurrence and logged
/// (`tracing::warn!`) the first time only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// A required tag is missing.
    MissingTag,
    /// A tag is not a number.
    NotANumber,
    /// A price or quantity has more decimal places than the instrument's scale.
    TooManyDecimals,
    /// A value overflows 64-bit fixed point.
    Overflow,
    /// A price or order quantity of zero or below, or a negative quantity.
    NotPositive,
    /// An enumerated field with an unsupported value.
    BadValue,
    /// Symbol (55) unknown.
    UnknownSymbol,
    /// A message type we do not handle.
    UnsupportedMsgType,
    /// Not a limit order.
    UnsupportedOrdType,
    /// A report or request for a ClOrdID we do not know.
    UnknownClOrdId,
    /// A new order reusing a ClOrdID.
    DuplicateClOrdId,
    /// Dropped by QuickFIX: bad CheckSum (10) or BodyLength (9).
    BadChecksum,
    /// Rejected by QuickFIX at the session level (35=3).
    SessionReject,
    /// A ring was full.
    RingFull,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [Self; 14] = [
        Self::MissingTag,
        Self::NotANumber,
        Self::TooManyDecimals,
        Self::Overflow,
        Self::NotPositive,
        Self::BadValue,
        Self::UnknownSymbol,
        Self::UnsupportedMsgType,
        Self::UnsupportedOrdType,
        Self::UnknownClOrdId,
        Self::DuplicateClOrdId,
        Self::BadChecksum,
        Self::SessionReject,
        Self::RingFull,
    ];

    /// A stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MissingTag => "missing_tag",
            Self::NotANumber => "not_a_number",
            Self::TooManyDecimals => "too_many_decimals",
            Self::Overflow => "overflow",
            Self::NotPositive => "not_positive",
            Self::BadValue => "bad_value",
            Self::UnknownSymbol => "unknown_symbol",
            Self::UnsupportedMsgType => "unsupported_msg_type",
            Self::UnsupportedOrdType => "unsupported_ord_type",
            Self::UnknownClOrdId => "unknown_cl_ord_id",
            Self::DuplicateClOrdId => "duplicate_cl_ord_id",
            Self::BadChecksum => "bad_checksum",
            Self::SessionReject => "session_reject",
            Self::RingFull => "ring_full",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl From<FixError> for RejectReason {
    fn from(e: FixError) -> Self {
        match e {
            FixError::Field(f) => match f {
                FieldError::Missing { .. } => Self::MissingTag,
                FieldError::NotANumber { .. } => Self::NotANumber,
                FieldError::TooManyDecimals { .. } => Self::TooManyDecimals,
                FieldError::Overflow { .. } => Self::Overflow,
                FieldError::NotPositive { .. } | FieldError::Negative { .. } => Self::NotPositive,
                FieldError::BadValue { .. } => Self::BadValue,
            },
            FixError::UnknownSymbol => Self::UnknownSymbol,
            FixError::UnsupportedMsgType(_) => Self::UnsupportedMsgType,
            FixError::UnsupportedOrdType => Self::UnsupportedOrdType,
        }
    }
}

const N: usize = RejectReason::ALL.len();

/// Reject counters by reason, readable from any thread.
#[derive(Debug, Default)]
pub struct RejectCounters {
    counts: [AtomicU64; N],
    logged: [AtomicBool; N],
}

impl RejectCounters {
    /// Counts one reject; logs it (with `detail`) if it is the first of its reason.
    pub fn record(&self, reason: RejectReason, who: &str, detail: &dyn std::fmt::Display) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
        if !self.logged[reason.index()].swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason = reason.name(),
                "{who}: FIX message rejected: {detail} (logged once per reason; every one is counted)"
            );
        }
    }

    /// How many of `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// Every reason with a non-zero count, in declaration order.
    pub fn snapshot(&self) -> Vec<(RejectReason, u64)> {
        RejectReason::ALL
            .into_iter()
            .map(|r| (r, self.get(r)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// All counts summed.
    pub fn total(&self) -> u64 {
        RejectReason::ALL.into_iter().map(|r| self.get(r)).sum()
    }
}

/// A QuickFIX log that counts what QuickFIX drops or rejects by itself (it never reaches the
/// application callbacks) and forwards events to `tracing` at debug level.
#[derive(Debug)]
pub struct CountingLog {
    /// Where the counts go.
    pub rejects: Arc<RejectCounters>,
    /// Who logs (`gateway`, `venue`).
    pub who: &'static str,
}

impl LogCallback for CountingLog {
    fn on_incoming(&self, _session: Option<&SessionId>, msg: &str) {
        tracing::trace!(who = self.who, "FIX in: {msg}");
    }

    fn on_outgoing(&self, _session: Option<&SessionId>, msg: &str) {
        tracing::trace!(who = self.who, "FIX out: {msg}");
    }

    fn on_event(&self, _session: Option<&SessionId>, msg: &str) {
        if msg.contains("CheckSum") || msg.contains("BodyLength") {
            self.rejects
                .record(RejectReason::BadChecksum, self.who, &msg);
        } else if msg.starts_with("Message ") && msg.contains("Rejected") {
            self.rejects
                .record(RejectReason::SessionReject, self.who, &msg);
        } else {
            tracing::debug!(who = self.who, "FIX event: {msg}");
        }
    }
}
