//! `append_event` (and the zero-copy read path) must not allocate after warm-up.
//!
//! The counting global allocator (`tickrail_engine::alloc_count`) counts allocations per
//! thread; only the test's own thread is measured (not the harness, not the journal's
//! background threads).

use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::event::sample_events;
use tickrail_engine::{access_event, append_event, Event, EventKind};
use tickrail_journal::{JournalOptions, JournalReader, JournalWriter, Manifest};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const EVENTS: u64 = 10_000;

/// The `n`th event of a stream cycling through every kind, with increasing sequences.
fn nth(samples: &[Event], n: u64) -> Event {
    let mut e = samples[(n % samples.len() as u64) as usize];
    e.header.sequence = n + 1;
    e.header.cause_sequence = if e.kind().is_input() { n + 1 } else { n };
    e
}

#[test]
fn append_event_does_not_allocate() {
    // The counter works: an allocation on this thread is seen.
    let (count, v) = allocations_in(|| Vec::<u64>::with_capacity(4));
    assert!(
        count >= 1 && v.capacity() >= 4,
        "the counting allocator must count"
    );

    let dir = tempfile::tempdir().unwrap();
    let opts = JournalOptions {
        preallocate: false,
        segment_bytes: 64 * 1024 * 1024,
        ..Default::default()
    };
    let (mut writer, _) =
        JournalWriter::open(dir.path(), opts, &Manifest::new("0.1.0", "cfg-hash")).unwrap();
    let samples = sample_events();

    // Warm-up: the first appends may touch lazily initialised state.
    for n in 0..100 {
        append_event(&mut writer, &nth(&samples, n)).unwrap();
    }
    let (count, ok) = allocations_in(|| {
        (100..100 + EVENTS).all(|n| append_event(&mut writer, &nth(&samples, n)).is_ok())
    });
    assert!(ok, "every append succeeds");
    assert_eq!(
        count, 0,
        "append_event allocated {count} times in {EVENTS} appends"
    );
    assert_eq!(writer.stats().rolls, 0, "the test must not roll a segment");
    writer.close().unwrap();

    // The zero-copy read path does not allocate either.
    let mut reader = JournalReader::open(dir.path()).unwrap();
    for _ in 0..100 {
        let rec = reader.next().unwrap().unwrap();
        access_event(&rec).unwrap();
    }
    let (count, read) = allocations_in(|| {
        let mut read = 0u64;
        let mut quotes = 0u64;
        while let Ok(Some(rec)) = reader.next() {
            match access_event(&rec) {
                Ok(e) if e.kind() == EventKind::Quote => quotes += 1,
                Ok(_) => {}
                Err(_) => break,
            }
            read += 1;
        }
        (read, quotes)
    });
    assert_eq!(read.0, EVENTS, "every event reads back");
    assert!(read.1 > 0);
    assert_eq!(
        count, 0,
        "reading allocated {count} times in {EVENTS} reads"
    );
}

#[test]
fn l2_book_updates_do_not_allocate() {
    use tickrail_engine::book::L2Book;
    use tickrail_engine::{LevelAction, Side};
    let mut book = Box::new(L2Book::<64>::new());
    let (allocs, ()) = allocations_in(|| {
        for i in 0..100_000i64 {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            let px = if i % 2 == 0 {
                1_000 - i % 50
            } else {
                1_001 + i % 50
            };
            let action = if i % 7 == 0 {
                LevelAction::Delete
            } else {
                LevelAction::Upsert
            };
            let _ = book.apply(side, action, px, 1 + i % 9);
        }
    });
    assert_eq!(allocs, 0);
    assert!(book.check_invariants().is_ok());
}

#[test]
fn feature_updates_do_not_allocate() {
    use tickrail_engine::book::L2Book;
    use tickrail_engine::features::{FeatureConfig, FeatureEngine};
    use tickrail_engine::{Aggressor, LevelAction, Side};
    let mut book = Box::new(L2Book::<64>::new());
    let mut features = FeatureEngine::new(FeatureConfig {
        imbalance_levels: 64,
        vwap_half_life_ns: Some(1e9),
        ..Default::default()
    })
    .unwrap();
    let (allocs, ()) = allocations_in(|| {
        for i in 0..100_000i64 {
            let ts = i * 1_000 - (i % 5) * 3_000; // sometimes backwards
            if i % 3 == 0 {
                let aggressor = if i % 2 == 0 {
                    Aggressor::Buy
                } else {
                    Aggressor::Sell
                };
                features.on_trade(ts, 1_000 + i % 10, i % 4, aggressor, 2, 0);
            } else {
                let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
                let px = 995 + i % 11; // crosses now and then
                let _ = book.apply(side, LevelAction::Upsert, px, i % 9);
                features.on_book(ts, &*book, 2);
            }
        }
        features.on_time(i64::MAX);
    });
    assert_eq!(allocs, 0);
    assert!(features.anomalies().time_backwards > 0 && features.anomalies().crossed_book > 0);
}

#[cfg(feature = "onnx")]
#[test]
fn onnx_model_predict_allocation_count() {
    use tickrail_engine::model::{Model, OnnxModel};
    // What the module docs of `engine/src/model/onnx.rs` say: a call on the example MLP
    // allocates 33 times on the VM it was measured on; tract builds a run state and every
    // intermediate tensor per call. The bound leaves room for another CPU's kernel choice.
    const MEASURED_PER_CALL: u64 = 33;
    const MAX_PER_CALL: u64 = 40;
    const CALLS: u64 = 10_000;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/models");
    let model = OnnxModel::load(dir.join("mlp.onnx"), 4).unwrap();
    let row = |i: u64| [i as f64 * 1e-3, 0.5, -0.25, 1.0];
    // Warm-up: lazily initialised state in tract (kernel choice, …) is not a per-call cost.
    let warm: f64 = (0..100).map(|i| model.predict(&row(i))).sum();
    assert!(warm.is_finite());
    let (count, sum) = allocations_in(|| (0..CALLS).map(|i| model.predict(&row(i))).sum::<f64>());
    assert!(sum.is_finite());
    assert_eq!(model.run_errors(), 0);
    let per_call = count as f64 / CALLS as f64;
    println!(
        "OnnxModel::predict: {count} allocations in {CALLS} calls, {per_call} per call \
         (documented: {MEASURED_PER_CALL} here, at most {MAX_PER_CALL})"
    );
    assert!(
        (CALLS..=MAX_PER_CALL * CALLS).contains(&count),
        "OnnxModel::predict allocated {per_call} times per call; the module docs say \
         {MEASURED_PER_CALL} (between 1 and {MAX_PER_CALL}): update them"
    );
}
