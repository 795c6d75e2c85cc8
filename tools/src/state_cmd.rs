//! `tickrail state RUN [--at SEQ|TIME] [--json]`: the engine's state rebuilt from a run's
//! journaled inputs (`tickrail_replay::state::EngineState`): positions, PnL and fees per
//! instrument, the reference venue's top of book, open orders, and risk's PnL, halts,
//! throttle and reject counts — at the end of the journal or after a given input. What an
//! operator reads after a crash; `--json` is the same state for scripts and tests.
//!
//! The run's config is found as `tickrail replay` finds it (`--config`, else the run's copy,
//! else the file its manifest names) and checked against the manifest the same way.
//!
//! Exit codes: 0 the state was shown, 1 an error (not a run directory, an unreadable
//! journal, a manifest mismatch without `--allow-mismatch`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use tickrail_journal::read_manifest;
use tickrail_replay::state::{EngineState, Fixed, NamedCount, TopLevel};
use tickrail_replay::verify::Point;

use crate::replay_cmd::{check_manifest, config, first_input_ts, parse_point, run_dir};

/// `tickrail state`.
#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// The run directory (holding `inputs/` and `outputs/`), or either journal in it.
    pub run: PathBuf,
    /// Show the state after this input instead of at the end of the journal: a sequence
    /// number (`1200`: that input applied), a receive time (`@<ns since epoch>` or
    /// `2026-11-29T04:01:30.25Z`) or an offset from the first input (`+2.5s`, `+300ms`):
    /// every input received at or before it applied.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the state as JSON (pretty-printed) instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// The config to rebuild with (default: the run's copy, else the one its manifest
    /// names).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Rebuild even if the binary version, config hash or model hash differ from the run's
    /// manifest (the state is then not necessarily the run's).
    #[arg(long)]
    pub allow_mismatch: bool,
}

/// `tickrail state`.
pub fn run(args: StateArgs) -> Result<ExitCode> {
    let run_dir = run_dir(&args.run)?;
    let manifest = read_manifest(&run_dir.join("inputs"))
        .with_context(|| format!("{}: reading the run manifest", run_dir.display()))?;
    let cfg = config(args.config.as_deref(), &run_dir, &manifest)?;
    if args.json {
        // `check_manifest` warns on stdout; keep stdout pure JSON and warn on stderr.
        if let Err(e) = check_manifest(&manifest, &cfg, false) {
            if !args.allow_mismatch {
                return Err(e);
            }
            eprintln!("warning: rebuilding despite a manifest mismatch (--allow-mismatch): {e:#}");
        }
    } else {
        check_manifest(&manifest, &cfg, args.allow_mismatch)?;
    }
    let at = match args.at.as_deref() {
        None => None,
        Some(p) => Some(parse_point(p, first_input_ts(&run_dir)?).context("--at")?),
    };
    let (state, _) = EngineState::rebuild(&cfg, &run_dir, at)
        .with_context(|| format!("rebuilding the state of {}", run_dir.display()))?;

    if args.json {
        let text = serde_json::to_string_pretty(&state).context("encoding the state")?;
        outln!("{text}");
        return Ok(ExitCode::SUCCESS);
    }

    let when = state
        .at_event_time_ns
        .map_or(String::new(), |t| format!(" (event time {}, @{t})", utc(t)));
    outln!(
        "tickrail state: {} at input {}{when}, {} inputs applied",
        run_dir.display(),
        state.at_sequence,
        state.inputs
    );
    if let Some(Point::Sequence(s)) = at {
        if s > state.at_sequence {
            outln!("  (the journal ends before input {s}: this is its last state)");
        }
    }
    let venue = state.reference_venue.map_or("none".to_owned(), |v| {
        cfg.venues
            .iter()
            .find(|s| s.id == v)
            .map_or(v.to_string(), |s| format!("{v} ({})", s.name))
    });
    outln!(
        "config      {} (hash {}), reference venue {venue}",
        cfg.file,
        cfg.config_hash_hex()
    );

    outln!(
        "\n{:<10} {:>12} {:>14} {:>14}   {:<24} {:<24}",
        "instrument",
        "position",
        "avg price",
        "mark",
        "best bid",
        "best ask"
    );
    for i in &state.instruments {
        outln!(
            "{:<10} {:>12} {:>14} {:>14}   {:<24} {:<24}",
            i.symbol,
            i.position,
            opt(i.avg_price.as_ref()),
            opt(i.mark.as_ref()),
            level(i.best_bid.as_ref()),
            level(i.best_ask.as_ref())
        );
    }
    outln!(
        "\n{:<10} {:>16} {:>16} {:>16} {:>16}",
        "PnL",
        "realised",
        "unrealised",
        "fees",
        "net"
    );
    for i in &state.instruments {
        outln!(
            "{:<10} {:>16} {:>16} {:>16} {:>16}",
            i.symbol,
            i.realised_pnl,
            opt(i.unrealised_pnl.as_ref()),
            i.fees,
            i.net_pnl
        );
    }

    outln!("\nopen orders {}", state.open_orders.len());
    if !state.open_orders.is_empty() {
        outln!(
            "  {:>10} {:<10} {:<4} {:>14} {:>10} {:>10} {:<16} {:>5}",
            "client id",
            "instrument",
            "side",
            "price",
            "qty",
            "filled",
            "state",
            "venue"
        );
        for o in &state.open_orders {
            outln!(
                "  {:>10} {:<10} {:<4} {:>14} {:>10} {:>10} {:<16} {:>5}",
                o.client_order_id,
                o.instrument,
                o.side,
                o.price,
                o.qty,
                o.filled,
                o.state,
                o.venue
            );
        }
    }

    let r = &state.risk;
    let onoff = |b: bool| if b { "ENGAGED" } else { "off" };
    outln!(
        "\nrisk        PnL {} (realised {}, unrealised {}), loss {} of {} allowed",
        r.daily_pnl,
        r.realised_pnl,
        r.unrealised_pnl,
        r.daily_loss,
        r.max_daily_loss
    );
    outln!(
        "  halts     kill switch {}, operator halt {}, loss halt {}",
        onoff(r.kill_switch),
        onoff(r.halted),
        onoff(r.loss_halted)
    );
    outln!(
        "  throttle  {} of {} tokens (refill {}/s){}",
        r.throttle_tokens,
        r.throttle_burst,
        r.throttle_rate_per_s,
        r.throttle_last_refill_ns
            .map_or(String::new(), |t| format!(", last refill @{t}"))
    );
    outln!(
        "  orders    accepted {}, working {}, gross exposure {}",
        r.accepted,
        r.working_orders,
        r.gross_exposure
    );
    outln!("  rejects   {}", counts(&r.rejects));
    outln!(
        "anomalies   risk {}, oms {}",
        r.anomalies,
        counts(&state.oms_anomalies)
    );
    Ok(ExitCode::SUCCESS)
}

fn opt(v: Option<&Fixed>) -> String {
    v.map_or("-".to_owned(), |f| f.decimal.clone())
}

fn level(l: Option<&TopLevel>) -> String {
    l.map_or("-".to_owned(), |l| format!("{} x {}", l.price, l.qty))
}

fn counts(c: &[NamedCount]) -> String {
    if c.is_empty() {
        return "none".to_owned();
    }
    c.iter()
        .map(|n| format!("{} {}", n.name, n.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `YYYY-MM-DDTHH:MM:SS.fffffffffZ` for ns since the Unix epoch (the form `--at` reads).
fn utc(ns: i64) -> String {
    let (y, mo, d, h, mi, s) = crate::clock::civil(ns.div_euclid(1_000_000_000));
    let frac = ns.rem_euclid(1_000_000_000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:09}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trips_through_at() {
        let ns = 1_795_924_890_250_000_001;
        let text = utc(ns);
        assert_eq!(text, "2026-11-29T04:01:30.250000001Z");
        assert_eq!(parse_point(&text, 0).unwrap(), Point::TimeNs(ns));
        assert_eq!(utc(-1), "1969-12-31T23:59:59.999999999Z");
    }
}
