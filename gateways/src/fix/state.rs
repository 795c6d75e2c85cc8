//! The gateway's in-flight orders (sent, not yet terminal) and their state file.
//!
//! The file sits beside the QuickFIX store and is brought up to date whenever the set
//! changes, **before** the message that changed it is sent, so a process restart finds
//! every order that may be live at the venue. It is an append-only log ([`StateLog`]): each
//! change is one line appended with one `write` (no rename, no directory update on the
//! order path), and the file is rewritten compactly (temporary file, then rename) when it
//! is opened and when the log has grown to many times the live set (the replaced file is
//! closed on a thread of its own: freeing its blocks can take seconds). Format, one line
//! per record, space-separated:
//!
//! - `+ cl_ord_id kind orig instrument side tif price_raw qty_raw acked cum_raw venue_order_id`
//!   — the request is in flight with these values (`kind` `new`/`cancel`/`amend`, `side`
//!   `buy`/`sell`, `tif` the tickrail name, `acked` `0`/`1`); the `+ ` may be left out;
//! - `- cl_ord_id` — it is no longer in flight;
//! - `#` starts a comment. A last line without its newline (a write cut short) is
//!   ignored: the record it would have made was not yet relied on.
//!
//! Nothing is `fsync`ed: the file survives a crash of the process (the page cache keeps
//! every completed `write`), not necessarily one of the machine — like the QuickFIX file
//! store beside it, whose sequence numbers it must agree with.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
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

const HEADER: &str = "# tickrail FIX gateway in-flight orders (+ in flight, - settled)\n";

/// Appends the `+` record of `cl` to `out`.
fn put_line(out: &mut String, cl: u64, t: &Tracked) {
    let _ = writeln!(
        out,
        "+ {cl} {} {} {} {} {} {} {} {} {} {}",
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
    );
}

/// Writes `orders` to `path` atomically (temporary file + rename).
pub fn save(path: &Path, orders: &BTreeMap<u64, Tracked>) -> Result<(), StateError> {
    let io_err = |source| StateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut text = String::from(HEADER);
    for (cl, t) in orders {
        put_line(&mut text, *cl, t);
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
    // A last line without its newline was cut short: ignored.
    let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
    for (i, line) in whole.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = || StateError::Malformed {
            path: path.to_owned(),
            line: i + 1,
        };
        if let Some(cl) = line.strip_prefix("- ") {
            out.remove(&cl.trim().parse::<u64>().map_err(|_| malformed())?);
            continue;
        }
        let line = line.strip_prefix("+ ").unwrap_or(line);
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

/// What a resumed run's journal says of one of its orders (its recovered OMS): on a restart,
/// the truth the in-flight orders' seen state is set from ([`apply_journal`]). The gateway
/// saves an order's state before the engine journals what changed it, so after a crash of
/// the engine's process the file may have seen a fill or an ack the journal lacks; set back
/// to the journal's, the logon's status answers report them (once) instead of losing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournaledOrder {
    /// The ClOrdID the venue knows the order by, as far as the journal knows: its last
    /// applied amend's, else its own.
    pub cl_ord_id: u64,
    /// An amend in flight (sent, neither replaced nor refused in the journal): its ClOrdID,
    /// price and quantity.
    pub amend: Option<(u64, Price, Qty)>,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Limit price (an applied amend's).
    pub price: Price,
    /// Order quantity (an applied amend's).
    pub qty: Qty,
    /// Filled quantity by the journal's reports.
    pub cum: Qty,
    /// The journal has the venue's acknowledgement (or a fill).
    pub acked: bool,
    /// Not terminal in the journal: it may be live at the venue, or have finished there
    /// with reports the journal lacks.
    pub open: bool,
    /// The venue's order id, if the journal has one (else 0).
    pub venue_order_id: u64,
}

/// What [`apply_journal`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalApplied {
    /// In-flight entries whose seen state (filled quantity, ack) was set back to the
    /// journal's.
    pub corrected: usize,
    /// Open orders of the journal that were not in flight (the gateway had their final
    /// report, the journal does not; or they never reached the gateway), added.
    pub added: usize,
}

/// Sets the in-flight orders read from the file to what the `journal` says (see
/// [`JournaledOrder`]), before the first logon:
///
/// - an order or amend in flight that the journal knows (by its ClOrdID or its amend's)
///   gets the journal's filled quantity and ack; one it does not know (another run's, or
///   one whose request never reached the journal) keeps what the file says;
/// - an order open in the journal of which nothing is in flight (cancels aside: they are
///   forgotten at logon) is put in flight — the order under its ClOrdID and its amend in
///   flight, if any — so that its status is asked at logon. Its time in force is not
///   known: `Day` (it matters only to an amend sent later).
pub fn apply_journal(
    in_flight: &mut BTreeMap<u64, Tracked>,
    journal: &[JournaledOrder],
) -> JournalApplied {
    let mut applied = JournalApplied::default();
    let mut by_id = BTreeMap::new();
    for (i, j) in journal.iter().enumerate() {
        by_id.insert(j.cl_ord_id, i);
        if let Some((amend, _, _)) = j.amend {
            by_id.insert(amend, i);
        }
    }
    let mut present = vec![false; journal.len()];
    for (cl, t) in in_flight.iter_mut() {
        if t.kind == RequestKind::Cancel {
            continue;
        }
        let Some(&i) = by_id.get(cl) else {
            continue;
        };
        present[i] = true;
        let j = &journal[i];
        if (t.cum, t.acked) != (j.cum, j.acked) {
            t.cum = j.cum;
            t.acked = j.acked;
            applied.corrected += 1;
        }
    }
    for (j, _) in journal.iter().zip(present).filter(|(j, p)| j.open && !p) {
        let order = Tracked {
            kind: RequestKind::New,
            orig: 0,
            instrument: j.instrument,
            side: j.side,
            tif: TimeInForce::Day,
            price: j.price,
            qty: j.qty,
            acked: j.acked,
            cum: j.cum,
            venue_order_id: j.venue_order_id,
        };
        in_flight.insert(j.cl_ord_id, order);
        if let Some((amend, price, qty)) = j.amend {
            in_flight.insert(
                amend,
                Tracked {
                    kind: RequestKind::Amend,
                    orig: j.cl_ord_id,
                    price,
                    qty,
                    ..order
                },
            );
        }
        applied.added += 1;
    }
    applied
}

/// Records appended before the file is rewritten compactly, at least (and at least four per
/// live entry).
const COMPACT_AFTER: usize = 4_096;

/// The in-flight file as an append-only log, kept open (see the [module docs](self)).
#[derive(Debug)]
pub struct StateLog {
    path: PathBuf,
    file: File,
    /// What the file says now.
    saved: BTreeMap<u64, Tracked>,
    /// Records appended since the last rewrite.
    appended: usize,
    line: String,
}

impl StateLog {
    /// Reads the file at `path` (none: nothing in flight), rewrites it compactly and opens
    /// it for appending; returns the log and what was in flight.
    pub fn open(path: &Path) -> Result<(Self, BTreeMap<u64, Tracked>), StateError> {
        let orders = load(path)?;
        let log = Self::rewrite(path, orders.clone())?;
        Ok((log, orders))
    }

    fn rewrite(path: &Path, orders: BTreeMap<u64, Tracked>) -> Result<Self, StateError> {
        save(path, &orders)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| StateError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            path: path.to_owned(),
            file,
            saved: orders,
            appended: 0,
            line: String::with_capacity(256),
        })
    }

    /// Brings the file to `orders`: one `+` record per new or changed entry and one `-`
    /// per entry gone, appended with a single `write` (nothing when nothing changed).
    pub fn sync(&mut self, orders: &BTreeMap<u64, Tracked>) -> Result<(), StateError> {
        self.line.clear();
        let mut records = 0;
        for (cl, t) in orders {
            if self.saved.get(cl) != Some(t) {
                put_line(&mut self.line, *cl, t);
                records += 1;
            }
        }
        for cl in self.saved.keys() {
            if !orders.contains_key(cl) {
                let _ = writeln!(self.line, "- {cl}");
                records += 1;
            }
        }
        if records == 0 {
            return Ok(());
        }
        if self.appended + records > COMPACT_AFTER.max(4 * orders.len()) {
            let old = std::mem::replace(self, Self::rewrite(&self.path, orders.clone())?);
            close_later(old.file);
            return Ok(());
        }
        self.file
            .write_all(self.line.as_bytes())
            .map_err(|source| StateError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.appended += records;
        self.saved.clone_from(orders);
        Ok(())
    }
}

/// Closes the descriptor of a file the rewrite renamed over on a thread of its own. It is
/// the old file's last reference: closing it frees the file's blocks, which on a busy file
/// system (ext4 mounted with `discard`, with other processes writing) was seen to block the
/// gateway thread for seconds — no order sent, no report taken meanwhile.
fn close_later(file: File) {
    // If no thread can be spawned, the closure (and the file) is dropped here.
    let _ = std::thread::Builder::new()
        .name("fix-state-close".into())
        .spawn(move || drop(file));
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

    fn tracked(cum: i64) -> Tracked {
        Tracked {
            kind: RequestKind::New,
            orig: 0,
            instrument: InstrumentId::new(1),
            side: Side::Buy,
            tif: TimeInForce::Day,
            price: Price::new(100),
            qty: Qty::new(10),
            acked: cum > 0,
            cum: Qty::new(cum),
            venue_order_id: 5,
        }
    }

    fn journaled(cl_ord_id: u64, cum: i64, acked: bool, open: bool) -> JournaledOrder {
        JournaledOrder {
            cl_ord_id,
            amend: None,
            instrument: InstrumentId::new(1),
            side: Side::Sell,
            price: Price::new(200),
            qty: Qty::new(10),
            cum: Qty::new(cum),
            acked,
            open,
            venue_order_id: 8,
        }
    }

    #[test]
    fn the_journal_sets_what_was_seen_and_puts_its_open_orders_in_flight() {
        let mut m = BTreeMap::new();
        m.insert(1, tracked(3)); // the journal has 1 filled, not acked
        m.insert(2, tracked(4)); // the journal agrees
        m.insert(3, tracked(0)); // unknown to the journal: kept
        m.insert(
            4,
            Tracked {
                kind: RequestKind::Amend,
                orig: 1,
                ..tracked(3)
            },
        ); // 1's amend: the order's state
        m.insert(
            9,
            Tracked {
                kind: RequestKind::Cancel,
                orig: 5,
                ..tracked(0)
            },
        ); // a cancel of 5: 5 counts as not in flight
        let mut j1 = journaled(1, 1, false, true);
        j1.amend = Some((4, Price::new(300), Qty::new(10)));
        let mut j5 = journaled(5, 2, true, true);
        j5.amend = Some((6, Price::new(250), Qty::new(8)));
        let journal = [
            j1,
            journaled(2, 4, true, true),
            j5,                            // open, nothing in flight: added with its amend
            journaled(7, 10, true, false), // finished: not added
            journaled(8, 0, false, true),  // open, not in flight: added
        ];
        let mut want = m.clone();
        let applied = apply_journal(&mut m, &journal);
        assert_eq!(
            applied,
            JournalApplied {
                corrected: 2,
                added: 2
            }
        );
        for cl in [1, 4] {
            let e = want.get_mut(&cl).unwrap();
            (e.cum, e.acked) = (Qty::new(1), false);
        }
        let added = |j: &JournaledOrder| Tracked {
            kind: RequestKind::New,
            orig: 0,
            instrument: j.instrument,
            side: j.side,
            tif: TimeInForce::Day,
            price: j.price,
            qty: j.qty,
            acked: j.acked,
            cum: j.cum,
            venue_order_id: j.venue_order_id,
        };
        want.insert(5, added(&j5));
        want.insert(
            6,
            Tracked {
                kind: RequestKind::Amend,
                orig: 5,
                price: Price::new(250),
                qty: Qty::new(8),
                ..added(&j5)
            },
        );
        want.insert(8, added(&journal[4]));
        assert_eq!(m, want);
        // Nothing to change: nothing changed.
        assert_eq!(apply_journal(&mut m, &journal), JournalApplied::default());
        assert_eq!(m, want);
    }

    #[test]
    fn the_log_replays_to_the_last_synced_set_and_compacts() {
        let dir = std::env::temp_dir().join(format!("tickrail-fix-log-{}", std::process::id()));
        let path = dir.join("in-flight.state");
        let (mut log, start) = StateLog::open(&path).unwrap();
        assert!(start.is_empty());
        let mut m = BTreeMap::new();
        for i in 1..=3 {
            m.insert(i, tracked(0));
            log.sync(&m).unwrap();
        }
        m.insert(2, tracked(4)); // changed
        m.remove(&1); // settled
        log.sync(&m).unwrap();
        log.sync(&m).unwrap(); // nothing changed: nothing written
        assert_eq!(load(&path).unwrap(), m);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            5,
            "{text}"
        );
        // Reopening replays and rewrites compactly.
        drop(log);
        let (mut log, back) = StateLog::open(&path).unwrap();
        assert_eq!(back, m);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            2,
            "{text}"
        );
        // Many changes: the file is rewritten, never unbounded.
        for k in 0..10_000 {
            m.insert(9, tracked(k % 7));
            log.sync(&m).unwrap();
        }
        assert_eq!(load(&path).unwrap(), m);
        assert!(fs::metadata(&path).unwrap().len() < 1 << 20);
        drop(log);
        // A torn last record is ignored; the ones before it hold.
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"- 2")
            .unwrap();
        assert_eq!(load(&path).unwrap(), m);
        let _ = fs::remove_dir_all(dir);
    }
}
