//! The live orders of the mapped instruments of an MBO stream: DBN cancels carry the
//! canceled size, not what is left, so the adapter keeps each order's remaining size to
//! tell a partial cancel (an `OrderModify` to the remaining size) from a full one (an
//! `OrderDelete`). Bounded by the live orders: an order leaves the map when it leaves the
//! book (cancel to zero, a modify to size zero, a clear of its instrument).

use tickrail_engine::Price;

use rustc_hash::FxHashMap;

/// One resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiveOrder {
    /// Price, at the instrument's scale.
    pub(crate) price: Price,
    /// Remaining size, in DBN units.
    pub(crate) size: u32,
}

/// Live orders by (DBN instrument id, order id).
#[derive(Debug, Default)]
pub(crate) struct Orders {
    live: FxHashMap<(u32, u64), LiveOrder>,
}

impl Orders {
    /// The order, if live.
    #[inline]
    pub(crate) fn get_mut(&mut self, instrument: u32, order_id: u64) -> Option<&mut LiveOrder> {
        self.live.get_mut(&(instrument, order_id))
    }

    /// Whether the order is live.
    #[inline]
    pub(crate) fn contains(&self, instrument: u32, order_id: u64) -> bool {
        self.live.contains_key(&(instrument, order_id))
    }

    /// Adds an order.
    #[inline]
    pub(crate) fn insert(&mut self, instrument: u32, order_id: u64, order: LiveOrder) {
        self.live.insert((instrument, order_id), order);
    }

    /// Removes an order.
    #[inline]
    pub(crate) fn remove(&mut self, instrument: u32, order_id: u64) {
        self.live.remove(&(instrument, order_id));
    }

    /// Removes every order of `instrument`, putting their ids in `ids` in increasing order
    /// (so the deletes a clear becomes come out in the same order on every run).
    pub(crate) fn clear_instrument(&mut self, instrument: u32, ids: &mut Vec<u64>) {
        ids.clear();
        self.live.retain(|&(inst, id), _| {
            if inst == instrument {
                ids.push(id);
                false
            } else {
                true
            }
        });
        ids.sort_unstable();
    }

    /// Number of live orders.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_aligned_keys() {
        use std::hash::{BuildHasher as _, Hasher as _};
        // Order ids that are multiples of a power of two still land in different buckets.
        let mut low_bits = std::collections::HashSet::new();
        for i in 0..1024u64 {
            let mut h = rustc_hash::FxBuildHasher.build_hasher();
            h.write_u64(i << 20);
            low_bits.insert(h.finish() & 1023);
        }
        assert!(low_bits.len() > 600, "{}", low_bits.len());
        let mut m: FxHashMap<(u32, u64), u8> = FxHashMap::default();
        m.insert((1, 2), 3);
        assert_eq!(m.get(&(1, 2)), Some(&3));
    }

    #[test]
    fn clear_takes_one_instrument_in_id_order() {
        let mut o = Orders::default();
        let order = LiveOrder {
            price: Price::new(5),
            size: 1,
        };
        for id in [9, 3, 7] {
            o.insert(1, id, order);
        }
        o.insert(2, 4, order);
        let mut ids = Vec::new();
        o.clear_instrument(1, &mut ids);
        assert_eq!(ids, [3, 7, 9]);
        assert_eq!(o.len(), 1);
        assert!(o.contains(2, 4));
    }
}
