//! Starting the threaded engine from a config: rings, stage threads and the journaler as
//! the layout says; the feed side ([`InputSide`], [`OutputTap`]) is handed to the caller,
//! who runs the feed and order gateway loop on a thread of its own (the layout's feed
//! thread; see [`super::live`]).
//!
//! ```text
//!   feed thread                     stage thread(s)                       feed thread
//!   InputSide ── input ring ──┬──► [signal → order] ── output ring ──┬──► OutputTap
//!   (Sequencer)               └──► journaler ◄───────────────────────┘
//! ```
//!
//! With the chain inline on the feed thread (`runtime.inline_chain`) there is no stage
//! thread: the [`InputSide`] holds the chain and publishes its outputs itself, and the
//! journaler is the input ring's only consumer ([`super::inline`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;
use std::thread::JoinHandle;

use tickrail_journal::{JournalWriter, Manifest};

use crate::config::{EngineConfig, SendDurability, StageName, ThreadSpec};
use crate::event::{Event, EventBody};
use crate::pipeline::{build_chain, max_outputs_per_event, BookSizing, BuildError};
use crate::sequencer::{InputReject, Sequencer};

use super::clock::{self, now_ns};
use super::counters::{bump, Counters};
use super::inline::{InlineChain, InlineRun};
use super::journaler::{self, JournalReport};
use super::ring::{ring, RingConsumer, RingError, RingProducer};
use super::slot::Slot;
use super::stage_thread::{StageLatencies, StagePart, StageThread};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The chain could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A ring could not be built.
    #[error("ring: {0}")]
    Ring(#[from] RingError),
    /// The run's journals (or its config and model copies) could not be created.
    #[error("journal {0}")]
    Journals(#[from] super::run_journals::OpenJournalsError),
    /// With the chain inline on the feed thread, the output ring must hold every output of
    /// one input ([`super::inline`]).
    #[error(
        "runtime.output_ring = {slots} slots: with the chain inline on the feed thread it must \
         hold the most outputs one input can make, {needed} (2 × risk.max_open_orders + \
         8 × venues + 16); raise it to a power of two ≥ {needed}"
    )]
    InlineOutputRing {
        /// The ring's slots.
        slots: usize,
        /// The most outputs of one input.
        needed: usize,
    },
    /// A thread could not be spawned.
    #[error("spawn thread {name}: {source}")]
    Spawn {
        /// The thread.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Pins the calling thread to `core` (a `core_affinity` index); `false` if that failed (the
/// core does not exist or is outside the process's CPU set). Asks for the core directly:
/// the calling thread's own current set (inherited from its spawner, possibly pinned
/// elsewhere) does not limit where it may go.
pub fn pin(core: Option<usize>) -> bool {
    match core {
        None => true,
        Some(id) => core_affinity::set_for_current(core_affinity::CoreId { id }),
    }
}

/// The feed side of the input ring: the Sequencer and the ring's producer, and with the
/// chain inline on the feed thread, the chain and the output ring's producer.
#[derive(Debug)]
pub struct InputSide {
    sequencer: Sequencer,
    ring: RingProducer<Slot>,
    /// The chain, when the feed thread runs it ([`super::inline`]): every published input
    /// goes through it at once.
    inline: Option<InlineChain>,
    conflate: bool,
    /// A conflated quote per instrument waiting for room (unstamped).
    pending: Vec<Option<Event>>,
    pending_count: usize,
    counters: Arc<Counters>,
}

/// What happened to an offered input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// Published with this sequence.
    Published(u64),
    /// A quote held back (the ring was full); it or a newer quote of its instrument is
    /// published once there is room.
    Conflated,
    /// Refused by the Sequencer (counted).
    Rejected(InputReject),
    /// The ring is full and this input cannot be conflated: it was neither stamped nor
    /// published. Offer it again (it is never dropped) after draining the output ring —
    /// waiting here instead could deadlock the feed thread against a stage thread blocked
    /// on the full output ring the feed thread drains.
    Full,
}

impl InputSide {
    /// Offers an input: checked by the Sequencer, stamped and published. A full ring makes
    /// an L1 quote wait in its instrument's conflation slot when conflation is on (a newer
    /// quote replaces it, counted); anything else comes back as [`Offered::Full`] for the
    /// caller to offer again — execution reports, commands and book events are never
    /// dropped. Never waits.
    pub fn offer(&mut self, event: Event) -> Offered {
        let _ = self.flush();
        if let Err(r) = self.sequencer.validate(&event) {
            self.sequencer.count_reject(&r);
            bump(&self.counters.feed.input_rejects);
            return Offered::Rejected(r);
        }
        let quote = matches!(event.body, EventBody::Quote { .. });
        let i = event.header.instrument.get() as usize;
        if quote && self.conflate {
            if self.pending.get(i).is_some_and(Option::is_some) {
                // Older quote of this instrument still waiting: replace it.
                self.pending[i] = Some(event);
                bump(&self.counters.feed.conflated);
                return Offered::Conflated;
            }
            match self.try_publish(event) {
                Some(seq) => return Offered::Published(seq),
                None => {
                    bump(&self.counters.feed.ring_full);
                    if let Some(p) = self.pending.get_mut(i) {
                        *p = Some(event);
                        self.pending_count += 1;
                    }
                    return Offered::Conflated;
                }
            }
        }
        if let Some(seq) = self.try_publish(event) {
            return Offered::Published(seq);
        }
        bump(&self.counters.feed.ring_full);
        Offered::Full
    }

    /// Publishes the conflated quotes that fit now (instrument order); `true` when none is
    /// left waiting.
    pub fn flush(&mut self) -> bool {
        if self.pending_count == 0 {
            return true;
        }
        for i in 0..self.pending.len() {
            if let Some(e) = self.pending[i] {
                // A held quote may have gone stale against a later input of its source.
                if let Err(r) = self.sequencer.validate(&e) {
                    self.sequencer.count_reject(&r);
                    bump(&self.counters.feed.input_rejects);
                } else if self.try_publish(e).is_none() {
                    return false;
                }
                self.pending[i] = None;
                self.pending_count -= 1;
            }
        }
        true
    }

    /// Registers a feed source ahead of time (no allocation on its first input).
    pub fn register_source(&mut self, source: u16) {
        self.sequencer.register_source(source);
    }

    /// The Sequencer (counts).
    pub fn sequencer(&self) -> &Sequencer {
        &self.sequencer
    }

    /// Approximate input ring occupancy.
    pub fn ring_fill(&self) -> usize {
        self.ring.fill()
    }

    /// Whether the feed thread runs the chain (a published input has its outputs in the
    /// output ring when [`InputSide::offer`] returns).
    pub fn runs_chain(&self) -> bool {
        self.inline.is_some()
    }

    /// Closes the input ring (and with the chain inline, the output ring) and hands back
    /// the inline chain, if this side ran it. Dropping an `InputSide` closes the rings too.
    pub fn close(self) -> Option<InlineRun> {
        let Self { ring, inline, .. } = self;
        drop(ring);
        inline.map(InlineChain::finish)
    }

    fn try_publish(&mut self, mut event: Event) -> Option<u64> {
        if let Some(c) = self.inline.as_mut() {
            if !c.has_room() {
                return None;
            }
        }
        let seq = &mut self.sequencer;
        let mut stamped = Slot::empty();
        let r = self.ring.try_publish(|slot| {
            seq.assign(&mut event);
            let t = now_ns();
            stamped = Slot {
                event,
                ingress_ns: t,
                published_ns: t,
                upstream: false,
            };
            *slot = stamped;
        });
        r.ok().map(|_| {
            bump(&self.counters.feed.inputs);
            if let Some(c) = self.inline.as_mut() {
                c.run(&stamped);
            }
            stamped.event.header.sequence
        })
    }
}

/// The gateway's view of the output ring, with the `before-send` gate.
#[derive(Debug)]
pub struct OutputTap {
    /// The output ring's gateway consumer.
    pub consumer: RingConsumer<Slot>,
    /// The journal gate.
    pub gate: SendGate,
}

/// Whether an order request may leave yet (`durability`).
#[derive(Debug, Clone)]
pub struct SendGate {
    durability: SendDurability,
    counters: Arc<Counters>,
}

impl SendGate {
    /// Whether the output with `sequence` may leave now: always with `immediate`; with
    /// `before-send` once the journaler has written it. `false` forever once the journal
    /// failed.
    pub fn may_send(&self, sequence: u64) -> bool {
        let j = &self.counters.journal;
        if j.failed.load(Acquire) != 0 {
            return false;
        }
        match self.durability {
            SendDurability::Immediate => true,
            SendDurability::BeforeSend => j.output_sequence.load(Acquire) >= sequence,
        }
    }

    /// Whether the journal failed (nothing may leave).
    pub fn journal_failed(&self) -> bool {
        self.counters.journal.failed.load(Acquire) != 0
    }
}

/// A started engine: the feed side for the caller, and the threads to join.
#[derive(Debug)]
pub struct Started {
    /// Publish inputs here (on the feed thread); drop it to close the input ring.
    pub input: InputSide,
    /// Read outputs here (on the feed thread), until it reports closed.
    pub output: OutputTap,
    /// The engine's threads.
    pub running: Running,
}

/// The engine's threads, to join after the run.
#[derive(Debug)]
pub struct Running {
    /// The live counters.
    pub counters: Arc<Counters>,
    /// The run directory (journals under `inputs/` and `outputs/`).
    pub run_dir: PathBuf,
    stages: Vec<(String, JoinHandle<(StagePart, StageLatencies)>)>,
    journal: JoinHandle<JournalReport>,
}

/// What the engine's threads handed back after the run.
#[derive(Debug)]
pub struct Finished {
    /// Each stage thread's name, stages and latencies, in chain order (a live run adds the
    /// feed thread here when it ran the chain inline; [`super::live`]).
    pub stages: Vec<(String, StagePart, StageLatencies)>,
    /// The journaler's report.
    pub journal: JournalReport,
    /// Threads that panicked (names); a panic is a bug, and the run's results are then
    /// incomplete.
    pub panicked: Vec<String>,
}

impl Running {
    /// Waits for every thread to drain and stop, after the caller dropped the
    /// [`InputSide`] (which closes the input ring). `output`, if the caller still has it, is
    /// drained here so that no stage thread stays blocked on a full output ring.
    pub fn finish(self, output: Option<OutputTap>) -> Finished {
        if let Some(mut output) = output {
            while output.consumer.poll(|_| {}).is_ok() {
                output.consumer.wait();
            }
        }
        let mut panicked = Vec::new();
        let mut done = Vec::new();
        for (name, h) in self.stages {
            match h.join() {
                Ok((part, lat)) => done.push((name, part, lat)),
                Err(_) => panicked.push(name),
            }
        }
        let journal = match self.journal.join() {
            Ok(r) => r,
            Err(_) => {
                panicked.push("journal".into());
                JournalReport {
                    inputs: 0,
                    outputs: 0,
                    error: Some("the journaler panicked".into()),
                    input_stats: Default::default(),
                    output_stats: Default::default(),
                    allocs: Default::default(),
                }
            }
        };
        Finished {
            stages: done,
            journal,
            panicked,
        }
    }
}

/// The manifest entries of a run.
pub fn manifest(cfg: &EngineConfig, stream: &str) -> Manifest {
    let mut m = Manifest::new(
        env!("CARGO_PKG_VERSION"),
        &format!("{:016x}", cfg.config_hash()),
    )
    .with("config_file", &cfg.file)
    .with("model_hash", &model_hash(cfg))
    .with("layout", &cfg.runtime.describe())
    .with("stream", stream);
    super::run_files::add_manifest_keys(cfg, &mut m);
    m
}

/// FNV-1a-64 of the model: the file's bytes for file models, the weights' text otherwise.
pub fn model_hash(cfg: &EngineConfig) -> String {
    use crate::config::ModelSpec;
    let bytes = match &cfg.model.spec {
        ModelSpec::Linear {
            weights,
            bias,
            link,
        } => format!("{weights:?}{bias:?}{link:?}").into_bytes(),
        ModelSpec::Xgboost { path } | ModelSpec::Onnx { path } => {
            std::fs::read(path).unwrap_or_default()
        }
    };
    format!("{:016x}", crate::config::config_hash(&bytes))
}

fn spawn<T: Send + 'static>(
    spec: &ThreadSpec,
    counters: &Arc<Counters>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, StartError> {
    let core = spec.core;
    let c = counters.clone();
    std::thread::Builder::new()
        .name(spec.name.clone())
        .spawn(move || {
            // A failed pin is not fatal (a container may forbid it): it is counted, and
            // `tickrail run` reports it.
            if !pin(core) {
                c.pin_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            f()
        })
        .map_err(|source| StartError::Spawn {
            name: spec.name.clone(),
            source,
        })
}

/// Where a resumed run continues: the state recovered from its journal
/// (`replay::resume`).
#[derive(Debug)]
pub struct Resume {
    /// The chain as the journaled inputs left it.
    pub chain: crate::pipeline::TradingChain,
    /// The Sequencer, continuing after the last journaled input.
    pub sequencer: Sequencer,
    /// The first output sequence of the resumed part.
    pub next_output: u64,
    /// The run's input and output journals, open for appending.
    pub journals: [JournalWriter; 2],
}

/// Builds the chain, the rings and the journals for `cfg` and starts the stage threads and
/// the journaler. Journals go to `run_dir/inputs` and `run_dir/outputs` (created; they must
/// not hold a journal already).
pub fn start(cfg: &EngineConfig, run_dir: &Path) -> Result<Started, StartError> {
    start_from(cfg, run_dir, None)
}

/// [`start`], or with `resume` a run that continues from the state recovered from its
/// journal: its chain, Sequencer, output numbering and open journals.
pub fn start_from(
    cfg: &EngineConfig,
    run_dir: &Path,
    resume: Option<Resume>,
) -> Result<Started, StartError> {
    clock::init();
    let rt = &cfg.runtime;
    let counters = Arc::new(Counters::default());
    let n = cfg.instruments.len();
    let max_outputs = max_outputs_per_event(cfg);
    // Checked before anything is built or created.
    if rt.inline_chain && rt.output_ring < max_outputs {
        return Err(StartError::InlineOutputRing {
            slots: rt.output_ring,
            needed: max_outputs,
        });
    }
    let (chain, sequencer, first_output, journals) = match resume {
        Some(r) => (r.chain, r.sequencer, r.next_output, Some(r.journals)),
        None => (
            build_chain(cfg, BookSizing::default())?,
            Sequencer::new(1, n),
            1,
            None,
        ),
    };
    let stage_specs: Vec<(ThreadSpec, Vec<StageName>)> = rt
        .stage_threads()
        .map(|(t, s)| (t.clone(), s.to_vec()))
        .collect();
    let feed_spec = rt
        .thread(&crate::config::ThreadRole::Feed)
        .cloned()
        .unwrap_or_else(|| unreachable!("validated: a feed thread exists"));
    let journal_spec = rt
        .thread(&crate::config::ThreadRole::Journal)
        .cloned()
        .unwrap_or_else(|| unreachable!("validated: a journal thread exists"));

    let [input_journal, output_journal] = match journals {
        Some(j) => j,
        None => super::run_journals::create(cfg, run_dir, None)?,
    };

    let inline = rt.inline_chain;
    // The input ring: the first stage thread and the journaler; with the chain inline, the
    // journaler only (the feed thread runs the chain on what it publishes).
    let first_wait = stage_specs.first().map_or(feed_spec.wait, |(t, _)| t.wait);
    let in_consumers = if inline { 1 } else { 2 };
    let (in_prod, mut in_cons) = ring(rt.input_ring, in_consumers, first_wait, Slot::empty)?;
    let journal_in = in_cons
        .pop()
        .unwrap_or_else(|| unreachable!("a consumer for the journaler"));
    let mut upstream_in = in_cons.pop();
    // The output ring: the gateway and the journaler.
    let (out_prod, mut out_cons) = ring(rt.output_ring, 2, feed_spec.wait, Slot::empty)?;
    let journal_out = out_cons
        .pop()
        .unwrap_or_else(|| unreachable!("two consumers"));
    let gateway_out = out_cons
        .pop()
        .unwrap_or_else(|| unreachable!("two consumers"));

    let mut stages = Vec::new();
    let mut inline_chain = None;
    let mut out_prod = Some(out_prod);
    if inline {
        let producer = out_prod
            .take()
            .unwrap_or_else(|| unreachable!("the output ring's producer"));
        let stage = StageThread::new(
            StagePart::Chain(chain),
            max_outputs,
            counters.clone(),
            true,
            n,
        )
        .with_first_output(first_output);
        inline_chain = Some(InlineChain::new(stage, producer, max_outputs));
    } else {
        let split = stage_specs.len() > 1;
        let mut chain_parts = if split {
            vec![
                StagePart::Signal(chain.upstream),
                StagePart::Order(chain.downstream),
            ]
        } else {
            vec![StagePart::Chain(chain)]
        };
        for (k, (spec, _)) in stage_specs.iter().enumerate() {
            let last = k + 1 == stage_specs.len();
            let part = chain_parts.remove(0);
            let (producer, next_in) = if last {
                (
                    out_prod
                        .take()
                        .unwrap_or_else(|| unreachable!("one last thread")),
                    None,
                )
            } else {
                let next_wait = stage_specs.get(k + 1).map_or(spec.wait, |(t, _)| t.wait);
                let (p, mut c) = ring(rt.output_ring, 1, next_wait, Slot::empty)?;
                (p, c.pop())
            };
            let thread = StageThread::new(part, max_outputs, counters.clone(), last, n)
                .with_first_output(first_output);
            let input = upstream_in
                .take()
                .unwrap_or_else(|| unreachable!("each stage thread has an input ring"));
            stages.push((
                spec.name.clone(),
                spawn(spec, &counters, move || thread.run(input, producer))?,
            ));
            match next_in {
                Some(c) => upstream_in = Some(c),
                None => break,
            }
        }
    }
    let jc = counters.clone();
    let journal_wait = journal_spec.wait;
    let journal = spawn(&journal_spec, &counters, move || {
        journaler::run(
            journal_in,
            journal_out,
            input_journal,
            output_journal,
            jc,
            journal_wait,
        )
    })?;

    let mut sequencer = sequencer;
    for v in &cfg.venues {
        sequencer.register_source(v.id);
    }
    Ok(Started {
        input: InputSide {
            sequencer,
            ring: in_prod,
            inline: inline_chain,
            conflate: rt.conflate_quotes,
            pending: vec![None; n],
            pending_count: 0,
            counters: counters.clone(),
        },
        output: OutputTap {
            consumer: gateway_out,
            gate: SendGate {
                durability: rt.durability,
                counters: counters.clone(),
            },
        },
        running: Running {
            counters,
            run_dir: run_dir.to_path_buf(),
            stages,
            journal,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventHeader;
    use crate::instrument::InstrumentId;
    use crate::runtime::counters::get;
    use crate::runtime::WaitKind;
    use crate::value::{Price, Qty};

    fn quote(instrument: u32, ts: i64, bid: i64) -> Event {
        Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: ts,
                receive_ts_ns: ts,
                instrument: InstrumentId::new(instrument),
                price_scale: 2,
                qty_scale: 0,
                source: 1,
            },
            EventBody::Quote {
                bid_px: Price::new(bid),
                bid_qty: Qty::new(5),
                ask_px: Price::new(bid + 1),
                ask_qty: Qty::new(5),
            },
        )
    }

    #[test]
    fn a_full_ring_conflates_quotes_per_instrument() {
        let counters = Arc::new(Counters::default());
        let (prod, mut cons) = ring(2, 1, WaitKind::Yield, Slot::empty).unwrap();
        let mut side = InputSide {
            sequencer: Sequencer::new(1, 2),
            ring: prod,
            inline: None,
            conflate: true,
            pending: vec![None; 2],
            pending_count: 0,
            counters: counters.clone(),
        };
        assert_eq!(side.offer(quote(0, 10, 100)), Offered::Published(1));
        assert_eq!(side.offer(quote(1, 11, 200)), Offered::Published(2));
        // Full: instrument 0's quotes wait in its slot, the newest wins.
        assert_eq!(side.offer(quote(0, 12, 101)), Offered::Conflated);
        assert_eq!(side.offer(quote(0, 13, 102)), Offered::Conflated);
        assert_eq!(get(&counters.feed.conflated), 1);
        assert_eq!(get(&counters.feed.ring_full), 1);
        // A bad quote is refused by the Sequencer, not conflated.
        assert!(matches!(
            side.offer(quote(7, 14, 100)),
            Offered::Rejected(InputReject::UnknownInstrument { .. })
        ));
        let mut seen = Vec::new();
        let c = &mut cons[0];
        assert_eq!(c.poll(|s| seen.push(s.event)).unwrap(), 2);
        assert!(side.flush());
        assert_eq!(c.poll(|s| seen.push(s.event)).unwrap(), 1);
        let last = seen[2];
        assert_eq!((last.header.sequence, last.header.exchange_ts_ns), (3, 13));
        assert!(matches!(last.body, EventBody::Quote { bid_px, .. } if bid_px.raw() == 102));
        assert_eq!(get(&counters.feed.inputs), 3);
        assert_eq!(get(&counters.feed.input_rejects), 1);
    }
}
