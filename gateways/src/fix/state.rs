//! The gateway's in-flight orders (sent, not yet terminal) and their state file.
//!
//! The file sits beside the QuickFIX store and is rewritten (to a temporary file, then
//! renamed) whenever the set changes, **before** the message that changed it is sent, so a
//! process restart finds every order that may be live at the venue. Format: one line per
//! request, space-separated:
//! `cl_ord_id kind orig instrument side tif price_raw qty_raw acked cum_raw venue_order_id`
//! with `kind` `new`/`cancel`/`amend`, `side` `buy`/`sell`, `tif` the tickrail name and
//! `acked` `0`/`1`; lines starting with `#` are comments.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tickrail_engine::{InstrumentId, Price, Qty, Side, TimeInForce};

/// What kind of request an in-flight entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A NewOrderSingle: the entry is the order.
    New,
    /// An OrderCancelRequest for `orig`.
    Cancel,
    /// An OrderCancelReplaceRequest for `orig`; once replaced, the entry is the order.
    Amend,
}

impl RequestKind {
    const fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Cancel => "cancel",
            Self::Amend => "amend",
        }
    }
}

/// One in-flight request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// Request kind.
    pub kind: RequestKind,
    /// The targeted order for cancels and amends, else 0.
    pub orig: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price.
    pub price: Price,
    /// Order quantity.
    pub qty: Qty,
    /// The venue acknowledged it.
    pub acked: bool,
    /// Filled quantity seen so far (reports with a CumQty not above it are duplicates).
    pub cum: Qty,
    /// The venue's order id, once known.
    pub venue_order_id: u64,
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A line does not parse.
    #[error("{path}:{line}: malformed in-flight order line")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

/// Writes `orders` to `path` atomically (temporary file + rename).
pub fn save(path: &Path, orders: &BTreeMap<u64, Tracked>) -> Result<(), StateError> {
    let io_err = |source| StateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text = String::from("# tickrail FIX gateway in-flight orders\n");
    for (cl, t) in orders {
        text.push_str(&format!(
            "{cl} {} {} {} {} {} {} {} {} {} {}\n",
            t.kind.name(),
            t.orig,
            t.instrument.get(),
            t.side.name(),
            t.tif.name(),
            t.price.raw(),
            t.qty.raw(),
            u8::from(t.acked),
            t.cum.raw(),
            t.venue_order_id
        ));
    }
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
    }
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).map_err(io_err)?;
    fs::rename(&tmp, path).map_err(io_err)
}

/// Reads the in-flight orders saved at `path`; none if the file does not exist.
pub fn load(path: &Path) -> Result<BTreeMap<u64, Tracked>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = || StateError::Malformed {
            path: path.to_owned(),
            line: i + 1,
        };
        let f: Vec<&str> = line.split(' ').collect();
        let [cl, kind, orig, inst, side, tif, px, qty, acked, cum, vid] = f[..] else {
            return Err(malformed());
        };
        let int = |s: &str| s.parse::<i64>().map_err(|_| malformed());
        let uint = |s: &str| s.parse::<u64>().map_err(|_| malformed());
        let kind = match kind {
            "new" => RequestKind::New,
            "cancel" => RequestKind::Cancel,
            "amend" => RequestKind::Amend,
            _ => return Err(malformed()),
        };
        let tracked = Tracked {
            kind,
            orig: uint(orig)?,
            instrument: InstrumentId::new(inst.parse::<u32>().map_err(|_| malformed())?),
            side: Side::from_name(side).ok_or_else(malformed)?,
            tif: TimeInForce::from_name(tif).ok_or_else(malformed)?,
            price: Price::new_checked(int(px)?).map_err(|_| malformed())?,
            qty: Qty::new_checked(int(qty)?).map_err(|_| malformed())?,
            acked: acked == "1",
            cum: Qty::new_checked(int(cum)?).map_err(|_| malformed())?,
            venue_order_id: uint(vid)?,
        };
        out.insert(uint(cl)?, tracked);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_bad_lines() {
        let dir = std::env::temp_dir().join(format!("tickrail-fix-state-{}", std::process::id()));
        let path = dir.join("inflight.state");
        let mut m = BTreeMap::new();
        m.insert(
            7,
            Tracked {
                kind: RequestKind::Amend,
                orig: 5,
                instrument: InstrumentId::new(2),
                side: Side::Sell,
                tif: TimeInForce::PostOnly,
                price: Price::new(1234),
                qty: Qty::new(10),
                acked: true,
                cum: Qty::new(3),
                venue_order_id: 99,
            },
        );
        save(&path, &m).unwrap();
        assert_eq!(load(&path).unwrap(), m);
        fs::write(&path, "1 new 0\n").unwrap();
        assert!(matches!(
            load(&path),
            Err(StateError::Malformed { line: 1, .. })
        ));
        assert!(load(&dir.join("absent")).unwrap().is_empty());
        let _ = fs::remove_dir_all(dir);
    }
}
