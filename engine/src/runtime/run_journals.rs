//! A run's two journals, `RUN/inputs` and `RUN/outputs`: the one place that creates them
//! (a live run, a backtest) or reopens them (a resume), with the same options, manifests and
//! waiting for the writer's first prepared segment, so every kind of run writes the same
//! journal bytes.

use std::path::{Path, PathBuf};

use tickrail_journal::{JournalError, JournalOptions, JournalWriter, RecoveryReport};

use crate::config::EngineConfig;
use crate::runtime::run_files::{self, RunFilesError};
use crate::runtime::threads::manifest;

/// The streams of a run, in the order of [`journal_dirs`]: inputs, then outputs.
pub const STREAMS: [&str; 2] = ["inputs", "outputs"];

/// Why a run's journals could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenJournalsError {
    /// A journal could not be opened (created or recovered).
    #[error("{dir}: {source}")]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: JournalError,
    },
    /// The run directory's config and model copies could not be written.
    #[error(transparent)]
    RunFiles(#[from] RunFilesError),
}

/// `RUN/inputs` and `RUN/outputs`.
pub fn journal_dirs(run_dir: &Path) -> [PathBuf; 2] {
    STREAMS.map(|s| run_dir.join(s))
}

/// The journal options of `cfg` (segment size).
pub fn journal_options(cfg: &EngineConfig) -> JournalOptions {
    JournalOptions {
        segment_bytes: cfg.runtime.journal_segment_mib * 1024 * 1024,
        ..Default::default()
    }
}

/// A new run in `run_dir`: writes the config and model copies ([`run_files::write`]), then
/// creates both journals with the run's manifest ([`manifest`]; its `layout` key replaced by
/// `layout` if given), and waits until each writer's next segments are prepared: a live
/// run's first writes must not wait for a segment.
pub fn create(
    cfg: &EngineConfig,
    run_dir: &Path,
    layout: Option<&str>,
) -> Result<[JournalWriter; 2], OpenJournalsError> {
    create_both(cfg, run_dir, layout, Prepared::Wait)
}

/// [`create`] for a single-thread run (a backtest) with its `layout`, without waiting for
/// the segments ahead: they are prepared on another core while the run goes, and the
/// writer waits only if it reaches one before it is ready.
pub fn create_single_thread(
    cfg: &EngineConfig,
    run_dir: &Path,
    layout: &str,
) -> Result<[JournalWriter; 2], OpenJournalsError> {
    create_both(cfg, run_dir, Some(layout), Prepared::InBackground)
}

/// Whether opening a journal waits for the writer's next segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prepared {
    Wait,
    InBackground,
}

fn create_both(
    cfg: &EngineConfig,
    run_dir: &Path,
    layout: Option<&str>,
    prepared: Prepared,
) -> Result<[JournalWriter; 2], OpenJournalsError> {
    run_files::write(cfg, run_dir)?;
    let [inputs, outputs] = journal_dirs(run_dir);
    let open = |dir: &Path, stream: &str| {
        let m = manifest(cfg, stream);
        let m = match layout {
            Some(l) => m.with("layout", l),
            None => m,
        };
        open(dir, cfg, &m, prepared).map(|(w, _)| w)
    };
    Ok([open(&inputs, STREAMS[0])?, open(&outputs, STREAMS[1])?])
}

/// A single-thread run in `run_dir` that journals only its outputs (a backtest whose inputs
/// are already a journal): the config and model copies, then `run_dir/outputs` with the
/// run's manifest, its `layout` key replaced by `layout` and `extra` keys added; as
/// [`create_single_thread`], without waiting for the segments ahead.
pub fn create_outputs(
    cfg: &EngineConfig,
    run_dir: &Path,
    layout: &str,
    extra: &[(String, String)],
) -> Result<JournalWriter, OpenJournalsError> {
    run_files::write(cfg, run_dir)?;
    let [_, outputs] = journal_dirs(run_dir);
    let mut m = manifest(cfg, STREAMS[1]).with("layout", layout);
    for (k, v) in extra {
        m.set(k, v);
    }
    open(&outputs, cfg, &m, Prepared::InBackground).map(|(w, _)| w)
}

/// An existing run in `run_dir`, reopened for appending with each journal's own manifest
/// (the caller decided whether a different binary or config may continue it); with what
/// the journal's recovery cut from each.
pub fn reopen(
    cfg: &EngineConfig,
    run_dir: &Path,
) -> Result<([JournalWriter; 2], [RecoveryReport; 2]), OpenJournalsError> {
    let [inputs, outputs] = journal_dirs(run_dir);
    let reopen = |dir: &Path| {
        let m = tickrail_journal::read_manifest(dir).map_err(journal_err(dir))?;
        open(dir, cfg, &m, Prepared::Wait)
    };
    let (wi, ri) = reopen(&inputs)?;
    let (wo, ro) = reopen(&outputs)?;
    Ok(([wi, wo], [ri, ro]))
}

fn open(
    dir: &Path,
    cfg: &EngineConfig,
    manifest: &tickrail_journal::Manifest,
    prepared: Prepared,
) -> Result<(JournalWriter, RecoveryReport), OpenJournalsError> {
    let (mut w, report) =
        JournalWriter::open(dir, journal_options(cfg), manifest).map_err(journal_err(dir))?;
    if prepared == Prepared::Wait {
        w.wait_prepared();
    }
    Ok((w, report))
}

fn journal_err(dir: &Path) -> impl Fn(JournalError) -> OpenJournalsError + '_ {
    move |source| OpenJournalsError::Journal {
        dir: dir.to_path_buf(),
        source,
    }
}
