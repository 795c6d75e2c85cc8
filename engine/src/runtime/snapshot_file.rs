//! Snapshot files: the chain's and the Sequencer's state at an input sequence, to start a
//! rebuild from instead of from the first input (docs/DESIGN.md §1, "Recovery").
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
//! | payload | `u64` length of the chain state, the chain state (`crate::pipeline::snapshot::encode_chain`), the Sequencer state (`encode_sequencer`) |
//!
//! The state encoding is postcard over the engine's types, so a snapshot is only good for
//! the binary version that wrote it (checked like the config and model hashes).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::EngineConfig;
use crate::pipeline::snapshot::{
    decode_chain_into, decode_sequencer, encode_chain, encode_sequencer,
};
use crate::pipeline::{build_chain, BookSizing, BuildError, TradingChain};
use crate::runtime::threads::manifest;
use crate::sequencer::Sequencer;

/// The first bytes of every snapshot file.
pub const MAGIC: [u8; 8] = *b"TKRLSNAP";
/// The format version this binary writes and reads.
pub const FORMAT_VERSION: u32 = 2;
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
        source: crate::pipeline::snapshot::SnapshotError,
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

/// A snapshot file's parts as stored, checked (magic, version, lengths and CRC) but not
/// decoded: the header and the two encoded states. [`load_snapshot`] is the checked way to
/// a chain; this is for tools that inspect or rewrite snapshot files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The header.
    pub meta: SnapshotMeta,
    /// The encoded chain state.
    pub chain: Vec<u8>,
    /// The encoded Sequencer state.
    pub sequencer: Vec<u8>,
}

impl SnapshotFile {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<Self, SnapshotError> {
        let bytes = fs::read(path).map_err(io_err(path))?;
        parse_file(path, &bytes)
    }

    /// The file's bytes (CRC computed over them).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut payload = Vec::with_capacity(8 + self.chain.len() + self.sequencer.len());
        payload.extend_from_slice(&(self.chain.len() as u64).to_le_bytes());
        payload.extend_from_slice(&self.chain);
        payload.extend_from_slice(&self.sequencer);
        encode_file(&self.meta, &payload)
    }
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
