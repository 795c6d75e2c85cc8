//! Replaying a run's journaled inputs through fresh stages on one thread, and comparing
//! every output with the journaled one, byte for byte (the rkyv archive of each event).
//! This is `tickrail replay`.
//!
//! - The stages are deterministic from the first input, so a replay always starts at input
//!   sequence 1: a window (`from`/`to`, by input sequence or receive time) only says which
//!   events are shown to the caller; the inputs before it rebuild the stages' state
//!   silently, and the replay stops after the last input of the window.
//! - With `verify`, every output the replay produces is compared with the next journaled
//!   output (inside the window or not: a divergence before the window is still one), and the
//!   first difference ends the replay with the input being replayed, both events and the
//!   inputs just before it.
//! - Streaming: both journals are read record by record, nothing is loaded whole.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{
    build_chain, max_outputs_per_event, BookSizing, BuildError, TradingChain,
};
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{archive_event, decode_event, CodecError, Event, EventKind};
use tickrail_journal::{JournalError, JournalReader};

/// Why a replay could not run (a divergence is not an error: see [`Verdict`]).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A journal could not be opened or read.
    #[error("{dir}: {source}")]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: JournalError,
    },
    /// A record is not a valid event.
    #[error("{dir}: {source}")]
    Codec {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// The chain could not be built from the config.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every output matched.
    Identical {
        /// Inputs replayed.
        inputs: u64,
        /// Outputs compared.
        outputs: u64,
    },
    /// Every journaled output matched, but the journal ends early and the run never
    /// closed: the outputs of the last inputs never reached the journal (the run crashed,
    /// or is still going). Not a divergence.
    CrashTail {
        /// Outputs compared (all matched).
        outputs: u64,
        /// The first input whose outputs are missing.
        from_input: u64,
        /// The last input replayed.
        to_input: u64,
        /// Outputs the replay produced beyond the journal's end.
        missing_outputs: u64,
    },
    /// The first difference.
    Diverged {
        /// The input being replayed when it happened (`None`: after the last input).
        input_sequence: Option<u64>,
        /// What the journal holds at that point (`None`: it ended).
        expected: Option<Event>,
        /// What the replay produced (`None`: it produced nothing more).
        actual: Option<Event>,
    },
}

/// A point in a journal: an input sequence, or a receive time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Input sequence number.
    Sequence(u64),
    /// Receive time, ns since the Unix epoch.
    TimeNs(i64),
}

impl Point {
    fn at_or_after(self, e: &Event) -> bool {
        match self {
            Point::Sequence(s) => e.header.sequence >= s,
            Point::TimeNs(t) => e.header.receive_ts_ns >= t,
        }
    }

    fn after(self, e: &Event) -> bool {
        match self {
            Point::Sequence(s) => e.header.sequence > s,
            Point::TimeNs(t) => e.header.receive_ts_ns > t,
        }
    }
}

/// How to replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// First input shown (default: the first).
    pub from: Option<Point>,
    /// Last input replayed and shown (default: the last).
    pub to: Option<Point>,
    /// Compare every output with the journaled one.
    pub verify: bool,
}

/// What the caller sees, in stream order, inside the window.
#[derive(Debug, Clone, Copy)]
pub enum Replayed<'a> {
    /// An input, before the stages see it.
    Input(&'a Event),
    /// An output the stages produced (already compared, with `verify`).
    Output(&'a Event),
}

/// How many inputs before a divergence are kept for its report.
pub const CONTEXT_INPUTS: usize = 5;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Inputs replayed (from sequence 1).
    pub inputs: u64,
    /// Inputs inside the window.
    pub window_inputs: u64,
    /// Outputs produced.
    pub outputs: u64,
    /// Outputs inside the window, by [`EventKind::code`].
    pub window_outputs_by_kind: Vec<(EventKind, u64)>,
    /// The verification's verdict (`None` without `verify`, or if the caller stopped).
    pub verdict: Option<Verdict>,
    /// With a divergence: the inputs just before the diverging one, oldest first (up to
    /// [`CONTEXT_INPUTS`]).
    pub context: Vec<Event>,
    /// The caller stopped the replay early (its callback returned `Break`).
    pub stopped: bool,
}

fn open(dir: &Path) -> Result<JournalReader, VerifyError> {
    JournalReader::open(dir).map_err(|source| VerifyError::Journal {
        dir: dir.to_path_buf(),
        source,
    })
}

/// The next output of the output journal (read with its internal records), noting in
/// `closed` whether the last record read was a clean-close run mark: a journal that ends
/// right after one was closed by its run; one that ends without was not (a crash).
pub(crate) fn next_output(
    reader: &mut JournalReader,
    dir: &Path,
    closed: &mut bool,
) -> Result<Option<Event>, VerifyError> {
    use tickrail_journal::format::kind;
    let err = |source| VerifyError::Journal {
        dir: dir.to_path_buf(),
        source,
    };
    loop {
        let Some(r) = reader.next().map_err(err)? else {
            return Ok(None);
        };
        match r.kind {
            kind::MANIFEST | kind::END_OF_SEGMENT => {}
            kind::RUN_MARK => {
                *closed = tickrail_journal::Manifest::decode(r.payload)
                    .is_ok_and(|m| m.get("event") == Some("close"));
            }
            _ => {
                *closed = false;
                return decode_event(&r)
                    .map(Some)
                    .map_err(|source| VerifyError::Codec {
                        dir: dir.to_path_buf(),
                        source,
                    });
            }
        }
    }
}

fn next(reader: &mut JournalReader, dir: &Path) -> Result<Option<Event>, VerifyError> {
    let record = reader.next().map_err(|source| VerifyError::Journal {
        dir: dir.to_path_buf(),
        source,
    })?;
    match record {
        None => Ok(None),
        Some(r) => decode_event(&r)
            .map(Some)
            .map_err(|source| VerifyError::Codec {
                dir: dir.to_path_buf(),
                source,
            }),
    }
}

/// Replays `run_dir/inputs` through a chain built from `cfg` on this thread, comparing
/// each output with `run_dir/outputs` when `opts.verify`, and hands the window's inputs and
/// outputs to `on_event` (which may stop the replay with `ControlFlow::Break`).
pub fn replay_run(
    cfg: &EngineConfig,
    run_dir: &Path,
    opts: ReplayOptions,
    on_event: impl FnMut(Replayed<'_>) -> ControlFlow<()>,
) -> Result<ReplaySummary, VerifyError> {
    replay_chain(cfg, run_dir, opts, on_event).map(|(s, _)| s)
}

/// [`replay_run`], also returning the chain as the replay left it: the engine's state
/// after the last input replayed (`tickrail state`).
pub fn replay_chain(
    cfg: &EngineConfig,
    run_dir: &Path,
    opts: ReplayOptions,
    on_event: impl FnMut(Replayed<'_>) -> ControlFlow<()>,
) -> Result<(ReplaySummary, TradingChain), VerifyError> {
    replay_chain_from(cfg, run_dir, opts, None, on_event)
}

/// Where a replay starts other than at the first input: a chain in the state it had
/// after input `next_input - 1` (a snapshot's), and the output sequence it continues with.
#[derive(Debug)]
pub struct ReplayStart {
    /// The chain's state after input `next_input - 1`.
    pub chain: TradingChain,
    /// The first input to replay.
    pub next_input: u64,
    /// The sequence of the next output.
    pub next_output: u64,
}

/// [`replay_chain`], starting at `start` (the journals are read from its input and output
/// sequences on) instead of a fresh chain at input 1.
pub fn replay_chain_from(
    cfg: &EngineConfig,
    run_dir: &Path,
    opts: ReplayOptions,
    start: Option<ReplayStart>,
    mut on_event: impl FnMut(Replayed<'_>) -> ControlFlow<()>,
) -> Result<(ReplaySummary, TradingChain), VerifyError> {
    let (in_dir, out_dir) = (run_dir.join("inputs"), run_dir.join("outputs"));
    let mut inputs = open(&in_dir)?;
    let mut outputs = if opts.verify {
        Some(open(&out_dir)?.include_internal(true))
    } else {
        None
    };
    let mut closed = false;
    let (mut chain, first_output) = match start {
        Some(st) => {
            let seek_err = |dir: &Path| {
                let dir = dir.to_path_buf();
                move |source| VerifyError::Journal { dir, source }
            };
            inputs.seek(st.next_input).map_err(seek_err(&in_dir))?;
            if let Some(o) = outputs.as_mut() {
                o.seek(st.next_output).map_err(seek_err(&out_dir))?;
            }
            (st.chain, st.next_output)
        }
        None => (build_chain(cfg, BookSizing::default())?, 1),
    };
    let mut out = Outbox::new(max_outputs_per_event(cfg), first_output);
    let mut s = ReplaySummary::default();
    let mut recent: VecDeque<Event> = VecDeque::with_capacity(CONTEXT_INPUTS + 1);
    let mut compared = 0u64;
    // (first input whose outputs are missing, outputs missing) once the journal ended early.
    let mut tail: Option<(u64, u64)> = None;
    let mut last_input = 0u64;
    while let Some(input) = next(&mut inputs, &in_dir)? {
        if opts.to.is_some_and(|to| to.after(&input)) {
            break;
        }
        s.inputs += 1;
        let shown = opts.from.is_none_or(|from| from.at_or_after(&input));
        if shown {
            s.window_inputs += 1;
            if on_event(Replayed::Input(&input)).is_break() {
                s.stopped = true;
                return Ok((s, chain));
            }
        }
        last_input = input.header.sequence;
        chain.on_event(&input, &mut out);
        for got in out.events() {
            s.outputs += 1;
            if let Some((_, missing)) = tail.as_mut() {
                *missing += 1;
            } else if let Some(reader) = outputs.as_mut() {
                let want = next_output(reader, &out_dir, &mut closed)?;
                match want {
                    Some(w) if archive_event(&w) == archive_event(got) => compared += 1,
                    None if !closed => {
                        tail = Some((input.header.sequence, 1));
                    }
                    _ => {
                        s.context = recent.into_iter().collect();
                        s.verdict = Some(Verdict::Diverged {
                            input_sequence: Some(input.header.sequence),
                            expected: want,
                            actual: Some(*got),
                        });
                        return Ok((s, chain));
                    }
                }
            }
            if shown {
                let kind = got.kind();
                match s
                    .window_outputs_by_kind
                    .iter_mut()
                    .find(|(k, _)| *k == kind)
                {
                    Some((_, n)) => *n += 1,
                    None => s.window_outputs_by_kind.push((kind, 1)),
                }
                if on_event(Replayed::Output(got)).is_break() {
                    s.stopped = true;
                    return Ok((s, chain));
                }
            }
        }
        out.clear();
        if recent.len() == CONTEXT_INPUTS {
            recent.pop_front();
        }
        recent.push_back(input);
    }
    s.window_outputs_by_kind.sort_by_key(|(k, _)| k.code());
    if let Some((from_input, missing_outputs)) = tail {
        s.verdict = Some(Verdict::CrashTail {
            outputs: compared,
            from_input,
            to_input: last_input,
            missing_outputs,
        });
        return Ok((s, chain));
    }
    if let Some(reader) = outputs.as_mut() {
        // A full replay must have consumed every journaled output; a window ending early
        // leaves the rest unread.
        if opts.to.is_none() {
            if let Some(extra) = next_output(reader, &out_dir, &mut closed)? {
                s.context = recent.into_iter().collect();
                s.verdict = Some(Verdict::Diverged {
                    input_sequence: None,
                    expected: Some(extra),
                    actual: None,
                });
                return Ok((s, chain));
            }
        }
        s.verdict = Some(Verdict::Identical {
            inputs: s.inputs,
            outputs: compared,
        });
    }
    Ok((s, chain))
}

/// Replays all of `run_dir` and compares every output: [`replay_run`] with `verify` and
/// no window.
pub fn verify_run(cfg: &EngineConfig, run_dir: &Path) -> Result<Verdict, VerifyError> {
    let opts = ReplayOptions {
        verify: true,
        ..Default::default()
    };
    let s = replay_run(cfg, run_dir, opts, |_| ControlFlow::Continue(()))?;
    Ok(s.verdict.unwrap_or(Verdict::Identical {
        inputs: s.inputs,
        outputs: s.outputs,
    }))
}
