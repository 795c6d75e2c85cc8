//! [`BinanceSource`]: a capture file (or any reader) as a [`FeedSource`], read line by line
//! through one reused buffer.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::Path;

use tickrail_engine::Event;

use super::decode::{BinanceStats, Decoder};
use super::options::BinanceOptions;
use crate::feed::{open_maybe_gz, FeedSource, FeedStats, InstrumentMap, OpenError};

/// A Binance websocket capture as a stream of events; see the [module docs](super).
///
/// Memory is bounded whatever the input: one line buffer (at most
/// [`BinanceOptions::max_line_bytes`]), the events of one line, the kept diffs
/// ([`BinanceOptions::replay_lines`]) and, per instrument, the set of price levels the
/// emitted book holds.
pub struct BinanceSource<R = Box<dyn BufRead + Send>> {
    reader: R,
    line: Vec<u8>,
    line_no: u64,
    done: bool,
    decoder: Decoder,
}

impl<R> fmt::Debug for BinanceSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceSource")
            .field("line_no", &self.line_no)
            .field("done", &self.done)
            .field("decoder", &self.decoder)
            .finish_non_exhaustive()
    }
}

impl BinanceSource {
    /// Opens the capture at `path` (`.gz` decompressed on the fly) for venue `source`.
    ///
    /// Fails if the file cannot be opened, or if `options` select both the depth stream and
    /// `bookTicker` (a `Quote` clears the book the depth diffs build; use two sources).
    pub fn open(
        path: &Path,
        source: u16,
        instruments: InstrumentMap,
        options: BinanceOptions,
    ) -> Result<Self, OpenError> {
        let file = path.display().to_string();
        check(&file, &options)?;
        let reader = open_maybe_gz(path)?;
        Self::from_reader(reader, file, source, instruments, options)
    }
}

/// Refuses option sets that cannot work.
fn check(file: &str, options: &BinanceOptions) -> Result<(), OpenError> {
    let refuse = |reason: &str| {
        Err(OpenError {
            file: file.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if options.streams.depth && options.streams.book_ticker {
        return refuse(
            "depth and bookTicker both selected: a Quote clears the book the depth diffs \
             build (open one source per stream)",
        );
    }
    if options.max_line_bytes == 0 {
        return refuse("max_line_bytes must be positive");
    }
    Ok(())
}

impl<R: BufRead> BinanceSource<R> {
    /// Reads a capture from `reader` (already decompressed); `file` names it in reports.
    pub fn from_reader(
        reader: R,
        file: impl Into<String>,
        source: u16,
        instruments: InstrumentMap,
        options: BinanceOptions,
    ) -> Result<Self, OpenError> {
        let file = file.into();
        check(&file, &options)?;
        Ok(Self {
            reader,
            line: Vec::with_capacity(1 << 16),
            line_no: 0,
            done: false,
            decoder: Decoder::new(file, source, instruments.entries().to_vec(), options),
        })
    }

    /// The Binance-specific counters.
    pub fn binance_stats(&self) -> &BinanceStats {
        &self.decoder.binance
    }

    /// The options the source was opened with.
    pub fn options(&self) -> &BinanceOptions {
        self.decoder.options()
    }

    /// Reads the next line into `self.line`: `Ok(None)` at the end, `Ok(Some(true))` if it
    /// was longer than the limit (it is then read to its end and dropped, never held).
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.line.clear();
        let max = self.decoder.options().max_line_bytes as u64;
        // One byte over the limit tells a full-length line from a longer one.
        let n = (&mut self.reader)
            .take(max.saturating_add(1))
            .read_until(b'\n', &mut self.line)?;
        self.decoder.stats.bytes += n as u64;
        if n == 0 {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\n') || n as u64 <= max {
            return Ok(Some(false));
        }
        loop {
            self.line.clear();
            let n = (&mut self.reader)
                .take(max)
                .read_until(b'\n', &mut self.line)?;
            self.decoder.stats.bytes += n as u64;
            if n == 0 || self.line.last() == Some(&b'\n') {
                self.line.clear();
                return Ok(Some(true));
            }
        }
    }
}

impl<R: BufRead> FeedSource for BinanceSource<R> {
    fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.decoder.pop() {
                return Some(event);
            }
            if self.done {
                return None;
            }
            match self.read_line() {
                Ok(None) => self.done = true,
                Ok(Some(too_long)) => {
                    self.line_no += 1;
                    if too_long {
                        self.decoder.stats.records += 1;
                        let max = self.decoder.options().max_line_bytes;
                        self.decoder
                            .skip(self.line_no, format_args!("line longer than {max} bytes"));
                    } else {
                        self.decoder.line(self.line_no, &self.line);
                    }
                }
                Err(e) => {
                    self.done = true;
                    self.decoder.stats.fatal = Some(format!(
                        "{}: read error after line {}: {e}",
                        self.decoder.file(),
                        self.line_no
                    ));
                }
            }
        }
    }

    fn stats(&self) -> &FeedStats {
        &self.decoder.stats
    }
}
