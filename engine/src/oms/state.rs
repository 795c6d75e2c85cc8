//! The order state machine: states, events and the one transition table.

/// Where an order is in its life. See the table in the [module docs](super).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum OrderState {
    /// Sent, not yet acknowledged.
    PendingNew,
    /// Acknowledged by the venue, nothing filled.
    New,
    /// Acknowledged, part filled, still working.
    PartiallyFilled,
    /// A cancel request is in flight.
    PendingCancel,
    /// An amend (cancel/replace) request is in flight.
    PendingReplace,
    /// Completely filled. Terminal.
    Filled,
    /// Canceled (on request, by expiry or by the venue). Terminal.
    Canceled,
    /// Refused by the venue. Terminal.
    Rejected,
}

impl OrderState {
    /// Every state, in table order.
    pub const ALL: [Self; 8] = [
        Self::PendingNew,
        Self::New,
        Self::PartiallyFilled,
        Self::PendingCancel,
        Self::PendingReplace,
        Self::Filled,
        Self::Canceled,
        Self::Rejected,
    ];

    /// `Filled`, `Canceled` or `Rejected`: no event changes the state any more.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Filled | Self::Canceled | Self::Rejected)
    }
}

/// What happens to an order: our requests and the venue's reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderEvent {
    /// Our new-order request (`OrderNew`) for an id already in use.
    Submit,
    /// Venue ack.
    Ack,
    /// A fill that leaves quantity open.
    PartialFill,
    /// A fill that completes the order (by the venue's word or our count).
    Fill,
    /// Our cancel request (`OrderCancel`).
    CancelRequest,
    /// The venue canceled the order.
    Canceled,
    /// Our amend request (`OrderAmend`).
    ReplaceRequest,
    /// The venue applied our amend.
    Replaced,
    /// The venue rejected the order.
    Rejected,
    /// The venue rejected our cancel or amend request.
    CancelRejected,
}

impl OrderEvent {
    /// Every event, in table order.
    pub const ALL: [Self; 10] = [
        Self::Submit,
        Self::Ack,
        Self::PartialFill,
        Self::Fill,
        Self::CancelRequest,
        Self::Canceled,
        Self::ReplaceRequest,
        Self::Replaced,
        Self::Rejected,
        Self::CancelRejected,
    ];
}

/// A counted anomaly: something that should not happen, handled without panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// A report or request for a client order id we do not know (never seen, or evicted).
    UnknownOrder,
    /// A new-order request reusing a live or remembered client order id.
    DuplicateOrderId,
    /// An ack for an order already acknowledged.
    DuplicateAck,
    /// A fill for a terminal order; applied up to the order's unfilled quantity.
    LateFill,
    /// Fill quantity beyond the order's unfilled quantity; the excess is not applied.
    Overfill,
    /// A non-fill report for a terminal order; ignored.
    LateReport,
    /// A report that does not fit the live state (e.g. `Replaced` with no amend in flight);
    /// ignored.
    UnexpectedReport,
    /// Our cancel or amend request for a terminal order, or while another request is in
    /// flight, or an amend before the ack; not tracked.
    InvalidRequest,
    /// The venue's `Fill`/`PartialFill` disagrees with our count of the open quantity.
    QtyMismatch,
    /// A non-positive quantity or price, or a position that would overflow; not applied.
    InvalidValue,
    /// An instrument index not below `n_instruments`.
    UnknownInstrument,
    /// The order table (or its id index) is full; the order is not tracked.
    Capacity,
}

impl AnomalyKind {
    /// The number of kinds.
    pub const COUNT: usize = 12;

    /// Every kind, in counter order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::UnknownOrder,
        Self::DuplicateOrderId,
        Self::DuplicateAck,
        Self::LateFill,
        Self::Overfill,
        Self::LateReport,
        Self::UnexpectedReport,
        Self::InvalidRequest,
        Self::QtyMismatch,
        Self::InvalidValue,
        Self::UnknownInstrument,
        Self::Capacity,
    ];

    /// The index of this kind's counter.
    pub const fn index(self) -> usize {
        self as usize
    }
}

const _: () = assert!(AnomalyKind::Capacity as usize + 1 == AnomalyKind::COUNT);

/// The outcome of an event in a state: one cell of the transition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Move to this state.
    To(OrderState),
    /// Back to working: `New` if nothing is filled, `PartiallyFilled` if some is, `Filled` if
    /// the (possibly amended) quantity is all filled.
    Working,
    /// Legal; the state stays (quantities may still change, e.g. a fill while a cancel is in
    /// flight).
    Stay,
    /// Count this anomaly; the state stays.
    Anomaly(AnomalyKind),
}

/// The transition table: the single source of truth for order states (rendered in the
/// [module docs](super)). Exhaustive over `(state, event)`, so a new state or event does not
/// compile until every cell is decided.
pub const fn transition(state: OrderState, event: OrderEvent) -> Transition {
    use AnomalyKind as A;
    use OrderEvent as E;
    use OrderState as S;
    use Transition::{Anomaly, Stay, To, Working};
    match (state, event) {
        // A new-order request for an id we already hold, in any state.
        (_, E::Submit) => Anomaly(A::DuplicateOrderId),

        (S::PendingNew, E::Ack) => To(S::New),
        (S::PendingNew, E::PartialFill) => To(S::PartiallyFilled),
        (S::PendingNew, E::Fill) => To(S::Filled),
        (S::PendingNew, E::CancelRequest) => To(S::PendingCancel),
        (S::PendingNew, E::Canceled) => To(S::Canceled),
        (S::PendingNew, E::ReplaceRequest) => Anomaly(A::InvalidRequest),
        (S::PendingNew, E::Replaced) => Anomaly(A::UnexpectedReport),
        (S::PendingNew, E::Rejected) => To(S::Rejected),
        (S::PendingNew, E::CancelRejected) => Anomaly(A::UnexpectedReport),

        (S::New | S::PartiallyFilled, E::Ack) => Anomaly(A::DuplicateAck),
        (S::New | S::PartiallyFilled, E::PartialFill) => To(S::PartiallyFilled),
        (S::New | S::PartiallyFilled, E::Fill) => To(S::Filled),
        (S::New | S::PartiallyFilled, E::CancelRequest) => To(S::PendingCancel),
        (S::New | S::PartiallyFilled, E::Canceled) => To(S::Canceled),
        (S::New | S::PartiallyFilled, E::ReplaceRequest) => To(S::PendingReplace),
        (S::New | S::PartiallyFilled, E::Replaced | E::Rejected | E::CancelRejected) => {
            Anomaly(A::UnexpectedReport)
        }

        // A request in flight: fills race it and are applied; a late first ack is legal (the
        // cancel may have been sent before the ack).
        (S::PendingCancel | S::PendingReplace, E::Ack | E::PartialFill) => Stay,
        (S::PendingCancel | S::PendingReplace, E::Fill) => To(S::Filled),
        (S::PendingCancel | S::PendingReplace, E::CancelRequest | E::ReplaceRequest) => {
            Anomaly(A::InvalidRequest)
        }
        (S::PendingCancel | S::PendingReplace, E::Canceled) => To(S::Canceled),
        (S::PendingCancel, E::Replaced) => Anomaly(A::UnexpectedReport),
        (S::PendingReplace, E::Replaced) => Working,
        (S::PendingCancel | S::PendingReplace, E::Rejected) => Anomaly(A::UnexpectedReport),
        (S::PendingCancel | S::PendingReplace, E::CancelRejected) => Working,

        // Terminal: nothing changes the state.
        (S::Filled | S::Canceled | S::Rejected, E::PartialFill | E::Fill) => Anomaly(A::LateFill),
        (S::Filled | S::Canceled | S::Rejected, E::CancelRequest | E::ReplaceRequest) => {
            Anomaly(A::InvalidRequest)
        }
        (
            S::Filled | S::Canceled | S::Rejected,
            E::Ack | E::Canceled | E::Replaced | E::Rejected | E::CancelRejected,
        ) => Anomaly(A::LateReport),
    }
}
