//! `tickrail feed …`: market data feed tools.
//!
//! `tickrail feed publish FILE --group ADDR:PORT [--rate N] [--interface IP]
//! [--session NAME] [--itch-date YYYY-MM-DD]` replays an ITCH 5.0 file (`.gz` decompressed)
//! as MoldUDP64 packets to a UDP multicast group (`tickrail_gateways::udp::publish_file`):
//! messages packed up to `--max-packet` bytes, paced to `--rate` messages/s if given,
//! heartbeats while idle, an end-of-session packet at the end.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tickrail_gateways::udp::{publish_file, PublisherConfig, Session, DEFAULT_MAX_PACKET};

use crate::clock::monotonic;

/// `tickrail feed`.
#[derive(Debug, clap::Subcommand)]
pub enum FeedCmd {
    /// Replay an ITCH 5.0 file as MoldUDP64 packets over UDP multicast.
    Publish(PublishArgs),
}

/// `tickrail feed publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The ITCH 5.0 file (`.gz` is decompressed on the fly).
    pub file: PathBuf,
    /// The multicast group and port, e.g. `239.255.0.1:30001`.
    #[arg(long)]
    pub group: SocketAddrV4,
    /// At most this many messages per second (default: as fast as the socket takes them).
    #[arg(long)]
    pub rate: Option<u64>,
    /// The interface address to send from (`IP_MULTICAST_IF`).
    #[arg(long, default_value = "127.0.0.1")]
    pub interface: Ipv4Addr,
    /// The MoldUDP64 session name (up to 10 ASCII characters; default: the `--itch-date`
    /// as `YYYYMMDD`, else `TICKRAIL`).
    #[arg(long)]
    pub session: Option<String>,
    /// The file's trading date: names the default session.
    #[arg(long)]
    pub itch_date: Option<String>,
    /// `IP_MULTICAST_TTL` (0: this host only).
    #[arg(long, default_value_t = 0)]
    pub ttl: u32,
    /// The largest packet, MoldUDP64 header included, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_PACKET)]
    pub max_packet: usize,
    /// Seconds without a packet before a heartbeat (while paced).
    #[arg(long, default_value_t = 1.0)]
    pub heartbeat_secs: f64,
}

/// Runs a `tickrail feed` command.
pub fn run(cmd: FeedCmd) -> Result<ExitCode> {
    match cmd {
        FeedCmd::Publish(args) => publish(args),
    }
}

/// `YYYY-MM-DD` → `YYYYMMDD`, checked.
fn compact_date(date: &str) -> Result<String> {
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        bail!("--itch-date {date:?}: expected YYYY-MM-DD");
    };
    let (y, m, d): (i32, u32, u32) = (
        y.parse()
            .with_context(|| format!("--itch-date {date:?}: year"))?,
        m.parse()
            .with_context(|| format!("--itch-date {date:?}: month"))?,
        d.parse()
            .with_context(|| format!("--itch-date {date:?}: day"))?,
    );
    if tickrail_gateways::itch::local_midnight_ns(y, m, d, 0).is_none() || !(0..=9999).contains(&y)
    {
        bail!("--itch-date {date:?} is not a valid date");
    }
    Ok(format!("{y:04}{m:02}{d:02}"))
}

fn publish(args: PublishArgs) -> Result<ExitCode> {
    let name = match (&args.session, &args.itch_date) {
        (Some(s), _) => s.clone(),
        (None, Some(d)) => compact_date(d)?,
        (None, None) => "TICKRAIL".to_owned(),
    };
    if let (Some(_), Some(d)) = (&args.session, &args.itch_date) {
        compact_date(d)?;
    }
    let session: Session = name.parse().context("--session")?;
    if args.rate == Some(0) {
        bail!("--rate must be at least 1 message per second");
    }
    if !(args.heartbeat_secs > 0.0 && args.heartbeat_secs.is_finite()) {
        bail!("--heartbeat-secs must be a positive number");
    }
    let mut config = PublisherConfig::new(args.group);
    config.interface = args.interface;
    config.ttl = args.ttl;
    config.session = session;
    config.max_packet = args.max_packet;
    config.rate = args.rate;
    config.heartbeat_interval = Duration::from_secs_f64(args.heartbeat_secs);
    let start = monotonic();
    let stats = publish_file(&args.file, config)
        .with_context(|| format!("publishing {} to {}", args.file.display(), args.group))?;
    let secs = start.elapsed().as_secs_f64();
    outln!(
        "published {}: {} messages in {} packets, {} heartbeats, end of session; {} bytes \
         to {} (session {session}) in {secs:.3} s ({:.0} messages/s)",
        args.file.display(),
        stats.messages,
        stats.packets,
        stats.heartbeats,
        stats.bytes,
        args.group,
        stats.messages as f64 / secs.max(1e-9)
    );
    if stats.skipped_frames > 0 {
        outln!(
            "{} frames of the file skipped (bad framing)",
            stats.skipped_frames
        );
    }
    if let Some(fatal) = &stats.fatal {
        outln!("framing stopped early: {fatal}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_session_names() {
        assert_eq!(compact_date("2019-12-30").unwrap(), "20191230");
        assert!(compact_date("2019-13-01").is_err());
        assert!(compact_date("20191230").is_err());
    }
}
