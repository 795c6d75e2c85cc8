//! Router parameters (the `[router]` section of the config) and per-venue trading costs.

use crate::oms::Fees;

/// How orders are spread across venues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteRule {
    /// Best displayed price first, then the lower fee, then the venue listed first.
    BestPriceThenFee,
}

impl RouteRule {
    /// The name used in configs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::BestPriceThenFee => "best_price_then_fee",
        }
    }

    /// The rule named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        (name == "best_price_then_fee").then_some(Self::BestPriceThenFee)
    }
}

/// One venue as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueRoute {
    /// The venue id (`OrderNew::venue`, the `source` of its market data and reports).
    pub venue: u16,
    /// Fees per instrument, indexed by instrument id.
    pub fees: Vec<Fees>,
}

/// The router's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterParams {
    /// The rule.
    pub rule: RouteRule,
    /// Split a taking order across venues by the size they display at acceptable prices
    /// (otherwise the whole order goes to the best venue).
    pub split_by_displayed: bool,
    /// The venues, in config order (the last tie-break).
    pub venues: Vec<VenueRoute>,
}
