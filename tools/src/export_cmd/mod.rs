//! `tickrail journal export`: a journal as a Parquet or CSV table, one row per event, to
//! open in pandas, polars, DuckDB or a spreadsheet.
//!
//! ```text
//! tickrail journal export DIR [--format parquet|csv] [-o FILE|-] [--kind K,..] [--from SEQ] [--to SEQ]
//! ```
//!
//! - The output defaults to `DIR.parquet` or `DIR.csv` next to the journal directory
//!   (`runs/x/inputs` → `runs/x/inputs.parquet`); `-o -` writes to stdout (meant for CSV).
//!   Without `--format`, the format follows `-o`'s extension (`.csv` → CSV), CSV for `-o -`,
//!   else Parquet.
//! - One row per event record, in journal order. Journal-internal records (the manifest,
//!   end-of-segment markers) are not events and are never exported; records of a user kind
//!   that is not an event kind are skipped and counted in the summary.
//! - `--kind` keeps only the named event kinds; `--from`/`--to` an inclusive sequence range
//!   (the reader seeks to `--from` through the segment index and stops after `--to`).
//! - A file is written under a temporary name next to its destination and renamed into place
//!   only when complete: a failed export (a corrupt record half-way) leaves no file that
//!   looks whole. A corrupt or missing journal is an error naming the file and offset, as
//!   `inspect` and `verify` report it; the exit status is then 1.
//!
//! **Streaming, bounded memory.** Records are read one at a time, zero-copy from the mapped
//! segments, decoded and appended to column builders. Every 8,192 rows the builders become
//! an Arrow record batch handed to the Parquet writer, which encodes it into the row group in
//! progress and writes each row group of 65,536 rows to the file as it fills. At no point is
//! the journal, or more than one row group of it, held in memory; CSV is written line by
//! line through a buffer.
//!
//! The table's columns and types are in [`schema`]; [`parquet_sink`] and [`csv_sink`] write
//! the rows.

mod csv_sink;
mod parquet_sink;
mod schema;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use parquet::file::metadata::KeyValue;
use tickrail_engine::codec::CodecError;
use tickrail_engine::{decode_event, event_kind, EventKind};
use tickrail_journal::JournalReader;

use csv_sink::CsvSink;
use parquet_sink::ParquetSink;
use schema::{Row, COLUMNS};

/// Bytes buffered before CSV text goes to the output.
const CSV_BUFFER_BYTES: usize = 1 << 16;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Apache Parquet: typed, columnar (pandas.read_parquet, polars.read_parquet).
    Parquet,
    /// Comma-separated text with a header row; prices as exact decimals.
    Csv,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Self::Parquet => "parquet",
            Self::Csv => "csv",
        }
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Journal directory.
    dir: PathBuf,
    /// Output format [default: from -o's extension; csv for `-o -`; else parquet].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Output file, `-` for stdout [default: DIR.parquet or DIR.csv next to the journal
    /// directory]. Written under a temporary name and renamed when complete.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Only these event kinds (repeatable or comma-separated): quote, trade, book_level,
    /// order_add, order_modify, order_delete, order_execute, order_replace, trading_status,
    /// exec_report, timer, command, feed_gap, signal, order_new, order_cancel, order_amend,
    /// risk_reject.
    #[arg(long = "kind", value_delimiter = ',')]
    kinds: Vec<String>,
    /// First sequence to export (inclusive).
    #[arg(long)]
    from: Option<u64>,
    /// Last sequence to export (inclusive).
    #[arg(long)]
    to: Option<u64>,
}

/// Run `tickrail journal export`.
pub fn run(a: &ExportArgs) -> Result<ExitCode> {
    let filter = Filter {
        kinds: parse_kinds(&a.kinds)?,
        from: a.from.unwrap_or(0),
        to: a.to.unwrap_or(u64::MAX),
    };
    if filter.from > filter.to {
        bail!(
            "--from {} is after --to {}: nothing to export",
            filter.from,
            filter.to
        );
    }
    let to_stdout = a.output.as_deref() == Some(Path::new("-"));
    let format = a.format.unwrap_or(match a.output.as_deref() {
        _ if to_stdout => Format::Csv,
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Format::Csv,
        _ => Format::Parquet,
    });

    // The journal is opened before any output exists: a bad journal leaves no file behind.
    let mut reader = JournalReader::open(&a.dir).context("opening journal")?;
    if let Some(from) = a.from {
        reader
            .seek(from)
            .with_context(|| format!("seeking to sequence {from}"))?;
    }
    let metadata = key_value_metadata(&a.dir, a);
    let started = crate::clock::monotonic();

    if to_stdout {
        let done = export(
            &mut reader,
            &filter,
            format,
            Box::new(std::io::stdout()),
            metadata,
        )?;
        eprintln!(
            "exported {} to stdout ({}) in {:.3} s",
            done.describe(),
            format.extension(),
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let dest = match &a.output {
        Some(p) => p.clone(),
        None => default_output(&a.dir, format)?,
    };
    let pending = PendingFile::create(&dest)?;
    let file = pending
        .file
        .try_clone()
        .with_context(|| format!("writing {}", pending.tmp.display()))?;
    let done = export(&mut reader, &filter, format, Box::new(file), metadata)?;
    pending.commit()?;
    let bytes = std::fs::metadata(&dest).map_or(0, |m| m.len());
    let groups = done
        .row_groups
        .map(|g| format!("{g} row group(s), "))
        .unwrap_or_default();
    outln!(
        "exported {} to {} ({}: {}{} columns, {} bytes) in {:.3} s",
        done.describe(),
        dest.display(),
        format.extension(),
        groups,
        COLUMNS.len(),
        bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// What an export wrote.
struct Done {
    rows: u64,
    /// Records of a user kind that is not an event kind.
    skipped: u64,
    /// Parquet only.
    row_groups: Option<usize>,
}

impl Done {
    fn describe(&self) -> String {
        let mut s = format!("{} event(s)", self.rows);
        if self.skipped > 0 {
            s.push_str(&format!(" (skipped {} non-event record(s))", self.skipped));
        }
        s
    }
}

/// Stream the reader's matching events into `out` in `format`.
fn export(
    reader: &mut JournalReader,
    filter: &Filter,
    format: Format,
    out: Box<dyn Write + Send>,
    metadata: Vec<KeyValue>,
) -> Result<Done> {
    match format {
        Format::Parquet => {
            let mut sink = ParquetSink::new(out, metadata)?;
            let (rows, skipped) = pump(reader, filter, |row| sink.push(row))?;
            let row_groups = sink.finish()?;
            Ok(Done {
                rows,
                skipped,
                row_groups: Some(row_groups),
            })
        }
        Format::Csv => {
            let mut sink = CsvSink::new(out, CSV_BUFFER_BYTES)?;
            let (rows, skipped) = pump(reader, filter, |row| sink.push(row))?;
            sink.finish()?;
            Ok(Done {
                rows,
                skipped,
                row_groups: None,
            })
        }
    }
}

/// Which events to export.
struct Filter {
    /// Empty: every kind.
    kinds: Vec<EventKind>,
    from: u64,
    to: u64,
}

fn parse_kinds(names: &[String]) -> Result<Vec<EventKind>> {
    let valid = || {
        EventKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            EventKind::from_name(n).ok_or_else(|| match n {
                "manifest" | "end_of_segment" => anyhow!(
                    "kind {n:?} is a journal-internal record, not an event: export writes \
                     events only; valid kinds: {}",
                    valid()
                ),
                _ => anyhow!("unknown kind {n:?}; valid kinds: {}", valid()),
            })
        })
        .collect()
}

/// Read records one at a time and hand each matching event's row to `push`. Returns the
/// rows pushed and the non-event records skipped.
fn pump(
    reader: &mut JournalReader,
    f: &Filter,
    mut push: impl FnMut(&Row) -> Result<()>,
) -> Result<(u64, u64)> {
    let (mut rows, mut skipped) = (0u64, 0u64);
    loop {
        let Some(rec) = reader.next().context("reading journal")? else {
            break;
        };
        let Some(kind) = event_kind(rec.kind) else {
            skipped += 1;
            continue;
        };
        // Sequences never decrease along a journal.
        if rec.sequence > f.to {
            break;
        }
        if rec.sequence < f.from || !(f.kinds.is_empty() || f.kinds.contains(&kind)) {
            continue;
        }
        let offset = rec.position.offset;
        let event = match decode_event(&rec) {
            Ok(e) => e,
            Err(e) => {
                let path = reader.segment_path().display();
                match e {
                    // The codec's other errors name segment and offset already.
                    CodecError::Invalid(_) => bail!("{path}: offset {offset}: {e}"),
                    _ => bail!("{path}: {e}"),
                }
            }
        };
        push(&Row::from_event(&event)?)?;
        rows += 1;
    }
    Ok((rows, skipped))
}

/// `DIR.<ext>` next to the journal directory.
fn default_output(dir: &Path, format: Format) -> Result<PathBuf> {
    let dir = if dir.file_name().is_some() {
        dir.to_path_buf()
    } else {
        // `.`, `..`, `runs/x/..`: name the file after the directory it resolves to.
        dir.canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?
    };
    let Some(name) = dir.file_name() else {
        bail!(
            "{}: cannot name the output after this directory; give -o FILE",
            dir.display()
        );
    };
    let mut name = name.to_os_string();
    name.push(".");
    name.push(format.extension());
    Ok(dir.with_file_name(name))
}

/// The Parquet key-value metadata: the journal, the filter and the manifest.
fn key_value_metadata(dir: &Path, a: &ExportArgs) -> Vec<KeyValue> {
    let mut kv = vec![
        KeyValue::new("tickrail.journal".into(), dir.display().to_string()),
        KeyValue::new(
            "tickrail.filter".into(),
            format!(
                "kinds={} from={} to={}",
                if a.kinds.is_empty() {
                    "all".to_string()
                } else {
                    a.kinds.join(",")
                },
                a.from.map_or("-".into(), |s| s.to_string()),
                a.to.map_or("-".into(), |s| s.to_string()),
            ),
        ),
    ];
    // A manifest that does not read is reported by the record reader, with its place.
    if let Ok(m) = tickrail_journal::read_manifest(dir) {
        kv.extend(
            m.entries()
                .map(|(k, v)| KeyValue::new(format!("tickrail.manifest.{k}"), v.to_string())),
        );
    }
    kv
}

/// An output file written under a temporary name and renamed into place by
/// [`PendingFile::commit`]; dropped uncommitted, the temporary file is removed.
struct PendingFile {
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl PendingFile {
    fn create(dest: &Path) -> Result<Self> {
        let Some(name) = dest.file_name() else {
            bail!("{}: not a file name", dest.display());
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = dest.with_file_name(tmp_name);
        let file = File::create(&tmp).with_context(|| format!("creating {}", dest.display()))?;
        Ok(Self {
            file,
            tmp,
            dest: dest.to_path_buf(),
            committed: false,
        })
    }

    fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.dest.display())
        })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the error being returned matters more than a leftover file.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
