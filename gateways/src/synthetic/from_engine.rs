//! A [`SyntheticConfig`] from the engine's `[feed]`, `[[instruments]]` and `[[venues]]`.

use tickrail_engine::config::{EngineConfig, FeedSpec};

use super::config::{InstrumentConfig, SyntheticConfig, VolRegime};
use crate::venue::VenueConfig;

/// Event time at which a synthetic market built from an engine config starts:
/// 2023-11-14 22:13:20 UTC, a fixed instant so runs are comparable.
pub const SYNTHETIC_START_NS: i64 = 1_700_000_000_000_000_000;

impl SyntheticConfig {
    /// The synthetic market an engine config describes: its instruments (ticks, lots,
    /// `initial_mid`), participant rate and depth, volatility regimes and venues (with their
    /// latencies, publishing L3 market data). The result is validated by
    /// [`super::SyntheticMarket::new`].
    pub fn from_engine(cfg: &EngineConfig) -> Self {
        let FeedSpec::Synthetic(feed) = &cfg.feed;
        let instruments = cfg
            .instruments
            .iter()
            .zip(feed.initial_mid.iter())
            .map(|(spec, mid)| InstrumentConfig {
                events_per_s: feed.participant_rate_per_s,
                depth_levels: feed.depth_levels,
                ..InstrumentConfig::new(
                    spec.id,
                    spec.price_scale,
                    spec.qty_scale,
                    spec.tick_size,
                    spec.lot_size,
                    mid.raw(),
                )
            })
            .collect();
        Self {
            seed: feed.seed,
            start_ns: SYNTHETIC_START_NS,
            duration_ns: feed.duration_ns,
            instruments,
            regimes: feed
                .regimes
                .iter()
                .map(|r| VolRegime {
                    vol_bps_per_sqrt_s: r.vol_bps_per_sqrt_s,
                    mean_duration_s: r.mean_duration_s,
                })
                .collect(),
            venues: cfg
                .venues
                .iter()
                .map(|v| VenueConfig {
                    venue_id: v.id,
                    entry_latency_ns: v.entry_latency_ns,
                    ack_latency_ns: v.ack_latency_ns,
                    feed_latency_ns: v.feed_latency_ns,
                    publish_market_data: true,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::synthetic::SyntheticMarket;

    #[test]
    fn the_default_config_makes_a_valid_market() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
        let cfg = EngineConfig::load(path).unwrap();
        let s = SyntheticConfig::from_engine(&cfg);
        assert_eq!(s.instruments.len(), cfg.instruments.len());
        assert_eq!(s.venues.len(), cfg.venues.len());
        assert_eq!(s.instruments[0].initial_mid_raw, 1_000_000);
        assert_eq!(s.instruments[0].tick_raw, 100);
        let mut m = SyntheticMarket::new(s).unwrap();
        assert!(m.next_event().is_some());
    }
}
