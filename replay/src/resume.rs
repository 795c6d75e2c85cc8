//! Recovering a run from its own journal, to continue it (`tickrail run --resume RUN`).
//!
//! The engine's state is the fold of its sequenced inputs, so recovery is a replay:
//!
//! 1. **Check, changing nothing.** Both journals are checked whole (`tickrail_journal::verify`):
//!    a damaged record anywhere but a torn tail stops the resume with the file and offset.
//! 2. **Open.** The writers open the journals, which recovers them: a torn tail (a record
//!    the crash left half-written) is cut, as `tickrail journal recover` does.
//! 3. **Rebuild.** The newest usable snapshot (`RUN/snapshots/`, [`snapshot_file`](tickrail_engine::runtime::snapshot_file)) gives
//!    the chain and the Sequencer as they were after its input; a snapshot that is damaged,
//!    from another binary, config or model, past the journal's end or ahead of the
//!    journaled outputs is passed over with a warning naming it, and an older one — or the
//!    first input — is used instead. The journaled inputs after it are re-driven through
//!    the chain on this thread ([`crate::verify::replay_chain_from`]), every output compared
//!    with the journaled one. An output that differs stops the resume and names the input
//!    sequence. The Sequencer takes in the same inputs (next sequence, last exchange time
//!    per source).
//! 4. **The crash tail.** The outputs of the last inputs may never have reached the journal.
//!    They are re-derived by the replay, appended to the output journal (so the journal is
//!    again exactly what the inputs give) and never sent: with `durability = "before-send"`
//!    nothing leaves before it is journaled, so they never left. Each order request among
//!    them is answered by a journaled input: a `rejected` report for a new order, a
//!    `cancel_rejected` for a cancel or amend, with the code [`NOT_SENT_CRASH`].
//! 5. **Mark.** A run mark (`event=resume`, the first input and output sequences of the new
//!    part, this binary's version, the config hash) goes into both journals.
//!
//! The run then continues with the next sequences: the returned [`Recovered`] holds the
//! chain, the Sequencer, the journals and the inputs to enter first.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::TradingChain;
use tickrail_engine::runtime::{run_files, run_journals};
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::{
    append_event, CodecError, Event, EventBody, EventHeader, ExecKind, Liquidity, Qty,
};
use tickrail_journal::{JournalError, JournalWriter, Manifest};

use crate::verify::{
    replay_chain_from, ReplayOptions, ReplayStart, Replayed, Verdict, VerifyError,
};
use tickrail_engine::runtime::snapshot_file::{list_snapshots, load_snapshot};

/// The reject code of an order request the engine decided before a crash and never sent:
/// its output was re-derived on resume, not found in the journal.
pub const NOT_SENT_CRASH: u16 = 901;

/// Why a run could not be resumed. Nothing was changed unless the error says so.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Not a run directory.
    #[error("{0}: not a run directory (expected inputs/ and outputs/ journals, as `tickrail run` writes)")]
    NotARun(PathBuf),
    /// A journal is damaged in a way recovery does not repair (nothing was changed).
    #[error("{dir}: the journal is damaged, not resuming (nothing was changed): {problem}")]
    Corrupt {
        /// The journal.
        dir: PathBuf,
        /// The first problem, with its file and offset.
        problem: String,
    },
    /// A journal could not be read, opened or written.
    #[error("{dir}: {source}")]
    Journal {
        /// The journal.
        dir: PathBuf,
        /// Why.
        #[source]
        source: JournalError,
    },
    /// The journals could not be reopened.
    #[error(transparent)]
    Open(#[from] run_journals::OpenJournalsError),
    /// The replay could not run.
    #[error(transparent)]
    Replay(#[from] Box<VerifyError>),
    /// The replay's outputs differ from the journaled ones: the binary or config does not
    /// give this run (the journal's torn tail, if any, was cut; nothing else changed).
    #[error("the replay diverged from the journal at input sequence {input_sequence}: expected {expected}, got {actual}")]
    Diverged {
        /// The input being replayed.
        input_sequence: String,
        /// The journaled output.
        expected: String,
        /// The replayed one.
        actual: String,
    },
    /// An event could not be written.
    #[error("{dir}: {source}")]
    Codec {
        /// The journal.
        dir: PathBuf,
        /// Why.
        #[source]
        source: CodecError,
    },
}

/// What recovery did, for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    /// Inputs re-driven (after the snapshot, if one was used).
    pub inputs: u64,
    /// Journaled outputs that matched.
    pub outputs: u64,
    /// Outputs re-derived for the crash tail and appended to the journal.
    pub tail_outputs: u64,
    /// Order requests among them, answered with [`NOT_SENT_CRASH`].
    pub not_sent: u64,
    /// What the writers' recovery cut (torn tails), as text, per journal.
    pub cuts: Vec<String>,
    /// The first input sequence of the resumed part.
    pub next_input: u64,
    /// The first output sequence of the resumed part.
    pub next_output: u64,
    /// The receive time of the last journaled input (the event clock resumes there).
    pub last_event_ns: i64,
    /// The snapshot the replay started from (`None`: from the first input).
    pub snapshot: Option<PathBuf>,
    /// Snapshots passed over, each with why (damaged, another config or binary, …).
    pub snapshot_warnings: Vec<String>,
}

/// A recovered run, ready to continue; see the [module docs](self).
#[derive(Debug)]
pub struct Recovered {
    /// The chain as the journaled inputs left it.
    pub chain: TradingChain,
    /// The Sequencer, continuing after the last journaled input.
    pub sequencer: Sequencer,
    /// The first output sequence of the resumed part.
    pub next_output: u64,
    /// The input and output journals, open for appending.
    pub journals: [JournalWriter; 2],
    /// Inputs to enter before anything else (the answers to requests never sent).
    pub first_inputs: Vec<Event>,
    /// What recovery did.
    pub summary: RecoverySummary,
}

fn journal_err(dir: &Path) -> impl Fn(JournalError) -> ResumeError + '_ {
    move |source| ResumeError::Journal {
        dir: dir.to_path_buf(),
        source,
    }
}

/// Checks both journals of `run_dir` whole without changing anything: a damaged record
/// other than a torn tail is [`ResumeError::Corrupt`].
pub fn check_journals(run_dir: &Path) -> Result<(), ResumeError> {
    let dirs = [run_dir.join("inputs"), run_dir.join("outputs")];
    if !dirs.iter().all(|d| d.is_dir()) {
        return Err(ResumeError::NotARun(run_dir.to_path_buf()));
    }
    // Both at once: the check reads every byte (CRCs), and there are two cores.
    let reports = std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| s.spawn(move || tickrail_journal::verify(d)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Vec<_>>()
    });
    for (dir, report) in dirs.iter().zip(reports) {
        let report = report.map_err(journal_err(dir))?;
        if let Some(p) = report.problems.first() {
            return Err(ResumeError::Corrupt {
                dir: dir.clone(),
                problem: format!("{p} ({} problem(s) in all)", report.problems.len()),
            });
        }
    }
    Ok(())
}

/// Recovers `run_dir` for `cfg` (which the caller has checked against the run's manifest):
/// steps 1–5 of the [module docs](self).
pub fn recover(cfg: &EngineConfig, run_dir: &Path) -> Result<Recovered, ResumeError> {
    check_journals(run_dir)?;
    let mut summary = RecoverySummary::default();
    let dirs = run_journals::journal_dirs(run_dir);
    let ([inputs_w, mut outputs_w], reports) = run_journals::reopen(cfg, run_dir)?;
    for (dir, report) in dirs.iter().zip(&reports) {
        if !report.cuts.is_empty() {
            summary.cuts.push(format!("{}: {report}", dir.display()));
        }
    }
    let journaled_outputs = outputs_w.last_sequence().unwrap_or(0);

    let last_input = inputs_w.last_sequence().unwrap_or(0);
    let (start, mut sequencer, mut last_event_ns) =
        match newest_snapshot(cfg, run_dir, last_input, journaled_outputs, &mut summary) {
            Some((start, sequencer, at_ns)) => (Some(start), sequencer, at_ns),
            None => {
                let mut sequencer = Sequencer::new(1, cfg.instruments.len());
                for v in &cfg.venues {
                    sequencer.register_source(v.id);
                }
                (None, sequencer, 0i64)
            }
        };
    let mut tail: Vec<Event> = Vec::new();
    let mut produced = start.as_ref().map_or(0, |s| s.next_output - 1);
    let opts = ReplayOptions {
        verify: true,
        ..Default::default()
    };
    let (replayed, chain) = replay_chain_from(cfg, run_dir, opts, start, |ev| {
        match ev {
            Replayed::Input(e) => {
                sequencer.observe(e);
                last_event_ns = e.header.receive_ts_ns;
            }
            Replayed::Output(e) => {
                produced = e.header.sequence;
                if e.header.sequence > journaled_outputs {
                    tail.push(*e);
                }
            }
        }
        ControlFlow::Continue(())
    })
    .map_err(Box::new)?;
    match replayed.verdict {
        Some(Verdict::Identical { outputs, .. }) | Some(Verdict::CrashTail { outputs, .. }) => {
            summary.outputs = outputs;
        }
        Some(Verdict::Diverged {
            input_sequence,
            expected,
            actual,
        }) => {
            let show = |e: Option<Event>| e.map_or("(nothing)".to_owned(), |e| e.to_string());
            return Err(ResumeError::Diverged {
                input_sequence: input_sequence
                    .map_or("(after the last input)".to_owned(), |s| s.to_string()),
                expected: show(expected),
                actual: show(actual),
            });
        }
        None => {}
    }
    summary.inputs = replayed.inputs;
    summary.next_input = sequencer.next_sequence();
    summary.next_output = produced.max(journaled_outputs) + 1;
    summary.last_event_ns = last_event_ns;

    // The crash tail: journaled now, answered as never sent.
    for e in &tail {
        append_event(&mut outputs_w, e).map_err(|source| ResumeError::Codec {
            dir: dirs[1].clone(),
            source,
        })?;
    }
    summary.tail_outputs = tail.len() as u64;
    let first_inputs: Vec<Event> = tail
        .iter()
        .filter_map(|e| not_sent_answer(&chain, e, last_event_ns))
        .collect();
    summary.not_sent = first_inputs.len() as u64;

    let mut journals = [inputs_w, outputs_w];
    for ((w, next), dir) in journals
        .iter_mut()
        .zip([summary.next_input, summary.next_output])
        .zip(&dirs)
    {
        let mark = resume_mark(w.manifest(), next);
        w.append_mark(&mark).map_err(journal_err(dir))?;
    }
    Ok(Recovered {
        chain,
        sequencer,
        next_output: summary.next_output,
        journals,
        first_inputs,
        summary,
    })
}

/// The newest snapshot that can start the replay: loadable for `cfg` (checksum, version,
/// config and model), at or before the journal's last input, with every output before it
/// journaled. Each one passed over is named, with why, in `summary.snapshot_warnings`.
fn newest_snapshot(
    cfg: &EngineConfig,
    run_dir: &Path,
    last_input: u64,
    journaled_outputs: u64,
    summary: &mut RecoverySummary,
) -> Option<(ReplayStart, Sequencer, i64)> {
    let found = match list_snapshots(run_dir) {
        Ok(f) => f,
        Err(e) => {
            summary.snapshot_warnings.push(e.to_string());
            return None;
        }
    };
    for (seq, path) in found {
        let skip = |why: String, summary: &mut RecoverySummary| {
            let w = format!("{}: not used: {why}", path.display());
            summary.snapshot_warnings.push(w);
        };
        if seq > last_input {
            skip(
                format!("it is after the journal's last input {last_input}"),
                summary,
            );
            continue;
        }
        match load_snapshot(&path, cfg) {
            Ok((meta, chain, sequencer)) => {
                if meta.next_output_sequence > journaled_outputs + 1 {
                    skip(
                        format!(
                            "outputs {}..{} before it were never journaled",
                            journaled_outputs + 1,
                            meta.next_output_sequence - 1
                        ),
                        summary,
                    );
                    continue;
                }
                summary.snapshot = Some(path.clone());
                let start = ReplayStart {
                    chain,
                    next_input: seq + 1,
                    next_output: meta.next_output_sequence,
                };
                return Some((start, sequencer, meta.last_input_ns));
            }
            Err(e) => skip(e.to_string(), summary),
        }
    }
    None
}

fn resume_mark(manifest: &Manifest, next_sequence: u64) -> Manifest {
    run_files::mark(manifest, "resume").with("from_sequence", &next_sequence.to_string())
}

/// The answer to an order request that was never sent: `rejected` for a new order,
/// `cancel_rejected` for a cancel or amend, code [`NOT_SENT_CRASH`], at `at_ns`.
fn not_sent_answer(chain: &TradingChain, request: &Event, at_ns: i64) -> Option<Event> {
    let oms = chain.downstream.oms();
    let (exec, client_order_id, order) = match request.body {
        EventBody::OrderNew {
            client_order_id, ..
        } => (
            ExecKind::Rejected,
            client_order_id,
            oms.order(client_order_id),
        ),
        EventBody::OrderCancel {
            client_order_id,
            orig_client_order_id,
        }
        | EventBody::OrderAmend {
            client_order_id,
            orig_client_order_id,
            ..
        } => (
            ExecKind::CancelRejected,
            client_order_id,
            oms.order(orig_client_order_id),
        ),
        _ => return None,
    };
    let (side, price, qty, cum, venue) = match (request.body, order) {
        (
            EventBody::OrderNew {
                side,
                price,
                qty,
                venue,
                ..
            },
            _,
        ) => (side, price, qty, Qty::ZERO, venue),
        (_, Some(o)) => (
            o.side,
            tickrail_engine::Price::new_checked(o.price).ok()?,
            Qty::new(o.qty),
            Qty::new(o.cum_qty),
            o.venue,
        ),
        (_, None) => return None,
    };
    let h = request.header;
    Some(Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: at_ns,
            receive_ts_ns: at_ns,
            instrument: h.instrument,
            price_scale: h.price_scale,
            qty_scale: h.qty_scale,
            source: venue,
        },
        EventBody::ExecReport {
            exec,
            side,
            liquidity: Liquidity::Unknown,
            reject_code: NOT_SENT_CRASH,
            client_order_id,
            venue_order_id: 0,
            price,
            qty,
            leaves_qty: Qty::ZERO,
            cum_qty: cum,
        },
    ))
}
