//! The journal append/read harness: each measurement beside its raw floor, in one run.
//!
//! For one payload size it measures, in this order (each with an untimed warm-up first):
//! floor append latency, journal append latency, floor append throughput, journal append
//! throughput, journal sequential read, floor sequential read. Latency runs time every
//! append individually with a pair of [`clock::monotonic`] reads (whose own cost is measured as
//! the `timer only` row); throughput and read runs time the whole loop once.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, ensure, Context, Result};
use hdrhistogram::Histogram;
use tickrail_journal::format::record_span;
use tickrail_journal::{
    Durability, JournalOptions, JournalReader, JournalWriter, Manifest, WriterStats,
    FIRST_USER_KIND,
};

use crate::floor::Floor;
use crate::report::{latency_histogram, nanos, Latency, Throughput};
use tickrail_engine::runtime::clock;

/// The record kind the benchmark appends.
pub const KIND: u16 = FIRST_USER_KIND;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Parent directory for the journals and the floor file (a fresh subdirectory is made).
    pub dir: PathBuf,
    /// Journal segment size, also the floor file's size.
    pub segment_bytes: u64,
    /// Events per measurement; `None` picks enough for about four segment rolls.
    pub events: Option<u64>,
    /// Pin each measuring thread to one core (after the journal's threads are started).
    pub pin: bool,
}

impl Config {
    /// Events measured for payloads of `size` bytes.
    pub fn events_for(&self, size: usize) -> u64 {
        self.events
            .unwrap_or_else(|| default_events(self.segment_bytes, size))
    }
}

/// Enough events of `size` bytes to fill about 1.5 segments (one roll), rounded up to a
/// multiple of 100 000.
pub fn default_events(segment_bytes: u64, size: usize) -> u64 {
    let span = record_span(size) as u64;
    let n = segment_bytes * 3 / 2 / span;
    n.div_ceil(100_000) * 100_000
}

/// Segments a run of `n` events of `size` bytes fills, plus one.
fn segments_for(segment_bytes: u64, n: u64, size: usize) -> usize {
    let bytes = n * record_span(size) as u64;
    (bytes.div_ceil(segment_bytes) as usize + 1).min(64)
}

/// Everything measured for one payload size.
#[derive(Debug, Clone)]
pub struct SizeResult {
    pub size: usize,
    pub events: u64,
    pub timer: Latency,
    pub floor_latency: Latency,
    pub ours_latency: Latency,
    pub floor_append: Throughput,
    /// Floor copying the record's framed size (insight only, no target).
    pub floor_framed_append: Throughput,
    pub ours_append: Throughput,
    /// The same append run with only the default two segments prepared ahead and no wait
    /// at start: segment preparation runs on the other core during the measurement.
    pub ours_append_cold: Throughput,
    pub ours_read: Throughput,
    pub floor_read: Throughput,
    /// Writer counters of the latency run and of the throughput run.
    pub latency_stats: WriterStats,
    pub append_stats: WriterStats,
}

/// The payload every append copies: a fixed non-zero pattern.
pub fn payload(size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect()
}

fn options(segment_bytes: u64, prepared_segments: usize) -> JournalOptions {
    JournalOptions {
        segment_bytes,
        index_stride_bytes: 4096,
        durability: Durability::None,
        preallocate: true,
        prepared_segments,
        create_dir: true,
    }
}

/// Open a writer with `prepared` segments prepared ahead; with `wait`, block until they are
/// ready (the journal's equivalent of the floor's untimed pre-touch).
fn open_writer(
    dir: &Path,
    segment_bytes: u64,
    prepared: usize,
    wait: bool,
) -> Result<JournalWriter> {
    let opts = options(segment_bytes, prepared);
    let (mut w, _report) = JournalWriter::open(dir, opts, &Manifest::new("bench", "none"))
        .with_context(|| format!("open journal writer in {}", dir.display()))?;
    if wait {
        w.wait_prepared();
    }
    Ok(w)
}

fn remove_dir(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))
}

/// Run `f` on a fresh thread, so that pinning it (see [`pin_current`]) never leaks into the
/// threads the journal spawns later from the main thread.
fn isolated<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .map_err(|_| anyhow!("benchmark thread panicked"))?
    })
}

/// Pin the current thread to the last core, if asked. Call it after the journal writer is
/// open: threads inherit their creator's affinity, and the segment preallocator must be free
/// to run on another core.
fn pin_current(pin: bool) -> Result<()> {
    if pin {
        let core = core_affinity::get_core_ids()
            .and_then(|ids| ids.last().copied())
            .ok_or_else(|| anyhow!("--pin: cannot list the cores"))?;
        ensure!(
            core_affinity::set_for_current(core),
            "--pin: cannot pin to core {}",
            core.id
        );
    }
    Ok(())
}

/// Append `n` events untimed (warm-up / throughput body). Sequences start at `first`.
#[inline(never)]
fn append_loop(w: &mut JournalWriter, first: u64, n: u64, payload: &[u8]) -> Result<()> {
    for seq in first..first + n {
        w.append(KIND, seq, seq as i64, black_box(payload))?;
    }
    Ok(())
}

/// Append `n` events, timing each one into `h`.
#[inline(never)]
fn append_timed(
    w: &mut JournalWriter,
    n: u64,
    payload: &[u8],
    h: &mut Histogram<u64>,
) -> Result<()> {
    for seq in 0..n {
        let t0 = clock::monotonic();
        w.append(KIND, seq, seq as i64, black_box(payload))?;
        let t1 = clock::monotonic();
        h.saturating_record(nanos(t1.duration_since(t0)));
    }
    Ok(())
}

#[inline(never)]
fn floor_loop(f: &mut Floor, n: u64, payload: &[u8]) {
    for _ in 0..n {
        f.append(black_box(payload));
    }
}

#[inline(never)]
fn floor_timed(f: &mut Floor, n: u64, payload: &[u8], h: &mut Histogram<u64>) {
    for _ in 0..n {
        let t0 = clock::monotonic();
        f.append(black_box(payload));
        let t1 = clock::monotonic();
        h.saturating_record(nanos(t1.duration_since(t0)));
    }
}

#[inline(never)]
fn timer_only(n: u64, h: &mut Histogram<u64>) {
    for _ in 0..n {
        let t0 = clock::monotonic();
        let t1 = clock::monotonic();
        h.saturating_record(nanos(t1.duration_since(t0)));
    }
}

/// Read every record of the journal in `dir`, CRC-checked, summing the first payload byte.
/// Returns (records, payload bytes, sum).
#[inline(never)]
fn read_loop(r: &mut JournalReader) -> Result<(u64, u64, u64)> {
    let (mut n, mut bytes, mut sum) = (0u64, 0u64, 0u64);
    while let Some(rec) = r.next()? {
        n += 1;
        bytes += rec.payload.len() as u64;
        sum = sum.wrapping_add(u64::from(black_box(
            rec.payload.first().copied().unwrap_or(0),
        )));
    }
    Ok((n, bytes, sum))
}

/// Measure one payload size.
pub fn run_size(cfg: &Config, root: &Path, size: usize) -> Result<SizeResult> {
    ensure!(size > 0, "payload size must be at least 1 byte");
    let n = cfg.events_for(size);
    ensure!(n > 0, "--events must be at least 1");
    let seg = cfg.segment_bytes;
    // The floor gets a mapping of the bytes it copies (no wrap), pre-touched; the journal
    // gets its segments for the run prepared (pre-touched) before timing.
    let floor_bytes = usize::try_from((n * size as u64).div_ceil(4096) * 4096)
        .context("floor size does not fit in memory")?;
    let prepared = segments_for(seg, n, size);
    let payload = payload(size);
    let payload = payload.as_slice();
    let pin = cfg.pin;
    let warm = (n / 4).max(1);

    // Timer cost alone, for reference.
    let timer = isolated(|| {
        pin_current(pin)?;
        let mut h = latency_histogram()?;
        timer_only(n.min(1_000_000), &mut h);
        h.reset();
        timer_only(n, &mut h);
        Ok(Latency::of(&h))
    })?;

    // The floor file, created and pre-touched once, then warmed by one full untimed pass.
    let mut floor = Floor::create(&root.join(format!("floor-{size}.bin")), floor_bytes)?;
    let floor_latency = isolated(|| {
        pin_current(pin)?;
        floor_loop(&mut floor, n, payload);
        floor.rewind();
        let mut h = latency_histogram()?;
        floor_timed(&mut floor, n, payload, &mut h);
        Ok(Latency::of(&h))
    })?;

    // Journal warm-up: an untimed journal of n/4 events, written and read back, then removed.
    let warm_dir = root.join(format!("warmup-{size}"));
    isolated(|| {
        let mut w = open_writer(&warm_dir, seg, 2, true)?;
        pin_current(pin)?;
        append_loop(&mut w, 0, warm, payload)?;
        w.close()?;
        let mut r = JournalReader::open(&warm_dir)?;
        let (got, _, sum) = read_loop(&mut r)?;
        black_box(sum);
        ensure!(got == warm, "warm-up read {got} records, wrote {warm}");
        Ok(())
    })?;
    remove_dir(&warm_dir)?;

    // Journal append latency.
    let lat_dir = root.join(format!("latency-{size}"));
    let (ours_latency, latency_stats) = isolated(|| {
        let mut w = open_writer(&lat_dir, seg, prepared, true)?;
        pin_current(pin)?;
        let mut h = latency_histogram()?;
        append_timed(&mut w, n, payload, &mut h)?;
        let stats = w.stats();
        w.close()?;
        Ok((Latency::of(&h), stats))
    })?;
    remove_dir(&lat_dir)?;

    // Floor append throughput.
    let floor_append = isolated(|| {
        pin_current(pin)?;
        floor.rewind();
        let t0 = clock::monotonic();
        floor_loop(&mut floor, n, payload);
        let elapsed = clock::monotonic().duration_since(t0);
        Ok(Throughput {
            events: n,
            payload_bytes: n * size as u64,
            elapsed,
        })
    })?;

    // A second floor, for insight only (no target): copies of the record's framed size
    // (payload + 32-byte header, padded to 8), i.e. the same bytes the journal writes, with
    // none of its work. It separates the cost of the format's bytes from the cost of the
    // journal's work (CRC, header, publication, index).
    let framed = record_span(size);
    let framed_bytes = usize::try_from((n * framed as u64).div_ceil(4096) * 4096)
        .context("framed floor size does not fit in memory")?;
    let framed_payload = vec![0x5Au8; framed];
    let floor_framed_append = {
        let mut f = Floor::create(&root.join(format!("floor-framed-{size}.bin")), framed_bytes)?;
        let t = isolated(|| {
            pin_current(pin)?;
            floor_loop(
                &mut f,
                n.min(framed_bytes as u64 / framed as u64),
                &framed_payload,
            );
            f.rewind();
            let t0 = clock::monotonic();
            floor_loop(&mut f, n, &framed_payload);
            let elapsed = clock::monotonic().duration_since(t0);
            Ok(Throughput {
                events: n,
                payload_bytes: n * size as u64,
                elapsed,
            })
        })?;
        drop(f);
        t
    };

    // Journal append throughput; this journal is then read back.
    let tput_dir = root.join(format!("throughput-{size}"));
    let (ours_append, append_stats) =
        append_throughput(&tput_dir, seg, prepared, true, pin, n, payload)?;

    // The same append run, cold: default preparation (two ahead), no wait at start.
    let cold_dir = root.join(format!("cold-{size}"));
    let (ours_append_cold, _) = append_throughput(&cold_dir, seg, 2, false, pin, n, payload)?;
    remove_dir(&cold_dir)?;

    // Journal sequential read: one untimed pass, then a timed pass with a fresh reader.
    let ours_read = isolated(|| {
        pin_current(pin)?;
        let mut r = JournalReader::open(&tput_dir)?;
        let (got, _, sum) = read_loop(&mut r)?;
        black_box(sum);
        ensure!(got == n, "warm read returned {got} records, wrote {n}");
        let mut r = JournalReader::open(&tput_dir)?;
        let t0 = clock::monotonic();
        let (got, bytes, sum) = read_loop(&mut r)?;
        let elapsed = clock::monotonic().duration_since(t0);
        black_box(sum);
        ensure!(got == n, "read returned {got} records, wrote {n}");
        Ok(Throughput {
            events: got,
            payload_bytes: bytes,
            elapsed,
        })
    })?;
    remove_dir(&tput_dir)?;

    // Floor sequential read, same shape: a fresh read-only mapping per pass.
    let floor_read = isolated(|| {
        pin_current(pin)?;
        black_box(floor.reader()?.scan(n, size));
        let reader = floor.reader()?;
        let t0 = clock::monotonic();
        let sum = reader.scan(n, size);
        let elapsed = clock::monotonic().duration_since(t0);
        black_box(sum);
        Ok(Throughput {
            events: n,
            payload_bytes: n * size as u64,
            elapsed,
        })
    })?;
    drop(floor);

    Ok(SizeResult {
        size,
        events: n,
        timer,
        floor_latency,
        ours_latency,
        floor_append,
        floor_framed_append,
        ours_append,
        ours_append_cold,
        ours_read,
        floor_read,
        latency_stats,
        append_stats,
    })
}

/// Time `n` appends of `payload` into a fresh journal in `dir` on an isolated thread.
fn append_throughput(
    dir: &Path,
    segment_bytes: u64,
    prepared: usize,
    wait: bool,
    pin: bool,
    n: u64,
    payload: &[u8],
) -> Result<(Throughput, WriterStats)> {
    isolated(|| {
        let mut w = open_writer(dir, segment_bytes, prepared, wait)?;
        pin_current(pin)?;
        let t0 = clock::monotonic();
        append_loop(&mut w, 0, n, payload)?;
        let elapsed = clock::monotonic().duration_since(t0);
        let stats = w.stats();
        w.close()?;
        let events = n;
        Ok((
            Throughput {
                events,
                payload_bytes: n * payload.len() as u64,
                elapsed,
            },
            stats,
        ))
    })
}

/// Elapsed time helper for the binary's summary line.
pub fn since(t0: std::time::Instant) -> Duration {
    clock::monotonic().duration_since(t0)
}
