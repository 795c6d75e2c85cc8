//! Instrument identifiers.

use std::fmt;

use rkyv::{Archive, Deserialize, Serialize};

use crate::value::Scale;

/// A dense numeric instrument id.
///
/// Symbols are interned to ids once, when the configuration is loaded; from then on the engine
/// only handles `InstrumentId`s. No strings travel on the hot path, and every event stays
/// fixed-size and heap-free.
#[derive(
    Archive,
    Serialize,
    Deserialize,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub struct InstrumentId(u32);

impl InstrumentId {
    /// The id with number `id`.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl From<u32> for InstrumentId {
    fn from(id: u32) -> Self {
        Self(id)
    }
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ArchivedInstrumentId {
    /// The number.
    pub fn get(&self) -> u32 {
        self.0.to_native()
    }
}

/// What the engine knows of one configured instrument: its dense id, symbol, scales and
/// trading increments. Built once from config; the hot path reads it by `id` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// The dense id: the instrument's index in the config, `0 .. n_instruments`.
    pub id: InstrumentId,
    /// The venue symbol (only used at the edges: config, reports).
    pub symbol: String,
    /// Price scale: raw price = price × 10^scale.
    pub price_scale: Scale,
    /// Quantity scale: raw quantity = quantity × 10^scale.
    pub qty_scale: Scale,
    /// Price increment, raw, `> 0`. Order prices are multiples of it.
    pub tick_size: i64,
    /// Quantity increment, raw, `> 0`. Order quantities are multiples of it.
    pub lot_size: i64,
}

impl InstrumentSpec {
    /// `price` rounded down to a multiple of the tick size (toward −∞).
    pub fn floor_tick(&self, price: i64) -> i64 {
        price.div_euclid(self.tick_size) * self.tick_size
    }

    /// `price` rounded up to a multiple of the tick size (toward +∞).
    pub fn ceil_tick(&self, price: i64) -> i64 {
        let f = self.floor_tick(price);
        if f == price {
            f
        } else {
            f.saturating_add(self.tick_size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_its_number() {
        assert_eq!(InstrumentId::new(42).to_string(), "42");
        assert_eq!(InstrumentId::from(7).get(), 7);
        assert!(InstrumentId::new(1) < InstrumentId::new(2));
    }

    #[test]
    fn rounds_to_ticks() {
        let spec = InstrumentSpec {
            id: InstrumentId::new(0),
            symbol: "X".into(),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
            tick_size: 5,
            lot_size: 1,
        };
        assert_eq!((spec.floor_tick(12), spec.ceil_tick(12)), (10, 15));
        assert_eq!((spec.floor_tick(15), spec.ceil_tick(15)), (15, 15));
        assert_eq!((spec.floor_tick(-3), spec.ceil_tick(-3)), (-5, 0));
    }
}
