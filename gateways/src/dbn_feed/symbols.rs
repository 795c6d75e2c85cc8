//! DBN `instrument_id` → the config's instrument, through symbols.
//!
//! Two sources of symbols, tried in this order:
//!
//! 1. **Definitions**: `InstrumentDefMsg` records (a definitions file opened alongside, and
//!    any definition records in the stream itself) give each id its `raw_symbol`; the latest
//!    definition of an id wins, for the whole file.
//! 2. **Metadata symbology**: the file's symbol mappings (`stype_out = instrument_id`, or
//!    the inverse), as date intervals: an id maps to the requested symbol (`ESH1`, or
//!    `ES.c.0` for a continuous request) on the days of its interval. Live-style
//!    `SymbolMappingMsg` records in the stream add intervals.
//!
//! A symbol that is not in the [`InstrumentMap`] does not map; the next source is tried.

use dbn::{v1, v2, v3, RecordRef, TsSymbolMap};
use tickrail_engine::{InstrumentId, Scale};

use crate::feed::InstrumentMap;
use rustc_hash::FxHashMap;

/// Where a mapped DBN instrument's events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    /// The engine's instrument.
    pub(crate) id: InstrumentId,
    /// Its price scale.
    pub(crate) price_scale: Scale,
    /// Its quantity scale.
    pub(crate) qty_scale: Scale,
}

/// The outcome of resolving an id at a time, and the time window it holds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The instrument, or `None` when no symbol of the id is in the map.
    pub(crate) target: Option<Target>,
    /// The window (index timestamps, ns, `[from, to)`) in which the answer holds.
    pub(crate) from: u64,
    pub(crate) to: u64,
}

/// The symbols known for DBN instrument ids; see the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Symbols {
    definitions: FxHashMap<u32, String>,
    intervals: TsSymbolMap,
}

impl Symbols {
    /// Symbols from a file's metadata (none when its symbology does not map to
    /// instrument ids, e.g. an inverse mapping that is not numeric).
    pub(crate) fn from_metadata(metadata: &dbn::Metadata) -> Self {
        Self {
            definitions: FxHashMap::default(),
            intervals: TsSymbolMap::from_metadata(metadata).unwrap_or_default(),
        }
    }

    /// Learns the raw symbol of a definition record of a stream of DBN `version`; returns
    /// the id it defines, or `None` if the record is not a readable definition.
    pub(crate) fn on_definition(&mut self, rec: &RecordRef<'_>, version: u8) -> Option<u32> {
        let (id, symbol) = definition_symbol(rec, version)?;
        self.definitions.insert(id, symbol);
        Some(id)
    }

    /// Adds the definitions of `other` (a definitions file), replacing ours for the same id.
    pub(crate) fn add_definitions(&mut self, other: FxHashMap<u32, String>) {
        self.definitions.extend(other);
    }

    /// Learns a symbol mapping record; returns the id it maps.
    pub(crate) fn on_symbol_mapping(&mut self, rec: RecordRef<'_>) -> Option<u32> {
        let id = rec.header().instrument_id;
        self.intervals.on_record(rec).ok().map(|()| id)
    }

    /// Number of ids known from definitions.
    pub(crate) fn definitions(&self) -> usize {
        self.definitions.len()
    }

    /// Resolves `id` at index time `ts` against `map`.
    pub(crate) fn resolve(&self, map: &InstrumentMap, id: u32, ts: u64) -> Resolved {
        let find = |symbol: &str| {
            map.by_symbol(symbol).map(|m| Target {
                id: m.id,
                price_scale: m.price_scale,
                qty_scale: m.qty_scale,
            })
        };
        if let Some(target) = self.definitions.get(&id).and_then(|s| find(s)) {
            return Resolved {
                target: Some(target),
                from: 0,
                to: u64::MAX,
            };
        }
        let Some(intervals) = self.intervals.inner().get(&id) else {
            return Resolved {
                target: None,
                from: 0,
                to: u64::MAX,
            };
        };
        let intervals = intervals.intervals();
        let k = intervals.partition_point(|i| i.start_ts <= ts);
        match k.checked_sub(1).map(|i| &intervals[i]) {
            Some(i) if ts < i.end_ts => Resolved {
                target: find(&i.symbol),
                from: i.start_ts,
                to: i.end_ts,
            },
            before => Resolved {
                target: None,
                from: before.map_or(0, |i| i.end_ts),
                to: intervals.get(k).map_or(u64::MAX, |i| i.start_ts),
            },
        }
    }

    /// The symbol `id` has at `ts` (definitions first), for reports.
    pub(crate) fn symbol_of(&self, id: u32, ts: u64) -> Option<&str> {
        self.definitions
            .get(&id)
            .map(String::as_str)
            .or_else(|| self.intervals.get_for_ts(ts, id).map(String::as_str))
    }
}

/// The id and raw symbol of a definition record of a stream of DBN `version` (decoded
/// as-is, so a version 1 or 2 definition has its own layout).
fn definition_symbol(rec: &RecordRef<'_>, version: u8) -> Option<(u32, String)> {
    let id = rec.header().instrument_id;
    let symbol = match version {
        1 => rec
            .try_get::<v1::InstrumentDefMsg>()
            .ok()?
            .raw_symbol()
            .ok()?,
        2 => rec
            .try_get::<v2::InstrumentDefMsg>()
            .ok()?
            .raw_symbol()
            .ok()?,
        _ => rec
            .try_get::<v3::InstrumentDefMsg>()
            .ok()?
            .raw_symbol()
            .ok()?,
    };
    Some((id, symbol.to_owned()))
}

/// Reads every definition of a definitions file: id → raw symbol.
pub(crate) fn read_definitions(
    path: &std::path::Path,
) -> Result<FxHashMap<u32, String>, crate::feed::OpenError> {
    use dbn::decode::{DbnMetadata as _, DecodeRecordRef as _};
    let name = path.display().to_string();
    let (mut decoder, _) = super::input::start(super::input::open_file(path)?, &name)?;
    let version = decoder.metadata().version;
    let mut out = FxHashMap::default();
    loop {
        match decoder.decode_record_ref() {
            Ok(Some(rec)) => {
                if rec.header().rtype == dbn::rtype::INSTRUMENT_DEF {
                    if let Some((id, symbol)) = definition_symbol(&rec, version) {
                        out.insert(id, symbol);
                    }
                }
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(crate::feed::OpenError {
                    file: name,
                    reason: format!("definitions: {}", super::input::describe(&e)),
                })
            }
        }
    }
}
