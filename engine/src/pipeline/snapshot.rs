//! Engine snapshots: the trading chain's mutable state as bytes, and back.
//!
//! A snapshot holds what changes with inputs, so that a chain freshly built from the same
//! config and given the state of a chain at input `S` behaves from `S + 1` on exactly as
//! that chain: the same outputs, byte for byte (`replay/tests/snapshot.rs` checks it).
//!
//! | stage | state (in the snapshot) | not state (from the fresh chain) |
//! |---|---|---|
//! | [`SignalStage`] | reference books, feature engines (history, values, anomalies), the model input row `x`, the last signal per instrument, counters | instruments, reference venue, model id and inputs, the model, feature configs |
//! | [`OrderStage`] | every venue's books, per-instrument strategy state (signal, last decision, resting quotes, closed, stale), risk engine (positions, working orders, PnL, throttle, halts, kill switch, counters), OMS (orders, id index and aliases, positions, PnL, anomalies), next client order id, counters | instruments, strategy parameters, model id, the router (parameters only: it keeps nothing between calls), risk limits, OMS sizing and fee tables, book sizing, scratch vectors |
//!
//! The model is not in a snapshot: [`Model::predict`](crate::model::Model::predict) takes
//! `&self`, so a model is a pure function of its config (the ONNX model's run-error counter
//! is a diagnostic behind that `&self` that no output reads). [`Fused`](crate::stage::Fused)'s
//! scratch vector is refilled for every event.
//!
//! A restore keeps the fresh chain's allocations (books sized by [`super::BookSizing`], the
//! OMS and risk tables), so a restored chain allocates on the hot path no more than a fresh
//! one. A structure whose parameters and state share a type (a feature engine, the risk
//! engine, the OMS, an L3 book) is serialized whole and restored with the fresh one's
//! parameters.
//!
//! The encoding is [`postcard`] (serde's compact binary format: varints, no field names) of
//! [`ChainState`]; the file around it (magic, format version, header, CRC) is
//! `runtime::snapshot_file`'s. Equal states encode to equal bytes (the L3 books' id maps
//! are written sorted), so a re-snapshot of a restored chain equals the snapshot.
//!
//! The two stages may run on different threads: each saves and restores its own part
//! ([`SignalStage::save_state`], [`OrderStage::save_state`]), and [`ChainState`] carries
//! either or both.

use serde::{Deserialize, Serialize};

use super::orders::InstrumentState;
use super::{OrderCounters, OrderStage, SignalCounters, SignalStage, TradingChain};
use crate::book::MarketBook;
use crate::features::FeatureEngine;
use crate::oms::Oms;
use crate::risk::RiskEngine;
use crate::sequencer::Sequencer;

/// Why a snapshot's state could not be decoded or restored. On any error the stages were
/// left as they were.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not an encoded state (or not of this binary's state types).
    #[error("the state does not decode: {0}")]
    Decode(#[from] postcard::Error),
    /// The state decoded with bytes left over.
    #[error("the state decoded with {0} bytes left over")]
    TrailingBytes(usize),
    /// A stage to restore has no state in the snapshot.
    #[error("the snapshot holds no {0} state")]
    MissingStage(&'static str),
    /// The state is of a chain of another shape (instruments, venues): not built from the
    /// same config.
    #[error("the snapshot has {snapshot} {what}, this chain {chain}: not the same config")]
    Shape {
        /// What differs (e.g. "order stage books").
        what: &'static str,
        /// In the snapshot.
        snapshot: usize,
        /// In the chain restored into.
        chain: usize,
    },
}

fn shape(what: &'static str, snapshot: usize, chain: usize) -> Result<(), SnapshotError> {
    if snapshot == chain {
        Ok(())
    } else {
        Err(SnapshotError::Shape {
            what,
            snapshot,
            chain,
        })
    }
}

/// The state of a [`SignalStage`]; see the [module docs](self).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalState {
    books: Vec<MarketBook>,
    features: Vec<FeatureEngine>,
    x: Vec<f64>,
    last: Vec<Option<i64>>,
    counters: SignalCounters,
}

/// [`SignalState`] borrowed from the stage: encodes to the same bytes without a copy.
#[derive(Serialize)]
struct SignalStateRef<'a> {
    books: &'a [MarketBook],
    features: &'a [FeatureEngine],
    x: &'a [f64],
    last: &'a [Option<i64>],
    counters: &'a SignalCounters,
}

/// The state of an [`OrderStage`] (named so beside [`crate::oms::OrderState`], an order's
/// state); see the [module docs](self).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderStageState {
    books: Vec<MarketBook>,
    state: Vec<InstrumentState>,
    risk: RiskEngine,
    oms: Oms,
    next_client_order_id: u64,
    counters: OrderCounters,
}

/// [`OrderStageState`] borrowed from the stage: encodes to the same bytes without a copy.
#[derive(Serialize)]
struct OrderStageStateRef<'a> {
    books: &'a [MarketBook],
    state: &'a [InstrumentState],
    risk: &'a RiskEngine,
    oms: &'a Oms,
    next_client_order_id: u64,
    counters: &'a OrderCounters,
}

/// The state of a chain's stages, either or both (stages on separate threads each save
/// their own). [`ChainState::encode`] gives the same bytes as [`encode_stages`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChainState {
    /// The signal stage's state, if saved.
    pub signal: Option<SignalState>,
    /// The order stage's state, if saved.
    pub orders: Option<OrderStageState>,
}

#[derive(Serialize)]
struct ChainStateRef<'a> {
    signal: Option<SignalStateRef<'a>>,
    orders: Option<OrderStageStateRef<'a>>,
}

/// postcard into a new vector. Cannot fail: every state type serializes with known
/// lengths and no fallible conversion, and a vector takes any length.
fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match postcard::to_stdvec(value) {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("engine state types always encode: {e}"),
    }
}

/// postcard from `bytes`, all of them.
fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, SnapshotError> {
    let (value, rest) = postcard::take_from_bytes(bytes)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(SnapshotError::TrailingBytes(rest.len()))
    }
}

impl SignalState {
    /// Encoded alone (postcard).
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes what [`SignalState::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        decode(bytes)
    }
}

impl OrderStageState {
    /// Encoded alone (postcard).
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes what [`OrderStageState::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        decode(bytes)
    }
}

impl ChainState {
    /// Encoded (postcard); the same bytes as [`encode_stages`] of the stages saved.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes what [`ChainState::encode`], [`encode_stages`] or [`encode_chain`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, SnapshotError> {
        decode(bytes)
    }
}

impl SignalStage {
    fn state_ref(&self) -> SignalStateRef<'_> {
        SignalStateRef {
            books: &self.books,
            features: &self.features,
            x: &self.x,
            last: &self.last,
            counters: &self.counters,
        }
    }

    /// A copy of the stage's state (see the [module docs](self)).
    pub fn save_state(&self) -> SignalState {
        SignalState {
            books: self.books.clone(),
            features: self.features.clone(),
            x: self.x.clone(),
            last: self.last.clone(),
            counters: self.counters,
        }
    }

    fn check_state(&self, s: &SignalState) -> Result<(), SnapshotError> {
        shape("signal stage books", s.books.len(), self.books.len())?;
        shape("feature engines", s.features.len(), self.features.len())?;
        shape("model inputs", s.x.len(), self.x.len())?;
        shape("signal stage instruments", s.last.len(), self.last.len())
    }

    /// Takes `state` (saved from a stage built from the same config), keeping this stage's
    /// parameters, model and allocations. On error nothing changed.
    pub fn restore_state(&mut self, state: SignalState) -> Result<(), SnapshotError> {
        self.check_state(&state)?;
        self.apply_state(state);
        Ok(())
    }

    fn apply_state(&mut self, state: SignalState) {
        let SignalState {
            books,
            features,
            x,
            last,
            counters,
        } = state;
        for (book, saved) in self.books.iter_mut().zip(books) {
            book.restore_from(saved);
        }
        for (engine, saved) in self.features.iter_mut().zip(features) {
            engine.restore_from(saved);
        }
        self.x.copy_from_slice(&x);
        self.last.copy_from_slice(&last);
        self.counters = counters;
    }
}

impl OrderStage {
    fn state_ref(&self) -> OrderStageStateRef<'_> {
        OrderStageStateRef {
            books: &self.books,
            state: &self.state,
            risk: &self.risk,
            oms: &self.oms,
            next_client_order_id: self.next_client_order_id,
            counters: &self.counters,
        }
    }

    /// A copy of the stage's state (see the [module docs](self)).
    pub fn save_state(&self) -> OrderStageState {
        OrderStageState {
            books: self.books.clone(),
            state: self.state.clone(),
            risk: self.risk.clone(),
            oms: self.oms.clone(),
            next_client_order_id: self.next_client_order_id,
            counters: self.counters,
        }
    }

    fn check_state(&self, s: &OrderStageState) -> Result<(), SnapshotError> {
        shape("order stage books", s.books.len(), self.books.len())?;
        shape("order stage instruments", s.state.len(), self.state.len())?;
        shape(
            "risk instruments",
            s.risk.n_instruments(),
            self.risk.n_instruments(),
        )?;
        shape(
            "OMS instruments",
            s.oms.n_instruments(),
            self.oms.n_instruments(),
        )
    }

    /// Takes `state` (saved from a stage built from the same config), keeping this stage's
    /// parameters (strategy, router, risk limits, OMS sizing and fees) and allocations. On
    /// error nothing changed.
    pub fn restore_state(&mut self, state: OrderStageState) -> Result<(), SnapshotError> {
        self.check_state(&state)?;
        self.apply_state(state)
    }

    fn apply_state(&mut self, state: OrderStageState) -> Result<(), SnapshotError> {
        let OrderStageState {
            books,
            state,
            risk,
            oms,
            next_client_order_id,
            counters,
        } = state;
        // Checked in `check_state`, so these do not fail.
        self.risk
            .restore_from(risk)
            .map_err(|(s, c)| SnapshotError::Shape {
                what: "risk instruments",
                snapshot: s,
                chain: c,
            })?;
        self.oms
            .restore_from(oms)
            .map_err(|(s, c)| SnapshotError::Shape {
                what: "OMS instruments",
                snapshot: s,
                chain: c,
            })?;
        for (book, saved) in self.books.iter_mut().zip(books) {
            book.restore_from(saved);
        }
        self.state.copy_from_slice(&state);
        self.next_client_order_id = next_client_order_id;
        self.counters = counters;
        Ok(())
    }
}

/// The state of whichever stages are given, encoded; [`decode_stages_into`] reads it back.
/// A chain's two stages are [`TradingChain`]'s `upstream` and `downstream`.
pub fn encode_stages(signal: Option<&SignalStage>, orders: Option<&OrderStage>) -> Vec<u8> {
    encode(&ChainStateRef {
        signal: signal.map(SignalStage::state_ref),
        orders: orders.map(OrderStage::state_ref),
    })
}

/// Restores the given stages from `bytes` ([`encode_stages`], [`encode_chain`] or
/// [`ChainState::encode`]); each must have its state in them. On error nothing changed.
pub fn decode_stages_into(
    signal: Option<&mut SignalStage>,
    orders: Option<&mut OrderStage>,
    bytes: &[u8],
) -> Result<(), SnapshotError> {
    let state = ChainState::decode(bytes)?;
    let signal = match signal {
        Some(stage) => {
            let s = state
                .signal
                .ok_or(SnapshotError::MissingStage("signal stage"))?;
            stage.check_state(&s)?;
            Some((stage, s))
        }
        None => None,
    };
    let orders = match orders {
        Some(stage) => {
            let s = state
                .orders
                .ok_or(SnapshotError::MissingStage("order stage"))?;
            stage.check_state(&s)?;
            Some((stage, s))
        }
        None => None,
    };
    if let Some((stage, s)) = signal {
        stage.apply_state(s);
    }
    if let Some((stage, s)) = orders {
        stage.apply_state(s)?;
    }
    Ok(())
}

/// The whole chain's state, encoded (both stages; see [`encode_stages`]).
pub fn encode_chain(chain: &TradingChain) -> Vec<u8> {
    encode_stages(Some(&chain.upstream), Some(&chain.downstream))
}

/// Restores `chain` (freshly built from the config of the chain that was encoded) from
/// [`encode_chain`]'s bytes. On error nothing changed.
pub fn decode_chain_into(chain: &mut TradingChain, bytes: &[u8]) -> Result<(), SnapshotError> {
    decode_stages_into(
        Some(&mut chain.upstream),
        Some(&mut chain.downstream),
        bytes,
    )
}

/// The [`Sequencer`]'s state, encoded (postcard).
pub fn encode_sequencer(sequencer: &Sequencer) -> Vec<u8> {
    encode(sequencer)
}

/// Decodes what [`encode_sequencer`] wrote.
pub fn decode_sequencer(bytes: &[u8]) -> Result<Sequencer, SnapshotError> {
    decode(bytes)
}

#[cfg(test)]
mod tests {
    use crate::book::{L2Book, Level};
    use crate::event::{LevelAction, Side};

    #[test]
    fn an_l2_book_round_trips_without_its_stale_slots() {
        let mut a = L2Book::<4>::new();
        for px in [100, 99, 98, 97, 96] {
            a.apply(Side::Buy, LevelAction::Upsert, px, px / 10);
        }
        a.apply(Side::Sell, LevelAction::Upsert, 101, 3);
        a.apply(Side::Buy, LevelAction::Delete, 99, 0);
        let bytes = postcard::to_stdvec(&a).unwrap();
        let b: L2Book<4> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(postcard::to_stdvec(&b).unwrap(), bytes);
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(b.levels(side), a.levels(side));
            for i in 0..4 {
                assert_eq!(b.depth(side, i), a.depth(side, i));
            }
        }
        assert_eq!(b.anomalies(), a.anomalies());
        assert_eq!(b.best_bid(), Some(Level { px: 100, qty: 10 }));
        // A deeper book does not fit a shallower one.
        let mut deep = L2Book::<8>::new();
        for px in 1..=6 {
            deep.apply(Side::Sell, LevelAction::Upsert, px, 1);
        }
        let bytes = postcard::to_stdvec(&deep).unwrap();
        assert!(postcard::from_bytes::<L2Book<4>>(&bytes).is_err());
    }
}
