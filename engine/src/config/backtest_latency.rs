//! `[backtest.latency]`: the historical venue's latency models, per request type and for
//! the responses.
//!
//! ```toml
//! [backtest.latency]
//! in_order = true                 # default: a request never overtakes an earlier one
//!
//! [backtest.latency.new]          # OrderNew: submission -> arrival at the venue
//! model = "constant"
//! ns = 120_000
//!
//! [backtest.latency.cancel]       # OrderCancel
//! model = "lognormal"
//! median_ns = 90_000
//! sigma = 0.4
//! floor_ns = 40_000               # optional, default 0
//! cap_ns = 5_000_000              # optional, default none
//! seed = 7                        # optional, default 0
//!
//! [backtest.latency.replace]      # OrderAmend
//! model = "profile"
//! file = "latency.csv"            # relative to the config file's directory
//! series = "new"                  # optional: which rows of the file (default: this table's)
//!
//! [backtest.latency.response]     # venue processing -> receipt of the report
//! model = "constant"
//! ns = 80_000
//! ```
//!
//! An absent table keeps the first venue's constant (`entry_latency_ns` for the three request
//! types, `ack_latency_ns` for the response). A profile file is read when the config is
//! loaded ([`load_profiles`]); its format is [`parse_profile`]'s.

use std::path::{Path, PathBuf};

use super::error::{ConfigErrorKind, Issue};

/// Nanoseconds in a day: profile times are times of day, `[0, NS_PER_DAY)`.
pub const NS_PER_DAY: i64 = 86_400_000_000_000;

/// The header line of a latency profile file.
pub const PROFILE_HEADER: &str = "time_of_day,kind,latency_ns";

/// `[backtest.latency]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLatency {
    #[serde(default)]
    pub in_order: Option<bool>,
    #[serde(default)]
    pub new: Option<RawLatencyModel>,
    #[serde(default)]
    pub cancel: Option<RawLatencyModel>,
    #[serde(default)]
    pub replace: Option<RawLatencyModel>,
    #[serde(default)]
    pub response: Option<RawLatencyModel>,
}

/// One `[backtest.latency.<kind>]` table as written: `model` says which other keys apply.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLatencyModel {
    pub model: Option<String>,
    pub ns: Option<i64>,
    pub median_ns: Option<i64>,
    pub sigma: Option<f64>,
    pub floor_ns: Option<i64>,
    pub cap_ns: Option<i64>,
    pub seed: Option<u64>,
    pub file: Option<String>,
    pub series: Option<String>,
}

/// What a latency applies to: a request type (submission to arrival at the venue) or the
/// responses (processing at the venue to receipt of the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LatencyKind {
    /// `OrderNew`.
    New,
    /// `OrderCancel`.
    Cancel,
    /// `OrderAmend` (cancel/replace).
    Replace,
    /// Every execution report.
    Response,
}

impl LatencyKind {
    /// Every kind, in table and file order.
    pub const ALL: [LatencyKind; 4] = [Self::New, Self::Cancel, Self::Replace, Self::Response];

    /// `new`, `cancel`, `replace` or `response`: the table's and the profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Cancel => "cancel",
            Self::Replace => "replace",
            Self::Response => "response",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    fn index(self) -> usize {
        match self {
            Self::New => 0,
            Self::Cancel => 1,
            Self::Replace => 2,
            Self::Response => 3,
        }
    }
}

/// One latency model.
#[derive(Debug, Clone, PartialEq)]
pub enum LatencyModelSpec {
    /// The same latency every time, ns `>= 0`.
    Constant {
        /// The latency.
        ns: i64,
    },
    /// `median_ns · exp(sigma · z)` with `z` standard normal, drawn from a ChaCha8 stream
    /// seeded by `seed` and the kind, rounded to the nanosecond, then raised to `floor_ns`
    /// and lowered to `cap_ns`.
    LogNormal {
        /// The median, ns `> 0`.
        median_ns: i64,
        /// The standard deviation of the latency's logarithm, finite, `>= 0`.
        sigma: f64,
        /// The least latency, ns `>= 0` (`floor_ns` key, default 0).
        floor_ns: i64,
        /// The greatest latency, ns `>= floor_ns`, if any.
        cap_ns: Option<i64>,
        /// The stream's seed (default 0).
        seed: u64,
    },
    /// A recorded time series: latency by time of day, linearly interpolated.
    Profile(ProfileSeries),
}

/// The series of one kind out of a profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSeries {
    /// The file, resolved against the config's directory.
    pub file: PathBuf,
    /// [`super::config_hash`] of the file's bytes (a backtest's manifest records it).
    pub content_hash: u64,
    /// Which rows of the file.
    pub series: LatencyKind,
    /// `(time of day ns, latency ns)`, times strictly increasing, at least one point.
    /// Empty only between [`build_latency`] and [`load_profiles`].
    pub points: Vec<(i64, i64)>,
}

/// The latency models of the historical venue; `None`: the venue's constant.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySpec {
    /// `OrderNew` (default: the venue's `entry_latency_ns`).
    pub new: Option<LatencyModelSpec>,
    /// `OrderCancel` (default: the venue's `entry_latency_ns`).
    pub cancel: Option<LatencyModelSpec>,
    /// `OrderAmend` (default: the venue's `entry_latency_ns`).
    pub replace: Option<LatencyModelSpec>,
    /// Execution reports (default: the venue's `ack_latency_ns`).
    pub response: Option<LatencyModelSpec>,
    /// `true` (default): a request reaches the venue no earlier than any request submitted
    /// before it; `false`: a request drawing a shorter latency may overtake earlier ones.
    pub in_order: bool,
}

impl Default for LatencySpec {
    fn default() -> Self {
        Self {
            new: None,
            cancel: None,
            replace: None,
            response: None,
            in_order: true,
        }
    }
}

impl LatencySpec {
    /// The model of `kind`, if the config sets one.
    pub fn model(&self, kind: LatencyKind) -> Option<&LatencyModelSpec> {
        match kind {
            LatencyKind::New => self.new.as_ref(),
            LatencyKind::Cancel => self.cancel.as_ref(),
            LatencyKind::Replace => self.replace.as_ref(),
            LatencyKind::Response => self.response.as_ref(),
        }
    }

    /// The profile series the models read, with the kind of their table.
    pub fn profiles(&self) -> impl Iterator<Item = (LatencyKind, &ProfileSeries)> {
        LatencyKind::ALL
            .into_iter()
            .filter_map(|k| match self.model(k) {
                Some(LatencyModelSpec::Profile(p)) => Some((k, p)),
                _ => None,
            })
    }

    fn model_mut(&mut self, kind: LatencyKind) -> Option<&mut LatencyModelSpec> {
        match kind {
            LatencyKind::New => self.new.as_mut(),
            LatencyKind::Cancel => self.cancel.as_mut(),
            LatencyKind::Replace => self.replace.as_mut(),
            LatencyKind::Response => self.response.as_mut(),
        }
    }
}

/// Builds and validates `[backtest.latency]` (profile files are read by [`load_profiles`]).
pub(crate) fn build_latency(raw: &RawLatency) -> Result<LatencySpec, Issue> {
    let mut spec = LatencySpec {
        in_order: raw.in_order.unwrap_or(true),
        ..LatencySpec::default()
    };
    for kind in LatencyKind::ALL {
        let table = match kind {
            LatencyKind::New => &raw.new,
            LatencyKind::Cancel => &raw.cancel,
            LatencyKind::Replace => &raw.replace,
            LatencyKind::Response => &raw.response,
        };
        let Some(table) = table else { continue };
        let model = build_model(table, kind)?;
        match kind {
            LatencyKind::New => spec.new = Some(model),
            LatencyKind::Cancel => spec.cancel = Some(model),
            LatencyKind::Replace => spec.replace = Some(model),
            LatencyKind::Response => spec.response = Some(model),
        }
    }
    Ok(spec)
}

fn build_model(raw: &RawLatencyModel, kind: LatencyKind) -> Result<LatencyModelSpec, Issue> {
    let table = format!("backtest.latency.{}", kind.name());
    let key = |k: &str| format!("{table}.{k}");
    let model = raw.model.as_deref().ok_or_else(|| {
        Issue::missing(
            key("model"),
            "required: \"constant\", \"lognormal\" or \"profile\"",
        )
    })?;
    let given: [(&str, bool); 8] = [
        ("ns", raw.ns.is_some()),
        ("median_ns", raw.median_ns.is_some()),
        ("sigma", raw.sigma.is_some()),
        ("floor_ns", raw.floor_ns.is_some()),
        ("cap_ns", raw.cap_ns.is_some()),
        ("seed", raw.seed.is_some()),
        ("file", raw.file.is_some()),
        ("series", raw.series.is_some()),
    ];
    let allowed: &[&str] = match model {
        "constant" => &["ns"],
        "lognormal" => &["median_ns", "sigma", "floor_ns", "cap_ns", "seed"],
        "profile" => &["file", "series"],
        other => {
            return Err(Issue::invalid(
                key("model"),
                format!("{other:?}: expected \"constant\", \"lognormal\" or \"profile\""),
            ))
        }
    };
    if let Some((name, _)) = given
        .iter()
        .find(|(name, present)| *present && !allowed.contains(name))
    {
        return Err(Issue::unknown(
            key(name),
            format!(
                "not a key of model {model:?} (its keys: {})",
                allowed.join(", ")
            ),
        ));
    }
    let non_negative = |name: &str, v: i64| {
        if v < 0 {
            Err(Issue::invalid(
                key(name),
                format!("must not be negative, got {v}"),
            ))
        } else {
            Ok(v)
        }
    };
    match model {
        "constant" => {
            let ns = raw
                .ns
                .ok_or_else(|| Issue::missing(key("ns"), "required by model \"constant\""))?;
            Ok(LatencyModelSpec::Constant {
                ns: non_negative("ns", ns)?,
            })
        }
        "lognormal" => {
            let required = "required by model \"lognormal\"";
            let median_ns = raw
                .median_ns
                .ok_or_else(|| Issue::missing(key("median_ns"), required))?;
            if median_ns <= 0 {
                return Err(Issue::invalid(
                    key("median_ns"),
                    format!("must be positive, got {median_ns}"),
                ));
            }
            let sigma = raw
                .sigma
                .ok_or_else(|| Issue::missing(key("sigma"), required))?;
            if !sigma.is_finite() || sigma < 0.0 {
                return Err(Issue::invalid(
                    key("sigma"),
                    format!("must be finite and >= 0, got {sigma}"),
                ));
            }
            let floor_ns = non_negative("floor_ns", raw.floor_ns.unwrap_or(0))?;
            if let Some(cap) = raw.cap_ns {
                if cap < floor_ns {
                    return Err(Issue::invalid(
                        key("cap_ns"),
                        format!("must be >= floor_ns ({floor_ns}), got {cap}"),
                    ));
                }
            }
            Ok(LatencyModelSpec::LogNormal {
                median_ns,
                sigma,
                floor_ns,
                cap_ns: raw.cap_ns,
                seed: raw.seed.unwrap_or(0),
            })
        }
        _ => {
            let file = raw
                .file
                .as_deref()
                .ok_or_else(|| Issue::missing(key("file"), "required by model \"profile\""))?;
            if file.is_empty() {
                return Err(Issue::invalid(key("file"), "must not be empty"));
            }
            let series = match raw.series.as_deref() {
                None => kind,
                Some(s) => LatencyKind::from_name(s).ok_or_else(|| {
                    Issue::invalid(
                        key("series"),
                        format!("{s:?}: expected \"new\", \"cancel\", \"replace\" or \"response\""),
                    )
                })?,
            };
            Ok(LatencyModelSpec::Profile(ProfileSeries {
                file: PathBuf::from(file),
                content_hash: 0,
                series,
                points: Vec::new(),
            }))
        }
    }
}

/// Reads the profile files `spec` names (relative paths against `base_dir`) into their
/// series. Errors name the table's `file` key; the reason names the profile file and line.
pub(crate) fn load_profiles(spec: &mut LatencySpec, base_dir: &Path) -> Result<(), Issue> {
    for kind in LatencyKind::ALL {
        let Some(LatencyModelSpec::Profile(p)) = spec.model_mut(kind) else {
            continue;
        };
        let key = format!("backtest.latency.{}.file", kind.name());
        let path = base_dir.join(&p.file);
        let bytes = std::fs::read(&path).map_err(|e| Issue {
            kind: ConfigErrorKind::MissingFile,
            key: key.clone(),
            reason: format!("{}: cannot read the latency profile: {e}", path.display()),
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Issue::invalid(&key, format!("{}: not UTF-8 text", path.display())))?;
        let profile = parse_profile(&text).map_err(|e| {
            Issue::invalid(
                &key,
                format!("{}: line {}: {}", path.display(), e.line, e.reason),
            )
        })?;
        let points = profile.series(p.series);
        if points.is_empty() {
            return Err(Issue::invalid(
                &key,
                format!(
                    "{}: no rows of kind {:?} (the series this model reads)",
                    path.display(),
                    p.series.name()
                ),
            ));
        }
        p.points = points.to_vec();
        p.content_hash = super::config_hash(text.as_bytes());
        p.file = std::path::absolute(&path).unwrap_or(path);
    }
    Ok(())
}

/// A latency profile file, parsed: one series per [`LatencyKind`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyProfile {
    series: [Vec<(i64, i64)>; 4],
}

impl LatencyProfile {
    /// `(time of day ns, latency ns)` of `kind`'s rows, times strictly increasing.
    pub fn series(&self, kind: LatencyKind) -> &[(i64, i64)] {
        self.series.get(kind.index()).map_or(&[][..], Vec::as_slice)
    }
}

/// Why a profile file does not parse: its line (from 1) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ProfileError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses a latency profile: CSV text, lines starting with `#` and blank lines ignored; the
/// first other line is the header [`PROFILE_HEADER`]; then one row per sample,
/// `HH:MM:SS[.fraction],kind,latency_ns` — a UTC time of day (fraction up to 9 digits),
/// `new`, `cancel`, `replace` or `response`, and an integer latency `>= 0`. Times never
/// decrease from one row to the next, and strictly increase within a kind.
pub fn parse_profile(text: &str) -> Result<LatencyProfile, ProfileError> {
    let mut profile = LatencyProfile::default();
    let mut header = false;
    let mut last_time: Option<i64> = None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let err = |reason: String| ProfileError {
            line: line_no,
            reason,
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        if !header {
            if fields.join(",") != PROFILE_HEADER {
                return Err(err(format!(
                    "expected the header {PROFILE_HEADER:?}, got {trimmed:?}"
                )));
            }
            header = true;
            continue;
        }
        let [time, kind, latency] = fields.as_slice() else {
            return Err(err(format!(
                "expected 3 fields (time_of_day,kind,latency_ns), got {}",
                fields.len()
            )));
        };
        let t = parse_time_of_day(time)
            .ok_or_else(|| err(format!("{time:?} is not a time of day HH:MM:SS[.fraction]")))?;
        let kind = LatencyKind::from_name(kind).ok_or_else(|| {
            err(format!(
                "{kind:?} is not a kind (new, cancel, replace, response)"
            ))
        })?;
        let latency: i64 = latency
            .parse()
            .map_err(|_| err(format!("latency {latency:?} is not an integer (ns)")))?;
        if latency < 0 {
            return Err(err(format!("latency {latency} ns is negative")));
        }
        if let Some(prev) = last_time.filter(|&p| t < p) {
            return Err(err(format!(
                "time {time} is before the previous row's {} (times must not decrease)",
                format_time_of_day(prev)
            )));
        }
        last_time = Some(t);
        let Some(series) = profile.series.get_mut(kind.index()) else {
            continue;
        };
        if series.last().is_some_and(|&(p, _)| p == t) {
            return Err(err(format!(
                "a second {:?} row at {time} (times of one kind must increase)",
                kind.name()
            )));
        }
        series.push((t, latency));
    }
    if !header {
        return Err(ProfileError {
            line: text.lines().count().max(1),
            reason: format!("no header {PROFILE_HEADER:?}: the file is empty"),
        });
    }
    Ok(profile)
}

/// `HH:MM:SS[.fraction]` as ns since midnight.
pub fn parse_time_of_day(text: &str) -> Option<i64> {
    let (hms, frac) = match text.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (text, None),
    };
    let mut parts = hms.split(':');
    let mut field = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<i64>().ok().filter(|&v| v <= max)
    };
    let (h, m, s) = (field(23)?, field(59)?, field(59)?);
    if parts.next().is_some() {
        return None;
    }
    let mut ns = ((h * 60 + m) * 60 + s) * 1_000_000_000;
    if let Some(frac) = frac {
        if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: i64 = frac.parse().ok()?;
        let scale = 10_i64.pow(9 - u32::try_from(frac.len()).ok()?);
        ns += digits * scale;
    }
    Some(ns)
}

/// ns since midnight as `HH:MM:SS.nnnnnnnnn` ([`parse_time_of_day`] reads it back).
pub fn format_time_of_day(ns: i64) -> String {
    let ns = ns.rem_euclid(NS_PER_DAY);
    let s = ns / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ns % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn table(model: &str) -> RawLatencyModel {
        RawLatencyModel {
            model: Some(model.into()),
            ..RawLatencyModel::default()
        }
    }

    #[test]
    fn times_of_day_parse_and_print() {
        assert_eq!(parse_time_of_day("00:00:00"), Some(0));
        assert_eq!(
            parse_time_of_day("09:30:01.5"),
            Some(((9 * 60 + 30) * 60 + 1) * 1_000_000_000 + 500_000_000)
        );
        assert_eq!(
            parse_time_of_day("23:59:59.000000001"),
            Some(NS_PER_DAY - 1_000_000_000 + 1)
        );
        for bad in [
            "24:00:00",
            "9:30:00",
            "09:60:00",
            "09:30",
            "09:30:00.",
            "09:30:00.1234567890",
            "x",
        ] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        assert_eq!(format_time_of_day(34_201_500_000_000), "09:30:01.500000000");
        assert_eq!(
            parse_time_of_day(&format_time_of_day(123_456_789)),
            Some(123_456_789)
        );
    }

    #[test]
    fn a_profile_parses_into_series_per_kind() {
        let text = "# recorded\n\ntime_of_day,kind,latency_ns\n\
                    09:30:00,new,100\n09:30:00,response,40\n09:30:01,new,300\n";
        let p = parse_profile(text).unwrap();
        assert_eq!(
            p.series(LatencyKind::New),
            &[(34_200_000_000_000, 100), (34_201_000_000_000, 300)]
        );
        assert_eq!(p.series(LatencyKind::Response), &[(34_200_000_000_000, 40)]);
        assert!(p.series(LatencyKind::Cancel).is_empty());
    }

    #[test]
    fn bad_profiles_name_the_line() {
        let h = "time_of_day,kind,latency_ns\n";
        let cases = [
            ("time,kind,ns\n", 1, "expected the header"),
            (
                &format!("{h}09:30:01,new,5\n09:30:00,new,5\n") as &str,
                3,
                "before the previous row",
            ),
            (
                &format!("{h}09:30:01,new,5\n09:30:00,cancel,5\n"),
                3,
                "before the previous row",
            ),
            (&format!("{h}09:30:00,new,-5\n"), 2, "negative"),
            (&format!("{h}09:30:00,new\n"), 2, "expected 3 fields"),
            (&format!("{h}# c\n09:30:00,amend,5\n"), 3, "not a kind"),
            (&format!("{h}9:30,new,5\n"), 2, "not a time of day"),
            (&format!("{h}09:30:00,new,5us\n"), 2, "not an integer"),
            (
                &format!("{h}09:30:00,new,5\n09:30:00,new,6\n"),
                3,
                "a second \"new\" row",
            ),
            ("# only a comment\n", 1, "no header"),
        ];
        for (text, line, want) in cases {
            let e = parse_profile(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn models_are_validated_naming_the_key() {
        let mut t = table("constant");
        t.ns = Some(5);
        assert_eq!(
            build_model(&t, LatencyKind::New).unwrap(),
            LatencyModelSpec::Constant { ns: 5 }
        );
        t.ns = Some(-1);
        let e = build_model(&t, LatencyKind::New).unwrap_err();
        assert_eq!(e.key, "backtest.latency.new.ns");
        t.ns = Some(1);
        t.sigma = Some(0.5);
        let e = build_model(&t, LatencyKind::Cancel).unwrap_err();
        assert_eq!(e.key, "backtest.latency.cancel.sigma");
        assert_eq!(e.kind, ConfigErrorKind::UnknownKey);

        let mut l = table("lognormal");
        l.median_ns = Some(100);
        let e = build_model(&l, LatencyKind::Replace).unwrap_err();
        assert_eq!(e.key, "backtest.latency.replace.sigma");
        l.sigma = Some(f64::NAN);
        assert_eq!(
            build_model(&l, LatencyKind::Replace).unwrap_err().key,
            "backtest.latency.replace.sigma"
        );
        l.sigma = Some(0.3);
        l.floor_ns = Some(50);
        l.cap_ns = Some(40);
        assert_eq!(
            build_model(&l, LatencyKind::Replace).unwrap_err().key,
            "backtest.latency.replace.cap_ns"
        );
        l.cap_ns = Some(400);
        assert_eq!(
            build_model(&l, LatencyKind::Replace).unwrap(),
            LatencyModelSpec::LogNormal {
                median_ns: 100,
                sigma: 0.3,
                floor_ns: 50,
                cap_ns: Some(400),
                seed: 0
            }
        );

        let e = build_model(&table("gaussian"), LatencyKind::Response).unwrap_err();
        assert_eq!(e.key, "backtest.latency.response.model");
        let e = build_model(&RawLatencyModel::default(), LatencyKind::Response).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::MissingKey);
        let mut p = table("profile");
        p.file = Some("x.csv".into());
        p.series = Some("amend".into());
        assert_eq!(
            build_model(&p, LatencyKind::Replace).unwrap_err().key,
            "backtest.latency.replace.series"
        );
    }

    #[test]
    fn profiles_load_against_the_base_dir_with_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let text = "time_of_day,kind,latency_ns\n00:00:01,new,10\n00:00:02,cancel,20\n";
        std::fs::write(dir.path().join("p.csv"), text).unwrap();
        let mut p = table("profile");
        p.file = Some("p.csv".into());
        let raw = RawLatency {
            cancel: Some(p),
            ..RawLatency::default()
        };
        let mut spec = build_latency(&raw).unwrap();
        assert!(spec.in_order);
        load_profiles(&mut spec, dir.path()).unwrap();
        let Some(LatencyModelSpec::Profile(s)) = &spec.cancel else {
            panic!("{spec:?}")
        };
        assert_eq!(s.points, vec![(2_000_000_000, 20)]);
        assert_eq!(s.content_hash, crate::config::config_hash(text.as_bytes()));
        assert_eq!(
            s.file,
            std::path::absolute(dir.path().join("p.csv")).unwrap()
        );

        // A kind the file has no rows of, a bad row, a missing file: the key and the file.
        let mut p = table("profile");
        p.file = Some("p.csv".into());
        let raw = RawLatency {
            response: Some(p),
            ..RawLatency::default()
        };
        let mut spec = build_latency(&raw).unwrap();
        let e = load_profiles(&mut spec, dir.path()).unwrap_err();
        assert_eq!(e.key, "backtest.latency.response.file");
        assert!(
            e.reason.contains("p.csv") && e.reason.contains("no rows"),
            "{e:?}"
        );
        std::fs::write(
            dir.path().join("p.csv"),
            "time_of_day,kind,latency_ns\n00:00:01,response,-3\n",
        )
        .unwrap();
        let e = load_profiles(&mut spec, dir.path()).unwrap_err();
        assert!(
            e.reason
                .contains("p.csv: line 2: latency -3 ns is negative"),
            "{e:?}"
        );
        let e = load_profiles(&mut spec, &dir.path().join("nowhere")).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::MissingFile);
    }
}
