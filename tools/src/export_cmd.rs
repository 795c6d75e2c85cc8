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
//! # Schema
//!
//! A wide table: the event header in every row, then the body fields of all kinds as
//! nullable columns, shared across kinds where the meaning matches (`price` is a trade's,
//! a level's, an order's or an execution's price). A column is null in the rows of kinds that
//! do not have the field. Enums are their snake_case names, as `inspect` prints them.
//!
//! Prices and quantities are journaled as raw `i64` in units of `10^-price_scale` and
//! `10^-qty_scale` (the row's header scales). In Parquet, the decoded columns are `f64`
//! (`raw / 10^scale`, correctly rounded, so `round(x * 10^scale)` gives the raw value back
//! whenever `|raw| < 2^53`); `price_raw` and `qty_raw` keep the exact integers. In CSV every
//! decoded value is exact decimal text (`101.25`), never through `f64`.
//!
//! | column | Parquet (Arrow) type | null | kinds | meaning |
//! |---|---|---|---|---|
//! | `sequence` | uint64 | no | all | position in the sequenced stream |
//! | `cause_sequence` | uint64 | no | all | the input that caused it (inputs: itself) |
//! | `exchange_ts_ns` | int64 | no | all | venue time, ns since the Unix epoch (0: none) |
//! | `receive_ts_ns` | int64 | no | all | local receive time, ns since the Unix epoch |
//! | `kind` | utf8 (dictionary pages) | no | all | event kind name: `quote`, `trade`, … |
//! | `instrument` | uint32 | no | all | instrument id (timers, commands: scope, may be 0) |
//! | `source` | uint16 | no | all | gateway or venue |
//! | `price_scale` | uint8 | no | all | decimal places of the row's prices |
//! | `qty_scale` | uint8 | no | all | decimal places of the row's quantities |
//! | `side` | utf8 | yes | book_level, order_add, exec_report, order_new | `buy`, `sell` |
//! | `price` | float64 | yes | trade, book_level, order_add/modify/execute/replace, exec_report, order_new, order_amend | price at `price_scale` |
//! | `price_raw` | int64 | yes | as `price` | the raw fixed-point price |
//! | `qty` | float64 | yes | as `price` | quantity at `qty_scale` |
//! | `qty_raw` | int64 | yes | as `price` | the raw fixed-point quantity |
//! | `bid_px`, `ask_px` | float64 | yes | quote | best bid / ask price |
//! | `bid_qty`, `ask_qty` | float64 | yes | quote | quantity at best bid / ask (0: side empty) |
//! | `order_id` | uint64 | yes | order_add/modify/delete/execute, order_replace (the old id) | the venue's L3 order id |
//! | `new_order_id` | uint64 | yes | order_replace | the replacing order's id |
//! | `client_order_id` | uint64 | yes | exec_report, order_new/cancel/amend, risk_reject | our order id |
//! | `orig_client_order_id` | uint64 | yes | order_cancel, order_amend | the order canceled or amended |
//! | `venue_order_id` | uint64 | yes | exec_report | the venue's id for our order |
//! | `trade_id` | uint64 | yes | trade | the venue's trade id |
//! | `match_id` | uint64 | yes | order_execute | the venue's match id |
//! | `aggressor` | utf8 | yes | trade | `unknown`, `buy`, `sell` |
//! | `action` | utf8 | yes | book_level | `upsert`, `delete` |
//! | `level` | uint16 | yes | book_level | depth index, 0 = best |
//! | `status` | utf8 | yes | trading_status | `pre_open`, `auction`, `open`, `halted`, `closed` |
//! | `exec` | utf8 | yes | exec_report | `ack`, `partial_fill`, `fill`, `canceled`, `replaced`, `rejected`, `cancel_rejected` |
//! | `tif` | utf8 | yes | order_new | `day`, `ioc`, `fok`, `gtc`, `post_only` |
//! | `venue` | uint16 | yes | order_new | the order gateway routed to |
//! | `leaves_qty`, `cum_qty` | float64 | yes | exec_report | open and filled quantity at `qty_scale` |
//! | `liquidity` | utf8 | yes | exec_report | `unknown`, `maker`, `taker` (fills, as the venue reports it) |
//! | `reject_code` | uint16 | yes | exec_report | venue reject reason (0: none) |
//! | `risk_code` | utf8 | yes | risk_reject | `max_order_qty`, `price_band`, … |
//! | `model_id` | uint16 | yes | signal | the model |
//! | `signal` | float64 | yes | signal | the value (journaled at 10^-9) |
//! | `timer_id` | uint32 | yes | timer | the timer |
//! | `deadline_ns` | int64 | yes | timer | when it was due, ns since the Unix epoch |
//! | `command` | utf8 | yes | command | `kill_switch`, `halt`, `cancel_all`, … |
//! | `arg` | int64 | yes | command | command argument (0: unused) |
//! | `expected`, `received` | uint64 | yes | feed_gap | first missing feed sequence, and the one that came |
//!
//! Parquet files are uncompressed (the workspace builds `parquet` without codecs); string
//! columns are dictionary-encoded, and nulls cost a few bits each. The key-value metadata
//! holds the journal path, the filter and the journal's manifest (`tickrail.manifest.KEY`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder,
    UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use clap::{Args, ValueEnum};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tickrail_engine::codec::CodecError;
use tickrail_engine::{
    decode_event, event_kind, Event, EventBody, EventKind, FixedDisplay, Price, Qty, Scale,
    SIGNAL_SCALE,
};
use tickrail_journal::JournalReader;

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 65_536;
/// Rows buffered in the column builders before they go to the Parquet writer.
const BATCH_ROWS: usize = 8_192;

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
            let mut sink = CsvSink::new(BufWriter::with_capacity(1 << 16, out))?;
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

/// How a column is stored and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    U64,
    I64,
    U32,
    U16,
    U8,
    Str,
    /// A raw price, decoded at the row's `price_scale`.
    Px,
    /// A raw quantity, decoded at the row's `qty_scale`.
    Qty,
    /// A raw signal value, decoded at [`SIGNAL_SCALE`].
    Sig,
}

impl Ty {
    fn data_type(self) -> DataType {
        match self {
            Ty::U64 => DataType::UInt64,
            Ty::I64 => DataType::Int64,
            Ty::U32 => DataType::UInt32,
            Ty::U16 => DataType::UInt16,
            Ty::U8 => DataType::UInt8,
            Ty::Str => DataType::Utf8,
            Ty::Px | Ty::Qty | Ty::Sig => DataType::Float64,
        }
    }

    /// The scale a decoded column is read at in `row`.
    fn scale(self, row: &Row) -> Option<Scale> {
        match self {
            Ty::Px => Some(row.price_scale),
            Ty::Qty => Some(row.qty_scale),
            Ty::Sig => Some(SIGNAL_SCALE),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    ty: Ty,
    nullable: bool,
}

/// Declares the column enum `C` and the `COLUMNS` table in one order.
macro_rules! columns {
    (@null null) => { true };
    (@null) => { false };
    ($($col:ident = $name:literal: $ty:ident $(, $nullable:ident)?;)+) => {
        #[derive(Debug, Clone, Copy)]
        enum C {
            $($col),+
        }

        const COLUMNS: [Column; [$(C::$col),+].len()] = [
            $(Column { name: $name, ty: Ty::$ty, nullable: columns!(@null $($nullable)?) }),+
        ];
    };
}

columns! {
    Sequence = "sequence": U64;
    CauseSequence = "cause_sequence": U64;
    ExchangeTsNs = "exchange_ts_ns": I64;
    ReceiveTsNs = "receive_ts_ns": I64;
    Kind = "kind": Str;
    Instrument = "instrument": U32;
    Source = "source": U16;
    PriceScale = "price_scale": U8;
    QtyScale = "qty_scale": U8;
    Side = "side": Str, null;
    Price = "price": Px, null;
    PriceRaw = "price_raw": I64, null;
    Qty = "qty": Qty, null;
    QtyRaw = "qty_raw": I64, null;
    BidPx = "bid_px": Px, null;
    BidQty = "bid_qty": Qty, null;
    AskPx = "ask_px": Px, null;
    AskQty = "ask_qty": Qty, null;
    OrderId = "order_id": U64, null;
    NewOrderId = "new_order_id": U64, null;
    ClientOrderId = "client_order_id": U64, null;
    OrigClientOrderId = "orig_client_order_id": U64, null;
    VenueOrderId = "venue_order_id": U64, null;
    TradeId = "trade_id": U64, null;
    MatchId = "match_id": U64, null;
    Aggressor = "aggressor": Str, null;
    Action = "action": Str, null;
    Level = "level": U16, null;
    Status = "status": Str, null;
    Exec = "exec": Str, null;
    Tif = "tif": Str, null;
    Venue = "venue": U16, null;
    LeavesQty = "leaves_qty": Qty, null;
    CumQty = "cum_qty": Qty, null;
    Liquidity = "liquidity": Str, null;
    RejectCode = "reject_code": U16, null;
    RiskCode = "risk_code": Str, null;
    ModelId = "model_id": U16, null;
    Signal = "signal": Sig, null;
    TimerId = "timer_id": U32, null;
    DeadlineNs = "deadline_ns": I64, null;
    Command = "command": Str, null;
    Arg = "arg": I64, null;
    Expected = "expected": U64, null;
    Received = "received": U64, null;
}

/// The Arrow schema of an export.
fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(c.name, c.ty.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// One value: unsigned and signed integers (raw fixed point included) or an enum name.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    U(u64),
    I(i64),
    S(&'static str),
}

/// One event as a row of [`COLUMNS`].
struct Row {
    cells: [Cell; COLUMNS.len()],
    price_scale: Scale,
    qty_scale: Scale,
}

impl Row {
    fn u(&mut self, c: C, v: impl Into<u64>) {
        self.cells[c as usize] = Cell::U(v.into());
    }
    fn i(&mut self, c: C, v: i64) {
        self.cells[c as usize] = Cell::I(v);
    }
    fn s(&mut self, c: C, v: &'static str) {
        self.cells[c as usize] = Cell::S(v);
    }
    fn price(&mut self, p: Price) {
        self.i(C::Price, p.raw());
        self.i(C::PriceRaw, p.raw());
    }
    fn qty(&mut self, q: Qty) {
        self.i(C::Qty, q.raw());
        self.i(C::QtyRaw, q.raw());
    }

    /// The row of a decoded (hence validated) event.
    fn from_event(ev: &Event) -> Result<Self> {
        let h = &ev.header;
        let mut r = Row {
            cells: [Cell::Null; COLUMNS.len()],
            price_scale: h.price_scale()?,
            qty_scale: h.qty_scale()?,
        };
        r.u(C::Sequence, h.sequence);
        r.u(C::CauseSequence, h.cause_sequence);
        r.i(C::ExchangeTsNs, h.exchange_ts_ns);
        r.i(C::ReceiveTsNs, h.receive_ts_ns);
        r.s(C::Kind, ev.kind().name());
        r.u(C::Instrument, h.instrument.get());
        r.u(C::Source, h.source);
        r.u(C::PriceScale, h.price_scale);
        r.u(C::QtyScale, h.qty_scale);
        // Exhaustive on purpose: a new event kind does not compile until it is exported.
        match ev.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => {
                r.i(C::BidPx, bid_px.raw());
                r.i(C::BidQty, bid_qty.raw());
                r.i(C::AskPx, ask_px.raw());
                r.i(C::AskQty, ask_qty.raw());
            }
            EventBody::Trade {
                aggressor,
                price,
                qty,
                trade_id,
            } => {
                r.s(C::Aggressor, aggressor.name());
                r.price(price);
                r.qty(qty);
                r.u(C::TradeId, trade_id);
            }
            EventBody::BookLevel {
                side,
                action,
                level,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.s(C::Action, action.name());
                r.u(C::Level, level);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderAdd {
                side,
                order_id,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderModify {
                order_id,
                price,
                qty,
            } => {
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderDelete { order_id } => r.u(C::OrderId, order_id),
            EventBody::OrderExecute {
                order_id,
                qty,
                price,
                match_id,
            } => {
                r.u(C::OrderId, order_id);
                r.price(price);
                r.qty(qty);
                r.u(C::MatchId, match_id);
            }
            EventBody::OrderReplace {
                old_order_id,
                new_order_id,
                price,
                qty,
            } => {
                r.u(C::OrderId, old_order_id);
                r.u(C::NewOrderId, new_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::TradingStatus { status } => r.s(C::Status, status.name()),
            EventBody::ExecReport {
                exec,
                side,
                liquidity,
                reject_code,
                client_order_id,
                venue_order_id,
                price,
                qty,
                leaves_qty,
                cum_qty,
            } => {
                r.s(C::Exec, exec.name());
                r.s(C::Side, side.name());
                r.s(C::Liquidity, liquidity.name());
                r.u(C::RejectCode, reject_code);
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::VenueOrderId, venue_order_id);
                r.price(price);
                r.qty(qty);
                r.i(C::LeavesQty, leaves_qty.raw());
                r.i(C::CumQty, cum_qty.raw());
            }
            EventBody::Timer {
                timer_id,
                deadline_ns,
            } => {
                r.u(C::TimerId, timer_id);
                r.i(C::DeadlineNs, deadline_ns);
            }
            EventBody::Command { command, arg } => {
                r.s(C::Command, command.name());
                r.i(C::Arg, arg);
            }
            EventBody::FeedGap { expected, received } => {
                r.u(C::Expected, expected);
                r.u(C::Received, received);
            }
            EventBody::Signal { model_id, value } => {
                r.u(C::ModelId, model_id);
                r.i(C::Signal, value);
            }
            EventBody::OrderNew {
                side,
                tif,
                venue,
                client_order_id,
                price,
                qty,
            } => {
                r.s(C::Side, side.name());
                r.s(C::Tif, tif.name());
                r.u(C::Venue, venue);
                r.u(C::ClientOrderId, client_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => {
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::OrigClientOrderId, orig_client_order_id);
            }
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty,
            } => {
                r.u(C::ClientOrderId, client_order_id);
                r.u(C::OrigClientOrderId, orig_client_order_id);
                r.price(price);
                r.qty(qty);
            }
            EventBody::RiskReject {
                code,
                client_order_id,
            } => {
                r.s(C::RiskCode, code.name());
                r.u(C::ClientOrderId, client_order_id);
            }
        }
        Ok(r)
    }
}

/// A raw fixed-point value as the nearest `f64`: one correctly rounded division of two
/// exactly represented numbers when `|raw| < 2^53`.
fn decoded(raw: i64, scale: Scale) -> f64 {
    raw as f64 / scale.unit() as f64
}

/// One Arrow column being built.
enum Builder {
    U64(UInt64Builder),
    I64(Int64Builder),
    U32(UInt32Builder),
    U16(UInt16Builder),
    U8(UInt8Builder),
    F64(Float64Builder),
    Str(StringBuilder),
}

impl Builder {
    fn new(ty: Ty) -> Self {
        match ty {
            Ty::U64 => Self::U64(UInt64Builder::with_capacity(BATCH_ROWS)),
            Ty::I64 => Self::I64(Int64Builder::with_capacity(BATCH_ROWS)),
            Ty::U32 => Self::U32(UInt32Builder::with_capacity(BATCH_ROWS)),
            Ty::U16 => Self::U16(UInt16Builder::with_capacity(BATCH_ROWS)),
            Ty::U8 => Self::U8(UInt8Builder::with_capacity(BATCH_ROWS)),
            Ty::Str => Self::Str(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8)),
            Ty::Px | Ty::Qty | Ty::Sig => Self::F64(Float64Builder::with_capacity(BATCH_ROWS)),
        }
    }

    fn append(&mut self, col: &Column, cell: Cell, row: &Row) -> Result<()> {
        let narrow = |v: u64| anyhow!("internal error: {v} does not fit column {}", col.name);
        match (self, cell) {
            (Self::U64(b), Cell::Null) => b.append_null(),
            (Self::I64(b), Cell::Null) => b.append_null(),
            (Self::U32(b), Cell::Null) => b.append_null(),
            (Self::U16(b), Cell::Null) => b.append_null(),
            (Self::U8(b), Cell::Null) => b.append_null(),
            (Self::F64(b), Cell::Null) => b.append_null(),
            (Self::Str(b), Cell::Null) => b.append_null(),
            (Self::U64(b), Cell::U(v)) => b.append_value(v),
            (Self::U32(b), Cell::U(v)) => b.append_value(u32::try_from(v).map_err(|_| narrow(v))?),
            (Self::U16(b), Cell::U(v)) => b.append_value(u16::try_from(v).map_err(|_| narrow(v))?),
            (Self::U8(b), Cell::U(v)) => b.append_value(u8::try_from(v).map_err(|_| narrow(v))?),
            (Self::I64(b), Cell::I(v)) => b.append_value(v),
            (Self::F64(b), Cell::I(raw)) => match col.ty.scale(row) {
                Some(scale) => b.append_value(decoded(raw, scale)),
                None => bail!("internal error: column {} has no scale", col.name),
            },
            (Self::Str(b), Cell::S(s)) => b.append_value(s),
            (_, cell) => bail!("internal error: column {} cannot hold {cell:?}", col.name),
        }
        Ok(())
    }

    /// The column so far; the builder starts over empty.
    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::U64(b) => Arc::new(b.finish()),
            Self::I64(b) => Arc::new(b.finish()),
            Self::U32(b) => Arc::new(b.finish()),
            Self::U16(b) => Arc::new(b.finish()),
            Self::U8(b) => Arc::new(b.finish()),
            Self::F64(b) => Arc::new(b.finish()),
            Self::Str(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows into Parquet: column builders of at most [`BATCH_ROWS`] rows, flushed as record
/// batches into the writer, which writes a row group every [`ROW_GROUP_ROWS`] rows.
struct ParquetSink {
    writer: ArrowWriter<Box<dyn Write + Send>>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    buffered: usize,
}

impl ParquetSink {
    fn new(out: Box<dyn Write + Send>, metadata: Vec<KeyValue>) -> Result<Self> {
        let schema = schema();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(format!("tickrail {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(metadata))
            .build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))
            .context("starting the Parquet file")?;
        Ok(Self {
            writer,
            schema,
            builders: COLUMNS.iter().map(|c| Builder::new(c.ty)).collect(),
            buffered: 0,
        })
    }

    fn push(&mut self, row: &Row) -> Result<()> {
        for ((b, col), cell) in self.builders.iter_mut().zip(&COLUMNS).zip(row.cells) {
            b.append(col, cell, row)?;
        }
        self.buffered += 1;
        if self.buffered == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let columns = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .context("assembling a record batch")?;
        self.writer.write(&batch).context("writing Parquet")?;
        self.buffered = 0;
        Ok(())
    }

    /// Write the last rows and the footer; returns the number of row groups.
    fn finish(mut self) -> Result<usize> {
        self.flush_batch()?;
        let meta = self.writer.finish().context("finishing the Parquet file")?;
        Ok(meta.num_row_groups())
    }
}

/// Rows into CSV: a header row, then one line per event; nulls are empty cells and decoded
/// values exact decimal text.
struct CsvSink<W: Write> {
    out: W,
}

impl<W: Write> CsvSink<W> {
    fn new(mut out: W) -> Result<Self> {
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        writeln!(out, "{}", header.join(","))?;
        Ok(Self { out })
    }

    fn push(&mut self, row: &Row) -> Result<()> {
        for (i, (col, cell)) in COLUMNS.iter().zip(row.cells).enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            match cell {
                Cell::Null => {}
                Cell::U(v) => write!(self.out, "{v}")?,
                Cell::I(v) => match col.ty.scale(row) {
                    Some(scale) => write!(self.out, "{}", FixedDisplay::new(v, scale))?,
                    None => write!(self.out, "{v}")?,
                },
                // Enum names: snake_case, nothing to quote; quoted anyway should one ever
                // hold a separator.
                Cell::S(s) if s.contains([',', '"', '\n', '\r']) => {
                    write!(self.out, "\"{}\"", s.replace('"', "\"\""))?;
                }
                Cell::S(s) => self.out.write_all(s.as_bytes())?,
            }
        }
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}
