//! Queue models step by step: hand-computed cases for every model, and properties over random
//! level-data sequences.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use proptest::prelude::*;

use super::{log2_front_share, log_front_share, QueueModel, QueuePosition};

/// One input to a queue position.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The level now displays this quantity.
    Level(i64),
    /// A trade of this quantity at our price, against our side.
    Trade(i64),
}

/// Applies `steps`, returning `(ahead after, reached us)` after each.
fn walk(q: &mut QueuePosition, steps: &[Step]) -> Vec<(f64, i64)> {
    steps
        .iter()
        .map(|&s| {
            let reach = match s {
                Step::Level(n) => {
                    q.level(n);
                    0
                }
                Step::Trade(n) => q.trade(n),
            };
            (q.ahead().unwrap(), reach)
        })
        .collect()
}

/// The scenario of the hand-computed cases: we join a bid of 100 (100 ahead, 0 behind).
/// 50 join behind us; 30 leave (cancels: who from?); 20 trade; the level shows 90 (the
/// trade and 10 more cancels); 60 trade; the level shows 20 (the trade and 10 cancels);
/// 15 trade.
const STEPS: [Step; 7] = [
    Step::Level(150),
    Step::Level(120),
    Step::Trade(20),
    Step::Level(90),
    Step::Trade(60),
    Step::Level(20),
    Step::Trade(15),
];

fn assert_walk(model: QueueModel, want: [(f64, i64); 7]) {
    let mut q = QueuePosition::new(model, Some(100));
    assert_eq!(q.entry_ahead(), Some(100.0));
    let got = walk(&mut q, &STEPS);
    for (k, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert!(
            (g.0 - w.0).abs() < 1e-6 && g.1 == w.1,
            "{model:?} step {k} {:?}: got {g:?}, want {w:?}",
            STEPS[k]
        );
    }
    assert_eq!(q.entry_ahead(), Some(100.0), "the entry position stays");
}

#[test]
fn risk_averse_and_fifo_on_level_data_move_only_by_trades() {
    // L150: the level grew: ahead stays 100.
    // L120: a decrease without trades: cancels come from behind: min(100, 120) = 100.
    // T20: 100 − 20 = 80; nothing beyond the queue.
    // L90: min(80, 90) = 80.
    // T60: 80 − 60 = 20.
    // L20: min(20, 20) = 20.
    // T15: 20 − 15 = 5; nothing reaches us (hftbacktest's RiskAdverseQueueModel: the same).
    let want = [
        (100.0, 0),
        (100.0, 0),
        (80.0, 0),
        (80.0, 0),
        (20.0, 0),
        (20.0, 0),
        (5.0, 0),
    ];
    assert_walk(QueueModel::RiskAverse, want);
    assert_walk(QueueModel::Fifo, want);
    // The cap by the displayed quantity, then a trade beyond the queue: 5 ahead, the level
    // shows 3 (ahead 3), 10 trade: 7 reach us.
    let mut q = QueuePosition::new(QueueModel::RiskAverse, Some(5));
    assert_eq!(
        walk(&mut q, &[Step::Level(3), Step::Trade(10)]),
        [(3.0, 0), (0.0, 7)]
    );
}

#[test]
fn power_probability_splits_cancels_by_the_power_of_each_side() {
    // power 2, f(x) = x².
    // L150: grew: 100.
    // L120: d = 150 − 120 = 30; front 100, back 150 − 100 = 50;
    //       p = 100²/(100² + 50²) = 0.8; ahead = 100 − 30·0.8 = 76.
    // T20: 76 − 20 = 56 (traded 20).
    // L90: d = 120 − 90 − 20 = 10; front 56, back 120 − 20 − 56 = 44;
    //      p = 3136/(3136 + 1936) = 0.6182965; ahead = 56 − 6.182965 = 49.817035.
    // T60: 49.817035 − 60 = −10.18: round(10.18) = 10 reach us; ahead 0.
    // L20: d = 90 − 20 − 60 = 10; front 0: p = 0, all from behind (30): ahead 0.
    // T15: all 15 reach us.
    assert_walk(
        QueueModel::Probabilistic { power: 2.0 },
        [
            (100.0, 0),
            (76.0, 0),
            (56.0, 0),
            (56.0 - 10.0 * 3136.0 / 5072.0, 0),
            (0.0, 10),
            (0.0, 0),
            (0.0, 15),
        ],
    );
    // power 0: p = ½ whatever the sizes.
    // L120: 100 − 15 = 85. T20: 65. L90: d = 10: 65 − 5 = 60. T60: 60 − 60 = 0, nothing
    // beyond. L20: 0. T15: 15 reach us.
    assert_walk(
        QueueModel::Probabilistic { power: 0.0 },
        [
            (100.0, 0),
            (85.0, 0),
            (65.0, 0),
            (60.0, 0),
            (0.0, 0),
            (0.0, 0),
            (0.0, 15),
        ],
    );
}

#[test]
fn log_probability_splits_cancels_by_the_log_of_each_side() {
    // f(x) = ln(1 + x), p = f(front)/(f(front) + f(back)).
    // L120: d = 30; f(100) = 4.615121, f(50) = 3.931826: p = 0.539973;
    //       ahead = 100 − 30·0.539973 = 83.800809.
    // T20: 63.800809.
    // L90: d = 10; front 63.800809, back 100 − 63.800809 = 36.199191;
    //      f = 4.171318, 3.616287: p = 0.535636; ahead = 63.800809 − 5.356355 = 58.444453.
    // T60: 58.444453 − 60 = −1.555547: round = 2 reach us; ahead 0.
    // L20: front 0: 0. T15: 15 reach us.
    assert_walk(
        QueueModel::LogProbabilistic,
        [
            (100.0, 0),
            (83.800_809, 0),
            (63.800_809, 0),
            (58.444_453, 0),
            (0.0, 2),
            (0.0, 0),
            (0.0, 15),
        ],
    );
    assert!((log_front_share(100.0, 50.0) - 0.539_973).abs() < 1e-6);
}

#[test]
fn log_probability_2_takes_from_behind_by_the_log_of_the_whole() {
    // f(x) = ln(1 + x), p = 1 − f(back)/f(back + front).
    // L120: d = 30; front 100, back 50: p = 1 − 3.931826/5.017280 = 0.216343;
    //       ahead = 100 − 6.490295 = 93.509705.
    // T20: 73.509705.
    // L90: d = 10; back 100 − 73.509705 = 26.490295: p = 1 − 3.313833/4.615121 = 0.281962;
    //      ahead = 73.509705 − 2.819618 = 70.690087.
    // T60: 10.690087; nothing beyond.
    // L20: d = 90 − 20 − 60 = 10; back 90 − 60 − 10.690087 = 19.309913:
    //      p = 1 − 3.011109/3.433987 = 0.123145; ahead = 10.690087 − 1.231449 = 9.458638.
    // T15: 9.458638 − 15 = −5.541362: 6 reach us.
    assert_walk(
        QueueModel::LogProbabilistic2,
        [
            (100.0, 0),
            (93.509_705, 0),
            (73.509_705, 0),
            (70.690_087, 0),
            (10.690_087, 0),
            (9.458_638, 0),
            (0.0, 6),
        ],
    );
    assert!((log2_front_share(100.0, 50.0) - 0.216_343).abs() < 1e-6);
}

#[test]
fn a_decrease_beyond_what_is_behind_comes_from_the_front_and_stops_at_zero() {
    // 10 ahead, then 5 join behind (15), then the level drops to 0 without trades:
    // d = 15; power 0: p = ½: from the front 7.5, from behind 7.5 > 5: the excess 2.5 also
    // from the front: 10 − 7.5 − 2.5 = 0 (and never below: hftbacktest would go to −5 with
    // back 5 − 7.5 and fill that on the next trade).
    for model in [
        QueueModel::Probabilistic { power: 0.0 },
        QueueModel::LogProbabilistic,
        QueueModel::LogProbabilistic2,
    ] {
        let mut q = QueuePosition::new(model, Some(10));
        assert_eq!(
            walk(&mut q, &[Step::Level(15), Step::Level(0), Step::Trade(4)]),
            [(10.0, 0), (0.0, 0), (0.0, 4)],
            "{model:?}"
        );
    }
}

#[test]
fn an_unknown_entry_stays_unknown_and_the_level_sets_the_position() {
    for model in models() {
        let mut q = QueuePosition::new(model, None);
        assert_eq!((q.ahead(), q.entry_ahead()), (None, None));
        assert_eq!(q.trade(50), 0, "{model:?}: no queue fill while unknown");
        q.level(70);
        assert_eq!((q.ahead(), q.entry_ahead()), (Some(70.0), None));
    }
}

#[test]
fn names_round_trip() {
    for model in models() {
        assert_eq!(QueueModel::parse(&model.name()), Some(model), "{model:?}");
    }
    for (text, model) in [
        ("prob", QueueModel::Probabilistic { power: 2.0 }),
        ("power_prob", QueueModel::Probabilistic { power: 2.0 }),
        ("power_prob:1.5", QueueModel::Probabilistic { power: 1.5 }),
        ("prob:3", QueueModel::Probabilistic { power: 3.0 }),
    ] {
        assert_eq!(QueueModel::parse(text), Some(model), "{text}");
    }
    // The names existing manifests hold.
    assert_eq!(QueueModel::Fifo.name(), "fifo");
    assert_eq!(QueueModel::Probabilistic { power: 2.0 }.name(), "prob:2");
    for bad in [
        "", "lifo", "prob:", "prob:-1", "prob:nan", "prob:inf", "log", "fifo:1",
    ] {
        assert_eq!(QueueModel::parse(bad), None, "{bad}");
    }
}

/// Every model, with a few powers.
fn models() -> Vec<QueueModel> {
    vec![
        QueueModel::Fifo,
        QueueModel::RiskAverse,
        QueueModel::Probabilistic { power: 0.0 },
        QueueModel::Probabilistic { power: 0.5 },
        QueueModel::Probabilistic { power: 2.0 },
        QueueModel::Probabilistic { power: 10.0 },
        QueueModel::LogProbabilistic,
        QueueModel::LogProbabilistic2,
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0i64..400).prop_map(Step::Level),
        (0i64..120).prop_map(Step::Trade),
    ]
}

proptest! {
    /// On any level-data sequence, under every model: the position is never negative, never
    /// above what the level displays after an update, a trade never gives more than its own
    /// quantity, and no model is ever further back than the risk-averse one (which only
    /// trades move): every other model takes some cancels from the front.
    #[test]
    fn queue_invariants_hold_for_every_model(
        start in prop::option::weighted(0.9, 0i64..400),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        for model in models() {
            let mut q = QueuePosition::new(model, start);
            let mut b = QueuePosition::new(QueueModel::RiskAverse, start);
            for &s in &steps {
                match s {
                    Step::Level(n) => {
                        q.level(n);
                        b.level(n);
                        let a = q.ahead().unwrap();
                        prop_assert!(a >= 0.0 && a <= n as f64, "{model:?}: {a} after level {n}");
                    }
                    Step::Trade(n) => {
                        let before = q.ahead();
                        let reach = q.trade(n);
                        b.trade(n);
                        prop_assert!((0..=n).contains(&reach), "{model:?}: {reach} of {n}");
                        if before.is_none() {
                            prop_assert_eq!(reach, 0);
                        }
                        if let Some(a) = q.ahead() {
                            prop_assert!(a >= 0.0, "{model:?}: {a}");
                        }
                    }
                }
                if let (Some(a), Some(r)) = (q.ahead(), b.ahead()) {
                    prop_assert!(a <= r + 1e-9, "{model:?}: {a} behind risk-averse {r}");
                }
            }
        }
    }
}

#[test]
fn queue_fills_are_written_as_csv_with_their_statistics() {
    use super::{write_queue_fills_csv, QueueFill, QueueFillStats, RestingFill};
    use tickrail_engine::{InstrumentId, Price, Side};
    let fill = |at_ns, id, qty, kind, entry, before| QueueFill {
        at_ns,
        client_order_id: id,
        instrument: InstrumentId::new(1),
        side: Side::Buy,
        price: Price::new(10_050),
        qty,
        price_scale: 2,
        qty_scale: 1,
        kind,
        entry_ahead: entry,
        fill_ahead: before,
    };
    let fills = [
        fill(50, 7, 25, RestingFill::Queue, Some(1000.0), Some(12.5)),
        fill(60, 7, 5, RestingFill::Through, Some(1000.0), Some(0.0)),
        fill(70, 8, 10, RestingFill::Queue, None, Some(300.0)),
        fill(80, 9, 10, RestingFill::Through, Some(40.0), None),
    ];
    let mut out = Vec::new();
    write_queue_fills_csv(&mut out, &fills).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "venue_ts_ns,client_order_id,instrument,side,price,qty,kind,ahead_at_entry,\
         ahead_at_fill\n\
         50,7,1,buy,100.50,2.5,queue,100,1.25\n\
         60,7,1,buy,100.50,0.5,through,100,0\n\
         70,8,1,buy,100.50,1.0,queue,,30\n\
         80,9,1,buy,100.50,1.0,through,4,\n"
    );
    // In units (qty_scale 1: raw / 10). Nearest rank: entry [4, 100, 100]: median rank 2,
    // p90 rank 3; at the fill [0, 1.25, 30]: median 1.25, p90 30.
    let s = QueueFillStats::of(&fills);
    assert_eq!(
        s,
        QueueFillStats {
            queue_fills: 2,
            through_fills: 2,
            entry_unknown: 1,
            entry_median: Some(100.0),
            entry_p90: Some(100.0),
            fill_median: Some(1.25),
            fill_p90: Some(30.0),
        }
    );
    assert_eq!(
        s.to_string(),
        "2 fills from the queue, 2 traded through; queue ahead at entry median 100 p90 100 \
         (1 unknown), just before the fill median 1.25 p90 30 (instrument units)"
    );
    assert_eq!(QueueFillStats::of(&[]), QueueFillStats::default());
}
