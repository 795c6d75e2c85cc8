//! `[live]`: what `tickrail run` trades against.
//!
//! ```toml
//! [live]
//! market = "gateways"            # default "synthetic": the [feed] market, in process
//!
//! [live.udp]                     # ITCH 5.0 in MoldUDP64 over UDP multicast
//! group = "239.255.10.1:31001"   # multicast group and port
//! interface = "127.0.0.1"        # the interface to join on
//! session = "TICKRAIL01"         # optional: the MoldUDP64 session (default: the first seen)
//! itch_date = "2019-12-30"       # the trading day (ITCH times are ns since its midnight
//!                                # in New York, EST or EDT as on that day, as in
//!                                # `tickrail backtest`)
//!
//! [live.fix]                     # FIX 4.4 order entry (QuickFIX initiator)
//! settings = "fix/initiator.cfg" # QuickFIX session file, relative to this config
//! venue = 1                      # the [[venues]] id this session trades on
//! reconcile_timeout_ms = 5000    # optional: wait for OrderStatusRequest answers after logon
//! state = "data/fix/gateway/in-flight.state"  # optional: the in-flight order file
//! drain_ms = 500                 # optional: after the feed's end of session, stop once no
//!                                # execution report came for this long
//! wait = "block"                 # optional: the gateway thread's idle wait (busy-spin, yield,
//!                                # block; default block), as [[runtime.threads]] wait
//! ```
//!
//! With `market = "gateways"` both tables are required and `[feed]` is not used by the run
//! (it may still describe the market a `tickrail venue` simulates).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};

use super::error::Issue;
use super::VenueSpec;
use crate::runtime::wait::WaitKind;

/// The longest MoldUDP64 session name.
pub const MOLD_SESSION_LEN: usize = 10;

/// What a live run trades against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LiveSpec {
    /// The seeded synthetic market of `[feed]`, in process.
    #[default]
    Synthetic,
    /// Real gateways: market data over UDP, orders over FIX.
    Gateways {
        /// The UDP market data feed.
        udp: UdpFeedSpec,
        /// The FIX order session.
        fix: FixSessionSpec,
    },
}

/// ITCH 5.0 in MoldUDP64 packets over UDP multicast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpFeedSpec {
    /// The multicast group and port.
    pub group: SocketAddrV4,
    /// The local interface to join the group on.
    pub interface: Ipv4Addr,
    /// The MoldUDP64 session to accept (`None`: the first one seen).
    pub session: Option<String>,
    /// The trading day `(year, month, day)`: ITCH timestamps count from its midnight in
    /// New York (EST or EDT, as on that day), as in `tickrail backtest`.
    pub itch_date: (i32, u32, u32),
}

/// A FIX 4.4 order session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSessionSpec {
    /// The QuickFIX session settings file (resolved against the config's directory).
    pub settings: PathBuf,
    /// The `[[venues]]` id orders on this session go to.
    pub venue: u16,
    /// How long, after a logon, in-flight orders may take to be reconciled before new
    /// orders go out anyway (counted), ms.
    pub reconcile_timeout_ms: u64,
    /// The gateway's in-flight order file (relative paths: to the working directory, like
    /// the QuickFIX `FileStorePath`); it must survive restarts, beside the FIX store.
    pub state: PathBuf,
    /// After the feed's end of session, the run stops once no execution report has come
    /// for this long, ms.
    pub drain_ms: u64,
    /// How the FIX gateway thread waits when idle.
    pub wait: WaitKind,
}

/// `[live]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLive {
    pub market: Option<RawMarket>,
    pub udp: Option<RawUdp>,
    pub fix: Option<RawFix>,
}

/// `[live] market`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawMarket {
    Synthetic,
    Gateways,
}

/// `[live.udp]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUdp {
    pub group: String,
    pub interface: String,
    pub session: Option<String>,
    pub itch_date: String,
}

/// `[live.fix]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFix {
    pub settings: String,
    pub venue: u16,
    pub reconcile_timeout_ms: Option<u64>,
    pub state: Option<String>,
    pub drain_ms: Option<u64>,
    pub wait: Option<String>,
}

/// The default `reconcile_timeout_ms`.
pub const DEFAULT_RECONCILE_TIMEOUT_MS: u64 = 5_000;
/// The default `[live.fix] state`.
pub const DEFAULT_FIX_STATE: &str = "data/fix/gateway/in-flight.state";
/// The default `[live.fix] drain_ms`.
pub const DEFAULT_DRAIN_MS: u64 = 500;

/// Parses `YYYY-MM-DD` (a real calendar day).
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let mut it = text.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i16, i8, i8) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    (1970..=9999).contains(&y).then_some(())?;
    // `Date::new` refuses a month or day that does not exist (2019-02-30, month 13).
    jiff::civil::Date::new(y, m, d).ok()?;
    Some((i32::from(y), u32::try_from(m).ok()?, u32::try_from(d).ok()?))
}

pub(crate) fn build_live(
    raw: &RawLive,
    base_dir: &Path,
    venues: &[VenueSpec],
) -> Result<LiveSpec, Issue> {
    let market = raw.market.unwrap_or(RawMarket::Synthetic);
    if market == RawMarket::Synthetic {
        for (key, present) in [
            ("live.udp", raw.udp.is_some()),
            ("live.fix", raw.fix.is_some()),
        ] {
            if present {
                return Err(Issue::invalid(
                    key,
                    "only used with [live] market = \"gateways\"",
                ));
            }
        }
        return Ok(LiveSpec::Synthetic);
    }
    let required = "required by [live] market = \"gateways\"";
    let udp = raw
        .udp
        .as_ref()
        .ok_or_else(|| Issue::missing("live.udp", required))?;
    let fix = raw
        .fix
        .as_ref()
        .ok_or_else(|| Issue::missing("live.fix", required))?;
    let group: SocketAddrV4 = udp.group.parse().map_err(|_| {
        Issue::invalid(
            "live.udp.group",
            format!("{:?} is not an IPv4 address:port", udp.group),
        )
    })?;
    if !group.ip().is_multicast() {
        return Err(Issue::invalid(
            "live.udp.group",
            format!("{} is not a multicast address (224.0.0.0/4)", group.ip()),
        ));
    }
    let interface: Ipv4Addr = udp.interface.parse().map_err(|_| {
        Issue::invalid(
            "live.udp.interface",
            format!("{:?} is not an IPv4 address", udp.interface),
        )
    })?;
    if let Some(s) = &udp.session {
        if s.is_empty() || s.len() > MOLD_SESSION_LEN || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Issue::invalid(
                "live.udp.session",
                format!("{s:?}: 1 to {MOLD_SESSION_LEN} printable ASCII characters"),
            ));
        }
    }
    let itch_date = parse_date(&udp.itch_date).ok_or_else(|| {
        Issue::invalid(
            "live.udp.itch_date",
            format!("{:?} is not a YYYY-MM-DD date", udp.itch_date),
        )
    })?;
    if !venues.iter().any(|v| v.id == fix.venue) {
        return Err(Issue::invalid(
            "live.fix.venue",
            format!("{} is not the id of a [[venues]] entry", fix.venue),
        ));
    }
    if fix.settings.is_empty() {
        return Err(Issue::invalid("live.fix.settings", "must name a file"));
    }
    let reconcile_timeout_ms = fix
        .reconcile_timeout_ms
        .unwrap_or(DEFAULT_RECONCILE_TIMEOUT_MS);
    if reconcile_timeout_ms == 0 {
        return Err(Issue::invalid(
            "live.fix.reconcile_timeout_ms",
            "must be positive",
        ));
    }
    let state = fix.state.as_deref().unwrap_or(DEFAULT_FIX_STATE);
    if state.is_empty() {
        return Err(Issue::invalid("live.fix.state", "must name a file"));
    }
    let wait = match &fix.wait {
        None => WaitKind::Block,
        Some(w) => w.parse().map_err(|_| {
            Issue::invalid(
                "live.fix.wait",
                format!("must be \"busy-spin\", \"yield\" or \"block\", got {w:?}"),
            )
        })?,
    };
    Ok(LiveSpec::Gateways {
        udp: UdpFeedSpec {
            group,
            interface,
            session: udp.session.clone(),
            itch_date,
        },
        fix: FixSessionSpec {
            settings: base_dir.join(&fix.settings),
            venue: fix.venue,
            reconcile_timeout_ms,
            state: PathBuf::from(state),
            drain_ms: fix.drain_ms.unwrap_or(DEFAULT_DRAIN_MS),
            wait,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_are_real_calendar_days() {
        assert_eq!(parse_date("2019-12-30"), Some((2019, 12, 30)));
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2019-02-30",
            "1900-02-29",
            "2019-13-01",
            "2019-00-10",
            "2019-12-32",
            "2019-1-30",
            "19-12-30",
            "2019-12-30-1",
            "2019/12/30",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
