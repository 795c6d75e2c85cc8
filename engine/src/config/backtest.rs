//! `[backtest]`: how the historical venue of `tickrail backtest` simulates the exchange —
//! the queue model of resting orders (`[backtest.queue]`) and the latency of requests and
//! responses (`[backtest.latency]`, in [`super::backtest_latency`]). A live run ignores
//! the section.

use super::backtest_latency::{build_latency, LatencySpec, RawLatency};
use super::error::Issue;

/// `[backtest]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBacktest {
    #[serde(default)]
    pub queue: Option<RawQueue>,
    #[serde(default)]
    pub latency: RawLatency,
    #[serde(default)]
    pub fill_on_cross: bool,
}

/// `[backtest.queue]` as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    /// One of [`QUEUE_MODELS`]; required.
    pub model: Option<String>,
    /// `power_prob` only: the exponent `n` of `f(x) = x^n`.
    pub power: Option<f64>,
}

/// The names `backtest.queue.model` accepts.
pub(crate) const QUEUE_MODELS: [&str; 5] =
    ["fifo", "risk_averse", "power_prob", "log_prob", "log_prob2"];

/// The power of `power_prob` when `power` is not given (as `tickrail backtest --queue prob`).
pub(crate) const DEFAULT_QUEUE_POWER: f64 = 2.0;

/// The queue model of our resting orders (the historical venue's rules for each are in
/// `tickrail_replay::backtest::queue`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueSpec {
    /// `fifo`: exact price-time priority on per-order (L3) data, risk-averse on level data.
    Fifo,
    /// `risk_averse`: the queue ahead shrinks only by trades at our price, on any data.
    RiskAverse,
    /// `power_prob`: hftbacktest's probabilistic queue with `f(x) = x^power`.
    PowerProb {
        /// Finite, `>= 0`.
        power: f64,
    },
    /// `log_prob`: hftbacktest's probabilistic queue with `f(x) = ln(1 + x)`, the front's
    /// share of a decrease being `f(front) / (f(front) + f(back))`.
    LogProb,
    /// `log_prob2`: `f(x) = ln(1 + x)`, the back's share of a decrease being
    /// `f(back) / f(back + front)`.
    LogProb2,
}

/// The historical venue's models, as `[backtest]` sets them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BacktestSpec {
    /// `[backtest.queue]`; `None`: chosen by the data's format.
    pub queue: Option<QueueSpec>,
    /// `[backtest.latency]`.
    pub latency: LatencySpec,
    /// `fill_on_cross`: a resting order fills completely once the opposite best price
    /// reaches it (hftbacktest's rule); `false` (the default): only trades and the queue
    /// fill it.
    pub fill_on_cross: bool,
}

/// Builds and validates `[backtest]`.
pub(crate) fn build_backtest(raw: &RawBacktest) -> Result<BacktestSpec, Issue> {
    let queue = raw.queue.as_ref().map(build_queue).transpose()?;
    let latency = build_latency(&raw.latency)?;
    Ok(BacktestSpec {
        queue,
        latency,
        fill_on_cross: raw.fill_on_cross,
    })
}

/// Builds and validates `[backtest.queue]`.
fn build_queue(raw: &RawQueue) -> Result<QueueSpec, Issue> {
    let expected = || {
        QUEUE_MODELS
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let model = raw.model.as_deref().ok_or_else(|| {
        Issue::missing(
            "backtest.queue.model",
            format!("required in [backtest.queue]: one of {}", expected()),
        )
    })?;
    let spec = match model {
        "fifo" => QueueSpec::Fifo,
        "risk_averse" => QueueSpec::RiskAverse,
        "power_prob" => QueueSpec::PowerProb {
            power: DEFAULT_QUEUE_POWER,
        },
        "log_prob" => QueueSpec::LogProb,
        "log_prob2" => QueueSpec::LogProb2,
        other => {
            return Err(Issue::invalid(
                "backtest.queue.model",
                format!(
                    "unknown queue model {other:?}, expected one of {}",
                    expected()
                ),
            ))
        }
    };
    match (spec, raw.power) {
        (_, None) => Ok(spec),
        (QueueSpec::PowerProb { .. }, Some(power)) if power.is_finite() && power >= 0.0 => {
            Ok(QueueSpec::PowerProb { power })
        }
        (QueueSpec::PowerProb { .. }, Some(power)) => Err(Issue::invalid(
            "backtest.queue.power",
            format!("must be a finite number >= 0, got {power}"),
        )),
        (_, Some(_)) => Err(Issue::unknown(
            "backtest.queue.power",
            format!("only the \"power_prob\" model has a power, not {model:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::QueueSpec;
    use crate::config::{ConfigErrorKind, EngineConfig};

    /// A valid config without a `[backtest]` section.
    const CONFIG: &str = include_str!("../../../config/backtest-binance.toml");

    /// `CONFIG` with `section` appended; the number of its first line.
    fn with(section: &str) -> (String, usize) {
        let first = CONFIG.lines().count() + 2;
        (format!("{CONFIG}\n{section}"), first)
    }

    fn queue_of(section: &str) -> Option<QueueSpec> {
        let (text, _) = with(section);
        EngineConfig::from_toml_str(&text, "x.toml")
            .unwrap()
            .backtest
            .queue
    }

    #[test]
    fn no_section_chooses_no_model() {
        let cfg = EngineConfig::from_toml_str(CONFIG, "x.toml").unwrap();
        assert_eq!(cfg.backtest.queue, None);
        assert_eq!(queue_of("[backtest]\n"), None);
    }

    #[test]
    fn fill_on_cross_is_off_unless_set() {
        let read = |section: &str| {
            let (text, _) = with(section);
            EngineConfig::from_toml_str(&text, "x.toml")
                .unwrap()
                .backtest
                .fill_on_cross
        };
        assert!(
            !EngineConfig::from_toml_str(CONFIG, "x.toml")
                .unwrap()
                .backtest
                .fill_on_cross
        );
        assert!(!read("[backtest]\n"));
        assert!(read("[backtest]\nfill_on_cross = true\n"));
        let (text, _) = with("[backtest]\nfill_on_cross = \"yes\"\n");
        let e = EngineConfig::from_toml_str(&text, "x.toml").unwrap_err();
        assert!(e.to_string().contains("fill_on_cross"), "{e}");
    }

    #[test]
    fn every_model_is_read() {
        let q = |m: &str| queue_of(&format!("[backtest.queue]\nmodel = \"{m}\"\n"));
        assert_eq!(q("fifo"), Some(QueueSpec::Fifo));
        assert_eq!(q("risk_averse"), Some(QueueSpec::RiskAverse));
        assert_eq!(q("power_prob"), Some(QueueSpec::PowerProb { power: 2.0 }));
        assert_eq!(q("log_prob"), Some(QueueSpec::LogProb));
        assert_eq!(q("log_prob2"), Some(QueueSpec::LogProb2));
        for (power, want) in [("3", 3.0), ("0.5", 0.5), ("0", 0.0)] {
            assert_eq!(
                queue_of(&format!(
                    "[backtest.queue]\nmodel = \"power_prob\"\npower = {power}\n"
                )),
                Some(QueueSpec::PowerProb { power: want })
            );
        }
    }

    /// The exact error text of each bad `[backtest.queue]`, with the line of the key.
    #[test]
    fn bad_queue_keys_name_the_key_and_line() {
        let err = |section: &str| {
            let (text, first) = with(section);
            let e = EngineConfig::from_toml_str(&text, "conf/x.toml").unwrap_err();
            (e.kind, e.to_string(), first)
        };
        let (kind, text, first) = err("[backtest.queue]\nmodel = \"lifo\"\n");
        assert_eq!(kind, ConfigErrorKind::InvalidValue);
        assert_eq!(
            text,
            format!(
                "conf/x.toml: backtest.queue.model: unknown queue model \"lifo\", expected one \
                 of \"fifo\", \"risk_averse\", \"power_prob\", \"log_prob\", \"log_prob2\" \
                 (line {}, column 9)",
                first + 1
            )
        );
        let (kind, text, first) = err("[backtest.queue]\nmodel = \"fifo\"\npower = 2\n");
        assert_eq!(kind, ConfigErrorKind::UnknownKey);
        assert_eq!(
            text,
            format!(
                "conf/x.toml: backtest.queue.power: only the \"power_prob\" model has a power, \
                 not \"fifo\" (line {}, column 9)",
                first + 2
            )
        );
        let (kind, text, first) = err("[backtest.queue]\nmodel = \"power_prob\"\npower = -1\n");
        assert_eq!(kind, ConfigErrorKind::InvalidValue);
        assert_eq!(
            text,
            format!(
                "conf/x.toml: backtest.queue.power: must be a finite number >= 0, got -1 \
                 (line {}, column 9)",
                first + 2
            )
        );
        let (kind, text, _) = err("[backtest.queue]\npower = 2\n");
        assert_eq!(kind, ConfigErrorKind::MissingKey);
        assert!(
            text.starts_with("conf/x.toml: backtest.queue.model: required"),
            "{text}"
        );
        let (kind, text, first) = err("[backtest.queue]\nmodel = \"fifo\"\ndepth = 3\n");
        assert_eq!(kind, ConfigErrorKind::UnknownKey);
        assert_eq!(
            text,
            format!(
                "conf/x.toml: backtest.queue.depth: unknown key, expected `model` or `power` \
                 (line {}, column 1)",
                first + 2
            )
        );
        let (kind, text, _) = err("[backtest.queue]\nmodel = 3\n");
        assert_eq!(kind, ConfigErrorKind::WrongType);
        assert!(
            text.starts_with("conf/x.toml: backtest.queue.model: "),
            "{text}"
        );
    }

    /// `[backtest.queue]` changes nothing but the queue model.
    #[test]
    fn the_section_leaves_other_keys_alone() {
        let plain = EngineConfig::from_toml_str(CONFIG, "x.toml").unwrap();
        let (text, _) = with("[backtest.queue]\nmodel = \"log_prob\"\n");
        let with_queue = EngineConfig::from_toml_str(&text, "x.toml").unwrap();
        assert_eq!(plain.instruments, with_queue.instruments);
        assert_eq!(plain.venues, with_queue.venues);
        assert_eq!(plain.backtest.latency, with_queue.backtest.latency);
        assert_eq!(with_queue.backtest.queue, Some(QueueSpec::LogProb));
    }
}
