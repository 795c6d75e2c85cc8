//! Replaying a run's journaled inputs through fresh stages and comparing every output
//! with the journaled one, byte for byte (the rkyv archive of each event).
//!
//! Streaming: both journals are read record by record, nothing is loaded whole.

use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, BuildError};
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{archive_event, decode_event, CodecError, Event};
use tickrail_journal::{JournalError, JournalReader};

/// Why a verification could not run (a divergence is not an error: see [`Verdict`]).
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

fn open(dir: &Path) -> Result<JournalReader, VerifyError> {
    JournalReader::open(dir).map_err(|source| VerifyError::Journal {
        dir: dir.to_path_buf(),
        source,
    })
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

/// Replays `run_dir/inputs` through a chain built from `cfg` on this thread and compares
/// each output with `run_dir/outputs`.
pub fn verify_run(cfg: &EngineConfig, run_dir: &Path) -> Result<Verdict, VerifyError> {
    let (in_dir, out_dir) = (run_dir.join("inputs"), run_dir.join("outputs"));
    let mut inputs = open(&in_dir)?;
    let mut outputs = open(&out_dir)?;
    let mut chain = build_chain(cfg, BookSizing::default())?;
    let mut out = Outbox::new(max_outputs_per_event(cfg), 1);
    let (mut n_in, mut n_out) = (0u64, 0u64);
    while let Some(input) = next(&mut inputs, &in_dir)? {
        n_in += 1;
        chain.on_event(&input, &mut out);
        for got in out.events() {
            let want = next(&mut outputs, &out_dir)?;
            match want {
                Some(w) if archive_event(&w) == archive_event(got) => n_out += 1,
                _ => {
                    return Ok(Verdict::Diverged {
                        input_sequence: Some(input.header.sequence),
                        expected: want,
                        actual: Some(*got),
                    })
                }
            }
        }
        out.clear();
    }
    if let Some(extra) = next(&mut outputs, &out_dir)? {
        return Ok(Verdict::Diverged {
            input_sequence: None,
            expected: Some(extra),
            actual: None,
        });
    }
    Ok(Verdict::Identical {
        inputs: n_in,
        outputs: n_out,
    })
}
