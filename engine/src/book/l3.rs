//! A per-order (L3) book with price-time priority.
//!
//! Orders live in a slab of nodes sized at start-up; each price level keeps its orders in
//! arrival order as an intrusive doubly-linked list (O(1) append, O(1) removal by id). Order
//! ids map to slab slots through a hash map with a fixed (non-random) hasher, created with
//! its full capacity; it is looked up, never iterated, so its order reaches no output.
//! Levels are kept sorted best-first per side in vectors with preallocated capacity.
//!
//! Semantics follow ITCH-style feeds: a modify that raises the quantity or moves the price
//! loses time priority (the order goes to the back of its new level); a modify that only
//! lowers the quantity keeps it. A replace is a delete of the old id and an add of the new.

use std::collections::HashMap;

use super::{Anomaly, AnomalyCounts, BookView, Level};
use crate::event::{Event, EventBody, Side};

const NIL: u32 = u32::MAX;

/// A deterministic hasher for order ids: FxHash (no random state; fast on integer keys).
type FixedState = rustc_hash::FxBuildHasher;

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Node {
    id: u64,
    px: i64,
    qty: i64,
    side: Side,
    prev: u32,
    next: u32,
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct L3Level {
    px: i64,
    qty: i64,
    orders: u32,
    head: u32,
    tail: u32,
}

/// An order as the book holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderInfo {
    pub side: Side,
    pub px: i64,
    pub qty: i64,
}

/// What an execution did: the price it happened at and the quantity taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub side: Side,
    pub px: i64,
    pub qty: i64,
}

/// An L3 book for one instrument.
///
/// Serializable for engine snapshots: the slab, its free list and the levels as they are;
/// the id map as `(id, slot)` pairs sorted by id, so equal books serialize alike whatever
/// their map's history.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct L3Book {
    #[serde(with = "sorted_ids")]
    ids: HashMap<u64, u32, FixedState>,
    nodes: Vec<Node>,
    free: u32,
    capacity: usize,
    bids: Vec<L3Level>,
    asks: Vec<L3Level>,
    anomalies: AnomalyCounts,
}

/// Serde for the id map: a sequence of `(id, slot)` sorted by id.
mod sorted_ids {
    use super::{FixedState, HashMap};

    pub fn serialize<S: serde::Serializer>(
        ids: &HashMap<u64, u32, FixedState>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut pairs: Vec<(u64, u32)> = ids.iter().map(|(&k, &v)| (k, v)).collect();
        pairs.sort_unstable();
        serde::Serialize::serialize(&pairs, s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<HashMap<u64, u32, FixedState>, D::Error> {
        let pairs: Vec<(u64, u32)> = serde::Deserialize::deserialize(d)?;
        Ok(pairs.into_iter().collect())
    }
}

impl L3Book {
    /// A book for at most `max_orders` live orders and `max_levels` price levels per side,
    /// all allocated now. Beyond `max_orders`, adds are refused and counted
    /// ([`Anomaly::CapacityFull`]); beyond `max_levels` the level vectors grow (an allocation,
    /// so size them for the instrument).
    pub fn with_capacity(max_orders: usize, max_levels: usize) -> Self {
        let max_orders = max_orders.min(NIL as usize - 1);
        let mut ids = HashMap::with_hasher(FixedState::default());
        ids.reserve(max_orders);
        Self {
            ids,
            nodes: Vec::with_capacity(max_orders),
            free: NIL,
            capacity: max_orders,
            bids: Vec::with_capacity(max_levels),
            asks: Vec::with_capacity(max_levels),
            anomalies: AnomalyCounts::new(),
        }
    }

    fn levels_mut(&mut self, side: Side) -> &mut Vec<L3Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn levels(&self, side: Side) -> &[L3Level] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Position of `px` on `side` (best first), or where it would go.
    fn find(levels: &[L3Level], side: Side, px: i64) -> Result<usize, usize> {
        levels.binary_search_by(|l| match side {
            Side::Buy => px.cmp(&l.px),
            Side::Sell => l.px.cmp(&px),
        })
    }

    fn flag(&mut self, a: Anomaly) -> Option<Anomaly> {
        self.anomalies.count(a);
        Some(a)
    }

    /// After a successful change: flag a crossed book.
    fn after(&mut self) -> Option<Anomaly> {
        if self.is_crossed() {
            self.flag(Anomaly::Crossed)
        } else {
            None
        }
    }

    /// Add order `id` at the back of its level.
    pub fn add(&mut self, id: u64, side: Side, px: i64, qty: i64) -> Option<Anomaly> {
        if px <= 0 || qty <= 0 {
            return self.flag(Anomaly::InvalidValue);
        }
        if self.ids.contains_key(&id) {
            return self.flag(Anomaly::DuplicateOrder);
        }
        if self.ids.len() >= self.capacity {
            return self.flag(Anomaly::CapacityFull);
        }
        self.insert(id, side, px, qty);
        self.after()
    }

    fn insert(&mut self, id: u64, side: Side, px: i64, qty: i64) {
        let node = Node {
            id,
            px,
            qty,
            side,
            prev: NIL,
            next: NIL,
        };
        let slot = if self.free != NIL {
            let s = self.free;
            self.free = self.nodes[s as usize].next;
            self.nodes[s as usize] = node;
            s
        } else {
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        };
        self.ids.insert(id, slot);
        let levels = self.levels_mut(side);
        let at = match Self::find(levels, side, px) {
            Ok(i) => i,
            Err(i) => {
                levels.insert(
                    i,
                    L3Level {
                        px,
                        qty: 0,
                        orders: 0,
                        head: NIL,
                        tail: NIL,
                    },
                );
                i
            }
        };
        let level = &mut levels[at];
        let tail = level.tail;
        level.qty += qty;
        level.orders += 1;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        if tail != NIL {
            self.nodes[tail as usize].next = slot;
        }
        self.nodes[slot as usize].prev = tail;
    }

    /// Unlink the order in `slot` from its level and free the slot.
    fn remove_slot(&mut self, slot: u32) {
        let n = self.nodes[slot as usize];
        if n.prev != NIL {
            self.nodes[n.prev as usize].next = n.next;
        }
        if n.next != NIL {
            self.nodes[n.next as usize].prev = n.prev;
        }
        let levels = self.levels_mut(n.side);
        if let Ok(i) = Self::find(levels, n.side, n.px) {
            let level = &mut levels[i];
            if level.head == slot {
                level.head = n.next;
            }
            if level.tail == slot {
                level.tail = n.prev;
            }
            level.qty -= n.qty;
            level.orders -= 1;
            if level.orders == 0 {
                levels.remove(i);
            }
        }
        self.ids.remove(&n.id);
        self.nodes[slot as usize].next = self.free;
        self.free = slot;
    }

    /// Lower the quantity of the order in `slot` by `by` (0 < by < its qty), in place.
    fn shrink(&mut self, slot: u32, by: i64) {
        let n = &mut self.nodes[slot as usize];
        n.qty -= by;
        let (side, px) = (n.side, n.px);
        let levels = self.levels_mut(side);
        if let Ok(i) = Self::find(levels, side, px) {
            levels[i].qty -= by;
        }
    }

    /// Remove order `id`.
    pub fn delete(&mut self, id: u64) -> Option<Anomaly> {
        match self.ids.get(&id) {
            Some(&slot) => {
                self.remove_slot(slot);
                None
            }
            None => self.flag(Anomaly::UnknownOrder),
        }
    }

    /// Cancel `qty` of order `id` (removing it when nothing is left). Keeps priority. A
    /// cancel larger than the remaining quantity removes the order and is counted as
    /// [`Anomaly::OverExecution`].
    pub fn cancel(&mut self, id: u64, qty: i64) -> Option<Anomaly> {
        self.take(id, qty).err()
    }

    /// Execute `qty` of order `id` against the book: what was filled, or the anomaly. An
    /// execution larger than the remaining quantity fills the remainder, removes the order
    /// and is counted ([`Anomaly::OverExecution`]).
    pub fn execute(&mut self, id: u64, qty: i64) -> Result<Fill, Anomaly> {
        self.take(id, qty)
    }

    fn take(&mut self, id: u64, qty: i64) -> Result<Fill, Anomaly> {
        let Some(&slot) = self.ids.get(&id) else {
            self.anomalies.count(Anomaly::UnknownOrder);
            return Err(Anomaly::UnknownOrder);
        };
        if qty <= 0 {
            self.anomalies.count(Anomaly::InvalidValue);
            return Err(Anomaly::InvalidValue);
        }
        let n = self.nodes[slot as usize];
        let filled = qty.min(n.qty);
        if filled == n.qty {
            self.remove_slot(slot);
        } else {
            self.shrink(slot, filled);
        }
        if qty > n.qty {
            self.anomalies.count(Anomaly::OverExecution);
            return Err(Anomaly::OverExecution);
        }
        Ok(Fill {
            side: n.side,
            px: n.px,
            qty: filled,
        })
    }

    /// Change order `id` to `px`/`qty`. Only lowering the quantity at the same price keeps
    /// time priority.
    pub fn modify(&mut self, id: u64, px: i64, qty: i64) -> Option<Anomaly> {
        let Some(&slot) = self.ids.get(&id) else {
            return self.flag(Anomaly::UnknownOrder);
        };
        if px <= 0 || qty <= 0 {
            return self.flag(Anomaly::InvalidValue);
        }
        let n = self.nodes[slot as usize];
        if px == n.px && qty <= n.qty {
            if qty < n.qty {
                self.shrink(slot, n.qty - qty);
            }
        } else {
            self.remove_slot(slot);
            self.insert(id, n.side, px, qty);
        }
        self.after()
    }

    /// Replace order `old` by `new` (new id, price, quantity; same side), at the back of
    /// its level.
    pub fn replace(&mut self, old: u64, new: u64, px: i64, qty: i64) -> Option<Anomaly> {
        let Some(&slot) = self.ids.get(&old) else {
            return self.flag(Anomaly::UnknownOrder);
        };
        if px <= 0 || qty <= 0 {
            return self.flag(Anomaly::InvalidValue);
        }
        if new != old && self.ids.contains_key(&new) {
            return self.flag(Anomaly::DuplicateOrder);
        }
        let side = self.nodes[slot as usize].side;
        self.remove_slot(slot);
        self.insert(new, side, px, qty);
        self.after()
    }

    /// Applies one L3 market data event (`OrderAdd`, `OrderModify`, `OrderDelete`,
    /// `OrderExecute`, `OrderReplace`) and returns the anomaly it raised, if any. Any other
    /// kind of event leaves the book alone and returns `None`.
    pub fn apply_event(&mut self, event: &Event) -> Option<Anomaly> {
        match event.body {
            EventBody::OrderAdd {
                side,
                order_id,
                price,
                qty,
            } => self.add(order_id, side, price.raw(), qty.raw()),
            EventBody::OrderModify {
                order_id,
                price,
                qty,
            } => self.modify(order_id, price.raw(), qty.raw()),
            EventBody::OrderDelete { order_id } => self.delete(order_id),
            EventBody::OrderExecute { order_id, qty, .. } => {
                self.execute(order_id, qty.raw()).err()
            }
            EventBody::OrderReplace {
                old_order_id,
                new_order_id,
                price,
                qty,
            } => self.replace(old_order_id, new_order_id, price.raw(), qty.raw()),
            _ => None,
        }
    }

    /// The order `id`, if live.
    pub fn order(&self, id: u64) -> Option<OrderInfo> {
        let n = self.nodes[*self.ids.get(&id)? as usize];
        Some(OrderInfo {
            side: n.side,
            px: n.px,
            qty: n.qty,
        })
    }

    /// Quantity ahead of order `id` in its level's queue (what must trade or cancel before
    /// it fills). O(position in the queue).
    pub fn queue_ahead(&self, id: u64) -> Option<i64> {
        let mut at = self.nodes[*self.ids.get(&id)? as usize].prev;
        let mut ahead = 0;
        while at != NIL {
            ahead += self.nodes[at as usize].qty;
            at = self.nodes[at as usize].prev;
        }
        Some(ahead)
    }

    /// Live orders.
    pub fn orders(&self) -> usize {
        self.ids.len()
    }

    /// Price levels on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.levels(side).len()
    }

    /// Best bid at or above best ask.
    pub fn is_crossed(&self) -> bool {
        match (self.bids.first(), self.asks.first()) {
            (Some(b), Some(a)) => b.px >= a.px,
            _ => false,
        }
    }

    /// Anomalies counted so far.
    pub fn anomalies(&self) -> AnomalyCounts {
        self.anomalies
    }

    /// Every invariant: levels sorted best-first with distinct prices; each level's
    /// quantity and count equal the sum over its queue; queues correctly linked; every
    /// queued order is in the id map at its price and side; the book not crossed.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut queued = 0usize;
        for side in [Side::Buy, Side::Sell] {
            let levels = self.levels(side);
            for (i, l) in levels.iter().enumerate() {
                if i > 0 && Self::find(&levels[..i], side, l.px).is_ok() {
                    return Err(format!("{side:?} level {i}: duplicate price {}", l.px));
                }
                if i > 0 {
                    let prev = levels[i - 1].px;
                    let ordered = match side {
                        Side::Buy => prev > l.px,
                        Side::Sell => prev < l.px,
                    };
                    if !ordered {
                        return Err(format!("{side:?} levels {} and {i} out of order", i - 1));
                    }
                }
                let (mut qty, mut count, mut at, mut prev) = (0i64, 0u32, l.head, NIL);
                while at != NIL {
                    let n = &self.nodes[at as usize];
                    if n.prev != prev || n.px != l.px || n.side != side || n.qty <= 0 {
                        return Err(format!("{side:?} level {}: bad order node {}", l.px, n.id));
                    }
                    if self.ids.get(&n.id) != Some(&at) {
                        return Err(format!("order {} not in the id map", n.id));
                    }
                    qty += n.qty;
                    count += 1;
                    prev = at;
                    at = n.next;
                }
                if prev != l.tail || qty != l.qty || count != l.orders || count == 0 {
                    return Err(format!("{side:?} level {}: totals or tail disagree", l.px));
                }
                queued += count as usize;
            }
        }
        if queued != self.ids.len() {
            return Err(format!(
                "{} orders queued, {} in the id map",
                queued,
                self.ids.len()
            ));
        }
        if self.is_crossed() {
            return Err("crossed".into());
        }
        Ok(())
    }
}

impl L3Book {
    /// Takes the orders, levels and counters of `saved` (a snapshot of a book), keeping this
    /// book's order capacity and its allocations (grown if `saved` holds more), so that the
    /// restored book allocates no more on the hot path than a fresh one.
    pub fn restore_from(&mut self, saved: L3Book) {
        // Exhaustive, so that a new field must be placed here (state or sizing).
        let L3Book {
            ids,
            nodes,
            free,
            capacity: _,
            bids,
            asks,
            anomalies,
        } = saved;
        self.ids.clear();
        self.ids.extend(ids);
        self.nodes.clear();
        self.nodes.extend_from_slice(&nodes);
        self.free = free;
        self.bids.clear();
        self.bids.extend_from_slice(&bids);
        self.asks.clear();
        self.asks.extend_from_slice(&asks);
        self.anomalies = anomalies;
    }
}

impl BookView for L3Book {
    fn depth(&self, side: Side, i: usize) -> Option<Level> {
        self.levels(side).get(i).map(|l| Level {
            px: l.px,
            qty: l.qty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn lv(px: i64, qty: i64) -> Option<Level> {
        Some(Level { px, qty })
    }

    #[test]
    fn price_time_queues_and_priority_rules() {
        let mut b = L3Book::with_capacity(16, 8);
        assert_eq!(b.add(1, Side::Buy, 100, 5), None);
        assert_eq!(b.add(2, Side::Buy, 100, 7), None);
        assert_eq!(b.add(3, Side::Buy, 101, 1), None);
        assert_eq!(b.add(4, Side::Sell, 103, 2), None);
        assert_eq!(b.best_bid(), lv(101, 1));
        assert_eq!(b.depth(Side::Buy, 1), lv(100, 12));
        assert_eq!(b.queue_ahead(2), Some(5));
        // Lowering the quantity keeps priority; raising it loses it.
        assert_eq!(b.modify(1, 100, 4), None);
        assert_eq!(b.queue_ahead(2), Some(4));
        assert_eq!(b.modify(1, 100, 9), None);
        assert_eq!((b.queue_ahead(2), b.queue_ahead(1)), (Some(0), Some(7)));
        // Executions fill in place, then remove.
        assert_eq!(
            b.execute(2, 3),
            Ok(Fill {
                side: Side::Buy,
                px: 100,
                qty: 3
            })
        );
        assert_eq!(b.depth(Side::Buy, 1), lv(100, 13));
        assert_eq!(
            b.execute(2, 4),
            Ok(Fill {
                side: Side::Buy,
                px: 100,
                qty: 4
            })
        );
        assert_eq!(b.order(2), None);
        // Replace moves to a new id at the back of the new level.
        assert_eq!(b.replace(3, 30, 100, 2), None);
        assert_eq!((b.best_bid(), b.queue_ahead(30)), (lv(100, 11), Some(9)));
        assert_eq!(b.cancel(1, 9), None);
        assert_eq!(b.delete(30), None);
        assert_eq!((b.orders(), b.level_count(Side::Buy)), (1, 0));
        assert_eq!(b.anomalies().total(), 0);
        b.check_invariants().unwrap();
    }

    #[test]
    fn inconsistent_messages_are_counted_not_fatal() {
        let mut b = L3Book::with_capacity(2, 2);
        assert_eq!(b.delete(9), Some(Anomaly::UnknownOrder));
        assert_eq!(b.execute(9, 1), Err(Anomaly::UnknownOrder));
        assert_eq!(b.add(1, Side::Sell, 0, 1), Some(Anomaly::InvalidValue));
        assert_eq!(b.add(1, Side::Sell, 10, 1), None);
        assert_eq!(b.add(1, Side::Sell, 10, 1), Some(Anomaly::DuplicateOrder));
        assert_eq!(b.add(2, Side::Buy, 10, 1), Some(Anomaly::Crossed));
        assert_eq!(b.add(3, Side::Buy, 9, 1), Some(Anomaly::CapacityFull));
        assert_eq!(b.execute(1, 5), Err(Anomaly::OverExecution));
        assert_eq!(b.order(1), None);
        assert_eq!(b.replace(2, 1, 9, 0), Some(Anomaly::InvalidValue));
        let c = b.anomalies();
        assert_eq!(
            (
                c.unknown_order,
                c.invalid_value,
                c.duplicate_order,
                c.crossed
            ),
            (2, 2, 1, 1)
        );
        assert_eq!((c.capacity_full, c.over_execution), (1, 1));
        b.check_invariants().unwrap();
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64, bool, i64, i64),
        Exec(u64, i64),
        Cancel(u64, i64),
        Modify(u64, i64, i64),
        Delete(u64),
        Replace(u64, u64, i64, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let id = 0u64..24;
        prop_oneof![
            3 => (id.clone(), any::<bool>(), 1i64..20, 1i64..9).prop_map(|(i, b, p, q)| Op::Add(i, b, p, q)),
            1 => (id.clone(), 1i64..12).prop_map(|(i, q)| Op::Exec(i, q)),
            1 => (id.clone(), 1i64..12).prop_map(|(i, q)| Op::Cancel(i, q)),
            1 => (id.clone(), 1i64..20, 1i64..9).prop_map(|(i, p, q)| Op::Modify(i, p, q)),
            1 => id.clone().prop_map(Op::Delete),
            1 => (id.clone(), id, 1i64..20, 1i64..9).prop_map(|(a, b, p, q)| Op::Replace(a, b, p, q)),
        ]
    }

    proptest! {
        /// Arbitrary messages (any ids, prices, quantities, crossing or not) never panic and
        /// never break the queue structure.
        #[test]
        fn arbitrary_messages_never_panic(ops in prop::collection::vec(
            (0u8..6, 0u64..8, 0u64..8, any::<i64>(), -3i64..6, any::<bool>()), 0..200)) {
            let mut b = L3Book::with_capacity(6, 4);
            for (k, id, id2, p, q, buy) in ops {
                let side = if buy { Side::Buy } else { Side::Sell };
                let p = p % 50;
                let _ = match k {
                    0 => b.add(id, side, p, q),
                    1 => b.execute(id, q).err(),
                    2 => b.cancel(id, q),
                    3 => b.modify(id, p, q),
                    4 => b.delete(id),
                    _ => b.replace(id, id2, p, q),
                };
                if let Err(e) = b.check_invariants() {
                    prop_assert!(e == "crossed", "{e}");
                }
            }
        }

        /// Against a naive model (orders in arrival order): the same aggregated levels, the
        /// same queue positions, invariants after every message. Bids are kept below 10 and
        /// asks at 10 or above so that the stream is consistent (never crosses).
        #[test]
        fn matches_a_naive_model(ops in prop::collection::vec(op(), 0..300)) {
            let mut b = L3Book::with_capacity(64, 32);
            // id -> (buy, px, qty, arrival)
            let mut model: BTreeMap<u64, (bool, i64, i64, u64)> = BTreeMap::new();
            let mut clock = 0u64;
            let side_px = |buy: bool, p: i64| if buy { p.min(9) } else { p.max(10) };
            for o in ops {
                clock += 1;
                match o {
                    Op::Add(id, buy, p, q) => {
                        let p = side_px(buy, p);
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let r = b.add(id, side, p, q);
                        if let std::collections::btree_map::Entry::Vacant(e) = model.entry(id) {
                            e.insert((buy, p, q, clock));
                            prop_assert_eq!(r, None);
                        } else {
                            prop_assert_eq!(r, Some(Anomaly::DuplicateOrder));
                        }
                    }
                    Op::Exec(id, q) | Op::Cancel(id, q) => {
                        let _ = if matches!(o, Op::Exec(..)) { b.execute(id, q).err() } else { b.cancel(id, q) };
                        if let Some(e) = model.get_mut(&id) {
                            e.2 -= q.min(e.2);
                            if e.2 == 0 { model.remove(&id); }
                        }
                    }
                    Op::Modify(id, p, q) => {
                        if let Some(e) = model.get_mut(&id) {
                            let p = side_px(e.0, p);
                            prop_assert_eq!(b.modify(id, p, q), None);
                            if !(p == e.1 && q <= e.2) { e.3 = clock; }
                            e.1 = p;
                            e.2 = q;
                        } else {
                            prop_assert_eq!(b.modify(id, p, q), Some(Anomaly::UnknownOrder));
                        }
                    }
                    Op::Delete(id) => {
                        let _ = b.delete(id);
                        model.remove(&id);
                    }
                    Op::Replace(old, new, p, q) => {
                        if let Some(&(buy, _, _, _)) = model.get(&old) {
                            let p = side_px(buy, p);
                            let r = b.replace(old, new, p, q);
                            if new != old && model.contains_key(&new) {
                                prop_assert_eq!(r, Some(Anomaly::DuplicateOrder));
                            } else {
                                prop_assert_eq!(r, None);
                                model.remove(&old);
                                model.insert(new, (buy, p, q, clock));
                            }
                        } else {
                            prop_assert_eq!(b.replace(old, new, p, q), Some(Anomaly::UnknownOrder));
                        }
                    }
                }
                prop_assert!(b.check_invariants().is_ok(), "{:?}", b.check_invariants());
            }
            prop_assert_eq!(b.orders(), model.len());
            for (&id, &(buy, p, q, t)) in &model {
                let side = if buy { Side::Buy } else { Side::Sell };
                prop_assert_eq!(b.order(id), Some(OrderInfo { side, px: p, qty: q }));
                let ahead: i64 = model.values()
                    .filter(|&&(b2, p2, _, t2)| b2 == buy && p2 == p && t2 < t)
                    .map(|&(_, _, q2, _)| q2)
                    .sum();
                prop_assert_eq!(b.queue_ahead(id), Some(ahead));
            }
        }
    }
}
