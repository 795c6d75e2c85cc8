//! [`SignalStage`]: book → features → model → `Signal`. What it does with each input is
//! documented on the type.

use crate::book::MarketBook;
use crate::event::{Event, EventBody, SIGNAL_SCALE};
use crate::features::{FeatureConfig, FeatureConfigError, FeatureEngine, FeatureKind};
use crate::instrument::InstrumentSpec;
use crate::model::Model;
use crate::stage::{Outbox, Stage};

/// Counters of a [`SignalStage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignalCounters {
    /// Book events applied to a reference book.
    pub book_updates: u64,
    /// Trade prints seen.
    pub trades: u64,
    /// Signals emitted.
    pub signals: u64,
    /// Predictions that were NaN or infinite (no signal emitted).
    pub non_finite: u64,
    /// Market data for an instrument outside the config.
    pub unknown_instrument: u64,
}

/// Book sizing for the stages' L3 books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookSizing {
    /// Most resting orders per book.
    pub max_orders: usize,
    /// Most price levels per side.
    pub max_levels: usize,
}

impl Default for BookSizing {
    fn default() -> Self {
        Self {
            max_orders: 1 << 14,
            max_levels: 1 << 10,
        }
    }
}

/// Book → features → model → `Signal`.
///
/// The stage keeps, per instrument, the book of the **reference venue** (the first venue of
/// the router's list) and a [`FeatureEngine`]. A book event from the reference venue updates
/// the book and the book features; a trade print from any venue updates the trade features.
/// After each such update the model runs on the configured features (an undefined feature
/// is passed as NaN — XGBoost's "missing"; see [`crate::model`] for how each kind reads it)
/// and, when the prediction moved, the stage emits `Signal { model_id, value }` with the
/// prediction at [`SIGNAL_SCALE`] (10⁻⁹), rounded to nearest. Features run on the exchange
/// timestamp (see [`FeatureEngine`]).
///
/// Market data for an unknown instrument or with a bad scale is counted, never a panic.
pub struct SignalStage {
    instruments: Vec<InstrumentSpec>,
    reference_venue: u16,
    // The state (what changes with inputs) is the snapshot's (`super::snapshot`).
    pub(super) books: Vec<MarketBook>,
    pub(super) features: Vec<FeatureEngine>,
    model: Box<dyn Model + Send>,
    model_id: u16,
    inputs: Vec<FeatureKind>,
    pub(super) x: Vec<f64>,
    pub(super) last: Vec<Option<i64>>,
    pub(super) counters: SignalCounters,
}

impl std::fmt::Debug for SignalStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalStage")
            .field("instruments", &self.instruments.len())
            .field("reference_venue", &self.reference_venue)
            .field("model_id", &self.model_id)
            .field("inputs", &self.inputs)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl SignalStage {
    /// A stage for `instruments`, reading books from `reference_venue`, computing features
    /// with `features` and predicting with `model` on the `inputs` features in order.
    pub fn new(
        instruments: Vec<InstrumentSpec>,
        reference_venue: u16,
        features: FeatureConfig,
        model: Box<dyn Model + Send>,
        model_id: u16,
        inputs: Vec<FeatureKind>,
        sizing: BookSizing,
    ) -> Result<Self, FeatureConfigError> {
        let n = instruments.len();
        let engines = (0..n)
            .map(|_| FeatureEngine::new(features.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            books: (0..n)
                .map(|_| MarketBook::new(sizing.max_orders, sizing.max_levels))
                .collect(),
            features: engines,
            x: vec![f64::NAN; inputs.len().max(model.n_features())],
            last: vec![None; n],
            instruments,
            reference_venue,
            model,
            model_id,
            inputs,
            counters: SignalCounters::default(),
        })
    }

    /// The counters.
    pub fn counters(&self) -> SignalCounters {
        self.counters
    }

    /// The reference book of instrument index `i`.
    pub fn book(&self, i: usize) -> Option<&MarketBook> {
        self.books.get(i)
    }

    /// The feature engine of instrument index `i`.
    pub fn features(&self, i: usize) -> Option<&FeatureEngine> {
        self.features.get(i)
    }

    fn predict_and_emit(&mut self, i: usize, event: &Event, out: &mut Outbox) {
        let values = self.features[i].values();
        for (slot, &kind) in self.x.iter_mut().zip(self.inputs.iter()) {
            *slot = values.get(kind).unwrap_or(f64::NAN);
        }
        let y = self.model.predict(&self.x);
        if !y.is_finite() {
            self.counters.non_finite += 1;
            return;
        }
        let unit = SIGNAL_SCALE.unit() as f64;
        // `as` saturates; a finite prediction beyond ±9.2e9 is pinned to the i64 range.
        let value = round_to_i64(y * unit);
        if self.last[i] == Some(value) {
            return;
        }
        self.last[i] = Some(value);
        self.counters.signals += 1;
        out.push(
            event,
            EventBody::Signal {
                model_id: self.model_id,
                value,
            },
        );
    }
}

/// `x.round() as i64`: to nearest, half away from zero, saturating. Below 2^52 in
/// magnitude it truncates and looks at the fraction (`x - trunc(x)` is exact there) instead
/// of calling the `round` library function, which x86-64 without SSE4.1 has no instruction
/// for; the result is the same.
#[inline]
fn round_to_i64(x: f64) -> i64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2^52
    if x.abs() < EXACT {
        let t = x as i64;
        let frac = x - t as f64;
        if frac >= 0.5 {
            t + 1
        } else if frac <= -0.5 {
            t - 1
        } else {
            t
        }
    } else {
        x.round() as i64
    }
}

impl Stage for SignalStage {
    fn on_event(&mut self, event: &Event, out: &mut Outbox) {
        let is_book = matches!(
            event.body,
            EventBody::Quote { .. }
                | EventBody::BookLevel { .. }
                | EventBody::OrderAdd { .. }
                | EventBody::OrderModify { .. }
                | EventBody::OrderDelete { .. }
                | EventBody::OrderExecute { .. }
                | EventBody::OrderReplace { .. }
        );
        let is_trade = matches!(event.body, EventBody::Trade { .. });
        if !is_book && !is_trade {
            return;
        }
        let h = event.header;
        let Some(i) = usize::try_from(h.instrument.get())
            .ok()
            .filter(|&i| i < self.instruments.len())
        else {
            self.counters.unknown_instrument += 1;
            return;
        };
        if is_book {
            if h.source != self.reference_venue || !self.books[i].apply(event) {
                return;
            }
            self.counters.book_updates += 1;
            self.features[i].on_book(h.exchange_ts_ns, &self.books[i], h.price_scale);
        } else if let EventBody::Trade {
            aggressor,
            price,
            qty,
            ..
        } = event.body
        {
            self.counters.trades += 1;
            self.features[i].on_trade(
                h.exchange_ts_ns,
                price.raw(),
                qty.raw(),
                aggressor,
                h.price_scale,
                h.qty_scale,
            );
        }
        self.predict_and_emit(i, event, out);
    }
}

#[cfg(test)]
mod tests {
    use super::round_to_i64;

    #[test]
    fn round_to_i64_is_round_then_cast() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4_503_599_627_370_495.5,
            -4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            -9.3e18,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
        ];
        // A deterministic spread of magnitudes and fractions.
        let mut v = 0.123_456_789_f64;
        for _ in 0..10_000 {
            v = (v * 7.3 + 0.618).fract();
            xs.push((v - 0.5) * 1e12);
            xs.push((v - 0.5) * 7.0);
            xs.push((v - 0.5) * 3.0e9);
        }
        for x in xs {
            assert_eq!(round_to_i64(x), x.round() as i64, "{x}");
        }
    }
}
