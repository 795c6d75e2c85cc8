//! Snapshot files: the chain's and the Sequencer's state at an input sequence, to start a
//! rebuild from instead of from the first input (DESIGN.md §1, "Recovery").
//!
//! A snapshot of a run lives at `RUN/snapshots/<input sequence, 20 digits>.snap` and holds
//! the state *after* that input. [`write_snapshot`] writes it to a temporary file in the
//! same directory, fsyncs it, renames it into place and fsyncs the directory, so a file
//! under its final name is always whole. [`load_snapshot`] checks everything before it
//! restores anything, and each refusal is a [`SnapshotError`] naming the file.
//!
//! # Format (version 1; integers little-endian)
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `TKRLSNAP` |
//! | 4 | format version (`u32`, [`FORMAT_VERSION`]) |
//! | 8 | input sequence: the state is after this input (`u64`) |
//! | 8 | next output sequence (`u64`) |
//! | 8 | receive time of that input, ns (`i64`) |
//! | 2 + n | binary version (`u16` length, UTF-8), as in the journal manifest |
//! | 2 + n | config hash (the same) |
//! | 2 + n | model hash (the same) |
//! | 8 | payload length (`u64`) |
//! | 4 | CRC32C of every byte above and the payload |
//! | payload | `u64` length of the chain state, the chain state (`tickrail_engine::pipeline::snapshot::encode_chain`), the Sequencer state (`encode_sequencer`) |
//!
//! The state encoding is postcard over the engine's types, so a snapshot is only good for
//! the binary version that wrote it (checked like the config and model hashes).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::snapshot::{
    decode_chain_into, decode_sequencer, encode_chain, encode_sequencer,
};
use tickrail_engine::pipeline::{build_chain, BookSizing, BuildError, TradingChain};
use tickrail_engine::runtime::threads::manifest;
use tickrail_engine::sequencer::Sequencer;

/// The first bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"TKRLSNAP";
/// The format version this binary writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The snapshot directory inside a run directory.
pub const SNAPSHOT_DIR: &str = "snapshots";
/// The extension of a snapshot file.
pub const EXTENSION: &str = "snap";

/// Longest header string accepted (they are short hashes and versions).
const MAX_STRING: usize = 1024;

/// What a snapshot says about itself: where in the run it is and what wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// The state is after this input.
    pub input_sequence: u64,
    /// The sequence the chain's next output gets.
    pub next_output_sequence: u64,
    /// The receive time of input `input_sequence`, ns (the event clock resumes there).
    pub last_input_ns: i64,
    /// The binary version, as in the journal manifest.
    pub binary_version: String,
    /// The config hash, as in the journal manifest.
    pub config_hash: String,
    /// The model hash, as in the journal manifest.
    pub model_hash: String,
}

impl SnapshotMeta {
    /// The meta of a snapshot taken now of a chain built from `cfg`: this binary's version
    /// and `cfg`'s config and model hashes, as the journal manifest writes them.
    pub fn new(
        cfg: &EngineConfig,
        input_sequence: u64,
        next_output_sequence: u64,
        last_input_ns: i64,
    ) -> Self {
        let m = manifest(cfg, "snapshot");
        let get = |key: &str| m.get(key).unwrap_or_default().to_owned();
        Self {
            input_sequence,
            next_output_sequence,
            last_input_ns,
            binary_version: get("binary_version"),
            config_hash: get("config_hash"),
            model_hash: get("model_hash"),
        }
    }
}

/// Why a snapshot could not be written, listed or loaded. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Reading or writing failed.
    #[error("{file}: {source}")]
    Io {
        /// The file or directory.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a snapshot file.
    #[error("{file}: not a tickrail snapshot (bad magic {found:02x?})")]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// Its first bytes.
        found: Vec<u8>,
    },
    /// A format version this binary does not read.
    #[error("{file}: snapshot format version {found}, this binary reads version {FORMAT_VERSION}")]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The file's version.
        found: u32,
    },
    /// The file ends early.
    #[error(
        "{file}: truncated: the {what} needs {need} bytes at offset {offset}, the file has {len}"
    )]
    Truncated {
        /// The file.
        file: PathBuf,
        /// The part that is cut.
        what: &'static str,
        /// Where that part starts.
        offset: u64,
        /// Bytes it needs.
        need: u64,
        /// The file's length.
        len: u64,
    },
    /// Bytes after the payload, or a header field that makes no sense.
    #[error("{file}: malformed: {what}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The header and payload do not match their CRC: the file is damaged.
    #[error(
        "{file}: CRC mismatch: stored {stored:08x}, computed {computed:08x} (the file is damaged)"
    )]
    Crc {
        /// The file.
        file: PathBuf,
        /// The CRC in the file.
        stored: u32,
        /// The CRC of its bytes.
        computed: u32,
    },
    /// Written by another binary version, or for another config or model.
    #[error("{file}: taken with another {what}: the snapshot's is {snapshot}, this engine's is {current}")]
    Mismatch {
        /// The file.
        file: PathBuf,
        /// "binary version", "config hash" or "model hash".
        what: &'static str,
        /// The snapshot's value.
        snapshot: String,
        /// This engine's value.
        current: String,
    },
    /// The payload does not decode, or does not fit the chain built from the config.
    #[error("{file}: the payload does not decode: {source}")]
    Payload {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: tickrail_engine::pipeline::snapshot::SnapshotError,
    },
    /// The header disagrees with itself or with the state (or the file name).
    #[error("{file}: inconsistent: {what}")]
    Inconsistent {
        /// The file.
        file: PathBuf,
        /// What disagrees.
        what: String,
    },
    /// The chain could not be built from the config.
    #[error("{file}: {source}")]
    Build {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: Box<BuildError>,
    },
}

fn io_err(file: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        file: file.to_path_buf(),
        source,
    }
}

/// The snapshot directory of `run_dir`.
pub fn snapshot_dir(run_dir: &Path) -> PathBuf {
    run_dir.join(SNAPSHOT_DIR)
}

/// The file name of the snapshot after input `input_sequence`.
pub fn snapshot_file_name(input_sequence: u64) -> String {
    format!("{input_sequence:020}.{EXTENSION}")
}

/// The input sequence a snapshot file name stands for (`None` for other names, such as the
/// temporary files of a write in progress).
fn sequence_of_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Header strings are short versions and hashes; longer ones are refused by `encode_file`.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The whole file for `meta` and `payload`.
fn encode_file(meta: &SnapshotMeta, payload: &[u8]) -> Result<Vec<u8>, String> {
    for (what, s) in [
        ("binary version", &meta.binary_version),
        ("config hash", &meta.config_hash),
        ("model hash", &meta.model_hash),
    ] {
        if s.len() > MAX_STRING {
            return Err(format!("the {what} is {} bytes long", s.len()));
        }
    }
    let mut out = Vec::with_capacity(128 + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&meta.input_sequence.to_le_bytes());
    out.extend_from_slice(&meta.next_output_sequence.to_le_bytes());
    out.extend_from_slice(&meta.last_input_ns.to_le_bytes());
    put_str(&mut out, &meta.binary_version);
    put_str(&mut out, &meta.config_hash);
    put_str(&mut out, &meta.model_hash);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Reads a header field by field, naming the file and the field when it runs out.
struct Cursor<'a> {
    file: &'a Path,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], SnapshotError> {
        match self.bytes.get(self.at..self.at.saturating_add(n)) {
            Some(b) => {
                self.at += n;
                Ok(b)
            }
            None => Err(SnapshotError::Truncated {
                file: self.file.to_path_buf(),
                what,
                offset: self.at as u64,
                need: n as u64,
                len: self.bytes.len() as u64,
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], SnapshotError> {
        let b = self.take(what, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, SnapshotError> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, SnapshotError> {
        self.array(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &'static str) -> Result<String, SnapshotError> {
        let len = usize::from(u16::from_le_bytes(self.array(what)?));
        let bytes = self.take(what, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| SnapshotError::Malformed {
            file: self.file.to_path_buf(),
            what: format!("the {what} is not UTF-8"),
        })
    }
}

/// A snapshot file, checked: magic, version, lengths and CRC. The payload is not decoded.
struct SnapshotFile {
    meta: SnapshotMeta,
    /// The chain state and the Sequencer state.
    chain: Vec<u8>,
    sequencer: Vec<u8>,
}

fn parse_file(file: &Path, bytes: &[u8]) -> Result<SnapshotFile, SnapshotError> {
    let mut c = Cursor { file, bytes, at: 0 };
    // Shorter than the magic: truncated if what is there starts it, else not a snapshot.
    let start = &bytes[..bytes.len().min(MAGIC.len())];
    if !MAGIC.starts_with(start) {
        return Err(SnapshotError::BadMagic {
            file: file.to_path_buf(),
            found: start.to_vec(),
        });
    }
    c.take("magic", MAGIC.len())?;
    let version = c.u32("format version")?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            file: file.to_path_buf(),
            found: version,
        });
    }
    let input_sequence = c.u64("input sequence")?;
    let next_output_sequence = c.u64("next output sequence")?;
    let last_input_ns = i64::from_le_bytes(c.array("last input time")?);
    let binary_version = c.string("binary version")?;
    let config_hash = c.string("config hash")?;
    let model_hash = c.string("model hash")?;
    let payload_len = c.u64("payload length")?;
    let header_end = c.at;
    let stored = c.u32("CRC")?;
    let payload_len = usize::try_from(payload_len).unwrap_or(usize::MAX);
    let payload = c.take("payload", payload_len)?;
    if c.at != bytes.len() {
        return Err(SnapshotError::Malformed {
            file: file.to_path_buf(),
            what: format!(
                "{} bytes after the {payload_len}-byte payload",
                bytes.len() - c.at
            ),
        });
    }
    let computed = crc32c::crc32c_append(crc32c::crc32c(&bytes[..header_end]), payload);
    if computed != stored {
        return Err(SnapshotError::Crc {
            file: file.to_path_buf(),
            stored,
            computed,
        });
    }
    let mut p = Cursor {
        file,
        bytes: payload,
        at: 0,
    };
    let chain_len = usize::try_from(p.u64("chain state length")?).unwrap_or(usize::MAX);
    let chain = p.take("chain state", chain_len)?.to_vec();
    let sequencer = payload[p.at..].to_vec();
    Ok(SnapshotFile {
        meta: SnapshotMeta {
            input_sequence,
            next_output_sequence,
            last_input_ns,
            binary_version,
            config_hash,
            model_hash,
        },
        chain,
        sequencer,
    })
}

/// Writes the snapshot of `chain` and `sequencer` after input `meta.input_sequence` to
/// `run_dir/snapshots/` (created): temporary file, fsync, rename, fsync of the directory.
/// Returns the file's path. An existing snapshot of the same sequence is replaced.
///
/// `sequencer` must be the one that stamped that input: its next sequence is
/// `meta.input_sequence + 1` ([`SnapshotError::Inconsistent`] otherwise).
pub fn write_snapshot(
    run_dir: &Path,
    meta: &SnapshotMeta,
    chain: &TradingChain,
    sequencer: &Sequencer,
) -> Result<PathBuf, SnapshotError> {
    let dir = snapshot_dir(run_dir);
    let path = dir.join(snapshot_file_name(meta.input_sequence));
    if sequencer.next_sequence() != meta.input_sequence.wrapping_add(1) {
        return Err(SnapshotError::Inconsistent {
            file: path,
            what: format!(
                "a snapshot after input {} with a Sequencer whose next sequence is {}",
                meta.input_sequence,
                sequencer.next_sequence()
            ),
        });
    }
    let chain_bytes = encode_chain(chain);
    let sequencer_bytes = encode_sequencer(sequencer);
    let mut payload = Vec::with_capacity(8 + chain_bytes.len() + sequencer_bytes.len());
    payload.extend_from_slice(&(chain_bytes.len() as u64).to_le_bytes());
    payload.extend_from_slice(&chain_bytes);
    payload.extend_from_slice(&sequencer_bytes);
    let bytes = encode_file(meta, &payload).map_err(|what| SnapshotError::Malformed {
        file: path.clone(),
        what,
    })?;

    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let tmp = dir.join(format!(".{}.tmp", snapshot_file_name(meta.input_sequence)));
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(&dir))?;
    Ok(path)
}

/// The snapshots of `run_dir`, `(input sequence, path)`, newest (highest sequence) first.
/// Other files in the directory (a write in progress) are ignored; no snapshot directory
/// is an empty list. The files are not opened: [`load_snapshot`] checks each.
pub fn list_snapshots(run_dir: &Path) -> Result<Vec<(u64, PathBuf)>, SnapshotError> {
    let dir = snapshot_dir(run_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(&dir))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(sequence_of_name) {
            found.push((seq, entry.path()));
        }
    }
    found.sort_unstable_by(|a, b| b.cmp(a));
    Ok(found)
}

/// Reads only the header of a snapshot, checked whole (magic, version, lengths, CRC) but
/// neither compared with a config nor decoded.
pub fn read_snapshot_meta(path: &Path) -> Result<SnapshotMeta, SnapshotError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    parse_file(path, &bytes).map(|f| f.meta)
}

/// Loads the snapshot at `path` for `cfg`: checks the file (magic, version, lengths, CRC),
/// that it was taken by this binary version with `cfg`'s config and model hashes, builds
/// the chain with `build_chain(cfg, BookSizing::default())` and restores it and the
/// Sequencer. The chain's next output is `meta.next_output_sequence`; the Sequencer's next
/// input is `meta.input_sequence + 1`.
pub fn load_snapshot(
    path: &Path,
    cfg: &EngineConfig,
) -> Result<(SnapshotMeta, TradingChain, Sequencer), SnapshotError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let file = parse_file(path, &bytes)?;
    let meta = file.meta;
    let ours = SnapshotMeta::new(cfg, 0, 0, 0);
    for (what, snapshot, current) in [
        ("binary version", &meta.binary_version, &ours.binary_version),
        ("config hash", &meta.config_hash, &ours.config_hash),
        ("model hash", &meta.model_hash, &ours.model_hash),
    ] {
        if snapshot != current {
            return Err(SnapshotError::Mismatch {
                file: path.to_path_buf(),
                what,
                snapshot: snapshot.clone(),
                current: current.clone(),
            });
        }
    }
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(sequence_of_name);
    if named.is_some_and(|s| s != meta.input_sequence) {
        return Err(SnapshotError::Inconsistent {
            file: path.to_path_buf(),
            what: format!(
                "the file is named for input {}, its header says {}",
                named.unwrap_or_default(),
                meta.input_sequence
            ),
        });
    }
    let payload_err = |source| SnapshotError::Payload {
        file: path.to_path_buf(),
        source,
    };
    let sequencer = decode_sequencer(&file.sequencer).map_err(payload_err)?;
    let mut chain =
        build_chain(cfg, BookSizing::default()).map_err(|source| SnapshotError::Build {
            file: path.to_path_buf(),
            source: Box::new(source),
        })?;
    decode_chain_into(&mut chain, &file.chain).map_err(payload_err)?;
    if sequencer.next_sequence() != meta.input_sequence.wrapping_add(1)
        || sequencer.n_instruments() != cfg.instruments.len()
    {
        return Err(SnapshotError::Inconsistent {
            file: path.to_path_buf(),
            what: format!(
                "the header is after input {} for {} instruments, the Sequencer's next \
                 sequence is {} for {} instruments",
                meta.input_sequence,
                cfg.instruments.len(),
                sequencer.next_sequence(),
                sequencer.n_instruments()
            ),
        });
    }
    Ok((meta, chain, sequencer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Recorder, Runner};
    use tickrail_engine::pipeline::max_outputs_per_event;
    use tickrail_engine::runtime::clock;
    use tickrail_engine::stage::{Outbox, Stage};
    use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket, SYNTHETIC_START_NS};

    fn config() -> EngineConfig {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
        EngineConfig::load(path).unwrap()
    }

    /// The chain and Sequencer after the synthetic market's first `ms` milliseconds, with
    /// the meta of a snapshot there.
    fn state_after(cfg: &EngineConfig, ms: i64) -> (SnapshotMeta, TradingChain, Sequencer) {
        let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg)).unwrap();
        let chain = build_chain(cfg, BookSizing::default()).unwrap();
        let max = max_outputs_per_event(cfg);
        let mut runner =
            Runner::new(market, chain, cfg.instruments.len(), max).with_timers(cfg.timers());
        let mut rec = Recorder::default();
        runner.run_until(SYNTHETIC_START_NS + ms * 1_000_000, &mut rec);
        // The same state again, by feeding the recorded inputs to a fresh chain.
        let mut chain = build_chain(cfg, BookSizing::default()).unwrap();
        let mut sequencer = Sequencer::new(1, cfg.instruments.len());
        for v in &cfg.venues {
            sequencer.register_source(v.id);
        }
        let mut out = Outbox::new(max, 1);
        for e in &rec.inputs {
            sequencer.observe(e);
            chain.on_event(e, &mut out);
            out.clear();
        }
        assert_eq!(out.next_sequence(), rec.outputs.len() as u64 + 1);
        let last = rec.inputs.last().unwrap().header;
        let meta = SnapshotMeta::new(cfg, last.sequence, out.next_sequence(), last.receive_ts_ns);
        (meta, chain, sequencer)
    }

    fn written(ms: i64) -> (tempfile::TempDir, EngineConfig, SnapshotMeta, PathBuf) {
        let cfg = config();
        let (meta, chain, sequencer) = state_after(&cfg, ms);
        let dir = tempfile::tempdir().unwrap();
        let path = write_snapshot(dir.path(), &meta, &chain, &sequencer).unwrap();
        (dir, cfg, meta, path)
    }

    #[test]
    fn a_snapshot_round_trips() {
        let cfg = config();
        let (meta, chain, sequencer) = state_after(&cfg, 1_000);
        assert!(meta.input_sequence > 1_000, "{meta:?}");
        assert!(chain.downstream.counters().orders > 0, "the chain traded");
        let dir = tempfile::tempdir().unwrap();
        let t0 = clock::now_ns();
        let path = write_snapshot(dir.path(), &meta, &chain, &sequencer).unwrap();
        let t1 = clock::now_ns();
        let (got, restored, seq2) = load_snapshot(&path, &cfg).unwrap();
        let t2 = clock::now_ns();
        eprintln!(
            "snapshot after input {}: {} bytes, write {} µs, load {} µs",
            meta.input_sequence,
            fs::metadata(&path).unwrap().len(),
            (t1 - t0) / 1_000,
            (t2 - t1) / 1_000
        );
        assert_eq!(got, meta);
        assert_eq!(seq2, sequencer);
        assert_eq!(encode_chain(&restored), encode_chain(&chain));
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{:020}.snap", meta.input_sequence)
        );
        assert_eq!(read_snapshot_meta(&path).unwrap(), meta);
        assert_eq!(
            restored.downstream.oms().orders_by_id().count(),
            chain.downstream.oms().orders_by_id().count()
        );

        // Listed newest first; temporary and foreign files are not snapshots.
        let (meta2, chain2, sequencer2) = state_after(&cfg, 300);
        let older = write_snapshot(dir.path(), &meta2, &chain2, &sequencer2).unwrap();
        fs::write(snapshot_dir(dir.path()).join(".x.snap.tmp"), b"partial").unwrap();
        fs::write(snapshot_dir(dir.path()).join("notes.txt"), b"").unwrap();
        assert_eq!(
            list_snapshots(dir.path()).unwrap(),
            vec![
                (meta.input_sequence, path.clone()),
                (meta2.input_sequence, older)
            ]
        );
        let none = tempfile::tempdir().unwrap();
        assert!(list_snapshots(none.path()).unwrap().is_empty());
    }

    #[test]
    fn a_flipped_byte_is_a_crc_error_naming_the_file() {
        let (_dir, cfg, _meta, path) = written(200);
        let mut bytes = fs::read(&path).unwrap();
        // One byte in the payload, one in the header: both are covered.
        for at in [bytes.len() - 7, 14] {
            bytes[at] ^= 0x10;
            fs::write(&path, &bytes).unwrap();
            let err = load_snapshot(&path, &cfg).unwrap_err();
            assert!(matches!(err, SnapshotError::Crc { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains("CRC mismatch"), "{text}");
            bytes[at] ^= 0x10;
        }
        fs::write(&path, &bytes).unwrap();
        assert!(load_snapshot(&path, &cfg).is_ok());
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let (_dir, cfg, _meta, path) = written(200);
        let bytes = fs::read(&path).unwrap();
        for len in [0, 5, 11, 40, bytes.len() / 2, bytes.len() - 1] {
            fs::write(&path, &bytes[..len]).unwrap();
            let err = load_snapshot(&path, &cfg).unwrap_err();
            assert!(
                matches!(err, SnapshotError::Truncated { .. }),
                "{len}: {err}"
            );
            assert!(err.to_string().contains(&path.display().to_string()));
        }
        // A byte too many is refused too.
        let mut longer = bytes.clone();
        longer.push(0);
        fs::write(&path, &longer).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(matches!(err, SnapshotError::Malformed { .. }), "{err}");
        // Not a snapshot at all; a future format version.
        fs::write(&path, b"PAR1 not a snapshot").unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(matches!(err, SnapshotError::BadMagic { .. }), "{err}");
        let mut v2 = bytes.clone();
        v2[8..12].copy_from_slice(&2u32.to_le_bytes());
        fs::write(&path, &v2).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(
            matches!(err, SnapshotError::UnsupportedVersion { found: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn another_config_hash_or_model_is_a_mismatch() {
        let (_dir, cfg, meta, path) = written(200);
        // The same config text with a comment added: another config hash.
        let text = format!("{}\n# another run\n", cfg.text());
        let other = EngineConfig::from_toml_str(&text, &cfg.file).unwrap();
        assert_ne!(other.config_hash_hex(), meta.config_hash);
        let err = load_snapshot(&path, &other).unwrap_err();
        match &err {
            SnapshotError::Mismatch {
                what,
                snapshot,
                current,
                ..
            } => {
                assert_eq!(*what, "config hash");
                assert_eq!(snapshot, &meta.config_hash);
                assert_eq!(current, &other.config_hash_hex());
            }
            e => panic!("not a mismatch: {e}"),
        }
        let text = err.to_string();
        assert!(text.contains(&meta.config_hash) && text.contains(&other.config_hash_hex()));
        assert!(text.contains(&path.display().to_string()), "{text}");

        // Another binary version in the header (CRC recomputed: a well-formed file).
        let bytes = fs::read(&path).unwrap();
        let f = parse_file(&path, &bytes).unwrap();
        let mut payload = (f.chain.len() as u64).to_le_bytes().to_vec();
        payload.extend_from_slice(&f.chain);
        payload.extend_from_slice(&f.sequencer);
        let older = SnapshotMeta {
            binary_version: "0.0.1".into(),
            ..meta.clone()
        };
        fs::write(&path, encode_file(&older, &payload).unwrap()).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::Mismatch {
                    what: "binary version",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_snapshot_is_refused_by_a_chain_of_another_shape() {
        let (_dir, cfg, meta, path) = written(200);
        // Header and payload of another run's chain under this config's hashes: the
        // payload is read against the chain built from the config and refused.
        let bytes = fs::read(&path).unwrap();
        let f = parse_file(&path, &bytes).unwrap();
        let mut payload = (3u64).to_le_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0]);
        payload.extend_from_slice(&f.sequencer);
        fs::write(&path, encode_file(&meta, &payload).unwrap()).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(matches!(err, SnapshotError::Payload { .. }), "{err}");
        assert!(err.to_string().contains("does not decode"), "{err}");
    }
}
