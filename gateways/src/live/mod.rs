//! The markets a live run trades against, and the run itself.
//!
//! - [`synthetic`]: the synthetic market ([`crate::synthetic::SyntheticMarket`]) as a
//!   [`Market`](tickrail_engine::runtime::Market) and a [`LiveMarket`](tickrail_engine::runtime::LiveMarket).
//! - [`gateway_market`] (feature `fix`): the UDP feed and the FIX session as one
//!   [`LiveMarket`](tickrail_engine::runtime::LiveMarket), `[live] market = "gateways"`.
//! - [`run_live`]: picks the config's market and runs the engine against it
//!   ([`tickrail_engine::runtime::live::run`]).

#[cfg(feature = "fix")]
pub mod gateway_market;
mod synthetic;

use std::path::Path;
use std::sync::Arc;

use tickrail_engine::config::{EngineConfig, LiveSpec};
use tickrail_engine::runtime::counters::Counters;
use tickrail_engine::runtime::live::run;
use tickrail_engine::runtime::{LiveControl, LiveError, LiveReport};

#[cfg(feature = "fix")]
pub use gateway_market::{GatewayMarket, GatewayReport};

use crate::synthetic::{SyntheticConfig, SyntheticMarket, SyntheticStats};

/// What the market of a live run reported at its end.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "one per run, at its end")]
pub enum MarketReport {
    /// The synthetic market's counters.
    Synthetic(SyntheticStats),
    /// The gateways' counters (`[live] market = "gateways"`).
    #[cfg(feature = "fix")]
    Gateways(GatewayReport),
}

impl Default for MarketReport {
    fn default() -> Self {
        Self::Synthetic(SyntheticStats::default())
    }
}

impl MarketReport {
    /// The synthetic market's counters, if that was the market.
    pub fn synthetic(&self) -> Option<&SyntheticStats> {
        match self {
            Self::Synthetic(s) => Some(s),
            #[cfg(feature = "fix")]
            Self::Gateways(_) => None,
        }
    }

    /// The gateways' counters, if they were the market.
    #[cfg(feature = "fix")]
    pub fn gateways(&self) -> Option<&GatewayReport> {
        match self {
            Self::Gateways(g) => Some(g),
            Self::Synthetic(_) => None,
        }
    }
}

impl From<SyntheticStats> for MarketReport {
    fn from(s: SyntheticStats) -> Self {
        Self::Synthetic(s)
    }
}

#[cfg(feature = "fix")]
impl From<GatewayReport> for MarketReport {
    fn from(g: GatewayReport) -> Self {
        Self::Gateways(g)
    }
}

/// The live report with the market's report as a [`MarketReport`].
pub fn market_report<R: Into<MarketReport>>(r: LiveReport<R>) -> LiveReport<MarketReport> {
    r.map_market(Into::into)
}

/// Runs `cfg` live against its market — the synthetic one, or the UDP feed and FIX
/// session of `[live] market = "gateways"` ([`GatewayMarket`]) — journaling under
/// `run_dir`. `progress` is called on the calling thread about every
/// `cfg.runtime.progress_interval_ms` with the live counters, until the feed is done.
pub fn run_live(
    cfg: &EngineConfig,
    run_dir: &Path,
    control: Arc<LiveControl>,
    progress: impl FnMut(&Counters),
) -> Result<LiveReport<MarketReport>, LiveError> {
    match &cfg.live {
        LiveSpec::Synthetic => {
            let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg))
                .map_err(|e| LiveError::Market(e.to_string()))?;
            run(cfg, run_dir, market, control, progress, None).map(market_report)
        }
        #[cfg(feature = "fix")]
        LiveSpec::Gateways { udp, fix } => {
            let market = GatewayMarket::open(cfg, udp, fix)?;
            gateway_market::save_run_base(run_dir, market.client_id_base())?;
            run(cfg, run_dir, market, control, progress, None).map(market_report)
        }
        #[cfg(not(feature = "fix"))]
        LiveSpec::Gateways { .. } => Err(gateways_need_fix()),
    }
}

/// The error for `[live] market = "gateways"` in a binary built without the `fix` feature
/// (of this crate, or of a crate that runs it).
pub fn gateways_need_fix() -> LiveError {
    LiveError::Market(
        "[live] market = \"gateways\" needs the `fix` feature; this binary was built without it"
            .into(),
    )
}
