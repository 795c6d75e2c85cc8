//! `tickrail journal …`: inspect, tail, verify, stats, recover and demo.

use std::collections::{BTreeMap, VecDeque};
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
    #[arg(long)]
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
        _ => {}
    }
    match EventKind::from_name(s) {
        Some(k) => Ok(EVENT_KIND_BASE + k.code()),
        None => {
            let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
            bail!(
                "unknown kind {s:?}; known kinds: manifest, end_of_segment, {}",
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
        jkind::MANIFEST => match Manifest::decode(r.payload) {
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

fn open_reader(dir: &Path, f: &Filter) -> Result<JournalReader> {
    let mut r = JournalReader::open(dir)
        .with_context(|| format!("opening journal {}", dir.display()))?
        .include_internal(
            f.internal
                || f.kinds
                    .iter()
                    .any(|k| k == "manifest" || k == "end_of_segment"),
        );
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
    let mut r = open_reader(&a.dir, &a.filter)?;
    let mut shown = 0u64;
    use std::io::Write;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    while let Some(rec) = r.next()? {
        if rec.sequence > m.to && rec.kind >= EVENT_KIND_BASE {
            break;
        }
        if !m.matches(&rec) {
            continue;
        }
        if writeln!(out, "{}", describe(&rec, m.raw)).is_err() {
            return Ok(ExitCode::SUCCESS); // stdout closed (e.g. piped into head)
        }
        shown += 1;
        if a.limit.is_some_and(|l| shown >= l) {
            break;
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

fn tail(a: &TailArgs) -> Result<ExitCode> {
    let m = Matcher::new(&a.filter)?;
    let mut r = open_reader(&a.dir, &a.filter)?;
    let mut last: VecDeque<String> = VecDeque::with_capacity(a.lines + 1);
    while let Some(rec) = r.next()? {
        if m.matches(&rec) {
            last.push_back(describe(&rec, m.raw));
            if last.len() > a.lines {
                last.pop_front();
            }
        }
    }
    for l in &last {
        println!("{l}");
    }
    if !a.follow {
        return Ok(ExitCode::SUCCESS);
    }
    use std::io::Write;
    let mut idle_ms = 0u64;
    loop {
        match r.next()? {
            Some(rec) => {
                idle_ms = 0;
                if m.matches(&rec) {
                    let mut out = std::io::stdout().lock();
                    if writeln!(out, "{}", describe(&rec, m.raw))
                        .and_then(|_| out.flush())
                        .is_err()
                    {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            }
            None => {
                if a.idle_exit_ms.is_some_and(|limit| idle_ms >= limit) {
                    return Ok(ExitCode::SUCCESS);
                }
                std::thread::sleep(Duration::from_millis(1));
                idle_ms += 1;
            }
        }
    }
}

fn verify_cmd(dir: &Path) -> Result<ExitCode> {
    let rep = verify(dir).with_context(|| format!("verifying journal {}", dir.display()))?;
    println!(
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
        println!(
            "manifest: {}",
            m.entries()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    for p in &rep.problems {
        println!("PROBLEM {p}");
    }
    if let Some(t) = &rep.torn_tail {
        println!("TORN TAIL {t} (run `tickrail journal recover` or open the writer to cut it)");
    }
    Ok(if !rep.problems.is_empty() {
        println!("FAILED: {} problem(s)", rep.problems.len());
        ExitCode::from(1)
    } else if rep.torn_tail.is_some() {
        println!("records intact; torn tail awaits recovery");
        ExitCode::from(2)
    } else {
        println!("OK: every record intact");
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
        .with_context(|| format!("opening journal {}", dir.display()))?
        .include_internal(true);
    let mut per_kind: BTreeMap<u16, KindStats> = BTreeMap::new();
    let (mut first_ts, mut last_ts) = (None::<i64>, None::<i64>);
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
            first_ts.get_or_insert(rec.timestamp_ns);
            last_ts = Some(rec.timestamp_ns);
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
    println!("journal      {}", dir.display());
    println!(
        "segments     {} file(s), {} with records, {} bytes on disk",
        files.len(),
        segments.len(),
        file_bytes
    );
    println!(
        "records      {total} (+ internal), {record_bytes} bytes framed incl. headers and padding"
    );
    match (first_seq, last_seq) {
        (Some(a), Some(b)) => println!("sequences    {a} .. {b}"),
        _ => println!("sequences    -"),
    }
    if let (Some(a), Some(b)) = (first_ts, last_ts) {
        let span_s = (b - a) as f64 / 1e9;
        println!("time span    {a} .. {b} ns ({span_s:.6} s)");
        if span_s > 0.0 {
            println!(
                "rate         {:.0} records/s, {:.3} MB/s (recorded time)",
                total as f64 / span_s,
                record_bytes as f64 / span_s / 1e6
            );
        }
    }
    println!(
        "\n{:<16} {:>12} {:>16} {:>10}",
        "kind", "count", "payload bytes", "avg bytes"
    );
    for (k, s) in &per_kind {
        let avg = if s.count > 0 {
            s.payload_bytes as f64 / s.count as f64
        } else {
            0.0
        };
        println!(
            "{:<16} {:>12} {:>16} {:>10.1}",
            kind_name(*k),
            s.count,
            s.payload_bytes,
            avg
        );
    }
    let n: u64 = per_kind.values().map(|s| s.count).sum();
    if scan_s > 0.0 {
        println!(
            "\nscanned {n} records in {:.3} s ({:.1} M records/s, every CRC checked)",
            scan_s,
            n as f64 / scan_s / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn recover(dir: &Path) -> Result<ExitCode> {
    if !dir.is_dir() {
        bail!("{}: journal directory does not exist", dir.display());
    }
    let manifest = tickrail_journal::read_manifest(dir)
        .with_context(|| format!("reading manifest of {}", dir.display()))?;
    let opts = tickrail_journal::JournalOptions {
        preallocate: false,
        create_dir: false,
        ..Default::default()
    };
    let (w, report) = tickrail_journal::JournalWriter::open(dir, opts, &manifest)
        .with_context(|| format!("recovering {}", dir.display()))?;
    w.close()?;
    println!("{report}");
    Ok(ExitCode::SUCCESS)
}
