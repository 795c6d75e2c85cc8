//! `tickrail journal export` end to end: the real binary on real journals, its Parquet read
//! back with the `parquet` crate's Arrow reader and compared with the journal's own events.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{short_config, text, tickrail};
use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, UInt16Type, UInt64Type};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Encoding;
use parquet::file::metadata::ParquetMetaData;
use tickrail_engine::{decode_event, Event, EventBody, EventKind};
use tickrail_journal::JournalReader;

fn demo(dir: &Path, events: u64, segment_mib: u64) {
    let o = tickrail(
        &[
            "journal",
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--events",
            &events.to_string(),
            "--segment-mib",
            &segment_mib.to_string(),
            "--fresh",
        ],
        dir.parent().unwrap(),
    );
    assert!(o.status.success(), "{}", text(&o));
}

/// Every event in the journal, decoded by the journal crate and the codec (the reference).
fn journal_events(dir: &Path) -> Vec<Event> {
    let mut r = JournalReader::open(dir).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next().unwrap() {
        out.push(decode_event(&rec).unwrap());
    }
    out
}

/// `records      N (+ M internal)` of `tickrail journal stats`.
fn stats_records(dir: &Path) -> usize {
    let o = tickrail(
        &["journal", "stats", dir.to_str().unwrap()],
        dir.parent().unwrap(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    let line = t.lines().find(|l| l.starts_with("records ")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// An exported Parquet file, read back.
struct Table {
    batches: Vec<RecordBatch>,
    meta: Arc<ParquetMetaData>,
}

impl Table {
    fn read(path: &Path) -> Self {
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let meta = Arc::clone(b.metadata());
        let batches = b.build().unwrap().map(Result::unwrap).collect();
        Self { batches, meta }
    }

    fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn prim<T: ArrowPrimitiveType>(&self, name: &str) -> Vec<Option<T::Native>> {
        self.batches
            .iter()
            .flat_map(|b| {
                b.column_by_name(name)
                    .unwrap_or_else(|| panic!("no column {name}"))
                    .as_primitive::<T>()
                    .iter()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn strs(&self, name: &str) -> Vec<Option<String>> {
        self.batches
            .iter()
            .flat_map(|b| {
                b.column_by_name(name)
                    .unwrap_or_else(|| panic!("no column {name}"))
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Names of the columns that are not null in row `row` (over all batches).
    fn non_null(&self, mut row: usize) -> BTreeSet<String> {
        for b in &self.batches {
            if row < b.num_rows() {
                return b
                    .schema()
                    .fields()
                    .iter()
                    .zip(b.columns())
                    .filter(|(_, c)| c.is_valid(row))
                    .map(|(f, _)| f.name().clone())
                    .collect();
            }
            row -= b.num_rows();
        }
        panic!("no row {row}");
    }

    fn kv(&self, key: &str) -> Option<String> {
        self.meta
            .file_metadata()
            .key_value_metadata()?
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.clone())
    }
}

/// Price, quantity (raw) of a body that has one.
fn price_qty(e: &Event) -> Option<(i64, i64)> {
    match e.body {
        EventBody::Trade { price, qty, .. }
        | EventBody::BookLevel { price, qty, .. }
        | EventBody::OrderAdd { price, qty, .. }
        | EventBody::OrderModify { price, qty, .. }
        | EventBody::OrderExecute { price, qty, .. }
        | EventBody::OrderReplace { price, qty, .. }
        | EventBody::ExecReport { price, qty, .. }
        | EventBody::OrderNew { price, qty, .. }
        | EventBody::OrderAmend { price, qty, .. } => Some((price.raw(), qty.raw())),
        _ => None,
    }
}

/// Check every row of `t` against `events`: header, kind, prices and quotes.
fn assert_matches(t: &Table, events: &[Event]) {
    assert_eq!(t.rows(), events.len());
    let seq = t.prim::<UInt64Type>("sequence");
    let cause = t.prim::<UInt64Type>("cause_sequence");
    let recv = t.prim::<Int64Type>("receive_ts_ns");
    let kind = t.strs("kind");
    let price = t.prim::<Float64Type>("price");
    let price_raw = t.prim::<Int64Type>("price_raw");
    let qty_raw = t.prim::<Int64Type>("qty_raw");
    let bid = t.prim::<Float64Type>("bid_px");
    let ask_qty = t.prim::<Float64Type>("ask_qty");
    for (i, e) in events.iter().enumerate() {
        let h = &e.header;
        assert_eq!(seq[i], Some(h.sequence), "row {i}");
        assert_eq!(cause[i], Some(h.cause_sequence), "row {i}");
        assert_eq!(recv[i], Some(h.receive_ts_ns), "row {i}");
        assert_eq!(kind[i].as_deref(), Some(e.kind().name()), "row {i}");
        let unit = 10f64.powi(i32::from(h.price_scale));
        match price_qty(e) {
            Some((p, q)) => {
                assert_eq!(price_raw[i], Some(p), "row {i}");
                assert_eq!(qty_raw[i], Some(q), "row {i}");
                let px = price[i].unwrap();
                assert_eq!(px, p as f64 / unit, "row {i}");
                assert_eq!((px * unit).round() as i64, p, "row {i}: raw comes back");
            }
            None => assert_eq!((price[i], price_raw[i]), (None, None), "row {i}"),
        }
        match e.body {
            EventBody::Quote {
                bid_px, ask_qty: q, ..
            } => {
                assert_eq!(bid[i], Some(bid_px.raw() as f64 / unit), "row {i}");
                let qunit = 10f64.powi(i32::from(h.qty_scale));
                assert_eq!(ask_qty[i], Some(q.raw() as f64 / qunit), "row {i}");
            }
            _ => assert_eq!((bid[i], ask_qty[i]), (None, None), "row {i}"),
        }
    }
}

/// If pandas (or polars) happens to be installed, it must read the file with `rows` rows.
/// Skipped, not failed, when neither is.
fn check_with_python(path: &Path, rows: usize) {
    let scripts = [
        (
            "pandas",
            "import sys, pandas; print(len(pandas.read_parquet(sys.argv[1])))",
        ),
        (
            "polars",
            "import sys, polars; print(polars.read_parquet(sys.argv[1]).height)",
        ),
    ];
    for (lib, script) in scripts {
        let Ok(o) = Command::new("python3")
            .args(["-c", script, path.to_str().unwrap()])
            .output()
        else {
            println!("python3 not available: skipping the {lib} check");
            return;
        };
        if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("No module named") {
            println!("{lib} not installed: skipping its check");
            continue;
        }
        assert!(o.status.success(), "{lib}: {}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), rows.to_string());
        println!("{lib} read {rows} rows");
    }
}

#[test]
fn demo_journal_to_parquet_matches_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    // 1 MiB segments: the export crosses several segment rolls.
    demo(&dir, 20_000, 1);
    let o = tickrail(
        &["journal", "export", "j", "--format", "parquet"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    // The default output sits next to the journal directory.
    let out = tmp.path().join("j.parquet");
    assert!(text(&o).contains("exported 20000 event(s)"), "{}", text(&o));
    assert!(text(&o).contains("1 row group(s)"), "{}", text(&o));

    let t = Table::read(&out);
    let events = journal_events(&dir);
    let stats = stats_records(&dir);
    println!(
        "demo journal: {stats} records (stats), {} decoded, {} Parquet rows",
        events.len(),
        t.rows()
    );
    assert_eq!(stats, 20_000);
    assert_eq!(t.rows(), stats);
    assert_matches(&t, &events);

    // The schema is typed as documented.
    let schema = t.batches[0].schema();
    assert_eq!(schema.fields().len(), 45);
    for (name, ty, nullable) in [
        ("sequence", DataType::UInt64, false),
        ("exchange_ts_ns", DataType::Int64, false),
        ("kind", DataType::Utf8, false),
        ("instrument", DataType::UInt32, false),
        ("source", DataType::UInt16, false),
        ("price_scale", DataType::UInt8, false),
        ("side", DataType::Utf8, true),
        ("price", DataType::Float64, true),
        ("price_raw", DataType::Int64, true),
        ("bid_px", DataType::Float64, true),
        ("level", DataType::UInt16, true),
        ("leaves_qty", DataType::Float64, true),
        ("signal", DataType::Float64, true),
        ("timer_id", DataType::UInt32, true),
        ("received", DataType::UInt64, true),
    ] {
        let f = schema.field_with_name(name).unwrap();
        assert_eq!((f.data_type(), f.is_nullable()), (&ty, nullable), "{name}");
    }
    // `kind` is dictionary-encoded in the file.
    let kind_col = schema.index_of("kind").unwrap();
    let rg = t.meta.row_group(0);
    assert!(
        rg.column(kind_col)
            .encodings()
            .any(|e| e == Encoding::RLE_DICTIONARY || e == Encoding::PLAIN_DICTIONARY),
        "kind column is not dictionary-encoded"
    );
    // The journal's manifest travels in the metadata.
    assert_eq!(
        t.kv("tickrail.manifest.config_hash").as_deref(),
        Some("demo-seed-7")
    );
    assert_eq!(t.kv("tickrail.journal").as_deref(), Some("j"));
    // Nothing but the journal and the export: no temporary file left behind.
    let names: BTreeSet<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["j", "j.parquet"].map(String::from)));
    check_with_python(&out, t.rows());
}

#[test]
fn large_exports_write_row_groups_of_65536() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    demo(&dir, 140_000, 4);
    let out = tmp.path().join("out.parquet");
    let o = tickrail(
        &["journal", "export", "big", "-o", out.to_str().unwrap()],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = Table::read(&out);
    let groups: Vec<i64> = t.meta.row_groups().iter().map(|g| g.num_rows()).collect();
    println!(
        "140000-event journal: {} rows in row groups {groups:?}",
        t.rows()
    );
    assert_eq!(groups, [65_536, 65_536, 140_000 - 2 * 65_536]);
    assert_matches(&t, &journal_events(&dir));
}

#[test]
fn kind_and_sequence_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    demo(&dir, 20_000, 1);
    let events = journal_events(&dir);

    let out = tmp.path().join("f.parquet");
    let o = tickrail(
        &[
            "journal",
            "export",
            "j",
            "-o",
            "f.parquet",
            "--kind",
            "trade,quote",
            "--kind",
            "exec_report",
            "--from",
            "1000",
            "--to",
            "15000",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = Table::read(&out);
    let want: Vec<Event> = events
        .iter()
        .filter(|e| (1000..=15_000).contains(&e.header.sequence))
        .filter(|e| {
            matches!(
                e.kind(),
                EventKind::Trade | EventKind::Quote | EventKind::ExecReport
            )
        })
        .copied()
        .collect();
    println!(
        "--kind trade,quote,exec_report --from 1000 --to 15000: {} rows",
        t.rows()
    );
    assert!(want.len() > 10_000, "{}", want.len());
    assert_matches(&t, &want);
    let kinds: BTreeSet<String> = t.strs("kind").into_iter().flatten().collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["exec_report", "quote", "trade"].map(String::from))
    );

    // Only the demo's order requests: a handful of rows, every one an order_new.
    let o = tickrail(
        &[
            "journal",
            "export",
            "j",
            "--kind",
            "order_new",
            "-o",
            "n.parquet",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = Table::read(&tmp.path().join("n.parquet"));
    let want: Vec<Event> = events
        .iter()
        .filter(|e| e.kind() == EventKind::OrderNew)
        .copied()
        .collect();
    println!("--kind order_new: {} rows", t.rows());
    assert!(!want.is_empty());
    assert_matches(&t, &want);
    assert!(t.strs("tif").iter().all(|s| s.as_deref() == Some("day")));

    // A range past the end: an empty but valid file.
    let o = tickrail(
        &[
            "journal",
            "export",
            "j",
            "--from",
            "99999999",
            "-o",
            "e.parquet",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let t = Table::read(&tmp.path().join("e.parquet"));
    assert_eq!(t.rows(), 0);
}

#[test]
fn csv_has_a_header_one_line_per_event_and_exact_prices() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    demo(&dir, 20_000, 1);
    let events = journal_events(&dir);
    let o = tickrail(&["journal", "export", "j", "-o", "-"], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    println!("CSV: {} lines for {} events", lines.len(), events.len());
    assert_eq!(lines.len(), 1 + events.len());
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header.len(), 45);
    assert_eq!(
        &header[..5],
        [
            "sequence",
            "cause_sequence",
            "exchange_ts_ns",
            "receive_ts_ns",
            "kind"
        ]
    );
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut quotes = 0;
    for (line, e) in lines[1..].iter().zip(&events) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 45, "{line}");
        assert_eq!(cells[col("sequence")], e.header.sequence.to_string());
        assert_eq!(cells[col("kind")], e.kind().name());
        let ps = e.header.price_scale().unwrap();
        let qs = e.header.qty_scale().unwrap();
        match e.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => {
                quotes += 1;
                // Exact decimal text, as the journal's own display prints it.
                assert_eq!(
                    cells[col("bid_px")],
                    bid_px.display(ps).to_string(),
                    "{line}"
                );
                assert_eq!(
                    cells[col("ask_px")],
                    ask_px.display(ps).to_string(),
                    "{line}"
                );
                assert_eq!(
                    cells[col("bid_qty")],
                    bid_qty.display(qs).to_string(),
                    "{line}"
                );
                assert_eq!(
                    cells[col("ask_qty")],
                    ask_qty.display(qs).to_string(),
                    "{line}"
                );
                assert!(cells[col("bid_px")].contains('.'), "{line}");
                assert_eq!(cells[col("price")], "", "{line}");
            }
            _ => assert_eq!(cells[col("bid_px")], "", "{line}"),
        }
        if let Some((p, _)) = price_qty(e) {
            assert_eq!(cells[col("price_raw")], p.to_string(), "{line}");
        }
    }
    assert!(quotes > 10_000, "{quotes}");
    // The first quote, spelled out: the demo's prices have two decimals.
    let first = lines[1..]
        .iter()
        .find(|l| l.split(',').nth(4) == Some("quote"))
        .unwrap();
    let bid = first.split(',').nth(col("bid_px")).unwrap();
    assert!(
        bid.len() >= 4 && bid.as_bytes()[bid.len() - 3] == b'.',
        "{first}"
    );

    // -o FILE.csv picks CSV from the extension; the default name is DIR.csv.
    let o = tickrail(&["journal", "export", "j", "--format", "csv"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("j.csv")).unwrap(),
        csv
    );
    let o = tickrail(
        &["journal", "export", "j", "-o", "x.csv", "--kind", "trade"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let x = std::fs::read_to_string(tmp.path().join("x.csv")).unwrap();
    let trades = events
        .iter()
        .filter(|e| e.kind() == EventKind::Trade)
        .count();
    println!(
        "CSV --kind trade: {} lines for {trades} trades",
        x.lines().count()
    );
    assert_eq!(x.lines().count(), 1 + trades);
}

/// A journal holding one event of every kind (the engine's samples).
fn every_kind_journal(dir: &Path) -> Vec<Event> {
    let opts = tickrail_journal::JournalOptions {
        segment_bytes: 1 << 20,
        preallocate: false,
        ..Default::default()
    };
    let manifest = tickrail_journal::Manifest::new("test", "every-kind");
    let (mut w, _) = tickrail_journal::JournalWriter::open(dir, opts, &manifest).unwrap();
    let events = tickrail_engine::event::sample_events();
    for e in &events {
        tickrail_engine::append_event(&mut w, e).unwrap();
    }
    w.close().unwrap();
    events.to_vec()
}

#[test]
fn every_kind_fills_its_own_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("all");
    let events = every_kind_journal(&dir);
    let o = tickrail(&["journal", "export", "all"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let t = Table::read(&tmp.path().join("all.parquet"));
    println!("every-kind journal: {} rows", t.rows());
    assert_matches(&t, &events);

    let header = [
        "sequence",
        "cause_sequence",
        "exchange_ts_ns",
        "receive_ts_ns",
        "kind",
        "instrument",
        "source",
        "price_scale",
        "qty_scale",
    ];
    let px = ["price", "price_raw", "qty", "qty_raw"];
    let body: [(&str, &[&str]); 18] = [
        ("quote", &["bid_px", "bid_qty", "ask_px", "ask_qty"]),
        ("trade", &["aggressor", "trade_id"]),
        ("book_level", &["side", "action", "level"]),
        ("order_add", &["side", "order_id"]),
        ("order_modify", &["order_id"]),
        ("order_delete", &["order_id"]),
        ("order_execute", &["order_id", "match_id"]),
        ("order_replace", &["order_id", "new_order_id"]),
        ("trading_status", &["status"]),
        (
            "exec_report",
            &[
                "exec",
                "side",
                "liquidity",
                "reject_code",
                "client_order_id",
                "venue_order_id",
                "leaves_qty",
                "cum_qty",
            ],
        ),
        ("timer", &["timer_id", "deadline_ns"]),
        ("command", &["command", "arg"]),
        ("feed_gap", &["expected", "received"]),
        ("signal", &["model_id", "signal"]),
        ("order_new", &["side", "tif", "venue", "client_order_id"]),
        ("order_cancel", &["client_order_id", "orig_client_order_id"]),
        ("order_amend", &["client_order_id", "orig_client_order_id"]),
        ("risk_reject", &["risk_code", "client_order_id"]),
    ];
    for (i, (e, (kind, fields))) in events.iter().zip(body).enumerate() {
        assert_eq!(e.kind().name(), kind);
        let mut want: BTreeSet<String> =
            header.iter().chain(fields).map(|s| s.to_string()).collect();
        if price_qty(e).is_some() {
            want.extend(px.map(String::from));
        }
        assert_eq!(t.non_null(i), want, "{kind}");
    }
    // Values, decoded.
    let s = |name: &str| t.strs(name);
    assert_eq!(s("aggressor")[1].as_deref(), Some("sell"));
    assert_eq!(s("action")[2].as_deref(), Some("upsert"));
    assert_eq!(s("status")[8].as_deref(), Some("halted"));
    assert_eq!(s("exec")[9].as_deref(), Some("partial_fill"));
    assert_eq!(s("command")[11].as_deref(), Some("cancel_all"));
    assert_eq!(s("tif")[14].as_deref(), Some("post_only"));
    assert_eq!(s("risk_code")[17].as_deref(), Some("price_band"));
    let f = |name: &str| t.prim::<Float64Type>(name);
    assert_eq!(f("bid_px")[0], Some(101.25));
    assert_eq!(f("ask_px")[0], Some(101.26));
    assert_eq!(f("leaves_qty")[9], Some(200.0));
    assert_eq!(f("signal")[13], Some(-1.5));
    let u = |name: &str| t.prim::<UInt64Type>(name);
    assert_eq!(u("order_id")[7], Some(1002));
    assert_eq!(u("new_order_id")[7], Some(1003));
    assert_eq!(u("expected")[12], Some(1001));
    assert_eq!(u("received")[12], Some(1005));
    assert_eq!(u("venue_order_id")[9], Some(900_005));
    assert_eq!(u("cause_sequence")[13], Some(13));
    assert_eq!(t.prim::<UInt16Type>("level")[2], Some(2));
    assert_eq!(t.prim::<Int64Type>("arg")[11], Some(-1));

    // The same in CSV, as exact text.
    let o = tickrail(
        &["journal", "export", "all", "--format", "csv", "-o", "-"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 19);
    let col = |name: &str| lines[0].iter().position(|h| *h == name).unwrap();
    assert_eq!(lines[1][col("bid_px")], "101.25");
    assert_eq!(lines[1][col("ask_qty")], "100");
    assert_eq!(lines[2][col("price")], "101.25");
    assert_eq!(lines[2][col("price_raw")], "10125");
    assert_eq!(lines[14][col("signal")], "-1.500000000");
    assert_eq!(lines[10][col("leaves_qty")], "200");
    assert_eq!(lines[18][col("risk_code")], "price_band");
    assert_eq!(lines[13][col("received")], "1005");
    for (i, line) in lines[1..].iter().enumerate() {
        let filled: BTreeSet<&str> = line
            .iter()
            .zip(&lines[0])
            .filter(|(c, _)| !c.is_empty())
            .map(|(_, h)| *h)
            .collect();
        let want = t.non_null(i);
        assert_eq!(
            filled,
            want.iter().map(String::as_str).collect(),
            "CSV row {i}"
        );
    }
}

#[test]
fn a_run_exports_inputs_and_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = short_config(tmp.path());
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let mut all_kinds = BTreeSet::new();
    for stream in ["inputs", "outputs"] {
        let dir = tmp.path().join("r").join(stream);
        let o = tickrail(&["journal", "export", &format!("r/{stream}")], tmp.path());
        assert!(o.status.success(), "{}", text(&o));
        let t = Table::read(&tmp.path().join("r").join(format!("{stream}.parquet")));
        let events = journal_events(&dir);
        let stats = stats_records(&dir);
        let kinds: BTreeSet<String> = t.strs("kind").into_iter().flatten().collect();
        println!(
            "run {stream}: {stats} records (stats), {} Parquet rows, kinds {kinds:?}",
            t.rows()
        );
        assert_eq!(t.rows(), stats);
        assert_matches(&t, &events);
        all_kinds.extend(kinds);
    }
    // A run has market data (L3 in the default config) and fills in, decisions out.
    for k in ["order_add", "trade", "exec_report", "signal", "order_new"] {
        assert!(all_kinds.contains(k), "no {k} in {all_kinds:?}");
    }
}

#[test]
fn errors_name_the_problem_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    // A missing journal: exit 1, the path named, no output file.
    let o = tickrail(&["journal", "export", "nope"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("nope: journal directory does not exist"),
        "{}",
        text(&o)
    );
    assert!(!tmp.path().join("nope.parquet").exists());

    let dir = tmp.path().join("j");
    demo(&dir, 5_000, 64);
    // Unknown kinds: the valid ones are listed.
    let o = tickrail(
        &["journal", "export", "j", "--kind", "trade,qoute"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("unknown kind \"qoute\""), "{t}");
    for k in EventKind::ALL {
        assert!(t.contains(k.name()), "{k} not listed: {t}");
    }
    let o = tickrail(
        &["journal", "export", "j", "--kind", "manifest"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not an event"), "{}", text(&o));
    let o = tickrail(
        &["journal", "export", "j", "--from", "10", "--to", "5"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("--from 10 is after --to 5"),
        "{}",
        text(&o)
    );
    let o = tickrail(&["journal", "export", "j", "--format", "xlsx"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "clap usage error: {}", text(&o));

    // A corrupt record: the file and offset named, exit 1, and no (partial) output left.
    let (segment, off) = {
        let mut r = JournalReader::open(&dir).unwrap();
        let mut at = None;
        while let Some(rec) = r.next().unwrap() {
            if rec.sequence == 3_000 {
                at = Some((rec.position.segment, rec.position.offset));
                break;
            }
        }
        at.unwrap()
    };
    let seg = dir.join(format!("{segment:020}.seg"));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, off + 50).unwrap();
    f.write_all_at(&[b[0] ^ 1], off + 50).unwrap();
    for args in [
        &["journal", "export", "j"][..],
        &["journal", "export", "j", "--format", "csv"],
        &["journal", "export", "j", "-o", "-"],
    ] {
        let o = tickrail(args, tmp.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let t = String::from_utf8_lossy(&o.stderr);
        assert!(
            t.contains(&format!("{segment:020}.seg: offset {off}: corrupt record")),
            "{args:?}: {t}"
        );
    }
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["j"], "a failed export left files behind");
    // The records before the damage still export with --to (reading stops at the first
    // record past it, 2999, before the damaged one).
    let o = tickrail(&["journal", "export", "j", "--to", "2998"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(Table::read(&tmp.path().join("j.parquet")).rows(), 2_998);

    // An output directory that does not exist: the destination named.
    f.write_all_at(&b, off + 50).unwrap();
    let o = tickrail(
        &["journal", "export", "j", "-o", "no/such/dir/x.parquet"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no/such/dir/x.parquet"), "{}", text(&o));
}
