//! The historical venue's latency models ([`LatencyModel`]): constant, a seeded lognormal
//! distribution, or a profile recorded from a live run, per request type (`OrderNew`,
//! `OrderCancel`, `OrderAmend`) and for the responses ([`Latencies`]). Configured by
//! `[backtest.latency]` ([`LatencySpec`]); a type the config leaves out keeps the venue's
//! constant.
//!
//! Every model is deterministic: a constant and a profile are functions of the time, and a
//! distribution draws from its own seeded stream, one draw per request of its type in
//! submission order (or per report, in the venue's processing order), so the same backtest
//! draws the same values on every run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tickrail_engine::config::{
    LatencyKind, LatencyModelSpec, LatencySpec, ProfileSeries, NS_PER_DAY,
};
use tickrail_engine::EventBody;

/// One latency model: [`LatencyModel::latency_ns`] at a time gives a latency in ns, `>= 0`,
/// never below [`LatencyModel::min_ns`].
#[derive(Debug, Clone)]
pub enum LatencyModel {
    /// The same latency every time.
    Constant(i64),
    /// `median · exp(sigma · z)`, `z` standard normal from the stream, rounded to the
    /// nanosecond, then clamped to `[floor, cap]`.
    LogNormal {
        /// Median, ns.
        median_ns: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
        /// Least latency, ns.
        floor_ns: i64,
        /// Greatest latency, ns (`i64::MAX`: none).
        cap_ns: i64,
        /// The draws.
        rng: Box<ChaCha8Rng>,
    },
    /// Linear interpolation by time of day between recorded points; before the first point
    /// the first latency, after the last the last one.
    Profile {
        /// `(time of day ns, latency ns)`, times strictly increasing, not empty.
        points: Vec<(i64, i64)>,
        /// The least latency of the points (interpolation stays between them).
        min_ns: i64,
    },
}

impl LatencyModel {
    /// The model `spec` describes, for `kind` (which picks a distribution's stream: two
    /// types with the same seed draw different values).
    pub fn from_spec(spec: &LatencyModelSpec, kind: LatencyKind) -> Self {
        match spec {
            LatencyModelSpec::Constant { ns } => Self::Constant((*ns).max(0)),
            LatencyModelSpec::LogNormal {
                median_ns,
                sigma,
                floor_ns,
                cap_ns,
                seed,
            } => Self::lognormal(
                *median_ns,
                *sigma,
                *floor_ns,
                *cap_ns,
                stream_seed(*seed, kind),
            ),
            LatencyModelSpec::Profile(ProfileSeries { points, .. }) => {
                Self::profile(points.clone())
            }
        }
    }

    /// A lognormal model drawing from a ChaCha8 stream seeded with `seed`
    /// (`ChaCha8Rng::seed_from_u64`).
    pub fn lognormal(
        median_ns: i64,
        sigma: f64,
        floor_ns: i64,
        cap_ns: Option<i64>,
        seed: u64,
    ) -> Self {
        let floor_ns = floor_ns.max(0);
        Self::LogNormal {
            median_ns: median_ns as f64,
            sigma,
            floor_ns,
            cap_ns: cap_ns.unwrap_or(i64::MAX).max(floor_ns),
            rng: Box::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// A profile model over `points` (`(time of day ns, latency ns)`, times increasing);
    /// no points: latency 0.
    pub fn profile(points: Vec<(i64, i64)>) -> Self {
        if points.is_empty() {
            return Self::Constant(0);
        }
        let min_ns = points.iter().map(|&(_, l)| l).min().unwrap_or(0).max(0);
        Self::Profile { points, min_ns }
    }

    /// The latency of something happening at `at_ns` (event time, ns since the epoch; a
    /// profile reads its UTC time of day). A distribution draws its next value.
    pub fn latency_ns(&mut self, at_ns: i64) -> i64 {
        match self {
            Self::Constant(ns) => *ns,
            Self::LogNormal {
                median_ns,
                sigma,
                floor_ns,
                cap_ns,
                rng,
            } => {
                let z: f64 = rng.sample(StandardNormal);
                // `as` saturates: an enormous draw becomes i64::MAX before the cap.
                let drawn = (*median_ns * (*sigma * z).exp()).round() as i64;
                drawn.clamp(*floor_ns, *cap_ns)
            }
            Self::Profile { points, .. } => interpolate(points, at_ns.rem_euclid(NS_PER_DAY)),
        }
    }

    /// A lower bound of every latency the model gives.
    pub fn min_ns(&self) -> i64 {
        match self {
            Self::Constant(ns) => *ns,
            Self::LogNormal { floor_ns, .. } => *floor_ns,
            Self::Profile { min_ns, .. } => *min_ns,
        }
    }
}

/// The stream seed of `kind` for a configured `seed`: distinct per kind.
fn stream_seed(seed: u64, kind: LatencyKind) -> u64 {
    let salt: u64 = match kind {
        LatencyKind::New => 0x6e65_7700,
        LatencyKind::Cancel => 0x6361_6e63,
        LatencyKind::Replace => 0x7265_706c,
        LatencyKind::Response => 0x7265_7370,
    };
    seed ^ salt
}

/// The latency at time of day `t` over `points`: at a point its latency; between two points
/// the straight line between them, rounded down to the nanosecond; outside, the nearest
/// end's latency.
pub fn interpolate(points: &[(i64, i64)], t: i64) -> i64 {
    let after = points.partition_point(|&(pt, _)| pt <= t);
    match (
        after.checked_sub(1).and_then(|i| points.get(i)),
        points.get(after),
    ) {
        (Some(&(_, l)), None) | (None, Some(&(_, l))) => l,
        (Some(&(t0, l0)), Some(&(t1, l1))) => {
            let (dt, span) = (i128::from(t - t0), i128::from(t1 - t0));
            let l = i128::from(l0) + (i128::from(l1 - l0) * dt).div_euclid(span);
            i64::try_from(l).unwrap_or(l0)
        }
        (None, None) => 0,
    }
}

/// The venue's latencies: one model per request type and one for the responses.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// `OrderNew`: submission to arrival.
    pub new: LatencyModel,
    /// `OrderCancel`.
    pub cancel: LatencyModel,
    /// `OrderAmend`.
    pub replace: LatencyModel,
    /// Processing at the venue to receipt of the report.
    pub response: LatencyModel,
    /// Requests reach the venue in submission order (a request drawing a shorter latency
    /// waits for the one before it).
    pub in_order: bool,
}

impl Latencies {
    /// Constant entry and response latencies, in order: the venue's constants.
    pub fn constant(entry_ns: i64, response_ns: i64) -> Self {
        Self {
            new: LatencyModel::Constant(entry_ns),
            cancel: LatencyModel::Constant(entry_ns),
            replace: LatencyModel::Constant(entry_ns),
            response: LatencyModel::Constant(response_ns),
            in_order: true,
        }
    }

    /// The models of `spec`; a type it leaves out gets the constant `entry_ns` (requests)
    /// or `response_ns` (responses).
    pub fn from_spec(spec: &LatencySpec, entry_ns: i64, response_ns: i64) -> Self {
        let model = |kind: LatencyKind, default_ns: i64| {
            spec.model(kind)
                .map_or(LatencyModel::Constant(default_ns), |m| {
                    LatencyModel::from_spec(m, kind)
                })
        };
        Self {
            new: model(LatencyKind::New, entry_ns),
            cancel: model(LatencyKind::Cancel, entry_ns),
            replace: model(LatencyKind::Replace, entry_ns),
            response: model(LatencyKind::Response, response_ns),
            in_order: spec.in_order,
        }
    }

    /// The entry latency of `request` submitted at `now_ns` (a draw, for a distribution).
    pub fn entry_ns(&mut self, now_ns: i64, request: &EventBody) -> i64 {
        match request {
            EventBody::OrderCancel { .. } => self.cancel.latency_ns(now_ns),
            EventBody::OrderAmend { .. } => self.replace.latency_ns(now_ns),
            _ => self.new.latency_ns(now_ns),
        }
    }

    /// The least entry latency of any request type.
    pub fn min_entry_ns(&self) -> i64 {
        self.new
            .min_ns()
            .min(self.cancel.min_ns())
            .min(self.replace.min_ns())
    }

    /// The first negative latency, as `(model, value)`.
    pub(crate) fn negative(&self) -> Option<(&'static str, i64)> {
        [
            ("latency.new", &self.new),
            ("latency.cancel", &self.cancel),
            ("latency.replace", &self.replace),
            ("latency.response", &self.response),
        ]
        .into_iter()
        .find(|(_, m)| m.min_ns() < 0)
        .map(|(name, m)| (name, m.min_ns()))
    }
}

/// The output manifest keys recording the profile files a backtest's latency models read,
/// `latency_profile.<kind>` = `<content hash, 16 hex digits> <path>`, so that re-running it
/// ([`check_profiles`]) refuses a changed file.
pub fn profile_manifest_keys(spec: &LatencySpec) -> Vec<(String, String)> {
    spec.profiles()
        .map(|(kind, p)| {
            (
                format!("latency_profile.{}", kind.name()),
                format!("{:016x} {}", p.content_hash, p.file.display()),
            )
        })
        .collect()
}

/// Checks that the profiles `spec` read are those a backtest's manifest recorded
/// ([`profile_manifest_keys`]: `get` looks a key up); the problem, in words, otherwise.
pub fn check_profiles<'a>(
    spec: &LatencySpec,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<(), String> {
    let ours = profile_manifest_keys(spec);
    for (key, value) in &ours {
        // The content decides; the path is for the reader (a relative config path or a
        // moved directory name the same file otherwise).
        let hash = |v: &str| v.split(' ').next().map(str::to_owned);
        match get(key) {
            Some(recorded) if hash(recorded) == hash(value) => {}
            Some(recorded) => {
                return Err(format!(
                    "records {key} = {recorded}, but the config's profile is now {value}: \
                     the latency profile changed since the backtest ran"
                ))
            }
            None => return Err(format!("has no {key} (the config's profile is {value})")),
        }
    }
    for kind in LatencyKind::ALL {
        let key = format!("latency_profile.{}", kind.name());
        if let Some(recorded) = get(&key).filter(|_| !ours.iter().any(|(k, _)| *k == key)) {
            return Err(format!(
                "records {key} = {recorded}, but the config has no profile model for {:?}",
                kind.name()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    const H: i64 = 3_600_000_000_000;

    #[test]
    fn a_constant_is_constant() {
        let mut m = LatencyModel::Constant(250);
        assert_eq!(m.latency_ns(0), 250);
        assert_eq!(m.latency_ns(i64::MAX), 250);
        assert_eq!(m.min_ns(), 250);
    }

    #[test]
    fn a_profile_interpolates_at_between_and_outside_its_points() {
        // 09:00 -> 100 ns, 10:00 -> 400 ns, 11:00 -> 200 ns.
        let pts = vec![(9 * H, 100), (10 * H, 400), (11 * H, 200)];
        let mut m = LatencyModel::profile(pts);
        assert_eq!(m.min_ns(), 100);
        // At the points.
        assert_eq!(m.latency_ns(9 * H), 100);
        assert_eq!(m.latency_ns(10 * H), 400);
        assert_eq!(m.latency_ns(11 * H), 200);
        // Between: a third of the way from 100 to 400 is 200; a quarter of the way down
        // from 400 to 200 is 350; 1 ns after 09:00 is 100 + 300/3600e9, rounded down: 100.
        assert_eq!(m.latency_ns(9 * H + H / 3), 200);
        assert_eq!(m.latency_ns(10 * H + H / 4), 350);
        assert_eq!(m.latency_ns(9 * H + 1), 100);
        // 1 ns before 11:00 on the way down from 400 to 200: 200 + 200/3600e9, rounded
        // down (floor, not truncation toward zero) is 200; a third of the way down from
        // 400 to 200 is 333.33..., floored to 333; up from 200 to 400, 266.66... is 266.
        assert_eq!(m.latency_ns(11 * H - 1), 200);
        assert_eq!(interpolate(&[(0, 400), (10, 200)], 1), 380);
        assert_eq!(interpolate(&[(0, 400), (3, 200)], 1), 333);
        assert_eq!(interpolate(&[(0, 200), (3, 400)], 1), 266);
        // Outside: the nearest end.
        assert_eq!(m.latency_ns(0), 100);
        assert_eq!(m.latency_ns(8 * H), 100);
        assert_eq!(m.latency_ns(23 * H), 200);
        // By time of day: the same time on another day, and before the epoch.
        let day = NS_PER_DAY;
        assert_eq!(m.latency_ns(19_000 * day + 10 * H), 400);
        assert_eq!(m.latency_ns(-day + 10 * H), 400);
        // One point: constant.
        let mut one = LatencyModel::profile(vec![(12 * H, 77)]);
        assert_eq!((one.latency_ns(0), one.latency_ns(23 * H)), (77, 77));
    }

    #[test]
    fn a_lognormal_stream_is_exactly_reproducible_and_seeded_per_kind() {
        let spec = LatencyModelSpec::LogNormal {
            median_ns: 100_000,
            sigma: 0.5,
            floor_ns: 0,
            cap_ns: None,
            seed: 42,
        };
        let draw = |kind| {
            let mut m = LatencyModel::from_spec(&spec, kind);
            (0..1000).map(|i| m.latency_ns(i)).collect::<Vec<_>>()
        };
        let a = draw(LatencyKind::New);
        assert_eq!(a, draw(LatencyKind::New), "same seed, same draws");
        assert_ne!(a, draw(LatencyKind::Cancel), "each kind its own stream");
        let other = LatencyModelSpec::LogNormal {
            median_ns: 100_000,
            sigma: 0.5,
            floor_ns: 0,
            cap_ns: None,
            seed: 43,
        };
        let mut m = LatencyModel::from_spec(&other, LatencyKind::New);
        let b: Vec<i64> = (0..1000).map(|i| m.latency_ns(i)).collect();
        assert_ne!(a, b, "another seed, other draws");
    }

    #[test]
    fn lognormal_draws_match_an_independent_computation() {
        // rand_distr's own LogNormal(ln median, sigma) over the same ChaCha8 stream draws
        // exp(ln median + sigma z); ours is median · exp(sigma z): equal up to rounding.
        let (median, sigma, seed) = (250_000_i64, 0.8, 9_u64);
        let mut ours = LatencyModel::lognormal(median, sigma, 0, None, seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let reference = rand_distr::LogNormal::new((median as f64).ln(), sigma).unwrap();
        for i in 0..2000 {
            let want: f64 = rng.sample(reference);
            let got = ours.latency_ns(i);
            assert!(
                (got as f64 - want).abs() <= 1.0 + want * 1e-12,
                "draw {i}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn lognormal_draws_have_the_median_and_sigma_and_respect_floor_and_cap() {
        let (median, sigma) = (100_000_i64, 0.5);
        let mut m = LatencyModel::lognormal(median, sigma, 0, None, 1);
        let mut v: Vec<i64> = (0..20_000).map(|i| m.latency_ns(i)).collect();
        v.sort_unstable();
        let med = v[v.len() / 2] as f64;
        assert!((med / median as f64 - 1.0).abs() < 0.03, "median {med}");
        let logs: Vec<f64> = v.iter().map(|&x| (x as f64).ln()).collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
        assert!((sd - sigma).abs() < 0.02, "sigma {sd}");
        // Floor and cap.
        let mut m = LatencyModel::lognormal(median, 2.0, 60_000, Some(150_000), 1);
        let v: Vec<i64> = (0..5000).map(|i| m.latency_ns(i)).collect();
        assert!(v.iter().all(|&x| (60_000..=150_000).contains(&x)));
        assert!(
            v.contains(&60_000) && v.contains(&150_000),
            "sigma 2 reaches both"
        );
        assert_eq!(m.min_ns(), 60_000);
        // sigma 0: the median every time.
        let mut m = LatencyModel::lognormal(median, 0.0, 0, None, 5);
        assert!((0..100).all(|i| m.latency_ns(i) == median));
    }

    #[test]
    fn missing_types_keep_the_venue_constants() {
        let spec = LatencySpec {
            cancel: Some(LatencyModelSpec::Constant { ns: 7 }),
            ..LatencySpec::default()
        };
        let l = Latencies::from_spec(&spec, 100, 30);
        assert!(matches!(l.new, LatencyModel::Constant(100)));
        assert!(matches!(l.cancel, LatencyModel::Constant(7)));
        assert!(matches!(l.replace, LatencyModel::Constant(100)));
        assert!(matches!(l.response, LatencyModel::Constant(30)));
        assert_eq!(l.min_entry_ns(), 7);
        assert!(l.in_order);
    }

    #[test]
    fn profile_hashes_are_recorded_and_checked() {
        let series = |hash| {
            LatencyModelSpec::Profile(ProfileSeries {
                file: "/p/lat.csv".into(),
                content_hash: hash,
                series: LatencyKind::New,
                points: vec![(0, 1)],
            })
        };
        let spec = LatencySpec {
            replace: Some(series(0xab)),
            ..LatencySpec::default()
        };
        let keys = profile_manifest_keys(&spec);
        assert_eq!(
            keys,
            vec![(
                "latency_profile.replace".to_owned(),
                "00000000000000ab /p/lat.csv".to_owned()
            )]
        );
        let lookup = |keys: Vec<(String, String)>| {
            move |k: &str| keys.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone())
        };
        let get = lookup(keys.clone());
        let owned: Vec<(String, Option<String>)> = LatencyKind::ALL
            .iter()
            .map(|k| {
                let key = format!("latency_profile.{}", k.name());
                let v = get(&key);
                (key, v)
            })
            .collect();
        let find = |k: &str| {
            owned
                .iter()
                .find(|(kk, _)| kk == k)
                .and_then(|(_, v)| v.as_deref())
        };
        assert_eq!(check_profiles(&spec, find), Ok(()));
        // The same content under another path name: the same profile.
        let moved = LatencySpec {
            replace: Some(LatencyModelSpec::Profile(ProfileSeries {
                file: "lat.csv".into(),
                content_hash: 0xab,
                series: LatencyKind::New,
                points: vec![(0, 1)],
            })),
            ..LatencySpec::default()
        };
        assert_eq!(check_profiles(&moved, find), Ok(()));
        let changed = LatencySpec {
            replace: Some(series(0xac)),
            ..LatencySpec::default()
        };
        assert!(check_profiles(&changed, find)
            .unwrap_err()
            .contains("the latency profile changed"));
        assert!(check_profiles(&LatencySpec::default(), find)
            .unwrap_err()
            .contains("no profile model"));
        assert!(check_profiles(&spec, |_| None)
            .unwrap_err()
            .contains("has no latency_profile.replace"));
    }
}
