//! The instruments a FIX session trades (symbol ↔ id and scales) and [`FixId`], an inline
//! `Copy` FIX string id (ClOrdID) that can travel through a ring.

use std::collections::BTreeMap;
use std::fmt;

use tickrail_engine::{InstrumentId, InstrumentSpec, Scale};

/// One instrument as FIX sees it: the symbol (tag 55) and the scales its prices and
/// quantities are parsed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixInstrument {
    /// tickrail's id.
    pub id: InstrumentId,
    /// FIX `Symbol` (tag 55).
    pub symbol: String,
    /// Decimal places of prices.
    pub price_scale: Scale,
    /// Decimal places of quantities.
    pub qty_scale: Scale,
}

impl From<&InstrumentSpec> for FixInstrument {
    fn from(spec: &InstrumentSpec) -> Self {
        Self {
            id: spec.id,
            symbol: spec.symbol.clone(),
            price_scale: spec.price_scale,
            qty_scale: spec.qty_scale,
        }
    }
}

/// Symbol ↔ instrument lookups, immutable after construction (shared with the callbacks).
#[derive(Debug, Clone, Default)]
pub struct Instruments {
    by_symbol: BTreeMap<String, FixInstrument>,
    by_id: BTreeMap<InstrumentId, FixInstrument>,
}

impl Instruments {
    /// The table of `instruments` (a later duplicate symbol or id replaces an earlier one).
    pub fn new(instruments: impl IntoIterator<Item = FixInstrument>) -> Self {
        let mut table = Self::default();
        for i in instruments {
            table.by_symbol.insert(i.symbol.clone(), i.clone());
            table.by_id.insert(i.id, i);
        }
        table
    }

    /// The instrument with FIX symbol `symbol`.
    pub fn by_symbol(&self, symbol: &str) -> Option<&FixInstrument> {
        self.by_symbol.get(symbol)
    }

    /// The instrument with id `id`.
    pub fn by_id(&self, id: InstrumentId) -> Option<&FixInstrument> {
        self.by_id.get(&id)
    }

    /// Every instrument, by id.
    pub fn iter(&self) -> impl Iterator<Item = &FixInstrument> {
        self.by_id.values()
    }
}

/// A FIX string id (ClOrdID, OrigClOrdID) of at most [`FixId::CAPACITY`] printable ASCII
/// bytes, stored inline so that it is `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FixId {
    len: u8,
    bytes: [u8; FixId::CAPACITY],
}

impl FixId {
    /// The longest id accepted.
    pub const CAPACITY: usize = 39;

    /// The id `text`, if it is 1 to [`Self::CAPACITY`] printable ASCII bytes.
    pub fn new(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.is_empty() || b.len() > Self::CAPACITY || !b.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let mut bytes = [0u8; Self::CAPACITY];
        bytes[..b.len()].copy_from_slice(b);
        Some(Self {
            len: u8::try_from(b.len()).ok()?,
            bytes,
        })
    }

    /// A numeric id (tickrail client order ids are `u64`s).
    pub fn from_u64(id: u64) -> Self {
        let mut buf = [0u8; 20];
        let mut n = id;
        let mut i = buf.len();
        loop {
            i -= 1;
            // n % 10 < 10: the cast cannot truncate.
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut bytes = [0u8; Self::CAPACITY];
        let digits = &buf[i..];
        bytes[..digits.len()].copy_from_slice(digits);
        Self {
            len: (buf.len() - i) as u8,
            bytes,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        let b = &self.bytes[..usize::from(self.len)];
        // Only ASCII is ever stored (checked in `new`, digits in `from_u64`).
        std::str::from_utf8(b).unwrap_or("")
    }
}

impl fmt::Debug for FixId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FixId({:?})", self.as_str())
    }
}

impl fmt::Display for FixId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_ids() {
        assert_eq!(FixId::from_u64(0).as_str(), "0");
        assert_eq!(FixId::from_u64(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(
            FixId::new("abc-1").map(|i| i.to_string()),
            Some("abc-1".into())
        );
        assert_eq!(FixId::new(""), None);
        assert_eq!(FixId::new("a b"), None);
        assert_eq!(FixId::new(&"x".repeat(40)), None);
        assert_eq!(FixId::new("42"), Some(FixId::from_u64(42)));
    }
}
