//! Continuing a crashed live run (`tickrail run --resume`): [`recover`](crate::resume::recover)
//! the state from the journal, then run on against a restarted market, appending to the
//! same journals ([`tickrail_engine::runtime::live::run`]).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use tickrail_engine::config::{EngineConfig, LiveSpec};
use tickrail_engine::runtime::counters::Counters;
use tickrail_engine::runtime::live::run;
use tickrail_engine::runtime::{
    LiveControl, LiveError, LiveMarket, LiveReport, Market, Resume, ResumeFrom,
};
use tickrail_engine::{Event, EventBody, EventHeader, ExecKind};
use tickrail_gateways::live::{market_report, MarketReport};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket};

use crate::resume::{recover, RecoverySummary, ResumeError};

/// Why a resumed run failed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeLiveError {
    /// The run could not be recovered from its journal.
    #[error(transparent)]
    Recover(#[from] ResumeError),
    /// The continued run failed.
    #[error(transparent)]
    Live(#[from] LiveError),
}

/// Continues the run in `run_dir` (`tickrail run --resume`): recovers its state from its
/// journal ([`recover`]), then runs on as [`run_live`] does, appending to the
/// same journals with the next sequences. `cfg` must be the run's own (the caller checks the
/// manifest).
///
/// The market is the outside world, not engine state, and is restarted: the synthetic
/// market and its simulated venues begin again at the journal's last event time, for what
/// remains of the configured session, knowing nothing of the old orders. The engine
/// reconciles as with a venue that lost its books: before anything else, each order still
/// open in the recovered OMS is answered as the venue would answer a status request for an
/// order it does not know — `canceled` if it was acknowledged, `rejected`
/// ([`reject::UNKNOWN_ORDER`](tickrail_gateways::venue::reject::UNKNOWN_ORDER)) if not.
/// With the gateways, the FIX session's own logon reconciliation does this from the
/// gateway's in-flight file, and fills the venue resends are applied once.
pub fn resume_live(
    cfg: &EngineConfig,
    run_dir: &Path,
    control: Arc<LiveControl>,
    on_recovered: impl FnOnce(&RecoverySummary),
    progress: impl FnMut(&Counters),
) -> Result<(LiveReport<MarketReport>, RecoverySummary), ResumeLiveError> {
    let recovered = recover(cfg, run_dir)?;
    let summary = recovered.summary.clone();
    on_recovered(&summary);
    let at = summary.last_event_ns;
    // The session clock continues after the last journaled input (none: a fresh start).
    let after = (summary.next_input > 1).then_some(at);
    let mut first: VecDeque<Event> = recovered.first_inputs.iter().copied().collect();
    let resume = Resume {
        chain: recovered.chain,
        sequencer: recovered.sequencer,
        next_output: recovered.next_output,
        journals: recovered.journals,
    };
    let report = match &cfg.live {
        LiveSpec::Synthetic => {
            let not_sent: Vec<u64> = first.iter().filter_map(exec_client_id).collect();
            first.extend(venue_lost_answers(cfg, &resume.chain, &not_sent, at));
            let mut sc = SyntheticConfig::from_engine(cfg);
            let end = sc.end_ns();
            sc.start_ns = sc.start_ns.max(at.saturating_add(1));
            sc.duration_ns = end.saturating_sub(sc.start_ns).max(1);
            let market = SyntheticMarket::new(sc).map_err(|e| LiveError::Market(e.to_string()))?;
            let market = Resumed {
                first,
                at_ns: at,
                inner: market,
            };
            let from = ResumeFrom {
                state: resume,
                last_input_ns: after,
            };
            run(cfg, run_dir, market, control, progress, Some(from)).map(market_report)?
        }
        #[cfg(feature = "fix")]
        LiveSpec::Gateways { udp, fix } => {
            use tickrail_gateways::live::gateway_market::{journaled_orders, run_base};
            use tickrail_gateways::live::GatewayMarket;
            let base = run_base(run_dir)?;
            // The journal is the truth: the gateway's in-flight orders are set to what the
            // recovered OMS says of them before it logs on (a fill the gateway took but the
            // journal lacks is then reported again). Without a recorded base, no order of
            // the new ClOrdIDs was sent yet.
            let journal = match base {
                Some(base) => {
                    let not_sent: Vec<u64> = first.iter().filter_map(exec_client_id).collect();
                    journaled_orders(resume.chain.downstream.oms(), base, fix.venue, &not_sent)
                }
                None => Vec::new(),
            };
            let market = Resumed {
                first,
                at_ns: at,
                inner: GatewayMarket::open_with_base(cfg, udp, fix, base, journal)?,
            };
            let from = ResumeFrom {
                state: resume,
                last_input_ns: after,
            };
            run(cfg, run_dir, market, control, progress, Some(from)).map(market_report)?
        }
        #[cfg(not(feature = "fix"))]
        LiveSpec::Gateways { .. } => {
            return Err(tickrail_gateways::live::gateways_need_fix().into())
        }
    };
    Ok((report, summary))
}

fn exec_client_id(e: &Event) -> Option<u64> {
    match e.body {
        EventBody::ExecReport {
            client_order_id, ..
        } => Some(client_order_id),
        _ => None,
    }
}

/// A restarted venue's answers for the orders still open in the recovered OMS (but those in
/// `not_sent`, answered already), in submission order: `canceled` if acknowledged, else
/// `rejected`.
fn venue_lost_answers(
    cfg: &EngineConfig,
    chain: &tickrail_engine::pipeline::TradingChain,
    not_sent: &[u64],
    at_ns: i64,
) -> Vec<Event> {
    use tickrail_engine::oms::OrderState;
    use tickrail_engine::{Liquidity, Price, Qty};
    let mut open: Vec<_> = chain
        .downstream
        .oms()
        .open_orders()
        .filter(|o| !not_sent.contains(&o.client_order_id))
        .copied()
        .collect();
    open.sort_by_key(|o| o.submit_no);
    open.into_iter()
        .filter_map(|o| {
            let (exec, code) = if o.state == OrderState::PendingNew {
                (
                    ExecKind::Rejected,
                    tickrail_gateways::venue::reject::UNKNOWN_ORDER,
                )
            } else {
                (ExecKind::Canceled, 0)
            };
            let spec = cfg.instruments.get(o.instrument.get() as usize)?;
            Some(Event::new(
                EventHeader {
                    sequence: 0,
                    cause_sequence: 0,
                    exchange_ts_ns: at_ns,
                    receive_ts_ns: at_ns,
                    instrument: o.instrument,
                    price_scale: spec.price_scale.get(),
                    qty_scale: spec.qty_scale.get(),
                    source: o.venue,
                },
                EventBody::ExecReport {
                    exec,
                    side: o.side,
                    liquidity: Liquidity::Unknown,
                    reject_code: code,
                    client_order_id: o.live_client_order_id,
                    venue_order_id: o.venue_order_id,
                    price: Price::new_checked(o.price).ok()?,
                    qty: Qty::new(o.qty),
                    leaves_qty: Qty::ZERO,
                    cum_qty: Qty::new(o.cum_qty),
                },
            ))
        })
        .collect()
}

/// A restarted market behind the inputs that must enter first (the answers recovery
/// derived), all at the journal's last event time.
struct Resumed<M> {
    first: VecDeque<Event>,
    at_ns: i64,
    inner: M,
}

impl<M: LiveMarket> Market for Resumed<M> {
    type Error = M::Error;
    fn next_input(&mut self) -> Option<Event> {
        self.first.pop_front().or_else(|| self.inner.next_input())
    }
    fn next_due_ns(&mut self) -> Option<i64> {
        if self.first.is_empty() {
            self.inner.next_due_ns()
        } else {
            Some(self.at_ns)
        }
    }
    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), Self::Error> {
        self.inner.submit(now_ns, request)
    }
}

impl<M: LiveMarket> LiveMarket for Resumed<M> {
    type Report = M::Report;
    fn now_ns(&self) -> i64 {
        self.inner.now_ns().max(self.at_ns)
    }
    fn finish(&self) -> M::Report {
        self.inner.finish()
    }
    fn request_stop(&mut self) -> bool {
        self.inner.request_stop()
    }
}
