//! Order routing across venues: the rule in [`route`], its parameters in [`params`].

pub mod params;
pub mod route;

pub use params::{RouteRule, RouterParams, VenueRoute};
pub use route::{Child, Router, RouterError, Routes, MAX_VENUES};
