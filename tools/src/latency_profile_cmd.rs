//! `tickrail latency-profile RUN --out FILE`: the order latencies a live run measured, as a
//! latency profile (`[backtest.latency.<kind>] model = "profile"`).
//!
//! What is measured, per answered request (the run's output journal holds the requests, its
//! input journal the venue's reports):
//!
//! - **sent**: the request's `receive_ts_ns` — the receive time of the input that caused it,
//!   which is also when a backtest submits it (the engine's own processing time is part of
//!   the measured latency);
//! - the **answer**: the first report to it in the input journal — `Ack` or `Rejected` for an
//!   `OrderNew` (same client id); `Replaced` or `CancelRejected` for an `OrderAmend` (the
//!   amend's id), or the `Canceled` of its order when it cancels it; `CancelRejected` (the
//!   cancel's id) or the `Canceled` of its order (the order's current id) for an
//!   `OrderCancel`;
//! - with the answer's `exchange_ts_ns` known (`> 0`, between sent and received): a row of
//!   the request's kind, `exchange - sent` at the time of day of sent, and a `response` row,
//!   `receive - exchange` at the time of day of exchange;
//! - without it (the FIX gateway stamps 0): one row of the request's kind, the whole round
//!   trip `receive - sent`, and no `response` row (a backtest then wants a response model of
//!   0 ns).
//!
//! Samples of one kind at the same nanosecond of the day are averaged (rounded down). Rows
//! come in time-of-day order (UTC), so a run spanning midnight folds onto one day.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;
use tickrail_engine::config::{
    format_time_of_day, parse_profile, LatencyKind, NS_PER_DAY, PROFILE_HEADER,
};
use tickrail_engine::{decode_event, Event, EventBody, ExecKind, EVENT_KIND_BASE};
use tickrail_journal::JournalReader;

#[derive(Debug, Args)]
pub struct LatencyProfileArgs {
    /// A live run directory (with inputs/ and outputs/ journals, as `tickrail run` writes)
    run: PathBuf,
    /// The profile file to write (CSV: time_of_day,kind,latency_ns)
    #[arg(long)]
    out: PathBuf,
}

/// `tickrail latency-profile`.
pub fn run(args: LatencyProfileArgs) -> Result<ExitCode> {
    let (inputs, outputs) = (args.run.join("inputs"), args.run.join("outputs"));
    if !inputs.is_dir() || !outputs.is_dir() {
        bail!(
            "{}: not a run directory (expected inputs/ and outputs/ journals, as `tickrail run` writes)",
            args.run.display()
        );
    }
    let requests = read_events(&outputs)?;
    let reports = read_events(&inputs)?;
    let m = measure(&requests, &reports);
    if m.rows.is_empty() {
        bail!(
            "{}: no request of the run was answered: nothing to measure",
            args.run.display()
        );
    }
    let text = render(&m, &args.run);
    // What is written must read back as a profile.
    parse_profile(&text).map_err(|e| anyhow::anyhow!("the profile written is invalid: {e}"))?;
    std::fs::write(&args.out, &text).with_context(|| format!("{}", args.out.display()))?;
    outln!(
        "{}: {} requests answered ({} without an exchange time: round trip only), {} unanswered",
        args.run.display(),
        m.answered,
        m.round_trip_only,
        m.unanswered
    );
    for kind in LatencyKind::ALL {
        let mut v: Vec<i64> = m
            .rows
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.latency_ns)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        let at = |q: usize| v.get((v.len() - 1) * q / 100).copied().unwrap_or(0);
        outln!(
            "  {:<8} {:>6} rows  p50 {} ns  p99 {} ns  max {} ns",
            kind.name(),
            v.len(),
            at(50),
            at(99),
            at(100)
        );
    }
    outln!("profile: {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn read_events(dir: &Path) -> Result<Vec<Event>> {
    let mut r = JournalReader::open(dir).with_context(|| format!("{}", dir.display()))?;
    let mut events = Vec::new();
    while let Some(rec) = r.next().with_context(|| format!("{}", dir.display()))? {
        if rec.kind < EVENT_KIND_BASE {
            continue;
        }
        let e = decode_event(&rec)
            .with_context(|| format!("{}: record {}", dir.display(), rec.sequence))?;
        events.push(e);
    }
    Ok(events)
}

/// One sample: `(time of day ns, kind, latency ns)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub tod_ns: i64,
    pub kind: LatencyKind,
    pub latency_ns: i64,
}

/// What [`measure`] found.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Rows, averaged per kind and time of day, in time-of-day order.
    pub rows: Vec<Row>,
    pub answered: u64,
    pub round_trip_only: u64,
    pub unanswered: u64,
}

/// A request waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    kind: LatencyKind,
    sent_ns: i64,
    own_id: u64,
}

/// Pairs `requests` (order requests, in output order) with their answers in `reports`
/// (inputs, in order); see the [module docs](self).
pub(crate) fn measure(requests: &[Event], reports: &[Event]) -> Measured {
    let mut by_own: HashMap<u64, Waiting> = HashMap::new();
    let mut by_target: HashMap<u64, VecDeque<u64>> = HashMap::new();
    for r in requests {
        let sent_ns = r.header.receive_ts_ns;
        let (kind, own_id, target) = match r.body {
            EventBody::OrderNew {
                client_order_id, ..
            } => (LatencyKind::New, client_order_id, None),
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => (
                LatencyKind::Cancel,
                client_order_id,
                Some(orig_client_order_id),
            ),
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                ..
            } => (
                LatencyKind::Replace,
                client_order_id,
                Some(orig_client_order_id),
            ),
            _ => continue,
        };
        // The first request under an id is the one the venue answers under it.
        by_own.entry(own_id).or_insert(Waiting {
            kind,
            sent_ns,
            own_id,
        });
        if let Some(t) = target {
            by_target.entry(t).or_default().push_back(own_id);
        }
    }
    let total = by_own.len() as u64;
    let mut sums: BTreeMap<(i64, LatencyKind), (i128, i64)> = BTreeMap::new();
    let mut m = Measured::default();
    for e in reports {
        let EventBody::ExecReport {
            exec,
            client_order_id: id,
            ..
        } = e.body
        else {
            continue;
        };
        let waiting = match exec {
            ExecKind::Ack | ExecKind::Rejected => by_own
                .get(&id)
                .filter(|w| w.kind == LatencyKind::New)
                .copied(),
            ExecKind::Replaced => by_own
                .get(&id)
                .filter(|w| w.kind == LatencyKind::Replace)
                .copied(),
            ExecKind::CancelRejected => by_own
                .get(&id)
                .filter(|w| w.kind != LatencyKind::New)
                .copied(),
            // A cancel (or an amend to at most the filled quantity) of the order named `id`:
            // the oldest request still waiting that targets it and was sent by then.
            ExecKind::Canceled => {
                let queue = by_target.get_mut(&id);
                queue.and_then(|q| {
                    while let Some(&own) = q.front() {
                        match by_own.get(&own) {
                            Some(w) if w.sent_ns <= e.header.receive_ts_ns => return Some(*w),
                            Some(_) => return None,
                            None => {
                                q.pop_front();
                            }
                        }
                    }
                    None
                })
            }
            ExecKind::Fill | ExecKind::PartialFill => None,
        };
        let Some(w) = waiting else { continue };
        by_own.remove(&w.own_id);
        let (sent, exchange, receive) =
            (w.sent_ns, e.header.exchange_ts_ns, e.header.receive_ts_ns);
        if receive < sent {
            continue;
        }
        m.answered += 1;
        let mut add = |t: i64, kind: LatencyKind, l: i64| {
            let s = sums
                .entry((t.rem_euclid(NS_PER_DAY), kind))
                .or_insert((0, 0));
            s.0 += i128::from(l);
            s.1 += 1;
        };
        if exchange > 0 && sent <= exchange && exchange <= receive {
            add(sent, w.kind, exchange - sent);
            add(exchange, LatencyKind::Response, receive - exchange);
        } else {
            m.round_trip_only += 1;
            add(sent, w.kind, receive - sent);
        }
    }
    m.unanswered = total.saturating_sub(m.answered);
    m.rows = sums
        .into_iter()
        .map(|((tod_ns, kind), (sum, n))| Row {
            tod_ns,
            kind,
            latency_ns: i64::try_from(sum.div_euclid(i128::from(n.max(1)))).unwrap_or(i64::MAX),
        })
        .collect();
    m
}

/// The profile file's text.
fn render(m: &Measured, run: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# tickrail latency profile of the run {}", run.display());
    let _ = writeln!(
        s,
        "# time_of_day: UTC. new/cancel/replace: from the request's send time (the receive time of"
    );
    let _ = writeln!(
        s,
        "# the input that caused it) to the venue's time of the answer (its exchange time; the"
    );
    let _ = writeln!(
        s,
        "# whole round trip when the answer has none); response: from that exchange time to the"
    );
    let _ = writeln!(s, "# answer's receive time. Means per kind and nanosecond.");
    let _ = writeln!(s, "{PROFILE_HEADER}");
    for r in &m.rows {
        let _ = writeln!(
            s,
            "{},{},{}",
            format_time_of_day(r.tod_ns),
            r.kind.name(),
            r.latency_ns
        );
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use tickrail_engine::{EventHeader, InstrumentId, Liquidity, Price, Qty, Side, TimeInForce};

    /// An order request sent at `t` (its receive time).
    fn new(t: i64, id: u64) -> Event {
        ev(
            0,
            t,
            EventBody::OrderNew {
                side: Side::Buy,
                tif: TimeInForce::Day,
                venue: 1,
                client_order_id: id,
                price: Price::new(100),
                qty: Qty::new(1),
            },
        )
    }

    fn ev(exchange: i64, receive: i64, body: EventBody) -> Event {
        Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: exchange,
                receive_ts_ns: receive,
                instrument: InstrumentId::new(0),
                price_scale: 2,
                qty_scale: 0,
                source: 1,
            },
            body,
        )
    }

    fn report(exchange: i64, receive: i64, exec: ExecKind, id: u64) -> Event {
        ev(
            exchange,
            receive,
            EventBody::ExecReport {
                exec,
                side: Side::Buy,
                liquidity: Liquidity::Unknown,
                reject_code: 0,
                client_order_id: id,
                venue_order_id: 1,
                price: Price::new(100),
                qty: Qty::new(1),
                leaves_qty: Qty::new(1),
                cum_qty: Qty::ZERO,
            },
        )
    }

    #[test]
    fn each_request_is_paired_with_its_answer() {
        let day = NS_PER_DAY;
        let requests = vec![
            new(day + 1_000, 1),
            ev(
                0,
                day + 5_000,
                EventBody::OrderCancel {
                    client_order_id: 2,
                    orig_client_order_id: 1,
                },
            ),
            new(day + 6_000, 3),
            ev(
                0,
                day + 7_000,
                EventBody::OrderAmend {
                    client_order_id: 4,
                    orig_client_order_id: 3,
                    price: Price::new(101),
                    qty: Qty::new(1),
                },
            ),
            new(day + 9_000, 5),
        ];
        let reports = vec![
            report(day + 1_400, day + 1_500, ExecKind::Ack, 1), // new: 400, response 100
            report(day + 1_400, day + 1_500, ExecKind::Fill, 1), // not an answer
            report(day + 5_300, day + 5_350, ExecKind::Canceled, 1), // cancel 300, resp 50
            report(0, day + 6_900, ExecKind::Ack, 3),           // no exchange time: 900
            report(day + 7_200, day + 7_210, ExecKind::Replaced, 4), // replace 200, resp 10
        ];
        let m = measure(&requests, &reports);
        assert_eq!((m.answered, m.round_trip_only, m.unanswered), (4, 1, 1));
        let rows: Vec<(i64, &str, i64)> = m
            .rows
            .iter()
            .map(|r| (r.tod_ns, r.kind.name(), r.latency_ns))
            .collect();
        assert_eq!(
            rows,
            vec![
                (1_000, "new", 400),
                (1_400, "response", 100),
                (5_000, "cancel", 300),
                (5_300, "response", 50),
                (6_000, "new", 900),
                (7_000, "replace", 200),
                (7_200, "response", 10),
            ]
        );
        let text = render(&m, Path::new("r"));
        let p = parse_profile(&text).unwrap();
        assert_eq!(p.series(LatencyKind::New), &[(1_000, 400), (6_000, 900)]);
    }

    #[test]
    fn samples_at_the_same_time_of_day_are_averaged() {
        // Two days, the same time of day: latencies 100 and 201 -> 150.
        let requests = vec![new(500, 1), new(NS_PER_DAY + 500, 2)];
        let reports = vec![
            report(0, 600, ExecKind::Ack, 1),
            report(0, NS_PER_DAY + 701, ExecKind::Rejected, 2),
        ];
        let m = measure(&requests, &reports);
        assert_eq!(
            m.rows,
            vec![Row {
                tod_ns: 500,
                kind: LatencyKind::New,
                latency_ns: 150
            }]
        );
    }
}
