//! Instrument identifiers.

use std::fmt;

use rkyv::{Archive, Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_its_number() {
        assert_eq!(InstrumentId::new(42).to_string(), "42");
        assert_eq!(InstrumentId::from(7).get(), 7);
        assert!(InstrumentId::new(1) < InstrumentId::new(2));
    }
}
