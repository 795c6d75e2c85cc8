//! Verifying a backtest whose inputs were a journal (an import's or a live run's): it
//! journaled only its outputs, so `tickrail replay OUT --verify` re-runs the backtest — the
//! input journal its manifest names (checked against the recorded content hash), the same
//! simulated venue and queue model, the same chain — and compares every output with the
//! journaled one, byte for byte. The simulated venue is deterministic, so its execution
//! reports are the same inputs the backtest had.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::{archive_event, Event};
use tickrail_journal::{JournalReader, Manifest};

use crate::backtest_job::{drive, parse_queue, Checked, JobError, JobOptions, INPUT_JOURNAL_KEY};
use crate::import::{hash_journal, ImportError, ImportedFeed, InputJournal};
use crate::verify::{next_output, ReplaySummary, Replayed, Verdict, VerifyError, CONTEXT_INPUTS};
use crate::Sink;

/// Why a backtest could not be re-driven.
#[derive(Debug, thiserror::Error)]
pub enum BacktestVerifyError {
    /// The output journal could not be read.
    #[error(transparent)]
    Verify(Box<VerifyError>),
    /// The manifest lacks a key, or holds a bad value.
    #[error("{dir}: the output manifest {what}")]
    Manifest {
        /// The output journal.
        dir: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The input journal is missing, changed or does not fit the config.
    #[error(transparent)]
    Input(Box<ImportError>),
    /// The backtest could not run.
    #[error(transparent)]
    Job(Box<JobError>),
}

impl From<VerifyError> for BacktestVerifyError {
    fn from(e: VerifyError) -> Self {
        Self::Verify(Box::new(e))
    }
}

impl From<ImportError> for BacktestVerifyError {
    fn from(e: ImportError) -> Self {
        Self::Input(Box::new(e))
    }
}

impl From<JobError> for BacktestVerifyError {
    fn from(e: JobError) -> Self {
        Self::Job(Box::new(e))
    }
}

/// The input journal a backtest's output manifest names, if its inputs were a journal.
pub fn input_journal_of(outputs_manifest: &Manifest) -> Option<&str> {
    outputs_manifest.get(INPUT_JOURNAL_KEY)
}

/// Re-runs the backtest in `run_dir` (whose outputs manifest is `manifest`) with `cfg`,
/// comparing every output with `run_dir/outputs`; hands inputs and outputs to `on_event`
/// (which may stop it).
pub fn verify_journal_backtest(
    cfg: &EngineConfig,
    run_dir: &Path,
    manifest: &Manifest,
    on_event: impl FnMut(Replayed<'_>) -> ControlFlow<()>,
) -> Result<ReplaySummary, BacktestVerifyError> {
    let out_dir = run_dir.join("outputs");
    let bad = |what: String| BacktestVerifyError::Manifest {
        dir: out_dir.clone(),
        what,
    };
    let input = input_journal_of(manifest).ok_or_else(|| bad("names no input journal".into()))?;
    let queue = manifest
        .get("queue")
        .and_then(parse_queue)
        .ok_or_else(|| bad("has no valid queue key".into()))?;
    let expected = manifest
        .get("input_hash")
        .ok_or_else(|| bad("has no input_hash".into()))?;
    let journal = InputJournal::open(Path::new(input), &cfg.instruments)?;
    let found = hash_journal(&journal.dir)?.hex();
    if found != expected {
        return Err(ImportError::ContentChanged {
            dir: journal.dir,
            expected: expected.to_owned(),
            found,
        }
        .into());
    }
    crate::backtest::latency_model::check_profiles(&cfg.backtest.latency, |k| manifest.get(k))
        .map_err(bad)?;
    let outputs = JournalReader::open(&out_dir)
        .map_err(|source| VerifyError::Journal {
            dir: out_dir.clone(),
            source,
        })?
        .include_internal(true);
    let sink = Comparing {
        outputs,
        dir: out_dir.clone(),
        closed: false,
        summary: ReplaySummary::default(),
        recent: VecDeque::with_capacity(CONTEXT_INPUTS + 1),
        compared: 0,
        last_input: 0,
        tail: None,
        error: None,
        on_event,
    };
    let opts = JobOptions {
        queue: Some(queue),
        sample_interval_ns: 1_000_000_000,
        out_dir: run_dir.to_path_buf(),
    };
    let feed = ImportedFeed::open(&journal.dir)?;
    // After a divergence, an error or a stop the sink ignores the rest of the run.
    let (_, sink) = drive(cfg, feed, journal.format, &opts, sink, |_, _| {})?;
    sink.finish()
}

/// Compares each output of the re-run with the next journaled one.
struct Comparing<F> {
    outputs: JournalReader,
    dir: PathBuf,
    closed: bool,
    summary: ReplaySummary,
    recent: VecDeque<Event>,
    compared: u64,
    last_input: u64,
    /// (first input whose outputs are missing, outputs missing) once the journal ended.
    tail: Option<(u64, u64)>,
    error: Option<VerifyError>,
    on_event: F,
}

impl<F: FnMut(Replayed<'_>) -> ControlFlow<()>> Comparing<F> {
    fn done(&self) -> bool {
        self.summary.verdict.is_some() || self.summary.stopped || self.error.is_some()
    }

    fn finish(mut self) -> Result<ReplaySummary, BacktestVerifyError> {
        if let Some(e) = self.error.take() {
            return Err(e.into());
        }
        if self.summary.verdict.is_none() && !self.summary.stopped {
            self.summary.verdict = Some(match self.tail {
                Some((from_input, missing_outputs)) => Verdict::CrashTail {
                    outputs: self.compared,
                    from_input,
                    to_input: self.last_input,
                    missing_outputs,
                },
                None => match next_output(&mut self.outputs, &self.dir, &mut self.closed)? {
                    None => Verdict::Identical {
                        inputs: self.summary.inputs,
                        outputs: self.compared,
                    },
                    Some(extra) => Verdict::Diverged {
                        input_sequence: None,
                        expected: Some(extra),
                        actual: None,
                    },
                },
            });
        }
        Ok(self.summary)
    }
}

impl<F: FnMut(Replayed<'_>) -> ControlFlow<()>> Sink for Comparing<F> {
    fn input(&mut self, event: &Event) {
        if self.done() {
            return;
        }
        self.summary.inputs += 1;
        self.summary.window_inputs += 1;
        self.last_input = event.header.sequence;
        if self.recent.len() == CONTEXT_INPUTS {
            self.recent.pop_front();
        }
        self.recent.push_back(*event);
        if (self.on_event)(Replayed::Input(event)).is_break() {
            self.summary.stopped = true;
        }
    }

    fn output(&mut self, got: &Event) {
        if self.done() {
            return;
        }
        self.summary.outputs += 1;
        match self
            .summary
            .window_outputs_by_kind
            .iter_mut()
            .find(|(k, _)| *k == got.kind())
        {
            Some((_, n)) => *n += 1,
            None => self.summary.window_outputs_by_kind.push((got.kind(), 1)),
        }
        if let Some((_, missing)) = self.tail.as_mut() {
            *missing += 1;
        } else {
            match next_output(&mut self.outputs, &self.dir, &mut self.closed) {
                Err(e) => self.error = Some(e),
                Ok(Some(w)) if archive_event(&w) == archive_event(got) => self.compared += 1,
                Ok(None) if !self.closed => self.tail = Some((self.last_input, 1)),
                Ok(want) => {
                    self.summary.context = self.recent.iter().copied().collect();
                    // The input that caused it is the last one in the context.
                    self.summary.context.pop();
                    self.summary.verdict = Some(Verdict::Diverged {
                        input_sequence: Some(self.last_input),
                        expected: want,
                        actual: Some(*got),
                    });
                    return;
                }
            }
        }
        if (self.on_event)(Replayed::Output(got)).is_break() {
            self.summary.stopped = true;
        }
    }
}

impl<F: FnMut(Replayed<'_>) -> ControlFlow<()>> Checked for Comparing<F> {
    fn failure(&self) -> Option<String> {
        None
    }
}
