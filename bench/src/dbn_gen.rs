//! A seeded generator of Databento MBO data: one instrument (`ESH1`, instrument id
//! [`ES_ID`]) encoded as DBN with the `dbn` crate's encoder, with its symbol mapping in the
//! metadata. Used by `file_decode_bench` (decoded from memory) and `peers_bench` (written
//! to a file that tickrail imports and hftbacktest's Databento converter reads).

use anyhow::{Context, Result};
use tickrail_gateways::dbn_feed::dbn::encode::{DbnEncoder, EncodeRecord};
use tickrail_gateways::dbn_feed::dbn::{
    self, rtype, FlagSet, MappingInterval, MboMsg, Metadata, RecordHeader, SType, Schema,
    SymbolMapping,
};

/// The symbol of the generated instrument.
pub const SYMBOL: &str = "ESH1";
/// Its DBN instrument id.
pub const ES_ID: u32 = 5482;
/// The first event time: 2020-12-28 13:00 UTC, ns since the epoch.
pub const T0: u64 = 1_609_160_400_000_000_000;

/// xorshift64*: seeded, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The instrument's tick, 0.25, at DBN's price scale (1e-9).
pub const TICK: i64 = 250_000_000;
/// The price the generated book sits around, 3720.00, at DBN's price scale.
pub const BASE: i64 = 3_720_000_000_000;

/// `n` MBO records of ESH1 encoded as DBN: adds around the mid (bids below, asks above),
/// partial and full cancels, modifies, trades and fills; about a thousand live orders.
/// Record `k` has `sequence` `k + 1`; event times start at [`T0`] and grow by 1–5,000 ns
/// a record; receive times are 20 µs after them.
pub fn mbo_stream(n: usize, seed: u64) -> Result<Vec<u8>> {
    mbo_stream_with(n, seed, &MboOptions::default())
}

/// Variations of [`mbo_stream`]'s data; the default is `file_decode_bench`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MboOptions {
    /// Event time between two records: 1 to this many ns (uniform).
    pub max_gap_ns: u64,
    /// Write a partial cancel as a modify (`M`, same price, the size left) instead of a
    /// cancel of the size taken off (`C`). The book is the same; readers that take every
    /// `C` for a full delete (hftbacktest's Databento converter does) read it right.
    pub partial_cancels_as_modify: bool,
}

impl Default for MboOptions {
    fn default() -> Self {
        Self {
            max_gap_ns: 5_000,
            partial_cancels_as_modify: false,
        }
    }
}

/// [`mbo_stream`] with `opts`; the same random draws for every `opts`, so records differ
/// only in what the options change.
pub fn mbo_stream_with(n: usize, seed: u64, opts: &MboOptions) -> Result<Vec<u8>> {
    anyhow::ensure!(opts.max_gap_ns > 0, "max_gap_ns must be at least 1");
    let day = dbn::record::ts_to_dt(T0).context("date")?.date();
    let metadata = Metadata::builder()
        .dataset("GLBX.MDP3")
        .schema(Some(Schema::Mbo))
        .start(T0)
        .stype_in(Some(SType::RawSymbol))
        .stype_out(SType::InstrumentId)
        .symbols(vec![SYMBOL.to_owned()])
        .mappings(vec![SymbolMapping {
            raw_symbol: SYMBOL.to_owned(),
            intervals: vec![MappingInterval {
                start_date: day,
                end_date: day.next_day().context("date")?,
                symbol: ES_ID.to_string(),
            }],
        }])
        .build();
    let mut out = Vec::with_capacity(n * std::mem::size_of::<MboMsg>() + 4096);
    let mut enc = DbnEncoder::new(&mut out, &metadata)?;
    let mut rng = Rng::new(seed);
    // Live orders: (id, side, price, size), removed by swap.
    let mut live: Vec<(u64, u8, i64, u32)> = Vec::new();
    let mut next_id = 1u64;
    let mut ts = T0;
    for k in 0..n {
        ts += 1 + rng.below(opts.max_gap_ns);
        let r = rng.below(100);
        let (action, side, id, price, size) = if live.len() < 1_000 && r < 45 || live.is_empty() {
            let side = if rng.below(2) == 0 { b'B' } else { b'A' };
            let ticks = 1 + rng.below(20) as i64;
            let price = if side == b'B' {
                BASE - ticks * TICK
            } else {
                BASE + (ticks - 1) * TICK
            };
            let size = 1 + rng.below(50) as u32;
            next_id += 1;
            live.push((next_id, side, price, size));
            (b'A', side, next_id, price, size)
        } else if r < 85 {
            let i = rng.below(live.len() as u64) as usize;
            let (id, side, price, size) = live[i];
            let cancel = 1 + rng.below(u64::from(size)) as u32;
            if cancel == size {
                live.swap_remove(i);
                (b'C', side, id, price, cancel)
            } else {
                live[i].3 = size - cancel;
                if opts.partial_cancels_as_modify {
                    (b'M', side, id, price, size - cancel)
                } else {
                    (b'C', side, id, price, cancel)
                }
            }
        } else if r < 92 {
            let i = rng.below(live.len() as u64) as usize;
            let size = 1 + rng.below(50) as u32;
            live[i].3 = size;
            let (id, side, price, _) = live[i];
            (b'M', side, id, price, size)
        } else if r < 96 {
            let side = if rng.below(2) == 0 { b'B' } else { b'A' };
            (b'T', side, 0, BASE, 1 + rng.below(10) as u32)
        } else {
            let i = rng.below(live.len() as u64) as usize;
            let (id, side, price, size) = live[i];
            (b'F', side, id, price, size)
        };
        let rec = MboMsg {
            hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, ES_ID, ts),
            order_id: id,
            price,
            size,
            flags: FlagSet::new(dbn::flags::LAST),
            channel_id: 0,
            action: action as std::ffi::c_char,
            side: side as std::ffi::c_char,
            ts_recv: ts + 20_000,
            ts_in_delta: 0,
            sequence: k as u32 + 1,
        };
        enc.encode_record(&rec)?;
    }
    enc.flush()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use tickrail_gateways::dbn_feed::dbn::decode::{DbnDecoder, DecodeRecordRef};

    fn records(bytes: Vec<u8>) -> Vec<MboMsg> {
        let mut d = DbnDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        while let Some(r) = d.decode_record_ref().unwrap() {
            out.push(r.get::<MboMsg>().unwrap().clone());
        }
        out
    }

    #[test]
    fn options_change_only_what_they_say() {
        let base = records(mbo_stream(5_000, 7).unwrap());
        assert_eq!(
            base,
            records(mbo_stream_with(5_000, 7, &MboOptions::default()).unwrap())
        );
        let opts = MboOptions {
            max_gap_ns: 100_000,
            partial_cancels_as_modify: true,
        };
        let alt = records(mbo_stream_with(5_000, 7, &opts).unwrap());
        assert_eq!(base.len(), 5_000);
        assert_eq!(alt.len(), base.len());
        // Live sizes, to check a modify carries the size left by the partial cancel.
        let mut sizes = std::collections::HashMap::new();
        let mut modified = 0;
        for (b, a) in base.iter().zip(&alt) {
            assert_eq!((b.order_id, b.price, b.side), (a.order_id, a.price, a.side));
            assert!(a.hd.ts_event >= b.hd.ts_event);
            let (ba, aa) = (b.action as u8, a.action as u8);
            if ba == aa {
                assert_eq!(b.size, a.size);
            } else {
                assert_eq!((ba, aa), (b'C', b'M'));
                let live: u32 = sizes[&b.order_id];
                assert!(b.size < live);
                assert_eq!(a.size, live - b.size);
                modified += 1;
            }
            match ba {
                b'A' | b'M' => {
                    sizes.insert(b.order_id, b.size);
                }
                b'C' => {
                    let live = sizes[&b.order_id];
                    if b.size == live {
                        sizes.remove(&b.order_id);
                    } else {
                        sizes.insert(b.order_id, live - b.size);
                    }
                }
                _ => {}
            }
        }
        assert!(modified > 100, "only {modified} partial cancels");
        // 1 to 100,000 ns between records: about 50 µs on average.
        let span = alt[alt.len() - 1].hd.ts_event - alt[0].hd.ts_event;
        assert!(
            span > 5_000 * 25_000 && span < 5_000 * 75_000,
            "span {span}"
        );
    }
}
