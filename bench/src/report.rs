//! Latency summaries, the machine line and the Markdown table.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Percentiles of a latency histogram, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub p9999: u64,
    pub max: u64,
    pub samples: u64,
    /// Samples of at least [`STALL_NS`] and the time they add up to (ns).
    pub stalls: u64,
    pub stall_ns: u64,
}

/// A sample at least this long counts as a stall (a roll wait, a page fault, preemption).
pub const STALL_NS: u64 = 100_000;

impl Latency {
    /// Summarise `h`.
    pub fn of(h: &Histogram<u64>) -> Self {
        let (mut stalls, mut stall_ns) = (0u64, 0u64);
        for v in h.iter_recorded() {
            let at = h.highest_equivalent(v.value_iterated_to());
            if at >= STALL_NS {
                stalls += v.count_at_value();
                stall_ns = stall_ns.saturating_add(at.saturating_mul(v.count_at_value()));
            }
        }
        Self {
            p50: h.value_at_quantile(0.50),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            samples: h.len(),
            stalls,
            stall_ns,
        }
    }
}

/// A new latency histogram: 1 ns to 60 s, 3 significant digits.
pub fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3)
        .map_err(|e| anyhow::anyhow!("create histogram: {e}"))
}

/// Nanoseconds in `d`, saturating.
#[inline(always)]
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Events and payload bytes moved in `elapsed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throughput {
    pub events: u64,
    pub payload_bytes: u64,
    pub elapsed: Duration,
}

impl Throughput {
    /// Millions of events per second.
    pub fn mev_per_s(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64() / 1e6
    }

    /// Payload gigabytes (10^9 bytes) per second.
    pub fn gb_per_s(&self) -> f64 {
        self.payload_bytes as f64 / self.elapsed.as_secs_f64() / 1e9
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub size: usize,
    pub what: &'static str,
    pub latency: Option<Latency>,
    pub throughput: Option<Throughput>,
    pub ratio: String,
}

/// The Markdown table header.
pub const TABLE_HEADER: &str =
    "| size | what | p50 ns | p99 | p99.9 | p99.99 | max | Mev/s | GB/s | ratio vs floor |\n\
|---:|---|---:|---:|---:|---:|---:|---:|---:|---|";

/// Render `rows` as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(TABLE_HEADER);
    out.push('\n');
    for r in rows {
        let lat = r.latency.map_or_else(
            || "– | – | – | – | –".to_string(),
            |l| {
                format!(
                    "{} | {} | {} | {} | {}",
                    l.p50, l.p99, l.p999, l.p9999, l.max
                )
            },
        );
        let tput = r.throughput.map_or_else(
            || "– | –".to_string(),
            |t| format!("{:.1} | {:.2}", t.mev_per_s(), t.gb_per_s()),
        );
        let _ = writeln!(
            out,
            "| {} B | {} | {lat} | {tput} | {} |",
            r.size, r.what, r.ratio
        );
    }
    out
}

/// `PASS` or `FAIL`.
pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// One line describing the machine: cores, CPU model, kernel, date (UTC).
pub fn machine_line(unix_seconds: u64) -> String {
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown kernel".to_string(), |s| s.trim().to_string());
    format!(
        "machine: nproc={nproc}; cpu=\"{cpu}\"; kernel={kernel}; date={}",
        utc_date(unix_seconds)
    )
}

/// `YYYY-MM-DD HH:MM UTC` for seconds since the Unix epoch.
pub fn utc_date(unix_seconds: u64) -> String {
    let secs = i64::try_from(unix_seconds).unwrap_or(i64::MAX);
    let (year, month, day, hour, minute, _) = tickrail_engine::runtime::clock::civil(secs);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13 UTC");
    }
}
