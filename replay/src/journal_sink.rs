//! A runner [`Sink`] that journals: inputs to `run_dir/inputs`, outputs to
//! `run_dir/outputs`, with the same manifest keys as a live run — so a backtest is itself a
//! run that `tickrail replay RUN --verify` re-drives and checks. A backtest whose inputs are
//! already a journal writes only the outputs ([`JournalSink::create_outputs`]).
//!
//! The [`Sink`] methods cannot fail, so the first write error is kept, nothing more is
//! written after it, and [`JournalSink::error`] / [`JournalSink::close`] report it: the
//! backtest checks between steps and stops.

use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::run_journals;
use tickrail_engine::{append_event, CodecError, Event};
use tickrail_journal::{JournalError, JournalWriter};

use crate::Sink;

/// Why journaling failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalSinkError {
    /// A journal could not be opened, written or closed.
    #[error("{dir}: {source}")]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: JournalError,
    },
    /// The journals (or the run directory's config and model copies) could not be created.
    #[error(transparent)]
    Open(#[from] run_journals::OpenJournalsError),
    /// An event could not be written.
    #[error("{dir}: {source}")]
    Codec {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: CodecError,
    },
}

/// Journals every input and output; see the [module docs](self).
#[derive(Debug)]
pub struct JournalSink {
    dirs: [PathBuf; 2],
    /// `[inputs, outputs]`; `None` once closed, or for a stream not journaled.
    writers: [Option<JournalWriter>; 2],
    error: Option<JournalSinkError>,
    written: [u64; 2],
}

impl JournalSink {
    /// Opens `run_dir/inputs` and `run_dir/outputs` for `cfg`; `layout` goes into the
    /// manifest (e.g. "backtest: one thread").
    pub fn create(
        cfg: &EngineConfig,
        run_dir: &Path,
        layout: &str,
    ) -> Result<Self, JournalSinkError> {
        let dirs = run_journals::journal_dirs(run_dir);
        let [inputs, outputs] = run_journals::create_single_thread(cfg, run_dir, layout)?;
        Ok(Self {
            dirs,
            writers: [Some(inputs), Some(outputs)],
            error: None,
            written: [0; 2],
        })
    }

    /// Opens only `run_dir/outputs` (inputs are not journaled); `extra` keys go into its
    /// manifest beside the run's.
    pub fn create_outputs(
        cfg: &EngineConfig,
        run_dir: &Path,
        layout: &str,
        extra: &[(String, String)],
    ) -> Result<Self, JournalSinkError> {
        let dirs = run_journals::journal_dirs(run_dir);
        let outputs = run_journals::create_outputs(cfg, run_dir, layout, extra)?;
        Ok(Self {
            dirs,
            writers: [None, Some(outputs)],
            error: None,
            written: [0; 2],
        })
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<&JournalSinkError> {
        self.error.as_ref()
    }

    /// Records written: `[inputs, outputs]`.
    pub fn written(&self) -> [u64; 2] {
        self.written
    }

    /// Closes both journals; returns the first error of the run or of closing.
    pub fn close(mut self) -> Result<[u64; 2], JournalSinkError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        for (slot, dir) in self.writers.iter_mut().zip(&self.dirs) {
            if let Some(mut w) = slot.take() {
                let err = |source| JournalSinkError::Journal {
                    dir: dir.clone(),
                    source,
                };
                let mark = tickrail_engine::runtime::run_files::mark(w.manifest(), "close");
                w.append_mark(&mark).map_err(err)?;
                w.close().map_err(err)?;
            }
        }
        Ok(self.written)
    }

    fn write(&mut self, k: usize, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let Some(writer) = self.writers[k].as_mut() else {
            return;
        };
        match append_event(writer, event) {
            Ok(_) => self.written[k] += 1,
            Err(source) => {
                self.error = Some(JournalSinkError::Codec {
                    dir: self.dirs[k].clone(),
                    source,
                });
            }
        }
    }
}

impl Sink for JournalSink {
    fn input(&mut self, event: &Event) {
        self.write(0, event);
    }
    fn output(&mut self, event: &Event) {
        self.write(1, event);
    }
}
