//! `tickrail journal …`: inspect, tail, verify, stats, recover and demo.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use tickrail_engine::{decode_event, EventKind, EVENT_KIND_BASE};
use tickrail_journal::format::kind as jkind;
use tickrail_journal::{verify, JournalReader, Manifest, Record};

#[derive(Debug, Subcommand)]
pub enum JournalCmd {
    /// Print records as human-readable lines, filtered by kind and sequence range.
    Inspect(InspectArgs),
    /// Print the last records and, with --follow, keep printing new ones as they are
    /// committed (works on a journal a live engine is writing, from another process).
    Tail(TailArgs),
    /// Check every segment header, record CRC, sequence order, marker and index slot.
    /// Exit status: 0 every record intact; 1 damage found; 2 records intact but a torn tail
    /// (uncommitted bytes a crashed writer left) awaits recovery.
    Verify {
        /// Journal directory.
        dir: PathBuf,
    },
    /// Counts and bytes per kind, segments, time span and rates.
    Stats {
        /// Journal directory.
        dir: PathBuf,
    },
    /// Open the journal as its writer once: recovery keeps every valid record, cuts a torn
    /// tail and reports what it cut. Fails if another writer holds the lock.
    Recover {
        /// Journal directory.
        dir: PathBuf,
    },
    /// Write a journal of synthetic market-data events, then verify, summarise and show it.
    Demo(DemoArgs),
    /// Export events to Parquet or CSV (one row per event, a typed column per field) for
    /// pandas, polars or DuckDB; streams record by record in bounded memory.
    Export(crate::export_cmd::ExportArgs),
}

/// Which records to show.
#[derive(Debug, Args, Clone)]
pub struct Filter {
    /// Only these kinds (repeatable or comma-separated): event names such as quote, trade,
    /// book_level, exec_report, order_new, risk_reject; or manifest, end_of_segment; or a
    /// numeric journal kind.
    #[arg(long = "kind", value_delimiter = ',')]
    kinds: Vec<String>,
    /// First sequence to show (inclusive).
    #[arg(long)]
    from: Option<u64>,
    /// Last sequence to show (inclusive).
    #[arg(long)]
    to: Option<u64>,
    /// Show journal-internal records (manifest, end-of-segment markers) too.
    #[arg(long)]
    internal: bool,
    /// Print payloads as hex instead of decoding events.
    #[arg(long)]
    raw: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Journal directory.
    dir: PathBuf,
    #[command(flatten)]
    filter: Filter,
    /// Stop after this many records.
    #[arg(long, short = 'n')]
    limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Journal directory.
    dir: PathBuf,
    #[command(flatten)]
    filter: Filter,
    /// How many of the last records to print first.
    #[arg(long, short = 'n', default_value_t = 10)]
    lines: usize,
    /// Keep following the journal for new records (until Ctrl-C).
    #[arg(long, short = 'f')]
    follow: bool,
    /// With --follow: exit after this many milliseconds without a new record.
    #[arg(long, requires = "follow")]
    idle_exit_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Journal directory (created; must not hold a journal with another manifest).
    #[arg(long, default_value = "data/demo-journal")]
    dir: PathBuf,
    /// Number of events to write.
    #[arg(long, default_value_t = 2_000_000)]
    events: u64,
    /// Segment size in MiB.
    #[arg(long, default_value_t = 64)]
    segment_mib: u64,
    /// Durability: none, async[:MS] or sync[:N].
    #[arg(long, default_value = "async:10")]
    durability: String,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Delete the directory first (only if it holds nothing but a journal).
    #[arg(long)]
    fresh: bool,
}

/// Run a journal subcommand.
pub fn run(cmd: JournalCmd) -> Result<ExitCode> {
    match cmd {
        JournalCmd::Inspect(a) => inspect(&a),
        JournalCmd::Tail(a) => tail(&a),
        JournalCmd::Verify { dir } => verify_cmd(&dir),
        JournalCmd::Stats { dir } => stats(&dir),
        JournalCmd::Recover { dir } => recover(&dir),
        JournalCmd::Demo(a) => crate::demo::run(
            &a.dir,
            a.events,
            a.segment_mib,
            &a.durability,
            a.seed,
            a.fresh,
        ),
        JournalCmd::Export(a) => crate::export_cmd::run(&a),
    }
}

/// A parsed `--kind` filter value.
fn parse_kind(s: &str) -> Result<u16> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u16>() {
        return Ok(n);
    }
    if let Some(h) = s.strip_prefix("0x") {
        return u16::from_str_radix(h, 16).with_context(|| format!("bad kind {s:?}"));
    }
    match s {
        "manifest" => return Ok(jkind::MANIFEST),
        "end_of_segment" => return Ok(jkind::END_OF_SEGMENT),
        "run_mark" => return Ok(jkind::RUN_MARK),
        _ => {}
    }
    match EventKind::from_name(s) {
        Some(k) => Ok(EVENT_KIND_BASE + k.code()),
        None => {
            let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
            bail!(
                "unknown kind {s:?}; known kinds: manifest, end_of_segment, run_mark, {}",
                names.join(", ")
            )
        }
    }
}

/// The display name of a journal kind.
pub fn kind_name(kind: u16) -> String {
    match kind {
        jkind::MANIFEST => "manifest".into(),
        jkind::END_OF_SEGMENT => "end_of_segment".into(),
        jkind::RUN_MARK => "run_mark".into(),
        k if k >= EVENT_KIND_BASE => match EventKind::from_code(k - EVENT_KIND_BASE) {
            Some(e) => e.name().into(),
            None => format!("kind_{k:#06x}"),
        },
        k => format!("kind_{k:#06x}"),
    }
}

struct Matcher {
    kinds: Vec<u16>,
    from: u64,
    to: u64,
    raw: bool,
}

impl Matcher {
    fn new(f: &Filter) -> Result<Self> {
        let kinds = f
            .kinds
            .iter()
            .map(|k| parse_kind(k))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            kinds,
            from: f.from.unwrap_or(0),
            to: f.to.unwrap_or(u64::MAX),
            raw: f.raw,
        })
    }
    fn matches(&self, r: &Record<'_>) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&r.kind))
            && (self.from..=self.to).contains(&r.sequence)
    }
}

/// One human-readable line for a record.
fn describe(r: &Record<'_>, raw: bool) -> String {
    let head = format!(
        "{:>6}:{:<10} seq={:<10} ts={:<20} {:<14}",
        r.position.segment,
        r.position.offset,
        r.sequence,
        r.timestamp_ns,
        kind_name(r.kind)
    );
    let body = match r.kind {
        jkind::MANIFEST | jkind::RUN_MARK => match Manifest::decode(r.payload) {
            Ok(m) => m
                .entries()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("<bad manifest: {e}>"),
        },
        jkind::END_OF_SEGMENT => String::new(),
        k if k >= EVENT_KIND_BASE && !raw => match decode_event(r) {
            Ok(ev) => ev.to_string(),
            Err(e) => format!("<undecodable event: {e}> {}", hex(r.payload)),
        },
        _ => hex(r.payload),
    };
    format!("{head} {body}")
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2 + 16);
    s.push_str(&format!("len={} ", b.len()));
    for x in b.iter().take(256) {
        s.push_str(&format!("{x:02x}"));
    }
    if b.len() > 256 {
        s.push('…');
    }
    s
}

fn open_reader(dir: &Path, f: &Filter, m: &Matcher) -> Result<JournalReader> {
    let wants_internal = m
        .kinds
        .iter()
        .any(|&k| k < tickrail_journal::FIRST_USER_KIND);
    let mut r = JournalReader::open(dir)
        .context("opening journal")?
        .include_internal(f.internal || wants_internal);
    if let Some(from) = f.from {
        r.seek(from)
            .with_context(|| format!("seeking to sequence {from}"))?;
    }
    Ok(r)
}

/// `inspect` with a limit, some kinds and optionally internal records (used by the demo).
pub fn inspect_n(dir: &Path, n: u64, kinds: &[String], internal: bool) -> Result<ExitCode> {
    inspect(&InspectArgs {
        dir: dir.to_path_buf(),
        filter: Filter {
            kinds: kinds.to_vec(),
            from: None,
            to: None,
            internal,
            raw: false,
        },
        limit: Some(n),
    })
}

fn inspect(a: &InspectArgs) -> Result<ExitCode> {
    let m = Matcher::new(&a.filter)?;
    let mut r = open_reader(&a.dir, &a.filter, &m)?;
    let limit = a.limit.unwrap_or(u64::MAX);
    let mut shown = 0u64;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    while shown < limit {
        let Some(rec) = r.next()? else { break };
        if rec.sequence > m.to && rec.kind >= EVENT_KIND_BASE {
            break;
        }
        if !m.matches(&rec) {
            continue;
        }
        writeln!(out, "{}", describe(&rec, m.raw))?;
        shown += 1;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn tail(a: &TailArgs) -> Result<ExitCode> {
    let m = Matcher::new(&a.filter)?;
    // Two passes: count the matching records, then print the last `lines` of them; only
    // those are formatted.
    let mut r = open_reader(&a.dir, &a.filter, &m)?;
    let mut matching = 0u64;
    while let Some(rec) = r.next()? {
        if m.matches(&rec) {
            matching += 1;
        }
    }
    let skip = matching.saturating_sub(a.lines as u64);
    let mut r = open_reader(&a.dir, &a.filter, &m)?;
    let mut seen = 0u64;
    // Stop at the count of the first pass: records appended since are printed by --follow.
    while seen < matching {
        let Some(rec) = r.next()? else { break };
        if m.matches(&rec) {
            seen += 1;
            if seen > skip {
                outln!("{}", describe(&rec, m.raw));
            }
        }
    }
    if !a.follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut last_seen = crate::clock::monotonic();
    loop {
        match r.next()? {
            Some(rec) => {
                last_seen = crate::clock::monotonic();
                if m.matches(&rec) {
                    outln!("{}", describe(&rec, m.raw));
                    std::io::stdout().flush()?;
                }
            }
            None => {
                let idle = last_seen.elapsed();
                if a.idle_exit_ms
                    .is_some_and(|ms| idle >= Duration::from_millis(ms))
                {
                    return Ok(ExitCode::SUCCESS);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

fn verify_cmd(dir: &Path) -> Result<ExitCode> {
    let rep = verify(dir).context("verifying journal")?;
    outln!(
        "{}: {} segment(s), {} record(s) + {} internal, {} payload bytes, sequences {}..{}",
        dir.display(),
        rep.segments,
        rep.records,
        rep.internal_records,
        rep.payload_bytes,
        rep.first_sequence.map_or("-".into(), |s| s.to_string()),
        rep.last_sequence.map_or("-".into(), |s| s.to_string()),
    );
    if let Some(m) = &rep.manifest {
        outln!(
            "manifest: {}",
            m.entries()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    for p in &rep.problems {
        outln!("PROBLEM {p}");
    }
    if let Some(t) = &rep.torn_tail {
        outln!("TORN TAIL {t} (run `tickrail journal recover` or open the writer to cut it)");
    }
    Ok(if !rep.problems.is_empty() {
        outln!("FAILED: {} problem(s)", rep.problems.len());
        ExitCode::from(1)
    } else if rep.torn_tail.is_some() {
        outln!("records intact; torn tail awaits recovery");
        ExitCode::from(2)
    } else {
        outln!("OK: every record intact");
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct KindStats {
    count: u64,
    payload_bytes: u64,
}

fn stats(dir: &Path) -> Result<ExitCode> {
    let mut r = JournalReader::open(dir)
        .context("opening journal")?
        .include_internal(true);
    let mut per_kind: BTreeMap<u16, KindStats> = BTreeMap::new();
    // Min and max, not first and last: record timestamps are receive times and need not be
    // monotonic.
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    let (mut first_seq, mut last_seq) = (None::<u64>, None::<u64>);
    let mut record_bytes = 0u64;
    let mut segments = std::collections::BTreeSet::new();
    let started = crate::clock::monotonic();
    while let Some(rec) = r.next()? {
        let k = per_kind.entry(rec.kind).or_default();
        k.count += 1;
        k.payload_bytes += rec.payload.len() as u64;
        record_bytes += tickrail_journal::format::record_span(rec.payload.len()) as u64;
        segments.insert(rec.position.segment);
        if rec.kind >= tickrail_journal::FIRST_USER_KIND {
            min_ts = min_ts.min(rec.timestamp_ns);
            max_ts = max_ts.max(rec.timestamp_ns);
            first_seq.get_or_insert(rec.sequence);
            last_seq = Some(rec.sequence);
        }
    }
    let scan_s = started.elapsed().as_secs_f64();
    let files = tickrail_journal::segment::list_segments(dir)?;
    let mut file_bytes = 0u64;
    for i in &files {
        file_bytes += std::fs::metadata(tickrail_journal::segment::segment_path(dir, *i))?.len();
    }
    let total: u64 = per_kind
        .iter()
        .filter(|(k, _)| **k >= tickrail_journal::FIRST_USER_KIND)
        .map(|(_, s)| s.count)
        .sum();
    outln!("journal      {}", dir.display());
    outln!(
        "segments     {} file(s), {} with records, {} bytes on disk",
        files.len(),
        segments.len(),
        file_bytes
    );
    let internal: u64 = per_kind
        .iter()
        .filter(|(k, _)| **k < tickrail_journal::FIRST_USER_KIND)
        .map(|(_, s)| s.count)
        .sum();
    outln!(
        "records      {total} (+ {internal} internal), {record_bytes} bytes framed incl. headers and padding"
    );
    match (first_seq, last_seq) {
        (Some(a), Some(b)) => outln!("sequences    {a} .. {b}"),
        _ => outln!("sequences    -"),
    }
    if total > 0 {
        let (a, b) = (min_ts, max_ts);
        let span_s = (i128::from(b) - i128::from(a)) as f64 / 1e9;
        outln!("time span    {a} .. {b} ns ({span_s:.6} s)");
        if span_s > 0.0 {
            outln!(
                "rate         {:.0} records/s, {:.3} MB/s (recorded time)",
                total as f64 / span_s,
                record_bytes as f64 / span_s / 1e6
            );
        }
    }
    outln!(
        "\n{:<16} {:>12} {:>16} {:>10}",
        "kind",
        "count",
        "payload bytes",
        "avg bytes"
    );
    for (k, s) in &per_kind {
        let avg = if s.count > 0 {
            s.payload_bytes as f64 / s.count as f64
        } else {
            0.0
        };
        outln!(
            "{:<16} {:>12} {:>16} {:>10.1}",
            kind_name(*k),
            s.count,
            s.payload_bytes,
            avg
        );
    }
    let n: u64 = per_kind.values().map(|s| s.count).sum();
    if scan_s > 0.0 {
        outln!(
            "\nscanned {n} records in {:.3} s ({:.1} M records/s, every CRC checked)",
            scan_s,
            n as f64 / scan_s / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn recover(dir: &Path) -> Result<ExitCode> {
    let manifest = tickrail_journal::read_manifest(dir).context("reading the manifest")?;
    let opts = tickrail_journal::JournalOptions {
        preallocate: false,
        create_dir: false,
        ..Default::default()
    };
    let (w, report) =
        tickrail_journal::JournalWriter::open(dir, opts, &manifest).context("recovering")?;
    w.close()?;
    outln!("{report}");
    Ok(ExitCode::SUCCESS)
}
