//! The stats file's seqlock under load: a writer thread publishing as fast as it can through
//! its own mapping, a reader thread reading through another (read-only) mapping of the same
//! file. Every snapshot the reader gets must be one publish, never a mix of two.
//!
//! Runs about 1 s; `TICKRAIL_STRESS_MS=60000` for longer.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tickrail_engine::runtime::clock::now_ns;
use tickrail_engine::runtime::stats_file::{
    StatsReader, StatsWriter, Status, MAX_VALUES, STATS_LABELS,
};

fn stress_ms() -> u64 {
    std::env::var("TICKRAIL_STRESS_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn a_torn_snapshot_is_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats");
    let names: Vec<String> = (0..MAX_VALUES).map(|i| format!("value.{i}")).collect();
    let labels: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut writer = StatsWriter::create(&path, &labels, 0).unwrap();
    let reader = StatsReader::open(&path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = now_ns() + stress_ms() * 1_000_000;

    let ws = stop.clone();
    let writer_thread = std::thread::spawn(move || {
        let mut values = vec![0i64; MAX_VALUES];
        let mut k = 0i64;
        while !ws.load(Ordering::Relaxed) {
            k += 1;
            // All equal, and the sign flips every publish so a mix of two is visible in
            // every bit, not just the low ones.
            let v = if k % 2 == 0 { k } else { -k };
            values.fill(v);
            writer.publish(&values);
            if k % 4096 == 0 {
                std::thread::yield_now();
            }
        }
        writer.publish(&vec![i64::MAX; MAX_VALUES]);
        writer.finish();
        k
    });

    let (mut got, mut missed, mut last) = (0u64, 0u64, 0u64);
    let mut values = vec![0i64; MAX_VALUES];
    while now_ns() < deadline {
        match reader.read_values(&mut values) {
            Some(publishes) => {
                got += 1;
                assert!(
                    values.iter().all(|v| *v == values[0]),
                    "torn snapshot at publish {publishes}: {values:?}"
                );
                assert_eq!(
                    values[0].unsigned_abs(),
                    publishes,
                    "values are of their publish"
                );
                assert!(publishes >= last, "went back from {last} to {publishes}");
                last = publishes;
            }
            None => missed += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let published = writer_thread.join().unwrap();
    let end = reader.read().unwrap();
    assert_eq!(end.status, Status::Finished);
    assert!(end.values.iter().all(|v| *v == i64::MAX));
    eprintln!(
        "{published} publishes, {got} consistent reads (last at publish {last}), \
         {missed} reads gave up"
    );
    assert!(got > 100, "the reader should get through sometimes: {got}");
    assert!(published > 1000, "{published}");
}

#[test]
fn engine_labels_fit_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats");
    let mut w = StatsWriter::create_for_counters(&path, 1).unwrap();
    let mut values = [0i64; STATS_LABELS.len()];
    values[0] = 10;
    w.publish(&values);
    let s = StatsReader::open(&path).unwrap().read().unwrap();
    assert_eq!(s.labels, STATS_LABELS);
    assert_eq!(s.get("feed.inputs"), Some(10));
    assert_eq!(s.get("risk_reject.throttle"), Some(0));
}
