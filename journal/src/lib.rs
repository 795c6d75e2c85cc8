//! # tickrail-journal
//!
//! A segmented, memory-mapped, append-only record log: the journal every tickrail event is
//! written to and replayed from. See `docs/JOURNAL.md` for the byte-level format.
//!
//! - [`JournalWriter`]: the one writer (a lock file enforces it). Appends are a copy into a
//!   pre-touched mapping, a CRC32C and a release store; no syscall on the hot path.
//! - [`JournalReader`]: zero-copy readers, in this process or another, that can follow a
//!   live writer.
//! - [`recovery`]: on open, keeps every record whose CRC holds and cuts a torn tail.
//! - [`verify()`]: a full integrity check.
//!
//! Module map: `format` (layout and constants), `commit` (the publication protocol),
//! `mapped` (the memory maps) and `crc` (SSE4.2 CRC32C) — the only modules with `unsafe` —,
//! `record` (checking one record), `segment`
//! (segment files), `writer`, `reader`, `recovery`, `verify`, `background` (preallocation and
//! async msync threads), `lock`, `manifest`, `options`, `error`.

pub mod background;
pub mod commit;
pub mod content;
mod crc;
pub mod error;
pub mod format;
pub mod lock;
pub mod manifest;
mod mapped;
pub mod options;
pub mod reader;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod verify;
pub mod writer;

pub use content::ContentHash;
pub use error::{JournalError, Result};
pub use format::FIRST_USER_KIND;
pub use manifest::Manifest;
pub use options::{Durability, JournalOptions};
pub use reader::{read_manifest, read_marks, JournalReader, Record};
pub use recovery::{Cut, RecoveryReport};
pub use verify::{verify, Problem, VerifyReport};
pub use writer::{JournalWriter, Position, WriterStats};
